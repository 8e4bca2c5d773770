//! `mfa-reset check`: read a user list offline and say what is wrong with it.
//!
//! ```text
//! mfa-reset check leavers.csv
//! mfa-reset check export.csv --column "Sign-in name"
//! mfa-reset check incident.txt --skip-invalid
//! ```
//!
//! Nothing is sent anywhere: no credentials are needed. Every invalid row is listed as
//! `FILE:LINE:COLUMN: message (hint)`, every duplicate as `FILE:LINE: note: ...`, then what
//! the file was read as and the counts. Exit code 0 when every row is usable (or with
//! `--skip-invalid`), 2 when a row is invalid or the file cannot be read at all — the same
//! rows `plan` would report as `invalid` and never send to Graph.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use super::output;

use crate::cli::log::say;
use crate::exit::{CliResult, Exit, UsageContext};
use crate::input::{self, InputOptions, InputRow, InputSummary, RowStatus};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The user list: CSV (`,` `;` or tab separated, with a header), a plain list (one
    /// user a line), JSON (array, Graph page) or JSON Lines; UTF-8 or UTF-16. `-` reads
    /// standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Read users from this column (CSV header or JSON property) instead of finding the
    /// id / userPrincipalName / mail column by name.
    #[arg(long, value_name = "NAME", help_heading = "Input")]
    pub column: Option<String>,
    /// Exit 0 even if some rows are invalid: they are listed here, and `plan` reports them
    /// as invalid and leaves them out.
    #[arg(long, help_heading = "Input")]
    pub skip_invalid: bool,
    #[command(flatten)]
    pub output: super::output::OutputArgs,
}

/// Writes to standard output until the first failure (a closed pipe), then stays quiet
/// so that `check big.csv | head` still counts and exits as usual.
struct Out<W: Write> {
    w: W,
    ok: bool,
}

impl<W: Write> Out<W> {
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        if self.ok && writeln!(self.w, "{args}").is_err() {
            self.ok = false;
        }
    }
}

/// The lines `check` prints for a chunk of rows.
fn report_rows(out: &mut Out<impl Write>, file: &Path, rows: &[InputRow]) {
    for row in rows {
        match row.status() {
            RowStatus::Valid => {}
            RowStatus::Invalid => {
                if let Err(problem) = &row.key {
                    out.line(format_args!(
                        "{}:{}:{}: {problem}",
                        file.display(),
                        problem.line,
                        problem.column
                    ));
                }
            }
            RowStatus::Duplicate => {
                if let Some(first) = row.duplicate_of {
                    out.line(format_args!(
                        "{}:{}: note: {:?} is the same user as line {}; it is acted on once",
                        file.display(),
                        row.line,
                        row.value,
                        first.line
                    ));
                }
            }
        }
    }
}

/// The problems `check -o json` lists: the first [`ProblemList::MAX`], then a count.
#[derive(Default)]
struct ProblemList {
    listed: Vec<Value>,
    not_listed: usize,
}

impl ProblemList {
    /// More would make a document no script wants; the text lines list them all.
    const MAX: usize = 10_000;

    fn add(&mut self, rows: &[InputRow]) {
        for row in rows {
            let problem = match row.status() {
                RowStatus::Valid => continue,
                RowStatus::Invalid => match &row.key {
                    Err(p) => json!({
                        "kind": "invalid",
                        "line": p.line,
                        "column": p.column,
                        "columnName": p.column_name,
                        "message": p.message,
                        "hint": p.hint,
                    }),
                    Ok(_) => continue,
                },
                RowStatus::Duplicate => json!({
                    "kind": "duplicate",
                    "line": row.line,
                    "value": row.value,
                    "sameAsLine": row.duplicate_of.map(|first| first.line),
                }),
            };
            if self.listed.len() < Self::MAX {
                self.listed.push(problem);
            } else {
                self.not_listed += 1;
            }
        }
    }
}

