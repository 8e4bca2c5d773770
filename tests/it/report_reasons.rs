//! The reports as a change board reads them, from the binary against the emulator
//! (#20 item 6): rows that share a reason are one line with a count and the users behind
//! a fold (300 synced users blocked by an offboarding are one line, not 300); the user
//! figures agree with "Users by status"; and what the reports and the terminal say reads
//! well — the policy as sentences, a plan of no users, an admin role Graph gave no name
//! for, and a user who gets no Temporary Access Pass told why.
//!
//! Everything is read back from the files and the output a user sees (`report.html`,
//! `summary.md`, `results.jsonl`, stderr, the exit code); nothing depends on timing.

use serde_json::{Value, json};

use crate::support::oracle::Profile;
use crate::support::report_fixtures::{
    bar_value, by_id, entry, escaped, finish, password, plan_reports, section, snapshot,
};
use crate::support::scenario::Scenario;
use crate::support::{MOBILE, PASSWORD};

use mfa_reset::engine::read::UNREADABLE_ROLE;
use mfa_reset::plan::Status;
use mfa_reset::policy::{Decision, PolicyArgs, UserSnapshot, decide};

/// How many synced users the offboarding blocks, all for the same reason.
const SYNCED_USERS: usize = 300;
/// How many ordinary users it plans.
const ORDINARY_USERS: usize = 20;
/// The user who has nothing but a password.
const PASSWORD_ONLY: &str = "pw.only@contoso.example";

/// A cloud or synced user with a password, and a mobile phone unless `password_only`.
fn user(n: usize, upn: &str, synced: bool, password_only: bool) -> Value {
    let mut methods = vec![json!({
        "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
        "id": PASSWORD,
    })];
    if !password_only {
        methods.push(json!({
            "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
            "id": MOBILE,
            "phoneNumber": "+1 4255550111",
            "phoneType": "mobile",
        }));
    }
    json!({
        "id": format!("cccccccc-0000-4000-8000-{n:012}"),
        "userPrincipalName": upn,
        "displayName": upn,
        "mail": upn,
        "accountEnabled": true,
        "userType": "Member",
        "onPremisesSyncEnabled": if synced { Value::Bool(true) } else { Value::Null },
        "roles": [],
        "defaultMethod": null,
        "methods": methods,
    })
}

/// 300 synced users, 20 ordinary ones and one with only a password.
fn tenant() -> Value {
    let mut users: Vec<Value> = (0..SYNCED_USERS)
        .map(|i| user(i, &format!("synced{i}@contoso.example"), true, false))
        .collect();
    users.extend(
        (0..ORDINARY_USERS)
            .map(|i| user(1000 + i, &format!("user{i}@contoso.example"), false, false)),
    );
    users.push(user(2000, PASSWORD_ONLY, false, true));
    json!({"tenantId": "9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13", "users": users})
}

/// The emulator on [`tenant`], and a list of every user in it and one nobody (line 323).
fn scenario(name: &str) -> (Scenario, std::path::PathBuf) {
    let tenant = tenant();
    let t = Scenario::with_tenant(name, &tenant);
    let mut list = String::from("userPrincipalName\n");
    for u in tenant["users"].as_array().unwrap() {
        list.push_str(u["userPrincipalName"].as_str().unwrap());
        list.push('\n');
    }
    list.push_str("nobody@contoso.example\n");
    let input = t.write("users.csv", list);
    (t, input)
}

/// The offboarding plan of [`scenario`]: 21 planned, 300 blocked (their sessions still
/// revoked), 1 not found. A plan with blocked rows ends 1.
fn offboarding_planned(name: &str) -> Scenario {
    let (t, input) = scenario(name);
    t.plan(&input, Profile::Offboard).run().expect_code(1);
    t
}

