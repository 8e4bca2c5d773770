//! The one rule for invisible characters in the cells that name users, whatever the
//! format (CSV, plain list, JSON, JSON Lines), the source (a file, standard input) or the
//! list (the user list, `--exclude`):
//!
//! - **At the edges of a cell they are removed, and said.** Copying out of Excel, Teams,
//!   Outlook or a web page brings no-break spaces (U+00A0 and the other Unicode spaces),
//!   zero-width spaces and joiners (U+200B..U+200D, U+2060), direction marks (U+200E,
//!   U+200F, U+202A..U+202C) and byte-order marks (U+FEFF) along with the text. No user
//!   key holds them, so removing them changes which user a cell names from nobody to the
//!   one the administrator sees. The read's notes count the cells and give the first
//!   place and character ([`Stripped`]); `check` prints them and a plan keeps them.
//! - **Inside a key they are refused**, the row invalid, the character named by its code
//!   point and name, with its position ([`inside`]): `ali\u{200B}ce@contoso.com` shows as
//!   `alice@contoso.com`, and taking either for the other would act on a user nobody
//!   meant. The administrator retypes the value or copies it from the directory.
//! - **The overrides U+202D and U+202E are refused even at an edge**: they are invisible
//!   but reverse how the text after them is shown, so the cell does not show the key it
//!   holds.
//!
//! "Invisible" is: white space other than ASCII's (Unicode's `White_Space`, which
//! includes U+00A0, U+2000..U+200A, U+202F, U+3000), and the format characters (category
//! `Cf`) and other default-ignorable code points (U+034F, the Hangul fillers, variation
//! selectors, tags) of Unicode 15. ASCII spaces, tabs and line ends at the edges are
//! removed silently, as they always were; inside a key, [`UserKey`] refuses them.
//!
//! A leaf of the `input` modules: `keys` uses it, and `parsed` carries a unit's
//! [`Stripped`] to the pipeline, which sums them into one note.
//!
//! [`UserKey`]: crate::graph::key::UserKey

use std::fmt;

/// Ranges of the format characters (category `Cf`) and other default-ignorable code
/// points of Unicode 15, in order.
const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// True for a character no one sees in a cell: white space other than ASCII's, a format
/// character or another default-ignorable code point.
pub(crate) fn is_invisible(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    if c.is_whitespace() {
        return true;
    }
    let c = u32::from(c);
    let i = INVISIBLE.partition_point(|&(_, last)| last < c);
    INVISIBLE.get(i).is_some_and(|&(first, _)| first <= c)
}

/// True for the overrides that reverse how the text after them is shown (U+202D, U+202E):
/// refused wherever they are, never removed.
pub(crate) fn reorders(c: char) -> bool {
    matches!(c, '\u{202D}' | '\u{202E}')
}

/// True for a character removed from the edges of a cell: any white space (ASCII's
/// included) and every invisible character but the overrides.
pub(crate) fn at_edge(c: char) -> bool {
    c.is_whitespace() || (is_invisible(c) && !reorders(c))
}

/// A character as messages name it: `U+200B ZERO WIDTH SPACE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Named(pub char);

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))?;
        match name(self.0) {
            Some(name) => write!(f, " {name}"),
            None if self.0.is_whitespace() => f.write_str(" (a space character)"),
            None => f.write_str(" (an invisible formatting character)"),
        }
    }
}

/// The Unicode names of the invisible characters met in practice.
fn name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{0085}' => "NEXT LINE",
        '\u{00A0}' => "NO-BREAK SPACE",
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{1680}' => "OGHAM SPACE MARK",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{2000}' => "EN QUAD",
        '\u{2001}' => "EM QUAD",
        '\u{2002}' => "EN SPACE",
        '\u{2003}' => "EM SPACE",
        '\u{2004}' => "THREE-PER-EM SPACE",
        '\u{2005}' => "FOUR-PER-EM SPACE",
        '\u{2006}' => "SIX-PER-EM SPACE",
        '\u{2007}' => "FIGURE SPACE",
        '\u{2008}' => "PUNCTUATION SPACE",
        '\u{2009}' => "THIN SPACE",
        '\u{200A}' => "HAIR SPACE",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{205F}' => "MEDIUM MATHEMATICAL SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}' => "FUNCTION APPLICATION",
        '\u{2062}' => "INVISIBLE TIMES",
        '\u{2063}' => "INVISIBLE SEPARATOR",
        '\u{2064}' => "INVISIBLE PLUS",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{3164}' => "HANGUL FILLER",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE (byte-order mark)",
        '\u{FFA0}' => "HALFWIDTH HANGUL FILLER",
        _ => return None,
    })
}

/// The first invisible character inside `key` (a cell with its edges removed) and its
/// 1-based position among the key's characters.
pub(crate) fn inside(key: &str) -> Option<(usize, char)> {
    if key.is_ascii() {
        return None;
    }
    key.chars()
        .enumerate()
        .find(|&(_, c)| is_invisible(c))
        .map(|(i, c)| (i + 1, c))
}

