//! `mfa-reset apply` and `mfa-reset resume` end to end: the binary against an emulator
//! running in this test process, so that the emulated tenant outlives the child (killed,
//! interrupted or not) and the tests judge the run by the tenant's final state, the
//! emulator's mutation log and the run folder's files: each profile, kill -9 and resume,
//! Ctrl-C, faults, drift, the guardrails, least privilege, and plans edited by hand.
//!
//! Expectations are computed from the tenant as it was before the run
//! ([`crate::support::oracle`]), not read from the plan, so that the plan and the run
//! cannot agree on a mistake.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mfa_reset::sim::SimConfig;
use serde_json::{Value, json};

use crate::support::folder::{Folder, records};
use crate::support::oracle::{Profile, assert_deleted_once, assert_results, expect};
use crate::support::process::{Spawned, wait_until};
use crate::support::scenario::{Scenario, generated, mixed, rules, write_quota};
use crate::support::users::{
    self, by_user, count, id_of, ids_of, is_admin, is_enabled, kind, method_ids, methods, op,
    ordinary, upn,
};
use crate::support::{ALICE, ALTERNATE_MOBILE, BOB, CAROL, DORA, MOBILE, SYNCED, s};

/// Waits until `trigger` holds for the journal's complete lines, or the child ends.
/// `true` when the trigger fired (the child is still running), `false` when it ended.
fn wait_for_journal(
    child: &mut Spawned,
    out: &Folder,
    mut trigger: impl FnMut(&[String]) -> bool,
) -> bool {
    let mut fired = false;
    wait_until("the journal got there", || {
        fired = trigger(&out.journal());
        fired || !child.is_running()
    });
    fired
}

// ---- 1. each profile ----

/// The list for the profile tests: every rules-tenant user but one, then 25 generated
/// users; the other generated users are not listed.
fn profile_list(t: &Scenario, left_out: &str) -> Vec<Value> {
    let rules: Vec<Value> = t
        .before
        .values()
        .filter(|u| id_of(u).starts_with("aaaaaaaa-") && id_of(u) != left_out)
        .cloned()
        .collect();
    let generated: Vec<Value> = t
        .before
        .values()
        .filter(|u| !id_of(u).starts_with("aaaaaaaa-"))
        .take(25)
        .cloned()
        .collect();
    rules.into_iter().chain(generated).collect()
}

#[test]
fn device_refresh_with_passes_removes_phone_methods_and_keeps_the_rest() {
    let t = Scenario::start("device-refresh", mixed(60, 31));
    let listed = profile_list(&t, DORA);
    let input = t.write_list(&listed);
    let policy = Profile::DeviceRefresh.with_tap();
    let run = t.apply(&input, policy).yes().run();
    run.expect_code(0);
    let expected = t.assert_tenant_after(&listed, policy);
    t.assert_order(Profile::DeviceRefresh);
    // The rules users, by name: what the issue promises for each.
    assert_eq!(
        expected[ALICE].deleted,
        [MOBILE, ALTERNATE_MOBILE, "alice-authenticator-0001"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        expected[BOB].deleted,
        ["bob-authenticator-0001".to_string()].into()
    );
    let after = t.users();
    assert!(method_ids(&after[ALICE]).contains("alice-fido2-0001"));
    for keep in ["bob-fido2-0001", "bob-whfb-0001"] {
        assert!(method_ids(&after[BOB]).contains(keep));
    }
    assert!(
        !method_ids(&after[CAROL]).contains("carol-tap-0001"),
        "replaced by the new pass"
    );
    assert_eq!(
        expected
            .values()
            .filter(|e| e.status == "protected")
            .count(),
        1
    );
    let passes = assert_results(&t.out(), &listed, &expected);
    assert!(passes.len() >= 5, "{passes:?}");
    assert!(
        t.out().join("plan/plan.json").is_file(),
        "the plan is written first"
    );
    t.out()
        .assert_passes_only_in_tap_file(&passes, &[&run.stdout, &run.stderr]);
}

#[test]
fn incident_revokes_everyone_first_then_removes_every_method() {
    let t = Scenario::start("incident", mixed(60, 32));
    let listed = profile_list(&t, BOB);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::Incident)
        .yes()
        .run()
        .expect_code(0);
    let expected = t.assert_tenant_after(&listed, Profile::Incident);
    t.assert_order(Profile::Incident);
    // Contain first: every session revoked before any method is removed.
    let mutations = t.mutations();
    let last_revoke = mutations
        .iter()
        .rposition(|m| op(m) == "revokeSignInSessions")
        .expect("revocations");
    let first_delete = mutations
        .iter()
        .position(|m| op(m) == "deleteMethod")
        .expect("removals");
    assert!(last_revoke < first_delete, "containment first");
    let after = t.users();
    for id in [ALICE, CAROL, DORA] {
        let left: Vec<&str> = methods(&after[id]).iter().map(kind).collect();
        assert_eq!(left, ["password"], "{id}");
        assert!(is_enabled(&after[id]), "incident does not disable");
    }
    assert_results(&t.out(), &listed, &expected);
}

