//! `report.html`: the plan as a change board reads, prints and signs it — one
//! self-contained file that says the same things as `summary.md`, better.
//!
//! In order: a banner that says plainly this is a PLAN and nothing has been changed yet;
//! where and when the tenant was read, by which tool, from which input (with its SHA-256),
//! the policy in words and the plan fingerprint (with a place to sign); the headline
//! figures (users who would change, Graph writes, about how long they take at the Graph
//! budgets); two inline SVG bar charts (users by status, changes by kind), labelled and
//! numbered so they read without colour; the rows that need attention and why, one line
//! per status and reason with its count and the users behind a fold (`super::groups`);
//! and the per-user table, cut at [`MAX_TABLE_ROWS`] rows (`results.csv` has them all).
//! "Users who would change" says what it is made of (`planned` plus the `blocked` rows
//! whose safe steps still run), in the numbers "Users by status" shows.
//!
//! The page never touches the network: CSS, SVG and a small script are inline, and a
//! Content-Security-Policy (`default-src 'none'`, the style and script allowed by hash
//! only) forbids loading anything else — so even a value that slipped past escaping
//! could neither run script nor fetch a resource. Every user-supplied string (UPNs, input
//! columns, device names, reasons) is HTML-escaped, with control and bidirectional
//! formatting characters neutralised so a name cannot reorder what the reader sees. The
//! script only adds a filter box to the per-user table; without it the page is complete.
//! The output depends on the plan alone (no clock, no environment), so a plan always
//! renders to the same bytes.
//!
//! The frame of the page, the style sheet, the figures, the charts, the tables and the
//! per-user table with its filter box, and the escaping are shared with the report of a
//! run ([`super::run`]) through `page`, so the two read alike; this file says what is the
//! plan's own. It renders from the plan's [`PlanDigest`].

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::Path;

use super::page::{
    self, Bar, Changes, Figure, Frame, GroupedListing, Row, StatusCount, Text, UserTable, grouped,
    page, provenance, user_cell,
};
use super::{
    ATTENTION, Figures, PlanDigest, ReportError, human_duration, method_order, method_words,
    results::steps_text, write_file,
};
use crate::plan::{PlanEntry, PlanHeader, Status};

/// At most this many rows are listed in each table; `results.csv` has them all.
pub const MAX_TABLE_ROWS: usize = page::MAX_ROWS;

/// Writes the plan's `report.html`.
pub fn write(path: &Path, digest: &PlanDigest) -> Result<(), ReportError> {
    write_file(path, render(digest))
}

fn render(digest: &PlanDigest) -> String {
    let plan = &digest.header;
    let frame = Frame {
        report: "mfa-reset-plan",
        tool: &plan.tool,
        what: "PLAN (nothing changed yet)",
        graph: &plan.graph,
        when: &plan.created,
        style: "",
        print_title: "mfa-reset PLAN — nothing changed yet",
        fingerprint: &plan.fingerprint,
        footer: "from the plan above. <code>plan.json</code> is what \
                 <code>mfa-reset apply</code> carries out; <code>results.csv</code> and \
                 <code>results.jsonl</code> have one row per input row.",
    };
    page(&frame, digest.figures.rows, |out| {
        header(out, plan)?;
        figures(out, &digest.figures)?;
        charts(out, plan, &digest.figures)?;
        attention(out, digest)?;
        users(out, digest)
    })
}

