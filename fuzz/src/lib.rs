//! The checks behind mfa-reset's fuzzing, shared by the `cargo fuzz` targets in
//! `fuzz/fuzz_targets/` and by `tests/it/fuzz_parsers.rs` (its proptest properties and its
//! regression corpus, `tests/corpus/fuzz/<target>/`), which includes this file as a module.
//!
//! Each `check_*` function feeds one input to a parser that takes outside data, through
//! mfa-reset's public API only, and panics when the parser panics, when what it returns
//! breaks its own contract, or when its error is no help: empty, or not naming the file
//! and the line where the API gives them. Inputs are bounded by the callers, so every
//! check is quick; a hang shows as a check that never returns.
//!
//! The functions named after a fuzz target (`input_csv`, `plan_file`, `journal`,
//! `batch_response`, `token_response`, `certificate_pem`) take that target's raw bytes:
//! libFuzzer's inputs, and the files of the regression corpus, mean the same to both.
//!
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use mfa_reset::engine::journal::{Journal, JournalError, Record};
use mfa_reset::engine::outcome::UserOutcome;
use mfa_reset::graph::auth::{
    AuthError, AuthMode, AzureCli, ClientCertificate, Credential, MFA_RESET_ACCESS_TOKEN,
    RetryPolicy, TokenEndpoint, TokenSource,
};
use mfa_reset::graph::batch::{self, GraphFault, ItemOutcome};
use mfa_reset::graph::client::GraphClient;
use mfa_reset::graph::endpoints::{ApiVersion, Cloud, Endpoints};
use mfa_reset::graph::transport::{SendFailure, Transport};
use mfa_reset::input::{self, InputError, InputOptions, InputRow, InputSummary, RowStatus};
use mfa_reset::plan::PlanFile;
use mfa_reset::plan::fingerprint::plan_fingerprint;
use mfa_reset::plan::store::{self, PlanStore};
use mfa_reset::report::run::{RunDigest, RunFigures, RunResultsWriter};
use mfa_reset::report::{self, PlanDigest, results::PlanResultsWriter};
use mfa_reset::secret::Secret;
use mfa_reset::wire::{BatchRequest, BatchResponse, BatchResponseItem};
use serde_json::Value;

/// The longest wait any `Retry-After` may ask for: a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// The name user lists are read under; every file-level error must start with it.
pub const INPUT_NAME: &str = "fuzzed-users.csv";

/// The client secret the token checks send; no error may ever show it.
pub const CLIENT_SECRET: &str = "fuzz-client-secret~9f8e7d6c";

/// The scope every token request asks for.
const SCOPE: &str = "https://graph.microsoft.com/.default";

// ---------------------------------------------------------------------------------------
// Raw fuzz inputs, one function per target
// ---------------------------------------------------------------------------------------

/// `input_csv`: the bytes are a user list (any format: sniffing decides).
pub fn input_csv(data: &[u8]) {
    check_input(data, None, None);
}

/// `input_json`: the same parser as [`input_csv`] (the format is told from the content),
/// seeded with JSON; a first line `#column NAME` is taken as `--column NAME`.
pub fn input_json(data: &[u8]) {
    match data.strip_prefix(b"#column ") {
        Some(rest) => {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let column = String::from_utf8_lossy(&rest[..end]).into_owned();
            check_input(rest.get(end + 1..).unwrap_or_default(), Some(&column), None);
        }
        None => check_input(data, None, None),
    }
}

/// `plan_file`: the bytes are a `plan.json`.
pub fn plan_file(data: &[u8]) {
    check_plan(data);
}

/// `journal`: the bytes are a `journal.jsonl`.
pub fn journal(data: &[u8]) {
    check_journal(data);
}

/// `batch_response`: the first byte picks what the rest is: a `$batch` answer's body (0),
/// a whole answer sent by a server on 127.0.0.1 (1: two bytes of status, a `Retry-After`
/// line, the body), a `Retry-After` value (2), or an error body with a status (3).
pub fn batch_response(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => check_batch_body(rest),
        1 => {
            let (status, rest) = status_of(rest);
            let (retry_after, body) = first_line(rest);
            let headers = header_list("Retry-After", retry_after);
            check_batch_answer(status, &headers, body);
        }
        2 => check_retry_after(&String::from_utf8_lossy(rest)),
        _ => {
            let (status, rest) = status_of(rest);
            check_fault(status, serde_json::from_slice::<Value>(rest).ok().as_ref());
        }
    }
}

