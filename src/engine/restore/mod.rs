//! `mfa-reset restore`: undo a run as far as Graph allows. What the run did to each user
//! is read from its plan and journal ([`run_did`]): the journal's outcomes, or, for a run
//! stopped part-way, the steps it sent (a change whose answer was lost counts as done,
//! since the state now decides). What to put back is decided per user from that, the
//! state the run kept in `secrets/restore.jsonl` and the state now ([`decide`]); the
//! changes go through the same paced `$batch` dispatcher as a run ([`execute`]).

pub mod decide;
pub mod execute;

use crate::engine::journal::{JournalError, JournalState, StepOutcome};
use crate::plan::PlanEntry;
use crate::policy::Step;
use decide::RunDid;

/// What the run in whose journal `state` is did to the user of plan entry `entry`.
pub fn run_did(entry: &PlanEntry, state: &JournalState) -> Result<RunDid, JournalError> {
    if let Some(outcome) = state.finished.get(entry.row)? {
        return Ok(RunDid {
            removed: outcome
                .removed
                .iter()
                .chain(&outcome.already_removed)
                .map(|m| (m.kind, m.id.clone(), m.label.clone()))
                .collect(),
            disabled: outcome.account_disabled,
            tap_issued: outcome.tap_issued,
            default_set: outcome.default_method_set.is_some(),
        });
    }
    // Not finished (the run stopped): every step the journal says was sent, whatever
    // its answer — the state now tells what happened.
    let steps = state.replanned.get(&entry.row).unwrap_or(&entry.steps);
    let mut did = RunDid::default();
    let sent = state
        .steps
        .get(&entry.row)
        .into_iter()
        .flatten()
        .filter(|s| {
            matches!(
                s.outcome,
                StepOutcome::Done | StepOutcome::AlreadyDone | StepOutcome::Unknown
            )
        });
    let intents = state
        .intents
        .iter()
        .filter(|(row, _)| *row == entry.row)
        .map(|&(_, step)| step);
    for step in sent.map(|s| s.step).chain(intents) {
        match steps.get(step) {
            Some(Step::DeleteMethod { kind, id, label }) => {
                if !did.removed.iter().any(|(_, i, _)| i == id) {
                    did.removed.push((*kind, id.clone(), label.clone()));
                }
            }
            Some(Step::DisableAccount) => did.disabled = true,
            Some(Step::IssueTemporaryAccessPass { .. }) => did.tap_issued = true,
            Some(Step::SetDefaultMethod { .. }) => did.default_set = true,
            Some(Step::RevokeSessions) | None => {}
        }
    }
    Ok(did)
}
