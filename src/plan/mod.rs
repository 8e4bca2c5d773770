//! Plans: what a run would change, user by user, decided from a read of the tenant before
//! anything changes — the artefact a change board signs, and exactly what `apply` carries
//! out later.
//!
//! The engine reads the tenant (`engine::read`); [`build`] turns each row and what
//! was read into one [`PlanEntry`] with one [`Status`]; [`PlanFile`] is the versioned
//! `plan.json`, which [`store`] writes and reads an entry at a time, so that a plan of a
//! million users is never held in memory ([`PlanHeader`] is all of it but the entries).

pub mod build;
pub mod contained;
pub mod fingerprint;
pub mod make;
pub mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::graph::tenant::TenantIdentity;
use crate::policy::{Policy, Step, UserSnapshot};

/// The `format` field of every plan file.
pub const PLAN_FORMAT: &str = "mfa-reset-plan";
/// The version of the plan file format this build writes and reads.
pub const PLAN_VERSION: u32 = 1;

/// What the plan says about one input row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Changes are planned.
    Planned,
    /// The user is already as the policy wants them.
    NoChange,
    /// Graph has no such user.
    NotFound,
    /// The row does not name a user validly; nothing was sent for it.
    Invalid,
    /// An earlier row names the same user; acted on once, there.
    Duplicate,
    /// On the `--exclude` list (break-glass accounts and the like).
    Excluded,
    /// Holds an admin role and `--include-admins` was not given.
    Protected,
    /// Some change cannot be made (a synced user's account, a mail shared by several).
    Blocked,
    /// The user could not be read (Graph refused or kept failing).
    Error,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Planned,
        Status::NoChange,
        Status::NotFound,
        Status::Invalid,
        Status::Duplicate,
        Status::Excluded,
        Status::Protected,
        Status::Blocked,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::NoChange => "no-change",
            Status::NotFound => "not-found",
            Status::Invalid => "invalid",
            Status::Duplicate => "duplicate",
            Status::Excluded => "excluded",
            Status::Protected => "protected",
            Status::Blocked => "blocked",
            Status::Error => "error",
        }
    }

    /// Whether a plan whose rows all have such statuses lets `plan` exit 0: planned,
    /// no-change, excluded, protected or duplicate — the rows whose run can end done (or
    /// skipped by rule). A blocked, not-found, invalid or error row makes it 1, as the
    /// same row would make `apply` exit 1.
    pub fn exits_zero(self) -> bool {
        match self {
            Status::Planned
            | Status::NoChange
            | Status::Excluded
            | Status::Protected
            | Status::Duplicate => true,
            Status::NotFound | Status::Invalid | Status::Blocked | Status::Error => false,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One input row in the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanEntry {
    /// 0-based data row: result rows come in this order.
    pub row: usize,
    /// 1-based line of the input file.
    pub line: usize,
    /// The user as the input gave them.
    pub input: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The user as read from the tenant (no secrets: method ids, types, names, dates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<UserSnapshot>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The input's other columns, carried to the reports.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
}

impl PlanEntry {
    /// Graph writes this entry's steps need. A blocked user may still have steps that
    /// run (a synced user's sessions are revoked even though the account stays enabled).
    pub fn writes(&self) -> usize {
        match self.status {
            Status::Planned | Status::Blocked => self.steps.len(),
            _ => 0,
        }
    }
}

/// Where the input came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputInfo {
    pub file: String,
    /// SHA-256 of the input file's bytes, hex.
    pub sha256: String,
    pub rows: usize,
}

/// `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    pub format: String,
    pub version: u32,
    /// When the tenant was read (RFC 3339, UTC).
    pub created: String,
    pub tool: String,
    /// The Graph service root the plan was read from.
    pub graph: String,
    pub input: InputInfo,
    pub policy: Policy,
    /// SHA-256 over the input's hash, the policy and every entry: `apply` refuses a plan
    /// edited anywhere after it was written.
    pub fingerprint: String,
    /// Graph writes the plan needs, and about how long its run takes
    /// (`engine::estimate`).
    pub writes: usize,
    pub minimum_seconds: f64,
    /// What the reader should know about the plan as a whole, in words for its reports:
    /// what it could not check when it was made (a Temporary Access Pass policy the app may
    /// not read), passes that would expire before the run reaches its last users. Not
    /// covered by the fingerprint: it describes the reading, not what would change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the admins the plan protects are not known in full (eligible PIM admins could
    /// not be read: no licence, no permission); `apply` refuses such a plan without
    /// `--accept-unverified-admins`. Not covered by the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins_unverified: Option<String>,
    /// See [`PlanHeader::tenant`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantIdentity>,
    pub entries: Vec<PlanEntry>,
}

/// Everything in `plan.json` but its entries: what a plan of a million users keeps in
/// memory while its entries stay on disk ([`store`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanHeader {
    pub format: String,
    pub version: u32,
    pub created: String,
    pub tool: String,
    pub graph: String,
    pub input: InputInfo,
    pub policy: Policy,
    pub fingerprint: String,
    pub writes: usize,
    pub minimum_seconds: f64,
    /// What the reader should know about the plan as a whole, in words for its reports:
    /// what it could not check when it was made (a Temporary Access Pass policy the app may
    /// not read), passes that would expire before the run reaches its last users. Not
    /// covered by the fingerprint: it describes the reading, not what would change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why the admins the plan protects are not known in full (eligible PIM admins could
    /// not be read: no licence, no permission); `apply` refuses such a plan without
    /// `--accept-unverified-admins`. Not covered by the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins_unverified: Option<String>,
    /// The tenant the plan was read from; `None` when the credential did not say (an
    /// opaque token and no permission to read `/organization`) and in plans made before
    /// it was recorded. Its id is covered by the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantIdentity>,
}

impl PlanHeader {
    /// The whole plan file, with `entries`.
    pub fn with_entries(self, entries: Vec<PlanEntry>) -> PlanFile {
        PlanFile {
            format: self.format,
            version: self.version,
            created: self.created,
            tool: self.tool,
            graph: self.graph,
            input: self.input,
            policy: self.policy,
            fingerprint: self.fingerprint,
            writes: self.writes,
            minimum_seconds: self.minimum_seconds,
            notes: self.notes,
            admins_unverified: self.admins_unverified,
            tenant: self.tenant,
            entries,
        }
    }
}

impl PlanFile {
    /// The plan without its entries.
    pub fn header(&self) -> PlanHeader {
        PlanHeader {
            format: self.format.clone(),
            version: self.version,
            created: self.created.clone(),
            tool: self.tool.clone(),
            graph: self.graph.clone(),
            input: self.input.clone(),
            policy: self.policy.clone(),
            fingerprint: self.fingerprint.clone(),
            writes: self.writes,
            minimum_seconds: self.minimum_seconds,
            notes: self.notes.clone(),
            admins_unverified: self.admins_unverified.clone(),
            tenant: self.tenant.clone(),
        }
    }

    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut counts = BTreeMap::new();
        for e in &self.entries {
            *counts.entry(e.status).or_default() += 1;
        }
        counts
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of the entries' compact JSON (`[e0,e1,…]`), serialised straight into the
/// hash (a million entries are never one buffer). Reading a plan and serialising its
/// entries again gives the same bytes, so the hash is the same after a round trip through
/// `plan.json`.
pub fn entries_sha256(entries: &[PlanEntry]) -> String {
    let mut hash = store::EntriesHash::new();
    for entry in entries {
        hash.add(entry);
    }
    hash.finish()
}