/// `token_response`: the first byte picks what the rest is: a token endpoint's `200`
/// body (0), an answer with a status (1: two bytes of status, a `Retry-After` line, the
/// body), a ready token in `MFA_RESET_ACCESS_TOKEN` (2), the Azure CLI's output (3: an
/// exit-code byte, a stderr line, stdout), or a certificate PEM (4).
pub fn token_response(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => check_token_answer(200, &[], rest),
        1 => {
            let (status, rest) = status_of(rest);
            let (retry_after, body) = first_line(rest);
            let headers = header_list("Retry-After", retry_after);
            check_token_answer(status, &headers, body);
        }
        2 => check_static_token(&String::from_utf8_lossy(rest)),
        3 => {
            let Some((&code, rest)) = rest.split_first() else {
                return;
            };
            let (stderr, stdout) = first_line(rest);
            check_azure_cli(stdout, stderr, code % 4);
        }
        _ => check_pem(&String::from_utf8_lossy(rest)),
    }
}

/// `certificate_pem`: the bytes are the PEM file of `AZURE_CLIENT_CERTIFICATE_PATH`.
pub fn certificate_pem(data: &[u8]) {
    check_pem(&String::from_utf8_lossy(data));
}

/// A status from two bytes (100..=599), and the rest.
fn status_of(data: &[u8]) -> (u16, &[u8]) {
    match data {
        [a, b, rest @ ..] => (100 + u16::from_be_bytes([*a, *b]) % 500, rest),
        _ => (200, &[]),
    }
}

/// The first line (without its `\n`) and what follows it.
fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// One header, if the value is one an HTTP response can carry (visible ASCII and spaces).
fn header_list(name: &str, value: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(value);
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Vec::new();
    }
    vec![(name.to_string(), text.to_string())]
}

// ---------------------------------------------------------------------------------------
// User lists
// ---------------------------------------------------------------------------------------

/// Why a read of a user list stopped.
#[derive(Debug)]
pub enum SinkError {
    Input(InputError),
    /// The sink refused more rows.
    Stopped,
}

impl From<InputError> for SinkError {
    fn from(e: InputError) -> Self {
        SinkError::Input(e)
    }
}

/// An upper bound on the line numbers of `bytes`: one more than its LF bytes or its CR
/// bytes, whichever are more (a UTF-16 line end is one of them too).
pub fn max_line(bytes: &[u8]) -> usize {
    let lf = bytes.iter().filter(|&&b| b == b'\n').count();
    let cr = bytes.iter().filter(|&&b| b == b'\r').count();
    1 + lf.max(cr)
}

/// Reads `bytes` as a user list (with `--column column`), the sink refusing after
/// `stop_after` rows, and checks the rows, the summary or the error.
pub fn check_input(bytes: &[u8], column: Option<&str>, stop_after: Option<usize>) {
    let options = InputOptions {
        column: column.map(str::to_string),
    };
    let mut rows: Vec<InputRow> = Vec::new();
    let result = input::read_from(INPUT_NAME, bytes, &options, |chunk| {
        if stop_after.is_some_and(|n| rows.len() >= n) {
            return Err(SinkError::Stopped);
        }
        rows.extend(chunk);
        Ok(())
    });
    let max_line = max_line(bytes);
    check_row_prefix(&rows, max_line);
    match result {
        Ok(summary) => check_summary(&rows, &summary),
        Err(SinkError::Stopped) => {
            let n = stop_after.expect("only a limited sink stops");
            assert!(rows.len() >= n, "stopped after {} of {n} rows", rows.len());
        }
        Err(SinkError::Input(e)) => check_input_error(&e, Path::new(INPUT_NAME), max_line),
    }
}

