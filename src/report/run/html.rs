//! A run's `report.html`: the run as one self-contained page, in the plan report's frame,
//! look and per-user table (`page`): banners that say whether tenant changes were made
//! (or it was the emulator) and whether the run was interrupted (with the resume
//! command); where, when and from which plan; the figures; users by status and the
//! changes made as charts; planned against done; the failures, one line per status and
//! error with the users behind a fold, each with Graph's request ids; the drifted users;
//! and the per-user table with its filter box.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::Path;

use super::{
    FAILURES, RunDigest, RunFigures, RunTally, done_items, graph_root, labels, resume_command,
    versus,
};
use crate::engine::outcome::{RunStatus, UserOutcome};
use crate::plan::{PlanHeader, Status};
use crate::report::page::{
    self, Bar, Changes, Figure, Frame, GroupedListing, LINE, Listing, Row, StatusCount, Text, USER,
    UserTable, grouped, listing, page, provenance, user_cell,
};
use crate::report::{Figures, human_duration, method_order, method_words};

/// Rules the run's page adds to the shared style sheet.
const RUN_STYLE: &str = concat!("\n", include_str!("../run.css"));

/// Counted as "needs attention" in the report's figures.
const ATTENTION: [RunStatus; 5] = [
    RunStatus::Failed,
    RunStatus::Partial,
    RunStatus::Blocked,
    RunStatus::Drifted,
    RunStatus::Pending,
];

/// Renders a run's `report.html`; `dir` is the run's folder (for the resume command).
pub(super) fn render(
    plan: &PlanHeader,
    f: &Figures,
    d: &RunDigest,
    run: &RunFigures,
    dir: &Path,
) -> String {
    let t = &d.tally;
    let graph = graph_root(plan, run);
    let kind = match (run.sim, run.interrupted) {
        (false, false) => "RUN",
        (false, true) => "INTERRUPTED RUN",
        (true, false) => "EMULATOR RUN",
        (true, true) => "INTERRUPTED EMULATOR RUN",
    };
    let tool = format!("mfa-reset {}", env!("CARGO_PKG_VERSION"));
    let print_title = format!("mfa-reset {kind} report");
    let frame = Frame {
        report: "mfa-reset-run",
        tool: &tool,
        what: kind,
        graph,
        when: &run.started,
        style: RUN_STYLE,
        print_title: &print_title,
        fingerprint: &plan.fingerprint,
        footer: "after the run of the plan above. <code>results.csv</code> and \
                 <code>results.jsonl</code> have one row per input row; \
                 <code>journal.jsonl</code> records every step as it was made; passes \
                 issued are only in <code>secrets/tap.csv</code>.",
    };
    page(&frame, t.rows, |out| {
        header(out, plan, t, run, graph, dir)?;
        figures(out, f, t, run)?;
        charts(out, plan, f, t)?;
        planned_against_done(out, f, t)?;
        failures(out, d)?;
        drifted(out, d)?;
        users(out, d)
    })
}

