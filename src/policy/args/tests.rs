//! Tests of the flags into a policy: how flags combine with a profile, type names, and
//! every flag combination [`PolicyArgs::into_policy`] refuses.

use super::*;
use crate::policy::DEVICE_REFRESH_REMOVES;
use crate::policy::test_support::*;

#[test]
fn device_refresh_removes_phone_authenticator_and_oath_only() {
    let p = profile(Profile::DeviceRefresh);
    assert_eq!(p.remove_methods(), &DEVICE_REFRESH_REMOVES);
    assert!(!p.revoke_sessions() && !p.disable_account() && p.tap().is_none());
    assert_eq!(p.sequence(), Sequence::DisableRemoveRevoke);
    for kept in [
        MethodType::Password,
        MethodType::Fido2,
        MethodType::WindowsHelloForBusiness,
        MethodType::Email,
        MethodType::TemporaryAccessPass,
        MethodType::PlatformCredential,
    ] {
        assert!(!p.removes(kept), "{kept} must be kept");
    }
    // Exactly the types that can be the default: "Require re-register MFA".
    for t in MethodType::ALL {
        assert_eq!(p.removes(t), t.can_be_default(), "{t}");
    }
}

#[test]
fn incident_revokes_first_and_removes_every_method_but_the_password() {
    let p = profile(Profile::Incident);
    assert!(p.revoke_sessions() && !p.disable_account());
    assert_eq!(p.sequence(), Sequence::RevokeDisableRemove);
    for t in MethodType::ALL {
        assert_eq!(p.removes(t), t != MethodType::Password, "{t}");
    }
}

#[test]
fn offboard_disables_revokes_and_removes_every_method_but_the_password() {
    let p = profile(Profile::Offboard);
    assert!(p.revoke_sessions() && p.disable_account() && p.tap().is_none());
    assert_eq!(p.sequence(), Sequence::DisableRevokeRemove);
    assert_eq!(p.remove_methods().len(), MethodType::ALL.len() - 1);
    assert!(!p.removes(MethodType::Password));
}

#[test]
fn flags_without_a_profile_disable_then_revoke_then_remove() {
    let p = policy(&["--remove-methods", "phone", "--revoke-sessions"]).unwrap();
    assert_eq!(p.profile(), None);
    assert_eq!(p.remove_methods(), &[MethodType::Phone]);
    assert!(p.revoke_sessions() && !p.disable_account());
    assert_eq!(p.sequence(), Sequence::DisableRevokeRemove);
}

#[test]
fn remove_methods_replaces_the_profile_selection_but_keeps_its_actions() {
    let p = policy(&["--profile", "incident", "--remove-methods", "tap,email"]).unwrap();
    assert_eq!(
        p.remove_methods(),
        &[MethodType::Email, MethodType::TemporaryAccessPass]
    );
    assert!(p.revoke_sessions());
    assert_eq!(p.sequence(), Sequence::RevokeDisableRemove);
}

#[test]
fn flags_add_actions_to_a_profile() {
    let p = policy(&[
        "--profile",
        "device-refresh",
        "--revoke-sessions",
        "--issue-tap",
    ])
    .unwrap();
    assert!(p.revoke_sessions());
    assert_eq!(p.sequence(), Sequence::DisableRemoveRevoke);
    assert_eq!(
        p.tap(),
        Some(TapSettings {
            lifetime_minutes: 60,
            usable_once: false,
            start: None
        })
    );
    let p = policy(&["--profile", "incident", "--disable-account"]).unwrap();
    assert!(p.revoke_sessions() && p.disable_account());
    assert_eq!(p.sequence(), Sequence::RevokeDisableRemove);
}

