//! `results.csv` and `results.jsonl`: one row per input row, in input order, whatever
//! happened to it — the file an administrator filters in Excel and a pipeline reads.
//!
//! Columns: the row and line, the user as given, the status and its reason, the user's id
//! and UPN as Graph knows them, the steps (in words), the Graph writes they need, then the
//! input's own extra columns (ticket numbers, reasons) as they came. No secret ever goes
//! here: Temporary Access Passes go only to the protected secrets file.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

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

/// The input's extra column names, sorted (entries keep them in a map).
fn extra_columns(entries: &[PlanEntry]) -> Vec<String> {
    let names: BTreeSet<&String> = entries.iter().flat_map(|e| e.columns.keys()).collect();
    names.into_iter().cloned().collect()
}

/// A column that clashes with a fixed one is prefixed `input.`.
fn column_title(name: &str) -> String {
    if COLUMNS.contains(&name) {
        format!("input.{name}")
    } else {
        name.to_string()
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

/// Writes `results.csv`.
pub fn write_csv(path: &Path, entries: &[PlanEntry]) -> Result<(), ReportError> {
    let extra = extra_columns(entries);
    let file = std::fs::File::create(path).map_err(|e| ReportError::write(path, e))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(extra.iter().map(|c| column_title(c)))
        .collect();
    let csv_err = |e: csv::Error| ReportError::write(path, std::io::Error::other(e));
    w.write_record(&header).map_err(csv_err)?;
    for e in entries {
        let mut record: Vec<String> = fixed_values(e).into();
        for name in &extra {
            record.push(e.columns.get(name).cloned().unwrap_or_default());
        }
        w.write_record(&record).map_err(csv_err)?;
    }
    w.flush().map_err(|e| ReportError::write(path, e))?;
    Ok(())
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
    let file = std::fs::File::create(path).map_err(|e| ReportError::write(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    for e in entries {
        serde_json::to_writer(&mut w, &json_record(e))
            .map_err(|err| ReportError::write(path, std::io::Error::other(err)))?;
        w.write_all(b"\n")
            .map_err(|err| ReportError::write(path, err))?;
    }
    w.flush().map_err(|e| ReportError::write(path, e))?;
    Ok(())
}
