//! `--output json` (`-o json`) on `check`, `plan`, `apply` and `resume`: stdout carries
//! exactly one JSON document saying how the command ended, for scripts (`mfa-reset plan …
//! -o json | jq .counts.planned`), while every message for people stays on stderr. The
//! document is written once the command is over, whatever the ending (an error too):
//!
//! - `command`, `exitCode`, `exit` (`done`, `failures`, `usage`, `refused`,
//!   `interrupted`) and `exitReason` (the error, or what the exit code means);
//! - `folder`: the command's `--out` folder (or the resumed one), and `files`, every file
//!   in it that this command wrote (secrets' paths included, never their contents);
//! - `tenant` and `fingerprint`: from the plan the folder holds;
//! - `counts`: the rows by status of the results this command wrote, and `rows`, their
//!   sum; `plan`, the same for the plan an `apply` from a list made on the way;
//! - `tenants`: with `--tenants`, the same per tenant folder;
//! - what a command adds of its own ([`add`]): `check` gives `input` and `problems`.
//!
//! The document reads what the command left on disk, so it says what a person opening the
//! folder would find; a file older than the command (a refused `--out` that holds an
//! earlier run) is not described.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

use crate::exit::{CliResult, Exit};
use crate::plan::store::read_header;

/// What goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Messages for people, on stderr (`check` lists its problems on stdout).
    #[default]
    Text,
    /// One JSON document on stdout, how the command ended; messages stay on stderr.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// json: print one JSON document on stdout when the command ends (counts by status,
    /// the folder and the files written, tenant, fingerprint, exit code and reason), for
    /// scripts; every message stays on stderr.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        default_value = "text",
        value_name = "FORMAT",
        help_heading = "Output"
    )]
    pub format: OutputFormat,
}

impl OutputArgs {
    pub fn json(&self) -> bool {
        self.format == OutputFormat::Json
    }
}

/// What a command said of its own for the document.
static ADDED: Mutex<Vec<(String, Value)>> = Mutex::new(Vec::new());

/// Adds `key` to the document of this process's command (`check`'s problems, say).
pub fn add(key: &str, value: Value) {
    if let Ok(mut added) = ADDED.lock() {
        added.push((key.to_string(), value));
    }
}

/// The document of a command named `command` that began at `started`, wrote to `folder`
/// (when it has one), and ended with `result`.
pub fn document(
    command: &str,
    folder: Option<&Path>,
    started: SystemTime,
    result: &CliResult,
) -> Value {
    let (exit, reason) = match result {
        Ok(exit) => (*exit, reason_of(command, *exit).to_string()),
        Err(e) => (e.exit, e.to_string()),
    };
    let mut doc = Map::new();
    doc.insert("command".into(), command.into());
    doc.insert("exitCode".into(), exit.code().into());
    doc.insert("exit".into(), name_of(exit).into());
    doc.insert("exitReason".into(), reason.into());
    if let Some(folder) = folder {
        doc.insert("folder".into(), folder.display().to_string().into());
        let files = written_since(folder, started);
        doc.insert(
            "files".into(),
            files
                .iter()
                .map(|f| Value::from(f.display().to_string()))
                .collect(),
        );
        describe_folder(&mut doc, folder, started);
        if let Some(plan) = described(&folder.join("plan"), started) {
            doc.insert("plan".into(), plan);
        }
        let tenants = tenant_folders(folder, started);
        if !tenants.is_empty() {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for tenant in &tenants {
                let Some(theirs) = tenant.get("counts").and_then(Value::as_object) else {
                    continue;
                };
                for (status, n) in theirs {
                    *counts.entry(status.clone()).or_default() += n.as_u64().unwrap_or(0);
                }
            }
            doc.insert("rows".into(), counts.values().sum::<u64>().into());
            doc.insert("counts".into(), json!(counts));
            doc.insert("tenants".into(), Value::Array(tenants));
        }
    }
    if let Ok(mut added) = ADDED.lock() {
        for (key, value) in added.drain(..) {
            doc.insert(key, value);
        }
    }
    for key in ["folder", "tenant", "fingerprint", "counts", "rows"] {
        doc.entry(key).or_insert(Value::Null);
    }
    Value::Object(doc)
}

