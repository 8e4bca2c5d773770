//! `resume` is hard to get wrong: it reconnects to the run's own Graph with no flags (a
//! rehearsal to its emulated tenant as the run left it), the command it prints after an
//! interruption works as printed, another target is refused with nothing changed, and
//! `--retry-failed` takes up again exactly the users who ended failed or partial, their
//! steps done staying done.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use mfa_reset::secret::Secret;
use mfa_reset::sim::{Sim, SimApp, SimConfig, SimHandle, TenantSource};
use serde_json::Value;

use super::wait_for_journal;
use crate::support::folder::{Folder, records};
use crate::support::oracle::{Profile, exit_for, expect};
use crate::support::process::{Run, mfa_reset};
use crate::support::scenario::{Scenario, TOKEN, generated, rules};
use crate::support::users::{self, by_user, count, id_of, op};
use crate::support::{ADMIN, ALICE, BIN, BOB, s};

/// `mfa-reset ARGS` with the scenario's token and no connection flag at all.
fn bare(args: &[&str]) -> Run {
    let mut cmd = mfa_reset(args);
    cmd.env("MFA_RESET_ACCESS_TOKEN", TOKEN);
    let run = Run::of(&mut cmd);
    run.assert_no_panic();
    run
}

/// `sh -c COMMAND`, with the binary on `PATH` and the scenario's token in the
/// environment (credentials always come from there), as an operator would paste it.
fn shell(command: &str) -> Run {
    let bin_dir = Path::new(BIN).parent().expect("the binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", command])
        .env("PATH", path)
        .env("MFA_RESET_ACCESS_TOKEN", TOKEN)
        .stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") {
            cmd.env_remove(name);
        }
    }
    let run = Run::of(&mut cmd);
    run.assert_no_panic();
    run
}

/// The lines of the journal of `out` that are `Finished` records, by row.
fn finished_by_row(out: &Folder) -> std::collections::BTreeMap<u64, Vec<Value>> {
    let mut by_row = std::collections::BTreeMap::<u64, Vec<Value>>::new();
    for line in records(&out.journal(), "finished") {
        let v: Value = serde_json::from_str(line).unwrap();
        let row = v["outcome"]["row"].as_u64().unwrap();
        by_row.entry(row).or_default().push(v);
    }
    by_row
}

#[test]
fn the_printed_command_resumes_as_printed_against_the_runs_own_graph() {
    let t = Scenario::start("hint", generated(80, 74));
    let listed = users::some(&t.before, 60);
    let input = t.write_list(&listed);
    // A folder name a shell would split or choke on.
    let out = Folder(t.dir.join("run 2026-11-28 'incident' & co"));
    let mut child = t
        .apply(&input, Profile::Incident)
        .out(out.path())
        .yes()
        .budget("40/1s")
        .spawn("apply");
    let fired = wait_for_journal(&mut child, &out, |lines| {
        records(lines, "step").count() >= 10
    });
    assert!(fired, "the run ended before it could be interrupted");
    child.signal("INT");
    child.expect_code(4);
    let stderr = child.stderr();
    let hint = stderr
        .lines()
        .find_map(|l| l.split_once("Carry on with: ").map(|(_, c)| c.trim()))
        .unwrap_or_else(|| panic!("no command printed: {stderr}"))
        .to_string();
    assert!(hint.starts_with("mfa-reset resume '"), "{hint}");
    assert!(
        out.rows().iter().any(|r| r["status"] == "pending"),
        "some users were left to do"
    );
    let before_resume = t.mutations().len();

    // Pasted as printed: no --graph-url, no --login-url; run.json says where the run went.
    let run = shell(&hint);
    assert!(
        t.mutations().len() > before_resume,
        "the resume reached the run's emulator: {}",
        run.stderr
    );
    let expected = t.assert_tenant_after(&listed, Profile::Incident);
    run.expect_code(exit_for(expected.values().map(|e| e.status)));
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    for (u, row) in listed.iter().zip(&rows) {
        assert_eq!(row["status"], expected[id_of(u)].status, "{row}");
    }
    // What the run was started with is in run.json; no credential is.
    let settings = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(settings.contains(t.sim.base_url()), "{settings}");
    assert!(!settings.contains(TOKEN), "{settings}");
}

