//! Faults during a run, end to end against the emulator: Graph going away for ten seconds
//! mid-run, access tokens expiring every few seconds, a throttled token endpoint, a full
//! disk under the results, and a run killed with SIGKILL twenty times at seeded random
//! moments and resumed each time. In every case every input row ends with exactly one
//! result row, nothing that is not idempotent happens twice (a method is deleted once, a
//! user gets at most one Temporary Access Pass), and the tenant ends as the plan wants.
//!
//! These tests take seconds of wall time by design (the outage lasts ten), but they assert
//! only on outcomes, never on how long anything took.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mfa_reset::sim::SimConfig;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::support::folder::records;
use crate::support::oracle::Profile;
use crate::support::process::{Spawned, wait_until};
use crate::support::scenario::{Auth, Scenario, app_with_secret, generated};
use crate::support::users::{
    assert_lost_passes_deleted, by_user, deleted, id_of, kind, live_passes, methods,
    without_lost_passes, without_role,
};

const CLIENT_SECRET: &str = "faults-client-secret";

/// A generated tenant of `tenant` users (seeded), whose app has a client secret and whose
/// tokens live `token_lifetime`; the first `listed` users without a role in `users.csv`.
#[track_caller]
fn given(
    name: &str,
    (tenant, seed): (usize, u64),
    token_lifetime: Duration,
    listed: usize,
) -> (Scenario, Vec<Value>, PathBuf) {
    let t = Scenario::start(
        name,
        SimConfig {
            token_lifetime,
            apps: vec![app_with_secret(CLIENT_SECRET)],
            ..generated(tenant, seed)
        },
    );
    let listed = without_role(&t.before, listed);
    let input = t.write_list(&listed);
    (t, listed, input)
}

const AN_HOUR: Duration = Duration::from_secs(3599);

/// Waits until `users` users have finished (their `finished` records are journaled).
fn wait_for_finished(t: &Scenario, child: &mut Spawned, users: usize) {
    wait_until("users finished", || {
        let done = records(&t.out().journal(), "finished").count() >= users;
        assert!(done || child.is_running(), "the run ended early");
        done
    });
}

/// The checks every fault test ends with: one result row per listed user in order; no
/// method deleted twice and no user given two passes; every user who ended `done` has
/// lost every phone, Authenticator and software OATH method (device-refresh) and, with
/// passes, has exactly one.
fn assert_end_state(t: &Scenario, listed: &[Value], passes: bool) {
    let rows = t.out().rows();
    assert_eq!(rows.len(), listed.len(), "one result row per input row");
    let now = t.users();
    let by_user = by_user(&t.mutations());
    for (u, row) in listed.iter().zip(&rows) {
        let id = id_of(u);
        assert_eq!(row["userId"], id, "rows in input order");
        let all = by_user.get(id).cloned().unwrap_or_default();
        assert_lost_passes_deleted(&all, id);
        let taps = live_passes(&all).len();
        let mine = without_lost_passes(&all);
        let deleted = deleted(&mine);
        let distinct: BTreeSet<&str> = deleted.iter().copied().collect();
        assert_eq!(
            deleted.len(),
            distinct.len(),
            "{id}: a method deleted twice"
        );
        assert!(taps <= 1, "{id}: {taps} passes");
        match row["status"].as_str().unwrap() {
            "done" => {
                let left: Vec<&str> = methods(&now[id])
                    .iter()
                    .map(kind)
                    .filter(|k| Profile::DeviceRefresh.removes(k))
                    .collect();
                assert!(left.is_empty(), "{id} is done but still has {left:?}");
                // A pass reported is a pass created, once; none reported, none created.
                let reported = row["tapIssued"] == true;
                assert_eq!(taps, usize::from(reported), "{id}: passes created");
            }
            "no-change" | "blocked" => {}
            // A kill between sending a pass's creation and hearing the answer: the pass
            // may exist, so it is never created again; the row says so.
            "partial" if passes => {
                let reason = row["reason"].as_str().unwrap_or_default();
                assert!(reason.contains("pass"), "{id}: partial because {reason}");
            }
            other => panic!("{id} ended {other}: {row}"),
        }
    }
}

#[test]
fn graph_gone_for_ten_seconds_mid_run_loses_nothing() {
    let (t, listed, input) = given("outage", (200, 101), AN_HOUR, 60);
    // 20 writes at once, then 20 a second: the run lasts several seconds.
    let mut child = t
        .apply(&input, Profile::DeviceRefresh)
        .yes()
        .budget("20/1s")
        .spawn("apply");
    wait_for_finished(&t, &mut child, 5);
    t.sim.outage(Duration::from_secs(10));
    child.expect_code(0);
    let dropped = t.sim.stats()["faults"]["droppedConnections"]
        .as_u64()
        .unwrap();
    assert!(dropped > 0, "the outage was never felt");
    assert_end_state(&t, &listed, false);
}

