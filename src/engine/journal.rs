//! The run's journal, `DIR/journal.jsonl`: what `apply` has done, written as it happens,
//! so that `mfa-reset resume DIR` can carry an interrupted run on without sending any
//! change twice.
//!
//! The journal is append-only JSON Lines, one [`Record`] a line. The first line is the
//! [`Record::Run`] naming the plan; then, per user, `Begin` before the first write request
//! is sent, an `Intent` before any step that must never be sent twice (a Temporary Access
//! Pass creation), a `Step` when a step finishes, and `Finished` with the user's result
//! row. Every [`Journal::append`] is written and fsynced (`File::sync_data`) before it
//! returns, so after a crash or a `kill -9` everything an append returned `Ok` for is on
//! disk.
//!
//! `resume --retry-failed` takes users who ended `failed` or `partial` up again without
//! rewriting anything: a [`Record::Retry`] sets their `Finished` record aside (it stays in
//! the file), and their steps that ended done stay done while those that failed or went
//! unanswered run again ([`Journal::retry_failed`]). A later `Finished` is their new result.
//!
//! A kill can still cut the last line short. [`Journal::resume`] ignores an incomplete
//! last line and truncates the file back to the last complete line before appending
//! again, so the file stays valid JSON Lines; any other damage is an error naming the line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outcome::UserOutcome;
use crate::policy::Step;

/// The journal's file name inside the run folder.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "record",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Record {
    /// First line of every journal: which plan this run carries out.
    Run {
        plan_fingerprint: String,
        plan_sha256: String,
        started: String,
        tool: String,
    },
    /// Written (and fsynced) before the first write request for a user is sent.
    Begin { row: usize },
    /// Written before sending a step that must never be sent twice (a TAP creation).
    Intent { row: usize, step: usize },
    /// A step finished. `outcome` is one of StepOutcome.
    Step {
        row: usize,
        step: usize,
        outcome: StepOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        attempts: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_message: Option<String>,
    },
    /// The user's steps were decided again (`--on-drift replan`): from here on, the user's
    /// `step` indexes refer to `steps`, which starts with the steps already done.
    Replanned { row: usize, steps: Vec<Step> },
    /// The user is finished: this is their result row.
    Finished { outcome: Box<UserOutcome> },
    /// `resume --retry-failed`: the user, finished `failed` or `partial`, is taken up
    /// again. Their `Finished` record is set aside, their steps that ended `failed` or
    /// `unknown` count as not done (those done stay done), and a new `Finished` follows.
    Retry { row: usize },
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// Graph made the change.
    Done,
    /// The change was already made (Graph answered 404 for a delete, and the like).
    AlreadyDone,
    /// Graph refused or kept failing.
    Failed,
    /// No answer could be had: the change may or may not have happened.
    Unknown,
}

/// A `Step` record, as [`JournalState`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub step: usize,
    pub outcome: StepOutcome,
    pub request_id: Option<String>,
    pub attempts: u32,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// What a journal already holds, as [`Journal::resume`] read it.
#[derive(Debug, Default)]
pub struct JournalState {
    /// The Run record (first line).
    pub run: Option<Record>,
    /// Finished users by row (the last `Finished` wins; there should be only one), their
    /// outcomes left in the journal.
    pub finished: FinishedRows,
    /// Rows with a `Begin` record: some write may have been sent for them.
    pub begun: BTreeSet<usize>,
    /// `(row, step)` of every `Intent` record.
    pub intents: BTreeSet<(usize, usize)>,
    /// `Step` records by row, in journal order.
    pub steps: BTreeMap<usize, Vec<StepRecord>>,
    /// The latest `Replanned` steps by row.
    pub replanned: BTreeMap<usize, Vec<Step>>,
    /// Bytes of an incomplete last line (left by a crash) that were dropped; 0 normally.
    pub discarded_bytes: u64,
    /// Users finished `failed` or `partial`, with what the journal held for them before
    /// their `Finished` record: what a [`Record::Retry`] takes up again.
    failed: BTreeMap<usize, EarlierAttempt>,
}

/// What the journal held for a user before their `Finished` record, kept for users who
/// ended `failed` or `partial` (and only for them: a resumed run of a million users keeps
/// nothing for those who ended well).
#[derive(Debug, Default)]
struct EarlierAttempt {
    begun: bool,
    intents: Vec<usize>,
    steps: Vec<StepRecord>,
    replanned: Option<Vec<Step>>,
}

