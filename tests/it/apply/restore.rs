//! `mfa-reset restore` end to end against the emulator: an offboarding of users with
//! phones, email methods and defaults undone as far as Graph allows (the tenant compared
//! with the one before the run, method ids aside); a restore run twice (the second sends
//! nothing); a subset with `--users`; a run killed part-way (only what it did is undone);
//! and the phone numbers and addresses kept nowhere but `secrets/restore.jsonl`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::wait_for_journal;
use crate::support::folder::{Folder, records};
use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{
    self, Users, id_of, is_admin, is_enabled, is_synced, kind, methods, upn,
};

/// What a restore can put back of a user, method ids aside: enabled, phones by type with
/// their numbers, the email address, and the default when it points at a phone.
fn restorable_state(
    u: &Value,
) -> (
    bool,
    BTreeMap<String, String>,
    Option<String>,
    Option<String>,
) {
    let phones = methods(u)
        .iter()
        .filter(|m| kind(m) == "phone")
        .map(|m| {
            (
                m["phoneType"].as_str().unwrap_or_default().to_string(),
                m["phoneNumber"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let email = methods(u)
        .iter()
        .find(|m| kind(m) == "email")
        .and_then(|m| m["emailAddress"].as_str())
        .map(str::to_string);
    let default = u["defaultMethod"]
        .as_str()
        .filter(|d| ["sms", "voiceMobile", "voiceAlternateMobile", "voiceOffice"].contains(d))
        .map(str::to_string);
    (is_enabled(u), phones, email, default)
}

/// Users an offboarding changes and a restore can give something back: cloud-only,
/// enabled, not admins, with a phone or an email method.
fn with_phones_or_email(before: &Users, n: usize) -> Vec<Value> {
    let picked: Vec<Value> = before
        .values()
        .filter(|u| !is_admin(u) && is_enabled(u) && !is_synced(u))
        .filter(|u| {
            methods(u)
                .iter()
                .any(|m| matches!(kind(m), "phone" | "email"))
        })
        .take(n)
        .cloned()
        .collect();
    assert_eq!(
        picked.len(),
        n,
        "the generated tenant holds enough such users"
    );
    picked
}

/// Plans an offboarding of `listed` and applies it, as a change board would.
fn offboard(t: &Scenario, listed: &[Value]) {
    plan_and_apply(t, listed, Profile::Offboard.into());
}

/// Plans `policy` for `listed` and applies the plan.
fn plan_and_apply(t: &Scenario, listed: &[Value], policy: crate::support::oracle::Policy) {
    let list = t.write_list(listed);
    t.plan(&list, policy).run().expect_code(0);
    t.apply_plan().yes().run().expect_code(0);
}

fn restore(t: &Scenario, extra: &[&str]) -> crate::support::process::Run {
    t.mfa(&["restore", t.out().arg(), "--yes"])
        .args(extra)
        .run()
}

fn rows_of(folder: &std::path::Path) -> Vec<Value> {
    Folder(folder.to_path_buf()).rows()
}

#[test]
fn an_offboarding_is_undone_as_far_as_graph_allows() {
    let t = Scenario::start("restore-all", generated(1200, 301));
    let listed = with_phones_or_email(&t.before, 500);
    offboard(&t, &listed);
    let after_run = t.users();
    for u in &listed {
        let now = &after_run[id_of(u)];
        assert!(!is_enabled(now), "the run disabled {}", upn(u));
        assert!(
            !methods(now)
                .iter()
                .any(|m| matches!(kind(m), "phone" | "email")),
            "the run removed {}'s phones and email",
            upn(u)
        );
    }
    let run = restore(&t, &[]);
    run.expect_code(0);
    let now = t.users();
    let rows = rows_of(&t.out().join("restore"));
    assert_eq!(rows.len(), 500, "one row per user the run changed");
    let by_id: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["userId"].as_str().unwrap(), r))
        .collect();
    for u in &listed {
        let after = &now[id_of(u)];
        assert_eq!(restorable_state(after), restorable_state(u), "{}", upn(u));
        assert!(
            !methods(after)
                .iter()
                .any(|m| kind(m) == "temporaryAccessPass"),
            "the pass the run issued to {} is gone",
            upn(u)
        );
        // What an administrator cannot create again is named, user by user.
        let lost: usize = methods(u)
            .iter()
            .filter(|m| {
                !matches!(
                    kind(m),
                    "phone" | "email" | "password" | "temporaryAccessPass"
                )
            })
            .count();
        let row = by_id[id_of(u)];
        let cannot = row["cannotRestore"].as_array().unwrap();
        let named = cannot
            .iter()
            .filter(|c| c.as_str().unwrap().contains("cannot create it again"))
            .count();
        assert_eq!(named, lost, "{}: {row}", upn(u));
        assert_eq!(row["status"], "done", "{row}");
    }
    // Nobody else was touched by the restore.
    let listed_ids: BTreeSet<&str> = listed.iter().map(id_of).collect();
    for m in t.mutations() {
        let target = m["userId"]
            .as_str()
            .or(m["user"].as_str())
            .unwrap_or_default();
        if !target.is_empty() {
            assert!(listed_ids.contains(target), "{m}");
        }
    }
    let report = std::fs::read_to_string(t.out().join("restore/report.html")).unwrap();
    assert!(report.contains("cannot create it again"));

    // Run again: everything is back, nothing is sent.
    let seen = t.mutations().len();
    let again = restore(&t, &[]);
    again.expect_code(0);
    assert_eq!(
        t.mutations().len(),
        seen,
        "a second restore changes nothing"
    );
    let second = rows_of(&t.out().join("restore-2"));
    assert!(
        second.iter().all(|r| r["status"] == "no-change"),
        "{second:?}"
    );
}

#[test]
fn a_device_refresh_with_passes_is_undone_and_its_passes_deleted() {
    let t = Scenario::start("restore-passes", generated(300, 305));
    let listed = with_phones_or_email(&t.before, 30);
    plan_and_apply(&t, &listed, Profile::DeviceRefresh.with_tap());
    let after_run = t.users();
    let passes = |users: &Users, u: &Value| {
        methods(&users[id_of(u)])
            .iter()
            .filter(|m| kind(m) == "temporaryAccessPass")
            .count()
    };
    let issued = listed.iter().filter(|u| passes(&after_run, u) > 0).count();
    assert!(issued > 0, "the run issued passes");
    restore(&t, &[]).expect_code(0);
    let now = t.users();
    for u in &listed {
        assert_eq!(
            passes(&now, u),
            0,
            "the pass the run issued to {} is gone",
            upn(u)
        );
        assert_eq!(
            restorable_state(&now[id_of(u)]),
            restorable_state(u),
            "{}",
            upn(u)
        );
    }
}

#[test]
fn users_and_only_narrow_the_restore() {
    let t = Scenario::start("restore-subset", generated(300, 302));
    let listed = with_phones_or_email(&t.before, 10);
    offboard(&t, &listed);
    let after_run = t.users();
    let chosen = &listed[..3];
    let names = t.write_list_as("chosen.csv", chosen);
    // A dry run says what would come back, per user, and changes nothing.
    let seen = t.mutations().len();
    let dry = t
        .mfa(&["restore", t.out().arg(), "--dry-run", "--out"])
        .args(&[t.dir.join("dry").to_str().unwrap()])
        .run();
    dry.expect_code(0);
    assert_eq!(t.mutations().len(), seen);
    let planned = rows_of(&t.dir.join("dry"));
    assert_eq!(planned.len(), 10);
    assert!(
        planned.iter().all(|r| r["status"] == "planned"),
        "{planned:?}"
    );
    assert!(
        dry.stderr.contains("phone again") || dry.stderr.contains("email method again"),
        "{}",
        dry.stderr
    );
    let run = restore(
        &t,
        &[
            "--users",
            names.to_str().unwrap(),
            "--only",
            "phone,account",
        ],
    );
    run.expect_code(0);
    let now = t.users();
    for u in &listed {
        let (enabled, phones, email, _) = restorable_state(&now[id_of(u)]);
        let (was_enabled, had_phones, _, _) = restorable_state(u);
        if chosen.iter().any(|c| id_of(c) == id_of(u)) {
            assert_eq!((enabled, &phones), (was_enabled, &had_phones), "{}", upn(u));
            assert_eq!(
                email,
                None,
                "--only leaves the email method out: {}",
                upn(u)
            );
        } else {
            assert_eq!(now[id_of(u)], after_run[id_of(u)], "not chosen: {}", upn(u));
        }
    }
    assert_eq!(rows_of(&t.out().join("restore")).len(), 3);
    let bad = restore(&t, &["--only", "phones"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("--only \"phones\""), "{}", bad.stderr);
}

#[test]
fn a_run_killed_part_way_is_undone_only_as_far_as_it_went() {
    let t = Scenario::start("restore-killed", generated(400, 303));
    let listed = with_phones_or_email(&t.before, 120);
    let list = t.write_list(&listed);
    t.plan(&list, Profile::Offboard).run().expect_code(0);
    // User after user (no containment pass first), slowly: the kill leaves some users
    // done, some half-way and some untouched.
    let mut child = t
        .apply_plan()
        .yes()
        .args(&["--no-contain-first", "--max-in-flight", "1"])
        .budget("20/1s")
        .spawn("killed");
    let fired = wait_for_journal(&mut child, &t.out(), |lines| {
        records(lines, "finished").count() >= 3
    });
    assert!(fired, "the run was still going");
    child.kill_9();
    child.wait();
    let after_kill = t.users();
    let untouched: Vec<&Value> = listed
        .iter()
        .filter(|u| {
            let (now, before) = (&after_kill[id_of(u)], &t.before[id_of(u)]);
            restorable_state(now) == restorable_state(before)
                && users::method_ids(now) == users::method_ids(before)
        })
        .collect();
    assert!(!untouched.is_empty(), "the kill left some users untouched");
    let seen_before = t.mutations().len();
    // The restore paces as the run did unless told otherwise.
    restore(&t, &["--write-budget", "3000/150s", "--max-in-flight", "8"]).expect_code(0);
    let now = t.users();
    for u in &listed {
        assert_eq!(
            restorable_state(&now[id_of(u)]),
            restorable_state(u),
            "{}",
            upn(u)
        );
    }
    // The users the run never reached got no request from the restore.
    let untouched_ids: BTreeSet<&str> = untouched.iter().map(|u| id_of(u)).collect();
    for m in &t.mutations()[seen_before..] {
        let target = m["userId"]
            .as_str()
            .or(m["user"].as_str())
            .unwrap_or_default();
        assert!(!untouched_ids.contains(target), "{m}");
    }
}

#[test]
fn phone_numbers_and_addresses_live_only_in_the_restore_file() {
    let t = Scenario::start("restore-secrets", generated(200, 304));
    let listed = with_phones_or_email(&t.before, 20);
    offboard(&t, &listed);
    let log = t.dir.join("restore.log");
    let restored = restore(
        &t,
        &[
            "-o",
            "json",
            "--log-format",
            "json",
            "--log-file",
            log.to_str().unwrap(),
        ],
    );
    restored.expect_code(0);
    let needles: Vec<String> = listed
        .iter()
        .flat_map(|u| methods(u).to_vec())
        .filter_map(|m| {
            m["phoneNumber"]
                .as_str()
                .or(m["emailAddress"].as_str())
                .map(str::to_string)
        })
        .collect();
    assert!(!needles.is_empty());
    let kept = std::fs::read_to_string(t.out().join("secrets/restore.jsonl")).unwrap();
    assert!(
        needles.iter().all(|n| kept.contains(n.as_str())),
        "the file keeps them"
    );
    // Every file of the scenario: the list, the plan, the run, the restore.
    for file in Folder(t.dir.clone()).files() {
        if file.ends_with("secrets/restore.jsonl") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for n in &needles {
            assert!(!text.contains(n.as_str()), "{n} in {}", file.display());
        }
    }
    for n in &needles {
        assert!(
            !restored.output().contains(n.as_str()),
            "{n} in the restore's output"
        );
    }
}

#[test]
fn a_run_without_restore_data_keeps_none_and_the_restore_says_what_it_cannot_do() {
    let t = Scenario::start("restore-none", generated(200, 306));
    let listed = with_phones_or_email(&t.before, 5);
    let list = t.write_list(&listed);
    t.plan(&list, Profile::DeviceRefresh).run().expect_code(0);
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    assert!(
        summary.contains("| Restore data |"),
        "the plan says a run keeps it"
    );
    t.apply_plan()
        .yes()
        .args(&["--no-restore-data"])
        .run()
        .expect_code(0);
    assert!(!t.out().join("secrets/restore.jsonl").exists());
    let seen = t.mutations().len();
    let run = restore(&t, &[]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("kept no restore data"),
        "{}",
        run.stderr
    );
    assert_eq!(t.mutations().len(), seen, "nothing is guessed");
    for row in rows_of(&t.out().join("restore")) {
        let cannot = row["cannotRestore"].to_string();
        assert!(cannot.contains("no restore data was kept"), "{row}");
    }
}
