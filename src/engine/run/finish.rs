//! How a user's job ends: when it is over, the status and reason its steps add up to,
//! and the `Finished` record — fsynced before the outcome is kept for the results, so
//! that a user is either finished in the journal or run again by a resume.

use super::contain::Pass;
use super::job::{Stage, UserJob};
use super::{Ctx, now_rfc3339};
use crate::engine::journal::{Record, StepOutcome};
use crate::engine::outcome::RunStatus;
use crate::plan::Status;

/// Why a user whose TAP creation was never answered ends `partial`.
const UNRESOLVED_TAP: &str = "a Temporary Access Pass may have been created but its pass was not recorded \
     (the run was interrupted or Graph's answer was lost); it is not created twice. \
     Check the user's methods and issue a new pass by hand";

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
            && !self.needs_drift_check()
    }

    /// The status and reason the user's steps add up to.
    fn final_status(&self) -> (RunStatus, Option<String>) {
        let entry = &self.entry;
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
        let mut reasons: Vec<String> = Vec::new();
        if let Some(r) = &self.outcome.reason {
            reasons.push(r.clone());
        }
        if unresolved_tap {
            reasons.push(UNRESOLVED_TAP.into());
        }
        if let Some(still) = self.still_registered() {
            reasons.push(still);
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
}
