//! Deletion order: the order a user's selected method deletions are sent in so that Graph
//! accepts each in turn, and the deletions Graph would never accept.
//!
//! Graph refuses two deletions (`shared/reference/graph-api.md` §1.4): the default MFA
//! method while another method that could be the default remains, and the mobile phone
//! while an alternate mobile phone exists. Deletions therefore go in three groups
//! ([`rank`]):
//!
//! 1. Methods that cannot be the default, which Graph never refuses: an existing TAP first,
//!    as it is a sign-in credential on its own; then FIDO2, Windows Hello, email and
//!    platform credential (in method type order).
//! 2. Methods that can be the default but are not known to be: software OATH, alternate
//!    mobile, office, mobile, Authenticator. The alternate mobile phone goes before the
//!    mobile phone because of Graph's second rule (office before mobile is a preference,
//!    not a rule). Authenticator goes last because push is by far the most common default:
//!    when the default is unknown it is the likeliest one to be refused.
//! 3. The default method, when known, last of all: Graph's first rule.
//!
//! When the default is unknown (Graph v1.0 does not expose it; the beta read may fail) the
//! apply engine defers a deletion Graph refuses because the method is the default and
//! retries it after the others, so an unknown default costs at most one extra request.
//! When the default is known, [`order_deletions`] replays both rules over the snapshot.
//! Where the default is in the way — a method that could be the default stays (a kept OATH
//! token while phones and Authenticator go), or the default is an alternate mobile phone
//! that must go before the mobile — it first re-points the default (beta
//! `signInPreferences`, a [`Repoint`]) at a method that stays, or else at the one removed
//! last. Any deletion that still can never succeed is withheld, which
//! [`decide`](fn@super::decide) reports as [`Decision::Blocked`](super::Decision::Blocked).

use super::snapshot::{DefaultMethod, MethodSnapshot, UserSnapshot};
use crate::wire::{MethodType, PhoneType};

/// What the user's default method is known to be.
enum DefaultKnowledge {
    /// Not known: `default_method` absent or a future value.
    Unknown,
    /// Known, and these of the user's methods are (possibly) it: one for a phone; every
    /// Authenticator for `push`, every OATH token (software or hardware) for `oath`; none
    /// if the default is a method the read did not list.
    Candidates(Vec<usize>),
}

impl DefaultKnowledge {
    /// Reads the default from the snapshot.
    fn of(user: &UserSnapshot) -> DefaultKnowledge {
        match user.default_method {
            None | Some(DefaultMethod::UnknownFutureValue) => DefaultKnowledge::Unknown,
            Some(d) => DefaultKnowledge::at(user, d),
        }
    }

    /// The methods `default` names.
    fn at(user: &UserSnapshot, default: DefaultMethod) -> DefaultKnowledge {
        DefaultKnowledge::Candidates(
            user.methods
                .iter()
                .enumerate()
                .filter(|(_, m)| default.names(m))
                .map(|(i, _)| i)
                .collect(),
        )
    }

    /// Whether method `i` is (possibly) the default.
    fn is_candidate(&self, i: usize) -> bool {
        matches!(self, DefaultKnowledge::Candidates(c) if c.contains(&i))
    }

    /// The methods Graph's default rule certainly holds back: the default when it is one
    /// method, or every method the default may be when all of them are removed (one of them
    /// is the default, and each is refused while a method that could be the default and
    /// is not one of them remains). Empty when the rule cannot be replayed: the default is
    /// not known, or it may be a method that stays.
    fn pinned(&self, selected: &[usize]) -> Vec<usize> {
        match self {
            DefaultKnowledge::Candidates(c)
                if c.len() == 1 || (!c.is_empty() && c.iter().all(|i| selected.contains(i))) =>
            {
                c.clone()
            }
            _ => Vec::new(),
        }
    }
}

/// A change of the user's default method that the deletions need first: Graph refuses to
/// delete the default while another method that could be the default remains.
pub(super) struct Repoint {
    /// Index into the user's methods of the new default.
    pub(super) target: usize,
    /// Graph's value for it.
    pub(super) preferred: DefaultMethod,
    /// Why, as the end of "…, so that {reason}".
    pub(super) reason: String,
}