impl JournalState {
    /// Takes in the record at `offset` (`len` bytes, without its newline) of the journal.
    fn absorb(&mut self, record: Record, offset: u64, len: usize) {
        match record {
            Record::Run { .. } => self.run = Some(record),
            Record::Begin { row } => {
                self.begun.insert(row);
            }
            Record::Intent { row, step } => {
                self.intents.insert((row, step));
            }
            Record::Step {
                row,
                step,
                outcome,
                request_id,
                attempts,
                error_code,
                error_message,
            } => self.steps.entry(row).or_default().push(StepRecord {
                step,
                outcome,
                request_id,
                attempts,
                error_code,
                error_message,
            }),
            Record::Replanned { row, steps } => {
                // The new list starts with the steps that succeeded, in their order (the
                // run's `adopt_steps`): their records are renumbered so; the others, and
                // the intents, named places in the old list (the run journals an intent
                // still unresolved again, at its new place).
                if let Some(records) = self.steps.get_mut(&row) {
                    let mut by_step: BTreeMap<usize, StepRecord> = BTreeMap::new();
                    for record in records.drain(..) {
                        by_step.insert(record.step, record);
                    }
                    *records = by_step
                        .into_values()
                        .filter(|r| {
                            matches!(r.outcome, StepOutcome::Done | StepOutcome::AlreadyDone)
                        })
                        .enumerate()
                        .map(|(step, record)| StepRecord { step, ..record })
                        .collect();
                }
                let old: Vec<(usize, usize)> = self
                    .intents
                    .range((row, 0)..=(row, usize::MAX))
                    .copied()
                    .collect();
                for intent in old {
                    self.intents.remove(&intent);
                }
                self.replanned.insert(row, steps);
            }
            Record::Finished { outcome } => {
                let row = outcome.row;
                self.finished.insert(row, offset, len);
                // A finished user is not run again: what led there is kept only for a
                // user that `resume --retry-failed` may take up again.
                let earlier = self.take_attempt(row);
                if outcome.final_status().is_failure() {
                    self.failed.insert(row, earlier);
                } else {
                    self.failed.remove(&row);
                }
            }
            Record::Retry { row } => self.take_up_again(row),
        }
    }

    /// Removes what the journal holds for row `row`'s attempt in progress.
    fn take_attempt(&mut self, row: usize) -> EarlierAttempt {
        let intents: Vec<usize> = self
            .intents
            .range((row, 0)..=(row, usize::MAX))
            .map(|&(_, step)| step)
            .collect();
        for step in &intents {
            self.intents.remove(&(row, *step));
        }
        EarlierAttempt {
            begun: self.begun.remove(&row),
            intents,
            steps: self.steps.remove(&row).unwrap_or_default(),
            replanned: self.replanned.remove(&row),
        }
    }

    /// Row `row`, finished `failed` or `partial`, is not finished any more: its steps that
    /// ended done (or already done) stay done, those that failed or went unanswered are to
    /// run again. A pass creation's `Intent` is kept: the run re-reads the user's methods
    /// before it, and never creates a pass that may exist already. A row that did not end
    /// failed or partial is left as it is.
    fn take_up_again(&mut self, row: usize) {
        let Some(earlier) = self.failed.remove(&row) else {
            return;
        };
        self.finished.remove(row);
        if earlier.begun {
            self.begun.insert(row);
        }
        self.intents
            .extend(earlier.intents.into_iter().map(|step| (row, step)));
        let done: Vec<StepRecord> = earlier
            .steps
            .into_iter()
            .filter(|s| matches!(s.outcome, StepOutcome::Done | StepOutcome::AlreadyDone))
            .collect();
        if !done.is_empty() {
            self.steps.insert(row, done);
        }
        if let Some(steps) = earlier.replanned {
            self.replanned.insert(row, steps);
        }
    }

    /// The users finished `failed` or `partial`, by row: those `resume --retry-failed`
    /// takes up again.
    pub fn failed_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.failed.keys().copied()
    }
}

/// The users a journal says are finished, by row. Their outcomes stay in the journal and
/// are read back one at a time: a resumed run of a million users keeps about 32 bytes a
/// finished row.
#[derive(Default)]
pub struct FinishedRows {
    journal: Option<(PathBuf, File)>,
    /// Row → where its `Finished` record is in the journal (offset, length).
    at: BTreeMap<usize, (u64, u32)>,
}

impl std::fmt::Debug for FinishedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinishedRows")
            .field("count", &self.at.len())
            .finish_non_exhaustive()
    }
}

