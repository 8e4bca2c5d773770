//! Which tenant: the plan records the tenant its credential is for (a ready token's `tid`,
//! or the organisation Graph shows), the reports and `results.jsonl` name it, `apply`
//! refuses a plan made for another tenant and a plan whose fingerprint is not the approved
//! one, and `--tenant ID|DOMAIN` picks the credential's tenant instead of
//! `AZURE_TENANT_ID`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_reset::secret::Secret;
use mfa_reset::sim::SimConfig;
use serde_json::Value;

use crate::support::oracle::Profile;
use crate::support::scenario::{Auth, Scenario, app_with_secret, generated};
use crate::support::users;

/// The tenant a ready token names in these tests: not the emulator's own.
const OTHER_TENANT: &str = "5e7a1f00-0b0b-4c0c-8d0d-00000000beef";
const SECRET: &str = "tenant-test-secret";

/// A JWT-shaped ready token naming tenant `tid` (the signature is never checked here:
/// the emulator knows the token by its value, and mfa-reset only reads the claim).
fn token_for(tid: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"aud":"https://graph.microsoft.com","tid":"{tid}"}}"#
        ))
    )
}

/// An emulator whose ready token names `OTHER_TENANT` and whose app also has a client
/// secret (its tokens name the emulator's own tenant).
fn scenario(name: &str) -> (Scenario, Vec<Value>) {
    let t = Scenario::start(
        name,
        SimConfig {
            apps: vec![app_with_secret(SECRET)],
            static_token: Some(Secret::new(token_for(OTHER_TENANT))),
            ..generated(100, 190)
        },
    );
    let listed = users::ordinary(&t.before, 5);
    (t, listed)
}

#[test]
fn a_ready_tokens_tid_is_the_plans_tenant_and_every_report_names_it() {
    let (t, listed) = scenario("tenant-tid");
    let input = t.write_list(&listed);
    let plan = t.plan(&input, Profile::DeviceRefresh).run();
    plan.expect_code(0);
    assert!(
        plan.stderr
            .contains(&format!("tenant: tenant {OTHER_TENANT}")),
        "{}",
        plan.stderr
    );
    let header = t.planned().plan();
    assert_eq!(header["tenant"]["id"], OTHER_TENANT);
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!("| Tenant | tenant {OTHER_TENANT} |")),
        "{summary}"
    );
    let html = std::fs::read_to_string(t.planned().join("report.html")).unwrap();
    assert!(
        html.contains(OTHER_TENANT),
        "the plan's report names the tenant"
    );
    for row in t.planned().rows() {
        assert_eq!(row["tenantId"], OTHER_TENANT, "{row}");
    }
}

#[test]
fn the_organisation_names_the_tenant_when_the_token_does_not() {
    let t = Scenario::start("tenant-organization", generated(100, 191));
    let listed = users::ordinary(&t.before, 3);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::DeviceRefresh)
        .yes()
        .run()
        .expect_code(0);
    let tenant = &t.out().plan()["tenant"];
    assert_eq!(tenant["id"], t.sim.tenant_id(), "{tenant}");
    assert_eq!(tenant["displayName"], "Emulated tenant", "{tenant}");
    assert!(tenant["defaultDomain"].as_str().is_some(), "{tenant}");
    let run = std::fs::read_to_string(t.out().join("run.json")).unwrap();
    assert!(run.contains(t.sim.tenant_id()), "{run}");
    let summary = std::fs::read_to_string(t.out().join("summary.md")).unwrap();
    assert!(summary.contains("Emulated tenant"), "{summary}");
    for row in t.out().rows() {
        assert_eq!(row["tenantId"], t.sim.tenant_id(), "{row}");
    }
}

