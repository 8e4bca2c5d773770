//! Temporary Access Pass options as Entra has them (issue #16): `--tap-lifetime` over the
//! whole range a tenant's policy can allow, held to the tenant's own range by `plan` and
//! `apply` before anything changes; `--tap-start` (a start to come, refused once passed,
//! a plan whose passes' window is over refused by `apply`); the expiry column of
//! `secrets/tap.csv`, and a file begun by an earlier version resumed in its own columns;
//! and the plan's note when its run outlasts the passes' lifetime.

use std::collections::BTreeMap;

use mfa_reset::plan::PlanFile;
use mfa_reset::plan::fingerprint::plan_fingerprint;
use mfa_reset::policy::{PolicyArgs, Profile as PolicyProfile, Step};
use mfa_reset::sim::TapPolicy;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::wait_for_journal;
use crate::support::folder::Folder;
use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{id_of, kind, methods, ordinary};

/// Every lifetime a tenant's policy may set.
fn widest() -> TapPolicy {
    TapPolicy {
        minimum_lifetime_in_minutes: 10,
        maximum_lifetime_in_minutes: 43_200,
        default_lifetime_in_minutes: 60,
        ..TapPolicy::default()
    }
}

/// An instant in RFC 3339, to the second.
fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0).unwrap().format(&Rfc3339).unwrap()
}

fn at(t: &str) -> OffsetDateTime {
    OffsetDateTime::parse(t, &Rfc3339).unwrap()
}

