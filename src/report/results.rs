//! `results.csv` and `results.jsonl`: one row per input row, in input order, whatever
//! happened to it — the file an administrator filters in Excel and a pipeline reads.
//!
//! Columns: the row and line, the user as given, the status and its reason, the user's id
//! and UPN as Graph knows them, the steps (in words), the Graph writes they need, then the
//! input's own extra columns (ticket numbers, reasons) as they came. No secret ever goes
//! here: Temporary Access Passes go only to the protected secrets file.
//!
//! The CSV is safe to open in a spreadsheet: a cell that a spreadsheet would read as a
//! formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
//! `'` ([`csv_safe`]) — the carried input columns come from whoever wrote the input file.
//! The JSON Lines keep every value exactly. The helpers here ([`extra_columns`],
//! [`write_csv_table`], [`write_json_lines`]) also write the results of a run
//! ([`super::run`]).
//!
//! A plan too large to hold in memory is written a row at a time with
//! [`PlanResultsWriter`] (the CSV and JSON Lines together, [`CsvTableWriter`] and
//! [`JsonLinesWriter`] underneath): the same bytes as [`write_csv`] and [`write_jsonl`].

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::ReportError;
use crate::plan::PlanEntry;

/// The fixed columns, before the input's own.
pub const COLUMNS: [&str; 9] = [
    "row",
    "line",
    "input",
    "status",
    "reason",
    "userId",
    "userPrincipalName",
    "steps",
    "writes",
];

/// The input's extra column names over all rows, sorted (rows keep them in a map).
pub fn extra_columns<'a>(
    rows: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
) -> Vec<String> {
    let names: BTreeSet<&String> = rows.into_iter().flat_map(|c| c.keys()).collect();
    names.into_iter().cloned().collect()
}

/// The header of an extra column: its name, prefixed `input.` when that clashes with a
/// fixed column (again, should `input.x` also be a column of the input that `x` now
/// clashes with), so that every header is unique.
pub fn column_title(fixed: &[&str], extra: &[String], name: &str) -> String {
    let mut title = name.to_string();
    while fixed.contains(&title.as_str()) || (title != name && extra.contains(&title)) {
        title = format!("input.{title}");
    }
    title
}

/// A cell as written to a CSV file: text a spreadsheet would take for a formula (it
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return — `=HYPERLINK(...)`,
/// `=cmd|' /C calc'!A0`, `@SUM(...)`) gets a leading `'`, so Excel, LibreOffice and
/// Google Sheets show it as text. Everything else is written as is.
pub fn csv_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A results CSV written a row at a time: the `fixed` columns then the `extra` ones
/// (titled by [`column_title`]); each row is its fixed values and the map its extra values
/// come from. Every cell, the header's included, goes through [`csv_safe`]. The header
/// is written by [`CsvTableWriter::create`], so `extra` must be known up front (all
/// rows' [`extra_columns`]).
pub struct CsvTableWriter {
    path: PathBuf,
    fixed: usize,
    extra: Vec<String>,
    w: csv::Writer<BufWriter<File>>,
}

impl CsvTableWriter {
    /// Creates (or truncates) the file at `path` and writes the header.
    pub fn create(
        path: &Path,
        fixed: &[&str],
        extra: &[String],
    ) -> Result<CsvTableWriter, ReportError> {
        let file = File::create(path).map_err(|e| ReportError::write(path, e))?;
        let mut table = CsvTableWriter {
            path: path.to_path_buf(),
            fixed: fixed.len(),
            extra: extra.to_vec(),
            w: csv::Writer::from_writer(BufWriter::new(file)),
        };
        let header: Vec<String> = fixed
            .iter()
            .map(|c| c.to_string())
            .chain(extra.iter().map(|c| column_title(fixed, extra, c)))
            .collect();
        csv_record(&mut table.w, path, header.iter().map(String::as_str))?;
        Ok(table)
    }

    /// Writes one row: its fixed values (one per fixed column) and the map its extra
    /// values come from (a column it lacks is empty).
    pub fn write_row(
        &mut self,
        values: &[String],
        columns: &BTreeMap<String, String>,
    ) -> Result<(), ReportError> {
        debug_assert_eq!(values.len(), self.fixed);
        let cells = values.iter().map(String::as_str).chain(
            self.extra
                .iter()
                .map(|name| columns.get(name).map_or("", String::as_str)),
        );
        csv_record(&mut self.w, &self.path, cells)
    }

