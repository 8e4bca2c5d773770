//! The reports of a run (`mfa-reset apply`, `mfa-reset resume`): what was done to every
//! input row, beside what the plan said would be.
//!
//! From the plan carried out (its header and [`Figures`]), the run's [`RunDigest`] —
//! built one [`UserOutcome`] at a time, in row order ([`RunDigest::new`], then
//! [`RunDigest::add`]) — and the run's own [`RunFigures`], this writes:
//!
//! - `results.csv` / `results.jsonl` ([`RunResultsWriter`], written an outcome at a time):
//!   one row per outcome, [`COLUMNS`] then the input's extra columns, through the same
//!   writer as the plan's results ([`super::results`]);
//! - `summary.md` ([`write_summary`], rendered in `run/summary.rs`): for the change board
//!   after the run — where (emulator or which Graph root) and when, whether it finished
//!   or was interrupted (and how to resume), users by status (every [`RunStatus`], zeros
//!   included), what was done, planned against done, the failures (one line per status
//!   and error, `super::groups`) and the drifted users, and the per-user table cut at
//!   [`MAX_SUMMARY_ROWS`];
//! - `report.html` ([`write_html`], rendered in `run/html.rs`): the same as one
//!   self-contained page in the plan report's frame, look and per-user table (`page`): no
//!   network, a Content-Security-Policy that allows only its own style and script, every
//!   user-supplied string escaped, bar charts of users by status and of the changes made,
//!   and the per-user table (cut at [`MAX_HTML_ROWS`]) with the filter box.
//!
//! This file holds what both renderings share: the tally, the digest, planned against
//! done, and the words for what was done to a user.
//!
//! No secret is ever written here: a Temporary Access Pass is only "issued: yes"; the pass
//! itself is in `secrets/tap.csv`. The reports depend on their arguments alone (no clock),
//! so a run always renders to the same bytes.

mod html;
mod summary;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::groups::Groups;
use super::results::{ResultRow, ResultsWriter};
use super::{Figures, FirstRows, ReportError, method_order, method_words, write_file};
use crate::engine::outcome::{MethodRef, RunStatus, UserOutcome};
use crate::plan::{PlanHeader, Status};

pub(super) use crate::engine::hint::resume_command;

/// How the run went, beside the users' outcomes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFigures {
    /// When the run started and ended (RFC 3339, UTC).
    pub started: String,
    pub ended: String,
    /// Wall-clock seconds from start to end.
    pub wall_seconds: f64,
    /// Graph writes sent, retries included.
    pub writes_sent: u64,
    /// Requests Graph answered 429 (or 503 with `Retry-After`).
    pub throttled: u64,
    /// Requests sent again.
    pub retries: u64,
    /// The run stopped before every user finished; `mfa-reset resume DIR` carries on.
    pub interrupted: bool,
    /// The Graph service root the run talked to.
    pub graph: String,
    /// The run went to the Graph emulator: no real tenant was changed.
    pub sim: bool,
    /// What a containment from the list did before the plan was made, in words; `None`
    /// for a run of a plan made beforehand.
    pub containment: Option<String>,
}

/// The fixed columns of a run's `results.csv`, before the input's own.
pub const COLUMNS: [&str; 21] = [
    "row",
    "line",
    "input",
    "status",
    "reason",
    "userId",
    "userPrincipalName",
    "removed",
    "removedIds",
    "alreadyRemoved",
    "kept",
    "remaining",
    "sessionsRevoked",
    "accountDisabled",
    "tapIssued",
    "errorCode",
    "errorMessage",
    "requestIds",
    "attempts",
    "started",
    "ended",
];

/// At most this many rows in each table of `summary.md`; `results.csv` has them all.
pub const MAX_SUMMARY_ROWS: usize = 1_000;
/// At most this many rows in each table of `report.html` (as in the plan's report).
pub const MAX_HTML_ROWS: usize = super::page::MAX_ROWS;
/// How many outcomes of each kind a [`RunDigest`] keeps: as many as the longest table of
/// `summary.md` or `report.html` lists.
pub const DIGEST_ROWS: usize = super::DIGEST_ROWS;

