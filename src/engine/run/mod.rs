//! Carrying out a plan: every planned user is a small job that runs its steps in the
//! plan's order, one Graph request at a time, while the dispatcher packs many users'
//! requests into each paced `$batch`.
//!
//! A user's job: re-read the account, roles and methods and compare them with the plan
//! (drift: a drifted user gets nothing) → `Begin` in the journal → each step in the
//! plan's order (a TAP creation is preceded by an `Intent` record and its pass goes to
//! `secrets/tap.csv` before the step is journaled; a removal whose disable or pass before
//! it failed is withheld) → `--verify` re-read → the `Finished` record, fsynced before the
//! outcome is reported. With `--contain-first`, a first pass revokes sessions and disables
//! accounts for every user before any method is removed.
//!
//! On resume the journal says which steps already finished; they are not sent again. A
//! TAP whose `Intent` is journaled without an outcome may exist with a pass nobody saw:
//! the re-read finds it, it is deleted, and a new pass is issued and recorded.
//!
//! A failure that is not about one user (the credential refused, Graph out of reach, the
//! same refusal user after user) trips the circuit breaker (`breaker`): the run starts no
//! more users and ends resumable, with [`RunResult::stopped`] saying why.
//!
//! # Layout
//!
//! [`run_plan`] reads the plan's rows once (`rows`), runs one or two passes over the
//! users to run (`passes`, and `contain` for `--contain-first`), then writes every row's
//! outcome (`outcomes`). One user's job is a state machine: its state (`job`); what it
//! sends next and how an answer moves it on (`machine`); the re-read before the first
//! change (`recheck`) and its comparison with the plan (`drift`); the answers to its steps
//! (`steps`) and to the re-read after them (`verify`); and how it ends (`finish`). The
//! circuit breaker (`breaker`) watches every answer.

mod breaker;
mod contain;
mod drift;
mod finish;
mod job;
mod machine;
mod outcomes;
mod passes;
mod recheck;
mod restore_data;
mod rows;
mod steps;
mod verify;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::dispatcher::{Completed, Counters, Dispatcher, DispatcherSettings, Job};
use super::journal::{Journal, JournalError, JournalState, Record};
use super::outcome::UserOutcome;
use super::pacer::Pacer;
use super::secrets::TapFile;
use super::settings::RunOptions;
use crate::graph::transport::Transport;
use crate::plan::store::{EntrySpill, PlanStore, StoreError};
use crate::policy::Policy;
use breaker::Breaker;
pub use breaker::{STREAK, TripCause, Tripped};
use job::UserJob;
use outcomes::FinishedOutcomes;
use passes::Channels;

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
    /// Users this run finished `failed` or `partial` (a step of theirs failed).
    pub users_failed: usize,
    pub throttled: u64,
    pub retried: u64,
}

/// The end of a run. Every row's outcome went to the `emit` of [`run_plan`], in row
/// order; unfinished users as `pending`.
#[derive(Debug)]
pub struct RunResult {
    /// The run stopped before every user finished (Ctrl-C, SIGTERM, SIGHUP).
    pub interrupted: bool,
    /// A journal or secrets-file write failed: the run stopped there.
    pub failure: Option<RunError>,
    /// The circuit breaker stopped the run: a failure that is not about one user.
    pub stopped: Option<Tripped>,
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
    stop: watch::Receiver<bool>,
    mut on_progress: impl FnMut(&Progress),
    mut emit: impl FnMut(UserOutcome),
) -> RunResult {
    let RunFiles {
        journal,
        state,
        dir,
    } = files;
    let (done_tx, done_rx) = mpsc::channel::<Completed>(1024);
    let dispatcher = Dispatcher::new(transport, pacer, settings.clone(), done_tx);
    let counters = dispatcher.counters();
    let halt = dispatcher.halt_switch();
    let (job_tx, job_rx) = mpsc::channel::<Job>(1024);
    let running = tokio::spawn(dispatcher.run(job_rx));

    let mut ctx = Ctx::new(plan, options, journal, &state, dir);
    let to_run = ctx.survey_rows();
    on_progress(&ctx.progress);

    let mut channels = Channels::new(job_tx, done_rx, stop, halt);
    let max_active = (settings.max_in_flight * settings.batch_size * 4).max(64);
    channels
        .run_passes(&mut ctx, &to_run, max_active, &counters, &mut on_progress)
        .await;
    let interrupted = channels.close();
    let _ = running.await;

    ctx.emit_all(&mut emit);
    RunResult {
        interrupted: interrupted || ctx.failure.is_some(),
        stopped: ctx.breaker.into_tripped(),
        failure: ctx.failure,
        writes_sent: Counters::get(&counters.writes_sent),
        throttled: Counters::get(&counters.throttled),
        retried: Counters::get(&counters.retried),
    }
}

