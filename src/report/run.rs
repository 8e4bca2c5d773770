//! The reports of a run (`mfa-reset apply`, `mfa-reset resume`): what was done to every
//! input row, beside what the plan said would be.
//!
//! From the plan carried out, the [`UserOutcome`]s (one per input row, in row order) and
//! the run's own [`RunFigures`], this writes:
//!
//! - `results.csv` / `results.jsonl` ([`write_results_csv`], [`write_results_jsonl`]):
//!   one row per outcome, [`COLUMNS`] then the input's extra columns, with the same
//!   formula-neutralising and column naming as the plan's results ([`super::results`]);
//! - `summary.md` ([`write_summary`]): for the change board after the run — where
//!   (emulator or which Graph root) and when, whether it finished or was interrupted (and
//!   how to resume), users by status (every [`RunStatus`], zeros included), what was done,
//!   planned against done, the failures and the drifted users, and the per-user table cut
//!   at [`MAX_SUMMARY_ROWS`];
//! - `report.html` ([`write_html`]): the same as one self-contained page in the plan
//!   report's frame and look ([`super::html`]): no network, a Content-Security-Policy
//!   that allows only its own style and script, every user-supplied string escaped, bar
//!   charts of users by status and of the changes made, and the per-user table (cut at
//!   [`MAX_HTML_ROWS`]) with the filter box.
//!
//! Each has a form that needs no whole run in memory: [`RunResultsWriter`] writes the
//! results an outcome at a time, and [`render_summary_digest`] / [`render_html_digest`]
//! render from the plan's header and [`Figures`] and a bounded [`RunDigest`].
//!
//! No secret is ever written here: a Temporary Access Pass is only "issued: yes"; the pass
//! itself is in `secrets/tap.csv`. The reports depend on their arguments alone (no clock),
//! so a run always renders to the same bytes.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::html::{
    Bar, STYLE, Text, bar_chart, bar_chart_labelled, filter_form, grouped, head, method_order,
    method_words, page_style, plan_provenance, tail,
};
use super::results::{ResultsFiles, extra_columns, write_csv_table, write_json_lines};
use super::summary::{escape as md, short};
use super::{Figures, ReportError, human_duration};
use crate::engine::outcome::{MethodRef, RunStatus, UserOutcome};
use crate::plan::{PlanFile, PlanHeader};

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
pub const MAX_HTML_ROWS: usize = super::html::MAX_TABLE_ROWS;
/// How many outcomes of each kind a [`RunDigest`] keeps: as many as the longest table of
/// `summary.md` or `report.html` lists.
pub const DIGEST_ROWS: usize = if MAX_SUMMARY_ROWS > MAX_HTML_ROWS {
    MAX_SUMMARY_ROWS
} else {
    MAX_HTML_ROWS
};

/// Listed under "Failed, partly done or blocked", with the error Graph gave.
const FAILURES: [RunStatus; 3] = [RunStatus::Failed, RunStatus::Partial, RunStatus::Blocked];
/// Counted as "needs attention" in the report's figures.
const ATTENTION: [RunStatus; 5] = [
    RunStatus::Failed,
    RunStatus::Partial,
    RunStatus::Blocked,
    RunStatus::Drifted,
    RunStatus::Pending,
];

// ---- results.csv / results.jsonl ----

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

/// The `remaining` cell: empty when not verified, `none` when verified and nothing is
/// left, else the labels.
fn remaining_text(o: &UserOutcome) -> String {
    match &o.remaining {
        None => String::new(),
        Some(left) if left.is_empty() => "none".to_string(),
        Some(left) => labels(left),
    }
}

fn fixed_values(o: &UserOutcome) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        o.row.to_string(),
        o.line.to_string(),
        o.input.clone(),
        o.final_status().to_string(),
        text(&o.reason),
        text(&o.user_id),
        text(&o.user_principal_name),
        labels(&o.removed),
        type_ids(&o.removed),
        labels(&o.already_removed),
        labels(&o.kept),
        remaining_text(o),
        yes_no(o.sessions_revoked),
        yes_no(o.account_disabled),
        yes_no(o.tap_issued),
        text(&o.error_code),
        text(&o.error_message),
        o.request_ids.join("; "),
        o.attempts.to_string(),
        text(&o.started),
        text(&o.ended),
    ]
}

/// Writes a run's `results.csv`: [`COLUMNS`], then the input's extra columns (sorted by
/// name; one named like a fixed column is titled `input.NAME`). Formula-like cells get a
/// leading `'` ([`super::results::csv_safe`]).
pub fn write_results_csv(path: &Path, outcomes: &[UserOutcome]) -> Result<(), ReportError> {
    let extra = extra_columns(outcomes.iter().map(|o| &o.columns));
    write_csv_table(
        path,
        &COLUMNS,
        &extra,
        outcomes.iter().map(|o| (fixed_values(o), &o.columns)),
    )
}

/// One outcome as a JSON Lines record: the [`UserOutcome`] as serialized, with `status`
/// always a string (`failed` if it was never set).
pub fn json_record(o: &UserOutcome) -> Value {
    let mut record = serde_json::to_value(o).expect("an outcome serializes");
    if let Value::Object(map) = &mut record {
        map.insert(
            "status".to_string(),
            Value::String(o.final_status().as_str().to_string()),
        );
    }
    record
}

