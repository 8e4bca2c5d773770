//! Tests of [`decide`]: each profile on users with various methods, the guardrails, and
//! the JSON of steps and decisions.

use super::*;
use crate::policy::Profile;
use crate::policy::test_support::*;
use crate::wire::{PhoneType, fixed_ids};

#[test]
fn device_refresh_on_a_user_with_every_method() {
    let u = everything();
    let d = decide(&profile(Profile::DeviceRefresh), &u, false);
    assert_eq!(
        planned(&d),
        &[
            del(&u, "oath-1"),
            del(&u, ALT),
            del(&u, OFFICE),
            del(&u, MOBILE),
            del(&u, "auth-1"),
        ]
    );
    assert!(d.notes().is_empty(), "{:?}", d.notes());
}

#[test]
fn device_refresh_with_a_tap_issues_it_before_the_removals_and_keeps_the_old_one() {
    let u = everything();
    let p = policy(&["--profile", "device-refresh", "--issue-tap", "--tap-once"]).unwrap();
    let d = decide(&p, &u, false);
    let steps = planned(&d);
    assert_eq!(
        steps.first(),
        Some(&Step::IssueTemporaryAccessPass {
            lifetime_minutes: 60,
            usable_once: true,
            start: None
        })
    );
    assert!(!deleted(steps).contains(&"tap-1".to_string()));
    assert!(
        d.notes()
            .iter()
            .any(|n| n.contains("replaced by the new one"))
    );
}

#[test]
fn device_refresh_with_revoke_issues_the_tap_then_removes_then_revokes() {
    let u = user(vec![
        phone(PhoneType::Mobile),
        authenticator("a", "iPhone 12"),
    ]);
    let p = policy(&[
        "--profile",
        "device-refresh",
        "--revoke-sessions",
        "--issue-tap",
    ])
    .unwrap();
    let d = decide(&p, &u, false);
    assert_eq!(
        planned(&d),
        &[
            Step::IssueTemporaryAccessPass {
                lifetime_minutes: 60,
                usable_once: false,
                start: None
            },
            del(&u, MOBILE),
            del(&u, "a"),
            Step::RevokeSessions,
        ]
    );
}

