//! `report.html`: the plan as a change board reads, prints and signs it — one
//! self-contained file that says the same things as `summary.md`, better.
//!
//! In order: a banner that says plainly this is a PLAN and nothing has been changed yet;
//! where and when the tenant was read, by which tool, from which input (with its SHA-256),
//! the policy in words and the plan fingerprint (with a place to sign); the headline
//! figures (users who would change, Graph writes, the least time they take at the write
//! budget); two inline SVG bar charts (users by status, changes by kind), labelled and
//! numbered so they read without colour; the rows that need attention and why; and the
//! per-user table, cut at [`MAX_TABLE_ROWS`] rows (`results.csv` has them all).
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
//! The frame of the page ([`head`], [`tail`]), the style sheet, the bar chart, the filter
//! box and its script, and the escaping ([`Text`]) are shared with the report of a run
//! ([`super::run`]), so the two read alike.

use std::fmt::{self, Display, Write as _};
use std::path::Path;

use base64::Engine as _;

use super::{ATTENTION, Figures, PlanDigest, ReportError, human_duration, results::steps_text};
use crate::plan::{PlanEntry, PlanFile, PlanHeader, Status};
use crate::wire::MethodType;

/// At most this many rows are listed in each table; `results.csv` has them all.
pub const MAX_TABLE_ROWS: usize = 2_000;

/// Renders `report.html`.
pub fn render(plan: &PlanFile) -> String {
    render_digest(&PlanDigest::of(plan))
}

/// Renders `report.html` from a plan's digest: the same bytes as [`render`] of the plan.
pub fn render_digest(digest: &PlanDigest) -> String {
    let mut out = String::with_capacity(16_384 + digest.figures.rows.min(MAX_TABLE_ROWS) * 600);
    document(&mut out, digest).expect("writing to a String cannot fail");
    out
}

/// Writes `report.html`.
pub fn write(path: &Path, plan: &PlanFile) -> Result<(), ReportError> {
    write_digest(path, &PlanDigest::of(plan))
}

/// Writes `report.html` from a plan's digest.
pub fn write_digest(path: &Path, digest: &PlanDigest) -> Result<(), ReportError> {
    std::fs::write(path, render_digest(digest)).map_err(|e| ReportError::write(path, e))
}

fn document(out: &mut String, digest: &PlanDigest) -> fmt::Result {
    let plan = &digest.header;
    let f = &digest.figures;
    head(
        out,
        "mfa-reset-plan",
        &plan.tool,
        &format!(
            "PLAN (nothing changed yet) · mfa-reset · {} · {}",
            Text(&plan.graph),
            Text(&plan.created)
        ),
        &style(&plan.fingerprint),
    )?;

    header(out, plan)?;
    figures(out, f)?;
    charts(out, plan, f)?;
    attention(out, digest)?;
    users(out, digest)?;

    writeln!(
        out,
        "<footer><p>Written by {} from the plan above. <code>plan.json</code> is what \
         <code>mfa-reset apply</code> carries out; <code>results.csv</code> and \
         <code>results.jsonl</code> have one row per input row.</p></footer>",
        Text(&plan.tool)
    )?;
    tail(out)
}

/// The page up to `<body>`: the Content-Security-Policy that allows exactly `style` and
/// [`SCRIPT`] and nothing else, the generator (`tool`), the title (`title_html`, already
/// escaped) and the style sheet. `report` names the kind of report (`data-report`).
pub(super) fn head(
    out: &mut String,
    report: &str,
    tool: &str,
    title_html: &str,
    style: &str,
) -> fmt::Result {
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(
        out,
        "<html lang=\"en\" data-report=\"{}\"><head><meta charset=\"utf-8\">",
        Text(report)
    )?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src '{}'; script-src '{}'; img-src data:; base-uri 'none'; form-action 'none'\">",
        csp_hash(style),
        csp_hash(SCRIPT)
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(out, "<meta name=\"generator\" content=\"{}\">", Text(tool))?;
    writeln!(out, "<title>{title_html}</title>")?;
    writeln!(out, "<style>{style}</style>\n</head>\n<body>")
}

