//! The little OData the emulator understands: request paths (with every form of user key
//! Graph accepts), query options (`$select`, `$filter`, `$top`, `$expand`, `$skiptoken`)
//! and the subset of `$filter` that bulk tools use to resolve users
//! (`prop eq 'x'`, `prop in ('a','b')`, joined with `or`, at most 15 values).

use percent_encoding::percent_decode_str;

use super::errors::GraphFailure;

/// Graph's limit on `or`/`in` values in one `$filter`.
pub const MAX_FILTER_VALUES: usize = 15;

/// True for a GUID in its 8-4-4-4-12 hex form.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// How a request names a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    /// An object id (lower-cased).
    Id(String),
    /// A user principal name, matched without regard to case.
    Upn(String),
}

/// A request path under the version root, split into decoded segments, with the user key
/// (if the path addresses `/users/{key}` or `/users('{key}')`) parsed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphPath {
    /// Decoded segments; for a user path, `["users", <key placeholder>, ...rest]` with the
    /// key taken out into `user_key`.
    pub segments: Vec<String>,
    pub user_key: Option<UserKey>,
    /// The key as it appeared (decoded), for error messages.
    pub raw_key: Option<String>,
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Parses the `'...'` literal of a `users('...')` segment (quotes doubled inside).
fn parse_quoted_key(inner: &str) -> Result<String, GraphFailure> {
    let bad = || {
        GraphFailure::bad_request(
            "Request_BadRequest",
            format!("Invalid object identifier '{inner}'."),
        )
    };
    let body = inner
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .ok_or_else(bad)?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
            } else {
                return Err(bad());
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn classify_key(key: &str) -> Result<UserKey, GraphFailure> {
    if is_guid(key) {
        Ok(UserKey::Id(key.to_ascii_lowercase()))
    } else {
        Ok(UserKey::Upn(key.to_string()))
    }
}

/// Splits `path` (everything after `/v1.0` or `/beta`, without the query) into decoded
/// segments and extracts the user key.
pub fn parse_path(path: &str) -> Result<GraphPath, GraphFailure> {
    let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut segments: Vec<String> = Vec::with_capacity(raw.len() + 1);
    let mut user_key = None;
    let mut raw_key = None;
    let mut rest = raw.iter().copied();
    if let Some(first) = rest.next() {
        let first_decoded = decode(first);
        if let Some(inner) = first_decoded
            .strip_prefix("users(")
            .and_then(|s| s.strip_suffix(')'))
        {
            let key = parse_quoted_key(inner)?;
            user_key = Some(classify_key(&key)?);
            raw_key = Some(key);
            segments.push("users".into());
            segments.push(String::new());
        } else if first_decoded == "users" {
            segments.push(first_decoded);
            if let Some(key_segment) = rest.next() {
                let key = decode(key_segment);
                if key.starts_with('$') {
                    return Err(GraphFailure::bad_request(
                        "Request_BadRequest",
                        format!(
                            "Invalid object identifier '{key}'. A key that starts with '$' must be written as users('{key}')."
                        ),
                    ));
                }
                user_key = Some(classify_key(&key)?);
                raw_key = Some(key);
                segments.push(String::new());
            }
        } else {
            segments.push(first_decoded);
        }
    }
    segments.extend(rest.map(decode));
    Ok(GraphPath {
        segments,
        user_key,
        raw_key,
    })
}

/// The OData query options of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    pub select: Option<Vec<String>>,
    pub filter: Option<String>,
    pub top: Option<usize>,
    pub expand: Option<String>,
    pub skiptoken: Option<String>,
    /// `$count=true`: the answer carries `@odata.count`.
    pub count: bool,
}

/// Parses a query string (without the `?`).
pub fn parse_query(query: Option<&str>) -> Result<QueryOptions, GraphFailure> {
    let mut q = QueryOptions::default();
    let Some(query) = query else { return Ok(q) };
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "$select" => {
                q.select = Some(
                    value
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            "$filter" => q.filter = Some(value.into_owned()),
            "$top" => {
                let top: usize = value.trim().parse().map_err(|_| {
                    GraphFailure::bad_request(
                        "Request_BadRequest",
                        format!("Invalid value '{value}' for query option '$top'."),
                    )
                })?;
                if !(1..=999).contains(&top) {
                    return Err(GraphFailure::bad_request(
                        "Request_BadRequest",
                        format!(
                            "Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
                        ),
                    ));
                }
                q.top = Some(top);
            }
            "$expand" => q.expand = Some(value.into_owned()),
            "$skiptoken" => q.skiptoken = Some(value.into_owned()),
            "$count" if value.eq_ignore_ascii_case("true") => q.count = true,
            "$count" if value.eq_ignore_ascii_case("false") => {}
            "$count" | "$orderby" | "$search" | "$skip" => {
                return Err(GraphFailure::bad_request(
                    "Request_UnsupportedQuery",
                    format!("The query option '{name}' is not supported by mfa-reset's emulator."),
                ));
            }
            _ => {}
        }
    }
    Ok(q)
}

/// A literal in a `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Bool(bool),
}

/// One `prop eq value` or `prop in (values)` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub property: String,
    pub values: Vec<Literal>,
}

/// A `$filter`: clauses joined with `or`; a user matches if any clause matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn unsupported(filter: &str) -> GraphFailure {
    GraphFailure::bad_request(
        "Request_UnsupportedQuery",
        format!("Unsupported or invalid query filter clause specified: '{filter}'."),
    )
}