/// Listed under "Failed, partly done or blocked", with the error Graph gave.
const FAILURES: [RunStatus; 3] = [RunStatus::Failed, RunStatus::Partial, RunStatus::Blocked];

/// Writes a run's `summary.md` from the plan's header and [`Figures`] and the digest of
/// the outcomes. The resume command it shows names the folder `path` is in.
pub fn write_summary(
    path: &Path,
    plan: &PlanHeader,
    figures: &Figures,
    outcomes: &RunDigest,
    run: &RunFigures,
) -> Result<(), ReportError> {
    let text = summary::render(plan, figures, outcomes, run, report_dir(path));
    write_file(path, text)
}

/// Writes a run's `report.html` from the plan's header and [`Figures`] and the digest of
/// the outcomes. The resume command it shows names the folder `path` is in.
pub fn write_html(
    path: &Path,
    plan: &PlanHeader,
    figures: &Figures,
    outcomes: &RunDigest,
    run: &RunFigures,
) -> Result<(), ReportError> {
    let text = html::render(plan, figures, outcomes, run, report_dir(path));
    write_file(path, text)
}

// ---- results.csv / results.jsonl ----

/// A run's results writer.
pub type RunResultsWriter = ResultsWriter<UserOutcome>;

/// Method labels, `; `-joined.
fn labels(methods: &[MethodRef]) -> String {
    methods
        .iter()
        .map(|m| m.label.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Methods as `type:id`, `; `-joined.
fn type_ids(methods: &[MethodRef]) -> String {
    methods
        .iter()
        .map(|m| format!("{}:{}", m.kind.short_name(), m.id))
        .collect::<Vec<_>>()
        .join("; ")
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// The `kept` cell: the labels, or `not read` when the plan did not read the methods (its
/// policy removes none), which an empty cell would present as "kept nothing".
pub(super) fn kept_text(o: &UserOutcome) -> String {
    if o.methods_unread {
        KEPT_UNREAD.to_string()
    } else {
        labels(&o.kept)
    }
}

/// What the reports say of the methods a plan did not read.
const KEPT_UNREAD: &str = "not read (the policy removes no method)";

/// The `remaining` cell: empty when not verified, `none` when verified and nothing is
/// left, else the labels.
fn remaining_text(o: &UserOutcome) -> String {
    match &o.remaining {
        None => String::new(),
        Some(left) if left.is_empty() => "none".to_string(),
        Some(left) => labels(left),
    }
}

impl ResultRow for UserOutcome {
    const COLUMNS: &'static [&'static str] = &COLUMNS;

    fn cells(&self) -> Vec<String> {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            self.row.to_string(),
            self.line.to_string(),
            self.input.clone(),
            self.final_status().to_string(),
            text(&self.reason),
            text(&self.user_id),
            text(&self.user_principal_name),
            labels(&self.removed),
            type_ids(&self.removed),
            labels(&self.already_removed),
            kept_text(self),
            remaining_text(self),
            yes_no(self.sessions_revoked),
            yes_no(self.account_disabled),
            yes_no(self.tap_issued),
            text(&self.error_code),
            text(&self.error_message),
            self.request_ids.join("; "),
            self.attempts.to_string(),
            text(&self.started),
            text(&self.ended),
        ]
    }

    fn input_columns(&self) -> &BTreeMap<String, String> {
        &self.columns
    }

    /// The [`UserOutcome`] as serialized, with `status` always a string (`failed` if it
    /// was never set).
    fn record(&self) -> Value {
        let mut record = serde_json::to_value(self).expect("an outcome serializes");
        if let Value::Object(map) = &mut record {
            map.insert(
                "status".to_string(),
                Value::String(self.final_status().as_str().to_string()),
            );
        }
        record
    }
}

// ---- the figures ----

/// What a run did, counted over its outcomes as a [`RunDigest`] takes them in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTally {
    pub rows: usize,
    pub by_status: BTreeMap<RunStatus, usize>,
    /// Methods removed by this run, by type (short name).
    pub removed_by_type: BTreeMap<String, usize>,
    /// Methods already gone when the run got to them, by type (short name).
    pub already_removed_by_type: BTreeMap<String, usize>,
    pub sessions_revoked: usize,
    pub accounts_disabled: usize,
    pub taps_issued: usize,
    /// Users whose default MFA method the run changed so that a removal was accepted.
    pub defaults_changed: usize,
    /// `blocked` users something was done to: their safe steps ran (a synced user's
    /// sessions revoked), as planned for a blocked user.
    pub blocked_with_done: usize,
}