fn read(path: std::path::PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A line of a section that groups rows by status and reason, as the page shows it.
#[derive(Debug)]
struct GroupLine<'a> {
    status: &'a str,
    /// The `data-count` attribute.
    count: usize,
    /// The number in the Users column.
    shown: &'a str,
    reason: &'a str,
    /// The words that open the fold, if the line has one.
    fold: Option<&'a str>,
    /// The users listed on the line.
    users: Vec<&'a str>,
}

/// The text between `start` and the next `end` in `text`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    Some(&text[from..from + text[from..].find(end)?])
}

/// The lines of the table `id` of a page.
fn group_lines<'a>(html: &'a str, id: &str) -> Vec<GroupLine<'a>> {
    let table = section(html, &format!("<table id=\"{id}\""), "</table>");
    table
        .split("<tr data-status=\"")
        .skip(1)
        .map(|row| GroupLine {
            status: &row[..row.find('"').unwrap()],
            count: between(row, "data-count=\"", "\"")
                .unwrap()
                .parse()
                .unwrap(),
            shown: between(row, "class=\"num group-count\">", "</td>").unwrap(),
            reason: between(row, "<p class=\"reason\">", "</p>").unwrap(),
            fold: between(row, "<summary>", "</summary>"),
            users: row
                .split("<span class=\"user\">")
                .skip(1)
                .map(|u| &u[..u.find('<').unwrap()])
                .collect(),
        })
        .collect()
}

#[test]
fn three_hundred_users_blocked_for_one_reason_are_one_group_with_the_count_300() {
    let t = offboarding_planned("one-group");
    let html = read(t.planned().join("report.html"));
    let lines = group_lines(&html, "attention");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let blocked = &lines[0];
    assert_eq!(
        (blocked.status, blocked.count, blocked.shown),
        ("blocked", 300, "300")
    );
    assert!(
        blocked
            .reason
            .starts_with("synced from on-premises Active Directory"),
        "{}",
        blocked.reason
    );
    assert_eq!(blocked.fold, Some("the 300 users"));
    let expected: Vec<String> = (0..SYNCED_USERS)
        .map(|i| format!("synced{i}@contoso.example"))
        .collect();
    assert_eq!(
        blocked.users, expected,
        "every user behind the fold, in order"
    );
    // The reason is said once in the section, not once per user.
    let attention = section(
        &html,
        "<section aria-labelledby=\"h-attention\"",
        "</section>",
    );
    assert_eq!(attention.matches(blocked.reason).count(), 1);
    assert!(attention.contains("Needs attention (301)</h2>"));
    assert!(attention.contains("301 rows for 2 reasons"));
    // A reason of one user shows that user, without a fold.
    let not_found = &lines[1];
    assert_eq!((not_found.status, not_found.count), ("not-found", 1));
    assert_eq!(
        (not_found.fold, &not_found.users[..]),
        (None, &["nobody@contoso.example"][..])
    );

    // summary.md: one line for the 300, naming the first lines and how many more.
    let md = read(t.planned().join("summary.md"));
    let blocked_lines: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| blocked |"))
        .collect();
    assert_eq!(
        blocked_lines.len(),
        2,
        "the status table's and one reason line"
    );
    assert!(blocked_lines[1].starts_with("| blocked | 300 | synced from on-premises"));
    assert!(blocked_lines[1].ends_with("| 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 290 more |"));

    // The run of that plan: the 300 are blocked again, one line of the failures.
    t.apply_plan().yes().run().expect_code(1);
    let html = read(t.out().join("report.html"));
    let lines = group_lines(&html, "failures");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!((lines[0].status, lines[0].count), ("blocked", 300));
    assert_eq!(lines[0].users.len(), 300);
    assert!(html.contains("Failed, partly done or blocked (300)</h2>"));
    let md = read(t.out().join("summary.md"));
    assert_eq!(
        md.lines()
            .filter(|l| l.starts_with("| blocked | 300 | synced from"))
            .count(),
        1
    );
}

