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
//! When the default is known, [`order_deletions`] replays both rules over the snapshot and
//! withholds any deletion that can never succeed, which
//! [`decide`](fn@super::decide) reports as [`Decision::Blocked`](super::Decision::Blocked).

use super::snapshot::{DefaultMethod, MethodSnapshot, UserSnapshot};
use crate::wire::{MethodType, PhoneType};

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
pub(super) struct Ordered {
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
        // Can be the default: software OATH first of those.
        (MethodType::SoftwareOath, _) => 0,
        // Graph refuses the mobile phone while the alternate mobile exists: alternate first.
        (MethodType::Phone, Some(PhoneType::AlternateMobile)) => 1,
        // Office before mobile is a preference, not a Graph rule.
        (MethodType::Phone, Some(PhoneType::Office)) => 2,
        (MethodType::Phone, _) => 3,
        // Push is by far the most common default: Authenticator last when it is not known.
        (MethodType::MicrosoftAuthenticator, _) => 4,
        // FIDO2, Windows Hello, email, platform credential: after the TAP.
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

/// Orders the selected deletions so Graph accepts each in turn: replays Graph's rules
/// (mobile not while an alternate mobile remains; the known default not while another
/// method that could be the default remains) over the user's methods, taking at each turn
/// the first deletion in [`rank`] order that Graph would accept.
pub(super) fn order_deletions(
    user: &UserSnapshot,
    selected: &[usize],
    notes: &mut Vec<String>,
) -> Ordered {
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

#[cfg(test)]
mod tests;
