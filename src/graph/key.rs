//! [`UserKey`]: a validated way to address one user, which knows how to put itself into a
//! Graph request.
//!
//! Every user-facing input (a row of a CSV, a `--user` argument, a line of a plan) names a
//! user by object id, user principal name or mail. That text ends up inside a URL path
//! (`/users/{key}/authentication/methods`) or an OData `$filter` literal
//! (`userPrincipalName eq '{key}'`), so it must never be able to change what a request
//! targets: a `/` or `..` would walk to another resource, a `?` or `#` would cut the path
//! short, a `%` would smuggle any of those in pre-encoded, a quote would end the literal.
//!
//! A `UserKey` exists only once its text passed [`UserKey::parse`] (or one of the explicit
//! constructors [`UserKey::id`], [`UserKey::upn`], [`UserKey::mail`]), which refuse such
//! input with a [`KeyError`] before any request is built. It then encodes itself the way
//! Graph expects ([`UserKey::path_segment`], [`UserKey::users_path`], [`UserKey::filter`]):
//!
//! - an object id goes into the path as the lower-case GUID;
//! - a UPN goes into the path with `#` (guests' `#EXT#`) as `%23` and every character
//!   outside RFC 3986 `pchar` percent-encoded; a UPN that starts with `$` must use the
//!   key-in-parentheses form `/users('$svc@contoso.com')` (Graph answers `400` to
//!   `/users/$svc@contoso.com`), with single quotes doubled inside the literal;
//! - a mail address cannot address a user in a path at all: it is resolved with a
//!   `$filter` (`mail eq '...'`), as is any key when resolving in bulk.
//!
//! See `reference/graph-api.md` §7 "Addressing users".

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use thiserror::Error;

/// The longest key accepted, in characters. Real UPNs are far shorter (Entra allows 113
/// characters); the limit keeps pathological input out of URLs and error messages.
pub const MAX_KEY_CHARS: usize = 1024;

/// How many characters of a refused key an error message quotes.
const QUOTED_CHARS: usize = 80;

/// Bytes that are percent-encoded in a user-key path segment: everything outside RFC 3986
/// `pchar` (`unreserved / pct-encoded / sub-delims / ":" / "@"`). `#`, `%`, `/`, `?`, `\`,
/// quotes, brackets, spaces, controls and every non-ASCII byte are therefore encoded;
/// `'`, `$`, `(`, `)` and the other sub-delimiters stay as they are. The tenant segment
/// of the token URL ([`super::endpoints::Endpoints::token_url`]) is encoded the same way.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    // unreserved
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    // sub-delims
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    // the rest of pchar
    .remove(b':')
    .remove(b'@');

/// What a [`UserKey`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// An object id: a GUID, stored lower-case.
    Id,
    /// A user principal name, as typed (Graph matches UPNs without regard to case).
    Upn,
    /// A mail address; only resolvable with a `$filter`, never in a path.
    Mail,
}

impl KeyKind {
    /// `"id"`, `"UPN"` or `"mail"`, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Id => "id",
            KeyKind::Upn => "UPN",
            KeyKind::Mail => "mail",
        }
    }

    /// The Graph property that holds this kind of key.
    pub fn property(self) -> &'static str {
        match self {
            KeyKind::Id => "id",
            KeyKind::Upn => "userPrincipalName",
            KeyKind::Mail => "mail",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a usable user key. Every message quotes the key (escaped, and cut
/// short if long), says what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("user key is empty; give an object id (GUID), a user principal name or a mail address")]
    Empty,

    #[error(
        "user key {k} is {len} characters long, more than the {max} allowed; check the input",
        k = quote(.key),
        max = MAX_KEY_CHARS
    )]
    TooLong { key: String, len: usize },

    #[error(
        "user key {k} contains {what}, which would change the request's target; check the input",
        k = quote(.key),
        what = describe(*.ch)
    )]
    ForbiddenChar { key: String, ch: char },

    #[error(
        "user key {k} contains \"..\", which would change the request's target; check the input",
        k = quote(.key)
    )]
    DotDot { key: String },

    #[error(
        "user key {k} is neither an object id (a GUID such as 3179e48a-750b-4051-897c-87b9720928f7) \
         nor a user principal name (name@domain); check the input",
        k = quote(.key)
    )]
    Unrecognised { key: String },

    #[error(
        "user key {k} is not an object id: expected a GUID such as \
         3179e48a-750b-4051-897c-87b9720928f7; give a UPN or mail address as such instead",
        k = quote(.key)
    )]
    NotAGuid { key: String },

    #[error(
        "{kind} {k} is not a valid address: {reason}; expected name@domain",
        k = quote(.key)
    )]
    BadAddress {
        key: String,
        kind: KeyKind,
        reason: &'static str,
    },
}

