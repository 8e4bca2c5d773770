//! `mfa-reset plan` as an administrator runs it, against `--tenant sim`: every artefact,
//! every status, each profile, and nothing changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mfa-reset");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-reset-plan-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mfa_reset(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("MFA_RESET_ACCESS_TOKEN")
        .output()
        .expect("the binary runs")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The emulator's default tenant for `--tenant sim` (1,000 users, seed 7).
fn sim_tenant(dir: &Path) -> Vec<Value> {
    let file = dir.join("tenant.json");
    let out = mfa_reset(&[
        "sim",
        "--users",
        "1000",
        "--seed",
        "7",
        "--dump-tenant",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    read_json(&file)["users"].as_array().unwrap().clone()
}

fn upn(u: &Value) -> &str {
    u["userPrincipalName"].as_str().unwrap()
}

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

#[test]
fn every_status_is_reported_one_row_per_input_row() {
    let dir = scratch("statuses");
    let users = sim_tenant(&dir);
    let find = |pred: &dyn Fn(&Value) -> bool| users.iter().find(|u| pred(u)).unwrap().clone();
    let has_roles = |u: &Value| !u["roles"].as_array().unwrap().is_empty();
    let mfa_count = |u: &Value| {
        u["methods"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["@odata.type"] != "#microsoft.graph.passwordAuthenticationMethod")
            .count()
    };
    let admin = find(&|u| has_roles(u));
    let synced = find(&|u| u["onPremisesSyncEnabled"] == true && !has_roles(u));
    let password_only =
        find(&|u| mfa_count(u) == 0 && !has_roles(u) && u["onPremisesSyncEnabled"] != true);
    let normal: Vec<Value> = users
        .iter()
        .filter(|u| mfa_count(u) > 0 && !has_roles(u) && u["onPremisesSyncEnabled"] != true)
        .take(3)
        .cloned()
        .collect();
    let excluded = &normal[2];

    // A plain list: each line an id or a UPN, told apart by its shape.
    let input = dir.join("users.txt");
    let rows = [
        upn(&normal[0]).to_string(),                       // planned
        upn(&password_only).to_string(),                   // no-change
        "nobody.here@contoso.example".to_string(),         // not-found
        "alice@contoso.example/../../users/x".to_string(), // invalid
        upn(&normal[0]).to_uppercase(),                    // duplicate (same UPN)
        upn(excluded).to_string(),                         // excluded
        upn(&admin).to_string(),                           // protected
        normal[1]["id"].as_str().unwrap().to_string(),     // planned, by id
        upn(&normal[1]).to_string(),                       // duplicate (same user)
    ];
    std::fs::write(&input, rows.join("\n") + "\n").unwrap();
    let exclude = dir.join("break-glass.txt");
    std::fs::write(&exclude, format!("{}\n", excluded["id"].as_str().unwrap())).unwrap();

    let out = dir.join("out");
    let o = mfa_reset(&[
        "plan",
        input.to_str().unwrap(),
        "--profile",
        "device-refresh",
        "--skip-invalid",
        "--exclude",
        exclude.to_str().unwrap(),
        "--tenant",
        "sim",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
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
    let jsonl: Vec<Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(jsonl.len(), rows.len());
    assert_eq!(jsonl[6]["status"], "protected");
    assert!(jsonl[3]["reason"].as_str().unwrap().contains("'/'"));
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("Nothing has been changed yet"));
    assert!(summary.contains("| protected | 1 |"), "{summary}");

    // Offboarding a synced user: the account cannot be disabled in the cloud.
    let synced_list = dir.join("synced.txt");
    std::fs::write(
        &synced_list,
        format!("{}\n{}\n", upn(&synced), upn(&normal[0])),
    )
    .unwrap();
    let offboard = dir.join("offboard");
    let o = mfa_reset(&[
        "plan",
        synced_list.to_str().unwrap(),
        "--profile",
        "offboard",
        "--tenant",
        "sim",
        "--out",
        offboard.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<String> = statuses(&offboard).into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, ["blocked", "planned"]);
    let plan = read_json(&offboard.join("plan.json"));
    assert!(
        plan["entries"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("on-premises")
            || plan["entries"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("synced"),
        "{}",
        plan["entries"][0]
    );
    let first = &plan["entries"][1];
    assert_eq!(first["before"]["id"], normal[0]["id"]);
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
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = scratch("samples");
    let mut planned_any = 0;
    for entry in std::fs::read_dir(&samples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == "README.md" || name.ends_with(".png") || name.ends_with(".html") {
            continue;
        }
        let out = dir.join(&name);
        let o = mfa_reset(&[
            "plan",
            path.to_str().unwrap(),
            "--profile",
            "device-refresh",
            "--tenant",
            "sim",
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        if name.starts_with("broken") {
            assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
            assert!(stderr.contains(&format!("{name}:")), "{name}: {stderr}");
            assert!(
                !out.join("plan.json").exists(),
                "nothing is written for bad input"
            );
            continue;
        }
        assert!(o.status.success(), "{name}: {stderr}");
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
    let o = mfa_reset(&[
        "plan",
        input.to_str().unwrap(),
        "--remove-methods",
        "password",
        "--tenant",
        "sim",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("password"));

    let o = mfa_reset(&[
        "plan",
        input.to_str().unwrap(),
        "--profile",
        "incident",
        "--tenant",
        "sim",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A second plan into the same folder is refused rather than overwriting the first.
    let again = mfa_reset(&[
        "plan",
        input.to_str().unwrap(),
        "--profile",
        "incident",
        "--tenant",
        "sim",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a plan"));

    // Without --tenant sim and without credentials: a clear error naming the variables.
    let o = mfa_reset(&[
        "plan",
        input.to_str().unwrap(),
        "--profile",
        "incident",
        "--out",
        dir.join("real").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("AZURE_"), "{stderr}");
}
