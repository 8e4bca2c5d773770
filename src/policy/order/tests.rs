//! Tests of the deletion order: the default method last, phones in Graph's order, and the
//! deletions Graph would never accept withheld.

use super::*;
use crate::policy::test_support::*;
use crate::policy::{Decision, Profile, Step, decide};

#[test]
fn a_known_default_goes_last_of_all() {
    let base = everything();
    for (default, last) in [
        (DefaultMethod::Push, "auth-1"),
        (DefaultMethod::Oath, "oath-1"),
        (DefaultMethod::Sms, MOBILE),
        (DefaultMethod::VoiceMobile, MOBILE),
        (DefaultMethod::VoiceOffice, OFFICE),
    ] {
        let u = UserSnapshot {
            default_method: Some(default),
            ..base.clone()
        };
        let d = decide(&profile(Profile::Incident), &u, false);
        let ids = deleted(planned(&d));
        assert_eq!(
            ids.last().map(String::as_str),
            Some(last),
            "{default:?}: {ids:?}"
        );
        assert_eq!(ids.len(), 10, "{default:?}");
        let pos = |id: &str| ids.iter().position(|i| i == id).unwrap();
        assert!(pos(ALT) < pos(MOBILE), "{ids:?}");
        // Office before mobile is a preference; the default going last is Graph's rule.
        if default != DefaultMethod::VoiceOffice {
            assert!(pos(OFFICE) < pos(MOBILE), "{ids:?}");
        }
        // Every method that cannot be the default goes before every one that can.
        for early in ["tap-1", "fido-1", "whfb-1", EMAIL_ID, "plat-1"] {
            for late in ["oath-1", ALT, OFFICE, MOBILE, "auth-1"] {
                assert!(pos(early) < pos(late), "{early} before {late}: {ids:?}");
            }
        }
    }
}

#[test]
fn an_unknown_default_puts_authenticator_last_and_phones_mobile_last() {
    for default in [None, Some(DefaultMethod::UnknownFutureValue)] {
        let u = UserSnapshot {
            default_method: default,
            ..everything()
        };
        let d = decide(&profile(Profile::DeviceRefresh), &u, false);
        assert_eq!(
            deleted(planned(&d)),
            vec!["oath-1", ALT, OFFICE, MOBILE, "auth-1"]
        );
    }
}

#[test]
fn mobile_goes_after_alternate_and_office_whatever_the_listing_order() {
    let phones = [
        phone(PhoneType::Mobile),
        phone(PhoneType::AlternateMobile),
        phone(PhoneType::Office),
    ];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let u = user(order.iter().map(|&i| phones[i].clone()).collect());
        let d = decide(&profile(Profile::DeviceRefresh), &u, false);
        assert_eq!(deleted(planned(&d)), vec![ALT, OFFICE, MOBILE], "{order:?}");
    }
}

#[test]
fn phones_without_a_phone_type_are_recognised_by_their_fixed_id() {
    let u = user(vec![
        method(MethodType::Phone, MOBILE),
        method(MethodType::Phone, ALT),
    ]);
    let d = decide(&profile(Profile::DeviceRefresh), &u, false);
    assert_eq!(deleted(planned(&d)), vec![ALT, MOBILE]);
    assert_eq!(u.methods[0].label(), "mobile phone");
}

#[test]
fn several_authenticators_under_a_push_default_all_go_last() {
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::Push),
        ..user(vec![
            authenticator("b", "iPhone 15"),
            phone(PhoneType::Mobile),
            authenticator("a", "iPhone 12"),
            method(MethodType::SoftwareOath, "o"),
        ])
    };
    let d = decide(&profile(Profile::DeviceRefresh), &u, false);
    assert_eq!(deleted(planned(&d)), vec!["o", MOBILE, "a", "b"]);
}

#[test]
fn an_oath_default_with_no_listed_oath_token_does_not_constrain_the_order() {
    // The default is a beta-only hardware token: none of these is the default.
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::Oath),
        ..user(vec![
            authenticator("a", "iPhone 12"),
            phone(PhoneType::Mobile),
        ])
    };
    let d = decide(&profile(Profile::DeviceRefresh), &u, false);
    assert_eq!(deleted(planned(&d)), vec![MOBILE, "a"]);
    assert!(d.notes().is_empty());
}

