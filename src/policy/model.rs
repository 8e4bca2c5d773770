//! The policy itself: the [`Profile`] presets and their [`Sequence`] of actions, the
//! [`TapSettings`], and the validated [`Policy`] with its serialised form, its canonical
//! JSON and fingerprint, and its plain-sentence summary.
//!
//! A [`Policy`] is made in one of two ways: from the command line's flags
//! ([`PolicyArgs::into_policy`](super::PolicyArgs::into_policy)) or read back from
//! `plan.json`. Both go through [`Policy`]'s `TryFrom<PolicyRepr>`, so both check the same
//! structural rules.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::PolicyError;
use super::filters::{in_utc, rfc3339};
use super::serde_with::method_type_list;
use crate::wire::MethodType;

/// Shortest Temporary Access Pass lifetime a tenant's TAP policy can allow, in minutes.
/// Within this range the tenant's own policy decides (60 to 480 by default), which `plan`
/// and `apply` read from the tenant and check before anything is read or changed.
pub const TAP_MIN_LIFETIME_MINUTES: u32 = 10;
/// Longest Temporary Access Pass lifetime a tenant's TAP policy can allow, in minutes (30
/// days).
pub const TAP_MAX_LIFETIME_MINUTES: u32 = 43_200;
/// The TAP lifetime used when `--tap-lifetime` is not given, in minutes.
pub const TAP_DEFAULT_LIFETIME_MINUTES: u32 = 60;

/// The method types `device-refresh` removes: those the portal's "Require re-register
/// MFA" removes (phones, Authenticator, software OATH tokens) or deactivates (hardware OATH
/// tokens, which are unassigned here: the user registers them again).
pub const DEVICE_REFRESH_REMOVES: [MethodType; 4] = [
    MethodType::Phone,
    MethodType::MicrosoftAuthenticator,
    MethodType::SoftwareOath,
    MethodType::HardwareOath,
];

/// A preset of policy flags for one of the three jobs mfa-reset exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A phone fleet was swapped: remove phone, Authenticator and OATH methods (software
    /// and hardware; keep FIDO2 keys, Windows Hello, platform credentials, email, external
    /// MFA, QR code PIN and an existing TAP).
    DeviceRefresh,
    /// A breach: revoke sessions first, then remove every method but the password.
    Incident,
    /// Leavers: disable the account, revoke sessions, remove every method but the password.
    Offboard,
}

impl Profile {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::DeviceRefresh => "device-refresh",
            Profile::Incident => "incident",
            Profile::Offboard => "offboard",
        }
    }

    /// The method types this profile removes unless `--remove-methods` says otherwise.
    pub fn removes(self) -> BTreeSet<MethodType> {
        match self {
            Profile::DeviceRefresh => DEVICE_REFRESH_REMOVES.into_iter().collect(),
            Profile::Incident | Profile::Offboard => all_removable(),
        }
    }

    /// Whether the profile revokes sign-in sessions.
    pub fn revokes_sessions(self) -> bool {
        matches!(self, Profile::Incident | Profile::Offboard)
    }

    /// Whether the profile disables the account.
    pub fn disables_account(self) -> bool {
        self == Profile::Offboard
    }

    /// The order the profile runs its actions in.
    pub fn sequence(self) -> Sequence {
        match self {
            Profile::DeviceRefresh => Sequence::DisableRemoveRevoke,
            Profile::Incident => Sequence::RevokeDisableRemove,
            Profile::Offboard => Sequence::DisableRevokeRemove,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The order of a user's actions. Each action appears only if the policy asks for it and
/// the user needs it; a Temporary Access Pass comes just before the method removals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sequence {
    /// Revoke sessions, disable, remove methods: `incident` — cut live sessions before
    /// anything else.
    RevokeDisableRemove,
    /// Disable, revoke sessions, remove methods: `offboard`, and flags without a profile —
    /// no new sign-in can happen once sessions are revoked.
    DisableRevokeRemove,
    /// Disable, remove methods, revoke sessions: `device-refresh` — revoking after the
    /// removals ends any session signed in with an old method, even one started while the
    /// removals ran, so the user must re-register at the next sign-in.
    DisableRemoveRevoke,
}

impl Sequence {
    /// A human description, for summaries.
    pub fn describe(self) -> &'static str {
        match self {
            Sequence::RevokeDisableRemove => {
                "revoke sessions, then disable the account, then remove methods"
            }
            Sequence::DisableRevokeRemove => {
                "disable the account, then revoke sessions, then remove methods"
            }
            Sequence::DisableRemoveRevoke => {
                "disable the account, then remove methods, then revoke sessions"
            }
        }
    }
}

