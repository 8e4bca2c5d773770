//! From input rows and what the tenant said about them to one [`PlanEntry`] per row:
//! invalid and duplicate rows keep their own status, users read from Graph get the
//! policy's decision, and two rows that turn out to name the same user (one by UPN, one by
//! id) are acted on once.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{PlanEntry, Status};
use crate::graph::key::UserKey;
use crate::policy::{Decision, Policy, UserSnapshot, decide};

/// What reading one user from the tenant found (the engine reads; the plan decides).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadOutcome {
    Found(UserSnapshot),
    /// Graph has no such user.
    NotFound,
    /// The key does not name exactly one user (a mail shared by several).
    Ambiguous(String),
    /// Graph refused or kept failing; the message says why.
    Error(String),
}

/// One input row, as the plan needs it.
#[derive(Debug, Clone)]
pub struct Row {
    pub row: usize,
    pub line: usize,
    pub input: String,
    /// The validated key, or why the row is invalid.
    pub key: Result<UserKey, String>,
    /// The line of the earlier row naming the same user, if any.
    pub duplicate_of: Option<usize>,
    pub columns: BTreeMap<String, String>,
    /// The UPN the row gives besides its key (its UPN column, for a row addressed by id
    /// or mail), if any: the user the key finds must have it.
    pub upn: Option<String>,
}

/// Users never to touch, by id, UPN or mail (compared without regard to case).
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    keys: HashSet<String>,
    /// Keys (lower-cased ids and UPNs) of the members of `--exclude-group` groups, with
    /// the group's name.
    group_members: HashMap<String, String>,
}

impl Exclusions {
    pub fn new(keys: impl IntoIterator<Item = String>) -> Exclusions {
        Exclusions {
            keys: keys.into_iter().map(|k| k.to_lowercase()).collect(),
            group_members: HashMap::new(),
        }
    }

    /// Excludes every user of `group` (named `name`): their ids and UPNs.
    pub fn add_group(&mut self, name: &str, users: &[(String, Option<String>)]) {
        for (id, upn) in users {
            for key in std::iter::once(id).chain(upn) {
                self.group_members
                    .entry(key.to_lowercase())
                    .or_insert_with(|| name.to_string());
            }
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len() + self.group_members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.group_members.is_empty()
    }

    /// The exclude list's keys, lower-cased (not the groups' members, known by id and UPN
    /// already).
    pub fn listed_keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }

    /// The excluded keys, lower-cased: the exclude list's and the groups' members'.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys
            .iter()
            .chain(self.group_members.keys())
            .map(String::as_str)
    }

    pub fn covers(&self, user: &UserSnapshot, row: &Row) -> bool {
        !self.is_empty() && self.why(user, row).is_some()
    }

    /// Why `user` (listed as `row`) is excluded, in words; `None` when they are not.
    pub fn why(&self, user: &UserSnapshot, row: &Row) -> Option<String> {
        let keys = [
            user.id.to_lowercase(),
            user.user_principal_name.to_lowercase(),
            row.input.trim().to_lowercase(),
        ];
        if keys.iter().any(|k| self.keys.contains(k)) {
            return Some("on the exclude list".to_string());
        }
        keys.iter()
            .find_map(|k| self.group_members.get(k))
            .map(|group| format!("a member of the group {group:?} (--exclude-group)"))
    }
}

fn bare_entry(row: &Row) -> PlanEntry {
    PlanEntry {
        row: row.row,
        line: row.line,
        input: row.input.clone(),
        status: Status::Invalid,
        reason: None,
        before: None,
        steps: Vec::new(),
        notes: Vec::new(),
        columns: row.columns.clone(),
    }
}

/// The entry of a row that is not read from the tenant (invalid, or a duplicate of an
/// earlier row); `None` for a row to read.
pub fn settled_entry(row: &Row) -> Option<PlanEntry> {
    let mut entry = bare_entry(row);
    if let Err(problem) = &row.key {
        entry.reason = Some(problem.clone());
        return Some(entry);
    }
    let first_line = row.duplicate_of?;
    entry.status = Status::Duplicate;
    entry.reason = Some(format!("same user as line {first_line}"));
    Some(entry)
}