/// Writes `bytes` to a file in a fresh folder and reads it with [`input::read_all`]: an
/// error must name that file.
pub fn check_input_file(bytes: &[u8]) {
    let dir = scratch_dir("input");
    let path = dir.join("users list.csv");
    std::fs::write(&path, bytes).expect("write the input file");
    match input::read_all(&path, &InputOptions::default()) {
        Ok((rows, summary)) => {
            check_row_prefix(&rows, max_line(bytes));
            check_summary(&rows, &summary);
        }
        Err(e) => check_input_error(&e, &path, max_line(bytes)),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rows as the sink got them: in order, on lines of the file, every problem explained,
/// every duplicate pointing at an earlier valid row.
fn check_row_prefix(rows: &[InputRow], max_line: usize) {
    let mut last_line = 0;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.row, i, "rows come in order");
        assert!(
            (1..=max_line).contains(&r.line),
            "row {i} is on line {}, but the file has at most {max_line} lines",
            r.line
        );
        assert!(
            r.line >= last_line,
            "row {i} on line {} comes after a row on line {last_line}",
            r.line
        );
        last_line = r.line;
        match &r.key {
            Ok(key) => assert!(!key.as_str().is_empty(), "row {i} has an empty key"),
            Err(p) => {
                assert!(
                    (1..=max_line).contains(&p.line),
                    "row {i}'s problem is on line {}, but the file has at most {max_line} lines",
                    p.line
                );
                assert!(p.column >= 1, "row {i}'s problem is in column 0");
                assert!(
                    !p.message.trim().is_empty(),
                    "row {i}'s problem says nothing"
                );
                assert!(!p.hint.trim().is_empty(), "row {i}'s problem has no hint");
                assert!(!p.to_string().trim().is_empty());
            }
        }
        if let Some(u) = &r.upn {
            assert!(!u.is_empty(), "row {i} has an empty UPN");
        }
        if let Some(first) = r.duplicate_of {
            assert!(r.key.is_ok(), "row {i}: an invalid row is not a duplicate");
            assert!(
                first.row < i,
                "row {i} duplicates a later row {}",
                first.row
            );
            let earlier = &rows[first.row];
            assert_eq!(earlier.line, first.line, "row {i}'s duplicate line");
            assert_eq!(
                earlier.status(),
                RowStatus::Valid,
                "row {i} duplicates a row that is not the first valid one"
            );
        }
    }
}

/// The summary agrees with the rows.
fn check_summary(rows: &[InputRow], summary: &InputSummary) {
    assert_eq!(
        summary.rows,
        rows.len(),
        "summary counts the rows handed over"
    );
    let count = |s: RowStatus| rows.iter().filter(|r| r.status() == s).count();
    assert_eq!(summary.valid, count(RowStatus::Valid));
    assert_eq!(summary.invalid, count(RowStatus::Invalid));
    assert_eq!(summary.duplicates, count(RowStatus::Duplicate));
    let k = summary.by_kind;
    assert_eq!(k.id + k.upn + k.mail, summary.valid);
    assert!(!summary.format.to_string().trim().is_empty());
    for note in &summary.notes {
        assert!(!note.trim().is_empty(), "an empty note");
    }
}

/// A file-level error names the file (and the line, where it has one) and says more.
fn check_input_error(e: &InputError, path: &Path, max_line: usize) {
    let msg = e.to_string();
    let name = path.display().to_string();
    assert_eq!(e.path(), path, "{msg}");
    assert!(
        msg.starts_with(&name),
        "the error does not name the file: {msg}"
    );
    let line = match e {
        InputError::NoUserColumn { line, .. } | InputError::RecordTooLong { line, .. } => {
            Some(*line)
        }
        InputError::Json { line, column, .. } | InputError::Encoding { line, column, .. } => {
            assert!(*column >= 1, "column 0: {msg}");
            Some(*line)
        }
        _ => None,
    };
    let prefix = match line {
        Some(line) => {
            assert!(
                (1..=max_line).contains(&line),
                "line {line} of a file of at most {max_line} lines: {msg}"
            );
            format!("{name}:{line}:")
        }
        None => format!("{name}:"),
    };
    assert!(
        msg.starts_with(&prefix),
        "{msg:?} does not start {prefix:?}"
    );
    let rest = msg[prefix.len()..].trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
    assert!(
        rest.trim().len() >= 10,
        "the error says nothing more: {msg}"
    );
}

// ---------------------------------------------------------------------------------------
// Plan files
// ---------------------------------------------------------------------------------------

