//! The reports of a run end to end: a hand-built plan and its outcomes — every run status,
//! hostile values (`<script>` in a UPN, `=cmd|` formulas in input and extra columns),
//! extra columns (one named like a fixed column), a Temporary Access Pass issued — are
//! written as `results.csv`, `results.jsonl`, `summary.md` and `report.html`, and checked
//! as text and, when Chromium is installed, in headless Chromium (loads, runs its
//! script, logs nothing to the console; a screenshot).
//!
//! The Chromium check follows `tests/report_html.rs`: it runs when a `chromium` or
//! `chromium-browser` binary is on `PATH`, is skipped with a note without one, and fails
//! instead when `MFA_RESET_REQUIRE_CHROMIUM=1` (as CI sets it).
//! `MFA_RESET_WRITE_SCREENSHOT=1` also writes the screenshot of a realistic run's report
//! to `samples/run-report-screenshot.png`.

#[path = "common/chromium.rs"]
mod chromium;

use chromium::chromium_or_skip;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mfa_reset::engine::outcome::{MethodRef, RunStatus, UserOutcome};
use mfa_reset::plan::{
    InputInfo, PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanFile, Status, sha256_hex,
};
use mfa_reset::policy::{
    Decision, MethodSnapshot, Policy, PolicyArgs, Profile, Step, UserSnapshot, decide,
};
use mfa_reset::report::run::{
    self, COLUMNS, DIGEST_ROWS, MAX_HTML_ROWS, MAX_SUMMARY_ROWS, RunDigest, RunFigures,
    RunResultsWriter, RunTally, render_html, render_summary,
};
use mfa_reset::report::{Figures, ReportError, human_duration};
use mfa_reset::wire::{MethodType, PhoneType};

const HOSTILE_UPN: &str = "<script>console.error('pwned-upn')</script>@x";
const HOSTILE_COLUMN: &str = "\"><img src=x onerror=console.error('pwned-col')>";
const HOSTILE_DEVICE: &str = "<b>iPhone</b> & 'co'";
const FORMULA: &str = "=cmd|' /C calc'!A0";
const FORMULA_AT: &str = "@SUM(1+1)*cmd|' /C calc'!A0";
const PHONE_ID: &str = "3179e48a-750b-4051-897c-87b9720928f7";

/// A fresh directory under the target's temp dir.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "report-run-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the report must show for a user-supplied string.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn entry(line: usize, input: &str, status: Status, reason: Option<&str>) -> PlanEntry {
    PlanEntry {
        row: line - 2,
        line,
        input: input.to_string(),
        status,
        reason: reason.map(str::to_string),
        before: None,
        steps: Vec::new(),
        notes: Vec::new(),
        columns: BTreeMap::new(),
    }
}

fn method(kind: MethodType, id: &str, name: Option<&str>) -> MethodSnapshot {
    MethodSnapshot {
        id: id.to_string(),
        kind,
        display_name: name.map(str::to_string),
        created: None,
        phone_type: (kind == MethodType::Phone).then_some(PhoneType::Mobile),
    }
}

fn password() -> MethodSnapshot {
    method(
        MethodType::Password,
        "28c10230-6103-485e-b985-444c60001490",
        None,
    )
}

fn snapshot(id: &str, upn: &str, methods: Vec<MethodSnapshot>) -> UserSnapshot {
    UserSnapshot {
        id: id.to_string(),
        user_principal_name: upn.to_string(),
        account_enabled: true,
        synced: false,
        admin_roles: Vec::new(),
        default_method: None,
        methods,
    }
}

/// A planned entry: the user read, and a step to delete each method but the password
/// (after revoking sessions, and before `extra` steps).
fn planned(line: usize, input: &str, user: UserSnapshot, extra: Vec<Step>) -> PlanEntry {
    let mut e = entry(line, input, Status::Planned, None);
    e.steps = vec![Step::RevokeSessions];
    e.steps.extend(
        user.methods
            .iter()
            .filter(|m| m.kind != MethodType::Password)
            .map(|m| Step::DeleteMethod {
                kind: m.kind,
                id: m.id.clone(),
                label: m.label(),
            }),
    );
    e.steps.extend(extra);
    e.before = Some(user);
    e
}

fn finish(policy: Policy, file: &str, entries: Vec<PlanEntry>) -> PlanFile {
    let input_sha = sha256_hex(file.as_bytes());
    let fingerprint = sha256_hex(format!("{input_sha}\n{}", policy.canonical_json()).as_bytes());
    let writes: usize = entries.iter().map(PlanEntry::writes).sum();
    PlanFile {
        format: PLAN_FORMAT.into(),
        version: PLAN_VERSION,
        created: "2026-11-28T09:14:03Z".into(),
        tool: format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
        graph: "https://graph.microsoft.com/v1.0".into(),
        input: InputInfo {
            file: file.into(),
            sha256: input_sha,
            rows: entries.len(),
        },
        policy,
        fingerprint: format!("sha256:{fingerprint}"),
        writes,
        minimum_seconds: writes as f64 / 20.0,
        entries,
    }
}

/// A device refresh that revokes sessions and hands out passes (the hand-built entries
/// add a disable step too, so that every kind of change is reported).
fn policy() -> Policy {
    PolicyArgs {
        revoke_sessions: true,
        issue_tap: true,
        ..PolicyArgs::for_profile(Profile::DeviceRefresh)
    }
    .into_policy()
    .unwrap()
}

