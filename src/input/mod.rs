//! User lists in: the files administrators have, read into validated, de-duplicated rows.
//!
//! Every command that takes users (`check`, `plan`, `--exclude`) reads them here. The
//! format is told from the content, never from the file's extension:
//!
//! - **CSV** with `,`, `;` or tab between fields (sniffed from the header line; an Excel
//!   `sep=;` first line is honoured), quoted fields, CRLF / LF / CR line ends, blank lines
//!   and trailing spaces; the user column found by its header (`id`, `objectId`,
//!   `userPrincipalName`, `UPN`, `mail`, `email`, in any case and spelling), which covers
//!   the Entra admin center's "Download users" export and its bulk-operation templates
//!   (first line `version:v1.0`, headers like `User name [userPrincipalName] Required`, an
//!   `Example:` row skipped); or named with [`InputOptions::column`] (`--column NAME`);
//! - a **plain list**, one user a line, no header;
//! - **JSON**: an array of strings or of objects, a Graph page `{"value": [...]}` (saved
//!   Graph Explorer or `curl` output), a single user object; and **JSON Lines**;
//! - in **UTF-8** (with or without byte-order mark) or **UTF-16** LE/BE with its
//!   byte-order mark, as Excel's "Unicode Text" writes it (see [`Encoding`]).
//!
//! **Invisible characters** follow one rule in every format and list (the user list,
//! standard input, `--exclude`): at the edges of a cell that names a user, white space,
//! no-break and zero-width spaces, direction marks and byte-order marks are removed, and
//! the read says so once ([`InputSummary::notes`]: how many cells, the first place and
//! character); inside a key such a character makes the row invalid, named by its code
//! point (`U+200B ZERO WIDTH SPACE`) with its line and column, since it would make two
//! different keys look alike. The direction overrides U+202D and U+202E are refused even
//! at an edge. The rule and the characters are `invisible`'s.
//!
//! Every data row becomes one [`InputRow`], in file order, whether valid or not: its key
//! (validated by [`UserKey`], never re-checked here) or a [`RowProblem`] with the column
//! and a hint; the UPN when the file gives one; every other column carried through as
//! ordered `(name, value)` pairs; and, for a user already seen (same object id, or same
//! UPN / mail ignoring case), the row it duplicates, so it is acted on once. When a file
//! has both an object id and a UPN column (as the Entra export has), the id addresses the
//! user and the UPN is kept for the report. Problems with the file as a whole (unreadable,
//! unknown format, no user column, broken JSON, bad encoding, zero bytes where text
//! should be, a line with no end) are an [`InputError`] whose message names the file, the
//! line and what to do. No file is refused for its size: a run of zero bytes (a sparse or
//! preallocated file) is named as such wherever it starts (`text::ZeroGuard`), with the
//! file's size.
//!
//! Reading streams ([`read`]): one thread reads and cuts the file into blocks at record
//! boundaries, rayon's workers parse and validate blocks in parallel, and the caller's
//! thread puts them back in order, marks duplicates and hands the rows to the caller's
//! sink a few at a time. At most a few blocks are in flight, so memory stays flat (about
//! 15 MiB) whatever the file's size; only duplicate detection grows, by a 16-byte
//! fingerprint and the first row per *distinct* user (about 50 MiB for a million; see
//! `dedupe`).
//!
//! The submodules follow the data (bytes → `encoding` → `sniff` → `table` / `json` rows
//! → `dedupe` → the sink, driven by `pipeline`), and imports among them run one way only,
//! down this list; none names one above it:
//!
//! ```text
//! pipeline  ─► table, json, sniff, dedupe, parsed, keys, invisible, text, encoding
//! table     ─► sniff, parsed, keys, text      (CSV and plain lists, in `sniff`'s layout)
//! json      ─► parsed, keys, text             (documents and JSON Lines: json/{mod,visit,item})
//! sniff     ─► keys, text                     (the file's format and layout)
//! dedupe    ─► keys                           (duplicate detection)
//! parsed    ─► keys, invisible                (a unit's rows, as a worker leaves them)
//! keys      ─► invisible                      (user columns, key cells, key validation)
//! invisible                                   (the rule for invisible characters)
//! text      ─► encoding                       (line counts, UTF-8 and read errors)
//! encoding                                    (byte-order marks, UTF-16 decoding)
//! ```
//!
//! Every submodule may use the types defined here ([`InputError`], [`InputRow`], ...).
//!
//! ```no_run
//! use mfa_reset::input::{self, InputOptions};
//!
//! let mut invalid = 0;
//! let summary = input::read("users.csv", &InputOptions::default(), |rows| {
//!     invalid += rows.iter().filter(|r| r.key.is_err()).count();
//!     Ok::<(), input::InputError>(())
//! })?;
//! println!("{} rows, {invalid} invalid, read as {}", summary.rows, summary.format);
//! # Ok::<(), input::InputError>(())
//! ```