/// Reads `bytes` as `plan.json` the way `apply` and `resume` do, then uses the plan the
/// ways they do (integrity fingerprint, reports, result rows) and writes it back.
pub fn check_plan(bytes: &[u8]) {
    let imported = check_plan_import(bytes);
    let plan: PlanFile = match serde_json::from_slice(bytes) {
        Ok(plan) => plan,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.trim().is_empty(), "an empty plan error");
            return;
        }
    };
    let fingerprint = plan_fingerprint(
        &plan.input.sha256,
        &plan.policy,
        &plan.entries,
        plan.tenant.as_ref().map(|t| t.id.as_str()),
    );
    assert!(fingerprint.starts_with("sha256:"), "{fingerprint}");
    if let Some(imported) = imported {
        assert_eq!(
            imported, plan,
            "apply reads the plan otherwise than serde does"
        );
    }
    assert!(!plan.policy.summary().is_empty());
    assert_eq!(plan.counts().values().sum::<usize>(), plan.entries.len());
    assert!(!report::human_duration(plan.minimum_seconds).is_empty());
    check_plan_reports(&plan);

    // What was read writes back, and reads back the same.
    let written = serde_json::to_vec(&plan).expect("a plan that was read can be written");
    let mut back: PlanFile =
        serde_json::from_slice(&written).expect("a plan written back can be read");
    let (a, b) = (plan.minimum_seconds, back.minimum_seconds);
    assert!((a - b).abs() <= a.abs() * 1e-12, "{a} read back as {b}");
    back.minimum_seconds = plan.minimum_seconds;
    assert_eq!(back, plan, "a plan changes when written and read back");
}