/// What one run keeps while it goes: the plan and the journal it reads, the jobs of the
/// users running now, where finished outcomes wait, the progress, and the first failure.
///
/// Its methods live with the part of the run they serve (see the module's layout).
struct Ctx<'a> {
    plan: &'a PlanStore,
    policy: &'a Policy,
    options: RunOptions,
    journal: &'a mut Journal,
    /// What an earlier run of the plan did.
    state: &'a JournalState,
    dir: &'a std::path::Path,
    taps: Option<TapFile>,
    /// `secrets/restore.jsonl`, opened at the first record.
    restore: Option<super::secrets::restore::RestoreFile>,
    /// Outcomes of the users finished in this run, until the end.
    finished: FinishedOutcomes,
    /// Users contained in the first pass of `--contain-first`, until the final pass.
    set_aside: Option<EntrySpill>,
    /// The users running now, by entry index.
    jobs: std::collections::HashMap<usize, UserJob>,
    progress: Progress,
    /// A journal, secrets-file or plan-file failure: the run takes no new work.
    failure: Option<RunError>,
    /// Watches for a failure that is not about one user.
    breaker: Breaker,
}

impl<'a> Ctx<'a> {
    fn new(
        plan: &'a PlanStore,
        options: RunOptions,
        journal: &'a mut Journal,
        state: &'a JournalState,
        dir: &'a std::path::Path,
    ) -> Ctx<'a> {
        let (finished, failure) = match FinishedOutcomes::create(dir, plan.len()) {
            Ok(finished) => (finished, None),
            Err(e) => (FinishedOutcomes::in_memory(), Some(RunError::Plan(e))),
        };
        Ctx {
            policy: &plan.header.policy,
            plan,
            options,
            journal,
            state,
            dir,
            taps: None,
            restore: None,
            finished,
            set_aside: None,
            jobs: std::collections::HashMap::new(),
            progress: Progress::default(),
            failure,
            breaker: Breaker::default(),
        }
    }

    /// Appends one record to the journal; `false` (and the run stops) when it cannot, or
    /// when an earlier failure stopped the run already.
    fn journal(&mut self, record: Record) -> bool {
        self.journal_all(std::slice::from_ref(&record))
    }

    /// Appends records to the journal with one write and one fsync; `false` as
    /// [`Ctx::journal`].
    fn journal_all(&mut self, records: &[Record]) -> bool {
        if self.failure.is_some() {
            return false;
        }
        match self.journal.append_all(records) {
            Ok(()) => true,
            Err(e) => {
                self.failure = Some(e.into());
                false
            }
        }
    }

    /// The job of a user who must have one: one whose request is in flight, answered or
    /// about to be sent. A missing job is a bug in the run, reported by [`bug`]; callers
    /// then leave the user as they are, so that their row is still written (`pending`).
    fn job_or_bug(&mut self, index: usize) -> Option<&mut UserJob> {
        let job = self.jobs.get_mut(&index);
        if job.is_none() {
            bug(format_args!(
                "entry {index} has no job where it must have one"
            ));
        }
        job
    }
}

/// Reports a broken invariant of the run: a bug in mfa-reset, never the tenant's or the
/// input's doing. A debug build (the tests) stops there. A release run logs it and goes
/// on: the caller leaves the user concerned unfinished, so their row is still written
/// (`pending`, or as the journal has it) and a resume takes them up again; nothing that
/// was journaled is lost, and nothing is sent that was not journaled first.
fn bug(what: std::fmt::Arguments<'_>) {
    tracing::error!("bug in mfa-reset: {what}");
    debug_assert!(false, "bug in mfa-reset: {what}");
}

/// Now, as reports write it: `2026-11-28T10:41:12Z`.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