/// `secrets/tap.csv` of `out`: its header and its rows as column → value.
fn tap_csv(out: &Folder) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    out.taps(); // checks the modes
    let mut reader = csv::Reader::from_path(out.join("secrets/tap.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), header.len(), "every row has the header's columns");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The users' passes in the emulated tenant now, by user id.
fn passes_in_tenant(t: &Scenario) -> BTreeMap<String, Value> {
    t.users()
        .iter()
        .filter_map(|(id, u)| {
            methods(u)
                .iter()
                .find(|m| kind(m) == "temporaryAccessPass")
                .map(|m| (id.clone(), m.clone()))
        })
        .collect()
}

#[test]
fn lifetimes_of_10_and_43200_minutes_are_taken_where_the_tenants_policy_allows_them() {
    let t = Scenario::start("tap-lifetimes", generated(120, 161));
    let listed = ordinary(&t.before, 6);
    let input = t.write_list(&listed);
    let tap = Profile::DeviceRefresh.with_tap();

    // Outside what any policy can allow: refused as bad usage before Graph is asked.
    for bad in ["9", "43201"] {
        let run = t.plan(&input, tap).args(&["--tap-lifetime", bad]).run();
        run.expect_code(2);
        assert!(run.stderr.contains("10-43200 minutes"), "{}", run.stderr);
    }

    // The tenant's default policy, 60 to 480 minutes: both refused with its range, by
    // plan and by apply, before anything is read or changed.
    for (command, lifetime) in [
        ("plan", "10"),
        ("plan", "43200"),
        ("apply", "10"),
        ("apply", "43200"),
    ] {
        let invocation = if command == "plan" {
            t.plan(&input, tap)
        } else {
            t.apply(&input, tap).yes()
        };
        let run = invocation.args(&["--tap-lifetime", lifetime]).run();
        run.expect_code(2);
        assert!(
            run.stderr.contains(&format!("--tap-lifetime {lifetime} is outside the tenant's Temporary Access Pass policy, which allows 60 to 480 minutes")),
            "{command} {lifetime}: {}",
            run.stderr
        );
        assert!(!t.planned().path().exists() && !t.out().path().exists());
    }
    assert!(t.mutations().is_empty(), "the tenant is unchanged");

    // A policy that allows them: a plan of 10 minutes, a run of 30 days.
    t.sim.set_tap_policy(widest()).unwrap();
    t.plan(&input, tap)
        .args(&["--tap-lifetime", "10"])
        .run()
        .expect_code(0);
    assert_eq!(
        t.planned().plan()["policy"]["temporaryAccessPass"]["lifetimeMinutes"],
        10
    );
    t.apply(&input, tap)
        .args(&["--tap-lifetime", "43200"])
        .yes()
        .run()
        .expect_code(0);
    let passes = passes_in_tenant(&t);
    assert_eq!(passes.len(), listed.len());
    for pass in passes.values() {
        assert_eq!(pass["lifetimeInMinutes"], 43_200);
    }
    let (_, rows) = tap_csv(&t.out());
    assert_eq!(rows.len(), listed.len());
    for row in &rows {
        assert_eq!(row["lifetimeInMinutes"], "43200");
        // Thirty days after the pass started.
        let start = at(&row["startDateTime"]);
        assert_eq!(
            at(&row["expiryDateTime"]),
            start + Duration::days(30),
            "{row:?}"
        );
    }
}

#[test]
fn passes_with_a_start_to_come_wait_for_it_and_tap_csv_says_when_they_end() {
    let t = Scenario::start("tap-start", generated(120, 162));
    let listed = ordinary(&t.before, 5);
    let input = t.write_list(&listed);
    let tap = Profile::DeviceRefresh.with_tap();
    let start = rfc3339(OffsetDateTime::now_utc() + Duration::hours(3));
    let end = rfc3339(at(&start) + Duration::minutes(120));

    // Only with --issue-tap, and only a time to come.
    let run = t
        .plan(&input, Profile::DeviceRefresh)
        .args(&["--tap-start", &start])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("--tap-start only applies with --issue-tap"),
        "{}",
        run.stderr
    );
    let run = t
        .plan(&input, tap)
        .args(&["--tap-start", "2020-01-01"])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("--tap-start 2020-01-01T00:00:00Z is not in the future"),
        "{}",
        run.stderr
    );
    assert!(!t.planned().path().exists(), "no plan folder");

    t.plan(&input, tap)
        .args(&["--tap-start", &start, "--tap-lifetime", "120"])
        .run()
        .expect_code(0);
    let plan = t.planned().plan();
    assert_eq!(
        plan["policy"]["temporaryAccessPass"]["start"],
        start.as_str()
    );
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    assert!(
        summary.contains(&format!("valid 120 minutes from {start}")),
        "{summary}"
    );

    let run = t.apply_plan().yes().run();
    run.expect_code(0);
    assert!(
        run.stderr.contains(&format!(
            "the Temporary Access Passes become usable at {start} (--tap-start), not before"
        )),
        "{}",
        run.stderr
    );
    let summary = std::fs::read_to_string(t.out().join("summary.md")).unwrap();
    assert!(summary.contains(&format!("from {start}")), "{summary}");
    let html = std::fs::read_to_string(t.out().join("report.html")).unwrap();
    assert!(html.contains(&start), "the HTML report gives the start too");

    // In the tenant: not usable yet.
    let passes = passes_in_tenant(&t);
    assert_eq!(passes.len(), listed.len());
    for pass in passes.values() {
        assert_eq!(at(pass["startDateTime"].as_str().unwrap()), at(&start));
        assert_eq!(pass["isUsable"], false);
        assert_eq!(pass["methodUsabilityReason"], "NotYetValid");
    }
    let (header, rows) = tap_csv(&t.out());
    assert_eq!(header.last().map(String::as_str), Some("expiryDateTime"));
    assert_eq!(rows.len(), listed.len());
    for row in &rows {
        assert_eq!(at(&row["startDateTime"]), at(&start));
        assert_eq!(row["expiryDateTime"], end);
        assert!(passes.contains_key(&row["userId"]));
    }
}

/// `plan.json` of `folder` with its passes made to start at `start`, fingerprinted again,
/// as a plan made at `made` would be.
fn restarted(folder: &Folder, start: &str, made: &str) -> String {
    let mut plan: PlanFile = serde_json::from_value(folder.plan()).unwrap();
    let policy = PolicyArgs {
        profile: Some(PolicyProfile::DeviceRefresh),
        issue_tap: true,
        tap_start: Some(start.into()),
        ..PolicyArgs::default()
    }
    .into_policy_at(at(made))
    .unwrap();
    let mut passes = 0;
    for entry in &mut plan.entries {
        for step in &mut entry.steps {
            if let Step::IssueTemporaryAccessPass { start: s, .. } = step {
                *s = policy.tap().unwrap().start;
                passes += 1;
            }
        }
    }
    assert!(passes > 0);
    plan.policy = policy;
    plan.fingerprint = plan_fingerprint(
        &plan.input.sha256,
        &plan.policy,
        &plan.entries,
        plan.tenant.as_ref().map(|t| t.id.as_str()),
    );
    serde_json::to_string(&plan).unwrap()
}