impl RunTally {
    /// Counts one more outcome.
    fn add(&mut self, o: &UserOutcome) {
        self.rows += 1;
        *self.by_status.entry(o.final_status()).or_default() += 1;
        for m in &o.removed {
            *self
                .removed_by_type
                .entry(m.kind.short_name().to_string())
                .or_default() += 1;
        }
        for m in &o.already_removed {
            *self
                .already_removed_by_type
                .entry(m.kind.short_name().to_string())
                .or_default() += 1;
        }
        self.sessions_revoked += usize::from(o.sessions_revoked);
        self.accounts_disabled += usize::from(o.account_disabled);
        self.taps_issued += usize::from(o.tap_issued);
        self.defaults_changed += usize::from(o.default_method_set.is_some());
        let blocked = o.final_status() == RunStatus::Blocked;
        self.blocked_with_done += usize::from(blocked && !done_items(o).is_empty());
    }

    pub fn count(&self, status: RunStatus) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    pub fn removed(&self) -> usize {
        self.removed_by_type.values().sum()
    }

    pub fn already_removed(&self) -> usize {
        self.already_removed_by_type.values().sum()
    }
}

/// A bounded view of a run's outcomes for its reports, built one outcome at a time in
/// row order: the tally over every outcome, and the few outcomes the reports' tables
/// show (at most [`DIGEST_ROWS`] of each list).
#[derive(Debug, Clone, Default)]
pub struct RunDigest {
    /// What the run did, over every outcome (`tally.rows` of them).
    pub tally: RunTally,
    /// Some outcome has input columns of its own.
    pub with_columns: bool,
    /// The first [`DIGEST_ROWS`] outcomes.
    pub first: Vec<UserOutcome>,
    /// The outcomes that failed, were partly done or blocked, grouped by status and
    /// error (or reason).
    pub failures: Groups<UserOutcome>,
    /// The drifted outcomes.
    pub drifted: FirstRows<UserOutcome>,
}

impl RunDigest {
    /// A digest of no outcomes yet.
    pub fn new() -> RunDigest {
        RunDigest::default()
    }

    /// Takes in the next outcome (outcomes come in row order).
    pub fn add(&mut self, o: &UserOutcome) {
        self.tally.add(o);
        self.with_columns |= !o.columns.is_empty();
        if self.first.len() < DIGEST_ROWS {
            self.first.push(o.clone());
        }
        let status = o.final_status();
        if FAILURES.contains(&status) {
            self.failures.add(status.as_str(), &error_words(o), o);
        }
        if status == RunStatus::Drifted {
            self.drifted.push(o);
        }
    }
}

/// One line of "planned against done".
struct Versus {
    change: String,
    planned: usize,
    done: usize,
    /// `None` where "already done" is not known (revoke, disable, TAP).
    already: Option<usize>,
}

impl Versus {
    fn not_done(&self) -> usize {
        self.planned
            .saturating_sub(self.done + self.already.unwrap_or(0))
    }
}

/// What the first line of "planned against done" counts: the `planned` users, whose
/// every change is made when they are `done` — the same numbers as the plan's status
/// `planned` and the run's status `done`.
const USERS_PLANNED: &str = "Users planned (done: every change made)";
/// The second line, when the plan has blocked users with safe steps: those users, and
/// how many of them had something done.
const USERS_BLOCKED: &str = "Blocked users, their safe steps only";

