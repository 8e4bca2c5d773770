//! `report.html` and `summary.md` of a plan end to end: a hand-built plan with every
//! status, every kind of step, hostile input values and extra columns is written as
//! `mfa-reset plan` writes it (the digest built an entry at a time, the results written an
//! entry at a time, then the same writers), then checked as text (figures, escaping, no
//! network references, one file, every results row and column) and, when Chromium is
//! installed, in headless Chromium (loads, runs its script, logs nothing to the console;
//! a screenshot).
//!
//! The Chromium check runs when a `chromium` or `chromium-browser` binary is on `PATH`;
//! without one it is skipped with a note, unless `MFA_RESET_REQUIRE_CHROMIUM=1` (as CI
//! sets it), when it fails. Chromium prints every console message of the page (log, warn
//! or error alike) and every uncaught exception to stderr as an `INFO:CONSOLE` line, and
//! the report's Content-Security-Policy turns any attempt to load something into such a
//! line too; the test accepts none, and first proves on deliberately broken pages that
//! it would see them. `MFA_RESET_WRITE_SCREENSHOT=1` also writes the screenshot of a
//! realistic plan to `samples/report-screenshot.png`.

use crate::support::chromium::chromium_or_skip;
use crate::support::report_fixtures::{
    HOSTILE_COLUMN, HOSTILE_DEVICE, HOSTILE_UPN, assert_charts, assert_grouped, by_id, entry,
    escaped, extra_columns, finish, group, plan_digest, plan_reports, realistic_plan, section,
    snapshot, temp_dir,
};
use std::collections::BTreeMap;

use mfa_reset::plan::{PlanEntry, PlanFile, Status};
use mfa_reset::policy::{Policy, PolicyArgs, Profile, Step, UserSnapshot};
use mfa_reset::report::results::{COLUMNS, PlanResultsWriter, steps_text};
use mfa_reset::report::{DIGEST_ROWS, Figures, html, human_duration, summary};
use mfa_reset::wire::MethodType;

const BIDI_UPN: &str = "admin\u{202E}moc.live@contoso.com";

fn incident() -> Policy {
    PolicyArgs {
        profile: Some(Profile::Incident),
        ..PolicyArgs::default()
    }
    .into_policy()
    .unwrap()
}

fn delete(kind: MethodType, id: &str, label: &str) -> Step {
    Step::DeleteMethod {
        kind,
        id: id.to_string(),
        label: label.to_string(),
    }
}

/// A user as Graph read them, with no methods.
fn user(id: &str, upn: &str) -> UserSnapshot {
    snapshot(id, upn, Vec::new())
}

/// Every status, every kind of step, hostile values, extra columns.
fn test_plan() -> PlanFile {
    let mut entries = vec![alice(), by_id_with_admin_role()];
    entries.extend(rows_without_changes());
    finish(incident(), "users <board>.csv", entries)
}

/// Every kind of step, a hostile device name and input columns.
fn alice() -> PlanEntry {
    let mut alice = entry(2, "alice@contoso.com", Status::Planned, None);
    alice.before = Some(user(
        "11111111-1111-1111-1111-111111111111",
        "alice@contoso.com",
    ));
    alice.steps = vec![
        Step::RevokeSessions,
        Step::DisableAccount,
        delete(MethodType::Fido2, "f1", "FIDO2 key \"Red key\""),
        delete(
            MethodType::Phone,
            "3179e48a-750b-4051-897c-87b9720928f7",
            "mobile phone …13",
        ),
        delete(
            MethodType::MicrosoftAuthenticator,
            "a1",
            &format!("Authenticator on {HOSTILE_DEVICE}"),
        ),
        Step::IssueTemporaryAccessPass {
            lifetime_minutes: 60,
            usable_once: true,
            start: None,
        },
    ];
    alice.columns = BTreeMap::from([
        ("ticket".to_string(), "INC-4711".to_string()),
        ("comment".to_string(), HOSTILE_COLUMN.to_string()),
    ]);
    alice
}

/// A user named by id, an admin included on purpose, with a note.
fn by_id_with_admin_role() -> PlanEntry {
    let mut by_id = entry(
        3,
        "22222222-2222-2222-2222-222222222222",
        Status::Planned,
        None,
    );
    by_id.before = Some(UserSnapshot {
        admin_roles: vec!["Helpdesk Administrator".into()],
        ..user("22222222-2222-2222-2222-222222222222", "bob@contoso.com")
    });
    by_id.steps = vec![
        Step::RevokeSessions,
        delete(MethodType::Email, "e1", "email address"),
        delete(MethodType::SoftwareOath, "o1", "software OATH token"),
    ];
    by_id.notes = vec![
        "is included by --include-admins and holds an admin role: Helpdesk Administrator".into(),
    ];
    by_id.columns = BTreeMap::from([("ticket".to_string(), "INC-4712".to_string())]);
    by_id
}

