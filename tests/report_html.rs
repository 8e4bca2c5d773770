//! `report.html` end to end: a hand-built plan with every status, every kind of step,
//! hostile input values and extra columns is rendered, then checked as text (figures,
//! escaping, no network references, one file) and, when Chromium is installed, in
//! headless Chromium (loads, runs its script, logs nothing to the console; a screenshot).
//!
//! The Chromium check runs when a `chromium` or `chromium-browser` binary is on `PATH`;
//! without one it is skipped with a note, unless `MFA_RESET_REQUIRE_CHROMIUM=1` (as CI
//! sets it), when it fails. Chromium prints every console message of the page (log, warn
//! or error alike) and every uncaught exception to stderr as an `INFO:CONSOLE` line, and
//! the report's Content-Security-Policy turns any attempt to load something into such a
//! line too; the test accepts none, and first proves on deliberately broken pages that
//! it would see them. `MFA_RESET_WRITE_SCREENSHOT=1` also writes the screenshot of a
//! realistic plan to `samples/report-screenshot.png`.

#[path = "common/chromium.rs"]
mod chromium;

use chromium::chromium_or_skip;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mfa_reset::plan::{
    InputInfo, PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanFile, Status, sha256_hex,
};
use mfa_reset::policy::{
    Decision, MethodSnapshot, Policy, PolicyArgs, Profile, Step, UserSnapshot, decide,
};
use mfa_reset::report::{DIGEST_ROWS, Figures, PlanDigest, html, human_duration, results, summary};
use mfa_reset::wire::{MethodType, PhoneType};

const HOSTILE_UPN: &str = "<script>console.error('pwned-upn')</script>@x";
const HOSTILE_COLUMN: &str = "\"><img src=x onerror=console.error('pwned-col')>";
const HOSTILE_DEVICE: &str = "<b>iPhone</b> & 'co'";
const BIDI_UPN: &str = "admin\u{202E}moc.live@contoso.com";

/// A fresh directory under the target's temp dir.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "report-html-{name}-{}-{}",
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

fn incident() -> Policy {
    PolicyArgs::for_profile(Profile::Incident)
        .into_policy()
        .unwrap()
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

fn snapshot(id: &str, upn: &str) -> UserSnapshot {
    UserSnapshot {
        id: id.to_string(),
        user_principal_name: upn.to_string(),
        account_enabled: true,
        synced: false,
        admin_roles: Vec::new(),
        default_method: None,
        methods: Vec::new(),
    }
}

fn delete(kind: MethodType, id: &str, label: &str) -> Step {
    Step::DeleteMethod {
        kind,
        id: id.to_string(),
        label: label.to_string(),
    }
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
        // 3,000 writes per 150 s.
        minimum_seconds: writes as f64 / 20.0,
        entries,
    }
}