#[test]
fn a_known_default_that_must_stay_behind_a_kept_method_is_withheld() {
    // device-name selects the default Authenticator; the mobile phone is kept (no name),
    // so Graph would refuse the default forever.
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::Push),
        ..user(vec![
            authenticator("a", "iPhone 12"),
            phone(PhoneType::Mobile),
            method(MethodType::TemporaryAccessPass, "t"),
        ])
    };
    let p = policy(&[
        "--remove-methods",
        "authenticator,tap",
        "--device-name",
        "iPhone*",
    ])
    .unwrap();
    // The TAP has no device name: kept and flagged.
    let d = decide(&p, &u, false);
    let Decision::Blocked {
        reason,
        steps,
        withheld,
        notes,
    } = &d
    else {
        panic!("{d:?}")
    };
    assert!(steps.is_empty(), "{steps:?}");
    assert_eq!(withheld, &[del(&u, "a")]);
    assert!(reason.contains("default MFA method"), "{reason}");
    assert!(reason.contains("mobile phone remains"), "{reason}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("kept Temporary Access Pass"))
    );
}

#[test]
fn an_alternate_mobile_default_with_a_mobile_phone_deadlocks_and_is_withheld() {
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::VoiceAlternateMobile),
        ..user(vec![
            phone(PhoneType::Mobile),
            phone(PhoneType::AlternateMobile),
            phone(PhoneType::Office),
            method(MethodType::SoftwareOath, "o"),
        ])
    };
    let d = decide(&profile(Profile::Incident), &u, false);
    let Decision::Blocked {
        reason,
        steps,
        withheld,
        ..
    } = &d
    else {
        panic!("{d:?}")
    };
    // What can go still goes; the two phones wait for the default to change.
    assert_eq!(
        steps,
        &[Step::RevokeSessions, del(&u, "o"), del(&u, OFFICE)]
    );
    assert_eq!(withheld, &[del(&u, MOBILE), del(&u, ALT)]);
    assert!(
        reason.contains("change the user's default method"),
        "{reason}"
    );
    assert!(
        reason.contains("alternate mobile phone is registered"),
        "{reason}"
    );
}

#[test]
fn a_mobile_phone_cannot_go_while_a_kept_alternate_remains() {
    // Only the mobile phone falls in the window (a crafted snapshot: Graph gives phones
    // no creation time), so the alternate stays and blocks it.
    let mut mobile = phone(PhoneType::Mobile);
    mobile.created = Some("2026-11-02T00:00:00Z".into());
    let u = user(vec![mobile, phone(PhoneType::AlternateMobile)]);
    let p = policy(&[
        "--profile",
        "device-refresh",
        "--registered-after",
        "2026-11-01",
    ])
    .unwrap();
    let d = decide(&p, &u, false);
    let Decision::Blocked {
        withheld, steps, ..
    } = &d
    else {
        panic!("{d:?}")
    };
    assert_eq!(withheld, &[del(&u, MOBILE)]);
    assert!(steps.is_empty());
}

#[test]
fn an_unknown_default_with_a_kept_candidate_is_noted() {
    let u = user(vec![
        authenticator("a", "iPhone 12"),
        authenticator("b", "Pixel 8"),
    ]);
    let p = policy(&["--profile", "device-refresh", "--device-name", "iphone*"]).unwrap();
    let d = decide(&p, &u, false);
    assert_eq!(deleted(planned(&d)), vec!["a"]);
    assert!(
        d.notes()
            .iter()
            .any(|n| n.contains("not known for certain") && n.contains("Pixel 8")),
        "{:?}",
        d.notes()
    );
    // Known and not among the removed: nothing to warn about.
    let known = UserSnapshot {
        default_method: Some(DefaultMethod::Sms),
        ..u
    };
    assert!(decide(&p, &known, false).notes().is_empty());
}
