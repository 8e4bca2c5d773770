//! The one frame and the shared parts of both `report.html` pages, the plan's
//! ([`super::html`]) and the run's ([`super::run`]), so the two read alike.
//!
//! The frame ([`page`]) is everything around a page's own sections: the head with its
//! Content-Security-Policy (`default-src 'none'`, the style and script allowed by hash
//! only, so nothing can be loaded), the style sheet (`report.css`, plus a page's own
//! rules, plus the printed page's margins naming the plan fingerprint), the title, the
//! footer and the script (`report.js`, the filter box of the per-user table). Inside it,
//! the pages share the "In figures" boxes ([`figures`]), the two bar charts ([`charts`]),
//! the tables of rows with their cut at [`MAX_ROWS`] ([`listing`]), the tables of rows
//! grouped by status and reason with the users behind a fold ([`grouped_listing`]), the
//! one per-user table with its filter box ([`user_table`], over any [`Row`]), the
//! provenance block that ties a report to its plan ([`provenance`]) and the escaping of
//! every user-supplied string ([`Text`]).

use std::collections::BTreeMap;
use std::fmt::{self, Display, Write as _};

use base64::Engine as _;

use super::groups::Groups;
use crate::plan::PlanHeader;

/// At most this many rows are listed in each table of a page; `results.csv` has them all.
pub const MAX_ROWS: usize = 2_000;

/// The style sheet both pages share.
pub(super) const STYLE: &str = concat!("\n", include_str!("report.css"));

/// The filter box for the per-user table. It reads an initial filter from the URL
/// fragment (`#q=text&status=blocked`), so a filtered view can be linked to. It holds no
/// `</`, so it cannot end its `<script>` early.
const SCRIPT: &str = concat!("\n", include_str!("report.js"));

/// What the frame of a page says.
pub(super) struct Frame<'a> {
    /// The kind of report (`data-report`).
    pub report: &'a str,
    /// The generator.
    pub tool: &'a str,
    /// What the page is, in the title (fixed text of ours).
    pub what: &'a str,
    /// The Graph root, in the title.
    pub graph: &'a str,
    /// When the tenant was read or the run started, in the title.
    pub when: &'a str,
    /// The page's own rules, after [`STYLE`].
    pub style: &'a str,
    /// In the header of every printed sheet (fixed text of ours, no `"` or `\\`).
    pub print_title: &'a str,
    /// The plan fingerprint, in the footer of every printed sheet.
    pub fingerprint: &'a str,
    /// The footer's words after "Written by TOOL " (HTML).
    pub footer: &'a str,
}

/// A whole page: the frame around what `body` writes. `rows` is how many table rows
/// the page lists (for the first allocation only).
pub(super) fn page(
    frame: &Frame,
    rows: usize,
    body: impl FnOnce(&mut String) -> fmt::Result,
) -> String {
    let mut out = String::with_capacity(20_000 + rows.min(MAX_ROWS) * 700);
    framed(&mut out, frame, body).expect("writing to a String cannot fail");
    out
}

fn framed(
    out: &mut String,
    frame: &Frame,
    body: impl FnOnce(&mut String) -> fmt::Result,
) -> fmt::Result {
    let style = page_style(frame.style, frame.print_title, frame.fingerprint);
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(
        out,
        "<html lang=\"en\" data-report=\"{}\"><head><meta charset=\"utf-8\">",
        Text(frame.report)
    )?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src '{}'; script-src '{}'; img-src data:; base-uri 'none'; form-action 'none'\">",
        csp_hash(&style),
        csp_hash(SCRIPT)
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<meta name=\"generator\" content=\"{}\">",
        Text(frame.tool)
    )?;
    writeln!(
        out,
        "<title>{} · mfa-reset · {} · {}</title>",
        frame.what,
        Text(frame.graph),
        Text(frame.when)
    )?;
    writeln!(out, "<style>{style}</style>\n</head>\n<body>")?;
    body(out)?;
    writeln!(
        out,
        "<footer><p>Written by {} {}</p></footer>",
        Text(frame.tool),
        frame.footer
    )?;
    writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>")
}

