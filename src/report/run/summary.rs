//! A run's `summary.md`: where and when the run went, whether it finished, users by
//! status, what was done, planned against done, the failures, the drifted users and the
//! per-user table — rendered from the plan's header and figures and the run's
//! [`RunDigest`], with the Markdown escaping both summaries share.

use std::fmt::{self, Write as _};
use std::path::Path;

use super::{
    MAX_SUMMARY_ROWS, RunDigest, RunFigures, RunTally, done_items, error_words, graph_root,
    resume_command, user_words, versus,
};
use crate::engine::outcome::{RunStatus, UserOutcome};
use crate::plan::PlanHeader;
use crate::report::markdown::{code, escape as md, groups as groups_table, more, short};
use crate::report::{Figures, FirstRows, human_duration, method_order, method_words};

/// Renders a run's `summary.md`; `dir` is the run's folder (for the resume command).
pub(super) fn render(
    plan: &PlanHeader,
    figures: &Figures,
    outcomes: &RunDigest,
    run: &RunFigures,
    dir: &Path,
) -> String {
    let mut out = String::with_capacity(4_096 + outcomes.tally.rows.min(MAX_SUMMARY_ROWS) * 120);
    document(&mut out, plan, figures, outcomes, run, dir).expect("writing to a String");
    out
}

fn document(
    out: &mut String,
    plan: &PlanHeader,
    f: &Figures,
    d: &RunDigest,
    run: &RunFigures,
    dir: &Path,
) -> fmt::Result {
    let graph = graph_root(plan, run);
    let resume = resume_command(dir);
    banner(out, &d.tally, run, graph, &resume)?;
    facts(out, plan, f, run, graph, &resume)?;
    statuses(out, &d.tally)?;
    done(out, &d.tally)?;
    planned_against_done(out, f, &d.tally)?;
    failures(out, d)?;
    let drifted = "Nothing was changed for these users: their methods differ from what the \
                   plan read. Plan again for them.\n\n| Line | User | What changed |\n|---:|---|---|";
    listed(out, "Drifted", &d.drifted, drifted, |out, o| {
        writeln!(
            out,
            "| {} | {} | {} |",
            o.line,
            md_user(o),
            md(o.reason.as_deref().unwrap_or(""))
        )
    })?;
    users(out, d)
}

/// The outcomes that failed, were partly done or blocked: one line per status and
/// error (or reason).
fn failures(out: &mut String, d: &RunDigest) -> fmt::Result {
    let heading = "Failed, partly done or blocked";
    let why = "Error or reason";
    groups_table(out, heading, &d.failures, MAX_SUMMARY_ROWS, why, |o| o.line)?;
    if !d.failures.is_empty() {
        writeln!(
            out,
            "Each user's Graph request ids (for Microsoft support) are in `results.csv` and \
             `report.html`.\n"
        )?;
    }
    Ok(())
}

/// The title, where the changes went, and whether the run was interrupted.
fn banner(
    out: &mut String,
    t: &RunTally,
    run: &RunFigures,
    graph: &str,
    resume: &str,
) -> fmt::Result {
    let interrupted = if run.interrupted {
        " — interrupted"
    } else {
        ""
    };
    writeln!(out, "# mfa-reset run{interrupted}\n")?;
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
        let pending = t.count(RunStatus::Pending);
        writeln!(
            out,
            "**Interrupted** before every user finished: {} {} `pending`. Resume with \
             {}; steps already made are not sent again.\n",
            pending,
            if pending == 1 { "user is" } else { "users are" },
            code(resume)
        )?;
    }
    Ok(())
}

