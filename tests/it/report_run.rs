//! The reports of a run end to end: a hand-built plan and its outcomes — every run status,
//! hostile values (`<script>` in a UPN, `=cmd|` formulas in input and extra columns),
//! extra columns (one named like a fixed column), a Temporary Access Pass issued — are
//! written as `mfa-reset apply` writes them (the digests built an entry and an outcome at
//! a time, the results written an outcome at a time, then the same writers) as
//! `results.csv`, `results.jsonl`, `summary.md` and `report.html`, and checked as text
//! and, when Chromium is installed, in headless Chromium (loads, runs its script, logs
//! nothing to the console; a screenshot).
//!
//! The Chromium check follows `tests/it/report_html.rs`: it runs when a `chromium` or
//! `chromium-browser` binary is on `PATH`, is skipped with a note without one, and fails
//! instead when `MFA_RESET_REQUIRE_CHROMIUM=1` (as CI sets it).
//! `MFA_RESET_WRITE_SCREENSHOT=1` also writes the screenshot of a realistic run's report
//! to `samples/run-report-screenshot.png`.

use crate::support::chromium::chromium_or_skip;
use crate::support::report_fixtures::{
    HOSTILE_COLUMN, HOSTILE_DEVICE, HOSTILE_UPN, PHONE_ID, assert_charts, assert_grouped, by_id,
    entry, escaped, extra_columns, finish, group, method, password, plan_digest, realistic_plan,
    run_digest, run_reports, run_reports_in, section, snapshot, temp_dir,
};
use std::collections::BTreeMap;
use std::path::Path;

use mfa_reset::engine::outcome::{MethodRef, RunStatus, UserOutcome};
use mfa_reset::plan::{PlanEntry, PlanFile, Status};
use mfa_reset::policy::{Policy, PolicyArgs, Profile, Step, UserSnapshot};
use mfa_reset::report::ReportError;
use mfa_reset::report::human_duration;
use mfa_reset::report::run::{
    self, COLUMNS, DIGEST_ROWS, MAX_HTML_ROWS, MAX_SUMMARY_ROWS, RunFigures, RunResultsWriter,
    RunTally,
};
use mfa_reset::wire::MethodType;

const FORMULA: &str = "=cmd|' /C calc'!A0";
const FORMULA_AT: &str = "@SUM(1+1)*cmd|' /C calc'!A0";

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

/// A device refresh that revokes sessions and hands out passes (the hand-built entries
/// add a disable step too, so that every kind of change is reported).
fn policy() -> Policy {
    PolicyArgs {
        revoke_sessions: true,
        issue_tap: true,
        profile: Some(Profile::DeviceRefresh),
        ..PolicyArgs::default()
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
    let plan = finish(policy(), "users <board>.csv", test_entries());
    let outcomes = test_outcomes(&plan);
    (plan, outcomes)
}

/// A user read with a password and one other method.
fn with_method(
    id: &str,
    upn: &str,
    kind: MethodType,
    method_id: &str,
    name: Option<&str>,
) -> UserSnapshot {
    snapshot(id, upn, vec![password(), method(kind, method_id, name)])
}

/// The entries of the test run, lines 2 to 14.
fn test_entries() -> Vec<PlanEntry> {
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
        vec![
            Step::DisableAccount,
            Step::IssueTemporaryAccessPass {
                lifetime_minutes: 60,
                usable_once: true,
                start: None,
            },
        ],
    );
    alice.columns = BTreeMap::from([
        ("ticket".to_string(), "INC-4711".to_string()),
        ("comment".to_string(), HOSTILE_COLUMN.to_string()),
        ("note".to_string(), FORMULA.to_string()),
        ("status".to_string(), "vip".to_string()),
    ]);
    let bob = snapshot(
        "22222222-2222-2222-2222-222222222222",
        "bob@contoso.com",
        vec![
            password(),
            method(MethodType::Email, "e1", None),
            method(MethodType::SoftwareOath, "o1", None),
        ],
    );
    let bob = planned(3, "22222222-2222-2222-2222-222222222222", bob, Vec::new());
    let dave_id = "66666666-6666-6666-6666-666666666666";
    let dave = with_method(
        dave_id,
        "dave@contoso.com",
        MethodType::Phone,
        PHONE_ID,
        Some("+1 4255550177"),
    );
    let erin_id = "77777777-7777-7777-7777-777777777777";
    let erin = with_method(
        erin_id,
        "erin@contoso.com",
        MethodType::Fido2,
        "f1",
        Some("YubiKey 5C"),
    );
    let frank_id = "88888888-8888-8888-8888-888888888888";
    let frank = with_method(
        frank_id,
        "frank@contoso.com",
        MethodType::Phone,
        PHONE_ID,
        Some("+1 4255550142"),
    );
    let mut entries = vec![alice, bob];
    entries.insert(2, carol());
    entries.push(planned(5, "dave@contoso.com", dave, Vec::new()));
    entries.push(planned(6, "erin@contoso.com", erin, Vec::new()));
    entries.extend(rows_without_changes());
    entries.push(planned(13, "frank@contoso.com", frank, Vec::new()));
    let formula_reason = Some("not a valid user principal name: no '@'");
    entries.push(entry(14, FORMULA, Status::Invalid, formula_reason));
    entries
}

