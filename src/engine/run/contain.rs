//! `--contain-first`: a first pass revokes sessions and disables accounts for every user
//! before any method is removed. Each user is re-read before their first change, in that
//! pass (a drifted user is not contained either). Between the passes, a user who was
//! re-read waits on disk (`.contained.tmp`) with their steps and what was done so far, so
//! that memory does not grow with the users contained; the final pass takes them up again.

use super::Ctx;
use super::job::{Stage, UserJob};
use super::outcomes::read_spill;
use crate::engine::journal::StepOutcome;
use crate::engine::outcome::UserOutcome;
use crate::plan::store::EntrySpill;
use crate::policy::Step;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// Only revoke sessions and disable accounts.
    Containment,
    /// Everything left, then finish the user.
    All,
}

impl Pass {
    /// The passes of a run.
    pub(super) fn sequence(contain_first: bool) -> &'static [Pass] {
        if contain_first {
            &[Pass::Containment, Pass::All]
        } else {
            &[Pass::All]
        }
    }

    /// Whether `step` is sent in this pass.
    pub(super) fn allows(self, step: &Step) -> bool {
        self == Pass::All || matches!(step, Step::RevokeSessions | Step::DisableAccount)
    }
}

/// A user between the two passes of `--contain-first`: their steps (decided again, after
/// drift with `--on-drift replan`), those done so far, and the outcome being built.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct SetAside {
    steps: Vec<Step>,
    done: Vec<Option<StepOutcome>>,
    outcome: UserOutcome,
    blocked: Option<String>,
    begun: bool,
}

impl Ctx<'_> {
    /// After the containment pass: a user who did something goes to disk until the final
    /// pass, so that memory does not grow with the users contained.
    pub(super) fn set_aside(&mut self, index: usize) {
        // No job: the user's entry could not be read (the run is failing).
        let Some(job) = self.jobs.get(&index) else {
            return;
        };
        if job.finished || job.stage != Stage::Idle {
            return;
        }
        if job.rechecked {
            let aside = SetAside {
                steps: job.steps.clone(),
                done: job.done.clone(),
                outcome: job.outcome.clone(),
                blocked: job.blocked.clone(),
                begun: job.begun,
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
    pub(super) fn take_set_aside(&mut self, index: usize) -> Option<SetAside> {
        read_spill(self.set_aside.as_mut(), index, &mut self.failure)
    }

    /// Takes up in `job` what the containment pass did for the user, if it was set aside:
    /// the user was re-read there and is not read again.
    pub(super) fn restore_set_aside(&mut self, index: usize, job: &mut UserJob) {
        if let Some(aside) = self.take_set_aside(index)
            && aside.done.len() == aside.steps.len()
        {
            job.steps = aside.steps;
            job.done = aside.done;
            job.outcome = aside.outcome;
            job.blocked = aside.blocked;
            job.begun = aside.begun;
            job.rechecked = true;
        }
    }
}

impl SetAside {
    /// The outcome built so far.
    pub(super) fn into_outcome(self) -> UserOutcome {
        self.outcome
    }
}