#[test]
fn offboard_from_a_plan_disables_revokes_and_clears_but_blocks_synced_users() {
    let t = Scenario::start("offboard", mixed(60, 33));
    let listed = profile_list(&t, CAROL);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::Offboard).run().expect_code(0);
    assert!(t.mutations().is_empty(), "a plan changes nothing");
    t.apply_plan().yes().run().expect_code(0);
    let expected = t.assert_tenant_after(&listed, Profile::Offboard);
    t.assert_order(Profile::Offboard);
    assert_eq!(expected[SYNCED].status, "blocked");
    let after = t.users();
    assert!(is_enabled(&after[SYNCED]));
    assert!(!is_enabled(&after[ALICE]));
    assert_eq!(method_ids(&after[SYNCED]), method_ids(&t.before[SYNCED]));
    assert_results(&t.out(), &listed, &expected);
}

/// Two Authenticator apps, the default sorting first: Graph v1.0 and beta say only
/// "push", the plan removes them in id order, and Graph refuses the default while the
/// other remains. The run must defer that removal and retry it after the others (as
/// `src/policy.rs` promises: "an unknown default costs at most one extra request").
#[test]
fn a_default_the_plan_could_not_tell_apart_is_removed_last() {
    let authenticator = |id: &str, name: &str| {
        json!({
            "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "id": id,
            "displayName": name,
        })
    };
    let t = Scenario::with_tenant(
        "ambiguous-default",
        &json!({
            "tenantId": "9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13",
            "users": [{
                "id": "bbbbbbbb-0000-4000-8000-000000000001",
                "userPrincipalName": "erin@contoso.example",
                "defaultMethod": "erin-authenticator-a",
                "methods": [
                    {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                     "id": "28c10230-6103-485e-b985-444c60001490"},
                    authenticator("erin-authenticator-a", "iPhone 12"),
                    authenticator("erin-authenticator-b", "Pixel 8"),
                    {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": MOBILE,
                     "phoneNumber": "+1 4255550111", "phoneType": "mobile"},
                ],
            }],
        }),
    );
    let listed: Vec<Value> = t.before.values().cloned().collect();
    let input = t.write_list(&listed);
    let run = t.apply(&input, Profile::DeviceRefresh).run();
    let rows = t.out().rows();
    assert_eq!(rows[0]["status"], "done", "{}\n{}", rows[0], run.stderr);
    run.expect_code(0);
    let expected = t.assert_tenant_after(&listed, Profile::DeviceRefresh);
    assert_results(&t.out(), &listed, &expected);
}

// ---- 2. kill -9 and resume ----

/// Where a kill lands, counted from where each attempt starts: journal lines; users
/// finished; or a pass's creation in flight (its intent journaled, no outcome yet).
#[derive(Debug)]
enum At {
    Lines(usize),
    Finished(usize),
    PassInFlight,
}