#[test]
fn access_tokens_that_expire_every_few_seconds_are_renewed_mid_run() {
    // Tokens live 2 s; the run takes several.
    let (t, listed, input) = given("tokens", (200, 102), Duration::from_secs(2), 30);
    t.apply(&input, Profile::DeviceRefresh.with_tap())
        .yes()
        .budget("10/1s")
        .auth(Auth::Secret(CLIENT_SECRET.into()))
        .spawn("apply")
        .expect_code(0);
    let issued = t.sim.stats()["tokensIssued"].as_u64().unwrap();
    assert!(
        issued >= 2,
        "one token lasted the whole run ({issued} issued)"
    );
    assert_end_state(&t, &listed, true);
}

#[test]
fn a_throttled_token_endpoint_slows_the_run_but_loses_nothing() {
    // Tokens live 2 s, and the token endpoint answers 429 to the next three requests
    // whenever the test says so.
    let (t, listed, input) = given("token-429", (200, 105), Duration::from_secs(2), 30);
    let mut child = t
        .apply(&input, Profile::DeviceRefresh)
        .yes()
        .budget("10/1s")
        .auth(Auth::Secret(CLIENT_SECRET.into()))
        .spawn("apply");
    wait_for_finished(&t, &mut child, 3);
    t.sim.throttle_token_endpoint(3);
    child.expect_code(0);
    let stats = t.sim.stats();
    assert!(
        stats["tokenFailures"].as_u64().unwrap() >= 3,
        "the token endpoint's 429s were never met: {stats}"
    );
    assert_end_state(&t, &listed, false);
}

#[test]
fn twenty_sigkills_at_random_moments_then_resume_end_as_one_clean_run() {
    let (t, listed, input) = given("kills", (300, 103), AN_HOUR, 100);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let mut kills = 0;
    let mut attempt = 0;
    let finished = loop {
        attempt += 1;
        let invocation = if attempt == 1 {
            t.apply(&input, Profile::DeviceRefresh.with_tap()).yes()
        } else {
            t.resume()
        };
        let mut child = invocation
            .budget("10/1s")
            .spawn(&format!("attempt-{attempt}"));
        if kills < 20 {
            // The kills land once the run exists (its journal): a kill while the first
            // attempt is still planning leaves nothing to resume, which is another story.
            let journal = t.out().join("journal.jsonl");
            wait_until("the run started", || {
                journal.exists() || !child.is_running()
            });
            let at = Instant::now() + Duration::from_millis(rng.random_range(20..300));
            while Instant::now() < at && child.is_running() {
                std::thread::sleep(Duration::from_millis(2));
            }
            if child.is_running() {
                child.kill_9();
                kills += 1;
                continue;
            }
        }
        let status = child.wait();
        assert!(
            matches!(status.code(), Some(0) | Some(1)),
            "attempt {attempt} ended {status}: {}",
            child.stderr()
        );
        break attempt;
    };
    assert!(
        kills >= 5,
        "the run finished before it could be killed much ({kills})"
    );
    assert!(finished > kills);
    assert_end_state(&t, &listed, true);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_under_the_results_is_reported_and_resume_writes_them() {
    let (t, listed, input) = given("disk-full", (100, 104), AN_HOUR, 20);
    let out = t.out();
    std::fs::create_dir_all(out.path()).unwrap();
    // Every write to results.csv fails as on a full disk (ENOSPC).
    std::os::unix::fs::symlink("/dev/full", out.join("results.csv")).unwrap();
    let run = t.apply(&input, Profile::DeviceRefresh).yes().run();
    let err = &run.stderr;
    assert_eq!(run.code(), Some(1), "changes were made: not exit 2\n{err}");
    assert!(
        err.contains("results.csv")
            && err.contains("No space left on device")
            && err.contains(&format!("mfa-reset resume {}", out.arg())),
        "{err}"
    );
    assert_eq!(
        err.matches("No space left on device").count(),
        1,
        "said once: {err}"
    );
    let changes = t.mutations().len();
    assert!(changes > 0);

    // Space again: resume writes the results and changes nothing more.
    std::fs::remove_file(out.join("results.csv")).unwrap();
    t.resume().run().expect_code(0);
    assert_eq!(t.mutations().len(), changes, "resume repeated a change");
    assert_end_state(&t, &listed, false);
    let csv_rows = std::fs::read_to_string(out.join("results.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(csv_rows, listed.len() + 1, "a header and one row per user");
}