fn header(
    out: &mut String,
    plan: &PlanHeader,
    t: &RunTally,
    run: &RunFigures,
    graph: &str,
    dir: &Path,
) -> fmt::Result {
    writeln!(out, "<header>")?;
    writeln!(out, "<h1>mfa-reset run report</h1>")?;
    banners(out, t, run, graph, dir)?;
    writeln!(out, "<dl class=\"meta\">")?;
    writeln!(
        out,
        "<dt>Tenant</dt><dd id=\"tenant\">{}</dd>",
        Text(&crate::report::summary::tenant_words(plan.tenant.as_ref()))
    )?;
    writeln!(
        out,
        "<dt>Graph root</dt><dd><code id=\"graph\">{}</code>{}</dd>",
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
    if let Some(containment) = &run.containment {
        writeln!(
            out,
            "<dt>Phase 1: contained from the list</dt><dd id=\"containment\">{}</dd>",
            Text(containment)
        )?;
    }
    writeln!(
        out,
        "<dt>{}</dt><dd>read at <time>{}</time> from <code>{}</code> by {}</dd>",
        if run.containment.is_some() {
            "Phase 2: the plan"
        } else {
            "Plan"
        },
        Text(&plan.created),
        Text(&plan.graph),
        Text(&plan.tool)
    )?;
    provenance(out, plan)?;
    writeln!(out, "</dl>")?;
    writeln!(out, "</header>")
}

/// What the run was (live or on the emulator), and whether it was interrupted.
fn banners(
    out: &mut String,
    t: &RunTally,
    run: &RunFigures,
    graph: &str,
    dir: &Path,
) -> fmt::Result {
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
    Ok(())
}

fn figures(out: &mut String, f: &Figures, t: &RunTally, run: &RunFigures) -> fmt::Result {
    let attention: usize = ATTENTION.iter().map(|&s| t.count(s)).sum();
    page::figures(
        out,
        &[
            Figure {
                label: "Users done",
                id: "figure-done",
                value: grouped(t.count(RunStatus::Done)),
                note: done_note(f, t),
                alert: false,
            },
            Figure {
                label: "Need attention",
                id: "figure-attention",
                value: grouped(attention),
                note: "failed, partly done, blocked, drifted or pending".to_string(),
                alert: attention > 0,
            },
            Figure {
                label: "Graph writes sent",
                id: "figure-writes",
                value: grouped_u64(run.writes_sent),
                note: format!(
                    "{} planned · {} throttled · {} retried",
                    grouped(f.writes),
                    grouped_u64(run.throttled),
                    grouped_u64(run.retries)
                ),
                alert: false,
            },
            Figure {
                label: "Wall time",
                id: "figure-time",
                value: Text(&human_duration(run.wall_seconds)).to_string(),
                note: format!(
                    "the plan estimated about {}",
                    Text(&human_duration(f.minimum_seconds))
                ),
                alert: false,
            },
        ],
    )
}

/// Under "Users done": of how many planned users (the plan's status `planned`, as the
/// value is the run's status `done`), and the blocked users whose safe steps ran.
fn done_note(f: &Figures, t: &RunTally) -> String {
    let mut note = format!("of {} users planned", grouped(f.count(Status::Planned)));
    if f.blocked_with_steps > 0 {
        note.push_str(&format!(
            "; and {} of {} blocked users had their safe steps done",
            grouped(t.blocked_with_done),
            grouped(f.blocked_with_steps)
        ));
    }
    note.push_str(&format!("; {} input rows", grouped(t.rows)));
    note
}

fn grouped_u64(n: u64) -> String {
    grouped(usize::try_from(n).unwrap_or(usize::MAX))
}

fn charts(out: &mut String, plan: &PlanHeader, f: &Figures, t: &RunTally) -> fmt::Result {
    let statuses: Vec<StatusCount> = RunStatus::ALL
        .into_iter()
        .filter(|&s| t.count(s) > 0)
        .map(|s| StatusCount {
            status: s.as_str(),
            rows: t.count(s),
            meaning: status_meaning(s),
        })
        .collect();
    let changes = Changes {
        title: "Changes made",
        bars: change_bars(plan, f, t),
        label_width: 230,
        none: "No change was planned.",
        note: "Method removals count methods, not users. \"Already gone\": the method was \
               removed before this run got to it (Graph answered 404).",
    };
    page::charts(out, &statuses, t.rows, &changes)
}

/// The bars of "Changes made": each kind of change the policy or the plan has, or the
/// run made.
fn change_bars(plan: &PlanHeader, f: &Figures, t: &RunTally) -> Vec<Bar> {
    let bar = |label: String, value: usize, class: &str| Bar {
        label,
        value,
        class: class.to_string(),
    };
    let mut bars = Vec::new();
    if plan.policy.revoke_sessions() || f.revoke > 0 || t.sessions_revoked > 0 {
        let revoked = t.sessions_revoked;
        bars.push(bar("Sign-in sessions revoked".into(), revoked, "c-action"));
    }
    if plan.policy.disable_account() || f.disable > 0 || t.accounts_disabled > 0 {
        let disabled = t.accounts_disabled;
        bars.push(bar("Accounts disabled".into(), disabled, "c-action"));
    }
    if f.repoint > 0 || t.defaults_changed > 0 {
        let changed = t.defaults_changed;
        bars.push(bar("Default methods changed".into(), changed, "c-action"));
    }
    let mut kinds: Vec<&String> = f
        .deletes_by_type
        .keys()
        .chain(t.removed_by_type.keys())
        .collect();
    kinds.sort_by_key(|k| (method_order(k), k.as_str()));
    kinds.dedup();
    for kind in kinds {
        let removed = t.removed_by_type.get(kind).copied().unwrap_or(0);
        let label = format!("Removed {}", method_words(kind));
        bars.push(bar(label, removed, "c-remove"));
    }
    if t.already_removed() > 0 {
        let gone = t.already_removed();
        bars.push(bar("Methods already gone".into(), gone, "c-already"));
    }
    if plan.policy.tap().is_some() || f.issue_pass > 0 || t.taps_issued > 0 {
        let taps = t.taps_issued;
        bars.push(bar("Temporary Access Passes".into(), taps, "c-tap"));
    }
    bars
}

fn planned_against_done(out: &mut String, f: &Figures, t: &RunTally) -> fmt::Result {
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

/// The outcomes that failed, were partly done or blocked, grouped by Graph's error (or
/// the reason), each user with the request ids Microsoft support asks for.
fn failures(out: &mut String, d: &RunDigest) -> fmt::Result {
    let groups = &d.failures;
    let l = GroupedListing {
        id: "failures",
        heading: format!("Failed, partly done or blocked ({})", grouped(groups.total)),
        none: "<p>None.</p>",
        intro: page::groups_intro(groups, "what was done for each and Graph's request ids"),
        why: "Error or reason, and who",
    };
    page::grouped_listing(out, &l, groups, |out, o| {
        write!(out, "<span class=\"line\">line {}</span> ", o.line)?;
        o.user(out)?;
        let done = done_items(o);
        if !done.is_empty() {
            write!(
                out,
                " <span class=\"still\">— done: {}</span>",
                Text(&done.join(", "))
            )?;
        }
        if !o.request_ids.is_empty() {
            write!(out, " <span class=\"rid\">request-id")?;
            for id in &o.request_ids {
                write!(out, " <code>{}</code>", Text(id))?;
            }
            write!(out, "</span>")?;
        }
        Ok(())
    })
}

/// The drifted outcomes: nothing was changed for them.
fn drifted(out: &mut String, d: &RunDigest) -> fmt::Result {
    let l = Listing {
        id: "drifted",
        heading: format!("Drifted ({})", grouped(d.drifted.total)),
        total: d.drifted.total,
        none: "<p>None: every user's methods were as the plan read them.</p>",
        intro: "<p>Nothing was changed for these users: their methods differ from what the \
                plan read. Plan again for them.</p>"
            .to_string(),
        columns: &[LINE, USER, ("w-drift", "What changed")],
        more: "",
    };
    listing(out, &l, &d.drifted.rows, |out, o| {
        write!(
            out,
            "<tr data-status=\"drifted\"><td class=\"num\">{}</td><td>",
            o.line
        )?;
        o.user(out)?;
        writeln!(
            out,
            "</td><td>{}</td></tr>",
            Text(o.reason.as_deref().unwrap_or(""))
        )
    })
}

fn users(out: &mut String, d: &RunDigest) -> fmt::Result {
    let t = &d.tally;
    let table = UserTable {
        total: t.rows,
        intro: "Every input row, in input order, with what was done.",
        placeholder: "user, method, error…",
        statuses: RunStatus::ALL
            .into_iter()
            .filter(|&s| t.count(s) > 0)
            .map(|s| (s.as_str(), t.count(s)))
            .collect(),
        columns: [("w-done", "What was done"), ("w-err", "Why / error")],
        with_columns: d.with_columns,
    };
    page::user_table(out, &table, &d.first)
}

impl Row for UserOutcome {
    fn line(&self) -> usize {
        self.line
    }

    fn status(&self) -> &'static str {
        self.final_status().as_str()
    }

    /// The input value, and the UPN Graph knows if it differs.
    fn user(&self, out: &mut String) -> fmt::Result {
        user_cell(out, &self.input, self.user_principal_name.as_deref())
    }

    /// What was done (and what is left), and why or what went wrong.
    fn cells(&self, out: &mut String) -> fmt::Result {
        write!(out, "<td>")?;
        done_cell(out, self)?;
        write!(out, "</td><td>")?;
        error_cell(out, self)?;
        write!(out, "</td>")
    }

    fn input_columns(&self) -> &BTreeMap<String, String> {
        &self.columns
    }
}

/// What was done to a user, what the plan kept and what was still registered after.
fn done_cell(out: &mut String, o: &UserOutcome) -> fmt::Result {
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
    if !o.kept.is_empty() || o.methods_unread {
        write!(
            out,
            "<p class=\"kept\">kept: {}</p>",
            Text(&super::kept_text(o))
        )?;
    }
    if let Some(left) = &o.remaining {
        let left = if left.is_empty() {
            "none".to_string()
        } else {
            labels(left)
        };
        write!(
            out,
            "<p class=\"kept\">verified, still registered: {}</p>",
            Text(&left)
        )?;
    }
    Ok(())
}

/// Why the status, Graph's error, and the request ids when something went wrong.
fn error_cell(out: &mut String, o: &UserOutcome) -> fmt::Result {
    if let Some(reason) = &o.reason {
        write!(out, "<p class=\"reason\">{}</p>", Text(reason))?;
    }
    let error = o.error_code.is_some() || o.error_message.is_some();
    if error {
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
    if !o.request_ids.is_empty() && (FAILURES.contains(&o.final_status()) || error) {
        write!(
            out,
            "<p class=\"rid\">request-id {}</p>",
            Text(&o.request_ids.join(", "))
        )?;
    }
    Ok(())
}

/// What a status means, in a few words, for the legend.
fn status_meaning(status: RunStatus) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_fill_and_a_badge_in_the_style_sheets() {
        let sheet = format!("{}{RUN_STYLE}", page::STYLE);
        for s in RunStatus::ALL {
            let class = page::status_class(s.as_str());
            assert!(sheet.contains(&format!(".{class}{{fill:")), "{s}");
            assert!(sheet.contains(&format!(".badge.{class}")), "{s}");
        }
    }
}
