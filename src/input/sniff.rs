//! Telling what a file is from its first 64 KiB: JSON, JSON Lines, CSV (which delimiter,
//! which header line, which column holds users, a bulk template or not) or a plain list.
//!
//! The result, a [`Layout`], is decided once, before any row is read, and shared by every
//! worker; everything a file-level [`InputError`] can say about the header (no user
//! column, a `--column` that is not there) is said here, before any row reaches a sink.
//!
//! The rules, in order:
//!
//! 1. The first non-blank character is `[` or `{`: JSON. If the first non-blank line is a
//!    complete JSON value and more lines follow, JSON Lines; otherwise one JSON document.
//! 2. Otherwise text. An Excel `sep=X` line sets the delimiter; a `version:v1.0` line marks
//!    an Entra bulk-operation template. The next non-blank line is the header candidate.
//! 3. The delimiter is whichever of `,` `;` tab occurs (outside quotes) in the header line
//!    and the same number of times in most of the following lines.
//! 4. If the header names a user column (or the `--column` given), it is a CSV file.
//!    Otherwise a single column without a delimiter is a plain list whose first line is
//!    data; anything else is refused with the headers found.

use super::keys::{self, KeyPlan, Want};
use super::text::{count_newlines, utf8_error};
use super::{Encoding, Format, InputError, InputOptions, Shape};
use std::borrow::Cow;
use std::path::Path;

/// The delimiters sniffed, in order of preference on a tie.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// How many lines after the header are looked at to confirm a delimiter.
const CONFIRM_LINES: usize = 20;

/// Everything decided about a file before its rows are read.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub format: Format,
    pub kind: Kind,
    /// Where the data rows start, as an offset into the sample.
    pub data_start: usize,
    /// The line number of the byte at `data_start`.
    pub data_line: usize,
    /// Lines end in a lone CR (classic Mac): every CR is a line end.
    pub cr_only: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Table(TableLayout),
    Plain,
    Json { column: Option<String> },
    JsonLines { column: Option<String> },
}

/// A CSV file's columns.
#[derive(Debug, Clone)]
pub(crate) struct TableLayout {
    pub delimiter: u8,
    /// Each header column's name as reported (see [`keys::display_name`]); may be empty.
    pub names: Vec<String>,
    pub plan: KeyPlan,
    /// Named columns carried through as extras, in order.
    pub extras: Vec<usize>,
    /// An Entra bulk-operation template: its `Example:` row is skipped.
    pub bulk: bool,
}

/// A line of the sample: where it starts, its number, its text without the line end.
struct Line<'a> {
    start: usize,
    number: usize,
    text: &'a str,
}

fn lines(text: &str, complete: bool) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (number, piece) in text.split_inclusive('\n').enumerate() {
        let terminated = piece.ends_with('\n');
        if !terminated && !complete {
            break;
        }
        out.push(Line {
            start,
            number: number + 1,
            text: piece.trim_end_matches(['\n', '\r']),
        });
        start += piece.len();
    }
    out
}

/// Counts `d` outside double quotes.
fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut quoted = false;
    line.bytes()
        .filter(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            !quoted && b == d
        })
        .count()
}

/// The delimiter of a header line, confirmed by the lines after it: the one the most
/// following lines agree with, then the one giving the most fields, then the first of
/// [`DELIMITERS`].
fn sniff_delimiter<'a>(
    header: &str,
    following: impl Iterator<Item = &'a str> + Clone,
) -> Option<u8> {
    let mut best: Option<((usize, usize), u8)> = None;
    for d in DELIMITERS {
        let n = count_outside_quotes(header, d);
        if n == 0 {
            continue;
        }
        let agree = following
            .clone()
            .filter(|l| !keys::trim(l).is_empty())
            .take(CONFIRM_LINES)
            .filter(|l| count_outside_quotes(l, d) == n)
            .count();
        if best.is_none_or(|(score, _)| (agree, n) > score) {
            best = Some(((agree, n), d));
        }
    }
    best.map(|(_, d)| d)
}

/// Splits one header line into cells with the csv parser.
fn header_cells(text: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(|c| keys::clean(c).into_owned()).collect(),
        _ => vec![keys::clean(text).into_owned()],
    }
}

fn want_label(want: Want) -> &'static str {
    match want {
        Want::Id => "object id",
        Want::Upn => "UPN",
        Want::Mail => "mail",
        Want::Any => "object id or UPN",
    }
}

