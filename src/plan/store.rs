//! Plans on disk, for plans too large to hold: a million users' `plan.json` is about a
//! gigabyte, so `plan` and `apply` keep only the [`PlanHeader`] and an offset per row in
//! memory and read entries back from disk when they need them.
//!
//! - [`EntrySpill`]: rows written in any order (users finish reading out of order), read
//!   back by row; a temporary file that is removed when dropped.
//! - [`write_plan_json`]: writes `plan.json` in its canonical layout — the header
//!   pretty-printed first, then `"entries"` with one compact entry per line, in row order
//!   — hashing it on the way. The file is ordinary JSON: any JSON tool, and
//!   `serde_json::from_str::<PlanFile>`, read it.
//! - [`import`]: reads a plan in any JSON layout (someone may have re-indented it) one
//!   entry at a time, checks it is the plan it says it is (every entry, in row order,
//!   under its fingerprint), and writes it in the canonical layout as a [`PlanStore`].
//! - [`PlanStore`]: a canonical `plan.json` opened for reading: its header, and any entry
//!   by index.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, de::DeserializeOwned};

use super::fingerprint::fingerprint_of;
use super::{PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanHeader, hex};

/// Why a plan file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |cause| StoreError::Write {
        path: path.to_path_buf(),
        cause,
    }
}

/// Entries (or any serialisable rows) written in any order and read back by row, from a
/// temporary file next to the outputs. Memory: 12 bytes per row.
pub struct EntrySpill {
    path: PathBuf,
    writer: BufWriter<File>,
    reader: File,
    end: u64,
    offsets: Vec<u64>,
    lens: Vec<u32>,
    buffer: Vec<u8>,
}

impl EntrySpill {
    /// A new, empty spill at `path` (replacing any left by a crash).
    pub fn create(path: PathBuf) -> Result<EntrySpill, StoreError> {
        let file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let reader = file.try_clone().map_err(io_err(&path))?;
        Ok(EntrySpill {
            writer: BufWriter::with_capacity(1 << 20, file),
            reader,
            path,
            end: 0,
            offsets: Vec::new(),
            lens: Vec::new(),
            buffer: Vec::new(),
        })
    }

    /// Makes room for rows `0..rows` at once (the index then never grows by doubling).
    pub fn reserve_rows(&mut self, rows: usize) {
        if self.offsets.len() < rows {
            self.offsets.reserve_exact(rows - self.offsets.len());
            self.lens.reserve_exact(rows - self.lens.len());
        }
    }

    /// Stores `value` as row `row`'s (a later one replaces it).
    pub fn put<T: Serialize>(&mut self, row: usize, value: &T) -> Result<(), StoreError> {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, value)
            .map_err(|e| io_err(&self.path)(std::io::Error::other(e)))?;
        let len = u32::try_from(self.buffer.len()).map_err(|_| StoreError::Invalid {
            path: self.path.clone(),
            message: format!("row {row} is larger than 4 GiB"),
        })?;
        self.writer
            .write_all(&self.buffer)
            .map_err(io_err(&self.path))?;
        if self.offsets.len() <= row {
            self.offsets.resize(row + 1, u64::MAX);
            self.lens.resize(row + 1, 0);
        }
        self.offsets[row] = self.end;
        self.lens[row] = len;
        self.end += u64::from(len);
        Ok(())
    }

    /// Whether row `row` has been stored.
    pub fn contains(&self, row: usize) -> bool {
        self.offsets.get(row).is_some_and(|&o| o != u64::MAX)
    }

    /// Row `row`, if stored.
    pub fn get<T: DeserializeOwned>(&mut self, row: usize) -> Result<Option<T>, StoreError> {
        if !self.contains(row) {
            return Ok(None);
        }
        self.writer.flush().map_err(io_err(&self.path))?;
        let (offset, len) = (self.offsets[row], self.lens[row] as usize);
        self.buffer.resize(len, 0);
        self.reader
            .read_exact_at(&mut self.buffer, offset)
            .map_err(|cause| StoreError::Read {
                path: self.path.clone(),
                cause,
            })?;
        serde_json::from_slice(&self.buffer)
            .map(Some)
            .map_err(|e| StoreError::Invalid {
                path: self.path.clone(),
                message: format!("row {row} cannot be read back: {e}"),
            })
    }
}

