//! What a command checks about the tenant before it reads or writes, beyond the credential
//! and Graph itself ([`crate::graph::preflight`]): that the Temporary Access Passes a
//! policy issues are passes the tenant's TAP policy allows ([`check_tap_policy`]) — else
//! Graph would refuse every one of them, user after user, halfway through a run — or, when
//! the app may not read that policy, the note that says it was not checked
//! ([`unread_tap_policy_note`]), which the plan carries to its reports.
//!
//! `plan` checks when it starts, and `apply` again before its first write: the tenant's
//! policy may have changed since the plan was made. `apply` also checks that the window a
//! plan's `--tap-start` gives its passes is not over ([`check_tap_start`]), and says when
//! passes become usable. (The secrets folder a run writes the
//! passes to is readied by [`super::secrets::TapFile::prepare`].)

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

/// A plan's passes whose window is over: from their `--tap-start`, their lifetime has
/// passed, so every pass issued now would be born expired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the plan's Temporary Access Passes were to work from {start} to {end}, and it is {now} now: passes issued now would be born expired, so nothing was changed; plan again with a --tap-start to come, or without --tap-start for passes usable as soon as they are issued"
)]
pub struct TapWindowOver {
    pub start: String,
    pub end: String,
    pub now: String,
}

/// Checks, at `now`, before a run's first write, the start a plan gives its passes:
/// `Err` when their window is over; else what to tell the operator about when they
/// become usable — from a start still to come, or at once when the start has passed
/// (Graph refuses a start in the past: such passes are issued without one) — or `None`
/// without a start.
pub fn check_tap_start(
    tap: TapSettings,
    now: OffsetDateTime,
) -> Result<Option<String>, TapWindowOver> {
    let (Some(start), Some(end)) = (tap.start, tap.end()) else {
        return Ok(None);
    };
    let text = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    if end <= now {
        return Err(TapWindowOver {
            start: text(start),
            end: text(end),
            now: text(now),
        });
    }
    Ok(Some(if start > now {
        format!(
            "the Temporary Access Passes become usable at {} (--tap-start), not before; a pass issued before then works until {}, one issued later for {} minutes from its issue",
            text(start),
            text(end),
            tap.lifetime_minutes
        )
    } else {
        format!(
            "the plan's --tap-start {} has passed: each Temporary Access Pass is usable as soon as it is issued, for {} minutes",
            text(start),
            tap.lifetime_minutes
        )
    }))
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
            start: None,
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

    fn at(t: &str) -> OffsetDateTime {
        OffsetDateTime::parse(t, &Rfc3339).unwrap()
    }

    #[test]
    fn a_start_to_come_is_said_one_passed_too_and_a_window_over_is_refused() {
        let starting = |start: &str| TapSettings {
            start: Some(at(start)),
            ..tap(120, true)
        };
        let now = at("2026-11-28T09:00:00.5Z");
        assert_eq!(check_tap_start(tap(120, true), now), Ok(None));

        let said = check_tap_start(starting("2026-11-28T10:00:00Z"), now)
            .unwrap()
            .unwrap();
        assert!(
            said.contains("become usable at 2026-11-28T10:00:00Z"),
            "{said}"
        );
        assert!(said.contains("works until 2026-11-28T12:00:00Z"), "{said}");

        let said = check_tap_start(starting("2026-11-28T08:00:00Z"), now)
            .unwrap()
            .unwrap();
        assert!(said.contains("has passed"), "{said}");
        assert!(
            said.contains("as soon as it is issued, for 120 minutes"),
            "{said}"
        );

        // Started at 07:00 for two hours: over at 09:00.
        let over = check_tap_start(starting("2026-11-28T07:00:00Z"), now).unwrap_err();
        assert_eq!(
            over,
            TapWindowOver {
                start: "2026-11-28T07:00:00Z".into(),
                end: "2026-11-28T09:00:00Z".into(),
                now: "2026-11-28T09:00:00Z".into(),
            }
        );
        let text = over.to_string();
        assert!(text.contains("born expired"), "{text}");
        assert!(text.contains("nothing was changed"), "{text}");
        assert!(text.contains("plan again"), "{text}");
    }

    #[test]
    fn the_preflight_asks_for_the_permission_plans_already_list() {
        assert_eq!(
            crate::graph::preflight::PROBE_PERMISSION,
            crate::policy::permissions::USER_READ_ALL
        );
    }
}