/// Writes a run's `results.jsonl`, values exactly as they are.
pub fn write_results_jsonl(path: &Path, outcomes: &[UserOutcome]) -> Result<(), ReportError> {
    write_json_lines(path, outcomes.iter().map(json_record))
}

/// A run's `results.csv` and `results.jsonl`, written an outcome at a time in row order,
/// so that the outcomes need not be held in memory: given `extra` = [`extra_columns`]
/// over all outcomes' columns, the same bytes as [`write_results_csv`] and
/// [`write_results_jsonl`].
pub struct RunResultsWriter(ResultsFiles);

impl RunResultsWriter {
    /// Creates both files; `extra` are the input's extra columns over every outcome.
    pub fn create(
        csv: &Path,
        jsonl: &Path,
        extra: &[String],
    ) -> Result<RunResultsWriter, ReportError> {
        ResultsFiles::create(csv, jsonl, &COLUMNS, extra).map(RunResultsWriter)
    }

    /// Writes the next outcome to both files.
    pub fn write(&mut self, o: &UserOutcome) -> Result<(), ReportError> {
        self.0.write(&fixed_values(o), &o.columns, &json_record(o))
    }

    /// Flushes both files and syncs them to disk.
    pub fn finish(self) -> Result<(), ReportError> {
        self.0.finish()
    }
}

// ---- the figures ----

/// What a run did, counted once from its outcomes.
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
}

impl RunTally {
    pub fn of(outcomes: &[UserOutcome]) -> RunTally {
        let mut t = RunTally::default();
        for o in outcomes {
            t.add(o);
        }
        t
    }

    /// Counts one more outcome.
    pub fn add(&mut self, o: &UserOutcome) {
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
    /// What the run did, over every outcome.
    pub tally: RunTally,
    /// How many outcomes, in all.
    pub rows: usize,
    /// Some outcome has input columns of its own.
    pub with_columns: bool,
    /// The first [`DIGEST_ROWS`] outcomes.
    pub first: Vec<UserOutcome>,
    /// The first [`DIGEST_ROWS`] outcomes that failed, were partly done or blocked.
    pub failures: Vec<UserOutcome>,
    /// How many outcomes failed, were partly done or blocked, in all.
    pub failures_total: usize,
    /// The first [`DIGEST_ROWS`] drifted outcomes.
    pub drifted: Vec<UserOutcome>,
    /// How many outcomes drifted, in all.
    pub drifted_total: usize,
}

impl RunDigest {
    /// A digest of no outcomes yet.
    pub fn new() -> RunDigest {
        RunDigest::default()
    }

    /// Takes in the next outcome (outcomes come in row order).
    pub fn add(&mut self, o: &UserOutcome) {
        self.tally.add(o);
        self.rows += 1;
        self.with_columns |= !o.columns.is_empty();
        if self.first.len() < DIGEST_ROWS {
            self.first.push(o.clone());
        }
        let status = o.final_status();
        if FAILURES.contains(&status) {
            self.failures_total += 1;
            if self.failures.len() < DIGEST_ROWS {
                self.failures.push(o.clone());
            }
        }
        if status == RunStatus::Drifted {
            self.drifted_total += 1;
            if self.drifted.len() < DIGEST_ROWS {
                self.drifted.push(o.clone());
            }
        }
    }