/// The entry of a row that was read: what reading found, and the policy's decision for
/// a user found. Two rows that name one user by different keys are told apart later, in
/// row order, by [`UsersSeen`].
pub fn read_entry(
    row: Row,
    outcome: Option<ReadOutcome>,
    policy: &Policy,
    exclusions: &Exclusions,
) -> PlanEntry {
    let mut entry = bare_entry(&row);
    match outcome {
        None => {
            entry.status = Status::Error;
            entry.reason = Some("the user was not read".into());
        }
        Some(ReadOutcome::NotFound) => {
            entry.status = Status::NotFound;
            entry.reason = Some("no such user in the tenant".into());
        }
        Some(ReadOutcome::Ambiguous(why)) => {
            entry.status = Status::Blocked;
            entry.reason = Some(why);
        }
        Some(ReadOutcome::Error(why)) => {
            entry.status = Status::Error;
            entry.reason = Some(why);
        }
        Some(ReadOutcome::Found(user))
            if row
                .upn
                .as_deref()
                .is_some_and(|upn| !upn.eq_ignore_ascii_case(&user.user_principal_name)) =>
        {
            entry.status = Status::Invalid;
            entry.reason = Some(format!(
                "the row names two users: its {} finds {}, but its UPN column says {}; nothing is done to either until the row is fixed",
                row.key.as_ref().map_or("key", |k| k.kind().as_str()),
                user.user_principal_name,
                row.upn.as_deref().unwrap_or_default()
            ));
        }
        Some(ReadOutcome::Found(user)) => {
            let excluded = exclusions.why(&user, &row);
            apply_decision(&mut entry, decide(policy, &user, excluded.is_some()));
            if let Some(why) = excluded {
                entry.reason = Some(why);
            }
            entry.before = Some(user);
        }
    }
    entry
}

/// The users met so far, in row order, by id (16 bytes a user): the first row to reach a
/// user is acted on, a later row reaching the same user (one by UPN, one by id) becomes a
/// duplicate of it.
#[derive(Debug, Default)]
pub struct UsersSeen {
    first_line: HashMap<u128, usize>,
}

impl UsersSeen {
    /// Room for `users` users at once (the table never grows, so never holds two copies).
    pub fn with_capacity(users: usize) -> UsersSeen {
        UsersSeen {
            first_line: HashMap::with_capacity(users),
        }
    }

    /// Feeds the next entry in row order; turns it into a duplicate when an earlier entry
    /// found the same user.
    pub fn settle(&mut self, entry: &mut PlanEntry) {
        let Some(user) = entry.before.as_ref() else {
            return;
        };
        if entry.status == Status::Duplicate {
            return;
        }
        match self.first_line.entry(user_number(&user.id)) {
            std::collections::hash_map::Entry::Occupied(first) => {
                entry.status = Status::Duplicate;
                entry.reason = Some(format!("same user as line {}", first.get()));
                entry.steps.clear();
                entry.notes.clear();
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(entry.line);
            }
        }
    }
}

