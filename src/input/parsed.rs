//! The rows a worker parsed from one unit of work ([`Parsed`]), as the parsers (`table`,
//! `json`) write them and the pipeline's in-order stage turns them into [`InputRow`]s.
//!
//! Workers do not build [`InputRow`]s: they copy each row's texts into one buffer per unit,
//! and the caller's thread, which hands the rows to the sink and so also drops them,
//! allocates their strings (see [`Parsed`] for why). A unit's buffers go back to a
//! [`Pool`] once its rows are built.
//!
//! Shared by the parsers and the pipeline, it uses only `keys` (for fingerprints),
//! `invisible` (for the cells whose edges lost invisible characters) and the row types of
//! `input`.

use std::sync::Mutex;

use super::invisible::Stripped;
use super::keys::{Fingerprint, Fingerprinter};
use super::{FirstSeen, InputRow, RowProblem};
use crate::graph::key::{KeyKind, UserKey};

/// A piece of [`Parsed::text`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// A row as a worker leaves it: its texts live in the unit's [`Parsed::text`]. Kept
/// small (a problem is boxed: rare, and large), since every row is written on a worker
/// and read on the caller's thread.
pub(crate) struct Pending {
    /// 1-based line where the row starts.
    pub line: usize,
    value: Span,
    /// A valid key's kind and text (see [`Parsed::push`]), or why there is none.
    key: Result<(KeyKind, Span), Box<RowProblem>>,
    upn: Option<Span>,
    /// A range of [`Parsed::extras`].
    extras: (usize, usize),
    /// The valid key's fingerprint, for duplicate detection.
    pub print: Option<Fingerprint>,
}

/// The reusable buffers of one unit's [`Parsed`].
#[derive(Default)]
struct Buffers {
    text: String,
    rows: Vec<Pending>,
    extras: Vec<(Span, Span)>,
}

/// Buffers of units the caller's thread is done with, for workers to fill again.
pub(crate) struct Pool {
    kept: Mutex<Vec<Buffers>>,
    max_text: usize,
    max_rows: usize,
}

impl Pool {
    /// A pool that keeps a unit's buffers only while they hold at most `max_text` bytes of
    /// text and room for `max_rows` rows.
    pub(crate) fn new(max_text: usize, max_rows: usize) -> Self {
        Pool {
            kept: Mutex::new(Vec::new()),
            max_text,
            max_rows,
        }
    }

    fn take(&self) -> Buffers {
        let reused = self.kept.lock().ok().and_then(|mut kept| kept.pop());
        reused.unwrap_or_default()
    }

    /// Keeps usual-sized buffers, emptied, for reuse; those a huge record or a block of
    /// tiny lines grew are freed, so that memory stays flat.
    fn keep(&self, mut b: Buffers) {
        if b.text.capacity() <= self.max_text
            && b.rows.capacity() <= self.max_rows
            && let Ok(mut kept) = self.kept.lock()
        {
            b.text.clear();
            b.rows.clear();
            b.extras.clear();
            kept.push(b);
        }
    }
}

/// The rows of one unit of work, with their fingerprints for duplicate detection.
///
/// Workers do not build [`InputRow`]s: they copy each row's texts into one buffer, and the
/// caller's thread, which hands the rows to the sink and so also drops them, allocates
/// their strings ([`Parsed::build_rows`]). Allocating a row's eight strings on one thread
/// and freeing them on another is what the C allocator does worst; this way both happen
/// on the caller's thread. That includes the key: a worker validates it with
/// [`UserKey`]'s constructors and keeps its kind and text, and the caller's thread builds
/// it again from them with the same constructor (which validates it again). The unit's
/// own buffers go back to a [`Pool`] once its rows are built, so they are not allocated and
/// freed again (on two threads) for every unit either.
pub(crate) struct Parsed {
    text: String,
    rows: Vec<Pending>,
    extras: Vec<(Span, Span)>,
    /// Where the current row's extras start in `extras`.
    row_extras: usize,
    pub notes: Vec<String>,
    /// The key cells whose edges lost invisible characters (see `invisible`).
    pub stripped: Stripped,
    fp: Fingerprinter,
    scratch: String,
}

impl Parsed {
    /// An empty unit with room for about `rows` rows and `text` bytes of their texts,
    /// in buffers from `pool` when it has some.
    pub(crate) fn new(pool: &Pool, fp: &Fingerprinter, rows: usize, text: usize) -> Self {
        let mut b = pool.take();
        b.text.reserve(text);
        b.rows.reserve(rows);
        Parsed {
            text: b.text,
            rows: b.rows,
            extras: b.extras,
            row_extras: 0,
            notes: Vec::new(),
            stripped: Stripped::default(),
            fp: fp.clone(),
            scratch: String::new(),
        }
    }

