//! A plan's fingerprint: SHA-256 over the input's hash, the policy and every entry (its
//! user, status, steps and all), so that `apply` refuses a plan edited anywhere after it
//! was written. It catches edits, not a forger who recomputes it.

use super::{PlanEntry, entries_sha256, sha256_hex};
use crate::policy::Policy;

/// The fingerprint of a plan held in memory (made for `tenant`, when known).
pub fn plan_fingerprint(
    input_sha256: &str,
    policy: &Policy,
    entries: &[PlanEntry],
    tenant: Option<&str>,
) -> String {
    fingerprint_of(input_sha256, policy, &entries_sha256(entries), tenant)
}

/// [`plan_fingerprint`] from the entries' hash ([`super::entries_sha256`], or the
/// streaming [`super::store::EntriesHash`] of a plan too large to hold). The tenant's id
/// is covered when the plan names one, so that an approved fingerprint binds the tenant;
/// a plan that names none has the fingerprint it always had.
pub fn fingerprint_of(
    input_sha256: &str,
    policy: &Policy,
    entries_sha256: &str,
    tenant: Option<&str>,
) -> String {
    let mut text = format!(
        "{input_sha256}\n{}\n{entries_sha256}",
        policy.canonical_json(),
    );
    if let Some(tenant) = tenant {
        text.push_str(&format!("\ntenant {}", tenant.to_ascii_lowercase()));
    }
    format!("sha256:{}", sha256_hex(text.as_bytes()))
}
