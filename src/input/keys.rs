//! Which column holds the user, and how one cell becomes a validated [`UserKey`] or a
//! [`RowProblem`] that says what to do.
//!
//! Shared by every format: a CSV header and a JSON object's property names go through the
//! same [`role_of`] (aliases `id`, `objectId`, `userPrincipalName`, `UPN`, `mail`, `email`
//! in any case and spelling, and the bulk-template form `User name [userPrincipalName]
//! Required`), the same [`KeyPlan`] (an object id addresses the user when there is one, a
//! UPN otherwise, a mail address last) and the same validation, which is
//! [`UserKey`]'s own: this module never re-checks a key's syntax itself.
//!
//! A cell becomes a key after [`clean`]: its edges lose white space and invisible
//! characters (which [`clean_noting`] reports, for the read's one note), and a key with
//! an invisible character inside is refused by name ([`check_invisible`]): the rule is
//! `invisible`'s, and this module applies it to every key cell and to the UPN column
//! beside an id ([`read_upn_cell`]), whatever the format.
//!
//! It also computes the compact [`Fingerprint`] that duplicate detection keeps instead of
//! the row (see `dedupe`).

use std::borrow::Cow;
use std::hash::{BuildHasher, Hasher, RandomState};

use super::RowProblem;
use super::invisible::{self, Named, Stripped};
use crate::graph::key::{KeyError, KeyKind, UserKey};

/// What a column (or JSON property) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Object ids: `id`, `objectId`, `Object ID`.
    Id,
    /// User principal names: `userPrincipalName`, `UPN`, `User principal name`.
    Upn,
    /// Mail addresses: `mail`, `email`, `Email address`.
    Mail,
}

/// The names `role_of` recognises, for messages.
pub(crate) const RECOGNISED: &str = "id, objectId, userPrincipalName, UPN, mail, email";

/// A header name reduced for comparison: lower case, letters and digits only. A bulk
/// template's `User name [userPrincipalName] Required` reduces to its bracketed property.
pub(crate) fn normalise(name: &str) -> String {
    let name = bracketed(name).unwrap_or(name);
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The property name inside `[...]` of a bulk-template header, if there is one.
fn bracketed(name: &str) -> Option<&str> {
    let open = name.find('[')?;
    let close = open + name[open..].find(']')?;
    let inner = name[open + 1..close].trim();
    (!inner.is_empty()).then_some(inner)
}

/// The name a column is reported under: a bulk-template header's property
/// (`userPrincipalName` for `User name [userPrincipalName] Required`), otherwise the
/// header as written, trimmed.
pub(crate) fn display_name(header: &str) -> String {
    bracketed(header).unwrap_or(header.trim()).to_string()
}

/// What a column named `name` holds, if it holds users.
pub(crate) fn role_of(name: &str) -> Option<Role> {
    match normalise(name).as_str() {
        "id" | "objectid" => Some(Role::Id),
        "userprincipalname" | "upn" => Some(Role::Upn),
        "mail" | "email" | "emailaddress" | "mailaddress" => Some(Role::Mail),
        _ => None,
    }
}

/// How a cell is read into a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Id,
    Upn,
    Mail,
    /// A GUID is an object id, anything else a UPN (plain lists, JSON strings, a column
    /// forced with `--column` whose name says nothing).
    Any,
}

impl From<Role> for Want {
    fn from(role: Role) -> Want {
        match role {
            Role::Id => Want::Id,
            Role::Upn => Want::Upn,
            Role::Mail => Want::Mail,
        }
    }
}

/// Which columns address the user, in order of preference, and which holds the UPN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPlan {
    /// Columns tried in order; the first non-empty one addresses the user. An object id
    /// column comes first, then a UPN column (used when a row's id cell is empty); a mail
    /// column only when there is neither.
    pub primary: Vec<(usize, Want)>,
    /// The UPN column, reported with the row whatever addresses it.
    pub upn: Option<usize>,
}