/// The run's and the plan's facts, in a table.
fn facts(
    out: &mut String,
    plan: &PlanHeader,
    f: &Figures,
    run: &RunFigures,
    graph: &str,
    resume: &str,
) -> fmt::Result {
    let emulator = if run.sim { " (emulator)" } else { "" };
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(out, "| Graph | {}{emulator} |", code(graph))?;
    writeln!(out, "| Started | {} |", md(&run.started))?;
    writeln!(out, "| Ended | {} |", md(&run.ended))?;
    writeln!(out, "| Wall time | {} |", human_duration(run.wall_seconds))?;
    if run.interrupted {
        writeln!(
            out,
            "| Finished | **no — interrupted**; resume with {} |",
            code(resume)
        )?;
    } else {
        writeln!(out, "| Finished | yes, every user |")?;
    }
    writeln!(
        out,
        "| Graph writes sent | {} ({} throttled, {} retries) |",
        run.writes_sent, run.throttled, run.retries
    )?;
    if let Some(containment) = &run.containment {
        writeln!(
            out,
            "| Phase 1: contained from the list | {} |",
            md(containment)
        )?;
    }
    writeln!(
        out,
        "| {} | read {} from {}; {} writes planned, about {} |",
        if run.containment.is_some() {
            "Phase 2: the plan"
        } else {
            "Plan"
        },
        md(&plan.created),
        code(&plan.graph),
        f.writes,
        human_duration(f.minimum_seconds)
    )?;
    writeln!(out, "| Plan fingerprint | {} |", code(&plan.fingerprint))?;
    writeln!(
        out,
        "| Tenant | {} |",
        md(&crate::report::summary::tenant_words(plan.tenant.as_ref()))
    )?;
    writeln!(
        out,
        "| Input | {} ({} rows, SHA-256 {}) |",
        code(&plan.input.file),
        plan.input.rows,
        code(short(&plan.input.sha256))
    )?;
    if !plan.notes.is_empty() {
        writeln!(out, "| Notes | {} |", md(&plan.notes.join("; ")))?;
    }
    writeln!(out, "| Policy | {} |\n", md(&plan.policy.summary_text()))
}

/// Every status, zero or not, in the same order every time.
fn statuses(out: &mut String, t: &RunTally) -> fmt::Result {
    writeln!(out, "## Users by status\n\n| Status | Users |\n|---|---:|")?;
    for status in RunStatus::ALL {
        let n = t.count(status);
        if n > 0 {
            writeln!(out, "| **{status}** | **{n}** |")?;
        } else {
            writeln!(out, "| {status} | 0 |")?;
        }
    }
    writeln!(out, "| **all rows** | **{}** |\n", t.rows)
}

fn done(out: &mut String, t: &RunTally) -> fmt::Result {
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
    if t.defaults_changed > 0 {
        writeln!(
            out,
            "| Default MFA methods changed (so that a removal was accepted) | {} |",
            t.defaults_changed
        )?;
    }
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
    Ok(())
}

fn planned_against_done(out: &mut String, f: &Figures, t: &RunTally) -> fmt::Result {
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
    writeln!(out)
}

/// A section listing some of the outcomes (`list`): `## HEADING (N)`, then `head` (the
/// table's header) and a row each by `row`, cut at [`MAX_SUMMARY_ROWS`]; or "None.".
fn listed(
    out: &mut String,
    heading: &str,
    list: &FirstRows<UserOutcome>,
    head: &str,
    row: impl Fn(&mut String, &UserOutcome) -> fmt::Result,
) -> fmt::Result {
    writeln!(out, "## {heading} ({})\n", list.total)?;
    if list.total == 0 {
        return writeln!(out, "None.\n");
    }
    writeln!(out, "{head}")?;
    for o in list.rows.iter().take(MAX_SUMMARY_ROWS) {
        row(out, o)?;
    }
    more(out, list.total, MAX_SUMMARY_ROWS, "")?;
    writeln!(out)
}

/// The per-user table, cut at [`MAX_SUMMARY_ROWS`].
fn users(out: &mut String, d: &RunDigest) -> fmt::Result {
    let rows = d.tally.rows;
    writeln!(out, "## Per user ({rows} rows)\n")?;
    if rows == 0 {
        return writeln!(out, "The input has no rows.");
    }
    if rows > MAX_SUMMARY_ROWS {
        writeln!(
            out,
            "The first {MAX_SUMMARY_ROWS} of {rows} rows; `results.csv` has them all.\n"
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
    more(out, rows, MAX_SUMMARY_ROWS, " rows")
}

/// The user in a Markdown cell.
fn md_user(o: &UserOutcome) -> String {
    match user_words(o) {
        (input, Some(upn)) => format!("{} ({})", md(input), md(upn)),
        (input, None) => md(input),
    }
}
