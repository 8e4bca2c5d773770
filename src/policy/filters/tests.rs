//! Tests of the filters: `--registered-after`, `--registered-before` and `--device-name`
//! as [`decide`](fn@crate::policy::decide) applies them, time parsing and glob matching.

use super::*;
use crate::policy::test_support::*;
use crate::policy::{UserSnapshot, decide};
use crate::wire::{MethodType, PhoneType};

/// Authenticator-like methods created at the given times.
fn dated(times: &[Option<&str>]) -> UserSnapshot {
    user(
        times
            .iter()
            .enumerate()
            .map(|(i, t)| named(MethodType::Fido2, &format!("k{i}"), "Key", *t))
            .collect(),
    )
}

#[test]
fn registered_after_is_inclusive() {
    let u = dated(&[
        Some("2026-10-31T23:59:59.999Z"),
        Some("2026-11-01T00:00:00Z"),
        Some("2026-11-01T00:00:00.001Z"),
        Some("2027-01-01T00:00:00+01:00"),
    ]);
    let p = policy(&[
        "--remove-methods",
        "fido2",
        "--registered-after",
        "2026-11-01",
    ])
    .unwrap();
    assert_eq!(
        deleted(planned(&decide(&p, &u, false))),
        vec!["k1", "k2", "k3"]
    );
}

#[test]
fn registered_before_is_exclusive() {
    let u = dated(&[
        Some("2026-10-31T23:59:59Z"),
        Some("2026-11-01T00:00:00Z"),
        Some("2026-11-01T01:00:00+02:00"),
    ]);
    let p = policy(&[
        "--remove-methods",
        "fido2",
        "--registered-before",
        "2026-11-01T00:00:00Z",
    ])
    .unwrap();
    // 01:00+02:00 is 23:00Z the day before: inside.
    assert_eq!(deleted(planned(&decide(&p, &u, false))), vec!["k0", "k2"]);
}

#[test]
fn a_window_keeps_methods_outside_it_silently() {
    let u = dated(&[
        Some("2026-10-31T00:00:00Z"),
        Some("2026-11-03T00:00:00Z"),
        Some("2026-11-08T00:00:00Z"),
    ]);
    let p = policy(&[
        "--remove-methods",
        "fido2",
        "--registered-after",
        "2026-11-01",
        "--registered-before",
        "2026-11-08",
    ])
    .unwrap();
    let d = decide(&p, &u, false);
    assert_eq!(deleted(planned(&d)), vec!["k1"]);
    assert!(d.notes().is_empty());
}

#[test]
fn methods_without_a_readable_creation_time_are_kept_and_flagged() {
    let u = dated(&[None, Some("last tuesday"), Some("2026-11-03T00:00:00Z")]);
    let p = policy(&[
        "--remove-methods",
        "fido2",
        "--registered-after",
        "2026-11-01",
    ])
    .unwrap();
    let d = decide(&p, &u, false);
    assert_eq!(deleted(planned(&d)), vec!["k2"]);
    let notes = d.notes();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("no creation time"), "{notes:?}");
    assert!(
        notes[1].contains("\"last tuesday\" is not RFC 3339"),
        "{notes:?}"
    );
    // Only methods the policy would remove are flagged: not the password, not kept types.
    let mixed = user(vec![
        password(),
        email(),
        named(MethodType::Fido2, "f", "K", None),
    ]);
    let d = decide(&p, &mixed, false);
    assert_eq!(d.status(), "no-change");
    assert_eq!(d.notes().len(), 1);
}

