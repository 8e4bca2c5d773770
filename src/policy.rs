//! What to do to one user: the policy decisions of mfa-reset, pure and clock-free.
//!
//! The command line's policy flags ([`PolicyArgs`]) become a validated [`Policy`], which
//! goes into `plan.json` and, through [`Policy::fingerprint`], into the plan's hash. The
//! plan reads every user from Graph into a [`UserSnapshot`] and asks [`decide`] what to do
//! to them; the answer is a [`Decision`]: an ordered list of [`Step`]s (each one Graph
//! write) or the reason nothing is done. Nothing here touches the network, the file system
//! or the clock: the same policy and snapshot always give the same decision, which is what
//! lets a change board sign a plan and `apply` carry out exactly that plan.
//!
//! # Profiles and flags
//!
//! A `--profile` is a preset; explicit flags combine with it like this:
//!
//! | profile          | removes                                        | also             | order                                   |
//! |------------------|------------------------------------------------|------------------|-----------------------------------------|
//! | `device-refresh` | phone, microsoftAuthenticator, softwareOath     | —                | remove methods → revoke → TAP           |
//! | `incident`       | every method but the password                  | revoke           | revoke → disable → remove methods → TAP |
//! | `offboard`       | every method but the password                  | disable, revoke  | disable → revoke → remove methods       |
//! | (none)           | what `--remove-methods` says                   | what flags say   | disable → revoke → remove methods → TAP |
//!
//! - `--remove-methods` **replaces** the profile's selection of method types; `--keep`
//!   **subtracts** from whichever selection applies. Naming one type in both is an error;
//!   `--remove-methods all --keep fido2` is fine.
//! - `--registered-after`, `--registered-before` and `--device-name` **narrow** the
//!   selection: a method goes only if it passes every filter given. A method the filter
//!   cannot judge (no creation time; no device name) is kept and flagged in the notes.
//! - `--revoke-sessions`, `--disable-account` and `--issue-tap` **add** to a profile; no
//!   flag takes a profile's action away. To do less than a profile, spell the flags out
//!   without it.
//! - The order is the profile's ([`Sequence`]); flags without a profile use
//!   [`Sequence::DisableRevokeRemove`]. A TAP is always the last step.
//! - The password method is never removed, whatever the flags.
//!
//! # Why `device-refresh` removes what it removes
//!
//! `device-refresh` is the Graph equivalent of the portal's "Require re-register
//! multifactor authentication", which deletes phone numbers, Authenticator registrations
//! and software OATH tokens — exactly the three method types that can be a user's default
//! MFA method ([`MethodType::can_be_default`]), and the three that live on, or are reached
//! through, a phone. It keeps:
//!
//! - FIDO2 keys and Windows Hello for Business (the issue says so: they are not on the
//!   old phone). A passkey held in Microsoft Authenticator is a `fido2` method and is kept
//!   too; remove it explicitly (`--remove-methods fido2 --device-name ...`) if wanted.
//! - Platform credentials (macOS Platform SSO): device-bound like Windows Hello, on a Mac.
//! - Email: an SSPR recovery address, not an MFA method nor a device.
//! - An existing Temporary Access Pass: it is how a user whose phone methods were just
//!   removed enrols the new phone; deleting it could lock them out. It expires on its own,
//!   and when `--issue-tap` is given Graph replaces the usable one with the new pass.
//!
//! `incident` and `offboard` remove every method, email and any existing TAP included: an
//! attacker may have registered any of them, and a leaver needs none.
//!
//! # Ordering deletions
//!
//! Graph refuses to delete the default MFA method while another method that could be the
//! default remains, and refuses to delete the mobile phone while an alternate mobile phone
//! exists (`shared/reference/graph-api.md` §1.4). Deletions are therefore ordered:
//!
//! 1. methods that cannot be the default (an existing TAP first, as it is a sign-in
//!    credential on its own; then FIDO2, Windows Hello, email, platform credential);
//! 2. methods that can be the default but are not: software OATH, alternate mobile, office,
//!    mobile, Authenticator;
//! 3. the default method, when known, last of all.
//!
//! When the default is unknown (Graph v1.0 does not expose it; the beta read may fail) the
//! same order applies with Authenticator last, as push is by far the most common default.
//! The apply engine defers a deletion Graph refuses because the method is the default and
//! retries it after the others, so an unknown default costs at most one extra request.
//! When the default is known, [`decide`] replays Graph's two rules over the snapshot and
//! withholds (and reports as [`Decision::Blocked`]) any deletion that can never succeed —
//! for example the default Authenticator while a phone is kept, or an alternate mobile
//! phone that is the default while the mobile phone still exists.
//!
//! # Guardrails
//!
//! - Excluded accounts (`--exclude`, such as break-glass accounts) are never touched.
//! - Holders of any directory role are [`Decision::Protected`] unless `--include-admins`.
//! - On-premises synced users cannot be disabled through Graph (AD masters
//!   `accountEnabled`). When the policy disables accounts, such a user is
//!   [`Decision::Blocked`]: sessions are still revoked (harmless, and urgent in an incident)
//!   but method removals are withheld — removing the MFA methods of an account that stays
//!   enabled would let whoever holds its password register their own.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::wire::{MethodType, PhoneType};

/// Shortest Temporary Access Pass lifetime Entra's default TAP policy accepts, in minutes.
pub const TAP_MIN_LIFETIME_MINUTES: u32 = 60;
/// Longest Temporary Access Pass lifetime Entra's default TAP policy accepts, in minutes.
pub const TAP_MAX_LIFETIME_MINUTES: u32 = 480;
/// The TAP lifetime used when `--tap-lifetime` is not given, in minutes.
pub const TAP_DEFAULT_LIFETIME_MINUTES: u32 = 60;

/// The method types `device-refresh` removes: those "Require re-register MFA" removes.
pub const DEVICE_REFRESH_REMOVES: [MethodType; 3] = [
    MethodType::Phone,
    MethodType::MicrosoftAuthenticator,
    MethodType::SoftwareOath,
];

/// Longest device or key name a label shows before it is cut short.
const MAX_NAME_CHARS: usize = 60;

/// A preset of policy flags for one of the three jobs mfa-reset exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A phone fleet was swapped: remove phone, Authenticator and software OATH methods
    /// (keep FIDO2 keys, Windows Hello, platform credentials, email and an existing TAP).
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
/// the user needs it; a Temporary Access Pass always comes after all of them.
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
}

/// The policy flags of `plan` (and of `apply` without a plan), as clap parses them.
/// [`PolicyArgs::into_policy`] validates them into a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct PolicyArgs {
    /// Preset: device-refresh (remove phone, Authenticator and OATH methods), incident
    /// (revoke sessions first, remove all methods) or offboard (disable, revoke, remove
    /// all methods). Other flags add to it; --remove-methods replaces its method selection.
    #[arg(long, value_enum, value_name = "PROFILE")]
    pub profile: Option<Profile>,

    /// Method types to remove, comma-separated, or `all` (every method but the password):
    /// phone, microsoftAuthenticator, softwareOath, fido2, windowsHelloForBusiness, email,
    /// temporaryAccessPass, platformCredential. Replaces the profile's selection.
    #[arg(long, value_name = "TYPES|all", value_delimiter = ',')]
    pub remove_methods: Vec<String>,

    /// Method types never to remove, comma-separated; subtracted from the selection.
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub keep: Vec<String>,

    /// Remove only methods created at or after TIME (RFC 3339, or a date meaning midnight
    /// UTC). Methods Graph gives no creation time (most Authenticator registrations, all
    /// phones) are kept and flagged.
    #[arg(long, value_name = "TIME")]
    pub registered_after: Option<String>,

    /// Remove only methods created before TIME (exclusive; RFC 3339, or a date meaning
    /// midnight UTC). Methods without a creation time are kept and flagged.
    #[arg(long, value_name = "TIME")]
    pub registered_before: Option<String>,

    /// Remove only methods whose device name matches GLOB (`*` any text, `?` one
    /// character, case-insensitive), e.g. "iPhone 12*". Methods naming no device (phones,
    /// email, OATH) are kept and flagged.
    #[arg(long, value_name = "GLOB")]
    pub device_name: Option<String>,

    /// Revoke the user's sign-in sessions (refresh tokens and session cookies).
    #[arg(long)]
    pub revoke_sessions: bool,

    /// Disable the account (cloud-only users; synced users are reported as blocked).
    #[arg(long)]
    pub disable_account: bool,

    /// Issue a Temporary Access Pass after the removals, so the user can register anew.
    #[arg(long)]
    pub issue_tap: bool,

    /// Lifetime of the Temporary Access Pass in minutes, 60 to 480 [default: 60].
    #[arg(long, value_name = "MIN")]
    pub tap_lifetime: Option<u32>,

    /// Make the Temporary Access Pass usable for one sign-in only.
    #[arg(long)]
    pub tap_once: bool,

    /// Also act on holders of admin roles (otherwise they are reported as protected).
    #[arg(long)]
    pub include_admins: bool,
}

/// Why the policy flags do not make a policy. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A method type name that is not one of ours.
    #[error("{flag}: unknown method type {name:?}{hint}; valid types: {valid}")]
    UnknownMethodType {
        /// The flag that named it.
        flag: &'static str,
        /// The name as given.
        name: String,
        /// ` (did you mean ...?)` or empty.
        hint: String,
        /// The names the flag accepts.
        valid: String,
    },
    /// A type flag that was given but named nothing (`--remove-methods ""`).
    #[error("{flag} was given but names no method type; valid types: {valid}")]
    EmptyTypeList {
        /// The flag.
        flag: &'static str,
        /// The names the flag accepts.
        valid: String,
    },
    /// `--remove-methods password`.
    #[error(
        "the password method can never be removed (Graph offers no way to delete it); \
         drop `password` from --remove-methods"
    )]
    PasswordNotRemovable,
    /// `--keep all`.
    #[error(
        "--keep all would keep every method; to remove none, leave out --remove-methods \
         and --profile"
    )]
    KeepAll,
    /// A type named in both `--keep` and `--remove-methods`.
    #[error(
        "{names} named in both --remove-methods and --keep: a type cannot be both removed and \
         kept; drop it from one of them"
    )]
    KeepConflict {
        /// The types named in both, comma-separated.
        names: String,
    },
    /// `--keep` subtracted everything `--remove-methods` named.
    #[error("--keep {kept} leaves nothing of --remove-methods to remove")]
    RemovesNothing {
        /// The kept types, comma-separated.
        kept: String,
    },
    /// A `TIME` that is neither RFC 3339 nor a date.
    #[error(
        "{flag} {value:?} is not a time: {reason}; give RFC 3339 such as \
         2026-11-01T08:00:00Z (or with an offset, +02:00) or a date such as 2026-11-01 \
         (midnight UTC)"
    )]
    BadTime {
        /// The flag.
        flag: &'static str,
        /// The text as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--registered-after` not before `--registered-before`.
    #[error(
        "--registered-after {after} is not before --registered-before {before}: no method \
         can be registered in that window (after is inclusive, before exclusive)"
    )]
    EmptyWindow {
        /// The window's start, RFC 3339 UTC.
        after: String,
        /// The window's end, RFC 3339 UTC.
        before: String,
    },
    /// `--device-name ""`.
    #[error("--device-name needs a pattern, such as \"iPhone 12*\"")]
    EmptyDeviceName,
    /// A filter or `--keep` with no method removal to narrow.
    #[error(
        "{flag} narrows which methods are removed, but no method type is selected for \
         removal: add --remove-methods TYPES or a --profile"
    )]
    FilterWithoutRemoval {
        /// The flag.
        flag: &'static str,
    },
    /// `--tap-lifetime` outside Entra's default range.
    #[error(
        "--tap-lifetime {minutes} is outside {min}-{max} minutes, the range Entra's default \
         Temporary Access Pass policy allows"
    )]
    TapLifetimeOutOfRange {
        /// The lifetime given.
        minutes: u32,
        /// The shortest allowed.
        min: u32,
        /// The longest allowed.
        max: u32,
    },
    /// `--tap-lifetime` or `--tap-once` without `--issue-tap`.
    #[error("{flag} only applies with --issue-tap; add --issue-tap or drop {flag}")]
    TapOptionWithoutTap {
        /// The flag.
        flag: &'static str,
    },
    /// A TAP for an account being disabled.
    #[error(
        "--issue-tap cannot go with disabling the account ({source_of_disable}): a disabled \
         account cannot sign in with a Temporary Access Pass"
    )]
    TapForDisabledAccount {
        /// `--disable-account` or `--profile offboard`.
        source_of_disable: &'static str,
    },
    /// No action at all.
    #[error(
        "nothing to do: give a --profile (device-refresh, incident, offboard) or at least \
         one of --remove-methods, --revoke-sessions, --disable-account, --issue-tap"
    )]
    NothingToDo,
}

