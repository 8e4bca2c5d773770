//! How a user's job ends: when it is over, the status and reason its steps add up to,
//! and the `Finished` record — fsynced before the outcome is kept for the results, so
//! that a user is either finished in the journal or run again by a resume.

use super::contain::Pass;
use super::job::{Stage, UserJob};
use super::{Ctx, now_rfc3339};
use crate::engine::journal::{Record, StepOutcome};
use crate::engine::outcome::RunStatus;

/// Why a user whose TAP creation was never answered ends `partial`.
const UNRESOLVED_TAP: &str = "a Temporary Access Pass may exist whose value was not recorded (Graph's \
     answer to its creation was lost, and the pass could not be deleted or the answer was lost \
     again); the removals that wait on it were withheld. Check the user's methods, delete the \
     pass and issue a new one by hand";

impl Ctx<'_> {
    /// Finishes a user whose work in the final pass is over; after the containment pass,
    /// puts the user aside until the final pass.
    pub(super) fn settle_if_finished(&mut self, index: usize, pass: Pass) {
        if pass == Pass::Containment {
            self.set_aside(index);
            return;
        }
        if self.failure.is_some() {
            return;
        }
        // No job: the user finished already, or their entry could not be read.
        let Some(job) = self.jobs.get(&index) else {
            return;
        };
        if !job.is_over() {
            return;
        }
        let (status, reason) = job.final_status();
        self.finish_user(index, status, reason, None);
    }

    /// Ends a user with `status`: journals their `Finished` record, then keeps their
    /// outcome for the results. When the journal cannot take it, the user stays
    /// unfinished (and is reported `pending`).
    pub(super) fn finish_user(
        &mut self,
        index: usize,
        status: RunStatus,
        reason: Option<String>,
        code: Option<String>,
    ) {
        let Some(job) = self.job_or_bug(index) else {
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
        if !self.journal(Record::Finished {
            outcome: Box::new(outcome.clone()),
        }) {
            return;
        }
        tracing::info!(
            row = index,
            user = outcome.user_id.as_deref().unwrap_or_default(),
            status = %status,
            "user finished"
        );
        self.progress.users_done += 1;
        if matches!(status, RunStatus::Failed | RunStatus::Partial) {
            self.progress.users_failed += 1;
        }
        self.jobs.remove(&index);
        self.finished.put(index, outcome);
    }
}

impl UserJob {
    /// Whether the user's work is over: nothing on its way, and every step answered but a
    /// TAP creation left unresolved. A user interrupted before all steps ran is not.
    fn is_over(&self) -> bool {
        !self.finished
            && self.stage == Stage::Idle
            && !self.has_unsent_steps()
            && !self.needs_recheck()
            && self.clear_pass.is_none()
            && self.intent_unresolved.is_empty()
    }

    /// The status and reason the user's steps add up to.
    fn final_status(&self) -> (RunStatus, Option<String>) {
        let ok = self
            .done
            .iter()
            .filter(|d| matches!(d, Some(StepOutcome::Done | StepOutcome::AlreadyDone)))
            .count();
        let unresolved_tap =
            !self.intent_unresolved.is_empty() || self.done.contains(&Some(StepOutcome::Unknown));
        let failed = self
            .done
            .iter()
            .filter(|d| **d == Some(StepOutcome::Failed))
            .count();
        if let Some(restricted) = &self.restricted
            && ok == 0
        {
            return (RunStatus::Protected, Some(restricted.clone()));
        }
        let mut reasons: Vec<String> = Vec::new();
        if let Some(restricted) = &self.restricted {
            reasons.push(restricted.clone());
        }
        if let Some(r) = &self.outcome.reason {
            reasons.push(r.clone());
        }
        if unresolved_tap {
            reasons.push(UNRESOLVED_TAP.into());
        }
        let withheld = self.withheld();
        if let Some(&first) = withheld.first()
            && let super::job::Prerequisites::Failed(needed) = self.prerequisites(first)
        {
            let what: Vec<String> = withheld.iter().map(|&i| self.steps[i].describe()).collect();
            reasons.push(format!(
                "withheld so that the user keeps their ways to sign in, because \"{}\" did not \
                 succeed: {}",
                self.steps[needed].describe(),
                what.join(", ")
            ));
        }
        if let Some(still) = self.still_registered() {
            reasons.push(still);
        }
        let verified_bad = reasons.iter().any(|r| r.starts_with("still registered"));
        let status = if failed == 0 && !unresolved_tap && !verified_bad && withheld.is_empty() {
            if let Some(blocked) = &self.blocked {
                if !reasons.contains(blocked) {
                    reasons.insert(0, blocked.clone());
                }
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
}
