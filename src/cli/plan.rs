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
//! 2 bad usage or bad input (nothing read); 3 the credentials were refused.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;

use super::graph_args::{Connection, GraphArgs};
use crate::engine::pacer::Pacer;
use crate::engine::run::now_rfc3339;
use crate::graph::client::GraphClient;
use crate::graph::permissions;
use crate::input::{self, InputOptions, InputRow};
use crate::plan::build::{self, Exclusions, Row};
use crate::plan::read::read_users;
use crate::plan::{InputInfo, PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanFile, Status, sha256_hex};
use crate::policy::{Policy, PolicyArgs};
use crate::report;

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
/// needs before the tenant is read.
pub struct Prepared {
    pub policy: Policy,
    pub rows: Vec<Row>,
    pub exclusions: Exclusions,
    pub input: PathBuf,
    pub input_sha256: String,
}

/// Reads and checks the input, the policy and the exclusions. Errors here are usage
/// errors (exit 2): nothing has been read from the tenant.
pub fn prepare(args: &PlanArgs) -> anyhow::Result<Prepared> {
    let policy = args.policy.clone().into_policy()?;
    let options = InputOptions {
        column: args.column.clone(),
    };
    let (input_rows, summary) = input::read_all(&args.input, &options)?;
    if summary.invalid > 0 && !args.skip_invalid {
        print_problems(&args.input, &input_rows);
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
    let input_bytes = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    Ok(Prepared {
        policy,
        rows: input_rows.into_iter().map(row_of).collect(),
        exclusions,
        input: args.input.clone(),
        input_sha256: sha256_hex(&input_bytes),
    })
}

/// Reads every target user through `client` and decides the plan.
pub async fn read_plan(
    prepared: Prepared,
    client: Arc<GraphClient>,
    graph: &GraphArgs,
) -> PlanFile {
    let Prepared {
        policy,
        rows,
        exclusions,
        input,
        input_sha256,
    } = prepared;
    let targets = build::targets(&rows);
    let graph_root = client.endpoints().graph().to_string();
    let pacer = Arc::new(Pacer::new(graph.pacer_settings()));
    let bar = progress_bar(targets.len());
    let outcomes = read_users(
        client,
        pacer,
        graph.dispatcher_settings(),
        targets,
        |done, _| bar.set_position(done as u64),
    )
    .await;
    bar.finish_and_clear();
    let outcomes: HashMap<usize, _> = outcomes.into_iter().collect();
    let entries = build::entries(rows, outcomes, &policy, &exclusions);
    let writes: usize = entries.iter().map(|e| e.writes()).sum();
    let write_rate = graph.pacer_settings().writes.per_second();
    let fingerprint = plan_fingerprint(&input_sha256, &policy, &entries);
    PlanFile {
        format: PLAN_FORMAT.into(),
        version: PLAN_VERSION,
        created: now_rfc3339(),
        tool: format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
        graph: graph_root,
        input: InputInfo {
            file: input.display().to_string(),
            sha256: input_sha256,
            rows: entries.len(),
        },
        policy,
        fingerprint,
        writes,
        minimum_seconds: writes as f64 / write_rate,
        entries,
    }
}

/// The plan's fingerprint: SHA-256 over the input's hash, the policy and every entry (its
/// user, status, steps and all), so that `apply` refuses a plan edited anywhere after it
/// was written. It catches edits, not a forger who recomputes it.
pub fn plan_fingerprint(input_sha256: &str, policy: &Policy, entries: &[PlanEntry]) -> String {
    let digest = sha256_hex(
        format!(
            "{input_sha256}\n{}\n{}",
            policy.canonical_json(),
            crate::plan::entries_sha256(entries)
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
    let plan = runtime.block_on(async {
        let Connection { client, sim } = args.graph.connect(|k| std::env::var(k).ok()).await?;
        if let Err(e) = client.check_credentials().await {
            return Ok::<_, anyhow::Error>(Err(e));
        }
        let plan = read_plan(prepared, Arc::new(client), &args.graph).await;
        drop(sim);
        Ok(Ok(plan))
    })?;
    let plan = match plan {
        Ok(plan) => plan,
        Err(auth) => {
            eprintln!("mfa-reset: credentials refused: {auth}");
            return Ok(ExitCode::from(EXIT_AUTH));
        }
    };
    write_artefacts(&args.out, &plan)?;
    describe_plan(&args.out, &plan);
    eprintln!("mfa-reset: nothing in the tenant was changed (a plan only reads).");
    Ok(if plan.counts().contains_key(&Status::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One line on the terminal about a written plan.
pub fn describe_plan(out: &Path, plan: &PlanFile) {
    let counts = plan.counts();
    let described: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    eprintln!(
        "mfa-reset: plan written to {}: {}; {} Graph writes, at least {}.",
        out.display(),
        described.join(", "),
        plan.writes,
        report::human_duration(plan.minimum_seconds)
    );
    eprintln!("mfa-reset: the app needs these Graph application permissions (admin consent):");
    for line in permissions::describe(&permissions::for_policy(&plan.policy)) {
        eprintln!("  {line}");
    }
}

fn row_of(r: InputRow) -> Row {
    Row {
        row: r.row,
        line: r.line,
        input: r.value,
        key: r.key.map_err(|p| p.to_string()),
        duplicate_of: r.duplicate_of.map(|f| f.row),
        columns: r.extra.into_iter().collect::<BTreeMap<_, _>>(),
    }
}

fn print_problems(path: &Path, rows: &[InputRow]) {
    for r in rows {
        if let Err(p) = &r.key {
            eprintln!(
                "{}:{}:{}: {} ({})",
                path.display(),
                p.line,
                p.column,
                p.message,
                p.hint
            );
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

pub fn write_artefacts(out: &Path, plan: &PlanFile) -> anyhow::Result<()> {
    let plan_path = out.join("plan.json");
    crate::plan::write_plan_file(&plan_path, plan)
        .with_context(|| format!("cannot write {}", plan_path.display()))?;
    report::results::write_csv(&out.join("results.csv"), &plan.entries)?;
    report::results::write_jsonl(&out.join("results.jsonl"), &plan.entries)?;
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
