//! What a restore leaves for people: `results.csv` and `results.jsonl` (one row per user
//! the run changed, in the run's order), `summary.md` and `report.html` in the restore's
//! folder. Each row says what was put back, what was back already, what was changed
//! since and left alone, and what cannot be restored — never a phone number or an email
//! address (those live only in the run's `secrets/restore.jsonl`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::markdown::escape;
use super::page::{Frame, Text, page};

/// One user's restore.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRow {
    /// 1-based line of the run's input.
    pub line: usize,
    pub input: String,
    pub user_id: String,
    pub user_principal_name: String,
    /// `done`, `partial`, `failed`, `no-change`, `unknown`, `not-found`; `planned` in a
    /// dry run.
    pub status: String,
    /// What this restore put back.
    pub restored: Vec<String>,
    /// What was back already.
    pub unchanged: Vec<String>,
    /// What was changed since the run and left as it is.
    pub left_alone: Vec<String>,
    /// What cannot be restored, and why.
    pub cannot_restore: Vec<String>,
    /// Changes that failed (or whose answer was lost), with Graph's error.
    pub errors: Vec<String>,
}

/// Where the restore happened and from what.
pub struct RestoreHeader<'a> {
    pub run_dir: &'a Path,
    pub graph: &'a str,
    pub tenant: &'a str,
    pub started: &'a str,
    pub tool: &'a str,
    /// The run's plan fingerprint.
    pub fingerprint: &'a str,
    pub only: &'a str,
}

/// Writes the four files to `out`; returns their paths.
pub fn write(
    out: &Path,
    header: &RestoreHeader<'_>,
    rows: &[RestoreRow],
) -> std::io::Result<Vec<PathBuf>> {
    let csv_path = out.join("results.csv");
    let mut csv = csv::Writer::from_path(&csv_path)?;
    csv.write_record([
        "line",
        "input",
        "userId",
        "userPrincipalName",
        "status",
        "restored",
        "unchanged",
        "leftAlone",
        "cannotRestore",
        "errors",
    ])?;
    for r in rows {
        let line = r.line.to_string();
        csv.write_record([
            line.as_str(),
            &r.input,
            &r.user_id,
            &r.user_principal_name,
            &r.status,
            &r.restored.join("; "),
            &r.unchanged.join("; "),
            &r.left_alone.join("; "),
            &r.cannot_restore.join("; "),
            &r.errors.join("; "),
        ])?;
    }
    csv.flush()?;
    let jsonl_path = out.join("results.jsonl");
    let mut jsonl = String::new();
    for r in rows {
        jsonl.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
        jsonl.push('\n');
    }
    std::fs::write(&jsonl_path, jsonl)?;
    let summary_path = out.join("summary.md");
    std::fs::write(&summary_path, summary(header, rows))?;
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html(header, rows))?;
    Ok(vec![csv_path, jsonl_path, summary_path, html_path])
}