#[test]
fn device_refresh_leaves_a_user_with_only_phishing_resistant_methods_alone() {
    let u = user(vec![
        password(),
        named(MethodType::Fido2, "f", "Key", None),
        named(MethodType::WindowsHelloForBusiness, "w", "PC", None),
        email(),
    ]);
    let p = policy(&["--profile", "device-refresh", "--issue-tap"]).unwrap();
    let d = decide(&p, &u, false);
    assert!(d.steps().is_empty());
    // Why no pass is issued is the reason, said once (not also a note).
    let Decision::NoChange { reason, notes } = &d else {
        panic!("{d:?}")
    };
    assert_eq!(
        reason,
        "nothing to change: none of the user's methods is one the policy removes; no \
         Temporary Access Pass is issued, as under a policy that removes methods a pass goes \
         only to a user who loses one"
    );
    assert!(!notes.iter().any(|n| n.contains("Temporary Access Pass")));

    let d = decide(&p, &user(vec![password()]), false);
    let Decision::NoChange { reason, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(
        reason.starts_with(
            "nothing to change: the user has no method but the password, which is never \
             removed; no Temporary Access Pass is issued"
        ),
        "{reason}"
    );
    let disabled = UserSnapshot {
        account_enabled: false,
        ..user(vec![password(), email()])
    };
    let d = decide(&p, &disabled, false);
    assert_eq!(
        d,
        Decision::NoChange {
            reason: "nothing to change: the account is disabled, and no Temporary Access Pass \
                     is issued to a disabled account"
                .into(),
            notes: vec![]
        }
    );
}

#[test]
fn issue_tap_alone_goes_to_every_enabled_user() {
    let p = policy(&["--issue-tap", "--tap-lifetime", "120"]).unwrap();
    let d = decide(&p, &user(vec![password()]), false);
    assert_eq!(
        planned(&d),
        &[Step::IssueTemporaryAccessPass {
            lifetime_minutes: 120,
            usable_once: false,
            start: None
        }]
    );
    let disabled = UserSnapshot {
        account_enabled: false,
        ..user(vec![password()])
    };
    let d = decide(&p, &disabled, false);
    let Decision::NoChange { reason, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(reason.contains("the account is disabled"), "{reason}");
}

#[test]
fn incident_revokes_first_then_removes_everything_non_default_capable_first() {
    let u = everything();
    let p = policy(&["--profile", "incident", "--issue-tap"]).unwrap();
    let d = decide(&p, &u, false);
    let steps = planned(&d);
    assert_eq!(steps[0], Step::RevokeSessions);
    // The new pass comes before every deletion, so a pass that cannot be issued withholds
    // them; it replaces the old pass, which is not deleted on its own.
    assert!(matches!(steps[1], Step::IssueTemporaryAccessPass { .. }));
    assert_eq!(
        deleted(steps),
        vec![
            "fido-1", "whfb-1", EMAIL_ID, "plat-1", "oath-1", ALT, OFFICE, MOBILE, "auth-1"
        ]
    );
    assert_eq!(steps.len(), 11);
    assert!(d.notes().iter().any(|n| n.contains("replaced")));
}

#[test]
fn incident_with_disable_revokes_then_disables_then_removes() {
    let u = user(vec![password(), phone(PhoneType::Mobile)]);
    let p = policy(&["--profile", "incident", "--disable-account"]).unwrap();
    assert_eq!(
        planned(&decide(&p, &u, false)),
        &[Step::RevokeSessions, Step::DisableAccount, del(&u, MOBILE)]
    );
}

#[test]
fn offboard_disables_then_revokes_then_removes() {
    let u = everything();
    let d = decide(&profile(Profile::Offboard), &u, false);
    let steps = planned(&d);
    assert_eq!(&steps[..2], &[Step::DisableAccount, Step::RevokeSessions]);
    assert_eq!(deleted(steps).len(), 10);
    assert_eq!(steps.len(), 12);
}

#[test]
fn offboard_of_an_already_disabled_user_skips_disable_but_still_revokes() {
    let u = UserSnapshot {
        account_enabled: false,
        ..user(vec![password(), email()])
    };
    let d = decide(&profile(Profile::Offboard), &u, false);
    assert_eq!(planned(&d), &[Step::RevokeSessions, del(&u, EMAIL_ID)]);
    assert!(d.notes().contains(&"account already disabled".to_string()));
}

#[test]
fn the_password_is_never_deleted_whatever_the_policy() {
    for p in [
        profile(Profile::Incident),
        profile(Profile::Offboard),
        policy(&["--remove-methods", "all"]).unwrap(),
    ] {
        let d = decide(&p, &everything(), false);
        for step in d.steps() {
            assert!(
                !matches!(
                    step,
                    Step::DeleteMethod {
                        kind: MethodType::Password,
                        ..
                    }
                ),
                "{step:?}"
            );
            assert!(!matches!(step, Step::DeleteMethod { id, .. } if id == fixed_ids::PASSWORD));
        }
    }
    // A tampered plan cannot smuggle it in either.
    let mut json: serde_json::Value =
        serde_json::from_str(&profile(Profile::Incident).canonical_json()).unwrap();
    json["removeMethods"]
        .as_array_mut()
        .unwrap()
        .push("password".into());
    let err = serde_json::from_value::<Policy>(json).unwrap_err();
    assert!(err.to_string().contains("password"), "{err}");
}

#[test]
fn a_user_with_only_a_password_is_no_change_for_removal_only_policies() {
    let d = decide(
        &profile(Profile::DeviceRefresh),
        &user(vec![password()]),
        false,
    );
    assert_eq!(
        d,
        Decision::NoChange {
            reason: "nothing to change".into(),
            notes: vec![]
        }
    );
    let d = decide(&profile(Profile::DeviceRefresh), &user(vec![]), false);
    assert_eq!(d.status(), "no-change");
}

// ---- guardrails ----

#[test]
fn admins_are_protected_unless_included() {
    let admin = UserSnapshot {
        admin_roles: vec![
            "Global Administrator".into(),
            "Exchange Administrator".into(),
        ],
        ..everything()
    };
    let d = decide(&profile(Profile::Offboard), &admin, false);
    let Decision::Protected { reason } = &d else {
        panic!("{d:?}")
    };
    assert!(reason.contains("holds 2 admin roles: Global Administrator, Exchange Administrator;"));
    assert!(reason.contains("--include-admins"));
    assert!(d.steps().is_empty());

    let p = policy(&["--profile", "offboard", "--include-admins"]).unwrap();
    let d = decide(&p, &admin, false);
    assert_eq!(d.status(), "planned");
    assert!(d.notes()[0].contains("included by --include-admins"));
}

#[test]
fn excluded_users_are_never_touched_even_if_admin_or_synced() {
    let u = UserSnapshot {
        admin_roles: vec!["Global Administrator".into()],
        synced: true,
        ..everything()
    };
    let p = policy(&["--profile", "offboard", "--include-admins"]).unwrap();
    assert_eq!(decide(&p, &u, true), Decision::Excluded);
    assert_eq!(decide(&p, &u, true).status(), "excluded");
}

#[test]
fn synced_users_cannot_be_disabled_so_only_revoke_runs() {
    let u = UserSnapshot {
        synced: true,
        ..user(vec![password(), phone(PhoneType::Mobile), email()])
    };
    let d = decide(&profile(Profile::Offboard), &u, false);
    let Decision::Blocked {
        reason,
        steps,
        withheld,
        ..
    } = &d
    else {
        panic!("{d:?}")
    };
    assert_eq!(steps, &[Step::RevokeSessions]);
    assert_eq!(
        withheld,
        &[Step::DisableAccount, del(&u, EMAIL_ID), del(&u, MOBILE)]
    );
    assert!(reason.contains("on-premises Active Directory"), "{reason}");
    assert!(reason.contains("Sessions are still revoked"), "{reason}");
    assert_eq!(d.steps(), &[Step::RevokeSessions]);
}

#[test]
fn synced_users_without_revoke_get_nothing_done() {
    let u = UserSnapshot {
        synced: true,
        ..user(vec![phone(PhoneType::Mobile)])
    };
    let p = policy(&["--disable-account", "--remove-methods", "phone"]).unwrap();
    let d = decide(&p, &u, false);
    assert_eq!(d.status(), "blocked");
    assert!(d.steps().is_empty());
    let Decision::Blocked {
        reason, withheld, ..
    } = &d
    else {
        unreachable!()
    };
    assert!(reason.contains("Nothing is done"), "{reason}");
    assert_eq!(withheld.len(), 2);
}

#[test]
fn synced_users_are_fine_when_nothing_cloud_only_is_needed() {
    let synced = UserSnapshot {
        synced: true,
        ..user(vec![phone(PhoneType::Mobile)])
    };
    // incident does not disable.
    let d = decide(&profile(Profile::Incident), &synced, false);
    assert_eq!(planned(&d), &[Step::RevokeSessions, del(&synced, MOBILE)]);
    // Already disabled (in AD, synced): offboard needs no disable.
    let disabled = UserSnapshot {
        account_enabled: false,
        ..synced
    };
    let d = decide(&profile(Profile::Offboard), &disabled, false);
    assert_eq!(planned(&d), &[Step::RevokeSessions, del(&disabled, MOBILE)]);
}

#[test]
fn step_descriptions() {
    let u = user(vec![authenticator("a", "iPhone 12")]);
    assert_eq!(del(&u, "a").describe(), "remove Authenticator on iPhone 12");
    assert_eq!(Step::RevokeSessions.describe(), "revoke sign-in sessions");
    assert_eq!(Step::DisableAccount.describe(), "disable the account");
    assert_eq!(
        Step::IssueTemporaryAccessPass {
            lifetime_minutes: 60,
            usable_once: true,
            start: None
        }
        .describe(),
        "issue a Temporary Access Pass (60 min, one-time)"
    );
    assert_eq!(
        Step::IssueTemporaryAccessPass {
            lifetime_minutes: 480,
            usable_once: false,
            start: Some(at("2026-11-30T07:00:00Z")),
        }
        .describe(),
        "issue a Temporary Access Pass (480 min from 2026-11-30T07:00:00Z, multi-use)"
    );
}

#[test]
fn a_pass_step_carries_the_policys_start() {
    let p = policy_at(
        &[
            "--profile",
            "device-refresh",
            "--issue-tap",
            "--tap-start",
            "2026-11-30T08:00:00+01:00",
        ],
        "2026-11-28T09:00:00Z",
    )
    .unwrap();
    let d = decide(&p, &user(vec![authenticator("a", "iPhone 12")]), false);
    assert_eq!(
        planned(&d)[0],
        Step::IssueTemporaryAccessPass {
            lifetime_minutes: 60,
            usable_once: false,
            start: Some(at("2026-11-30T07:00:00Z")),
        }
    );
    let json = serde_json::to_string(&planned(&d)[0]).unwrap();
    assert_eq!(
        json,
        r#"{"action":"issueTemporaryAccessPass","lifetimeMinutes":60,"usableOnce":false,"start":"2026-11-30T07:00:00Z"}"#
    );
    assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), planned(&d)[0]);
}