/// The methods a plan entry deletes, as the run reports them.
fn deletes(e: &PlanEntry) -> Vec<MethodRef> {
    e.steps
        .iter()
        .filter_map(|s| match s {
            Step::DeleteMethod { kind, id, label } => Some(MethodRef {
                kind: *kind,
                id: id.clone(),
                label: label.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn times(o: &mut UserOutcome, n: usize) {
    o.started = Some(format!("2026-11-28T10:02:{:02}Z", n % 60));
    o.ended = Some(format!("2026-11-28T10:03:{:02}Z", n % 60));
}

/// A plan with a row for every run status (13 rows: two invalid), and its outcomes.
fn test_run() -> (PlanFile, Vec<UserOutcome>) {
    let tap = Step::IssueTemporaryAccessPass {
        lifetime_minutes: 60,
        usable_once: true,
    };
    let mut alice = planned(
        2,
        "alice@contoso.com",
        snapshot(
            "11111111-1111-1111-1111-111111111111",
            "alice@contoso.com",
            vec![
                password(),
                method(MethodType::Phone, PHONE_ID, Some("+1 4255550113")),
                method(
                    MethodType::MicrosoftAuthenticator,
                    "a1",
                    Some(HOSTILE_DEVICE),
                ),
            ],
        ),
        vec![Step::DisableAccount, tap.clone()],
    );
    alice.columns = BTreeMap::from([
        ("ticket".to_string(), "INC-4711".to_string()),
        ("comment".to_string(), HOSTILE_COLUMN.to_string()),
        ("note".to_string(), FORMULA.to_string()),
        ("status".to_string(), "vip".to_string()),
    ]);
    let bob = planned(
        3,
        "22222222-2222-2222-2222-222222222222",
        snapshot(
            "22222222-2222-2222-2222-222222222222",
            "bob@contoso.com",
            vec![
                password(),
                method(MethodType::Email, "e1", None),
                method(MethodType::SoftwareOath, "o1", None),
            ],
        ),
        Vec::new(),
    );
    let mut carol = entry(
        4,
        "carol@contoso.com",
        Status::NoChange,
        Some("nothing to change"),
    );
    carol.before = Some(snapshot(
        "33333333-3333-3333-3333-333333333333",
        "carol@contoso.com",
        vec![password()],
    ));
    let dave = planned(
        5,
        "dave@contoso.com",
        snapshot(
            "66666666-6666-6666-6666-666666666666",
            "dave@contoso.com",
            vec![
                password(),
                method(MethodType::Phone, PHONE_ID, Some("+1 4255550177")),
            ],
        ),
        Vec::new(),
    );
    let erin = planned(
        6,
        "erin@contoso.com",
        snapshot(
            "77777777-7777-7777-7777-777777777777",
            "erin@contoso.com",
            vec![
                password(),
                method(MethodType::Fido2, "f1", Some("YubiKey 5C")),
            ],
        ),
        Vec::new(),
    );
    let nobody = entry(
        7,
        "nobody@contoso.com",
        Status::NotFound,
        Some("no such user in the tenant"),
    );
    let mut hostile = entry(
        8,
        HOSTILE_UPN,
        Status::Invalid,
        Some(&format!("not a valid user principal name: {HOSTILE_UPN}")),
    );
    hostile.columns = BTreeMap::from([("note".to_string(), FORMULA_AT.to_string())]);
    let duplicate = entry(
        9,
        "ALICE@contoso.com",
        Status::Duplicate,
        Some("same user as line 2"),
    );
    let excluded = entry(
        10,
        "breakglass@contoso.com",
        Status::Excluded,
        Some("on the exclude list"),
    );
    let mut protected = entry(
        11,
        "root@contoso.com",
        Status::Protected,
        Some("holds the admin role Global Administrator; admin accounts are left alone"),
    );
    protected.before = Some(UserSnapshot {
        admin_roles: vec!["Global Administrator".into()],
        ..snapshot(
            "44444444-4444-4444-4444-444444444444",
            "root@contoso.com",
            vec![password()],
        )
    });
    let mut blocked = entry(
        12,
        "synced@contoso.com",
        Status::Blocked,
        Some("synced from on-premises Active Directory & cannot be disabled through Graph"),
    );
    blocked.before = Some(UserSnapshot {
        synced: true,
        ..snapshot(
            "55555555-5555-5555-5555-555555555555",
            "synced@contoso.com",
            vec![password()],
        )
    });
    blocked.steps = vec![Step::RevokeSessions];
    let frank = planned(
        13,
        "frank@contoso.com",
        snapshot(
            "88888888-8888-8888-8888-888888888888",
            "frank@contoso.com",
            vec![
                password(),
                method(MethodType::Phone, PHONE_ID, Some("+1 4255550142")),
            ],
        ),
        Vec::new(),
    );
    let formula = entry(
        14,
        FORMULA,
        Status::Invalid,
        Some("not a valid user principal name: no '@'"),
    );
    let plan = finish(
        policy(),
        "users <board>.csv",
        vec![
            alice, bob, carol, dave, erin, nobody, hostile, duplicate, excluded, protected,
            blocked, frank, formula,
        ],
    );

    let mut outcomes: Vec<UserOutcome> = plan.entries.iter().map(UserOutcome::from_plan).collect();
    let e = &plan.entries;
    // alice: everything done, a pass issued, verified.
    let o = &mut outcomes[0];
    o.status = Some(RunStatus::Done);
    o.removed = deletes(&e[0]);
    o.remaining = Some(o.kept.clone());
    o.sessions_revoked = true;
    o.account_disabled = true;
    o.tap_issued = true;
    o.request_ids = vec!["r-a1".into(), "r-a2".into()];
    o.attempts = 6;
    times(o, 0);
    // bob: the email method removed, the OATH token already gone, then refused.
    let o = &mut outcomes[1];
    let bob_methods = deletes(&e[1]);
    o.status = Some(RunStatus::Partial);
    o.reason = Some("1 of 3 steps failed".into());
    o.sessions_revoked = true;
    o.removed = vec![bob_methods[0].clone()];
    o.already_removed = vec![bob_methods[1].clone()];
    o.error_code = Some("accessDenied".into());
    o.error_message = Some("Insufficient privileges to complete the operation.".into());
    o.request_ids = vec!["r-b1".into(), "r-b2".into(), "r-b3".into()];
    o.attempts = 3;
    times(o, 1);
    // dave: Graph kept failing.
    let o = &mut outcomes[3];
    o.status = Some(RunStatus::Failed);
    o.reason = Some("Graph answered 503 four times".into());
    o.error_code = Some("serviceNotAvailable".into());
    o.error_message = Some("Service unavailable <retry later> | try again".into());
    o.request_ids = vec!["r-d1".into(), "r-d2".into()];
    o.attempts = 4;
    times(o, 3);
    // erin: a method added since the plan.
    let o = &mut outcomes[4];
    o.status = Some(RunStatus::Drifted);
    o.reason = Some("methods changed since the plan: added Authenticator on Pixel 8".into());
    o.request_ids = vec!["r-e1".into()];
    o.attempts = 1;
    times(o, 4);
    // synced: sessions revoked; the account cannot be disabled.
    let o = &mut outcomes[10];
    o.status = Some(RunStatus::Blocked);
    o.sessions_revoked = true;
    o.request_ids = vec!["r-s1".into()];
    o.attempts = 1;
    times(o, 10);
    // frank: the run was interrupted first.
    outcomes[11].status = Some(RunStatus::Pending);
    (plan, outcomes)
}

fn figures(sim: bool, interrupted: bool) -> RunFigures {
    RunFigures {
        started: "2026-11-28T10:02:00Z".into(),
        ended: "2026-11-28T10:04:05Z".into(),
        wall_seconds: 125.4,
        writes_sent: 17,
        throttled: 2,
        retries: 5,
        interrupted,
        graph: if sim {
            "http://127.0.0.1:41234/v1.0".into()
        } else {
            "https://graph.microsoft.com/v1.0".into()
        },
        sim,
    }
}

#[test]
fn the_test_run_has_every_status_once_and_two_invalid_rows() {
    let (plan, outcomes) = test_run();
    assert_eq!(outcomes.len(), plan.entries.len());
    let t = RunTally::of(&outcomes);
    for status in RunStatus::ALL {
        let want = if status == RunStatus::Invalid { 2 } else { 1 };
        assert_eq!(t.count(status), want, "{status}");
    }
    assert_eq!(t.sessions_revoked, 3);
    assert_eq!(t.accounts_disabled, 1);
    assert_eq!(t.taps_issued, 1);
    assert_eq!(t.removed(), 3);
    assert_eq!(t.already_removed(), 1);
}

// ---- results.csv / results.jsonl ----

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn results_csv_has_one_row_per_outcome_in_order_and_neutralises_formulas() {
    let (_, outcomes) = test_run();
    let dir = temp_dir("csv");
    let path = dir.join("results.csv");
    run::write_results_csv(&path, &outcomes).unwrap();
    let (header, rows) = read_csv(&path);
    let mut want: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    // Sorted by the input's names; `status` clashes with a fixed column.
    want.extend(["comment", "note", "input.status", "ticket"].map(String::from));
    assert_eq!(header, want);
    assert_eq!(rows.len(), outcomes.len());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (row, o) in rows.iter().zip(&outcomes) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[col("row")], o.row.to_string());
        assert_eq!(row[col("line")], o.line.to_string());
        assert_eq!(row[col("status")], o.final_status().as_str());
        assert_eq!(row[col("attempts")], o.attempts.to_string());
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell: {cell:?}"
            );
        }
    }
    let alice = &rows[0];
    let cell = |name: &str| alice[col(name)].as_str();
    assert_eq!(cell("input"), "alice@contoso.com");
    assert_eq!(cell("userId"), "11111111-1111-1111-1111-111111111111");
    assert_eq!(cell("userPrincipalName"), "alice@contoso.com");
    assert_eq!(
        cell("removed"),
        format!("mobile phone …13; Authenticator on {HOSTILE_DEVICE}")
    );
    assert_eq!(
        cell("removedIds"),
        format!("phone:{PHONE_ID}; microsoftAuthenticator:a1")
    );
    assert_eq!(cell("alreadyRemoved"), "");
    assert_eq!(cell("kept"), "password");
    assert_eq!(cell("remaining"), "password");
    assert_eq!(cell("sessionsRevoked"), "yes");
    assert_eq!(cell("accountDisabled"), "yes");
    assert_eq!(cell("tapIssued"), "yes");
    assert_eq!(cell("requestIds"), "r-a1; r-a2");
    assert_eq!(cell("started"), "2026-11-28T10:02:00Z");
    assert_eq!(cell("ended"), "2026-11-28T10:03:00Z");
    assert_eq!(cell("ticket"), "INC-4711");
    assert_eq!(cell("input.status"), "vip");
    // Hostile text stays text: formulas get a leading `'`, markup is kept as it came.
    assert_eq!(cell("note"), format!("'{FORMULA}"));
    assert_eq!(cell("comment"), HOSTILE_COLUMN);
    assert_eq!(rows[6][col("input")], HOSTILE_UPN);
    assert_eq!(rows[6][col("note")], format!("'{FORMULA_AT}"));
    assert_eq!(rows[12][col("input")], format!("'{FORMULA}"));

    let bob = &rows[1];
    assert_eq!(bob[col("status")], "partial");
    assert_eq!(bob[col("userPrincipalName")], "bob@contoso.com");
    assert_eq!(bob[col("removed")], "email address");
    assert_eq!(bob[col("removedIds")], "email:e1");
    assert_eq!(bob[col("alreadyRemoved")], "software OATH token");
    assert_eq!(bob[col("remaining")], "", "not verified");
    assert_eq!(bob[col("tapIssued")], "no");
    assert_eq!(bob[col("errorCode")], "accessDenied");
    assert_eq!(bob[col("requestIds")], "r-b1; r-b2; r-b3");
    assert_eq!(bob[col("ticket")], "", "a column another row has");
    assert_eq!(rows[11][col("status")], "pending");
    assert_eq!(rows[2][col("reason")], "nothing to change");
}

#[test]
fn results_jsonl_is_each_outcome_with_its_status_as_a_string() {
    let (_, outcomes) = test_run();
    let dir = temp_dir("jsonl");
    let path = dir.join("results.jsonl");
    run::write_results_jsonl(&path, &outcomes).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), outcomes.len());
    assert!(text.ends_with('\n'));
    for (line, o) in lines.iter().zip(&outcomes) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["status"], o.final_status().as_str());
        assert_eq!(value["row"], o.row);
        // Nothing lost or changed: it reads back as the same outcome.
        let back: UserOutcome = serde_json::from_str(line).unwrap();
        assert_eq!(&back, o);
    }
    let alice: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(alice["tapIssued"], true);
    assert_eq!(alice["removed"][0]["kind"], "phone");
    assert_eq!(alice["removed"][0]["id"], PHONE_ID);
    // Values exactly as they came: no `'` before a formula here.
    assert_eq!(alice["columns"]["note"], FORMULA);
    assert_eq!(alice["columns"]["comment"], HOSTILE_COLUMN);
    assert!(
        !text.contains("temporaryAccessPass\""),
        "no pass, no TAP method"
    );

    // An outcome whose status was never set is reported failed, not hidden.
    let unset = UserOutcome {
        input: "x@contoso.com".into(),
        line: 2,
        ..UserOutcome::default()
    };
    let record = run::json_record(&unset);
    assert_eq!(record["status"], "failed");
    let path = dir.join("unset.csv");
    run::write_results_csv(&path, &[unset]).unwrap();
    let (header, rows) = read_csv(&path);
    assert_eq!(header.len(), COLUMNS.len(), "no extra columns");
    assert_eq!(rows[0][3], "failed");
}