/// Writes the plan's reports, and the reports of a run of it (every outcome as the plan
/// settles it; interrupted, on the emulator), the way `plan` and `apply` write them: the
/// digests built a row at a time, the results written a row at a time, then the
/// summaries and pages. Each file must say something.
fn check_plan_reports(plan: &PlanFile) {
    let dir = scratch_dir("plan-reports");
    let extra: std::collections::BTreeSet<&String> =
        plan.entries.iter().flat_map(|e| e.columns.keys()).collect();
    let extra: Vec<String> = extra.into_iter().cloned().collect();
    let (csv, jsonl) = (dir.join("results.csv"), dir.join("results.jsonl"));
    let mut results = PlanResultsWriter::create(&csv, &jsonl, &extra).expect("plan results");
    let mut digest = PlanDigest::new(plan.header());
    for e in &plan.entries {
        results.write(e).expect("a plan's results row");
        digest.add(e);
    }
    results.finish().expect("plan results written");
    assert_eq!(digest.figures.rows, plan.entries.len());
    report::summary::write(&dir.join("summary.md"), &digest).expect("the plan's summary");
    report::html::write(&dir.join("report.html"), &digest).expect("the plan's report");

    let run_dir = dir.join("run-dir");
    std::fs::create_dir_all(&run_dir).expect("create the run's folder");
    let (csv, jsonl) = (run_dir.join("results.csv"), run_dir.join("results.jsonl"));
    let mut results = RunResultsWriter::create(&csv, &jsonl, &extra).expect("run results");
    let mut outcomes = RunDigest::new();
    for e in &plan.entries {
        let outcome = UserOutcome::from_plan(e);
        results.write(&outcome).expect("a run's results row");
        outcomes.add(&outcome);
    }
    results.finish().expect("run results written");
    let run = RunFigures {
        started: "2026-11-28T10:41:12Z".into(),
        ended: "2026-11-28T10:51:12Z".into(),
        wall_seconds: 600.0,
        writes_sent: 0,
        throttled: 0,
        retries: 0,
        interrupted: true,
        graph: plan.graph.clone(),
        sim: true,
        // Any text the reports show must render as text.
        containment: Some(plan.graph.clone()),
    };
    let (header, figures) = (&digest.header, &digest.figures);
    report::run::write_summary(
        &run_dir.join("summary.md"),
        header,
        figures,
        &outcomes,
        &run,
    )
    .expect("the run's summary");
    report::run::write_html(
        &run_dir.join("report.html"),
        header,
        figures,
        &outcomes,
        &run,
    )
    .expect("the run's report");
    for folder in [&dir, &run_dir] {
        for name in ["summary.md", "report.html", "results.csv"] {
            let len = std::fs::metadata(folder.join(name)).map_or(0, |m| m.len());
            assert!(len > 0, "{} is empty", folder.join(name).display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Gives `bytes` to the reader `apply` uses for a plan it is handed (any layout, one
/// entry at a time): it refuses with an error naming the file, or it writes the plan in
/// its own layout, which opens again to the same plan. The plan it read, when it did.
fn check_plan_import(bytes: &[u8]) -> Option<PlanFile> {
    let dir = scratch_dir("plan-import");
    let given = dir.join("given.json");
    let dest = dir.join("plan.json");
    std::fs::write(&given, bytes).expect("write the plan");
    let imported = store::import(&given, &dest);
    let plan = match imported {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&given.display().to_string()),
                "the error does not name the plan: {msg}"
            );
            assert!(!dest.exists(), "a refused plan left {}", dest.display());
            None
        }
        Ok(store) => {
            let entries: Vec<_> = store
                .entries()
                .collect::<Result<_, _>>()
                .expect("an imported plan reads back");
            let reopened = PlanStore::open(&dest).expect("an imported plan opens again");
            assert_eq!(reopened.sha256(), store.sha256());
            assert_eq!(reopened.header, store.header);
            Some(store.header.clone().with_entries(entries))
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    plan
}

// ---------------------------------------------------------------------------------------
// Journals
// ---------------------------------------------------------------------------------------

/// Writes `bytes` as a run folder's `journal.jsonl` and resumes it: the state must be a
/// run's, what was cut off must be only a damaged end, and the journal must take records
/// and resume again the same; or the error must name the file (and the line).
pub fn check_journal(bytes: &[u8]) {
    let dir = scratch_dir("journal");
    let path = Journal::path_in(&dir);
    std::fs::write(&path, bytes).expect("write the journal");
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    match Journal::resume(&dir) {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string()),
                "the error does not name the journal: {msg}"
            );
            if let JournalError::Corrupt { line, message, .. } = &e {
                assert!(
                    (1..=lines).contains(line),
                    "line {line} of {lines} lines: {msg}"
                );
                assert!(msg.contains(&format!("line {line}")), "{msg}");
                assert!(!message.trim().is_empty(), "{msg}");
            }
            assert!(!matches!(e, JournalError::Io { .. }), "{msg}");
        }
        Ok((mut journal, state)) => {
            assert!(
                matches!(state.run, Some(Record::Run { .. })),
                "resumed without a run record"
            );
            let kept = std::fs::metadata(&path).expect("the journal").len();
            assert_eq!(
                kept + state.discarded_bytes,
                bytes.len() as u64,
                "resume dropped bytes it did not report"
            );
            let kept = usize::try_from(kept).expect("a small journal");
            assert!(
                bytes[..kept].ends_with(b"\n"),
                "what is kept does not end on a line"
            );
            journal
                .append(&Record::Begin { row: usize::MAX })
                .expect("a resumed journal takes records");
            drop(journal);
            let (_, again) = Journal::resume(&dir).expect("a resumed journal resumes again");
            assert_eq!(again.discarded_bytes, 0);
            assert_eq!(again.run, state.run);
            assert_eq!(
                again.finished.rows().collect::<Vec<_>>(),
                state.finished.rows().collect::<Vec<_>>()
            );
            for row in state.finished.rows() {
                assert_eq!(
                    again.finished.get(row).expect("read back"),
                    state.finished.get(row).expect("read back"),
                    "a finished outcome reads back the same after a resume"
                );
            }
            assert_eq!(again.intents, state.intents);
            assert_eq!(again.steps, state.steps);
            assert_eq!(again.replanned, state.replanned);
            let mut begun = state.begun.clone();
            begun.insert(usize::MAX);
            assert_eq!(again.begun, begun);

            // `resume --retry-failed`: what it leaves in memory is what a later resume
            // reads back.
            let (mut journal, mut retried) = Journal::resume(&dir).expect("resumes again");
            let rows = journal
                .retry_failed(&mut retried)
                .expect("a resumed journal takes retry records");
            assert_eq!(retried.failed_rows().count(), 0);
            assert!(rows.iter().all(|row| !retried.finished.contains(*row)));
            drop(journal);
            let (_, read) = Journal::resume(&dir).expect("resumes after a retry");
            assert_eq!(
                read.finished.rows().collect::<Vec<_>>(),
                retried.finished.rows().collect::<Vec<_>>()
            );
            assert_eq!(read.intents, retried.intents);
            assert_eq!(read.steps, retried.steps);
            assert_eq!(read.replanned, retried.replanned);
            assert_eq!(read.begun, retried.begun);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Graph answers
// ---------------------------------------------------------------------------------------

/// Reads `bytes` as a `$batch` answer's body, as the client does, and classifies every
/// item, as the dispatcher does.
pub fn check_batch_body(bytes: &[u8]) {
    match serde_json::from_slice::<BatchResponse>(bytes) {
        Ok(answer) => answer.responses.into_iter().for_each(check_item),
        Err(e) => assert!(!e.to_string().trim().is_empty()),
    }
}

/// Classifies one item and checks the outcome against its status.
pub fn check_item(item: BatchResponseItem) {
    let (id, status) = (item.id.clone(), item.status);
    let answer = batch::classify(item);
    assert_eq!(answer.id, id);
    check_outcome(status, &answer.outcome);
}

/// An outcome fits its status; waits are bounded; faults say something.
pub fn check_outcome(status: u16, outcome: &ItemOutcome) {
    let fault_ok = |f: &GraphFault| {
        assert_eq!(f.status, status);
        assert!(!f.to_string().trim().is_empty());
    };
    let wait_ok = |w: &Option<Duration>| {
        assert!(
            w.is_none_or(|w| w <= MAX_RETRY_AFTER),
            "a Retry-After of {w:?} (status {status})"
        );
    };
    match outcome {
        ItemOutcome::Success {
            status: s,
            limit_percentage,
            ..
        } => {
            assert!((200..=299).contains(&status) && *s == status);
            assert!(
                limit_percentage.is_none_or(f64::is_finite),
                "{limit_percentage:?}"
            );
        }
        ItemOutcome::Throttled { retry_after } => {
            assert_eq!(status, 429);
            wait_ok(retry_after);
        }
        ItemOutcome::Transient { fault, retry_after } => {
            assert!(matches!(status, 500 | 502 | 503 | 504));
            fault_ok(fault);
            wait_ok(retry_after);
        }
        ItemOutcome::AuthExpired(fault) => {
            assert_eq!(status, 401);
            fault_ok(fault);
        }
        ItemOutcome::Dependency => assert_eq!(status, 424),
        ItemOutcome::Permanent(fault) => fault_ok(fault),
    }
}

/// A `Retry-After` is read as a wait of at most a day, or ignored.
pub fn check_retry_after(value: &str) {
    if let Some(wait) = batch::parse_retry_after(value) {
        assert!(wait <= MAX_RETRY_AFTER, "{value:?} asks for {wait:?}");
    }
}

/// Graph's error body, whatever its shape, gives a fault that says something.
pub fn check_fault(status: u16, body: Option<&Value>) {
    let fault = GraphFault::from_body(status, body);
    assert_eq!(fault.status, status);
    let text = fault.to_string();
    assert!(
        text.contains(&status.to_string()) && text.len() > 8,
        "{text:?}"
    );
}

/// Sends an (empty) `$batch` to a server on 127.0.0.1 that answers `status`, `headers`
/// and `body`, through the real client; checks what the client makes of the answer.
pub fn check_batch_answer(status: u16, headers: &[(String, String)], body: &[u8]) {
    let server = FakeServer::get();
    let serving = server.serve(status, headers, body);
    let endpoints = Endpoints::new(Cloud::Global, None, Some(&server.base()))
        .expect("a loopback Graph URL is accepted");
    let tokens = TokenSource::new(
        Credential::AccessToken(Secret::new("fuzz-static-token")),
        TokenEndpoint {
            token_url: format!("{}/token", server.base()),
            scope: SCOPE.into(),
        },
        http(),
    )
    .expect("a token source for a ready token");
    let client = GraphClient::new(http(), endpoints, tokens);
    let result =
        runtime().block_on(client.send_batch(ApiVersion::V1, BatchRequest { requests: vec![] }));
    drop(serving);
    match result {
        Ok(items) => {
            assert_eq!(status, 200, "items from a {status} answer");
            items.into_iter().for_each(check_item);
        }
        Err(SendFailure::Connection(message)) => {
            assert!(
                !message.trim().is_empty(),
                "a connection failure says nothing"
            );
        }
        Err(SendFailure::Status { outcome, .. }) => {
            assert_ne!(status, 200);
            check_outcome(status, &outcome);
        }
        Err(SendFailure::Auth(message)) => panic!("a ready token failed: {message}"),
    }
}

// ---------------------------------------------------------------------------------------
// Tokens, certificates
// ---------------------------------------------------------------------------------------

/// The retry policy of token checks: one attempt, no waiting.
fn one_attempt() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        default_retry_after: Duration::ZERO,
        max_retry_after: Duration::ZERO,
        base_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        request_timeout: Duration::from_secs(60),
    }
}

/// Asks a token endpoint on 127.0.0.1 that answers `status`, `headers` and `body` for a
/// token with a client secret: a token must be usable; an error must say something and
/// never show the secret.
pub fn check_token_answer(status: u16, headers: &[(String, String)], body: &[u8]) {
    let server = FakeServer::get();
    let serving = server.serve(status, headers, body);
    let credential = Credential::ClientSecret {
        tenant: "contoso.example".into(),
        client_id: "6731de76-14a6-49ae-97bc-6eba6914391e".into(),
        secret: Secret::new(CLIENT_SECRET),
    };
    let endpoint = TokenEndpoint {
        token_url: format!("{}/contoso.example/oauth2/v2.0/token", server.base()),
        scope: SCOPE.into(),
    };
    let tokens = TokenSource::with_retry(credential, endpoint, http(), one_attempt())
        .expect("a loopback token URL is accepted");
    let result = runtime().block_on(tokens.token());
    drop(serving);
    match result {
        Ok(token) => {
            assert!(
                (200..300).contains(&status),
                "a token from a {status} answer"
            );
            check_token_text(token.secret().expose());
            let expires = token.expires_at().expect("a fetched token expires");
            assert!(expires <= Instant::now() + Duration::from_secs(24 * 3600));
        }
        Err(e) => {
            let (text, debug) = (e.to_string(), format!("{e:?}"));
            assert!(text.len() > 10, "{text:?}");
            if let AuthError::Throttled { retry_after, .. } = &e {
                assert!(*retry_after <= MAX_RETRY_AFTER, "{text}");
            }
            assert!(
                !text.contains(CLIENT_SECRET) && !debug.contains(CLIENT_SECRET),
                "an error shows the client secret: {text}"
            );
        }
    }
}

/// A token as it goes in a header: visible ASCII, nothing else.
fn check_token_text(token: &str) {
    assert!(
        !token.is_empty() && token.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        "an unusable token {token:?}"
    );
}

/// Uses `value` as `MFA_RESET_ACCESS_TOKEN` (read, checked, its JWT expiry looked at): a
/// token must be usable; an error must say something and never show the token.
pub fn check_static_token(value: &str) {
    let lookup = |name: &str| (name == MFA_RESET_ACCESS_TOKEN).then(|| value.to_string());
    let secret_shown = |text: &str| value.trim().len() >= 12 && text.contains(value.trim());
    let credential = match Credential::from_env(lookup, AuthMode::Environment) {
        Ok(credential) => credential,
        Err(e) => {
            let text = format!("{e} {e:?}");
            assert!(e.to_string().len() > 10, "{e}");
            assert!(!secret_shown(&text), "an error shows the token: {text}");
            return;
        }
    };
    let tokens = TokenSource::new(
        credential,
        TokenEndpoint {
            // Never asked (a ready token, the Azure CLI); loopback all the same, so that a
            // change in TokenSource can never reach Microsoft from a test.
            token_url: "http://127.0.0.1:9/t/oauth2/v2.0/token".into(),
            scope: SCOPE.into(),
        },
        http(),
    )
    .expect("a token source for a ready token");
    match runtime().block_on(tokens.token()) {
        Ok(token) => check_token_text(token.secret().expose()),
        Err(e) => {
            let text = format!("{e} {e:?}");
            assert!(e.to_string().len() > 10, "{e}");
            assert!(!secret_shown(&text), "an error shows the token: {text}");
        }
    }
}

/// Runs a fake `az` that prints `stdout` and `stderr` and exits with `code`, and asks it
/// for a token as `--auth azure-cli` does. Unix only (the fake is a shell script).
pub fn check_azure_cli(stdout: &[u8], stderr: &[u8], code: u8) {
    if !cfg!(unix) {
        return;
    }
    let fake = fake_az();
    let _one_at_a_time = lock(&fake.lock);
    let dir = fake.program.parent().expect("the script's folder");
    std::fs::write(dir.join("out"), stdout).expect("write the fake's stdout");
    std::fs::write(dir.join("err"), stderr).expect("write the fake's stderr");
    std::fs::write(dir.join("code"), code.to_string()).expect("write the fake's exit code");
    let cli = AzureCli {
        tenant: None,
        program: fake.program.clone(),
        timeout: Duration::from_secs(60),
    };
    let tokens = TokenSource::new(
        Credential::AzureCli(cli),
        TokenEndpoint {
            // Never asked (a ready token, the Azure CLI); loopback all the same, so that a
            // change in TokenSource can never reach Microsoft from a test.
            token_url: "http://127.0.0.1:9/t/oauth2/v2.0/token".into(),
            scope: SCOPE.into(),
        },
        http(),
    )
    .expect("a token source for the Azure CLI");
    match runtime().block_on(tokens.token()) {
        Ok(token) => {
            assert_eq!(code, 0, "a token from a failed az");
            check_token_text(token.secret().expose());
            let expires = token.expires_at().expect("a CLI token expires");
            assert!(expires <= Instant::now() + Duration::from_secs(24 * 3600));
        }
        Err(e) => assert!(e.to_string().len() > 10, "{e}"),
    }
}

/// Reads `text` as the certificate PEM: a certificate must sign an assertion; an error
/// must say something and never quote the file.
pub fn check_pem(text: &str) {
    match ClientCertificate::from_pem(text) {
        Ok(certificate) => {
            assert!(!certificate.sha256_thumbprint().is_empty());
            let assertion = certificate
                .assertion(
                    "6731de76-14a6-49ae-97bc-6eba6914391e",
                    "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                )
                .expect("a certificate that was read signs an assertion");
            assert_eq!(assertion.expose().split('.').count(), 3);
        }
        Err(reason) => {
            assert!(reason.len() > 10, "{reason:?}");
            // No line of key or certificate material (base64) may appear in it.
            let material = |l: &&str| {
                l.len() >= 24
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            };
            for line in text.lines().map(str::trim).filter(material) {
                assert!(
                    !reason.contains(line),
                    "the error quotes the file: {reason}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared machinery: a scratch folder, a runtime, an HTTP client, a server, a fake `az`
// ---------------------------------------------------------------------------------------

/// A new, empty folder for one check.
fn scratch_dir(what: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mfa-reset-fuzz-{}-{what}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch folder");
    dir
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One runtime for every check (`block_on` may be called from any thread).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// One HTTP client for every check.
fn http() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let _entered = runtime().enter();
            reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client")
        })
        .clone()
}

/// What the fake server answers.
#[derive(Clone, Default)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// An HTTP/1.1 server on 127.0.0.1 that answers every request with the current
/// [`Reply`] and closes the connection. One check at a time uses it ([`FakeServer::serve`]
/// holds its lock).
pub struct FakeServer {
    addr: SocketAddr,
    reply: Arc<Mutex<Reply>>,
    turn: Mutex<()>,
}

impl FakeServer {
    /// The process's server, started on first use.
    pub fn get() -> &'static FakeServer {
        static SERVER: OnceLock<FakeServer> = OnceLock::new();
        SERVER.get_or_init(|| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
            let addr = listener.local_addr().expect("the server's address");
            let reply = Arc::new(Mutex::new(Reply::default()));
            let current = Arc::clone(&reply);
            std::thread::Builder::new()
                .name("fuzz-http".into())
                .spawn(move || {
                    for stream in listener.incoming().flatten() {
                        let reply = lock(&current).clone();
                        answer(stream, &reply);
                    }
                })
                .expect("start the server thread");
            FakeServer {
                addr,
                reply,
                turn: Mutex::new(()),
            }
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers with this until the guard is dropped.
    fn serve(&self, status: u16, headers: &[(String, String)], body: &[u8]) -> MutexGuard<'_, ()> {
        let turn = lock(&self.turn);
        *lock(&self.reply) = Reply {
            status,
            headers: headers.to_vec(),
            body: body.to_vec(),
        };
        turn
    }
}

/// Reads one request (headers, and a body of `Content-Length`) and writes `reply`.
fn answer(mut stream: TcpStream, reply: &Reply) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let mut out = format!(
        "HTTP/1.1 {} Fuzzed\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// A fake `az`: a shell script printing the files `out` and `err` beside it and exiting
/// with the number in `code`.
struct FakeAz {
    program: PathBuf,
    lock: Mutex<()>,
}

fn fake_az() -> &'static FakeAz {
    static FAKE: OnceLock<FakeAz> = OnceLock::new();
    FAKE.get_or_init(|| {
        let dir = scratch_dir("az");
        let program = dir.join("az");
        std::fs::write(
            &program,
            "#!/bin/sh\nd=$(dirname \"$0\")\ncat \"$d/out\"\ncat \"$d/err\" >&2\nexit \"$(cat \"$d/code\")\"\n",
        )
        .expect("write the fake az");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
                .expect("make the fake az executable");
        }
        FakeAz {
            program,
            lock: Mutex::new(()),
        }
    })
}