impl Drop for EntrySpill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Passes bytes through and hashes them on the way.
pub(crate) struct Hashing<W> {
    pub inner: W,
    pub hash: aws_lc_rs::digest::Context,
    pub written: u64,
}

impl<W> Hashing<W> {
    pub fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hash: aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256),
            written: 0,
        }
    }

    pub fn hex(self) -> String {
        hex(self.hash.finish().as_ref())
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The SHA-256 of a plan's entries as compact JSON (`[e0,e1,…]`), fed one entry at a time
/// — the same as [`super::entries_sha256`] over the whole list.
pub struct EntriesHash {
    hash: Hashing<std::io::Sink>,
    count: usize,
    line: Vec<u8>,
}

impl Default for EntriesHash {
    fn default() -> Self {
        EntriesHash::new()
    }
}

impl EntriesHash {
    pub fn new() -> EntriesHash {
        EntriesHash {
            hash: Hashing::new(std::io::sink()),
            count: 0,
            line: Vec::new(),
        }
    }

    /// Adds the next entry and returns its compact JSON (valid until the next call).
    pub fn add(&mut self, entry: &PlanEntry) -> &[u8] {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry).expect("an entry serialises");
        let separator: &[u8] = if self.count == 0 { b"[" } else { b"," };
        self.hash.hash.update(separator);
        self.hash.hash.update(&self.line);
        self.count += 1;
        &self.line
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn finish(mut self) -> String {
        if self.count == 0 {
            self.hash.hash.update(b"[");
        }
        self.hash.hash.update(b"]");
        self.hash.hex()
    }
}

/// Entries in row order, one compact JSON line each, waiting in a temporary file for their
/// header (which holds figures over all of them) to be written first.
pub struct EntryBody {
    path: PathBuf,
    writer: BufWriter<File>,
    hash: EntriesHash,
}

impl EntryBody {
    pub fn create(path: PathBuf) -> Result<EntryBody, StoreError> {
        let file = File::create(&path).map_err(io_err(&path))?;
        Ok(EntryBody {
            writer: BufWriter::with_capacity(1 << 20, file),
            path,
            hash: EntriesHash::new(),
        })
    }

    /// Appends the next entry (they must come in row order).
    pub fn push(&mut self, entry: &PlanEntry) -> Result<(), StoreError> {
        let line = self.hash.add(entry);
        self.writer.write_all(line).map_err(io_err(&self.path))?;
        self.writer.write_all(b"\n").map_err(io_err(&self.path))
    }

    pub fn len(&self) -> usize {
        self.hash.count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of the entries so far, as [`super::entries_sha256`] gives it.
    pub fn entries_sha256(&self) -> String {
        EntriesHash {
            hash: Hashing {
                inner: std::io::sink(),
                hash: self.hash.hash.hash.clone(),
                written: 0,
            },
            count: self.hash.count,
            line: Vec::new(),
        }
        .finish()
    }

    /// Writes `plan.json` to `dest`: `header`, then these entries. Returns the store over
    /// the written file. The body file is removed.
    pub fn write_plan(mut self, dest: &Path, header: &PlanHeader) -> Result<PlanStore, StoreError> {
        self.writer.flush().map_err(io_err(&self.path))?;
        let body = File::open(&self.path).map_err(|cause| StoreError::Read {
            path: self.path.clone(),
            cause,
        })?;
        write_plan_json(
            dest,
            header,
            self.hash.count(),
            BufReader::with_capacity(1 << 20, body),
        )
    }
}

impl Drop for EntryBody {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `plan.json` in the canonical layout: the header pretty-printed, then
/// `"entries"` with one entry a line from `body` (compact JSON lines in row order, `rows`
/// of them). Fsyncs the file and returns it opened as a [`PlanStore`].
pub fn write_plan_json(
    dest: &Path,
    header: &PlanHeader,
    rows: usize,
    body: impl BufRead,
) -> Result<PlanStore, StoreError> {
    let file = File::create(dest).map_err(io_err(dest))?;
    let mut out = Hashing::new(BufWriter::with_capacity(1 << 20, file));
    let head = serde_json::to_string_pretty(header).expect("a header serialises");
    let head = head
        .strip_suffix("\n}")
        .expect("a pretty-printed object ends with a brace");
    let mut offsets = Vec::with_capacity(rows);
    let mut lens = Vec::with_capacity(rows);
    let write = |out: &mut Hashing<BufWriter<File>>, bytes: &[u8]| {
        out.write_all(bytes).map_err(io_err(dest))
    };
    write(&mut out, head.as_bytes())?;
    if rows == 0 {
        write(&mut out, b",\n  \"entries\": []\n}")?;
    } else {
        write(&mut out, b",\n  \"entries\": [")?;
        let mut seen = 0usize;
        for line in body.split(b'\n') {
            let line = line.map_err(|cause| StoreError::Read {
                path: dest.to_path_buf(),
                cause,
            })?;
            if line.is_empty() {
                continue;
            }
            write(&mut out, if seen == 0 { b"\n    " } else { b",\n    " })?;
            offsets.push(out.written);
            lens.push(u32::try_from(line.len()).map_err(|_| StoreError::Invalid {
                path: dest.to_path_buf(),
                message: format!("entry {seen} is larger than 4 GiB"),
            })?);
            write(&mut out, &line)?;
            seen += 1;
        }
        if seen != rows {
            return Err(StoreError::Invalid {
                path: dest.to_path_buf(),
                message: format!("{seen} entries were written where {rows} were expected"),
            });
        }
        write(&mut out, b"\n  ]\n}")?;
    }
    out.flush().map_err(io_err(dest))?;
    let sha256 = hex(out.hash.finish().as_ref());
    let file = out
        .inner
        .into_inner()
        .map_err(|e| io_err(dest)(e.into_error()))?;
    file.sync_all().map_err(io_err(dest))?;
    let reader = File::open(dest).map_err(|cause| StoreError::Read {
        path: dest.to_path_buf(),
        cause,
    })?;
    Ok(PlanStore {
        header: header.clone(),
        path: dest.to_path_buf(),
        file: reader,
        offsets,
        lens,
        sha256,
    })
}

/// Hex SHA-256 of the file at `path`, read as a stream.
pub fn file_sha256(path: &Path) -> Result<String, StoreError> {
    let read_err = |cause| StoreError::Read {
        path: path.to_path_buf(),
        cause,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let mut hash = Hashing::new(std::io::sink());
    std::io::copy(&mut file, &mut hash).map_err(read_err)?;
    Ok(hash.hex())
}

/// A `plan.json` in the canonical layout, open for reading: the header in memory, the
/// entries on disk (12 bytes of memory per row).
pub struct PlanStore {
    pub header: PlanHeader,
    path: PathBuf,
    file: File,
    offsets: Vec<u64>,
    lens: Vec<u32>,
    sha256: String,
}

impl fmt::Debug for PlanStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlanStore")
            .field("path", &self.path)
            .field("rows", &self.offsets.len())
            .finish_non_exhaustive()
    }
}

impl PlanStore {
    /// Rows (entries) in the plan.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Hex SHA-256 of the file's bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file to `to` (same file system); the store reads on from there.
    pub fn rename(&mut self, to: &Path) -> Result<(), StoreError> {
        std::fs::rename(&self.path, to).map_err(io_err(to))?;
        self.path = to.to_path_buf();
        Ok(())
    }

    /// Entry `index` (0-based, row order).
    pub fn entry(&self, index: usize) -> Result<PlanEntry, StoreError> {
        let mut buffer = vec![0; self.lens[index] as usize];
        self.file
            .read_exact_at(&mut buffer, self.offsets[index])
            .map_err(|cause| StoreError::Read {
                path: self.path.clone(),
                cause,
            })?;
        serde_json::from_slice(&buffer).map_err(|e| StoreError::Invalid {
            path: self.path.clone(),
            message: format!("entry {index} cannot be read: {e}"),
        })
    }

    /// Every entry in row order, read from disk one at a time.
    pub fn entries(&self) -> impl Iterator<Item = Result<PlanEntry, StoreError>> + '_ {
        (0..self.len()).map(|i| self.entry(i))
    }

    /// Opens a `plan.json` this tool wrote (the canonical layout), hashing every byte.
    /// Any other layout is refused: [`import`] reads those.
    pub fn open(path: &Path) -> Result<PlanStore, StoreError> {
        let invalid = |message: String| StoreError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let read_err = |cause| StoreError::Read {
            path: path.to_path_buf(),
            cause,
        };
        let file = File::open(path).map_err(read_err)?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut hash = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let mut head = Vec::new();
        let mut line = Vec::new();
        let mut position = 0u64;
        let mut offsets = Vec::new();
        let mut lens = Vec::new();
        let not_canonical =
            || invalid("is not laid out as mfa-reset writes a plan (was it re-saved?)".into());
        // The header, up to the entries.
        let closed = loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(read_err)?;
            if n == 0 {
                return Err(not_canonical());
            }
            hash.update(&line);
            position += n as u64;
            match line.as_slice() {
                b"  \"entries\": [\n" => break false,
                b"  \"entries\": []\n" => break true,
                _ => head.extend_from_slice(&line),
            }
        };
        if !closed {
            loop {
                line.clear();
                let n = reader.read_until(b'\n', &mut line).map_err(read_err)?;
                if n == 0 {
                    return Err(not_canonical());
                }
                hash.update(&line);
                if line.as_slice() == b"  ]\n" {
                    break;
                }
                let Some(entry) = line
                    .strip_prefix(b"    ")
                    .and_then(|l| l.strip_suffix(b"\n"))
                else {
                    return Err(not_canonical());
                };
                let entry = entry.strip_suffix(b",").unwrap_or(entry);
                if !(entry.starts_with(b"{") && entry.ends_with(b"}")) {
                    return Err(not_canonical());
                }
                offsets.push(position + 4);
                lens.push(
                    u32::try_from(entry.len())
                        .map_err(|_| invalid("an entry is larger than 4 GiB".into()))?,
                );
                position += n as u64;
            }
        }
        let mut tail = Vec::new();
        reader.read_to_end(&mut tail).map_err(read_err)?;
        hash.update(&tail);
        if tail.as_slice() != b"}" {
            return Err(not_canonical());
        }
        let header = header_of(head, path)?;
        let file = File::open(path).map_err(read_err)?;
        Ok(PlanStore {
            header,
            path: path.to_path_buf(),
            file,
            offsets,
            lens,
            sha256: hex(hash.finish().as_ref()),
        })
    }
}