impl At {
    /// Whether the journal, `start` when the attempt started, has got there.
    fn reached(&self, start: &[String], lines: &[String]) -> bool {
        match self {
            At::Lines(k) => lines.len() >= start.len() + k,
            At::Finished(k) => {
                records(lines, "finished").count() >= records(start, "finished").count() + k
            }
            At::PassInFlight => {
                (lines.len() > start.len()
                    && lines
                        .last()
                        .is_some_and(|l| l.contains("\"record\":\"intent\"")))
                    || lines.len() >= start.len() + 400
            }
        }
    }
}

/// Runs `apply`, then `resume`, killing each attempt with SIGKILL at the next of `kills`
/// until one finishes first; then resumes until the run ends. Returns the kills that
/// landed and the last run.
fn kill_at_each_then_resume(
    t: &Scenario,
    input: &std::path::Path,
    kills: &[At],
) -> (usize, crate::support::process::Run) {
    let budget = "60/1s";
    let mut killed = 0;
    for (n, at) in kills.iter().enumerate() {
        let invocation = if n == 0 {
            t.apply(input, Profile::DeviceRefresh.with_tap()).yes()
        } else {
            t.resume()
        };
        let start = t.out().journal();
        let mut child = invocation.budget(budget).spawn(&format!("attempt-{n}"));
        let fired = wait_for_journal(&mut child, &t.out(), |lines| at.reached(&start, lines));
        if fired {
            child.kill_9();
            killed += 1;
        }
        let status = child.wait();
        if !fired {
            // It finished before the kill point: nothing left to kill.
            assert!(status.code().is_some(), "{at:?}: {status:?}");
            break;
        }
    }
    // Resume until the run ends (not interrupted).
    let mut last = None;
    for _ in 0..3 {
        let run = t.resume().budget(budget).run();
        assert!(
            matches!(run.code(), Some(0 | 1)),
            "{:?}\n{}",
            run.status,
            run.stderr
        );
        let pending = t.out().rows().iter().any(|r| r["status"] == "pending");
        last = Some(run);
        if !pending {
            break;
        }
    }
    (killed, last.expect("resumed"))
}

