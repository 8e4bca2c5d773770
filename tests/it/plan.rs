//! `mfa-reset plan` as an administrator runs it, against `--tenant sim`: every artefact,
//! every status, each profile, and nothing changed.

use std::path::Path;

use serde_json::Value;

use crate::support::folder::Folder;
use crate::support::process::{Run, mfa_reset};
use crate::support::users::{is_admin, is_synced, kind, methods, upn};
use crate::support::{read_json, s, sample, scratch};

/// `mfa-reset plan INPUT FLAGS --tenant sim --out OUT`: against the emulator's default
/// tenant, built in.
fn plan(input: &Path, flags: &[&str], out: &Path) -> Run {
    let mut cmd = mfa_reset(&["plan", s(input)]);
    cmd.args(flags).args(["--tenant", "sim", "--out", s(out)]);
    Run::of(&mut cmd)
}

/// The emulator's default tenant for `--tenant sim` (1,000 users, seed 7).
fn sim_tenant(dir: &Path) -> Vec<Value> {
    let file = dir.join("tenant.json");
    Run::of(&mut mfa_reset(&[
        "sim",
        "--users",
        "1000",
        "--seed",
        "7",
        "--dump-tenant",
        s(&file),
    ]))
    .expect_code(0);
    read_json(&file)["users"].as_array().unwrap().clone()
}

/// The status column of `results.csv`, row by row.
fn statuses(out: &Path) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_path(out.join("results.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[2].to_string(), r[3].to_string())
        })
        .collect()
}

/// Users of the tenant, one of each kind the statuses need.
struct Picked {
    admin: Value,
    synced: Value,
    password_only: Value,
    /// Three users with MFA methods, no role, cloud-only.
    normal: Vec<Value>,
}

fn pick(users: &[Value]) -> Picked {
    let find = |pred: &dyn Fn(&Value) -> bool| users.iter().find(|u| pred(u)).unwrap().clone();
    let mfa_count = |u: &Value| methods(u).iter().filter(|m| kind(m) != "password").count();
    Picked {
        admin: find(&is_admin),
        synced: find(&|u| is_synced(u) && !is_admin(u)),
        password_only: find(&|u| mfa_count(u) == 0 && !is_admin(u) && !is_synced(u)),
        normal: users
            .iter()
            .filter(|u| mfa_count(u) > 0 && !is_admin(u) && !is_synced(u))
            .take(3)
            .cloned()
            .collect(),
    }
}

#[test]
fn every_status_is_reported_one_row_per_input_row() {
    let dir = scratch("statuses");
    let p = pick(&sim_tenant(&dir));
    let excluded = &p.normal[2];

    // A plain list: each line an id or a UPN, told apart by its shape.
    let input = dir.join("users.txt");
    let rows = [
        upn(&p.normal[0]).to_string(),                     // planned
        upn(&p.password_only).to_string(),                 // no-change
        "nobody.here@contoso.example".to_string(),         // not-found
        "alice@contoso.example/../../users/x".to_string(), // invalid
        upn(&p.normal[0]).to_uppercase(),                  // duplicate (same UPN)
        upn(excluded).to_string(),                         // excluded
        upn(&p.admin).to_string(),                         // protected
        p.normal[1]["id"].as_str().unwrap().to_string(),   // planned, by id
        upn(&p.normal[1]).to_string(),                     // duplicate (same user)
    ];
    std::fs::write(&input, rows.join("\n") + "\n").unwrap();
    let exclude = dir.join("break-glass.txt");
    std::fs::write(&exclude, format!("{}\n", excluded["id"].as_str().unwrap())).unwrap();

    let out = dir.join("out");
    let run = plan(
        &input,
        &[
            "--profile",
            "device-refresh",
            "--skip-invalid",
            "--exclude",
            s(&exclude),
        ],
        &out,
    );
    // Written, with a not-found and an invalid row: exit 1, as a run of it would.
    run.expect_code(1);
    for artefact in [
        "plan.json",
        "results.csv",
        "results.jsonl",
        "summary.md",
        "report.html",
    ] {
        assert!(out.join(artefact).is_file(), "{artefact} missing");
    }
    let got: Vec<String> = statuses(&out).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        got,
        [
            "planned",
            "no-change",
            "not-found",
            "invalid",
            "duplicate",
            "excluded",
            "protected",
            "planned",
            "duplicate"
        ]
    );
    let jsonl = Folder(out.clone()).rows();
    assert_eq!(jsonl.len(), rows.len());
    assert_eq!(jsonl[6]["status"], "protected");
    assert!(jsonl[3]["reason"].as_str().unwrap().contains("'/'"));
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("Nothing has been changed yet"));
    assert!(summary.contains("| protected | 1 |"), "{summary}");
}

/// Offboarding a synced user: the account cannot be disabled in the cloud. Any other
/// user's account is disabled first, then the sessions revoked, then the methods removed.
#[test]
fn offboarding_blocks_a_synced_user_and_disables_the_others_first() {
    let dir = scratch("offboard");
    let p = pick(&sim_tenant(&dir));
    let synced_list = dir.join("synced.txt");
    std::fs::write(
        &synced_list,
        format!("{}\n{}\n", upn(&p.synced), upn(&p.normal[0])),
    )
    .unwrap();
    let offboard = dir.join("offboard");
    // A blocked row: the plan is written, and exits 1 as the run will.
    plan(&synced_list, &["--profile", "offboard"], &offboard).expect_code(1);
    let got: Vec<String> = statuses(&offboard).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, ["blocked", "planned"]);
    let plan = read_json(&offboard.join("plan.json"));
    let reason = plan["entries"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("on-premises") || reason.contains("synced"),
        "{}",
        plan["entries"][0]
    );
    let first = &plan["entries"][1];
    assert_eq!(first["before"]["id"], p.normal[0]["id"]);
    let actions: Vec<&str> = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        &actions[..2],
        ["disableAccount", "revokeSessions"],
        "{actions:?}"
    );
    assert!(actions[2..].iter().all(|a| *a == "deleteMethod"));
}

