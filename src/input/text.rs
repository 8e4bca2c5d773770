//! Helpers on the decoded text that every reader shares: counting line ends, saying where
//! bytes stop being UTF-8, and turning a read error (a UTF-16 decoding problem included)
//! into an [`InputError`] with its position.
//!
//! A leaf of the `input` modules: sniffing, the parsers and the pipeline use it; it uses
//! only `encoding` (for [`DecodeError`]).

use std::io;
use std::path::Path;

use super::InputError;
use super::encoding::DecodeError;

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
/// keeps its position, anything else means the file could not be read.
pub(crate) fn io_error(path: &Path, error: io::Error) -> InputError {
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
