//! `mfa-reset restore`: undo a run as far as Graph allows. What the run did to each user
//! is read from its plan and journal ([`run_did`]): the journal's outcomes, or, for a user
//! a stopped run began, every step of theirs (one in flight at a kill is in no record; the
//! state now tells what was done). A user the run never began is not touched. What to put back is decided per user from that, the
//! state the run kept in `secrets/restore.jsonl` and the state now ([`decide`]); the
//! changes go through the same paced `$batch` dispatcher as a run ([`execute`]).

pub mod decide;
pub mod execute;

use crate::engine::journal::{JournalError, JournalState};
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
    // Not finished (the run stopped): a user it began may have had any of their steps
    // sent — one in flight at a kill is in no record — so every step counts as tried.
    // The state now tells what happened: a method still there is not created again, an
    // account still enabled is not enabled again.
    let mut did = RunDid::default();
    if !state.begun.contains(&entry.row) {
        return Ok(did);
    }
    let steps = state.replanned.get(&entry.row).unwrap_or(&entry.steps);
    for step in steps {
        match step {
            Step::DeleteMethod { kind, id, label } => {
                if !did.removed.iter().any(|(_, i, _)| i == id) {
                    did.removed.push((*kind, id.clone(), label.clone()));
                }
            }
            Step::DisableAccount => did.disabled = true,
            Step::IssueTemporaryAccessPass { .. } => did.tap_issued = true,
            Step::SetDefaultMethod { .. } => did.default_set = true,
            Step::RevokeSessions => {}
        }
    }
    Ok(did)
}
