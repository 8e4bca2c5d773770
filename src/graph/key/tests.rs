//! Tests of [`UserKey`]: worked examples of each encoding and refusal, the byte-level fast
//! paths against the plain rules, and properties over generated keys (a path segment stays
//! one segment and decodes back, forbidden input is refused, a filter literal round-trips),
//! checked against the emulator's own parser.

use super::*;
use crate::sim::odata;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

/// Un-doubles the quotes of a literal body; `None` if a lone quote is found.
fn undouble(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\'' && chars.next() != Some('\'') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

/// Reverses `path_segment`: unwrap `('...')`, percent-decode, un-double quotes.
fn decode_segment(segment: &str) -> String {
    let decoded = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .expect("segment decodes to UTF-8")
            .into_owned()
    };
    match segment
        .strip_prefix("('")
        .and_then(|s| s.strip_suffix("')"))
    {
        Some(inner) => undouble(&decoded(inner)).expect("quotes are doubled"),
        None => decoded(segment),
    }
}

/// Reverses `filter`: `{property} eq '{literal}'` → the key.
fn decode_filter(filter: &str, property: &str) -> Option<String> {
    let body = filter
        .strip_prefix(property)?
        .strip_prefix(" eq '")?
        .strip_suffix('\'')?;
    undouble(body)
}