mod dedupe;
mod encoding;
mod invisible;
mod json;
mod keys;
mod parsed;
mod pipeline;
mod sniff;
pub mod spool;
mod table;
mod text;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::graph::key::{KeyKind, UserKey};

pub use encoding::Encoding;

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// Read users from this column (a CSV header or a JSON property; `--column NAME`)
    /// instead of finding it by name. Matched exactly ignoring case, or ignoring case,
    /// spaces and punctuation, or by a bulk template's bracketed property name.
    pub column: Option<String>,
}

/// One data row of the input, valid or not. Rows come in file order; `row` is their index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    /// 0-based index among the file's data rows (header, blank lines and a bulk template's
    /// example row do not count): the order of result rows.
    pub row: usize,
    /// 1-based line of the file where the row starts.
    pub line: usize,
    /// The cell (or JSON value) that addresses the user, trimmed, otherwise as given.
    pub value: String,
    /// The validated key, or why there is none.
    pub key: Result<UserKey, RowProblem>,
    /// The user's UPN when the file gives one: the key itself for a UPN key, the UPN
    /// column's (trimmed) value for a row addressed by object id or mail. Never used to
    /// address the user.
    pub upn: Option<String>,
    /// Every other column (or JSON property, `@odata.*` annotations left out), in file
    /// order, as `(name, value)`; values trimmed. Nested JSON values as compact JSON.
    pub extra: Vec<(String, String)>,
    /// Set when an earlier row has the same user (same object id, or same UPN or mail
    /// address ignoring case): that row is acted on, this one reported as a duplicate.
    pub duplicate_of: Option<FirstSeen>,
}

impl InputRow {
    /// Valid, invalid, or a duplicate of an earlier row.
    pub fn status(&self) -> RowStatus {
        match (&self.key, self.duplicate_of) {
            (Err(_), _) => RowStatus::Invalid,
            (Ok(_), Some(_)) => RowStatus::Duplicate,
            (Ok(_), None) => RowStatus::Valid,
        }
    }

    /// The key of a row to act on: valid and not a duplicate.
    pub fn actionable(&self) -> Option<&UserKey> {
        match (&self.key, self.duplicate_of) {
            (Ok(key), None) => Some(key),
            _ => None,
        }
    }

    /// The value of the carried-through column `name` (exact name).
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What [`InputRow::status`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowStatus {
    Valid,
    Invalid,
    Duplicate,
}

/// Where a user was first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirstSeen {
    /// Its [`InputRow::row`].
    pub row: usize,
    /// Its [`InputRow::line`].
    pub line: usize,
}

/// Why a row has no usable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based line of the problem: the row's line, or for a JSON object spread over
    /// several lines, the line of the offending property.
    pub line: usize,
    /// 1-based column: for CSV the field's position (1 = first column, as a spreadsheet
    /// counts); for plain lists and JSON the character position in the line.
    pub column: usize,
    /// The column's header or the JSON property, when there is one.
    pub column_name: Option<String>,
    /// What is wrong (for a key, [`crate::graph::key::KeyError`]'s message).
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.column_name {
            write!(f, "column {:?}: ", name)?;
        }
        write!(f, "{} ({})", self.message, self.hint)
    }
}

