//! Carrying out a plan: every planned user is a small job that runs its steps in the
//! plan's order, one Graph request at a time, while the dispatcher packs many users'
//! requests into each paced `$batch`.
//!
//! A user's job: re-read the methods and compare them with the plan (drift) → `Begin` in
//! the journal → each step (a TAP creation is preceded by an `Intent` record and its pass
//! goes to `secrets/tap.csv` before the step is journaled) → `--verify` re-read → the
//! `Finished` record, fsynced before the outcome is reported. With `--contain-first`, a
//! first pass revokes sessions and disables accounts for every user before any method is
//! removed.
//!
//! On resume the journal says which steps already finished; they are not sent again. A
//! TAP whose `Intent` is journaled without an outcome may exist with a pass nobody saw: it
//! is never created twice, and the user ends `partial` with a reason.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::dispatcher::{Completed, Counters, Dispatcher, DispatcherSettings, Job, JobResult};
use super::journal::{Journal, JournalError, JournalState, Record, StepOutcome};
use super::outcome::{MethodRef, RunStatus, UserOutcome};
use super::pacer::Pacer;
use super::read::method_snapshot;
use super::secrets::{TapFile, TapRecord};
use super::settings::{OnDrift, RunOptions};
use crate::graph::key::UserKey;
use crate::graph::permissions;
use crate::graph::request::GraphRequest;
use crate::graph::transport::Transport;
use crate::plan::store::{EntrySpill, PlanStore, StoreError};
use crate::plan::{PlanEntry, Status};
use crate::policy::{self, MethodSnapshot, Policy, Step, UserSnapshot};
use crate::secret::Secret;
use crate::wire::MethodType;

/// Where the run records what it does.
pub struct RunFiles<'a> {
    pub journal: &'a mut Journal,
    /// What an earlier, interrupted run of the same plan finished (empty on a new run).
    pub state: JournalState,
    /// The run's folder: `secrets/tap.csv` is opened there when a pass is issued.
    pub dir: &'a std::path::Path,
}

/// Progress, for the display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Users with steps, and how many of them have finished.
    pub users_total: usize,
    pub users_done: usize,
    /// Graph writes the plan needs, and how many have been answered.
    pub writes_total: usize,
    pub writes_done: usize,
    pub throttled: u64,
    pub retried: u64,
}

/// The end of a run. Every row's outcome went to the `emit` of [`run_plan`], in row
/// order; unfinished users as `pending`.
#[derive(Debug)]
pub struct RunResult {
    /// The run stopped before every user finished (Ctrl-C).
    pub interrupted: bool,
    /// A journal or secrets-file write failed: the run stopped there.
    pub failure: Option<RunError>,
    pub writes_sent: u64,
    pub throttled: u64,
    pub retried: u64,
}

/// Why a run had to stop.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Secrets(String),
    #[error(transparent)]
    Plan(#[from] StoreError),
}

