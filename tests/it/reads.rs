//! What `plan` reads of the tenant, as the emulator's request log shows it: only what the
//! policy decides with (methods, hardware tokens and the default when it removes methods;
//! roles when admins are protected), and the keys resolved fifteen to a list request.
//! The plans so made apply without drift, and their reports never say "kept nothing" of
//! methods that were not read.

use std::path::PathBuf;

use mfa_reset::sim::SimConfig;
use mfa_reset::sim::observe::ReceivedRequest;
use serde_json::Value;

use crate::support::scenario::{Scenario, generated, rules};
use crate::support::{ADMIN, CAROL, s};

/// One kind of request the plan may send about users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// `GET /users?$filter=id in (...)` or `userPrincipalName in (...)`.
    Group,
    /// `GET /users/{key}` (or `/users('{key}')`), one user.
    One,
    Methods,
    HardwareOath,
    Default,
    Roles,
}

fn read_of(r: &ReceivedRequest) -> Option<Read> {
    if r.method != "GET" {
        return None;
    }
    let (path, query) = r.url.split_once('?').unwrap_or((&r.url, ""));
    if path == "/users" {
        let filter = query.split('&').find_map(|p| p.strip_prefix("$filter="))?;
        return (filter.starts_with("id+in+") || filter.starts_with("userPrincipalName+in+"))
            .then_some(Read::Group);
    }
    if path.ends_with("/authentication/methods") {
        Some(Read::Methods)
    } else if path.ends_with("/authentication/hardwareOathMethods") {
        Some(Read::HardwareOath)
    } else if path.ends_with("/authentication/signInPreferences") {
        Some(Read::Default)
    } else if path.contains("/transitiveMemberOf/") {
        Some(Read::Roles)
    } else if path.starts_with("/users/") && path[7..].split('/').count() == 1
        || path.starts_with("/users('") && path.ends_with("')")
    {
        Some(Read::One)
    } else {
        None
    }
}

/// How many requests of `kind` the emulator received so far.
fn count(t: &Scenario, kind: Read) -> usize {
    let log = t.sim.requests().expect("the log is on");
    log.iter().filter(|r| read_of(r) == Some(kind)).count()
}

fn logged(name: &str, config: SimConfig) -> Scenario {
    Scenario::start(
        name,
        SimConfig {
            log_requests: true,
            ..config
        },
    )
}

/// Every user of the rules tenant by UPN (a quote, a guest's `#EXT#`, a `$`), one a row.
fn every_user_by_upn(t: &Scenario) -> PathBuf {
    let users: Vec<Value> = t.before.values().cloned().collect();
    t.write_list(&users)
}

/// `plan INPUT FLAGS --out plan/`, exit code checked.
fn plan(t: &Scenario, input: &std::path::Path, flags: &[&str], code: i32) -> String {
    let run = t
        .mfa(&["plan", s(input)])
        .args(flags)
        .args(&["--out", t.planned().arg()])
        .run();
    run.expect_code(code);
    run.output()
}