/// The key as an error message quotes it: escaped (no control character reaches the
/// terminal) and cut short when long.
fn quote(key: &str) -> String {
    if key.chars().count() > QUOTED_CHARS {
        let head: String = key.chars().take(QUOTED_CHARS).collect();
        format!("{:?}…", head)
    } else {
        format!("{key:?}")
    }
}

fn describe(ch: char) -> String {
    if ch.is_control() {
        format!("the control character {}", ch.escape_unicode())
    } else if ch.is_whitespace() {
        if ch == ' ' {
            "a space".to_string()
        } else {
            format!("the whitespace character {}", ch.escape_unicode())
        }
    } else if is_invisible_format(ch) {
        format!(
            "the invisible formatting character U+{:04X}, which can disguise the name",
            u32::from(ch)
        )
    } else if ch == '%' {
        "'%' (give keys as typed, not percent-encoded)".to_string()
    } else {
        format!("'{ch}'")
    }
}

/// True for a character no key may contain.
fn is_forbidden(ch: char) -> bool {
    matches!(ch, '/' | '?' | '\\' | '%')
        || ch.is_whitespace()
        || ch.is_control()
        || is_invisible_format(ch)
}

/// Invisible formatting characters (zero-width spaces and joiners, bidirectional marks,
/// embeddings, overrides and isolates, the byte-order mark): no Entra UPN holds them, and
/// in a report or on a terminal they disguise which user a row names (U+202E reverses the
/// text after it).
fn is_invisible_format(ch: char) -> bool {
    matches!(
        ch,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// True for a GUID in its 8-4-4-4-12 hex form (any case).
///
/// Checked without branches on the bytes: on random hex digits a byte-by-byte `match`
/// makes the branch predictor guess wrong about every other digit.
fn is_guid(s: &str) -> bool {
    let Ok(b) = <&[u8; 36]>::try_from(s.as_bytes()) else {
        return false;
    };
    let mut ok = true;
    for (i, &c) in b.iter().enumerate() {
        let dash = matches!(i, 8 | 13 | 18 | 23);
        let lower = c | 0x20; // 'A'..='F' → 'a'..='f'; digits and '-' unchanged
        let hex = (c.wrapping_sub(b'0') < 10) | (lower.wrapping_sub(b'a') < 6);
        ok &= (dash & (c == b'-')) | (!dash & hex);
    }
    ok
}

/// True for a key that passes [`check_common`] for sure, decided on its bytes alone: at
/// most [`MAX_KEY_CHARS`] bytes, all printable ASCII (`0x21..=0x7E`: no space, no control
/// character, nothing non-ASCII), none of `/ ? \ %`, and no `..`. Every such key passes
/// the character-level checks below; anything else (including every non-ASCII key) takes
/// them, so the verdict and the error are exactly theirs.
fn plain_ascii(input: &str) -> bool {
    let b = input.as_bytes();
    if b.is_empty() || b.len() > MAX_KEY_CHARS {
        return false;
    }
    // Reductions without branches over the bytes, which the compiler can vectorise.
    let mut bad = false;
    for &c in b {
        bad |= (c.wrapping_sub(0x21) > 0x7E - 0x21)
            | (c == b'/')
            | (c == b'?')
            | (c == b'\\')
            | (c == b'%');
    }
    let mut dots = false;
    for (&x, &y) in b.iter().zip(&b[1..]) {
        dots |= (x == b'.') & (y == b'.');
    }
    !(bad | dots)
}

/// The checks every key passes, whatever its kind.
fn check_common(input: &str) -> Result<(), KeyError> {
    if plain_ascii(input) {
        return Ok(());
    }
    check_chars(input)
}

/// [`check_common`] character by character: the rules themselves, and every error.
fn check_chars(input: &str) -> Result<(), KeyError> {
    if input.is_empty() {
        return Err(KeyError::Empty);
    }
    let len = input.chars().count();
    if len > MAX_KEY_CHARS {
        return Err(KeyError::TooLong {
            key: input.to_string(),
            len,
        });
    }
    if let Some(ch) = input.chars().find(|&c| is_forbidden(c)) {
        return Err(KeyError::ForbiddenChar {
            key: input.to_string(),
            ch,
        });
    }
    if input.contains("..") {
        return Err(KeyError::DotDot {
            key: input.to_string(),
        });
    }
    Ok(())
}

/// Checks the `local@domain` shape of a UPN or mail address.
fn check_address(input: &str, kind: KeyKind) -> Result<(), KeyError> {
    let bad = |reason| KeyError::BadAddress {
        key: input.to_string(),
        kind,
        reason,
    };
    let mut parts = input.split('@');
    let local = parts.next().unwrap_or_default();
    let Some(domain) = parts.next() else {
        return Err(bad("it has no '@'"));
    };
    if parts.next().is_some() {
        return Err(bad("it has more than one '@'"));
    }
    if local.is_empty() {
        return Err(bad("nothing comes before the '@'"));
    }
    if domain.is_empty() {
        return Err(bad("no domain follows the '@'"));
    }
    Ok(())
}

/// One user, addressed by object id, UPN or mail, validated so that it cannot change what a
/// request targets. Build it with [`UserKey::parse`] (or `str::parse`), [`UserKey::id`],
/// [`UserKey::upn`] or [`UserKey::mail`].
///
/// Equality is exact (after the id is lower-cased); Graph itself matches UPNs and mail
/// addresses without regard to case, so deduplication should compare
/// [`UserKey::as_str`] case-insensitively where that matters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    kind: KeyKind,
    value: String,
}

impl UserKey {
    /// Reads a key, telling an object id (a GUID, in any case; stored lower-case) from a
    /// UPN (exactly one `@`, neither first nor last). A mail address looks like a UPN; use
    /// [`UserKey::mail`] when the input is known to hold mail addresses.
    pub fn parse(input: &str) -> Result<UserKey, KeyError> {
        // A GUID passes the common checks (36 hex digits and dashes), so it can be told
        // first; anything else gets the common checks' error before any other.
        if is_guid(input) {
            return Ok(UserKey {
                kind: KeyKind::Id,
                value: input.to_ascii_lowercase(),
            });
        }
        check_common(input)?;
        if input.contains('@') {
            check_address(input, KeyKind::Upn)?;
            return Ok(UserKey {
                kind: KeyKind::Upn,
                value: input.to_string(),
            });
        }
        Err(KeyError::Unrecognised {
            key: input.to_string(),
        })
    }

    /// An object id: must be a GUID (any case; stored lower-case).
    pub fn id(input: &str) -> Result<UserKey, KeyError> {
        // A GUID passes the common checks; anything else gets their error first.
        if is_guid(input) {
            return Ok(UserKey {
                kind: KeyKind::Id,
                value: input.to_ascii_lowercase(),
            });
        }
        check_common(input)?;
        Err(KeyError::NotAGuid {
            key: input.to_string(),
        })
    }

    /// A user principal name: `local@domain`, exactly one `@`.
    pub fn upn(input: &str) -> Result<UserKey, KeyError> {
        Self::address(input, KeyKind::Upn)
    }

    /// A mail address: `local@domain`, exactly one `@`. Resolvable only with
    /// [`UserKey::filter`].
    pub fn mail(input: &str) -> Result<UserKey, KeyError> {
        Self::address(input, KeyKind::Mail)
    }

    fn address(input: &str, kind: KeyKind) -> Result<UserKey, KeyError> {
        check_common(input)?;
        check_address(input, kind)?;
        Ok(UserKey {
            kind,
            value: input.to_string(),
        })
    }

    /// Whether this is an id, a UPN or a mail address.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key as the user typed it (an id lower-cased).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The key as it goes into a request path after `users`, or `None` for a mail
    /// address (which must be resolved with [`UserKey::filter`]).
    ///
    /// - Id: the GUID, e.g. `3179e48a-750b-4051-897c-87b9720928f7`.
    /// - UPN: percent-encoded as a path segment (`#` → `%23`, everything outside RFC 3986
    ///   `pchar` encoded, `'` kept), e.g. `guest_fabrikam.example%23EXT%23@contoso.example`;
    ///   appended as `/users/{segment}`.
    /// - UPN starting with `$` (or `(`): the parenthesised literal, single quotes doubled and the same
    ///   percent-encoding inside, e.g. `('$svc@contoso.example')`; appended directly to
    ///   `users`, as `/users('$svc@contoso.example')`.
    ///
    /// Use [`UserKey::users_path`], which joins either form correctly.
    pub fn path_segment(&self) -> Option<String> {
        match self.kind {
            KeyKind::Id => Some(self.value.clone()),
            KeyKind::Mail => None,
            KeyKind::Upn if self.needs_parentheses() => {
                let doubled = self.value.replace('\'', "''");
                Some(format!("('{}')", utf8_percent_encode(&doubled, SEGMENT)))
            }
            KeyKind::Upn => Some(utf8_percent_encode(&self.value, SEGMENT).to_string()),
        }
    }

    /// The user's path under a version root: `/users/{segment}`, or `/users('...')` for a
    /// UPN that starts with `$` or `(`; `None` for a mail address.
    pub fn users_path(&self) -> Option<String> {
        let segment = self.path_segment()?;
        if self.kind == KeyKind::Upn && self.needs_parentheses() {
            Some(format!("/users{segment}"))
        } else {
            Some(format!("/users/{segment}"))
        }
    }

    /// True for a UPN that must be written `users('...')`: one that starts with `$` (Graph
    /// answers `400` to `/users/$x@y`) or with `(` (which `/users/(...)` would present as
    /// OData key syntax).
    fn needs_parentheses(&self) -> bool {
        self.value.starts_with(['$', '('])
    }

    /// The OData `$filter` expression that finds this user in a list query:
    /// `id eq '...'`, `userPrincipalName eq '...'` or `mail eq '...'`, single quotes
    /// doubled. Not percent-encoded: the caller encodes the whole query value.
    pub fn filter(&self) -> String {
        format!("{} eq {}", self.kind.property(), self.literal())
    }

    /// The key as an OData string literal: `'...'` with single quotes doubled, for `eq`
    /// and `in (...)` clauses.
    pub fn literal(&self) -> String {
        format!("'{}'", self.value.replace('\'', "''"))
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.kind {
            KeyKind::Id => "Id",
            KeyKind::Upn => "Upn",
            KeyKind::Mail => "Mail",
        };
        f.debug_tuple(name).field(&self.value).finish()
    }
}

impl FromStr for UserKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserKey::parse(s)
    }
}

impl AsRef<str> for UserKey {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests;