    fn span(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Adds a carried-through column to the row being built (before its [`Parsed::push`]).
    pub(crate) fn extra(&mut self, name: &str, value: &str) {
        let pair = (self.span(name), self.span(value));
        self.extras.push(pair);
    }

    /// Finishes a row: its extras are those added since the previous row. Its `row`
    /// index is set later, in order.
    pub(crate) fn push(
        &mut self,
        line: usize,
        value: &str,
        key: Result<UserKey, RowProblem>,
        upn: Option<&str>,
    ) {
        let print = key.as_ref().ok().map(|k| self.fp.of(k, &mut self.scratch));
        // The key itself is dropped here, on the thread that allocated it.
        let key = match key {
            Ok(k) => Ok((k.kind(), self.span(k.as_str()))),
            Err(problem) => Err(Box::new(problem)),
        };
        let value = self.span(value);
        let upn = upn.map(|u| self.span(u));
        let extras = (self.row_extras, self.extras.len());
        self.row_extras = self.extras.len();
        self.rows.push(Pending {
            line,
            value,
            key,
            upn,
            extras,
            print,
        });
    }

    /// The unit's rows so far, in order: their lines and fingerprints, for duplicate
    /// detection.
    pub(crate) fn rows(&self) -> &[Pending] {
        &self.rows
    }

    /// Builds the unit's [`InputRow`]s in order (on the caller's thread) and hands each to
    /// `each`: the `n`-th is numbered `first_row + n` and is a duplicate of `firsts[n]`.
    /// Then gives the unit's buffers back to `pool`. Stops at the first error from `each`
    /// and returns it.
    pub(crate) fn build_rows<E>(
        self,
        first_row: usize,
        firsts: &[Option<FirstSeen>],
        pool: &Pool,
        mut each: impl FnMut(InputRow) -> Result<(), E>,
    ) -> Result<(), E> {
        let Parsed {
            text,
            mut rows,
            extras,
            ..
        } = self;
        for (n, (p, &first)) in rows.drain(..).zip(firsts).enumerate() {
            each(Parsed::build(&text, &extras, p, first_row + n, first))?;
        }
        pool.keep(Buffers { text, rows, extras });
        Ok(())
    }

    /// Builds one row's [`InputRow`] (on the caller's thread).
    fn build(
        text: &str,
        extras: &[(Span, Span)],
        p: Pending,
        row: usize,
        duplicate_of: Option<FirstSeen>,
    ) -> InputRow {
        let str_of = |s: Span| text.get(s.start..s.end).unwrap_or_default();
        let get = |s: Span| str_of(s).to_string();
        let key = match p.key {
            Ok((kind, span)) => Ok(rebuild_key(kind, str_of(span))),
            Err(problem) => Err(*problem),
        };
        let extra = extras
            .get(p.extras.0..p.extras.1)
            .unwrap_or_default()
            .iter()
            .map(|&(n, v)| (get(n), get(v)))
            .collect();
        InputRow {
            row,
            line: p.line,
            value: get(p.value),
            key,
            upn: p.upn.map(get),
            extra,
            duplicate_of,
        }
    }
}

/// The key of `kind` whose text is `text`, built again by the constructor that validated
/// it on a worker. Validation is a pure function of the text, and a key's text passes
/// its own kind's constructor unchanged (an id's text is already lower-case), so this
/// cannot fail.
fn rebuild_key(kind: KeyKind, text: &str) -> UserKey {
    let key = match kind {
        KeyKind::Id => UserKey::id(text),
        KeyKind::Upn => UserKey::upn(text),
        KeyKind::Mail => UserKey::mail(text),
    };
    key.unwrap_or_else(|e| unreachable!("a key valid on a worker is valid again: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::keys::{Want, read_key};
    use proptest::prelude::*;

    proptest! {
        /// Whatever a worker accepts, the caller's thread builds again, identical.
        #[test]
        fn a_valid_key_is_rebuilt_the_same(
            text in prop_oneof![
                "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                "[$(]?[a-zA-Z0-9.'#_-]{1,12}@[a-zA-Z0-9.-]{1,12}",
                "\\PC{1,12}@\\PC{1,12}",
                "\\PC{0,40}",
            ],
            want in prop::sample::select(vec![Want::Id, Want::Upn, Want::Mail, Want::Any]),
        ) {
            if let Ok(key) = read_key(&text, want, 1, 1, None) {
                prop_assert_eq!(rebuild_key(key.kind(), key.as_str()), key);
            }
        }
    }
}