/// How to issue a Temporary Access Pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TapSettings {
    /// Lifetime in minutes, within [`TAP_MIN_LIFETIME_MINUTES`]..=[`TAP_MAX_LIFETIME_MINUTES`].
    pub lifetime_minutes: u32,
    /// Whether the pass works for one sign-in only.
    pub usable_once: bool,
    /// When the pass becomes usable (UTC); `None`: as soon as it is issued. Left out of
    /// the JSON when `None`, so plans without it read and fingerprint as before.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub start: Option<OffsetDateTime>,
}

impl TapSettings {
    /// When the passes stop working if issued before their start: the start plus the
    /// lifetime. `None` without a start (each pass then ends its lifetime after it is
    /// issued).
    pub fn end(&self) -> Option<OffsetDateTime> {
        self.start
            .map(|s| s + time::Duration::minutes(i64::from(self.lifetime_minutes)))
    }
}

/// A validated policy: what to do to every user of a plan.
///
/// Built by [`PolicyArgs::into_policy`](super::PolicyArgs::into_policy) or read back from `plan.json`; both paths check the
/// same rules, so a `Policy` never removes the password, never pairs a TAP with disabling,
/// and always has something to do. Its JSON form is canonical (types sorted, times in UTC),
/// and [`Policy::fingerprint`] hashes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PolicyRepr", into = "PolicyRepr")]
pub struct Policy {
    /// The profile the policy started from, for reports.
    profile: Option<Profile>,
    /// The method types to remove, sorted, never the password.
    remove: Vec<MethodType>,
    /// Only methods created at or after this instant (UTC).
    registered_after: Option<OffsetDateTime>,
    /// Only methods created before this instant (UTC).
    registered_before: Option<OffsetDateTime>,
    /// Only methods whose device name matches this glob.
    device_name: Option<String>,
    /// Revoke sign-in sessions.
    revoke_sessions: bool,
    /// Disable the account.
    disable_account: bool,
    /// The order of the actions.
    sequence: Sequence,
    /// Issue a Temporary Access Pass, and how.
    tap: Option<TapSettings>,
    /// Act on admin-role holders too.
    include_admins: bool,
}

/// The serialised form of [`Policy`]; deserialising goes through [`Policy`]'s checks.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PolicyRepr {
    /// See [`Policy::profile`].
    pub(super) profile: Option<Profile>,
    /// See [`Policy::remove_methods`].
    #[serde(with = "method_type_list")]
    pub(super) remove_methods: Vec<MethodType>,
    /// See [`Policy::registered_after`].
    #[serde(with = "time::serde::rfc3339::option")]
    pub(super) registered_after: Option<OffsetDateTime>,
    /// See [`Policy::registered_before`].
    #[serde(with = "time::serde::rfc3339::option")]
    pub(super) registered_before: Option<OffsetDateTime>,
    /// See [`Policy::device_name`].
    pub(super) device_name: Option<String>,
    /// See [`Policy::revoke_sessions`].
    pub(super) revoke_sessions: bool,
    /// See [`Policy::disable_account`].
    pub(super) disable_account: bool,
    /// See [`Policy::sequence`].
    pub(super) sequence: Sequence,
    /// See [`Policy::tap`].
    pub(super) temporary_access_pass: Option<TapSettings>,
    /// See [`Policy::include_admins`].
    pub(super) include_admins: bool,
}

impl From<Policy> for PolicyRepr {
    fn from(p: Policy) -> Self {
        PolicyRepr {
            profile: p.profile,
            remove_methods: p.remove,
            registered_after: p.registered_after,
            registered_before: p.registered_before,
            device_name: p.device_name,
            revoke_sessions: p.revoke_sessions,
            disable_account: p.disable_account,
            sequence: p.sequence,
            temporary_access_pass: p.tap,
            include_admins: p.include_admins,
        }
    }
}

impl TryFrom<PolicyRepr> for Policy {
    type Error = PolicyError;