/// A validated policy: what to do to every user of a plan.
///
/// Built by [`PolicyArgs::into_policy`] or read back from `plan.json`; both paths check the
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
struct PolicyRepr {
    /// See [`Policy::profile`].
    profile: Option<Profile>,
    /// See [`Policy::remove_methods`].
    #[serde(with = "method_type_list")]
    remove_methods: Vec<MethodType>,
    /// See [`Policy::registered_after`].
    #[serde(with = "time::serde::rfc3339::option")]
    registered_after: Option<OffsetDateTime>,
    /// See [`Policy::registered_before`].
    #[serde(with = "time::serde::rfc3339::option")]
    registered_before: Option<OffsetDateTime>,
    /// See [`Policy::device_name`].
    device_name: Option<String>,
    /// See [`Policy::revoke_sessions`].
    revoke_sessions: bool,
    /// See [`Policy::disable_account`].
    disable_account: bool,
    /// See [`Policy::sequence`].
    sequence: Sequence,
    /// See [`Policy::tap`].
    temporary_access_pass: Option<TapSettings>,
    /// See [`Policy::include_admins`].
    include_admins: bool,
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
        if let Some(tap) = r.temporary_access_pass {
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
            && r.temporary_access_pass.is_none()
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
            tap: r.temporary_access_pass,
            include_admins: r.include_admins,
        })
    }
}

impl PolicyArgs {
    /// Flags for one profile and nothing else.
    pub fn for_profile(profile: Profile) -> PolicyArgs {
        PolicyArgs {
            profile: Some(profile),
            ..PolicyArgs::default()
        }
    }

    /// Validates the flags into a [`Policy`], combining them with the profile as the
    /// module documentation describes.
    pub fn into_policy(self) -> Result<Policy, PolicyError> {
        let explicit = if self.remove_methods.is_empty() {
            None
        } else {
            Some(parse_types("--remove-methods", &self.remove_methods, true)?)
        };
        let keep = if self.keep.is_empty() {
            BTreeSet::new()
        } else {
            parse_types("--keep", &self.keep, false)?.named
        };
        if let Some(sel) = &explicit {
            if sel.named.contains(&MethodType::Password) {
                return Err(PolicyError::PasswordNotRemovable);
            }
            let both: Vec<MethodType> = sel.named.intersection(&keep).copied().collect();
            if !both.is_empty() {
                return Err(PolicyError::KeepConflict {
                    names: join_names(&both),
                });
            }
        }
        let selected: BTreeSet<MethodType> = match (&explicit, self.profile) {
            (Some(sel), _) if sel.all => all_removable(),
            (Some(sel), _) => sel.named.clone(),
            (None, Some(profile)) => profile.removes(),
            (None, None) => BTreeSet::new(),
        };
        if !keep.is_empty() && selected.is_empty() {
            return Err(PolicyError::FilterWithoutRemoval { flag: "--keep" });
        }
        let remove: Vec<MethodType> = selected
            .difference(&keep)
            .copied()
            .filter(|t| t.deletable())
            .collect();
        if explicit.is_some() && remove.is_empty() {
            return Err(PolicyError::RemovesNothing {
                kept: join_names(&keep.iter().copied().collect::<Vec<_>>()),
            });
        }
        let registered_after = self
            .registered_after
            .as_deref()
            .map(|v| parse_time_flag("--registered-after", v))
            .transpose()?;
        let registered_before = self
            .registered_before
            .as_deref()
            .map(|v| parse_time_flag("--registered-before", v))
            .transpose()?;
        let tap = if self.issue_tap {
            let lifetime_minutes = self.tap_lifetime.unwrap_or(TAP_DEFAULT_LIFETIME_MINUTES);
            check_tap_lifetime(lifetime_minutes)?;
            Some(TapSettings {
                lifetime_minutes,
                usable_once: self.tap_once,
            })
        } else if self.tap_lifetime.is_some() {
            return Err(PolicyError::TapOptionWithoutTap {
                flag: "--tap-lifetime",
            });
        } else if self.tap_once {
            return Err(PolicyError::TapOptionWithoutTap { flag: "--tap-once" });
        } else {
            None
        };
        let profile = self.profile;
        Policy::try_from(PolicyRepr {
            profile,
            remove_methods: remove,
            registered_after,
            registered_before,
            device_name: self.device_name,
            revoke_sessions: self.revoke_sessions || profile.is_some_and(Profile::revokes_sessions),
            disable_account: self.disable_account || profile.is_some_and(Profile::disables_account),
            sequence: profile.map_or(Sequence::DisableRevokeRemove, Profile::sequence),
            temporary_access_pass: tap,
            include_admins: self.include_admins,
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
                "Then issue a Temporary Access Pass valid {} minutes, {}.",
                tap.lifetime_minutes,
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
}

/// The user's preferred (default) MFA method as beta `signInPreferences` reports it in
/// `userPreferredMethodForSecondaryAuthentication`. Graph v1.0 does not expose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DefaultMethod {
    /// Authenticator push: a `microsoftAuthenticator` method.
    Push,
    /// A one-time code: a `softwareOath` method (or a beta-only hardware token).
    Oath,
    /// A voice call to the mobile phone.
    VoiceMobile,
    /// A voice call to the alternate mobile phone.
    VoiceAlternateMobile,
    /// A voice call to the office phone.
    VoiceOffice,
    /// A text message to the mobile phone.
    Sms,
    /// A value newer than this tool: treated as unknown.
    UnknownFutureValue,
}

impl DefaultMethod {
    /// Every value, in Graph's order.
    pub const ALL: [DefaultMethod; 7] = [
        DefaultMethod::Push,
        DefaultMethod::Oath,
        DefaultMethod::VoiceMobile,
        DefaultMethod::VoiceAlternateMobile,
        DefaultMethod::VoiceOffice,
        DefaultMethod::Sms,
        DefaultMethod::UnknownFutureValue,
    ];

    /// The value on the wire.
    pub fn as_graph(self) -> &'static str {
        match self {
            DefaultMethod::Push => "push",
            DefaultMethod::Oath => "oath",
            DefaultMethod::VoiceMobile => "voiceMobile",
            DefaultMethod::VoiceAlternateMobile => "voiceAlternateMobile",
            DefaultMethod::VoiceOffice => "voiceOffice",
            DefaultMethod::Sms => "sms",
            DefaultMethod::UnknownFutureValue => "unknownFutureValue",
        }
    }

    /// The value named by `value` (ignoring case), or `None` for text Graph does not send.
    pub fn from_graph(value: &str) -> Option<DefaultMethod> {
        DefaultMethod::ALL
            .into_iter()
            .find(|d| d.as_graph().eq_ignore_ascii_case(value))
    }

    /// The method type this value names, or `None` for [`DefaultMethod::UnknownFutureValue`].
    pub fn method_type(self) -> Option<MethodType> {
        match self {
            DefaultMethod::Push => Some(MethodType::MicrosoftAuthenticator),
            DefaultMethod::Oath => Some(MethodType::SoftwareOath),
            DefaultMethod::VoiceMobile
            | DefaultMethod::VoiceAlternateMobile
            | DefaultMethod::VoiceOffice
            | DefaultMethod::Sms => Some(MethodType::Phone),
            DefaultMethod::UnknownFutureValue => None,
        }
    }

    /// The phone this value names, for the phone values.
    pub fn phone_type(self) -> Option<PhoneType> {
        match self {
            DefaultMethod::VoiceMobile | DefaultMethod::Sms => Some(PhoneType::Mobile),
            DefaultMethod::VoiceAlternateMobile => Some(PhoneType::AlternateMobile),
            DefaultMethod::VoiceOffice => Some(PhoneType::Office),
            _ => None,
        }
    }

    /// Whether `method` is (one of the methods that may be) the one this value names. A
    /// phone value names one fixed phone; `push` names any Authenticator registration and
    /// `oath` any software OATH token (Graph does not say which of several).
    pub fn names(self, method: &MethodSnapshot) -> bool {
        match (self.method_type(), self.phone_type()) {
            (Some(MethodType::Phone), Some(phone)) => {
                method.kind == MethodType::Phone && method.phone() == Some(phone)
            }
            (Some(kind), _) => method.kind == kind,
            (None, _) => false,
        }
    }
}

/// A user as the plan read them from Graph: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSnapshot {
    /// The object id.
    pub id: String,
    /// The user principal name.
    pub user_principal_name: String,
    /// `accountEnabled`.
    pub account_enabled: bool,
    /// `onPremisesSyncEnabled == true`: the account is mastered in on-premises AD.
    pub synced: bool,
    /// Display names of the directory roles the user holds; any role makes them an admin.
    #[serde(default)]
    pub admin_roles: Vec<String>,
    /// The default MFA method, if known (beta `signInPreferences`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_method: Option<DefaultMethod>,
    /// The authentication methods, as listed.
    #[serde(default)]
    pub methods: Vec<MethodSnapshot>,
}

/// One authentication method as listed: its id, type and what identifies it to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSnapshot {
    /// The method id.
    pub id: String,
    /// The method type.
    #[serde(with = "method_type_name")]
    pub kind: MethodType,
    /// The device or key name (Authenticator, Windows Hello, FIDO2, platform credential).
    /// Labels of phone methods mask any number found here to its last two digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `createdDateTime` (`creationDateTime` for FIDO2), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// For a phone method, which phone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "phone_type_opt"
    )]
    pub phone_type: Option<PhoneType>,
}

impl MethodSnapshot {
    /// Which phone this is: `phone_type`, else recognised from the fixed id.
    pub fn phone(&self) -> Option<PhoneType> {
        if self.kind != MethodType::Phone {
            return None;
        }
        self.phone_type
            .or_else(|| PhoneType::from_method_id(&self.id))
    }

    /// The creation time, if present and RFC 3339.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        self.created
            .as_deref()
            .and_then(|c| OffsetDateTime::parse(c.trim(), &Rfc3339).ok())
    }

    /// A label for reports that identifies the method to a person without exposing it:
    /// "Authenticator on iPhone 12", "mobile phone …13", "FIDO2 key \"Red key\"".
    pub fn label(&self) -> String {
        let name = self.display_name.as_deref().and_then(clean_name);
        match self.kind {
            MethodType::Password => "password".into(),
            MethodType::Phone => {
                let phone = match self.phone() {
                    Some(PhoneType::Mobile) => "mobile phone",
                    Some(PhoneType::AlternateMobile) => "alternate mobile phone",
                    Some(PhoneType::Office) => "office phone",
                    None => "phone",
                };
                match self.display_name.as_deref().and_then(mask_phone) {
                    Some(masked) => format!("{phone} {masked}"),
                    None => phone.into(),
                }
            }
            MethodType::MicrosoftAuthenticator => match name {
                Some(n) => format!("Authenticator on {n}"),
                None => "Authenticator (unnamed device)".into(),
            },
            MethodType::SoftwareOath => "software OATH token".into(),
            MethodType::Fido2 => match name {
                Some(n) => format!("FIDO2 key \"{n}\""),
                None => "FIDO2 key".into(),
            },
            MethodType::WindowsHelloForBusiness => match name {
                Some(n) => format!("Windows Hello on {n}"),
                None => "Windows Hello (unnamed device)".into(),
            },
            MethodType::Email => "email address".into(),
            MethodType::TemporaryAccessPass => "Temporary Access Pass".into(),
            MethodType::PlatformCredential => match name {
                Some(n) => format!("platform credential on {n}"),
                None => "platform credential (unnamed device)".into(),
            },
        }
    }
}

/// One Graph write for one user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Step {
    /// `POST /users/{id}/revokeSignInSessions`.
    RevokeSessions,
    /// `PATCH /users/{id}` with `{"accountEnabled": false}`.
    DisableAccount,
    /// `DELETE /users/{id}/authentication/{kind.collection()}/{id}`.
    DeleteMethod {
        /// The method type, which gives the collection.
        #[serde(with = "method_type_name")]
        kind: MethodType,
        /// The method id.
        id: String,
        /// What the method is, for people ([`MethodSnapshot::label`]).
        label: String,
    },
    /// `POST /users/{id}/authentication/temporaryAccessPassMethods`.
    IssueTemporaryAccessPass {
        /// Lifetime in minutes.
        lifetime_minutes: u32,
        /// Usable for one sign-in only.
        usable_once: bool,
    },
}

