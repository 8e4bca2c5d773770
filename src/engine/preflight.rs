//! What a command checks about the tenant before it reads or writes, beyond the credential
//! and Graph itself ([`crate::graph::preflight`]): that the Temporary Access Passes a
//! policy issues are passes the tenant's TAP policy allows ([`check_tap_policy`]) — else
//! Graph would refuse every one of them, user after user, halfway through a run — or, when
//! the app may not read that policy, the note that says it was not checked
//! ([`unread_tap_policy_note`]), which the plan carries to its reports.
//!
//! `plan` checks when it starts, and `apply` again before its first write: the tenant's
//! policy may have changed since the plan was made. (The secrets folder a run writes the
//! passes to is readied by [`super::secrets::TapFile::prepare`].)

use crate::graph::preflight::{TAP_POLICY_PERMISSIONS, TapPolicyRead};
use crate::graph::tap_policy::TenantTapPolicy;
use crate::policy::TapSettings;

/// Why the tenant's TAP policy would refuse the passes a policy issues. Each message says
/// what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TapPolicyConflict {
    #[error(
        "the tenant's Temporary Access Pass policy is disabled, so Graph would refuse every pass: enable it in the Entra admin center (Protection > Authentication methods > Temporary Access Pass), or plan without --issue-tap"
    )]
    Disabled,
    #[error(
        "--tap-lifetime {minutes} is outside the tenant's Temporary Access Pass policy, which allows {min} to {max} minutes: plan with --tap-lifetime between {min} and {max}, or widen the policy's lifetimes in the Entra admin center"
    )]
    LifetimeOutOfRange { minutes: u32, min: u32, max: u32 },
    #[error(
        "the tenant's Temporary Access Pass policy allows one-time passes only, but these passes would be usable more than once: plan with --tap-once, or allow multi-use passes in the policy"
    )]
    OneTimeOnly,
}

/// Checks the passes `tap` describes against the tenant's policy.
pub fn check_tap_policy(
    tap: TapSettings,
    tenant: &TenantTapPolicy,
) -> Result<(), TapPolicyConflict> {
    if !tenant.enabled {
        return Err(TapPolicyConflict::Disabled);
    }
    if !tenant.allows_lifetime(tap.lifetime_minutes) {
        return Err(TapPolicyConflict::LifetimeOutOfRange {
            minutes: tap.lifetime_minutes,
            min: tenant.minimum_lifetime_minutes,
            max: tenant.maximum_lifetime_minutes,
        });
    }
    if tenant.one_time_only && !tap.usable_once {
        return Err(TapPolicyConflict::OneTimeOnly);
    }
    Ok(())
}

/// Checks `tap` against what reading the tenant's policy found: `Ok(None)` when it allows
/// the passes, `Ok(Some(note))` when the policy could not be read (the passes were not
/// checked; the note says so, in words for the plan's reports).
pub fn check_tap_policy_read(
    tap: TapSettings,
    read: &TapPolicyRead,
) -> Result<Option<String>, TapPolicyConflict> {
    match read {
        TapPolicyRead::Read(tenant) => check_tap_policy(tap, tenant).map(|()| None),
        TapPolicyRead::Unreadable { denied, why } => Ok(Some(unread_tap_policy_note(*denied, why))),
    }
}

/// The note of a plan whose passes were not checked against the tenant's TAP policy:
/// `denied` when Graph refused to show it (403), `why` what Graph answered otherwise.
pub fn unread_tap_policy_note(denied: bool, why: &str) -> String {
    let reason = if denied {
        format!(
            "grant {} or {}",
            TAP_POLICY_PERMISSIONS[0], TAP_POLICY_PERMISSIONS[1]
        )
    } else {
        why.to_string()
    };
    format!(
        "the tenant's Temporary Access Pass policy could not be read ({reason}): the pass lifetime was not checked against it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(min: u32, max: u32) -> TenantTapPolicy {
        TenantTapPolicy {
            enabled: true,
            default_lifetime_minutes: Some(min),
            minimum_lifetime_minutes: min,
            maximum_lifetime_minutes: max,
            one_time_only: false,
        }
    }

    fn tap(lifetime_minutes: u32, usable_once: bool) -> TapSettings {
        TapSettings {
            lifetime_minutes,
            usable_once,
        }
    }

    #[test]
    fn a_pass_within_the_tenants_policy_passes() {
        assert_eq!(check_tap_policy(tap(60, false), &tenant(60, 480)), Ok(()));
        assert_eq!(check_tap_policy(tap(480, true), &tenant(60, 480)), Ok(()));
        let once = TenantTapPolicy {
            one_time_only: true,
            ..tenant(10, 43_200)
        };
        assert_eq!(check_tap_policy(tap(43_200, true), &once), Ok(()));
    }

    #[test]
    fn each_conflict_names_the_range_or_the_flag_to_change() {
        let e = check_tap_policy(tap(480, false), &tenant(60, 120)).unwrap_err();
        assert_eq!(
            e,
            TapPolicyConflict::LifetimeOutOfRange {
                minutes: 480,
                min: 60,
                max: 120
            }
        );
        let text = e.to_string();
        assert!(text.contains("60 to 120 minutes"), "{text}");
        assert!(text.contains("--tap-lifetime between 60 and 120"), "{text}");

        let disabled = TenantTapPolicy {
            enabled: false,
            ..tenant(60, 480)
        };
        assert_eq!(
            check_tap_policy(tap(60, true), &disabled),
            Err(TapPolicyConflict::Disabled)
        );
        let once = TenantTapPolicy {
            one_time_only: true,
            ..tenant(60, 480)
        };
        let e = check_tap_policy(tap(60, false), &once).unwrap_err();
        assert_eq!(e, TapPolicyConflict::OneTimeOnly);
        assert!(e.to_string().contains("--tap-once"), "{e}");
    }

    #[test]
    fn a_policy_the_app_may_not_read_leaves_a_note_in_plain_words() {
        let read = TapPolicyRead::Unreadable {
            denied: true,
            why: "HTTP 403 Authorization_RequestDenied: Insufficient privileges".into(),
        };
        let note = check_tap_policy_read(tap(43_200, false), &read)
            .unwrap()
            .unwrap();
        assert_eq!(
            note,
            "the tenant's Temporary Access Pass policy could not be read (grant Policy.Read.AuthenticationMethod or Policy.Read.All): the pass lifetime was not checked against it"
        );
        let odd = TapPolicyRead::Unreadable {
            denied: false,
            why: "HTTP 404 itemNotFound: no such configuration".into(),
        };
        let note = check_tap_policy_read(tap(60, false), &odd)
            .unwrap()
            .unwrap();
        assert!(note.contains("HTTP 404"), "{note}");
        assert_eq!(
            check_tap_policy_read(tap(60, false), &TapPolicyRead::Read(tenant(60, 480))),
            Ok(None)
        );
    }

    #[test]
    fn the_preflight_asks_for_the_permission_plans_already_list() {
        assert_eq!(
            crate::graph::preflight::PROBE_PERMISSION,
            crate::policy::permissions::USER_READ_ALL
        );
    }
}
