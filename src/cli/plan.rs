//! `mfa-reset plan`: the dry run. Reads the user list, reads every user's state from the
//! tenant through the paced `$batch` client, decides what the policy would change, and
//! writes the plan and its reports. Nothing in the tenant changes.
//!
//! ```text
//! mfa-reset plan users.csv --profile device-refresh --issue-tap --out plan-2026-11-28
//! mfa-reset plan samples/users.csv --profile incident --tenant sim --out /tmp/rehearsal
//! ```
//!
//! `--out DIR` receives `plan.json`, `results.csv`, `results.jsonl` and `summary.md`.
//! Exit codes: 0 the plan is written; 1 written, but some users could not be read;
//! 2 bad usage or bad input (nothing read); 3 the credentials were refused; 4 interrupted
//! (Ctrl-C) before the plan was written.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::Args;

use super::graph_args::{Connection, GraphArgs};
use crate::engine::pacer::Pacer;
use crate::engine::run::now_rfc3339;
use crate::graph::client::GraphClient;
use crate::graph::permissions;
use crate::input::{self, InputError, InputOptions, InputRow};
use crate::plan::build::{self, Exclusions, Row, UsersSeen};
use crate::plan::read::{Target, read_stream};
use crate::plan::store::{EntryBody, EntrySpill, Hashing, PlanStore};
use crate::plan::{
    InputInfo, PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanHeader, Status, sha256_hex,
};
use crate::policy::{Policy, PolicyArgs};
use crate::report::{self, PlanDigest, results::PlanResultsWriter};

/// Exit code when the credentials are refused.
pub const EXIT_AUTH: u8 = 3;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The user list: CSV (Entra export, bulk template, any delimiter), a plain list, or
    /// JSON (array, JSON Lines, Graph pages).
    pub input: PathBuf,
    /// The column (or JSON property) that holds the users, when it cannot be found by name.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Folder for the plan and its reports; created if missing, must not hold a plan yet.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Users never to touch (break-glass accounts), in any input format.
    #[arg(long, value_name = "FILE")]
    pub exclude: Option<PathBuf>,
    /// Plan the valid rows and report the invalid ones instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub graph: GraphArgs,
}

/// A user list read and checked, with the policy and the exclusions: everything a plan
/// needs before the tenant is read. The rows themselves are not kept: they are read again,
/// one at a time, while the tenant is read.
pub struct Prepared {
    pub policy: Policy,
    pub exclusions: Exclusions,
    pub input: PathBuf,
    pub options: InputOptions,
    pub input_sha256: String,
    /// Data rows, and those of them to read from the tenant (valid, first occurrences).
    pub rows: usize,
    pub targets: usize,
    /// The input's other columns, over every row (they head `results.csv`).
    pub extra_columns: Vec<String>,
}