impl KeyPlan {
    /// Plans from column names. `forced` (`--column NAME`) must match one name (exactly,
    /// ignoring case, or after [`normalise`]); otherwise the recognised roles decide.
    /// `None` when no column holds users.
    pub(crate) fn new<'a>(
        names: impl IntoIterator<Item = &'a str>,
        forced: Option<&str>,
    ) -> Option<KeyPlan> {
        let names: Vec<&str> = names.into_iter().collect();
        let first = |role: Role| names.iter().position(|n| role_of(n) == Some(role));
        let upn = first(Role::Upn);
        if let Some(forced) = forced {
            let wanted = normalise(forced);
            let col = names
                .iter()
                .position(|n| n.trim().eq_ignore_ascii_case(forced.trim()))
                .or_else(|| names.iter().position(|n| normalise(n) == wanted))?;
            let want = role_of(names[col]).map_or(Want::Any, Want::from);
            return Some(KeyPlan {
                primary: vec![(col, want)],
                upn,
            });
        }
        let mut primary = Vec::new();
        if let Some(id) = first(Role::Id) {
            primary.push((id, Want::Id));
        }
        if let Some(upn) = upn {
            primary.push((upn, Want::Upn));
        }
        if primary.is_empty() {
            primary.push((first(Role::Mail)?, Want::Mail));
        }
        Some(KeyPlan { primary, upn })
    }

    /// True if column `col` is one the plan reads (so it is not carried as an extra).
    pub(crate) fn uses(&self, col: usize) -> bool {
        self.upn == Some(col) || self.primary.iter().any(|&(c, _)| c == col)
    }
}

/// A cell as the key is read from it: surrounding white space and invisible characters
/// (the no-break, zero-width and other spaces, direction marks and stray byte-order marks
/// that copy-and-paste brings: see `invisible`) removed, and one pair of surrounding
/// double quotes removed (`, "alice@x"` after a space is not a quoted field to a CSV
/// parser).
pub(crate) fn clean(cell: &str) -> Cow<'_, str> {
    clean_noting(cell).0
}

/// [`clean`], and the first invisible character (not an ASCII space, tab or line end)
/// it removed, for the read's note (`invisible::Stripped`).
pub(crate) fn clean_noting(cell: &str) -> (Cow<'_, str>, Option<char>) {
    let (t, mut removed) = trim_noting(cell);
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        let inner = &t[1..t.len() - 1];
        if inner.contains("\"\"") {
            let unquoted = inner.replace("\"\"", "\"");
            let (t, inner_removed) = trim_noting(&unquoted);
            return (Cow::Owned(t.to_string()), removed.or(inner_removed));
        }
        let (t, inner_removed) = trim_noting(inner);
        removed = removed.or(inner_removed);
        return (Cow::Borrowed(t), removed);
    }
    (Cow::Borrowed(t), removed)
}

/// Trims white space and invisible characters (see `invisible`).
pub(crate) fn trim(s: &str) -> &str {
    trim_noting(s).0
}

/// [`trim`], and the first invisible character it removed.
fn trim_noting(s: &str) -> (&str, Option<char>) {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => return (s, None),
        _ => {}
    }
    let start = s.len() - s.trim_start_matches(invisible::at_edge).len();
    let t = s[start..].trim_end_matches(invisible::at_edge);
    if t.len() == s.len() {
        return (t, None);
    }
    let removed = s[..start]
        .chars()
        .chain(s[start + t.len()..].chars())
        .find(|&c| invisible::is_invisible(c));
    (t, removed)
}

/// Reads a cleaned cell as a key.
fn make_key(text: &str, want: Want) -> Result<UserKey, KeyError> {
    match want {
        Want::Id => UserKey::id(text),
        Want::Upn => UserKey::upn(text),
        Want::Mail => UserKey::mail(text),
        Want::Any => UserKey::parse(text),
    }
}

/// Reads a cleaned cell as a key, or says what is wrong with it and what to do.
pub(crate) fn read_key(
    text: &str,
    want: Want,
    line: usize,
    column: usize,
    column_name: Option<&str>,
) -> Result<UserKey, RowProblem> {
    check_invisible("user key", text, line, column, column_name)?;
    make_key(text, want).map_err(|error| {
        let mut problem = key_problem(&error, line, column, column_name);
        if matches!(want, Want::Upn | Want::Mail) && UserKey::id(text).is_ok() {
            problem.hint = "this is an object id: put object ids in an id column (or in a plain \
                            list), or give the user's UPN here"
                .to_string();
        }
        problem
    })
}