/// Planned against done: users (planned, then blocked ones with safe steps), then each
/// kind of change (method types in [`crate::wire::MethodType::ALL`] order) that was
/// planned or happened.
fn versus(plan: &Figures, run: &RunTally) -> Vec<Versus> {
    let mut rows = vec![
        Versus {
            change: USERS_PLANNED.into(),
            planned: plan.count(Status::Planned),
            done: run.count(RunStatus::Done),
            already: None,
        },
        Versus {
            change: USERS_BLOCKED.into(),
            planned: plan.blocked_with_steps,
            done: run.blocked_with_done,
            already: None,
        },
        Versus {
            change: "Revoke sign-in sessions".into(),
            planned: plan.revoke,
            done: run.sessions_revoked,
            already: None,
        },
        Versus {
            change: "Disable account".into(),
            planned: plan.disable,
            done: run.accounts_disabled,
            already: None,
        },
    ];
    let mut kinds: Vec<&String> = plan
        .deletes_by_type
        .keys()
        .chain(run.removed_by_type.keys())
        .chain(run.already_removed_by_type.keys())
        .collect();
    kinds.sort_by_key(|k| (method_order(k), k.as_str()));
    kinds.dedup();
    let get = |map: &BTreeMap<String, usize>, k: &str| map.get(k).copied().unwrap_or(0);
    for kind in kinds {
        rows.push(Versus {
            change: format!("Remove {}", method_words(kind)),
            planned: get(&plan.deletes_by_type, kind),
            done: get(&run.removed_by_type, kind),
            already: Some(get(&run.already_removed_by_type, kind)),
        });
    }
    rows.push(Versus {
        change: "Issue Temporary Access Pass".into(),
        planned: plan.issue_pass,
        done: run.taps_issued,
        already: None,
    });
    rows.retain(|v| v.change == USERS_PLANNED || v.planned + v.done + v.already.unwrap_or(0) > 0);
    rows
}

/// The folder holding a report, for `mfa-reset resume DIR`.
fn report_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The Graph root the run talked to (the plan's, if the run did not say).
fn graph_root<'a>(plan: &'a PlanHeader, run: &'a RunFigures) -> &'a str {
    if run.graph.is_empty() {
        &plan.graph
    } else {
        &run.graph
    }
}

/// The user as given, and the UPN Graph knows when it differs.
fn user_words(o: &UserOutcome) -> (&str, Option<&str>) {
    let upn = o
        .user_principal_name
        .as_deref()
        .filter(|upn| !upn.eq_ignore_ascii_case(o.input.trim()));
    (&o.input, upn)
}

/// What was done to a user, in words (one item each).
fn done_items(o: &UserOutcome) -> Vec<String> {
    let mut items = Vec::new();
    if o.sessions_revoked {
        items.push("revoked sign-in sessions".to_string());
    }
    if o.account_disabled {
        items.push("disabled the account".to_string());
    }
    for m in &o.removed {
        items.push(format!("removed {}", m.label));
    }
    for m in &o.already_removed {
        items.push(format!("{} was already gone", m.label));
    }
    if o.tap_issued {
        items.push("issued a Temporary Access Pass".to_string());
    }
    items
}

/// The error of a user in words: `code: message`, or the reason.
fn error_words(o: &UserOutcome) -> String {
    match (&o.error_code, &o.error_message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.clone(),
        (None, Some(message)) => message.clone(),
        (None, None) => o.reason.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_commands_quote_folders_for_the_shell() {
        assert_eq!(
            resume_command(Path::new("run-2026-11-28")),
            "mfa-reset resume run-2026-11-28"
        );
        assert_eq!(
            resume_command(Path::new("/tmp/runs/a b")),
            "mfa-reset resume '/tmp/runs/a b'"
        );
        assert_eq!(
            resume_command(Path::new("it's")),
            "mfa-reset resume 'it'\\''s'"
        );
        assert_eq!(report_dir(Path::new("report.html")), Path::new("."));
        assert_eq!(report_dir(Path::new("out/report.html")), Path::new("out"));
    }
}
