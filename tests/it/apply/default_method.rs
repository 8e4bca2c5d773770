//! Every listed user ends reset: where Graph's default-method rule stands in the way, the
//! plan re-points the default first (beta `signInPreferences`), for every profile and for
//! the fleet-swap policy that keeps OATH tokens; the blocked rows left name a reason no
//! Graph call could fix. And a method of a type this tool does not know is kept, shown and
//! never called clean.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::folder::Folder;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{id_of, is_admin, kind, methods};
use crate::support::{MOBILE, PASSWORD};

/// Plans `flags` for every user of the tenant, into `name/`; the plan's result rows.
fn plan_all(t: &Scenario, input: &std::path::Path, name: &str, flags: &[&str]) -> Vec<Value> {
    let out = t.out().join(name);
    let run = t
        .mfa(&["plan", input.to_str().unwrap()])
        .args(flags)
        .args(&["--out", out.to_str().unwrap()])
        .run();
    assert!(matches!(run.code(), Some(0 | 1)), "{name}: {}", run.stderr);
    Folder(out).rows()
}

/// The users whose plan re-points the default, from `plan.json`.
fn repointed(t: &Scenario, name: &str) -> usize {
    let plan = Folder(t.out().join(name)).plan();
    plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["steps"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["action"] == "setDefaultMethod"))
        })
        .count()
}

#[test]
fn no_profile_leaves_a_user_blocked_by_the_default_method() {
    let t = Scenario::start("default-everyone", generated(1_000, 161));
    let everyone: Vec<Value> = t.before.values().cloned().collect();
    let input = t.write_list(&everyone);
    let policies: [(&str, &[&str]); 4] = [
        ("device-refresh", &["--profile", "device-refresh"]),
        ("incident", &["--profile", "incident"]),
        ("offboard", &["--profile", "offboard"]),
        ("keep-oath", &["--remove-methods", "phone,authenticator"]),
    ];
    for (name, flags) in policies {
        let rows = plan_all(&t, &input, name, flags);
        assert_eq!(rows.len(), everyone.len(), "{name}");
        for r in rows.iter().filter(|r| r["status"] == "blocked") {
            let reason = r["reason"].as_str().unwrap_or_default();
            // Graph cannot disable a synced account: no call could fix that one.
            assert!(reason.contains("synced from on-premises"), "{name}: {r}");
            assert!(!reason.contains("default"), "{name}: {r}");
        }
        let blocked = rows.iter().filter(|r| r["status"] == "blocked").count();
        if name != "offboard" {
            assert_eq!(blocked, 0, "{name}");
        }
        // The mobile phone with an alternate default is common enough to show in every
        // policy, and keeping OATH tokens re-points every default that goes.
        assert!(repointed(&t, name) > 5, "{name}: {}", repointed(&t, name));
    }
}

#[test]
fn keeping_oath_tokens_removes_phones_and_authenticator_from_everyone_and_keeps_the_tokens() {
    let t = Scenario::start("default-keep-oath", generated(400, 162));
    let listed: Vec<Value> = t
        .before
        .values()
        .filter(|u| !is_admin(u))
        .cloned()
        .collect();
    let input = t.write_list(&listed);
    let run = t
        .mfa(&["apply", input.to_str().unwrap()])
        .args(&["--remove-methods", "phone,authenticator", "--yes"])
        .args(&["--out", t.out().arg()])
        .run();
    run.expect_code(0);
    let after = t.users();
    let mut moved = 0;
    for u in &listed {
        let now = &after[id_of(u)];
        let kinds_now: Vec<&str> = methods(now).iter().map(kind).collect();
        assert!(
            !kinds_now.contains(&"phone") && !kinds_now.contains(&"microsoftAuthenticator"),
            "{}: {kinds_now:?}",
            id_of(u)
        );
        let oath = |v: &Value| -> BTreeSet<String> {
            methods(v)
                .iter()
                .filter(|m| matches!(kind(m), "softwareOath" | "hardwareOath"))
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(oath(now), oath(u), "{}: OATH tokens are kept", id_of(u));
        if !oath(u).is_empty() && u["defaultMethod"] != now["defaultMethod"] {
            // The default moved to a kept token.
            assert!(oath(now).contains(now["defaultMethod"].as_str().unwrap()));
            moved += 1;
        }
    }
    assert!(moved > 5, "{moved} defaults moved to an OATH token");
    // Each row says so, and the summary counts them (users without a token, whose mobile
    // phone and alternate both go, get the mobile phone as the default, removed last).
    let rows = t.out().rows();
    let to_oath = rows
        .iter()
        .filter(|r| r["defaultMethodSet"] == "oath")
        .count();
    assert_eq!(to_oath, moved, "rows that say the default became oath");
    let set = rows
        .iter()
        .filter(|r| r["defaultMethodSet"].is_string())
        .count();
    let summary = std::fs::read_to_string(t.out().join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!(
            "| Default MFA methods changed (so that a removal was accepted) | {set} |"
        )),
        "{summary}"
    );
    let statuses: BTreeSet<String> = t
        .out()
        .rows()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    assert!(
        statuses.is_subset(&["done".into(), "no-change".into()].into()),
        "{statuses:?}"
    );
}