impl Step {
    /// The step in a few words, for reports.
    pub fn describe(&self) -> String {
        match self {
            Step::RevokeSessions => "revoke sign-in sessions".into(),
            Step::DisableAccount => "disable the account".into(),
            Step::DeleteMethod { label, .. } => format!("remove {label}"),
            Step::IssueTemporaryAccessPass {
                lifetime_minutes,
                usable_once,
            } => format!(
                "issue a Temporary Access Pass ({lifetime_minutes} min, {})",
                if *usable_once {
                    "one-time"
                } else {
                    "multi-use"
                }
            ),
        }
    }
}

/// What to do to one user, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "status",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum Decision {
    /// Run these steps, in this order.
    Planned {
        /// The steps.
        steps: Vec<Step>,
        /// Things the reader should know (methods kept because a filter could not judge
        /// them, an admin included, a TAP replaced, ...).
        notes: Vec<String>,
    },
    /// The user is already where the policy wants them.
    NoChange {
        /// As in [`Decision::Planned`].
        notes: Vec<String>,
    },
    /// Listed in `--exclude`: never touched.
    Excluded,
    /// Holds an admin role and `--include-admins` was not given: never touched.
    Protected {
        /// Which roles.
        reason: String,
    },
    /// Part of what the policy asks cannot be done to this user.
    Blocked {
        /// Why, and what to do about it.
        reason: String,
        /// The steps that are still safe and are run (in order); may be empty.
        steps: Vec<Step>,
        /// The steps the policy would take that are not run, for the reviewer.
        withheld: Vec<Step>,
        /// As in [`Decision::Planned`].
        notes: Vec<String>,
    },
}

impl Decision {
    /// The result status the reports use: `planned`, `no-change`, `excluded`, `protected`
    /// or `blocked`.
    pub fn status(&self) -> &'static str {
        match self {
            Decision::Planned { .. } => "planned",
            Decision::NoChange { .. } => "no-change",
            Decision::Excluded => "excluded",
            Decision::Protected { .. } => "protected",
            Decision::Blocked { .. } => "blocked",
        }
    }

    /// The steps to run for this user: a planned user's, or the safe part of a blocked
    /// user's; none otherwise.
    pub fn steps(&self) -> &[Step] {
        match self {
            Decision::Planned { steps, .. } | Decision::Blocked { steps, .. } => steps,
            _ => &[],
        }
    }

    /// The notes, if the decision has any.
    pub fn notes(&self) -> &[String] {
        match self {
            Decision::Planned { notes, .. }
            | Decision::NoChange { notes }
            | Decision::Blocked { notes, .. } => notes,
            _ => &[],
        }
    }
}

/// Decides what to do to `user` under `policy`. `excluded` says the user is on the
/// `--exclude` list. See the module documentation for the rules.
pub fn decide(policy: &Policy, user: &UserSnapshot, excluded: bool) -> Decision {
    if excluded {
        return Decision::Excluded;
    }
    if !user.admin_roles.is_empty() && !policy.include_admins {
        return Decision::Protected {
            reason: format!(
                "holds the admin role{} {}; admin accounts are left alone unless \
                 --include-admins is given",
                if user.admin_roles.len() == 1 { "" } else { "s" },
                user.admin_roles.join(", ")
            ),
        };
    }
    let mut notes = Vec::new();
    if !user.admin_roles.is_empty() {
        notes.push(format!(
            "holds admin role(s) {} and is included by --include-admins; changing a \
             privileged admin needs a caller with an equal or higher role",
            user.admin_roles.join(", ")
        ));
    }

    let selected = select_methods(policy, user, &mut notes);
    let Ordered { order, stuck } = order_deletions(user, &selected, &mut notes);
    let deletions: Vec<Step> = order
        .iter()
        .map(|&i| delete_step(&user.methods[i]))
        .collect();

    let disable = policy.disable_account && user.account_enabled;
    if policy.disable_account && !user.account_enabled {
        notes.push("account already disabled".into());
    }

    let tap = policy.tap.and_then(|tap| {
        if !user.account_enabled {
            notes.push("account is disabled: no Temporary Access Pass issued".into());
            None
        } else if !policy.remove.is_empty() && deletions.is_empty() {
            notes.push(
                "no method is removed from this user: no Temporary Access Pass issued".into(),
            );
            None
        } else {
            let existing_kept = user
                .methods
                .iter()
                .enumerate()
                .any(|(i, m)| m.kind == MethodType::TemporaryAccessPass && !order.contains(&i));
            if existing_kept {
                notes.push(
                    "the user's existing Temporary Access Pass is replaced by the new one".into(),
                );
            }
            Some(Step::IssueTemporaryAccessPass {
                lifetime_minutes: tap.lifetime_minutes,
                usable_once: tap.usable_once,
            })
        }
    });

    if disable && user.synced {
        let all = assemble(
            policy.sequence,
            true,
            policy.revoke_sessions,
            deletions
                .into_iter()
                .chain(stuck.iter().map(|(i, _)| delete_step(&user.methods[*i]))),
            tap,
        );
        let (steps, withheld): (Vec<Step>, Vec<Step>) =
            all.into_iter().partition(|s| *s == Step::RevokeSessions);
        let revoked = if steps.is_empty() {
            "Nothing is done to this user"
        } else {
            "Sessions are still revoked; method removals are withheld, so an account that \
             stays enabled is not left open to whoever holds its password registering new \
             MFA methods"
        };
        return Decision::Blocked {
            reason: format!(
                "synced from on-premises Active Directory: accountEnabled is mastered there \
                 and Graph cannot disable the account. {revoked}. Disable the account in \
                 Active Directory, let it sync, and run again."
            ),
            steps,
            withheld,
            notes,
        };
    }

    let steps = assemble(
        policy.sequence,
        disable,
        policy.revoke_sessions,
        deletions,
        tap,
    );
    if !stuck.is_empty() {
        let reason = stuck
            .iter()
            .map(|(_, why)| why.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Decision::Blocked {
            reason,
            steps,
            withheld: stuck
                .iter()
                .map(|(i, _)| delete_step(&user.methods[*i]))
                .collect(),
            notes,
        };
    }
    if steps.is_empty() {
        Decision::NoChange { notes }
    } else {
        Decision::Planned { steps, notes }
    }
}

/// Matches `text` against a glob of `*` (any run of characters) and `?` (one character),
/// ignoring case; every other character matches itself. A glob without `*` or `?` must
/// match the whole text.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and the text position it is currently made to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Parses a `TIME` flag value: RFC 3339 (any offset), or a `YYYY-MM-DD` date meaning
/// midnight UTC. The result is in UTC.
pub fn parse_time(value: &str) -> Result<OffsetDateTime, String> {
    let value = value.trim();
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return in_utc(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(value, &date_format) {
        Ok(date) => Ok(date.midnight().assume_utc()),
        Err(_) if value.contains(['T', 't', ' ']) => {
            Err("a time needs a UTC offset (Z or +02:00) and the form 2026-11-01T08:00:00Z".into())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `t` in UTC, if it falls in the years 1 to 9999 there: RFC 3339 (which plans are
/// written in) has four-digit years only, and an offset can push 9999-12-31 or 0000-01-01
/// out of that range (or out of what the time library represents).
fn in_utc(t: OffsetDateTime) -> Result<OffsetDateTime, String> {
    match t.checked_to_offset(UtcOffset::UTC) {
        Some(utc) if (1..=9999).contains(&utc.year()) => Ok(utc),
        _ => Err("it falls outside the years 1 to 9999 in UTC".into()),
    }
}

/// A phone number masked to its last two digits (`…13`), or `None` without digits.
pub fn mask_phone(number: &str) -> Option<String> {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0 => None,
        n => Some(format!(
            "…{}",
            digits[n.saturating_sub(2)..].iter().collect::<String>()
        )),
    }
}

/// The result of parsing a comma list of method type names.
struct TypeSelection {
    /// `all` was named.
    all: bool,
    /// The types named.
    named: BTreeSet<MethodType>,
}

/// Every type the `all` selection means: every deletable type.
fn all_removable() -> BTreeSet<MethodType> {
    MethodType::ALL
        .into_iter()
        .filter(|t| t.deletable())
        .collect()
}

/// Parses method type names for `flag`: short names in any case, the aliases
/// `authenticator`, `tap` and `whfb`, and (if `allow_all`) `all`.
fn parse_types(
    flag: &'static str,
    values: &[String],
    allow_all: bool,
) -> Result<TypeSelection, PolicyError> {
    let valid = || {
        let mut names: Vec<&str> = MethodType::ALL
            .into_iter()
            .filter(|t| t.deletable())
            .map(MethodType::short_name)
            .collect();
        if allow_all {
            names.push("all");
        }
        names.join(", ")
    };
    let mut sel = TypeSelection {
        all: false,
        named: BTreeSet::new(),
    };
    let mut any = false;
    for raw in values {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        any = true;
        if name.eq_ignore_ascii_case("all") {
            if !allow_all {
                return Err(PolicyError::KeepAll);
            }
            sel.all = true;
            continue;
        }
        match type_by_name(name) {
            Some(t) => {
                sel.named.insert(t);
            }
            None => {
                let lower = name.to_ascii_lowercase();
                let guess = MethodType::ALL
                    .into_iter()
                    .filter(|t| t.deletable())
                    .map(MethodType::short_name)
                    .find(|n| {
                        let n = n.to_ascii_lowercase();
                        lower.len() >= 3 && (n.starts_with(&lower) || n.contains(&lower))
                    });
                return Err(PolicyError::UnknownMethodType {
                    flag,
                    name: name.to_string(),
                    hint: guess.map_or(String::new(), |g| format!(" (did you mean {g}?)")),
                    valid: valid(),
                });
            }
        }
    }
    if !any {
        return Err(PolicyError::EmptyTypeList {
            flag,
            valid: valid(),
        });
    }
    Ok(sel)
}

/// The type a command-line name means: a short name in any case, or an alias.
fn type_by_name(name: &str) -> Option<MethodType> {
    let alias = match name.to_ascii_lowercase().as_str() {
        "authenticator" => Some(MethodType::MicrosoftAuthenticator),
        "tap" => Some(MethodType::TemporaryAccessPass),
        "whfb" => Some(MethodType::WindowsHelloForBusiness),
        _ => None,
    };
    alias.or_else(|| {
        MethodType::ALL
            .into_iter()
            .find(|t| t.short_name().eq_ignore_ascii_case(name))
    })
}

/// Parses a `TIME` flag, naming the flag in the error.
fn parse_time_flag(flag: &'static str, value: &str) -> Result<OffsetDateTime, PolicyError> {
    parse_time(value).map_err(|reason| PolicyError::BadTime {
        flag,
        value: value.to_string(),
        reason,
    })
}

/// Checks a TAP lifetime against Entra's default policy range.
fn check_tap_lifetime(minutes: u32) -> Result<(), PolicyError> {
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
fn join_names(types: &[MethodType]) -> String {
    types
        .iter()
        .map(|t| t.short_name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An instant as RFC 3339.
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .expect("a UTC instant formats as RFC 3339")
}

/// A display name fit for a label: trimmed, without control characters, at most
/// [`MAX_NAME_CHARS`] characters; `None` if nothing is left.
fn clean_name(name: &str) -> Option<String> {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        return None;
    }
    if cleaned.chars().count() > MAX_NAME_CHARS {
        let cut: String = cleaned.chars().take(MAX_NAME_CHARS - 1).collect();
        Some(format!("{}…", cut.trim_end()))
    } else {
        Some(cleaned.to_string())
    }
}

/// The delete step for a method.
fn delete_step(m: &MethodSnapshot) -> Step {
    Step::DeleteMethod {
        kind: m.kind,
        id: m.id.clone(),
        label: m.label(),
    }
}

/// The indices of the user's methods the policy removes (in snapshot order), noting the
/// ones kept because a filter could not judge them.
fn select_methods(policy: &Policy, user: &UserSnapshot, notes: &mut Vec<String>) -> Vec<usize> {
    let window = policy.registered_after.is_some() || policy.registered_before.is_some();
    // Visit the methods in a fixed order, so notes do not depend on Graph's listing order.
    let mut visit: Vec<usize> = (0..user.methods.len()).collect();
    visit.sort_by(|&a, &b| {
        let (ma, mb) = (&user.methods[a], &user.methods[b]);
        (ma.kind, &ma.id, a).cmp(&(mb.kind, &mb.id, b))
    });
    let mut selected = Vec::new();
    for i in visit {
        let m = &user.methods[i];
        // The password is never removed, whatever a policy says.
        if !m.kind.deletable() || !policy.removes(m.kind) {
            continue;
        }
        if window {
            let Some(created) = m.created_at() else {
                notes.push(match &m.created {
                    None => format!(
                        "kept {}: Graph gives it no creation time, so \
                         --registered-after/--registered-before cannot place it",
                        m.label()
                    ),
                    Some(raw) => format!(
                        "kept {}: its creation time {raw:?} is not RFC 3339, so \
                         --registered-after/--registered-before cannot place it",
                        m.label()
                    ),
                });
                continue;
            };
            if policy.registered_after.is_some_and(|a| created < a)
                || policy.registered_before.is_some_and(|b| created >= b)
            {
                continue;
            }
        }
        if let Some(glob) = &policy.device_name {
            let name = m.display_name.as_deref().map(str::trim).unwrap_or("");
            if name.is_empty() {
                notes.push(format!(
                    "kept {}: it names no device, so --device-name cannot match it",
                    m.label()
                ));
                continue;
            }
            if !glob_matches(glob, name) {
                continue;
            }
        }
        selected.push(i);
    }
    selected
}

/// What the user's default method is known to be.
enum DefaultKnowledge {
    /// Not known: `default_method` absent or a future value.
    Unknown,
    /// Known, and these of the user's methods are (possibly) it: one for a phone; every
    /// Authenticator for `push`, every OATH token for `oath`; none if the default is a
    /// method this tool does not list (a beta-only hardware token).
    Candidates(Vec<usize>),
}

impl DefaultKnowledge {
    /// Reads the default from the snapshot.
    fn of(user: &UserSnapshot) -> DefaultKnowledge {
        match user.default_method {
            None | Some(DefaultMethod::UnknownFutureValue) => DefaultKnowledge::Unknown,
            Some(d) => DefaultKnowledge::Candidates(
                user.methods
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| d.names(m))
                    .map(|(i, _)| i)
                    .collect(),
            ),
        }
    }

    /// Whether method `i` is (possibly) the default.
    fn is_candidate(&self, i: usize) -> bool {
        matches!(self, DefaultKnowledge::Candidates(c) if c.contains(&i))
    }

    /// The method that certainly is the default.
    fn certain(&self) -> Option<usize> {
        match self {
            DefaultKnowledge::Candidates(c) if c.len() == 1 => Some(c[0]),
            _ => None,
        }
    }
}

/// The deletions in the order to send them, and those Graph would never accept, each
/// with why.
struct Ordered {
    /// Indices into the user's methods, in order.
    order: Vec<usize>,
    /// Indices and reasons of the deletions withheld.
    stuck: Vec<(usize, String)>,
}

/// Where a method goes among the deletions (see the module documentation), lowest first.
fn rank(m: &MethodSnapshot, is_default: bool) -> (u8, u8) {
    let within = match (m.kind, m.phone()) {
        (MethodType::TemporaryAccessPass, _) => 0,
        (MethodType::SoftwareOath, _) => 0,
        (MethodType::Phone, Some(PhoneType::AlternateMobile)) => 1,
        (MethodType::Phone, Some(PhoneType::Office)) => 2,
        (MethodType::Phone, _) => 3,
        (MethodType::MicrosoftAuthenticator, _) => 4,
        _ => 1,
    };
    let group = if !m.kind.can_be_default() {
        0
    } else if is_default {
        2
    } else {
        1
    };
    (group, within)
}

/// Orders the selected deletions so Graph accepts each in turn: replays Graph's rules
/// (mobile not while an alternate mobile remains; the known default not while another
/// method that could be the default remains) over the user's methods, taking at each turn
/// the first deletion in [`rank`] order that Graph would accept.
fn order_deletions(user: &UserSnapshot, selected: &[usize], notes: &mut Vec<String>) -> Ordered {
    let default = DefaultKnowledge::of(user);
    let mut pending: Vec<usize> = selected.to_vec();
    pending.sort_by(|&a, &b| {
        let (ma, mb) = (&user.methods[a], &user.methods[b]);
        rank(ma, default.is_candidate(a))
            .cmp(&rank(mb, default.is_candidate(b)))
            .then(ma.kind.cmp(&mb.kind))
            .then(ma.id.cmp(&mb.id))
            .then(a.cmp(&b))
    });
    let mut present: Vec<usize> = (0..user.methods.len()).collect();
    let certain = default.certain();
    let accepts = |i: usize, present: &[usize]| -> Result<(), String> {
        let m = &user.methods[i];
        if m.phone() == Some(PhoneType::Mobile)
            && let Some(&alt) = present
                .iter()
                .find(|&&j| user.methods[j].phone() == Some(PhoneType::AlternateMobile))
        {
            return Err(format!(
                "{} cannot be removed while {} remains (Graph refuses to delete a mobile phone \
                 while an alternate mobile phone is registered)",
                m.label(),
                user.methods[alt].label()
            ));
        }
        if certain == Some(i) {
            let others: Vec<String> = present
                .iter()
                .filter(|&&j| j != i && user.methods[j].kind.can_be_default())
                .map(|&j| user.methods[j].label())
                .collect();
            if !others.is_empty() {
                return Err(format!(
                    "{} is the user's default MFA method and {} remain{}; Graph refuses to \
                     delete the default method while other MFA methods remain: change the \
                     user's default method (or remove those too) and run again",
                    m.label(),
                    others.join(", "),
                    if others.len() == 1 { "s" } else { "" }
                ));
            }
        }
        Ok(())
    };
    let mut order = Vec::with_capacity(pending.len());
    while let Some(pos) = pending.iter().position(|&i| accepts(i, &present).is_ok()) {
        let i = pending.remove(pos);
        present.retain(|&j| j != i);
        order.push(i);
    }
    let stuck: Vec<(usize, String)> = pending
        .iter()
        .map(|&i| (i, accepts(i, &present).expect_err("left because refused")))
        .collect();

    // Warn where the default is not certain and a method that could be it stays behind.
    let kept_capable: Vec<String> = present
        .iter()
        .filter(|j| !pending.contains(j))
        .filter(|&&j| user.methods[j].kind.can_be_default())
        .map(|&j| user.methods[j].label())
        .collect();
    let uncertain: Vec<String> = order
        .iter()
        .filter(|&&i| user.methods[i].kind.can_be_default())
        .filter(|&&i| match &default {
            DefaultKnowledge::Unknown => true,
            DefaultKnowledge::Candidates(c) => c.len() > 1 && c.contains(&i),
        })
        .map(|&i| user.methods[i].label())
        .collect();
    if !kept_capable.is_empty() && !uncertain.is_empty() {
        notes.push(format!(
            "the default MFA method is not known for certain and {} {} kept: if {} is the \
             default, Graph will refuse to remove it",
            kept_capable.join(", "),
            if kept_capable.len() == 1 { "is" } else { "are" },
            uncertain.join(" or ")
        ));
    }
    Ordered { order, stuck }
}

/// Puts a user's actions in the policy's order; a TAP goes last.
fn assemble(
    sequence: Sequence,
    disable: bool,
    revoke: bool,
    deletions: impl IntoIterator<Item = Step>,
    tap: Option<Step>,
) -> Vec<Step> {
    let mut out = Vec::new();
    let disable = disable.then_some(Step::DisableAccount);
    let revoke = revoke.then_some(Step::RevokeSessions);
    match sequence {
        Sequence::RevokeDisableRemove => {
            out.extend(revoke);
            out.extend(disable);
            out.extend(deletions);
        }
        Sequence::DisableRevokeRemove => {
            out.extend(disable);
            out.extend(revoke);
            out.extend(deletions);
        }
        Sequence::DisableRemoveRevoke => {
            out.extend(disable);
            out.extend(deletions);
            out.extend(revoke);
        }
    }
    out.extend(tap);
    out
}

/// Serde for a [`MethodType`] as its short name.
pub(crate) mod method_type_name {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::wire::MethodType;

    /// Writes the short name.
    pub fn serialize<S: Serializer>(kind: &MethodType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.short_name())
    }

    /// Reads a short name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MethodType, D::Error> {
        let name = String::deserialize(d)?;
        by_short_name(&name)
            .ok_or_else(|| D::Error::custom(format!("unknown method type {name:?}")))
    }

    /// The type with this exact short name.
    pub fn by_short_name(name: &str) -> Option<MethodType> {
        MethodType::ALL.into_iter().find(|t| t.short_name() == name)
    }
}

/// Serde for a list of [`MethodType`]s as short names.
mod method_type_list {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::wire::MethodType;

    /// Writes the short names.
    pub fn serialize<S: Serializer>(kinds: &[MethodType], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(kinds.iter().map(|k| k.short_name()))
    }

    /// Reads short names.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MethodType>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|name| {
                super::method_type_name::by_short_name(name)
                    .ok_or_else(|| D::Error::custom(format!("unknown method type {name:?}")))
            })
            .collect()
    }
}