fn header(out: &mut String, plan: &PlanHeader) -> fmt::Result {
    writeln!(out, "<header>")?;
    writeln!(out, "<h1>mfa-reset change plan</h1>")?;
    writeln!(
        out,
        "<div class=\"banner\" id=\"plan-banner\"><strong>PLAN — nothing has been changed \
         yet.</strong> This is a dry run: the tenant was only read. The changes below are \
         made only when <code>mfa-reset apply</code> is run with this plan, and only while \
         the input and policy still match the fingerprint.</div>"
    )?;
    writeln!(out, "<dl class=\"meta\">")?;
    writeln!(
        out,
        "<dt>Tenant</dt><dd id=\"tenant\">{}</dd>",
        Text(&super::summary::tenant_words(plan.tenant.as_ref()))
    )?;
    writeln!(
        out,
        "<dt>Graph root</dt><dd><code>{}</code></dd>",
        Text(&plan.graph)
    )?;
    writeln!(
        out,
        "<dt>Read at</dt><dd><time>{}</time></dd>",
        Text(&plan.created)
    )?;
    writeln!(
        out,
        "<dt>Tool</dt><dd>{} <span class=\"muted\">(plan format {} v{})</span></dd>",
        Text(&plan.tool),
        Text(&plan.format),
        plan.version
    )?;
    provenance(out, plan)?;
    writeln!(out, "</dl>")?;
    writeln!(
        out,
        "<div class=\"sign\"><p>Approved for <code>mfa-reset apply</code> on {} with the \
         plan fingerprint <code id=\"sign-fingerprint\">{}</code> (give it to <code>apply \
         --expect-fingerprint</code>):</p><div class=\"sign-fields\"><span>Name</span>\
         <span>Role</span><span>Date</span><span>Signature</span></div></div>",
        Text(&super::summary::tenant_words(plan.tenant.as_ref())),
        Text(&plan.fingerprint)
    )?;
    writeln!(out, "</header>")
}

fn figures(out: &mut String, f: &Figures) -> fmt::Result {
    let attention: usize = ATTENTION.iter().map(|&s| f.count(s)).sum();
    let removals: usize = f.deletes_by_type.values().sum();
    page::figures(
        out,
        &[
            Figure {
                label: "Users who would change",
                id: "figure-users",
                value: grouped(f.users_affected),
                note: format!(
                    "{}; of {} input rows",
                    f.affected_words(grouped),
                    grouped(f.rows)
                ),
                alert: false,
            },
            Figure {
                label: "Graph writes",
                id: "figure-writes",
                value: grouped(f.writes),
                note: format!(
                    "{} revoke · {} disable · {} method removals{} · {} TAP",
                    grouped(f.revoke),
                    grouped(f.disable),
                    grouped(removals),
                    if f.repoint > 0 {
                        format!(" · {} default changes", grouped(f.repoint))
                    } else {
                        String::new()
                    },
                    grouped(f.issue_pass)
                ),
                alert: false,
            },
            Figure {
                label: "Time to apply, about",
                id: "figure-time",
                value: Text(&human_duration(f.minimum_seconds)).to_string(),
                note:
                    "the writes and re-reads at the Graph budgets; retries and throttling add to it"
                        .to_string(),
                alert: false,
            },
            Figure {
                label: "Need attention",
                id: "figure-attention",
                value: grouped(attention),
                note: "blocked, error, not-found or invalid rows".to_string(),
                alert: attention > 0,
            },
        ],
    )
}

fn charts(out: &mut String, plan: &PlanHeader, f: &Figures) -> fmt::Result {
    let statuses: Vec<StatusCount> = Status::ALL
        .into_iter()
        .filter(|&s| f.count(s) > 0)
        .map(|s| StatusCount {
            status: s.as_str(),
            rows: f.count(s),
            meaning: status_meaning(s),
        })
        .collect();
    let changes = Changes {
        title: "Changes by kind",
        bars: change_bars(plan, f),
        label_width: 200,
        none: "No change is planned.",
        note: "Each change is one Graph write. Method removals count methods, not users.",
    };
    page::charts(out, &statuses, f.rows, &changes)
}

/// The bars of "Changes by kind": each kind of change the policy makes or the plan has.
fn change_bars(plan: &PlanHeader, f: &Figures) -> Vec<Bar> {
    let bar = |label: String, value: usize, class: &str| Bar {
        label,
        value,
        class: class.to_string(),
    };
    let mut bars = Vec::new();
    if plan.policy.revoke_sessions() || f.revoke > 0 {
        bars.push(bar("Revoke sign-in sessions".into(), f.revoke, "c-action"));
    }
    if plan.policy.disable_account() || f.disable > 0 {
        bars.push(bar("Disable account".into(), f.disable, "c-action"));
    }
    if f.repoint > 0 {
        bars.push(bar("Change default method".into(), f.repoint, "c-action"));
    }
    let mut deletions: Vec<(&String, &usize)> = f.deletes_by_type.iter().collect();
    deletions.sort_by_key(|(kind, _)| method_order(kind));
    for (kind, &n) in deletions {
        bars.push(bar(format!("Remove {}", method_words(kind)), n, "c-remove"));
    }
    if plan.policy.tap().is_some() || f.issue_pass > 0 {
        bars.push(bar(
            "Issue Temporary Access Pass".into(),
            f.issue_pass,
            "c-tap",
        ));
    }
    bars
}