/// Every status, every kind of step, hostile values, extra columns.
fn test_plan() -> PlanFile {
    let mut alice = entry(2, "alice@contoso.com", Status::Planned, None);
    alice.before = Some(snapshot(
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
        },
    ];
    alice.columns = BTreeMap::from([
        ("ticket".to_string(), "INC-4711".to_string()),
        ("comment".to_string(), HOSTILE_COLUMN.to_string()),
    ]);

    let mut by_id = entry(
        3,
        "22222222-2222-2222-2222-222222222222",
        Status::Planned,
        None,
    );
    by_id.before = Some(UserSnapshot {
        admin_roles: vec!["Helpdesk Administrator".into()],
        ..snapshot("22222222-2222-2222-2222-222222222222", "bob@contoso.com")
    });
    by_id.steps = vec![
        Step::RevokeSessions,
        delete(MethodType::Email, "e1", "email address"),
        delete(MethodType::SoftwareOath, "o1", "software OATH token"),
    ];
    by_id.notes = vec!["holds admin role(s) Helpdesk Administrator and is included".into()];
    by_id.columns = BTreeMap::from([("ticket".to_string(), "INC-4712".to_string())]);

    let mut same = entry(
        4,
        "carol@contoso.com",
        Status::NoChange,
        Some("nothing to change"),
    );
    same.before = Some(snapshot(
        "33333333-3333-3333-3333-333333333333",
        "carol@contoso.com",
    ));

    let missing = entry(
        5,
        "nobody@contoso.com",
        Status::NotFound,
        Some("no such user in the tenant"),
    );
    let invalid = entry(
        6,
        HOSTILE_UPN,
        Status::Invalid,
        Some(&format!("not a valid user principal name: {HOSTILE_UPN}")),
    );
    let duplicate = entry(
        7,
        "ALICE@contoso.com",
        Status::Duplicate,
        Some("same user as line 2"),
    );
    let excluded = entry(
        8,
        "breakglass@contoso.com",
        Status::Excluded,
        Some("on the exclude list"),
    );

    let mut protected = entry(
        9,
        "root@contoso.com",
        Status::Protected,
        Some("holds the admin role Global Administrator; admin accounts are left alone"),
    );
    protected.before = Some(UserSnapshot {
        admin_roles: vec!["Global Administrator".into()],
        ..snapshot("44444444-4444-4444-4444-444444444444", "root@contoso.com")
    });

    let mut blocked = entry(
        10,
        "synced@contoso.com",
        Status::Blocked,
        Some("synced from on-premises Active Directory & cannot be disabled through Graph"),
    );
    blocked.before = Some(UserSnapshot {
        synced: true,
        ..snapshot("55555555-5555-5555-5555-555555555555", "synced@contoso.com")
    });
    blocked.steps = vec![Step::RevokeSessions];

    let error = entry(
        11,
        BIDI_UPN,
        Status::Error,
        Some("Graph answered 503 Service Unavailable four times"),
    );

    finish(
        incident(),
        "users <board>.csv",
        vec![
            alice, by_id, same, missing, invalid, duplicate, excluded, protected, blocked, error,
        ],
    )
}

/// The text of the element with this id (which must hold text only).
fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no #{id}")) + open.len();
    let end = start + html[start..].find('<').unwrap();
    &html[start..end]
}

#[test]
fn the_header_says_plan_and_shows_where_when_what_and_the_fingerprint() {
    let plan = test_plan();
    let html = html::render(&plan);
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
    let f = Figures::of(&plan);
    assert_eq!(f.users_affected, 3);
    assert_eq!(plan.writes, 6 + 3 + 1);
    let html = html::render(&plan);
    assert_eq!(by_id(&html, "figure-users"), "3");
    assert_eq!(by_id(&html, "figure-writes"), "10");
    assert_eq!(by_id(&html, "figure-time"), human_duration(0.5));
    assert_eq!(by_id(&html, "figure-attention"), "4");

    // Users by status: every status present, with its count and share, as text.
    let chart = section(&html, "id=\"chart-status\"", "</svg>");
    for status in Status::ALL {
        let n = f.count(status);
        let share = (n as f64 * 100.0 / 10.0).round();
        assert!(chart.contains(&format!(">{status}</text>")), "{status}");
        assert!(
            chart.contains(&format!(">{n} ({share}%)</text>")),
            "{status}"
        );
    }
    // Changes by kind: each kind of step, and deletions by method type.
    let chart = section(&html, "id=\"chart-changes\"", "</svg>");
    for (label, n) in [
        ("Revoke sign-in sessions", 3),
        ("Disable account", 1),
        ("Remove phone number", 1),
        ("Remove Authenticator app", 1),
        ("Remove software OATH token", 1),
        ("Remove FIDO2 key", 1),
        ("Remove email method", 1),
        ("Issue Temporary Access Pass", 1),
    ] {
        let at = chart
            .find(&format!(">{label}</text>"))
            .unwrap_or_else(|| panic!("{label}"));
        let value_at = at + chart[at..].find("class=\"value\"").unwrap();
        let value = &chart[value_at..];
        let value = &value[value.find('>').unwrap() + 1..value.find("</text>").unwrap()];
        assert_eq!(value, n.to_string(), "{label}");
    }
    assert!(chart.find("Revoke sign-in").unwrap() < chart.find("Remove phone").unwrap());
    assert!(chart.find("Remove phone").unwrap() < chart.find("Issue Temporary").unwrap());
}