/// A problem with the file as a whole. Every message starts with the file's name (and
/// line and column where there is one) and ends with what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("{}: cannot read the file: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error(
        "{}: the file is empty; give a CSV file, a plain list (one user a line) or a JSON file \
         with at least one user",
        path.display()
    )]
    Empty { path: PathBuf },

    #[error("{}: unknown format: {detail}", path.display())]
    UnknownFormat { path: PathBuf, detail: String },

    #[error("{}:{line}: {}", path.display(), no_user_column(headers, requested.as_deref()))]
    NoUserColumn {
        path: PathBuf,
        /// The header line (or the line of the first JSON object).
        line: usize,
        /// The headers (or JSON property names) found there.
        headers: Vec<String>,
        /// The `--column` asked for, when it was not found.
        requested: Option<String>,
    },

    #[error(
        "{}:{line}:{column}: invalid JSON: {message}; fix the file at that place (a missing \
         comma, bracket or quote is the usual cause)",
        path.display()
    )]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{}:{line}:{column}: {message}", path.display())]
    Encoding {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error(
        "{}:{line}: a record runs on for more than {} MiB: {}",
        path.display(),
        table::MAX_RECORD >> 20,
        if *quoted {
            "a quote is probably not closed; check the quotes from that line on"
        } else {
            "no line ends in it, and a user list's lines are short, so this is probably not \
             a user list (or its line ends are not LF, CR LF or CR); check that it is the \
             right file"
        }
    )]
    RecordTooLong {
        path: PathBuf,
        line: usize,
        /// The record holds a quote, which may be unclosed; otherwise it has no line end.
        quoted: bool,
    },

    #[error("{}{}: {}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), not_text(*offset, *size))]
    NotText {
        path: PathBuf,
        /// The line where the zeros start, when lines can be counted (not in UTF-16).
        line: Option<usize>,
        /// The byte (0-based) where the zeros start.
        offset: u64,
        /// The file's size, when it is a file.
        size: Option<u64>,
    },

    #[error("{}: more than 4,294,967,295 rows or lines; split the file", path.display())]
    TooManyRows { path: PathBuf },
}

/// What [`InputError::NotText`] says: where the zeros start, the file's size, what such a
/// file is and what to do.
fn not_text(offset: u64, size: Option<u64>) -> String {
    let what = "a preallocated or sparse file, a disk image, or a copy or download that never \
                finished looks like this";
    let size = size
        .map(|bytes| format!("; the file is {}", text::size(bytes)))
        .unwrap_or_default();
    let start = if offset == 0 {
        "this is not a user list: the file starts with zero (NUL) bytes, not text".to_string()
    } else {
        format!(
            "the text stops after {}: from there on the file holds zero (NUL) bytes",
            text::size(offset)
        )
    };
    format!(
        "{start} ({what}){size}; check that this is the right file, or export the user list \
         again"
    )
}

fn no_user_column(headers: &[String], requested: Option<&str>) -> String {
    let found = if headers.is_empty() {
        "no names".to_string()
    } else {
        headers
            .iter()
            .map(|h| format!("{h:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match requested {
        Some(col) => format!(
            "there is no column {col:?}; the columns are {found}; give one of these to --column"
        ),
        None => format!(
            "no column holds users; the columns are {found}; name the user column \
             {recognised} in the first line, or give its name with --column NAME",
            recognised = format_args!("({})", keys::RECOGNISED)
        ),
    }
}

impl InputError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            InputError::Unreadable { path, .. }
            | InputError::Empty { path }
            | InputError::UnknownFormat { path, .. }
            | InputError::NoUserColumn { path, .. }
            | InputError::Json { path, .. }
            | InputError::Encoding { path, .. }
            | InputError::RecordTooLong { path, .. }
            | InputError::NotText { path, .. }
            | InputError::TooManyRows { path } => path,
        }
    }
}

/// The shape of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Delimited text with a header line.
    Csv,
    /// One user a line, no header.
    PlainList,
    /// One JSON document: an array, a Graph page or a single object.
    Json,
    /// One JSON value a line.
    JsonLines,
}