#[test]
fn a_plan_whose_passes_window_is_over_is_refused_and_one_whose_start_passed_issues_at_once() {
    let t = Scenario::start("tap-window", generated(120, 163));
    let listed = ordinary(&t.before, 4);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh.with_tap())
        .run()
        .expect_code(0);

    // Made in 2019 for passes from 2020-01-01 for an hour: long over.
    let stale = t.write(
        "stale.json",
        restarted(&t.planned(), "2020-01-01T00:00:00Z", "2019-12-01T00:00:00Z"),
    );
    let run = t
        .mfa(&[
            "apply",
            stale.to_str().unwrap(),
            "--out",
            t.out().arg(),
            "--yes",
        ])
        .run();
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("were to work from 2020-01-01T00:00:00Z to 2020-01-01T01:00:00Z"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert!(!t.out().path().exists(), "no run folder");
    assert!(t.mutations().is_empty());

    // Started ten minutes ago, for an hour: Graph refuses a start in the past, so the
    // passes are asked for without one, and work at once for their hour.
    let now = OffsetDateTime::now_utc();
    let start = rfc3339(now - Duration::minutes(10));
    let made = rfc3339(now - Duration::minutes(20));
    let late = t.write("late.json", restarted(&t.planned(), &start, &made));
    let run = t
        .mfa(&[
            "apply",
            late.to_str().unwrap(),
            "--out",
            t.out().arg(),
            "--yes",
        ])
        .run();
    run.expect_code(0);
    assert!(
        run.stderr
            .contains(&format!("the plan's --tap-start {start} has passed")),
        "{}",
        run.stderr
    );
    let passes = passes_in_tenant(&t);
    assert_eq!(passes.len(), listed.len());
    for pass in passes.values() {
        assert_eq!(pass["isUsable"], true);
        assert!(at(pass["startDateTime"].as_str().unwrap()) > at(&start));
    }
    let (_, rows) = tap_csv(&t.out());
    for row in &rows {
        assert_eq!(
            at(&row["expiryDateTime"]),
            at(&row["startDateTime"]) + Duration::hours(1)
        );
    }
}