/// `html` from `start` to the first `end` after it.
fn section<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start}"));
    let to = from + html[from..].find(end).unwrap();
    &html[from..to]
}

#[test]
fn the_tables_list_attention_rows_and_every_user_with_steps_in_order() {
    let plan = test_plan();
    let html = html::render(&plan);
    let attention = section(&html, "id=\"attention\"", "</table>");
    for status in [
        Status::Blocked,
        Status::Error,
        Status::NotFound,
        Status::Invalid,
    ] {
        assert_eq!(
            attention
                .matches(&format!("<tr data-status=\"{status}\">"))
                .count(),
            1,
            "{status}"
        );
    }
    assert_eq!(attention.matches("<tr data-status=").count(), 4);
    assert!(attention.contains("synced from on-premises Active Directory &amp; cannot"));
    assert!(attention.contains("no such user in the tenant"));
    assert!(
        attention.contains("<td>revoke sign-in sessions</td>"),
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
    let html = html::render(&test_plan());
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
    let html = html::render(&test_plan());
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
    let html = html::render(&plan);
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
    let html = html::render(&plan);
    assert!(html.contains("The input has no rows."));
    assert_eq!(by_id(&html, "figure-users"), "0");
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn write_writes_the_file_and_names_it_in_errors() {
    let dir = temp_dir("write");
    let plan = test_plan();
    let path = dir.join("report.html");
    html::write(&path, &plan).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), html::render(&plan));
    let missing = dir.join("no-such-dir").join("report.html");
    let error = html::write(&missing, &plan).unwrap_err();
    assert_eq!(error.path, missing);
    assert!(error.to_string().contains("report.html"), "{error}");
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
                e.before = Some(snapshot(
                    &format!("id-{i}"),
                    &format!("User{i}@contoso.com"),
                ));
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
    let digest = PlanDigest::of(&plan);
    assert_eq!(digest.figures, Figures::of(&plan));
    assert_eq!(digest.header, plan.header());
    assert!(digest.with_columns);
    assert!(!PlanDigest::of(&generated_plan(50, false)).with_columns);

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
    assert_eq!(digest.attention_total, attention.len());
    assert_eq!(digest.planned_total, planned.len());
    assert_eq!(digest.first.len(), DIGEST_ROWS);
    assert_eq!(digest.attention.len(), DIGEST_ROWS);
    assert_eq!(digest.planned.len(), DIGEST_ROWS);
    assert!(
        digest
            .first
            .iter()
            .eq(plan.entries.iter().take(DIGEST_ROWS))
    );
    assert!(
        digest
            .attention
            .iter()
            .eq(attention.into_iter().take(DIGEST_ROWS))
    );
    assert!(
        digest
            .planned
            .iter()
            .eq(planned.into_iter().take(DIGEST_ROWS))
    );

    // Built a row at a time from the header, it is the same digest.
    let mut built = PlanDigest::new(plan.header());
    for e in &plan.entries {
        built.add(e);
    }
    assert_eq!(built.figures, digest.figures);
    assert_eq!(built.first, digest.first);
    assert_eq!(built.attention, digest.attention);
    assert_eq!(built.planned, digest.planned);
    assert_eq!(summary::render_digest(&built), summary::render(&plan));
    assert_eq!(html::render_digest(&built), html::render(&plan));

    let empty = finish(incident(), "empty.csv", Vec::new());
    assert_eq!(PlanDigest::of(&empty).figures, Figures::of(&empty));
}