#[test]
fn keep_narrows_a_profile_and_is_harmless_when_redundant() {
    let p = policy(&[
        "--profile",
        "offboard",
        "--keep",
        "fido2,windowsHelloForBusiness",
    ])
    .unwrap();
    assert!(!p.removes(MethodType::Fido2));
    assert!(!p.removes(MethodType::WindowsHelloForBusiness));
    assert!(p.removes(MethodType::Email));
    let redundant = policy(&["--profile", "device-refresh", "--keep", "fido2,password"]).unwrap();
    assert_eq!(redundant.remove_methods(), &DEVICE_REFRESH_REMOVES);
}

#[test]
fn remove_all_minus_keep() {
    let p = policy(&["--remove-methods", "all", "--keep", "fido2"]).unwrap();
    assert!(!p.removes(MethodType::Fido2));
    assert!(!p.removes(MethodType::Password));
    assert_eq!(p.remove_methods().len(), MethodType::ALL.len() - 2);
}

#[test]
fn a_type_both_kept_and_removed_is_a_conflict() {
    let err = policy(&[
        "--keep",
        "fido2,phone",
        "--remove-methods",
        "phone,fido2,email",
    ])
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::KeepConflict {
            names: "phone, fido2".into()
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("both --remove-methods and --keep"), "{msg}");
}

#[test]
fn unknown_type_names_list_the_valid_ones() {
    let err = policy(&["--remove-methods", "phone,sms"]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("unknown method type \"sms\""), "{msg}");
    for t in MethodType::ALL.into_iter().filter(|t| t.deletable()) {
        assert!(msg.contains(t.short_name()), "{msg} lacks {t}");
    }
    assert!(msg.contains(", all"), "{msg}");
    let keep = policy(&["--profile", "incident", "--keep", "yubikey"]).unwrap_err();
    let msg = keep.to_string();
    assert!(
        msg.starts_with("--keep:") && !msg.contains(", all"),
        "{msg}"
    );
}

#[test]
fn unknown_type_names_get_a_guess() {
    let msg = policy(&["--remove-methods", "windowsHello"])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("did you mean windowsHelloForBusiness?"),
        "{msg}"
    );
    let msg = policy(&["--remove-methods", "x"]).unwrap_err().to_string();
    assert!(!msg.contains("did you mean"), "{msg}");
}

#[test]
fn type_names_ignore_case_spaces_and_accept_aliases() {
    let p = policy(&[
        "--remove-methods",
        " PHONE , Authenticator,tap,whfb,FIDO2,microsoftauthenticator",
    ])
    .unwrap();
    assert_eq!(
        p.remove_methods(),
        &[
            MethodType::Phone,
            MethodType::MicrosoftAuthenticator,
            MethodType::Fido2,
            MethodType::WindowsHelloForBusiness,
            MethodType::TemporaryAccessPass,
        ]
    );
    // Repeated flags accumulate.
    let p = policy(&["--remove-methods", "phone", "--remove-methods", "email"]).unwrap();
    assert_eq!(p.remove_methods(), &[MethodType::Phone, MethodType::Email]);
}

#[test]
fn the_password_can_never_be_removed() {
    assert_eq!(
        policy(&["--remove-methods", "phone,password"]).unwrap_err(),
        PolicyError::PasswordNotRemovable
    );
    assert!(
        !policy(&["--remove-methods", "all"])
            .unwrap()
            .removes(MethodType::Password)
    );
    // Keeping it is allowed, and changes nothing.
    assert!(policy(&["--profile", "incident", "--keep", "password"]).is_ok());
}

#[test]
fn keep_all_and_empty_lists_are_refused() {
    assert_eq!(
        policy(&["--profile", "incident", "--keep", "all"]).unwrap_err(),
        PolicyError::KeepAll
    );
    assert!(matches!(
        policy(&["--remove-methods", ",", "--revoke-sessions"]).unwrap_err(),
        PolicyError::EmptyTypeList {
            flag: "--remove-methods",
            ..
        }
    ));
}

