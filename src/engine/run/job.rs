//! One user's job: the steps the run carries out for them, what each step came to (from
//! this run or the journal), which steps wait on others and which are withheld because a
//! step they need failed, where the job stands, and the outcome being built. Only the
//! job's own bookkeeping lives here; what it sends and how answers move it on are in
//! [`super::machine`].

use std::collections::BTreeSet;

use super::contain::Pass;
use super::recheck::Reread;
use crate::engine::dispatcher::{Completed, JobResult};
use crate::engine::journal::{JournalState, StepOutcome};
use crate::engine::outcome::{MethodRef, UserOutcome};
use crate::graph::key::UserKey;
use crate::graph::request::GraphRequest;
use crate::plan::PlanEntry;
use crate::policy::Step;

/// What a job waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Nothing: no request of the user is on its way.
    Idle,
    /// The re-read of the user before their first change in this run: account, roles and
    /// methods, asked for at once ([`super::recheck`]).
    Recheck,
    /// The deletion of a Temporary Access Pass whose value nobody holds (its creation's
    /// answer was lost), before a new pass is issued.
    ClearPass,
    /// The answer to step `n`.
    Step(usize),
    /// The re-read of the user's methods after the steps (`--verify`).
    Verify,
}

pub(super) struct UserJob {
    /// The plan's entry for the user.
    pub(super) entry: PlanEntry,
    pub(super) key: UserKey,
    pub(super) steps: Vec<Step>,
    /// Each step's outcome, from this run or the journal.
    pub(super) done: Vec<Option<StepOutcome>>,
    /// A TAP creation whose intent is journaled without an outcome.
    pub(super) intent_unresolved: BTreeSet<usize>,
    pub(super) begun: bool,
    /// The user was re-read (guardrails and drift) before their first change in this run.
    pub(super) rechecked: bool,
    /// The answers of the re-read so far, while it is on its way.
    pub(super) reread: Option<Box<Reread>>,
    /// A pass Graph may have created whose value `secrets/tap.csv` does not hold: it is
    /// deleted before a new pass is issued.
    pub(super) clear_pass: Option<String>,
    /// The user drifted while a pass whose value was lost is still to be deleted: they
    /// end `drifted`, with this reason, once it is.
    pub(super) drift_after_clear: Option<String>,
    /// TAP creations of this run whose answer was lost and that were resolved again.
    pub(super) pass_rechecks: u8,
    /// Why part of what the policy asks is not done to this user (the plan's, or a
    /// replan's), when it is blocked.
    pub(super) blocked: Option<String>,
    /// Graph refused a change because the user is in a restricted management
    /// administrative unit: why. No further step is sent; the user ends `protected`
    /// (or `partial`, had a step succeeded before).
    pub(super) restricted: Option<String>,
    pub(super) verified: bool,
    /// Reads of the verification not answered yet (the methods, and the hardware OATH
    /// tokens when the user had some removed).
    pub(super) verify_waiting: u8,
    pub(super) stage: Stage,
    pub(super) outcome: UserOutcome,
    pub(super) removed_ids: BTreeSet<String>,
    /// Deletions Graph refused because the method is the default while others remain:
    /// sent once more after the user's other steps.
    pub(super) deferred: BTreeSet<usize>,
    pub(super) default_retried: BTreeSet<usize>,
    pub(super) finished: bool,
}

impl UserJob {
    /// The job of the user of `entry`, with what the journal says an earlier run did.
    pub(super) fn new(
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
            // The user did not finish: a step that failed (or whose answer was lost) is
            // tried again, once the cause may be fixed (a permission granted, Graph back).
            // Sending it again is safe: revoking, disabling and deleting are idempotent,
            // and a pass creation is resolved by the re-read first (its intent stands).
            if matches!(record.outcome, StepOutcome::Failed | StepOutcome::Unknown) {
                outcome.attempts = outcome.attempts.saturating_add(record.attempts);
                continue;
            }
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
        let blocked = (entry.status == crate::plan::Status::Blocked)
            .then(|| entry.reason.clone().unwrap_or_default());
        UserJob {
            entry,
            key,
            steps,
            done,
            deferred: BTreeSet::new(),
            default_retried: BTreeSet::new(),
            intent_unresolved,
            begun,
            rechecked: false,
            reread: None,
            clear_pass: None,
            drift_after_clear: None,
            pass_rechecks: 0,
            blocked,
            restricted: None,
            verified: false,
            verify_waiting: 0,
            stage: Stage::Idle,
            outcome,
            removed_ids,
            finished: false,
        }
    }

    /// Steps without an outcome yet.
    pub(super) fn remaining(&self) -> usize {
        self.done.iter().filter(|d| d.is_none()).count()
    }