/// The rules tenant's emulator again, as another tenant on another port.
fn another_graph() -> SimHandle {
    Sim::start_background(SimConfig {
        static_token: Some(Secret::new(TOKEN)),
        ..rules()
    })
    .expect("a second emulator")
}

#[test]
fn resume_refuses_another_target_and_changes_nothing() {
    let t = Scenario::start("other-target", rules());
    let listed = t.users_by_id(&[ALICE, ADMIN]);
    let input = t.write_list(&listed);
    // The administrator is refused (403): a user for --retry-failed to take up.
    t.apply(&input, Profile::Offboard)
        .args(&["--include-admins"])
        .run()
        .expect_code(1);
    let out = t.out();
    let journal = std::fs::read(out.join("journal.jsonl")).unwrap();
    let results = std::fs::read(out.join("results.jsonl")).unwrap();
    let changes = t.mutations().len();
    let other = another_graph();

    let other_url = other.base_url().to_string();
    let refusals: [&[&str]; 5] = [
        &["--graph-url", &other_url, "--login-url", &other_url],
        &["--graph-url", &other_url],
        &["--tenant", "sim"],
        &["--cloud", "usgov"],
        &["--login-url", "https://login.microsoftonline.com"],
    ];
    for flags in refusals {
        for retry in [false, true] {
            let mut args = vec!["resume", out.arg()];
            args.extend_from_slice(flags);
            if retry {
                args.push("--retry-failed");
            }
            let run = bare(&args);
            run.expect_code(2);
            let said = &run.stderr;
            assert!(
                said.contains(&format!("the run went to {}", t.sim.base_url())),
                "{flags:?}: {said}"
            );
            assert!(said.contains(flags[0]), "names the flag: {said}");
            assert!(said.contains("nothing was changed"), "{said}");
            assert!(
                said.contains(&format!("`mfa-reset resume {}`", out.arg())),
                "says how to resume: {said}"
            );
            assert!(
                said.contains(&format!("--graph-url {}", t.sim.base_url())),
                "names the run's own flags: {said}"
            );
        }
    }
    assert!(
        other.mutations()["value"].as_array().unwrap().is_empty(),
        "the other Graph was changed"
    );
    assert_eq!(other.stats()["httpRequests"], 0, "{}", other.stats());
    assert_eq!(t.mutations().len(), changes);
    assert_eq!(std::fs::read(out.join("journal.jsonl")).unwrap(), journal);
    assert_eq!(std::fs::read(out.join("results.jsonl")).unwrap(), results);

    // The run's own target, however spelled, and other pacing are accepted.
    for flags in [
        &[][..],
        &["--graph-url", &format!("{}/", t.sim.base_url())],
        &["--write-budget", "10/1s", "--max-in-flight", "2"],
    ] {
        let mut args = vec!["resume", out.arg()];
        args.extend_from_slice(flags);
        let run = bare(&args);
        run.expect_code(1);
        assert!(run.stderr.contains("1 done, 1 failed"), "{}", run.stderr);
    }
    assert_eq!(t.mutations().len(), changes, "a finished run sends nothing");
}

/// Stops the scenario's emulator and starts it again on the same address, with the
/// tenant as it is now and `apps`: the same Graph, reconfigured (a role granted, say).
fn restart_with(t: &mut Scenario, apps: Vec<SimApp>) {
    let addr = t.sim.local_addr();
    let file = t.dir.join("tenant-now.json");
    std::fs::write(&file, serde_json::to_string(&t.sim.state()).unwrap()).unwrap();
    let stand_in = Sim::start_background(SimConfig::default()).expect("a stand-in");
    drop(std::mem::replace(&mut t.sim, stand_in));
    t.sim = Sim::start_background(SimConfig {
        listen: addr,
        tenant: TenantSource::File(file),
        static_token: Some(Secret::new(TOKEN)),
        apps,
        ..SimConfig::default()
    })
    .expect("the emulator starts again on its address");
}