impl FinishedRows {
    fn insert(&mut self, row: usize, offset: u64, len: usize) {
        self.at
            .insert(row, (offset, u32::try_from(len).unwrap_or(u32::MAX)));
    }

    /// Row `row` is not finished any more (its `Finished` record stays in the journal).
    fn remove(&mut self, row: usize) {
        self.at.remove(&row);
    }

    /// Finished users.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Whether row `row` is finished.
    pub fn contains(&self, row: usize) -> bool {
        self.at.contains_key(&row)
    }

    /// The finished rows, in order.
    pub fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.at.keys().copied()
    }

    /// Row `row`'s outcome, read back from the journal; `None` when not finished.
    pub fn get(&self, row: usize) -> Result<Option<UserOutcome>, JournalError> {
        let Some(&(offset, len)) = self.at.get(&row) else {
            return Ok(None);
        };
        let Some((path, file)) = &self.journal else {
            return Ok(None);
        };
        let mut bytes = vec![0; len as usize];
        std::os::unix::fs::FileExt::read_exact_at(file, &mut bytes, offset)
            .map_err(|e| JournalError::io(path, "read", e))?;
        match serde_json::from_slice::<Record>(&bytes) {
            Ok(Record::Finished { outcome }) if outcome.row == row => Ok(Some(*outcome)),
            Ok(_) => Err(JournalError::Corrupt {
                path: path.clone(),
                line: 0,
                message: format!("the outcome of row {row} is not where it was read"),
            }),
            Err(e) => Err(JournalError::Corrupt {
                path: path.clone(),
                line: 0,
                message: e.to_string(),
            }),
        }
    }
}

/// Why the journal could not be created, read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "{} already exists: {} already holds a run; resume it with `{}`, or choose another --out folder",
        path.display(), folder(path).display(), super::hint::resume_command(folder(path))
    )]
    Exists { path: PathBuf },
    #[error(
        "{} does not exist: {} holds no run to resume; start one with `mfa-reset apply`",
        path.display(), folder(path).display()
    )]
    Missing { path: PathBuf },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    #[error(
        "{}, line {line}: {message}. The journal was changed by something other than mfa-reset; restore it from a backup, or check the users' state in the tenant by hand before running again",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{} holds no complete record: the run stopped before it started, so nothing was changed; start a new run with `mfa-reset apply` and another --out folder",
        path.display()
    )]
    Empty { path: PathBuf },
    #[error(
        "{}: the first record of a journal must be the run record; this is not an mfa-reset journal",
        path.display()
    )]
    NoRunRecord { path: PathBuf },
    #[error("cannot encode a journal record for {}: {source}", path.display())]
    Encode {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{}: an earlier write to the journal failed, so it takes no more records; fix the cause, then `{}`",
        path.display(), super::hint::resume_command(folder(path))
    )]
    Closed { path: PathBuf },
}