    /// Counts the attempts of an answered request, and keeps Graph's `request-id`.
    pub(super) fn count_attempts(&mut self, completed: &Completed) {
        self.outcome.attempts += completed.attempts;
        if let Some(id) = &completed.request_id {
            self.outcome.request_ids.push(id.clone());
        }
    }

    /// Whether the steps step `i` needs (see [`Step::needs_before`]) all succeeded
    /// ([`Prerequisites::Met`]), one of them did not ([`Prerequisites::Failed`], with its
    /// index: step `i` is withheld), or one has no outcome yet.
    pub(super) fn prerequisites(&self, i: usize) -> Prerequisites {
        let mut state = Prerequisites::Met;
        for j in 0..i {
            if !self.steps[i].needs_before(&self.steps[j]) {
                continue;
            }
            match self.done[j] {
                Some(StepOutcome::Done | StepOutcome::AlreadyDone) => {}
                Some(StepOutcome::Failed | StepOutcome::Unknown) => {
                    return Prerequisites::Failed(j);
                }
                None => state = Prerequisites::Waiting,
            }
        }
        state
    }

    /// Steps without an outcome that will not be sent: a step they need failed.
    pub(super) fn withheld(&self) -> Vec<usize> {
        (0..self.steps.len())
            .filter(|&i| {
                self.done[i].is_none() && matches!(self.prerequisites(i), Prerequisites::Failed(_))
            })
            .collect()
    }

    /// Whether a step still to come changes something a restore would put back: any but
    /// revoking sessions (which nothing can undo, and which loses nothing to keep).
    pub(super) fn changes_restorable(&self) -> bool {
        (0..self.steps.len())
            .any(|i| self.open(i) && !matches!(self.steps[i], Step::RevokeSessions))
    }

    /// A step without an outcome that is still to be sent (not withheld).
    fn open(&self, i: usize) -> bool {
        self.restricted.is_none()
            && self.done[i].is_none()
            && !matches!(self.prerequisites(i), Prerequisites::Failed(_))
    }

    /// The next step to send in `pass`, if any.
    pub(super) fn next_step(&mut self, pass: Pass) -> Option<usize> {
        let candidate = |job: &UserJob, i: usize| {
            job.restricted.is_none()
                && job.done[i].is_none()
                && !job.intent_unresolved.contains(&i)
                && pass.allows(&job.steps[i])
                && job.prerequisites(i) == Prerequisites::Met
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
    pub(super) fn defer_default(&mut self, step: usize, message: Option<&str>) -> bool {
        let refused_as_default = refused_as_default(message);
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

    /// Whether the user must be re-read before their next change: once in a run, before
    /// the first step it sends (a resume re-reads again: time has passed).
    pub(super) fn needs_recheck(&self) -> bool {
        !self.rechecked && (0..self.steps.len()).any(|i| self.open(i))
    }

    /// Whether the re-read must read the account (enabled, synced): it is to be disabled
    /// (Graph cannot disable a synced account) or given a pass (not to a disabled one).
    pub(super) fn recheck_reads_account(&self) -> bool {
        (0..self.steps.len()).any(|i| {
            self.open(i)
                && matches!(
                    self.steps[i],
                    Step::DisableAccount | Step::IssueTemporaryAccessPass { .. }
                )
        })
    }

    /// Whether the re-read must list the user's methods: a method is still to be removed
    /// or a pass to be issued, or a pass creation's answer was lost.
    pub(super) fn recheck_reads_methods(&self) -> bool {
        !self.intent_unresolved.is_empty()
            || (0..self.steps.len()).any(|i| {
                self.open(i)
                    && matches!(
                        self.steps[i],
                        Step::DeleteMethod { .. } | Step::IssueTemporaryAccessPass { .. }
                    )
            })
    }

    /// A step not sent yet that can still be sent (not withheld, not a TAP creation whose
    /// intent is unresolved).
    pub(super) fn has_unsent_steps(&self) -> bool {
        (0..self.steps.len()).any(|i| self.open(i) && !self.intent_unresolved.contains(&i))
    }

    pub(super) fn removes_methods(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::DeleteMethod { .. }))
    }

    /// Whether this plan's TAP creation ran (or may have: its intent is unresolved).
    pub(super) fn tap_step_ran(&self) -> bool {
        self.steps
            .iter()
            .zip(&self.done)
            .any(|(s, d)| matches!(s, Step::IssueTemporaryAccessPass { .. }) && d.is_some())
            || !self.intent_unresolved.is_empty()
    }

    /// Records step `step`'s outcome, once it is journaled.
    pub(super) fn record_step(
        &mut self,
        step: usize,
        result: StepOutcome,
        error_code: Option<String>,
        error_message: Option<String>,
    ) {
        self.done[step] = Some(result);
        self.intent_unresolved.remove(&step);
        apply_step_outcome(
            &mut self.outcome,
            &mut self.removed_ids,
            &self.steps[step],
            result,
            error_code,
            error_message,
        );
    }

    /// The Graph request that deletes the pass nobody holds the value of.
    pub(super) fn clear_pass_request(&self) -> Option<GraphRequest> {
        let id = self.clear_pass.as_deref()?;
        GraphRequest::delete_method(&self.key, crate::wire::MethodType::TemporaryAccessPass, id)
    }

    /// The Graph request of step `step`.
    pub(super) fn step_request(&self, step: usize) -> Option<GraphRequest> {
        let key = &self.key;
        match &self.steps[step] {
            Step::RevokeSessions => GraphRequest::revoke_sessions(key),
            Step::DisableAccount => GraphRequest::set_account_enabled(key, false),
            Step::DeleteMethod { kind, id, .. } => GraphRequest::delete_method(key, *kind, id),
            Step::IssueTemporaryAccessPass {
                lifetime_minutes,
                usable_once,
                start,
            } => GraphRequest::create_temporary_access_pass(
                key,
                *lifetime_minutes,
                *usable_once,
                start_to_send(*start, time::OffsetDateTime::now_utc()),
            ),
            Step::SetDefaultMethod { preferred, .. } => {
                GraphRequest::set_default_method(key, preferred.as_graph())
            }
        }
    }
}

/// How far ahead of now a pass's start must be to be sent: Graph refuses a start in the
/// past, and the request takes a while to reach it (and Graph's clock may be ahead).
const START_AHEAD: time::Duration = time::Duration::minutes(1);

/// The `startDateTime` to send for a pass planned to start at `start`: the start while it
/// is still [`START_AHEAD`] of `now`; none once it is (nearly) reached — the pass then
/// works as soon as it is created, as it would have from its start.
pub(super) fn start_to_send(
    start: Option<time::OffsetDateTime>,
    now: time::OffsetDateTime,
) -> Option<time::OffsetDateTime> {
    start.filter(|s| *s > now + START_AHEAD)
}

/// How many times a pass creation whose answer was lost is issued again in a run.
const PASS_RETRIES: u8 = 3;

impl UserJob {
    /// Too many answers to the pass creation were lost: a pass found is deleted, and no
    /// new one is issued (the removals that wait on it are withheld).
    pub(super) fn pass_given_up(&self) -> bool {
        self.pass_rechecks > PASS_RETRIES
    }
}

/// Whether Graph's refusal (its message) is the one for a user's default method, which
/// Graph will not delete while other methods remain: about that user, not the run.
pub(super) fn refused_as_default(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.to_ascii_lowercase().contains("default method"))
}

