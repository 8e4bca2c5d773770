//! Text encodings of user lists: what the first bytes say, and a streaming UTF-16 decoder.
//!
//! Administrators' files come out of Excel, PowerShell, Notepad and portals. The encodings
//! met in practice, and how each is recognised (by content, never by extension):
//!
//! - UTF-8, with or without the byte-order mark `EF BB BF` Excel's "CSV UTF-8" writes;
//! - UTF-16 LE or BE with its byte-order mark (`FF FE` / `FE FF`), which Excel's "Unicode
//!   Text" and Windows PowerShell 5's `Out-File` write; decoded to UTF-8 on the fly by
//!   [`Utf16Reader`], so the parsers downstream only ever see UTF-8;
//! - anything else is refused with what to do: UTF-32, UTF-16 without a byte-order mark,
//!   Excel workbooks (`.xlsx` / `.xls`), compressed files and PDF documents (by their
//!   first bytes), and other binary files (control characters common in the first 64 KiB;
//!   a run of zero bytes anywhere is refused as such by `text::ZeroGuard`, whatever the
//!   file's size). Legacy 8-bit code pages
//!   (Excel's plain "CSV" on Windows) are refused later, at the first byte that is not
//!   UTF-8 (see `text`), because guessing a code page could silently change a key.

use std::fmt;
use std::io::{self, Read};

/// How the file's text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    #[default]
    Utf8,
    /// UTF-8 with a byte-order mark (Excel's "CSV UTF-8").
    Utf8Bom,
    /// UTF-16 little-endian with a byte-order mark (Excel's "Unicode Text").
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16Be,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with BOM",
            Encoding::Utf16Le => "UTF-16 LE",
            Encoding::Utf16Be => "UTF-16 BE",
        })
    }
}

/// What the first bytes of a file say about it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// Text in this encoding; the byte-order mark (if any) is this many bytes long.
    Text(Encoding, usize),
    /// Not something we read; the message says what it is and what to do.
    Refused(String),
}

/// Looks at the first bytes of a file (at least 4 KiB of them when the file is that long).
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    const SAVE_AS: &str = "save it as \"CSV UTF-8\" (File > Save As in Excel) or as plain text";
    if head.starts_with(&[0xFF, 0xFE, 0, 0]) || head.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Sniffed::Refused(format!(
            "the file is UTF-32 text, which is not supported; {SAVE_AS}"
        ));
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Sniffed::Text(Encoding::Utf8Bom, 3);
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Sniffed::Text(Encoding::Utf16Le, 2);
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Sniffed::Text(Encoding::Utf16Be, 2);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Sniffed::Refused(format!(
            "this is an Excel workbook or another ZIP file, not a CSV or JSON list; {SAVE_AS}"
        ));
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Sniffed::Refused(format!(
            "this is a legacy Excel workbook (.xls), not a CSV or JSON list; {SAVE_AS}"
        ));
    }
    for (magic, what) in PACKED {
        if head.starts_with(magic) {
            return Sniffed::Refused(format!(
                "this is {what}, not a CSV or JSON list; take the list out of it and give that \
                 file"
            ));
        }
    }
    if head.contains(&0) {
        // ASCII text in UTF-16 has a zero in every other byte, and (nearly) none in the
        // others; zeros in both halves are not text at all (below). A stray NUL elsewhere
        // is read as text: the row holding it is invalid, not the whole file.
        let pairs = head.len() / 2;
        let even = head.iter().step_by(2).filter(|&&b| b == 0).count();
        let odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let many = |zeros: usize| zeros * 10 >= pairs * 3;
        let few = |zeros: usize| zeros * 10 < pairs;
        if pairs > 0 && ((many(even) && few(odd)) || (many(odd) && few(even))) {
            return Sniffed::Refused(format!(
                "the file looks like UTF-16 text without a byte-order mark, which cannot be \
                 read reliably; {SAVE_AS}, or as \"Unicode Text\" from Excel (which writes the mark)"
            ));
        }
    }
    // Text holds no control characters but tabs, line ends and form feeds, bar a stray
    // one; a file where they are common is binary (a run of zeros has been refused by
    // the reader already, see `text::ZeroGuard`).
    let controls = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F)
        .count();
    if controls >= 16 && controls * 100 >= head.len() {
        return Sniffed::Refused(format!(
            "this looks like a binary file, not text: {controls} of its first {} bytes are \
             control characters (zero bytes and the like), which a CSV or JSON list does not \
             hold; check that this is the right file, or export the list again and {SAVE_AS}",
            head.len()
        ));
    }
    Sniffed::Text(Encoding::Utf8, 0)
}