/// [`STYLE`], then `own` rules, then the printed page's margins: `top_left` in the
/// header of every printed sheet, the plan fingerprint (only its ASCII letters, digits
/// and `:`) in its footer, and the page numbers.
fn page_style(own: &str, top_left: &str, fingerprint: &str) -> String {
    debug_assert!(!top_left.contains(['"', '\\']));
    let safe: String = fingerprint
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ':')
        .take(80)
        .collect();
    let top_left = format!("@top-left{{content:\"{top_left}\";font:9pt system-ui,sans-serif}}");
    let bottom_left = format!("@bottom-left{{content:\"{safe}\";font:8pt ui-monospace,monospace}}");
    let bottom_right = concat!(
        "@bottom-right{content:\"page \" counter(page) \" of \" counter(pages);",
        "font:9pt system-ui,sans-serif}",
    );
    format!("{STYLE}{own}@page{{margin:14mm 12mm;{top_left}{bottom_left}{bottom_right}}}\n")
}

/// `sha256-<base64>`, the CSP source that allows exactly this inline style or script.
fn csp_hash(content: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, content.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// The plan's input file, its hash, the policy, what the plan could not check and the
/// fingerprint, as `<dt>`/`<dd>` pairs: what ties a report to the plan a change board
/// signed.
pub(super) fn provenance(out: &mut String, plan: &PlanHeader) -> fmt::Result {
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
    if let Some(words) = plan.policy.restore_data_words() {
        writeln!(
            out,
            "<dt>Restore data</dt><dd id=\"restore-data\">{}</dd>",
            Text(words)
        )?;
    }
    if !plan.notes.is_empty() {
        writeln!(out, "<dt>Notes</dt><dd><ul class=\"notes\">")?;
        for note in &plan.notes {
            writeln!(out, "<li>{}</li>", Text(note))?;
        }
        writeln!(out, "</ul></dd>")?;
    }
    writeln!(
        out,
        "<dt>Plan fingerprint</dt><dd><code id=\"fingerprint\">{}</code></dd>",
        Text(&plan.fingerprint)
    )
}

/// One box of "In figures".
pub(super) struct Figure<'a> {
    pub label: &'a str,
    pub id: &'a str,
    /// The number (HTML).
    pub value: String,
    /// The words under it (HTML).
    pub note: String,
    /// Drawn as needing attention.
    pub alert: bool,
}

/// The "In figures" section.
pub(super) fn figures(out: &mut String, figures: &[Figure]) -> fmt::Result {
    writeln!(
        out,
        "<section aria-labelledby=\"h-figures\"><h2 id=\"h-figures\">In figures</h2>\
         <div class=\"figures\">"
    )?;
    for f in figures {
        writeln!(
            out,
            "<div class=\"figure{}\"><div class=\"l\">{}</div>\
             <div class=\"n\" id=\"{}\">{}</div><div class=\"s\">{}</div></div>",
            if f.alert { " attention" } else { "" },
            f.label,
            f.id,
            f.value,
            f.note
        )?;
    }
    writeln!(out, "</div></section>")
}

/// One bar of a chart.
pub(super) struct Bar {
    pub label: String,
    pub value: usize,
    /// Its fill's CSS class.
    pub class: String,
}

/// A status in the "Users by status" chart: its name, its rows, what it means.
pub(super) struct StatusCount {
    pub status: &'static str,
    pub rows: usize,
    pub meaning: &'static str,
}

/// The second chart: the changes.
pub(super) struct Changes<'a> {
    pub title: &'a str,
    pub bars: Vec<Bar>,
    /// Pixels for the labels.
    pub label_width: usize,
    /// Said instead when there are no bars.
    pub none: &'a str,
    /// Said under the chart (HTML).
    pub note: &'a str,
}

