//! What a run leaves for people: `results.csv` / `results.jsonl` ([`results`]), one row
//! per input row, and the change board's summary ([`summary`]): counts by status, by
//! action and by method type, the Graph writes and the least time they take, the blockers,
//! and the per-user table, as Markdown ([`summary`]) and as a self-contained HTML page
//! with charts ([`html`]). After `apply`, [`run`] writes the same four files for the run:
//! what was done to each row beside what was planned, failures with Graph's request ids,
//! and whether the run finished or must be resumed. Temporary Access Passes go only to
//! the private `secrets/tap.csv` ([`secrets`]).

pub mod html;
pub mod results;
pub mod run;
pub mod secrets;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::{PlanFile, Status};
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
        let mut f = Figures {
            rows: plan.entries.len(),
            by_status: plan.counts(),
            writes: plan.writes,
            minimum_seconds: plan.minimum_seconds,
            ..Figures::default()
        };
        for e in &plan.entries {
            if e.writes() == 0 {
                continue;
            }
            f.users_affected += 1;
            for step in &e.steps {
                match step {
                    Step::RevokeSessions => f.revoke += 1,
                    Step::DisableAccount => f.disable += 1,
                    Step::IssueTemporaryAccessPass { .. } => f.issue_pass += 1,
                    Step::DeleteMethod { kind, .. } => {
                        *f.deletes_by_type
                            .entry(kind.short_name().to_string())
                            .or_default() += 1
                    }
                }
            }
        }
        f
    }

    pub fn count(&self, status: Status) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
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
