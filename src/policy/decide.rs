//! What to do to one user: [`decide`] turns a [`Policy`] and a [`UserSnapshot`] into a
//! [`Decision`], an ordered list of [`Step`]s (each one Graph write) or the reason nothing
//! (or only part) is done.
//!
//! In order: the guardrails (excluded users, protected admins); which methods the policy
//! and its filters select ([`select_methods`]); the order Graph accepts their deletions in
//! ([`order_deletions`]); then the account, session and Temporary Access Pass
//! steps, put in the policy's [`Sequence`] ([`assemble`]). Synced users the policy would
//! disable, and deletions Graph would never accept, make the decision
//! [`Decision::Blocked`].

use serde::{Deserialize, Serialize};

use super::filters::glob_matches;
use super::model::{Policy, Sequence};
use super::order::{Ordered, order_deletions};
use super::serde_with::method_type_name;
use super::snapshot::{DefaultMethod, MethodSnapshot, UserSnapshot};
use crate::wire::MethodType;

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
        /// When the pass becomes usable (`--tap-start`); `None`: once issued. Absent from
        /// the JSON when `None`, as in plans made before it existed.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "time::serde::rfc3339::option"
        )]
        start: Option<time::OffsetDateTime>,
    },
    /// Beta `PATCH /users/{id}/authentication/signInPreferences` with
    /// `userPreferredMethodForSecondaryAuthentication`: makes another method the default,
    /// so that Graph accepts the deletions after it.
    SetDefaultMethod {
        /// Graph's value for the new default (`push`, `oath`, `sms`, ...).
        preferred: DefaultMethod,
        /// The method it points at, for people ([`MethodSnapshot::label`]).
        label: String,
        /// Why, as the end of "…, so that {reason}".
        reason: String,
    },
}

impl Step {
    /// Whether this step must wait for `earlier` (a step before it in the user's list) to
    /// succeed: a deletion waits for the disable, for the new Temporary Access Pass and for
    /// the re-pointed default, and the re-point for the first two (see the ordering rules
    /// of [`assemble`]); when one failed, the steps that wait for it are withheld.
    pub fn needs_before(&self, earlier: &Step) -> bool {
        match self {
            Step::DeleteMethod { .. } => matches!(
                earlier,
                Step::DisableAccount
                    | Step::IssueTemporaryAccessPass { .. }
                    | Step::SetDefaultMethod { .. }
            ),
            Step::SetDefaultMethod { .. } => matches!(
                earlier,
                Step::DisableAccount | Step::IssueTemporaryAccessPass { .. }
            ),
            _ => false,
        }
    }