/// `column 1 "id" (object id), else column 2 "userPrincipalName" (UPN)`.
fn describe(plan: &KeyPlan, names: &[String]) -> String {
    let mut out = plan
        .primary
        .iter()
        .map(|&(c, w)| format!("column {} {:?} ({})", c + 1, names[c], want_label(w)))
        .collect::<Vec<_>>()
        .join(", else ");
    if let Some(u) = plan
        .upn
        .filter(|&u| plan.primary.iter().all(|&(c, _)| c != u))
    {
        out.push_str(&format!("; UPN from column {} {:?}", u + 1, names[u]));
    }
    out
}

/// Decides the layout of a file from its first bytes, decoded to UTF-8. `complete` says
/// the sample is the whole file.
pub(crate) fn sniff(
    path: &Path,
    sample: &[u8],
    complete: bool,
    encoding: Encoding,
    options: &InputOptions,
) -> Result<Layout, InputError> {
    let text = sample_text(path, sample)?;
    // Classic Mac line ends: CR only. Read CRs as line ends from here on.
    let cr_only = !text.contains('\n') && text.contains('\r');
    let text = if cr_only {
        Cow::Owned(text.replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    };
    if keys::trim(&text).is_empty() {
        return Err(all_blank(path, complete));
    }
    let sample = Sample {
        path,
        text: &text,
        lines: lines(&text, complete),
        encoding,
        cr_only,
        complete,
    };
    let first_char = keys::trim(&text).chars().next().unwrap_or(' ');
    if first_char == '[' || first_char == '{' {
        return Ok(sample.json(options));
    }
    sample.delimited(options)
}

/// The sample as text: UTF-8 up to its end, where a character may be cut in two.
fn sample_text<'a>(path: &Path, sample: &'a [u8]) -> Result<&'a str, InputError> {
    match std::str::from_utf8(sample) {
        Ok(text) => Ok(text),
        Err(e) if e.error_len().is_none() => {
            // Cut in the middle of a character at the end of the sample: fine.
            Ok(std::str::from_utf8(&sample[..e.valid_up_to()]).unwrap_or_default())
        }
        Err(e) => Err(utf8_error(path, sample, 1, e.valid_up_to())),
    }
}

/// The error for a sample of white space only: an empty file, or a file that starts with
/// 64 KiB of it.
fn all_blank(path: &Path, complete: bool) -> InputError {
    if complete {
        return InputError::Empty {
            path: path.to_path_buf(),
        };
    }
    InputError::UnknownFormat {
        path: path.to_path_buf(),
        detail: "the first 64 KiB are all white space; give a CSV, plain or JSON user list"
            .to_string(),
    }
}

/// A sample with something in it, its lines cut, and what every layout of it shares.
struct Sample<'a> {
    path: &'a Path,
    /// The sample's text, lone CRs read as line ends.
    text: &'a str,
    lines: Vec<Line<'a>>,
    encoding: Encoding,
    cr_only: bool,
    /// The sample is the whole file.
    complete: bool,
}

/// What comes before a CSV header: an Excel `sep=X` line, a bulk template's `version:`
/// line.
struct Preamble<'s, 'a> {
    /// The first non-blank line after them: the header candidate.
    header: Option<&'s Line<'a>>,
    /// The delimiter a `sep=` line set.
    delimiter: Option<u8>,
    /// Where a `sep=` line ends: data never starts before it.
    data_floor: usize,
    /// A `version:` line marked an Entra bulk-operation template.
    bulk: bool,
}