/// A row of every other status, lines 4 to 11.
fn rows_without_changes() -> Vec<PlanEntry> {
    let mut same = entry(
        4,
        "carol@contoso.com",
        Status::NoChange,
        Some("nothing to change"),
    );
    same.before = Some(user(
        "33333333-3333-3333-3333-333333333333",
        "carol@contoso.com",
    ));
    let mut protected = entry(
        9,
        "root@contoso.com",
        Status::Protected,
        Some("holds an admin role: Global Administrator; admin accounts are left alone"),
    );
    protected.before = Some(UserSnapshot {
        admin_roles: vec!["Global Administrator".into()],
        ..user("44444444-4444-4444-4444-444444444444", "root@contoso.com")
    });
    let mut blocked = entry(
        10,
        "synced@contoso.com",
        Status::Blocked,
        Some("synced from on-premises Active Directory & cannot be disabled through Graph"),
    );
    blocked.before = Some(UserSnapshot {
        synced: true,
        ..user("55555555-5555-5555-5555-555555555555", "synced@contoso.com")
    });
    blocked.steps = vec![Step::RevokeSessions];
    let invalid = format!("not a valid user principal name: {HOSTILE_UPN}");
    vec![
        same,
        entry(
            5,
            "nobody@contoso.com",
            Status::NotFound,
            Some("no such user in the tenant"),
        ),
        entry(6, HOSTILE_UPN, Status::Invalid, Some(&invalid)),
        entry(
            7,
            "ALICE@contoso.com",
            Status::Duplicate,
            Some("same user as line 2"),
        ),
        entry(
            8,
            "breakglass@contoso.com",
            Status::Excluded,
            Some("on the exclude list"),
        ),
        protected,
        blocked,
        entry(
            11,
            BIDI_UPN,
            Status::Error,
            Some("Graph answered 503 Service Unavailable four times"),
        ),
    ]
}

/// The plan's `report.html`, written as `mfa-reset plan` writes it.
fn report(plan: &PlanFile) -> String {
    plan_reports(plan).1.html.clone()
}

/// The figures of a plan, counted here from its entries.
fn expected_figures(plan: &PlanFile) -> Figures {
    let mut f = Figures {
        rows: plan.entries.len(),
        writes: plan.writes,
        minimum_seconds: plan.minimum_seconds,
        ..Figures::default()
    };
    for e in &plan.entries {
        *f.by_status.entry(e.status).or_default() += 1;
        if e.writes() == 0 {
            continue;
        }
        f.users_affected += 1;
        if e.status == Status::Blocked {
            f.blocked_with_steps += 1;
        }
        for step in &e.steps {
            match step {
                Step::RevokeSessions => f.revoke += 1,
                Step::DisableAccount => f.disable += 1,
                Step::IssueTemporaryAccessPass { .. } => f.issue_pass += 1,
                Step::SetDefaultMethod { .. } => f.repoint += 1,
                Step::DeleteMethod { kind, .. } => {
                    *f.deletes_by_type
                        .entry(kind.short_name().to_string())
                        .or_default() += 1
                }
            }
        }
    }
    f
}

#[test]
fn the_header_says_plan_and_shows_where_when_what_and_the_fingerprint() {
    let plan = test_plan();
    let html = report(&plan);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("PLAN — nothing has been changed yet."));
    assert!(html.contains("<title>PLAN (nothing changed yet)"));
    for text in [
        plan.graph.as_str(),
        plan.created.as_str(),
        plan.tool.as_str(),
        plan.fingerprint.as_str(),
        plan.input.sha256.as_str(),
    ] {
        assert!(html.contains(&escaped(text)), "{text}");
    }
    assert!(html.contains("users &lt;board&gt;.csv"));
    assert_eq!(by_id(&html, "fingerprint"), plan.fingerprint);
    assert_eq!(by_id(&html, "input-sha256"), plan.input.sha256);
    for line in plan.policy.summary() {
        assert!(
            html.contains(&format!("<li>{}</li>", escaped(&line))),
            "{line}"
        );
    }
    // The order a change board reads in.
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("id=\"plan-banner\"") < at("id=\"fingerprint\""));
    assert!(at("id=\"fingerprint\"") < at("id=\"figure-users\""));
    assert!(at("id=\"figure-users\"") < at("id=\"chart-status\""));
    assert!(at("id=\"chart-status\"") < at("id=\"chart-changes\""));
    assert!(at("id=\"chart-changes\"") < at("id=\"attention\""));
    assert!(at("id=\"attention\"") < at("id=\"users\""));
}

