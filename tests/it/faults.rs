//! Faults during a run, end to end against the emulator: Graph going away for ten seconds
//! mid-run, access tokens expiring every few seconds, and a run killed with SIGKILL twenty
//! times at seeded random moments and resumed each time. In every case every input row ends
//! with exactly one result row, nothing that is not idempotent happens twice (a method is
//! deleted once, a user gets at most one Temporary Access Pass), and the tenant ends as the
//! plan wants.
//!
//! These tests take seconds of wall time by design (the outage lasts ten), but they assert
//! only on outcomes, never on how long anything took.

use crate::support::process::{HANG_GUARD, wait};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfa_reset::secret::Secret;
use mfa_reset::sim::{DEFAULT_CLIENT_ID, Sim, SimApp, SimConfig, SimHandle, TenantSource};
use rand::{Rng, SeedableRng};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mfa-reset");
const TOKEN: &str = "faults-static-token";
const CLIENT_SECRET: &str = "faults-client-secret";

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("faults-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn start(users: usize, seed: u64, token_lifetime: Duration) -> SimHandle {
    Sim::start_background(SimConfig {
        tenant: TenantSource::Generate { users, seed },
        static_token: Some(Secret::new(TOKEN)),
        token_lifetime,
        apps: vec![SimApp {
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: Some(Secret::new(CLIENT_SECRET)),
            certificate: None,
            privileged: false,
        }],
        ..SimConfig::default()
    })
    .expect("the emulator starts")
}

/// `mfa-reset ARGS` against `sim`, with the static token, or the client secret when
/// `secret` is set.
fn command(sim: &SimHandle, args: &[&str], secret: bool, log: &Path) -> Command {
    let base = sim.base_url();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .args(["--graph-url", base, "--login-url", base])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") || name == "MFA_RESET_ACCESS_TOKEN" {
            cmd.env_remove(name);
        }
    }
    if secret {
        cmd.env("AZURE_TENANT_ID", sim.tenant_id())
            .env("AZURE_CLIENT_ID", sim.client_id())
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET);
    } else {
        cmd.env("MFA_RESET_ACCESS_TOKEN", TOKEN);
    }
    cmd
}

fn stderr_of(log: &Path) -> String {
    std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
}

fn finished_records(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"record\":\"finished\""))
        .count()
}

