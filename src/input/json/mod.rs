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
//!
//! Here: the [`Item`] types, the document and JSON Lines readers. In `visit`: the serde
//! visitors and the position tracking; in `item`: an item into a row. Both use only the
//! types here, and this file uses both.

mod item;
mod visit;

use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use serde::de::DeserializeSeed;

use self::item::cut;
use self::visit::{Collect, ItemSink, NoTrack, NodeSeed, Pos, Tracked};
use super::keys;
use super::parsed::Parsed;
use super::text::{check_utf8, io_error};
use super::{InputError, RowProblem};

pub(crate) use self::item::item_row;

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
    InputError::Json {
        path: path.to_path_buf(),
        line: e.line().max(1),
        column: e.column().max(1),
        message: without_position(&e.to_string()).to_string(),
    }
}

/// A serde_json error's message without the ` at line L column C` it ends with (the
/// position is reported apart).
fn without_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
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
    let reader = Tracked::new(data, Rc::clone(&pos));
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut sink = Chunks {
        items: Vec::with_capacity(CHUNK),
        emit,
        notes,
        stopped: false,
    };
    let seed = NodeSeed::top(&pos, &mut sink);
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
        let seed = NodeSeed::top(&NoTrack, &mut collect);
        if let Err(e) = seed.deserialize(&mut de).and_then(|()| de.end()) {
            let message = e.to_string();
            let message = without_position(&message);
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