#[test]
fn the_figures_and_charts_match_the_plan() {
    let plan = test_plan();
    let (digest, written) = plan_reports(&plan);
    let f = &digest.figures;
    assert_eq!(*f, expected_figures(&plan));
    assert_eq!(f.users_affected, 3);
    assert_eq!(plan.writes, 6 + 3 + 1);
    let html = &written.html;
    assert_eq!(by_id(html, "figure-users"), "3");
    assert_eq!(by_id(html, "figure-writes"), "10");
    assert_eq!(by_id(html, "figure-time"), human_duration(0.5));
    assert_eq!(by_id(html, "figure-attention"), "4");

    // Users by status: every status present, with its count and share, as text; changes
    // by kind: each kind of step, and deletions by method type.
    let statuses = Status::ALL.map(|status| {
        let n = plan.entries.iter().filter(|e| e.status == status).count();
        (status.to_string(), n)
    });
    let changes = [
        ("Revoke sign-in sessions", 3),
        ("Disable account", 1),
        ("Remove phone number", 1),
        ("Remove Authenticator app", 1),
        ("Remove software OATH token", 1),
        ("Remove FIDO2 key", 1),
        ("Remove email method", 1),
        ("Issue Temporary Access Pass", 1),
    ];
    assert_charts(html, statuses, 10, &changes);
    let chart = section(html, "id=\"chart-changes\"", "</svg>");
    assert!(chart.find("Revoke sign-in").unwrap() < chart.find("Remove phone").unwrap());
    assert!(chart.find("Remove phone").unwrap() < chart.find("Issue Temporary").unwrap());
}

#[test]
fn the_tables_list_attention_rows_and_every_user_with_steps_in_order() {
    let plan = test_plan();
    let html = report(&plan);
    let attention = section(&html, "id=\"attention\"", "</table>");
    for status in [
        Status::Blocked,
        Status::Error,
        Status::NotFound,
        Status::Invalid,
    ] {
        assert_eq!(
            attention
                .matches(&format!("<tr data-status=\"{status}\" data-count=\"1\">"))
                .count(),
            1,
            "{status}"
        );
    }
    assert_eq!(attention.matches("<tr data-status=").count(), 4);
    assert!(attention.contains("synced from on-premises Active Directory &amp; cannot"));
    assert!(attention.contains("no such user in the tenant"));
    assert!(
        attention.contains("— still done: revoke sign-in sessions</span>"),
        "still done"
    );

    let users = section(&html, "id=\"users\"", "</table>");
    let rows: Vec<&str> = users.split("<tr data-status=").skip(1).collect();
    assert_eq!(rows.len(), plan.entries.len());
    for (row, e) in rows.iter().zip(&plan.entries) {
        assert!(row.starts_with(&format!(
            "\"{}\"><td class=\"num\">{}</td>",
            e.status, e.line
        )));
        if let Some(reason) = &e.reason {
            assert!(row.contains(&escaped(reason)), "{reason}");
        }
        for note in &e.notes {
            assert!(row.contains(&escaped(note)), "{note}");
        }
        // Steps in order.
        let mut from = 0;
        for step in &e.steps {
            let li = format!("<li>{}</li>", escaped(&step.describe()));
            let at = row[from..].find(&li).unwrap_or_else(|| panic!("{li}"));
            from += at + li.len();
        }
    }
    // The UPN Graph knows is shown when the input was an id; account facts are tagged.
    assert!(rows[1].contains("bob@contoso.com"));
    assert!(rows[1].contains("admin: Helpdesk Administrator"));
    assert!(rows[8].contains(">synced<"));
    // Extra input columns.
    assert!(users.contains(">From the input</th>"));
    assert!(rows[0].contains("<dt>ticket</dt><dd>INC-4711</dd>"));
    // The filter box is there for the script to show, hidden without it.
    assert!(html.contains("<form id=\"filter\" class=\"noprint\" role=\"search\" hidden>"));
}

#[test]
fn hostile_values_render_as_text() {
    let html = report(&test_plan());
    for hostile in [HOSTILE_UPN, HOSTILE_COLUMN, HOSTILE_DEVICE] {
        assert!(!html.contains(hostile), "{hostile}");
        assert!(html.contains(&escaped(hostile)), "{hostile}");
    }
    assert!(html.contains(&format!(
        "<span class=\"user\">{}</span>",
        escaped(HOSTILE_UPN)
    )));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>"));
    assert_eq!(html.to_ascii_lowercase().matches("<script").count(), 1);
    // A right-to-left override cannot reorder what the reader sees.
    assert!(!html.contains('\u{202E}'));
    assert!(html.contains("admin\u{FFFD}moc.live@contoso.com"));
}

