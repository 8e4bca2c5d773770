//! `results.csv` and `results.jsonl`: one row per input row, in input order, whatever
//! happened to it — the file an administrator filters in Excel and a pipeline reads.
//!
//! One writer ([`ResultsWriter`]) writes both files a row at a time, for a plan's entries
//! ([`PlanResultsWriter`]) and for a run's outcomes ([`super::run::RunResultsWriter`])
//! alike: each kind of row says what its fixed cells, its input columns and its JSON
//! record are ([`ResultRow`]), and the writer does the rest. The CSV's columns are the
//! kind's fixed columns, then the input's own extra columns (ticket numbers, reasons) as
//! they came, sorted by name; an extra column named like a fixed one is titled
//! `input.NAME`. For a plan the fixed columns are [`COLUMNS`]: the row and line, the user
//! as given, the status and its reason, the user's id and UPN as Graph knows them, the
//! steps (in words) and the Graph writes they need. No secret ever goes here: Temporary
//! Access Passes go only to the protected secrets file.
//!
//! The CSV is safe to open in a spreadsheet: a cell that a spreadsheet would read as a
//! formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
//! `'` (`csv_safe`) — the carried input columns come from whoever wrote the input file.
//! The JSON Lines keep every value exactly.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::ReportError;
use crate::plan::PlanEntry;

/// The fixed columns of a plan's `results.csv`, before the input's own.
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

/// A row of a results file: a plan's entry or a run's outcome.
pub trait ResultRow {
    /// The CSV's fixed columns, before the input's own.
    const COLUMNS: &'static [&'static str];
    /// The fixed cells, one per column of [`ResultRow::COLUMNS`].
    fn cells(&self) -> Vec<String>;
    /// The input's own columns of this row, by name.
    fn input_columns(&self) -> &BTreeMap<String, String>;
    /// The row as a JSON Lines record, every value exactly as it is.
    fn record(&self) -> Value;
}

/// `results.csv` and `results.jsonl`, written together a row at a time in row order, so
/// that the rows need not be held in memory.
pub struct ResultsWriter<R> {
    csv: CsvFile,
    jsonl: JsonLinesFile,
    /// The tenant each `results.jsonl` row names (`tenantId`), when known.
    tenant_id: Option<String>,
    kind: PhantomData<fn(&R)>,
}

/// A plan's results writer.
pub type PlanResultsWriter = ResultsWriter<PlanEntry>;

impl<R: ResultRow> ResultsWriter<R> {
    /// Creates (or truncates) both files and writes the CSV's header; `extra` are the
    /// input's extra columns over every row, sorted.
    pub fn create(
        csv: &Path,
        jsonl: &Path,
        extra: &[String],
    ) -> Result<ResultsWriter<R>, ReportError> {
        Ok(ResultsWriter {
            csv: CsvFile::create(csv, R::COLUMNS, extra)?,
            jsonl: JsonLinesFile::create(jsonl)?,
            tenant_id: None,
            kind: PhantomData,
        })
    }

    /// Writes the next row to both files.
    /// Every `results.jsonl` row names tenant `id` (`tenantId`).
    pub fn with_tenant(mut self, id: Option<&str>) -> Self {
        self.tenant_id = id.map(str::to_string);
        self
    }

    pub fn write(&mut self, row: &R) -> Result<(), ReportError> {
        self.csv.write_row(&row.cells(), row.input_columns())?;
        let mut record = row.record();
        if let (Some(id), serde_json::Value::Object(map)) = (&self.tenant_id, &mut record) {
            map.insert("tenantId".into(), serde_json::Value::String(id.clone()));
        }
        self.jsonl.write(&record)
    }

    /// Flushes both files and syncs them to disk.
    pub fn finish(self) -> Result<(), ReportError> {
        self.csv.finish()?;
        self.jsonl.finish()
    }
}