/// The deletions in the order to send them, and those Graph would never accept, each
/// with why.
pub(super) struct Ordered {
    /// The default method to set before the first deletion, if the order needs it.
    pub(super) repoint: Option<Repoint>,
    /// Indices into the user's methods, in order.
    pub(super) order: Vec<usize>,
    /// Indices and reasons of the deletions withheld.
    pub(super) stuck: Vec<(usize, String)>,
}

/// Where a method goes among the deletions (see the module documentation), lowest first:
/// its group, then its place within the group.
fn rank(m: &MethodSnapshot, is_default: bool) -> (u8, u8) {
    let within = match (m.kind, m.phone()) {
        // Cannot be the default: an existing TAP first, as it signs in on its own.
        (MethodType::TemporaryAccessPass, _) => 0,
        // Can be the default: OATH tokens first of those.
        (MethodType::SoftwareOath | MethodType::HardwareOath, _) => 0,
        // Graph refuses the mobile phone while the alternate mobile exists: alternate first.
        (MethodType::Phone, Some(PhoneType::AlternateMobile)) => 1,
        // Office before mobile is a preference, not a Graph rule.
        (MethodType::Phone, Some(PhoneType::Office)) => 2,
        (MethodType::Phone, _) => 3,
        // Push is by far the most common default: Authenticator last when it is not known.
        (MethodType::MicrosoftAuthenticator, _) => 4,
        // FIDO2, Windows Hello, email, platform credential, external, QR code PIN: after
        // the TAP.
        _ => 1,
    };
    // Graph never refuses a method that cannot be the default, and refuses the known
    // default while another method that could be the default remains.
    let group = if !m.kind.can_be_default() {
        0
    } else if is_default {
        2
    } else {
        1
    };
    (group, within)
}

/// Orders the selected deletions so Graph accepts each in turn, replaying Graph's rules
/// (mobile not while an alternate mobile remains; the known default not while another
/// method that could be the default remains) over the user's methods. When the default is
/// in the way — a method that could be the default stays, or the default is an alternate
/// mobile phone that must go before the mobile — the default is first re-pointed
/// ([`Repoint`]) at a method that stays, or else at the one removed last.
pub(super) fn order_deletions(
    user: &UserSnapshot,
    selected: &[usize],
    notes: &mut Vec<String>,
) -> Ordered {
    let default = DefaultKnowledge::of(user);
    let (order, stuck) = replay(user, selected, &default);
    let held_by_default: Vec<usize> = default
        .pinned(selected)
        .into_iter()
        .filter(|i| stuck.iter().any(|(j, _)| j == i))
        .collect();
    if !held_by_default.is_empty()
        && let Some(repoint) = repoint(user, selected, &held_by_default)
    {
        let moved = DefaultKnowledge::at(user, repoint.preferred);
        let (order, stuck) = replay(user, selected, &moved);
        if stuck.is_empty() {
            // A kept target whose value names methods that go as well (`oath` for a
            // software token kept and a hardware one removed): Graph may take one of those.
            let removed_too: Vec<String> = order
                .iter()
                .filter(|&&i| moved.is_candidate(i))
                .map(|&i| user.methods[i].label())
                .collect();
            if !order.contains(&repoint.target) && !removed_too.is_empty() {
                notes.push(format!(
                    "the new default `{}` names {} too, which is removed: if Graph takes it \
                     as the default, it refuses that removal",
                    repoint.preferred.as_graph(),
                    removed_too.join(" and ")
                ));
            }
            return Ordered {
                repoint: Some(repoint),
                order,
                stuck,
            };
        }
    }
    note_uncertain_default(user, &default, &order, &stuck, notes);
    Ordered {
        repoint: None,
        order,
        stuck,
    }
}