#[test]
fn the_summary_says_plan_and_escapes_user_values() {
    let plan = test_plan();
    let md = plan_reports(&plan).1.summary.clone();
    assert!(md.starts_with("# mfa-reset plan\n\n"));
    assert!(md.contains("**Nothing has been changed yet.**"));
    assert!(md.contains("| Input | `users <board>.csv` (10 rows, SHA-256 `"));
    assert!(md.contains(&format!("| Plan fingerprint | `{}` |", plan.fingerprint)));
    // The figure says what it is made of, in the numbers "Users by status" shows.
    assert!(md.contains(
        "| Users who would change | **3** (2 planned + 1 blocked whose safe steps still run) |"
    ));
    assert!(md.contains("| Graph writes | **10**, about 1 s to apply |"));
    assert!(md.contains("| planned | 2 |\n| no-change | 1 |"));
    assert!(md.contains("| Revoke sign-in sessions | 3 |"));
    assert!(md.contains("## Needs attention (4)\n"));
    assert!(md.contains("## Planned changes per user (2)\n"));
    assert!(md.contains("| 3 | bob@contoso.com | revoke sign-in sessions; "));
    // Markup and table breakers in user values are escaped.
    assert!(!md.contains("<script>"));
    assert!(!md.contains("<b>"));
    assert!(md.contains("\\<script\\>console.error('pwned-upn')\\</script\\>@x"));
}

/// A tag as the scanner saw it.
#[derive(Debug)]
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
    /// For `script` and `style`: the element's content.
    body: Option<String>,
}

/// A small HTML tag scanner, enough for the report: every `<` outside script and style
/// starts a tag, comment or doctype (user text is escaped, which the tests above check).
fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = html[i..].find('<') {
        i += at + 1;
        if b[i] == b'!' || b[i] == b'/' {
            i += html[i..].find('>').unwrap() + 1;
            continue;
        }
        let name_len = html[i..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap();
        let name = html[i..i + name_len].to_ascii_lowercase();
        i += name_len;
        let mut attributes = Vec::new();
        loop {
            while b[i].is_ascii_whitespace() || b[i] == b'/' {
                i += 1;
            }
            if b[i] == b'>' {
                i += 1;
                break;
            }
            let len = html[i..]
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
                .unwrap();
            let attr = html[i..i + len].to_ascii_lowercase();
            i += len;
            let mut value = String::new();
            if b[i] == b'=' {
                i += 1;
                let quote = b[i];
                if quote == b'"' || quote == b'\'' {
                    let end = html[i + 1..].find(quote as char).unwrap();
                    value = html[i + 1..i + 1 + end].to_string();
                    i += end + 2;
                } else {
                    let end = html[i..]
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap();
                    value = html[i..i + end].to_string();
                    i += end;
                }
            }
            attributes.push((attr, value));
        }
        let body = if name == "script" || name == "style" {
            let close = format!("</{name}");
            let end = html[i..].to_ascii_lowercase().find(&close).unwrap();
            let body = html[i..i + end].to_string();
            i += end;
            Some(body)
        } else {
            None
        };
        out.push(Tag {
            name,
            attributes,
            body,
        });
    }
    out
}