#[test]
fn writers_name_the_file_in_errors() {
    let (plan, outcomes) = test_run();
    let dir = temp_dir("errors").join("no-such-dir");
    let run_figures = figures(false, false);
    let errors: Vec<(ReportError, &str)> = vec![
        (
            run::write_results_csv(&dir.join("results.csv"), &outcomes).unwrap_err(),
            "results.csv",
        ),
        (
            run::write_results_jsonl(&dir.join("results.jsonl"), &outcomes).unwrap_err(),
            "results.jsonl",
        ),
        (
            run::write_summary(&dir.join("summary.md"), &plan, &outcomes, &run_figures)
                .unwrap_err(),
            "summary.md",
        ),
        (
            run::write_html(&dir.join("report.html"), &plan, &outcomes, &run_figures).unwrap_err(),
            "report.html",
        ),
    ];
    for (error, name) in errors {
        assert_eq!(error.path, dir.join(name));
        assert!(error.to_string().contains(name), "{error}");
    }
}

// ---- summary.md ----

/// The Markdown table row that starts with `first` cell.
fn md_row<'a>(md: &'a str, first: &str) -> &'a str {
    let start = format!("| {first} |");
    md.lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no row {start}\n{md}"))
}

/// `md` from the heading that starts with `heading` to the next heading.
fn md_section<'a>(md: &'a str, heading: &str) -> &'a str {
    let from = md.find(heading).unwrap_or_else(|| panic!("{heading}"));
    let rest = &md[from + heading.len()..];
    let to = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    &md[from..from + heading.len() + to]
}

#[test]
fn the_summary_says_where_when_and_how_it_ended() {
    let (plan, outcomes) = test_run();
    let dir = Path::new("runs/incident 28");
    let live = render_summary(&plan, &outcomes, &figures(false, false), dir);
    assert!(live.starts_with("# mfa-reset run\n"));
    assert!(
        live.contains(
            "**Changes were made** in the tenant, through Microsoft Graph at \
             `https://graph.microsoft.com/v1.0`."
        ),
        "{live}"
    );
    assert!(!live.contains("Emulator"));
    assert!(!live.contains("resume"));
    assert!(live.contains("| Started | 2026-11-28T10:02:00Z |"));
    assert!(live.contains("| Ended | 2026-11-28T10:04:05Z |"));
    assert!(live.contains(&format!("| Wall time | {} |", human_duration(125.4))));
    assert!(live.contains("| Finished | yes, every user |"));
    assert!(live.contains("| Graph writes sent | 17 (2 throttled, 5 retries) |"));
    assert!(live.contains(&format!("| Plan fingerprint | `{}` |", plan.fingerprint)));
    assert!(
        live.contains("| Input | `users <board>.csv` (13 rows"),
        "a code span"
    );

    let sim = render_summary(&plan, &outcomes, &figures(true, true), dir);
    assert!(sim.starts_with("# mfa-reset run — interrupted\n"));
    assert!(sim.contains(
        "**Emulator run**: against mfa-reset's Graph emulator \
         (`http://127.0.0.1:41234/v1.0`). **No real tenant was changed.**"
    ));
    assert!(sim.contains("| Graph | `http://127.0.0.1:41234/v1.0` (emulator) |"));
    assert!(sim.contains(
        "**Interrupted** before every user finished: 1 user is `pending`. Resume with \
         `mfa-reset resume 'runs/incident 28'`"
    ));
    assert!(sim.contains(
        "| Finished | **no — interrupted**; resume with `mfa-reset resume 'runs/incident 28'` |"
    ));
    assert!(!sim.contains("Changes were made"));
}

