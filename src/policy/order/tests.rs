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

/// The steps of a decision that re-points the default: the re-point's Graph value and the
/// method it names, and the decision's other steps.
fn repointed(d: &Decision) -> (DefaultMethod, String, Vec<Step>) {
    let steps = planned(d);
    let mut rest = Vec::new();
    let mut found = None;
    for s in steps {
        match s {
            Step::SetDefaultMethod {
                preferred, label, ..
            } => found = Some((*preferred, label.clone())),
            other => rest.push(other.clone()),
        }
    }
    let (preferred, label) = found.unwrap_or_else(|| panic!("no re-point in {steps:?}"));
    (preferred, label, rest)
}

#[test]
fn a_known_default_behind_a_kept_method_is_repointed_at_it_first() {
    // device-name selects the default Authenticator; the mobile phone is kept (no name),
    // so Graph would refuse the default for as long as it stays the default.
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
    let d = decide(&p, &u, false);
    let steps = planned(&d);
    assert!(
        matches!(&steps[0], Step::SetDefaultMethod { preferred: DefaultMethod::Sms, label, reason }
            if label == "mobile phone" && reason.contains("Authenticator on iPhone 12")),
        "{steps:?}"
    );
    assert_eq!(&steps[1..], &[del(&u, "a")]);
    // The TAP has no device name: kept and flagged.
    assert!(
        d.notes()
            .iter()
            .any(|n| n.contains("kept Temporary Access Pass"))
    );
}

#[test]
fn phones_and_authenticator_go_while_a_kept_oath_token_becomes_the_default() {
    // The fleet-swap policy that keeps OATH tokens: whatever the default was among the
    // phones and Authenticator, it moves to the token first.
    for default in [
        DefaultMethod::Push,
        DefaultMethod::Sms,
        DefaultMethod::VoiceAlternateMobile,
        DefaultMethod::VoiceOffice,
    ] {
        let u = UserSnapshot {
            default_method: Some(default),
            ..user(vec![
                authenticator("a", "iPhone 12"),
                phone(PhoneType::Mobile),
                phone(PhoneType::AlternateMobile),
                phone(PhoneType::Office),
                method(MethodType::SoftwareOath, "o"),
                named(MethodType::HardwareOath, "h", "Token 7", None),
            ])
        };
        let p = policy(&["--remove-methods", "phone,authenticator"]).unwrap();
        let d = decide(&p, &u, false);
        let (preferred, _, rest) = repointed(&d);
        assert_eq!(preferred, DefaultMethod::Oath, "{default:?}");
        assert_eq!(
            deleted(&rest),
            vec![ALT, OFFICE, MOBILE, "a"],
            "{default:?}"
        );
        assert!(matches!(planned(&d)[0], Step::SetDefaultMethod { .. }));
    }
    // A default already on a kept method needs no re-point.
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::Oath),
        ..user(vec![
            phone(PhoneType::Mobile),
            method(MethodType::SoftwareOath, "o"),
        ])
    };
    let p = policy(&["--remove-methods", "phone"]).unwrap();
    assert_eq!(planned(&decide(&p, &u, false)), &[del(&u, MOBILE)]);
}

#[test]
fn an_alternate_mobile_default_moves_to_the_mobile_which_goes_last() {
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
    // Graph refuses the mobile while the alternate remains and the alternate while it is
    // the default: the mobile becomes the default, then the alternate goes, the mobile last.
    assert_eq!(
        planned(&d),
        &[
            Step::RevokeSessions,
            Step::SetDefaultMethod {
                preferred: DefaultMethod::Sms,
                label: "mobile phone".into(),
                reason: "alternate mobile phone (the default now) can be removed before it: \
                         Graph refuses to remove the default method while another MFA method \
                         remains, and mobile phone is removed last"
                    .into(),
            },
            del(&u, "o"),
            del(&u, ALT),
            del(&u, OFFICE),
            del(&u, MOBILE),
        ]
    );
    // The same for device-refresh, and for the two phones alone.
    let two = UserSnapshot {
        default_method: Some(DefaultMethod::VoiceAlternateMobile),
        ..user(vec![
            phone(PhoneType::Mobile),
            phone(PhoneType::AlternateMobile),
        ])
    };
    let (preferred, _, rest) = repointed(&decide(&profile(Profile::DeviceRefresh), &two, false));
    assert_eq!(preferred, DefaultMethod::Sms);
    assert_eq!(deleted(&rest), vec![ALT, MOBILE]);
}

#[test]
fn a_default_that_no_method_can_replace_stays_blocked_with_its_reason_once() {
    // Only the mobile phone falls in the window: the alternate mobile (the default) stays,
    // and Graph refuses the mobile while it remains. No re-point can change that.
    let mut mobile = phone(PhoneType::Mobile);
    mobile.created = Some("2026-11-02T00:00:00Z".into());
    let mut alt = phone(PhoneType::AlternateMobile);
    alt.created = Some("2026-10-02T00:00:00Z".into());
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::VoiceAlternateMobile),
        ..user(vec![mobile, alt])
    };
    let p = policy(&[
        "--profile",
        "device-refresh",
        "--registered-after",
        "2026-11-01",
    ])
    .unwrap();
    let d = decide(&p, &u, false);
    let Decision::Blocked {
        reason, withheld, ..
    } = &d
    else {
        panic!("{d:?}")
    };
    assert_eq!(withheld, &[del(&u, MOBILE)]);
    assert_eq!(
        reason
            .matches("alternate mobile phone is registered")
            .count(),
        1,
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

#[test]
fn a_new_default_prefers_a_value_that_names_no_method_being_removed() {
    // `oath` would name the hardware token that goes as well as the software one that
    // stays (Graph does not say which it picks): the kept mobile phone is the safer target.
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::Push),
        ..user(vec![
            authenticator("a", "iPhone 12"),
            method(MethodType::SoftwareOath, "o"),
            named(MethodType::HardwareOath, "h", "Token 7", None),
            phone(PhoneType::Mobile),
        ])
    };
    let p = policy(&["--remove-methods", "authenticator,hardwareOath"]).unwrap();
    let (preferred, label, rest) = repointed(&decide(&p, &u, false));
    assert_eq!(
        (preferred, label.as_str()),
        (DefaultMethod::Sms, "mobile phone")
    );
    assert_eq!(deleted(&rest), vec!["h", "a"]);
    // Without the phone, the OATH token is still better than nothing.
    let u = UserSnapshot {
        methods: u.methods[..3].to_vec(),
        ..u
    };
    let d = decide(&p, &u, false);
    let (preferred, _, _) = repointed(&d);
    assert_eq!(preferred, DefaultMethod::Oath);
    assert!(
        d.notes()
            .iter()
            .any(|n| n.contains("`oath` names hardware OATH token \"Token 7\" too")),
        "{:?}",
        d.notes()
    );
}