/// The header of a `plan.json` this tool wrote (the canonical layout), read without its
/// entries: what a summary of the plan needs, at any size.
pub fn read_header(path: &Path) -> Result<PlanHeader, StoreError> {
    let invalid = |message: String| StoreError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let read_err = |cause| StoreError::Read {
        path: path.to_path_buf(),
        cause,
    };
    let mut reader = BufReader::new(File::open(path).map_err(read_err)?);
    let mut head = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(read_err)? == 0 {
            return Err(invalid(
                "is not laid out as mfa-reset writes a plan (was it re-saved?)".into(),
            ));
        }
        if line.starts_with(b"  \"entries\": [") {
            break;
        }
        head.extend_from_slice(&line);
    }
    header_of(head, path)
}

/// The header whose lines, up to the entries, are `head`.
fn header_of(mut head: Vec<u8>, path: &Path) -> Result<PlanHeader, StoreError> {
    head.extend_from_slice(b"  \"entries\": []\n}");
    serde_json::from_slice(&head).map_err(|e| StoreError::Invalid {
        path: path.to_path_buf(),
        message: format!("its header cannot be read: {e}"),
    })
}

/// `file` without a leading UTF-8 byte-order mark (a plan saved by an editor that adds
/// one is still the plan).
pub fn without_bom(mut file: File) -> std::io::Result<impl Read> {
    let mut start = [0u8; 3];
    let mut got = 0;
    while got < start.len() {
        match file.read(&mut start[got..])? {
            0 => break,
            n => got += n,
        }
    }
    let keep = if start[..got] == [0xEF, 0xBB, 0xBF] {
        0..0
    } else {
        0..got
    };
    Ok(std::io::Cursor::new(start[keep].to_vec()).chain(file))
}

