//! The streaming half of the JSON reader: serde visitors that hand each element of a user
//! list to an [`ItemSink`] as soon as it is read, with its position.
//!
//! Positions come from [`Tracked`], a reader that counts lines and columns of the bytes
//! serde_json pulls one at a time: an element's first byte is the last one read when its
//! seed runs (serde_json has peeked it), a property value's first byte is the first
//! non-blank one read after its seed starts ([`Track`]). A JSON Lines line is parsed with
//! [`NoTrack`]; its worker finds positions in the line.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    value::MapAccessDeserializer,
};

use super::{Body, Field, FieldValue, Item};

/// Where the parser is, for positions of elements and property values.
pub(crate) trait Track {
    /// The position of the last non-blank byte read.
    fn last_read(&self) -> (usize, usize);
    /// Starts watching for the next non-blank byte.
    fn mark(&self);
    /// The position of the first non-blank byte read since [`Track::mark`].
    fn marked(&self) -> (usize, usize);
}

/// No positions (JSON Lines: the worker finds them in the line).
pub(crate) struct NoTrack;

impl Track for NoTrack {
    fn last_read(&self) -> (usize, usize) {
        (0, 0)
    }
    fn mark(&self) {}
    fn marked(&self) -> (usize, usize) {
        (0, 0)
    }
}

/// Positions shared between [`Tracked`] and the visitors.
#[derive(Debug)]
pub(crate) struct Pos {
    line: Cell<usize>,
    column: Cell<usize>,
    last: Cell<(usize, usize)>,
    marking: Cell<bool>,
    marked: Cell<(usize, usize)>,
}

impl Pos {
    pub(crate) fn new() -> Rc<Pos> {
        Rc::new(Pos {
            line: Cell::new(1),
            column: Cell::new(1),
            last: Cell::new((1, 1)),
            marking: Cell::new(false),
            marked: Cell::new((1, 1)),
        })
    }

    fn advance(&self, b: u8) {
        let here = (self.line.get(), self.column.get());
        if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            self.last.set(here);
            if self.marking.replace(false) {
                self.marked.set(here);
            }
        }
        if b == b'\n' {
            self.line.set(here.0 + 1);
            self.column.set(1);
        } else if b & 0xC0 != 0x80 {
            self.column.set(here.1 + 1);
        }
    }
}

impl Track for Rc<Pos> {
    fn last_read(&self) -> (usize, usize) {
        self.last.get()
    }
    fn mark(&self) {
        self.marking.set(true);
    }
    fn marked(&self) -> (usize, usize) {
        self.marked.get()
    }
}

/// A reader that counts lines and (character) columns of the bytes delivered.
pub(crate) struct Tracked<R> {
    inner: R,
    buf: Box<[u8]>,
    at: usize,
    len: usize,
    pos: Rc<Pos>,
}

impl<R> Tracked<R> {
    /// Reads `inner` through a 64 KiB buffer, counting into `pos`.
    pub(crate) fn new(inner: R, pos: Rc<Pos>) -> Self {
        Tracked {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            at: 0,
            len: 0,
            pos,
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.len {
            self.len = loop {
                match self.inner.read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            self.at = 0;
            if self.len == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.len - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        for &b in &out[..n] {
            self.pos.advance(b);
        }
        self.at += n;
        Ok(n)
    }
}

/// Where parsed items go.
pub(crate) trait ItemSink {
    /// Takes one item; an error stops the parse (the reader is no longer wanted).
    fn push(&mut self, item: Item) -> Result<(), String>;
    /// Records something the reader of a report should know.
    fn note(&mut self, note: String);
}

/// Collects items (one JSON Lines line).
#[derive(Default)]
pub(crate) struct Collect {
    pub items: Vec<Item>,
    pub notes: Vec<String>,
}

impl ItemSink for Collect {
    fn push(&mut self, item: Item) -> Result<(), String> {
        self.items.push(item);
        Ok(())
    }
    fn note(&mut self, note: String) {
        self.notes.push(note);
    }
}

/// How a node's position is known.
#[derive(Clone, Copy)]
enum At {
    /// It is the last byte read (an array element, which serde_json has peeked).
    LastRead,
    /// It is the first non-blank byte after the seed starts (the top, a property value).
    Mark,
}

/// An element of a user list: a string, an object (a user, or a page whose `value` array
/// holds more elements), or at the top level an array of elements.
pub(crate) struct NodeSeed<'a, T, S> {
    track: &'a T,
    sink: &'a mut S,
    top: bool,
    at: At,
}

impl<'a, T: Track, S: ItemSink> NodeSeed<'a, T, S> {
    /// The whole document (or JSON Lines line): a user list, a page or one user.
    pub(crate) fn top(track: &'a T, sink: &'a mut S) -> Self {
        NodeSeed {
            track,
            sink,
            top: true,
            at: At::Mark,
        }
    }
}

/// Reads every element of a user list's array (the top-level array or a page's `value`)
/// into `sink`.
fn elements<'de, A: SeqAccess<'de>, T: Track, S: ItemSink>(
    mut seq: A,
    track: &T,
    sink: &mut S,
) -> Result<(), A::Error> {
    while seq
        .next_element_seed(NodeSeed {
            track,
            sink: &mut *sink,
            top: false,
            at: At::LastRead,
        })?
        .is_some()
    {}
    Ok(())
}

impl<'de, T: Track, S: ItemSink> DeserializeSeed<'de> for NodeSeed<'_, T, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let pos = match self.at {
            At::LastRead => Some(self.track.last_read()),
            At::Mark => {
                self.track.mark();
                None
            }
        };
        d.deserialize_any(NodeVisitor {
            track: self.track,
            sink: self.sink,
            top: self.top,
            pos,
        })
    }
}