#[test]
fn the_user_figures_agree_with_users_by_status() {
    let t = offboarding_planned("figures-agree");
    let html = read(t.planned().join("report.html"));
    // 21 planned and 300 blocked whose sessions are still revoked would change: the
    // figure is their sum, and says so in the numbers the status chart shows.
    let chart = section(&html, "id=\"chart-status\"", "</svg>");
    let planned = bar_value(chart, "planned");
    let blocked = bar_value(chart, "blocked");
    assert_eq!((planned, blocked), ("21 (7%)", "300 (93%)"));
    assert_eq!(by_id(&html, "figure-users"), "321");
    let note = between(
        &html,
        "id=\"figure-users\">321</div><div class=\"s\">",
        "</div>",
    );
    assert_eq!(
        note,
        Some("21 planned + 300 blocked whose safe steps still run; of 322 input rows")
    );
    assert!(html.contains("<option value=\"planned\">planned (21)</option>"));

    let md = read(t.planned().join("summary.md"));
    assert!(md.contains(
        "| Users who would change | **321** (21 planned + 300 blocked whose safe steps still run) |"
    ));
    assert!(md.contains("| planned | 21 |"));
    assert!(md.contains("| blocked | 300 |"));

    // The run: "Users done" is the status `done`, of the status `planned`; the blocked
    // users whose safe steps ran are counted on a line of their own.
    t.apply_plan().yes().run().expect_code(1);
    let html = read(t.out().join("report.html"));
    let chart = section(&html, "id=\"chart-status\"", "</svg>");
    assert_eq!(bar_value(chart, "done"), "21 (7%)");
    assert_eq!(by_id(&html, "figure-done"), "21");
    assert_eq!(
        between(
            &html,
            "id=\"figure-done\">21</div><div class=\"s\">",
            "</div>"
        ),
        Some(
            "of 21 users planned; and 300 of 300 blocked users had their safe steps done; 322 \
             input rows"
        )
    );
    let md = read(t.out().join("summary.md"));
    assert!(md.contains("| Users planned (done: every change made) | 21 | 21 | — | 0 |"));
    assert!(md.contains("| Blocked users, their safe steps only | 300 | 300 | — | 0 |"));
    assert!(md.contains("| **done** | **21** |"));
}

#[test]
fn a_password_only_user_under_issue_tap_is_told_why_no_pass_is_issued() {
    let tenant = json!({
        "tenantId": "9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13",
        "users": [
            user(1, "phone@contoso.example", false, false),
            user(2, PASSWORD_ONLY, false, true),
        ],
    });
    let t = Scenario::with_tenant("no-pass-why", &tenant);
    let input = t.write(
        "users.csv",
        format!("userPrincipalName\nphone@contoso.example\n{PASSWORD_ONLY}\n"),
    );
    t.plan(&input, Profile::DeviceRefresh.with_tap())
        .run()
        .expect_code(0);
    let why = "nothing to change: the user has no method but the password, which is never \
               removed; no Temporary Access Pass is issued, as under a policy that removes \
               methods a pass goes only to a user who loses one";
    let rows = t.planned().rows();
    assert_eq!(rows[1]["status"], "no-change");
    assert_eq!(rows[1]["reason"], why);
    assert_eq!(rows[1]["notes"], json!([]), "said once, as the reason");
    let html = read(t.planned().join("report.html"));
    let users = section(&html, "<table id=\"users\"", "</table>");
    let row = users.split("<tr data-status=").nth(2).unwrap();
    assert!(row.contains(PASSWORD_ONLY), "{row}");
    assert!(
        row.contains(&format!("<p class=\"reason\">{}</p>", escaped(why))),
        "{row}"
    );

    // The run carries the reason over.
    t.apply_plan().yes().run().expect_code(0);
    let rows = t.out().rows();
    assert_eq!(rows[1]["status"], "no-change");
    assert_eq!(rows[1]["reason"], why);
    assert_eq!(
        rows[0]["tapIssued"], true,
        "the user who lost a phone got a pass"
    );
}

