//! The first read of the plan, before anything is sent: which rows the run acts on, which
//! the plan settled (journaled as finished once, so that a resume need not decide them
//! again), and which an earlier run finished; and the progress totals that follow.

use super::job::UserJob;
use super::{Ctx, Progress};
use crate::engine::journal::Record;
use crate::engine::outcome::{RunStatus, UserOutcome};
use crate::graph::key::UserKey;
use crate::plan::PlanEntry;

/// Settled rows journaled with one write.
const SETTLED_PER_WRITE: usize = 4096;

/// What the run does with a row the journal does not hold as finished.
pub(super) enum RowPlan {
    /// Nothing: the row's outcome is this.
    Settled(Box<UserOutcome>),
    /// The user's steps run, acted on by this key.
    Run(UserKey),
}

impl RowPlan {
    /// A row the run does not act on: settled by the plan (no change, not found,
    /// protected, ...), blocked with nothing that can run, or with steps but no valid user
    /// id. Any other row runs, by the user's id as the plan read it.
    pub(super) fn of(entry: &PlanEntry) -> RowPlan {
        let mut outcome = UserOutcome::from_plan(entry);
        if outcome.status.is_some() || entry.steps.is_empty() {
            if outcome.status.is_none() {
                // Blocked with nothing that can run.
                outcome.status = Some(RunStatus::Blocked);
            }
            return RowPlan::Settled(Box::new(outcome));
        }
        match job_key(entry) {
            Some(key) => RowPlan::Run(key),
            None => {
                outcome.status = Some(RunStatus::Failed);
                outcome.reason =
                    Some("the plan has steps for this row but no valid user id".into());
                RowPlan::Settled(Box::new(outcome))
            }
        }
    }
}

/// The key a row with steps is acted on by: the user's id as the plan read it.
pub(super) fn job_key(entry: &PlanEntry) -> Option<UserKey> {
    entry.before.as_ref().and_then(|u| UserKey::id(&u.id).ok())
}

impl Ctx<'_> {
    /// Reads every entry of the plan once: journals the rows the plan settled, counts the
    /// users to run and those an earlier run finished, and returns the entry indexes of
    /// the users to run, in order. Stops at the first failure.
    pub(super) fn survey_rows(&mut self) -> Vec<usize> {
        let mut to_run: Vec<usize> = Vec::new();
        let mut settled: Vec<Record> = Vec::new();
        for index in 0..self.plan.len() {
            if self.failure.is_some() {
                break;
            }
            let entry = match self.plan.entry(index) {
                Ok(entry) => entry,
                Err(e) => {
                    self.failure = Some(e.into());
                    break;
                }
            };
            if self.state.finished.contains(entry.row) {
                self.progress.count_finished_earlier(&entry);
                continue;
            }
            match RowPlan::of(&entry) {
                RowPlan::Settled(outcome) => {
                    settled.push(Record::Finished { outcome });
                    if settled.len() >= SETTLED_PER_WRITE {
                        self.journal_all(&settled);
                        settled.clear();
                    }
                }
                RowPlan::Run(key) => {
                    let job = UserJob::new(entry, key, self.state, UserOutcome::default());
                    self.progress.count_to_run(&job);
                    to_run.push(index);
                }
            }
        }
        if !settled.is_empty() {
            self.journal_all(&settled);
        }
        to_run
    }
}

impl Progress {
    /// A user an earlier run finished counts as done (a row the plan settled does not
    /// count at all).
    fn count_finished_earlier(&mut self, entry: &PlanEntry) {
        if RunStatus::settled_by_plan(entry.status).is_none() {
            self.users_total += 1;
            self.users_done += 1;
            self.writes_total += entry.steps.len();
            self.writes_done += entry.steps.len();
        }
    }

    /// A user to run, with the steps the journal says are done already.
    fn count_to_run(&mut self, job: &UserJob) {
        self.users_total += 1;
        self.writes_total += job.steps.len();
        self.writes_done += job.steps.len() - job.remaining();
    }
}