/// The selected deletions in the order Graph accepts them with `default` as the user's
/// default, and those it never would (with why): at each turn, the first deletion in
/// [`rank`] order that Graph would accept.
fn replay(
    user: &UserSnapshot,
    selected: &[usize],
    default: &DefaultKnowledge,
) -> (Vec<usize>, Vec<(usize, String)>) {
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
    let pinned = default.pinned(selected);
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
        if pinned.contains(&i) {
            let others: Vec<String> = present
                .iter()
                .filter(|&&j| !pinned.contains(&j) && user.methods[j].kind.can_be_default())
                .map(|&j| user.methods[j].label())
                .collect();
            if !others.is_empty() {
                return Err(format!(
                    "{} is the user's default MFA method and {} remain{}; Graph refuses to \
                     delete the default method while other MFA methods remain, and none of \
                     them can be made the default instead",
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
    let stuck = pending
        .iter()
        .map(|&i| (i, accepts(i, &present).expect_err("left because refused")))
        .collect();
    (order, stuck)
}

/// The method to make the default so that the `held` default can be deleted: one that
/// stays (Authenticator, then an OATH token, then a phone: mobile, alternate, office; one
/// whose Graph value names no method that goes before one that does, as `oath` names every
/// OATH token and Graph does not say which it picks), or, when every method that could be
/// the default goes, the one the order removes last.
fn repoint(user: &UserSnapshot, selected: &[usize], held: &[usize]) -> Option<Repoint> {
    let capable = |i: &usize| user.methods[*i].kind.can_be_default() && !held.contains(i);
    let names_a_removal = |i: &usize| {
        DefaultMethod::for_method(&user.methods[*i])
            .is_some_and(|d| selected.iter().any(|&s| d.names(&user.methods[s])))
    };
    let preference = |i: &usize| {
        let m = &user.methods[*i];
        let kind = match m.kind {
            MethodType::MicrosoftAuthenticator => 0,
            MethodType::SoftwareOath | MethodType::HardwareOath => 1,
            _ => 2,
        };
        let phone = match m.phone() {
            Some(PhoneType::Mobile) => 0,
            Some(PhoneType::AlternateMobile) => 1,
            _ => 2,
        };
        (names_a_removal(i), kind, phone, m.id.clone())
    };
    let held_labels = held
        .iter()
        .map(|&i| user.methods[i].label())
        .collect::<Vec<_>>()
        .join(" or ");
    let kept = (0..user.methods.len())
        .filter(|i| capable(i) && !selected.contains(i))
        .min_by_key(preference);
    let (target, reason) = match kept {
        Some(target) => (
            target,
            format!(
                "{held_labels} (the default now) can be removed while {} stays: Graph \
                 refuses to remove the default method while another MFA method remains",
                user.methods[target].label()
            ),
        ),
        None => {
            // Everything that could be the default goes: the default becomes the method
            // removed last, which Graph then accepts as the last one.
            let (order, _) = replay(user, selected, &DefaultKnowledge::Candidates(Vec::new()));
            let target = order.iter().rev().copied().find(|i| capable(i))?;
            (
                target,
                format!(
                    "{held_labels} (the default now) can be removed before it: Graph refuses \
                     to remove the default method while another MFA method remains, and \
                     {} is removed last",
                    user.methods[target].label()
                ),
            )
        }
    };
    Some(Repoint {
        target,
        preferred: DefaultMethod::for_method(&user.methods[target])?,
        reason,
    })
}

/// Notes where the default is not known for certain and a method that could be it stays
/// behind: Graph may refuse one deletion, which the engine then retries last.
fn note_uncertain_default(
    user: &UserSnapshot,
    default: &DefaultKnowledge,
    order: &[usize],
    stuck: &[(usize, String)],
    notes: &mut Vec<String>,
) {
    let kept_capable: Vec<String> = (0..user.methods.len())
        .filter(|j| !order.contains(j) && !stuck.iter().any(|(s, _)| s == j))
        .filter(|&j| user.methods[j].kind.can_be_default())
        .map(|j| user.methods[j].label())
        .collect();
    let uncertain: Vec<String> = order
        .iter()
        .filter(|&&i| user.methods[i].kind.can_be_default())
        .filter(|&&i| match default {
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
}

#[cfg(test)]
mod tests;
