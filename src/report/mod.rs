//! What a plan and a run leave for people: `results.csv` / `results.jsonl`, one row per
//! input row, written by the one results writer ([`results::ResultsWriter`]) for plan
//! entries and run outcomes alike; and the change board's summary — counts by status, by
//! action and by method type, the Graph writes and about how long they take, the
//! blockers, and the per-user table — as Markdown ([`summary`]) and as a self-contained
//! HTML page with charts ([`html`]). After `apply`, [`run`] writes the same four files
//! for the run: what was done to each row beside what was planned, failures with Graph's
//! request ids, and whether the run finished or must be resumed. Both HTML reports share
//! one page frame and one per-user table (`page`), both Markdown reports one set of
//! escaping rules (`markdown`). Temporary Access Passes are not a report: the engine
//! writes them only to the private `secrets/tap.csv`.
//!
//! None of them needs every row in memory: the summaries render from a bounded
//! [`PlanDigest`] (and [`run::RunDigest`]) built one row at a time (`new`, then `add`
//! for each row), and the results files are written a row at a time.

pub mod groups;
pub mod html;
mod markdown;
mod page;
pub mod restore;
pub mod results;
pub mod run;
pub mod summary;
pub mod tenants;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::{PlanEntry, PlanHeader, Status};
use crate::policy::Step;
use crate::wire::MethodType;
use groups::Groups;

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

/// Writes a rendered report to `path`.
fn write_file(path: &Path, text: String) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|e| ReportError::write(path, e))
}

/// The figures every summary shows, counted over a plan's entries as a [`PlanDigest`]
/// takes them in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub rows: usize,
    pub by_status: BTreeMap<Status, usize>,
    /// Users with at least one step that would run: every `planned` row, and the
    /// `blocked` rows whose safe steps still run ([`Figures::blocked_with_steps`]).
    pub users_affected: usize,
    /// `blocked` rows with steps that still run (a synced user's sessions revoked): among
    /// [`Figures::users_affected`], though not `planned`.
    pub blocked_with_steps: usize,
    pub revoke: usize,
    pub disable: usize,
    pub issue_pass: usize,
    /// Default methods to change so that a removal is accepted.
    pub repoint: usize,
    /// Methods to delete, by type (short name).
    pub deletes_by_type: BTreeMap<String, usize>,
    pub writes: usize,
    pub minimum_seconds: f64,
}

impl Figures {
    /// Counts one more entry.
    fn add(&mut self, e: &PlanEntry) {
        self.rows += 1;
        *self.by_status.entry(e.status).or_default() += 1;
        if e.writes() == 0 {
            return;
        }
        self.users_affected += 1;
        if e.status == Status::Blocked {
            self.blocked_with_steps += 1;
        }
        for step in &e.steps {
            match step {
                Step::RevokeSessions => self.revoke += 1,
                Step::DisableAccount => self.disable += 1,
                Step::IssueTemporaryAccessPass { .. } => self.issue_pass += 1,
                Step::SetDefaultMethod { .. } => self.repoint += 1,
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

    /// What [`Figures::users_affected`] is made of, in words, each number written by
    /// `number`: `15,603 planned`, or `15,603 planned + 154 blocked whose safe steps still
    /// run` — the same numbers "Users by status" shows, so the figures agree.
    pub fn affected_words(&self, number: impl Fn(usize) -> String) -> String {
        let planned = format!("{} planned", number(self.count(Status::Planned)));
        if self.blocked_with_steps == 0 {
            return planned;
        }
        format!(
            "{planned} + {} blocked whose safe steps still run",
            number(self.blocked_with_steps)
        )
    }
}

/// How many rows of each kind a [`PlanDigest`] or a [`run::RunDigest`] keeps: as many
/// as the longest table of any report lists.
pub const DIGEST_ROWS: usize = max(
    max(summary::MAX_TABLE_ROWS, html::MAX_TABLE_ROWS),
    max(run::MAX_SUMMARY_ROWS, run::MAX_HTML_ROWS),
);

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// The first [`DIGEST_ROWS`] rows of one kind, in row order, and how many rows of that
/// kind there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstRows<T> {
    pub rows: Vec<T>,
    pub total: usize,
}

impl<T> Default for FirstRows<T> {
    fn default() -> Self {
        FirstRows {
            rows: Vec::new(),
            total: 0,
        }
    }
}

impl<T: Clone> FirstRows<T> {
    /// Counts one more row, and keeps it while fewer than [`DIGEST_ROWS`] are kept.
    fn push(&mut self, row: &T) {
        self.total += 1;
        if self.rows.len() < DIGEST_ROWS {
            self.rows.push(row.clone());
        }
    }
}

/// The statuses of the rows that need attention, listed under "Needs attention" in
/// both plan reports.
const ATTENTION: [Status; 4] = [
    Status::Blocked,
    Status::Error,
    Status::NotFound,
    Status::Invalid,
];

/// A bounded view of a plan for its reports, built one entry at a time in row order
/// ([`PlanDigest::new`], then [`PlanDigest::add`] for each entry): the figures over every
/// entry, and the few entries the reports' tables show. It holds at most [`DIGEST_ROWS`]
/// entries of each list, however many the plan has.
#[derive(Debug, Clone)]
pub struct PlanDigest {
    /// The plan without its entries.
    pub header: PlanHeader,
    /// The figures over every entry.
    pub figures: Figures,
    /// Some entry has input columns of its own.
    pub with_columns: bool,
    /// The first [`DIGEST_ROWS`] entries.
    pub first: Vec<PlanEntry>,
    /// The entries that need attention (blocked, error, not found, invalid), grouped by
    /// status and reason.
    pub attention: Groups<PlanEntry>,
    /// The planned entries.
    pub planned: FirstRows<PlanEntry>,
}

impl PlanDigest {
    /// A digest of no entries yet.
    pub fn new(header: PlanHeader) -> PlanDigest {
        PlanDigest {
            figures: Figures {
                writes: header.writes,
                minimum_seconds: header.minimum_seconds,
                ..Figures::default()
            },
            header,
            with_columns: false,
            first: Vec::new(),
            attention: Groups::default(),
            planned: FirstRows::default(),
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
            let reason = entry.reason.as_deref().unwrap_or("");
            self.attention.add(entry.status.as_str(), reason, entry);
        }
        if entry.status == Status::Planned {
            self.planned.push(entry);
        }
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

/// Where a method type (its short name) comes in [`MethodType::ALL`], for ordering
/// charts and tables; unknown names last.
fn method_order(short_name: &str) -> usize {
    MethodType::ALL
        .iter()
        .position(|t| t.short_name() == short_name)
        .unwrap_or(usize::MAX)
}

/// A method type (its short name) in words, for labels.
fn method_words(short_name: &str) -> &str {
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
        Some(MethodType::HardwareOath) => "hardware OATH token",
        Some(MethodType::External) => "external MFA method",
        Some(MethodType::QrCodePin) => "QR code PIN",
        Some(MethodType::Unknown) | None => short_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_words_cover_every_type() {
        for t in MethodType::ALL
            .into_iter()
            .filter(|&t| t != MethodType::Password)
        {
            assert_ne!(method_words(t.short_name()), t.short_name(), "{t:?}");
        }
        assert_eq!(method_words("futureThing"), "futureThing");
        assert!(method_order("phone") < method_order("fido2"));
        assert_eq!(method_order("futureThing"), usize::MAX);
    }
}