#[test]
fn retry_failed_takes_up_again_exactly_the_failed_users_once_the_cause_is_fixed() {
    // The app holds no privileged role: Graph refuses every change to the administrator.
    let mut t = Scenario::start("retry-failed", rules());
    let listed = t.users_by_id(&[ALICE, ADMIN, BOB]);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::Offboard)
        .args(&["--include-admins"])
        .run()
        .expect_code(1);
    let out = t.out();
    assert_eq!(out.statuses(), ["done", "failed", "done"]);
    let first = t.mutations();
    assert!(first.iter().all(|m| m["userId"] != ADMIN));

    // Retried before the cause is fixed: refused again, nothing else touched.
    let run = t.resume().args(&["--retry-failed"]).run();
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("1 that ended failed or partial taken up again"),
        "{}",
        run.stderr
    );
    assert_eq!(t.mutations().len(), first.len());
    assert_eq!(out.statuses(), ["done", "failed", "done"]);

    // The role is granted (the same tenant, as it is now, behind the same address).
    let privileged = SimApp {
        privileged: true,
        ..SimApp::default()
    };
    restart_with(&mut t, vec![privileged]);

    // A resume without --retry-failed leaves a finished run as it is.
    bare(&["resume", out.arg()]).expect_code(1);
    assert!(t.mutations().is_empty(), "{:?}", t.mutations());

    let run = bare(&["resume", out.arg(), "--retry-failed"]);
    run.expect_code(0);
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    assert_eq!(out.statuses(), ["done", "done", "done"], "{rows:#?}");
    // Only the administrator was touched, and as offboarding asks.
    let now = t.mutations();
    assert!(now.iter().all(|m| m["userId"] == ADMIN), "{now:?}");
    let mine = &by_user(&now)[ADMIN];
    assert_eq!(count(mine, "revokeSignInSessions"), 1, "{mine:?}");
    let after = t.users();
    assert!(!users::is_enabled(&after[ADMIN]), "disabled");
    let left: Vec<&str> = users::methods(&after[ADMIN])
        .iter()
        .map(users::kind)
        .collect();
    assert_eq!(left, ["password"], "{mine:?}");
    // The journal keeps every record: the first outcome, the retry, the new outcome.
    let lines = out.journal();
    assert_eq!(
        records(&lines, "retry").count(),
        2,
        "one per --retry-failed"
    );
    let finished = finished_by_row(&out);
    assert_eq!(finished[&0].len(), 1, "Alice finished once");
    assert_eq!(finished[&2].len(), 1, "Bob finished once");
    let admin: Vec<&str> = finished[&1]
        .iter()
        .map(|f| f["outcome"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(admin, ["failed", "failed", "done"]);

    // Nothing failed is left: another retry sends nothing and exits 0.
    let run = bare(&["resume", out.arg(), "--retry-failed"]);
    run.expect_code(0);
    assert!(run.stderr.contains("none is retried"), "{}", run.stderr);
    assert_eq!(t.mutations().len(), now.len());
}

#[test]
fn a_pass_lost_in_flight_is_deleted_and_issued_again_and_the_steps_done_are_kept() {
    let t = Scenario::start("retry-partial", rules());
    let listed = t.users_by_id(&[ALICE, BOB]);
    let input = t.write_list(&listed);
    let policy = Profile::DeviceRefresh.with_tap();
    t.apply(&input, policy).run().expect_code(0);
    // A kill -9 while Alice's pass was being created (Bob went on meanwhile), made
    // exact as in kill.rs: Alice's records after the pass's intent are cut from the
    // journal. The resume then finds a pass nobody saw.
    let out = t.out();
    let lines = out.journal();
    let alice = |l: &str| l.contains("\"row\":0,") || l.contains("\"row\":0}");
    let intent = lines
        .iter()
        .position(|l| l.contains("\"record\":\"intent\"") && alice(l))
        .expect("Alice's intent");
    let cut: String = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| *i <= intent || !alice(l))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(out.join("journal.jsonl"), cut).unwrap();
    for report in ["results.csv", "results.jsonl", "summary.md", "report.html"] {
        std::fs::remove_file(out.join(report)).unwrap();
    }
    // Killed before Graph's answer came, the pass never reached tap.csv.
    let tap_file = out.join("secrets/tap.csv");
    let taps = std::fs::read_to_string(&tap_file).unwrap();
    let without_alice: String = taps
        .lines()
        .filter(|l| !l.contains(ALICE))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&tap_file, without_alice).unwrap();
    let applied = t.mutations().len();
    let before = users::by_user(&t.mutations());
    let lost = users::live_passes(&before[ALICE])[0].to_string();
    // The pass nobody saw is deleted, a new one issued and recorded; Alice's removals,
    // done already, are not sent again; Bob keeps his result.
    t.resume().run().expect_code(0);
    let mutations = t.mutations();
    let again: Vec<(&str, &str)> = mutations[applied..]
        .iter()
        .map(|m| (op(m), m["userId"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        again,
        [
            ("deleteMethod", ALICE),
            ("createTemporaryAccessPass", ALICE)
        ],
        "{:?}",
        &mutations[applied..]
    );
    assert_eq!(
        mutations[applied]["methodId"],
        lost.as_str(),
        "the lost pass goes"
    );
    assert_eq!(out.statuses(), ["done", "done"], "{:#?}", out.rows());
    let taps = out.taps();
    assert_eq!(taps.len(), 2, "one recorded pass each");
    let alice = expect(policy, &listed[0]);
    let row = &out.rows()[0];
    let removed: BTreeSet<String> = users::ids_of(&row["removed"])
        .union(&users::ids_of(&row["alreadyRemoved"]))
        .cloned()
        .collect();
    assert_eq!(removed, alice.deleted);
    // Nothing failed is left: a retry sends nothing.
    let seen = t.mutations().len();
    t.resume().args(&["--retry-failed"]).run().expect_code(0);
    assert_eq!(t.mutations().len(), seen);
}

#[test]
fn a_rehearsal_resumes_on_the_emulated_tenant_as_the_run_left_it() {
    let dir = crate::support::scratch("rehearsal");
    let tenant = dir.join("tenant.json");
    bare(&[
        "sim",
        "--users",
        "200",
        "--seed",
        "5",
        "--dump-tenant",
        s(&tenant),
    ])
    .expect_code(0);
    let users: Vec<Value> = crate::support::read_json(&tenant)["users"]
        .as_array()
        .unwrap()
        .clone();
    let listed = &users[..150];
    let mut list = String::from("userPrincipalName\n");
    for u in listed {
        list.push_str(&format!("{}\n", users::upn(u)));
    }
    let input = dir.join("users.csv");
    std::fs::write(&input, list).unwrap();
    let out = Folder(dir.join("rehearsal"));
    let policy = Profile::DeviceRefresh.with_tap();
    let mut apply = mfa_reset(&[
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--issue-tap",
        "--tenant",
        "sim",
        "--sim-users",
        "200",
        "--sim-seed",
        "5",
        "--write-budget",
        "30/1s",
        "--yes",
        "--out",
        out.arg(),
    ]);
    let mut child = crate::support::process::Spawned::start(&mut apply, &dir.join("apply"));
    let fired = wait_for_journal(&mut child, &out, |lines| {
        records(lines, "step").count() >= 20
    });
    assert!(fired, "the rehearsal ended before it could be interrupted");
    child.signal("INT");
    child.expect_code(4);
    assert!(
        out.join("sim-tenant.json").is_file(),
        "the emulated tenant is kept"
    );

    // Another emulated tenant is another target.
    let run = bare(&["resume", out.arg(), "--sim-seed", "6"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("--sim-seed 6 (the run used 5)"),
        "{}",
        run.stderr
    );

    // No target flag: the emulator starts again, from the tenant as the run left it, and
    // every user ends as a run never interrupted would have left them.
    let run = bare(&["resume", out.arg(), "--write-budget", "1000/1s"]);
    assert!(run.stderr.contains("as the run left it"), "{}", run.stderr);
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    let mut statuses = Vec::new();
    for (u, row) in listed.iter().zip(&rows) {
        let e = expect(policy, u);
        assert_eq!(row["status"], e.status, "{}: {row}", users::upn(u));
        statuses.push(e.status);
    }
    run.expect_code(exit_for(statuses));
    let passes: Vec<String> = out.taps().into_iter().map(|(_, pass)| pass).collect();
    assert!(!passes.is_empty());
    out.assert_passes_only_in_tap_file(&passes, &[&run.stdout, &run.stderr]);
    out.assert_no_scratch_files();

    // Without the saved tenant (a kill -9 leaves none), the resume says what it starts from.
    std::fs::remove_file(out.join("sim-tenant.json")).unwrap();
    let run = bare(&["resume", out.arg()]);
    assert!(
        run.stderr.contains("from the tenant the run started on"),
        "{}",
        run.stderr
    );
    assert_eq!(out.rows(), rows, "a finished rehearsal stays as it was");
}