#[test]
fn the_summary_counts_statuses_changes_and_planned_against_done() {
    let (plan, outcomes) = test_run();
    let md = render_summary(&plan, &outcomes, &figures(false, false), Path::new("out"));

    // Every status, zero or not, in the same order every time.
    let table = md_section(&md, "## Users by status");
    let listed: Vec<&str> = table
        .lines()
        .skip(4)
        .filter_map(|l| l.strip_prefix("| "))
        .map(|l| l.split(" |").next().unwrap().trim_matches('*'))
        .collect();
    let mut want: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    want.push("all rows");
    assert_eq!(listed, want);
    assert_eq!(md_row(&md, "**invalid**"), "| **invalid** | **2** |");
    assert_eq!(md_row(&md, "**done**"), "| **done** | **1** |");
    assert_eq!(md_row(&md, "**all rows**"), "| **all rows** | **13** |");
    let nothing_pending: Vec<UserOutcome> = outcomes
        .iter()
        .filter(|o| o.final_status() != RunStatus::Pending)
        .cloned()
        .collect();
    let md2 = render_summary(
        &plan,
        &nothing_pending,
        &figures(false, false),
        Path::new("o"),
    );
    assert_eq!(md_row(&md2, "pending"), "| pending | 0 |");

    // What was done.
    for (change, n) in [
        ("Removed phone number", 1),
        ("Removed Authenticator app", 1),
        ("Removed email method", 1),
        ("Methods removed, in all", 3),
        ("Methods already gone when the run got to them", 1),
        ("Sign-in sessions revoked", 3),
        ("Accounts disabled", 1),
        ("Temporary Access Passes issued", 1),
    ] {
        assert_eq!(md_row(&md, change), format!("| {change} | {n} |"));
    }
    assert!(md.contains("`secrets/tap.csv`"));

    // Planned against done: planned, done, already done, not done.
    let versus = md_section(&md, "## Planned against done");
    for row in [
        "| Users with changes | 6 | 1 | — | 5 |",
        "| Revoke sign-in sessions | 6 | 3 | — | 3 |",
        "| Disable account | 1 | 1 | — | 0 |",
        "| Remove phone number | 3 | 1 | 0 | 2 |",
        "| Remove Authenticator app | 1 | 1 | 0 | 0 |",
        "| Remove software OATH token | 1 | 0 | 1 | 0 |",
        "| Remove FIDO2 key | 1 | 0 | 0 | 1 |",
        "| Remove email method | 1 | 1 | 0 | 0 |",
        "| Issue Temporary Access Pass | 1 | 1 | — | 0 |",
    ] {
        assert!(versus.contains(row), "{row}\n{versus}");
    }
    // Method types in the order of MethodType::ALL.
    let at = |s: &str| versus.find(s).unwrap();
    assert!(at("phone number") < at("Authenticator") && at("OATH") < at("FIDO2"));
    assert!(at("FIDO2") < at("email method"));
}

#[test]
fn the_summary_lists_failures_drift_and_every_user_safely() {
    let (plan, outcomes) = test_run();
    let md = render_summary(&plan, &outcomes, &figures(false, true), Path::new("out"));

    let failures = md_section(&md, "## Failed, partly done or blocked (3)");
    assert!(failures.contains(
        "| 3 | 22222222-2222-2222-2222-222222222222 (bob@contoso.com) | partial | accessDenied | \
         Insufficient privileges to complete the operation. | r-b1, r-b2, r-b3 |"
    ));
    assert!(failures.contains(
        "| 5 | dave@contoso.com | failed | serviceNotAvailable | Service unavailable \
         \\<retry later\\> \\| try again | r-d1, r-d2 |"
    ));
    assert!(failures.contains("| 12 | synced@contoso.com | blocked |  | synced from"));
    assert_eq!(failures.matches("\n| ").count(), 4, "header and 3 rows");

    let drifted = md_section(&md, "## Drifted (1)");
    assert!(drifted.contains(
        "| 6 | erin@contoso.com | methods changed since the plan: added Authenticator on \
         Pixel 8 |"
    ));

    let users = md_section(&md, "## Per user (13 rows)");
    let rows: Vec<&str> = users.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 1 + outcomes.len(), "header and one row each");
    for (row, o) in rows[1..].iter().zip(&outcomes) {
        assert!(
            row.starts_with(&format!("| {} | ", o.line)),
            "{row} for line {}",
            o.line
        );
        assert!(
            row.contains(&format!(" | {} | ", o.final_status())),
            "{row}"
        );
    }
    assert!(rows[1].contains(
        "revoked sign-in sessions; disabled the account; removed mobile phone …13; removed \
         Authenticator on \\<b\\>iPhone\\</b\\> & 'co'; issued a Temporary Access Pass"
    ));
    assert!(rows[2].contains("software OATH token was already gone"));
    // Markup and table breakers in user values are escaped.
    assert!(!md.contains("<script>"));
    assert!(!md.contains("<b>"));
    assert!(md.contains("\\<script\\>console.error('pwned-upn')\\</script\\>@x"));
    assert!(md.contains("=cmd\\|' /C calc'!A0"));
    assert_eq!(
        md.matches("|' /C").count(),
        md.matches("\\|' /C").count(),
        "the `|` of a formula cannot split a cell"
    );
}

#[test]
fn large_runs_list_the_first_rows_and_point_to_results_csv() {
    let n = MAX_SUMMARY_ROWS + 234;
    let entries: Vec<PlanEntry> = (0..n)
        .map(|i| {
            let mut e = entry(
                i + 2,
                &format!("user{i}@contoso.com"),
                Status::Planned,
                None,
            );
            e.steps = vec![Step::RevokeSessions];
            e
        })
        .collect();
    let plan = finish(policy(), "big.csv", entries);
    let outcomes: Vec<UserOutcome> = plan
        .entries
        .iter()
        .map(|e| UserOutcome {
            status: Some(if e.row % 100 == 7 {
                RunStatus::Failed
            } else {
                RunStatus::Done
            }),
            sessions_revoked: e.row % 100 != 7,
            ..UserOutcome::from_plan(e)
        })
        .collect();
    let md = render_summary(&plan, &outcomes, &figures(false, false), Path::new("o"));
    let users = md_section(&md, "## Per user (1234 rows)");
    assert!(users.contains("The first 1000 of 1234 rows; `results.csv` has them all."));
    assert_eq!(
        users.lines().filter(|l| l.starts_with("| ")).count(),
        1 + MAX_SUMMARY_ROWS
    );
    assert!(users.contains("…and 234 more rows in `results.csv`."));
    assert!(md.contains("| Sign-in sessions revoked | 1221 |"));

    let html = render_html(&plan, &outcomes, &figures(false, false), Path::new("o"));
    let table = section(&html, "id=\"users\"", "</table>");
    assert_eq!(
        table.matches("<tr data-status=").count(),
        run::MAX_HTML_ROWS.min(n)
    );
}

// ---- report.html ----

/// The text of the element with this id (which must hold text only).
fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no #{id}")) + open.len();
    let end = start + html[start..].find('<').unwrap();
    &html[start..end]
}

/// `html` from `start` to the first `end` after it.
fn section<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start}"));
    let to = from + html[from..].find(end).unwrap();
    &html[from..to]
}