#[test]
fn every_sample_shape_plans_against_the_emulator() {
    let dir = scratch("samples");
    let mut planned_any = 0;
    for entry in std::fs::read_dir(sample("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == "README.md" || name.ends_with(".png") || name.ends_with(".html") {
            continue;
        }
        let out = dir.join(&name);
        let run = plan(&path, &["--profile", "device-refresh"], &out);
        let stderr = &run.stderr;
        if name.starts_with("broken") {
            assert_eq!(run.code(), Some(2), "{name}: {stderr}");
            assert!(stderr.contains(&format!("{name}:")), "{name}: {stderr}");
            assert!(
                !out.join("plan.json").exists(),
                "nothing is written for bad input"
            );
            continue;
        }
        assert!(run.status.success(), "{name}: {stderr}");
        let results = statuses(&out);
        assert!(!results.is_empty(), "{name}");
        planned_any += results.iter().filter(|(_, s)| s == "planned").count();
        if name == "users-comma.csv" {
            let csv_text = std::fs::read_to_string(out.join("results.csv")).unwrap();
            assert!(
                csv_text.lines().next().unwrap().ends_with(",ticket"),
                "{csv_text}"
            );
            assert!(
                csv_text.contains("INC-4411"),
                "the input's columns are carried through"
            );
        }
        assert!(
            results
                .iter()
                .all(|(_, s)| s != "not-found" && s != "error"),
            "{name}: {results:?}"
        );
    }
    assert!(planned_any > 10);
}

#[test]
fn a_plan_never_changes_the_tenant_and_bad_flags_are_usage_errors() {
    let dir = scratch("flags");
    let input = dir.join("users.txt");
    std::fs::write(&input, "isaiah.wilke0@contoso.example\n").unwrap();
    let out = dir.join("out");
    let run = plan(&input, &["--remove-methods", "password"], &out);
    run.expect_code(2);
    assert!(run.stderr.contains("password"));

    let incident = ["--profile", "incident"];
    plan(&input, &incident, &out).expect_code(0);
    // A second plan into the same folder is refused rather than overwriting the first.
    let again = plan(&input, &incident, &out);
    again.expect_code(2);
    assert!(again.stderr.contains("already holds a plan"));

    // Without --tenant sim and without credentials: a clear error naming the variables.
    let real = dir.join("real");
    let run = Run::of(&mut mfa_reset(&[
        "plan",
        s(&input),
        "--profile",
        "incident",
        "--out",
        s(&real),
    ]));
    run.expect_code(2);
    assert!(run.stderr.contains("AZURE_"), "{}", run.stderr);
}

/// The plan's time to apply, and the line that says it.
fn estimate(dir: &Path, name: &str, input: &Path, budgets: &[&str]) -> (u64, f64, String) {
    let out = dir.join(name);
    let mut flags = vec!["--profile", "device-refresh", "--ru-budget", "1000000/1s"];
    flags.extend_from_slice(budgets);
    let run = plan(input, &flags, &out);
    run.expect_code(0);
    let header = Folder(out).plan();
    let writes = header["writes"].as_u64().unwrap();
    let seconds = header["minimumSeconds"].as_f64().unwrap();
    let said = format!(
        "{writes} Graph writes, about {} to apply.",
        mfa_reset::report::human_duration(seconds)
    );
    assert!(run.stderr.contains(&said), "{said} in:\n{}", run.stderr);
    (writes, seconds, run.stderr)
}

#[test]
fn the_estimate_spends_the_starting_write_bucket_at_once() {
    let dir = scratch("plan-estimate");
    let users = sim_tenant(&dir);
    let list: String = std::iter::once("userPrincipalName".to_string())
        .chain(users.iter().map(|u| upn(u).to_string()))
        .map(|l| l + "\n")
        .collect();
    let input = dir.join("users.csv");
    std::fs::write(&input, list).unwrap();

    // Over a thousand writes fit in Entra's starting bucket of 3,000: not the 50 s and
    // more that writes ÷ 20 a second said, only the round trips (a few milliseconds each
    // against the emulator; 30 of them for this plan, so well under 10 s on any machine).
    let (writes, seconds, stderr) = estimate(&dir, "default", &input, &[]);
    assert!(writes >= 1000, "{writes} writes");
    assert!(seconds > 0.0 && seconds < 10.0, "{seconds} s");
    assert!(!stderr.contains("at least"), "{stderr}");

    // A budget of 1,000 at once, then 10 a second: the rest of the writes wait for it.
    let (same, seconds, _) = estimate(&dir, "custom", &input, &["--write-budget", "1000/100s"]);
    assert_eq!(same, writes);
    let paced = (writes - 1000) as f64 / 10.0;
    assert!(
        seconds >= paced && seconds < paced + 10.0,
        "{seconds} s, paced {paced} s"
    );
}