#[test]
fn keep_that_empties_remove_methods_is_refused() {
    let err = policy(&[
        "--remove-methods",
        "all",
        "--keep",
        "phone,microsoftAuthenticator,softwareOath,fido2,windowsHelloForBusiness,email,\
         temporaryAccessPass,platformCredential,hardwareOath,external,qrCodePin",
        "--revoke-sessions",
    ])
    .unwrap_err();
    assert!(matches!(err, PolicyError::RemovesNothing { .. }), "{err}");
    // Emptying a profile's selection leaves its other actions: allowed.
    let p = policy(&[
        "--profile",
        "incident",
        "--keep",
        "phone,microsoftAuthenticator,softwareOath,fido2,windowsHelloForBusiness,email,\
         temporaryAccessPass,platformCredential,hardwareOath,external,qrCodePin",
    ])
    .unwrap();
    assert!(p.remove_methods().is_empty() && p.revoke_sessions());
    // ... unless nothing is left at all.
    assert_eq!(
        policy(&[
            "--profile",
            "device-refresh",
            "--keep",
            "phone,authenticator,softwareOath,hardwareOath"
        ])
        .unwrap_err(),
        PolicyError::NothingToDo
    );
}

#[test]
fn nothing_to_do_is_refused() {
    let err = policy(&[]).unwrap_err();
    assert_eq!(err, PolicyError::NothingToDo);
    assert!(err.to_string().contains("--profile"));
    assert_eq!(
        policy(&["--include-admins"]).unwrap_err(),
        PolicyError::NothingToDo
    );
}

#[test]
fn filters_without_a_removal_are_refused() {
    for (args, flag) in [
        (&["--revoke-sessions", "--keep", "fido2"][..], "--keep"),
        (
            &["--revoke-sessions", "--device-name", "iPhone*"][..],
            "--device-name",
        ),
        (
            &["--revoke-sessions", "--registered-after", "2026-01-01"][..],
            "--registered-after",
        ),
        (
            &["--revoke-sessions", "--registered-before", "2026-01-01"][..],
            "--registered-before",
        ),
    ] {
        assert_eq!(
            policy(args).unwrap_err(),
            PolicyError::FilterWithoutRemoval { flag },
            "{args:?}"
        );
    }
}

#[test]
fn tap_lifetime_defaults_to_60_and_must_be_within_what_any_tenant_policy_allows() {
    let p = policy(&["--issue-tap"]).unwrap();
    assert_eq!(p.tap().unwrap().lifetime_minutes, 60);
    // The tenant's own range (60 to 480 by default) is checked against the tenant.
    for ok in [10, 60, 61, 240, 480, 1440, 43_200] {
        let p = policy(&[
            "--issue-tap",
            "--tap-lifetime",
            &ok.to_string(),
            "--tap-once",
        ])
        .unwrap();
        assert_eq!(
            p.tap(),
            Some(TapSettings {
                lifetime_minutes: ok,
                usable_once: true,
                start: None
            })
        );
    }
    for bad in [0, 9, 43_201, u32::MAX] {
        let err = policy(&["--issue-tap", "--tap-lifetime", &bad.to_string()]).unwrap_err();
        assert_eq!(
            err,
            PolicyError::TapLifetimeOutOfRange {
                minutes: bad,
                min: 10,
                max: 43_200
            }
        );
        assert!(err.to_string().contains("10-43200"), "{err}");
    }
}

#[test]
fn tap_options_need_issue_tap() {
    assert_eq!(
        policy(&["--profile", "device-refresh", "--tap-lifetime", "120"]).unwrap_err(),
        PolicyError::TapOptionWithoutTap {
            flag: "--tap-lifetime"
        }
    );
    assert_eq!(
        policy(&["--profile", "device-refresh", "--tap-once"]).unwrap_err(),
        PolicyError::TapOptionWithoutTap { flag: "--tap-once" }
    );
    let err = policy(&[
        "--profile",
        "device-refresh",
        "--tap-start",
        "2099-01-01T00:00:00Z",
    ])
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::TapOptionWithoutTap {
            flag: "--tap-start"
        }
    );
    assert!(err.to_string().contains("add --issue-tap"), "{err}");
}