/// Carries out `plan`. Rows the plan settled keep their status; planned and blocked users
/// run their steps. `stop` turning true stops new work: requests in flight finish, and
/// users not finished are reported `pending`. At the end every row's outcome goes to
/// `emit`, in row order.
///
/// Memory does not grow with the plan: entries are read from `plan.json` when a user
/// starts, only a window of users runs at once, and finished users' outcomes wait on
/// disk (and in the journal) until the end. With `contain_first`, users contained in the
/// first pass are kept until the second.
#[allow(clippy::too_many_arguments)]
pub async fn run_plan<T: Transport>(
    transport: T,
    pacer: Arc<Pacer>,
    settings: DispatcherSettings,
    plan: &PlanStore,
    options: RunOptions,
    files: RunFiles<'_>,
    mut stop: watch::Receiver<bool>,
    mut on_progress: impl FnMut(&Progress),
    mut emit: impl FnMut(UserOutcome),
) -> RunResult {
    let RunFiles {
        journal,
        state,
        dir,
    } = files;
    let (done_tx, mut done_rx) = mpsc::channel::<Completed>(1024);
    let dispatcher = Dispatcher::new(transport, pacer, settings.clone(), done_tx);
    let counters = dispatcher.counters();
    let (job_tx, job_rx) = mpsc::channel::<Job>(1024);
    let running = tokio::spawn(dispatcher.run(job_rx));

    let mut failure = None;
    let finished = match EntrySpill::create(dir.join(".outcomes.tmp")) {
        Ok(mut spill) => {
            spill.reserve_rows(plan.len());
            Some(spill)
        }
        Err(e) => {
            failure = Some(RunError::Plan(e));
            None
        }
    };
    let mut ctx = Ctx {
        policy: &plan.header.policy,
        plan,
        options,
        journal,
        state: &state,
        dir,
        taps: None,
        finished,
        unspilled: BTreeMap::new(),
        set_aside: None,
        jobs: HashMap::new(),
        progress: Progress::default(),
        failure,
    };

    // Rows the plan settled, and users an earlier run finished. Settled rows are
    // journaled as finished once, so a resume need not decide them again.
    let mut to_run: Vec<usize> = Vec::new();
    let mut settled: Vec<Record> = Vec::new();
    for index in 0..plan.len() {
        if ctx.failure.is_some() {
            break;
        }
        let entry = match plan.entry(index) {
            Ok(entry) => entry,
            Err(e) => {
                ctx.failure = Some(e.into());
                break;
            }
        };
        if state.finished.contains(entry.row) {
            // Users finished earlier count as done for the progress display.
            if RunStatus::settled_by_plan(entry.status).is_none() {
                ctx.progress.users_total += 1;
                ctx.progress.users_done += 1;
                ctx.progress.writes_total += entry.steps.len();
                ctx.progress.writes_done += entry.steps.len();
            }
            continue;
        }
        if let Some(outcome) = settled_outcome(&entry) {
            settled.push(Record::Finished {
                outcome: Box::new(outcome),
            });
            if settled.len() >= 4096 {
                if let Err(e) = ctx.journal.append_all(&settled) {
                    ctx.failure = Some(e.into());
                }
                settled.clear();
            }
            continue;
        }
        let Some(key) = job_key(&entry) else {
            continue;
        };
        let job = UserJob::new(entry, key, &state, UserOutcome::default());
        ctx.progress.users_total += 1;
        ctx.progress.writes_total += job.steps.len();
        ctx.progress.writes_done += job.steps.len() - job.remaining();
        to_run.push(index);
    }
    if !settled.is_empty()
        && ctx.failure.is_none()
        && let Err(e) = ctx.journal.append_all(&settled)
    {
        ctx.failure = Some(e.into());
    }
    drop(settled);
    on_progress(&ctx.progress);

    let mut job_tx = Some(job_tx);
    let mut interrupted = *stop.borrow();
    let mut stop_open = true;
    let passes: &[Pass] = if options.contain_first {
        &[Pass::Containment, Pass::All]
    } else {
        &[Pass::All]
    };
    for &pass in passes {
        if interrupted || ctx.failure.is_some() {
            break;
        }
        let mut waiting = to_run.iter().copied();
        let mut waiting_left = true;
        let max_active = (settings.max_in_flight * settings.batch_size * 4).max(64);
        let mut active = 0usize;
        let mut outbox: VecDeque<Job> = VecDeque::new();
        loop {
            let stopping = interrupted || ctx.failure.is_some();
            while !stopping && active < max_active {
                let Some(index) = waiting.next() else {
                    waiting_left = false;
                    break;
                };
                match ctx.start(index, pass) {
                    Some(request) => {
                        active += 1;
                        outbox.push_back(Job {
                            user: index as u64,
                            request,
                        });
                    }
                    None => ctx.settle_if_finished(index, pass),
                }
            }
            if active == 0 && (!waiting_left || stopping) {
                break;
            }
            let sender = job_tx.as_ref().filter(|_| !outbox.is_empty());
            tokio::select! {
                permit = async { sender.expect("guarded").reserve().await }, if sender.is_some() => {
                    match permit {
                        Ok(permit) => {
                            let job = outbox.pop_front().expect("guarded");
                            // A pass is created at most once: the intent is on disk before
                            // the request can reach Graph.
                            if ctx.journal_intent(job.user as usize) {
                                permit.send(job);
                            } else {
                                active -= 1;
                                ctx.park(job.user as usize);
                            }
                        }
                        Err(_) => break,
                    }
                }
                completed = done_rx.recv() => {
                    let Some(completed) = completed else { break };
                    let index = completed.user as usize;
                    let next = if interrupted || ctx.failure.is_some() {
                        ctx.absorb(index, completed, pass);
                        None
                    } else {
                        ctx.advance(index, completed, pass)
                    };
                    match next {
                        Some(request) => outbox.push_back(Job { user: index as u64, request }),
                        None => {
                            active -= 1;
                            ctx.settle_if_finished(index, pass);
                        }
                    }
                    ctx.progress.throttled = Counters::get(&counters.throttled);
                    ctx.progress.retried = Counters::get(&counters.retried);
                    on_progress(&ctx.progress);
                }
                changed = stop.changed(), if !interrupted && stop_open => {
                    if changed.is_err() {
                        stop_open = false;
                    } else if *stop.borrow() {
                        interrupted = true;
                        // Jobs not yet handed to the dispatcher are not sent.
                        for job in outbox.drain(..) {
                            active -= 1;
                            ctx.park(job.user as usize);
                        }
                    }
                }
            }
        }
    }
    job_tx.take();
    drop(done_rx);
    let _ = running.await;

    // Every row's outcome, in row order.
    for index in 0..plan.len() {
        let entry = match plan.entry(index) {
            Ok(entry) => entry,
            Err(e) => {
                // Still one result row for the row; the journal has its outcome.
                emit(UserOutcome {
                    row: index,
                    status: Some(RunStatus::Pending),
                    reason: Some(format!(
                        "the plan's entry could not be read back ({e}); resume to write this row"
                    )),
                    ..UserOutcome::default()
                });
                ctx.failure.get_or_insert(e.into());
                continue;
            }
        };
        if state.finished.contains(entry.row) {
            match state.finished.get(entry.row) {
                Ok(Some(done)) => {
                    emit(done);
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    ctx.failure.get_or_insert(e.into());
                }
            }
        }
        if let Some(outcome) = settled_outcome(&entry) {
            emit(outcome);
            continue;
        }
        if let Some(outcome) = ctx.take_finished(index) {
            emit(outcome);
            continue;
        }
        let mut outcome = match ctx.jobs.remove(&index) {
            Some(job) => job.outcome,
            None => ctx
                .take_set_aside(index)
                .map(|aside| aside.outcome)
                .unwrap_or_else(|| UserOutcome::from_plan(&entry)),
        };
        outcome.status = Some(RunStatus::Pending);
        outcome.reason = Some("not finished: the run was interrupted; resume to finish".into());
        emit(outcome);
    }
    RunResult {
        interrupted: interrupted || ctx.failure.is_some(),
        failure: ctx.failure,
        writes_sent: Counters::get(&counters.writes_sent),
        throttled: Counters::get(&counters.throttled),
        retried: Counters::get(&counters.retried),
    }
}