    /// The digest of outcomes held in memory.
    pub fn of(outcomes: &[UserOutcome]) -> RunDigest {
        let mut digest = RunDigest::new();
        for o in outcomes {
            digest.add(o);
        }
        digest
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

/// Planned against done: users, then each kind of change (method types in
/// [`crate::wire::MethodType::ALL`] order) that was planned or happened.
fn versus(plan: &Figures, run: &RunTally) -> Vec<Versus> {
    let mut rows = vec![
        Versus {
            change: "Users with changes".into(),
            planned: plan.users_affected,
            done: run.count(RunStatus::Done),
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
    rows.retain(|v| {
        v.change == "Users with changes" || v.planned + v.done + v.already.unwrap_or(0) > 0
    });
    rows
}

/// What a status means, in a few words, for the legend.
pub fn status_meaning(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Done => "every planned change made (or found already made)",
        RunStatus::NoChange => "already as the policy wants; nothing to do",
        RunStatus::Partial => "some changes made, some failed; see the failures",
        RunStatus::Failed => "no change made, or the user could not be read; see the failures",
        RunStatus::Drifted => "methods changed since the plan; nothing changed for the user",
        RunStatus::NotFound => "no such user in the tenant",
        RunStatus::Invalid => "the row does not name a user validly; nothing was sent for it",
        RunStatus::Duplicate => "an earlier row names the same user; acted on once, there",
        RunStatus::Excluded => "on the exclude list; never touched",
        RunStatus::Protected => "holds an admin role; left alone",
        RunStatus::Blocked => "a planned change cannot be made (a synced account); the rest ran",
        RunStatus::Pending => "not finished: the run was interrupted; resume carries on",
    }
}

/// The folder holding a report, for `mfa-reset resume DIR`.
fn report_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `dir` as one shell word: as is when it is plain, else single-quoted.
fn shell_word(dir: &Path) -> String {
    let text = dir.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The command that carries an interrupted run on.
fn resume_command(dir: &Path) -> String {
    format!("mfa-reset resume {}", shell_word(dir))
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

// ---- summary.md ----

/// Text as a Markdown code span in a table cell, or escaped text when it cannot be one.
fn code(text: &str) -> String {
    if text.contains('`') || text.contains(|c: char| c.is_control()) || text.is_empty() {
        md(text)
    } else {
        format!("`{}`", text.replace('|', "\\|"))
    }
}

/// Renders a run's `summary.md`; `dir` is the run's folder (for the resume command).
pub fn render_summary(
    plan: &PlanFile,
    outcomes: &[UserOutcome],
    run: &RunFigures,
    dir: &Path,
) -> String {
    render_summary_digest(
        &plan.header(),
        &Figures::of(plan),
        &RunDigest::of(outcomes),
        run,
        dir,
    )
}

/// Renders a run's `summary.md` from the plan's header and [`Figures`] and the digest of
/// the outcomes: the same text as [`render_summary`] of the whole plan and outcomes.
pub fn render_summary_digest(
    plan: &PlanHeader,
    figures: &Figures,
    outcomes: &RunDigest,
    run: &RunFigures,
    dir: &Path,
) -> String {
    let mut md_out = String::with_capacity(4_096 + outcomes.rows.min(MAX_SUMMARY_ROWS) * 120);
    summary_document(&mut md_out, plan, figures, outcomes, run, dir).expect("writing to a String");
    md_out
}

fn summary_document(
    out: &mut String,
    plan: &PlanHeader,
    f: &Figures,
    d: &RunDigest,
    run: &RunFigures,
    dir: &Path,
) -> fmt::Result {
    let t = &d.tally;
    let graph = graph_root(plan, run);
    let pending = t.count(RunStatus::Pending);

    writeln!(
        out,
        "# mfa-reset run{}\n",
        if run.interrupted {
            " — interrupted"
        } else {
            ""
        }
    )?;
    if run.sim {
        writeln!(
            out,
            "**Emulator run**: against mfa-reset's Graph emulator ({}). **No real tenant \
             was changed.**\n",
            code(graph)
        )?;
    } else {
        writeln!(
            out,
            "**Changes were made** in the tenant, through Microsoft Graph at {}.\n",
            code(graph)
        )?;
    }
    if run.interrupted {
        writeln!(
            out,
            "**Interrupted** before every user finished: {} {} `pending`. Resume with \
             {}; steps already made are not sent again.\n",
            pending,
            if pending == 1 { "user is" } else { "users are" },
            code(&resume_command(dir))
        )?;
    }

    writeln!(out, "| | |\n|---|---|")?;
    writeln!(
        out,
        "| Graph | {}{} |",
        code(graph),
        if run.sim { " (emulator)" } else { "" }
    )?;
    writeln!(out, "| Started | {} |", md(&run.started))?;
    writeln!(out, "| Ended | {} |", md(&run.ended))?;
    writeln!(out, "| Wall time | {} |", human_duration(run.wall_seconds))?;
    if run.interrupted {
        writeln!(
            out,
            "| Finished | **no — interrupted**; resume with {} |",
            code(&resume_command(dir))
        )?;
    } else {
        writeln!(out, "| Finished | yes, every user |")?;
    }
    writeln!(
        out,
        "| Graph writes sent | {} ({} throttled, {} retries) |",
        run.writes_sent, run.throttled, run.retries
    )?;
    writeln!(
        out,
        "| Plan | read {} from {}; {} writes planned, at least {} |",
        md(&plan.created),
        code(&plan.graph),
        f.writes,
        human_duration(f.minimum_seconds)
    )?;
    writeln!(out, "| Plan fingerprint | {} |", code(&plan.fingerprint))?;
    writeln!(
        out,
        "| Input | {} ({} rows, SHA-256 {}) |",
        code(&plan.input.file),
        plan.input.rows,
        code(short(&plan.input.sha256))
    )?;
    writeln!(
        out,
        "| Policy | {} |\n",
        md(&plan.policy.summary().join("; "))
    )?;

    writeln!(out, "## Users by status\n\n| Status | Users |\n|---|---:|")?;
    for status in RunStatus::ALL {
        let n = t.count(status);
        if n > 0 {
            writeln!(out, "| **{status}** | **{n}** |")?;
        } else {
            writeln!(out, "| {status} | 0 |")?;
        }
    }
    writeln!(out, "| **all rows** | **{}** |\n", t.rows)?;

    writeln!(out, "## What was done\n\n| Change | Count |\n|---|---:|")?;
    let mut removed: Vec<(&String, &usize)> = t.removed_by_type.iter().collect();
    removed.sort_by_key(|(k, _)| method_order(k));
    for (kind, n) in removed {
        writeln!(out, "| Removed {} | {n} |", method_words(kind))?;
    }
    writeln!(out, "| Methods removed, in all | {} |", t.removed())?;
    writeln!(
        out,
        "| Methods already gone when the run got to them | {} |",
        t.already_removed()
    )?;
    writeln!(out, "| Sign-in sessions revoked | {} |", t.sessions_revoked)?;
    writeln!(out, "| Accounts disabled | {} |", t.accounts_disabled)?;
    writeln!(
        out,
        "| Temporary Access Passes issued | {} |\n",
        t.taps_issued
    )?;
    if t.taps_issued > 0 {
        writeln!(
            out,
            "The passes are in `secrets/tap.csv` (readable by the run's owner only), never \
             in a report.\n"
        )?;
    }

    writeln!(
        out,
        "## Planned against done\n\n| Change | Planned | Done | Already done | Not done |\n\
         |---|---:|---:|---:|---:|"
    )?;
    for v in versus(f, t) {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            v.change,
            v.planned,
            v.done,
            v.already.map_or("—".to_string(), |n| n.to_string()),
            v.not_done()
        )?;
    }
    writeln!(out)?;

    writeln!(
        out,
        "## Failed, partly done or blocked ({})\n",
        d.failures_total
    )?;
    if d.failures_total == 0 {
        writeln!(out, "None.\n")?;
    } else {
        writeln!(
            out,
            "| Line | User | Status | Error code | Message | Request ids |\n\
             |---:|---|---|---|---|---|"
        )?;
        for o in d.failures.iter().take(MAX_SUMMARY_ROWS) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                o.line,
                md_user(o),
                o.final_status(),
                md(o.error_code.as_deref().unwrap_or("")),
                md(&o
                    .error_message
                    .clone()
                    .or_else(|| o.reason.clone())
                    .unwrap_or_default()),
                md(&o.request_ids.join(", "))
            )?;
        }
        more(out, d.failures_total)?;
    }

    writeln!(out, "## Drifted ({})\n", d.drifted_total)?;
    if d.drifted_total == 0 {
        writeln!(out, "None.\n")?;
    } else {
        writeln!(
            out,
            "Nothing was changed for these users: their methods differ from what the plan \
             read. Plan again for them.\n\n| Line | User | What changed |\n|---:|---|---|"
        )?;
        for o in d.drifted.iter().take(MAX_SUMMARY_ROWS) {
            writeln!(
                out,
                "| {} | {} | {} |",
                o.line,
                md_user(o),
                md(o.reason.as_deref().unwrap_or(""))
            )?;
        }
        more(out, d.drifted_total)?;
    }

    writeln!(out, "## Per user ({} rows)\n", d.rows)?;
    if d.rows == 0 {
        writeln!(out, "The input has no rows.")?;
        return Ok(());
    }
    if d.rows > MAX_SUMMARY_ROWS {
        writeln!(
            out,
            "The first {MAX_SUMMARY_ROWS} of {} rows; `results.csv` has them all.\n",
            d.rows
        )?;
    }
    writeln!(
        out,
        "| Line | User | Status | Done | Why / error |\n|---:|---|---|---|---|"
    )?;
    for o in d.first.iter().take(MAX_SUMMARY_ROWS) {
        let done = done_items(o);
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            o.line,
            md_user(o),
            o.final_status(),
            if done.is_empty() {
                "—".to_string()
            } else {
                md(&done.join("; "))
            },
            md(&error_words(o))
        )?;
    }
    if d.rows > MAX_SUMMARY_ROWS {
        writeln!(
            out,
            "\n…and {} more rows in `results.csv`.",
            d.rows - MAX_SUMMARY_ROWS
        )?;
    }
    Ok(())
}

/// The user in a Markdown cell.
fn md_user(o: &UserOutcome) -> String {
    match user_words(o) {
        (input, Some(upn)) => format!("{} ({})", md(input), md(upn)),
        (input, None) => md(input),
    }
}

/// "…and N more" under a cut table, and the blank line after it.
fn more(out: &mut String, total: usize) -> fmt::Result {
    if total > MAX_SUMMARY_ROWS {
        writeln!(
            out,
            "\n…and {} more in `results.csv`.",
            total - MAX_SUMMARY_ROWS
        )?;
    }
    writeln!(out)
}

/// Writes a run's `summary.md`.
pub fn write_summary(
    path: &Path,
    plan: &PlanFile,
    outcomes: &[UserOutcome],
    run: &RunFigures,
) -> Result<(), ReportError> {
    write_summary_digest(
        path,
        &plan.header(),
        &Figures::of(plan),
        &RunDigest::of(outcomes),
        run,
    )
}

/// Writes a run's `summary.md` from the plan's header and [`Figures`] and the digest of
/// the outcomes ([`render_summary_digest`]).
pub fn write_summary_digest(
    path: &Path,
    plan: &PlanHeader,
    figures: &Figures,
    outcomes: &RunDigest,
    run: &RunFigures,
) -> Result<(), ReportError> {
    let text = render_summary_digest(plan, figures, outcomes, run, report_dir(path));
    std::fs::write(path, text).map_err(|e| ReportError::write(path, e))
}

// ---- report.html ----

/// Rules the run's page adds to the plan report's style sheet.
const RUN_STYLE: &str = concat!("\n", include_str!("run.css"));

/// The status's CSS class (`s-done`, ...).
fn status_class(status: RunStatus) -> String {
    format!("s-{}", status.as_str())
}

/// Renders a run's `report.html`; `dir` is the run's folder (for the resume command).
pub fn render_html(
    plan: &PlanFile,
    outcomes: &[UserOutcome],
    run: &RunFigures,
    dir: &Path,
) -> String {
    render_html_digest(
        &plan.header(),
        &Figures::of(plan),
        &RunDigest::of(outcomes),
        run,
        dir,
    )
}

/// Renders a run's `report.html` from the plan's header and [`Figures`] and the digest
/// of the outcomes: the same bytes as [`render_html`] of the whole plan and outcomes.
pub fn render_html_digest(
    plan: &PlanHeader,
    figures: &Figures,
    outcomes: &RunDigest,
    run: &RunFigures,
    dir: &Path,
) -> String {
    let mut out = String::with_capacity(20_000 + outcomes.rows.min(MAX_HTML_ROWS) * 700);
    html_document(&mut out, plan, figures, outcomes, run, dir).expect("writing to a String");
    out
}

/// Writes a run's `report.html`.
pub fn write_html(
    path: &Path,
    plan: &PlanFile,
    outcomes: &[UserOutcome],
    run: &RunFigures,
) -> Result<(), ReportError> {
    write_html_digest(
        path,
        &plan.header(),
        &Figures::of(plan),
        &RunDigest::of(outcomes),
        run,
    )
}

/// Writes a run's `report.html` from the plan's header and [`Figures`] and the digest of
/// the outcomes ([`render_html_digest`]).
pub fn write_html_digest(
    path: &Path,
    plan: &PlanHeader,
    figures: &Figures,
    outcomes: &RunDigest,
    run: &RunFigures,
) -> Result<(), ReportError> {
    let text = render_html_digest(plan, figures, outcomes, run, report_dir(path));
    std::fs::write(path, text).map_err(|e| ReportError::write(path, e))
}

fn html_document(
    out: &mut String,
    plan: &PlanHeader,
    f: &Figures,
    d: &RunDigest,
    run: &RunFigures,
    dir: &Path,
) -> fmt::Result {
    let t = &d.tally;
    let graph = graph_root(plan, run);
    let kind = match (run.sim, run.interrupted) {
        (false, false) => "RUN",
        (false, true) => "INTERRUPTED RUN",
        (true, false) => "EMULATOR RUN",
        (true, true) => "INTERRUPTED EMULATOR RUN",
    };
    let tool = format!("mfa-reset {}", env!("CARGO_PKG_VERSION"));
    head(
        out,
        "mfa-reset-run",
        &tool,
        &format!(
            "{kind} · mfa-reset · {} · {}",
            Text(graph),
            Text(&run.started)
        ),
        &page_style(
            &format!("{STYLE}{RUN_STYLE}"),
            &format!("mfa-reset {kind} report"),
            &plan.fingerprint,
        ),
    )?;

    html_header(out, plan, t, run, graph, dir)?;
    html_figures(out, f, t, run)?;
    html_charts(out, plan, f, t)?;
    html_versus(out, f, t)?;
    html_failures(out, &d.failures, d.failures_total)?;
    html_drifted(out, &d.drifted, d.drifted_total)?;
    html_users(out, d)?;

    writeln!(
        out,
        "<footer><p>Written by {} after the run of the plan above. <code>results.csv</code> \
         and <code>results.jsonl</code> have one row per input row; <code>journal.jsonl</code> \
         records every step as it was made; passes issued are only in \
         <code>secrets/tap.csv</code>.</p></footer>",
        Text(&tool)
    )?;
    tail(out)
}

fn html_header(
    out: &mut String,
    plan: &PlanHeader,
    t: &RunTally,
    run: &RunFigures,
    graph: &str,
    dir: &Path,
) -> fmt::Result {
    writeln!(out, "<header>")?;
    writeln!(out, "<h1>mfa-reset run report</h1>")?;
    if run.sim {
        writeln!(
            out,
            "<div class=\"banner sim\" id=\"run-banner\"><strong>EMULATOR RUN — no real \
             tenant was changed.</strong> The plan below was carried out against \
             mfa-reset's Graph emulator (<code>{}</code>): a rehearsal.</div>",
            Text(graph)
        )?;
    } else {
        writeln!(
            out,
            "<div class=\"banner live\" id=\"run-banner\"><strong>RUN — changes were made \
             in the tenant.</strong> The plan below was carried out through Microsoft Graph \
             at <code>{}</code>; every row says what was done.</div>",
            Text(graph)
        )?;
    }
    if run.interrupted {
        let pending = t.count(RunStatus::Pending);
        writeln!(
            out,
            "<div class=\"banner interrupted\" id=\"interrupted-banner\"><strong>INTERRUPTED \
             — {} {} not finished.</strong> They are listed as <em>pending</em>. Resume with \
             <code id=\"resume-command\">{}</code>; steps already made are not sent \
             again.</div>",
            grouped(pending),
            if pending == 1 { "user" } else { "users" },
            Text(&resume_command(dir))
        )?;
    }
    writeln!(out, "<dl class=\"meta\">")?;
    writeln!(
        out,
        "<dt>Tenant (Graph root)</dt><dd><code id=\"graph\">{}</code>{}</dd>",
        Text(graph),
        if run.sim {
            " <span class=\"muted\">(emulator)</span>"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "<dt>Started</dt><dd><time id=\"started\">{}</time></dd>",
        Text(&run.started)
    )?;
    writeln!(
        out,
        "<dt>Ended</dt><dd><time id=\"ended\">{}</time></dd>",
        Text(&run.ended)
    )?;
    writeln!(
        out,
        "<dt>Finished</dt><dd id=\"finished\">{}</dd>",
        if run.interrupted {
            "no — interrupted"
        } else {
            "yes, every user"
        }
    )?;
    writeln!(
        out,
        "<dt>Plan</dt><dd>read at <time>{}</time> from <code>{}</code> by {}</dd>",
        Text(&plan.created),
        Text(&plan.graph),
        Text(&plan.tool)
    )?;
    plan_provenance(out, plan)?;
    writeln!(out, "</dl>")?;
    writeln!(out, "</header>")
}

fn html_figures(out: &mut String, f: &Figures, t: &RunTally, run: &RunFigures) -> fmt::Result {
    let attention: usize = ATTENTION.iter().map(|&s| t.count(s)).sum();
    writeln!(
        out,
        "<section aria-labelledby=\"h-figures\"><h2 id=\"h-figures\">In figures</h2>\
         <div class=\"figures\">"
    )?;
    writeln!(
        out,
        "<div class=\"figure\"><div class=\"l\">Users done</div>\
         <div class=\"n\" id=\"figure-done\">{}</div><div class=\"s\">of {} users with \
         changes planned; {} input rows</div></div>",
        grouped(t.count(RunStatus::Done)),
        grouped(f.users_affected),
        grouped(t.rows)
    )?;
    writeln!(
        out,
        "<div class=\"figure{}\"><div class=\"l\">Need attention</div>\
         <div class=\"n\" id=\"figure-attention\">{}</div><div class=\"s\">failed, partly \
         done, blocked, drifted or pending</div></div>",
        if attention > 0 { " attention" } else { "" },
        grouped(attention)
    )?;
    writeln!(
        out,
        "<div class=\"figure\"><div class=\"l\">Graph writes sent</div>\
         <div class=\"n\" id=\"figure-writes\">{}</div><div class=\"s\">{} planned · {} \
         throttled · {} retried</div></div>",
        grouped_u64(run.writes_sent),
        grouped(f.writes),
        grouped_u64(run.throttled),
        grouped_u64(run.retries)
    )?;
    writeln!(
        out,
        "<div class=\"figure\"><div class=\"l\">Wall time</div>\
         <div class=\"n\" id=\"figure-time\">{}</div><div class=\"s\">the plan's writes take \
         at least {} at the Graph write budget</div></div>",
        Text(&human_duration(run.wall_seconds)),
        Text(&human_duration(f.minimum_seconds))
    )?;
    writeln!(out, "</div></section>")
}

fn grouped_u64(n: u64) -> String {
    grouped(usize::try_from(n).unwrap_or(usize::MAX))
}

fn html_charts(out: &mut String, plan: &PlanHeader, f: &Figures, t: &RunTally) -> fmt::Result {
    writeln!(out, "<section class=\"charts\">")?;

    writeln!(
        out,
        "<figure><figcaption id=\"h-status\"><h2>Users by status</h2></figcaption>"
    )?;
    let present: Vec<RunStatus> = RunStatus::ALL
        .into_iter()
        .filter(|&s| t.count(s) > 0)
        .collect();
    if present.is_empty() {
        writeln!(out, "<p>The input has no rows.</p>")?;
    } else {
        let bars: Vec<Bar> = present
            .iter()
            .map(|&s| Bar {
                label: s.as_str().to_string(),
                value: t.count(s),
                class: status_fill(s),
            })
            .collect();
        bar_chart(out, "chart-status", "Users by status", &bars, Some(t.rows))?;
        writeln!(out, "<dl class=\"legend\">")?;
        for &s in &present {
            writeln!(
                out,
                "<dt><span class=\"badge {}\">{}</span></dt><dd>{}</dd>",
                status_class(s),
                s,
                status_meaning(s)
            )?;
        }
        writeln!(out, "</dl>")?;
    }
    writeln!(out, "</figure>")?;

    writeln!(
        out,
        "<figure><figcaption id=\"h-changes\"><h2>Changes made</h2></figcaption>"
    )?;
    let mut bars = Vec::new();
    if plan.policy.revoke_sessions() || f.revoke > 0 || t.sessions_revoked > 0 {
        bars.push(Bar {
            label: "Sign-in sessions revoked".into(),
            value: t.sessions_revoked,
            class: "c-action",
        });
    }
    if plan.policy.disable_account() || f.disable > 0 || t.accounts_disabled > 0 {
        bars.push(Bar {
            label: "Accounts disabled".into(),
            value: t.accounts_disabled,
            class: "c-action",
        });
    }
    let mut kinds: Vec<&String> = f
        .deletes_by_type
        .keys()
        .chain(t.removed_by_type.keys())
        .collect();
    kinds.sort_by_key(|k| (method_order(k), k.as_str()));
    kinds.dedup();
    for kind in kinds {
        bars.push(Bar {
            label: format!("Removed {}", method_words(kind)),
            value: t.removed_by_type.get(kind).copied().unwrap_or(0),
            class: "c-remove",
        });
    }
    if t.already_removed() > 0 {
        bars.push(Bar {
            label: "Methods already gone".into(),
            value: t.already_removed(),
            class: "c-already",
        });
    }
    if plan.policy.tap().is_some() || f.issue_pass > 0 || t.taps_issued > 0 {
        bars.push(Bar {
            label: "Temporary Access Passes".into(),
            value: t.taps_issued,
            class: "c-tap",
        });
    }
    if bars.is_empty() {
        writeln!(out, "<p>No change was planned.</p>")?;
    } else {
        bar_chart_labelled(out, "chart-changes", "Changes made", &bars, None, 230)?;
        writeln!(
            out,
            "<p class=\"muted\">Method removals count methods, not users. \"Already gone\": \
             the method was removed before this run got to it (Graph answered 404).</p>"
        )?;
    }
    writeln!(out, "</figure>")?;
    writeln!(out, "</section>")
}

/// The fill class of a status's bar (a `&'static str`, as [`Bar`] wants).
fn status_fill(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Done => "s-done",
        RunStatus::NoChange => "s-no-change",
        RunStatus::Partial => "s-partial",
        RunStatus::Failed => "s-failed",
        RunStatus::Drifted => "s-drifted",
        RunStatus::NotFound => "s-not-found",
        RunStatus::Invalid => "s-invalid",
        RunStatus::Duplicate => "s-duplicate",
        RunStatus::Excluded => "s-excluded",
        RunStatus::Protected => "s-protected",
        RunStatus::Blocked => "s-blocked",
        RunStatus::Pending => "s-pending",
    }
}

fn html_versus(out: &mut String, f: &Figures, t: &RunTally) -> fmt::Result {
    writeln!(
        out,
        "<section aria-labelledby=\"h-versus\"><h2 id=\"h-versus\">Planned against done</h2>\
         <table id=\"versus\" class=\"versus\"><thead><tr><th>Change</th>\
         <th class=\"num\">Planned</th><th class=\"num\">Done</th>\
         <th class=\"num\">Already done</th><th class=\"num\">Not done</th></tr></thead><tbody>"
    )?;
    for v in versus(f, t) {
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            Text(&v.change),
            grouped(v.planned),
            grouped(v.done),
            v.already.map_or("—".to_string(), grouped),
            grouped(v.not_done())
        )?;
    }
    writeln!(
        out,
        "</tbody></table><p class=\"muted\">\"Already done\": methods gone before the run got \
         to them. A user counts as done only when every planned change was made.</p></section>"
    )
}

/// `…and N more in results.csv` under a cut table.
fn html_more(out: &mut String, total: usize) -> fmt::Result {
    if total > MAX_HTML_ROWS {
        writeln!(
            out,
            "<p class=\"more\">…and {} more in <code>results.csv</code>.</p>",
            grouped(total - MAX_HTML_ROWS)
        )?;
    }
    Ok(())
}

/// The failures table: the first of them (`rows`) and how many there are (`total`).
fn html_failures(out: &mut String, rows: &[UserOutcome], total: usize) -> fmt::Result {
    writeln!(
        out,
        "<section aria-labelledby=\"h-failures\"><h2 id=\"h-failures\">Failed, partly done \
         or blocked ({})</h2>",
        grouped(total)
    )?;
    if total == 0 {
        return writeln!(out, "<p>None.</p></section>");
    }
    writeln!(
        out,
        "<table id=\"failures\"><thead><tr><th class=\"num w-line\">Line</th>\
         <th class=\"w-user\">User</th><th class=\"w-status\">Status</th>\
         <th class=\"w-code\">Error code</th><th class=\"w-msg\">Message</th>\
         <th class=\"w-rid\">Request ids</th></tr></thead><tbody>"
    )?;
    for o in rows.iter().take(MAX_HTML_ROWS) {
        let status = o.final_status();
        let message = o.error_message.as_deref().or(o.reason.as_deref());
        write!(
            out,
            "<tr data-status=\"{status}\"><td class=\"num\">{}</td><td>{}</td>\
             <td><span class=\"badge {}\">{status}</span></td><td><code>{}</code></td>\
             <td>{}</td><td>",
            o.line,
            UserCell(o),
            status_class(status),
            Text(o.error_code.as_deref().unwrap_or("")),
            Text(message.unwrap_or("")),
        )?;
        for (i, id) in o.request_ids.iter().enumerate() {
            if i > 0 {
                write!(out, "<br>")?;
            }
            write!(out, "<code>{}</code>", Text(id))?;
        }
        writeln!(out, "</td></tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    html_more(out, total)?;
    writeln!(out, "</section>")
}

/// The drifted table: the first of them (`rows`) and how many there are (`total`).
fn html_drifted(out: &mut String, rows: &[UserOutcome], total: usize) -> fmt::Result {
    writeln!(
        out,
        "<section aria-labelledby=\"h-drifted\"><h2 id=\"h-drifted\">Drifted ({})</h2>",
        grouped(total)
    )?;
    if total == 0 {
        return writeln!(
            out,
            "<p>None: every user's methods were as the plan read them.</p></section>"
        );
    }
    writeln!(
        out,
        "<p>Nothing was changed for these users: their methods differ from what the plan \
         read. Plan again for them.</p>\
         <table id=\"drifted\"><thead><tr><th class=\"num w-line\">Line</th>\
         <th class=\"w-user\">User</th><th class=\"w-drift\">What changed</th></tr></thead><tbody>"
    )?;
    for o in rows.iter().take(MAX_HTML_ROWS) {
        writeln!(
            out,
            "<tr data-status=\"drifted\"><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            o.line,
            UserCell(o),
            Text(o.reason.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    html_more(out, total)?;
    writeln!(out, "</section>")
}

fn html_users(out: &mut String, d: &RunDigest) -> fmt::Result {
    let t = &d.tally;
    let total = d.rows;
    let shown = total.min(MAX_HTML_ROWS);
    let with_columns = d.with_columns;
    writeln!(
        out,
        "<section aria-labelledby=\"h-users\"><h2 id=\"h-users\">Per user ({} rows)</h2>",
        grouped(total)
    )?;
    if total == 0 {
        return writeln!(out, "<p>The input has no rows.</p></section>");
    }
    if shown < total {
        writeln!(
            out,
            "<p class=\"more\" id=\"users-cut\">The first {} of {} rows are listed here; \
             <code>results.csv</code> has all {}.</p>",
            grouped(shown),
            grouped(total),
            grouped(total)
        )?;
    } else {
        writeln!(
            out,
            "<p class=\"muted\">Every input row, in input order, with what was done.</p>"
        )?;
    }
    filter_form(
        out,
        "user, method, error…",
        RunStatus::ALL
            .into_iter()
            .filter(|&s| t.count(s) > 0)
            .map(|s| (s.as_str(), t.count(s))),
    )?;
    write!(
        out,
        "<table id=\"users\"><thead><tr><th class=\"num w-line\">Line</th>\
         <th class=\"w-user\">User</th><th class=\"w-status\">Status</th>\
         <th class=\"w-done\">What was done</th><th class=\"w-err\">Why / error</th>"
    )?;
    if with_columns {
        write!(out, "<th class=\"w-cols\">From the input</th>")?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    for o in d.first.iter().take(MAX_HTML_ROWS) {
        let status = o.final_status();
        write!(
            out,
            "<tr data-status=\"{status}\"><td class=\"num\">{}</td><td>{}</td>\
             <td><span class=\"badge {}\">{status}</span></td><td>",
            o.line,
            UserCell(o),
            status_class(status),
        )?;
        let done = done_items(o);
        if done.is_empty() {
            write!(out, "<span class=\"muted\">nothing</span>")?;
        } else {
            write!(out, "<ul>")?;
            for item in &done {
                write!(out, "<li>{}</li>", Text(item))?;
            }
            write!(out, "</ul>")?;
        }
        if !o.kept.is_empty() {
            write!(
                out,
                "<p class=\"kept\">kept: {}</p>",
                Text(&labels(&o.kept))
            )?;
        }
        if let Some(left) = &o.remaining {
            write!(
                out,
                "<p class=\"kept\">verified, still registered: {}</p>",
                Text(&if left.is_empty() {
                    "none".to_string()
                } else {
                    labels(left)
                })
            )?;
        }
        write!(out, "</td><td>")?;
        if let Some(reason) = &o.reason {
            write!(out, "<p class=\"reason\">{}</p>", Text(reason))?;
        }
        if o.error_code.is_some() || o.error_message.is_some() {
            write!(out, "<p class=\"error\">")?;
            if let Some(code) = &o.error_code {
                write!(out, "<code>{}</code> ", Text(code))?;
            }
            write!(
                out,
                "{}</p>",
                Text(o.error_message.as_deref().unwrap_or(""))
            )?;
        }
        // Request ids matter to Microsoft support when something went wrong; for the
        // rest they are in results.csv.
        if !o.request_ids.is_empty()
            && (FAILURES.contains(&status) || o.error_code.is_some() || o.error_message.is_some())
        {
            write!(
                out,
                "<p class=\"rid\">request-id {}</p>",
                Text(&o.request_ids.join(", "))
            )?;
        }
        write!(out, "</td>")?;
        if with_columns {
            write!(out, "<td>")?;
            if !o.columns.is_empty() {
                write!(out, "<dl class=\"cols\">")?;
                for (name, value) in &o.columns {
                    write!(out, "<dt>{}</dt><dd>{}</dd>", Text(name), Text(value))?;
                }
                write!(out, "</dl>")?;
            }
            write!(out, "</td>")?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    if shown < total {
        writeln!(
            out,
            "<p class=\"more\">…and {} more rows in <code>results.csv</code>.</p>",
            grouped(total - shown)
        )?;
    }
    writeln!(out, "</section>")
}

/// The user cell: the input value, and the UPN Graph knows if it differs.
struct UserCell<'a>(&'a UserOutcome);

impl fmt::Display for UserCell<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (input, upn) = user_words(self.0);
        write!(f, "<span class=\"user\">{}</span>", Text(input))?;
        if let Some(upn) = upn {
            write!(f, "<br><span class=\"upn\">{}</span>", Text(upn))?;
        }
        Ok(())
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

    #[test]
    fn every_status_has_a_fill_that_matches_its_class() {
        for s in RunStatus::ALL {
            assert_eq!(status_fill(s), status_class(s));
            assert!(
                STYLE.contains(&format!(".{}{{fill:", status_fill(s)))
                    || RUN_STYLE.contains(&format!(".{}{{fill:", status_fill(s))),
                "{s}"
            );
        }
    }

    #[test]
    fn markdown_code_spans_survive_tables() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "a\\`b");
        assert_eq!(code(""), "");
    }
}