/// The two charts side by side: users by status (with a legend; `statuses` are those
/// with rows, of `rows` in all) and the changes.
pub(super) fn charts(
    out: &mut String,
    statuses: &[StatusCount],
    rows: usize,
    changes: &Changes,
) -> fmt::Result {
    writeln!(out, "<section class=\"charts\">")?;
    writeln!(
        out,
        "<figure><figcaption id=\"h-status\"><h2>Users by status</h2></figcaption>"
    )?;
    if statuses.is_empty() {
        writeln!(out, "<p>The input has no rows.</p>")?;
    } else {
        let bars: Vec<Bar> = statuses
            .iter()
            .map(|s| Bar {
                label: s.status.to_string(),
                value: s.rows,
                class: status_class(s.status),
            })
            .collect();
        bar_chart(
            out,
            "chart-status",
            "Users by status",
            &bars,
            Some(rows),
            200,
        )?;
        writeln!(out, "<dl class=\"legend\">")?;
        for s in statuses {
            writeln!(
                out,
                "<dt><span class=\"badge {}\">{}</span></dt><dd>{}</dd>",
                status_class(s.status),
                s.status,
                s.meaning
            )?;
        }
        writeln!(out, "</dl>")?;
    }
    writeln!(out, "</figure>")?;
    writeln!(
        out,
        "<figure><figcaption id=\"h-changes\"><h2>{}</h2></figcaption>",
        changes.title
    )?;
    if changes.bars.is_empty() {
        writeln!(out, "<p>{}</p>", changes.none)?;
    } else {
        let (title, bars) = (changes.title, &changes.bars);
        bar_chart(out, "chart-changes", title, bars, None, changes.label_width)?;
        writeln!(out, "<p class=\"muted\">{}</p>", changes.note)?;
    }
    writeln!(out, "</figure>")?;
    writeln!(out, "</section>")
}

/// A horizontal bar chart: label, bar, value (and share of `total`, if given) per row,
/// with `label` pixels for the labels (at most 260; the bars get 250).
fn bar_chart(
    out: &mut String,
    id: &str,
    title: &str,
    bars: &[Bar],
    total: Option<usize>,
    label: usize,
) -> fmt::Result {
    const WIDTH: usize = 560;
    const BAR: usize = 250;
    const ROW: usize = 26;
    let label = label.min(260);
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

/// A status's CSS class (`s-planned`, `s-done`, ...): its bar's fill and its badge.
pub(super) fn status_class(status: &str) -> String {
    format!("s-{status}")
}

/// A row of the pages' tables: a plan's entry or a run's outcome.
pub(super) trait Row {
    /// The line of the input file.
    fn line(&self) -> usize;
    fn status(&self) -> &'static str;
    /// Writes the user cell's content.
    fn user(&self, out: &mut String) -> fmt::Result;
    /// Writes the per-user table's own two cells, `<td>`s and all.
    fn cells(&self, out: &mut String) -> fmt::Result;
    /// The input's own columns.
    fn input_columns(&self) -> &BTreeMap<String, String>;
}

/// The start of a table row: line, user and status badge, `data-status` for the filter.
pub(super) fn row_start(out: &mut String, row: &impl Row) -> fmt::Result {
    let status = row.status();
    write!(
        out,
        "<tr data-status=\"{status}\"><td class=\"num\">{}</td><td>",
        row.line()
    )?;
    row.user(out)?;
    write!(
        out,
        "</td><td><span class=\"badge {}\">{status}</span></td>",
        status_class(status)
    )
}

/// The user cell: the input value, and the UPN Graph knows (`upn`) if it differs.
pub(super) fn user_cell(out: &mut String, input: &str, upn: Option<&str>) -> fmt::Result {
    write!(out, "<span class=\"user\">{}</span>", Text(input))?;
    if let Some(upn) = upn.filter(|upn| !upn.eq_ignore_ascii_case(input.trim())) {
        write!(out, "<br><span class=\"upn\">{}</span>", Text(upn))?;
    }
    Ok(())
}

/// The Line, User and Status columns: `(class, heading)`.
pub(super) const LINE: (&str, &str) = ("num w-line", "Line");
pub(super) const USER: (&str, &str) = ("w-user", "User");
pub(super) const STATUS: (&str, &str) = ("w-status", "Status");

/// A section listing rows in a table cut at [`MAX_ROWS`].
pub(super) struct Listing<'a> {
    /// The table's id; the section's heading is `h-ID`.
    pub id: &'a str,
    /// The heading (HTML).
    pub heading: String,
    /// How many rows there are in all.
    pub total: usize,
    /// Said instead of the table when there are none (HTML).
    pub none: &'a str,
    /// Written just before the table (HTML).
    pub intro: String,
    /// The columns: `(class, heading)`.
    pub columns: &'a [(&'a str, &'a str)],
    /// What the rows not listed are called after "…and N more" (`""`, `" rows"`).
    pub more: &'a str,
}