    /// The structural rules every policy obeys, however it was made.
    fn try_from(r: PolicyRepr) -> Result<Self, PolicyError> {
        if r.remove_methods.contains(&MethodType::Password) {
            return Err(PolicyError::PasswordNotRemovable);
        }
        let remove: Vec<MethodType> = r
            .remove_methods
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let utc = |flag: &'static str, t: Option<OffsetDateTime>| {
            t.map(|t| {
                in_utc(t).map_err(|reason| PolicyError::BadTime {
                    flag,
                    value: t.to_string(),
                    reason,
                })
            })
            .transpose()
        };
        let registered_after = utc("--registered-after", r.registered_after)?;
        let registered_before = utc("--registered-before", r.registered_before)?;
        if let (Some(after), Some(before)) = (registered_after, registered_before)
            && after >= before
        {
            return Err(PolicyError::EmptyWindow {
                after: rfc3339(after),
                before: rfc3339(before),
            });
        }
        let device_name = match r.device_name {
            Some(glob) if glob.trim().is_empty() => return Err(PolicyError::EmptyDeviceName),
            Some(glob) => Some(glob.trim().to_string()),
            None => None,
        };
        if remove.is_empty() {
            for (given, flag) in [
                (registered_after.is_some(), "--registered-after"),
                (registered_before.is_some(), "--registered-before"),
                (device_name.is_some(), "--device-name"),
            ] {
                if given {
                    return Err(PolicyError::FilterWithoutRemoval { flag });
                }
            }
        }
        let temporary_access_pass = match r.temporary_access_pass {
            Some(tap) => Some(TapSettings {
                start: utc("--tap-start", tap.start)?,
                ..tap
            }),
            None => None,
        };
        if let Some(tap) = temporary_access_pass {
            check_tap_lifetime(tap.lifetime_minutes)?;
            if r.disable_account {
                return Err(PolicyError::TapForDisabledAccount {
                    source_of_disable: if r.profile == Some(Profile::Offboard) {
                        "--profile offboard"
                    } else {
                        "--disable-account"
                    },
                });
            }
        }
        if remove.is_empty()
            && !r.revoke_sessions
            && !r.disable_account
            && temporary_access_pass.is_none()
        {
            return Err(PolicyError::NothingToDo);
        }
        Ok(Policy {
            profile: r.profile,
            remove,
            registered_after,
            registered_before,
            device_name,
            revoke_sessions: r.revoke_sessions,
            disable_account: r.disable_account,
            sequence: r.sequence,
            tap: temporary_access_pass,
            include_admins: r.include_admins,
        })
    }
}

impl Policy {
    /// The profile the policy started from, if any.
    pub fn profile(&self) -> Option<Profile> {
        self.profile
    }

    /// The method types removed (before the time and device filters), sorted.
    pub fn remove_methods(&self) -> &[MethodType] {
        &self.remove
    }

    /// Whether methods of `kind` are selected for removal (before the filters).
    pub fn removes(&self, kind: MethodType) -> bool {
        self.remove.contains(&kind)
    }

    /// Whether every method type this tool can remove is selected (`incident`,
    /// `offboard`, `--remove-methods all`): a method of a type it does not know would be
    /// removed too if it could be, so its holder is not clean.
    pub fn removes_every_type(&self) -> bool {
        all_removable().iter().all(|t| self.removes(*t))
    }

    /// Only methods created at or after this instant (inclusive, UTC) are removed.
    pub fn registered_after(&self) -> Option<OffsetDateTime> {
        self.registered_after
    }

    /// Only methods created before this instant (exclusive, UTC) are removed.
    pub fn registered_before(&self) -> Option<OffsetDateTime> {
        self.registered_before
    }

    /// Only methods whose device name matches this glob are removed.
    pub fn device_name(&self) -> Option<&str> {
        self.device_name.as_deref()
    }

    /// Whether sign-in sessions are revoked.
    pub fn revoke_sessions(&self) -> bool {
        self.revoke_sessions
    }

    /// Whether accounts are disabled.
    pub fn disable_account(&self) -> bool {
        self.disable_account
    }

    /// The order of the actions.
    pub fn sequence(&self) -> Sequence {
        self.sequence
    }

    /// Whether a Temporary Access Pass is issued, and how.
    pub fn tap(&self) -> Option<TapSettings> {
        self.tap
    }

    /// Whether admin-role holders are acted on.
    pub fn include_admins(&self) -> bool {
        self.include_admins
    }

    /// Whether a plan reads each user's methods, hardware OATH tokens and default method:
    /// only when it removes methods. A pass alone needs none of them (creating it replaces
    /// any pass the user holds), nor does revoking or disabling.
    pub fn reads_methods(&self) -> bool {
        !self.remove.is_empty()
    }

    /// Whether a plan reads each user's directory roles: only when admins are protected
    /// (without `--include-admins`), which is all the roles decide.
    pub fn reads_roles(&self) -> bool {
        !self.include_admins
    }