/// The run folder of a journal path, for messages.
fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl JournalError {
    fn io(path: &Path, action: &'static str, source: io::Error) -> JournalError {
        JournalError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

/// An open journal, appended to by one run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Bytes of complete lines in the file.
    len: u64,
    /// An append failed: the file's end is uncertain, so no more records are taken.
    closed: bool,
}

impl Journal {
    /// The journal's path in the run folder `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(JOURNAL_FILE)
    }

    /// Where this journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates DIR/journal.jsonl (refuses if it exists: JournalError::Exists) and writes the Run record.
    pub fn create(dir: &Path, run: Record) -> Result<Journal, JournalError> {
        let path = Journal::path_in(dir);
        if !matches!(run, Record::Run { .. }) {
            return Err(JournalError::NoRunRecord { path });
        }
        let file = match OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(JournalError::Exists { path });
            }
            Err(e) => return Err(JournalError::io(&path, "create", e)),
        };
        let mut journal = Journal {
            path,
            file,
            len: 0,
            closed: false,
        };
        if let Err(e) = journal.append(&run) {
            // A journal without its run record could neither be resumed nor replaced.
            let _ = std::fs::remove_file(&journal.path);
            return Err(e);
        }
        sync_dir(dir);
        Ok(journal)
    }

    /// What the journal of the run in `dir` holds, read without opening it for writing
    /// (`mfa-reset restore` reads a run it must not change). An incomplete last line is
    /// left as it is, and not read.
    pub fn read_only(dir: &Path) -> Result<JournalState, JournalError> {
        let path = Journal::path_in(dir);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(JournalError::Missing { path });
            }
            Err(e) => return Err(JournalError::io(&path, "open", e)),
        };
        Ok(read_state(&path, &file)?.0)
    }

    /// Opens an existing journal for appending, returning what it already holds.
    pub fn resume(dir: &Path) -> Result<(Journal, JournalState), JournalError> {
        let path = Journal::path_in(dir);
        let file = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(JournalError::Missing { path });
            }
            Err(e) => return Err(JournalError::io(&path, "open", e)),
        };
        let (mut state, len) = read_state(&path, &file)?;
        let total = file
            .metadata()
            .map_err(|e| JournalError::io(&path, "read", e))?
            .len();
        if len < total {
            // A crash cut the last line short: drop it, so the next line starts on a line.
            file.set_len(len)
                .and_then(|()| file.sync_data())
                .map_err(|e| JournalError::io(&path, "truncate the incomplete last line of", e))?;
            state.discarded_bytes = total - len;
        }
        Ok((
            Journal {
                path,
                file,
                len,
                closed: false,
            },
            state,
        ))
    }

    /// `resume --retry-failed`: journals a [`Record::Retry`] for every user `state` holds
    /// as finished `failed` or `partial`, then takes them up again in `state` as a later
    /// [`Journal::resume`] would read it. Returns their rows. Once journaled, a retry is
    /// carried through by any later resume, with or without `--retry-failed`.
    pub fn retry_failed(&mut self, state: &mut JournalState) -> Result<Vec<usize>, JournalError> {
        const PER_WRITE: usize = 4096;
        let rows: Vec<usize> = state.failed_rows().collect();
        for chunk in rows.chunks(PER_WRITE) {
            let records: Vec<Record> = chunk.iter().map(|&row| Record::Retry { row }).collect();
            self.append_all(&records)?;
            for &row in chunk {
                state.take_up_again(row);
            }
        }
        Ok(rows)
    }

    /// Appends one record: one write and one fsync before it returns.
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends many records: one write and one fsync for all of them.
    pub fn append_all(&mut self, records: &[Record]) -> Result<(), JournalError> {
        if self.closed {
            return Err(JournalError::Closed {
                path: self.path.clone(),
            });
        }
        if records.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(256 * records.len());
        for record in records {
            serde_json::to_writer(&mut bytes, record).map_err(|source| JournalError::Encode {
                path: self.path.clone(),
                source,
            })?;
            bytes.push(b'\n');
        }
        if let Err(e) = self.file.write_all(&bytes) {
            // Take back a partial line so that the file stays valid JSON Lines.
            let _ = self.file.set_len(self.len);
            self.closed = true;
            return Err(JournalError::io(&self.path, "write to", e));
        }
        if let Err(e) = self.file.sync_data() {
            // After a failed fsync nothing says what reached the disk: take no more.
            self.closed = true;
            return Err(JournalError::io(&self.path, "flush to disk", e));
        }
        self.len += bytes.len() as u64;
        Ok(())
    }
}

/// Reads the journal: its state and the length of its complete lines.
fn read_state(path: &Path, file: &File) -> Result<(JournalState, u64), JournalError> {
    let mut reader = BufReader::new(file);
    let mut state = JournalState::default();
    state.finished.journal = Some((
        path.to_path_buf(),
        File::open(path).map_err(|e| JournalError::io(path, "open", e))?,
    ));
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut good = 0u64;
    let mut total = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| JournalError::io(path, "read", e))?;
        if read == 0 {
            break;
        }
        number += 1;
        total += read as u64;
        if line.last() != Some(&b'\n') {
            // The last line, cut short by a crash: its append never returned.
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            good = total;
            continue;
        }
        let record: Record = match serde_json::from_slice(&line) {
            Ok(record) => record,
            Err(e) => {
                let last = reader
                    .fill_buf()
                    .map_err(|e| JournalError::io(path, "read", e))?
                    .is_empty();
                if last {
                    // A damaged last line: what a crash can leave at the end of a file.
                    break;
                }
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: number,
                    message: e.to_string(),
                });
            }
        };
        let is_run = matches!(record, Record::Run { .. });
        match (state.run.is_some(), is_run) {
            (false, false) => {
                return Err(JournalError::NoRunRecord {
                    path: path.to_path_buf(),
                });
            }
            (true, true) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: number,
                    message: "a second run record; a journal belongs to one run".into(),
                });
            }
            _ => {}
        }
        let content = line.len() - 1;
        state.absorb(record, good, content);
        good = total;
    }
    if state.run.is_none() {
        return Err(JournalError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((state, good))
}

/// Makes a new file's name in `dir` durable too (the journal's, the secrets file's).
/// Best effort: not every file system can.
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests;