#[test]
fn the_report_is_one_file_that_loads_nothing() {
    let html = report(&test_plan());
    let tags = tags(&html);
    assert!(tags.len() > 100, "the scanner found the tags");
    for tag in &tags {
        assert!(
            ![
                "link", "img", "image", "iframe", "frame", "object", "embed", "base", "source",
                "video", "audio", "track", "use", "a", "portal", "picture",
            ]
            .contains(&tag.name.as_str()),
            "{tag:?}"
        );
        for (name, value) in &tag.attributes {
            assert!(
                ![
                    "src",
                    "srcset",
                    "href",
                    "xlink:href",
                    "action",
                    "formaction",
                    "poster",
                    "data",
                    "background",
                    "ping",
                    "manifest",
                    "style"
                ]
                .contains(&name.as_str()),
                "{tag:?}"
            );
            assert!(
                !name.starts_with("on"),
                "no event handler attributes: {tag:?}"
            );
            let lower = value.to_ascii_lowercase();
            assert!(
                !(lower.contains("http:") || lower.contains("https:") || lower.contains("//")),
                "{tag:?}"
            );
        }
        if let Some(body) = &tag.body {
            let lower = body.to_ascii_lowercase();
            for bad in [
                "@import",
                "url(",
                "http:",
                "https:",
                "//",
                "fetch(",
                "xmlhttprequest",
                "import(",
                "websocket",
                "eventsource",
                "sendbeacon",
            ] {
                // `//` may not even begin a comment: a comment could hide nothing, but a
                // protocol-relative URL could.
                assert!(!lower.contains(bad), "{bad} in <{}>", tag.name);
            }
        }
    }
    assert_eq!(tags.iter().filter(|t| t.name == "script").count(), 1);
    assert_eq!(tags.iter().filter(|t| t.name == "style").count(), 1);
    assert_eq!(tags.iter().filter(|t| t.name == "svg").count(), 2);
    // The Content-Security-Policy forbids every load but the page's own style and script.
    let csp = tags
        .iter()
        .find(|t| {
            t.attributes
                .iter()
                .any(|(n, v)| n == "http-equiv" && v == "Content-Security-Policy")
        })
        .expect("a CSP meta element");
    let content = &csp
        .attributes
        .iter()
        .find(|(n, _)| n == "content")
        .unwrap()
        .1;
    assert!(
        content.starts_with("default-src 'none'; style-src 'sha256-"),
        "{content}"
    );
    assert!(content.contains("; script-src 'sha256-"), "{content}");
    assert!(!content.contains("unsafe"), "{content}");
    // It comes before the style and the script it governs.
    let position = |name: &str| tags.iter().position(|t| t.name == name).unwrap();
    let csp_at = tags.iter().position(|t| std::ptr::eq(t, csp)).unwrap();
    assert!(csp_at < position("style") && csp_at < position("script"));
    // `https://` appears only as the Graph root, in text.
    let plan = test_plan();
    assert!(html.matches(&plan.graph).count() >= 2, "title and header");
    assert_eq!(
        html.matches("https://").count(),
        html.matches(&plan.graph).count()
    );
    assert_eq!(html.matches("http://").count(), 0);
}

#[test]
fn large_plans_list_the_first_rows_and_point_to_results_csv() {
    let entries: Vec<PlanEntry> = (0..html::MAX_TABLE_ROWS + 345)
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
    let plan = finish(incident(), "big.csv", entries);
    let html = report(&plan);
    let users = section(&html, "id=\"users\"", "</table>");
    assert_eq!(
        users.matches("<tr data-status=").count(),
        html::MAX_TABLE_ROWS
    );
    assert!(html.contains("The first 2,000 of 2,345 rows are listed here"));
    assert!(html.contains("…and 345 more rows in <code>results.csv</code>."));
    assert_eq!(by_id(&html, "figure-users"), "2,345");
    assert_eq!(by_id(&html, "figure-time"), "1 min 58 s");
}

#[test]
fn empty_plans_render() {
    let plan = finish(incident(), "empty.csv", Vec::new());
    let (_, written) = plan_reports(&plan);
    let html = &written.html;
    assert!(html.contains("The input has no rows."));
    assert_eq!(by_id(html, "figure-users"), "0");
    assert!(html.ends_with("</html>\n"));
    assert!(written.summary.contains("| **all rows** | **0** |"));
    assert!(
        written
            .summary
            .contains("## Planned changes per user (0)\n")
    );
    assert_eq!(written.csv, format!("{}\n", COLUMNS.join(",")));
    assert_eq!(written.jsonl, "");
}