impl<'a> Sample<'a> {
    fn non_blank(&self) -> impl Iterator<Item = &Line<'a>> {
        self.lines.iter().filter(|l| !keys::trim(l.text).is_empty())
    }

    fn format(
        &self,
        shape: Shape,
        delimiter: Option<char>,
        header_line: Option<usize>,
        bulk: bool,
        addressing: String,
    ) -> Format {
        Format {
            shape,
            encoding: self.encoding,
            delimiter,
            header_line,
            bulk_template: bulk,
            addressing,
        }
    }

    /// The layout whose data rows start at byte `data_start` of the sample.
    fn layout(&self, format: Format, kind: Kind, data_start: usize) -> Layout {
        Layout {
            format,
            kind,
            data_start,
            data_line: 1 + count_newlines(&self.text.as_bytes()[..data_start]),
            cr_only: self.cr_only,
        }
    }

    /// Rule 1: a JSON document, or JSON Lines when the first non-blank line is a complete
    /// JSON value and more lines follow.
    fn json(&self, options: &InputOptions) -> Layout {
        let column = options.column.clone();
        let addressing = match &column {
            Some(c) => format!("the {c:?} property of each object, or each string"),
            None => format!(
                "the {} property of each object, or each string",
                "id / objectId, else userPrincipalName / UPN, else mail / email"
            ),
        };
        let mut rest = self.non_blank();
        let first = rest.next();
        let more = rest.next().is_some();
        let lines_mode = more
            && first.is_some_and(|l| serde_json::from_str::<serde::de::IgnoredAny>(l.text).is_ok());
        let (shape, kind) = if lines_mode {
            (Shape::JsonLines, Kind::JsonLines { column })
        } else {
            (Shape::Json, Kind::Json { column })
        };
        self.layout(self.format(shape, None, None, false, addressing), kind, 0)
    }

    /// Rule 2: the `sep=` and `version:` lines, and the header candidate after them.
    fn preamble(&self) -> Preamble<'_, 'a> {
        let mut rest = self.non_blank();
        let mut found = Preamble {
            header: rest.next(),
            delimiter: None,
            data_floor: 0,
            bulk: false,
        };
        if let Some(line) = found.header {
            let t = keys::trim(line.text);
            if t.len() == 5 && t.as_bytes()[..4].eq_ignore_ascii_case(b"sep=") {
                found.delimiter = t.as_bytes().get(4).copied();
                found.data_floor = line.start + line.text.len();
                found.header = rest.next();
            }
        }
        if let Some(line) = found.header {
            let t = keys::trim(line.text).trim_start_matches('"');
            if t.len() >= 8 && t.as_bytes()[..8].eq_ignore_ascii_case(b"version:") {
                found.bulk = true;
                found.header = rest.next();
            }
        }
        found
    }

    /// Rules 2 to 4: a CSV file, a plain list, or a refusal naming the headers found.
    fn delimited(&self, options: &InputOptions) -> Result<Layout, InputError> {
        let Preamble {
            header,
            delimiter,
            data_floor,
            bulk,
        } = self.preamble();
        let Some(header) = header else {
            if !self.complete {
                return Err(self.no_line_end());
            }
            return Err(self.no_user_column(
                self.lines.last().map_or(1, |l| l.number),
                Vec::new(),
                options,
            ));
        };
        let following = self
            .lines
            .iter()
            .filter(|l| l.number > header.number)
            .map(|l| l.text);
        let delimiter = delimiter.or_else(|| sniff_delimiter(header.text, following));
        let raw_names = match delimiter {
            Some(d) => header_cells(header.text, d),
            None => vec![keys::clean(header.text).into_owned()],
        };
        let plan = KeyPlan::new(
            raw_names.iter().map(String::as_str),
            options.column.as_deref(),
        );
        let Some(plan) = plan else {
            if options.column.is_none() && delimiter.is_none() && !bulk {
                // One column, no recognised header: a plain list; its first line is data.
                return Ok(self.plain(header.start.max(data_floor)));
            }
            return Err(self.no_user_column(header.number, raw_names, options));
        };
        let names: Vec<String> = raw_names.iter().map(|n| keys::display_name(n)).collect();
        let extras = (0..names.len())
            .filter(|&c| !plan.uses(c) && !names[c].is_empty())
            .collect();
        let data_start = (header.start + header.text.len()).min(self.text.len());
        let addressing = describe(&plan, &names);
        let format = self.format(
            Shape::Csv,
            delimiter.map(char::from),
            Some(header.number),
            bulk,
            addressing,
        );
        let table = TableLayout {
            delimiter: delimiter.unwrap_or(b','),
            names,
            plan,
            extras,
            bulk,
        };
        Ok(self.layout(format, Kind::Table(table), data_start))
    }

    /// A plain list whose data starts at `data_start`.
    fn plain(&self, data_start: usize) -> Layout {
        let format = self.format(
            Shape::PlainList,
            None,
            None,
            false,
            "each line (object id or UPN)".to_string(),
        );
        self.layout(format, Kind::Plain, data_start)
    }

    /// The error for a sample that ends before any line that could be a header does:
    /// the file's first lines run on past 64 KiB.
    fn no_line_end(&self) -> InputError {
        let line = self.lines.last().map_or(1, |l| l.number + 1);
        InputError::UnknownFormat {
            path: self.path.to_path_buf(),
            detail: format!(
                "line {line} runs on past the first 64 KiB without a line end; a user list's \
                 lines are short, so this is probably not one (or its line ends are not LF, \
                 CR LF or CR); check that this is the right file"
            ),
        }
    }

    fn no_user_column(
        &self,
        line: usize,
        headers: Vec<String>,
        options: &InputOptions,
    ) -> InputError {
        InputError::NoUserColumn {
            path: self.path.to_path_buf(),
            line,
            headers,
            requested: options.column.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str) -> Result<Layout, InputError> {
        layout_with(text, None)
    }

    fn layout_with(text: &str, column: Option<&str>) -> Result<Layout, InputError> {
        let options = InputOptions {
            column: column.map(str::to_string),
        };
        sniff(
            Path::new("f"),
            text.as_bytes(),
            true,
            Encoding::Utf8,
            &options,
        )
    }

    fn table(text: &str) -> TableLayout {
        match layout(text).unwrap().kind {
            Kind::Table(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn delimiters() {
        assert_eq!(table("id,upn\n1,2\n").delimiter, b',');
        assert_eq!(table("id;upn;x\n1;2;3\n").delimiter, b';');
        assert_eq!(table("id\tupn\n1\t2\n").delimiter, b'\t');
        // The header decides; commas inside quotes or in a ';' file's data do not count.
        assert_eq!(table("\"a,b\";upn\n\"x,y\";z\n").delimiter, b';');
        assert_eq!(table("upn;name\nx;Wilke, Isaiah\n").delimiter, b';');
        // Excel's sep= line.
        let l = layout("sep=;\nupn;name,x\na;b\n").unwrap();
        assert_eq!(l.format.header_line, Some(2));
        let Kind::Table(t) = l.kind else { panic!() };
        assert_eq!(t.delimiter, b';');
        assert_eq!(t.names, ["upn", "name,x"]);
    }

    #[test]
    fn header_and_data_positions() {
        let l = layout("\r\n\r\nid,upn\r\nx,y\r\n").unwrap();
        assert_eq!(l.format.header_line, Some(3));
        assert_eq!(
            l.data_line, 3,
            "data starts at the CR LF that ends the header"
        );
        assert_eq!(&"\r\n\r\nid,upn\r\nx,y\r\n"[l.data_start..], "\r\nx,y\r\n");
    }

    #[test]
    fn bulk_template() {
        let text = "version:v1.0\nUser name [userPrincipalName] Required\nExample: a@b\n";
        let l = layout(text).unwrap();
        assert!(l.format.bulk_template);
        let Kind::Table(t) = l.kind else { panic!() };
        assert_eq!(t.names, ["userPrincipalName"]);
        assert_eq!(t.plan.primary, vec![(0, Want::Upn)]);
        assert_eq!(l.data_line, 2);
    }

    #[test]
    fn plain_lists_and_refusals() {
        let l = layout("alice@x\nbob@x\n").unwrap();
        assert!(matches!(l.kind, Kind::Plain));
        assert_eq!((l.data_start, l.data_line), (0, 1));
        let l = layout("\n\nUsers\nbob@x\n").unwrap();
        assert!(matches!(l.kind, Kind::Plain));
        assert_eq!(l.data_line, 3);

        let e = layout("name,ticket\nalice,1\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("f:1: no column holds users"), "{msg}");
        assert!(
            msg.contains("\"name\", \"ticket\"") && msg.contains("--column"),
            "{msg}"
        );

        let e = layout_with("id,upn\n", Some("login")).unwrap_err();
        assert!(
            e.to_string().contains("there is no column \"login\""),
            "{e}"
        );
        assert!(matches!(layout("  \n"), Err(InputError::Empty { .. })));
    }

    #[test]
    fn json_shapes() {
        assert!(matches!(
            layout("[\"a@b\"]").unwrap().kind,
            Kind::Json { .. }
        ));
        assert!(matches!(
            layout("{\n\"value\": []\n}").unwrap().kind,
            Kind::Json { .. }
        ));
        assert!(matches!(
            layout("{\"value\": []}").unwrap().kind,
            Kind::Json { .. }
        ));
        assert!(matches!(
            layout("{\"upn\": \"a@b\"}\n{\"upn\": \"c@d\"}\n")
                .unwrap()
                .kind,
            Kind::JsonLines { .. }
        ));
        assert!(matches!(
            layout("\"a@b\"\n\"c@d\"\n").unwrap().kind,
            Kind::Plain
        ));
    }

    #[test]
    fn classic_mac_line_ends() {
        let l = layout("upn\rx@y\r").unwrap();
        assert!(l.cr_only);
        assert_eq!(l.data_line, 1);
    }
}