/// Serde for an optional [`PhoneType`] as its wire value.
mod phone_type_opt {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::wire::PhoneType;

    /// Writes the wire value or null.
    pub fn serialize<S: Serializer>(phone: &Option<PhoneType>, s: S) -> Result<S::Ok, S::Error> {
        match phone {
            Some(p) => s.serialize_some(p.as_str()),
            None => s.serialize_none(),
        }
    }

    /// Reads a wire value or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PhoneType>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|v| {
                PhoneType::parse(&v)
                    .ok_or_else(|| D::Error::custom(format!("unknown phone type {v:?}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fixed_ids;
    use clap::Parser;

    /// A command line holding only the policy flags, to test their parsing.
    #[derive(Debug, Parser)]
    struct Cli {
        /// The flags.
        #[command(flatten)]
        policy: PolicyArgs,
    }

    /// Parses policy flags as the command line would.
    fn parse(args: &[&str]) -> PolicyArgs {
        Cli::try_parse_from(std::iter::once("mfa-reset").chain(args.iter().copied()))
            .expect("flags parse")
            .policy
    }

    /// Parses and validates policy flags.
    fn policy(args: &[&str]) -> Result<Policy, PolicyError> {
        parse(args).into_policy()
    }

    /// The policy of one profile alone.
    fn profile(p: Profile) -> Policy {
        PolicyArgs::for_profile(p)
            .into_policy()
            .expect("profiles are valid")
    }

    /// An instant from RFC 3339.
    fn at(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    /// A method of `kind` with `id`.
    fn method(kind: MethodType, id: &str) -> MethodSnapshot {
        MethodSnapshot {
            id: id.into(),
            kind,
            display_name: None,
            created: None,
            phone_type: None,
        }
    }

    /// A phone method of the given type, with its fixed id.
    fn phone(p: PhoneType) -> MethodSnapshot {
        MethodSnapshot {
            phone_type: Some(p),
            ..method(MethodType::Phone, p.method_id())
        }
    }

    /// The password method.
    fn password() -> MethodSnapshot {
        method(MethodType::Password, fixed_ids::PASSWORD)
    }

    /// The email method.
    fn email() -> MethodSnapshot {
        method(MethodType::Email, fixed_ids::EMAIL)
    }

    /// A method with a device name and an optional creation time.
    fn named(kind: MethodType, id: &str, name: &str, created: Option<&str>) -> MethodSnapshot {
        MethodSnapshot {
            display_name: Some(name.into()),
            created: created.map(str::to_string),
            ..method(kind, id)
        }
    }

    /// An Authenticator registration on a device.
    fn authenticator(id: &str, device: &str) -> MethodSnapshot {
        named(MethodType::MicrosoftAuthenticator, id, device, None)
    }

    /// A cloud-only, enabled, non-admin user with these methods.
    fn user(methods: Vec<MethodSnapshot>) -> UserSnapshot {
        UserSnapshot {
            id: "00000000-0000-4000-8000-000000000001".into(),
            user_principal_name: "ada@contoso.com".into(),
            account_enabled: true,
            synced: false,
            admin_roles: Vec::new(),
            default_method: None,
            methods,
        }
    }

    /// A user holding every kind of method: password, three phones, Authenticator, OATH,
    /// FIDO2, Windows Hello, email, TAP, platform credential.
    fn everything() -> UserSnapshot {
        user(vec![
            password(),
            phone(PhoneType::Mobile),
            authenticator("auth-1", "iPhone 12"),
            method(MethodType::SoftwareOath, "oath-1"),
            named(
                MethodType::Fido2,
                "fido-1",
                "Red key",
                Some("2020-08-10T06:44:09Z"),
            ),
            named(
                MethodType::WindowsHelloForBusiness,
                "whfb-1",
                "Ada's Surface",
                Some("2020-11-27T23:12:49Z"),
            ),
            email(),
            method(MethodType::TemporaryAccessPass, "tap-1"),
            named(
                MethodType::PlatformCredential,
                "plat-1",
                "Ada's MacBook",
                None,
            ),
            phone(PhoneType::Office),
            phone(PhoneType::AlternateMobile),
        ])
    }

    /// The ids of the methods a list of steps deletes, in order.
    fn deleted(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::DeleteMethod { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    /// The steps of a planned decision (panics otherwise).
    fn planned(d: &Decision) -> &[Step] {
        match d {
            Decision::Planned { steps, .. } => steps,
            other => panic!("expected planned, got {other:?}"),
        }
    }

    /// The deletion step for a method id, as `decide` writes it.
    fn del(user: &UserSnapshot, id: &str) -> Step {
        delete_step(user.methods.iter().find(|m| m.id == id).unwrap())
    }

    const MOBILE: &str = fixed_ids::MOBILE_PHONE;
    const ALT: &str = fixed_ids::ALTERNATE_MOBILE_PHONE;
    const OFFICE: &str = fixed_ids::OFFICE_PHONE;

    // ---- flags into a policy ----

    #[test]
    fn device_refresh_removes_phone_authenticator_and_oath_only() {
        let p = profile(Profile::DeviceRefresh);
        assert_eq!(p.remove_methods(), &DEVICE_REFRESH_REMOVES);
        assert!(!p.revoke_sessions() && !p.disable_account() && p.tap().is_none());
        assert_eq!(p.sequence(), Sequence::DisableRemoveRevoke);
        for kept in [
            MethodType::Password,
            MethodType::Fido2,
            MethodType::WindowsHelloForBusiness,
            MethodType::Email,
            MethodType::TemporaryAccessPass,
            MethodType::PlatformCredential,
        ] {
            assert!(!p.removes(kept), "{kept} must be kept");
        }
        // Exactly the types that can be the default: "Require re-register MFA".
        for t in MethodType::ALL {
            assert_eq!(p.removes(t), t.can_be_default(), "{t}");
        }
    }

    #[test]
    fn incident_revokes_first_and_removes_every_method_but_the_password() {
        let p = profile(Profile::Incident);
        assert!(p.revoke_sessions() && !p.disable_account());
        assert_eq!(p.sequence(), Sequence::RevokeDisableRemove);
        for t in MethodType::ALL {
            assert_eq!(p.removes(t), t != MethodType::Password, "{t}");
        }
    }

    #[test]
    fn offboard_disables_revokes_and_removes_every_method_but_the_password() {
        let p = profile(Profile::Offboard);
        assert!(p.revoke_sessions() && p.disable_account() && p.tap().is_none());
        assert_eq!(p.sequence(), Sequence::DisableRevokeRemove);
        assert_eq!(p.remove_methods().len(), MethodType::ALL.len() - 1);
        assert!(!p.removes(MethodType::Password));
    }

    #[test]
    fn flags_without_a_profile_disable_then_revoke_then_remove() {
        let p = policy(&["--remove-methods", "phone", "--revoke-sessions"]).unwrap();
        assert_eq!(p.profile(), None);
        assert_eq!(p.remove_methods(), &[MethodType::Phone]);
        assert!(p.revoke_sessions() && !p.disable_account());
        assert_eq!(p.sequence(), Sequence::DisableRevokeRemove);
    }

    #[test]
    fn remove_methods_replaces_the_profile_selection_but_keeps_its_actions() {
        let p = policy(&["--profile", "incident", "--remove-methods", "tap,email"]).unwrap();
        assert_eq!(
            p.remove_methods(),
            &[MethodType::Email, MethodType::TemporaryAccessPass]
        );
        assert!(p.revoke_sessions());
        assert_eq!(p.sequence(), Sequence::RevokeDisableRemove);
    }

    #[test]
    fn flags_add_actions_to_a_profile() {
        let p = policy(&[
            "--profile",
            "device-refresh",
            "--revoke-sessions",
            "--issue-tap",
        ])
        .unwrap();
        assert!(p.revoke_sessions());
        assert_eq!(p.sequence(), Sequence::DisableRemoveRevoke);
        assert_eq!(
            p.tap(),
            Some(TapSettings {
                lifetime_minutes: 60,
                usable_once: false
            })
        );
        let p = policy(&["--profile", "incident", "--disable-account"]).unwrap();
        assert!(p.revoke_sessions() && p.disable_account());
        assert_eq!(p.sequence(), Sequence::RevokeDisableRemove);
    }

    #[test]
    fn keep_narrows_a_profile_and_is_harmless_when_redundant() {
        let p = policy(&[
            "--profile",
            "offboard",
            "--keep",
            "fido2,windowsHelloForBusiness",
        ])
        .unwrap();
        assert!(!p.removes(MethodType::Fido2));
        assert!(!p.removes(MethodType::WindowsHelloForBusiness));
        assert!(p.removes(MethodType::Email));
        let redundant =
            policy(&["--profile", "device-refresh", "--keep", "fido2,password"]).unwrap();
        assert_eq!(redundant.remove_methods(), &DEVICE_REFRESH_REMOVES);
    }

    #[test]
    fn remove_all_minus_keep() {
        let p = policy(&["--remove-methods", "all", "--keep", "fido2"]).unwrap();
        assert!(!p.removes(MethodType::Fido2));
        assert!(!p.removes(MethodType::Password));
        assert_eq!(p.remove_methods().len(), MethodType::ALL.len() - 2);
    }

    #[test]
    fn a_type_both_kept_and_removed_is_a_conflict() {
        let err = policy(&[
            "--keep",
            "fido2,phone",
            "--remove-methods",
            "phone,fido2,email",
        ])
        .unwrap_err();
        assert_eq!(
            err,
            PolicyError::KeepConflict {
                names: "phone, fido2".into()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("both --remove-methods and --keep"), "{msg}");
    }

    #[test]
    fn unknown_type_names_list_the_valid_ones() {
        let err = policy(&["--remove-methods", "phone,sms"]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown method type \"sms\""), "{msg}");
        for t in MethodType::ALL.into_iter().filter(|t| t.deletable()) {
            assert!(msg.contains(t.short_name()), "{msg} lacks {t}");
        }
        assert!(msg.contains(", all"), "{msg}");
        let keep = policy(&["--profile", "incident", "--keep", "yubikey"]).unwrap_err();
        let msg = keep.to_string();
        assert!(
            msg.starts_with("--keep:") && !msg.contains(", all"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_type_names_get_a_guess() {
        let msg = policy(&["--remove-methods", "windowsHello"])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("did you mean windowsHelloForBusiness?"),
            "{msg}"
        );
        let msg = policy(&["--remove-methods", "x"]).unwrap_err().to_string();
        assert!(!msg.contains("did you mean"), "{msg}");
    }

    #[test]
    fn type_names_ignore_case_spaces_and_accept_aliases() {
        let p = policy(&[
            "--remove-methods",
            " PHONE , Authenticator,tap,whfb,FIDO2,microsoftauthenticator",
        ])
        .unwrap();
        assert_eq!(
            p.remove_methods(),
            &[
                MethodType::Phone,
                MethodType::MicrosoftAuthenticator,
                MethodType::Fido2,
                MethodType::WindowsHelloForBusiness,
                MethodType::TemporaryAccessPass,
            ]
        );
        // Repeated flags accumulate.
        let p = policy(&["--remove-methods", "phone", "--remove-methods", "email"]).unwrap();
        assert_eq!(p.remove_methods(), &[MethodType::Phone, MethodType::Email]);
    }

    #[test]
    fn the_password_can_never_be_removed() {
        assert_eq!(
            policy(&["--remove-methods", "phone,password"]).unwrap_err(),
            PolicyError::PasswordNotRemovable
        );
        assert!(
            !policy(&["--remove-methods", "all"])
                .unwrap()
                .removes(MethodType::Password)
        );
        // Keeping it is allowed, and changes nothing.
        assert!(policy(&["--profile", "incident", "--keep", "password"]).is_ok());
    }

    #[test]
    fn keep_all_and_empty_lists_are_refused() {
        assert_eq!(
            policy(&["--profile", "incident", "--keep", "all"]).unwrap_err(),
            PolicyError::KeepAll
        );
        assert!(matches!(
            policy(&["--remove-methods", ",", "--revoke-sessions"]).unwrap_err(),
            PolicyError::EmptyTypeList {
                flag: "--remove-methods",
                ..
            }
        ));
    }

    #[test]
    fn keep_that_empties_remove_methods_is_refused() {
        let err = policy(&[
            "--remove-methods",
            "all",
            "--keep",
            "phone,microsoftAuthenticator,softwareOath,fido2,windowsHelloForBusiness,email,\
             temporaryAccessPass,platformCredential",
            "--revoke-sessions",
        ])
        .unwrap_err();
        assert!(matches!(err, PolicyError::RemovesNothing { .. }), "{err}");
        // Emptying a profile's selection leaves its other actions: allowed.
        let p = policy(&[
            "--profile",
            "incident",
            "--keep",
            "phone,microsoftAuthenticator,softwareOath,fido2,windowsHelloForBusiness,email,\
             temporaryAccessPass,platformCredential",
        ])
        .unwrap();
        assert!(p.remove_methods().is_empty() && p.revoke_sessions());
        // ... unless nothing is left at all.
        assert_eq!(
            policy(&[
                "--profile",
                "device-refresh",
                "--keep",
                "phone,authenticator,softwareOath"
            ])
            .unwrap_err(),
            PolicyError::NothingToDo
        );
    }

    #[test]
    fn nothing_to_do_is_refused() {
        let err = policy(&[]).unwrap_err();
        assert_eq!(err, PolicyError::NothingToDo);
        assert!(err.to_string().contains("--profile"));
        assert_eq!(
            policy(&["--include-admins"]).unwrap_err(),
            PolicyError::NothingToDo
        );
    }

    #[test]
    fn filters_without_a_removal_are_refused() {
        for (args, flag) in [
            (&["--revoke-sessions", "--keep", "fido2"][..], "--keep"),
            (
                &["--revoke-sessions", "--device-name", "iPhone*"][..],
                "--device-name",
            ),
            (
                &["--revoke-sessions", "--registered-after", "2026-01-01"][..],
                "--registered-after",
            ),
            (
                &["--revoke-sessions", "--registered-before", "2026-01-01"][..],
                "--registered-before",
            ),
        ] {
            assert_eq!(
                policy(args).unwrap_err(),
                PolicyError::FilterWithoutRemoval { flag },
                "{args:?}"
            );
        }
    }

    #[test]
    fn tap_lifetime_defaults_to_60_and_must_be_within_60_to_480() {
        let p = policy(&["--issue-tap"]).unwrap();
        assert_eq!(p.tap().unwrap().lifetime_minutes, 60);
        for ok in [60, 61, 240, 480] {
            let p = policy(&[
                "--issue-tap",
                "--tap-lifetime",
                &ok.to_string(),
                "--tap-once",
            ])
            .unwrap();
            assert_eq!(
                p.tap(),
                Some(TapSettings {
                    lifetime_minutes: ok,
                    usable_once: true
                })
            );
        }
        for bad in [0, 10, 59, 481, 43200] {
            let err = policy(&["--issue-tap", "--tap-lifetime", &bad.to_string()]).unwrap_err();
            assert_eq!(
                err,
                PolicyError::TapLifetimeOutOfRange {
                    minutes: bad,
                    min: 60,
                    max: 480
                }
            );
            assert!(err.to_string().contains("60-480"), "{err}");
        }
    }

    #[test]
    fn tap_options_need_issue_tap() {
        assert_eq!(
            policy(&["--profile", "device-refresh", "--tap-lifetime", "120"]).unwrap_err(),
            PolicyError::TapOptionWithoutTap {
                flag: "--tap-lifetime"
            }
        );
        assert_eq!(
            policy(&["--profile", "device-refresh", "--tap-once"]).unwrap_err(),
            PolicyError::TapOptionWithoutTap { flag: "--tap-once" }
        );
    }

    #[test]
    fn a_tap_for_an_account_being_disabled_is_refused() {
        assert_eq!(
            policy(&["--profile", "offboard", "--issue-tap"]).unwrap_err(),
            PolicyError::TapForDisabledAccount {
                source_of_disable: "--profile offboard"
            }
        );
        assert_eq!(
            policy(&["--disable-account", "--issue-tap"]).unwrap_err(),
            PolicyError::TapForDisabledAccount {
                source_of_disable: "--disable-account"
            }
        );
    }

    #[test]
    fn times_are_rfc3339_or_dates_and_normalised_to_utc() {
        assert_eq!(
            parse_time("2026-11-01").unwrap(),
            at("2026-11-01T00:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-01T02:30:00+02:00").unwrap(),
            at("2026-11-01T00:30:00Z")
        );
        assert_eq!(
            parse_time("2026-11-01T02:30:00.25Z").unwrap(),
            at("2026-11-01T02:30:00.25Z")
        );
        assert_eq!(
            parse_time("2026-11-01T02:30:00+02:00").unwrap().offset(),
            UtcOffset::UTC
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-11-01T08:00:00",
            "01/11/2026",
            "",
            "9999-12-31T23:59:59-23:59",
            "0000-01-01T00:00:00+01:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert!(parse_time("9999-12-31T23:59:59Z").is_ok());
        let err = policy(&[
            "--profile",
            "incident",
            "--registered-after",
            "2026-11-01T08:00:00",
        ])
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("--registered-after \"2026-11-01T08:00:00\""),
            "{msg}"
        );
        assert!(msg.contains("offset"), "{msg}");
    }

    #[test]
    fn an_empty_time_window_is_refused() {
        for (after, before) in [
            ("2026-11-01", "2026-11-01"),
            ("2026-11-02", "2026-11-01"),
            ("2026-11-01T02:00:00+02:00", "2026-11-01T00:00:00Z"),
        ] {
            let err = policy(&[
                "--profile",
                "incident",
                "--registered-after",
                after,
                "--registered-before",
                before,
            ])
            .unwrap_err();
            assert!(matches!(err, PolicyError::EmptyWindow { .. }), "{err}");
        }
    }

    #[test]
    fn an_empty_device_glob_is_refused() {
        assert_eq!(
            policy(&["--profile", "device-refresh", "--device-name", "  "]).unwrap_err(),
            PolicyError::EmptyDeviceName
        );
    }

    #[test]
    fn clap_parses_profiles_and_refuses_unknown_ones() {
        assert_eq!(
            parse(&["--profile", "device-refresh"]).profile,
            Some(Profile::DeviceRefresh)
        );
        assert!(Cli::try_parse_from(["mfa-reset", "--profile", "wipe"]).is_err());
        assert!(Cli::try_parse_from(["mfa-reset", "--tap-lifetime", "-5"]).is_err());
        assert_eq!(parse(&[]), PolicyArgs::default());
    }

    // ---- users: profiles and method mixes ----

    #[test]
    fn device_refresh_on_a_user_with_every_method() {
        let u = everything();
        let d = decide(&profile(Profile::DeviceRefresh), &u, false);
        assert_eq!(
            planned(&d),
            &[
                del(&u, "oath-1"),
                del(&u, ALT),
                del(&u, OFFICE),
                del(&u, MOBILE),
                del(&u, "auth-1"),
            ]
        );
        assert!(d.notes().is_empty(), "{:?}", d.notes());
    }

    #[test]
    fn device_refresh_with_a_tap_issues_it_after_the_removals_and_keeps_the_old_one() {
        let u = everything();
        let p = policy(&["--profile", "device-refresh", "--issue-tap", "--tap-once"]).unwrap();
        let d = decide(&p, &u, false);
        let steps = planned(&d);
        assert_eq!(
            steps.last(),
            Some(&Step::IssueTemporaryAccessPass {
                lifetime_minutes: 60,
                usable_once: true
            })
        );
        assert!(!deleted(steps).contains(&"tap-1".to_string()));
        assert!(
            d.notes()
                .iter()
                .any(|n| n.contains("replaced by the new one"))
        );
    }

    #[test]
    fn device_refresh_with_revoke_revokes_after_the_removals_and_before_the_tap() {
        let u = user(vec![
            phone(PhoneType::Mobile),
            authenticator("a", "iPhone 12"),
        ]);
        let p = policy(&[
            "--profile",
            "device-refresh",
            "--revoke-sessions",
            "--issue-tap",
        ])
        .unwrap();
        let d = decide(&p, &u, false);
        assert_eq!(
            planned(&d),
            &[
                del(&u, MOBILE),
                del(&u, "a"),
                Step::RevokeSessions,
                Step::IssueTemporaryAccessPass {
                    lifetime_minutes: 60,
                    usable_once: false
                },
            ]
        );
    }

    #[test]
    fn device_refresh_leaves_a_user_with_only_phishing_resistant_methods_alone() {
        let u = user(vec![
            password(),
            named(MethodType::Fido2, "f", "Key", None),
            named(MethodType::WindowsHelloForBusiness, "w", "PC", None),
            email(),
        ]);
        let p = policy(&["--profile", "device-refresh", "--issue-tap"]).unwrap();
        let d = decide(&p, &u, false);
        assert_eq!(d.status(), "no-change");
        assert!(d.steps().is_empty());
        assert!(
            d.notes()
                .iter()
                .any(|n| n.contains("no Temporary Access Pass"))
        );
    }

    #[test]
    fn issue_tap_alone_goes_to_every_enabled_user() {
        let p = policy(&["--issue-tap", "--tap-lifetime", "120"]).unwrap();
        let d = decide(&p, &user(vec![password()]), false);
        assert_eq!(
            planned(&d),
            &[Step::IssueTemporaryAccessPass {
                lifetime_minutes: 120,
                usable_once: false
            }]
        );
        let disabled = UserSnapshot {
            account_enabled: false,
            ..user(vec![password()])
        };
        let d = decide(&p, &disabled, false);
        assert_eq!(d.status(), "no-change");
        assert!(d.notes()[0].contains("disabled"));
    }

    #[test]
    fn incident_revokes_first_then_removes_everything_non_default_capable_first() {
        let u = everything();
        let p = policy(&["--profile", "incident", "--issue-tap"]).unwrap();
        let d = decide(&p, &u, false);
        let steps = planned(&d);
        assert_eq!(steps[0], Step::RevokeSessions);
        assert_eq!(
            deleted(steps),
            vec![
                "tap-1", "fido-1", "whfb-1", EMAIL_ID, "plat-1", "oath-1", ALT, OFFICE, MOBILE,
                "auth-1"
            ]
        );
        // The new pass comes after every deletion, so the reset never deletes it.
        assert!(matches!(
            steps.last(),
            Some(Step::IssueTemporaryAccessPass { .. })
        ));
        assert_eq!(steps.len(), 12);
        assert!(!d.notes().iter().any(|n| n.contains("replaced")));
    }

    const EMAIL_ID: &str = fixed_ids::EMAIL;

    #[test]
    fn incident_with_disable_revokes_then_disables_then_removes() {
        let u = user(vec![password(), phone(PhoneType::Mobile)]);
        let p = policy(&["--profile", "incident", "--disable-account"]).unwrap();
        assert_eq!(
            planned(&decide(&p, &u, false)),
            &[Step::RevokeSessions, Step::DisableAccount, del(&u, MOBILE)]
        );
    }

    #[test]
    fn offboard_disables_then_revokes_then_removes() {
        let u = everything();
        let d = decide(&profile(Profile::Offboard), &u, false);
        let steps = planned(&d);
        assert_eq!(&steps[..2], &[Step::DisableAccount, Step::RevokeSessions]);
        assert_eq!(deleted(steps).len(), 10);
        assert_eq!(steps.len(), 12);
    }

    #[test]
    fn offboard_of_an_already_disabled_user_skips_disable_but_still_revokes() {
        let u = UserSnapshot {
            account_enabled: false,
            ..user(vec![password(), email()])
        };
        let d = decide(&profile(Profile::Offboard), &u, false);
        assert_eq!(planned(&d), &[Step::RevokeSessions, del(&u, EMAIL_ID)]);
        assert!(d.notes().contains(&"account already disabled".to_string()));
    }

    #[test]
    fn the_password_is_never_deleted_whatever_the_policy() {
        for p in [
            profile(Profile::Incident),
            profile(Profile::Offboard),
            policy(&["--remove-methods", "all"]).unwrap(),
        ] {
            let d = decide(&p, &everything(), false);
            for step in d.steps() {
                assert!(
                    !matches!(
                        step,
                        Step::DeleteMethod {
                            kind: MethodType::Password,
                            ..
                        }
                    ),
                    "{step:?}"
                );
                assert!(
                    !matches!(step, Step::DeleteMethod { id, .. } if id == fixed_ids::PASSWORD)
                );
            }
        }
        // A tampered plan cannot smuggle it in either.
        let mut json: serde_json::Value =
            serde_json::from_str(&profile(Profile::Incident).canonical_json()).unwrap();
        json["removeMethods"]
            .as_array_mut()
            .unwrap()
            .push("password".into());
        let err = serde_json::from_value::<Policy>(json).unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
    }

    #[test]
    fn a_user_with_only_a_password_is_no_change_for_removal_only_policies() {
        let d = decide(
            &profile(Profile::DeviceRefresh),
            &user(vec![password()]),
            false,
        );
        assert_eq!(d, Decision::NoChange { notes: vec![] });
        let d = decide(&profile(Profile::DeviceRefresh), &user(vec![]), false);
        assert_eq!(d.status(), "no-change");
    }

    // ---- ordering ----

    #[test]
    fn a_known_default_goes_last_of_all() {
        let base = everything();
        for (default, last) in [
            (DefaultMethod::Push, "auth-1"),
            (DefaultMethod::Oath, "oath-1"),
            (DefaultMethod::Sms, MOBILE),
            (DefaultMethod::VoiceMobile, MOBILE),
            (DefaultMethod::VoiceOffice, OFFICE),
        ] {
            let u = UserSnapshot {
                default_method: Some(default),
                ..base.clone()
            };
            let d = decide(&profile(Profile::Incident), &u, false);
            let ids = deleted(planned(&d));
            assert_eq!(
                ids.last().map(String::as_str),
                Some(last),
                "{default:?}: {ids:?}"
            );
            assert_eq!(ids.len(), 10, "{default:?}");
            let pos = |id: &str| ids.iter().position(|i| i == id).unwrap();
            assert!(pos(ALT) < pos(MOBILE), "{ids:?}");
            // Office before mobile is a preference; the default going last is Graph's rule.
            if default != DefaultMethod::VoiceOffice {
                assert!(pos(OFFICE) < pos(MOBILE), "{ids:?}");
            }
            // Every method that cannot be the default goes before every one that can.
            for early in ["tap-1", "fido-1", "whfb-1", EMAIL_ID, "plat-1"] {
                for late in ["oath-1", ALT, OFFICE, MOBILE, "auth-1"] {
                    assert!(pos(early) < pos(late), "{early} before {late}: {ids:?}");
                }
            }
        }
    }

    #[test]
    fn an_unknown_default_puts_authenticator_last_and_phones_mobile_last() {
        for default in [None, Some(DefaultMethod::UnknownFutureValue)] {
            let u = UserSnapshot {
                default_method: default,
                ..everything()
            };
            let d = decide(&profile(Profile::DeviceRefresh), &u, false);
            assert_eq!(
                deleted(planned(&d)),
                vec!["oath-1", ALT, OFFICE, MOBILE, "auth-1"]
            );
        }
    }

    #[test]
    fn mobile_goes_after_alternate_and_office_whatever_the_listing_order() {
        let phones = [
            phone(PhoneType::Mobile),
            phone(PhoneType::AlternateMobile),
            phone(PhoneType::Office),
        ];
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let u = user(order.iter().map(|&i| phones[i].clone()).collect());
            let d = decide(&profile(Profile::DeviceRefresh), &u, false);
            assert_eq!(deleted(planned(&d)), vec![ALT, OFFICE, MOBILE], "{order:?}");
        }
    }

    #[test]
    fn phones_without_a_phone_type_are_recognised_by_their_fixed_id() {
        let u = user(vec![
            method(MethodType::Phone, MOBILE),
            method(MethodType::Phone, ALT),
        ]);
        let d = decide(&profile(Profile::DeviceRefresh), &u, false);
        assert_eq!(deleted(planned(&d)), vec![ALT, MOBILE]);
        assert_eq!(u.methods[0].label(), "mobile phone");
    }

    #[test]
    fn several_authenticators_under_a_push_default_all_go_last() {
        let u = UserSnapshot {
            default_method: Some(DefaultMethod::Push),
            ..user(vec![
                authenticator("b", "iPhone 15"),
                phone(PhoneType::Mobile),
                authenticator("a", "iPhone 12"),
                method(MethodType::SoftwareOath, "o"),
            ])
        };
        let d = decide(&profile(Profile::DeviceRefresh), &u, false);
        assert_eq!(deleted(planned(&d)), vec!["o", MOBILE, "a", "b"]);
    }

    #[test]
    fn an_oath_default_with_no_listed_oath_token_does_not_constrain_the_order() {
        // The default is a beta-only hardware token: none of these is the default.
        let u = UserSnapshot {
            default_method: Some(DefaultMethod::Oath),
            ..user(vec![
                authenticator("a", "iPhone 12"),
                phone(PhoneType::Mobile),
            ])
        };
        let d = decide(&profile(Profile::DeviceRefresh), &u, false);
        assert_eq!(deleted(planned(&d)), vec![MOBILE, "a"]);
        assert!(d.notes().is_empty());
    }

    #[test]
    fn a_known_default_that_must_stay_behind_a_kept_method_is_withheld() {
        // device-name selects the default Authenticator; the mobile phone is kept (no name),
        // so Graph would refuse the default forever.
        let u = UserSnapshot {
            default_method: Some(DefaultMethod::Push),
            ..user(vec![
                authenticator("a", "iPhone 12"),
                phone(PhoneType::Mobile),
                method(MethodType::TemporaryAccessPass, "t"),
            ])
        };
        let p = policy(&[
            "--remove-methods",
            "authenticator,tap",
            "--device-name",
            "iPhone*",
        ])
        .unwrap();
        // The TAP has no device name: kept and flagged.
        let d = decide(&p, &u, false);
        let Decision::Blocked {
            reason,
            steps,
            withheld,
            notes,
        } = &d
        else {
            panic!("{d:?}")
        };
        assert!(steps.is_empty(), "{steps:?}");
        assert_eq!(withheld, &[del(&u, "a")]);
        assert!(reason.contains("default MFA method"), "{reason}");
        assert!(reason.contains("mobile phone remains"), "{reason}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("kept Temporary Access Pass"))
        );
    }

    #[test]
    fn an_alternate_mobile_default_with_a_mobile_phone_deadlocks_and_is_withheld() {
        let u = UserSnapshot {
            default_method: Some(DefaultMethod::VoiceAlternateMobile),
            ..user(vec![
                phone(PhoneType::Mobile),
                phone(PhoneType::AlternateMobile),
                phone(PhoneType::Office),
                method(MethodType::SoftwareOath, "o"),
            ])
        };
        let d = decide(&profile(Profile::Incident), &u, false);
        let Decision::Blocked {
            reason,
            steps,
            withheld,
            ..
        } = &d
        else {
            panic!("{d:?}")
        };
        // What can go still goes; the two phones wait for the default to change.
        assert_eq!(
            steps,
            &[Step::RevokeSessions, del(&u, "o"), del(&u, OFFICE)]
        );
        assert_eq!(withheld, &[del(&u, MOBILE), del(&u, ALT)]);
        assert!(
            reason.contains("change the user's default method"),
            "{reason}"
        );
        assert!(
            reason.contains("alternate mobile phone is registered"),
            "{reason}"
        );
    }

    #[test]
    fn a_mobile_phone_cannot_go_while_a_kept_alternate_remains() {
        // Only the mobile phone falls in the window (a crafted snapshot: Graph gives phones
        // no creation time), so the alternate stays and blocks it.
        let mut mobile = phone(PhoneType::Mobile);
        mobile.created = Some("2026-11-02T00:00:00Z".into());
        let u = user(vec![mobile, phone(PhoneType::AlternateMobile)]);
        let p = policy(&[
            "--profile",
            "device-refresh",
            "--registered-after",
            "2026-11-01",
        ])
        .unwrap();
        let d = decide(&p, &u, false);
        let Decision::Blocked {
            withheld, steps, ..
        } = &d
        else {
            panic!("{d:?}")
        };
        assert_eq!(withheld, &[del(&u, MOBILE)]);
        assert!(steps.is_empty());
    }

    #[test]
    fn an_unknown_default_with_a_kept_candidate_is_noted() {
        let u = user(vec![
            authenticator("a", "iPhone 12"),
            authenticator("b", "Pixel 8"),
        ]);
        let p = policy(&["--profile", "device-refresh", "--device-name", "iphone*"]).unwrap();
        let d = decide(&p, &u, false);
        assert_eq!(deleted(planned(&d)), vec!["a"]);
        assert!(
            d.notes()
                .iter()
                .any(|n| n.contains("not known for certain") && n.contains("Pixel 8")),
            "{:?}",
            d.notes()
        );
        // Known and not among the removed: nothing to warn about.
        let known = UserSnapshot {
            default_method: Some(DefaultMethod::Sms),
            ..u
        };
        assert!(decide(&p, &known, false).notes().is_empty());
    }

    // ---- filters ----

    /// Authenticator-like methods created at the given times.
    fn dated(times: &[Option<&str>]) -> UserSnapshot {
        user(
            times
                .iter()
                .enumerate()
                .map(|(i, t)| named(MethodType::Fido2, &format!("k{i}"), "Key", *t))
                .collect(),
        )
    }

    #[test]
    fn registered_after_is_inclusive() {
        let u = dated(&[
            Some("2026-10-31T23:59:59.999Z"),
            Some("2026-11-01T00:00:00Z"),
            Some("2026-11-01T00:00:00.001Z"),
            Some("2027-01-01T00:00:00+01:00"),
        ]);
        let p = policy(&[
            "--remove-methods",
            "fido2",
            "--registered-after",
            "2026-11-01",
        ])
        .unwrap();
        assert_eq!(
            deleted(planned(&decide(&p, &u, false))),
            vec!["k1", "k2", "k3"]
        );
    }

    #[test]
    fn registered_before_is_exclusive() {
        let u = dated(&[
            Some("2026-10-31T23:59:59Z"),
            Some("2026-11-01T00:00:00Z"),
            Some("2026-11-01T01:00:00+02:00"),
        ]);
        let p = policy(&[
            "--remove-methods",
            "fido2",
            "--registered-before",
            "2026-11-01T00:00:00Z",
        ])
        .unwrap();
        // 01:00+02:00 is 23:00Z the day before: inside.
        assert_eq!(deleted(planned(&decide(&p, &u, false))), vec!["k0", "k2"]);
    }

    #[test]
    fn a_window_keeps_methods_outside_it_silently() {
        let u = dated(&[
            Some("2026-10-31T00:00:00Z"),
            Some("2026-11-03T00:00:00Z"),
            Some("2026-11-08T00:00:00Z"),
        ]);
        let p = policy(&[
            "--remove-methods",
            "fido2",
            "--registered-after",
            "2026-11-01",
            "--registered-before",
            "2026-11-08",
        ])
        .unwrap();
        let d = decide(&p, &u, false);
        assert_eq!(deleted(planned(&d)), vec!["k1"]);
        assert!(d.notes().is_empty());
    }

    #[test]
    fn methods_without_a_readable_creation_time_are_kept_and_flagged() {
        let u = dated(&[None, Some("last tuesday"), Some("2026-11-03T00:00:00Z")]);
        let p = policy(&[
            "--remove-methods",
            "fido2",
            "--registered-after",
            "2026-11-01",
        ])
        .unwrap();
        let d = decide(&p, &u, false);
        assert_eq!(deleted(planned(&d)), vec!["k2"]);
        let notes = d.notes();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("no creation time"), "{notes:?}");
        assert!(
            notes[1].contains("\"last tuesday\" is not RFC 3339"),
            "{notes:?}"
        );
        // Only methods the policy would remove are flagged: not the password, not kept types.
        let mixed = user(vec![
            password(),
            email(),
            named(MethodType::Fido2, "f", "K", None),
        ]);
        let d = decide(&p, &mixed, false);
        assert_eq!(d.status(), "no-change");
        assert_eq!(d.notes().len(), 1);
    }

    #[test]
    fn device_name_globs_select_authenticators_of_the_old_model() {
        let u = user(vec![
            authenticator("a", "iPhone 12"),
            authenticator("b", "IPHONE 12 Pro Max"),
            authenticator("c", "iPhone 13"),
            authenticator("d", "Galaxy iPhone 12"),
            method(MethodType::MicrosoftAuthenticator, "e"),
            phone(PhoneType::Mobile),
            method(MethodType::SoftwareOath, "o"),
        ]);
        let p = policy(&["--profile", "device-refresh", "--device-name", "iPhone 12*"]).unwrap();
        let d = decide(&p, &u, false);
        assert_eq!(deleted(planned(&d)), vec!["a", "b"]);
        let notes = d.notes();
        for kept in [
            "Authenticator (unnamed device)",
            "mobile phone",
            "software OATH token",
        ] {
            assert!(
                notes
                    .iter()
                    .any(|n| n.contains(kept) && n.contains("names no device")),
                "{kept}: {notes:?}"
            );
        }
        // Without a wildcard the glob matches the whole name only.
        let exact = policy(&["--profile", "device-refresh", "--device-name", "iphone 12"]).unwrap();
        assert_eq!(deleted(planned(&decide(&exact, &u, false))), vec!["a"]);
    }

    #[test]
    fn filters_combine() {
        let u = user(vec![
            named(
                MethodType::MicrosoftAuthenticator,
                "a",
                "iPhone 12",
                Some("2026-01-01T00:00:00Z"),
            ),
            named(
                MethodType::MicrosoftAuthenticator,
                "b",
                "iPhone 12",
                Some("2024-01-01T00:00:00Z"),
            ),
            named(
                MethodType::MicrosoftAuthenticator,
                "c",
                "Pixel",
                Some("2026-01-01T00:00:00Z"),
            ),
        ]);
        let p = policy(&[
            "--remove-methods",
            "authenticator",
            "--device-name",
            "iPhone*",
            "--registered-after",
            "2025-01-01",
        ])
        .unwrap();
        assert_eq!(deleted(planned(&decide(&p, &u, false))), vec!["a"]);
    }

    #[test]
    fn glob_matching() {
        let cases = [
            ("iPhone 12*", "iPhone 12", true),
            ("iPhone 12*", "iphone 12 mini", true),
            ("iPhone 12*", "iPhone 1", false),
            ("*12*", "iPhone 12 Pro", true),
            ("iPhone ??", "iPhone 12", true),
            ("iPhone ??", "iPhone 123", false),
            ("?", "", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("*a*a*a", "aaaa", true),
            ("**", "anything", true),
            ("ÉCRAN*", "écran de Zoé", true),
            ("iPhone [12]", "iPhone [12]", true),
            ("iPhone [12]", "iPhone 1", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                glob_matches(pattern, text),
                expected,
                "{pattern:?} ~ {text:?}"
            );
        }
    }

    // ---- guardrails ----

    #[test]
    fn admins_are_protected_unless_included() {
        let admin = UserSnapshot {
            admin_roles: vec![
                "Global Administrator".into(),
                "Exchange Administrator".into(),
            ],
            ..everything()
        };
        let d = decide(&profile(Profile::Offboard), &admin, false);
        let Decision::Protected { reason } = &d else {
            panic!("{d:?}")
        };
        assert!(reason.contains("admin roles Global Administrator, Exchange Administrator"));
        assert!(reason.contains("--include-admins"));
        assert!(d.steps().is_empty());

        let p = policy(&["--profile", "offboard", "--include-admins"]).unwrap();
        let d = decide(&p, &admin, false);
        assert_eq!(d.status(), "planned");
        assert!(d.notes()[0].contains("included by --include-admins"));
    }

    #[test]
    fn excluded_users_are_never_touched_even_if_admin_or_synced() {
        let u = UserSnapshot {
            admin_roles: vec!["Global Administrator".into()],
            synced: true,
            ..everything()
        };
        let p = policy(&["--profile", "offboard", "--include-admins"]).unwrap();
        assert_eq!(decide(&p, &u, true), Decision::Excluded);
        assert_eq!(decide(&p, &u, true).status(), "excluded");
    }

    #[test]
    fn synced_users_cannot_be_disabled_so_only_revoke_runs() {
        let u = UserSnapshot {
            synced: true,
            ..user(vec![password(), phone(PhoneType::Mobile), email()])
        };
        let d = decide(&profile(Profile::Offboard), &u, false);
        let Decision::Blocked {
            reason,
            steps,
            withheld,
            ..
        } = &d
        else {
            panic!("{d:?}")
        };
        assert_eq!(steps, &[Step::RevokeSessions]);
        assert_eq!(
            withheld,
            &[Step::DisableAccount, del(&u, EMAIL_ID), del(&u, MOBILE)]
        );
        assert!(reason.contains("on-premises Active Directory"), "{reason}");
        assert!(reason.contains("Sessions are still revoked"), "{reason}");
        assert_eq!(d.steps(), &[Step::RevokeSessions]);
    }

    #[test]
    fn synced_users_without_revoke_get_nothing_done() {
        let u = UserSnapshot {
            synced: true,
            ..user(vec![phone(PhoneType::Mobile)])
        };
        let p = policy(&["--disable-account", "--remove-methods", "phone"]).unwrap();
        let d = decide(&p, &u, false);
        assert_eq!(d.status(), "blocked");
        assert!(d.steps().is_empty());
        let Decision::Blocked {
            reason, withheld, ..
        } = &d
        else {
            unreachable!()
        };
        assert!(reason.contains("Nothing is done"), "{reason}");
        assert_eq!(withheld.len(), 2);
    }

    #[test]
    fn synced_users_are_fine_when_nothing_cloud_only_is_needed() {
        let synced = UserSnapshot {
            synced: true,
            ..user(vec![phone(PhoneType::Mobile)])
        };
        // incident does not disable.
        let d = decide(&profile(Profile::Incident), &synced, false);
        assert_eq!(planned(&d), &[Step::RevokeSessions, del(&synced, MOBILE)]);
        // Already disabled (in AD, synced): offboard needs no disable.
        let disabled = UserSnapshot {
            account_enabled: false,
            ..synced
        };
        let d = decide(&profile(Profile::Offboard), &disabled, false);
        assert_eq!(planned(&d), &[Step::RevokeSessions, del(&disabled, MOBILE)]);
    }

    // ---- labels ----

    #[test]
    fn labels_name_the_method_and_mask_phone_numbers() {
        let mut mobile = phone(PhoneType::Mobile);
        mobile.display_name = Some("+1 4255550113".into());
        assert_eq!(mobile.label(), "mobile phone …13");
        let mut office = phone(PhoneType::Office);
        office.display_name = Some("+44 20 7946 0958x12".into());
        assert_eq!(office.label(), "office phone …12");
        assert_eq!(
            phone(PhoneType::AlternateMobile).label(),
            "alternate mobile phone"
        );
        assert_eq!(mask_phone("5"), Some("…5".into()));
        assert_eq!(mask_phone("+1 5"), Some("…15".into()));
        assert_eq!(mask_phone("none"), None);
        assert_eq!(
            authenticator("a", "iPhone 12").label(),
            "Authenticator on iPhone 12"
        );
        assert_eq!(
            named(MethodType::Fido2, "f", "Red key", None).label(),
            "FIDO2 key \"Red key\""
        );
        assert_eq!(
            named(MethodType::WindowsHelloForBusiness, "w", "PC-1", None).label(),
            "Windows Hello on PC-1"
        );
        assert_eq!(
            named(MethodType::PlatformCredential, "p", "Mac", None).label(),
            "platform credential on Mac"
        );
        assert_eq!(email().label(), "email address");
        assert_eq!(password().label(), "password");
        assert_eq!(
            method(MethodType::TemporaryAccessPass, "t").label(),
            "Temporary Access Pass"
        );
        assert_eq!(
            method(MethodType::SoftwareOath, "o").label(),
            "software OATH token"
        );
    }

    #[test]
    fn labels_strip_control_characters_and_cut_long_names() {
        let a = authenticator("a", "  iPhone\n12\u{1b}[31m  ");
        assert_eq!(a.label(), "Authenticator on iPhone12[31m");
        let long = authenticator("b", &"x".repeat(200));
        let label = long.label();
        assert!(label.ends_with('…'));
        assert_eq!(
            label.chars().count(),
            "Authenticator on ".len() + MAX_NAME_CHARS
        );
        assert_eq!(
            authenticator("c", " \t ").label(),
            "Authenticator (unnamed device)"
        );
    }

    #[test]
    fn step_descriptions() {
        let u = user(vec![authenticator("a", "iPhone 12")]);
        assert_eq!(del(&u, "a").describe(), "remove Authenticator on iPhone 12");
        assert_eq!(Step::RevokeSessions.describe(), "revoke sign-in sessions");
        assert_eq!(Step::DisableAccount.describe(), "disable the account");
        assert_eq!(
            Step::IssueTemporaryAccessPass {
                lifetime_minutes: 60,
                usable_once: true
            }
            .describe(),
            "issue a Temporary Access Pass (60 min, one-time)"
        );
    }

    // ---- default method values ----

    #[test]
    fn default_method_values_round_trip_and_map_to_methods() {
        for d in DefaultMethod::ALL {
            assert_eq!(DefaultMethod::from_graph(d.as_graph()), Some(d));
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.as_graph()));
            assert_eq!(serde_json::from_str::<DefaultMethod>(&json).unwrap(), d);
        }
        assert_eq!(DefaultMethod::from_graph("SMS"), Some(DefaultMethod::Sms));
        assert_eq!(DefaultMethod::from_graph("passkey"), None);
        assert!(DefaultMethod::Sms.names(&phone(PhoneType::Mobile)));
        assert!(DefaultMethod::VoiceMobile.names(&phone(PhoneType::Mobile)));
        assert!(!DefaultMethod::Sms.names(&phone(PhoneType::AlternateMobile)));
        assert!(DefaultMethod::VoiceAlternateMobile.names(&phone(PhoneType::AlternateMobile)));
        assert!(DefaultMethod::VoiceOffice.names(&phone(PhoneType::Office)));
        assert!(DefaultMethod::Push.names(&authenticator("a", "x")));
        assert!(DefaultMethod::Oath.names(&method(MethodType::SoftwareOath, "o")));
        assert!(!DefaultMethod::Push.names(&method(MethodType::SoftwareOath, "o")));
        assert!(!DefaultMethod::UnknownFutureValue.names(&authenticator("a", "x")));
    }

    // ---- serde and fingerprint ----

    /// Policies exercising every field.
    fn sample_policies() -> Vec<Policy> {
        vec![
            profile(Profile::DeviceRefresh),
            profile(Profile::Incident),
            profile(Profile::Offboard),
            policy(&[
                "--profile",
                "device-refresh",
                "--registered-after",
                "2026-11-01T02:00:00+02:00",
                "--registered-before",
                "2026-12-01",
                "--device-name",
                "iPhone 12*",
                "--revoke-sessions",
                "--issue-tap",
                "--tap-lifetime",
                "480",
                "--tap-once",
                "--include-admins",
            ])
            .unwrap(),
            policy(&["--issue-tap"]).unwrap(),
        ]
    }

    #[test]
    fn policies_round_trip_through_json() {
        for p in sample_policies() {
            let json = serde_json::to_string_pretty(&p).unwrap();
            let back: Policy = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p, "{json}");
            assert_eq!(back.fingerprint(), p.fingerprint());
        }
    }

    #[test]
    fn the_canonical_json_is_stable() {
        let p = policy(&[
            "--remove-methods",
            "phone,fido2",
            "--registered-after",
            "2026-11-01T02:00:00+02:00",
            "--device-name",
            " iPhone 12* ",
            "--issue-tap",
        ])
        .unwrap();
        assert_eq!(
            p.canonical_json(),
            r#"{"profile":null,"removeMethods":["phone","fido2"],"registeredAfter":"2026-11-01T00:00:00Z","registeredBefore":null,"deviceName":"iPhone 12*","revokeSessions":false,"disableAccount":false,"sequence":"disable-revoke-remove","temporaryAccessPass":{"lifetimeMinutes":60,"usableOnce":false},"includeAdmins":false}"#
        );
    }

    #[test]
    fn fingerprints_are_deterministic_and_tell_policies_apart() {
        let a = policy(&[
            "--remove-methods",
            "fido2,phone",
            "--registered-after",
            "2026-11-01",
        ])
        .unwrap();
        let b = policy(&[
            "--remove-methods",
            "phone",
            "--remove-methods",
            "FIDO2,phone",
            "--registered-after",
            "2026-11-01T01:00:00+01:00",
        ])
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.fingerprint(), b.fingerprint());
        let f = a.fingerprint();
        assert!(f.starts_with("sha256:"));
        assert_eq!(f.len(), "sha256:".len() + 64);
        assert!(
            f[7..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let all: Vec<String> = sample_policies().iter().map(Policy::fingerprint).collect();
        let distinct: BTreeSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
        // A profile and the same flags spelled out differ: the plan records what was asked.
        let spelled = policy(&["--remove-methods", "all", "--revoke-sessions"]).unwrap();
        assert_ne!(
            spelled.fingerprint(),
            profile(Profile::Incident).fingerprint()
        );
    }

    #[test]
    fn deserialising_checks_the_policy_rules() {
        let good: serde_json::Value =
            serde_json::from_str(&profile(Profile::DeviceRefresh).canonical_json()).unwrap();
        let bad = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            edit(&mut v);
            serde_json::from_value::<Policy>(v).unwrap_err().to_string()
        };
        assert!(
            bad(&|v| v["temporaryAccessPass"] =
                serde_json::json!({"lifetimeMinutes": 5, "usableOnce": false}))
            .contains("--tap-lifetime 5")
        );
        assert!(
            bad(&|v| v["removeMethods"] = serde_json::json!(["phone", "sms"]))
                .contains("unknown method type \"sms\"")
        );
        assert!(bad(&|v| v["removeMethods"] = serde_json::json!([])).contains("nothing to do"));
        assert!(bad(&|v| v["surprise"] = serde_json::json!(1)).contains("unknown field"));
        assert!(
            bad(&|v| {
                v["disableAccount"] = true.into();
                v["temporaryAccessPass"] =
                    serde_json::json!({"lifetimeMinutes": 60, "usableOnce": false});
            })
            .contains("disabled")
        );
        // Unsorted and repeated types are normalised.
        let mut v = good.clone();
        v["removeMethods"] = serde_json::json!(["softwareOath", "phone", "phone"]);
        let p: Policy = serde_json::from_value(v).unwrap();
        assert_eq!(
            p.remove_methods(),
            &[MethodType::Phone, MethodType::SoftwareOath]
        );
    }

    #[test]
    fn steps_serialise_tagged_and_round_trip() {
        let steps = vec![
            Step::RevokeSessions,
            Step::DisableAccount,
            Step::DeleteMethod {
                kind: MethodType::MicrosoftAuthenticator,
                id: "auth-1".into(),
                label: "Authenticator on iPhone 12".into(),
            },
            Step::IssueTemporaryAccessPass {
                lifetime_minutes: 90,
                usable_once: true,
            },
        ];
        let json = serde_json::to_string(&steps).unwrap();
        assert_eq!(
            json,
            r#"[{"action":"revokeSessions"},{"action":"disableAccount"},{"action":"deleteMethod","kind":"microsoftAuthenticator","id":"auth-1","label":"Authenticator on iPhone 12"},{"action":"issueTemporaryAccessPass","lifetimeMinutes":90,"usableOnce":true}]"#
        );
        let back: Vec<Step> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, steps);
    }

    #[test]
    fn decisions_serialise_with_their_status_and_round_trip() {
        let u = UserSnapshot {
            synced: true,
            ..everything()
        };
        let decisions = [
            decide(&profile(Profile::Incident), &everything(), false),
            decide(&profile(Profile::DeviceRefresh), &user(vec![]), false),
            Decision::Excluded,
            Decision::Protected { reason: "r".into() },
            decide(&profile(Profile::Offboard), &u, false),
        ];
        let statuses = ["planned", "no-change", "excluded", "protected", "blocked"];
        for (d, status) in decisions.iter().zip(statuses) {
            assert_eq!(d.status(), status);
            let json = serde_json::to_value(d).unwrap();
            assert_eq!(json["status"], status, "{json}");
            assert_eq!(&serde_json::from_value::<Decision>(json).unwrap(), d);
        }
        assert!(Decision::Excluded.notes().is_empty() && Decision::Excluded.steps().is_empty());
    }

    #[test]
    fn snapshots_round_trip_without_empty_fields() {
        let u = UserSnapshot {
            default_method: Some(DefaultMethod::VoiceOffice),
            admin_roles: vec!["Helpdesk Administrator".into()],
            ..everything()
        };
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json["defaultMethod"], "voiceOffice");
        assert_eq!(json["methods"][1]["phoneType"], "mobile");
        assert_eq!(json["methods"][1]["kind"], "phone");
        assert!(json["methods"][0].get("displayName").is_none());
        assert_eq!(serde_json::from_value::<UserSnapshot>(json).unwrap(), u);
        let minimal: UserSnapshot = serde_json::from_str(
            r#"{"id":"x","userPrincipalName":"a@b.c","accountEnabled":true,"synced":false}"#,
        )
        .unwrap();
        assert!(minimal.methods.is_empty() && minimal.default_method.is_none());
        assert!(serde_json::from_str::<MethodSnapshot>(r#"{"id":"x","kind":"sms"}"#).is_err());
        assert!(
            serde_json::from_str::<MethodSnapshot>(
                r#"{"id":"x","kind":"phone","phoneType":"fax"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn decisions_are_deterministic_whatever_the_listing_order() {
        let u = everything();
        let mut reversed = u.clone();
        reversed.methods.reverse();
        for p in sample_policies() {
            assert_eq!(decide(&p, &u, false), decide(&p, &reversed, false));
        }
    }

    #[test]
    fn the_summary_says_what_the_policy_does() {
        let p = policy(&[
            "--profile",
            "incident",
            "--registered-after",
            "2026-11-01",
            "--issue-tap",
        ])
        .unwrap();
        let text = p.summary().join("\n");
        for part in [
            "Profile: incident.",
            "never the password",
            "at or after 2026-11-01T00:00:00Z",
            "Revoke sign-in sessions.",
            "Order: revoke sessions",
            "Temporary Access Pass valid 60 minutes",
            "protected",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