#[test]
fn write_writes_the_file_and_names_it_in_errors() {
    let dir = temp_dir("write");
    let plan = test_plan();
    let (digest, written) = plan_reports(&plan);
    // Written again, the same bytes: the reports depend on the plan alone.
    let path = dir.join("report.html");
    html::write(&path, &digest).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written.html);
    let path = dir.join("summary.md");
    summary::write(&path, &digest).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written.summary);
    let missing = dir.join("no-such-dir").join("report.html");
    let error = html::write(&missing, &digest).unwrap_err();
    assert_eq!(error.path, missing);
    assert!(error.to_string().contains("report.html"), "{error}");
    let missing = dir.join("no-such-dir").join("summary.md");
    let error = summary::write(&missing, &digest).unwrap_err();
    assert_eq!(error.path, missing);
    assert!(error.to_string().contains("summary.md"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- bounded digests and streaming results ----

/// A plan of `n` generated rows, in a fixed mix of statuses: 4 in 10 planned (with
/// revokes, removals, a disable or a pass), 4 in 10 needing attention (blocked, error, not
/// found, invalid), the rest no change, duplicate, excluded or protected. Every 7th row
/// carries input columns (hostile ones among them) when `columns`.
fn generated_plan(n: usize, columns: bool) -> PlanFile {
    let entries = (0..n)
        .map(|i| {
            let status = match i % 10 {
                0..=3 => Status::Planned,
                4 => Status::Blocked,
                5 => Status::Error,
                6 => Status::NotFound,
                7 => Status::Invalid,
                8 => Status::NoChange,
                _ => [Status::Duplicate, Status::Excluded, Status::Protected][(i / 10) % 3],
            };
            let reason = (status != Status::Planned).then(|| format!("reason {i} <b>|</b>"));
            let mut e = entry(
                i + 2,
                &format!("user{i}@contoso.com"),
                status,
                reason.as_deref(),
            );
            if matches!(status, Status::Planned | Status::Blocked | Status::NoChange) {
                e.before = Some(user(&format!("id-{i}"), &format!("User{i}@contoso.com")));
            }
            if matches!(status, Status::Planned | Status::Blocked) {
                e.steps.push(Step::RevokeSessions);
                e.steps
                    .push(delete(MethodType::Phone, &format!("p{i}"), "phone +1 425"));
                match i % 3 {
                    0 => e.steps.push(delete(
                        MethodType::MicrosoftAuthenticator,
                        &format!("a{i}"),
                        "Authenticator",
                    )),
                    1 => e.steps.push(Step::DisableAccount),
                    _ => e.steps.push(Step::IssueTemporaryAccessPass {
                        lifetime_minutes: 60,
                        usable_once: true,
                        start: None,
                    }),
                }
                e.notes.push(format!("note {i}"));
            }
            if columns && i % 7 == 0 {
                e.columns.insert("ticket".into(), format!("INC-{i}"));
                e.columns
                    .insert("status".into(), format!("=HYPERLINK(\"{i}\")"));
                if i % 2 == 0 {
                    e.columns.insert("why".into(), "-lost phone".into());
                }
            }
            e
        })
        .collect();
    finish(incident(), "generated.csv", entries)
}

#[test]
fn the_digest_of_a_large_plan_has_its_figures_and_its_first_rows_of_each_kind() {
    let plan = generated_plan(7_003, true);
    let digest = plan_digest(&plan);
    assert_eq!(digest.figures, expected_figures(&plan));
    assert_eq!(digest.header, plan.header());
    assert!(digest.with_columns);
    assert!(!plan_digest(&generated_plan(50, false)).with_columns);

    let attention: Vec<&PlanEntry> = plan
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e.status,
                Status::Blocked | Status::Error | Status::NotFound | Status::Invalid
            )
        })
        .collect();
    let planned: Vec<&PlanEntry> = plan
        .entries
        .iter()
        .filter(|e| e.status == Status::Planned)
        .collect();
    // More of each than any table lists, so the digest is cut.
    assert!(attention.len() > DIGEST_ROWS && planned.len() > DIGEST_ROWS);
    const {
        assert!(DIGEST_ROWS >= html::MAX_TABLE_ROWS && DIGEST_ROWS >= summary::MAX_TABLE_ROWS);
    }
    assert_eq!(digest.attention.total, attention.len());
    assert_eq!(digest.planned.total, planned.len());
    assert_eq!(digest.first.len(), DIGEST_ROWS);
    assert_eq!(digest.planned.rows.len(), DIGEST_ROWS);
    assert!(
        digest
            .first
            .iter()
            .eq(plan.entries.iter().take(DIGEST_ROWS))
    );
    // The rows needing attention are grouped by status and reason, every one counted.
    assert_grouped(&digest.attention, attention.len(), |e, g| {
        (e.status.as_str(), e.reason.as_deref()) == (g.status, Some(&*g.reason))
    });
    assert!((digest.planned.rows.iter()).eq(planned.into_iter().take(DIGEST_ROWS)));

    // A digest of no entries has the plan's writes and time, and nothing else.
    let empty = finish(incident(), "empty.csv", Vec::new());
    let digest = plan_digest(&empty);
    assert_eq!(digest.figures, expected_figures(&empty));
    assert_eq!(digest.figures, Figures::default());
    assert!(digest.first.is_empty() && digest.attention.is_empty());
}