/// Refuses a cleaned cell (`what` it holds: "user key", "UPN") with an invisible
/// character inside, or a direction override anywhere (see `invisible`): the character
/// named, its position, and what to do.
pub(crate) fn check_invisible(
    what: &str,
    text: &str,
    line: usize,
    column: usize,
    column_name: Option<&str>,
) -> Result<(), RowProblem> {
    let Some((at, ch)) = invisible::inside(text) else {
        return Ok(());
    };
    let why = if invisible::reorders(ch) {
        "it reverses how the text after it is shown, so the cell does not show the key it holds"
    } else {
        "it looks like the same text without it but is not, so the row is refused"
    };
    Err(RowProblem {
        line,
        column,
        column_name: column_name.map(str::to_string),
        message: format!(
            "{what} {} holds the invisible character {} at character {at}: {why}",
            invisible::quoted(text),
            Named(ch)
        ),
        hint: "retype the value, or copy the user's UPN or object id from the directory (Entra \
               admin center > Users), then run again; or delete the row. Invisible characters \
               are removed from the edges of a cell, never from inside a key"
            .to_string(),
    })
}

/// The UPN column's cell of a row the UPN does not address (its id or mail does):
/// cleaned, its edges noted in `stripped`, and the row's `key` made a problem when the
/// UPN holds an invisible character inside (the same rule as for the key). `None` when
/// the cell is empty.
pub(crate) fn read_upn_cell<'a>(
    cell: &'a str,
    line: usize,
    column: usize,
    column_name: Option<&str>,
    key: &mut Result<UserKey, RowProblem>,
    stripped: &mut Stripped,
) -> Option<Cow<'a, str>> {
    let (upn, removed) = clean_noting(cell);
    if upn.is_empty() {
        return None;
    }
    stripped.saw(removed, line, column, column_name);
    if key.is_ok()
        && let Err(problem) = check_invisible("UPN", &upn, line, column, column_name)
    {
        *key = Err(problem);
    }
    Some(upn)
}

/// The problem for a key that failed validation: `UserKey`'s own message, and a hint that
/// says what to do about this kind of failure.
fn key_problem(
    error: &KeyError,
    line: usize,
    column: usize,
    column_name: Option<&str>,
) -> RowProblem {
    let hint = match error {
        KeyError::Empty => "fill in the user's object id or UPN, or delete the row",
        KeyError::TooLong { .. } => {
            "no real user key is this long: check that the right column was read"
        }
        KeyError::ForbiddenChar { ch, .. } if ch.is_whitespace() => {
            "object ids and UPNs never contain spaces: this may be a display name, or two users \
             on one line; give one user's UPN or object id, or delete the row"
        }
        KeyError::ForbiddenChar { .. } | KeyError::DotDot { .. } => {
            "a real object id, UPN or mail address never contains this: the value is damaged or \
             crafted; take the user's UPN or object id from the directory, or delete the row"
        }
        KeyError::Unrecognised { .. } => {
            "give the user's object id (a GUID) or UPN (name@domain); if this is a header, name \
             the user column with --column"
        }
        KeyError::NotAGuid { .. } => {
            "this column holds object ids: put UPNs in a userPrincipalName column, or name the \
             column to read with --column"
        }
        KeyError::BadAddress { .. } => "correct the value to name@domain, or delete the row",
    };
    RowProblem {
        line,
        column,
        column_name: column_name.map(str::to_string),
        message: error.to_string(),
        hint: hint.to_string(),
    }
}

/// A compact, comparable stand-in for a normalised key, kept by duplicate detection
/// instead of the row.
///
/// - An object id is its 128 bits, exactly: two ids are duplicates if and only if they are
///   the same GUID.
/// - A UPN or a mail address (compared without regard to case, as Graph compares them) is
///   128 bits of SipHash-1-3 under two independent random keys drawn once per read. Two
///   different addresses get the same fingerprint with probability about `n² / 2¹²⁹` for
///   `n` distinct addresses (below 10⁻²⁴ for ten million), and because the keys are secret
///   and new each run, no input can be crafted to collide. That is exact for any list an
///   administrator will ever feed the tool, at 16 bytes a user instead of the whole row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Fingerprint {
    /// The GUID's 128 bits, high half first.
    Id(u64, u64),
    Name(u64, u64),
}

/// Computes [`Fingerprint`]s; cloned into every worker of one read so they all agree.
#[derive(Debug, Clone)]
pub(crate) struct Fingerprinter {
    a: RandomState,
    b: RandomState,
}

impl Fingerprinter {
    pub(crate) fn new() -> Self {
        Fingerprinter {
            a: RandomState::new(),
            b: RandomState::new(),
        }
    }

