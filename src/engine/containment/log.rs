//! `DIR/containment.jsonl`: the record of a containment from the user list, one JSON line
//! a record — how the run was started (so that `resume` can carry on with no flags before
//! the plan exists), every revocation and disable Graph accepted, and the end. A kill at
//! any point loses at most the records not yet flushed, and those are changes that may be
//! made again without harm (revoking sessions and disabling an account are idempotent): a
//! resume sends them again.
//!
//! Records are written in groups, one write and one fsync a group ([`ContainmentLog::sync`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::engine::settings::{OnDrift, RunConnection};
use crate::plan::contained::ContainedRows;
use crate::policy::Policy;

/// The log's file name in the run's folder.
pub const CONTAINMENT_LOG: &str = "containment.jsonl";

/// How a containment from the list was started: what `resume` needs to carry it on, plan
/// the rest and run it, the same way, with no flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainStart {
    /// The user list, as given, and its SHA-256 (a resume refuses a list changed since).
    pub input: PathBuf,
    pub input_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<PathBuf>,
    /// `--exclude-group`: read again by a resume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_groups: Vec<String>,
    #[serde(default)]
    pub skip_invalid: bool,
    pub policy: Policy,
    pub on_drift: OnDrift,
    pub verify: bool,
    /// The run keeps restore data (false in a log written before it existed).
    #[serde(default)]
    pub restore_data: bool,
    /// The Graph service root, whether it is the emulator, and how it was reached.
    pub graph: String,
    pub sim: bool,
    pub connection: RunConnection,
    pub started: String,
    pub tool: String,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "record",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum ContainRecord {
    /// The first line.
    Start(Box<ContainStart>),
    /// Graph revoked the sessions of the user of `row`.
    Revoked {
        row: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// Graph disabled the account of the user of `row`.
    Disabled {
        row: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// Graph has no user of the row's key (it answered 404).
    NotFound { row: usize },
    /// Graph refused a containment write (the run's second phase tries it again, after
    /// reading the user).
    Refused {
        row: usize,
        step: String,
        error: String,
    },
    /// The containment went through the whole list.
    Finished { ended: String },
}

#[derive(Debug, Error)]
pub enum ContainLogError {
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    #[error("{}: line {line} is not a containment record: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{}: the first line is not how the run started", path.display())]
    NoStart { path: PathBuf },
}

/// What the log holds.
#[derive(Debug)]
pub struct ContainState {
    pub start: ContainStart,
    pub rows: ContainedRows,
    /// The containment went through the whole list.
    pub finished: bool,
}

/// The open log, for appending.
pub struct ContainmentLog {
    path: PathBuf,
    file: File,
    buffer: Vec<u8>,
}

impl ContainmentLog {
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(CONTAINMENT_LOG)
    }

    /// Creates the log in `dir` (it must not exist) with its start record, on disk.
    pub fn create(dir: &Path, start: ContainStart) -> Result<ContainmentLog, ContainLogError> {
        let path = ContainmentLog::path_in(dir);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| ContainLogError::Io {
                path: path.clone(),
                what: "create",
                source,
            })?;
        let mut log = ContainmentLog {
            path,
            file,
            buffer: Vec::new(),
        };
        log.push(&ContainRecord::Start(Box::new(start)));
        log.sync()?;
        Ok(log)
    }

    /// Opens the log in `dir` to carry on: what it holds, and the log ready for more. An
    /// incomplete last line (a kill mid-write) is dropped.
    pub fn resume(dir: &Path) -> Result<(ContainmentLog, ContainState), ContainLogError> {
        let path = ContainmentLog::path_in(dir);
        let io = |what| {
            let path = path.clone();
            move |source| ContainLogError::Io { path, what, source }
        };
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io("open"))?;
        let mut reader = BufReader::new(&file);
        let mut start = None;
        let mut rows = ContainedRows::default();
        let mut finished = false;
        let mut good = 0u64;
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io("read"))?;
            if n == 0 || line.last() != Some(&b'\n') {
                break;
            }
            number += 1;
            let record: ContainRecord =
                serde_json::from_slice(&line).map_err(|source| ContainLogError::Corrupt {
                    path: path.clone(),
                    line: number,
                    source,
                })?;
            match record {
                ContainRecord::Start(s) if number == 1 => start = Some(*s),
                ContainRecord::Revoked { row, .. } => rows.set_revoked(row),
                ContainRecord::Disabled { row, .. } => rows.set_disabled(row),
                ContainRecord::Finished { .. } => finished = true,
                _ => {}
            }
            good += n as u64;
        }
        let start = start.ok_or_else(|| ContainLogError::NoStart { path: path.clone() })?;
        if file.metadata().map_err(io("read"))?.len() > good {
            file.set_len(good)
                .and_then(|()| file.sync_data())
                .map_err(io("truncate the incomplete last line of"))?;
        }
        Ok((
            ContainmentLog {
                path,
                file,
                buffer: Vec::new(),
            },
            ContainState {
                start,
                rows,
                finished,
            },
        ))
    }

    /// Reads how the run in `dir` started, without opening the log for writing.
    pub fn read_start(dir: &Path) -> Result<ContainStart, ContainLogError> {
        let path = ContainmentLog::path_in(dir);
        let file = File::open(&path).map_err(|source| ContainLogError::Io {
            path: path.clone(),
            what: "open",
            source,
        })?;
        let mut first = String::new();
        BufReader::new(file)
            .read_line(&mut first)
            .map_err(|source| ContainLogError::Io {
                path: path.clone(),
                what: "read",
                source,
            })?;
        match serde_json::from_str(&first) {
            Ok(ContainRecord::Start(start)) => Ok(*start),
            _ => Err(ContainLogError::NoStart { path }),
        }
    }

    /// What the containment recorded in `dir` did, in words for the run's reports; `None`
    /// when the run did not contain from the list (or its log cannot be read).
    pub fn describe(dir: &Path) -> Option<String> {
        let file = File::open(ContainmentLog::path_in(dir)).ok()?;
        let (mut revoked, mut disabled, mut refused, mut not_found) = (0usize, 0, 0, 0);
        let (mut started, mut ended) = (None, None);
        for line in BufReader::new(file).lines() {
            let Ok(record) = serde_json::from_str::<ContainRecord>(&line.ok()?) else {
                continue;
            };
            match record {
                ContainRecord::Start(s) => started = Some(s.started),
                ContainRecord::Revoked { .. } => revoked += 1,
                ContainRecord::Disabled { .. } => disabled += 1,
                ContainRecord::Refused { .. } => refused += 1,
                ContainRecord::NotFound { .. } => not_found += 1,
                ContainRecord::Finished { ended: e } => ended = Some(e),
            }
        }
        let mut text = format!("{revoked} users' sessions revoked");
        if disabled > 0 {
            text.push_str(&format!(", {disabled} accounts disabled"));
        }
        if not_found > 0 {
            text.push_str(&format!("; {} no user has", plural(not_found, "key")));
        }
        if refused > 0 {
            text.push_str(&format!(
                "; {} refused, tried again in phase 2",
                plural(refused, "write")
            ));
        }
        text.push_str(&format!(
            " (started {}, {}); admins and excluded users left alone",
            started.as_deref().unwrap_or("?"),
            match &ended {
                Some(e) => format!("ended {e}"),
                None => "not finished".into(),
            }
        ));
        Some(text)
    }

    /// Queues `record`; it reaches the disk at the next [`ContainmentLog::sync`].
    pub fn push(&mut self, record: &ContainRecord) {
        // A record always serializes: plain fields only.
        if serde_json::to_writer(&mut self.buffer, record).is_ok() {
            self.buffer.push(b'\n');
        }
    }

    /// Writes and fsyncs every queued record.
    pub fn sync(&mut self) -> Result<(), ContainLogError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.buffer);
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(|source| ContainLogError::Io {
                path: self.path.clone(),
                what: "write to",
                source,
            })
    }
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyArgs, Profile};

    fn start() -> ContainStart {
        ContainStart {
            input: "users.csv".into(),
            input_sha256: "ab".into(),
            column: None,
            exclude: None,
            exclude_groups: Vec::new(),
            skip_invalid: false,
            policy: PolicyArgs {
                profile: Some(Profile::Incident),
                ..PolicyArgs::default()
            }
            .into_policy()
            .unwrap(),
            on_drift: OnDrift::Skip,
            verify: true,
            restore_data: true,
            graph: "http://127.0.0.1:1".into(),
            sim: true,
            connection: RunConnection {
                cloud: crate::graph::endpoints::Cloud::Global,
                login_url: None,
                graph_url: None,
                sim: None,
                auth: crate::graph::auth::AuthMode::AzureCli,
                tenant_size: crate::wire::TenantSize::Large,
                ru_budget: None,
                write_budget: None,
                max_in_flight: 8,
                max_outage: None,
                tenant: None,
            },
            started: "2026-12-03T00:00:00Z".into(),
            tool: "mfa-reset test".into(),
        }
    }

    #[test]
    fn what_was_done_survives_and_a_cut_last_line_is_dropped() {
        let dir =
            std::env::temp_dir().join(format!("mfa-reset-contain-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut log = ContainmentLog::create(&dir, start()).unwrap();
        log.push(&ContainRecord::Revoked {
            row: 3,
            request_id: Some("r".into()),
        });
        log.push(&ContainRecord::Disabled {
            row: 3,
            request_id: None,
        });
        log.sync().unwrap();
        drop(log);
        // A kill mid-write.
        let path = ContainmentLog::path_in(&dir);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"record":"revoked","ro"#).unwrap();
        drop(f);
        let (mut log, state) = ContainmentLog::resume(&dir).unwrap();
        assert_eq!(state.start, start());
        assert!(state.rows.revoked(3) && state.rows.disabled(3));
        assert!(!state.rows.revoked(0));
        assert!(!state.finished);
        log.push(&ContainRecord::Finished {
            ended: "later".into(),
        });
        log.sync().unwrap();
        let (_, state) = ContainmentLog::resume(&dir).unwrap();
        assert!(state.finished);
        assert_eq!(ContainmentLog::read_start(&dir).unwrap(), start());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