/// The page's end: the script, then `</html>`.
pub(super) fn tail(out: &mut String) -> fmt::Result {
    writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>")
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
        "<dt>Tenant (Graph root)</dt><dd><code>{}</code></dd>",
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
    plan_provenance(out, plan)?;
    writeln!(out, "</dl>")?;
    writeln!(
        out,
        "<div class=\"sign\"><p>Approved for <code>mfa-reset apply</code> with the plan \
         fingerprint above:</p><div class=\"sign-fields\"><span>Name</span><span>Role</span>\
         <span>Date</span><span>Signature</span></div></div>"
    )?;
    writeln!(out, "</header>")
}

fn figures(out: &mut String, f: &Figures) -> fmt::Result {
    let attention: usize = ATTENTION.iter().map(|&s| f.count(s)).sum();
    let removals: usize = f.deletes_by_type.values().sum();
    writeln!(
        out,
        "<section aria-labelledby=\"h-figures\"><h2 id=\"h-figures\">In figures</h2>\
         <div class=\"figures\">"
    )?;
    writeln!(
        out,
        "<div class=\"figure\"><div class=\"l\">Users who would change</div>\
         <div class=\"n\" id=\"figure-users\">{}</div><div class=\"s\">of {} input rows</div></div>",
        grouped(f.users_affected),
        grouped(f.rows)
    )?;
    writeln!(
        out,
        "<div class=\"figure\"><div class=\"l\">Graph writes</div>\
         <div class=\"n\" id=\"figure-writes\">{}</div><div class=\"s\">{} revoke · {} disable · \
         {} method removals · {} TAP</div></div>",
        grouped(f.writes),
        grouped(f.revoke),
        grouped(f.disable),
        grouped(removals),
        grouped(f.issue_pass)
    )?;
    writeln!(
        out,
        "<div class=\"figure\"><div class=\"l\">Least run time</div>\
         <div class=\"n\" id=\"figure-time\">{}</div><div class=\"s\">for the writes at the \
         Graph write budget; reads and retries add to it</div></div>",
        Text(&human_duration(f.minimum_seconds))
    )?;
    writeln!(
        out,
        "<div class=\"figure{}\"><div class=\"l\">Need attention</div>\
         <div class=\"n\" id=\"figure-attention\">{}</div><div class=\"s\">blocked, error, \
         not-found or invalid rows</div></div>",
        if attention > 0 { " attention" } else { "" },
        grouped(attention)
    )?;
    writeln!(out, "</div></section>")
}

/// One bar of a chart.
pub(super) struct Bar {
    pub(super) label: String,
    pub(super) value: usize,
    pub(super) class: &'static str,
}