    /// The canonical JSON of the policy: compact, fields in a fixed order, method types
    /// sorted, times in UTC. Equal policies give byte-equal JSON.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("a policy always serialises")
    }

    /// `sha256:` and the lowercase hex SHA-256 of [`Policy::canonical_json`].
    pub fn fingerprint(&self) -> String {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.canonical_json().as_bytes());
        let mut out = String::from("sha256:");
        for byte in digest.as_ref() {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// The policy in plain sentences, one a line, for summaries and the change board.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(p) = self.profile {
            lines.push(format!("Profile: {p}."));
        }
        if self.remove.is_empty() {
            lines.push("Remove no authentication methods.".into());
        } else {
            lines.push(format!(
                "Remove methods of type: {} (never the password).",
                join_names(&self.remove)
            ));
        }
        match (self.registered_after, self.registered_before) {
            (Some(a), Some(b)) => lines.push(format!(
                "Only methods registered from {} (inclusive) to {} (exclusive); methods \
                 without a creation time are kept.",
                rfc3339(a),
                rfc3339(b)
            )),
            (Some(a), None) => lines.push(format!(
                "Only methods registered at or after {}; methods without a creation time \
                 are kept.",
                rfc3339(a)
            )),
            (None, Some(b)) => lines.push(format!(
                "Only methods registered before {}; methods without a creation time are kept.",
                rfc3339(b)
            )),
            (None, None) => {}
        }
        if let Some(glob) = &self.device_name {
            lines.push(format!(
                "Only methods whose device name matches {glob:?}; methods naming no device \
                 are kept."
            ));
        }
        if self.revoke_sessions {
            lines.push("Revoke sign-in sessions.".into());
        }
        if self.disable_account {
            lines.push("Disable the account (cloud-only accounts).".into());
        }
        if self.revoke_sessions || self.disable_account {
            lines.push(format!("Order: {}.", self.sequence.describe()));
        }
        if let Some(tap) = self.tap {
            lines.push(format!(
                "Then issue a Temporary Access Pass valid {} minutes{}, {}.",
                tap.lifetime_minutes,
                match tap.start {
                    Some(start) => format!(
                        " from {} (usable from then; issued before it, every pass ends at {})",
                        rfc3339(start),
                        rfc3339(tap.end().unwrap_or(start))
                    ),
                    None => String::new(),
                },
                if tap.usable_once {
                    "usable once"
                } else {
                    "usable more than once"
                }
            ));
        }
        lines.push(if self.include_admins {
            "Admin-role holders are included.".into()
        } else {
            "Admin-role holders are protected (left alone).".into()
        });
        lines
    }

    /// [`Policy::summary`] as one paragraph: its sentences, each ending with its own full
    /// stop, one after the other (`Profile: device-refresh. Remove methods of type: …`).
    pub fn summary_text(&self) -> String {
        self.summary().join(" ")
    }

    /// What a run of this policy keeps for `mfa-reset restore`, in words for the plan's
    /// reports; `None` when the policy changes nothing a restore could put back (it only
    /// revokes sessions).
    pub fn restore_data_words(&self) -> Option<&'static str> {
        (!self.remove_methods().is_empty() || self.disable_account() || self.tap().is_some())
            .then_some(
                "a run keeps each user's phone numbers, email address, enabled state and \
                 default method, as read just before their first change, in \
                 secrets/restore.jsonl (private, mode 0600) for `mfa-reset restore`, and \
                 nowhere else; `apply --no-restore-data` keeps none",
            )
    }
}

/// Every type the `all` selection means: every deletable type.
pub(super) fn all_removable() -> BTreeSet<MethodType> {
    MethodType::ALL
        .into_iter()
        .filter(|t| t.deletable())
        .collect()
}

/// Checks a TAP lifetime against the range any tenant's policy can allow.
pub(super) fn check_tap_lifetime(minutes: u32) -> Result<(), PolicyError> {
    if (TAP_MIN_LIFETIME_MINUTES..=TAP_MAX_LIFETIME_MINUTES).contains(&minutes) {
        Ok(())
    } else {
        Err(PolicyError::TapLifetimeOutOfRange {
            minutes,
            min: TAP_MIN_LIFETIME_MINUTES,
            max: TAP_MAX_LIFETIME_MINUTES,
        })
    }
}

/// Short names, comma-separated.
pub(super) fn join_names(types: &[MethodType]) -> String {
    types
        .iter()
        .map(|t| t.short_name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