/// Opens the section `id` with its `heading` (HTML), whose table has `total` rows; when
/// it has none, says `none` (HTML) and closes the section, and gives `false`.
fn section_start(
    out: &mut String,
    id: &str,
    heading: &str,
    total: usize,
    none: &str,
) -> Result<bool, fmt::Error> {
    writeln!(
        out,
        "<section aria-labelledby=\"h-{id}\"><h2 id=\"h-{id}\">{heading}</h2>"
    )?;
    if total == 0 {
        writeln!(out, "{none}</section>")?;
    }
    Ok(total > 0)
}

/// A [`Listing`] of `rows` (the first of them), each written by `row`.
pub(super) fn listing<T>(
    out: &mut String,
    l: &Listing,
    rows: &[T],
    mut row: impl FnMut(&mut String, &T) -> fmt::Result,
) -> fmt::Result {
    if !section_start(out, l.id, &l.heading, l.total, l.none)? {
        return Ok(());
    }
    write!(out, "{}<table id=\"{}\"><thead><tr>", l.intro, l.id)?;
    for (class, heading) in l.columns {
        write!(out, "<th class=\"{class}\">{heading}</th>")?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    for r in rows.iter().take(MAX_ROWS) {
        row(out, r)?;
    }
    writeln!(out, "</tbody></table>")?;
    if l.total > MAX_ROWS {
        writeln!(
            out,
            "<p class=\"more\">…and {} more{} in <code>results.csv</code>.</p>",
            grouped(l.total - MAX_ROWS),
            l.more
        )?;
    }
    writeln!(out, "</section>")
}

/// A section listing rows grouped by status and reason ([`Groups`]): a table row per
/// group with its status, how many rows share it and the reason, and the rows behind it
/// in a fold (a group of one shows its row without one).
pub(super) struct GroupedListing<'a> {
    /// The table's id; the section's heading is `h-ID`.
    pub id: &'a str,
    /// The heading (HTML).
    pub heading: String,
    /// Said instead of the table when there are none (HTML).
    pub none: &'a str,
    /// Written just before the table (HTML).
    pub intro: String,
    /// The heading of the column of reasons and rows (HTML).
    pub why: &'a str,
}

/// The words above a [`GroupedListing`]: how many rows for how many reasons, and that
/// each line's fold holds its users and `what` of each.
pub(super) fn groups_intro<T>(groups: &Groups<T>, what: &str) -> String {
    format!(
        "<p class=\"muted\" id=\"groups-intro\">{} {} for {} {}: one line per status and \
         reason, the most users first; the users behind a line, and {what}, are in its \
         fold.</p>",
        grouped(groups.total),
        if groups.total == 1 { "row" } else { "rows" },
        grouped(groups.len()),
        if groups.len() == 1 {
            "reason"
        } else {
            "reasons"
        },
    )
}

