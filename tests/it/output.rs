//! `--output json` and `--log-format json`, as a script reads them: stdout holds exactly one
//! JSON document (counts by status, the folder and files, tenant, fingerprint, exit) for
//! `check`, `plan`, `apply` and `resume`, whatever the ending; with the JSON log on stderr,
//! every stderr line is a JSON object and its values are typed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::folder::Folder;
use crate::support::process::Run;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, upn};

/// The one JSON document on `run`'s stdout.
fn document(run: &Run) -> Value {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one document on stdout: {}", run.stdout);
    serde_json::from_str(lines[0]).expect("stdout is JSON")
}

/// The rows of `folder`'s results by status, as the document must count them.
fn tally(folder: &Folder) -> Value {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for status in folder.statuses() {
        *counts.entry(status).or_default() += 1;
    }
    serde_json::to_value(counts).unwrap()
}

/// Every stderr line of `run`, each a JSON object.
fn log_events(run: &Run) -> Vec<Value> {
    run.stderr
        .lines()
        .map(|l| {
            let event: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("a stderr line that is not JSON ({e}): {l:?}"));
            assert!(event.is_object(), "{l}");
            event
        })
        .collect()
}

#[test]
fn plan_apply_and_resume_each_print_one_document_a_script_can_read() {
    let t = Scenario::start("output-json", generated(100, 231));
    let mut listed = users::ordinary(&t.before, 6);
    listed.push(serde_json::json!({"userPrincipalName": "nobody@contoso.example"}));
    let mut text = String::from("userPrincipalName\n");
    for u in &listed {
        text.push_str(&format!("{}\n", upn(u)));
    }
    let list = t.write("users.csv", text);

    let plan = t
        .plan(&list, crate::support::oracle::Profile::DeviceRefresh)
        .args(&["-o", "json"])
        .run();
    plan.expect_code(1);
    let doc = document(&plan);
    let planned = t.planned();
    assert_eq!(doc["command"], "plan");
    assert_eq!(doc["exitCode"], 1);
    assert_eq!(doc["exit"], "failures");
    assert_eq!(doc["counts"], tally(&planned));
    assert_eq!(doc["counts"]["planned"], 6);
    assert_eq!(doc["counts"]["not-found"], 1);
    assert_eq!(doc["rows"], 7);
    assert_eq!(doc["tenant"]["id"], t.sim.tenant_id());
    assert_eq!(doc["fingerprint"], planned.plan()["fingerprint"]);
    assert_eq!(doc["folder"], planned.arg());
    let files: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for name in [
        "plan.json",
        "results.csv",
        "results.jsonl",
        "summary.md",
        "report.html",
    ] {
        let path = planned.join(name);
        assert!(files.contains(&path.to_str().unwrap()), "{name}: {files:?}");
    }
    // The people's messages stay on stderr; among them the size the quota goes by,
    // counted (--tenant-size auto): 100 users is a medium tenant.
    assert!(plan.stderr.contains("plan written to"), "{}", plan.stderr);
    assert!(
        plan.stderr.contains("tenant size: 100 users, medium"),
        "{}",
        plan.stderr
    );

    // Applied with the JSON log on stderr: the document on stdout, JSON lines on stderr.
    let apply = t
        .apply_plan()
        .yes()
        .args(&["-o", "json", "--log-format", "json"])
        .run();
    // The user the tenant does not hold keeps the exit at 1.
    apply.expect_code(1);
    let doc = document(&apply);
    let out = t.out();
    assert_eq!(doc["command"], "apply");
    assert_eq!(doc["exitCode"], 1);
    assert_eq!(doc["counts"]["not-found"], 1);
    assert_eq!(doc["counts"], tally(&out));
    assert_eq!(doc["counts"]["done"], 6);
    assert_eq!(doc["fingerprint"], planned.plan()["fingerprint"]);
    assert_eq!(doc["tenant"]["id"], t.sim.tenant_id());
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        run["connection"]["tenantSize"], "medium",
        "the run keeps the size counted"
    );
    let events = log_events(&apply);
    let message = |e: &Value| e["fields"]["message"].as_str().unwrap_or("").to_string();
    let batches: Vec<&Value> = events
        .iter()
        .filter(|e| message(e) == "batch answered")
        .collect();
    assert!(!batches.is_empty());
    for b in &batches {
        let statuses = b["fields"]["statuses"]
            .as_object()
            .expect("statuses is an object");
        assert!(statuses.values().all(Value::is_u64), "{b}");
        assert!(
            b["fields"]["items"].is_u64() && b["fields"]["elapsed_ms"].is_u64(),
            "{b}"
        );
    }
    let finished = events
        .iter()
        .filter(|e| message(e) == "user finished")
        .count();
    assert_eq!(finished, 6);
    assert!(
        events.iter().any(|e| message(e).contains("applying to")),
        "the messages are events too"
    );

    // Resumed once finished: nothing to do, the same counts.
    let resume = t.resume().args(&["-o", "json"]).run();
    resume.expect_code(1);
    let doc = document(&resume);
    assert_eq!(doc["command"], "resume");
    assert_eq!(doc["counts"], tally(&out));

    // Refused (the folder holds a run): still one document, with the reason, no files.
    let seen = t.mutations().len();
    let again = t.apply_plan().yes().args(&["-o", "json"]).run();
    again.expect_code(2);
    let doc = document(&again);
    assert_eq!(doc["exitCode"], 2);
    assert_eq!(doc["exit"], "usage");
    assert!(
        doc["exitReason"]
            .as_str()
            .unwrap()
            .contains("already holds a run"),
        "{doc}"
    );
    assert_eq!(doc["files"], serde_json::json!([]));
    assert!(doc["counts"].is_null());
    assert_eq!(t.mutations().len(), seen);
}