/// Reads and checks the input, the policy and the exclusions. Errors here are usage
/// errors (exit 2): nothing has been read from the tenant.
pub fn prepare(args: &PlanArgs) -> anyhow::Result<Prepared> {
    let policy = args.policy.clone().into_policy()?;
    let options = InputOptions {
        column: args.column.clone(),
    };
    let mut extra = std::collections::BTreeSet::new();
    let (summary, input_sha256) = read_input(&args.input, &options, |r| {
        if let Err(p) = &r.key
            && !args.skip_invalid
        {
            print_problem(&args.input, p);
        }
        for (name, _) in &r.extra {
            if !extra.contains(name) {
                extra.insert(name.clone());
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    if summary.invalid > 0 && !args.skip_invalid {
        bail!(
            "{}: {} of {} rows are invalid; nothing was read from the tenant. Fix them (`mfa-reset check {}` lists them) or pass --skip-invalid to plan the rest",
            args.input.display(),
            summary.invalid,
            summary.rows,
            args.input.display()
        );
    }
    let exclusions = match &args.exclude {
        Some(path) => read_exclusions(path)?,
        None => Exclusions::default(),
    };
    Ok(Prepared {
        policy,
        exclusions,
        input: args.input.clone(),
        options,
        input_sha256,
        rows: summary.rows,
        targets: summary.valid,
        extra_columns: extra.into_iter().collect(),
    })
}

/// Reads the user list at `path`, handing every row to `on_row`, and hashes the file's
/// bytes on the way: the summary and the file's hex SHA-256.
fn read_input<E: From<InputError>>(
    path: &Path,
    options: &InputOptions,
    mut on_row: impl FnMut(InputRow) -> Result<(), E>,
) -> Result<(input::InputSummary, String), E> {
    let unreadable = |error| InputError::Unreadable {
        path: path.to_path_buf(),
        error,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let hash = Arc::new(Mutex::new(Hashing::new(std::io::sink())));
    let reader = HashingReader {
        inner: file,
        hash: hash.clone(),
    };
    let summary = input::read_from(path, reader, options, |rows| {
        for row in rows {
            on_row(row)?;
        }
        Ok::<(), E>(())
    })?;
    let mut hash = std::mem::replace(&mut *lock(&hash), Hashing::new(std::io::sink()));
    // The reader may stop before the end (after the last row): hash the rest too.
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(hash.written)).map_err(unreadable)?;
    std::io::copy(&mut file, &mut hash).map_err(unreadable)?;
    Ok((summary, hash.hex()))
}

/// Hashes what is read through it, into a hash the caller keeps.
struct HashingReader {
    inner: std::fs::File,
    hash: Arc<Mutex<Hashing<std::io::Sink>>>,
}

impl std::io::Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        lock(&self.hash).write_all(&buf[..n])?;
        Ok(n)
    }
}

/// A plan written to disk: `plan.json` open for reading, and what its reports need.
pub struct MadePlan {
    pub store: PlanStore,
    pub digest: PlanDigest,
}

/// Reads every target user through `client`, decides the plan, and writes `plan.json`,
/// `results.csv` and `results.jsonl` to `out` (the summary and the HTML report are
/// [`write_reports`]'). Memory does not grow with the list: the input is read again a
/// row at a time, only a window of users is read at once, and every finished entry waits
/// on disk until all are done and `plan.json` is written in row order.
pub async fn make_plan(
    prepared: Prepared,
    client: Arc<GraphClient>,
    graph: &GraphArgs,
    out: &Path,
) -> anyhow::Result<MadePlan> {
    let Prepared {
        policy,
        exclusions,
        input,
        options,
        input_sha256,
        rows,
        targets,
        extra_columns,
    } = prepared;
    let graph_root = client.endpoints().graph().to_string();
    let mut spill = EntrySpill::create(out.join(SCRATCH[0]))?;
    spill.reserve_rows(rows);
    let spill = Arc::new(Mutex::new(spill));
    let (target_tx, target_rx) = tokio::sync::mpsc::channel::<(Target, Row)>(4096);
    // The input, read again in its own thread: rows to read go to the tenant reader,
    // the others straight to the spill.
    let producer = std::thread::spawn({
        let spill = spill.clone();
        let input = input.clone();
        move || {
            read_input(&input, &options, |r| {
                let row = row_of(r);
                if let Some(entry) = build::settled_entry(&row) {
                    lock(&spill).put(row.row, &entry)?;
                    return Ok(());
                }
                let Ok(key) = row.key.clone() else {
                    return Ok(());
                };
                let target = Target { row: row.row, key };
                target_tx
                    .blocking_send((target, row))
                    .map_err(|_| anyhow::anyhow!("the tenant reader stopped"))
            })
        }
    });
    let pacer = Arc::new(Pacer::new(graph.pacer_settings()));
    let bar = progress_bar(targets);
    let mut failure: Option<anyhow::Error> = None;
    read_stream(
        client,
        pacer,
        graph.dispatcher_settings(),
        target_rx,
        |row_index, row, outcome, _| {
            let entry = build::read_entry(row, Some(outcome), &policy, &exclusions);
            if let Err(e) = lock(&spill).put(row_index, &entry) {
                failure.get_or_insert(e.into());
            }
            bar.inc(1);
        },
    )
    .await;
    bar.finish_and_clear();
    let (_, reread_sha256) = producer
        .join()
        .map_err(|_| anyhow::anyhow!("reading {} failed", input.display()))??;
    if let Some(failure) = failure {
        return Err(failure);
    }
    if reread_sha256 != input_sha256 {
        bail!(
            "{} changed while the plan was being made; plan again once it stays put",
            input.display()
        );
    }
    let mut spill = Arc::try_unwrap(spill)
        .map_err(|_| anyhow::anyhow!("the plan's rows are still in use"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("the plan's rows could not be gathered"))?;

    // Every row in order: users reached twice by different keys, the figures, the results.
    let write_rate = graph.pacer_settings().writes.per_second();
    let mut header = PlanHeader {
        format: PLAN_FORMAT.into(),
        version: PLAN_VERSION,
        created: now_rfc3339(),
        tool: format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
        graph: graph_root,
        input: InputInfo {
            file: input.display().to_string(),
            sha256: input_sha256,
            rows,
        },
        policy,
        fingerprint: String::new(),
        writes: 0,
        minimum_seconds: 0.0,
    };
    let mut body = EntryBody::create(out.join(SCRATCH[1]))?;
    let mut results = PlanResultsWriter::create(
        &out.join("results.csv"),
        &out.join("results.jsonl"),
        &extra_columns,
    )?;
    let mut digest = PlanDigest::new(header.clone());
    let mut seen = UsersSeen::with_capacity(targets);
    for row in 0..rows {
        let Some(mut entry) = spill.get::<PlanEntry>(row)? else {
            bail!(
                "row {row} of {} was not planned; plan again",
                input.display()
            );
        };
        seen.settle(&mut entry);
        header.writes += entry.writes();
        body.push(&entry)?;
        results.write(&entry)?;
        digest.add(&entry);
    }
    drop(spill);
    results.finish()?;
    header.minimum_seconds = header.writes as f64 / write_rate;
    header.fingerprint =
        fingerprint_of(&header.input.sha256, &header.policy, &body.entries_sha256());
    let plan_path = out.join("plan.json");
    let store = body
        .write_plan(&plan_path, &header)
        .with_context(|| format!("cannot write {}", plan_path.display()))?;
    digest.figures.writes = header.writes;
    digest.figures.minimum_seconds = header.minimum_seconds;
    digest.header = header;
    Ok(MadePlan { store, digest })
}

/// The files [`make_plan`] keeps in its folder while it works (removed when it ends).
const SCRATCH: [&str; 2] = ["plan.json.spill", "plan.json.body"];

/// [`make_plan`], unless Ctrl-C stops it first: then `None`, no plan is written and its
/// scratch files are removed (the tenant was only read).
pub async fn make_plan_unless_interrupted(
    prepared: Prepared,
    client: Arc<GraphClient>,
    graph: &GraphArgs,
    out: &Path,
) -> anyhow::Result<Option<MadePlan>> {
    // Listening before the plan starts: from here on Ctrl-C is ours, not the default
    // (which would leave the scratch files behind).
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot listen for Ctrl-C")?;
    tokio::select! {
        biased;
        made = make_plan(prepared, client, graph, out) => made.map(Some),
        Some(()) = interrupt.recv() => {
            for name in SCRATCH {
                let _ = std::fs::remove_file(out.join(name));
            }
            Ok(None)
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The plan's fingerprint: SHA-256 over the input's hash, the policy and every entry (its
/// user, status, steps and all), so that `apply` refuses a plan edited anywhere after it
/// was written. It catches edits, not a forger who recomputes it.
pub fn plan_fingerprint(input_sha256: &str, policy: &Policy, entries: &[PlanEntry]) -> String {
    fingerprint_of(input_sha256, policy, &crate::plan::entries_sha256(entries))
}

/// [`plan_fingerprint`] from the entries' hash ([`crate::plan::entries_sha256`]).
pub fn fingerprint_of(input_sha256: &str, policy: &Policy, entries_sha256: &str) -> String {
    let digest = sha256_hex(
        format!(
            "{input_sha256}\n{}\n{entries_sha256}",
            policy.canonical_json(),
        )
        .as_bytes(),
    );
    format!("sha256:{digest}")
}

/// Runs `mfa-reset plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let prepared = prepare(&args)?;
    prepare_out_dir(&args.out)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let made = runtime.block_on(async {
        let Connection { client, sim } = args.graph.connect(|k| std::env::var(k).ok()).await?;
        if let Err(e) = client.check_credentials().await {
            return Ok::<_, anyhow::Error>(Err(e));
        }
        let made = make_plan_unless_interrupted(prepared, Arc::new(client), &args.graph, &args.out)
            .await?;
        drop(sim);
        Ok(Ok(made))
    })?;
    let made = match made {
        Ok(Some(made)) => made,
        Ok(None) => {
            eprintln!(
                "\nmfa-reset: interrupted: no plan was written, and nothing in the tenant was changed (a plan only reads)."
            );
            return Ok(ExitCode::from(super::apply::EXIT_INTERRUPTED));
        }
        Err(auth) => {
            eprintln!("mfa-reset: credentials refused: {auth}");
            return Ok(ExitCode::from(EXIT_AUTH));
        }
    };
    write_reports(&args.out, &made.digest)?;
    describe_plan(&args.out, &made.digest);
    eprintln!("mfa-reset: nothing in the tenant was changed (a plan only reads).");
    Ok(if made.digest.figures.count(Status::Error) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One line on the terminal about a written plan.
pub fn describe_plan(out: &Path, plan: &PlanDigest) {
    let described: Vec<String> = plan
        .figures
        .by_status
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    eprintln!(
        "mfa-reset: plan written to {}: {}; {} Graph writes, at least {}.",
        out.display(),
        described.join(", "),
        plan.header.writes,
        report::human_duration(plan.header.minimum_seconds)
    );
    eprintln!("mfa-reset: the app needs these Graph application permissions (admin consent):");
    for line in permissions::describe(&permissions::for_policy(&plan.header.policy)) {
        eprintln!("  {line}");
    }
}

fn row_of(r: InputRow) -> Row {
    Row {
        row: r.row,
        line: r.line,
        input: r.value,
        key: r.key.map_err(|p| p.to_string()),
        duplicate_of: r.duplicate_of.map(|f| f.line),
        columns: r.extra.into_iter().collect::<BTreeMap<_, _>>(),
    }
}

fn print_problem(path: &Path, p: &input::RowProblem) {
    eprintln!(
        "{}:{}:{}: {} ({})",
        path.display(),
        p.line,
        p.column,
        p.message,
        p.hint
    );
}

fn print_problems(path: &Path, rows: &[InputRow]) {
    for r in rows {
        if let Err(p) = &r.key {
            print_problem(path, p);
        }
    }
}

fn read_exclusions(path: &Path) -> anyhow::Result<Exclusions> {
    let (rows, summary) = input::read_all(path, &InputOptions::default())?;
    if summary.invalid > 0 {
        print_problems(path, &rows);
        bail!(
            "{}: {} rows of the exclude list are invalid; an exclude list must be right before anything runs",
            path.display(),
            summary.invalid
        );
    }
    Ok(Exclusions::new(rows.iter().flat_map(|r| {
        let key = r.key.as_ref().ok().map(|k| k.as_str().to_string());
        key.into_iter().chain(r.upn.clone())
    })))
}

pub fn prepare_out_dir(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output folder {}", out.display()))?;
    let plan = out.join("plan.json");
    if plan.exists() {
        bail!(
            "{} already holds a plan; choose another --out folder, or move the old plan away first",
            out.display()
        );
    }
    Ok(())
}

/// Writes the plan's `summary.md` and `report.html` (`plan.json` and the results are
/// written by [`make_plan`]).
pub fn write_reports(out: &Path, plan: &PlanDigest) -> anyhow::Result<()> {
    report::summary::write(&out.join("summary.md"), plan)?;
    report::html::write(&out.join("report.html"), plan)?;
    Ok(())
}

fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "reading the tenant {bar:30} {pos}/{len} users, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input's hash is the plan's anchor (`apply` checks a plan against it): it must be
    /// the hash of the whole file, whatever the format and however far the reader read.
    #[test]
    fn reading_the_input_hashes_every_byte_of_every_sample() {
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut read = 0;
        for entry in std::fs::read_dir(&samples).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".png") || name == "README.md" {
                continue;
            }
            let mut rows = 0;
            let result = read_input(&path, &InputOptions::default(), |_| {
                rows += 1;
                Ok::<(), InputError>(())
            });
            let Ok((summary, sha)) = result else {
                continue;
            };
            assert_eq!(summary.rows, rows, "{name}");
            assert_eq!(sha, sha256_hex(&std::fs::read(&path).unwrap()), "{name}");
            read += 1;
        }
        assert!(read >= 8, "only {read} samples were read");
    }
}