#[test]
fn the_html_report_shows_the_run_and_escapes_everything() {
    let (plan, outcomes) = test_run();
    let html = render_html(&plan, &outcomes, &figures(false, false), Path::new("out"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    assert!(html.contains("data-report=\"mfa-reset-run\""));
    assert!(html.contains("<title>RUN · mfa-reset · https://graph.microsoft.com/v1.0 · "));
    assert!(html.contains("RUN — changes were made in the tenant."));
    assert!(!html.contains("interrupted-banner"));
    assert_eq!(by_id(&html, "fingerprint"), plan.fingerprint);
    assert_eq!(by_id(&html, "started"), "2026-11-28T10:02:00Z");
    assert_eq!(by_id(&html, "figure-done"), "1");
    assert_eq!(by_id(&html, "figure-attention"), "5");
    assert_eq!(by_id(&html, "figure-writes"), "17");
    assert_eq!(by_id(&html, "figure-time"), human_duration(125.4));

    // Users by status: each status present, with its count and share.
    let chart = section(&html, "id=\"chart-status\"", "</svg>");
    for status in RunStatus::ALL {
        let n = if status == RunStatus::Invalid { 2 } else { 1 };
        let share = (n as f64 * 100.0 / 13.0).round();
        assert!(chart.contains(&format!(">{status}</text>")), "{status}");
        assert!(
            chart.contains(&format!(">{n} ({share}%)</text>")),
            "{status}"
        );
    }
    // Changes made: methods removed by type.
    let chart = section(&html, "id=\"chart-changes\"", "</svg>");
    for (label, n) in [
        ("Sign-in sessions revoked", 3),
        ("Accounts disabled", 1),
        ("Removed phone number", 1),
        ("Removed Authenticator app", 1),
        ("Removed software OATH token", 0),
        ("Removed FIDO2 key", 0),
        ("Removed email method", 1),
        ("Methods already gone", 1),
        ("Temporary Access Passes", 1),
    ] {
        let at = chart
            .find(&format!(">{label}</text>"))
            .unwrap_or_else(|| panic!("{label}"));
        let value_at = at + chart[at..].find("class=\"value\"").unwrap();
        let value = &chart[value_at..];
        let value = &value[value.find('>').unwrap() + 1..value.find("</text>").unwrap()];
        assert_eq!(value, n.to_string(), "{label}");
    }

    let versus = section(&html, "id=\"versus\"", "</table>");
    assert!(versus.contains(
        "<tr><td>Remove phone number</td><td class=\"num\">3</td><td class=\"num\">1</td>\
         <td class=\"num\">0</td><td class=\"num\">2</td></tr>"
    ));

    let failures = section(&html, "id=\"failures\"", "</table>");
    assert_eq!(failures.matches("<tr data-status=").count(), 3);
    assert!(failures.contains("<code>serviceNotAvailable</code>"));
    assert!(failures.contains("Service unavailable &lt;retry later&gt; | try again"));
    assert!(failures.contains("<code>r-b1</code><br><code>r-b2</code><br><code>r-b3</code>"));
    let drifted = section(&html, "id=\"drifted\"", "</table>");
    assert!(drifted.contains("added Authenticator on Pixel 8"));

    let users = section(&html, "id=\"users\"", "</table>");
    let rows: Vec<&str> = users.split("<tr data-status=").skip(1).collect();
    assert_eq!(rows.len(), outcomes.len());
    for (row, o) in rows.iter().zip(&outcomes) {
        assert!(row.starts_with(&format!(
            "\"{}\"><td class=\"num\">{}</td>",
            o.final_status(),
            o.line
        )));
    }
    assert!(rows[0].contains("<li>issued a Temporary Access Pass</li>"));
    assert!(rows[0].contains("verified, still registered: password"));
    assert!(rows[0].contains("<dt>ticket</dt><dd>INC-4711</dd>"));
    assert!(rows[1].contains("<br><span class=\"upn\">bob@contoso.com</span>"));
    assert!(rows[1].contains("<li>software OATH token was already gone</li>"));
    assert!(rows[2].contains("<span class=\"muted\">nothing</span>"));

    // Hostile values render as text.
    for hostile in [HOSTILE_UPN, HOSTILE_COLUMN, HOSTILE_DEVICE] {
        assert!(!html.contains(hostile), "{hostile}");
        assert!(html.contains(&escaped(hostile)), "{hostile}");
    }
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>"));
    assert_eq!(html.to_ascii_lowercase().matches("<script").count(), 1);
    assert!(
        html.contains(&escaped(FORMULA)),
        "HTML shows formulas as they came"
    );
    // Nothing to load: no source, link, style or handler attribute in any tag (user text
    // is escaped, so every `<` starts a tag); https only as text.
    for tag in html.split('<').skip(1).map(|t| &t[..t.find('>').unwrap()]) {
        let tag = tag.to_ascii_lowercase();
        for bad in [" src=", " href=", " srcset=", " on", " style=", "url("] {
            assert!(!tag.contains(bad), "{bad} in <{tag}>");
        }
    }
    assert_eq!(
        html.matches("https://").count(),
        html.matches("https://graph.microsoft.com/v1.0").count()
    );
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-")
    );
}

#[test]
fn an_interrupted_emulator_run_says_so_and_how_to_resume() {
    let (plan, outcomes) = test_run();
    let html = render_html(
        &plan,
        &outcomes,
        &figures(true, true),
        Path::new("runs/a b"),
    );
    assert!(html.contains("<title>INTERRUPTED EMULATOR RUN · mfa-reset · "));
    assert!(html.contains("EMULATOR RUN — no real tenant was changed."));
    assert!(!html.contains("changes were made in the tenant"));
    assert!(html.contains("INTERRUPTED — 1 user not finished."));
    assert_eq!(
        by_id(&html, "resume-command"),
        "mfa-reset resume &#39;runs/a b&#39;"
    );
    assert_eq!(by_id(&html, "finished"), "no — interrupted");
    assert!(html.contains("@top-left{content:\"mfa-reset INTERRUPTED EMULATOR RUN report\""));
}

#[test]
fn reports_are_written_where_asked_and_render_the_same_every_time() {
    let (plan, outcomes) = test_run();
    let dir = temp_dir("write");
    let figures = figures(false, true);
    run::write_summary(&dir.join("summary.md"), &plan, &outcomes, &figures).unwrap();
    run::write_html(&dir.join("report.html"), &plan, &outcomes, &figures).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("summary.md")).unwrap(),
        render_summary(&plan, &outcomes, &figures, &dir)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
        render_html(&plan, &outcomes, &figures, &dir)
    );
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains(&format!("mfa-reset resume {}", dir.display())));
}

#[test]
fn empty_runs_render() {
    let plan = finish(policy(), "empty.csv", Vec::new());
    let md = render_summary(&plan, &[], &figures(false, false), Path::new("o"));
    assert!(md.contains("| **all rows** | **0** |"));
    assert!(md.contains("The input has no rows."));
    // Planned against done lists the users, and only changes planned or made.
    assert!(md.contains("| Users with changes | 0 | 0 | — | 0 |"));
    assert!(!md.contains("| Disable account |"));
    let html = render_html(&plan, &[], &figures(false, false), Path::new("o"));
    assert!(html.contains("The input has no rows."));
    assert!(html.ends_with("</html>\n"));
}

// ---- headless Chromium ----

// ---- bounded digests and streaming results ----