/// Line 4: nothing to change.
fn carol() -> PlanEntry {
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
    carol
}

/// Lines 7 to 12: not found, invalid (hostile), duplicate, excluded, protected, blocked.
fn rows_without_changes() -> Vec<PlanEntry> {
    let invalid = format!("not a valid user principal name: {HOSTILE_UPN}");
    let mut hostile = entry(8, HOSTILE_UPN, Status::Invalid, Some(&invalid));
    hostile.columns = BTreeMap::from([("note".to_string(), FORMULA_AT.to_string())]);
    let admin = "holds an admin role: Global Administrator; admin accounts are left alone";
    let mut protected = entry(11, "root@contoso.com", Status::Protected, Some(admin));
    protected.before = Some(UserSnapshot {
        admin_roles: vec!["Global Administrator".into()],
        ..snapshot(
            "44444444-4444-4444-4444-444444444444",
            "root@contoso.com",
            vec![password()],
        )
    });
    let synced = "synced from on-premises Active Directory & cannot be disabled through Graph";
    let mut blocked = entry(12, "synced@contoso.com", Status::Blocked, Some(synced));
    blocked.before = Some(UserSnapshot {
        synced: true,
        ..snapshot(
            "55555555-5555-5555-5555-555555555555",
            "synced@contoso.com",
            vec![password()],
        )
    });
    blocked.steps = vec![Step::RevokeSessions];
    vec![
        entry(
            7,
            "nobody@contoso.com",
            Status::NotFound,
            Some("no such user in the tenant"),
        ),
        hostile,
        entry(
            9,
            "ALICE@contoso.com",
            Status::Duplicate,
            Some("same user as line 2"),
        ),
        entry(
            10,
            "breakglass@contoso.com",
            Status::Excluded,
            Some("on the exclude list"),
        ),
        protected,
        blocked,
    ]
}

/// The outcomes of the test run: one of every status.
fn test_outcomes(plan: &PlanFile) -> Vec<UserOutcome> {
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
    outcomes
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
        containment: None,
    }
}

/// The tally of a run, counted here from its outcomes.
fn expected_tally(outcomes: &[UserOutcome]) -> RunTally {
    let mut t = RunTally {
        rows: outcomes.len(),
        ..RunTally::default()
    };
    let by_type = |map: &mut BTreeMap<String, usize>, methods: &[MethodRef]| {
        for m in methods {
            *map.entry(m.kind.short_name().to_string()).or_default() += 1;
        }
    };
    for o in outcomes {
        *t.by_status.entry(o.final_status()).or_default() += 1;
        by_type(&mut t.removed_by_type, &o.removed);
        by_type(&mut t.already_removed_by_type, &o.already_removed);
        t.sessions_revoked += usize::from(o.sessions_revoked);
        t.accounts_disabled += usize::from(o.account_disabled);
        t.taps_issued += usize::from(o.tap_issued);
        let something_done = o.sessions_revoked
            || o.account_disabled
            || o.tap_issued
            || !o.removed.is_empty()
            || !o.already_removed.is_empty();
        t.blocked_with_done +=
            usize::from(o.final_status() == RunStatus::Blocked && something_done);
    }
    t
}