fn upn(s: &str) -> UserKey {
    UserKey::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

// ---- examples -------------------------------------------------------------------

#[test]
fn guest_upn_encodes_hash() {
    let k = upn("guest_fabrikam.example#EXT#@contoso.example");
    assert_eq!(k.kind(), KeyKind::Upn);
    assert_eq!(
        k.path_segment().as_deref(),
        Some("guest_fabrikam.example%23EXT%23@contoso.example")
    );
    assert_eq!(
        k.users_path().as_deref(),
        Some("/users/guest_fabrikam.example%23EXT%23@contoso.example")
    );
    assert_eq!(
        k.filter(),
        "userPrincipalName eq 'guest_fabrikam.example#EXT#@contoso.example'"
    );
}

#[test]
fn apostrophe_stays_plain_in_path_and_doubles_in_filter() {
    let k = upn("bob.o'neil@contoso.example");
    assert_eq!(
        k.path_segment().as_deref(),
        Some("bob.o'neil@contoso.example")
    );
    assert_eq!(
        k.users_path().as_deref(),
        Some("/users/bob.o'neil@contoso.example")
    );
    assert_eq!(
        k.filter(),
        "userPrincipalName eq 'bob.o''neil@contoso.example'"
    );
    // A '$' that is not first does not need the parenthesised form.
    let k = upn("o'neil$x@contoso.example");
    assert_eq!(
        k.path_segment().as_deref(),
        Some("o'neil$x@contoso.example")
    );
}

#[test]
fn dollar_upn_uses_parenthesised_form() {
    let k = upn("$svc-backup@contoso.example");
    assert_eq!(
        k.path_segment().as_deref(),
        Some("('$svc-backup@contoso.example')")
    );
    assert_eq!(
        k.users_path().as_deref(),
        Some("/users('$svc-backup@contoso.example')")
    );
    let k = upn("(x)@contoso.example");
    assert_eq!(
        k.users_path().as_deref(),
        Some("/users('(x)@contoso.example')")
    );
    let k = upn("$o'brien#EXT#@contoso.example");
    assert_eq!(
        k.path_segment().as_deref(),
        Some("('$o''brien%23EXT%23@contoso.example')")
    );
}

#[test]
fn guid_in_any_case_is_an_id_stored_lower_case() {
    let k = UserKey::parse("3179E48A-750B-4051-897C-87B9720928F7").unwrap();
    assert_eq!(k.kind(), KeyKind::Id);
    assert_eq!(k.as_str(), "3179e48a-750b-4051-897c-87b9720928f7");
    assert_eq!(k.to_string(), "3179e48a-750b-4051-897c-87b9720928f7");
    assert_eq!(
        k.users_path().as_deref(),
        Some("/users/3179e48a-750b-4051-897c-87b9720928f7")
    );
    assert_eq!(k.filter(), "id eq '3179e48a-750b-4051-897c-87b9720928f7'");
    assert_eq!(
        UserKey::id("3179E48A-750B-4051-897C-87B9720928F7").unwrap(),
        k
    );
    assert_eq!(
        format!("{k:?}"),
        "Id(\"3179e48a-750b-4051-897c-87b9720928f7\")"
    );
    let parsed: UserKey = "3179E48A-750B-4051-897C-87B9720928F7".parse().unwrap();
    assert_eq!(parsed, k);
}

#[test]
fn mail_has_no_path_only_a_filter() {
    let k = UserKey::mail("o'hara@fabrikam.example").unwrap();
    assert_eq!(k.kind(), KeyKind::Mail);
    assert_eq!(k.path_segment(), None);
    assert_eq!(k.users_path(), None);
    assert_eq!(k.filter(), "mail eq 'o''hara@fabrikam.example'");
    assert_eq!(k.to_string(), "o'hara@fabrikam.example");
    assert_eq!(format!("{k:?}"), "Mail(\"o'hara@fabrikam.example\")");
    // The same text parses as a UPN.
    assert_eq!(
        UserKey::parse("o'hara@fabrikam.example").unwrap().kind(),
        KeyKind::Upn
    );
}

#[test]
fn non_ascii_and_non_pchar_are_percent_encoded() {
    let k = upn("zoë\"x<y>{z}|^`[]@contoso.example");
    assert_eq!(
        k.path_segment().as_deref(),
        Some("zo%C3%AB%22x%3Cy%3E%7Bz%7D%7C%5E%60%5B%5D@contoso.example")
    );
    let k = upn("a!$&'()*+,;=:~b@contoso.example");
    assert_eq!(
        k.path_segment().as_deref(),
        Some("a!$&'()*+,;=:~b@contoso.example")
    );
}

#[test]
fn rejections_say_what_is_wrong() {
    let msg = |s: &str| UserKey::parse(s).unwrap_err().to_string();
    assert_eq!(
        msg("a/b@x"),
        "user key \"a/b@x\" contains '/', which would change the request's target; check the input"
    );
    assert!(msg("").contains("empty"));
    assert!(msg("a?b@x").contains("'?'"));
    assert!(msg("a\\b@x").contains("'\\'"));
    assert!(msg("a%2Fb@x").contains("'%'"));
    assert!(msg("a b@x").contains("a space"));
    assert!(msg("a\u{a0}b@x").contains("whitespace character \\u{a0}"));
    assert!(msg("a\u{1b}[31mb@x").contains("control character \\u{1b}"));
    // The key is escaped in the message: no raw control character reaches a terminal.
    assert!(!msg("a\u{1b}[31mb@x").contains('\u{1b}'));
    assert!(msg("a..b@x").contains("\"..\""));
    assert!(msg("alice").contains("neither an object id"));
    assert!(msg("@x").contains("nothing comes before the '@'"));
    assert!(msg("a@").contains("no domain follows the '@'"));
    assert!(msg("a@b@c").contains("more than one '@'"));
    let long = format!("{}@x", "a".repeat(MAX_KEY_CHARS));
    let m = msg(&long);
    assert!(m.contains("1026 characters long"), "{m}");
    assert!(m.len() < 300, "long keys are cut short in messages: {m}");
    assert!(UserKey::parse(&format!("{}@x", "a".repeat(MAX_KEY_CHARS - 2))).is_ok());

    assert!(matches!(
        UserKey::id("alice@contoso.example"),
        Err(KeyError::NotAGuid { .. })
    ));
    assert!(matches!(
        UserKey::upn("alice"),
        Err(KeyError::BadAddress {
            kind: KeyKind::Upn,
            ..
        })
    ));
    assert!(matches!(
        UserKey::mail("alice@"),
        Err(KeyError::BadAddress {
            kind: KeyKind::Mail,
            ..
        })
    ));
    assert!(UserKey::mail("a/b@x").is_err());
    assert!(UserKey::upn("../x@y").is_err());
}

#[test]
fn emulator_reads_back_every_example() {
    for s in [
        "guest_fabrikam.example#EXT#@contoso.example",
        "bob.o'neil@contoso.example",
        "$svc-backup@contoso.example",
        "$o'brien#EXT#@contoso.example",
        "zoë(x)@contoso.example",
        "3179E48A-750B-4051-897C-87B9720928F7",
    ] {
        let k = upn(s);
        let path = format!("{}/authentication/methods", k.users_path().unwrap());
        let parsed = odata::parse_path(&path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        assert_eq!(parsed.raw_key.as_deref(), Some(k.as_str()), "{path}");
        assert_eq!(
            parsed.segments,
            vec!["users", "", "authentication", "methods"],
            "{path}"
        );
    }
}

#[test]
fn fast_paths_agree_with_the_rules_on_edge_cases() {
    for s in [
        "",
        "a",
        "a.b@x",
        "a..b@x",
        ".",
        "..",
        "a.",
        "x/",
        "?",
        "\\",
        "%",
        "a b",
        "a\tb",
        "\u{7f}",
        "~!$&'()*+,;=:@",
        "!",
        "zoë@x",
        "a\u{a0}b@x",
        "#EXT#@x",
    ] {
        assert_eq!(check_common(s), check_chars(s), "{s:?}");
    }
    let long = "a".repeat(MAX_KEY_CHARS);
    assert_eq!(check_common(&long), Ok(()));
    let longer = "a".repeat(MAX_KEY_CHARS + 1);
    assert_eq!(check_common(&longer), check_chars(&longer));
    assert!(check_common(&longer).is_err());
    // Exactly 1024 characters but more bytes: the character-level path decides.
    let wide = "ë".repeat(MAX_KEY_CHARS);
    assert_eq!(check_common(&wide), Ok(()));

    for s in [
        "3179e48a-750b-4051-897c-87b9720928f7",
        "3179E48A-750B-4051-897C-87B9720928F7",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-FFFF-ffff-FFFF-ffffffffffff",
        "3179e48a-750b-4051-897c-87b9720928f",
        "3179e48a-750b-4051-897c-87b9720928f77",
        "3179e48a0750b-4051-897c-87b9720928f7",
        "3179e48a-750b-4051-897c-87b9720928g7",
        "3179e48a-750b-4051-897c-87b9720928`7",
        "3179e48a-750b-4051-897c-87b9720928@7",
        "3179e48a-750b-4051-897c-87b9720928/7",
        "3179e48a-750b-4051-897c-87b9720928:7",
        "3179e48a-750b-4051-897c-87b9720928G7",
        "-3179e48a750b-4051-897c-87b9720928f7",
        "3179e48a-750b-4051-897c-87b9720928\u{e9}",
    ] {
        assert_eq!(is_guid(s), reference_is_guid(s), "{s:?}");
    }
}

/// The GUID rule written plainly, for [`is_guid`] to agree with.
fn reference_is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

// ---- properties -----------------------------------------------------------------

/// Characters that real and hostile UPNs contain, forbidden ones excluded.
const LOCAL: &str = "[a-zA-Z0-9._'#$!&()*+,;=:~\\-\"<>\\[\\]{}|^`éü中😀]{1,24}";
const DOMAIN: &str = "[a-zA-Z0-9.\\-#'()é]{1,24}";

/// UPNs and mail addresses that are accepted: built from the alphabet above, with
/// a `$` in front sometimes.
fn address() -> impl Strategy<Value = String> {
    (any::<bool>(), LOCAL, DOMAIN)
        .prop_map(|(dollar, local, domain)| {
            format!("{}{local}@{domain}", if dollar { "$" } else { "" })
        })
        .prop_filter("accepted", |s| UserKey::upn(s).is_ok())
}

/// Any accepted key: a UPN, a mail address, an id; some from arbitrary Unicode.
fn accepted_key() -> impl Strategy<Value = UserKey> {
    prop_oneof![
        address().prop_map(|s| UserKey::upn(&s).unwrap()),
        address().prop_map(|s| UserKey::mail(&s).unwrap()),
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
            .prop_map(|s| UserKey::parse(&s).unwrap()),
        ("\\PC{1,16}", "\\PC{1,16}").prop_filter_map("accepted", |(l, d)| {
            UserKey::parse(&format!("{l}@{d}")).ok()
        }),
    ]
}

fn forbidden() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_string()),
        Just("?".to_string()),
        Just("\\".to_string()),
        Just("%".to_string()),
        Just("..".to_string()),
        Just("%2F".to_string()),
        Just("%2e%2e".to_string()),
        prop::sample::select(vec![
            ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
            '\u{2009}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{3000}',
        ])
        .prop_map(String::from),
        prop::char::range('\0', '\u{1f}').prop_map(String::from),
        prop::char::range('\u{7f}', '\u{9f}').prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (a) A path segment cannot leave its place, and decodes back to the key.
    #[test]
    fn path_segment_is_inert_and_round_trips(key in accepted_key()) {
        let Some(segment) = key.path_segment() else {
            prop_assert_eq!(key.kind(), KeyKind::Mail);
            return Ok(());
        };
        for bad in ['/', '?', '#', '\\'] {
            prop_assert!(!segment.contains(bad), "{segment} contains {bad:?}");
        }
        prop_assert!(!segment.chars().any(char::is_whitespace), "{}", segment);
        prop_assert!(!segment.chars().any(char::is_control), "{}", segment);
        prop_assert!(segment.is_ascii(), "{}", segment);
        prop_assert!(!segment.contains(".."), "{}", segment);
        prop_assert_eq!(decode_segment(&segment), key.as_str());
        prop_assert_eq!(segment.starts_with("('"), key.as_str().starts_with(['$', '(']));

        // And the emulator, which mirrors Graph, reads the very same key out of it.
        let path = format!("{}/revokeSignInSessions", key.users_path().unwrap());
        let parsed = odata::parse_path(&path).unwrap();
        prop_assert_eq!(parsed.raw_key.as_deref(), Some(key.as_str()));
        prop_assert_eq!(parsed.segments, vec!["users", "", "revokeSignInSessions"]);
    }

    /// (b) Input with a forbidden character or sequence anywhere is refused, by every
    /// constructor.
    #[test]
    fn forbidden_input_is_rejected(
        base in address(),
        bad in forbidden(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut chars: Vec<char> = base.chars().collect();
        let i = at.index(chars.len() + 1);
        chars.splice(i..i, bad.chars());
        let input: String = chars.into_iter().collect();
        prop_assert!(UserKey::parse(&input).is_err(), "accepted {:?}", input);
        prop_assert!(UserKey::upn(&input).is_err(), "accepted {:?}", input);
        prop_assert!(UserKey::mail(&input).is_err(), "accepted {:?}", input);
        prop_assert!(UserKey::id(&input).is_err(), "accepted {:?}", input);
    }

    /// (b') Nothing containing a forbidden character is ever accepted, whatever else
    /// it holds.
    #[test]
    fn arbitrary_input_with_forbidden_chars_is_rejected(input in "\\PC*[/?\\\\% \\t\\n\\x00]\\PC*@\\PC*") {
        prop_assert!(UserKey::parse(&input).is_err());
    }

    /// (c) The filter literal round-trips: no lone quote ends it early.
    #[test]
    fn filter_literal_round_trips(key in accepted_key()) {
        let filter = key.filter();
        let property = key.kind().property();
        let decoded = decode_filter(&filter, property);
        prop_assert_eq!(decoded.as_deref(), Some(key.as_str()));

        // The emulator's OData parser reads exactly one clause with exactly that value.
        let parsed = odata::parse_filter(&filter).unwrap();
        prop_assert_eq!(parsed.clauses.len(), 1);
        prop_assert_eq!(&parsed.clauses[0].property, property);
        prop_assert_eq!(
            &parsed.clauses[0].values,
            &vec![odata::Literal::Text(key.as_str().to_string())]
        );
    }

    /// The byte-level fast paths never change a verdict or an error: on arbitrary
    /// text, ASCII-heavy text and near-GUIDs alike.
    #[test]
    fn fast_paths_agree_with_the_rules(
        input in prop_oneof![
            "\\PC{0,40}",
            "[ -~]{0,40}",
            "[\\x00-\\x7f]{0,40}",
            "[a-z.]{0,12}",
            "[0-9a-fA-F\\-]{36}",
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "[0-9a-gA-G]{8}[-/]([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{11}[0-9a-z~@`:/]",
        ],
    ) {
        prop_assert_eq!(check_common(&input), check_chars(&input));
        prop_assert_eq!(is_guid(&input), reference_is_guid(&input));
        // The constructors, which tell GUIDs first, agree with the rules in order.
        let by_rules = check_chars(&input).map(|()| reference_is_guid(&input));
        match (UserKey::id(&input), &by_rules) {
            (Ok(k), Ok(true)) => prop_assert_eq!(k.as_str(), input.to_ascii_lowercase()),
            (Err(KeyError::NotAGuid { .. }), Ok(false)) => {}
            (Err(e), Err(want)) => prop_assert_eq!(&e, want),
            (got, want) => prop_assert!(false, "{:?}: {:?} vs {:?}", input, got, want),
        }
        match (UserKey::parse(&input), &by_rules) {
            (Ok(k), Ok(true)) => prop_assert_eq!(k.kind(), KeyKind::Id),
            (_, Ok(false)) => {}
            (Err(e), Err(want)) => prop_assert_eq!(&e, want),
            (got, want) => prop_assert!(false, "{:?}: {:?} vs {:?}", input, got, want),
        }
    }

    /// Display and FromStr agree for everything `parse` accepts.
    #[test]
    fn display_round_trips_through_parse(key in accepted_key()) {
        let reparsed: UserKey = key.to_string().parse().unwrap();
        prop_assert_eq!(reparsed.as_str(), key.as_str());
    }
}
