//! A user's job as a state machine: what the user sends next ([`Ctx::start`],
//! [`Ctx::next_request`]), the journal records that must be on disk before it is sent
//! (`Begin`, and the `Intent` of a TAP creation), and how an answer moves the user on
//! ([`Ctx::advance`]): the answer goes to the handler of what the user waited on — the
//! re-read before the first change ([`super::drift`]), a step ([`super::steps`]) or the
//! re-read after the steps ([`super::verify`]) — and the user sends their next request
//! unless the handler ended them or the run is stopping.

use serde_json::Value;

use super::contain::Pass;
use super::job::{Stage, UserJob};
use super::rows::job_key;
use super::{Ctx, bug, now_rfc3339};
use crate::engine::dispatcher::{Completed, JobResult};
use crate::engine::journal::Record;
use crate::engine::outcome::UserOutcome;
use crate::engine::read::method_snapshot;
use crate::graph::request::GraphRequest;
use crate::policy::{MethodSnapshot, Step};

impl Ctx<'_> {
    /// The first request of a user in `pass`, or `None` when there is nothing to send.
    pub(super) fn start(&mut self, index: usize, pass: Pass) -> Option<GraphRequest> {
        let now = now_rfc3339();
        if !self.jobs.contains_key(&index) {
            let job = self.new_job(index)?;
            self.jobs.insert(index, job);
        }
        let job = self.job_or_bug(index)?;
        if job.finished {
            return None;
        }
        job.outcome.started.get_or_insert(now);
        self.next_request(index, pass)
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

    /// What the user sends next in `pass`, journaling `Begin` first; `None` when the user
    /// has nothing more to send in `pass` (or the journal cannot be written).
    pub(super) fn next_request(&mut self, index: usize, pass: Pass) -> Option<GraphRequest> {
        let verify = self.options.verify;
        let job = self.job_or_bug(index)?;
        if pass == Pass::All && job.needs_drift_check() {
            job.stage = Stage::DriftRead;
            return read_methods(job);
        }
        let Some(step) = job.next_step(pass) else {
            if pass == Pass::All && job.wants_verification(verify) {
                job.verified = true;
                job.stage = Stage::Verify;
                return read_methods(job);
            }
            job.stage = Stage::Idle;
            return None;
        };
        let row = job.entry.row;
        let needs_begin = !job.begun;
        let request = job.step_request(step);
        job.stage = Stage::Step(step);
        if needs_begin {
            if !self.journal(Record::Begin { row }) {
                return None;
            }
            if let Some(job) = self.job_or_bug(index) {
                job.begun = true;
            }
        }
        if request.is_none() {
            bug(format_args!("step {step} of entry {index} has no request"));
        }
        request
    }

    /// Journals the intent to send a user's TAP creation, if that is what the user sends
    /// next. `false` when the journal cannot be written: then nothing is sent. A user
    /// without a job sends nothing either.
    pub(super) fn journal_intent(&mut self, index: usize) -> bool {
        let Some(job) = self.job_or_bug(index) else {
            return false;
        };
        let Stage::Step(step) = job.stage else {
            return true;
        };
        if !matches!(job.steps[step], Step::IssueTemporaryAccessPass { .. }) {
            return true;
        }
        let row = job.entry.row;
        self.journal(Record::Intent { row, step })
    }

    /// Parks a user whose next job was never handed to the dispatcher.
    pub(super) fn park(&mut self, index: usize) {
        if let Some(job) = self.job_or_bug(index) {
            job.stage = Stage::Idle;
        }
    }

    /// Takes a completion while stopping: records it, sends nothing more.
    pub(super) fn absorb(&mut self, index: usize, completed: Completed) {
        self.take_answer(index, completed);
    }

    /// Takes a completion: records it, and returns what the user sends next, if anything.
    pub(super) fn advance(
        &mut self,
        index: usize,
        completed: Completed,
        pass: Pass,
    ) -> Option<GraphRequest> {
        if self.take_answer(index, completed) {
            self.next_request(index, pass)
        } else {
            None
        }
    }

    /// Records the answer to what the user waited on. `true` when the user goes on to
    /// their next request; `false` when the answer ended them, the journal could not take
    /// it, or the user had no job (a bug, reported).
    fn take_answer(&mut self, index: usize, completed: Completed) -> bool {
        let Some(job) = self.job_or_bug(index) else {
            return false;
        };
        let stage = std::mem::replace(&mut job.stage, Stage::Idle);
        job.count_attempts(&completed);
        match stage {
            Stage::Idle => {
                bug(format_args!(
                    "entry {index} was answered while it waited on nothing"
                ));
                false
            }
            Stage::DriftRead => self.on_methods_before_change(index, completed.result),
            Stage::Step(step) => self.on_step_answer(index, step, completed.result),
            Stage::Verify => {
                job.record_verification(completed.result);
                false
            }
        }
    }
}

/// The request that reads the user's methods.
fn read_methods(job: &UserJob) -> Option<GraphRequest> {
    let request = GraphRequest::list_methods(&job.key);
    if request.is_none() {
        bug(format_args!("row {} has no methods URL", job.entry.row));
    }
    request
}

/// The methods in the answer to a read of a user's methods.
pub(super) fn list_of_methods(body: Option<&Value>) -> Vec<MethodSnapshot> {
    body.and_then(|b| b.get("value"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(method_snapshot).collect())
        .unwrap_or_default()
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
        JobResult::AlreadyDone => (None, "answered as already done".into()),
        JobResult::Done { status, .. } => (None, format!("answered {status}")),
    }
}