#[test]
fn a_plan_made_for_one_tenant_is_refused_with_another_tenants_credential() {
    let (t, listed) = scenario("tenant-other");
    let input = t.write_list(&listed);
    // Made with the token of OTHER_TENANT...
    t.plan(&input, Profile::Incident).run().expect_code(0);
    // ...applied with the emulator's own tenant's credential: refused, nothing changed.
    let refused = t.apply_plan().auth(Auth::Secret(SECRET.into())).yes().run();
    refused.expect_code(2);
    assert!(
        refused.stderr.contains(&format!(
            "this plan was made for tenant {OTHER_TENANT}, but the credential is for"
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(t.sim.tenant_id()),
        "{}",
        refused.stderr
    );
    assert!(t.mutations().is_empty(), "nothing changed");
    // The tenant it was made for goes on.
    t.apply_plan().yes().run().expect_code(0);
    assert!(!t.mutations().is_empty());
}

#[test]
fn apply_refuses_a_plan_whose_fingerprint_is_not_the_approved_one() {
    let (t, listed) = scenario("tenant-fingerprint");
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    let fingerprint = t.planned().plan()["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let html = std::fs::read_to_string(t.planned().join("report.html")).unwrap();
    assert!(
        html.contains(&format!(
            "<code id=\"sign-fingerprint\">{fingerprint}</code>"
        )),
        "the fingerprint is shown where the board signs"
    );
    let wrong = format!("sha256:{}", "0".repeat(64));
    let refused = t
        .apply_plan()
        .args(&["--expect-fingerprint", &wrong])
        .yes()
        .run();
    refused.expect_code(2);
    assert!(
        refused.stderr.contains(&format!(
            "the plan's fingerprint is {fingerprint}, not the approved {wrong}"
        )),
        "{}",
        refused.stderr
    );
    assert!(t.mutations().is_empty(), "nothing changed");
    // From a list there is no approved plan to check: refused before anything is read.
    let from_list = t
        .apply(&input, Profile::DeviceRefresh)
        .args(&["--expect-fingerprint", &fingerprint])
        .yes()
        .run();
    from_list.expect_code(2);
    assert!(
        from_list
            .stderr
            .contains("--expect-fingerprint checks a plan file")
    );
    assert!(t.mutations().is_empty(), "nothing changed");
    // The approved one (its prefix and case do not matter) goes on.
    t.apply_plan()
        .args(&["--expect-fingerprint", &fingerprint.to_uppercase()])
        .yes()
        .run()
        .expect_code(0);
    assert!(!t.mutations().is_empty());
}

#[test]
fn the_confirmation_and_the_last_line_before_the_first_write_name_the_tenant() {
    let t = Scenario::start("tenant-confirm", generated(100, 192));
    let listed = users::ordinary(&t.before, 3);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    // No terminal to confirm on: refused, and the message names the tenant.
    let unconfirmed = t.apply_plan().args(&["--confirm-above", "0"]).run();
    unconfirmed.expect_code(2);
    assert!(
        unconfirmed
            .stderr
            .contains("this run changes 3 users of Emulated tenant")
            && unconfirmed.stderr.contains(t.sim.tenant_id()),
        "{}",
        unconfirmed.stderr
    );
    assert!(t.mutations().is_empty());
    let run = t.apply_plan().yes().run();
    run.expect_code(0);
    let announced = run
        .stderr
        .lines()
        .find(|l| l.starts_with("mfa-reset: applying to "))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(announced.contains(t.sim.tenant_id()), "{announced}");
    assert!(announced.contains("3 users"), "{announced}");
}

#[test]
fn tenant_names_the_credentials_tenant_instead_of_azure_tenant_id() {
    let t = Scenario::start(
        "tenant-flag",
        SimConfig {
            apps: vec![app_with_secret(SECRET)],
            ..generated(100, 193)
        },
    );
    let listed = users::ordinary(&t.before, 2);
    let input = t.write_list(&listed);
    let out = t.dir.join("wrong-tenant");
    // AZURE_TENANT_ID names a tenant the login service does not know.
    let plan = |extra: &[&str]| {
        t.mfa(&[
            "plan",
            input.to_str().unwrap(),
            "--profile",
            "device-refresh",
        ])
        .args(&["--out", out.to_str().unwrap()])
        .args(extra)
        .auth(Auth::Secret(SECRET.into()))
        .env("AZURE_TENANT_ID", "nowhere.example")
        .run()
    };
    plan(&[]).expect_code(3);
    // --tenant names the right one instead.
    plan(&["--tenant", t.sim.tenant_id()]).expect_code(0);
    assert_eq!(
        crate::support::folder::Folder(out.clone()).plan()["tenant"]["id"],
        t.sim.tenant_id()
    );
    // A multi-tenant alias names no one tenant.
    let alias = t
        .mfa(&[
            "plan",
            input.to_str().unwrap(),
            "--profile",
            "device-refresh",
        ])
        .args(&[
            "--out",
            t.dir.join("alias").to_str().unwrap(),
            "--tenant",
            "common",
        ])
        .run();
    alias.expect_code(2);
    assert!(alias.stderr.contains("--tenant"), "{}", alias.stderr);
}