#[test]
fn tap_start_is_read_as_registered_after_is_and_kept_in_utc() {
    const NOW: &str = "2026-11-28T09:00:00Z";
    let tap = |start: &str| {
        policy_at(
            &[
                "--profile",
                "device-refresh",
                "--issue-tap",
                "--tap-start",
                start,
            ],
            NOW,
        )
        .unwrap()
        .tap()
        .unwrap()
    };
    let t = tap("2026-11-28T12:30:00+02:00");
    assert_eq!(t.start, Some(at("2026-11-28T10:30:00Z")));
    assert_eq!(t.start.unwrap().offset(), time::UtcOffset::UTC);
    assert_eq!(t.end(), Some(at("2026-11-28T11:30:00Z")), "60 minutes on");
    // A date means midnight UTC, as for --registered-after.
    assert_eq!(tap("2026-11-29").start, Some(at("2026-11-29T00:00:00Z")));
    // Without it, passes work as soon as they are issued.
    let p = policy_at(&["--profile", "device-refresh", "--issue-tap"], NOW).unwrap();
    assert_eq!(p.tap().unwrap().start, None);
    assert_eq!(p.tap().unwrap().end(), None);

    let err = policy_at(
        &[
            "--profile",
            "device-refresh",
            "--issue-tap",
            "--tap-start",
            "tomorrow",
        ],
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::BadTime {
                flag: "--tap-start",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_tap_start_not_in_the_future_is_refused_when_planning() {
    const NOW: &str = "2026-11-28T09:00:00.25Z";
    for past in ["2026-11-28T09:00:00Z", "2026-11-28T08:59:59Z", "2026-01-01"] {
        let err = policy_at(
            &[
                "--profile",
                "device-refresh",
                "--issue-tap",
                "--tap-start",
                past,
            ],
            NOW,
        )
        .unwrap_err();
        assert!(
            matches!(err, PolicyError::TapStartPassed { .. }),
            "{past}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("is not in the future"), "{text}");
        assert!(text.contains("it is 2026-11-28T09:00:00Z now"), "{text}");
        assert!(text.contains("such as 2026-11-28T10:00:00Z"), "{text}");
    }
    assert!(
        policy_at(
            &[
                "--profile",
                "device-refresh",
                "--issue-tap",
                "--tap-start",
                "2026-11-28T09:00:01Z"
            ],
            NOW,
        )
        .is_ok()
    );
}

#[test]
fn a_tap_for_an_account_being_disabled_is_refused() {
    assert_eq!(
        policy(&["--profile", "offboard", "--issue-tap"]).unwrap_err(),
        PolicyError::TapForDisabledAccount {
            source_of_disable: "--profile offboard"
        }
    );
    assert_eq!(
        policy(&["--disable-account", "--issue-tap"]).unwrap_err(),
        PolicyError::TapForDisabledAccount {
            source_of_disable: "--disable-account"
        }
    );
}

#[test]
fn an_empty_time_window_is_refused() {
    for (after, before) in [
        ("2026-11-01", "2026-11-01"),
        ("2026-11-02", "2026-11-01"),
        ("2026-11-01T02:00:00+02:00", "2026-11-01T00:00:00Z"),
    ] {
        let err = policy(&[
            "--profile",
            "incident",
            "--registered-after",
            after,
            "--registered-before",
            before,
        ])
        .unwrap_err();
        assert!(matches!(err, PolicyError::EmptyWindow { .. }), "{err}");
    }
}

#[test]
fn an_empty_device_glob_is_refused() {
    assert_eq!(
        policy(&["--profile", "device-refresh", "--device-name", "  "]).unwrap_err(),
        PolicyError::EmptyDeviceName
    );
}
