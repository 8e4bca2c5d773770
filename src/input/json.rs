//! JSON user lists: one document (an array of strings or objects, a Graph page
//! `{"value": [...]}`, a single user object) streamed element by element, and JSON Lines.
//!
//! A document is parsed on the reading thread with serde_json's streaming reader and a
//! visitor that hands each array element to the pipeline as soon as it is read ([`Item`]s
//! in chunks), so a million-element array is never held whole. Positions come from
//! [`Tracked`], a reader that counts lines and columns of the bytes serde_json pulls one
//! at a time: an element's first byte is the last one read when its seed runs (serde_json
//! has peeked it), a property value's first byte is the first non-blank one read after its
//! seed starts. Workers then turn items into rows.
//!
//! JSON Lines are cut into blocks like CSV (`table`), each line parsed on a worker; a line
//! that is not valid JSON is an invalid row, not the end of the file. A line may hold a
//! string, an object, an array or a whole Graph page.
//!
//! Objects: the user property is found by name like a CSV header (`keys::KeyPlan`), every
//! other property carried through in order (`@odata.*` annotations left out). A page's
//! `@odata.nextLink` becomes a note: the saved page is not the whole list.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    value::MapAccessDeserializer,
};

use super::keys::{self, KeyPlan};
use super::parsed::Parsed;
use super::text::{check_utf8, io_error};
use super::{InputError, RowProblem};
use crate::graph::key::KeyKind;

/// Items handed to a worker at a time.
pub(crate) const CHUNK: usize = 2048;

/// One element of a JSON user list, with where it starts (1-based; 0 until known).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub line: usize,
    pub column: usize,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// A string: an object id or a UPN.
    Text(String),
    /// An object's properties, in order.
    Object(Vec<Field>),
    /// Anything else ("a number", "an array", ...): an invalid row.
    Other(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub name: String,
    pub value: FieldValue,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    Text(String),
    /// A number, boolean, array or object, as compact JSON.
    Json(String),
    Null,
}

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
    fn new() -> Rc<Pos> {
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
struct Collect {
    items: Vec<Item>,
    notes: Vec<String>,
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
struct NodeSeed<'a, T, S> {
    track: &'a T,
    sink: &'a mut S,
    top: bool,
    at: At,
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
        while seq
            .next_element_seed(NodeSeed {
                track: self.track,
                sink: &mut *self.sink,
                top: false,
                at: At::LastRead,
            })?
            .is_some()
        {}
        Ok(())
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
            while seq
                .next_element_seed(NodeSeed {
                    track: self.track,
                    sink: &mut *self.sink,
                    top: false,
                    at: At::LastRead,
                })?
                .is_some()
            {}
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

/// Hands items to the pipeline in chunks of [`CHUNK`].
struct Chunks<'a> {
    items: Vec<Item>,
    emit: &'a mut dyn FnMut(Vec<Item>) -> bool,
    notes: &'a mut Vec<String>,
    stopped: bool,
}

impl Chunks<'_> {
    fn flush(&mut self) -> bool {
        if self.items.is_empty() {
            return true;
        }
        let items = std::mem::replace(&mut self.items, Vec::with_capacity(CHUNK));
        if !(self.emit)(items) {
            self.stopped = true;
        }
        !self.stopped
    }
}

impl ItemSink for Chunks<'_> {
    fn push(&mut self, item: Item) -> Result<(), String> {
        self.items.push(item);
        if self.items.len() >= CHUNK && !self.flush() {
            return Err("stopped".to_string());
        }
        Ok(())
    }

    fn note(&mut self, note: String) {
        self.notes.push(note);
    }
}

/// The error for a serde_json error while reading a document.
fn json_error(path: &Path, e: serde_json::Error) -> InputError {
    if e.is_io() {
        return io_error(path, io::Error::from(e));
    }
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    InputError::Json {
        path: path.to_path_buf(),
        line: e.line().max(1),
        column: e.column().max(1),
        message,
    }
}