/// Compressed files and documents met in place of a list, by their first bytes.
const PACKED: &[(&[u8], &str)] = &[
    (b"\x1F\x8B", "a gzip-compressed file (.gz)"),
    (b"\x28\xB5\x2F\xFD", "a Zstandard-compressed file (.zst)"),
    (b"\xFD7zXZ\x00", "an xz-compressed file (.xz)"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive (.7z)"),
    (b"Rar!\x1A\x07", "a RAR archive (.rar)"),
    (b"%PDF-", "a PDF document"),
];

/// A decoding problem found at a place in the decoded text. Travels inside an
/// [`io::Error`] of kind `InvalidData` from [`Utf16Reader`] to the caller, which turns it
/// into an `InputError::Encoding`.
#[derive(Debug)]
pub(crate) struct DecodeError {
    /// 1-based line of the decoded text where the problem is.
    pub line: usize,
    /// 1-based character column.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Decodes UTF-16 (the byte-order mark already consumed) into UTF-8, streaming: memory
/// stays at two small buffers whatever the file's size. Unpaired surrogates and a file
/// that ends in the middle of a code unit are errors ([`DecodeError`]), never replaced
/// silently: a replaced character inside a user key would address someone else.
pub(crate) struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    raw: Vec<u8>,
    /// Undecoded raw bytes carried to the next refill (an odd byte).
    carry: Option<u8>,
    /// A high surrogate waiting for its low half.
    high: Option<u16>,
    out: Vec<u8>,
    out_pos: usize,
    line: usize,
    column: usize,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    pub(crate) fn new(inner: R, big_endian: bool) -> Self {
        Utf16Reader {
            inner,
            big_endian,
            raw: vec![0; 64 * 1024],
            carry: None,
            high: None,
            out: Vec::with_capacity(64 * 1024),
            out_pos: 0,
            line: 1,
            column: 1,
            eof: false,
        }
    }

    fn problem(&self, message: impl Into<String>) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            DecodeError {
                line: self.line,
                column: self.column,
                message: message.into(),
            },
        )
    }

    fn push(&mut self, ch: char) {
        let mut buf = [0; 4];
        self.out
            .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        if ch == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
    }

    /// Decodes the next raw block into `out`. Returns false at the end of the input.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            if self.eof {
                return Ok(false);
            }
            let start = usize::from(self.carry.is_some());
            if let Some(b) = self.carry.take() {
                self.raw[0] = b;
            }
            let n = loop {
                match self.inner.read(&mut self.raw[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            let len = start + n;
            if n == 0 {
                self.eof = true;
                if start == 1 {
                    return Err(self.problem(
                        "the file ends in the middle of a UTF-16 character (an odd number of bytes); \
                         save it again from the program that wrote it",
                    ));
                }
                if self.high.is_some() {
                    return Err(self.problem(
                        "the file ends with half of a UTF-16 surrogate pair; save it again from \
                         the program that wrote it",
                    ));
                }
                return Ok(false);
            }
            let whole = len & !1;
            if whole < len {
                self.carry = Some(self.raw[len - 1]);
            }
            for i in (0..whole).step_by(2) {
                let pair = [self.raw[i], self.raw[i + 1]];
                let unit = if self.big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                };
                match (self.high.take(), unit) {
                    (None, 0xD800..=0xDBFF) => self.high = Some(unit),
                    (None, 0xDC00..=0xDFFF) | (Some(_), 0..=0xDBFF | 0xE000..) => {
                        return Err(self.problem(format!(
                            "the UTF-16 text has an unpaired surrogate (code unit {unit:#06X}); \
                             the file is damaged: save it again from the program that wrote it"
                        )));
                    }
                    (Some(high), low) => {
                        let c = 0x10000
                            + ((u32::from(high) - 0xD800) << 10)
                            + (u32::from(low) - 0xDC00);
                        // Always a valid scalar value: both halves were checked above.
                        let ch = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
                        self.push(ch);
                    }
                    (None, unit) => {
                        let ch =
                            char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER);
                        self.push(ch);
                    }
                }
            }
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    fn decode(bytes: &[u8], big_endian: bool) -> io::Result<String> {
        let mut out = String::new();
        Utf16Reader::new(bytes, big_endian).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn byte_order_marks_and_refusals() {
        assert_eq!(
            sniff(b"\xEF\xBB\xBFid"),
            Sniffed::Text(Encoding::Utf8Bom, 3)
        );
        assert_eq!(sniff(b"\xFF\xFEi\0"), Sniffed::Text(Encoding::Utf16Le, 2));
        assert_eq!(sniff(b"\xFE\xFF\0i"), Sniffed::Text(Encoding::Utf16Be, 2));
        assert_eq!(sniff(b"id,upn"), Sniffed::Text(Encoding::Utf8, 0));
        assert_eq!(
            sniff(b"upn\na@x\0\nb@x\n"),
            Sniffed::Text(Encoding::Utf8, 0)
        );
        for (bytes, needle) in [
            (&b"PK\x03\x04...."[..], "Excel workbook"),
            (b"\xD0\xCF\x11\xE0....", ".xls"),
            (b"i\0d\0,\0u\0", "without a byte-order mark"),
            (b"\x1F\x8B\x08\0\0\0\0\0", "gzip-compressed"),
            (b"%PDF-1.7\n", "PDF"),
            (
                &[1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14, 15, 16, 17, 18, 19, 20][..],
                "binary file",
            ),
            (&[0; 100][..], "binary file"),
            (b"\xFF\xFE\0\0i\0\0\0", "UTF-32"),
        ] {
            match sniff(bytes) {
                Sniffed::Refused(m) => assert!(m.contains(needle), "{m}"),
                other => panic!("{bytes:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn decodes_both_byte_orders_with_surrogates() {
        let text = "id\tupn\r\nzoë😀@contoso.example\n";
        assert_eq!(decode(&utf16(text, false), false).unwrap(), text);
        assert_eq!(decode(&utf16(text, true), true).unwrap(), text);
    }

    #[test]
    fn decodes_across_refills() {
        let text = "a😀".repeat(40_000);
        assert_eq!(decode(&utf16(&text, false), false).unwrap(), text);
    }

    #[test]
    fn refuses_damage_with_a_position() {
        let mut bytes = utf16("ab\ncd", false);
        bytes.extend_from_slice(&0xDC00u16.to_le_bytes());
        let err = decode(&bytes, false).unwrap_err();
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<DecodeError>()
            .unwrap();
        assert_eq!((inner.line, inner.column), (2, 3));
        assert!(inner.message.contains("unpaired surrogate"));

        let mut odd = utf16("ab", false);
        odd.push(b'c');
        assert!(
            decode(&odd, false)
                .unwrap_err()
                .to_string()
                .contains("odd number")
        );

        let half = utf16("a😀", false);
        assert!(
            decode(&half[..half.len() - 2], false)
                .unwrap_err()
                .to_string()
                .contains("half of a UTF-16 surrogate")
        );
    }
}