/// Whether Graph refused a change because the user is in a restricted management
/// administrative unit (a 403 whose message says so): about that user, not the run, and
/// no other change to them would be accepted either.
pub(super) fn refused_as_restricted(result: &JobResult) -> bool {
    let JobResult::Failed {
        fault: Some(fault), ..
    } = result
    else {
        return false;
    };
    let message = fault.message.to_ascii_lowercase();
    fault.status == 403
        && (message.contains("restricted management administrative unit")
            || message.contains("restricted administrative unit"))
}

/// Why a user Graph refused to change for a restricted management administrative unit
/// ends `protected`.
pub(super) const RESTRICTED: &str = "Graph refused to change the user: they are in a restricted \
     management administrative unit, whose members only administrators assigned at its scope \
     may change; left alone (to change them, give the app a role at the unit's scope)";

/// Where the steps a step needs stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prerequisites {
    /// Every one succeeded (or there are none).
    Met,
    /// One has no outcome yet.
    Waiting,
    /// This one failed: the step is withheld.
    Failed(usize),
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
        (
            Step::SetDefaultMethod { preferred, .. },
            StepOutcome::Done | StepOutcome::AlreadyDone,
        ) => outcome.default_method_set = Some(*preferred),
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

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use super::start_to_send;

    fn at(t: &str) -> OffsetDateTime {
        OffsetDateTime::parse(t, &Rfc3339).unwrap()
    }

    #[test]
    fn a_start_is_sent_only_while_it_is_more_than_a_minute_ahead() {
        let now = at("2026-11-28T09:00:00Z");
        assert_eq!(start_to_send(None, now), None);
        let later = at("2026-11-28T09:01:01Z");
        assert_eq!(start_to_send(Some(later), now), Some(later));
        for reached in [
            "2026-11-28T09:01:00Z",
            "2026-11-28T09:00:00Z",
            "2026-11-28T08:00:00Z",
        ] {
            assert_eq!(start_to_send(Some(at(reached)), now), None, "{reached}");
        }
    }
}