/// The key a row with steps is acted on by: the user's id as the plan read it.
fn job_key(entry: &PlanEntry) -> Option<UserKey> {
    entry.before.as_ref().and_then(|u| UserKey::id(&u.id).ok())
}

/// The outcome of a row the run does not act on: settled by the plan (no change, not
/// found, protected, ...), blocked with nothing that can run, or with steps but no valid
/// user id. `None` for a user to run.
fn settled_outcome(entry: &PlanEntry) -> Option<UserOutcome> {
    let mut outcome = UserOutcome::from_plan(entry);
    if outcome.status.is_some() || entry.steps.is_empty() {
        if outcome.status.is_none() {
            // Blocked with nothing that can run.
            outcome.status = Some(RunStatus::Blocked);
        }
        return Some(outcome);
    }
    if job_key(entry).is_none() {
        outcome.status = Some(RunStatus::Failed);
        outcome.reason = Some("the plan has steps for this row but no valid user id".into());
        return Some(outcome);
    }
    None
}

/// A user between the two passes of `--contain-first`: the steps done so far and the
/// outcome being built.
#[derive(serde::Serialize, serde::Deserialize)]
struct SetAside {
    done: Vec<Option<StepOutcome>>,
    outcome: UserOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Only revoke sessions and disable accounts.
    Containment,
    /// Everything left, then finish the user.
    All,
}

fn is_containment(step: &Step) -> bool {
    matches!(step, Step::RevokeSessions | Step::DisableAccount)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Idle,
    DriftRead,
    Step(usize),
    Verify,
}

struct UserJob {
    /// The plan's entry for the user.
    entry: PlanEntry,
    key: UserKey,
    steps: Vec<Step>,
    /// Each step's outcome, from this run or the journal.
    done: Vec<Option<StepOutcome>>,
    /// A TAP creation whose intent is journaled without an outcome.
    intent_unresolved: BTreeSet<usize>,
    begun: bool,
    drift_checked: bool,
    verified: bool,
    stage: Stage,
    outcome: UserOutcome,
    removed_ids: BTreeSet<String>,
    /// Deletions Graph refused because the method is the default while others remain:
    /// sent once more after the user's other steps.
    deferred: BTreeSet<usize>,
    default_retried: BTreeSet<usize>,
    finished: bool,
}

impl UserJob {
    fn new(
        entry: PlanEntry,
        key: UserKey,
        state: &JournalState,
        mut outcome: UserOutcome,
    ) -> UserJob {
        // After `--on-drift replan`, the journal holds the steps decided then.
        let steps = state
            .replanned
            .get(&entry.row)
            .cloned()
            .unwrap_or_else(|| entry.steps.clone());
        let mut done = vec![None; steps.len()];
        let mut removed_ids = BTreeSet::new();
        for record in state.steps.get(&entry.row).into_iter().flatten() {
            let Some(step) = steps.get(record.step) else {
                continue;
            };
            if let Some(slot) = done.get_mut(record.step) {
                *slot = Some(record.outcome);
            }
            if let Some(id) = record.request_id.clone() {
                outcome.request_ids.push(id);
            }
            outcome.attempts = outcome.attempts.saturating_add(record.attempts);
            apply_step_outcome(
                &mut outcome,
                &mut removed_ids,
                step,
                record.outcome,
                record.error_code.clone(),
                record.error_message.clone(),
            );
        }
        let intent_unresolved = state
            .intents
            .iter()
            .filter(|(row, step)| *row == entry.row && done.get(*step).is_some_and(Option::is_none))
            .map(|(_, step)| *step)
            .collect();
        let begun = state.begun.contains(&entry.row);
        UserJob {
            entry,
            key,
            steps,
            done,
            deferred: BTreeSet::new(),
            default_retried: BTreeSet::new(),
            intent_unresolved,
            begun,
            drift_checked: false,
            verified: false,
            stage: Stage::Idle,
            outcome,
            removed_ids,
            finished: false,
        }
    }