fn attention(out: &mut String, digest: &PlanDigest) -> fmt::Result {
    let groups = &digest.attention;
    let l = GroupedListing {
        id: "attention",
        heading: format!("Needs attention ({})", grouped(groups.total)),
        none: "<p>Nothing: no row is blocked, failed to read, not found or invalid.</p>",
        intro: page::groups_intro(groups, "what is still done for each"),
        why: "Why, and who",
    };
    page::grouped_listing(out, &l, groups, |out, e| {
        write!(out, "<span class=\"line\">line {}</span> ", e.line)?;
        e.user(out)?;
        let still = if e.writes() > 0 {
            steps_text(e)
        } else {
            "nothing".to_string()
        };
        write!(
            out,
            " <span class=\"still\">— still done: {}</span>",
            Text(&still)
        )
    })
}

fn users(out: &mut String, digest: &PlanDigest) -> fmt::Result {
    let table = UserTable {
        total: digest.figures.rows,
        intro: "Every input row, in input order; the steps run in the order listed.",
        placeholder: "user, step, note…",
        statuses: digest
            .figures
            .by_status
            .iter()
            .map(|(s, &n)| (s.as_str(), n))
            .collect(),
        columns: [("w-steps", "Steps, in order"), ("w-notes", "Notes")],
        with_columns: digest.with_columns,
    };
    page::user_table(out, &table, &digest.first)
}

impl Row for PlanEntry {
    fn line(&self) -> usize {
        self.line
    }

    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    /// The input value, the UPN Graph knows if it differs, and what about the account
    /// matters to a reviewer (synced, disabled, admin roles).
    fn user(&self, out: &mut String) -> fmt::Result {
        let Some(u) = &self.before else {
            return user_cell(out, &self.input, None);
        };
        user_cell(out, &self.input, Some(&u.user_principal_name))?;
        if u.synced {
            write!(out, " <span class=\"tag\">synced</span>")?;
        }
        if !u.account_enabled {
            write!(out, " <span class=\"tag\">disabled</span>")?;
        }
        if !u.admin_roles.is_empty() {
            write!(
                out,
                " <span class=\"tag\">admin: {}</span>",
                Text(&u.admin_roles.join(", "))
            )?;
        }
        Ok(())
    }

    /// The steps, in order, and the notes.
    fn cells(&self, out: &mut String) -> fmt::Result {
        write!(out, "<td>")?;
        if self.writes() > 0 {
            write!(out, "<ol>")?;
            for step in &self.steps {
                write!(out, "<li>{}</li>", Text(&step.describe()))?;
            }
            write!(out, "</ol>")?;
        } else {
            write!(out, "<span class=\"muted\">none</span>")?;
        }
        write!(out, "</td><td>")?;
        if let Some(reason) = &self.reason {
            write!(out, "<p class=\"reason\">{}</p>", Text(reason))?;
        }
        if !self.notes.is_empty() {
            write!(out, "<ul class=\"notes\">")?;
            for note in &self.notes {
                write!(out, "<li>{}</li>", Text(note))?;
            }
            write!(out, "</ul>")?;
        }
        write!(out, "</td>")
    }

    fn input_columns(&self) -> &BTreeMap<String, String> {
        &self.columns
    }
}

fn status_meaning(status: Status) -> &'static str {
    match status {
        Status::Planned => "changes are planned",
        Status::NoChange => "already as the policy wants; nothing to do",
        Status::NotFound => "no such user in the tenant",
        Status::Invalid => "the row does not name a user validly; nothing is sent for it",
        Status::Duplicate => "an earlier row names the same user; acted on once, there",
        Status::Excluded => "on the exclude list; never touched",
        Status::Protected => "holds an admin role; left alone unless --include-admins",
        Status::Blocked => "part of the policy cannot be done; see Needs attention",
        Status::Error => "the user could not be read; plan again",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_fill_and_a_badge_in_the_style_sheet() {
        for s in Status::ALL {
            let class = page::status_class(s.as_str());
            assert!(page::STYLE.contains(&format!(".{class}{{fill:")), "{s}");
            assert!(page::STYLE.contains(&format!(".badge.{class}")), "{s}");
        }
    }
}