/// Reads the plan at `given` (any JSON layout, any field order) one entry at a time and
/// writes it to `dest` in the canonical layout, after checking that its entries are one per
/// row in order and that its fingerprint ([`super::fingerprint`]) is right.
/// Nothing is left at `dest` when the plan is refused.
pub fn import(given: &Path, dest: &Path) -> Result<PlanStore, StoreError> {
    let invalid = |message: String| StoreError::Invalid {
        path: given.to_path_buf(),
        message,
    };
    let file = File::open(given)
        .and_then(without_bom)
        .map_err(|cause| StoreError::Read {
            path: given.to_path_buf(),
            cause,
        })?;
    let body_path = dest.with_extension("body.tmp");
    let mut body = EntryBody::create(body_path)?;
    let mut failure: Option<StoreError> = None;
    let header = {
        let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(1 << 20, file));
        let seed = PlanSeed {
            body: &mut body,
            failure: &mut failure,
        };
        let header = seed.deserialize(&mut de);
        let header = match (header, failure.take()) {
            (_, Some(f)) => return Err(f),
            (Err(e), None) => {
                return Err(invalid(format!(
                    "is not a plan mfa-reset can read ({e}); plan again"
                )));
            }
            (Ok(h), None) => h,
        };
        de.end()
            .map_err(|e| invalid(format!("has data after the plan ({e})")))?;
        header
    };
    if header.format != PLAN_FORMAT || header.version != PLAN_VERSION {
        return Err(invalid(format!(
            "plan format {} version {}, but this mfa-reset reads {PLAN_FORMAT} version {PLAN_VERSION}; plan again with this version",
            header.format, header.version
        )));
    }
    if header.input.rows != body.len() {
        return Err(invalid(format!(
            "says it has {} rows but holds {} entries: it was edited after it was written. Plan again",
            header.input.rows,
            body.len()
        )));
    }
    let expected = fingerprint_of(
        &header.input.sha256,
        &header.policy,
        &body.entries_sha256(),
        header.tenant.as_ref().map(|t| t.id.as_str()),
    );
    if expected != header.fingerprint {
        return Err(invalid(
            "its fingerprint does not match its contents: it was edited after it was written. Plan again, and have the new plan approved"
                .into(),
        ));
    }
    body.write_plan(dest, &header).inspect_err(|_| {
        let _ = std::fs::remove_file(dest);
    })
}