#[test]
fn steps_serialise_tagged_and_round_trip() {
    let steps = vec![
        Step::RevokeSessions,
        Step::DisableAccount,
        Step::DeleteMethod {
            kind: MethodType::MicrosoftAuthenticator,
            id: "auth-1".into(),
            label: "Authenticator on iPhone 12".into(),
        },
        Step::IssueTemporaryAccessPass {
            lifetime_minutes: 90,
            usable_once: true,
            start: None,
        },
    ];
    let json = serde_json::to_string(&steps).unwrap();
    assert_eq!(
        json,
        r#"[{"action":"revokeSessions"},{"action":"disableAccount"},{"action":"deleteMethod","kind":"microsoftAuthenticator","id":"auth-1","label":"Authenticator on iPhone 12"},{"action":"issueTemporaryAccessPass","lifetimeMinutes":90,"usableOnce":true}]"#
    );
    let back: Vec<Step> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, steps);
}

#[test]
fn decisions_serialise_with_their_status_and_round_trip() {
    let u = UserSnapshot {
        synced: true,
        ..everything()
    };
    let decisions = [
        decide(&profile(Profile::Incident), &everything(), false),
        decide(&profile(Profile::DeviceRefresh), &user(vec![]), false),
        Decision::Excluded,
        Decision::Protected { reason: "r".into() },
        decide(&profile(Profile::Offboard), &u, false),
    ];
    let statuses = ["planned", "no-change", "excluded", "protected", "blocked"];
    for (d, status) in decisions.iter().zip(statuses) {
        assert_eq!(d.status(), status);
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(json["status"], status, "{json}");
        assert_eq!(&serde_json::from_value::<Decision>(json).unwrap(), d);
    }
    assert!(Decision::Excluded.notes().is_empty() && Decision::Excluded.steps().is_empty());
}