    /// The step in a few words, for reports.
    pub fn describe(&self) -> String {
        match self {
            Step::RevokeSessions => "revoke sign-in sessions".into(),
            Step::DisableAccount => "disable the account".into(),
            Step::DeleteMethod { label, .. } => format!("remove {label}"),
            Step::IssueTemporaryAccessPass {
                lifetime_minutes,
                usable_once,
                start,
            } => format!(
                "issue a Temporary Access Pass ({lifetime_minutes} min{}, {})",
                start
                    .and_then(|t| t
                        .format(&time::format_description::well_known::Rfc3339)
                        .ok())
                    .map(|t| format!(" from {t}"))
                    .unwrap_or_default(),
                if *usable_once {
                    "one-time"
                } else {
                    "multi-use"
                }
            ),
            Step::SetDefaultMethod {
                preferred,
                label,
                reason,
            } => format!(
                "make {label} the default MFA method ({}), so that {reason}",
                preferred.as_graph()
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
        /// Why, in words: `nothing to change`, and why no Temporary Access Pass is issued
        /// when the policy asks for one (so a reviewer is not left to guess).
        reason: String,
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
            | Decision::NoChange { notes, .. }
            | Decision::Blocked { notes, .. } => notes,
            _ => &[],
        }
    }
}

/// Decides what to do to `user` under `policy`. `excluded` says the user is on the
/// `--exclude` list. See the [`policy`](super) module documentation for the rules.
pub fn decide(policy: &Policy, user: &UserSnapshot, excluded: bool) -> Decision {
    if excluded {
        return Decision::Excluded;
    }
    if let Some(protected) = protect_admin(policy, user) {
        return protected;
    }
    let mut notes = Vec::new();
    if !user.admin_roles.is_empty() {
        notes.push(format!(
            "is included by --include-admins and holds {}; changing a privileged admin \
             needs a caller with an equal or higher role",
            admin_roles_words(&user.admin_roles)
        ));
    }
    if let Some(unit) = restricted(user) {
        notes.push(format!(
            "is in {unit} and is included by --include-admins; Graph refuses every change \
             unless the app holds a role at the unit's scope"
        ));
    }

    let (selected, unknown) = select_methods(policy, user, &mut notes);
    if user.hardware_oath_unread && policy.removes(MethodType::HardwareOath) {
        notes.push(
            "hardware OATH tokens could not be listed (Graph offers their beta route only in \
             its global cloud): any the user holds are kept"
                .into(),
        );
    }
    let Ordered {
        repoint,
        order,
        stuck,
    } = order_deletions(user, &selected, &mut notes);
    let repoint = repoint.map(|r| Step::SetDefaultMethod {
        preferred: r.preferred,
        label: user.methods[r.target].label(),
        reason: r.reason,
    });
    let deletions: Vec<Step> = order
        .iter()
        .map(|&i| delete_step(&user.methods[i]))
        .collect();

    let disable = policy.disable_account() && user.account_enabled;
    if policy.disable_account() && !user.account_enabled {
        notes.push("account already disabled".into());
    }

    let (tap, no_pass) = match tap_step(policy, user, &order, &mut notes) {
        Tap::Issue(step) => (Some(step), None),
        Tap::Withheld(why) => {
            notes.push(why.clone());
            (None, Some(why))
        }
        Tap::NotAsked => (None, None),
    };
    // Creating the new pass replaces the user's existing one (Graph keeps one usable pass
    // a user): deleting the old pass as well would only be refused with 404.
    let deletions: Vec<Step> = if tap.is_some() {
        deletions
            .into_iter()
            .filter(|s| {
                !matches!(s, Step::DeleteMethod { kind, .. } if *kind == MethodType::TemporaryAccessPass)
            })
            .collect()
    } else {
        deletions
    };
    // The re-point goes just before the deletions that need it.
    let deletions: Vec<Step> = repoint.into_iter().chain(deletions).collect();

    if disable && user.synced {
        let refused_by_graph = stuck.iter().map(|(i, _)| delete_step(&user.methods[*i]));
        return blocked_as_synced(
            policy,
            deletions.into_iter().chain(refused_by_graph),
            tap,
            notes,
        );
    }

    let steps = assemble(
        policy.sequence(),
        disable,
        policy.revoke_sessions(),
        deletions,
        tap,
    );
    if !stuck.is_empty() || !unknown.is_empty() {
        return blocked_by_graph(user, &stuck, &unknown, steps, notes);
    }
    if steps.is_empty() {
        // Why no pass is issued is the row's reason, not also a note.
        let reason = match no_pass {
            Some(why) => {
                notes.retain(|n| *n != why);
                format!("{NOTHING_TO_CHANGE}: {why}")
            }
            None => NOTHING_TO_CHANGE.to_string(),
        };
        Decision::NoChange { reason, notes }
    } else {
        Decision::Planned { steps, notes }
    }
}

/// [`Decision::Protected`] if the user holds an admin role and the policy leaves admins
/// alone.
fn protect_admin(policy: &Policy, user: &UserSnapshot) -> Option<Decision> {
    if policy.include_admins() {
        return None;
    }
    if user.admin_roles.is_empty() {
        return restricted(user).map(|unit| Decision::Protected {
            reason: format!(
                "is in {unit}, whose members only administrators assigned at its scope may \
                 change; such users are left alone unless --include-admins is given (and the \
                 app holds a role at that scope)"
            ),
        });
    }
    Some(Decision::Protected {
        reason: format!(
            "holds {}; admin accounts are left alone unless --include-admins is given",
            admin_roles_words(&user.admin_roles)
        ),
    })
}

/// Admin roles in words, for a sentence that says who holds them: `an admin role: Global
/// Administrator`, `2 admin roles: Global Administrator, Exchange Administrator`. It reads
/// well whatever the names are — a role Graph gave no name for is a phrase of its own
/// (`a directory role whose name is not readable (…)`), which `the admin role …` before
/// it would not.
pub fn admin_roles_words(roles: &[String]) -> String {
    match roles {
        [one] => format!("an admin role: {one}"),
        many => format!("{} admin roles: {}", many.len(), many.join(", ")),
    }
}

/// The restricted management administrative unit(s) the user is in, in words, if any.
fn restricted(user: &UserSnapshot) -> Option<String> {
    match user.restricted_units.as_slice() {
        [] if user.management_restricted => {
            Some("a restricted management administrative unit".into())
        }
        [] => None,
        [one] => Some(format!(
            "the restricted management administrative unit {one}"
        )),
        many => Some(format!(
            "the restricted management administrative units {}",
            many.join(", ")
        )),
    }
}

/// The reason of a user the policy leaves as they are.
pub const NOTHING_TO_CHANGE: &str = "nothing to change";

/// Whether a user gets a Temporary Access Pass.
enum Tap {
    /// The policy asks for none.
    NotAsked,
    /// This pass is issued.
    Issue(Step),
    /// The policy asks for one, and this user gets none, for this reason.
    Withheld(String),
}

/// The Temporary Access Pass to issue, if the policy asks for one and it is of use: not to
/// a disabled account, nor to a user the policy removes methods from but none of whose
/// methods are removed (`removed`, indices into the user's methods) — a pass replaces the
/// methods removed, and a user who loses none still signs in as before. Says why not, or
/// notes that the user's existing pass is replaced.
fn tap_step(
    policy: &Policy,
    user: &UserSnapshot,
    removed: &[usize],
    notes: &mut Vec<String>,
) -> Tap {
    let Some(tap) = policy.tap() else {
        return Tap::NotAsked;
    };
    if !user.account_enabled {
        return Tap::Withheld(
            "the account is disabled, and no Temporary Access Pass is issued to a disabled \
             account"
                .into(),
        );
    }
    if !policy.remove_methods().is_empty() && removed.is_empty() {
        let only_password = user.methods.iter().all(|m| m.kind == MethodType::Password);
        let why = if user.methods_unread {
            "no method is removed from this user"
        } else if only_password {
            "the user has no method but the password, which is never removed"
        } else {
            "none of the user's methods is one the policy removes"
        };
        return Tap::Withheld(format!(
            "{why}; no Temporary Access Pass is issued, as under a policy that removes \
             methods a pass goes only to a user who loses one"
        ));
    }
    let existing = user
        .methods
        .iter()
        .any(|m| m.kind == MethodType::TemporaryAccessPass);
    if existing {
        notes.push("the user's existing Temporary Access Pass is replaced by the new one".into());
    }
    Tap::Issue(Step::IssueTemporaryAccessPass {
        lifetime_minutes: tap.lifetime_minutes,
        usable_once: tap.usable_once,
        start: tap.start,
    })
}

/// The decision for an on-premises synced user the policy would disable: Graph cannot
/// disable them, so only the session revocation runs and every other step (`deletions`,
/// those Graph would refuse included, and the `tap`) is withheld.
fn blocked_as_synced(
    policy: &Policy,
    deletions: impl IntoIterator<Item = Step>,
    tap: Option<Step>,
    notes: Vec<String>,
) -> Decision {
    let all = assemble(
        policy.sequence(),
        true,
        policy.revoke_sessions(),
        deletions,
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
    Decision::Blocked {
        reason: format!(
            "synced from on-premises Active Directory: accountEnabled is mastered there \
             and Graph cannot disable the account. {revoked}. Disable the account in \
             Active Directory, let it sync, and run again."
        ),
        steps,
        withheld,
        notes,
    }
}

/// The decision for a user some of whose deletions Graph would never accept (`stuck`, with
/// why), or who holds methods of a type this tool cannot remove (`unknown`, their labels,
/// under a policy that removes every method): the other `steps` run, those deletions are
/// withheld. Each reason is said once.
fn blocked_by_graph(
    user: &UserSnapshot,
    stuck: &[(usize, String)],
    unknown: &[String],
    steps: Vec<Step>,
    notes: Vec<String>,
) -> Decision {
    let mut reasons: Vec<String> = Vec::new();
    for (_, why) in stuck {
        if !reasons.contains(why) {
            reasons.push(why.clone());
        }
    }
    if !unknown.is_empty() {
        reasons.push(format!(
            "{} {} of a type mfa-reset does not know, so it is kept: remove it in the Entra \
             admin center, or with a newer mfa-reset",
            unknown.join(", "),
            if unknown.len() == 1 { "is" } else { "are" }
        ));
    }
    let reason = reasons.join("; ");
    Decision::Blocked {
        reason,
        steps,
        withheld: stuck
            .iter()
            .map(|(i, _)| delete_step(&user.methods[*i]))
            .collect(),
        notes,
    }
}

/// The delete step for a method.
pub(super) fn delete_step(m: &MethodSnapshot) -> Step {
    Step::DeleteMethod {
        kind: m.kind,
        id: m.id.clone(),
        label: m.label(),
    }
}

/// The indices of the user's methods the policy removes (in snapshot order), noting the
/// ones kept because a filter could not judge them; and the labels of the methods of a
/// type this tool does not know that a policy removing every type would remove (they
/// are kept, and keep the user from being clean).
fn select_methods(
    policy: &Policy,
    user: &UserSnapshot,
    notes: &mut Vec<String>,
) -> (Vec<usize>, Vec<String>) {
    let window = policy.registered_after().is_some() || policy.registered_before().is_some();
    // Visit the methods in a fixed order, so notes do not depend on Graph's listing order.
    let mut visit: Vec<usize> = (0..user.methods.len()).collect();
    visit.sort_by(|&a, &b| {
        let (ma, mb) = (&user.methods[a], &user.methods[b]);
        (ma.kind, &ma.id, a).cmp(&(mb.kind, &mb.id, b))
    });
    let mut selected = Vec::new();
    let mut unknown = Vec::new();
    for i in visit {
        let m = &user.methods[i];
        let wanted_unknown = m.kind == MethodType::Unknown && policy.removes_every_type();
        // The password is never removed, whatever a policy says.
        if !wanted_unknown && (!m.kind.deletable() || !policy.removes(m.kind)) {
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
            if policy.registered_after().is_some_and(|a| created < a)
                || policy.registered_before().is_some_and(|b| created >= b)
            {
                continue;
            }
        }
        if let Some(glob) = policy.device_name() {
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
        if wanted_unknown {
            unknown.push(m.label());
        } else {
            selected.push(i);
        }
    }
    (selected, unknown)
}

/// Puts a user's actions in the policy's order. The rules, each with its reason (a failure
/// half-way must never leave the user with fewer ways to sign in than the policy intends):
///
/// 1. The account is disabled before any method is removed: an account that stays enabled
///    without its MFA methods is open to whoever holds its password, who could register
///    their own. If the disable fails, the removals are withheld (the engine's rule, as for
///    a synced user whose account Graph cannot disable).
/// 2. A Temporary Access Pass is issued before the methods it replaces are removed: if it
///    cannot be issued, the removals are withheld, so the user keeps the methods they sign
///    in with instead of being left with neither. Creating it also replaces the user's
///    existing pass, which is therefore never deleted separately.
/// 3. Deletions go in the order Graph accepts ([`order_deletions`]): the default last,
///    after a re-pointed default ([`Step::SetDefaultMethod`]) where the order needs one.
///    The deletions wait for the re-point: without it Graph would refuse them, and a
///    user half-cleaned by the deletions it would take is no better off.
/// 4. Sessions are revoked where the profile's [`Sequence`] puts them: first in an
///    incident (cut live sessions before anything else), after disabling for `offboard`,
///    after the removals for `device-refresh` (ending every session signed in with an old
///    method). Revoking never lowers anyone's ways to sign in, so nothing waits on it.
///
/// The engine carries out the steps in this order and withholds the deletions when the
/// disable or the pass before them failed ([`Step::needs_before`]).
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
    let removals = tap.into_iter().chain(deletions);
    match sequence {
        Sequence::RevokeDisableRemove => {
            out.extend(revoke);
            out.extend(disable);
            out.extend(removals);
        }
        Sequence::DisableRevokeRemove => {
            out.extend(disable);
            out.extend(revoke);
            out.extend(removals);
        }
        Sequence::DisableRemoveRevoke => {
            out.extend(disable);
            out.extend(removals);
            out.extend(revoke);
        }
    }
    out
}

#[cfg(test)]
mod tests;