/// Deserialises a plan object: the header's fields into a map, `entries` one at a time
/// into the body.
struct PlanSeed<'a> {
    body: &'a mut EntryBody,
    failure: &'a mut Option<StoreError>,
}

impl<'de> DeserializeSeed<'de> for PlanSeed<'_> {
    type Value = PlanHeader;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<PlanHeader, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PlanSeed<'_> {
    type Value = PlanHeader;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a plan object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PlanHeader, A::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::new();
        let mut entries_seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "entries" {
                if entries_seen {
                    return Err(A::Error::custom("two entries lists"));
                }
                entries_seen = true;
                map.next_value_seed(EntriesSeed {
                    body: &mut *self.body,
                    failure: &mut *self.failure,
                })?;
            } else if fields.contains_key(&key) {
                return Err(A::Error::custom(format!("the field {key:?} appears twice")));
            } else {
                let value: serde_json::Value = map.next_value()?;
                fields.insert(key, value);
            }
        }
        if !entries_seen {
            return Err(A::Error::missing_field("entries"));
        }
        serde_json::from_value(serde_json::Value::Object(fields)).map_err(A::Error::custom)
    }
}

struct EntriesSeed<'a> {
    body: &'a mut EntryBody,
    failure: &'a mut Option<StoreError>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of plan entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(entry) = seq.next_element::<PlanEntry>()? {
            let index = self.body.len();
            if entry.row != index {
                return Err(A::Error::custom(format!(
                    "the plan's entries are not one per input row in order (entry {index} is row {}): it was edited after it was written. Plan again",
                    entry.row
                )));
            }
            if let Err(e) = self.body.push(&entry) {
                *self.failure = Some(e);
                return Err(A::Error::custom("the plan could not be copied"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
