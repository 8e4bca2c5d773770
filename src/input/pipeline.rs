//! The reading pipeline: one reading thread, rayon workers, and the caller's thread
//! putting results back in order.
//!
//! ```text
//! reader thread ── decode, cut blocks / stream JSON ──► rayon::spawn(parse + validate)
//!      ▲ takes a token per unit                                   │ (seq, Parsed)
//!      └──── tokens ◄── caller's thread: reorder, build rows, dedupe, count, sink(rows)
//! ```
//!
//! Workers leave each row's texts in one buffer per unit ([`Parsed`]); the caller's
//! thread builds the [`InputRow`]s, so their strings are allocated on the thread that
//! also drops them (see [`Parsed`] for why).
//!
//! Memory is bounded by the tokens: the reader takes one before handing a unit of work
//! (a block of ~256 KiB, or a chunk of JSON items) to a worker, and the caller's thread
//! gives it back once the unit's rows went to the sink. So at most `2 × workers + 2`
//! units exist at once, whatever the file's size; only duplicate detection (`dedupe`)
//! grows, by a fingerprint per distinct user.
//!
//! Stopping: when the sink fails or a unit reports an error, the caller's thread drops
//! its ends of the channels; the reader sees that at its next token and stops. Workers
//! still running finish their unit and drop it. A panic in a worker is carried to the
//! caller's thread and resumed there (rayon would otherwise abort the process).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use super::dedupe::Seen;
use super::encoding::{self, Sniffed, Utf16Reader};
use super::invisible::Stripped;
use super::json::{self, Item};
use super::keys::Fingerprinter;
use super::parsed::{Parsed, Pool};
use super::sniff::{self, Kind, Layout};
use super::table::{self, Cutter};
use super::text::{ZeroGuard, io_error};
use super::{FirstSeen, InputError, InputOptions, InputRow, InputSummary, KindCounts};

/// How many rows' duplicate-detection slots are touched before they are checked.
const TOUCH_AHEAD: usize = 8;

/// How many rows the sink gets at a time. One: the sink frees each row's strings before
/// the next row's are allocated, so glibc's per-thread cache (seven blocks of each size)
/// serves nearly every allocation. Handing over a unit's few thousand rows at once sent
/// most of them through its slower shared bins, and cost the caller's thread (the
/// pipeline's busiest) about a quarter more time in `benches/input_throughput.rs`.
const SINK_ROWS: usize = 1;

/// The largest buffers of a unit kept for reuse: about four blocks of text, and rows
/// for an eighth of a block of one-character lines.
const POOL_MAX_TEXT: usize = 4 * table::BLOCK;
const POOL_MAX_ROWS: usize = table::BLOCK / 16;

/// How much of the file sniffing looks at.
const SAMPLE: usize = 64 * 1024;

/// What every worker of one read shares.
struct Ctx {
    path: PathBuf,
    layout: Layout,
    fp: Fingerprinter,
    /// Buffers of units the caller's thread is done with, for workers to fill again.
    pool: Pool,
}

impl Ctx {
    /// An empty unit for about `rows` rows and `text` bytes of their texts.
    fn parsed(&self, rows: usize, text: usize) -> Parsed {
        Parsed::new(&self.pool, &self.fp, rows, text)
    }
}

/// One unit of work for a worker; `first` for the file's first unit.
enum Work {
    /// A block of the file (CSV, a plain list or JSON Lines, as the layout says) starting
    /// on `line`, holding `lines` line ends.
    Block {
        block: Vec<u8>,
        line: usize,
        lines: usize,
        first: bool,
    },
    /// Elements of a JSON document.
    Items { items: Vec<Item>, first: bool },
}

fn process(ctx: &Ctx, work: Work) -> Result<Parsed, InputError> {
    let path = ctx.path.as_path();
    match work {
        Work::Block {
            block,
            line,
            lines,
            first,
        } => {
            let mut out = ctx.parsed(lines + 1, block.len());
            match &ctx.layout.kind {
                Kind::Table(table) => table::parse_table(path, table, &block, line, &mut out)?,
                Kind::Plain => table::parse_plain(path, &block, line, &mut out)?,
                Kind::JsonLines { column } => {
                    json::parse_lines(path, column.as_deref(), &block, line, first, &mut out)?
                }
                Kind::Json { .. } => unreachable!("a JSON document comes as items, not blocks"),
            }
            Ok(out)
        }
        Work::Items { items, first } => {
            let mut out = ctx.parsed(items.len(), items.len() * 64);
            for (i, item) in items.into_iter().enumerate() {
                json::item_row(path, column(ctx), item, first && i == 0, &mut out)?;
            }
            Ok(out)
        }
    }
}

fn column(ctx: &Ctx) -> Option<&str> {
    match &ctx.layout.kind {
        Kind::Json { column } | Kind::JsonLines { column } => column.as_deref(),
        _ => None,
    }
}