struct NodeVisitor<'a, T, S> {
    track: &'a T,
    sink: &'a mut S,
    top: bool,
    pos: Option<(usize, usize)>,
}

impl<T: Track, S: ItemSink> NodeVisitor<'_, T, S> {
    fn here(&self) -> (usize, usize) {
        self.pos.unwrap_or_else(|| self.track.marked())
    }

    fn push<E: de::Error>(self, body: Body) -> Result<(), E> {
        let (line, column) = self.here();
        self.sink
            .push(Item { line, column, body })
            .map_err(E::custom)
    }
}

impl<'de, T: Track, S: ItemSink> Visitor<'de> for NodeVisitor<'_, T, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a user list: an array of strings or objects, or a Graph page {\"value\": [...]}",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.push(Body::Text(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.push(Body::Text(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.push(Body::Other("true or false"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.push(Body::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.push(Body::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.push(Body::Other("a number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.push(Body::Other("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.top {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return self.push(Body::Other("an array"));
        }
        elements(seq, self.track, self.sink)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // The object's `{` was the byte read last (or the one marked): take it now, before
        // reading its properties moves the tracker on.
        let (line, column) = self.here();
        let mut fields = Vec::new();
        let mut page = false;
        while let Some(name) = map.next_key::<String>()? {
            if name.starts_with("@odata.") {
                if name == "@odata.nextLink" {
                    self.sink.note(format!(
                        "line {line}: the Graph page has an @odata.nextLink: more users follow \
                         in later pages that this file does not hold"
                    ));
                }
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = map.next_value_seed(FieldSeed {
                track: self.track,
                sink: &mut *self.sink,
                page_allowed: name == "value",
            })?;
            match value {
                None => page = true,
                Some((value, (l, c))) => fields.push(Field {
                    name,
                    value,
                    line: l,
                    column: c,
                }),
            }
        }
        if page {
            return Ok(());
        }
        self.sink
            .push(Item {
                line,
                column,
                body: Body::Object(fields),
            })
            .map_err(de::Error::custom)
    }
}

/// A property value; for `value`, an array is a Graph page whose elements are pushed as
/// items (and `None` returned).
struct FieldSeed<'a, T, S> {
    track: &'a T,
    sink: &'a mut S,
    page_allowed: bool,
}

type FieldOut = Option<(FieldValue, (usize, usize))>;

impl<'de, T: Track, S: ItemSink> DeserializeSeed<'de> for FieldSeed<'_, T, S> {
    type Value = FieldOut;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FieldOut, D::Error> {
        self.track.mark();
        d.deserialize_any(self)
    }
}

impl<T: Track, S: ItemSink> FieldSeed<'_, T, S> {
    fn done<E>(&self, value: FieldValue) -> Result<FieldOut, E> {
        Ok(Some((value, self.track.marked())))
    }
}

impl<'de, T: Track, S: ItemSink> Visitor<'de> for FieldSeed<'_, T, S> {
    type Value = FieldOut;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldOut, E> {
        self.done(FieldValue::Text(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<FieldOut, E> {
        self.done(FieldValue::Text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldOut, E> {
        self.done(FieldValue::Json(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldOut, E> {
        self.done(FieldValue::Json(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldOut, E> {
        self.done(FieldValue::Json(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<FieldOut, E> {
        let text = serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string());
        self.done(FieldValue::Json(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<FieldOut, E> {
        self.done(FieldValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<FieldOut, E> {
        self.done(FieldValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldOut, A::Error> {
        if self.page_allowed {
            elements(seq, self.track, self.sink)?;
            return Ok(None);
        }
        let at = self.track.marked();
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            items.push(v);
        }
        Ok(Some((
            FieldValue::Json(serde_json::Value::Array(items).to_string()),
            at,
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FieldOut, A::Error> {
        let at = self.track.marked();
        let value = serde_json::Value::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Some((FieldValue::Json(value.to_string()), at)))
    }
}
