//! What the report tests (`report_html`, `report_run`) share: building
//! plan entries and plans, the realistic incident plan of the screenshots, reading pages
//! back, and writing a plan's or a run's reports the way the binary does — the digests
//! built with `new` and then `add` a row at a time, the results written a row at a time
//! by the one results writer, then the same `write` functions `plan` and `apply` call.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mfa_reset::engine::outcome::UserOutcome;
use mfa_reset::plan::{
    InputInfo, PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanFile, Status, sha256_hex,
};
use mfa_reset::policy::{
    Decision, MethodSnapshot, Policy, PolicyArgs, Profile, UserSnapshot, decide,
};
use mfa_reset::report::groups::{Group, Groups, MAX_GROUPS};
use mfa_reset::report::results::PlanResultsWriter;
use mfa_reset::report::run::{self, RunDigest, RunFigures, RunResultsWriter};
use mfa_reset::report::{PlanDigest, html, summary};
use mfa_reset::wire::{MethodType, PhoneType};

pub const HOSTILE_UPN: &str = "<script>console.error('pwned-upn')</script>@x";
pub const HOSTILE_COLUMN: &str = "\"><img src=x onerror=console.error('pwned-col')>";
pub const HOSTILE_DEVICE: &str = "<b>iPhone</b> & 'co'";
pub const PHONE_ID: &str = "3179e48a-750b-4051-897c-87b9720928f7";

/// A fresh directory under the target's temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "report-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the report must show for a user-supplied string.
pub fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `1234567` → `1,234,567`, as the pages write numbers.
pub fn group(n: usize) -> String {
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

/// The text of the element with this id (which must hold text only).
pub fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\">");
    let start = html.find(&open).unwrap_or_else(|| panic!("no #{id}")) + open.len();
    let end = start + html[start..].find('<').unwrap();
    &html[start..end]
}

/// `html` from `start` to the first `end` after it.
pub fn section<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start}"));
    let to = from + html[from..].find(end).unwrap();
    &html[from..to]
}

/// The value a bar chart shows for the bar labelled `label`.
pub fn bar_value<'a>(chart: &'a str, label: &str) -> &'a str {
    let at = chart
        .find(&format!(">{label}</text>"))
        .unwrap_or_else(|| panic!("{label}"));
    let value = &chart[at + chart[at..].find("class=\"value\"").unwrap()..];
    &value[value.find('>').unwrap() + 1..value.find("</text>").unwrap()]
}

/// Asserts that the "Users by status" chart of `html` shows each `(status, rows)` with
/// its share of `total`, and that the changes chart shows each `(label, value)`.
pub fn assert_charts(
    html: &str,
    statuses: impl IntoIterator<Item = (String, usize)>,
    total: usize,
    changes: &[(&str, usize)],
) {
    let chart = section(html, "id=\"chart-status\"", "</svg>");
    for (status, n) in statuses {
        let share = (n as f64 * 100.0 / total as f64).round();
        assert!(chart.contains(&format!(">{status}</text>")), "{status}");
        assert!(
            chart.contains(&format!(">{n} ({share}%)</text>")),
            "{status}"
        );
    }
    let chart = section(html, "id=\"chart-changes\"", "</svg>");
    for &(label, n) in changes {
        assert_eq!(bar_value(chart, label), n.to_string(), "{label}");
    }
}

/// Asserts that `groups` counts `total` rows, in at most [`MAX_GROUPS`] groups (the rest
/// counted as ungrouped), each keeping between one and all of its rows, every row kept
/// one that `belongs` to its group.
pub fn assert_grouped<T>(
    groups: &Groups<T>,
    total: usize,
    belongs: impl Fn(&T, &Group<T>) -> bool,
) {
    let listed = groups.largest_first();
    assert!(listed.len() <= MAX_GROUPS);
    let grouped: usize = listed.iter().map(|g| g.count).sum();
    assert_eq!(grouped + groups.ungrouped, total);
    for g in listed {
        assert!(!g.rows.is_empty() && g.rows.len() <= g.count);
        assert!(
            g.rows.iter().all(|r| belongs(r, g)),
            "{} {}",
            g.status,
            g.reason
        );
    }
}

pub fn entry(line: usize, input: &str, status: Status, reason: Option<&str>) -> PlanEntry {
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

pub fn method(kind: MethodType, id: &str, name: Option<&str>) -> MethodSnapshot {
    MethodSnapshot {
        id: id.to_string(),
        kind,
        display_name: name.map(str::to_string),
        created: None,
        phone_type: (kind == MethodType::Phone).then_some(PhoneType::Mobile),
        odata_type: None,
    }
}

pub fn password() -> MethodSnapshot {
    method(
        MethodType::Password,
        "28c10230-6103-485e-b985-444c60001490",
        None,
    )
}

pub fn snapshot(id: &str, upn: &str, methods: Vec<MethodSnapshot>) -> UserSnapshot {
    UserSnapshot {
        id: id.to_string(),
        user_principal_name: upn.to_string(),
        account_enabled: true,
        synced: false,
        admin_roles: Vec::new(),
        management_restricted: false,
        restricted_units: Vec::new(),
        default_method: None,
        methods,
        hardware_oath_unread: false,
        methods_unread: false,
        roles_unread: false,
    }
}

/// A plan of `entries` under `policy`, read from `file`, at 20 writes a second.
pub fn finish(policy: Policy, file: &str, entries: Vec<PlanEntry>) -> PlanFile {
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
        notes: Vec::new(),
        admins_unverified: None,
        tenant: None,
        entries,
    }
}

