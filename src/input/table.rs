//! Line-oriented formats (CSV, plain lists, and the cutting of JSON Lines): cutting the
//! text into blocks at record boundaries on the reading thread, and parsing a block into
//! rows on a worker.
//!
//! Cutting must never split a record, or a worker would see half a quoted field. The
//! reading thread scans each block once with the same quoting rule as the csv parser (a
//! `"` opens a quoted field only at the start of a field; inside, `""` is a quote and a
//! lone `"` closes it) and cuts after the last line end outside quotes; a block without
//! any `"` is cut at its last line end directly. The rest is carried into the next block.
//!
//! Line numbers: the reading thread counts the line ends of each block, so every block
//! knows the line it starts on; a worker counts within its block. (The csv crate's own
//! record positions count a CR LF's LF and skipped blank lines into the *next* record,
//! so the worker takes each record's start from the csv crate and skips line ends itself.)

use std::borrow::Cow;
use std::cell::Cell;
use std::io::Read;
use std::path::Path;

use super::InputError;
use super::keys::{self, Want};
use super::parsed::Parsed;
use super::sniff::TableLayout;
use super::text::{check_utf8, count_newlines, io_error, utf8_error};
use crate::graph::key::KeyKind;

/// The size of a block handed to a worker (a few thousand rows).
pub(crate) const BLOCK: usize = 256 * 1024;

/// The longest record accepted: past this a quote is surely unclosed.
pub(crate) const MAX_RECORD: usize = 64 << 20;

/// Where blocks may be cut.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cutter {
    pub delimiter: u8,
    /// Fields may be quoted (CSV); false for plain lists and JSON Lines, where every line
    /// end ends a record.
    pub quoting: bool,
}

impl Cutter {
    /// The offset just past the last record end in `buf`, which starts at a record
    /// boundary; `None` if no record ends in it.
    pub(crate) fn last_boundary(&self, buf: &[u8]) -> Option<usize> {
        let last_end = |from: usize, to: usize| {
            buf[from..to]
                .iter()
                .rposition(|&b| b == b'\n' || b == b'\r')
                .map(|i| from + i + 1)
        };
        if !self.quoting || !buf.contains(&b'"') {
            return last_end(0, buf.len());
        }
        // Jump from quote to quote, noting the stretches outside quoted fields; the
        // state changes only at quotes, so line ends need not be looked at on the way.
        let opens = |q: usize| {
            q == 0 || matches!(buf[q - 1], b'\n' | b'\r') || buf[q - 1] == self.delimiter
        };
        // The closing quote of a field opened before `from`; `None` if the field runs
        // past the block, or if the block ends on a quote (closing, or half of `""`? the
        // next block will tell).
        let closing = |mut from: usize| loop {
            let c = find_byte(buf, from, b'"')?;
            match buf.get(c + 1)? {
                b'"' => from = c + 2,
                _ => return Some(c),
            }
        };
        let mut outside = Vec::new();
        let (mut start, mut at) = (0, 0);
        loop {
            let Some(q) = find_byte(buf, at, b'"') else {
                outside.push((start, buf.len()));
                break;
            };
            if !opens(q) {
                at = q + 1; // a literal quote inside an unquoted field
                continue;
            }
            outside.push((start, q));
            let Some(c) = closing(q + 1) else { break };
            (start, at) = (c + 1, c + 1);
        }
        outside
            .iter()
            .rev()
            .find_map(|&(from, to)| last_end(from, to))
    }
}

/// The position of the first `needle` in `hay[from..]`, eight bytes at a time.
fn find_byte(hay: &[u8], from: usize, needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = u64::from_ne_bytes([needle; 8]);
    let tail = hay.get(from..)?;
    let mut chunks = tail.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word) ^ pattern;
        // Non-zero exactly when some byte of `x` is zero, i.e. equals `needle`.
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            return chunk.iter().position(|&b| b == needle).map(|p| offset + p);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| offset + p)
}

