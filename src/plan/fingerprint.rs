//! A plan's fingerprint: SHA-256 over the input's hash, the policy and every entry (its
//! user, status, steps and all), so that `apply` refuses a plan edited anywhere after it
//! was written. It catches edits, not a forger who recomputes it.

use super::{PlanEntry, entries_sha256, sha256_hex};
use crate::policy::Policy;

/// The fingerprint of a plan held in memory.
pub fn plan_fingerprint(input_sha256: &str, policy: &Policy, entries: &[PlanEntry]) -> String {
    fingerprint_of(input_sha256, policy, &entries_sha256(entries))
}

/// [`plan_fingerprint`] from the entries' hash ([`super::entries_sha256`], or the
/// streaming [`super::store::EntriesHash`] of a plan too large to hold).
pub fn fingerprint_of(input_sha256: &str, policy: &Policy, entries_sha256: &str) -> String {
    let digest = sha256_hex(
        format!(
            "{input_sha256}\n{}\n{entries_sha256}",
            policy.canonical_json(),
        )
        .as_bytes(),
    );
    format!("sha256:{digest}")
}