/// What the file was read as, and its counts, for `check -o json`.
fn input_document(file: &Path, summary: &InputSummary) -> Value {
    let k = summary.by_kind;
    json!({
        "file": file.display().to_string(),
        "readAs": summary.format.to_string(),
        "rows": summary.rows,
        "valid": summary.valid,
        "invalid": summary.invalid,
        "duplicates": summary.duplicates,
        "validBy": {"id": k.id, "userPrincipalName": k.upn, "mail": k.mail},
        "notes": summary.notes,
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary lines.
fn report_summary(out: &mut Out<impl Write>, file: &Path, summary: &InputSummary) {
    let f = file.display();
    for note in &summary.notes {
        out.line(format_args!("{f}: note: {note}"));
    }
    out.line(format_args!("{f}: read as {}", summary.format));
    let k = summary.by_kind;
    out.line(format_args!(
        "{f}: {}: {} ({} by object id, {} by UPN, {} by mail), {}, {}",
        plural(summary.rows, "row", "rows"),
        plural(summary.valid, "valid user", "valid users"),
        k.id,
        k.upn,
        k.mail,
        plural(summary.invalid, "invalid row", "invalid rows"),
        plural(summary.duplicates, "duplicate", "duplicates"),
    ));
}

/// Runs `mfa-reset check`.
pub fn run(args: CheckArgs) -> CliResult {
    let options = InputOptions {
        column: args.column.clone(),
    };
    // With --output json, stdout is the document's: the lines go to stderr (as events
    // when stderr is the JSON log).
    let lines: Box<dyn Write> = if args.output.json() && super::log::stderr_is_json_log() {
        Box::new(super::log::SaidLines::default())
    } else if args.output.json() {
        Box::new(io::stderr().lock())
    } else {
        Box::new(io::stdout().lock())
    };
    let mut out = Out {
        w: io::BufWriter::new(lines),
        ok: true,
    };
    let mut problems = ProblemList::default();
    let file = args.file.as_path();
    let sink = |rows: Vec<InputRow>| {
        report_rows(&mut out, file, &rows);
        if args.output.json() {
            problems.add(&rows);
        }
        Ok::<(), anyhow::Error>(())
    };
    let summary = if file == Path::new("-") {
        input::read_from("<stdin>", io::stdin(), &options, sink).usage()?
    } else {
        input::read(file, &options, sink).usage()?
    };
    report_summary(&mut out, file, &summary);
    if out.ok {
        let _ = out.w.flush();
    }
    drop(out);
    if args.output.json() {
        output::add("input", input_document(file, &summary));
        output::add("rows", summary.rows.into());
        output::add(
            "counts",
            json!({"valid": summary.valid, "invalid": summary.invalid, "duplicate": summary.duplicates}),
        );
        output::add("problems", Value::Array(problems.listed));
        output::add("problemsNotListed", problems.not_listed.into());
    }

    if summary.rows == 0 {
        say!("mfa-reset: warning: {} holds no user rows", file.display());
    }
    if summary.invalid > 0 {
        let rows = plural(summary.invalid, "invalid row", "invalid rows");
        if args.skip_invalid {
            say!(
                "mfa-reset: {rows} in {} will be left out (--skip-invalid): reported as invalid, never sent",
                file.display()
            );
        } else {
            say!(
                "mfa-reset: error: {rows} in {}: correct them (each is listed above with its \
                 line and column), or run with --skip-invalid to leave them out",
                file.display()
            );
            return Ok(Exit::Usage);
        }
    }
    Ok(Exit::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::read_from;

    #[test]
    fn lines_for_problems_and_duplicates() {
        let text = "userPrincipalName,ticket\nalice@contoso.example,1\nbad value,2\nALICE@contoso.example,3\n";
        let mut out = Out {
            w: Vec::new(),
            ok: true,
        };
        let file = Path::new("f.csv");
        let summary = read_from(file, text.as_bytes(), &InputOptions::default(), |rows| {
            report_rows(&mut out, file, &rows);
            Ok::<(), input::InputError>(())
        })
        .unwrap();
        report_summary(&mut out, file, &summary);
        let text = String::from_utf8(out.w).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(
                "f.csv:3:1: column \"userPrincipalName\": user key \"bad value\" contains a space"
            ),
            "{text}"
        );
        assert!(lines[0].ends_with(')'), "{text}");
        assert_eq!(
            lines[1],
            "f.csv:4: note: \"ALICE@contoso.example\" is the same user as line 2; it is acted on once"
        );
        assert!(
            lines[2].starts_with("f.csv: read as CSV (','-separated, UTF-8), header on line 1;"),
            "{text}"
        );
        assert_eq!(
            lines[3],
            "f.csv: 3 rows: 1 valid user (0 by object id, 1 by UPN, 0 by mail), 1 invalid row, 1 duplicate"
        );
    }
}