/// Reads `src` to its end, handing blocks cut at record boundaries to `emit` with the line
/// each starts on and the number of line ends it holds. Stops early, without error, when
/// `emit` returns false.
pub(crate) fn produce_blocks(
    path: &Path,
    mut src: impl Read,
    cutter: Cutter,
    cr_only: bool,
    mut line: usize,
    emit: &mut dyn FnMut(Vec<u8>, usize, usize) -> bool,
) -> Result<(), InputError> {
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + BLOCK / 4);
    let mut want = BLOCK;
    let mut eof = false;
    loop {
        if buf.len() < want && !eof {
            let limit = (want - buf.len()) as u64;
            let n = (&mut src)
                .take(limit)
                .read_to_end(&mut buf)
                .map_err(|e| io_error(path, e))?;
            eof = (n as u64) < limit;
        }
        if buf.is_empty() {
            return Ok(());
        }
        let cut = if eof {
            Some(buf.len())
        } else {
            cutter.last_boundary(&buf)
        };
        match cut {
            Some(cut) if cut > 0 => {
                let mut rest = Vec::with_capacity(BLOCK + BLOCK / 4);
                rest.extend_from_slice(&buf[cut..]);
                buf.truncate(cut);
                let mut block = std::mem::replace(&mut buf, rest);
                if cr_only {
                    block
                        .iter_mut()
                        .filter(|b| **b == b'\r')
                        .for_each(|b| *b = b'\n');
                }
                let lines = count_newlines(&block);
                if !emit(block, line, lines) {
                    return Ok(());
                }
                line += lines;
                want = BLOCK;
            }
            _ if buf.len() >= MAX_RECORD => {
                return Err(InputError::RecordTooLong {
                    path: path.to_path_buf(),
                    line,
                    quoted: cutter.quoting && buf.contains(&b'"'),
                });
            }
            _ => want = buf.len() * 2,
        }
    }
}

/// A field as text (empty when missing). A field that is not UTF-8 sets `bad` and reads
/// as empty; the caller then reports the block's first bad byte.
fn text<'a>(field: Option<&'a [u8]>, bad: &Cell<bool>) -> &'a str {
    match field.map(std::str::from_utf8) {
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            bad.set(true);
            ""
        }
        None => "",
    }
}

/// The error for a block in which some field was not UTF-8: the block's first bad byte.
/// (Removing a quote from a field never turns bad bytes good, so there is one.)
fn bad_text(path: &Path, block: &[u8], line_base: usize, line: usize) -> InputError {
    check_utf8(path, block, line_base)
        .err()
        .unwrap_or_else(|| utf8_error(path, b"\xFF", line, 0))
}

/// Parses one CSV block (starting on line `line_base`) into rows.
pub(crate) fn parse_table(
    path: &Path,
    table: &TableLayout,
    block: &[u8],
    line_base: usize,
    out: &mut Parsed,
) -> Result<(), InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(table.delimiter)
        .buffer_capacity(64 * 1024)
        .from_reader(block);
    let mut record = csv::ByteRecord::new();
    let plan = &table.plan;
    let mut line = line_base;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            // Reading a byte record from memory has no failure mode left; say so if one
            // ever appears.
            Err(e) => {
                return Err(InputError::UnknownFormat {
                    path: path.to_path_buf(),
                    detail: format!("line {line}: {e}"),
                });
            }
        }
        // The csv reader's position before this record counts the line ends it consumed
        // so far, which stops short of the line ends (a CR LF's LF, blank lines) it
        // skipped at the start of this record: count those here.
        if let Some(p) = record.position() {
            let mut start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
            let mut skipped = 0;
            while let Some(&b) = block.get(start).filter(|b| matches!(b, b'\n' | b'\r')) {
                skipped += usize::from(b == b'\n');
                start += 1;
            }
            line = line_base - 1 + usize::try_from(p.line()).unwrap_or(1) + skipped;
        }
        // Every field is read below (the key, the UPN and every other column), so each is
        // checked to be UTF-8. The record is checked whole, once; a field of a valid
        // record is valid exactly when it starts and ends on character boundaries. Only
        // a record with a bad byte somewhere has its fields checked one by one.
        let bad = Cell::new(false);
        let whole = std::str::from_utf8(record.as_slice()).ok();
        let cell = |i: usize| match (whole, record.range(i)) {
            (Some(all), Some(range)) => all.get(range).unwrap_or_else(|| {
                bad.set(true);
                ""
            }),
            _ => text(record.get(i), &bad),
        };
        if (0..record.len()).all(|i| keys::trim(cell(i)).is_empty()) {
            if bad.get() {
                return Err(bad_text(path, block, line_base, line));
            }
            continue; // a blank line, or one of only delimiters (Excel writes `,,,`)
        }

        let chosen = plan.primary.iter().find_map(|&(col, want)| {
            let (v, removed) = keys::clean_noting(cell(col));
            (!v.is_empty()).then_some((col, want, v, removed))
        });
        let (col, want, value, removed) = chosen.unwrap_or((
            plan.primary[0].0,
            plan.primary[0].1,
            Cow::Borrowed(""),
            None,
        ));
        // The template's example row starts with `Example:` in its first cell, whichever
        // column holds the users (a multi-column template's first is the display name).
        let first = (0..record.len())
            .map(|i| keys::trim(cell(i)))
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        let marked = |v: &str| v.len() >= 8 && v.as_bytes()[..8].eq_ignore_ascii_case(b"example:");
        if table.bulk && (marked(&value) || marked(first)) {
            out.notes.push(format!(
                "line {line}: skipped the bulk template's example row ({value:?})"
            ));
            continue;
        }
        let name = |c: usize| table.names.get(c).map(String::as_str);
        out.stripped.saw(removed, line, col + 1, name(col));
        let mut key = keys::read_key(&value, want, line, col + 1, name(col));
        let upn_is_key = matches!(&key, Ok(k) if k.kind() == KeyKind::Upn);
        let upn = match plan.upn {
            _ if upn_is_key => Some(Cow::Borrowed(&*value)),
            Some(u) if u != col => {
                keys::read_upn_cell(cell(u), line, u + 1, name(u), &mut key, &mut out.stripped)
            }
            Some(_) => Some(Cow::Borrowed(&*value)).filter(|u| !u.is_empty()),
            None => None,
        };
        for &c in &table.extras {
            out.extra(&table.names[c], keys::trim(cell(c)));
        }
        for c in 0..record.len() {
            let unnamed = table.names.get(c).is_none_or(|n| n.is_empty());
            if unnamed && !plan.uses(c) {
                let v = keys::trim(cell(c));
                if !v.is_empty() {
                    out.extra(&format!("column {}", c + 1), v);
                }
            }
        }
        if bad.get() {
            return Err(bad_text(path, block, line_base, line));
        }
        out.push(line, &value, key, upn.as_deref());
    }
    Ok(())
}