/// A [`GroupedListing`] of `groups`, the largest first, each row behind a group written
/// (as the content of an `<li>`) by `row`.
pub(super) fn grouped_listing<T>(
    out: &mut String,
    l: &GroupedListing,
    groups: &Groups<T>,
    mut row: impl FnMut(&mut String, &T) -> fmt::Result,
) -> fmt::Result {
    if !section_start(out, l.id, &l.heading, groups.total, l.none)? {
        return Ok(());
    }
    writeln!(
        out,
        "{}<table id=\"{}\" class=\"groups\"><thead><tr><th class=\"{}\">{}</th>\
         <th class=\"num w-count\">Users</th><th class=\"w-reason\">{}</th></tr></thead><tbody>",
        l.intro, l.id, STATUS.0, STATUS.1, l.why
    )?;
    for group in groups.largest_first() {
        let status = group.status;
        write!(
            out,
            "<tr data-status=\"{status}\" data-count=\"{}\"><td><span class=\"badge {}\">\
             {status}</span></td><td class=\"num group-count\">{}</td><td>\
             <p class=\"reason\">{}</p>",
            group.count,
            status_class(status),
            grouped(group.count),
            Text(&group.reason)
        )?;
        let folded = group.count > 1;
        if folded {
            let listed = if group.rows.len() < group.count {
                format!(
                    "the first {} of these {} users; <code>results.csv</code> has them all",
                    grouped(group.rows.len()),
                    grouped(group.count)
                )
            } else {
                format!("the {} users", grouped(group.count))
            };
            write!(out, "<details><summary>{listed}</summary>")?;
        }
        write!(out, "<ul class=\"members\">")?;
        for r in &group.rows {
            write!(out, "<li>")?;
            row(out, r)?;
            write!(out, "</li>")?;
        }
        write!(out, "</ul>")?;
        if folded {
            write!(out, "</details>")?;
        }
        writeln!(out, "</td></tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    if groups.ungrouped > 0 {
        writeln!(
            out,
            "<p class=\"more\">…and {} more, for other reasons, in <code>results.csv</code>.</p>",
            grouped(groups.ungrouped)
        )?;
    }
    writeln!(out, "</section>")
}

/// The per-user table of a page.
pub(super) struct UserTable<'a> {
    /// How many rows there are in all.
    pub total: usize,
    /// Said above the table when every row is listed.
    pub intro: &'a str,
    /// The filter box's placeholder.
    pub placeholder: &'a str,
    /// The statuses to filter by, with their rows.
    pub statuses: Vec<(&'static str, usize)>,
    /// The two columns of the kind of row: `(class, heading)`.
    pub columns: [(&'a str, &'a str); 2],
    /// Some row has input columns of its own: a column shows them.
    pub with_columns: bool,
}

/// The per-user table: the first of `rows`, the filter box above them, and where the
/// rest are when the table is cut.
pub(super) fn user_table<R: Row>(out: &mut String, t: &UserTable, rows: &[R]) -> fmt::Result {
    let shown = t.total.min(MAX_ROWS);
    let mut intro = String::new();
    if shown < t.total {
        writeln!(
            intro,
            "<p class=\"more\" id=\"users-cut\">The first {} of {} rows are listed here; \
             <code>results.csv</code> has all {}.</p>",
            grouped(shown),
            grouped(t.total),
            grouped(t.total)
        )?;
    } else {
        writeln!(intro, "<p class=\"muted\">{}</p>", t.intro)?;
    }
    filter_form(&mut intro, t.placeholder, &t.statuses)?;
    let mut columns = vec![LINE, USER, STATUS, t.columns[0], t.columns[1]];
    if t.with_columns {
        columns.push(("w-cols", "From the input"));
    }
    let users = Listing {
        id: "users",
        heading: format!("Per user ({} rows)", grouped(t.total)),
        total: t.total,
        none: "<p>The input has no rows.</p>",
        intro,
        columns: &columns,
        more: " rows",
    };
    listing(out, &users, rows, |out, r| {
        row_start(out, r)?;
        r.cells(out)?;
        if t.with_columns {
            input_columns(out, r.input_columns())?;
        }
        writeln!(out, "</tr>")
    })
}

/// The cell of a row's own input columns.
fn input_columns(out: &mut String, columns: &BTreeMap<String, String>) -> fmt::Result {
    write!(out, "<td>")?;
    if !columns.is_empty() {
        write!(out, "<dl class=\"cols\">")?;
        for (name, value) in columns {
            write!(out, "<dt>{}</dt><dd>{}</dd>", Text(name), Text(value))?;
        }
        write!(out, "</dl>")?;
    }
    write!(out, "</td>")
}

/// The filter box over the per-user table (`#users`, rows carrying `data-status`), one
/// status option per `(status, rows)`: hidden, and shown by the script, so a page without
/// script has no dead control.
fn filter_form(
    out: &mut String,
    placeholder: &str,
    statuses: &[(&'static str, usize)],
) -> fmt::Result {
    writeln!(
        out,
        "<form id=\"filter\" class=\"noprint\" role=\"search\" hidden>\
         <label>Filter <input type=\"search\" name=\"q\" placeholder=\"{}\" \
         autocomplete=\"off\"></label> <label>Status <select name=\"status\">\
         <option value=\"\">all</option>",
        Text(placeholder)
    )?;
    for &(status, n) in statuses {
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
        let css = page_style("", "x", "sha256:ab\"}body{x:url(http://e)}");
        assert!(css.contains("content:\"sha256:abbodyx:urlhttp:e\""));
        assert!(!css.contains("url("));
        assert!(css.starts_with(STYLE));
    }
}
