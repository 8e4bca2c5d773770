//! Tests of the policy model: its JSON round trip, canonical form and fingerprint, the
//! checks on reading it back, and its summary.

use super::*;
use crate::policy::test_support::*;

#[test]
fn policies_round_trip_through_json() {
    for p in sample_policies() {
        let json = serde_json::to_string_pretty(&p).unwrap();
        let back: Policy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p, "{json}");
        assert_eq!(back.fingerprint(), p.fingerprint());
    }
}

#[test]
fn the_canonical_json_is_stable() {
    let p = policy(&[
        "--remove-methods",
        "phone,fido2",
        "--registered-after",
        "2026-11-01T02:00:00+02:00",
        "--device-name",
        " iPhone 12* ",
        "--issue-tap",
    ])
    .unwrap();
    assert_eq!(
        p.canonical_json(),
        r#"{"profile":null,"removeMethods":["phone","fido2"],"registeredAfter":"2026-11-01T00:00:00Z","registeredBefore":null,"deviceName":"iPhone 12*","revokeSessions":false,"disableAccount":false,"sequence":"disable-revoke-remove","temporaryAccessPass":{"lifetimeMinutes":60,"usableOnce":false},"includeAdmins":false}"#
    );
}

#[test]
fn a_tap_start_is_in_the_json_only_when_given() {
    let planned = |start: Option<&str>| {
        let mut args = vec!["--profile", "device-refresh", "--issue-tap"];
        if let Some(start) = start {
            args.extend(["--tap-start", start]);
        }
        policy_at(&args, "2026-11-28T09:00:00Z").unwrap()
    };
    let without = planned(None);
    assert!(
        !without.canonical_json().contains("start"),
        "{}",
        without.canonical_json()
    );
    let with = planned(Some("2026-11-29T08:00:00+01:00"));
    assert!(
        with.canonical_json()
            .contains(r#""temporaryAccessPass":{"lifetimeMinutes":60,"usableOnce":false,"start":"2026-11-29T07:00:00Z"}"#),
        "{}",
        with.canonical_json()
    );
    assert_ne!(with.fingerprint(), without.fingerprint());
    let back: Policy = serde_json::from_str(&with.canonical_json()).unwrap();
    assert_eq!(back, with);
    // A start read back from an edited plan is held in UTC, as the flag's is.
    let edited = with
        .canonical_json()
        .replace("2026-11-29T07:00:00Z", "2026-11-29T08:00:00+01:00");
    let back: Policy = serde_json::from_str(&edited).unwrap();
    assert_eq!(back.canonical_json(), with.canonical_json());
    let line = with.summary().join(" ");
    assert!(
        line.contains("valid 60 minutes from 2026-11-29T07:00:00Z"),
        "{line}"
    );
    assert!(
        line.contains("every pass ends at 2026-11-29T08:00:00Z"),
        "{line}"
    );
}

#[test]
fn fingerprints_are_deterministic_and_tell_policies_apart() {
    let a = policy(&[
        "--remove-methods",
        "fido2,phone",
        "--registered-after",
        "2026-11-01",
    ])
    .unwrap();
    let b = policy(&[
        "--remove-methods",
        "phone",
        "--remove-methods",
        "FIDO2,phone",
        "--registered-after",
        "2026-11-01T01:00:00+01:00",
    ])
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.fingerprint(), b.fingerprint());
    let f = a.fingerprint();
    assert!(f.starts_with("sha256:"));
    assert_eq!(f.len(), "sha256:".len() + 64);
    assert!(
        f[7..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let all: Vec<String> = sample_policies().iter().map(Policy::fingerprint).collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len());
    // A profile and the same flags spelled out differ: the plan records what was asked.
    let spelled = policy(&["--remove-methods", "all", "--revoke-sessions"]).unwrap();
    assert_ne!(
        spelled.fingerprint(),
        profile(Profile::Incident).fingerprint()
    );
}

#[test]
fn deserialising_checks_the_policy_rules() {
    let good: serde_json::Value =
        serde_json::from_str(&profile(Profile::DeviceRefresh).canonical_json()).unwrap();
    let bad = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        edit(&mut v);
        serde_json::from_value::<Policy>(v).unwrap_err().to_string()
    };
    assert!(
        bad(&|v| v["temporaryAccessPass"] =
            serde_json::json!({"lifetimeMinutes": 5, "usableOnce": false}))
        .contains("--tap-lifetime 5")
    );
    assert!(
        bad(&|v| v["removeMethods"] = serde_json::json!(["phone", "sms"]))
            .contains("unknown method type \"sms\"")
    );
    assert!(bad(&|v| v["removeMethods"] = serde_json::json!([])).contains("nothing to do"));
    assert!(bad(&|v| v["surprise"] = serde_json::json!(1)).contains("unknown field"));
    assert!(
        bad(&|v| {
            v["disableAccount"] = true.into();
            v["temporaryAccessPass"] =
                serde_json::json!({"lifetimeMinutes": 60, "usableOnce": false});
        })
        .contains("disabled")
    );
    // Unsorted and repeated types are normalised.
    let mut v = good.clone();
    v["removeMethods"] = serde_json::json!(["softwareOath", "phone", "phone"]);
    let p: Policy = serde_json::from_value(v).unwrap();
    assert_eq!(
        p.remove_methods(),
        &[MethodType::Phone, MethodType::SoftwareOath]
    );
}

#[test]
fn the_summary_says_what_the_policy_does() {
    let p = policy(&[
        "--profile",
        "incident",
        "--registered-after",
        "2026-11-01",
        "--issue-tap",
    ])
    .unwrap();
    let text = p.summary().join("\n");
    for part in [
        "Profile: incident.",
        "never the password",
        "at or after 2026-11-01T00:00:00Z",
        "Revoke sign-in sessions.",
        "Order: revoke sessions",
        "Temporary Access Pass valid 60 minutes",
        "protected",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
}