/// Parses one block of a plain list: each non-blank line is a key (object id or UPN).
pub(crate) fn parse_plain(
    path: &Path,
    block: &[u8],
    line_base: usize,
    out: &mut Parsed,
) -> Result<(), InputError> {
    check_utf8(path, block, line_base)?;
    for (i, raw) in block.split(|&b| b == b'\n').enumerate() {
        let raw = std::str::from_utf8(raw)
            .unwrap_or_default()
            .trim_end_matches('\r');
        let (value, removed) = keys::clean_noting(raw);
        if value.is_empty() {
            continue;
        }
        let line = line_base + i;
        let lead = raw.len() - raw.trim_start().len();
        let column = 1 + raw[..lead].chars().count();
        out.stripped.saw(removed, line, column, None);
        let key = keys::read_key(&value, Want::Any, line, column, None);
        let upn = matches!(&key, Ok(k) if k.kind() == KeyKind::Upn).then_some(&*value);
        out.push(line, &value, key, upn);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_cut(text: &str) -> Option<usize> {
        Cutter {
            delimiter: b',',
            quoting: true,
        }
        .last_boundary(text.as_bytes())
    }

    #[test]
    fn cuts_outside_quotes_only() {
        assert_eq!(csv_cut("a,b\nc,d\ne"), Some(8));
        assert_eq!(csv_cut("a,\"b\nc\"\nd"), Some(8));
        assert_eq!(csv_cut("a,\"b\nc"), None);
        assert_eq!(csv_cut("a,\"b\"\"\nc\"\nx"), Some(10));
        // A quote inside an unquoted field is literal and opens nothing.
        assert_eq!(csv_cut("a\"b,c\nd\"\ne"), Some(9));
        // A quote as the last byte: undecided, cut before its record.
        assert_eq!(csv_cut("x\n\"a\nb\""), Some(2));
        assert_eq!(csv_cut("abc"), None);
        assert_eq!(csv_cut("a\r\nb\r"), Some(5));
        let plain = Cutter {
            delimiter: b',',
            quoting: false,
        };
        assert_eq!(plain.last_boundary(b"\"a\nb"), Some(3));
    }

    /// The byte-at-a-time rule [`Cutter::last_boundary`] must agree with.
    fn reference_boundary(buf: &[u8], delimiter: u8) -> Option<usize> {
        let (mut last, mut field_start, mut quoted, mut i) = (None, true, false, 0);
        while i < buf.len() {
            let b = buf[i];
            if quoted {
                if b == b'"' {
                    match buf.get(i + 1) {
                        Some(b'"') => i += 1,
                        Some(_) => quoted = false,
                        None => break,
                    }
                }
            } else if b == b'"' && field_start {
                (quoted, field_start) = (true, false);
            } else if b == b'\n' || b == b'\r' {
                (last, field_start) = (Some(i + 1), true);
            } else {
                field_start = b == delimiter;
            }
            i += 1;
        }
        last
    }

    proptest::proptest! {
        #[test]
        fn quote_jumping_agrees_with_the_byte_rule(text in "[a,;\"\n\r]{0,80}") {
            for delimiter in [b',', b';'] {
                let cutter = Cutter { delimiter, quoting: true };
                proptest::prop_assert_eq!(
                    cutter.last_boundary(text.as_bytes()),
                    reference_boundary(text.as_bytes(), delimiter),
                    "{:?}", text
                );
            }
        }

        #[test]
        fn find_byte_finds_the_first(text in "[ab\"]{0,40}", from in 0usize..45) {
            let expect = text.as_bytes().get(from..).and_then(|t| t.iter().position(|&b| b == b'"')).map(|p| p + from);
            proptest::prop_assert_eq!(find_byte(text.as_bytes(), from, b'"'), expect);
        }
    }

    #[test]
    fn blocks_split_at_boundaries_and_count_lines() {
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("u{i}@x,\"multi\nline {i}\"\r\n"));
        }
        let mut blocks = Vec::new();
        produce_blocks(
            Path::new("f"),
            text.as_bytes(),
            Cutter {
                delimiter: b',',
                quoting: true,
            },
            false,
            2,
            &mut |block, line, lines| {
                assert_eq!(lines, count_newlines(&block));
                blocks.push((block, line));
                true
            },
        )
        .unwrap();
        assert!(blocks.len() > 3);
        let mut expect_line = 2;
        let mut joined = Vec::new();
        for (block, line) in &blocks {
            assert_eq!(*line, expect_line);
            assert!(block.starts_with(b"u"), "cut inside a record");
            expect_line += count_newlines(block);
            joined.extend_from_slice(block);
        }
        assert_eq!(joined, text.as_bytes());
    }

    #[test]
    fn an_unclosed_quote_is_reported_not_buffered_forever() {
        let text = format!("a,\"{}", "x".repeat(MAX_RECORD + 10));
        let err = produce_blocks(
            Path::new("f"),
            text.as_bytes(),
            Cutter {
                delimiter: b',',
                quoting: true,
            },
            false,
            7,
            &mut |_, _, _| true,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                InputError::RecordTooLong {
                    line: 7,
                    quoted: true,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("a quote is probably not closed"));
    }

    #[test]
    fn a_line_without_an_end_is_not_called_an_unclosed_quote() {
        let text = format!("a@x\n{}", "x".repeat(MAX_RECORD + 10));
        for quoting in [true, false] {
            let err = produce_blocks(
                Path::new("f"),
                text.as_bytes(),
                Cutter {
                    delimiter: b',',
                    quoting,
                },
                false,
                1,
                &mut |_, _, _| true,
            )
            .unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with("f:2: a record runs on for more than 64 MiB: no line ends in it"),
                "{msg}"
            );
        }
    }

    #[test]
    fn a_character_split_over_two_fields_is_not_utf8() {
        // "é" is C3 A9: valid across the record's fields joined, invalid in each field.
        // After more rows than sniffing looks at, so that the block parser meets it.
        let read = |last: &[u8]| {
            let mut text = b"upn,x\n".to_vec();
            for i in 0..10_000 {
                text.extend_from_slice(format!("u{i}@b,x\n").as_bytes());
            }
            text.extend_from_slice(last);
            crate::input::read_from(
                "f.csv",
                &text[..],
                &crate::input::InputOptions::default(),
                |_| Ok::<(), InputError>(()),
            )
        };
        let err = read(b"a@b\xC3,\xA9\n").unwrap_err();
        assert!(
            matches!(
                err,
                InputError::Encoding {
                    line: 10_002,
                    column: 4,
                    ..
                }
            ),
            "{err}"
        );
        let err = read(b"a@b,\xC3\n").unwrap_err();
        assert!(
            matches!(err, InputError::Encoding { line: 10_002, .. }),
            "{err}"
        );
        // Whole characters in either field are fine.
        let summary = read("zoë@b,é\n".as_bytes()).unwrap();
        assert_eq!((summary.rows, summary.valid), (10_001, 10_001));
    }
}