#[test]
fn decisions_are_deterministic_whatever_the_listing_order() {
    let u = everything();
    let mut reversed = u.clone();
    reversed.methods.reverse();
    for p in sample_policies() {
        assert_eq!(decide(&p, &u, false), decide(&p, &reversed, false));
    }
}

#[test]
fn the_deletions_wait_for_the_re_pointed_default_and_it_for_the_pass_and_the_disable() {
    let repoint = Step::SetDefaultMethod {
        preferred: DefaultMethod::Oath,
        label: "software OATH token".into(),
        reason: "…".into(),
    };
    let delete = Step::DeleteMethod {
        kind: MethodType::Phone,
        id: "m".into(),
        label: "mobile phone".into(),
    };
    let pass = Step::IssueTemporaryAccessPass {
        lifetime_minutes: 60,
        usable_once: false,
        start: None,
    };
    assert!(delete.needs_before(&repoint));
    assert!(repoint.needs_before(&pass) && repoint.needs_before(&Step::DisableAccount));
    assert!(!repoint.needs_before(&Step::RevokeSessions));
    assert!(!Step::RevokeSessions.needs_before(&repoint));
    assert!(
        repoint
            .describe()
            .starts_with("make software OATH token the default MFA method (oath), so that")
    );
    // In plan.json the step names Graph's value.
    let json = serde_json::to_value(&repoint).unwrap();
    assert_eq!(json["action"], "setDefaultMethod");
    assert_eq!(json["preferred"], "oath");
    assert_eq!(serde_json::from_value::<Step>(json).unwrap(), repoint);
}

#[test]
fn a_method_of_an_unknown_type_blocks_only_a_policy_that_removes_every_type() {
    let mut future = method(MethodType::Unknown, "w");
    future.odata_type = Some("#microsoft.graph.widgetAuthenticationMethod".into());
    let u = user(vec![phone(PhoneType::Mobile), future]);
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
    assert!(
        reason.contains("unknown (#microsoft.graph.widgetAuthenticationMethod)"),
        "{reason}"
    );
    assert!(withheld.is_empty());
    assert_eq!(steps, &[Step::RevokeSessions, del(&u, MOBILE)]);
    // A device refresh does not remove every type: the method is simply kept.
    let d = decide(&profile(Profile::DeviceRefresh), &u, false);
    assert_eq!(planned(&d), &[del(&u, MOBILE)]);
    // Nor does --remove-methods all with a --keep.
    let p = policy(&["--remove-methods", "all", "--keep", "fido2"]).unwrap();
    assert_eq!(decide(&p, &u, false).status(), "planned");
    let p = policy(&["--remove-methods", "all"]).unwrap();
    assert_eq!(decide(&p, &u, false).status(), "blocked");
}
