//! `summary.md`: the plan in words and tables, for a change board — what would change,
//! for whom, how many Graph writes that takes and how long at least, what is blocked and
//! why, and the per-user table.

use std::fmt::Write as _;
use std::path::Path;

use super::{PlanDigest, ReportError, human_duration, results::steps_text};
use crate::plan::{PlanFile, Status};

/// At most this many users are listed in the Markdown table; `results.csv` has them all.
pub const MAX_TABLE_ROWS: usize = 500;

/// Renders `summary.md`.
pub fn render(plan: &PlanFile) -> String {
    render_digest(&PlanDigest::of(plan))
}

/// Renders `summary.md` from a plan's digest: the same text as [`render`] of the plan.
pub fn render_digest(digest: &PlanDigest) -> String {
    let plan = &digest.header;
    let f = &digest.figures;
    let mut md = String::new();
    let _ = writeln!(md, "# mfa-reset plan\n");
    let _ = writeln!(
        md,
        "Read from `{}` on {} by {}. **Nothing has been changed yet.**\n",
        plan.graph, plan.created, plan.tool
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(
        md,
        "| Input | `{}` ({} rows, SHA-256 `{}`) |",
        plan.input.file,
        plan.input.rows,
        short(&plan.input.sha256)
    );
    let _ = writeln!(
        md,
        "| Policy | {} |",
        escape(&plan.policy.summary().join("; "))
    );
    let _ = writeln!(md, "| Plan fingerprint | `{}` |", plan.fingerprint);
    let _ = writeln!(md, "| Users who would change | **{}** |", f.users_affected);
    let _ = writeln!(
        md,
        "| Graph writes | **{}**, at least {} at the write budget |\n",
        f.writes,
        human_duration(f.minimum_seconds)
    );
    let needed = crate::graph::permissions::for_policy(&plan.policy);
    let needed: Vec<String> = needed
        .iter()
        .map(|p| format!("`{}` ({})", p.name, p.why))
        .collect();
    let _ = writeln!(
        md,
        "Graph application permissions the app needs for this policy (least privilege, admin consent): {}.\n",
        needed.join(", ")
    );

    let _ = writeln!(md, "## Users by status\n\n| Status | Users |\n|---|---:|");
    for status in Status::ALL {
        let n = f.count(status);
        if n > 0 {
            let _ = writeln!(md, "| {status} | {n} |");
        }
    }
    let _ = writeln!(md, "| **all rows** | **{}** |\n", f.rows);

    let _ = writeln!(md, "## Changes\n\n| Change | Count |\n|---|---:|");
    let _ = writeln!(md, "| Revoke sign-in sessions | {} |", f.revoke);
    let _ = writeln!(md, "| Disable account | {} |", f.disable);
    for (kind, n) in &f.deletes_by_type {
        let _ = writeln!(md, "| Remove {kind} method | {n} |");
    }
    let _ = writeln!(md, "| Issue Temporary Access Pass | {} |\n", f.issue_pass);

    let blockers = &digest.attention;
    let blockers_total = digest.attention_total;
    if blockers_total > 0 {
        let _ = writeln!(
            md,
            "## Needs attention ({})\n\n| Line | User | Status | Why |\n|---:|---|---|---|",
            blockers_total
        );
        for e in blockers.iter().take(MAX_TABLE_ROWS) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                e.line,
                escape(&e.input),
                e.status,
                escape(e.reason.as_deref().unwrap_or(""))
            );
        }
        if blockers_total > MAX_TABLE_ROWS {
            let _ = writeln!(
                md,
                "\n…and {} more in `results.csv`.",
                blockers_total - MAX_TABLE_ROWS
            );
        }
        let _ = writeln!(md);
    }

    let planned = &digest.planned;
    let planned_total = digest.planned_total;
    let _ = writeln!(
        md,
        "## Planned changes per user ({})\n\n| Line | User | Steps, in order |\n|---:|---|---|",
        planned_total
    );
    for e in planned.iter().take(MAX_TABLE_ROWS) {
        let upn = e
            .before
            .as_ref()
            .map_or(e.input.as_str(), |u| u.user_principal_name.as_str());
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            e.line,
            escape(upn),
            escape(&steps_text(e))
        );
    }
    if planned_total > MAX_TABLE_ROWS {
        let _ = writeln!(
            md,
            "\n…and {} more in `results.csv`.",
            planned_total - MAX_TABLE_ROWS
        );
    }
    md
}

/// Writes `summary.md`.
pub fn write(path: &Path, plan: &PlanFile) -> Result<(), ReportError> {
    write_digest(path, &PlanDigest::of(plan))
}

/// Writes `summary.md` from a plan's digest.
pub fn write_digest(path: &Path, digest: &PlanDigest) -> Result<(), ReportError> {
    std::fs::write(path, render_digest(digest)).map_err(|e| ReportError::write(path, e))
}

/// The first 16 characters of a hash (a hand-edited plan may hold any text there).
pub(super) fn short(hash: &str) -> &str {
    match hash.char_indices().nth(16) {
        Some((end, _)) => &hash[..end],
        None => hash,
    }
}

/// Keeps user-supplied text from breaking a Markdown table or injecting markup.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