    /// The fingerprint of `key`; `scratch` is a buffer reused across calls.
    pub(crate) fn of(&self, key: &UserKey, scratch: &mut String) -> Fingerprint {
        let text = key.as_str();
        if key.kind() == KeyKind::Id {
            let (hi, lo) = guid_bits(text.as_bytes());
            return Fingerprint::Id(hi, lo);
        }
        scratch.clear();
        if text.is_ascii() {
            scratch.push_str(text);
            scratch.make_ascii_lowercase();
        } else {
            scratch.extend(text.chars().flat_map(char::to_lowercase));
        }
        let tag = match key.kind() {
            KeyKind::Mail => 2u8,
            _ => 1u8,
        };
        let hash = |state: &RandomState| {
            let mut h = state.build_hasher();
            h.write_u8(tag);
            h.write(scratch.as_bytes());
            h.finish()
        };
        Fingerprint::Name(hash(&self.a), hash(&self.b))
    }
}

/// The 128 bits of a validated id: a lower-case GUID (8-4-4-4-12 hex digits) whose 32
/// digits are the number, high half first. Decoded eight digits at a time, without
/// branches (random hex digits would make a branch predictor guess wrong half of the
/// time).
fn guid_bits(guid: &[u8]) -> (u64, u64) {
    let Ok(g) = <&[u8; 36]>::try_from(guid) else {
        // Not reached: a validated id is 36 bytes long. Its digits one by one, whatever
        // its length.
        let value = guid.iter().filter(|&&c| c != b'-').fold(0u128, |v, &c| {
            v << 4 | u128::from((c & 0x0F) + 9 * (c >> 6))
        });
        return ((value >> 64) as u64, value as u64);
    };
    // Four digits from `i` on, the first in the lowest byte.
    let four = |i: usize| u64::from(u32::from_le_bytes([g[i], g[i + 1], g[i + 2], g[i + 3]]));
    let word = |a: usize, b: usize| hex8(four(a) | four(b) << 32);
    (
        word(0, 4) << 32 | word(9, 14),
        word(19, 24) << 32 | word(28, 32),
    )
}

