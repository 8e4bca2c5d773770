//! What a run leaves for people: `results.csv` / `results.jsonl` ([`results`]), one row
//! per input row, and the change board's summary ([`summary`]): counts by status, by
//! action and by method type, the Graph writes and the least time they take, the blockers,
//! and the per-user table, as Markdown ([`summary`]) and as a self-contained HTML page
//! with charts ([`html`]). After `apply`, [`run`] writes the same four files for the run:
//! what was done to each row beside what was planned, failures with Graph's request ids,
//! and whether the run finished or must be resumed. Temporary Access Passes are not a
//! report: the engine writes them only to the private `secrets/tap.csv`.
//!
//! None of them needs every row in memory: the summaries render from a bounded
//! [`PlanDigest`] (and [`run::RunDigest`]) built one row at a time, and the results files
//! are written a row at a time ([`results::PlanResultsWriter`], [`run::RunResultsWriter`]).

pub mod html;
pub mod results;
pub mod run;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::{PlanEntry, PlanFile, PlanHeader, Status};
use crate::policy::Step;

/// A report file could not be written. The I/O error is part of the message, not a
/// separate source, so that a chained display (`{:#}`) says it once.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {cause}", path.display())]
pub struct ReportError {
    pub path: PathBuf,
    pub cause: std::io::Error,
}

impl ReportError {
    pub fn write(path: &Path, cause: std::io::Error) -> ReportError {
        ReportError {
            path: path.to_path_buf(),
            cause,
        }
    }
}

/// The figures every summary shows, computed once from a plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub rows: usize,
    pub by_status: BTreeMap<Status, usize>,
    /// Users with at least one step that would run.
    pub users_affected: usize,
    pub revoke: usize,
    pub disable: usize,
    pub issue_pass: usize,
    /// Methods to delete, by type (short name).
    pub deletes_by_type: BTreeMap<String, usize>,
    pub writes: usize,
    pub minimum_seconds: f64,
}

impl Figures {
    pub fn of(plan: &PlanFile) -> Figures {
        let mut f = Figures::start(plan.writes, plan.minimum_seconds);
        for e in &plan.entries {
            f.add(e);
        }
        f
    }

    /// Figures over no entries yet, with the plan's `writes` and `minimum_seconds`.
    fn start(writes: usize, minimum_seconds: f64) -> Figures {
        Figures {
            writes,
            minimum_seconds,
            ..Figures::default()
        }
    }

    /// Counts one more entry.
    fn add(&mut self, e: &PlanEntry) {
        self.rows += 1;
        *self.by_status.entry(e.status).or_default() += 1;
        if e.writes() == 0 {
            return;
        }
        self.users_affected += 1;
        for step in &e.steps {
            match step {
                Step::RevokeSessions => self.revoke += 1,
                Step::DisableAccount => self.disable += 1,
                Step::IssueTemporaryAccessPass { .. } => self.issue_pass += 1,
                Step::DeleteMethod { kind, .. } => {
                    *self
                        .deletes_by_type
                        .entry(kind.short_name().to_string())
                        .or_default() += 1
                }
            }
        }
    }

    pub fn count(&self, status: Status) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// How many entries of each kind a [`PlanDigest`] keeps: as many as the longest table of
/// `summary.md` ([`summary::MAX_TABLE_ROWS`]) or `report.html` ([`html::MAX_TABLE_ROWS`])
/// lists.
pub const DIGEST_ROWS: usize = if summary::MAX_TABLE_ROWS > html::MAX_TABLE_ROWS {
    summary::MAX_TABLE_ROWS
} else {
    html::MAX_TABLE_ROWS
};

/// The statuses of the rows that need attention, listed under "Needs attention" in
/// both plan reports.
const ATTENTION: [Status; 4] = [
    Status::Blocked,
    Status::Error,
    Status::NotFound,
    Status::Invalid,
];

/// A bounded view of a plan for its reports, built one entry at a time in row order:
/// the figures over every entry, and the few entries the reports' tables show. It holds
/// at most [`DIGEST_ROWS`] entries of each list, however many the plan has.
#[derive(Debug, Clone)]
pub struct PlanDigest {
    /// The plan without its entries.
    pub header: PlanHeader,
    /// The same figures as [`Figures::of`] over the whole plan.
    pub figures: Figures,
    /// Some entry has input columns of its own.
    pub with_columns: bool,
    /// The first [`DIGEST_ROWS`] entries.
    pub first: Vec<PlanEntry>,
    /// The first [`DIGEST_ROWS`] entries that need attention (blocked, error, not found,
    /// invalid).
    pub attention: Vec<PlanEntry>,
    /// How many entries need attention, in all.
    pub attention_total: usize,
    /// The first [`DIGEST_ROWS`] planned entries.
    pub planned: Vec<PlanEntry>,
    /// How many entries are planned, in all.
    pub planned_total: usize,
}

impl PlanDigest {
    /// A digest of no entries yet.
    pub fn new(header: PlanHeader) -> PlanDigest {
        PlanDigest {
            figures: Figures::start(header.writes, header.minimum_seconds),
            header,
            with_columns: false,
            first: Vec::new(),
            attention: Vec::new(),
            attention_total: 0,
            planned: Vec::new(),
            planned_total: 0,
        }
    }

    /// Takes in the next entry (entries come in row order).
    pub fn add(&mut self, entry: &PlanEntry) {
        self.figures.add(entry);
        self.with_columns |= !entry.columns.is_empty();
        if self.first.len() < DIGEST_ROWS {
            self.first.push(entry.clone());
        }
        if ATTENTION.contains(&entry.status) {
            self.attention_total += 1;
            if self.attention.len() < DIGEST_ROWS {
                self.attention.push(entry.clone());
            }
        }
        if entry.status == Status::Planned {
            self.planned_total += 1;
            if self.planned.len() < DIGEST_ROWS {
                self.planned.push(entry.clone());
            }
        }
    }

    /// The digest of a whole plan held in memory.
    pub fn of(plan: &PlanFile) -> PlanDigest {
        let mut digest = PlanDigest::new(plan.header());
        for e in &plan.entries {
            digest.add(e);
        }
        digest
    }
}

/// A duration in words: `45 s`, `12 min 30 s`, `2 h 5 min`.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.ceil() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}