    fn remaining(&self) -> usize {
        self.done.iter().filter(|d| d.is_none()).count()
    }

    /// The next step to send in `pass`, if any.
    fn next_step(&mut self, pass: Pass) -> Option<usize> {
        let candidate = |job: &UserJob, i: usize| {
            job.done[i].is_none()
                && !job.intent_unresolved.contains(&i)
                && (pass == Pass::All || is_containment(&job.steps[i]))
        };
        if let Some(i) =
            (0..self.steps.len()).find(|&i| candidate(self, i) && !self.deferred.contains(&i))
        {
            return Some(i);
        }
        let i = self
            .deferred
            .iter()
            .copied()
            .find(|&i| candidate(self, i))?;
        self.deferred.remove(&i);
        self.default_retried.insert(i);
        Some(i)
    }

    /// Whether a refused deletion should wait for the user's other deletions: Graph
    /// refuses to delete the default method while others remain, and the plan cannot
    /// always tell which one is the default (two Authenticator apps, say).
    fn defer_default(&mut self, step: usize, message: Option<&str>) -> bool {
        let refused_as_default =
            message.is_some_and(|m| m.to_ascii_lowercase().contains("default method"));
        let others_left = (0..self.steps.len()).any(|i| {
            i != step
                && self.done[i].is_none()
                && matches!(self.steps[i], Step::DeleteMethod { .. })
        });
        if refused_as_default
            && others_left
            && matches!(self.steps[step], Step::DeleteMethod { .. })
            && !self.default_retried.contains(&step)
        {
            self.deferred.insert(step);
            true
        } else {
            false
        }
    }

    fn needs_drift_check(&self) -> bool {
        !self.drift_checked
            && (0..self.steps.len()).any(|i| {
                self.done[i].is_none()
                    && matches!(
                        self.steps[i],
                        Step::DeleteMethod { .. } | Step::IssueTemporaryAccessPass { .. }
                    )
            })
    }
}

/// Records a step's outcome in the user's result.
fn apply_step_outcome(
    outcome: &mut UserOutcome,
    removed_ids: &mut BTreeSet<String>,
    step: &Step,
    result: StepOutcome,
    error_code: Option<String>,
    error_message: Option<String>,
) {
    match (step, result) {
        (Step::DeleteMethod { kind, id, label }, StepOutcome::Done) => {
            removed_ids.insert(id.clone());
            outcome.removed.push(MethodRef {
                kind: *kind,
                id: id.clone(),
                label: label.clone(),
            });
        }
        (Step::DeleteMethod { kind, id, label }, StepOutcome::AlreadyDone) => {
            removed_ids.insert(id.clone());
            outcome.already_removed.push(MethodRef {
                kind: *kind,
                id: id.clone(),
                label: label.clone(),
            });
        }
        (Step::RevokeSessions, StepOutcome::Done | StepOutcome::AlreadyDone) => {
            outcome.sessions_revoked = true
        }
        (Step::DisableAccount, StepOutcome::Done | StepOutcome::AlreadyDone) => {
            outcome.account_disabled = true
        }
        (Step::IssueTemporaryAccessPass { .. }, StepOutcome::Done) => outcome.tap_issued = true,
        _ => {}
    }
    if matches!(result, StepOutcome::Failed | StepOutcome::Unknown) {
        if error_code.is_some() {
            outcome.error_code = error_code;
        }
        if error_message.is_some() {
            outcome.error_message = error_message;
        }
    }
}

struct Ctx<'a> {
    plan: &'a PlanStore,
    policy: &'a Policy,
    options: RunOptions,
    journal: &'a mut Journal,
    /// What an earlier run of the plan did.
    state: &'a JournalState,
    dir: &'a std::path::Path,
    taps: Option<TapFile>,
    /// Outcomes of the users finished in this run, by entry index, on disk until the
    /// end; `unspilled` holds those the disk would not take.
    finished: Option<EntrySpill>,
    unspilled: BTreeMap<usize, UserOutcome>,
    /// Users contained in the first pass of `--contain-first`, until the final pass.
    set_aside: Option<EntrySpill>,
    jobs: HashMap<usize, UserJob>,
    progress: Progress,
    failure: Option<RunError>,
}

