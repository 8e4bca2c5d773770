//! A user's job as a state machine: what the user sends next ([`Ctx::start`],
//! [`Ctx::next_requests`]), the journal records that must be on disk before it is sent
//! (`Begin`, and the `Intent` of a TAP creation), and how an answer moves the user on
//! ([`Ctx::advance`]): the answer goes to the handler of what the user waited on — the
//! re-read before the first change ([`super::recheck`]), the deletion of a pass nobody
//! holds, a step ([`super::steps`]) or the re-read after the steps ([`super::verify`]) —
//! and the user sends their next requests unless the handler ended them or the run is
//! stopping.
//!
//! A user has one request on its way at a time, except the re-read, whose reads go at
//! once.

use super::contain::Pass;
use super::job::{Stage, UserJob};
use super::rows::job_key;
use super::{Ctx, bug, now_rfc3339};
use crate::engine::dispatcher::{Completed, JobResult};
use crate::engine::journal::Record;
use crate::engine::outcome::UserOutcome;
use crate::graph::request::GraphRequest;
use crate::policy::Step;
use crate::wire::MethodType;

/// What an answer did to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Taken {
    /// The user goes on to their next request.
    GoOn,
    /// The user waits for more answers (the other reads of a re-read).
    Wait,
    /// The user sends nothing more now: they ended, wait for a resume, or the journal
    /// could not take the answer.
    Ended,
}

/// What the user does after an answer.
pub(super) enum Next {
    /// Sends these requests.
    Send(Vec<GraphRequest>),
    /// Waits for more answers.
    Wait,
    /// Leaves the pass (finished or not).
    Over,
}