/// A user's object id as a number: the GUID itself, or (for an id that is not a GUID) a
/// 128-bit hash of it.
fn user_number(id: &str) -> u128 {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32
        && let Ok(n) = u128::from_str_radix(&hex, 16)
    {
        return n;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    u128::from_be_bytes(bytes)
}

fn apply_decision(entry: &mut PlanEntry, decision: Decision) {
    entry.notes = decision.notes().to_vec();
    entry.steps = decision.steps().to_vec();
    let (status, reason) = match decision {
        Decision::Planned { .. } => (Status::Planned, None),
        Decision::NoChange { reason, .. } => (Status::NoChange, Some(reason)),
        Decision::Excluded => (Status::Excluded, Some("on the exclude list".to_string())),
        Decision::Protected { reason } => (Status::Protected, Some(reason)),
        Decision::Blocked { reason, .. } => (Status::Blocked, Some(reason)),
    };
    // A blocked user may still have steps that run (a synced user's sessions are revoked).
    entry.status = status;
    entry.reason = reason;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry per row, in row order, all in memory: how `plan` composes the pieces
    /// above, without its files.
    fn entries(
        rows: Vec<Row>,
        mut outcomes: HashMap<usize, ReadOutcome>,
        policy: &Policy,
        exclusions: &Exclusions,
    ) -> Vec<PlanEntry> {
        let mut seen = UsersSeen::default();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut entry = match settled_entry(&row) {
                Some(entry) => entry,
                None => {
                    let outcome = outcomes.remove(&row.row);
                    read_entry(row, outcome, policy, exclusions)
                }
            };
            seen.settle(&mut entry);
            out.push(entry);
        }
        out
    }

    use crate::policy::{PolicyArgs, Profile};

    fn row(i: usize, input: &str) -> Row {
        Row {
            row: i,
            line: i + 2,
            input: input.into(),
            key: UserKey::parse(input).map_err(|e| e.to_string()),
            duplicate_of: None,
            columns: BTreeMap::new(),
            upn: None,
        }
    }

    fn user(id: &str, upn: &str) -> UserSnapshot {
        UserSnapshot {
            id: id.into(),
            user_principal_name: upn.into(),
            account_enabled: true,
            synced: false,
            admin_roles: vec![],
            management_restricted: false,
            restricted_units: vec![],
            default_method: None,
            methods: vec![],
            hardware_oath_unread: false,
            methods_unread: false,
            roles_unread: false,
        }
    }

    #[test]
    fn read_failures_and_ambiguous_mail_get_their_own_status_and_reason() {
        let policy = PolicyArgs {
            profile: Some(Profile::Incident),
            ..PolicyArgs::default()
        }
        .into_policy()
        .unwrap();
        let rows = vec![row(0, "a@contoso.example"), row(1, "b@contoso.example")];
        let outcomes = HashMap::from([
            (
                0,
                ReadOutcome::Error("gave up after 10 attempts: HTTP 503".into()),
            ),
            (
                1,
                ReadOutcome::Ambiguous("2 users have the mail address b@x".into()),
            ),
        ]);
        let e = entries(rows, outcomes, &policy, &Exclusions::default());
        assert_eq!(e[0].status, Status::Error);
        assert!(e[0].reason.as_deref().unwrap().contains("503"));
        assert_eq!(e[1].status, Status::Blocked);
    }

    #[test]
    fn two_rows_that_resolve_to_one_user_are_acted_on_once() {
        let policy = PolicyArgs {
            profile: Some(Profile::Incident),
            ..PolicyArgs::default()
        }
        .into_policy()
        .unwrap();
        let id = "3179e48a-750b-4051-897c-87b9720928f7";
        let rows = vec![row(0, "a@contoso.example"), row(1, id)];
        let outcomes = HashMap::from([
            (0, ReadOutcome::Found(user(id, "a@contoso.example"))),
            (1, ReadOutcome::Found(user(id, "a@contoso.example"))),
        ]);
        let e = entries(rows, outcomes, &policy, &Exclusions::default());
        assert_eq!(e[0].status, Status::Planned);
        assert_eq!(e[1].status, Status::Duplicate);
        assert_eq!(e[1].reason.as_deref(), Some("same user as line 2"));
        assert_eq!(e[1].writes(), 0);
        let excluded = Exclusions::new(["A@Contoso.Example".to_string()]);
        let rows = vec![row(0, "a@contoso.example")];
        let outcomes = HashMap::from([(0, ReadOutcome::Found(user(id, "a@contoso.example")))]);
        assert_eq!(
            entries(rows, outcomes, &policy, &excluded)[0].status,
            Status::Excluded
        );
    }
}