#[test]
fn reports_from_the_digest_of_a_large_plan_cut_each_table_and_count_the_rest() {
    let plan = generated_plan(7_003, true);
    let f = Figures::of(&plan);
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
    let digest = PlanDigest::of(&plan);

    let md = summary::render_digest(&digest);
    assert_eq!(md, summary::render(&plan));
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
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Line"))
            .count(),
        cut
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

    let page = html::render_digest(&digest);
    assert_eq!(page, html::render(&plan));
    let cut = html::MAX_TABLE_ROWS;
    let group = |n: usize| {
        let d = n.to_string();
        let mut out = String::new();
        for (i, c) in d.chars().enumerate() {
            if i > 0 && (d.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    assert!(page.contains(&format!("Needs attention ({})</h2>", group(attention))));
    let table = section(&page, "<table id=\"attention\"", "</table>");
    assert_eq!(table.matches("<tr data-status=").count(), cut);
    assert!(page.contains(&format!(
        "<p class=\"more\">…and {} more in <code>results.csv</code>.</p>",
        group(attention - cut)
    )));
    let users = section(&page, "<table id=\"users\"", "</table>");
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
    assert_eq!(by_id(&page, "figure-users"), group(f.users_affected));
    assert_eq!(by_id(&page, "figure-attention"), group(attention));

    // Written from the digest, the same files.
    let dir = temp_dir("digest");
    summary::write_digest(&dir.join("summary.md"), &digest).unwrap();
    html::write_digest(&dir.join("report.html"), &digest).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("summary.md")).unwrap(), md);
    assert_eq!(
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
        page
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_streaming_results_writer_writes_the_same_bytes_as_the_whole_plan_writers() {
    for plan in [
        generated_plan(3_001, true),
        generated_plan(20, false),
        test_plan(),
        finish(incident(), "empty.csv", Vec::new()),
    ] {
        let dir = temp_dir("results-writer");
        results::write_csv(&dir.join("whole.csv"), &plan.entries).unwrap();
        results::write_jsonl(&dir.join("whole.jsonl"), &plan.entries).unwrap();
        let extra = results::extra_columns(plan.entries.iter().map(|e| &e.columns));
        let mut w = results::PlanResultsWriter::create(
            &dir.join("streamed.csv"),
            &dir.join("streamed.jsonl"),
            &extra,
        )
        .unwrap();
        for e in &plan.entries {
            w.write(e).unwrap();
        }
        w.finish().unwrap();
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        assert_eq!(read("streamed.csv"), read("whole.csv"));
        assert_eq!(read("streamed.jsonl"), read("whole.jsonl"));
        let csv = String::from_utf8(read("whole.csv")).unwrap();
        assert_eq!(csv.lines().count(), plan.entries.len() + 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // The header clash and formula guards hold in the stream too.
    let plan = generated_plan(15, true);
    let dir = temp_dir("results-writer-guards");
    let extra = results::extra_columns(plan.entries.iter().map(|e| &e.columns));
    let mut w =
        results::PlanResultsWriter::create(&dir.join("r.csv"), &dir.join("r.jsonl"), &extra)
            .unwrap();
    for e in &plan.entries {
        w.write(e).unwrap();
    }
    w.finish().unwrap();
    let csv = std::fs::read_to_string(dir.join("r.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",input.status,ticket,why"), "{header}");
    assert!(csv.contains("'=HYPERLINK(\"\"0\"\")"), "{csv}");
    assert!(csv.contains(",'-lost phone"), "{csv}");
    let error = results::PlanResultsWriter::create(
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

/// A realistic plan: 40 rows of an incident response that also disables accounts, decided
/// by the real policy code over synthetic users.
fn realistic_plan() -> PlanFile {
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
    let mut push = |e: PlanEntry, line: &mut usize| {
        entries.push(e);
        *line += 1;
    };
    for (i, person) in people.iter().enumerate() {
        let upn = format!("{person}@contoso.com");
        let mut methods = vec![
            MethodSnapshot {
                id: "28c10230-6103-485e-b985-444c60001490".into(),
                kind: MethodType::Password,
                display_name: None,
                created: None,
                phone_type: None,
            },
            MethodSnapshot {
                id: format!("auth-{i}"),
                kind: MethodType::MicrosoftAuthenticator,
                display_name: Some(devices[i % devices.len()].into()),
                created: Some("2025-03-14T08:00:00Z".into()),
                phone_type: None,
            },
        ];
        if i % 2 == 0 {
            methods.push(MethodSnapshot {
                id: "3179e48a-750b-4051-897c-87b9720928f7".into(),
                kind: MethodType::Phone,
                display_name: Some(format!("+1 425555{:04}", 100 + i)),
                created: None,
                phone_type: Some(PhoneType::Mobile),
            });
        }
        if i % 5 == 1 {
            methods.push(MethodSnapshot {
                id: format!("fido-{i}"),
                kind: MethodType::Fido2,
                display_name: Some("YubiKey 5C NFC".into()),
                created: Some("2024-06-01T10:00:00Z".into()),
                phone_type: None,
            });
        }
        if i % 4 == 3 {
            methods.push(MethodSnapshot {
                id: format!("mail-{i}"),
                kind: MethodType::Email,
                display_name: None,
                created: None,
                phone_type: None,
            });
        }
        if i == 9 {
            // Registered by the attacker, the night of the incident.
            methods.push(MethodSnapshot {
                id: "oath-evil".into(),
                kind: MethodType::SoftwareOath,
                display_name: None,
                created: Some("2026-11-27T23:41:00Z".into()),
                phone_type: None,
            });
        }
        let user = UserSnapshot {
            id: format!(
                "{:08x}-7d3c-4f6e-9a1b-{:012x}",
                0x5a00_0000 + i * 7919,
                i * 104_729
            ),
            user_principal_name: upn.clone(),
            account_enabled: i != 14,
            synced: i == 6 || i == 21,
            admin_roles: if i == 11 || i == 27 {
                vec!["Global Administrator".into()]
            } else {
                Vec::new()
            },
            default_method: None,
            methods,
        };
        let excluded = i == 30;
        let decision = decide(&policy, &user, excluded);
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
        push(
            PlanEntry {
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
            },
            &mut line,
        );
        if i == 4 {
            let mut dup = entry(line, "Eva.Schneider@contoso.com", Status::Duplicate, None);
            dup.reason = Some("same user as line 6".into());
            push(dup, &mut line);
        }
        if i == 12 {
            push(
                entry(
                    line,
                    "m.garcia@contoso.com",
                    Status::NotFound,
                    Some("no such user in the tenant"),
                ),
                &mut line,
            );
            push(
                entry(
                    line,
                    "lena.novak@contoso,com",
                    Status::Invalid,
                    Some("not a valid user principal name: a domain has no ','"),
                ),
                &mut line,
            );
        }
        if i == 20 {
            push(
                entry(
                    line,
                    "contractor17@fabrikam.com",
                    Status::NotFound,
                    Some("no such user in the tenant"),
                ),
                &mut line,
            );
            push(
                entry(
                    line,
                    "finance-shared@contoso.com",
                    Status::Error,
                    Some("Graph answered 503 Service Unavailable 4 times; plan again"),
                ),
                &mut line,
            );
        }
    }
    finish(policy, "incident-2026-11-28.csv", entries)
}

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
    let report = html::render(&plan);
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
    html::write(&page, &plan).unwrap();
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
    let plan = realistic_plan();
    let page = dir.join("realistic.html");
    html::write(&page, &plan).unwrap();
    let png = dir.join("report-screenshot.png");
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
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/report-screenshot.png");
        std::fs::copy(&png, &sample).unwrap();
        eprintln!("wrote {}", sample.display());
    }
}
