//! Graph misbehaving under a run (failures, ghost writes, a tight quota), and users
//! changed by someone else between the plan and the run (drifted, left alone).

use std::collections::BTreeSet;

use mfa_reset::sim::SimConfig;
use serde_json::json;

use crate::support::oracle::{Profile, exit_for, expect};
use crate::support::scenario::{Scenario, generated, rules, write_quota};
use crate::support::users::{self, id_of, is_enabled, method_ids, upn};
use crate::support::{ALICE, BOB, CAROL, DORA, MOBILE};

#[test]
fn failures_and_ghost_writes_under_a_tight_quota_end_done_without_early_retries() {
    // 50 writes per 150 s, 300 times faster: 100 writes a second, the client's budget
    // too; the emulator's bucket holds only 50, so the client's first burst meets 429s.
    let t = Scenario::start(
        "faults",
        SimConfig {
            quotas: Some(write_quota(50.0)),
            time_scale: 300.0,
            fail_rate: 0.05,
            ghost_write_rate: 0.01,
            seed: 61,
            ..generated(160, 61)
        },
    );
    let listed = users::some(&t.before, 120);
    let input = t.write_list(&listed);
    let run = t
        .apply(&input, Profile::Offboard)
        .yes()
        .budget("100/1s")
        .run();
    // Synced users are blocked (their accounts cannot be disabled in the cloud): exit 1
    // when the list holds one.
    run.expect_code(exit_for(
        listed.iter().map(|u| expect(Profile::Offboard, u).status),
    ));
    let stats = t.sim.stats();
    assert_eq!(stats["earlyRetries"], 0, "{stats}");
    let faults = &stats["faults"];
    assert!(
        faults["failedRequests"].as_u64().unwrap() + faults["droppedConnections"].as_u64().unwrap()
            > 0,
        "no fault was injected: {stats}"
    );
    let rows = t.out().rows();
    assert_eq!(rows.len(), listed.len());
    for (u, row) in listed.iter().zip(&rows) {
        let e = expect(Profile::Offboard, u);
        assert_eq!(row["status"], e.status, "{row}");
    }
    // Ghost writes were applied although Graph said 504: the end state is still right, and
    // a removal answered 404 on its retry counts as removed.
    let after = t.users();
    for u in &listed {
        let e = expect(Profile::Offboard, u);
        let now = &after[id_of(u)];
        assert!(method_ids(now).is_disjoint(&e.deleted), "{}", upn(u));
        assert_eq!(is_enabled(now), is_enabled(u) && !e.disable, "{}", upn(u));
    }
    assert!(
        rows.iter()
            .all(|r| r["status"] != "failed" && r["status"] != "partial")
    );
}

#[test]
fn users_changed_between_plan_and_apply_are_drifted_and_left_alone() {
    let t = Scenario::start("drift", rules());
    let listed = t.users_by_id(&[ALICE, BOB, CAROL, DORA]);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh.with_tap())
        .run()
        .expect_code(0);

    // Another admin acts after the plan: a pass for Bob, a kept key of Dora's removed.
    assert_eq!(
        t.graph(
            "POST",
            &format!("/users/{BOB}/authentication/temporaryAccessPassMethods"),
            Some(json!({"lifetimeInMinutes": 60})),
        ),
        201
    );
    assert_eq!(
        t.graph(
            "DELETE",
            &format!("/users/{DORA}/authentication/fido2Methods/dora-fido2-0001"),
            None,
        ),
        204
    );
    let changed = t.users();
    let seen = t.mutations().len();

    t.apply_plan().yes().run().expect_code(1);
    let out = t.out();
    let rows = out.rows();
    assert_eq!(
        out.statuses(),
        ["done", "drifted", "done", "drifted"],
        "{rows:#?}"
    );
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("changed since the plan"),
        "{}",
        rows[1]
    );
    let after = t.users();
    for id in [BOB, DORA] {
        assert_eq!(after[id], changed[id], "nothing changed for a drifted user");
    }
    let mutations = t.mutations();
    let since = &mutations[seen..];
    assert!(
        since
            .iter()
            .all(|m| ![BOB, DORA].contains(&m["userId"].as_str().unwrap())),
        "{since:?}"
    );
    assert!(since.iter().any(|m| m["userId"] == ALICE));
    assert!(!method_ids(&after[ALICE]).contains(MOBILE));
    let taps = out.taps();
    let tapped: BTreeSet<&str> = taps.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(tapped, [ALICE, CAROL].into());
}