/// Every input row has exactly one result row, journaled as finished exactly once.
fn assert_each_row_finished_once(out: &Folder, rows: usize) {
    assert_eq!(out.rows().len(), rows);
    let lines = out.journal();
    let mut finished: BTreeMap<u64, usize> = BTreeMap::new();
    for l in records(&lines, "finished") {
        let v: Value = serde_json::from_str(l).unwrap();
        *finished
            .entry(v["outcome"]["row"].as_u64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(finished.len(), rows, "every row finished");
    assert!(
        finished.values().all(|n| *n == 1),
        "a row finished twice: {finished:?}"
    );
}

/// After kills: every listed user as planned, one pass per user at most and never a
/// second; a row killed while its pass was being created is `partial`. Returns how many
/// rows are.
fn assert_tenant_after_kills(t: &Scenario, listed: &[Value]) -> usize {
    let rows = t.out().rows();
    let after = t.users();
    let mutations = t.mutations();
    let by_user = by_user(&mutations);
    let mut partial = 0;
    for (i, u) in listed.iter().enumerate() {
        let id = id_of(u);
        let e = expect(Profile::DeviceRefresh.with_tap(), u);
        let who = format!("row {i} ({})", upn(u));
        let row = &rows[i];
        assert_eq!(row["row"], i);
        let status = row["status"].as_str().unwrap();
        if status == "partial" && e.tap {
            // Killed while the pass was being created: it exists, its pass may be lost,
            // and it is never created twice.
            partial += 1;
            assert!(
                row["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Temporary Access Pass"),
                "{who}: {row}"
            );
        } else {
            assert_eq!(status, e.status, "{who}: {row}");
        }
        let mine = by_user.get(id).cloned().unwrap_or_default();
        let taps = count(&mine, "createTemporaryAccessPass");
        assert_eq!(taps, usize::from(e.tap), "{who}: passes created");
        assert_deleted_once(&mine, &e, &who);
        let left: BTreeSet<String> = method_ids(u).difference(&e.deleted).cloned().collect();
        let now = method_ids(&after[id]);
        assert!(now.is_superset(&left), "{who}");
        assert_eq!(now.len(), left.len() + usize::from(e.tap), "{who}");
    }
    let listed_ids: BTreeSet<&str> = listed.iter().map(id_of).collect();
    assert!(
        mutations
            .iter()
            .all(|m| listed_ids.contains(m["userId"].as_str().unwrap()))
    );
    partial
}

/// Passes after kills: at most one row per user in `tap.csv`, every pass reported there,
/// none for a user without a pass; and no pass anywhere else. The output of the last run
/// is `logs`.
fn assert_passes_after_kills(t: &Scenario, listed: &[Value], logs: &[&str]) {
    let out = t.out();
    let taps = out.taps();
    let by_user = by_user(&t.mutations());
    let mut per_user: BTreeMap<&str, usize> = BTreeMap::new();
    for (user, _) in &taps {
        *per_user.entry(user.as_str()).or_default() += 1;
    }
    assert!(per_user.values().all(|n| *n == 1), "{per_user:?}");
    for (i, row) in out.rows().iter().enumerate() {
        if row["tapIssued"] == true {
            assert!(
                per_user.contains_key(id_of(&listed[i])),
                "row {i}: issued but not in tap.csv"
            );
        }
    }
    for user in per_user.keys() {
        assert!(count(&by_user[*user], "createTemporaryAccessPass") > 0);
    }
    let passes: Vec<String> = taps.into_iter().map(|(_, p)| p).collect();
    out.assert_passes_only_in_tap_file(&passes, logs);
}

#[test]
fn kill_9_at_any_moment_then_resume_finishes_every_row_once_and_never_repeats_a_pass() {
    let t = Scenario::start("kill", generated(220, 41));
    let listed = users::some(&t.before, 150);
    let input = t.write_list(&listed);
    let kills = [
        At::Lines(3),
        At::Lines(40),
        At::PassInFlight,
        At::Lines(150),
        At::Lines(1),
        At::Finished(10),
        At::PassInFlight,
        At::Finished(25),
        At::Lines(60),
    ];
    let (killed, last) = kill_at_each_then_resume(&t, &input, &kills);
    assert!(killed >= 4, "only {killed} kills landed");
    assert_each_row_finished_once(&t.out(), listed.len());
    let partial = assert_tenant_after_kills(&t, &listed);
    assert_eq!(
        last.code(),
        Some(if partial > 0 { 1 } else { 0 }),
        "{}",
        last.stderr
    );
    assert_passes_after_kills(&t, &listed, &[&last.stdout, &last.stderr]);
}

/// A kill -9 just after a pass's creation reached Graph and before its outcome was
/// journaled leaves exactly this journal: everything up to the pass's `intent`. The
/// journal is append-only, so cutting a finished run's journal there is that kill, made
/// exact. Resume must not create the pass again, must report what was done (the methods
/// removed) and that the pass may exist - for a user who had no pass before as for one
/// who had one (which Graph replaced when the new one was created).
#[test]
fn a_kill_while_a_pass_was_in_flight_never_creates_it_twice() {
    for (name, user) in [("alice", ALICE), ("carol", CAROL)] {
        let t = Scenario::start(&format!("pass-in-flight-{name}"), rules());
        let listed = t.users_by_id(&[user]);
        let input = t.write_list(&listed);
        let policy = Profile::DeviceRefresh.with_tap();
        t.apply(&input, policy).run().expect_code(0);
        let changes = t.mutations().len();

        // The kill: the journal up to the intent; no reports.
        let out = t.out();
        let lines = out.journal();
        let intent = lines
            .iter()
            .position(|l| l.contains("\"record\":\"intent\""))
            .expect("an intent");
        let cut = lines[..=intent].join("\n") + "\n";
        std::fs::write(out.join("journal.jsonl"), cut).unwrap();
        for report in ["results.csv", "results.jsonl", "summary.md", "report.html"] {
            std::fs::remove_file(out.join(report)).unwrap();
        }

        let run = t.resume().run();
        let mutations = t.mutations();
        let more = &mutations[changes..];
        assert!(more.is_empty(), "{name}: resume changed more: {more:?}");
        let rows = out.rows();
        let r = &rows[0];
        assert_eq!(r["status"], "partial", "{name}: {r}\n{}", run.stderr);
        let reason = r["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("Temporary Access Pass"), "{name}: {r}");
        let expected = expect(policy, &listed[0]);
        let done: BTreeSet<String> = ids_of(&r["removed"])
            .union(&ids_of(&r["alreadyRemoved"]))
            .cloned()
            .collect();
        assert_eq!(done, expected.deleted, "{name}: {r}");
        run.expect_code(1);
    }
}

// ---- 3. Ctrl-C ----

/// Starts `apply users.csv --profile incident --yes` at `write_budget`, sends it Ctrl-C
/// once `trigger` holds for its journal, and checks it stops with exit 4 and names
/// `resume`.
fn interrupt_incident_apply(
    t: &Scenario,
    input: &std::path::Path,
    write_budget: &str,
    trigger: impl FnMut(&[String]) -> bool,
) {
    let out = t.out();
    let mut child = t
        .apply(input, Profile::Incident)
        .yes()
        .budget(write_budget)
        .spawn("apply");
    let fired = wait_for_journal(&mut child, &out, trigger);
    assert!(fired, "the run ended before it could be interrupted");
    child.ctrl_c();
    child.expect_code(4);
    let stderr = child.stderr();
    assert!(
        stderr.contains(&format!("mfa-reset resume {}", out.arg())),
        "{stderr}"
    );
}

/// Resumes the interrupted run to the end: the tenant and the results as if it had never
/// been interrupted.
fn resume_to_the_end(t: &Scenario, listed: &[Value]) {
    t.resume().budget("2000/1s").run().expect_code(0);
    let expected = t.assert_tenant_after(listed, Profile::Incident);
    let rows = t.out().rows();
    assert!(rows.iter().all(|r| r["status"] != "pending"));
    for (u, row) in listed.iter().zip(&rows) {
        assert_eq!(row["status"], expected[id_of(u)].status, "{row}");
    }
}

#[test]
fn ctrl_c_stops_cleanly_with_exit_4_and_resume_finishes() {
    let t = Scenario::start("ctrl-c", generated(160, 51));
    let listed = users::some(&t.before, 120);
    let input = t.write_list(&listed);
    // Interrupted once a few users are finished: with --contain-first, after every
    // session is revoked and during the removals. The rows the plan settled are journaled
    // as finished before the first step.
    let mut settled = None;
    interrupt_incident_apply(&t, &input, "40/1s", |lines| {
        if settled.is_none() && records(lines, "step").next().is_some() {
            settled = Some(records(lines, "finished").count());
        }
        settled.is_some_and(|n| records(lines, "finished").count() >= n + 5)
    });
    let csv = t.out().csv();
    assert_eq!(csv.len(), listed.len(), "one row per input row");
    assert!(
        csv.iter().any(|r| r["status"] == "pending"),
        "some users pending"
    );
    assert!(csv.iter().any(|r| r["status"] == "done"), "some users done");
    // The journal is whole: every line is JSON.
    for l in t.out().journal() {
        serde_json::from_str::<Value>(&l).expect("a whole journal line");
    }
    resume_to_the_end(&t, &listed);
}

#[test]
fn ctrl_c_while_containing_keeps_every_revocation_in_the_results_and_resume_finishes() {
    let t = Scenario::start("ctrl-c-containing", generated(160, 53));
    let listed = users::some(&t.before, 120);
    let input = t.write_list(&listed);
    let out = t.out();
    // 20 writes a second: the 120 revocations of the containment pass take seconds.
    interrupt_incident_apply(&t, &input, "20/1s", |lines| {
        records(lines, "step").count() >= 25
    });

    // Users contained before the interruption wait on disk for the second pass; their
    // result rows must still say their sessions were revoked.
    let plan = out.plan();
    let lines = out.journal();
    let revoked: BTreeSet<u64> = records(&lines, "step")
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["outcome"] == "done" || r["outcome"] == "already-done")
        .filter(|r| {
            let row = r["row"].as_u64().unwrap() as usize;
            let step = r["step"].as_u64().unwrap() as usize;
            plan["entries"][row]["steps"][step]["action"] == "revokeSessions"
        })
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert!(
        revoked.len() >= 25,
        "{} revocations journaled",
        revoked.len()
    );
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    let pending_revoked = rows
        .iter()
        .filter(|r| r["status"] == "pending" && r["sessionsRevoked"] == true)
        .count();
    assert!(pending_revoked > 0, "no contained user is pending");
    for row in &rows {
        let index = row["row"].as_u64().unwrap();
        assert_eq!(
            row["sessionsRevoked"] == true,
            revoked.contains(&index),
            "row {index}: {row}"
        );
    }
    out.assert_no_scratch_files();
    resume_to_the_end(&t, &listed);
    out.assert_no_scratch_files();
}

#[test]
fn ctrl_c_while_planning_writes_no_plan_and_leaves_no_scratch_files() {
    // (`apply USERS.csv` plans without this: Ctrl-C there ends the process as usual.)
    // 100 ms a request: reading 1,500 users takes seconds, time enough to interrupt.
    let t = Scenario::start(
        "ctrl-c-planning",
        SimConfig {
            latency: Duration::from_millis(100),
            ..generated(1500, 91)
        },
    );
    let listed: Vec<Value> = t.before.values().cloned().collect();
    let input = t.write_list(&listed);
    let out = t.planned();
    let mut child = t.plan(&input, Profile::DeviceRefresh).spawn("plan-run");
    // The tenant is being read once the plan's spill exists.
    wait_until("plan started reading", || {
        let reading = out.join("plan.json.spill").exists();
        assert!(reading || child.is_running(), "plan ended first");
        reading
    });
    child.ctrl_c();
    child.expect_code(4);
    let stderr = child.stderr();
    assert!(stderr.contains("no plan was written"), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "plan left {left:?} in {}", out.arg());
    assert!(
        t.mutations().is_empty(),
        "an interrupted plan changed the tenant"
    );
}

// ---- 4. faults ----

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
    t.apply(&input, Profile::Offboard)
        .yes()
        .budget("100/1s")
        .run()
        .expect_code(0);
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

// ---- 5. drift ----

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

// ---- 6. guardrails ----

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
    let started = wait_for_journal(&mut slow, &t.out(), |lines| lines.len() >= 2);
    assert!(started, "the slow run ended: {}", slow.stderr());
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

// ---- least privilege ----

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

// ---- a plan edited by hand ----

/// One edit of a plan, in place.
type Edit = Box<dyn Fn(&mut Value)>;

/// Each edit alone: a step's method id, a user's steps, the policy, the input's hash.
fn edits(plan: &Value) -> Vec<(&'static str, Edit)> {
    let planned = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["status"] == "planned")
        .expect("a planned user");
    vec![
        (
            "a step's method id",
            Box::new(move |p: &mut Value| {
                p["entries"][planned]["steps"][0]["id"] =
                    json!("00000000-0000-0000-0000-000000000000");
            }),
        ),
        (
            "a user's steps",
            Box::new(move |p: &mut Value| {
                let steps = p["entries"][planned]["steps"].as_array_mut().unwrap();
                let again = steps[0].clone();
                steps.push(again);
            }),
        ),
        (
            "the policy",
            Box::new(|p: &mut Value| p["policy"]["includeAdmins"] = json!(true)),
        ),
        (
            "the input's hash",
            Box::new(|p: &mut Value| p["input"]["sha256"] = json!("0".repeat(64))),
        ),
    ]
}

#[test]
fn a_plan_edited_anywhere_after_it_was_written_is_refused_and_nothing_changes() {
    let t = Scenario::start("edited", generated(120, 82));
    let listed = ordinary(&t.before, 12);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    let original = t.planned().plan();
    for (what, edit) in edits(&original) {
        let mut plan = original.clone();
        edit(&mut plan);
        assert_ne!(plan, original, "{what}: the edit changed nothing");
        let edited = t.write("edited.json", serde_json::to_vec_pretty(&plan).unwrap());
        let out = t
            .dir
            .join(format!("run-{}", what.replace([' ', '\''], "-")));
        let run = t.mfa(&["apply", s(&edited), "--out", s(&out)]).yes().run();
        run.expect_code(2);
        assert!(
            run.stderr.contains("edited after it was written"),
            "{what}: {}",
            run.stderr
        );
    }
    assert!(
        t.mutations().is_empty(),
        "an edited plan changed the tenant"
    );

    // Re-saved unedited in another layout (re-indented, its fields in another order, as
    // a JSON tool writes it), the plan is the same plan and is carried out.
    let resaved = t.write(
        "resaved.json",
        serde_json::to_vec_pretty(&original).unwrap(),
    );
    let text = std::fs::read_to_string(&resaved).unwrap();
    assert!(
        text.find("\"entries\"") < text.find("\"format\""),
        "the re-saved plan has its fields in another order"
    );
    let out = Folder(t.dir.join("run-resaved"));
    t.mfa(&["apply", s(&resaved), "--out", out.arg()])
        .yes()
        .run()
        .expect_code(0);
    assert!(
        !t.mutations().is_empty(),
        "the re-saved plan was carried out"
    );
    // The run keeps the plan it carried out, in this tool's own layout.
    let kept = std::fs::read_to_string(out.plan_file()).unwrap();
    assert!(
        kept.starts_with("{\n  \"format\": \"mfa-reset-plan\","),
        "{kept}"
    );
    assert_eq!(serde_json::from_str::<Value>(&kept).unwrap(), original);
    assert_eq!(out.rows().len(), listed.len());
    out.assert_no_scratch_files();
    t.planned().assert_no_scratch_files();
}

/// Lays a run's `plan.json` out as earlier versions wrote it (the whole plan indented),
/// its hash recorded where such a run recorded it (`run.json` and the journal's first
/// line). Returns the bytes written.
fn lay_out_as_before(out: &Folder) -> Vec<u8> {
    let other_layout = serde_json::to_vec_pretty(&out.plan()).unwrap();
    std::fs::write(out.plan_file(), &other_layout).unwrap();
    let sha = mfa_reset::plan::sha256_hex(&other_layout);
    let mut settings = crate::support::read_json(&out.join("run.json"));
    settings["planSha256"] = json!(sha);
    std::fs::write(out.join("run.json"), settings.to_string()).unwrap();
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let (first, rest) = journal.split_once('\n').unwrap();
    let mut run: Value = serde_json::from_str(first).unwrap();
    run["planSha256"] = json!(sha);
    std::fs::write(out.join("journal.jsonl"), format!("{run}\n{rest}")).unwrap();
    other_layout
}

#[test]
fn a_run_whose_plan_is_laid_out_otherwise_resumes_from_a_copy_unless_it_was_changed() {
    let t = Scenario::start("other-layout", generated(120, 84));
    let listed = ordinary(&t.before, 12);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::DeviceRefresh)
        .yes()
        .run()
        .expect_code(0);
    let changes = t.mutations().len();
    assert!(changes > 0);

    let out = t.out();
    let plan = out.plan();
    let other_layout = lay_out_as_before(&out);
    std::fs::remove_file(out.join("results.csv")).unwrap();
    t.resume().run().expect_code(0);
    assert_eq!(out.csv().len(), listed.len(), "one row per input row");
    assert_eq!(
        t.mutations().len(),
        changes,
        "a finished run changes nothing more"
    );
    assert_eq!(
        std::fs::read(out.plan_file()).unwrap(),
        other_layout,
        "plan.json untouched"
    );
    assert!(
        !out.join("plan.json.resume").exists(),
        "the copy is removed"
    );
    out.assert_no_scratch_files();

    // Changed in any way, it is refused.
    let mut edited = plan.clone();
    edited["entries"][0]["input"] = json!("someone-else@contoso.example");
    std::fs::write(out.plan_file(), serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    let refused = t.resume().run();
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("changed after the run started"),
        "{}",
        refused.stderr
    );
    assert_eq!(t.mutations().len(), changes);
}