/// A run of `n` generated rows: each planned (revoke, remove a phone), and an outcome in
/// a fixed mix — 2 in 9 done, 3 in 9 failed, partly done or blocked (some failed ones
/// never given a status), 3 in 9 drifted, the rest every other status in turn. Every
/// 5th row carries input columns (a hostile one among them) when `columns`.
fn generated_run(n: usize, columns: bool) -> (PlanFile, Vec<UserOutcome>) {
    let mut entries = Vec::with_capacity(n);
    let mut outcomes = Vec::with_capacity(n);
    for i in 0..n {
        let input = format!("user{i}@contoso.com");
        let user = snapshot(
            &format!("id-{i}"),
            &input,
            vec![
                password(),
                method(MethodType::Phone, &format!("p{i}"), Some("+1 4255550100")),
            ],
        );
        let mut e = planned(i + 2, &input, user, Vec::new());
        if columns && i % 5 == 0 {
            e.columns.insert("ticket".into(), format!("INC-{i}"));
            e.columns.insert("attempts".into(), "=1+1".into());
        }
        let status = match i % 9 {
            0 | 1 => Some(RunStatus::Done),
            2 => (i % 2 == 0).then_some(RunStatus::Failed),
            3 => Some(RunStatus::Partial),
            4 => Some(RunStatus::Blocked),
            5..=7 => Some(RunStatus::Drifted),
            _ => Some(
                [
                    RunStatus::NoChange,
                    RunStatus::NotFound,
                    RunStatus::Invalid,
                    RunStatus::Duplicate,
                    RunStatus::Excluded,
                    RunStatus::Protected,
                    RunStatus::Pending,
                ][(i / 9) % 7],
            ),
        };
        let mut o = UserOutcome {
            row: e.row,
            line: e.line,
            input: e.input.clone(),
            status,
            user_id: Some(format!("id-{i}")),
            user_principal_name: Some(format!("User{i}@contoso.com")),
            columns: e.columns.clone(),
            attempts: (i % 4) as u32,
            ..UserOutcome::default()
        };
        match status {
            Some(RunStatus::Done) => {
                o.sessions_revoked = true;
                if i % 2 == 0 {
                    o.removed = deletes(&e);
                } else {
                    o.already_removed = deletes(&e);
                    o.tap_issued = true;
                }
                o.remaining = (i % 4 == 0).then(Vec::new);
            }
            Some(RunStatus::Partial) => {
                o.sessions_revoked = true;
                o.account_disabled = i % 2 == 0;
                o.error_code = Some("accessDenied".into());
                o.error_message = Some(format!("<denied> {i}"));
                o.request_ids = vec![format!("rid-{i}-a"), format!("rid-{i}-b")];
            }
            Some(RunStatus::Drifted) => o.reason = Some(format!("a method was added | {i}")),
            None | Some(RunStatus::Failed | RunStatus::Blocked) => {
                o.reason = Some(format!("could not {i}"));
                o.request_ids = vec![format!("rid-{i}")];
            }
            _ => {}
        }
        times(&mut o, i);
        entries.push(e);
        outcomes.push(o);
    }
    (finish(policy(), "generated.csv", entries), outcomes)
}

/// `1234567` → `1,234,567`, as the page writes numbers.
fn group(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn the_digest_of_a_large_run_has_its_tally_and_its_first_rows_of_each_kind() {
    let (_, outcomes) = generated_run(9_004, true);
    let digest = RunDigest::of(&outcomes);
    assert_eq!(digest.tally, RunTally::of(&outcomes));
    assert_eq!(digest.rows, outcomes.len());
    assert!(digest.with_columns);
    assert!(!RunDigest::of(&generated_run(30, false).1).with_columns);

    let failures: Vec<&UserOutcome> = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o.final_status(),
                RunStatus::Failed | RunStatus::Partial | RunStatus::Blocked
            )
        })
        .collect();
    let drifted: Vec<&UserOutcome> = outcomes
        .iter()
        .filter(|o| o.final_status() == RunStatus::Drifted)
        .collect();
    assert!(failures.len() > DIGEST_ROWS && drifted.len() > DIGEST_ROWS);
    const {
        assert!(DIGEST_ROWS >= MAX_HTML_ROWS && DIGEST_ROWS >= MAX_SUMMARY_ROWS);
    }
    assert!(outcomes.iter().any(|o| o.status.is_none()));
    assert_eq!(digest.failures_total, failures.len());
    assert_eq!(digest.drifted_total, drifted.len());
    assert!(digest.first.iter().eq(outcomes.iter().take(DIGEST_ROWS)));
    assert!(
        digest
            .failures
            .iter()
            .eq(failures.into_iter().take(DIGEST_ROWS))
    );
    assert!(
        digest
            .drifted
            .iter()
            .eq(drifted.into_iter().take(DIGEST_ROWS))
    );

    let mut built = RunDigest::new();
    let mut tally = RunTally::default();
    for o in &outcomes {
        built.add(o);
        tally.add(o);
    }
    assert_eq!(tally, digest.tally);
    assert_eq!(built.tally, digest.tally);
    assert_eq!(built.first, digest.first);
    assert_eq!(built.failures, digest.failures);
    assert_eq!(built.drifted, digest.drifted);
    assert_eq!(RunDigest::of(&[]).tally, RunTally::of(&[]));
}