#[test]
fn a_plan_of_a_header_only_list_says_it_has_no_users() {
    let t = Scenario::with_tenant("header-only", &tenant());
    let input = t.write("users.csv", "userPrincipalName\n");
    let run = t.plan(&input, Profile::DeviceRefresh).run();
    run.expect_code(0);
    let said = format!(
        "mfa-reset: plan written to {}: no users to change (the input names no user); 0 Graph \
         writes, about 0 s to apply.",
        t.planned().arg()
    );
    assert!(run.stderr.contains(&said), "{}", run.stderr);
    assert!(!run.stderr.contains(": ;"), "{}", run.stderr);
}

#[test]
fn the_policy_reads_as_sentences_in_both_summaries() {
    let tenant = json!({
        "tenantId": "9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13",
        "users": [user(1, "phone@contoso.example", false, false)],
    });
    let t = Scenario::with_tenant("policy-sentences", &tenant);
    let input = t.write("users.csv", "userPrincipalName\nphone@contoso.example\n");
    t.plan(&input, Profile::DeviceRefresh.with_tap())
        .run()
        .expect_code(0);
    t.apply_plan().yes().run().expect_code(0);
    let policy = "| Policy | Profile: device-refresh. Remove methods of type: phone, \
                  microsoftAuthenticator, softwareOath, hardwareOath (never the password). Then \
                  issue a Temporary Access Pass valid 60 minutes, usable more than once. \
                  Admin-role holders are protected (left alone). |";
    for md in [t.planned().join("summary.md"), t.out().join("summary.md")] {
        let md = read(md);
        assert!(md.contains(policy), "{md}");
        assert!(!md.contains(".;"), "{md}");
    }
}

#[test]
fn an_admin_role_graph_gave_no_name_for_reads_as_a_phrase() {
    let protect = PolicyArgs {
        revoke_sessions: true,
        ..PolicyArgs::default()
    }
    .into_policy()
    .unwrap();
    let admin = UserSnapshot {
        admin_roles: vec![UNREADABLE_ROLE.to_string()],
        ..snapshot("id-1", "ada@contoso.com", vec![password()])
    };
    let Decision::Protected { reason } = decide(&protect, &admin, false) else {
        panic!("an admin is protected")
    };
    assert_eq!(
        reason,
        "holds an admin role: a directory role whose name is not readable (grant \
         RoleManagement.Read.Directory); admin accounts are left alone unless \
         --include-admins is given"
    );
    let two = UserSnapshot {
        admin_roles: vec!["Global Administrator".into(), UNREADABLE_ROLE.to_string()],
        ..admin.clone()
    };
    let Decision::Protected { reason: two } = decide(&protect, &two, false) else {
        panic!("an admin is protected")
    };
    assert!(
        two.starts_with(&format!(
            "holds 2 admin roles: Global Administrator, {UNREADABLE_ROLE};"
        )),
        "{two}"
    );

    // Included on purpose, the note reads as well.
    let include = PolicyArgs {
        include_admins: true,
        revoke_sessions: true,
        ..PolicyArgs::default()
    }
    .into_policy()
    .unwrap();
    let decision = decide(&include, &admin, false);
    assert_eq!(
        decision.notes()[0],
        format!(
            "is included by --include-admins and holds an admin role: {UNREADABLE_ROLE}; \
             changing a privileged admin needs a caller with an equal or higher role"
        )
    );

    // As the plan's report shows it.
    let mut e = entry(2, "ada@contoso.com", Status::Protected, Some(&reason));
    e.before = Some(admin);
    let plan = finish(protect, "admins.csv", vec![e]);
    let (_, written) = plan_reports(&plan);
    assert!(written.html.contains(&escaped(&reason)));
    assert!(!written.html.contains("the admin role a directory role"));
}
