//! Ctrl-C (and SIGTERM, SIGHUP): a run stops cleanly with exit 4 and names `resume`, keeps
//! every revocation it made in its results, and resume finishes it; a plan interrupted
//! writes nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use mfa_reset::sim::SimConfig;
use serde_json::Value;

use super::wait_for_journal;
use crate::support::folder::records;
use crate::support::oracle::{Profile, exit_for};
use crate::support::process::wait_until;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, id_of};

/// Starts `apply users.csv --profile incident --yes` at `write_budget`, sends it Ctrl-C
/// once `trigger` holds for its journal, and checks it stops with exit 4 and names
/// `resume`.
fn interrupt_incident_apply(
    t: &Scenario,
    input: &std::path::Path,
    write_budget: &str,
    trigger: impl FnMut(&[String]) -> bool,
) {
    stop_incident_apply(t, input, write_budget, trigger, "INT");
}

/// [`interrupt_incident_apply`] with the signal `signal` instead of Ctrl-C's.
fn stop_incident_apply(
    t: &Scenario,
    input: &std::path::Path,
    write_budget: &str,
    trigger: impl FnMut(&[String]) -> bool,
    signal: &str,
) {
    let out = t.out();
    let mut child = t
        .apply(input, Profile::Incident)
        .yes()
        .budget(write_budget)
        .spawn("apply");
    let fired = wait_for_journal(&mut child, &out, trigger);
    assert!(fired, "the run ended before it could be interrupted");
    child.signal(signal);
    child.expect_code(4);
    let stderr = child.stderr();
    assert!(
        stderr.contains(&format!("mfa-reset resume {}", out.arg())),
        "{stderr}"
    );
}

/// Resumes the interrupted run to the end: the tenant, the results and the exit code as
/// if it had never been interrupted.
fn resume_to_the_end(t: &Scenario, listed: &[Value]) {
    let run = t.resume().budget("2000/1s").run();
    let expected = t.assert_tenant_after(listed, Profile::Incident);
    run.expect_code(exit_for(expected.values().map(|e| e.status)));
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
fn sigterm_stops_a_run_like_ctrl_c_and_resume_finishes() {
    // A service manager or a CI runner's timeout stops a run with SIGTERM: the same clean
    // stop as Ctrl-C, never the default death that leaves no results.
    let t = Scenario::start("sigterm", generated(80, 57));
    let listed = users::some(&t.before, 60);
    let input = t.write_list(&listed);
    stop_incident_apply(
        &t,
        &input,
        "40/1s",
        |lines| records(lines, "step").count() >= 10,
        "TERM",
    );
    let rows = t.out().csv();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    assert!(
        rows.iter().any(|r| r["status"] == "pending"),
        "some users pending"
    );
    t.out().assert_no_scratch_files();
    resume_to_the_end(&t, &listed);
}

#[test]
fn ctrl_c_while_a_plan_is_containing_keeps_every_revocation_in_the_results_and_resume_finishes() {
    let t = Scenario::start("ctrl-c-containing", generated(160, 53));
    let listed = users::some(&t.before, 120);
    let input = t.write_list(&listed);
    let out = t.out();
    // A plan applied with --contain-first (a list is contained straight from it: see
    // `contain_list`). 20 writes a second: the 120 revocations of the containment pass
    // take seconds.
    t.plan(&input, Profile::Incident).run();
    let mut child = t.apply_plan().yes().budget("20/1s").spawn("apply");
    let fired = wait_for_journal(&mut child, &out, |lines| {
        records(lines, "step").count() >= 25
    });
    assert!(fired, "the run ended before it could be interrupted");
    child.signal("INT");
    child.expect_code(4);

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
    stop_planning("ctrl-c-planning", "INT");
}

#[test]
fn a_closed_terminal_while_planning_writes_no_plan_and_leaves_no_scratch_files() {
    stop_planning("sighup-planning", "HUP");
}

/// Starts a plan of 1,500 users, sends it `signal` while it reads the tenant, and checks
/// it stops with exit 4, no plan, no scratch files and no change to the tenant.
fn stop_planning(name: &str, signal: &str) {
    // 100 ms a request: reading 1,500 users takes seconds, time enough to interrupt.
    let t = Scenario::start(
        name,
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
    child.signal(signal);
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
