//! The pieces the `--registered-after`, `--registered-before` and `--device-name`
//! filters are made of: reading a `TIME` value into UTC, writing an instant back as
//! RFC 3339, and matching a device name against a glob.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Matches `text` against a glob of `*` (any run of characters) and `?` (one character),
/// ignoring case; every other character matches itself. A glob without `*` or `?` must
/// match the whole text.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and the text position it is currently made to cover up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Parses a `TIME` flag value: RFC 3339 (any offset), or a `YYYY-MM-DD` date meaning
/// midnight UTC. The result is in UTC.
pub fn parse_time(value: &str) -> Result<OffsetDateTime, String> {
    let value = value.trim();
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return in_utc(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(value, &date_format) {
        Ok(date) => Ok(date.midnight().assume_utc()),
        Err(_) if value.contains(['T', 't', ' ']) => {
            Err("a time needs a UTC offset (Z or +02:00) and the form 2026-11-01T08:00:00Z".into())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `t` in UTC, if it falls in the years 1 to 9999 there: RFC 3339 (which plans are
/// written in) has four-digit years only, and an offset can push 9999-12-31 or 0000-01-01
/// out of that range (or out of what the time library represents).
pub(super) fn in_utc(t: OffsetDateTime) -> Result<OffsetDateTime, String> {
    match t.checked_to_offset(UtcOffset::UTC) {
        Some(utc) if (1..=9999).contains(&utc.year()) => Ok(utc),
        _ => Err("it falls outside the years 1 to 9999 in UTC".into()),
    }
}

/// An instant as RFC 3339.
pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .expect("a UTC instant formats as RFC 3339")
}

#[cfg(test)]
mod tests;