#[test]
fn run_reports_from_digests_are_the_reports_and_cut_each_table() {
    let (plan, outcomes) = generated_run(9_004, true);
    let dir = temp_dir("digest");
    let t = RunTally::of(&outcomes);
    let failures =
        t.count(RunStatus::Failed) + t.count(RunStatus::Partial) + t.count(RunStatus::Blocked);
    let drifted = t.count(RunStatus::Drifted);
    let digest = RunDigest::of(&outcomes);
    let header = plan.header();
    let f = Figures::of(&plan);
    for (sim, interrupted) in [(false, false), (true, true)] {
        let run = figures(sim, interrupted);
        let md = run::render_summary_digest(&header, &f, &digest, &run, &dir);
        assert_eq!(md, render_summary(&plan, &outcomes, &run, &dir));
        let page = run::render_html_digest(&header, &f, &digest, &run, &dir);
        assert_eq!(page, render_html(&plan, &outcomes, &run, &dir));
    }
    let run = figures(false, false);

    let md = run::render_summary_digest(&header, &f, &digest, &run, &dir);
    let rows = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Line"))
            .count()
    };
    let failed = md_section(&md, "## Failed, partly done or blocked");
    assert!(failed.starts_with(&format!("## Failed, partly done or blocked ({failures})\n")));
    assert_eq!(rows(failed), MAX_SUMMARY_ROWS);
    assert!(failed.contains(&format!(
        "…and {} more in `results.csv`.",
        failures - MAX_SUMMARY_ROWS
    )));
    let drift = md_section(&md, "## Drifted");
    assert!(drift.starts_with(&format!("## Drifted ({drifted})\n")));
    assert_eq!(rows(drift), MAX_SUMMARY_ROWS);
    assert!(drift.contains(&format!(
        "…and {} more in `results.csv`.",
        drifted - MAX_SUMMARY_ROWS
    )));
    let users = md_section(&md, "## Per user");
    assert_eq!(rows(users), MAX_SUMMARY_ROWS);
    assert!(users.contains(&format!(
        "…and {} more rows in `results.csv`.",
        outcomes.len() - MAX_SUMMARY_ROWS
    )));
    assert_eq!(
        md_row(&md, "**done**"),
        format!("| **done** | **{}** |", t.count(RunStatus::Done))
    );

    let page = run::render_html_digest(&header, &f, &digest, &run, &dir);
    let table = section(&page, "<table id=\"failures\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), MAX_HTML_ROWS);
    assert!(page.contains(&format!("or blocked ({})</h2>", group(failures))));
    assert!(page.contains(&format!(
        "…and {} more in <code>results.csv</code>.",
        group(failures - MAX_HTML_ROWS)
    )));
    let table = section(&page, "<table id=\"drifted\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), MAX_HTML_ROWS);
    assert!(page.contains(&format!(
        "…and {} more in <code>results.csv</code>.",
        group(drifted - MAX_HTML_ROWS)
    )));
    let table = section(&page, "<table id=\"users\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), MAX_HTML_ROWS);
    assert!(table.contains("<th class=\"w-cols\">From the input</th>"));
    assert!(page.contains(&format!(
        "…and {} more rows in <code>results.csv</code>.",
        group(outcomes.len() - MAX_HTML_ROWS)
    )));
    assert_eq!(by_id(&page, "figure-done"), group(t.count(RunStatus::Done)));
    for s in RunStatus::ALL.into_iter().filter(|&s| t.count(s) > 0) {
        assert!(
            page.contains(&format!(
                "<option value=\"{s}\">{s} ({})</option>",
                group(t.count(s))
            )),
            "{s}"
        );
    }

    // Written from the digests, the same files as from the whole run.
    run::write_summary_digest(&dir.join("summary.md"), &header, &f, &digest, &run).unwrap();
    run::write_html_digest(&dir.join("report.html"), &header, &f, &digest, &run).unwrap();
    run::write_summary(&dir.join("whole.md"), &plan, &outcomes, &run).unwrap();
    run::write_html(&dir.join("whole.html"), &plan, &outcomes, &run).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(read("summary.md"), read("whole.md"));
    assert_eq!(read("report.html"), read("whole.html"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_streaming_run_results_writer_writes_the_same_bytes_as_the_whole_run_writers() {
    for outcomes in [
        generated_run(2_503, true).1,
        generated_run(12, false).1,
        test_run().1,
        Vec::new(),
    ] {
        let dir = temp_dir("results-writer");
        run::write_results_csv(&dir.join("whole.csv"), &outcomes).unwrap();
        run::write_results_jsonl(&dir.join("whole.jsonl"), &outcomes).unwrap();
        let extra = mfa_reset::report::results::extra_columns(outcomes.iter().map(|o| &o.columns));
        let mut w = RunResultsWriter::create(
            &dir.join("streamed.csv"),
            &dir.join("streamed.jsonl"),
            &extra,
        )
        .unwrap();
        for o in &outcomes {
            w.write(o).unwrap();
        }
        w.finish().unwrap();
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        assert_eq!(read("streamed.csv"), read("whole.csv"));
        assert_eq!(read("streamed.jsonl"), read("whole.jsonl"));
        let (header, rows) = read_csv(&dir.join("streamed.csv"));
        assert_eq!(rows.len(), outcomes.len());
        assert_eq!(&header[..COLUMNS.len()], COLUMNS.as_slice());
        let _ = std::fs::remove_dir_all(&dir);
    }

    // A clashing column is renamed and a formula neutralised in the stream too.
    let (_, outcomes) = generated_run(6, true);
    let dir = temp_dir("results-writer-guards");
    let extra = mfa_reset::report::results::extra_columns(outcomes.iter().map(|o| &o.columns));
    let mut w = RunResultsWriter::create(&dir.join("r.csv"), &dir.join("r.jsonl"), &extra).unwrap();
    for o in &outcomes {
        w.write(o).unwrap();
    }
    w.finish().unwrap();
    let (header, rows) = read_csv(&dir.join("r.csv"));
    assert_eq!(&header[COLUMNS.len()..], ["input.attempts", "ticket"]);
    assert_eq!(rows[0][COLUMNS.len()], "'=1+1");
    assert_eq!(rows[1][COLUMNS.len()], "");
    let error = RunResultsWriter::create(
        &dir.join("r.csv"),
        &dir.join("no-such-dir").join("r.jsonl"),
        &extra,
    )
    .err()
    .unwrap();
    assert!(error.to_string().contains("no-such-dir"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A realistic run: 40 rows of an incident response that also disables accounts, planned
/// by the real policy code over synthetic users, with the outcomes a run would have.
fn realistic_run() -> (PlanFile, Vec<UserOutcome>) {
    let policy = PolicyArgs {
        disable_account: true,
        ..PolicyArgs::for_profile(Profile::Incident)
    }
    .into_policy()
    .unwrap();
    let people = [
        "amelia.watson",
        "ben.okafor",
        "chloe.martin",
        "daniel.kim",
        "eva.schneider",
        "farid.haddad",
        "grace.liu",
        "hugo.moreau",
        "isla.brennan",
        "jonas.berg",
        "kaito.tanaka",
        "lena.novak",
        "mateo.garcia",
        "nora.lindqvist",
        "omar.aziz",
        "priya.raman",
        "quentin.dubois",
        "rosa.fernandez",
        "sam.taylor",
        "tara.oconnor",
        "umar.sheikh",
        "vera.ivanova",
        "will.parker",
        "xin.zhou",
        "yara.costa",
        "zoe.adams",
        "arjun.mehta",
        "bianca.rossi",
        "carlos.silva",
        "dana.cohen",
        "elif.yilmaz",
        "finn.murphy",
        "gita.sharma",
    ];
    let devices = [
        "iPhone 12",
        "iPhone 15 Pro",
        "Pixel 7",
        "Galaxy S23",
        "iPhone 13 mini",
    ];
    let mut entries = Vec::new();
    let mut line = 2;
    for (i, person) in people.iter().enumerate() {
        let upn = format!("{person}@contoso.com");
        let mut methods = vec![
            password(),
            method(
                MethodType::MicrosoftAuthenticator,
                &format!("auth-{i}"),
                Some(devices[i % devices.len()]),
            ),
        ];
        if i % 2 == 0 {
            methods.push(method(
                MethodType::Phone,
                PHONE_ID,
                Some(&format!("+1 425555{:04}", 100 + i)),
            ));
        }
        if i % 5 == 1 {
            methods.push(method(
                MethodType::Fido2,
                &format!("fido-{i}"),
                Some("YubiKey 5C NFC"),
            ));
        }
        if i % 4 == 3 {
            methods.push(method(MethodType::Email, &format!("mail-{i}"), None));
        }
        if i == 9 {
            methods.push(method(MethodType::SoftwareOath, "oath-evil", None));
        }
        let user = UserSnapshot {
            id: format!(
                "{:08x}-7d3c-4f6e-9a1b-{:012x}",
                0x5a00_0000 + i * 7919,
                i * 104_729
            ),
            account_enabled: i != 14,
            synced: i == 6 || i == 21,
            admin_roles: if i == 11 || i == 27 {
                vec!["Global Administrator".into()]
            } else {
                Vec::new()
            },
            ..snapshot("", &upn, methods)
        };
        let decision = decide(&policy, &user, i == 30);
        let status = Status::ALL
            .into_iter()
            .find(|s| s.as_str() == decision.status())
            .unwrap();
        let reason = match &decision {
            Decision::NoChange { .. } => Some("nothing to change".into()),
            Decision::Excluded => Some("on the exclude list".into()),
            Decision::Protected { reason } | Decision::Blocked { reason, .. } => {
                Some(reason.clone())
            }
            Decision::Planned { .. } => None,
        };
        let input = if i % 6 == 5 { user.id.clone() } else { upn };
        entries.push(PlanEntry {
            row: line - 2,
            line,
            input,
            status,
            reason,
            before: Some(user),
            steps: decision.steps().to_vec(),
            notes: decision.notes().to_vec(),
            columns: BTreeMap::from([
                ("ticket".to_string(), format!("INC-20{}", 431 + i % 3)),
                (
                    "source".to_string(),
                    if i % 3 == 0 {
                        "Defender alert"
                    } else {
                        "phishing report"
                    }
                    .to_string(),
                ),
            ]),
        });
        line += 1;
        if i == 4 {
            entries.push(entry(
                line,
                "Eva.Schneider@contoso.com",
                Status::Duplicate,
                Some("same user as line 6"),
            ));
            line += 1;
        }
        if i == 12 {
            entries.push(entry(
                line,
                "m.garcia@contoso.com",
                Status::NotFound,
                Some("no such user in the tenant"),
            ));
            line += 1;
            entries.push(entry(
                line,
                "lena.novak@contoso,com",
                Status::Invalid,
                Some("not a valid user principal name: a domain has no ','"),
            ));
            line += 1;
        }
    }
    let plan = finish(policy, "incident-2026-11-28.csv", entries);

    let mut outcomes = Vec::new();
    for (n, e) in plan.entries.iter().enumerate() {
        let mut o = UserOutcome::from_plan(e);
        if e.writes() == 0 {
            outcomes.push(o);
            continue;
        }
        times(&mut o, n);
        let request = |k: usize| format!("{:08x}-51e2-4c2b-8c1e-{:012x}", 0x7a11_0000 + n, k);
        let removes = deletes(e);
        let revoke = e.steps.contains(&Step::RevokeSessions);
        let disable = e.steps.contains(&Step::DisableAccount);
        match n {
            // Refused: the app lost a permission for this one user's administrative unit.
            19 => {
                o.status = Some(RunStatus::Failed);
                o.error_code = Some("Authorization_RequestDenied".into());
                o.error_message = Some("Insufficient privileges to complete the operation.".into());
                o.request_ids = vec![request(1)];
                o.attempts = 1;
            }
            // Graph kept answering 503 after the sessions were revoked.
            26 => {
                o.status = Some(RunStatus::Partial);
                o.reason = Some("2 of 4 steps failed".into());
                o.sessions_revoked = revoke;
                o.removed = removes.into_iter().take(1).collect();
                o.error_code = Some("serviceNotAvailable".into());
                o.error_message = Some("Service unavailable; gave up after 4 tries".into());
                o.request_ids = (1..=6).map(request).collect();
                o.attempts = 9;
            }
            // The attacker added a method after the plan was read.
            10 => {
                o.status = Some(RunStatus::Drifted);
                o.reason =
                    Some("methods changed since the plan: added Authenticator on SM-A536B".into());
                o.request_ids = vec![request(1)];
                o.attempts = 1;
            }
            _ => {
                o.status = Some(if e.status == Status::Blocked {
                    RunStatus::Blocked
                } else {
                    RunStatus::Done
                });
                o.sessions_revoked = revoke;
                o.account_disabled = disable && e.status != Status::Blocked;
                // Someone at the helpdesk had already removed one phone.
                if n == 2 {
                    let (gone, rest): (Vec<MethodRef>, Vec<MethodRef>) = removes
                        .into_iter()
                        .partition(|m| m.kind == MethodType::Phone);
                    o.already_removed = gone;
                    o.removed = rest;
                } else {
                    o.removed = removes;
                }
                o.remaining = Some(o.kept.clone());
                o.request_ids = (1..=e.steps.len() + 2).map(request).collect();
                o.attempts = (e.steps.len() + 2) as u32 + u32::from(n % 7 == 0);
            }
        }
        outcomes.push(o);
    }
    (plan, outcomes)
}

#[test]
fn the_run_report_loads_in_headless_chromium_without_console_errors() {
    let Some(chromium) = chromium_or_skip("the run's report.html", temp_dir("chromium")) else {
        return;
    };
    let dir = temp_dir("pages");
    let (plan, outcomes) = test_run();

    // First, the check can fail: a network reference in this report is seen.
    let report = render_html(&plan, &outcomes, &figures(false, true), &dir);
    let page = dir.join("network.html");
    std::fs::write(
        &page,
        report.replace(
            "</footer>",
            "</footer><img src=\"http://127.0.0.1:9/pixel.png\" alt=\"\">",
        ),
    )
    .unwrap();
    let run = chromium.dump_dom(&page, "");
    assert!(
        run.console
            .iter()
            .any(|l| l.contains("Content Security Policy") && l.contains("127.0.0.1:9")),
        "a network reference must be seen: {:?}",
        run.console
    );

    // The report itself: loads, runs its script, logs nothing — hostile values included.
    let page = dir.join("report.html");
    run::write_html(&page, &plan, &outcomes, &figures(false, true)).unwrap();
    let run = chromium.dump_dom(&page, "");
    assert!(run.console.is_empty(), "console output: {:#?}", run.console);
    let dom = &run.stdout;
    assert!(dom.contains("data-report=\"mfa-reset-run\""), "{dom}");
    assert!(dom.contains("data-js=\"ready\""), "the script ran: {dom}");
    assert!(dom.contains("RUN — changes were made in the tenant."));
    assert!(dom.contains("INTERRUPTED — 1 user not finished."));
    assert!(dom.contains("<form id=\"filter\" class=\"noprint\" role=\"search\">"));
    assert!(dom.contains(&escaped(HOSTILE_UPN).replace("&#39;", "'")));
    assert!(!dom.contains("<img"));
    assert_eq!(
        dom.matches("<tr data-status=").count(),
        3 + 1 + outcomes.len(),
        "failures, drifted and every user"
    );
    assert!(!dom.contains(" hidden=\"\""), "no row filtered: {dom}");

    // The filter, driven by the URL fragment.
    let run = chromium.dump_dom(&page, "#status=failed");
    assert!(run.console.is_empty(), "console output: {:#?}", run.console);
    let users = section(&run.stdout, "id=\"users\"", "</table>");
    assert_eq!(users.matches(" hidden=\"\"").count(), outcomes.len() - 1);
    assert!(run.stdout.contains("Showing 1 of 13 rows"));

    // A screenshot of a realistic run.
    let (plan, outcomes) = realistic_run();
    let page = dir.join("realistic.html");
    let figures = RunFigures {
        started: "2026-11-28T10:02:11Z".into(),
        ended: "2026-11-28T10:03:02Z".into(),
        wall_seconds: 50.6,
        // The writes made, the two refused and the seven sent again.
        writes_sent: {
            let t = RunTally::of(&outcomes);
            (t.sessions_revoked + t.accounts_disabled + t.removed() + t.already_removed()) as u64
                + 2
                + 7
        },
        throttled: 3,
        retries: 7,
        interrupted: false,
        graph: "https://graph.microsoft.com/v1.0".into(),
        sim: false,
    };
    run::write_html(&page, &plan, &outcomes, &figures).unwrap();
    let png = dir.join("run-report-screenshot.png");
    let run = chromium.run(
        &page,
        "",
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".to_string(),
        ],
    );
    assert!(run.console.is_empty(), "console output: {:#?}", run.console);
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(
        bytes.len() > 50_000,
        "a real page, not a blank one: {} bytes",
        bytes.len()
    );
    if std::env::var("MFA_RESET_WRITE_SCREENSHOT").as_deref() == Ok("1") {
        let sample =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/run-report-screenshot.png");
        std::fs::copy(&png, &sample).unwrap();
        eprintln!("wrote {}", sample.display());
    }
}