#[test]
fn reports_from_the_digest_of_a_large_plan_cut_each_table_and_count_the_rest() {
    let plan = generated_plan(7_003, true);
    let f = expected_figures(&plan);
    let attention = [
        Status::Blocked,
        Status::Error,
        Status::NotFound,
        Status::Invalid,
    ]
    .map(|s| f.count(s))
    .iter()
    .sum::<usize>();
    let planned = f.count(Status::Planned);
    let (digest, written) = plan_reports(&plan);
    assert_eq!(digest.figures, f);

    let md = &written.summary;
    let cut = summary::MAX_TABLE_ROWS;
    let blockers = md
        .split("## Needs attention")
        .nth(1)
        .unwrap()
        .split("## Planned")
        .next()
        .unwrap();
    assert!(md.contains(&format!("## Needs attention ({attention})\n")));
    assert_eq!(
        blockers
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Status"))
            .count(),
        cut,
        "every reason differs: a line each"
    );
    assert!(blockers.contains(&format!("…and {} more in `results.csv`.", attention - cut)));
    let per_user = md.split("## Planned changes per user").nth(1).unwrap();
    assert!(per_user.starts_with(&format!(" ({planned})\n")));
    assert_eq!(
        per_user
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Line"))
            .count(),
        cut
    );
    assert!(per_user.contains(&format!("…and {} more in `results.csv`.", planned - cut)));
    assert!(md.contains(&format!("| **all rows** | **{}** |", plan.entries.len())));

    let page = &written.html;
    let cut = html::MAX_TABLE_ROWS;
    assert!(page.contains(&format!("Needs attention ({})</h2>", group(attention))));
    let table = section(page, "<table id=\"attention\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), cut);
    // Every reason differs: a line each, as many as a table lists; the rest counted.
    assert!(page.contains(&format!(
        "<p class=\"more\">…and {} more, for other reasons, in <code>results.csv</code>.</p>",
        group(attention - cut)
    )));
    let users = section(page, "<table id=\"users\"", "</table>");
    assert_eq!(users.matches("<tr data-status=").count(), cut);
    assert!(users.contains("<th class=\"w-cols\">From the input</th>"));
    assert!(page.contains(&format!(
        "…and {} more rows in <code>results.csv</code>.",
        group(plan.entries.len() - cut)
    )));
    // The filter counts every row of each status, not only the rows listed.
    for (status, n) in &f.by_status {
        assert!(
            page.contains(&format!(
                "<option value=\"{status}\">{status} ({})</option>",
                group(*n)
            )),
            "{status}"
        );
    }
    assert_eq!(by_id(page, "figure-users"), group(f.users_affected));
    assert_eq!(by_id(page, "figure-attention"), group(attention));
}

/// The cell of `row` under the column `name`.
fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let at = header.iter().position(|h| h == name);
    &row[at.unwrap_or_else(|| panic!("no column {name}"))]
}

#[test]
fn the_results_have_one_row_per_entry_in_order_with_every_column() {
    for plan in [
        generated_plan(3_001, true),
        generated_plan(20, false),
        test_plan(),
        finish(incident(), "empty.csv", Vec::new()),
    ] {
        let (_, written) = plan_reports(&plan);
        let (header, rows) = written.csv_table();
        let extra = extra_columns(plan.entries.iter().map(|e| &e.columns));
        assert_eq!(&header[..COLUMNS.len()], COLUMNS.as_slice());
        assert_eq!(header.len(), COLUMNS.len() + extra.len());
        assert_eq!(rows.len(), plan.entries.len());
        assert_eq!(written.csv.lines().count(), plan.entries.len() + 1);
        let records = written.records();
        assert_eq!(records.len(), plan.entries.len());
        for ((row, record), e) in rows.iter().zip(&records).zip(&plan.entries) {
            let cell = |name: &str| cell(&header, row, name);
            assert_eq!(cell("row"), e.row.to_string());
            assert_eq!(cell("line"), e.line.to_string());
            assert_eq!(
                cell("input"),
                e.input,
                "no input here starts like a formula"
            );
            assert_eq!(cell("status"), e.status.as_str());
            assert_eq!(cell("reason"), e.reason.as_deref().unwrap_or(""));
            let user = e.before.as_ref();
            assert_eq!(cell("userId"), user.map_or("", |u| u.id.as_str()));
            let upn = user.map_or("", |u| u.user_principal_name.as_str());
            assert_eq!(cell("userPrincipalName"), upn);
            assert_eq!(cell("steps"), steps_text(e));
            assert_eq!(cell("writes"), e.writes().to_string());
            for cell in row {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "a formula cell: {cell:?}"
                );
            }
            // The JSON Lines keep every value exactly.
            assert_eq!(record["row"], e.row);
            assert_eq!(record["line"], e.line);
            assert_eq!(record["input"], e.input.as_str());
            assert_eq!(record["status"], e.status.as_str());
            assert_eq!(record["stepsText"], steps_text(e));
            assert_eq!(record["writes"], e.writes());
            assert_eq!(record["steps"], serde_json::to_value(&e.steps).unwrap());
            assert_eq!(record["notes"], serde_json::to_value(&e.notes).unwrap());
            assert_eq!(record["columns"], serde_json::to_value(&e.columns).unwrap());
        }
    }

    // The test plan: hostile input as text, the input's columns after the fixed ones.
    let plan = test_plan();
    let (_, written) = plan_reports(&plan);
    let (header, rows) = written.csv_table();
    assert_eq!(&header[COLUMNS.len()..], ["comment", "ticket"]);
    assert_eq!(cell(&header, &rows[0], "comment"), HOSTILE_COLUMN);
    assert_eq!(cell(&header, &rows[0], "ticket"), "INC-4711");
    assert_eq!(
        cell(&header, &rows[1], "comment"),
        "",
        "a column another row has"
    );
    assert_eq!(cell(&header, &rows[4], "input"), HOSTILE_UPN);
}