impl Ctx<'_> {
    fn entry(&self, index: usize) -> Option<&PlanEntry> {
        self.jobs.get(&index).map(|j| &j.entry)
    }

    /// The outcome of a user this run finished.
    fn take_finished(&mut self, index: usize) -> Option<UserOutcome> {
        if let Some(outcome) = self.unspilled.remove(&index) {
            return Some(outcome);
        }
        match self.finished.as_mut()?.get::<UserOutcome>(index) {
            Ok(outcome) => outcome,
            Err(e) => {
                self.failure.get_or_insert(e.into());
                None
            }
        }
    }

    fn journal(&mut self, record: Record) -> bool {
        if self.failure.is_some() {
            return false;
        }
        match self.journal.append(&record) {
            Ok(()) => true,
            Err(e) => {
                self.failure = Some(e.into());
                false
            }
        }
    }

    /// The first request of a user in `pass`, or `None` when there is nothing to send.
    fn start(&mut self, index: usize, pass: Pass) -> Option<GraphRequest> {
        let now = now_rfc3339();
        if !self.jobs.contains_key(&index) {
            let entry = match self.plan.entry(index) {
                Ok(entry) => entry,
                Err(e) => {
                    self.failure.get_or_insert(e.into());
                    return None;
                }
            };
            let key = job_key(&entry)?;
            let outcome = UserOutcome::from_plan(&entry);
            let mut job = UserJob::new(entry, key, self.state, outcome);
            if let Some(aside) = self.take_set_aside(index)
                && aside.done.len() == job.done.len()
            {
                job.done = aside.done;
                job.outcome = aside.outcome;
                job.begun = true;
            }
            self.jobs.insert(index, job);
        }
        let job = self.jobs.get_mut(&index)?;
        if job.finished {
            return None;
        }
        job.outcome.started.get_or_insert(now);
        self.next_request(index, pass)
    }

    /// What the user sends next in `pass`, journaling `Begin` / `Intent` first.
    fn next_request(&mut self, index: usize, pass: Pass) -> Option<GraphRequest> {
        let job = self.jobs.get_mut(&index)?;
        if pass == Pass::All && job.needs_drift_check() {
            job.stage = Stage::DriftRead;
            return GraphRequest::list_methods(&job.key);
        }
        let Some(step) = job.next_step(pass) else {
            if pass == Pass::All && !job.verified && self.options.verify && job.removes_methods() {
                job.verified = true;
                job.stage = Stage::Verify;
                return GraphRequest::list_methods(&job.key);
            }
            job.stage = Stage::Idle;
            return None;
        };
        let row = job.entry.row;
        let needs_begin = !job.begun;
        let is_tap = matches!(job.steps[step], Step::IssueTemporaryAccessPass { .. });
        let request = step_request(&job.key, &job.steps[step]);
        job.stage = Stage::Step(step);
        if needs_begin {
            if !self.journal(Record::Begin { row }) {
                return None;
            }
            if let Some(job) = self.jobs.get_mut(&index) {
                job.begun = true;
            }
        }
        let _ = is_tap;
        request
    }

    /// Journals the intent to send a user's TAP creation, if that is what the user sends
    /// next. `false` when the journal cannot be written (then nothing is sent).
    fn journal_intent(&mut self, index: usize) -> bool {
        let Some(job) = self.jobs.get(&index) else {
            return true;
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

    /// Takes a completion while stopping: records it, sends nothing more.
    fn absorb(&mut self, index: usize, completed: Completed, pass: Pass) {
        let _ = self.handle(index, completed, pass, false);
    }

    fn advance(&mut self, index: usize, completed: Completed, pass: Pass) -> Option<GraphRequest> {
        self.handle(index, completed, pass, true)
    }

    fn handle(
        &mut self,
        index: usize,
        completed: Completed,
        pass: Pass,
        go_on: bool,
    ) -> Option<GraphRequest> {
        let row = self.entry(index)?.row;
        let stage = self.jobs.get(&index)?.stage;
        {
            let job = self.jobs.get_mut(&index)?;
            job.stage = Stage::Idle;
            job.outcome.attempts += completed.attempts;
            if let Some(id) = &completed.request_id {
                job.outcome.request_ids.push(id.clone());
            }
        }
        match stage {
            Stage::Idle => None,
            Stage::DriftRead => {
                let methods = match completed.result {
                    JobResult::Done { body, .. } => list_of_methods(body.as_ref()),
                    other => {
                        let (code, message) = failure_text(&other);
                        self.finish_user(
                            index,
                            RunStatus::Failed,
                            Some(format!(
                                "could not re-read the user's methods before changing them: {message}"
                            )),
                            code,
                        );
                        return None;
                    }
                };
                self.resolve_intents(index, &methods);
                let drift = self.drift(index, &methods);
                let job = self.jobs.get_mut(&index)?;
                job.drift_checked = true;
                if let Some(found) = drift {
                    match self.options.on_drift {
                        OnDrift::Skip => {
                            self.finish_user(
                                index,
                                RunStatus::Drifted,
                                Some(format!(
                                    "the user's methods changed since the plan ({found}); nothing was changed for this user. Plan again, or apply with --on-drift replan"
                                )),
                                None,
                            );
                            return None;
                        }
                        OnDrift::Replan => {
                            if !self.replan(index, methods, &found) {
                                return None;
                            }
                        }
                    }
                }
                if go_on {
                    self.next_request(index, pass)
                } else {
                    None
                }
            }
            Stage::Step(step) => {
                let step_def = self.jobs.get(&index)?.steps[step].clone();
                let (result, code, message) = self.step_result(index, &step_def, completed);
                if result == StepOutcome::Failed
                    && self
                        .jobs
                        .get_mut(&index)?
                        .defer_default(step, message.as_deref())
                {
                    return if go_on {
                        self.next_request(index, pass)
                    } else {
                        None
                    };
                }
                let job = self.jobs.get(&index)?;
                let record = Record::Step {
                    row,
                    step,
                    outcome: result,
                    request_id: job.outcome.request_ids.last().cloned(),
                    attempts: job.outcome.attempts,
                    error_code: code.clone(),
                    error_message: message.clone(),
                };
                if !self.journal(record) {
                    return None;
                }
                self.progress.writes_done += 1;
                let job = self.jobs.get_mut(&index)?;
                job.done[step] = Some(result);
                job.intent_unresolved.remove(&step);
                apply_step_outcome(
                    &mut job.outcome,
                    &mut job.removed_ids,
                    &step_def,
                    result,
                    code,
                    message,
                );
                if go_on {
                    self.next_request(index, pass)
                } else {
                    None
                }
            }
            Stage::Verify => {
                let job = self.jobs.get_mut(&index)?;
                match completed.result {
                    JobResult::Done { body, .. } => {
                        let methods = list_of_methods(body.as_ref());
                        job.outcome.remaining = Some(
                            methods
                                .iter()
                                .map(|m| MethodRef {
                                    kind: m.kind,
                                    id: m.id.clone(),
                                    label: m.label(),
                                })
                                .collect(),
                        );
                    }
                    other => {
                        let (_, message) = failure_text(&other);
                        job.outcome.reason = Some(format!(
                            "the methods could not be re-read to verify: {message}"
                        ));
                    }
                }
                job.stage = Stage::Idle;
                None
            }
        }
    }

    /// The outcome of a write, with Graph's error code and message when it failed. A TAP's
    /// pass goes to the secrets file here, before the step is journaled.
    fn step_result(
        &mut self,
        index: usize,
        step: &Step,
        completed: Completed,
    ) -> (StepOutcome, Option<String>, Option<String>) {
        match completed.result {
            JobResult::Done { body, .. } => {
                if let Step::IssueTemporaryAccessPass {
                    lifetime_minutes,
                    usable_once,
                } = step
                {
                    let body = body.unwrap_or(Value::Null);
                    let Some(pass) = body.get("temporaryAccessPass").and_then(Value::as_str) else {
                        return (
                            StepOutcome::Unknown,
                            None,
                            Some("Graph created a Temporary Access Pass but did not return it; remove it and issue a new one".into()),
                        );
                    };
                    let job = &self.jobs[&index];
                    let record = TapRecord {
                        user_id: job.outcome.user_id.clone().unwrap_or_default(),
                        user_principal_name: job
                            .outcome
                            .user_principal_name
                            .clone()
                            .unwrap_or_default(),
                        pass: Secret::new(pass),
                        start: body
                            .get("startDateTime")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        lifetime_minutes: body
                            .get("lifetimeInMinutes")
                            .and_then(Value::as_u64)
                            .map(|m| m as u32)
                            .unwrap_or(*lifetime_minutes),
                        usable_once: body
                            .get("isUsableOnce")
                            .and_then(Value::as_bool)
                            .unwrap_or(*usable_once),
                    };
                    if let Err(e) = self.write_pass(&record) {
                        self.failure = Some(RunError::Secrets(e));
                        return (
                            StepOutcome::Unknown,
                            None,
                            Some("the pass could not be written to secrets/tap.csv".into()),
                        );
                    }
                }
                (StepOutcome::Done, None, None)
            }
            JobResult::AlreadyDone => (StepOutcome::AlreadyDone, None, None),
            JobResult::Failed {
                fault: Some(fault), ..
            } if fault.status == 404 && matches!(step, Step::DeleteMethod { .. }) => {
                // The method is gone already: the end state is what the plan wants.
                let _ = fault;
                (StepOutcome::AlreadyDone, None, None)
            }
            other => {
                let (code, mut message) = failure_text(&other);
                if let JobResult::Failed {
                    fault: Some(fault), ..
                } = &other
                    && fault.status == 403
                {
                    message = format!(
                        "{message} — {}",
                        permissions::denied_hint(permissions::for_step(step))
                    );
                }
                let outcome = if matches!(other, JobResult::Unknown { .. }) {
                    StepOutcome::Unknown
                } else {
                    StepOutcome::Failed
                };
                (outcome, code, Some(message))
            }
        }
    }

    fn write_pass(&mut self, record: &TapRecord) -> Result<(), String> {
        if self.taps.is_none() {
            self.taps = Some(TapFile::open(self.dir).map_err(|e| e.to_string())?);
        }
        self.taps
            .as_mut()
            .expect("opened above")
            .append(record)
            .map_err(|e| e.to_string())
    }

    /// A TAP creation journaled as intended but never answered (the run was killed while
    /// it was in flight): if the user has no pass the plan did not know of, it never
    /// reached Graph and may be sent now; otherwise it was created and its pass is lost,
    /// and it stays unresolved (never created twice).
    fn resolve_intents(&mut self, index: usize, now: &[MethodSnapshot]) {
        let Some(before) = self.entry(index).and_then(|e| e.before.as_ref()) else {
            return;
        };
        let known: BTreeSet<&str> = before.methods.iter().map(|m| m.id.as_str()).collect();
        let new_pass = now
            .iter()
            .any(|m| m.kind == MethodType::TemporaryAccessPass && !known.contains(m.id.as_str()));
        if let Some(job) = self.jobs.get_mut(&index)
            && !new_pass
        {
            job.intent_unresolved.clear();
        }
    }

    /// How the user's methods now differ from what the plan expects, in words, or `None`.
    fn drift(&self, index: usize, now: &[MethodSnapshot]) -> Option<String> {
        let job = &self.jobs[&index];
        let before = job.entry.before.as_ref()?;
        let planned: BTreeSet<&str> = before.methods.iter().map(|m| m.id.as_str()).collect();
        let current: BTreeSet<&str> = now.iter().map(|m| m.id.as_str()).collect();
        // After an interruption, the steps of this plan may have changed things already.
        let removable: BTreeSet<&str> = if job.begun {
            job.steps
                .iter()
                .filter_map(|s| match s {
                    Step::DeleteMethod { id, .. } => Some(id.as_str()),
                    _ => None,
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        let new: Vec<String> = now
            .iter()
            .filter(|m| !planned.contains(m.id.as_str()))
            .filter(|m| {
                !(job.begun && m.kind == MethodType::TemporaryAccessPass && job.tap_step_ran())
            })
            .map(|m| m.label())
            .collect();
        let gone: Vec<String> = before
            .methods
            .iter()
            .filter(|m| !current.contains(m.id.as_str()) && !removable.contains(m.id.as_str()))
            // Graph replaces an existing pass when this run's pass is created: not drift.
            .filter(|m| {
                !(job.begun && m.kind == MethodType::TemporaryAccessPass && job.tap_step_ran())
            })
            .map(|m| m.label())
            .collect();
        if new.is_empty() && gone.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if !new.is_empty() {
            parts.push(format!("registered since: {}", new.join(", ")));
        }
        if !gone.is_empty() {
            parts.push(format!("no longer registered: {}", gone.join(", ")));
        }
        Some(parts.join("; "))
    }

    /// Decides the user's steps again from the methods found now. Steps already done stay
    /// done; the new steps are journaled so that a resume runs the same ones.
    fn replan(&mut self, index: usize, methods: Vec<MethodSnapshot>, found: &str) -> bool {
        let Some(entry) = self.entry(index) else {
            return false;
        };
        let Some(before) = entry.before.clone() else {
            return false;
        };
        let row = entry.row;
        let snapshot = UserSnapshot { methods, ..before };
        let decision = policy::decide(self.policy, &snapshot, false);
        let job = self.jobs.get_mut(&index).expect("a job");
        let done_steps: Vec<Step> = job
            .steps
            .iter()
            .zip(&job.done)
            .filter(|(_, d)| d.is_some())
            .map(|(s, _)| s.clone())
            .collect();
        let mut steps: Vec<Step> = done_steps.clone();
        steps.extend(
            decision
                .steps()
                .iter()
                .filter(|s| !done_steps.contains(s))
                .cloned(),
        );
        let mut done: Vec<Option<StepOutcome>> =
            job.done.iter().copied().flatten().map(Some).collect();
        done.resize(steps.len(), None);
        job.steps = steps.clone();
        job.done = done;
        job.outcome.reason = Some(format!(
            "the user's methods changed since the plan ({found}); decided again from the methods found now"
        ));
        self.journal(Record::Replanned { row, steps })
    }

    /// Parks a user whose next job was never handed to the dispatcher.
    fn park(&mut self, index: usize) {
        if let Some(job) = self.jobs.get_mut(&index) {
            job.stage = Stage::Idle;
        }
    }

    /// Finishes a user whose work in the final pass is over; after the containment pass,
    /// puts the user aside until the final pass.
    fn settle_if_finished(&mut self, index: usize, pass: Pass) {
        if pass == Pass::Containment {
            self.set_aside(index);
            return;
        }
        if self.failure.is_some() {
            return;
        }
        let Some(job) = self.jobs.get(&index) else {
            return;
        };
        if job.finished || job.stage != Stage::Idle {
            return;
        }
        // Interrupted before all steps ran: not finished.
        let unsent = (0..job.steps.len())
            .any(|i| job.done[i].is_none() && !job.intent_unresolved.contains(&i));
        if unsent || (job.needs_drift_check()) {
            return;
        }
        let (status, reason) = self.final_status(index);
        self.finish_user(index, status, reason, None);
    }

    fn final_status(&self, index: usize) -> (RunStatus, Option<String>) {
        let job = &self.jobs[&index];
        let entry = &job.entry;
        let ok = job
            .done
            .iter()
            .filter(|d| matches!(d, Some(StepOutcome::Done | StepOutcome::AlreadyDone)))
            .count();
        let unresolved_tap =
            !job.intent_unresolved.is_empty() || job.done.contains(&Some(StepOutcome::Unknown));
        let failed = job
            .done
            .iter()
            .filter(|d| **d == Some(StepOutcome::Failed))
            .count();
        let mut reasons: Vec<String> = Vec::new();
        if let Some(r) = &job.outcome.reason {
            reasons.push(r.clone());
        }
        if unresolved_tap {
            reasons.push(
                "a Temporary Access Pass may have been created but its pass was not recorded \
                 (the run was interrupted or Graph's answer was lost); it is not created twice. \
                 Check the user's methods and issue a new pass by hand"
                    .into(),
            );
        }
        if let Some(remaining) = &job.outcome.remaining {
            let still: Vec<&str> = remaining
                .iter()
                .filter(|m| job.removed_ids.contains(&m.id))
                .map(|m| m.label.as_str())
                .collect();
            if !still.is_empty() {
                reasons.push(format!(
                    "still registered after removal: {}",
                    still.join(", ")
                ));
            }
        }
        let verified_bad = reasons.iter().any(|r| r.starts_with("still registered"));
        let status = if failed == 0 && !unresolved_tap && !verified_bad {
            if entry.status == Status::Blocked {
                reasons.insert(0, entry.reason.clone().unwrap_or_default());
                RunStatus::Blocked
            } else {
                RunStatus::Done
            }
        } else if ok == 0 {
            RunStatus::Failed
        } else {
            RunStatus::Partial
        };
        let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
        (status, reason)
    }

    /// After the containment pass: a user who did something goes to disk until the final
    /// pass, so that memory does not grow with the users contained.
    fn set_aside(&mut self, index: usize) {
        let Some(job) = self.jobs.get(&index) else {
            return;
        };
        if job.finished || job.stage != Stage::Idle {
            return;
        }
        if job.begun {
            let aside = SetAside {
                done: job.done.clone(),
                outcome: job.outcome.clone(),
            };
            if self.set_aside.is_none() {
                match EntrySpill::create(self.dir.join(".contained.tmp")) {
                    Ok(spill) => self.set_aside = Some(spill),
                    Err(_) => return,
                }
            }
            let Some(spill) = self.set_aside.as_mut() else {
                return;
            };
            if spill.put(index, &aside).is_err() {
                // Kept in memory instead.
                return;
            }
        }
        self.jobs.remove(&index);
    }

    /// What a user set aside after the containment pass had done.
    fn take_set_aside(&mut self, index: usize) -> Option<SetAside> {
        match self.set_aside.as_mut()?.get::<SetAside>(index) {
            Ok(aside) => aside,
            Err(e) => {
                self.failure.get_or_insert(e.into());
                None
            }
        }
    }

    fn finish_user(
        &mut self,
        index: usize,
        status: RunStatus,
        reason: Option<String>,
        code: Option<String>,
    ) {
        let Some(job) = self.jobs.get_mut(&index) else {
            return;
        };
        job.finished = true;
        job.stage = Stage::Idle;
        let mut outcome = job.outcome.clone();
        outcome.status = Some(status);
        if reason.is_some() {
            outcome.reason = reason;
        }
        if code.is_some() {
            outcome.error_code = code;
        }
        outcome.ended = Some(now_rfc3339());
        if self.journal(Record::Finished {
            outcome: Box::new(outcome.clone()),
        }) {
            tracing::info!(
                row = index,
                user = outcome.user_id.as_deref().unwrap_or_default(),
                status = %status,
                "user finished"
            );
            self.progress.users_done += 1;
            self.jobs.remove(&index);
            let spilled = self
                .finished
                .as_mut()
                .is_some_and(|spill| spill.put(index, &outcome).is_ok());
            if !spilled {
                self.unspilled.insert(index, outcome);
            }
        }
    }
}

impl UserJob {
    fn removes_methods(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::DeleteMethod { .. }))
    }

    fn tap_step_ran(&self) -> bool {
        self.steps
            .iter()
            .zip(&self.done)
            .any(|(s, d)| matches!(s, Step::IssueTemporaryAccessPass { .. }) && d.is_some())
            || !self.intent_unresolved.is_empty()
    }
}

/// The Graph request of a step.
fn step_request(key: &UserKey, step: &Step) -> Option<GraphRequest> {
    match step {
        Step::RevokeSessions => GraphRequest::revoke_sessions(key),
        Step::DisableAccount => GraphRequest::set_account_enabled(key, false),
        Step::DeleteMethod { kind, id, .. } => GraphRequest::delete_method(key, *kind, id),
        Step::IssueTemporaryAccessPass {
            lifetime_minutes,
            usable_once,
        } => GraphRequest::create_temporary_access_pass(key, *lifetime_minutes, *usable_once),
    }
}

fn list_of_methods(body: Option<&Value>) -> Vec<MethodSnapshot> {
    body.and_then(|b| b.get("value"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(method_snapshot).collect())
        .unwrap_or_default()
}

/// Graph's error code (if any) and a message for a job that did not succeed.
fn failure_text(result: &JobResult) -> (Option<String>, String) {
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

/// Now, as reports write it: `2026-11-28T10:41:12Z`.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