/// Users by status, in a fixed order.
pub fn counts(rows: &[RestoreRow]) -> Vec<(String, usize)> {
    let order = [
        "planned",
        "done",
        "partial",
        "failed",
        "unknown",
        "no-change",
        "not-found",
    ];
    order
        .iter()
        .map(|s| {
            (
                s.to_string(),
                rows.iter().filter(|r| r.status == *s).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn summary(h: &RestoreHeader<'_>, rows: &[RestoreRow]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# mfa-reset restore\n");
    let _ = writeln!(
        md,
        "Restore of the run in `{}` on {} by {}.\n",
        h.run_dir.display(),
        h.started,
        h.tool
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Tenant | {} |", escape(h.tenant));
    let _ = writeln!(md, "| Graph | `{}` |", h.graph);
    let _ = writeln!(md, "| The run's plan fingerprint | `{}` |", h.fingerprint);
    let _ = writeln!(md, "| Restored | {} |", escape(h.only));
    let counted: Vec<String> = counts(rows)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(
        md,
        "| Users | {} ({}) |\n",
        rows.len(),
        if counted.is_empty() {
            "none".to_string()
        } else {
            counted.join(", ")
        }
    );
    let cannot: Vec<&RestoreRow> = rows
        .iter()
        .filter(|r| !r.cannot_restore.is_empty())
        .collect();
    if !cannot.is_empty() {
        let _ = writeln!(
            md,
            "## What cannot be restored ({} users)\n\nAn administrator cannot create these again: each user registers them anew.\n",
            cannot.len()
        );
        let _ = writeln!(md, "| Line | User | Cannot be restored |\n|---|---|---|");
        for r in &cannot {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                r.line,
                escape(&r.user_principal_name),
                escape(&r.cannot_restore.join("; "))
            );
        }
        let _ = writeln!(md);
    }
    let trouble: Vec<&RestoreRow> = rows
        .iter()
        .filter(|r| !r.errors.is_empty() || !r.left_alone.is_empty())
        .collect();
    if !trouble.is_empty() {
        let _ = writeln!(md, "## Failed, or changed since the run\n");
        let _ = writeln!(md, "| Line | User | Status | Why |\n|---|---|---|---|");
        for r in &trouble {
            let why: Vec<&String> = r.errors.iter().chain(&r.left_alone).collect();
            let why: Vec<&str> = why.iter().map(|s| s.as_str()).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.line,
                escape(&r.user_principal_name),
                r.status,
                escape(&why.join("; "))
            );
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "Every user's row is in `results.csv` and `results.jsonl`. Running the same restore again puts back only what is still missing."
    );
    md
}

fn html(h: &RestoreHeader<'_>, rows: &[RestoreRow]) -> String {
    let frame = Frame {
        report: "mfa-reset-restore",
        tool: h.tool,
        what: "RESTORE",
        graph: h.graph,
        when: h.started,
        style: "",
        print_title: "mfa-reset RESTORE",
        fingerprint: h.fingerprint,
        footer: "from the run's record and the state it kept. <code>results.csv</code> and \
                 <code>results.jsonl</code> have one row per user.",
    };
    page(&frame, rows.len(), |out| {
        writeln!(out, "<header><h1>Restore of a run</h1>")?;
        writeln!(out, "<dl class=\"provenance\">")?;
        writeln!(
            out,
            "<dt>Run</dt><dd><code>{}</code></dd>",
            Text(&h.run_dir.display().to_string())
        )?;
        writeln!(out, "<dt>Tenant</dt><dd>{}</dd>", Text(h.tenant))?;
        writeln!(out, "<dt>Restored</dt><dd>{}</dd>", Text(h.only))?;
        writeln!(
            out,
            "<dt>The run's plan fingerprint</dt><dd><code>{}</code></dd>",
            Text(h.fingerprint)
        )?;
        let counted: Vec<String> = counts(rows)
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        writeln!(
            out,
            "<dt>Users</dt><dd id=\"users\">{} ({})</dd></dl></header>",
            rows.len(),
            Text(&counted.join(", "))
        )?;
        writeln!(out, "<main><section><h2>Per user</h2>")?;
        writeln!(
            out,
            "<table id=\"users-table\"><thead><tr><th>Line</th><th>User</th><th>Status</th>\
             <th>Restored</th><th>Back already</th><th>Left alone</th><th>Cannot be restored</th>\
             <th>Errors</th></tr></thead><tbody>"
        )?;
        for r in rows {
            write!(
                out,
                "<tr data-status=\"{}\"><td>{}</td><td>{}</td><td>{}</td>",
                Text(&r.status),
                r.line,
                Text(&r.user_principal_name),
                Text(&r.status)
            )?;
            for list in [
                &r.restored,
                &r.unchanged,
                &r.left_alone,
                &r.cannot_restore,
                &r.errors,
            ] {
                write!(out, "<td>{}</td>", Text(&list.join("; ")))?;
            }
            writeln!(out, "</tr>")?;
        }
        writeln!(out, "</tbody></table></section></main>")
    })
}
