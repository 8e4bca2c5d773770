//! Helpers on the text that every reader shares: counting line ends, saying where bytes
//! stop being UTF-8 or being text at all ([`ZeroGuard`]: a run of zero bytes), and
//! turning a read error (a UTF-16 decoding problem, zero bytes) into an [`InputError`]
//! with its position.
//!
//! A leaf of the `input` modules: sniffing, the parsers and the pipeline use it; it uses
//! only `encoding` (for [`DecodeError`]).

use std::io::{self, Read};
use std::path::Path;

use thiserror::Error;

use super::InputError;
use super::encoding::DecodeError;

/// A run of this many zero (NUL) bytes is never text, in any encoding we read (UTF-16
/// would need 256 NUL characters in a row): it is where a file stops holding text.
pub(crate) const ZERO_RUN: usize = 512;

/// Where a file stops holding text: a run of [`ZERO_RUN`] zero bytes starts at `offset`
/// (0-based, in the file's bytes). Travels inside an [`io::Error`] of kind `InvalidData`
/// from [`ZeroGuard`] to [`io_error`], which finds the line.
#[derive(Debug, Error)]
#[error("zero bytes from byte {offset} on")]
pub(crate) struct ZeroBytes {
    pub offset: u64,
    /// The file is UTF-16 (by its byte-order mark): its lines cannot be counted in bytes.
    pub utf16: bool,
}

/// Reads through `inner`, refusing a run of [`ZERO_RUN`] zero bytes ([`ZeroBytes`]).
///
/// A sparse or preallocated file, a disk image, a copy or download that never finished
/// hold zeros where text should be. Without this, the first 64 KiB of zeros read as
/// UTF-16 without a byte-order mark, or zeros after some text as one record running on
/// past any limit; with it the error says what the file holds. A buffer without a zero
/// byte (every real list's) costs one `memchr`.
pub(crate) struct ZeroGuard<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// The file's first two bytes, as they come (a UTF-16 byte-order mark?).
    first: Vec<u8>,
    /// The zero bytes the last read ended with.
    run: usize,
}

impl<R: Read> ZeroGuard<R> {
    pub(crate) fn new(inner: R) -> Self {
        ZeroGuard {
            inner,
            offset: 0,
            first: Vec::with_capacity(2),
            run: 0,
        }
    }
}

impl<R: Read> Read for ZeroGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        if self.first.len() < 2 {
            let wanted = 2 - self.first.len();
            self.first.extend(data.iter().take(wanted));
        }
        if !data.contains(&0) {
            self.run = 0;
            self.offset += n as u64;
            return Ok(n);
        }
        // Byte by byte, only in a buffer that holds a zero.
        for (i, &b) in data.iter().enumerate() {
            if b != 0 {
                self.run = 0;
                continue;
            }
            self.run += 1;
            if self.run >= ZERO_RUN {
                let end = self.offset + i as u64 + 1;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    ZeroBytes {
                        offset: end - self.run as u64,
                        utf16: matches!(self.first[..], [0xFF, 0xFE] | [0xFE, 0xFF]),
                    },
                ));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The 1-based line of byte `offset` of the file at `path`, read again up to there;
