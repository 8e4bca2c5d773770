//! The guardrails: a large run without `--yes`, policy flags with a plan, a folder that
//! holds a run, two runs on one folder; and least privilege: the permissions a plan
//! lists, and a refusal naming the missing one.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::oracle::Profile;
use crate::support::process::wait_until;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{id_of, is_admin, ordinary};

#[test]
fn a_large_run_without_yes_and_no_terminal_is_refused_and_changes_nothing() {
    let t = Scenario::start("no-yes", generated(80, 71));
    let input = t.write_list(&ordinary(&t.before, 15));
    let run = t.apply(&input, Profile::DeviceRefresh).run();
    run.expect_code(2);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(
        run.stderr.contains("15"),
        "names the number of users: {}",
        run.stderr
    );
    assert!(t.mutations().is_empty());
    assert_eq!(t.users(), t.before);
    assert!(!t.out().join("journal.jsonl").exists());
}

#[test]
fn policy_flags_with_a_plan_are_refused() {
    let t = Scenario::start("plan-flags", generated(40, 72));
    let input = t.write_list(&ordinary(&t.before, 3));
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    let run = t.apply_plan().args(&["--profile", "incident"]).yes().run();
    run.expect_code(2);
    assert!(run.stderr.contains("policy"), "{}", run.stderr);
    // The flags that only planning reads are refused too, not silently ignored.
    for flag in [
        &["--skip-invalid"][..],
        &["--column", "upn"],
        &["--exclude", "x.csv"],
    ] {
        let run = t.apply_plan().args(flag).yes().run();
        run.expect_code(2);
        assert!(run.stderr.contains(flag[0]), "{flag:?}: {}", run.stderr);
    }
    assert!(t.mutations().is_empty());
}

#[test]
fn applying_into_a_folder_that_holds_a_run_is_refused_and_names_resume() {
    let t = Scenario::start("folder-taken", generated(40, 73));
    let input = t.write_list(&ordinary(&t.before, 3));
    t.apply(&input, Profile::DeviceRefresh).run().expect_code(0);
    let changes = t.mutations().len();
    let journal = std::fs::read(t.out().join("journal.jsonl")).unwrap();
    let run = t.apply(&input, Profile::DeviceRefresh).run();
    run.expect_code(2);
    assert!(run.stderr.contains("mfa-reset resume"), "{}", run.stderr);
    assert_eq!(t.mutations().len(), changes);
    assert_eq!(
        std::fs::read(t.out().join("journal.jsonl")).unwrap(),
        journal
    );
}

#[test]
fn a_second_run_on_the_same_folder_is_refused_while_the_first_runs() {
    let t = Scenario::start("locked", generated(200, 74));
    let listed = ordinary(&t.before, 100);
    let input = t.write_list(&listed);
    // One write a second after the first burst: this run cannot finish during the test.
    let apply = || t.apply(&input, Profile::Incident).yes();
    let mut slow = apply().budget("1/1s").spawn("slow");
    // An incident contains from the list first: its log has its start and a revocation.
    let log = t.out().join("containment.jsonl");
    let lines = || {
        std::fs::read_to_string(&log)
            .map(|text| text.lines().count())
            .unwrap_or(0)
    };
    wait_until("the slow run started", || {
        lines() >= 2 || !slow.is_running()
    });
    assert!(slow.is_running(), "the slow run ended: {}", slow.stderr());
    let second = t.resume().run();
    let third = apply().run();
    assert!(slow.is_running(), "the slow run is still running");
    slow.kill_9();
    second.expect_code(2);
    assert!(
        second.stderr.contains("another mfa-reset run"),
        "{}",
        second.stderr
    );
    third.expect_code(2);

    // A killed run leaves no stale lock: resume (faster now) finishes it.
    t.resume().budget("5000/1s").run().expect_code(0);
    let rows = t.out().rows();
    assert_eq!(rows.len(), listed.len());
    assert!(rows.iter().all(|r| r["status"] == "done"), "{rows:#?}");
}

#[test]
fn plan_lists_the_permissions_and_a_refusal_names_the_missing_one() {
    // The emulated app holds no privileged role: Graph refuses changes to administrators
    // with 403, as Entra does for an app with only the permissions.
    let t = Scenario::start("privilege", generated(300, 81));
    let admins: Vec<Value> = t
        .before
        .values()
        .filter(|u| is_admin(u))
        .take(2)
        .cloned()
        .collect();
    assert!(
        !admins.is_empty(),
        "the generated tenant has administrators"
    );
    let listed: Vec<Value> = admins
        .iter()
        .cloned()
        .chain(ordinary(&t.before, 3))
        .collect();
    let input = t.write_list(&listed);
    let planned = t
        .plan(&input, Profile::Offboard)
        .args(&["--include-admins"])
        .run();
    planned.expect_code(0);
    for permission in [
        "User.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "User.RevokeSessions.All",
        "User.EnableDisableAccount.All",
    ] {
        assert!(
            planned.stderr.contains(permission),
            "{permission}: {}",
            planned.stderr
        );
        let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
        assert!(
            summary.contains(&format!("`{permission}`")),
            "{permission} in summary.md"
        );
    }
    assert!(
        !planned.stderr.contains("UserAuthenticationMethod.Read.All"),
        "a policy that removes methods needs ReadWrite, not also Read: {}",
        planned.stderr
    );

    t.apply_plan().yes().run().expect_code(1);
    let rows = t.out().rows();
    assert_eq!(rows.len(), listed.len());
    for (u, row) in listed.iter().zip(&rows) {
        let message = row["errorMessage"].as_str().unwrap_or_default();
        if is_admin(u) {
            assert_eq!(row["status"], "failed", "{row}");
            // The refusal names the permission of the step Graph refused, and the role an
            // administrator target needs on top.
            let named = [
                "User.EnableDisableAccount.All",
                "User.RevokeSessions.All",
                "UserAuthenticationMethod.ReadWrite.All",
            ]
            .iter()
            .any(|p| message.contains(&format!("application permission {p}")));
            assert!(
                named && message.contains("Privileged Authentication Administrator"),
                "{message}"
            );
        } else {
            assert_eq!(row["status"], "done", "{row}");
            assert!(message.is_empty(), "{row}");
        }
    }
    // Nothing at all reached an administrator.
    let admin_ids: BTreeSet<&str> = admins.iter().map(id_of).collect();
    let mutations = t.mutations();
    assert!(
        mutations
            .iter()
            .all(|m| !admin_ids.contains(m["userId"].as_str().unwrap_or_default())),
        "{mutations:?}"
    );
}