fn tokenize(filter: &str) -> Result<Vec<Token>, GraphFailure> {
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(ch) => s.push(ch),
                        None => return Err(unsupported(filter)),
                    }
                }
                tokens.push(Token::Text(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || ch == '_' || ch == '.' || ch == '-' || ch == '/' {
                        w.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if w.is_empty() {
                    return Err(unsupported(filter));
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Ok(tokens)
}

fn literal(token: Option<Token>, filter: &str) -> Result<Literal, GraphFailure> {
    match token {
        Some(Token::Text(s)) => Ok(Literal::Text(s)),
        Some(Token::Word(w)) if w == "true" => Ok(Literal::Bool(true)),
        Some(Token::Word(w)) if w == "false" => Ok(Literal::Bool(false)),
        _ => Err(unsupported(filter)),
    }
}

/// Parses the supported `$filter` subset.
pub fn parse_filter(filter: &str) -> Result<Filter, GraphFailure> {
    let mut tokens = tokenize(filter)?.into_iter();
    let mut clauses = Vec::new();
    loop {
        let Some(Token::Word(property)) = tokens.next() else {
            return Err(unsupported(filter));
        };
        match tokens.next() {
            Some(Token::Word(op)) if op == "eq" => {
                clauses.push(Clause {
                    property,
                    values: vec![literal(tokens.next(), filter)?],
                });
            }
            Some(Token::Word(op)) if op == "in" => {
                if tokens.next() != Some(Token::Open) {
                    return Err(unsupported(filter));
                }
                let mut values = Vec::new();
                loop {
                    values.push(literal(tokens.next(), filter)?);
                    match tokens.next() {
                        Some(Token::Comma) => continue,
                        Some(Token::Close) => break,
                        _ => return Err(unsupported(filter)),
                    }
                }
                clauses.push(Clause { property, values });
            }
            _ => return Err(unsupported(filter)),
        }
        match tokens.next() {
            None => break,
            Some(Token::Word(w)) if w == "or" => continue,
            _ => return Err(unsupported(filter)),
        }
    }
    let count: usize = clauses.iter().map(|c| c.values.len()).sum();
    if count > MAX_FILTER_VALUES {
        return Err(GraphFailure::bad_request(
            "Request_UnsupportedQuery",
            format!(
                "Too many child clauses specified in search filter expression containing 'OR' operators: {count}. Max allowed: {MAX_FILTER_VALUES}."
            ),
        ));
    }
    Ok(Filter { clauses })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_detection() {
        assert!(is_guid("3179e48a-750b-4051-897c-87b9720928f7"));
        assert!(!is_guid("3179e48a-750b-4051-897c-87b9720928f"));
        assert!(!is_guid("user@contoso.example"));
    }

    #[test]
    fn user_key_forms() {
        let p = parse_path(
            "/users/AdeleV_fabrikam.example%23EXT%23@contoso.example/authentication/methods",
        )
        .unwrap();
        assert_eq!(
            p.user_key,
            Some(UserKey::Upn(
                "AdeleV_fabrikam.example#EXT#@contoso.example".into()
            ))
        );
        assert_eq!(p.segments, vec!["users", "", "authentication", "methods"]);

        let p = parse_path("/users('$svc@contoso.example')/revokeSignInSessions").unwrap();
        assert_eq!(
            p.user_key,
            Some(UserKey::Upn("$svc@contoso.example".into()))
        );
        assert_eq!(p.segments, vec!["users", "", "revokeSignInSessions"]);

        let p = parse_path("/users('o''brien@contoso.example')").unwrap();
        assert_eq!(
            p.user_key,
            Some(UserKey::Upn("o'brien@contoso.example".into()))
        );

        let p = parse_path("/users/3179E48A-750b-4051-897c-87b9720928f7").unwrap();
        assert_eq!(
            p.user_key,
            Some(UserKey::Id("3179e48a-750b-4051-897c-87b9720928f7".into()))
        );

        assert!(parse_path("/users/$svc@contoso.example").is_err());
        assert!(parse_path("/users('unterminated)").is_err());
        assert!(parse_path("/users('a'b')").is_err());
    }

    #[test]
    fn filters() {
        let f = parse_filter("userPrincipalName eq 'o''brien@x.example'").unwrap();
        assert_eq!(
            f.clauses,
            vec![Clause {
                property: "userPrincipalName".into(),
                values: vec![Literal::Text("o'brien@x.example".into())]
            }]
        );
        let f = parse_filter("id in ('a', 'b','c') or mail eq 'm@x'").unwrap();
        assert_eq!(f.clauses.len(), 2);
        assert_eq!(f.clauses[0].values.len(), 3);
        let f = parse_filter("accountEnabled eq false").unwrap();
        assert_eq!(f.clauses[0].values, vec![Literal::Bool(false)]);

        let many = (0..16)
            .map(|i| format!("'u{i}@x'"))
            .collect::<Vec<_>>()
            .join(",");
        let err = parse_filter(&format!("userPrincipalName in ({many})")).unwrap_err();
        assert!(err.message.contains("Max allowed: 15"), "{}", err.message);
        let fifteen = (0..15)
            .map(|i| format!("'u{i}@x'"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_filter(&format!("userPrincipalName in ({fifteen})")).is_ok());

        for bad in [
            "",
            "upn eq",
            "upn ne 'x'",
            "upn eq 'x' and",
            "startswith(upn,'x')",
            "upn eq 'x",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_options() {
        let q = parse_query(Some(
            "$select=id,accountEnabled&$top=5&$filter=mail%20eq%20'a%40b'",
        ))
        .unwrap();
        assert_eq!(q.select, Some(vec!["id".into(), "accountEnabled".into()]));
        assert_eq!(q.top, Some(5));
        assert_eq!(q.filter.as_deref(), Some("mail eq 'a@b'"));
        assert!(parse_query(Some("$top=1000")).is_err());
        assert!(parse_query(Some("$top=x")).is_err());
    }
}