/// Eight lower-case hex digits, the first in the lowest byte, as their 32-bit value.
fn hex8(w: u64) -> u64 {
    const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Each byte to its digit: '0'..='9' keep their low nibble, 'a'..='f' (bit 6 set)
    // add 9 to theirs.
    let n = (w & LOW) + 9 * ((w >> 6) & ONES);
    // Pack neighbours, first digit high: nibbles into bytes, bytes into 16 bits, then 32.
    let n = ((n << 4) | (n >> 8)) & 0x00FF_00FF_00FF_00FF;
    let n = ((n << 8) | (n >> 16)) & 0x0000_FFFF_0000_FFFF;
    ((n << 16) | (n >> 32)) & 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_in_any_case_and_spelling() {
        for (name, role) in [
            ("id", Some(Role::Id)),
            ("ID", Some(Role::Id)),
            ("objectId", Some(Role::Id)),
            ("Object ID", Some(Role::Id)),
            ("Object ID [objectId] Required", Some(Role::Id)),
            ("userPrincipalName", Some(Role::Upn)),
            ("USERPRINCIPALNAME", Some(Role::Upn)),
            ("User principal name", Some(Role::Upn)),
            ("User name [userPrincipalName] Required", Some(Role::Upn)),
            (" UPN ", Some(Role::Upn)),
            ("mail", Some(Role::Mail)),
            ("E-mail", Some(Role::Mail)),
            ("Email Address", Some(Role::Mail)),
            ("displayName", None),
            ("user", None),
            ("", None),
        ] {
            assert_eq!(role_of(name), role, "{name:?}");
        }
        assert_eq!(
            display_name("User name [userPrincipalName] Required"),
            "userPrincipalName"
        );
        assert_eq!(display_name(" Ticket "), "Ticket");
    }

    #[test]
    fn plans_prefer_id_then_upn_then_mail() {
        let plan = KeyPlan::new(["mail", "userPrincipalName", "displayName", "id"], None).unwrap();
        assert_eq!(plan.primary, vec![(3, Want::Id), (1, Want::Upn)]);
        assert_eq!(plan.upn, Some(1));
        assert!(plan.uses(1) && plan.uses(3) && !plan.uses(0) && !plan.uses(2));

        let plan = KeyPlan::new(["name", "Email"], None).unwrap();
        assert_eq!(plan.primary, vec![(1, Want::Mail)]);
        assert_eq!(plan.upn, None);

        assert_eq!(KeyPlan::new(["name", "ticket"], None), None);
    }

    #[test]
    fn forced_columns() {
        let names = ["id", "userPrincipalName", "Login"];
        let plan = KeyPlan::new(names, Some("login")).unwrap();
        assert_eq!(plan.primary, vec![(2, Want::Any)]);
        assert_eq!(plan.upn, Some(1));
        let plan = KeyPlan::new(names, Some("User Principal Name")).unwrap();
        assert_eq!(plan.primary, vec![(1, Want::Upn)]);
        assert_eq!(KeyPlan::new(names, Some("email")), None);
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("  alice@x \u{a0}"), "alice@x");
        assert_eq!(clean("\u{feff}\u{200b}alice@x"), "alice@x");
        assert_eq!(clean(" \"alice@x\" "), "alice@x");
        assert_eq!(clean("\"a\"\"b\""), "a\"b");
        assert_eq!(clean("\""), "\"");
        assert_eq!(clean("a b"), "a b");
        assert_eq!(clean("\u{202A}alice@x\u{202C}\u{200E}"), "alice@x");
        assert_eq!(clean("\u{202E}alice@x"), "\u{202E}alice@x");
        assert_eq!(clean_noting("alice@x"), (Cow::Borrowed("alice@x"), None));
        assert_eq!(clean_noting("  alice@x\t").1, None);
        assert_eq!(clean_noting(" alice@x\u{a0}").1, Some('\u{a0}'));
        assert_eq!(clean_noting("\"\u{200b}alice@x\"").1, Some('\u{200b}'));
        assert_eq!(clean_noting("\u{feff}\"a\"\"b\"").1, Some('\u{feff}'));
    }

    #[test]
    fn invisible_characters_inside_a_key_are_refused_by_name() {
        let p = read_key("ali\u{200B}ce@x", Want::Upn, 7, 2, Some("UPN")).unwrap_err();
        assert_eq!(
            (p.line, p.column, p.column_name.as_deref()),
            (7, 2, Some("UPN"))
        );
        assert!(
            p.message
                .contains("\"ali\\u{200b}ce@x\" holds the invisible character U+200B ZERO WIDTH SPACE at character 4"),
            "{}",
            p.message
        );
        assert!(p.hint.starts_with("retype the value"), "{}", p.hint);
        let p = read_key("\u{202E}alice@x", Want::Any, 1, 1, None).unwrap_err();
        assert!(
            p.message
                .contains("U+202E RIGHT-TO-LEFT OVERRIDE at character 1"),
            "{}",
            p.message
        );
        let p = read_key("a\u{a0}b@x", Want::Any, 1, 1, None).unwrap_err();
        assert!(p.message.contains("U+00A0 NO-BREAK SPACE"), "{}", p.message);
        let p = read_key("a\u{ad}b@x", Want::Any, 1, 1, None).unwrap_err();
        assert!(p.message.contains("U+00AD SOFT HYPHEN"), "{}", p.message);
        assert!(read_key("zoë@x", Want::Any, 1, 1, None).is_ok());
    }

    proptest::proptest! {
        /// The word-at-a-time decoding is the GUID's number.
        #[test]
        fn guid_bits_are_the_number(value in proptest::prelude::any::<u128>()) {
            let hex = format!("{value:032x}");
            let guid = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]
            );
            proptest::prop_assert_eq!(
                guid_bits(guid.as_bytes()),
                ((value >> 64) as u64, value as u64)
            );
        }
    }

    #[test]
    fn guid_bits_of_other_lengths_do_not_panic() {
        assert_eq!(guid_bits(b""), (0, 0));
        assert_eq!(guid_bits(b"12-3f"), (0, 0x123f));
    }

    #[test]
    fn fingerprints() {
        let fp = Fingerprinter::new();
        let mut s = String::new();
        let id = |t: &str| UserKey::parse(t).unwrap();
        assert_eq!(
            fp.of(&id("3179E48A-750B-4051-897C-87B9720928F7"), &mut s),
            Fingerprint::Id(0x3179_e48a_750b_4051, 0x897c_87b9_7209_28f7)
        );
        assert_eq!(
            fp.of(&id("Alice@Contoso.example"), &mut s),
            fp.of(&id("alice@contoso.EXAMPLE"), &mut s)
        );
        assert_eq!(fp.of(&id("ZOË@x"), &mut s), fp.of(&id("zoë@x"), &mut s));
        assert_ne!(
            fp.of(&id("alice@x"), &mut s),
            fp.of(&UserKey::mail("alice@x").unwrap(), &mut s)
        );
        assert_ne!(fp.of(&id("alice@x"), &mut s), fp.of(&id("alice@y"), &mut s));
    }
}