/// `text` quoted for a message: invisible characters written as `\u{200b}`, like the
/// other escapes, so that the reader sees where they are; cut after 200 characters.
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for (i, c) in text.chars().enumerate() {
        if i == 200 {
            out.push_str("\"…");
            return out;
        }
        if is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.extend(c.escape_debug());
        }
    }
    out.push('"');
    out
}

/// Where an invisible character was removed from a cell's edge.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    line: usize,
    column: usize,
    column_name: Option<String>,
    ch: char,
}

/// The cells whose edges lost invisible characters, over a unit of work or a whole read:
/// how many, the first place (in file order, when units are merged in order) and the
/// first few distinct characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stripped {
    cells: usize,
    first: Option<Place>,
    chars: Vec<char>,
}

/// How many distinct characters a note names.
const NAMED: usize = 4;

impl Stripped {
    /// Records a cell at `line`, `column` whose edges lost `ch` (the first invisible one
    /// removed), if it lost any.
    pub(crate) fn saw(
        &mut self,
        ch: Option<char>,
        line: usize,
        column: usize,
        column_name: Option<&str>,
    ) {
        let Some(ch) = ch else { return };
        self.cells += 1;
        if self.first.is_none() {
            self.first = Some(Place {
                line,
                column,
                column_name: column_name.map(str::to_string),
                ch,
            });
        }
        if self.chars.len() < NAMED && !self.chars.contains(&ch) {
            self.chars.push(ch);
        }
    }

    /// Adds a later unit's cells.
    pub(crate) fn merge(&mut self, later: Stripped) {
        self.cells += later.cells;
        if self.first.is_none() {
            self.first = later.first;
        }
        for ch in later.chars {
            if self.chars.len() < NAMED && !self.chars.contains(&ch) {
                self.chars.push(ch);
            }
        }
    }

    /// The note for the read's summary, if any cell lost anything.
    pub(crate) fn note(&self) -> Option<String> {
        let first = self.first.as_ref()?;
        let cells = if self.cells == 1 {
            "1 cell".to_string()
        } else {
            format!("{} cells", self.cells)
        };
        let also = self
            .chars
            .iter()
            .filter(|&&c| c != first.ch)
            .map(|&c| Named(c).to_string())
            .collect::<Vec<_>>();
        let also = if also.is_empty() {
            String::new()
        } else {
            format!(", also {}", also.join(", "))
        };
        let named = first
            .column_name
            .as_ref()
            .map(|n| format!(" ({n:?})"))
            .unwrap_or_default();
        Some(format!(
            "removed invisible characters from the edges of {cells} naming users, first {} at \
             line {}, column {}{named}{also}; copy and paste brings them and no user key holds \
             them, so each key was read without them",
            Named(first.ch),
            first.line,
            first.column,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_invisible() {
        for c in [
            '\u{A0}',
            '\u{AD}',
            '\u{200B}',
            '\u{200D}',
            '\u{200E}',
            '\u{202A}',
            '\u{202E}',
            '\u{2060}',
            '\u{2066}',
            '\u{3000}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{FE0F}',
        ] {
            assert!(is_invisible(c), "{}", Named(c));
        }
        for c in [
            ' ',
            '\t',
            'a',
            '@',
            'ë',
            '😀',
            '\u{2010}',
            '\u{FF21}',
            '\u{1F600}',
        ] {
            assert!(!is_invisible(c), "{c:?}");
        }
        assert!(at_edge(' ') && at_edge('\u{200B}') && at_edge('\u{A0}'));
        assert!(!at_edge('\u{202E}') && !at_edge('\u{202D}') && !at_edge('a'));
    }

    #[test]
    fn the_table_is_sorted_and_disjoint() {
        for pair in INVISIBLE.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }

    #[test]
    fn names_and_positions() {
        assert_eq!(Named('\u{200B}').to_string(), "U+200B ZERO WIDTH SPACE");
        assert_eq!(Named('\u{A0}').to_string(), "U+00A0 NO-BREAK SPACE");
        assert_eq!(
            Named('\u{E0041}').to_string(),
            "U+E0041 (an invisible formatting character)"
        );
        assert_eq!(inside("ali\u{200B}ce@x"), Some((4, '\u{200B}')));
        assert_eq!(inside("zoë@x"), None);
        assert_eq!(inside("alice@x"), None);
        assert_eq!(quoted("a\u{200B}\"b"), "\"a\\u{200b}\\\"b\"");
    }

    #[test]
    fn notes_count_cells_and_name_the_first() {
        let mut a = Stripped::default();
        assert_eq!(a.note(), None);
        a.saw(None, 1, 1, None);
        assert_eq!(a.note(), None);
        a.saw(Some('\u{200B}'), 3, 2, Some("userPrincipalName"));
        let mut b = Stripped::default();
        b.saw(Some('\u{A0}'), 9, 1, None);
        b.saw(Some('\u{200B}'), 10, 1, None);
        a.merge(b);
        let note = a.note().unwrap();
        assert!(note.contains("edges of 3 cells"), "{note}");
        assert!(
            note.contains(
                "first U+200B ZERO WIDTH SPACE at line 3, column 2 (\"userPrincipalName\"), \
                 also U+00A0 NO-BREAK SPACE;"
            ),
            "{note}"
        );
    }
}
