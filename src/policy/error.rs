//! [`PolicyError`]: why the policy flags (or a plan's policy) do not make a valid
//! [`Policy`](super::Policy). Each message names the flag and says what to change.

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
    /// `--tap-lifetime` outside what any tenant's policy can allow.
    #[error(
        "--tap-lifetime {minutes} is outside {min}-{max} minutes, the lifetimes Entra allows \
         a Temporary Access Pass policy at all (the tenant's own policy, 60-480 by default, \
         is checked when the tenant is read)"
    )]
    TapLifetimeOutOfRange {
        /// The lifetime given.
        minutes: u32,
        /// The shortest allowed.
        min: u32,
        /// The longest allowed.
        max: u32,
    },
    /// `--tap-start` at or before the time of planning: Graph refuses a start in the past.
    #[error(
        "--tap-start {start} is not in the future (it is {now} now): give a time to come, \
         such as {example}, or leave out --tap-start for passes usable as soon as they are \
         issued"
    )]
    TapStartPassed {
        /// The start, RFC 3339 UTC.
        start: String,
        /// The time of planning, RFC 3339 UTC.
        now: String,
        /// A start an hour from now, RFC 3339 UTC.
        example: String,
    },
    /// `--tap-lifetime`, `--tap-once` or `--tap-start` without `--issue-tap`.
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