/// The file's text, decoded to UTF-8.
enum Decoded<R> {
    Utf8(R),
    Utf16(Utf16Reader<R>),
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Utf8(r) => r.read(buf),
            Decoded::Utf16(r) => r.read(buf),
        }
    }
}

/// Reads up to `limit` bytes (fewer only at the end of the input).
fn read_up_to(path: &Path, mut r: impl Read, limit: usize) -> Result<Vec<u8>, InputError> {
    let mut buf = Vec::with_capacity(limit);
    (&mut r)
        .take(limit as u64)
        .read_to_end(&mut buf)
        .map_err(|e| io_error(path, e))?;
    Ok(buf)
}

/// Messages to the caller's thread.
enum Msg {
    Done(u64, Result<Parsed, InputError>),
    Panicked(Box<dyn std::any::Any + Send>),
    /// The reader is done: `units` were handed out; `result` is its own error, if any.
    End {
        units: u64,
        result: Result<(), InputError>,
        notes: Vec<String>,
    },
}

/// Reads a whole file through the pipeline; see the module documentation.
pub(crate) fn run<R, E, S>(
    path: &Path,
    reader: R,
    options: &InputOptions,
    sink: S,
) -> Result<InputSummary, E>
where
    R: Read + Send,
    E: From<InputError>,
    S: FnMut(Vec<InputRow>) -> Result<(), E>,
{
    // Encoding, from the first bytes; a run of zero bytes, here or later, is where the
    // file stops holding text, and said so.
    let mut reader = ZeroGuard::new(reader);
    let head = read_up_to(path, &mut reader, SAMPLE)?;
    let (encoding, bom) = match encoding::sniff(&head) {
        Sniffed::Text(encoding, bom) => (encoding, bom),
        Sniffed::Refused(detail) => {
            return Err(InputError::UnknownFormat {
                path: path.to_path_buf(),
                detail,
            }
            .into());
        }
    };
    let raw = io::Cursor::new(head).chain(reader);
    let mut raw = raw;
    io::copy(&mut (&mut raw).take(bom as u64), &mut io::sink()).map_err(|e| io_error(path, e))?;
    let mut decoded = match encoding {
        super::Encoding::Utf16Le => Decoded::Utf16(Utf16Reader::new(raw, false)),
        super::Encoding::Utf16Be => Decoded::Utf16(Utf16Reader::new(raw, true)),
        _ => Decoded::Utf8(raw),
    };

    // Format, from the first decoded bytes.
    let sample = read_up_to(path, &mut decoded, SAMPLE)?;
    let complete = sample.len() < SAMPLE;
    let layout = sniff::sniff(path, &sample, complete, encoding, options)?;
    let format = layout.format.clone();
    let data_start = layout.data_start;
    let ctx = Arc::new(Ctx {
        path: path.to_path_buf(),
        layout,
        fp: Fingerprinter::new(),
        pool: Pool::new(POOL_MAX_TEXT, POOL_MAX_ROWS),
    });

    let window = 2 * rayon::current_num_threads() + 2;
    let (tx, rx) = mpsc::channel::<Msg>();
    let (token_tx, token_rx) = mpsc::sync_channel::<()>(window);
    for _ in 0..window {
        // Cannot fail: the receiver is alive and the channel has room for `window`.
        let _ = token_tx.send(());
    }

    std::thread::scope(|scope| {
        let reader_ctx = Arc::clone(&ctx);
        let producer = std::thread::Builder::new()
            .name("mfa-reset-input".to_string())
            .spawn_scoped(scope, move || {
                let mut cursor = io::Cursor::new(sample);
                cursor.set_position(data_start as u64);
                produce(reader_ctx, cursor.chain(decoded), tx, token_rx);
            })
            .map_err(|error| InputError::Unreadable {
                path: path.to_path_buf(),
                error,
            })?;
        let result = consume(&ctx, rx, token_tx, sink, format);
        if let Err(panic) = producer.join() {
            resume_unwind(panic);
        }
        result
    })
}