#[test]
fn the_results_writer_neutralises_formulas_and_renames_clashing_columns() {
    let plan = generated_plan(15, true);
    let (_, written) = plan_reports(&plan);
    let csv = &written.csv;
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",input.status,ticket,why"), "{header}");
    assert!(csv.contains("'=HYPERLINK(\"\"0\"\")"), "{csv}");
    assert!(csv.contains(",'-lost phone"), "{csv}");
    // Not in the JSON Lines, which keep values exactly.
    let records = written.records();
    assert_eq!(records[0]["columns"]["status"], "=HYPERLINK(\"0\")");
    assert_eq!(records[0]["columns"]["why"], "-lost phone");

    let dir = temp_dir("results-writer-guards");
    let extra = extra_columns(plan.entries.iter().map(|e| &e.columns));
    let error = PlanResultsWriter::create(
        &dir.join("no-such-dir").join("r.csv"),
        &dir.join("r.jsonl"),
        &extra,
    )
    .err()
    .unwrap();
    assert!(error.to_string().contains("no-such-dir"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- headless Chromium ----

#[test]
fn the_report_loads_in_headless_chromium_without_console_errors() {
    let Some(chromium) = chromium_or_skip("report.html", temp_dir("chromium")) else {
        return;
    };
    let dir = temp_dir("pages");

    // First, the check can fail: a console.error, an uncaught exception, and a report
    // that references the network are each seen.
    let page = dir.join("console-error.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><title>t</title><p>x</p>\
         <script>console.error('deliberate console error');</script>",
    )
    .unwrap();
    let run = chromium.dump_dom(&page, "");
    assert!(
        run.console
            .iter()
            .any(|l| l.contains("deliberate console error")),
        "a console.error must be seen: {:?}",
        run.console
    );
    let page = dir.join("exception.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><title>t</title><p>x</p>\
         <script>null.deliberate();</script>",
    )
    .unwrap();
    let run = chromium.dump_dom(&page, "");
    assert!(
        run.console.iter().any(|l| l.contains("Uncaught TypeError")),
        "an uncaught exception must be seen: {:?}",
        run.console
    );
    let plan = test_plan();
    let (_, written) = plan_reports(&plan);
    chromium.assert_sees_network_reference(&dir, &written.html);

    // The report itself: loads, runs its script, logs nothing — hostile values included.
    let page = written.dir.join("report.html");
    let run = chromium.dump_dom(&page, "");
    assert!(run.console.is_empty(), "console output: {:#?}", run.console);
    let dom = &run.stdout;
    assert!(dom.contains("data-report=\"mfa-reset-plan\""), "{dom}");
    assert!(dom.contains("data-js=\"ready\""), "the script ran: {dom}");
    assert!(dom.contains("PLAN — nothing has been changed yet."));
    assert!(dom.contains("<form id=\"filter\" class=\"noprint\" role=\"search\">"));
    assert!(dom.contains(&escaped(HOSTILE_UPN).replace("&#39;", "'")));
    assert_eq!(
        dom.matches("<tr data-status=").count(),
        4 + plan.entries.len()
    );
    assert!(!dom.contains(" hidden=\"\""), "no row filtered: {dom}");

    // The filter, driven by the URL fragment.
    let run = chromium.dump_dom(&page, "#status=blocked");
    assert!(run.console.is_empty(), "console output: {:#?}", run.console);
    let users = section(&run.stdout, "id=\"users\"", "</table>");
    assert_eq!(
        users.matches(" hidden=\"\"").count(),
        plan.entries.len() - 1
    );
    assert_eq!(users.matches("<tr data-status=\"blocked\">").count(), 1);
    assert!(run.stdout.contains("Showing 1 of 10 rows"));
    let run = chromium.dump_dom(&page, "#q=contoso.com%2F&status=");
    assert!(run.console.is_empty(), "console output: {:#?}", run.console);
    let users = section(&run.stdout, "id=\"users\"", "</table>");
    assert_eq!(users.matches(" hidden=\"\"").count(), plan.entries.len());

    // A screenshot of a realistic plan.
    let (_, written) = plan_reports(&realistic_plan());
    chromium.screenshot(&written.dir.join("report.html"), "report-screenshot.png");
    let _ = std::fs::remove_dir_all(&dir);
}