#[test]
fn the_test_run_has_every_status_once_and_two_invalid_rows() {
    let (plan, outcomes) = test_run();
    assert_eq!(outcomes.len(), plan.entries.len());
    let t = run_digest(&outcomes).tally;
    assert_eq!(t, expected_tally(&outcomes));
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

#[test]
fn results_csv_has_one_row_per_outcome_in_order_and_neutralises_formulas() {
    let (plan, outcomes) = test_run();
    let written = run_reports(&plan, &outcomes, &figures(false, false));
    let (header, rows) = written.csv_table();
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
    let (plan, outcomes) = test_run();
    let written = run_reports(&plan, &outcomes, &figures(false, false));
    let text = &written.jsonl;
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
    let empty = finish(policy(), "unset.csv", Vec::new());
    let written = run_reports(&empty, &[unset], &figures(false, false));
    assert_eq!(written.records()[0]["status"], "failed");
    let (header, rows) = written.csv_table();
    assert_eq!(header.len(), COLUMNS.len(), "no extra columns");
    assert_eq!(rows[0][3], "failed");
}

#[test]
fn writers_name_the_file_in_errors() {
    let (plan, outcomes) = test_run();
    let dir = temp_dir("errors");
    let missing = dir.join("no-such-dir");
    let (planned, digest) = (plan_digest(&plan), run_digest(&outcomes));
    let (header, plan_figures) = (&planned.header, &planned.figures);
    let run_figures = figures(false, false);
    let extra = extra_columns(outcomes.iter().map(|o| &o.columns));
    let results =
        |csv: &Path, jsonl: &Path| RunResultsWriter::create(csv, jsonl, &extra).err().unwrap();
    let summary = missing.join("summary.md");
    let html = missing.join("report.html");
    let errors: Vec<(ReportError, &str)> = vec![
        (
            results(&missing.join("results.csv"), &dir.join("results.jsonl")),
            "results.csv",
        ),
        (
            results(&dir.join("results.csv"), &missing.join("results.jsonl")),
            "results.jsonl",
        ),
        (
            run::write_summary(&summary, header, plan_figures, &digest, &run_figures).unwrap_err(),
            "summary.md",
        ),
        (
            run::write_html(&html, header, plan_figures, &digest, &run_figures).unwrap_err(),
            "report.html",
        ),
    ];
    for (error, name) in errors {
        assert_eq!(error.path, missing.join(name));
        assert!(error.to_string().contains(name), "{error}");
    }
    let _ = std::fs::remove_dir_all(&dir);
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
    let dir = temp_dir("summary").join("runs/incident 28");
    let summary = |run: &RunFigures| {
        let written = run_reports_in(dir.clone(), &plan, &outcomes, run).1;
        written.summary.clone()
    };
    let live = summary(&figures(false, false));
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

    let sim = summary(&figures(true, true));
    assert!(sim.starts_with("# mfa-reset run — interrupted\n"));
    assert!(sim.contains(
        "**Emulator run**: against mfa-reset's Graph emulator \
         (`http://127.0.0.1:41234/v1.0`). **No real tenant was changed.**"
    ));
    assert!(sim.contains("| Graph | `http://127.0.0.1:41234/v1.0` (emulator) |"));
    let resume = format!("`mfa-reset resume '{}'`", dir.display());
    assert!(sim.contains(&format!(
        "**Interrupted** before every user finished: 1 user is `pending`. Resume with \
         {resume}"
    )));
    assert!(sim.contains(&format!(
        "| Finished | **no — interrupted**; resume with {resume} |"
    )));
    assert!(!sim.contains("Changes were made"));
}

#[test]
fn the_summary_counts_statuses_changes_and_planned_against_done() {
    let (plan, outcomes) = test_run();
    let written = run_reports(&plan, &outcomes, &figures(false, false));
    let md = &written.summary;

    // Every status, zero or not, in the same order every time.
    let table = md_section(md, "## Users by status");
    let listed: Vec<&str> = table
        .lines()
        .skip(4)
        .filter_map(|l| l.strip_prefix("| "))
        .map(|l| l.split(" |").next().unwrap().trim_matches('*'))
        .collect();
    let mut want: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    want.push("all rows");
    assert_eq!(listed, want);
    assert_eq!(md_row(md, "**invalid**"), "| **invalid** | **2** |");
    assert_eq!(md_row(md, "**done**"), "| **done** | **1** |");
    assert_eq!(md_row(md, "**all rows**"), "| **all rows** | **13** |");
    let nothing_pending: Vec<UserOutcome> = outcomes
        .iter()
        .filter(|o| o.final_status() != RunStatus::Pending)
        .cloned()
        .collect();
    let md2 = run_reports(&plan, &nothing_pending, &figures(false, false));
    let md2 = &md2.summary;
    assert_eq!(md_row(md2, "pending"), "| pending | 0 |");

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
        assert_eq!(md_row(md, change), format!("| {change} | {n} |"));
    }
    assert!(md.contains("`secrets/tap.csv`"));

    // Planned against done: planned, done, already done, not done.
    let versus = md_section(md, "## Planned against done");
    for row in [
        // The same numbers as the plan's `planned` and the run's `done`.
        "| Users planned (done: every change made) | 5 | 1 | — | 4 |",
        "| Blocked users, their safe steps only | 1 | 1 | — | 0 |",
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
    let written = run_reports(&plan, &outcomes, &figures(false, true));
    let md = &written.summary;

    let failures = md_section(md, "## Failed, partly done or blocked (3)");
    // One line per status and error (or reason), with the users' lines.
    assert!(failures.contains("| Status | Users | Error or reason | Lines |"));
    assert!(failures.contains(
        "| partial | 1 | accessDenied: Insufficient privileges to complete the operation. | 3 |"
    ));
    assert!(failures.contains(
        "| failed | 1 | serviceNotAvailable: Service unavailable \\<retry later\\> \\| try \
         again | 5 |"
    ));
    assert!(failures.contains("| blocked | 1 | synced from"));
    assert!(failures.contains("request ids (for Microsoft support) are in `results.csv`"));
    assert_eq!(failures.matches("\n| ").count(), 4, "header and 3 lines");

    let drifted = md_section(md, "## Drifted (1)");
    assert!(drifted.contains(
        "| 6 | erin@contoso.com | methods changed since the plan: added Authenticator on \
         Pixel 8 |"
    ));

    let users = md_section(md, "## Per user (13 rows)");
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
    let written = run_reports(&plan, &outcomes, &figures(false, false));
    let md = &written.summary;
    let users = md_section(md, "## Per user (1234 rows)");
    assert!(users.contains("The first 1000 of 1234 rows; `results.csv` has them all."));
    assert_eq!(
        users.lines().filter(|l| l.starts_with("| ")).count(),
        1 + MAX_SUMMARY_ROWS
    );
    assert!(users.contains("…and 234 more rows in `results.csv`."));
    assert!(md.contains("| Sign-in sessions revoked | 1221 |"));

    let table = section(&written.html, "id=\"users\"", "</table>");
    assert_eq!(
        table.matches("<tr data-status=").count(),
        run::MAX_HTML_ROWS.min(n)
    );
}

// ---- report.html ----

#[test]
fn the_html_report_shows_the_run_and_escapes_everything() {
    let (plan, outcomes) = test_run();
    let written = run_reports(&plan, &outcomes, &figures(false, false));
    let html = &written.html;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    assert!(html.contains("data-report=\"mfa-reset-run\""));
    assert!(html.contains("<title>RUN · mfa-reset · https://graph.microsoft.com/v1.0 · "));
    assert!(html.contains("RUN — changes were made in the tenant."));
    assert!(!html.contains("interrupted-banner"));
    assert_eq!(by_id(html, "fingerprint"), plan.fingerprint);
    assert_eq!(by_id(html, "started"), "2026-11-28T10:02:00Z");
    assert_eq!(by_id(html, "figure-done"), "1");
    assert_eq!(by_id(html, "figure-attention"), "5");
    assert_eq!(by_id(html, "figure-writes"), "17");
    assert_eq!(by_id(html, "figure-time"), human_duration(125.4));

    // Users by status: each status present, with its count and share; changes made:
    // methods removed by type.
    let statuses = RunStatus::ALL.map(|status| {
        let n = if status == RunStatus::Invalid { 2 } else { 1 };
        (status.to_string(), n)
    });
    let changes = [
        ("Sign-in sessions revoked", 3),
        ("Accounts disabled", 1),
        ("Removed phone number", 1),
        ("Removed Authenticator app", 1),
        ("Removed software OATH token", 0),
        ("Removed FIDO2 key", 0),
        ("Removed email method", 1),
        ("Methods already gone", 1),
        ("Temporary Access Passes", 1),
    ];
    assert_charts(html, statuses, 13, &changes);

    let versus = section(html, "id=\"versus\"", "</table>");
    assert!(versus.contains(
        "<tr><td>Remove phone number</td><td class=\"num\">3</td><td class=\"num\">1</td>\
         <td class=\"num\">0</td><td class=\"num\">2</td></tr>"
    ));

    let failures = section(html, "id=\"failures\"", "</table>");
    assert_eq!(
        failures.matches("<tr data-status=").count(),
        3,
        "three reasons"
    );
    assert!(failures.contains(
        "<p class=\"reason\">serviceNotAvailable: Service unavailable &lt;retry later&gt; | try \
         again</p>"
    ));
    assert!(failures.contains(
        "<span class=\"rid\">request-id <code>r-b1</code> <code>r-b2</code> <code>r-b3</code>"
    ));
    let drifted = section(html, "id=\"drifted\"", "</table>");
    assert!(drifted.contains("added Authenticator on Pixel 8"));

    let users = section(html, "id=\"users\"", "</table>");
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
    let dir = temp_dir("interrupted").join("runs/a b");
    let (_, written) = run_reports_in(dir.clone(), &plan, &outcomes, &figures(true, true));
    let html = &written.html;
    assert!(html.contains("<title>INTERRUPTED EMULATOR RUN · mfa-reset · "));
    assert!(html.contains("EMULATOR RUN — no real tenant was changed."));
    assert!(!html.contains("changes were made in the tenant"));
    assert!(html.contains("INTERRUPTED — 1 user not finished."));
    assert_eq!(
        by_id(html, "resume-command"),
        format!("mfa-reset resume &#39;{}&#39;", dir.display())
    );
    assert_eq!(by_id(html, "finished"), "no — interrupted");
    assert!(html.contains("@top-left{content:\"mfa-reset INTERRUPTED EMULATOR RUN report\""));
}

#[test]
fn reports_are_written_where_asked_and_render_the_same_every_time() {
    let (plan, outcomes) = test_run();
    let dir = temp_dir("write");
    let figures = figures(false, true);
    let once = run_reports_in(dir.clone(), &plan, &outcomes, &figures).1;
    let (md, html) = (once.summary.clone(), once.html.clone());
    drop(once);
    let again = run_reports_in(dir.clone(), &plan, &outcomes, &figures).1;
    assert_eq!(again.summary, md);
    assert_eq!(again.html, html);
    assert!(md.contains(&format!("mfa-reset resume {}", dir.display())));
}

#[test]
fn empty_runs_render() {
    let plan = finish(policy(), "empty.csv", Vec::new());
    let written = run_reports(&plan, &[], &figures(false, false));
    let md = &written.summary;
    assert!(md.contains("| **all rows** | **0** |"));
    assert!(md.contains("The input has no rows."));
    // Planned against done lists the users, and only changes planned or made.
    assert!(md.contains("| Users planned (done: every change made) | 0 | 0 | — | 0 |"));
    assert!(!md.contains("| Blocked users"));
    assert!(!md.contains("| Disable account |"));
    let html = &written.html;
    assert!(html.contains("The input has no rows."));
    assert!(html.ends_with("</html>\n"));
    assert_eq!(written.csv, format!("{}\n", COLUMNS.join(",")));
    assert_eq!(written.jsonl, "");
}

// ---- bounded digests and large runs ----

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

#[test]
fn the_digest_of_a_large_run_has_its_tally_and_its_first_rows_of_each_kind() {
    let (_, outcomes) = generated_run(9_004, true);
    let digest = run_digest(&outcomes);
    assert_eq!(digest.tally, expected_tally(&outcomes));
    assert_eq!(digest.tally.rows, outcomes.len());
    assert!(digest.with_columns);
    assert!(!run_digest(&generated_run(30, false).1).with_columns);

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
    assert_eq!(digest.failures.total, failures.len());
    assert_eq!(digest.drifted.total, drifted.len());
    assert_eq!(digest.first.len(), DIGEST_ROWS);
    assert!(digest.first.iter().eq(outcomes.iter().take(DIGEST_ROWS)));
    // The failures are grouped by status and error, every one counted.
    assert_grouped(&digest.failures, failures.len(), |o, g| {
        o.final_status().as_str() == g.status
    });
    assert!((digest.drifted.rows.iter()).eq(drifted.into_iter().take(DIGEST_ROWS)));

    let empty = run_digest(&[]);
    assert_eq!(empty.tally, RunTally::default());
    assert_eq!(empty.tally, expected_tally(&[]));
    assert!(empty.first.is_empty() && empty.failures.is_empty());
}

#[test]
fn large_run_reports_cut_each_table_and_count_the_rest() {
    let (plan, outcomes) = generated_run(9_004, true);
    let t = expected_tally(&outcomes);
    let failures =
        t.count(RunStatus::Failed) + t.count(RunStatus::Partial) + t.count(RunStatus::Blocked);
    let drifted = t.count(RunStatus::Drifted);
    let (digest, written) =
        run_reports_in(temp_dir("large"), &plan, &outcomes, &figures(false, false));
    assert_eq!(digest.tally, t);

    let md = &written.summary;
    let rows = |text: &str| {
        text.lines()
            .filter(|l| {
                l.starts_with("| ") && !l.starts_with("| Line") && !l.starts_with("| Status")
            })
            .count()
    };
    let failed = md_section(md, "## Failed, partly done or blocked");
    assert!(failed.starts_with(&format!("## Failed, partly done or blocked ({failures})\n")));
    assert_eq!(rows(failed), MAX_SUMMARY_ROWS);
    assert!(failed.contains(&format!(
        "…and {} more in `results.csv`.",
        failures - MAX_SUMMARY_ROWS
    )));
    let drift = md_section(md, "## Drifted");
    assert!(drift.starts_with(&format!("## Drifted ({drifted})\n")));
    assert_eq!(rows(drift), MAX_SUMMARY_ROWS);
    assert!(drift.contains(&format!(
        "…and {} more in `results.csv`.",
        drifted - MAX_SUMMARY_ROWS
    )));
    let users = md_section(md, "## Per user");
    assert_eq!(rows(users), MAX_SUMMARY_ROWS);
    assert!(users.contains(&format!(
        "…and {} more rows in `results.csv`.",
        outcomes.len() - MAX_SUMMARY_ROWS
    )));
    assert_eq!(
        md_row(md, "**done**"),
        format!("| **done** | **{}** |", t.count(RunStatus::Done))
    );

    let page = &written.html;
    let table = section(page, "<table id=\"failures\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), MAX_HTML_ROWS);
    assert!(page.contains(&format!("or blocked ({})</h2>", group(failures))));
    assert!(page.contains(&format!(
        "…and {} more, for other reasons, in <code>results.csv</code>.",
        group(failures - MAX_HTML_ROWS)
    )));
    let table = section(page, "<table id=\"drifted\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), MAX_HTML_ROWS);
    assert!(page.contains(&format!(
        "…and {} more in <code>results.csv</code>.",
        group(drifted - MAX_HTML_ROWS)
    )));
    let table = section(page, "<table id=\"users\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), MAX_HTML_ROWS);
    assert!(table.contains("<th class=\"w-cols\">From the input</th>"));
    assert!(page.contains(&format!(
        "…and {} more rows in <code>results.csv</code>.",
        group(outcomes.len() - MAX_HTML_ROWS)
    )));
    assert_eq!(by_id(page, "figure-done"), group(t.count(RunStatus::Done)));
    for s in RunStatus::ALL.into_iter().filter(|&s| t.count(s) > 0) {
        assert!(
            page.contains(&format!(
                "<option value=\"{s}\">{s} ({})</option>",
                group(t.count(s))
            )),
            "{s}"
        );
    }

    // Interrupted, on the emulator: the same tables, said so.
    let (_, emulated) = run_reports_in(temp_dir("large"), &plan, &outcomes, &figures(true, true));
    assert!(
        emulated
            .summary
            .starts_with("# mfa-reset run — interrupted\n")
    );
    assert_eq!(
        rows(md_section(&emulated.summary, "## Per user")),
        MAX_SUMMARY_ROWS
    );
    let table = section(&emulated.html, "<table id=\"users\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), MAX_HTML_ROWS);
}

#[test]
fn the_results_have_one_row_per_outcome_in_order_with_every_column() {
    for (plan, outcomes) in [
        generated_run(2_503, true),
        generated_run(12, false),
        test_run(),
        (finish(policy(), "empty.csv", Vec::new()), Vec::new()),
    ] {
        let written = run_reports(&plan, &outcomes, &figures(false, false));
        let (header, rows) = written.csv_table();
        let extra = extra_columns(outcomes.iter().map(|o| &o.columns));
        assert_eq!(&header[..COLUMNS.len()], COLUMNS.as_slice());
        assert_eq!(header.len(), COLUMNS.len() + extra.len());
        assert_eq!(rows.len(), outcomes.len());
        let lines: Vec<&str> = written.jsonl.lines().collect();
        assert_eq!(lines.len(), outcomes.len());
        for ((row, line), o) in rows.iter().zip(lines).zip(&outcomes) {
            assert_eq!(row.len(), header.len());
            assert_eq!(row[0], o.row.to_string());
            assert_eq!(row[1], o.line.to_string());
            assert_eq!(row[3], o.final_status().as_str());
            let attempts = COLUMNS.iter().position(|&c| c == "attempts").unwrap();
            assert_eq!(row[attempts], o.attempts.to_string());
            // The record is the outcome, its status always set.
            let back: UserOutcome = serde_json::from_str(line).unwrap();
            let want = UserOutcome {
                status: Some(o.final_status()),
                ..o.clone()
            };
            assert_eq!(back, want);
        }
    }

    // A clashing column is renamed and a formula neutralised, in the CSV only.
    let (plan, outcomes) = generated_run(6, true);
    let written = run_reports(&plan, &outcomes, &figures(false, false));
    let (header, rows) = written.csv_table();
    assert_eq!(&header[COLUMNS.len()..], ["input.attempts", "ticket"]);
    assert_eq!(rows[0][COLUMNS.len()], "'=1+1");
    assert_eq!(rows[1][COLUMNS.len()], "");
    assert_eq!(written.records()[0]["columns"]["attempts"], "=1+1");
    let dir = temp_dir("results-writer-guards");
    let extra = extra_columns(outcomes.iter().map(|o| &o.columns));
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

// ---- headless Chromium ----

/// The outcomes a run of the realistic plan has: most users done, one refused, one
/// partly done, one drifted, and a phone someone at the helpdesk had already removed.
fn realistic_outcomes(plan: &PlanFile) -> Vec<UserOutcome> {
    (plan.entries.iter().enumerate())
        .map(|(n, e)| {
            let o = UserOutcome::from_plan(e);
            if e.writes() == 0 {
                return o;
            }
            let upn = e
                .before
                .as_ref()
                .map_or("", |u| u.user_principal_name.as_str());
            realistic_outcome(n, e, upn, o)
        })
        .collect()
}

/// The outcome of the `n`th entry, `e`, a user with writes to make.
fn realistic_outcome(n: usize, e: &PlanEntry, upn: &str, mut o: UserOutcome) -> UserOutcome {
    times(&mut o, n);
    let request = |k: usize| format!("{:08x}-51e2-4c2b-8c1e-{:012x}", 0x7a11_0000 + n, k);
    let removes = deletes(e);
    let revoke = e.steps.contains(&Step::RevokeSessions);
    match upn {
        // Refused: the app lost a permission for this one user's administrative unit.
        "quentin.dubois@contoso.com" => {
            o.status = Some(RunStatus::Failed);
            o.error_code = Some("Authorization_RequestDenied".into());
            o.error_message = Some("Insufficient privileges to complete the operation.".into());
            o.request_ids = vec![request(1)];
            o.attempts = 1;
        }
        // Graph kept answering 503 after the sessions were revoked.
        "xin.zhou@contoso.com" => {
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
        "jonas.berg@contoso.com" => {
            o.status = Some(RunStatus::Drifted);
            o.reason =
                Some("methods changed since the plan: added Authenticator on SM-A536B".into());
            o.request_ids = vec![request(1)];
            o.attempts = 1;
        }
        _ => {
            let blocked = e.status == Status::Blocked;
            o.status = Some(if blocked {
                RunStatus::Blocked
            } else {
                RunStatus::Done
            });
            o.sessions_revoked = revoke;
            o.account_disabled = e.steps.contains(&Step::DisableAccount) && !blocked;
            // Someone at the helpdesk had already removed one phone.
            (o.already_removed, o.removed) = if upn == "chloe.martin@contoso.com" {
                removes
                    .into_iter()
                    .partition(|m| m.kind == MethodType::Phone)
            } else {
                (Vec::new(), removes)
            };
            o.remaining = Some(o.kept.clone());
            o.request_ids = (1..=e.steps.len() + 2).map(request).collect();
            o.attempts = (e.steps.len() + 2) as u32 + u32::from(n.is_multiple_of(7));
        }
    }
    o
}

#[test]
fn the_run_report_loads_in_headless_chromium_without_console_errors() {
    let Some(chromium) = chromium_or_skip("the run's report.html", temp_dir("chromium")) else {
        return;
    };
    let dir = temp_dir("pages");
    let (plan, outcomes) = test_run();
    let written = run_reports(&plan, &outcomes, &figures(false, true));

    // First, the check can fail: a network reference in this report is seen.
    chromium.assert_sees_network_reference(&dir, &written.html);

    // The report itself: loads, runs its script, logs nothing — hostile values included.
    let page = written.dir.join("report.html");
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
    let plan = realistic_plan();
    let outcomes = realistic_outcomes(&plan);
    let t = run_digest(&outcomes).tally;
    let figures = RunFigures {
        started: "2026-11-28T10:02:11Z".into(),
        ended: "2026-11-28T10:03:02Z".into(),
        wall_seconds: 50.6,
        // The writes made, the two refused and the seven sent again.
        writes_sent: (t.sessions_revoked + t.accounts_disabled + t.removed() + t.already_removed())
            as u64
            + 2
            + 7,
        throttled: 3,
        retries: 7,
        interrupted: false,
        graph: "https://graph.microsoft.com/v1.0".into(),
        sim: false,
        containment: None,
    };
    let written = run_reports(&plan, &outcomes, &figures);
    chromium.screenshot(
        &written.dir.join("report.html"),
        "run-report-screenshot.png",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