    /// Flushes the file and syncs it to disk.
    pub fn finish(mut self) -> Result<(), ReportError> {
        let path = &self.path;
        self.w.flush().map_err(|e| ReportError::write(path, e))?;
        self.w
            .get_ref()
            .get_ref()
            .sync_all()
            .map_err(|e| ReportError::write(path, e))
    }
}

/// Writes one CSV record, every cell through [`csv_safe`].
fn csv_record<'a>(
    w: &mut csv::Writer<BufWriter<File>>,
    path: &Path,
    cells: impl Iterator<Item = &'a str>,
) -> Result<(), ReportError> {
    let csv_err = |e: csv::Error| ReportError::write(path, std::io::Error::other(e));
    for cell in cells {
        w.write_field(csv_safe(cell).as_bytes()).map_err(csv_err)?;
    }
    w.write_record(None::<&[u8]>).map_err(csv_err)
}

/// Writes a results CSV at once: [`CsvTableWriter`] over `rows`.
pub fn write_csv_table<'a>(
    path: &Path,
    fixed: &[&str],
    extra: &[String],
    rows: impl IntoIterator<Item = (Vec<String>, &'a BTreeMap<String, String>)>,
) -> Result<(), ReportError> {
    let mut table = CsvTableWriter::create(path, fixed, extra)?;
    for (values, columns) in rows {
        table.write_row(&values, columns)?;
    }
    table.finish()
}

/// JSON Lines written a record at a time: one record a line.
pub struct JsonLinesWriter {
    path: PathBuf,
    w: BufWriter<File>,
}

impl JsonLinesWriter {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &Path) -> Result<JsonLinesWriter, ReportError> {
        let file = File::create(path).map_err(|e| ReportError::write(path, e))?;
        Ok(JsonLinesWriter {
            path: path.to_path_buf(),
            w: BufWriter::new(file),
        })
    }

    /// Writes one record and its newline.
    pub fn write(&mut self, record: &Value) -> Result<(), ReportError> {
        serde_json::to_writer(&mut self.w, record)
            .map_err(|err| ReportError::write(&self.path, std::io::Error::other(err)))?;
        self.w
            .write_all(b"\n")
            .map_err(|err| ReportError::write(&self.path, err))
    }

    /// Flushes the file and syncs it to disk.
    pub fn finish(mut self) -> Result<(), ReportError> {
        self.w
            .flush()
            .map_err(|e| ReportError::write(&self.path, e))?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| ReportError::write(&self.path, e))
    }
}

/// Writes JSON Lines at once: [`JsonLinesWriter`] over `records`.
pub fn write_json_lines(
    path: &Path,
    records: impl IntoIterator<Item = Value>,
) -> Result<(), ReportError> {
    let mut w = JsonLinesWriter::create(path)?;
    for record in records {
        w.write(&record)?;
    }
    w.finish()
}

/// A results CSV and its JSON Lines twin, written together a row at a time; what
/// [`PlanResultsWriter`] and [`super::run::RunResultsWriter`] share.
pub(super) struct ResultsFiles {
    csv: CsvTableWriter,
    jsonl: JsonLinesWriter,
}

impl ResultsFiles {
    /// Creates both files; the CSV gets its header.
    pub(super) fn create(
        csv: &Path,
        jsonl: &Path,
        fixed: &[&str],
        extra: &[String],
    ) -> Result<ResultsFiles, ReportError> {
        Ok(ResultsFiles {
            csv: CsvTableWriter::create(csv, fixed, extra)?,
            jsonl: JsonLinesWriter::create(jsonl)?,
        })
    }

    /// Writes one row to both.
    pub(super) fn write(
        &mut self,
        values: &[String],
        columns: &BTreeMap<String, String>,
        record: &Value,
    ) -> Result<(), ReportError> {
        self.csv.write_row(values, columns)?;
        self.jsonl.write(record)
    }

    /// Flushes and syncs both.
    pub(super) fn finish(self) -> Result<(), ReportError> {
        self.csv.finish()?;
        self.jsonl.finish()
    }
}

