//! `summary.md`: the plan in words and tables, for a change board — what would change,
//! for whom, how many Graph writes that takes and about how long, what the plan could
//! not check, what is blocked and why (one line per status and reason, with the count and
//! the users' lines), and the per-user table. Rendered from the plan's [`PlanDigest`].

use std::fmt::{self, Write as _};
use std::path::Path;

use super::markdown::{escape, more, short};
use super::{PlanDigest, ReportError, human_duration, results::steps_text, write_file};
use crate::plan::{PlanHeader, Status};

/// At most this many users are listed in the Markdown table; `results.csv` has them all.
pub const MAX_TABLE_ROWS: usize = 500;

/// Writes the plan's `summary.md`.
pub fn write(path: &Path, digest: &PlanDigest) -> Result<(), ReportError> {
    write_file(path, render(digest))
}

fn render(digest: &PlanDigest) -> String {
    let mut md = String::new();
    document(&mut md, digest).expect("writing to a String cannot fail");
    md
}

fn document(md: &mut String, digest: &PlanDigest) -> fmt::Result {
    facts(md, digest)?;
    statuses(md, digest)?;
    changes(md, digest)?;
    attention(md, digest)?;
    planned(md, digest)
}

/// The title, where and when the tenant was read, and the plan's facts in a table.
fn facts(md: &mut String, digest: &PlanDigest) -> fmt::Result {
    let plan = &digest.header;
    let f = &digest.figures;
    writeln!(md, "# mfa-reset plan\n")?;
    writeln!(
        md,
        "Read from `{}` on {} by {}. **Nothing has been changed yet.**\n",
        plan.graph, plan.created, plan.tool
    )?;
    writeln!(md, "| | |\n|---|---|")?;
    writeln!(md, "| Tenant | {} |", tenant_words(plan.tenant.as_ref()))?;
    writeln!(
        md,
        "| Input | `{}` ({} rows, SHA-256 `{}`) |",
        plan.input.file,
        plan.input.rows,
        short(&plan.input.sha256)
    )?;
    writeln!(md, "| Policy | {} |", escape(&plan.policy.summary_text()))?;
    if let Some(words) = plan.policy.restore_data_words() {
        writeln!(md, "| Restore data | {} |", escape(words))?;
    }
    writeln!(md, "| Plan fingerprint | `{}` |", plan.fingerprint)?;
    writeln!(
        md,
        "| Users who would change | **{}** ({}) |",
        f.users_affected,
        f.affected_words(|n| n.to_string())
    )?;
    writeln!(
        md,
        "| Graph writes | **{}**, about {} to apply |\n",
        f.writes,
        human_duration(f.minimum_seconds)
    )?;
    for note in &plan.notes {
        writeln!(md, "**Note:** {}.\n", escape(note))?;
    }
    permissions(md, plan)
}

/// The Graph application permissions the policy needs.
fn permissions(md: &mut String, plan: &PlanHeader) -> fmt::Result {
    let needed: Vec<String> = crate::policy::permissions::for_policy(&plan.policy)
        .iter()
        .map(|p| format!("`{}` ({})", p.name, p.why))
        .collect();
    writeln!(
        md,
        "Graph application permissions the app needs for this policy (least privilege, admin consent): {}.\n",
        needed.join(", ")
    )
}

fn statuses(md: &mut String, digest: &PlanDigest) -> fmt::Result {
    let f = &digest.figures;
    writeln!(md, "## Users by status\n\n| Status | Users |\n|---|---:|")?;
    for status in Status::ALL {
        let n = f.count(status);
        if n > 0 {
            writeln!(md, "| {status} | {n} |")?;
        }
    }
    writeln!(md, "| **all rows** | **{}** |\n", f.rows)
}

fn changes(md: &mut String, digest: &PlanDigest) -> fmt::Result {
    let f = &digest.figures;
    writeln!(md, "## Changes\n\n| Change | Count |\n|---|---:|")?;
    writeln!(md, "| Revoke sign-in sessions | {} |", f.revoke)?;
    writeln!(md, "| Disable account | {} |", f.disable)?;
    if f.repoint > 0 {
        writeln!(
            md,
            "| Change the default MFA method (so that a removal is accepted) | {} |",
            f.repoint
        )?;
    }
    for (kind, n) in &f.deletes_by_type {
        writeln!(md, "| Remove {kind} method | {n} |")?;
    }
    writeln!(md, "| Issue Temporary Access Pass | {} |\n", f.issue_pass)
}

/// The rows that need attention, when there are any: one line per status and reason.
fn attention(md: &mut String, digest: &PlanDigest) -> fmt::Result {
    let groups = &digest.attention;
    if groups.is_empty() {
        return Ok(());
    }
    let heading = "Needs attention";
    super::markdown::groups(md, heading, groups, MAX_TABLE_ROWS, "Why", |e| e.line)
}

fn planned(md: &mut String, digest: &PlanDigest) -> fmt::Result {
    let planned = &digest.planned;
    writeln!(
        md,
        "## Planned changes per user ({})\n\n| Line | User | Steps, in order |\n|---:|---|---|",
        planned.total
    )?;
    for e in planned.rows.iter().take(MAX_TABLE_ROWS) {
        let upn = e
            .before
            .as_ref()
            .map_or(e.input.as_str(), |u| u.user_principal_name.as_str());
        writeln!(
            md,
            "| {} | {} | {} |",
            e.line,
            escape(upn),
            escape(&steps_text(e))
        )?;
    }
    more(md, planned.total, MAX_TABLE_ROWS, "")
}

/// The tenant a plan was made for, in words for the reports.
pub(crate) fn tenant_words(tenant: Option<&crate::graph::tenant::TenantIdentity>) -> String {
    match tenant {
        Some(tenant) => tenant.to_string(),
        None => "not recorded (the credential did not say which tenant it is for)".into(),
    }
}
