//! kill -9 and resume: a run killed at any moment, and resumed, finishes every row once
//! and never creates a Temporary Access Pass twice, even when killed while one was in
//! flight.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::wait_for_journal;
use crate::support::folder::{Folder, records};
use crate::support::oracle::{Profile, assert_deleted_once, exit_for, expect};
use crate::support::scenario::{Scenario, generated, rules};
use crate::support::users::{
    self, assert_lost_passes_deleted, by_user, count, id_of, ids_of, live_passes, method_ids, upn,
    without_lost_passes,
};
use crate::support::{ALICE, CAROL};

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

/// How an attempt is stopped.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGKILL: the process dies at once.
    Kill9,
    /// A signal the run handles (TERM, HUP, INT): it stops cleanly with exit 4.
    Signal(&'static str),
}

/// Runs `apply`, then `resume`, killing each attempt with SIGKILL at the next of `kills`
/// until one finishes first; then resumes until the run ends. Returns the kills that
/// landed and the last run.
fn kill_at_each_then_resume(
    t: &Scenario,
    input: &std::path::Path,
    kills: &[At],
) -> (usize, crate::support::process::Run) {
    stop_at_each_then_resume(t, input, kills, Stop::Kill9)
}

/// [`kill_at_each_then_resume`], stopping each attempt the way `how` says.
fn stop_at_each_then_resume(
    t: &Scenario,
    input: &std::path::Path,
    kills: &[At],
    how: Stop,
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
            match how {
                Stop::Kill9 => child.kill_9(),
                Stop::Signal(name) => child.signal(name),
            }
            killed += 1;
        }
        let status = child.wait();
        if fired && let Stop::Signal(name) = how {
            // Stopped cleanly, unless it had just finished when the signal came.
            assert!(
                matches!(status.code(), Some(4 | 0 | 1)),
                "SIG{name} at {at:?}: {status:?}\n{}",
                child.stderr()
            );
            if status.code() == Some(4) {
                assert!(
                    child.stderr().contains("mfa-reset resume"),
                    "{}",
                    child.stderr()
                );
            }
        }
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

/// After kills: every listed user as planned, with one live pass when the policy gives
/// one: a pass whose creation was in flight at a kill was deleted by the resume before a
/// new one was issued. Returns how many rows are `partial` (none should be).
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
        partial += usize::from(status == "partial");
        assert_eq!(status, e.status, "{who}: {row}");
        let mine = by_user.get(id).cloned().unwrap_or_default();
        assert_lost_passes_deleted(&mine, &who);
        let live = live_passes(&mine).len();
        assert_eq!(live, usize::from(e.tap), "{who}: passes in the tenant");
        assert_deleted_once(&without_lost_passes(&mine), &e, &who);
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
    // A pass recorded just before a kill, whose step was not journaled, is deleted and
    // issued again: then the user has two rows, the last one live.
    for (user, n) in &per_user {
        let created = count(&by_user[*user], "createTemporaryAccessPass");
        assert!(
            *n >= 1 && *n <= created,
            "{user}: {n} rows, {created} created"
        );
    }
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
    assert_eq!(assert_tenant_after_kills(&t, &listed), 0);
    let statuses = t.out().statuses();
    assert_eq!(
        last.code(),
        Some(exit_for(statuses.iter().map(String::as_str))),
        "{}",
        last.stderr
    );
    assert_passes_after_kills(&t, &listed, &[&last.stdout, &last.stderr]);
}

/// SIGTERM (what `timeout`, CI cancellation and systemd send) at ten points of a run, then
/// resume: the same guarantees as Ctrl-C — every row finished once, every user as planned,
/// one live pass each whose value is in `tap.csv`.
#[test]
fn sigterm_at_ten_points_then_resume_ends_as_one_clean_run() {
    let t = Scenario::start("sigterm", generated(220, 43));
    let listed = users::some(&t.before, 150);
    let input = t.write_list(&listed);
    let stops = [
        At::Lines(2),
        At::Lines(30),
        At::PassInFlight,
        At::Finished(5),
        At::Lines(120),
        At::PassInFlight,
        At::Lines(1),
        At::Finished(20),
        At::Lines(60),
        At::PassInFlight,
    ];
    let (stopped, last) = stop_at_each_then_resume(&t, &input, &stops, Stop::Signal("TERM"));
    assert!(stopped >= 4, "only {stopped} signals landed");
    assert_each_row_finished_once(&t.out(), listed.len());
    assert_eq!(assert_tenant_after_kills(&t, &listed), 0);
    let statuses = t.out().statuses();
    last.expect_code(exit_for(statuses.iter().map(String::as_str)));
    assert_passes_after_kills(&t, &listed, &[&last.stdout, &last.stderr]);
}