#[test]
fn device_name_globs_select_authenticators_of_the_old_model() {
    let u = user(vec![
        authenticator("a", "iPhone 12"),
        authenticator("b", "IPHONE 12 Pro Max"),
        authenticator("c", "iPhone 13"),
        authenticator("d", "Galaxy iPhone 12"),
        method(MethodType::MicrosoftAuthenticator, "e"),
        phone(PhoneType::Mobile),
        method(MethodType::SoftwareOath, "o"),
    ]);
    let p = policy(&["--profile", "device-refresh", "--device-name", "iPhone 12*"]).unwrap();
    let d = decide(&p, &u, false);
    assert_eq!(deleted(planned(&d)), vec!["a", "b"]);
    let notes = d.notes();
    for kept in [
        "Authenticator (unnamed device)",
        "mobile phone",
        "software OATH token",
    ] {
        assert!(
            notes
                .iter()
                .any(|n| n.contains(kept) && n.contains("names no device")),
            "{kept}: {notes:?}"
        );
    }
    // Without a wildcard the glob matches the whole name only.
    let exact = policy(&["--profile", "device-refresh", "--device-name", "iphone 12"]).unwrap();
    assert_eq!(deleted(planned(&decide(&exact, &u, false))), vec!["a"]);
}

#[test]
fn filters_combine() {
    let u = user(vec![
        named(
            MethodType::MicrosoftAuthenticator,
            "a",
            "iPhone 12",
            Some("2026-01-01T00:00:00Z"),
        ),
        named(
            MethodType::MicrosoftAuthenticator,
            "b",
            "iPhone 12",
            Some("2024-01-01T00:00:00Z"),
        ),
        named(
            MethodType::MicrosoftAuthenticator,
            "c",
            "Pixel",
            Some("2026-01-01T00:00:00Z"),
        ),
    ]);
    let p = policy(&[
        "--remove-methods",
        "authenticator",
        "--device-name",
        "iPhone*",
        "--registered-after",
        "2025-01-01",
    ])
    .unwrap();
    assert_eq!(deleted(planned(&decide(&p, &u, false))), vec!["a"]);
}

#[test]
fn times_are_rfc3339_or_dates_and_normalised_to_utc() {
    assert_eq!(
        parse_time("2026-11-01").unwrap(),
        at("2026-11-01T00:00:00Z")
    );
    assert_eq!(
        parse_time("2026-11-01T02:30:00+02:00").unwrap(),
        at("2026-11-01T00:30:00Z")
    );
    assert_eq!(
        parse_time("2026-11-01T02:30:00.25Z").unwrap(),
        at("2026-11-01T02:30:00.25Z")
    );
    assert_eq!(
        parse_time("2026-11-01T02:30:00+02:00").unwrap().offset(),
        UtcOffset::UTC
    );
    for bad in [
        "yesterday",
        "2026-13-01",
        "2026-11-01T08:00:00",
        "01/11/2026",
        "",
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+01:00",
    ] {
        assert!(parse_time(bad).is_err(), "{bad}");
    }
    assert!(parse_time("9999-12-31T23:59:59Z").is_ok());
    let err = policy(&[
        "--profile",
        "incident",
        "--registered-after",
        "2026-11-01T08:00:00",
    ])
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("--registered-after \"2026-11-01T08:00:00\""),
        "{msg}"
    );
    assert!(msg.contains("offset"), "{msg}");
}

#[test]
fn glob_matching() {
    let cases = [
        ("iPhone 12*", "iPhone 12", true),
        ("iPhone 12*", "iphone 12 mini", true),
        ("iPhone 12*", "iPhone 1", false),
        ("*12*", "iPhone 12 Pro", true),
        ("iPhone ??", "iPhone 12", true),
        ("iPhone ??", "iPhone 123", false),
        ("?", "", false),
        ("*", "", true),
        ("", "", true),
        ("", "x", false),
        ("a*b*c", "aXbYbZc", true),
        ("a*b*c", "aXbYbZ", false),
        ("*a*a*a", "aaaa", true),
        ("**", "anything", true),
        ("ÉCRAN*", "écran de Zoé", true),
        ("iPhone [12]", "iPhone [12]", true),
        ("iPhone [12]", "iPhone 1", false),
    ];
    for (pattern, text, expected) in cases {
        assert_eq!(
            glob_matches(pattern, text),
            expected,
            "{pattern:?} ~ {text:?}"
        );
    }
}