const FUTURE: &str = "#microsoft.graph.futureWidgetAuthenticationMethod";

/// A tenant of one user holding a mobile phone, Authenticator (the default) and a method of
/// a type newer than this tool.
fn future_tenant() -> Value {
    let id = "bbbbbbbb-0000-4000-8000-000000000001";
    json!({
        "tenantId": "cccccccc-0000-4000-8000-000000000001",
        "users": [{
            "id": id,
            "userPrincipalName": "fay@contoso.example",
            "defaultMethod": "fay-authenticator-0001",
            "methods": [
                {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": PASSWORD},
                {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": MOBILE,
                 "phoneType": "mobile", "phoneNumber": "+1 4255550142"},
                {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
                 "id": "fay-authenticator-0001", "displayName": "iPhone 15"},
                {"@odata.type": FUTURE, "id": "fay-widget-0001",
                 "createdDateTime": "2026-10-01T00:00:00Z"}
            ]
        }]
    })
}

#[test]
fn a_method_of_an_unknown_type_is_kept_shown_and_never_called_clean() {
    let t = Scenario::with_tenant("default-unknown-type", &future_tenant());
    let listed: Vec<Value> = t.before.values().cloned().collect();
    let input = t.write_list(&listed);
    let label = format!("unknown ({FUTURE})");

    // An incident removes every type: the user is not clean, and the plan says why.
    let run = t
        .mfa(&[
            "apply",
            input.to_str().unwrap(),
            "--profile",
            "incident",
            "--yes",
        ])
        .args(&["--out", t.out().arg()])
        .run();
    run.expect_code(1);
    let rows = t.out().rows();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["status"], "blocked", "{row}");
    assert!(row["reason"].as_str().unwrap().contains(&label), "{row}");
    assert_eq!(
        t.out().plan()["entries"][0]["status"],
        "blocked",
        "the plan already says so"
    );
    for report in ["summary.md", "report.html"] {
        let text = std::fs::read_to_string(t.out().join(report)).unwrap();
        assert!(
            text.contains("futureWidgetAuthenticationMethod"),
            "{report}"
        );
    }
    // Everything else went; the unknown method stays; sessions were revoked.
    let now = &t.users()[id_of(&listed[0])];
    let ids: Vec<&str> = methods(now)
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [PASSWORD, "fay-widget-0001"]);
    assert_ne!(
        now["signInSessionsValidFromDateTime"],
        listed[0]["signInSessionsValidFromDateTime"]
    );

    // A device refresh removes only phones, Authenticator and OATH: the unknown method is
    // kept like a FIDO2 key, and shown among what remains.
    let t = Scenario::with_tenant("default-unknown-type-refresh", &future_tenant());
    let run = t
        .mfa(&[
            "apply",
            input.to_str().unwrap(),
            "--profile",
            "device-refresh",
            "--yes",
        ])
        .args(&["--out", t.out().arg()])
        .run();
    run.expect_code(0);
    let row = &t.out().rows()[0];
    assert_eq!(row["status"], "done", "{row}");
    let kept: Vec<&str> = row["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect();
    assert!(kept.contains(&label.as_str()), "{kept:?}");
}

#[test]
fn a_device_refresh_unassigns_a_hardware_token_and_verifies_it_through_beta() {
    let config = mfa_reset::sim::SimConfig {
        log_requests: true,
        ..crate::support::scenario::rules()
    };
    let t = Scenario::start("default-hardware-token", config);
    let erin = t.users_by_id(&[crate::support::ERIN]);
    let input = t.write_list(&erin);
    t.apply(&input, crate::support::oracle::Profile::DeviceRefresh)
        .yes()
        .run()
        .expect_code(0);
    let row = &t.out().rows()[0];
    assert_eq!(row["status"], "done", "{row}");
    let labels = |field: &str| -> Vec<String> {
        row[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["label"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(labels("removed").contains(&"hardware OATH token \"Token 204611\"".to_string()));
    // What remains, as the re-read after the removals found it: the external method and
    // the QR code PIN are kept by a device refresh, the hardware token is gone.
    assert_eq!(
        labels("remaining"),
        [
            "password",
            "external MFA method \"Contoso external MFA\"",
            "QR code PIN"
        ]
    );
    let log = t.sim.requests().expect("the log is on");
    let at = |method: &str, end: &str| {
        log.iter()
            .rposition(|r| r.method == method && r.version == "beta" && r.url.ends_with(end))
            .unwrap_or_else(|| panic!("no {method} …{end}"))
    };
    assert!(
        at("DELETE", "/hardwareOathMethods/erin-hwoath-0001")
            < at("GET", "/authentication/hardwareOathMethods"),
        "the hardware tokens are read again after the removal"
    );
}