/// The steps of an entry in words, `; `-separated.
pub fn steps_text(entry: &PlanEntry) -> String {
    entry
        .steps
        .iter()
        .map(|s| s.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

fn fixed_values(e: &PlanEntry) -> [String; 9] {
    [
        e.row.to_string(),
        e.line.to_string(),
        e.input.clone(),
        e.status.to_string(),
        e.reason.clone().unwrap_or_default(),
        e.before.as_ref().map(|u| u.id.clone()).unwrap_or_default(),
        e.before
            .as_ref()
            .map(|u| u.user_principal_name.clone())
            .unwrap_or_default(),
        steps_text(e),
        e.writes().to_string(),
    ]
}

/// A plan's `results.csv` and `results.jsonl`, written an entry at a time in row order,
/// so that a plan need not be held in memory: given `extra` = [`extra_columns`] over all
/// entries' columns, the same bytes as [`write_csv`] and [`write_jsonl`].
pub struct PlanResultsWriter(ResultsFiles);

impl PlanResultsWriter {
    /// Creates both files; `extra` are the input's extra columns over every entry.
    pub fn create(
        csv: &Path,
        jsonl: &Path,
        extra: &[String],
    ) -> Result<PlanResultsWriter, ReportError> {
        ResultsFiles::create(csv, jsonl, &COLUMNS, extra).map(PlanResultsWriter)
    }

    /// Writes the next entry to both files.
    pub fn write(&mut self, e: &PlanEntry) -> Result<(), ReportError> {
        self.0.write(&fixed_values(e), &e.columns, &json_record(e))
    }

    /// Flushes both files and syncs them to disk.
    pub fn finish(self) -> Result<(), ReportError> {
        self.0.finish()
    }
}

/// Writes `results.csv`.
pub fn write_csv(path: &Path, entries: &[PlanEntry]) -> Result<(), ReportError> {
    let extra = extra_columns(entries.iter().map(|e| &e.columns));
    write_csv_table(
        path,
        &COLUMNS,
        &extra,
        entries.iter().map(|e| (fixed_values(e).into(), &e.columns)),
    )
}

/// One entry as a JSON Lines record.
pub fn json_record(e: &PlanEntry) -> Value {
    json!({
        "row": e.row,
        "line": e.line,
        "input": e.input,
        "status": e.status,
        "reason": e.reason,
        "userId": e.before.as_ref().map(|u| &u.id),
        "userPrincipalName": e.before.as_ref().map(|u| &u.user_principal_name),
        "steps": e.steps,
        "stepsText": steps_text(e),
        "writes": e.writes(),
        "notes": e.notes,
        "columns": e.columns,
    })
}

/// Writes `results.jsonl`.
pub fn write_jsonl(path: &Path, entries: &[PlanEntry]) -> Result<(), ReportError> {
    write_json_lines(path, entries.iter().map(json_record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_quoted_and_others_kept() {
        for hostile in [
            "=cmd|' /C calc'!A0",
            "+1 425 555 0100",
            "-2+3",
            "@SUM(A1:A9)",
            "\tx",
            "\rx",
            "=",
        ] {
            assert_eq!(csv_safe(hostile), format!("'{hostile}"), "{hostile:?}");
        }
        for fine in [
            "",
            "alice@contoso.com",
            "a=b",
            " =x",
            "'=x",
            "INC-4711",
            "12",
            "Zoë",
            "\nx",
        ] {
            assert!(matches!(csv_safe(fine), Cow::Borrowed(_)), "{fine:?}");
            assert_eq!(csv_safe(fine), fine);
        }
    }

    #[test]
    fn clashing_columns_are_prefixed_until_unique() {
        let fixed = ["row", "status"];
        let extra: Vec<String> = ["input.row", "row", "ticket"].map(String::from).to_vec();
        let titles: Vec<String> = extra
            .iter()
            .map(|n| column_title(&fixed, &extra, n))
            .collect();
        assert_eq!(titles, ["input.row", "input.input.row", "ticket"]);
        assert_eq!(column_title(&fixed, &[], "status"), "input.status");
    }

    #[test]
    fn the_csv_neutralises_formulas_in_every_column_and_the_header() {
        let dir = std::env::temp_dir().join(format!("mfa-reset-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.csv");
        let columns = BTreeMap::from([
            ("=evil()".to_string(), "@x".to_string()),
            ("ticket".to_string(), "=cmd|' /C calc'!A0".to_string()),
        ]);
        let extra = extra_columns([&columns]);
        write_csv_table(
            &path,
            &["row", "input"],
            &extra,
            [(vec!["0".to_string(), "-1".to_string()], &columns)],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "row,input,'=evil(),ticket\n0,'-1,'@x,'=cmd|' /C calc'!A0\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