// ---- the reports, written as the binary writes them ----

/// The input's extra column names over all rows, sorted: what `plan` and `apply` give
/// the results writer.
pub fn extra_columns<'a>(
    rows: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
) -> Vec<String> {
    let names: BTreeSet<&String> = rows.into_iter().flat_map(|c| c.keys()).collect();
    names.into_iter().cloned().collect()
}

/// The four report files of a folder, read back; the folder goes when this does.
pub struct Written {
    pub dir: PathBuf,
    pub summary: String,
    pub html: String,
    pub csv: String,
    pub jsonl: String,
}

impl Written {
    fn read(dir: PathBuf) -> Written {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        Written {
            summary: read("summary.md"),
            html: read("report.html"),
            csv: read("results.csv"),
            jsonl: read("results.jsonl"),
            dir,
        }
    }

    /// `results.csv` as its header and its rows.
    pub fn csv_table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        read_csv(&self.dir.join("results.csv"))
    }

    /// `results.jsonl`, a value a line.
    pub fn records(&self) -> Vec<serde_json::Value> {
        (self.jsonl.lines())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// A plan's digest as `plan` and `apply` build it: `new`, then `add` for each entry.
pub fn plan_digest(plan: &PlanFile) -> PlanDigest {
    let mut digest = PlanDigest::new(plan.header());
    for e in &plan.entries {
        digest.add(e);
    }
    digest
}

/// A plan's reports as `mfa-reset plan` writes them: the results an entry at a time as
/// the digest takes the entry in, then `summary.md` and `report.html` from the digest.
pub fn plan_reports(plan: &PlanFile) -> (PlanDigest, Written) {
    let dir = temp_dir("plan");
    let extra = extra_columns(plan.entries.iter().map(|e| &e.columns));
    let (csv, jsonl) = (dir.join("results.csv"), dir.join("results.jsonl"));
    let mut results = PlanResultsWriter::create(&csv, &jsonl, &extra).unwrap();
    let mut digest = PlanDigest::new(plan.header());
    for e in &plan.entries {
        results.write(e).unwrap();
        digest.add(e);
    }
    results.finish().unwrap();
    summary::write(&dir.join("summary.md"), &digest).unwrap();
    html::write(&dir.join("report.html"), &digest).unwrap();
    (digest, Written::read(dir))
}

/// A run's digest as `apply` builds it: `new`, then `add` for each outcome.
pub fn run_digest(outcomes: &[UserOutcome]) -> RunDigest {
    let mut digest = RunDigest::new();
    for o in outcomes {
        digest.add(o);
    }
    digest
}

/// A run's reports as `mfa-reset apply` writes them, in a fresh folder.
pub fn run_reports(plan: &PlanFile, outcomes: &[UserOutcome], run: &RunFigures) -> Written {
    run_reports_in(temp_dir("run"), plan, outcomes, run).1
}

/// A run's reports as `mfa-reset apply` writes them to `dir` (made if need be): the
/// results an outcome at a time as the run's digest takes the outcome in, then
/// `summary.md` and `report.html` from the plan's digest and the run's.
pub fn run_reports_in(
    dir: PathBuf,
    plan: &PlanFile,
    outcomes: &[UserOutcome],
    run: &RunFigures,
) -> (RunDigest, Written) {
    std::fs::create_dir_all(&dir).unwrap();
    let planned = plan_digest(plan);
    let extra = extra_columns(outcomes.iter().map(|o| &o.columns));
    let (csv, jsonl) = (dir.join("results.csv"), dir.join("results.jsonl"));
    let mut results = RunResultsWriter::create(&csv, &jsonl, &extra).unwrap();
    let mut digest = RunDigest::new();
    for o in outcomes {
        results.write(o).unwrap();
        digest.add(o);
    }
    results.finish().unwrap();
    let (header, figures) = (&planned.header, &planned.figures);
    run::write_summary(&dir.join("summary.md"), header, figures, &digest, run).unwrap();
    run::write_html(&dir.join("report.html"), header, figures, &digest, run).unwrap();
    (digest, Written::read(dir))
}

// ---- the realistic plan of the screenshots ----

const PEOPLE: [&str; 33] = [
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

const DEVICES: [&str; 5] = [
    "iPhone 12",
    "iPhone 15 Pro",
    "Pixel 7",
    "Galaxy S23",
    "iPhone 13 mini",
];

/// A method registered at `created`.
fn method_since(kind: MethodType, id: &str, name: Option<&str>, created: &str) -> MethodSnapshot {
    MethodSnapshot {
        created: Some(created.into()),
        ..method(kind, id, name)
    }
}

/// The methods of the `i`th person: a password and an Authenticator, a phone, a FIDO2
/// key or an email method for some, and for one the token the attacker registered.
fn realistic_methods(i: usize) -> Vec<MethodSnapshot> {
    let device = Some(DEVICES[i % DEVICES.len()]);
    let auth = format!("auth-{i}");
    let mut methods = vec![
        password(),
        method_since(
            MethodType::MicrosoftAuthenticator,
            &auth,
            device,
            "2025-03-14T08:00:00Z",
        ),
    ];
    if i.is_multiple_of(2) {
        let number = format!("+1 425555{:04}", 100 + i);
        methods.push(method(MethodType::Phone, PHONE_ID, Some(&number)));
    }
    if i % 5 == 1 {
        let (id, name) = (format!("fido-{i}"), Some("YubiKey 5C NFC"));
        let created = "2024-06-01T10:00:00Z";
        methods.push(method_since(MethodType::Fido2, &id, name, created));
    }
    if i % 4 == 3 {
        methods.push(method(MethodType::Email, &format!("mail-{i}"), None));
    }
    if i == 9 {
        // Registered by the attacker, the night of the incident.
        let created = "2026-11-27T23:41:00Z";
        methods.push(method_since(
            MethodType::SoftwareOath,
            "oath-evil",
            None,
            created,
        ));
    }
    methods
}

/// The `i`th person as Graph reads them: some synced, one disabled, two admins.
fn realistic_user(i: usize) -> UserSnapshot {
    let upn = format!("{}@contoso.com", PEOPLE[i]);
    UserSnapshot {
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
        ..snapshot("", &upn, realistic_methods(i))
    }
}

/// The entry the real policy code decides for the `i`th person, at `line`.
fn decided_entry(policy: &Policy, i: usize, line: usize) -> PlanEntry {
    let user = realistic_user(i);
    let decision = decide(policy, &user, i == 30);
    let status = Status::ALL
        .into_iter()
        .find(|s| s.as_str() == decision.status())
        .unwrap();
    let reason = match &decision {
        Decision::Excluded => Some("on the exclude list".into()),
        Decision::NoChange { reason, .. }
        | Decision::Protected { reason }
        | Decision::Blocked { reason, .. } => Some(reason.clone()),
        Decision::Planned { .. } => None,
    };
    let source = if i.is_multiple_of(3) {
        "Defender alert"
    } else {
        "phishing report"
    };
    PlanEntry {
        row: line - 2,
        line,
        input: if i % 6 == 5 {
            user.id.clone()
        } else {
            user.user_principal_name.clone()
        },
        status,
        reason,
        steps: decision.steps().to_vec(),
        notes: decision.notes().to_vec(),
        before: Some(user),
        columns: BTreeMap::from([
            ("ticket".to_string(), format!("INC-20{}", 431 + i % 3)),
            ("source".to_string(), source.to_string()),
        ]),
    }
}

/// The rows of the input after the `i`th person's that name no one to change, from
/// `line` on.
fn rows_after(i: usize, line: usize) -> Vec<PlanEntry> {
    let rows: &[(&str, Status, &str)] = match i {
        4 => &[(
            "Eva.Schneider@contoso.com",
            Status::Duplicate,
            "same user as line 6",
        )],
        12 => &[
            (
                "m.garcia@contoso.com",
                Status::NotFound,
                "no such user in the tenant",
            ),
            (
                "lena.novak@contoso,com",
                Status::Invalid,
                "not a valid user principal name: a domain has no ','",
            ),
        ],
        20 => &[
            (
                "contractor17@fabrikam.com",
                Status::NotFound,
                "no such user in the tenant",
            ),
            (
                "finance-shared@contoso.com",
                Status::Error,
                "Graph answered 503 Service Unavailable 4 times; plan again",
            ),
        ],
        _ => &[],
    };
    (rows.iter().enumerate())
        .map(|(k, &(input, status, reason))| entry(line + k, input, status, Some(reason)))
        .collect()
}

/// A realistic plan: 40 rows of an incident response that also disables accounts, decided
/// by the real policy code over synthetic users.
pub fn realistic_plan() -> PlanFile {
    let policy = PolicyArgs {
        disable_account: true,
        profile: Some(Profile::Incident),
        ..PolicyArgs::default()
    }
    .into_policy()
    .unwrap();
    let mut entries = Vec::new();
    for i in 0..PEOPLE.len() {
        entries.push(decided_entry(&policy, i, entries.len() + 2));
        let after = rows_after(i, entries.len() + 2);
        entries.extend(after);
    }
    finish(policy, "incident-2026-11-28.csv", entries)
}