#[test]
fn check_lists_its_problems_in_the_document_and_its_lines_on_stderr() {
    let t = Scenario::start("output-check", generated(5, 232));
    let list = t.write(
        "list.csv",
        "userPrincipalName\nana@contoso.example\nnot an address\nANA@contoso.example\n",
    );
    let run = t
        .mfa(&["check", list.to_str().unwrap(), "--output", "json"])
        .run();
    run.expect_code(2);
    let doc = document(&run);
    assert_eq!(doc["command"], "check");
    assert_eq!(doc["exitCode"], 2);
    assert_eq!(doc["rows"], 3);
    assert_eq!(
        doc["counts"],
        serde_json::json!({"valid": 1, "invalid": 1, "duplicate": 1})
    );
    assert_eq!(doc["input"]["file"], list.to_str().unwrap());
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0]["kind"], "invalid");
    assert_eq!(problems[0]["line"], 3);
    assert_eq!(problems[0]["column"], 1);
    assert_eq!(problems[1]["kind"], "duplicate");
    assert_eq!(problems[1]["sameAsLine"], 2);
    // The text lines moved to stderr.
    assert!(run.stderr.contains(":3:1:"), "{}", run.stderr);
    // With the JSON log there, they are events like every other line.
    let logged = t
        .mfa(&[
            "check",
            list.to_str().unwrap(),
            "-o",
            "json",
            "--log-format",
            "json",
        ])
        .run();
    logged.expect_code(2);
    assert_eq!(document(&logged)["problems"], doc["problems"]);
    let events = log_events(&logged);
    assert!(
        events.iter().any(|e| e["fields"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(":3:1:")),
        "{}",
        logged.stderr
    );
}

#[test]
fn with_the_json_log_every_stderr_line_is_json_even_an_error() {
    let t = Scenario::start("output-log-error", generated(5, 233));
    let missing = t.dir.join("no-such-list.csv");
    let run = t
        .mfa(&["plan", missing.to_str().unwrap(), "--profile", "incident"])
        .args(&["--out", t.planned().arg(), "--log-format", "json"])
        .run();
    run.expect_code(2);
    let events = log_events(&run);
    let error = events
        .iter()
        .find(|e| e["level"] == "ERROR")
        .expect("the error is an event");
    assert!(
        error["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-list.csv"),
        "{error}"
    );
}