/// A kill -9 just after a pass's creation reached Graph and before its outcome was
/// journaled leaves exactly this journal: everything up to the pass's `intent`. The
/// journal is append-only, so cutting a finished run's journal there is that kill, made
/// exact. Nobody holds the value of the pass created then: resume must delete it, issue a
/// new one and record it, then finish the user — for a user who had no pass before as for
/// one who had one (which Graph replaced when the new one was created).
#[test]
fn a_kill_while_a_pass_was_in_flight_deletes_that_pass_and_issues_a_recorded_one() {
    for (name, user) in [("alice", ALICE), ("carol", CAROL)] {
        let t = Scenario::start(&format!("pass-in-flight-{name}"), rules());
        let listed = t.users_by_id(&[user]);
        let input = t.write_list(&listed);
        let policy = Profile::DeviceRefresh.with_tap();
        t.apply(&input, policy).run().expect_code(0);
        let changes = t.mutations().len();
        let lost = live_passes(&t.mutations())[0].to_string();

        // The kill: the journal up to the intent; no reports; the pass never recorded.
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
        let tap_file = out.join("secrets/tap.csv");
        let text = std::fs::read_to_string(&tap_file).unwrap();
        let header = text.lines().next().unwrap().to_string() + "\n";
        std::fs::write(&tap_file, header).unwrap();

        let run = t.resume().run();
        run.expect_code(0);
        let mutations = t.mutations();
        let more: Vec<(&str, &str)> = mutations[changes..]
            .iter()
            .map(|m| (users::op(m), m["methodId"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(more.len(), 2, "{name}: {more:?}");
        assert_eq!(
            more[0],
            ("deleteMethod", lost.as_str()),
            "{name}: the lost pass goes first"
        );
        assert_eq!(more[1].0, "createTemporaryAccessPass", "{name}");
        assert_eq!(
            live_passes(&mutations),
            [more[1].1],
            "{name}: one pass, the new one"
        );
        assert_eq!(out.taps().len(), 1, "{name}: the new pass is recorded");
        let r = &out.rows()[0];
        assert_eq!(r["status"], "done", "{name}: {r}\n{}", run.stderr);
        assert_eq!(r["tapIssued"], true, "{name}: {r}");
        let expected = expect(policy, &listed[0]);
        let done: BTreeSet<String> = ids_of(&r["removed"])
            .union(&ids_of(&r["alreadyRemoved"]))
            .cloned()
            .collect();
        assert_eq!(done, expected.deleted, "{name}: {r}");
    }
}

/// As above, but another administrator registered a method for the user before the
/// resume: the user drifted and gets nothing more — yet the pass nobody holds the value
/// of is still deleted, so that none stays in the tenant that `tap.csv` does not hold.
#[test]
fn a_pass_lost_in_flight_is_deleted_even_when_the_user_drifted() {
    let t = Scenario::start("pass-in-flight-drift", rules());
    let listed = t.users_by_id(&[ALICE]);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::DeviceRefresh.with_tap())
        .run()
        .expect_code(0);
    let lost = live_passes(&t.mutations())[0].to_string();
    let out = t.out();
    let lines = out.journal();
    let intent = lines
        .iter()
        .position(|l| l.contains("\"record\":\"intent\""))
        .expect("an intent");
    std::fs::write(
        out.join("journal.jsonl"),
        lines[..=intent].join("\n") + "\n",
    )
    .unwrap();
    let tap_file = out.join("secrets/tap.csv");
    let text = std::fs::read_to_string(&tap_file).unwrap();
    std::fs::write(&tap_file, text.lines().next().unwrap().to_string() + "\n").unwrap();
    t.sim
        .add_method(
            ALICE,
            &serde_json::json!({
                "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
                "id": "alice-new-key",
                "displayName": "New key"
            }),
        )
        .unwrap();
    let changes = t.mutations().len();

    t.resume().run().expect_code(1);
    let mutations = t.mutations();
    let more: Vec<(&str, &str)> = mutations[changes..]
        .iter()
        .map(|m| (users::op(m), m["methodId"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(more, [("deleteMethod", lost.as_str())]);
    assert!(live_passes(&mutations).is_empty());
    assert!(out.taps().is_empty());
    let r = &out.rows()[0];
    assert_eq!(r["status"], "drifted", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("registered since") && reason.contains("was deleted"),
        "{reason}"
    );
}