/// Prints [`document`] on stdout, on one line.
pub fn print(document: &Value) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head -c0`) is the reader's choice: the exit code still tells.
    let _ = writeln!(stdout, "{document}");
    let _ = stdout.flush();
}

fn name_of(exit: Exit) -> &'static str {
    match exit {
        Exit::Done => "done",
        Exit::Failures => "failures",
        Exit::Usage => "usage",
        Exit::Refused => "refused",
        Exit::Interrupted => "interrupted",
    }
}

/// What `exit` means for `command`, in the words of its `--help`.
fn reason_of(command: &str, exit: Exit) -> &'static str {
    match (command, exit) {
        ("check", Exit::Done) => {
            "every row is usable, or the invalid ones are left out (--skip-invalid)"
        }
        ("check", Exit::Usage) => "some row is invalid: each is listed in problems",
        ("plan", Exit::Done) => {
            "the plan is written, every row planned, no-change, excluded, protected or duplicate"
        }
        ("plan", Exit::Failures) => {
            "the plan is written, but some row is blocked, not-found, invalid or error"
        }
        ("plan", Exit::Interrupted) => "interrupted: no plan was written",
        (_, Exit::Done) => "every row done, no-change, excluded, protected or duplicate",
        (_, Exit::Failures) => {
            "some row ended blocked, partial, failed, drifted, not-found, invalid or pending"
        }
        (_, Exit::Usage) => "bad usage or bad input, or not confirmed: nothing was changed",
        (_, Exit::Refused) => "credentials or permissions refused: nothing more was changed",
        (_, Exit::Interrupted) => "interrupted: `mfa-reset resume DIR` carries on",
    }
}

/// Whether `path` was written since `started`.
fn written(path: &Path, started: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|m| m >= started)
}

/// Every file under `folder` written since `started`, sorted.
fn written_since(folder: &Path, started: SystemTime) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut to_visit = vec![folder.to_path_buf()];
    while let Some(dir) = to_visit.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => to_visit.push(path),
                // The run's lock is the tool's own business, not a file written for anyone.
                Ok(t)
                    if t.is_file()
                        && written(&path, started)
                        && entry.file_name() != crate::engine::lock::LOCK_FILE =>
                {
                    found.push(path)
                }
                _ => {}
            }
        }
    }
    found.sort();
    found
}

/// The tenant, fingerprint and counts of `folder`'s plan and results, when this command
/// wrote them.
fn describe_folder(doc: &mut Map<String, Value>, folder: &Path, started: SystemTime) {
    let plan = folder.join("plan.json");
    if (written(&plan, started) || written(&folder.join("results.jsonl"), started))
        && let Ok(header) = read_header(&plan)
    {
        doc.insert("tenant".into(), json!(header.tenant));
        doc.insert("fingerprint".into(), header.fingerprint.into());
    }
    let results = folder.join("results.jsonl");
    if written(&results, started)
        && let Some(counts) = counts_of(&results)
    {
        doc.insert("rows".into(), counts.values().sum::<u64>().into());
        doc.insert("counts".into(), json!(counts));
    }
}

/// `folder` described on its own (a tenant's, or the plan an apply made), when this
/// command wrote its results.
fn described(folder: &Path, started: SystemTime) -> Option<Value> {
    if !written(&folder.join("results.jsonl"), started) {
        return None;
    }
    let mut doc = Map::new();
    doc.insert("folder".into(), folder.display().to_string().into());
    describe_folder(&mut doc, folder, started);
    Some(Value::Object(doc))
}

/// The tenants' folders of a `--tenants` run (every sub-folder but the plan, the lists and
/// the secrets that holds results this command wrote), each described.
fn tenant_folders(folder: &Path, started: SystemTime) -> Vec<Value> {
    if !folder.join(crate::tenants::RUN_TENANTS_FILE).is_file() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().filter_map(|d| described(d, started)).collect()
}

/// The rows of a `results.jsonl` by status.
fn counts_of(results: &Path) -> Option<BTreeMap<String, u64>> {
    #[derive(serde::Deserialize)]
    struct StatusOnly {
        status: String,
    }
    let file = std::fs::File::open(results).ok()?;
    let mut counts = BTreeMap::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.ok()?;
        if line.trim().is_empty() {
            continue;
        }
        let row: StatusOnly = serde_json::from_str(&line).ok()?;
        *counts.entry(row.status).or_default() += 1;
    }
    Some(counts)
}