/// `None` when `path` is not a file that can be read (standard input).
fn line_at(path: &Path, offset: u64) -> Option<usize> {
    let file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut before = file.take(offset);
    let mut buf = vec![0; 64 * 1024];
    let mut lines = 1;
    loop {
        match before.read(&mut buf) {
            Ok(0) => return Some(lines),
            Ok(n) => lines += count_newlines(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// `bytes` for people: `2.0 GiB (2,147,483,648 bytes)`.
pub(crate) fn size(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let unit = [(30, "GiB"), (20, "MiB"), (10, "KiB")]
        .into_iter()
        .find(|&(shift, _)| bytes >= 1 << shift);
    match unit {
        Some((shift, unit)) => format!(
            "{:.1} {unit} ({grouped} bytes)",
            bytes as f64 / (1u64 << shift) as f64
        ),
        None => format!("{grouped} bytes"),
    }
}

/// Counts line ends (`\n`; a CR LF counts once, a lone CR has been turned into `\n`).
pub(crate) fn count_newlines(bytes: &[u8]) -> usize {
    // Byte-wide counters over runs of at most 255 bytes vectorise far better than a
    // `usize` count per byte.
    bytes
        .chunks(255)
        .map(|run| {
            run.iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'\n')))
        })
        .map(usize::from)
        .sum()
}

/// The error for text that is not UTF-8 at byte `at` of `bytes`, which starts on line
/// `line_base`.
pub(crate) fn utf8_error(path: &Path, bytes: &[u8], line_base: usize, at: usize) -> InputError {
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    InputError::Encoding {
        path: path.to_path_buf(),
        line: line_base + count_newlines(before),
        column: 1 + before[line_start..]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count(),
        message: format!(
            "byte {:#04X} is not UTF-8 text: the file is probably in a legacy code page such as \
             Windows-1252 (what Excel's plain \"CSV\" format writes); save it as \"CSV UTF-8\" \
             (File > Save As in Excel) or as \"Unicode Text\", and run again",
            bytes[at]
        ),
    }
}

/// Checks a block is UTF-8 text.
pub(crate) fn check_utf8(path: &Path, block: &[u8], line_base: usize) -> Result<(), InputError> {
    match std::str::from_utf8(block) {
        Ok(_) => Ok(()),
        Err(e) => Err(utf8_error(path, block, line_base, e.valid_up_to())),
    }
}

/// Turns an I/O error met while reading into an [`InputError`]: a UTF-16 decoding problem
/// keeps its position, zero bytes where text should be ([`ZeroBytes`]) say so with the
/// file's size, anything else means the file could not be read.
pub(crate) fn io_error(path: &Path, error: io::Error) -> InputError {
    if let Some(zeros) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ZeroBytes>())
    {
        return InputError::NotText {
            path: path.to_path_buf(),
            line: (zeros.offset > 0 && !zeros.utf16)
                .then(|| line_at(path, zeros.offset))
                .flatten(),
            offset: zeros.offset,
            size: std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
        };
    }
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<DecodeError>())
    {
        let inner = error
            .into_inner()
            .and_then(|e| e.downcast::<DecodeError>().ok());
        if let Some(d) = inner {
            return InputError::Encoding {
                path: path.to_path_buf(),
                line: d.line,
                column: d.column,
                message: d.message,
            };
        }
        unreachable!("checked to be a DecodeError above");
    }
    InputError::Unreadable {
        path: path.to_path_buf(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `bytes` through a guard in pieces of `piece` bytes.
    fn guarded(bytes: &[u8], piece: usize) -> io::Result<usize> {
        let mut guard = ZeroGuard::new(bytes);
        let mut buf = vec![0; piece];
        let mut total = 0;
        loop {
            match guard.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    fn zeros_at(result: io::Result<usize>) -> (u64, bool) {
        let err = result.unwrap_err();
        let z = err.get_ref().unwrap().downcast_ref::<ZeroBytes>().unwrap();
        (z.offset, z.utf16)
    }

    #[test]
    fn a_run_of_zeros_is_where_text_stops() {
        let mut text = b"upn\na@x\0b@x\n".to_vec();
        // A few zeros are a damaged row, not the end of the text.
        text.extend_from_slice(&[0; ZERO_RUN - 1]);
        text.extend_from_slice(b"\nc@x\n");
        for piece in [1, 7, 4096] {
            assert_eq!(guarded(&text, piece).unwrap(), text.len());
        }
        let start = text.len() as u64;
        text.extend_from_slice(&[0; ZERO_RUN]);
        text.extend_from_slice(b"d@x\n");
        for piece in [1, 7, 100, 4096] {
            assert_eq!(zeros_at(guarded(&text, piece)), (start, false), "{piece}");
        }
        assert_eq!(zeros_at(guarded(&[0; 70_000], 65_536)), (0, false));
        let mut utf16 = vec![0xFF, 0xFE, b'a', 0, b'\n', 0];
        utf16.extend_from_slice(&[0; ZERO_RUN]);
        // (The high byte of the line end is the run's first zero.)
        assert_eq!(zeros_at(guarded(&utf16, 1)), (5, true));
    }

    #[test]
    fn the_line_of_the_zeros_is_counted_again_in_the_file() {
        let path = std::env::temp_dir().join(format!("mfa-reset-zeros-{}", std::process::id()));
        let mut text = b"upn\na@x\nb@x\n".to_vec();
        text.extend_from_slice(&[0; ZERO_RUN]);
        std::fs::write(&path, &text).unwrap();
        let err = io_error(&path, zeros(12));
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(
                err,
                InputError::NotText {
                    line: Some(4),
                    offset: 12,
                    size: Some(524),
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(
                ":4: the text stops after 12 bytes: from there on the file holds zero (NUL) bytes"
            ),
            "{msg}"
        );
        // Standard input: no line, no size.
        let err = io_error(Path::new("<stdin>"), zeros(14));
        assert!(
            matches!(
                err,
                InputError::NotText {
                    line: None,
                    size: None,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    fn zeros(offset: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            ZeroBytes {
                offset,
                utf16: false,
            },
        )
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(123_908), "121.0 KiB (123,908 bytes)");
        assert_eq!(size(2 << 30), "2.0 GiB (2,147,483,648 bytes)");
    }

    #[test]
    fn utf8_errors_have_positions() {
        let err = check_utf8(Path::new("f.csv"), b"id\nzo\xEB,x\n", 4).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("f.csv:5:3: byte 0xEB is not UTF-8"),
            "{msg}"
        );
        assert!(msg.contains("CSV UTF-8"), "{msg}");
    }
}
