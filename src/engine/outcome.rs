//! What `apply` did to one input row: the [`UserOutcome`] that becomes one row of
//! `results.csv` / `results.jsonl`, is appended to the journal when the user finishes, and
//! is counted in `summary.md` and `report.html`.
//!
//! Rows the plan already settled (not found, invalid, duplicate, excluded, protected,
//! nothing to do) keep their plan status; users with steps end `done`, `partial`,
//! `failed`, `drifted` or (for a synced user whose account cannot be disabled in the
//! cloud) `blocked`; an interrupted run reports the users it did not finish as `pending`
//! until `resume` finishes them. No secret is ever held here: a Temporary Access Pass is only "issued:
//! yes/no"; the pass itself goes to `secrets/tap.csv`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::{PlanEntry, Status};
use crate::wire::MethodType;

/// The outcome of one input row after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Every step succeeded (or found its change already made).
    Done,
    /// Nothing to do: the user was already as the policy wants them.
    NoChange,
    /// Some steps succeeded, some failed.
    Partial,
    /// No step succeeded, or the user could not be read.
    Failed,
    /// The user's methods changed since the plan; nothing was changed for them.
    Drifted,
    NotFound,
    Invalid,
    Duplicate,
    Excluded,
    Protected,
    /// A change the plan asked for cannot be made (a synced user's account); the steps
    /// that could run did.
    Blocked,
    /// Not finished: the run was interrupted first. `mfa-reset resume DIR` carries on.
    Pending,
}

impl RunStatus {
    pub const ALL: [RunStatus; 12] = [
        RunStatus::Done,
        RunStatus::NoChange,
        RunStatus::Partial,
        RunStatus::Failed,
        RunStatus::Drifted,
        RunStatus::NotFound,
        RunStatus::Invalid,
        RunStatus::Duplicate,
        RunStatus::Excluded,
        RunStatus::Protected,
        RunStatus::Blocked,
        RunStatus::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Done => "done",
            RunStatus::NoChange => "no-change",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Drifted => "drifted",
            RunStatus::NotFound => "not-found",
            RunStatus::Invalid => "invalid",
            RunStatus::Duplicate => "duplicate",
            RunStatus::Excluded => "excluded",
            RunStatus::Protected => "protected",
            RunStatus::Blocked => "blocked",
            RunStatus::Pending => "pending",
        }
    }

    /// Whether a change the plan asked for was refused or never answered: `failed` or
    /// `partial`, the rows `mfa-reset resume --retry-failed` takes up again.
    pub fn is_failure(self) -> bool {
        matches!(self, RunStatus::Partial | RunStatus::Failed)
    }

    /// Whether a row that ends with this status lets `apply` or `resume` exit 0: done,
    /// no-change, excluded, protected or duplicate. Every other status (blocked, partial,
    /// failed, drifted, not-found, invalid, pending) makes the exit code 1: a row the run
    /// did not bring to the state the plan wanted, or could not act on, is never reported
    /// as success.
    pub fn exits_zero(self) -> bool {
        match self {
            RunStatus::Done
            | RunStatus::NoChange
            | RunStatus::Excluded
            | RunStatus::Protected
            | RunStatus::Duplicate => true,
            RunStatus::Partial
            | RunStatus::Failed
            | RunStatus::Drifted
            | RunStatus::NotFound
            | RunStatus::Invalid
            | RunStatus::Blocked
            | RunStatus::Pending => false,
        }
    }

    /// The status a plan status keeps when the plan has nothing to run for the row, or
    /// `None` when the row has steps and its outcome comes from running them.
    pub fn settled_by_plan(status: Status) -> Option<RunStatus> {
        Some(match status {
            Status::NoChange => RunStatus::NoChange,
            Status::NotFound => RunStatus::NotFound,
            Status::Invalid => RunStatus::Invalid,
            Status::Duplicate => RunStatus::Duplicate,
            Status::Excluded => RunStatus::Excluded,
            Status::Protected => RunStatus::Protected,
            Status::Error => RunStatus::Failed,
            Status::Planned | Status::Blocked => return None,
        })
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A method by type, id and the label people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodRef {
    #[serde(with = "crate::policy::method_type_name")]
    pub kind: MethodType,
    pub id: String,
    pub label: String,
}

/// What happened to one input row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOutcome {
    /// 0-based data row: result rows come in this order.
    pub row: usize,
    /// 1-based line of the input file.
    pub line: usize,
    /// The user as the input gave them.
    pub input: String,
    pub status: Option<RunStatus>,
    /// Why the status (the plan's reason, the drift found, the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Methods removed by this run.
    #[serde(default)]
    pub removed: Vec<MethodRef>,
    /// Methods the plan removes that were already gone when this run got to them
    /// (Graph answered 404): the end state is right, but someone else removed them.
    #[serde(default)]
    pub already_removed: Vec<MethodRef>,
    /// Methods the plan keeps (the password, FIDO2 keys in a device refresh, ...).
    #[serde(default)]
    pub kept: Vec<MethodRef>,
    /// The plan did not read the user's methods (its policy removes none), so `kept` is
    /// empty for want of reading: the reports say "not read", never "nothing".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub methods_unread: bool,
    /// Methods still registered after the run, as `--verify` re-read them; `None` when
    /// not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Vec<MethodRef>>,
    pub sessions_revoked: bool,
    pub account_disabled: bool,
    /// Whether a Temporary Access Pass was issued (never the pass).
    pub tap_issued: bool,
    /// The default MFA method the run set (Graph's value, `oath`, `sms`, ...) so that a
    /// removal was accepted; `None` when it set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_method_set: Option<crate::policy::DefaultMethod>,
    /// Graph's error code and message for the step that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Graph `request-id`s of this user's requests, for Microsoft support.
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Graph requests sent for this user, retries included.
    pub attempts: u32,
    /// When work on the user started and ended (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// The input's other columns, carried through.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
}

impl UserOutcome {
    /// The part of an outcome the plan already knows: row, input, user, kept methods,
    /// extra columns. `status` is left `None` for rows that have steps to run.
    pub fn from_plan(entry: &PlanEntry) -> UserOutcome {
        let removes: std::collections::HashSet<&str> = entry
            .steps
            .iter()
            .filter_map(|s| match s {
                crate::policy::Step::DeleteMethod { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        let kept = entry
            .before
            .as_ref()
            .map(|u| {
                u.methods
                    .iter()
                    .filter(|m| !removes.contains(m.id.as_str()))
                    .map(|m| MethodRef {
                        kind: m.kind,
                        id: m.id.clone(),
                        label: m.label(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        UserOutcome {
            row: entry.row,
            line: entry.line,
            input: entry.input.clone(),
            status: RunStatus::settled_by_plan(entry.status),
            reason: entry.reason.clone(),
            user_id: entry.before.as_ref().map(|u| u.id.clone()),
            user_principal_name: entry.before.as_ref().map(|u| u.user_principal_name.clone()),
            kept,
            methods_unread: entry.before.as_ref().is_some_and(|u| u.methods_unread),
            columns: entry.columns.clone(),
            ..UserOutcome::default()
        }
    }

    /// The status, `failed` if none was ever set (a bug, reported rather than hidden).
    pub fn final_status(&self) -> RunStatus {
        self.status.unwrap_or(RunStatus::Failed)
    }
}