/// The header of an extra column: its name, prefixed `input.` when that clashes with a
/// fixed column (again, should `input.x` also be a column of the input that `x` now
/// clashes with), so that every header is unique.
fn column_title(fixed: &[&str], extra: &[String], name: &str) -> String {
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
fn csv_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The CSV half: the fixed columns then the `extra` ones (titled by [`column_title`]);
/// every cell, the header's included, goes through [`csv_safe`].
struct CsvFile {
    path: PathBuf,
    fixed: usize,
    extra: Vec<String>,
    w: csv::Writer<BufWriter<File>>,
}

impl CsvFile {
    fn create(path: &Path, fixed: &[&str], extra: &[String]) -> Result<CsvFile, ReportError> {
        let file = File::create(path).map_err(|e| ReportError::write(path, e))?;
        let mut table = CsvFile {
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

    /// Writes one row: its fixed cells and the map its extra cells come from (a column
    /// it lacks is empty).
    fn write_row(
        &mut self,
        cells: &[String],
        columns: &BTreeMap<String, String>,
    ) -> Result<(), ReportError> {
        debug_assert_eq!(cells.len(), self.fixed);
        let extra = self
            .extra
            .iter()
            .map(|name| columns.get(name).map_or("", String::as_str));
        csv_record(
            &mut self.w,
            &self.path,
            cells.iter().map(String::as_str).chain(extra),
        )
    }

    /// Flushes the file and syncs it to disk.
    fn finish(mut self) -> Result<(), ReportError> {
        let path = &self.path;
        self.w.flush().map_err(|e| ReportError::write(path, e))?;
        let file = self.w.get_ref().get_ref();
        file.sync_all().map_err(|e| ReportError::write(path, e))
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

/// The JSON Lines half: one record a line.
struct JsonLinesFile {
    path: PathBuf,
    w: BufWriter<File>,
}

impl JsonLinesFile {
    fn create(path: &Path) -> Result<JsonLinesFile, ReportError> {
        let file = File::create(path).map_err(|e| ReportError::write(path, e))?;
        Ok(JsonLinesFile {
            path: path.to_path_buf(),
            w: BufWriter::new(file),
        })
    }

    /// Writes one record and its newline.
    fn write(&mut self, record: &Value) -> Result<(), ReportError> {
        serde_json::to_writer(&mut self.w, record)
            .map_err(|err| ReportError::write(&self.path, std::io::Error::other(err)))?;
        self.w
            .write_all(b"\n")
            .map_err(|err| ReportError::write(&self.path, err))
    }

    /// Flushes the file and syncs it to disk.
    fn finish(mut self) -> Result<(), ReportError> {
        let path = &self.path;
        self.w.flush().map_err(|e| ReportError::write(path, e))?;
        let file = self.w.get_ref();
        file.sync_all().map_err(|e| ReportError::write(path, e))
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

impl ResultRow for PlanEntry {
    const COLUMNS: &'static [&'static str] = &COLUMNS;

    fn cells(&self) -> Vec<String> {
        let user = self.before.as_ref();
        vec![
            self.row.to_string(),
            self.line.to_string(),
            self.input.clone(),
            self.status.to_string(),
            self.reason.clone().unwrap_or_default(),
            user.map(|u| u.id.clone()).unwrap_or_default(),
            user.map(|u| u.user_principal_name.clone())
                .unwrap_or_default(),
            steps_text(self),
            self.writes().to_string(),
        ]
    }

    fn input_columns(&self) -> &BTreeMap<String, String> {
        &self.columns
    }

    fn record(&self) -> Value {
        json!({
            "row": self.row,
            "line": self.line,
            "input": self.input,
            "status": self.status,
            "reason": self.reason,
            "userId": self.before.as_ref().map(|u| &u.id),
            "userPrincipalName": self.before.as_ref().map(|u| &u.user_principal_name),
            "steps": self.steps,
            "stepsText": steps_text(self),
            "writes": self.writes(),
            "notes": self.notes,
            "columns": self.columns,
        })
    }
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

    /// A row kind of two fixed columns, to drive the writer with hostile values.
    struct Row(Vec<String>, BTreeMap<String, String>);

    impl ResultRow for Row {
        const COLUMNS: &'static [&'static str] = &["row", "input"];
        fn cells(&self) -> Vec<String> {
            self.0.clone()
        }
        fn input_columns(&self) -> &BTreeMap<String, String> {
            &self.1
        }
        fn record(&self) -> Value {
            json!({ "cells": self.0, "columns": self.1 })
        }
    }

    #[test]
    fn the_csv_neutralises_formulas_in_every_column_and_the_header() {
        let dir = std::env::temp_dir().join(format!("mfa-reset-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let columns = BTreeMap::from([
            ("=evil()".to_string(), "@x".to_string()),
            ("ticket".to_string(), "=cmd|' /C calc'!A0".to_string()),
        ]);
        let extra: Vec<String> = columns.keys().cloned().collect();
        let (csv, jsonl) = (dir.join("results.csv"), dir.join("results.jsonl"));
        let mut w = ResultsWriter::<Row>::create(&csv, &jsonl, &extra).unwrap();
        w.write(&Row(vec!["0".to_string(), "-1".to_string()], columns))
            .unwrap();
        w.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&csv).unwrap(),
            "row,input,'=evil(),ticket\n0,'-1,'@x,'=cmd|' /C calc'!A0\n"
        );
        // The JSON Lines keep the values exactly.
        assert_eq!(
            std::fs::read_to_string(&jsonl).unwrap(),
            "{\"cells\":[\"0\",\"-1\"],\"columns\":{\"=evil()\":\"@x\",\"ticket\":\"=cmd|' /C calc'!A0\"}}\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
