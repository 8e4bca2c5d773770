//! The policy as asked for: [`PolicyArgs`], the policy flags as plain values, and their
//! validation into a [`Policy`] ([`PolicyArgs::into_policy`]), which combines the flags
//! with a profile as the [module documentation](super) describes and parses the method
//! type names and times they hold.
//!
//! Nothing here knows about the command-line parser: the command line fills a
//! [`PolicyArgs`] from its flags (`PolicyFlags`, among the command line's argument
//! groups), and tests write one out directly.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::error::PolicyError;
use super::filters::{parse_time, rfc3339};
use super::model::{
    Policy, PolicyRepr, Profile, Sequence, TAP_DEFAULT_LIFETIME_MINUTES, TapSettings,
    all_removable, check_tap_lifetime, join_names,
};
use crate::wire::MethodType;

/// The policy flags of `plan` (and of `apply` without a plan) as plain values, before any
/// checking: each field is one flag, as given. [`PolicyArgs::into_policy`] validates them
/// into a [`Policy`]; the default is "no policy flag given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyArgs {
    /// `--profile`: the preset the other flags add to.
    pub profile: Option<Profile>,
    /// `--remove-methods`: method type names or `all`, as given; replaces the profile's
    /// selection.
    pub remove_methods: Vec<String>,
    /// `--keep`: method type names never to remove, as given; subtracted from the selection.
    pub keep: Vec<String>,
    /// `--registered-after`: a `TIME`; only methods created at or after it are removed.
    pub registered_after: Option<String>,
    /// `--registered-before`: a `TIME`; only methods created before it are removed.
    pub registered_before: Option<String>,
    /// `--device-name`: a glob; only methods whose device name matches it are removed.
    pub device_name: Option<String>,
    /// `--revoke-sessions`: revoke the user's sign-in sessions.
    pub revoke_sessions: bool,
    /// `--disable-account`: disable the account.
    pub disable_account: bool,
    /// `--issue-tap`: issue a Temporary Access Pass before the removals.
    pub issue_tap: bool,
    /// `--tap-lifetime`: the pass's lifetime in minutes, [`TAP_DEFAULT_LIFETIME_MINUTES`]
    /// when not given.
    pub tap_lifetime: Option<u32>,
    /// `--tap-once`: the pass works for one sign-in only.
    pub tap_once: bool,
    /// `--tap-start`: a `TIME` from which the pass is usable; it must be in the future.
    pub tap_start: Option<String>,
    /// `--include-admins`: act on holders of admin roles too.
    pub include_admins: bool,
}

impl PolicyArgs {
    /// Validates the flags into a [`Policy`], combining them with the profile as the
    /// [`policy`](super) module documentation describes. A `--tap-start` must be later
    /// than now.
    pub fn into_policy(self) -> Result<Policy, PolicyError> {
        self.into_policy_at(OffsetDateTime::now_utc())
    }

    /// [`PolicyArgs::into_policy`], with `now` the time a `--tap-start` must be later than.
    pub fn into_policy_at(self, now: OffsetDateTime) -> Result<Policy, PolicyError> {
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
            let start = self
                .tap_start
                .as_deref()
                .map(|v| parse_time_flag("--tap-start", v))
                .transpose()?;
            if let Some(start) = start
                && start <= now
            {
                let now = now.replace_nanosecond(0).unwrap_or(now);
                return Err(PolicyError::TapStartPassed {
                    start: rfc3339(start),
                    now: rfc3339(now),
                    example: rfc3339(now + time::Duration::hours(1)),
                });
            }
            Some(TapSettings {
                lifetime_minutes,
                usable_once: self.tap_once,
                start,
            })
        } else if self.tap_lifetime.is_some() {
            return Err(PolicyError::TapOptionWithoutTap {
                flag: "--tap-lifetime",
            });
        } else if self.tap_once {
            return Err(PolicyError::TapOptionWithoutTap { flag: "--tap-once" });
        } else if self.tap_start.is_some() {
            return Err(PolicyError::TapOptionWithoutTap {
                flag: "--tap-start",
            });
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

/// The result of parsing a comma list of method type names.
struct TypeSelection {
    /// `all` was named.
    all: bool,
    /// The types named.
    named: BTreeSet<MethodType>,
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

#[cfg(test)]
mod tests;
