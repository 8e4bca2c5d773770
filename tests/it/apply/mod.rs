//! `mfa-reset apply` and `mfa-reset resume` end to end: the binary against an emulator
//! running in this test process, so that the emulated tenant outlives the child (killed,
//! interrupted or not) and the tests judge the run by the tenant's final state, the
//! emulator's mutation log and the run folder's files: each profile, kill -9 and resume,
//! Ctrl-C, faults, drift, the guardrails, least privilege, plans edited by hand, the exit
//! codes, and resuming (against the run's own target; --retry-failed).
//!
//! Expectations are computed from the tenant as it was before the run
//! ([`crate::support::oracle`]), not read from the plan, so that the plan and the run
//! cannot agree on a mistake.

mod admins;
mod admins_held;
mod contain_list;
mod ctrl_c;
mod default_method;
mod edited;
mod exclude_group;
mod exit_codes;
mod fail_safe;
mod faults_and_drift;
mod guardrails;
mod input_edges;
mod invisible;
mod kill;
mod preflight;
mod profiles;
mod restore;
mod resume;
mod stdin;
mod tap_options;
mod tenant;
mod tenants;

use crate::support::folder::Folder;
use crate::support::process::{Spawned, wait_until};

/// Waits until `trigger` holds for the journal's complete lines, or the child ends.
/// `true` when the trigger fired (the child is still running), `false` when it ended.
fn wait_for_journal(
    child: &mut Spawned,
    out: &Folder,
    mut trigger: impl FnMut(&[String]) -> bool,
) -> bool {
    let mut fired = false;
    wait_until("the journal got there", || {
        fired = trigger(&out.journal());
        fired || !child.is_running()
    });
    fired
}