/// The reading thread: hands units of work to rayon, one token each.
fn produce(ctx: Arc<Ctx>, data: impl Read, tx: Sender<Msg>, tokens: Receiver<()>) {
    let mut units = 0u64;
    let mut notes = Vec::new();
    let result = {
        let mut spawn = |work: Work| -> bool {
            if tokens.recv().is_err() {
                return false; // the caller's thread has stopped
            }
            let (ctx, tx, seq) = (Arc::clone(&ctx), tx.clone(), units);
            units += 1;
            rayon::spawn(move || {
                let msg = match catch_unwind(AssertUnwindSafe(|| process(&ctx, work))) {
                    Ok(result) => Msg::Done(seq, result),
                    Err(panic) => Msg::Panicked(panic),
                };
                let _ = tx.send(msg);
            });
            true
        };
        let path = ctx.path.as_path();
        let mut first = true;
        match cutter(&ctx.layout.kind) {
            Some(cutter) => table::produce_blocks(
                path,
                data,
                cutter,
                ctx.layout.cr_only,
                ctx.layout.data_line,
                &mut |block, line, lines| {
                    let work = Work::Block {
                        block,
                        line,
                        lines,
                        first,
                    };
                    first = false;
                    spawn(work)
                },
            ),
            None => json::produce_document(
                path,
                data,
                &mut |items| {
                    let work = Work::Items { items, first };
                    first = false;
                    spawn(work)
                },
                &mut notes,
            ),
        }
    };
    let _ = tx.send(Msg::End {
        units,
        result,
        notes,
    });
}

/// Where the reading thread cuts the file into blocks: after a record, outside quotes,
/// for CSV; after any line end for plain lists and JSON Lines. `None` for a JSON document,
/// which is streamed element by element instead.
fn cutter(kind: &Kind) -> Option<Cutter> {
    match kind {
        Kind::Table(t) => Some(Cutter {
            delimiter: t.delimiter,
            quoting: true,
        }),
        Kind::Plain | Kind::JsonLines { .. } => Some(Cutter {
            delimiter: b'\n',
            quoting: false,
        }),
        Kind::Json { .. } => None,
    }
}

/// The caller's thread: puts units back in order, marks duplicates, counts, feeds the sink.
fn consume<E, S>(
    ctx: &Ctx,
    rx: Receiver<Msg>,
    tokens: SyncSender<()>,
    mut sink: S,
    format: super::Format,
) -> Result<InputSummary, E>
where
    E: From<InputError>,
    S: FnMut(Vec<InputRow>) -> Result<(), E>,
{
    let mut summary = InputSummary {
        format,
        rows: 0,
        valid: 0,
        invalid: 0,
        duplicates: 0,
        by_kind: KindCounts::default(),
        notes: Vec::new(),
    };
    let mut seen = Seen::default();
    let mut firsts: Vec<Option<FirstSeen>> = Vec::new();
    let mut pending: BTreeMap<u64, Result<Parsed, InputError>> = BTreeMap::new();
    let mut next = 0u64;
    let mut end: Option<(u64, Result<(), InputError>, Vec<String>)> = None;
    let mut stripped = Stripped::default();
    loop {
        while let Some(unit) = pending.remove(&next) {
            next += 1;
            let mut unit = unit?;
            // Duplicate detection first, in groups: touching a group's slots before
            // checking them lets their cache misses overlap.
            firsts.clear();
            for group in unit.rows().chunks(TOUCH_AHEAD) {
                for print in group.iter().filter_map(|p| p.print) {
                    seen.touch(print);
                }
                for p in group {
                    let first = match p.print {
                        Some(print) => seen
                            .check(print, summary.rows + firsts.len(), p.line)
                            .map_err(|_| InputError::TooManyRows {
                                path: ctx.path.clone(),
                            })?,
                        None => None,
                    };
                    firsts.push(first);
                }
            }
            let mut notes = std::mem::take(&mut unit.notes);
            stripped.merge(std::mem::take(&mut unit.stripped));
            let mut rows = Vec::with_capacity(SINK_ROWS);
            unit.build_rows(summary.rows, &firsts, &ctx.pool, |row| {
                summary.rows += 1;
                match (&row.key, row.duplicate_of) {
                    (Ok(_), Some(_)) => summary.duplicates += 1,
                    (Ok(key), None) => {
                        summary.valid += 1;
                        summary.by_kind.add(key.kind());
                    }
                    (Err(_), _) => summary.invalid += 1,
                }
                rows.push(row);
                if rows.len() == SINK_ROWS {
                    sink(std::mem::replace(&mut rows, Vec::with_capacity(SINK_ROWS)))?;
                }
                Ok::<(), E>(())
            })?;
            if !rows.is_empty() {
                sink(rows)?;
            }
            summary.notes.append(&mut notes);
            let _ = tokens.try_send(());
        }
        if let Some((units, _, _)) = &end
            && next >= *units
        {
            break;
        }
        match rx.recv() {
            Ok(Msg::Done(seq, result)) => {
                pending.insert(seq, result);
            }
            Ok(Msg::Panicked(panic)) => resume_unwind(panic),
            Ok(Msg::End {
                units,
                result,
                notes,
            }) => end = Some((units, result, notes)),
            // Every sender is gone without an end: the reader panicked; the join after
            // this returns resumes its panic.
            Err(_) => return Ok(summary),
        }
    }
    let Some((_, result, notes)) = end else {
        unreachable!("the loop ends only with an end message")
    };
    result?;
    summary.notes.extend(notes);
    summary.notes.extend(stripped.note());
    Ok(summary)
}