impl Ctx<'_> {
    /// The first requests of a user in `pass`; empty when there is nothing to send. A user
    /// this run finished already (in the containment pass) sends nothing.
    pub(super) fn start(&mut self, index: usize, pass: Pass) -> Vec<GraphRequest> {
        let now = now_rfc3339();
        if self.finished.contains(index) {
            return Vec::new();
        }
        if !self.jobs.contains_key(&index) {
            let Some(job) = self.new_job(index) else {
                return Vec::new();
            };
            self.jobs.insert(index, job);
        }
        let Some(job) = self.job_or_bug(index) else {
            return Vec::new();
        };
        if job.finished {
            return Vec::new();
        }
        job.outcome.started.get_or_insert(now);
        self.next_requests(index, pass)
    }

    /// A job for the user of entry `index`, read from the plan, with what the journal and
    /// the containment pass say was done. `None` when the entry cannot be read: that is
    /// the run's failure.
    fn new_job(&mut self, index: usize) -> Option<UserJob> {
        let entry = match self.plan.entry(index) {
            Ok(entry) => entry,
            Err(e) => {
                self.failure.get_or_insert(e.into());
                return None;
            }
        };
        let Some(key) = job_key(&entry) else {
            // The survey of the rows found a key for every user it lets run.
            bug(format_args!("entry {index} runs without a valid user id"));
            return None;
        };
        let outcome = UserOutcome::from_plan(&entry);
        let mut job = UserJob::new(entry, key, self.state, outcome);
        self.restore_set_aside(index, &mut job);
        Some(job)
    }

    /// What the user sends next in `pass`, journaling `Begin` before their first step;
    /// empty when the user has nothing more to send in `pass` (or the journal cannot be
    /// written).
    pub(super) fn next_requests(&mut self, index: usize, pass: Pass) -> Vec<GraphRequest> {
        let verify = self.options.verify;
        let Some(job) = self.job_or_bug(index) else {
            return Vec::new();
        };
        if job.needs_recheck() {
            return self.recheck_requests(index);
        }
        if job.clear_pass.is_some() {
            job.stage = Stage::ClearPass;
            let request = job.clear_pass_request();
            if request.is_none() {
                bug(format_args!("entry {index} has no URL for its pass"));
            }
            return request.into_iter().collect();
        }
        let Some(step) = job.next_step(pass) else {
            if pass == Pass::All && job.wants_verification(verify) {
                job.verified = true;
                job.stage = Stage::Verify;
                let requests = read_methods(job);
                job.verify_waiting = u8::try_from(requests.len()).unwrap_or(u8::MAX);
                return requests;
            }
            job.stage = Stage::Idle;
            return Vec::new();
        };
        let row = job.entry.row;
        let needs_begin = !job.begun;
        let request = job.step_request(step);
        job.stage = Stage::Step(step);
        if needs_begin {
            if !self.journal(Record::Begin { row }) {
                if let Some(job) = self.job_or_bug(index) {
                    job.stage = Stage::Idle;
                }
                return Vec::new();
            }
            if let Some(job) = self.job_or_bug(index) {
                job.begun = true;
            }
        }
        if request.is_none() {
            bug(format_args!("step {step} of entry {index} has no request"));
        }
        request.into_iter().collect()
    }

    /// Journals the intent to send a user's TAP creation, if that is what `request` is.
    /// `false` when the journal cannot be written: then nothing is sent. A user without a
    /// job sends nothing either.
    pub(super) fn journal_intent(&mut self, index: usize, request: &GraphRequest) -> bool {
        let Some(job) = self.job_or_bug(index) else {
            return false;
        };
        let Stage::Step(step) = job.stage else {
            return true;
        };
        if !matches!(job.steps[step], Step::IssueTemporaryAccessPass { .. }) || !request.is_write()
        {
            return true;
        }
        let row = job.entry.row;
        self.journal(Record::Intent { row, step })
    }

    /// Takes an answer while stopping: records it, sends nothing more. `true` while the
    /// user still waits for other answers.
    pub(super) fn absorb(&mut self, index: usize, completed: Completed) -> bool {
        self.take_answer(index, completed) == Taken::Wait
    }

    /// Takes an answer, and says what the user does next.
    pub(super) fn advance(&mut self, index: usize, completed: Completed, pass: Pass) -> Next {
        match self.take_answer(index, completed) {
            Taken::GoOn => {
                let requests = self.next_requests(index, pass);
                if requests.is_empty() {
                    Next::Over
                } else {
                    Next::Send(requests)
                }
            }
            Taken::Wait => Next::Wait,
            Taken::Ended => Next::Over,
        }
    }

    /// Records the answer to what the user waited on.
    fn take_answer(&mut self, index: usize, completed: Completed) -> Taken {
        let Some(job) = self.job_or_bug(index) else {
            return Taken::Ended;
        };
        let stage = std::mem::replace(&mut job.stage, Stage::Idle);
        job.count_attempts(&completed);
        match stage {
            Stage::Idle => {
                bug(format_args!(
                    "entry {index} was answered while it waited on nothing"
                ));
                Taken::Ended
            }
            Stage::Recheck => self.on_reread(index, completed),
            Stage::ClearPass => self.on_pass_cleared(index, completed.result),
            Stage::Step(step) => self.on_step_answer(index, step, completed.result),
            Stage::Verify => {
                job.record_verification(completed.result);
                job.verify_waiting = job.verify_waiting.saturating_sub(1);
                if job.verify_waiting > 0 {
                    job.stage = Stage::Verify;
                    return Taken::Wait;
                }
                Taken::Ended
            }
        }
    }
}

/// The requests that read the user's methods again: v1.0's list, and beta's hardware OATH
/// tokens when the run removed one (v1.0 does not list them).
fn read_methods(job: &UserJob) -> Vec<GraphRequest> {
    let Some(methods) = GraphRequest::list_methods(&job.key) else {
        bug(format_args!("row {} has no methods URL", job.entry.row));
        return Vec::new();
    };
    let hardware = job
        .outcome
        .removed
        .iter()
        .any(|m| m.kind == MethodType::HardwareOath)
        .then(|| GraphRequest::list_hardware_oath_methods(&job.key))
        .flatten();
    std::iter::once(methods).chain(hardware).collect()
}

/// Graph's error code (if any) and a message for a job that did not succeed.
pub(super) fn failure_text(result: &JobResult) -> (Option<String>, String) {
    match result {
        JobResult::Failed { error, fault } => (
            fault.as_ref().map(|f| f.code.clone()),
            fault
                .as_ref()
                .map(|f| f.message.clone())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| error.clone()),
        ),
        JobResult::Unknown { last_error } => (
            None,
            format!("no answer could be had ({last_error}); it may or may not have happened"),
        ),
        JobResult::Abandoned { last_error, .. } => (
            None,
            format!("given up without an answer ({last_error}); it may or may not have happened"),
        ),
        JobResult::AlreadyDone => (None, "answered as already done".into()),
        JobResult::Done { status, .. } => (None, format!("answered {status}")),
    }
}