fn charts(out: &mut String, plan: &PlanHeader, f: &Figures) -> fmt::Result {
    writeln!(out, "<section class=\"charts\">")?;

    writeln!(
        out,
        "<figure><figcaption id=\"h-status\"><h2>Users by status</h2></figcaption>"
    )?;
    let bars: Vec<Bar> = Status::ALL
        .into_iter()
        .filter(|&s| f.count(s) > 0)
        .map(|s| Bar {
            label: s.as_str().to_string(),
            value: f.count(s),
            class: status_class(s),
        })
        .collect();
    if bars.is_empty() {
        writeln!(out, "<p>The input has no rows.</p>")?;
    } else {
        bar_chart(out, "chart-status", "Users by status", &bars, Some(f.rows))?;
        writeln!(out, "<dl class=\"legend\">")?;
        for s in Status::ALL.into_iter().filter(|&s| f.count(s) > 0) {
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
        "<figure><figcaption id=\"h-changes\"><h2>Changes by kind</h2></figcaption>"
    )?;
    let mut bars = Vec::new();
    if plan.policy.revoke_sessions() || f.revoke > 0 {
        bars.push(Bar {
            label: "Revoke sign-in sessions".into(),
            value: f.revoke,
            class: "c-action",
        });
    }
    if plan.policy.disable_account() || f.disable > 0 {
        bars.push(Bar {
            label: "Disable account".into(),
            value: f.disable,
            class: "c-action",
        });
    }
    let mut deletions: Vec<(&String, &usize)> = f.deletes_by_type.iter().collect();
    deletions.sort_by_key(|(kind, _)| method_order(kind));
    for (kind, &n) in deletions {
        bars.push(Bar {
            label: format!("Remove {}", method_words(kind)),
            value: n,
            class: "c-remove",
        });
    }
    if plan.policy.tap().is_some() || f.issue_pass > 0 {
        bars.push(Bar {
            label: "Issue Temporary Access Pass".into(),
            value: f.issue_pass,
            class: "c-tap",
        });
    }
    if bars.is_empty() {
        writeln!(out, "<p>No change is planned.</p>")?;
    } else {
        bar_chart(out, "chart-changes", "Changes by kind", &bars, None)?;
        writeln!(
            out,
            "<p class=\"muted\">Each change is one Graph write. Method removals count \
             methods, not users.</p>"
        )?;
    }
    writeln!(out, "</figure>")?;

    writeln!(out, "</section>")
}

/// Where a method type (its short name) comes in [`MethodType::ALL`], for ordering
/// charts and tables; unknown names last.
pub(super) fn method_order(short_name: &str) -> usize {
    MethodType::ALL
        .iter()
        .position(|t| t.short_name() == short_name)
        .unwrap_or(usize::MAX)
}

/// A horizontal bar chart: label, bar, value (and share of `total`, if given) per row.
pub(super) fn bar_chart(
    out: &mut String,
    id: &str,
    title: &str,
    bars: &[Bar],
    total: Option<usize>,
) -> fmt::Result {
    bar_chart_labelled(out, id, title, bars, total, 200)
}

/// [`bar_chart`] with `label` pixels for the labels (at most 260; the bars get 250).
pub(super) fn bar_chart_labelled(
    out: &mut String,
    id: &str,
    title: &str,
    bars: &[Bar],
    total: Option<usize>,
    label: usize,
) -> fmt::Result {
    const WIDTH: usize = 560;
    const BAR: usize = 250;
    let label = label.min(260);
    const ROW: usize = 26;
    let height = bars.len() * ROW + 8;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    writeln!(
        out,
        "<svg class=\"chart\" id=\"{id}\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" role=\"img\" aria-labelledby=\"{id}-title\">\
         <title id=\"{id}-title\">{}</title>",
        Text(title)
    )?;
    for (i, b) in bars.iter().enumerate() {
        let y = 4 + i * ROW;
        let w = if b.value == 0 {
            0
        } else {
            (b.value * BAR).div_ceil(max).max(2)
        };
        let value = match total {
            Some(t) if t > 0 => format!(
                "{} ({}%)",
                grouped(b.value),
                (b.value as f64 * 100.0 / t as f64).round()
            ),
            _ => grouped(b.value),
        };
        writeln!(
            out,
            "<g><text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"track\" x=\"{label}\" y=\"{}\" width=\"{BAR}\" height=\"{}\"/>\
             <rect class=\"bar {}\" x=\"{label}\" y=\"{}\" width=\"{w}\" height=\"{}\"/>\
             <text class=\"value\" x=\"{}\" y=\"{}\">{}</text></g>",
            label - 8,
            y + 17,
            Text(&b.label),
            y + 3,
            ROW - 8,
            b.class,
            y + 3,
            ROW - 8,
            label + w + 6,
            y + 17,
            Text(&value)
        )?;
    }
    writeln!(out, "</svg>")
}

fn attention(out: &mut String, digest: &PlanDigest) -> fmt::Result {
    let rows = &digest.attention;
    let total = digest.attention_total;
    writeln!(
        out,
        "<section aria-labelledby=\"h-attention\"><h2 id=\"h-attention\">Needs attention ({})</h2>",
        grouped(total)
    )?;
    if total == 0 {
        writeln!(
            out,
            "<p>Nothing: no row is blocked, failed to read, not found or invalid.</p></section>"
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "<table id=\"attention\"><thead><tr><th class=\"num w-line\">Line</th>\
         <th class=\"w-user\">User</th><th class=\"w-status\">Status</th><th class=\"w-why\">Why</th>\
         <th class=\"w-still\">Still done</th></tr></thead><tbody>"
    )?;
    for e in rows.iter().take(MAX_TABLE_ROWS) {
        let still = if e.writes() > 0 {
            steps_text(e)
        } else {
            "nothing".to_string()
        };
        writeln!(
            out,
            "<tr data-status=\"{status}\"><td class=\"num\">{}</td><td>{}</td>\
             <td><span class=\"badge {}\">{status}</span></td><td>{}</td><td>{}</td></tr>",
            e.line,
            UserCell(e),
            status_class(e.status),
            Text(e.reason.as_deref().unwrap_or("")),
            Text(&still),
            status = e.status,
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    if total > MAX_TABLE_ROWS {
        writeln!(
            out,
            "<p class=\"more\">…and {} more in <code>results.csv</code>.</p>",
            grouped(total - MAX_TABLE_ROWS)
        )?;
    }
    writeln!(out, "</section>")
}

fn users(out: &mut String, digest: &PlanDigest) -> fmt::Result {
    let total = digest.figures.rows;
    let shown = total.min(MAX_TABLE_ROWS);
    let with_columns = digest.with_columns;
    writeln!(
        out,
        "<section aria-labelledby=\"h-users\"><h2 id=\"h-users\">Per user ({} rows)</h2>",
        grouped(total)
    )?;
    if total == 0 {
        writeln!(out, "<p>The input has no rows.</p></section>")?;
        return Ok(());
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
            "<p class=\"muted\">Every input row, in input order; the steps run in the order \
             listed.</p>"
        )?;
    }

    filter_form(
        out,
        "user, step, note…",
        digest
            .figures
            .by_status
            .iter()
            .map(|(s, &n)| (s.as_str(), n)),
    )?;

    write!(
        out,
        "<table id=\"users\"><thead><tr><th class=\"num w-line\">Line</th>\
         <th class=\"w-user\">User</th><th class=\"w-status\">Status</th>\
         <th class=\"w-steps\">Steps, in order</th><th class=\"w-notes\">Notes</th>"
    )?;
    if with_columns {
        write!(out, "<th class=\"w-cols\">From the input</th>")?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    for e in digest.first.iter().take(MAX_TABLE_ROWS) {
        write!(
            out,
            "<tr data-status=\"{status}\"><td class=\"num\">{}</td><td>{}</td>\
             <td><span class=\"badge {}\">{status}</span></td><td>",
            e.line,
            UserCell(e),
            status_class(e.status),
            status = e.status,
        )?;
        if e.writes() > 0 {
            write!(out, "<ol>")?;
            for step in &e.steps {
                write!(out, "<li>{}</li>", Text(&step.describe()))?;
            }
            write!(out, "</ol>")?;
        } else {
            write!(out, "<span class=\"muted\">none</span>")?;
        }
        write!(out, "</td><td>")?;
        if let Some(reason) = &e.reason {
            write!(out, "<p class=\"reason\">{}</p>", Text(reason))?;
        }
        if !e.notes.is_empty() {
            write!(out, "<ul class=\"notes\">")?;
            for note in &e.notes {
                write!(out, "<li>{}</li>", Text(note))?;
            }
            write!(out, "</ul>")?;
        }
        write!(out, "</td>")?;
        if with_columns {
            write!(out, "<td>")?;
            if !e.columns.is_empty() {
                write!(out, "<dl class=\"cols\">")?;
                for (name, value) in &e.columns {
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

/// The filter box over the per-user table (`#users`, rows carrying `data-status`), one
/// status option per `(status, rows)`: hidden, and shown by [`SCRIPT`], so a page without
/// script has no dead control.
pub(super) fn filter_form<'a>(
    out: &mut String,
    placeholder: &str,
    counts: impl IntoIterator<Item = (&'a str, usize)>,
) -> fmt::Result {
    writeln!(
        out,
        "<form id=\"filter\" class=\"noprint\" role=\"search\" hidden>\
         <label>Filter <input type=\"search\" name=\"q\" placeholder=\"{}\" \
         autocomplete=\"off\"></label> <label>Status <select name=\"status\">\
         <option value=\"\">all</option>",
        Text(placeholder)
    )?;
    for (status, n) in counts {
        writeln!(
            out,
            "<option value=\"{status}\">{status} ({})</option>",
            grouped(n),
            status = Text(status)
        )?;
    }
    writeln!(
        out,
        "</select></label> <span id=\"filter-count\" aria-live=\"polite\"></span></form>"
    )
}

/// The user cell: the input value, the UPN Graph knows if it differs, and what about the
/// account matters to a reviewer (synced, disabled, admin roles).
struct UserCell<'a>(&'a PlanEntry);

impl Display for UserCell<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        write!(f, "<span class=\"user\">{}</span>", Text(&e.input))?;
        if let Some(u) = &e.before {
            if !u.user_principal_name.eq_ignore_ascii_case(e.input.trim()) {
                write!(
                    f,
                    "<br><span class=\"upn\">{}</span>",
                    Text(&u.user_principal_name)
                )?;
            }
            if u.synced {
                write!(f, " <span class=\"tag\">synced</span>")?;
            }
            if !u.account_enabled {
                write!(f, " <span class=\"tag\">disabled</span>")?;
            }
            if !u.admin_roles.is_empty() {
                write!(
                    f,
                    " <span class=\"tag\">admin: {}</span>",
                    Text(&u.admin_roles.join(", "))
                )?;
            }
        }
        Ok(())
    }
}

/// What a status means, in a few words, for the legend.
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

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Planned => "s-planned",
        Status::NoChange => "s-no-change",
        Status::NotFound => "s-not-found",
        Status::Invalid => "s-invalid",
        Status::Duplicate => "s-duplicate",
        Status::Excluded => "s-excluded",
        Status::Protected => "s-protected",
        Status::Blocked => "s-blocked",
        Status::Error => "s-error",
    }
}

/// A method type (its short name) in words, for chart labels.
pub(super) fn method_words(short_name: &str) -> &str {
    match MethodType::ALL
        .into_iter()
        .find(|t| t.short_name() == short_name)
    {
        Some(MethodType::Password) => "password",
        Some(MethodType::Phone) => "phone number",
        Some(MethodType::MicrosoftAuthenticator) => "Authenticator app",
        Some(MethodType::SoftwareOath) => "software OATH token",
        Some(MethodType::Fido2) => "FIDO2 key",
        Some(MethodType::WindowsHelloForBusiness) => "Windows Hello",
        Some(MethodType::Email) => "email method",
        Some(MethodType::TemporaryAccessPass) => "existing TAP",
        Some(MethodType::PlatformCredential) => "platform credential",
        None => short_name,
    }
}

/// `1234567` → `1,234,567`.
pub(super) fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// User-supplied text, escaped for HTML text and attribute values. Control characters
/// become spaces; bidirectional formatting characters (which could make `moc.evil` read
/// as `evil.com`) become U+FFFD, visibly.
pub(super) struct Text<'a>(pub(super) &'a str);

impl Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().expect("found a char there");
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c if c.is_control() => f.write_char(' ')?,
                _ => f.write_char('\u{FFFD}')?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

fn needs_escape(c: char) -> bool {
    matches!(c, '&' | '<' | '>' | '"' | '\'')
        || c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `sha256-<base64>`, the CSP source that allows exactly this inline style or script.
pub(super) fn csp_hash(content: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, content.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// The stylesheet. The fingerprint goes into the printed page footer, so every sheet of a
/// printout names the plan it belongs to; only its hex digits and `:` are used.
fn style(fingerprint: &str) -> String {
    page_style(STYLE, "mfa-reset PLAN — nothing changed yet", fingerprint)
}

/// `sheet` followed by the printed page's margins: `top_left` (fixed text of ours, no
/// `"` or `\\`) in the header of every printed sheet, the plan fingerprint (only its
/// ASCII letters, digits and `:`) in its footer, and the page numbers.
pub(super) fn page_style(sheet: &str, top_left: &str, fingerprint: &str) -> String {
    debug_assert!(!top_left.contains(['"', '\\']));
    let safe: String = fingerprint
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ':')
        .take(80)
        .collect();
    format!(
        "{sheet}@page{{margin:14mm 12mm;@top-left{{content:\"{top_left}\";\
         font:9pt system-ui,sans-serif}}@bottom-left{{content:\"{safe}\";\
         font:8pt ui-monospace,monospace}}@bottom-right{{content:\"page \" counter(page) \
         \" of \" counter(pages);font:9pt system-ui,sans-serif}}}}\n"
    )
}

pub(super) const STYLE: &str = concat!("\n", include_str!("report.css"));

/// The filter box for the per-user table. It reads an initial filter from the URL
/// fragment (`#q=text&status=blocked`), so a filtered view can be linked to. It holds no
/// `</`, so it cannot end its `<script>` early.
pub(super) const SCRIPT: &str = concat!("\n", include_str!("report.js"));

/// The plan's input file, its hash, the policy and the fingerprint, as `<dt>`/`<dd>` pairs:
/// what ties a report to the plan a change board signed.
pub(super) fn plan_provenance(out: &mut String, plan: &PlanHeader) -> fmt::Result {
    writeln!(
        out,
        "<dt>Input file</dt><dd><code>{}</code> <span class=\"muted\">({} rows)</span></dd>",
        Text(&plan.input.file),
        grouped(plan.input.rows)
    )?;
    writeln!(
        out,
        "<dt>Input SHA-256</dt><dd><code id=\"input-sha256\">{}</code></dd>",
        Text(&plan.input.sha256)
    )?;
    writeln!(out, "<dt>Policy</dt><dd><ul class=\"policy\">")?;
    for line in plan.policy.summary() {
        writeln!(out, "<li>{}</li>", Text(&line))?;
    }
    writeln!(out, "</ul></dd>")?;
    writeln!(
        out,
        "<dt>Plan fingerprint</dt><dd><code id=\"fingerprint\">{}</code></dd>",
        Text(&plan.fingerprint)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_controls_and_bidi() {
        assert_eq!(
            Text("<a href='x'>&\"</a>").to_string(),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(Text("a\nb\u{1b}c\u{0}").to_string(), "a b c ");
        assert_eq!(
            Text("user\u{202E}moc.evil@x").to_string(),
            "user\u{FFFD}moc.evil@x"
        );
        assert_eq!(Text("Zoë ✓").to_string(), "Zoë ✓");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn the_script_cannot_close_its_element_and_the_style_is_fingerprint_safe() {
        assert!(!SCRIPT.contains("</"));
        let css = style("sha256:ab\"}body{x:url(http://e)}");
        assert!(css.contains("content:\"sha256:abbodyx:urlhttp:e\""));
        assert!(!css.contains("url("));
    }

    #[test]
    fn method_words_cover_every_type() {
        for t in MethodType::ALL
            .into_iter()
            .filter(|&t| t != MethodType::Password)
        {
            assert_ne!(method_words(t.short_name()), t.short_name(), "{t:?}");
        }
        assert_eq!(method_words("futureThing"), "futureThing");
    }
}