/// What [`read`] found the file to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub shape: Shape,
    pub encoding: Encoding,
    /// The field delimiter of a CSV file.
    pub delimiter: Option<char>,
    /// The line of a CSV file's header.
    pub header_line: Option<usize>,
    /// The first line was `version:v1.0`: an Entra bulk-operation template.
    pub bulk_template: bool,
    /// Which columns address users, for people: `column 1 "id" (object id), then column
    /// 2 "userPrincipalName" (UPN)`.
    pub addressing: String,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shape {
            Shape::Csv => {
                f.write_str(if self.bulk_template {
                    "Entra bulk-operation template (CSV"
                } else {
                    "CSV ("
                })?;
                if self.bulk_template {
                    f.write_str(", ")?;
                }
                match self.delimiter {
                    Some('\t') => f.write_str("tab-separated")?,
                    Some(d) => write!(f, "'{d}'-separated")?,
                    None => f.write_str("one column")?,
                }
                write!(f, ", {})", self.encoding)?;
                if let Some(line) = self.header_line {
                    write!(f, ", header on line {line}")?;
                }
            }
            Shape::PlainList => write!(f, "plain list, one user a line ({})", self.encoding)?,
            Shape::Json => write!(f, "JSON ({})", self.encoding)?,
            Shape::JsonLines => write!(f, "JSON Lines ({})", self.encoding)?,
        }
        write!(f, "; users from {}", self.addressing)
    }
}

/// Counts of valid, first-seen users by kind of key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub id: usize,
    pub upn: usize,
    pub mail: usize,
}

impl KindCounts {
    fn add(&mut self, kind: KeyKind) {
        match kind {
            KeyKind::Id => self.id += 1,
            KeyKind::Upn => self.upn += 1,
            KeyKind::Mail => self.mail += 1,
        }
    }
}

/// What a whole read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSummary {
    pub format: Format,
    /// Data rows: `valid + invalid + duplicates`.
    pub rows: usize,
    /// Rows with a valid key, first occurrences only: the users to act on.
    pub valid: usize,
    /// Rows without a valid key.
    pub invalid: usize,
    /// Rows with a valid key already seen in an earlier row.
    pub duplicates: usize,
    /// `valid` by kind of key.
    pub by_kind: KindCounts,
    /// Things worth telling the reader of a report that are not problems (a skipped
    /// example row, a Graph page that says more pages follow, invisible characters
    /// removed from the edges of keys).
    pub notes: Vec<String>,
}

/// Reads the user list at `path`, handing its rows to `sink` in file order, a few at a
/// time (do not count on how many: currently one, which lets a sink that drops them free
/// each row before the next is built). Stops at the first error from `sink` and returns
/// it. A problem with the file as a whole becomes `E` through `From<InputError>`; rows
/// before it may already have reached the sink.
pub fn read<E, S>(
    path: impl AsRef<Path>,
    options: &InputOptions,
    sink: S,
) -> Result<InputSummary, E>
where
    E: From<InputError>,
    S: FnMut(Vec<InputRow>) -> Result<(), E>,
{
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|error| InputError::Unreadable {
        path: path.to_path_buf(),
        error,
    })?;
    read_from(path, file, options, sink)
}

/// [`read`] from any reader (standard input, a buffer in a test); `name` is what messages
/// call it.
pub fn read_from<R, E, S>(
    name: impl AsRef<Path>,
    reader: R,
    options: &InputOptions,
    sink: S,
) -> Result<InputSummary, E>
where
    R: Read + Send,
    E: From<InputError>,
    S: FnMut(Vec<InputRow>) -> Result<(), E>,
{
    pipeline::run(name.as_ref(), reader, options, sink)
}

/// Reads a whole (small) list into memory: for exclusion lists and tests. Use [`read`]
/// for lists of any size.
pub fn read_all(
    path: impl AsRef<Path>,
    options: &InputOptions,
) -> Result<(Vec<InputRow>, InputSummary), InputError> {
    let mut all = Vec::new();
    let summary = read(path, options, |rows| {
        all.extend(rows);
        Ok::<(), InputError>(())
    })?;
    Ok((all, summary))
}