#[test]
fn a_plan_that_outlasts_its_passes_says_so_early() {
    let t = Scenario::start("tap-outlasted", generated(200, 164));
    t.sim.set_tap_policy(widest()).unwrap();
    let listed = ordinary(&t.before, 20);
    let input = t.write_list(&listed);
    let tap = Profile::DeviceRefresh.with_tap();
    // One write a minute: about a minute a write, whatever the machine.
    let run = t
        .plan(&input, tap)
        .args(&["--tap-lifetime", "10"])
        .budget("1/60s")
        .run();
    run.expect_code(0);
    let plan = t.planned().plan();
    let writes = plan["writes"].as_u64().unwrap();
    assert!(writes > 10, "{writes} writes");
    let note = format!(
        "the plan's writes take about {writes} minutes at the write budget, longer than the passes' lifetime of 10 minutes"
    );
    assert!(
        run.stderr.contains(&format!("mfa-reset: note: {note}")),
        "{}",
        run.stderr
    );
    let said = run.stderr.find(&note).unwrap();
    assert!(
        said < run.stderr.find("plan written to").unwrap(),
        "said before the plan is described:\n{}",
        run.stderr
    );
    let notes = plan["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].as_str().unwrap().starts_with(&note));
    assert!(notes[0].as_str().unwrap().contains("--tap-lifetime"));
    assert!(notes[0].as_str().unwrap().contains("split the list"));
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    assert!(summary.contains(&format!("**Note:** {note}")), "{summary}");
    let html = std::fs::read_to_string(t.planned().join("report.html")).unwrap();
    assert!(
        html.contains("longer than the passes&#39; lifetime")
            || html.contains("longer than the passes' lifetime")
    );
    std::fs::remove_dir_all(t.planned().path()).unwrap();

    // Passes that outlive the run: nothing to say.
    let run = t
        .plan(&input, tap)
        .args(&["--tap-lifetime", "43200"])
        .budget("1/60s")
        .run();
    run.expect_code(0);
    assert!(
        !run.stderr.contains("longer than the passes"),
        "{}",
        run.stderr
    );
    assert!(t.planned().plan().get("notes").is_none());
    assert!(t.mutations().is_empty());
}

#[test]
fn a_run_whose_tap_csv_has_the_earlier_columns_resumes_in_them() {
    let t = Scenario::start("tap-legacy", generated(200, 165));
    let listed = ordinary(&t.before, 12);
    let input = t.write_list(&listed);
    let mut child = t
        .apply(&input, Profile::DeviceRefresh.with_tap())
        .yes()
        .budget("2/1s")
        .spawn("first");
    // Stopped once the first pass is in the file, with others still to come.
    let path = t.out().join("secrets/tap.csv");
    let fired = wait_for_journal(&mut child, &t.out(), |_| {
        std::fs::read_to_string(&path).is_ok_and(|text| text.lines().count() >= 2)
    });
    assert!(fired, "the run ended before its first pass was written");
    child.kill_9();
    child.wait();

    // As an earlier mfa-reset wrote it: no expiry column.
    let (_, rows) = tap_csv(&t.out());
    assert!(
        !rows.is_empty() && rows.len() < listed.len(),
        "{} passes",
        rows.len()
    );
    let legacy = [
        "userId",
        "userPrincipalName",
        "temporaryAccessPass",
        "startDateTime",
        "lifetimeInMinutes",
        "isUsableOnce",
    ];
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(legacy).unwrap();
    for row in &rows {
        writer
            .write_record(legacy.iter().map(|c| row[*c].as_str()))
            .unwrap();
    }
    let before = writer.into_inner().unwrap();
    std::fs::write(&path, &before).unwrap();

    let run = t.resume().budget("60/1s").run();
    run.expect_code(0);
    let after = std::fs::read(&path).unwrap();
    assert!(
        after.starts_with(&before),
        "the rows there are kept as they were"
    );
    let (header, rows) = tap_csv(&t.out());
    assert_eq!(header, legacy, "appended in the file's own columns");
    let passes = passes_in_tenant(&t);
    assert_eq!(passes.len(), listed.len());
    let in_file: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["userId"].as_str()).collect();
    for user in &listed {
        assert!(
            in_file.contains(id_of(user)),
            "{} has its pass in the file",
            id_of(user)
        );
    }
}

#[test]
fn a_tenant_of_one_time_passes_refuses_multi_use_ones_before_plan_or_apply_changes_anything() {
    let t = Scenario::start("tap-once-only", generated(120, 166));
    t.sim
        .set_tap_policy(TapPolicy {
            is_usable_once: true,
            ..widest()
        })
        .unwrap();
    let listed = ordinary(&t.before, 4);
    let input = t.write_list(&listed);
    let tap = Profile::DeviceRefresh.with_tap();
    for run in [t.plan(&input, tap).run(), t.apply(&input, tap).yes().run()] {
        run.expect_code(2);
        assert!(
            run.stderr.contains("allows one-time passes only") && run.stderr.contains("--tap-once"),
            "{}",
            run.stderr
        );
    }
    assert!(!t.planned().path().exists() && !t.out().path().exists());
    assert!(t.mutations().is_empty(), "the tenant is unchanged");
    t.apply(&input, tap)
        .args(&["--tap-once"])
        .yes()
        .run()
        .expect_code(0);
    let passes = passes_in_tenant(&t);
    assert_eq!(passes.len(), listed.len());
    assert!(passes.values().all(|p| p["isUsableOnce"] == true));
}