/// Users without a directory role, as the emulator holds them now.
fn ordinary_users(sim: &SimHandle, take: usize) -> Vec<Value> {
    let state = serde_json::to_value(sim.state()).expect("state");
    state["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["roles"].as_array().is_none_or(|r| r.is_empty()))
        .take(take)
        .cloned()
        .collect()
}

fn write_list(path: &Path, users: &[Value]) {
    let mut text = String::from("userPrincipalName\n");
    for u in users {
        text.push_str(&format!(
            "\"{}\"\n",
            u["userPrincipalName"].as_str().unwrap()
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn results(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("results.jsonl").display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The emulator's mutations, by user id.
fn mutations_by_user(sim: &SimHandle) -> BTreeMap<String, Vec<Value>> {
    let mut by_user: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in sim.mutations()["value"].as_array().expect("value") {
        by_user
            .entry(m["userId"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(m.clone());
    }
    by_user
}

/// The checks every fault test ends with: one result row per listed user in order; no
/// method deleted twice and no user given two passes; every user who ended `done` has
/// lost every phone, Authenticator and software OATH method (device-refresh) and, with
/// passes, has exactly one.
fn assert_end_state(sim: &SimHandle, listed: &[Value], run: &Path, passes: bool) {
    let rows = results(run);
    assert_eq!(rows.len(), listed.len(), "one result row per input row");
    let state = serde_json::to_value(sim.state()).unwrap();
    let now: BTreeMap<&str, &Value> = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap(), u))
        .collect();
    let by_user = mutations_by_user(sim);
    for (u, row) in listed.iter().zip(&rows) {
        let id = u["id"].as_str().unwrap();
        assert_eq!(row["userId"], id, "rows in input order");
        let mine = by_user.get(id).cloned().unwrap_or_default();
        let deleted: Vec<&str> = mine
            .iter()
            .filter(|m| m["op"] == "deleteMethod")
            .filter_map(|m| m["methodId"].as_str())
            .collect();
        let distinct: BTreeSet<&str> = deleted.iter().copied().collect();
        assert_eq!(
            deleted.len(),
            distinct.len(),
            "{id}: a method deleted twice"
        );
        let taps = mine
            .iter()
            .filter(|m| m["op"] == "createTemporaryAccessPass")
            .count();
        assert!(taps <= 1, "{id}: {taps} passes");
        let status = row["status"].as_str().unwrap();
        match status {
            "done" => {
                let left: Vec<&str> = now[id]["methods"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|m| m["@odata.type"].as_str())
                    .filter(|t| {
                        t.contains("phoneAuthentication")
                            || t.contains("microsoftAuthenticator")
                            || t.contains("softwareOath")
                    })
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

/// One test's folder, emulator and user list (`users.csv`, `run/` for the run).
struct Scenario {
    dir: PathBuf,
    sim: SimHandle,
    listed: Vec<Value>,
    input: PathBuf,
    run: PathBuf,
}

impl Scenario {
    fn new(name: &str, seed: u64, token_lifetime: Duration, users: usize) -> Scenario {
        let dir = scratch(name);
        let sim = start(200, seed, token_lifetime);
        let listed = ordinary_users(&sim, users);
        let input = dir.join("users.csv");
        write_list(&input, &listed);
        let run = dir.join("run");
        Scenario {
            dir,
            sim,
            listed,
            input,
            run,
        }
    }

    /// Starts `apply users.csv --profile device-refresh --out run --yes EXTRA...`; its
    /// output goes to `apply.out` / `apply.err`.
    fn spawn_apply(&self, extra: &[&str], secret: bool) -> (Child, PathBuf) {
        let log = self.dir.join("apply");
        let mut args = vec![
            "apply",
            s(&self.input),
            "--profile",
            "device-refresh",
            "--out",
            s(&self.run),
            "--yes",
        ];
        args.extend_from_slice(extra);
        let child = command(&self.sim, &args, secret, &log)
            .spawn()
            .expect("the binary starts");
        (child, log)
    }

    /// Waits until `users` users have finished (their `finished` records are journaled).
    fn wait_for_finished(&self, child: &mut Child, users: usize) {
        let deadline = Instant::now() + HANG_GUARD;
        while finished_records(&self.run) < users {
            assert!(child.try_wait().unwrap().is_none(), "the run ended early");
            assert!(Instant::now() < deadline, "no user finished");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn graph_gone_for_ten_seconds_mid_run_loses_nothing() {
    let t = Scenario::new("outage", 101, Duration::from_secs(3599), 60);
    // 20 writes at once, then 20 a second: the run lasts several seconds.
    let (mut child, log) = t.spawn_apply(&["--write-budget", "20/1s"], false);
    t.wait_for_finished(&mut child, 5);
    t.sim.outage(Duration::from_secs(10));
    let status = wait(&mut child, "apply");
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&log));
    let dropped = t.sim.stats()["faults"]["droppedConnections"]
        .as_u64()
        .unwrap();
    assert!(dropped > 0, "the outage was never felt");
    assert_end_state(&t.sim, &t.listed, &t.run, false);
}

#[test]
fn access_tokens_that_expire_every_few_seconds_are_renewed_mid_run() {
    // Tokens live 2 s; the run takes several.
    let t = Scenario::new("tokens", 102, Duration::from_secs(2), 30);
    let (mut child, log) = t.spawn_apply(&["--issue-tap", "--write-budget", "10/1s"], true);
    let status = wait(&mut child, "apply");
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&log));
    let issued = t.sim.stats()["tokensIssued"].as_u64().unwrap();
    assert!(
        issued >= 2,
        "one token lasted the whole run ({issued} issued)"
    );
    assert_end_state(&t.sim, &t.listed, &t.run, true);
}

#[test]
fn twenty_sigkills_at_random_moments_then_resume_end_as_one_clean_run() {
    let dir = scratch("kills");
    let sim = start(300, 103, Duration::from_secs(3599));
    let listed = ordinary_users(&sim, 100);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let run = dir.join("run");
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let mut kills = 0;
    let mut attempt = 0;
    let finished = loop {
        attempt += 1;
        let log = dir.join(format!("attempt-{attempt}"));
        let args: Vec<&str> = if attempt == 1 {
            vec![
                "apply",
                s(&input),
                "--profile",
                "device-refresh",
                "--issue-tap",
                "--out",
                s(&run),
                "--yes",
                "--write-budget",
                "10/1s",
            ]
        } else {
            vec!["resume", s(&run), "--write-budget", "10/1s"]
        };
        let mut child = command(&sim, &args, false, &log)
            .spawn()
            .expect("the binary starts");
        if kills < 20 {
            // The kills land once the run exists (its journal): a kill while the first
            // attempt is still planning leaves nothing to resume, which is another story.
            let deadline = Instant::now() + HANG_GUARD;
            while !run.join("journal.jsonl").exists() && child.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "the run never started");
                std::thread::sleep(Duration::from_millis(2));
            }
            let at = Instant::now() + Duration::from_millis(rng.random_range(20..300));
            while Instant::now() < at && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
            if child.try_wait().unwrap().is_none() {
                // SIGKILL: no chance to clean up.
                child.kill().expect("kill -9");
                let _ = child.wait();
                kills += 1;
                continue;
            }
        }
        let status = wait(&mut child, "apply");
        assert!(
            matches!(status.code(), Some(0) | Some(1)),
            "attempt {attempt} ended {status}: {}",
            stderr_of(&log)
        );
        break attempt;
    };
    assert!(
        kills >= 5,
        "the run finished before it could be killed much ({kills})"
    );
    assert!(finished > kills);
    assert_end_state(&sim, &listed, &run, true);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_under_the_results_is_reported_and_resume_writes_them() {
    let dir = scratch("disk-full");
    let sim = start(100, 104, Duration::from_secs(3599));
    let listed = ordinary_users(&sim, 20);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    // Every write to results.csv fails as on a full disk (ENOSPC).
    std::os::unix::fs::symlink("/dev/full", run.join("results.csv")).unwrap();
    let log = dir.join("apply");
    let args = [
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--out",
        s(&run),
        "--yes",
    ];
    let status = wait(
        &mut command(&sim, &args, false, &log).spawn().unwrap(),
        "apply",
    );
    let err = stderr_of(&log);
    assert_eq!(
        status.code(),
        Some(1),
        "changes were made: not exit 2\n{err}"
    );
    assert!(
        err.contains("results.csv")
            && err.contains("No space left on device")
            && err.contains(&format!("mfa-reset resume {}", run.display())),
        "{err}"
    );
    assert_eq!(
        err.matches("No space left on device").count(),
        1,
        "said once: {err}"
    );
    let changes = sim.mutations()["value"].as_array().unwrap().len();
    assert!(changes > 0);

    // Space again: resume writes the results and changes nothing more.
    std::fs::remove_file(run.join("results.csv")).unwrap();
    let log = dir.join("resume");
    let status = wait(
        &mut command(&sim, &["resume", s(&run)], false, &log)
            .spawn()
            .unwrap(),
        "resume",
    );
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&log));
    assert_eq!(
        sim.mutations()["value"].as_array().unwrap().len(),
        changes,
        "resume repeated a change"
    );
    assert_end_state(&sim, &listed, &run, false);
    let csv_rows = std::fs::read_to_string(run.join("results.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(csv_rows, listed.len() + 1, "a header and one row per user");
}

#[test]
fn a_throttled_token_endpoint_slows_the_run_but_loses_nothing() {
    // Tokens live 2 s, and the token endpoint answers 429 to the next three requests
    // whenever the test says so.
    let t = Scenario::new("token-429", 105, Duration::from_secs(2), 30);
    let (mut child, log) = t.spawn_apply(&["--write-budget", "10/1s"], true);
    t.wait_for_finished(&mut child, 3);
    t.sim.throttle_token_endpoint(3);
    let status = wait(&mut child, "apply");
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&log));
    let stats = t.sim.stats();
    assert!(
        stats["tokenFailures"].as_u64().unwrap() >= 3,
        "the token endpoint's 429s were never met: {stats}"
    );
    assert_end_state(&t.sim, &t.listed, &t.run, false);
}
