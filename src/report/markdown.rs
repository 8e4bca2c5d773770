//! What the two `summary.md` reports (the plan's, [`super::summary`], and the run's,
//! [`super::run`]) share: keeping user-supplied text from breaking a Markdown table or
//! injecting markup ([`escape`], [`code`]), short hashes, the line under a cut table, and
//! the table of rows grouped by status and reason ([`groups`]).

use std::fmt::{self, Write as _};

use super::groups::Groups;

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

/// Text as a Markdown code span in a table cell, or escaped text when it cannot be one.
pub(super) fn code(text: &str) -> String {
    if text.contains('`') || text.contains(|c: char| c.is_control()) || text.is_empty() {
        escape(text)
    } else {
        format!("`{}`", text.replace('|', "\\|"))
    }
}

/// Under a table cut at `shown` rows of `total`: `…and N more[ rows] in results.csv`,
/// after a blank line; nothing when nothing was cut.
pub(super) fn more(out: &mut String, total: usize, shown: usize, what: &str) -> fmt::Result {
    if total > shown {
        writeln!(out, "\n…and {} more{what} in `results.csv`.", total - shown)?;
    }
    Ok(())
}

/// How many users' lines a line of [`groups`] names before it says how many more.
const LINES_NAMED: usize = 10;

/// A section of rows grouped by status and reason: `## HEADING (N)`, then (or "None.")
/// a table of at most `max` lines, the largest group first: `| Status | Users | WHY |
/// Lines |`, each line naming the input lines of its first users (by `line`); then how
/// many rows are not listed.
pub(super) fn groups<T>(
    out: &mut String,
    heading: &str,
    groups: &Groups<T>,
    max: usize,
    why: &str,
    line: impl Fn(&T) -> usize,
) -> fmt::Result {
    writeln!(out, "## {heading} ({})\n", groups.total)?;
    if groups.is_empty() {
        return writeln!(out, "None.\n");
    }
    writeln!(
        out,
        "{} {} for {} {}, one line per status and reason, the most users first.\n",
        groups.total,
        if groups.total == 1 { "row" } else { "rows" },
        groups.len(),
        if groups.len() == 1 {
            "reason"
        } else {
            "reasons"
        },
    )?;
    writeln!(
        out,
        "| Status | Users | {why} | Lines |\n|---|---:|---|---|"
    )?;
    let mut listed = 0;
    for g in groups.largest_first().into_iter().take(max) {
        listed += g.count;
        let named: Vec<String> = g
            .rows
            .iter()
            .take(LINES_NAMED)
            .map(|r| line(r).to_string())
            .collect();
        let rest = g.count - named.len();
        let rest = if rest > 0 {
            format!(" and {rest} more")
        } else {
            String::new()
        };
        writeln!(
            out,
            "| {} | {} | {} | {}{rest} |",
            g.status,
            g.count,
            escape(&g.reason),
            named.join(", ")
        )?;
    }
    more(out, groups.total, listed, "")?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_code_spans_survive_tables() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "a\\`b");
        assert_eq!(code(""), "");
    }

    #[test]
    fn table_breakers_and_markup_are_escaped_and_hashes_cut() {
        assert_eq!(escape("a|b<i>*_[x]`\\"), "a\\|b\\<i\\>\\*\\_\\[x\\]\\`\\\\");
        assert_eq!(escape("a\nb\tc"), "a b c");
        assert_eq!(short("0123456789abcdef0123"), "0123456789abcdef");
        assert_eq!(short("ab"), "ab");
        assert_eq!(short("ééééééééééééééééé"), "éééééééééééééééé");
        let mut out = String::new();
        more(&mut out, 10, 10, " rows").unwrap();
        assert_eq!(out, "");
        more(&mut out, 12, 10, " rows").unwrap();
        assert_eq!(out, "\n…and 2 more rows in `results.csv`.\n");
    }
}