/// The plan's users, by UPN: their status and their snapshot.
fn planned(t: &Scenario) -> Vec<(String, String, Value)> {
    t.planned()
        .plan()
        .get("entries")
        .and_then(Value::as_array)
        .expect("the plan's entries")
        .iter()
        .map(|e| {
            (
                e["before"]["userPrincipalName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["status"].as_str().unwrap_or_default().to_string(),
                e["before"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_plan_that_only_revokes_reads_no_method_nor_default_and_needs_no_method_permission() {
    let t = logged("revoke-only", rules());
    let input = every_user_by_upn(&t);
    let output = plan(&t, &input, &["--revoke-sessions"], 0);
    let users = t.before.len();
    assert_eq!(count(&t, Read::Methods), 0);
    assert_eq!(count(&t, Read::HardwareOath), 0);
    assert_eq!(count(&t, Read::Default), 0);
    // Admins are protected: their roles are read, one request a user.
    assert_eq!(count(&t, Read::Roles), users);
    // The nine UPNs, quote, guest and `$` included, in one list request.
    assert_eq!(count(&t, Read::Group), 1);
    assert_eq!(count(&t, Read::One), 0);
    let entries = planned(&t);
    assert_eq!(entries.len(), users);
    for (upn, status, before) in &entries {
        assert_eq!(before["methodsUnread"], true, "{upn}: {before}");
        assert!(before.get("rolesUnread").is_none(), "{upn}: {before}");
        let wanted = if before["id"] == ADMIN {
            "protected"
        } else {
            "planned"
        };
        assert_eq!(status, wanted, "{upn}");
    }
    for upn in [
        "bob.o'neil@contoso.example",
        "guest_fabrikam.example#EXT#@contoso.example",
        "$svc-backup@contoso.example",
    ] {
        assert!(entries.iter().any(|(u, _, _)| u == upn), "{upn} not found");
    }
    // The permissions the plan lists: no UserAuthenticationMethod permission.
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    for text in [output.as_str(), summary.as_str()] {
        assert!(text.contains("User.Read.All"), "{text}");
        assert!(text.contains("User.RevokeSessions.All"), "{text}");
        assert!(!text.contains("UserAuthenticationMethod"), "{text}");
    }

    // The plan applies without drift, and the run reads no method either.
    let before = t.sim.requests().unwrap().len();
    t.apply_plan().yes().run().expect_code(0);
    let rows = t.out().rows();
    for row in &rows {
        let wanted = if row["userId"] == ADMIN {
            "protected"
        } else {
            "done"
        };
        assert_eq!(row["status"], wanted, "{row}");
    }
    let during_apply = &t.sim.requests().unwrap()[before..];
    assert!(
        !during_apply
            .iter()
            .any(|r| matches!(read_of(r), Some(Read::Methods | Read::HardwareOath))),
        "the run read methods"
    );
    // The kept column says the methods were not read, not that nothing was kept.
    let csv = t.out().csv();
    assert!(
        csv.iter()
            .filter(|r| r["status"] == "done")
            .all(|r| r["kept"] == "not read (the policy removes no method)"),
        "{csv:?}"
    );
}

#[test]
fn include_admins_reads_no_role_and_a_removal_still_reads_the_methods() {
    let t = logged("include-admins", rules());
    let input = every_user_by_upn(&t);
    plan(
        &t,
        &input,
        &["--profile", "device-refresh", "--include-admins"],
        0,
    );
    let users = t.before.len();
    assert_eq!(count(&t, Read::Roles), 0);
    assert_eq!(count(&t, Read::Methods), users);
    assert_eq!(count(&t, Read::HardwareOath), users);
    assert_eq!(count(&t, Read::Default), users);
    let entries = planned(&t);
    let (_, status, admin) = entries
        .iter()
        .find(|(_, _, b)| b["id"] == ADMIN)
        .expect("the admin is in the plan");
    // Not protected, and its methods are there to be removed.
    assert_eq!(status, "planned");
    assert_eq!(admin["rolesUnread"], true);
    assert!(admin.get("methodsUnread").is_none(), "{admin}");
    assert!(!admin["methods"].as_array().unwrap().is_empty());
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    assert!(
        summary.contains("`User.Read.All` (find each user)"),
        "{summary}"
    );
}

#[test]
fn a_pass_alone_reads_no_method_and_applies_without_drift() {
    let t = logged("tap-only", rules());
    // Carol holds a pass already: the plan does not see it, and it is no drift.
    let carol = t.users_by_id(&[CAROL]);
    let input = t.write_list(&carol);
    plan(&t, &input, &["--issue-tap", "--include-admins"], 0);
    assert_eq!(count(&t, Read::Methods), 0);
    assert_eq!(count(&t, Read::Default), 0);
    assert_eq!(count(&t, Read::Roles), 0);
    let entries = planned(&t);
    assert_eq!(entries[0].1, "planned");
    t.apply_plan().yes().run().expect_code(0);
    let rows = t.out().rows();
    assert_eq!(rows[0]["status"], "done", "{}", rows[0]);
    assert_eq!(rows[0]["tapIssued"], true);
    assert_eq!(rows[0]["methodsUnread"], true);
    assert_eq!(t.out().taps().len(), 1);
}

#[test]
fn forty_keys_resolve_in_three_list_requests_and_a_missing_one_is_not_found() {
    let t = logged("forty-keys", generated(60, 11));
    let mut text = String::from("id\n");
    let ids: Vec<&str> = t.before.keys().map(String::as_str).take(39).collect();
    assert_eq!(ids.len(), 39);
    for id in &ids {
        text.push_str(&format!("{id}\n"));
    }
    const MISSING: &str = "bbbbbbbb-0000-4000-8000-00000000dead";
    text.push_str(&format!("{MISSING}\n"));
    let input = t.write("users.csv", text);
    plan(&t, &input, &["--revoke-sessions", "--include-admins"], 1);
    assert_eq!(count(&t, Read::Group), 3);
    assert_eq!(count(&t, Read::One), 0);
    let statuses = t.planned().statuses();
    assert_eq!(statuses.len(), 40);
    assert_eq!(statuses[39], "not-found");
    assert!(
        statuses[..39].iter().all(|s| s == "planned"),
        "{statuses:?}"
    );
    let rows = t.planned().rows();
    for (row, id) in rows.iter().zip(&ids) {
        assert_eq!(row["userId"], *id, "{row}");
    }
}