/// Streams one JSON document from `data`, handing its elements to `emit` in chunks.
/// Stops early, without error, when `emit` returns false.
pub(crate) fn produce_document(
    path: &Path,
    data: impl Read,
    emit: &mut dyn FnMut(Vec<Item>) -> bool,
    notes: &mut Vec<String>,
) -> Result<(), InputError> {
    let pos = Pos::new();
    let reader = Tracked {
        inner: data,
        buf: vec![0; 64 * 1024].into_boxed_slice(),
        at: 0,
        len: 0,
        pos: Rc::clone(&pos),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut sink = Chunks {
        items: Vec::with_capacity(CHUNK),
        emit,
        notes,
        stopped: false,
    };
    let seed = NodeSeed {
        track: &pos,
        sink: &mut sink,
        top: true,
        at: At::Mark,
    };
    match seed.deserialize(&mut de).and_then(|()| de.end()) {
        Ok(()) => {
            sink.flush();
            Ok(())
        }
        Err(_) if sink.stopped => Ok(()),
        Err(e) => Err(json_error(path, e)),
    }
}

/// The character column of the value of property `name` in `line`, if it can be found.
fn locate(line: &str, name: &str) -> Option<usize> {
    let quoted = format!("\"{name}\"");
    let mut from = 0;
    while let Some(i) = line[from..].find(&quoted) {
        let after = from + i + quoted.len();
        let rest = line[after..].trim_start();
        if let Some(value) = rest.strip_prefix(':') {
            let value = value.trim_start();
            let at = line.len() - value.len();
            return Some(1 + line[..at].chars().count());
        }
        from = after;
    }
    None
}

/// Parses one block of JSON Lines (starting on line `line_base`) into rows.
pub(crate) fn parse_lines(
    path: &Path,
    column: Option<&str>,
    block: &[u8],
    line_base: usize,
    first: bool,
    out: &mut Parsed,
) -> Result<(), InputError> {
    check_utf8(path, block, line_base)?;
    let mut first = first;
    for (i, raw) in block.split(|&b| b == b'\n').enumerate() {
        let text = std::str::from_utf8(raw)
            .unwrap_or_default()
            .trim_end_matches('\r');
        let trimmed = keys::trim(text);
        if trimmed.is_empty() {
            continue;
        }
        let line = line_base + i;
        let start = 1 + text[..text.len() - text.trim_start().len()].chars().count();
        let mut collect = Collect::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let seed = NodeSeed {
            track: &NoTrack,
            sink: &mut collect,
            top: true,
            at: At::Mark,
        };
        if let Err(e) = seed.deserialize(&mut de).and_then(|()| de.end()) {
            let message = e.to_string();
            let message = message
                .rfind(" at line ")
                .map_or(message.as_str(), |i| &message[..i]);
            let key = Err(RowProblem {
                line,
                column: e.column().max(1),
                column_name: None,
                message: format!("this line is not valid JSON: {message}"),
                hint: "correct the line's JSON (every line of a JSON Lines file is one complete \
                       value), or delete it"
                    .to_string(),
            });
            out.push(line, &cut(trimmed), key, None);
            first = false;
            continue;
        }
        out.notes.extend(collect.notes);
        for mut item in collect.items {
            item.line = line;
            item.column = start;
            if let Body::Object(fields) = &mut item.body {
                for f in fields {
                    f.line = line;
                    f.column = locate(text, &f.name).unwrap_or(start);
                }
            }
            item_row(path, column, item, first, out)?;
            first = false;
        }
    }
    Ok(())
}

/// A value quoted in a row that could not be read: at most 200 characters.
fn cut(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Turns one item into a row. For the file's very first item, an object without any user
/// property is a file-level error (the whole file is surely shaped that way).
pub(crate) fn item_row(
    path: &Path,
    column: Option<&str>,
    item: Item,
    first: bool,
    out: &mut Parsed,
) -> Result<(), InputError> {
    let Item {
        line,
        column: at,
        body,
    } = item;
    let fields = match body {
        Body::Text(s) => {
            let value = keys::clean(&s);
            let key = keys::read_key(&value, keys::Want::Any, line, at, None);
            let upn = matches!(&key, Ok(k) if k.kind() == KeyKind::Upn).then_some(&*value);
            out.push(line, &value, key, upn);
            return Ok(());
        }
        Body::Other(what) => {
            let key = Err(RowProblem {
                line,
                column: at,
                column_name: None,
                message: format!(
                    "expected a user: a string (object id or UPN) or an object with an id or \
                     userPrincipalName property; found {what}"
                ),
                hint: "correct or delete this element".to_string(),
            });
            out.push(line, "", key, None);
            return Ok(());
        }
        Body::Object(fields) => fields,
    };
    let names = || {
        fields
            .iter()
            .map(|f| format!("{:?}", f.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let extras = |out: &mut Parsed, plan: Option<&KeyPlan>| {
        for (i, f) in fields.iter().enumerate() {
            if plan.is_some_and(|p| p.uses(i)) {
                continue;
            }
            let value = match &f.value {
                FieldValue::Text(s) => keys::trim(s),
                FieldValue::Json(j) => j,
                FieldValue::Null => "",
            };
            out.extra(&f.name, value);
        }
    };
    let Some(plan) = KeyPlan::new(fields.iter().map(|f| f.name.as_str()), column) else {
        if first {
            return Err(InputError::NoUserColumn {
                path: path.to_path_buf(),
                line,
                headers: fields.iter().map(|f| f.name.clone()).collect(),
                requested: column.map(str::to_string),
            });
        }
        let message = match column {
            Some(c) => format!("this object has no {c:?} property; it has {}", names()),
            None => format!(
                "this object has no user property ({}); it has {}",
                keys::RECOGNISED,
                if fields.is_empty() {
                    "none".to_string()
                } else {
                    names()
                }
            ),
        };
        let key = Err(RowProblem {
            line,
            column: at,
            column_name: None,
            message,
            hint: "add the user's id or userPrincipalName, name the property that holds it with \
                   --column, or delete the element"
                .to_string(),
        });
        extras(out, None);
        out.push(line, "", key, None);
        return Ok(());
    };

    // The first primary property with a non-empty value addresses the user.
    let mut chosen = None;
    for &(i, want) in &plan.primary {
        let f = &fields[i];
        match &f.value {
            FieldValue::Text(s) if !keys::clean(s).is_empty() => {
                chosen = Some((i, want, Ok(keys::clean(s).into_owned())));
                break;
            }
            FieldValue::Json(j) => {
                chosen = Some((i, want, Err(j.clone())));
                break;
            }
            _ => {}
        }
    }
    let (i, want, value) =
        chosen.unwrap_or((plan.primary[0].0, plan.primary[0].1, Ok(String::new())));
    let field = &fields[i];
    let (value, key) = match value {
        Ok(value) => {
            let key = keys::read_key(&value, want, field.line, field.column, Some(&field.name));
            (value, key)
        }
        Err(json) => {
            let key = Err(RowProblem {
                line: field.line,
                column: field.column,
                column_name: Some(field.name.clone()),
                message: format!(
                    "property {:?} holds {}, not a user key",
                    field.name,
                    cut(&json)
                ),
                hint: "give the object id or UPN as a string".to_string(),
            });
            (json, key)
        }
    };
    let upn = match &key {
        Ok(k) if k.kind() == KeyKind::Upn => Some(Cow::Borrowed(value.as_str())),
        _ => plan.upn.and_then(|u| match &fields[u].value {
            FieldValue::Text(s) => Some(keys::clean(s)).filter(|c| !c.is_empty()),
            _ => None,
        }),
    };
    extras(out, Some(&plan));
    out.push(line, &value, key, upn.as_deref());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> (Vec<Item>, Vec<String>) {
        let mut all = Vec::new();
        let mut notes = Vec::new();
        produce_document(
            Path::new("f.json"),
            text.as_bytes(),
            &mut |chunk| {
                all.extend(chunk);
                true
            },
            &mut notes,
        )
        .unwrap();
        (all, notes)
    }

    #[test]
    fn positions_of_elements_and_values() {
        let text = "[\n  \"a@x\",\n  { \"id\" : \"g\",\n    \"n\": 5 },\n  7\n]";
        let (items, _) = items(text);
        assert_eq!(items.len(), 3);
        assert_eq!((items[0].line, items[0].column), (2, 3));
        assert_eq!(items[0].body, Body::Text("a@x".into()));
        assert_eq!((items[1].line, items[1].column), (3, 3));
        let Body::Object(fields) = &items[1].body else {
            panic!()
        };
        assert_eq!((fields[0].line, fields[0].column), (3, 12));
        assert_eq!(fields[1].value, FieldValue::Json("5".into()));
        assert_eq!((fields[1].line, fields[1].column), (4, 10));
        assert_eq!((items[2].line, items[2].column), (5, 3));
        assert_eq!(items[2].body, Body::Other("a number"));
    }

    #[test]
    fn graph_pages_and_single_objects() {
        let text = r#"{"@odata.context":"x","@odata.nextLink":"y","value":[{"id":"1","x":[1,{"a":null}]},"b@x"]}"#;
        let (items, notes) = items(text);
        assert_eq!(items.len(), 2);
        let Body::Object(fields) = &items[0].body else {
            panic!()
        };
        assert_eq!(
            fields[1].value,
            FieldValue::Json(r#"[1,{"a":null}]"#.into())
        );
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("nextLink"));

        let (items, _) = items_of(r#"{"userPrincipalName":"a@x","value":"v"}"#);
        assert_eq!(items.len(), 1);
    }

    fn items_of(text: &str) -> (Vec<Item>, Vec<String>) {
        items(text)
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = produce_document(
            Path::new("f.json"),
            &b"[\n \"a@x\"\n \"b@x\"\n]"[..],
            &mut |_| true,
            &mut Vec::new(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("f.json:3:2: invalid JSON: expected `,` or `]`"),
            "{msg}"
        );
    }

    #[test]
    fn locating_values_in_a_line() {
        assert_eq!(locate(r#"{"id": "x", "upn":"y"}"#, "upn"), Some(19));
        assert_eq!(locate(r#"{"a": "upn", "upn" : 1}"#, "upn"), Some(22));
        assert_eq!(locate(r#"{"a": 1}"#, "upn"), None);
    }
}
