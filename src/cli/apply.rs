//! `mfa-reset apply` and `mfa-reset resume`: carry out a plan, record every user's
//! outcome in a journal as it happens, and write the run's reports.
//!
//! ```text
//! mfa-reset apply plan-2026-11-28/plan.json --out run-2026-11-28
//! mfa-reset apply users.csv --profile incident --out run-2026-11-28 --yes
//! mfa-reset resume run-2026-11-28
//! ```
//!
//! `apply PLAN.json` carries out exactly that plan (policy flags are refused: the plan's
//! policy is the one the change board read). `apply INPUT [policy flags]` plans first,
//! writing the plan and its reports to `DIR/plan/`, then applies it. Either way `DIR`
//! receives `plan.json` (the plan carried out), `run.json` (how), `journal.jsonl`,
//! `results.csv`, `results.jsonl`, `summary.md`, `report.html` and, when passes are
//! issued, `secrets/tap.csv` (mode 0600).
//!
//! Exit codes: 0 every user reached the planned state or was skipped by rule; 1 some
//! failed, ended partly done or drifted; 2 bad usage or input (nothing changed); 3
//! credentials refused (nothing changed); 4 interrupted (`mfa-reset resume DIR` carries
//! on).

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use super::graph_args::{Connection, GraphArgs};
use super::plan::{self as plan_cmd, EXIT_AUTH, PlanArgs};
use crate::engine::journal::{Journal, JournalState, Record};
use crate::engine::lock::RunLock;
use crate::engine::outcome::RunStatus;
use crate::engine::pacer::Pacer;
use crate::engine::run::{self, OnDrift, Progress, RunFiles, RunOptions, now_rfc3339};
use crate::plan::PLAN_FORMAT;
use crate::plan::PlanHeader;
use crate::plan::store::{PlanStore, StoreError};
use crate::policy::{PolicyArgs, Profile};
use crate::report::run::{RunDigest, RunFigures, RunResultsWriter};
use crate::report::{self, PlanDigest};

/// Exit code of an interrupted run.
pub const EXIT_INTERRUPTED: u8 = 4;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan written by `mfa-reset plan` (plan.json), or a user list to plan and apply in
    /// one go.
    pub target: PathBuf,
    /// Folder for the run's journal and reports; created if missing, must not hold a run.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// With a user list: the column (or JSON property) that holds the users.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// With a user list: users never to touch (break-glass accounts), in any input format.
    #[arg(long, value_name = "FILE")]
    pub exclude: Option<PathBuf>,
    /// With a user list: plan the valid rows and report the invalid ones.
    #[arg(long)]
    pub skip_invalid: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub graph: GraphArgs,
}

/// How the run goes, beyond the plan.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// When a user's methods differ from the plan: skip them (status drifted, nothing
    /// changed) or decide again from what is there now.
    #[arg(long, value_enum, default_value = "skip")]
    pub on_drift: OnDrift,
    /// Do not re-read a user's methods after removing them.
    #[arg(long)]
    pub no_verify: bool,
    /// Revoke sessions (and disable accounts) for every user before removing any method
    /// [default with the incident profile].
    #[arg(long, conflicts_with = "no_contain_first")]
    pub contain_first: bool,
    /// Run each user's steps in the plan's order, user after user, even for incidents.
    #[arg(long)]
    pub no_contain_first: bool,
    /// Ask the operator to confirm a run that changes more than N users.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub confirm_above: usize,
    /// Confirm without asking (scripts, pipelines).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The folder of the interrupted run (the --out of `mfa-reset apply`).
    pub dir: PathBuf,
    #[command(flatten)]
    pub graph: GraphArgs,
}

/// `DIR/run.json`: how the run was started, so that `resume` carries on the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunSettingsFile {
    plan_sha256: String,
    graph: String,
    sim: bool,
    on_drift: String,
    verify: bool,
    contain_first: bool,
}

/// Runs `mfa-reset apply`.
pub fn apply(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let given_plan = is_plan_file(&args.target)?;
    if given_plan && args.policy != PolicyArgs::default() {
        bail!(
            "{} is a plan: its policy is carried out exactly as planned, so policy flags (--profile, --remove-methods, ...) cannot be given with it. Plan again to change the policy",
            args.target.display()
        );
    }
    if given_plan && (args.column.is_some() || args.exclude.is_some()) {
        bail!(
            "{} is a plan: --column and --exclude apply only when planning; plan again to change them",
            args.target.display()
        );
    }
    prepare_run_dir(&args.out)?;
    let prepared = if given_plan {
        None
    } else {
        Some(plan_cmd::prepare(&PlanArgs {
            input: args.target.clone(),
            column: args.column.clone(),
            out: args.out.join("plan"),
            exclude: args.exclude.clone(),
            skip_invalid: args.skip_invalid,
            policy: args.policy.clone(),
            graph: args.graph.clone(),
        })?)
    };
    // Nothing is written to the folder before the run holds it.
    let _lock = RunLock::acquire(&args.out)?;
    // The plan is copied into the run's folder (checked on the way) under a staging
    // name, and becomes the run's `plan.json` only once the run is confirmed.
    let mut staged = Staged(Some(args.out.join("plan.json.partial")));
    let imported = if given_plan {
        Some(import_plan(&args.target, staged.path())?)
    } else {
        None
    };

    let runtime = runtime()?;
    runtime.block_on(async {
        let Connection { client, sim } = args.graph.connect(|k| std::env::var(k).ok()).await?;
        if sim.is_some() {
            sim_banner();
        }
        if let Err(e) = client.check_credentials().await {
            eprintln!("mfa-reset: credentials refused: {e}. Nothing was changed.");
            return Ok(ExitCode::from(EXIT_AUTH));
        }
        let client = Arc::new(client);
        let mut plan = match (imported, prepared) {
            (Some(plan), _) => plan,
            (None, Some(prepared)) => {
                let plan_dir = args.out.join("plan");
                plan_cmd::prepare_out_dir(&plan_dir)?;
                // Ctrl-C here ends the process as usual: a listener would outlive the
                // planning and swallow a Ctrl-C at the confirmation prompt.
                let made =
                    plan_cmd::make_plan(prepared, client.clone(), &args.graph, &plan_dir).await?;
                plan_cmd::write_reports(&plan_dir, &made.digest)?;
                plan_cmd::describe_plan(&plan_dir, &made.digest);
                import_plan(made.store.path(), staged.path())?
            }
            (None, None) => unreachable!("a user list is always prepared"),
        };
        let header = &plan.store.header;
        let graph_root = client.endpoints().graph().to_string();
        if given_plan_targets_elsewhere(header, &graph_root, sim.is_some()) {
            bail!(
                "the plan was read from {} but this run would go to {}; apply a plan to the tenant it was made from",
                header.graph,
                graph_root
            );
        }
        let contain_first = if args.run.contain_first {
            true
        } else if args.run.no_contain_first {
            false
        } else {
            header.policy.profile() == Some(Profile::Incident)
        };
        let options = RunOptions {
            on_drift: args.run.on_drift,
            verify: !args.run.no_verify,
            contain_first,
        };
        if !confirm(&plan.digest, &args.run)? {
            return Ok(ExitCode::from(2));
        }
        let plan_path = args.out.join("plan.json");
        plan.store
            .rename(&plan_path)
            .with_context(|| format!("cannot write {}", plan_path.display()))?;
        staged.keep();
        let plan_sha256 = plan.store.sha256().to_string();
        let settings = RunSettingsFile {
            plan_sha256: plan_sha256.clone(),
            graph: graph_root.clone(),
            sim: sim.is_some(),
            on_drift: format!("{:?}", options.on_drift).to_lowercase(),
            verify: options.verify,
            contain_first: options.contain_first,
        };
        write_file(
            &args.out.join("run.json"),
            &serde_json::to_vec_pretty(&settings).context("cannot serialize run.json")?,
        )?;
        let mut journal = Journal::create(
            &args.out,
            Record::Run {
                plan_fingerprint: plan.store.header.fingerprint.clone(),
                plan_sha256,
                started: now_rfc3339(),
                tool: format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
            },
        )?;
        let code = execute(
            client,
            &args.graph,
            &plan,
            options,
            &mut journal,
            JournalState::default(),
            &args.out,
            &graph_root,
            sim.is_some(),
        )
        .await?;
        drop(sim);
        Ok(code)
    })
}

/// A file that is removed when dropped, unless kept.
struct Staged(Option<PathBuf>);

impl Staged {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("not kept yet")
    }

    fn keep(&mut self) {
        self.0 = None;
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A plan to carry out: `plan.json` in the run's folder, and the figures and columns its
/// reports need.
struct RunPlan {
    store: PlanStore,
    digest: PlanDigest,
    extra_columns: Vec<String>,
}

/// Says so when a plan is large enough for reading it to take a while (a million users'
/// plan is about a gigabyte: tens of seconds), so that the wait is not taken for a hang.
fn announce_reading(path: &Path, what: &str) {
    const LARGE: u64 = 100 << 20;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() >= LARGE
    {
        eprintln!(
            "mfa-reset: {what} {} ({:.1} GB) before anything changes…",
            path.display(),
            meta.len() as f64 / 1e9
        );
    }
}

/// Copies the plan at `given` to `dest`, refusing it when it was edited after it was
/// written, and reads it through once for its figures.
fn import_plan(given: &Path, dest: &Path) -> anyhow::Result<RunPlan> {
    announce_reading(given, "checking");
    digest_plan(import_store(given, dest)?)
}

/// [`crate::plan::store::import`] under this tool's fingerprint.
fn import_store(given: &Path, dest: &Path) -> Result<PlanStore, StoreError> {
    crate::plan::store::import(given, dest, |header, entries_sha256| {
        plan_cmd::fingerprint_of(&header.input.sha256, &header.policy, entries_sha256)
    })
}

/// Reads every entry of `store` once for the figures and columns the reports need.
fn digest_plan(store: PlanStore) -> anyhow::Result<RunPlan> {
    let mut digest = PlanDigest::new(store.header.clone());
    let mut extra = BTreeSet::new();
    for entry in store.entries() {
        let entry = entry?;
        for name in entry.columns.keys() {
            if !extra.contains(name) {
                extra.insert(name.clone());
            }
        }
        digest.add(&entry);
    }
    Ok(RunPlan {
        store,
        digest,
        extra_columns: extra.into_iter().collect(),
    })
}

/// Runs `mfa-reset resume`.
pub fn resume(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    let plan_path = dir.join("plan.json");
    if !plan_path.is_file() {
        bail!(
            "{} holds no run to resume (cannot read {}); start one with `mfa-reset apply`",
            dir.display(),
            plan_path.display()
        );
    }
    let settings_path = dir.join("run.json");
    let settings: RunSettingsFile = serde_json::from_slice(
        &std::fs::read(&settings_path)
            .with_context(|| format!("cannot read {}", settings_path.display()))?,
    )
    .with_context(|| format!("{} is not a run file", settings_path.display()))?;
    let changed = || {
        anyhow::anyhow!(
            "{} was changed after the run started (its hash no longer matches run.json); a run carries out the plan it started with. Start a new run with `mfa-reset apply`",
            plan_path.display()
        )
    };
    let runtime = runtime()?;
    let _lock = RunLock::acquire(dir)?;
    announce_reading(&plan_path, "checking");
    // Dropped (and so removed) when the resume ends.
    let mut _copy = None;
    let store = match PlanStore::open(&plan_path) {
        Ok(store) if store.sha256() == settings.plan_sha256 => store,
        Ok(_) => return Err(changed()),
        Err(StoreError::Invalid { .. }) => {
            // Laid out otherwise: a run started by an earlier version of this tool. If it
            // is byte for byte the plan the run started with, carry on from a copy in this
            // version's layout; `plan.json` itself stays as it is.
            if crate::plan::store::file_sha256(&plan_path)? != settings.plan_sha256 {
                return Err(changed());
            }
            let copy = Staged(Some(dir.join("plan.json.resume")));
            let store = import_store(&plan_path, copy.path())?;
            _copy = Some(copy);
            store
        }
        Err(e) => return Err(e.into()),
    };
    let (mut journal, state) = Journal::resume(dir)?;
    match &state.run {
        Some(Record::Run {
            plan_sha256,
            plan_fingerprint,
            ..
        }) if *plan_sha256 == settings.plan_sha256
            && *plan_fingerprint == store.header.fingerprint => {}
        _ => bail!(
            "{}: the journal belongs to another plan; it cannot be resumed with this plan.json",
            dir.join("journal.jsonl").display()
        ),
    }
    let rows = store.len();
    let unfinished = rows - state.finished.len().min(rows);
    eprintln!(
        "mfa-reset: resuming {}: {} of {} rows finished earlier, {} to go",
        dir.display(),
        state.finished.len(),
        rows,
        unfinished
    );
    let plan = digest_plan(store)?;
    let options = RunOptions {
        on_drift: if settings.on_drift == "replan" {
            OnDrift::Replan
        } else {
            OnDrift::Skip
        },
        verify: settings.verify,
        contain_first: settings.contain_first,
    };
    runtime.block_on(async {
        let Connection { client, sim } = args.graph.connect(|k| std::env::var(k).ok()).await?;
        if sim.is_some() {
            sim_banner();
        }
        let graph_root = client.endpoints().graph().to_string();
        if !(settings.sim && sim.is_some()) && settings.graph != graph_root {
            bail!(
                "the run went to {} but this resume would go to {}; resume against the same Graph",
                settings.graph,
                graph_root
            );
        }
        if let Err(e) = client.check_credentials().await {
            eprintln!("mfa-reset: credentials refused: {e}. Nothing more was changed.");
            return Ok(ExitCode::from(EXIT_AUTH));
        }
        let code = execute(
            Arc::new(client),
            &args.graph,
            &plan,
            options,
            &mut journal,
            state,
            dir,
            &graph_root,
            sim.is_some(),
        )
        .await?;
        drop(sim);
        Ok(code)
    })
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    client: Arc<crate::graph::client::GraphClient>,
    graph: &GraphArgs,
    plan: &RunPlan,
    options: RunOptions,
    journal: &mut Journal,
    state: JournalState,
    dir: &Path,
    graph_root: &str,
    sim: bool,
) -> anyhow::Result<ExitCode> {
    let started = now_rfc3339();
    let clock = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let interrupts = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nmfa-reset: stopping: no new users are started; requests in flight finish (Ctrl-C again to quit at once; the journal stays consistent)"
            );
            let _ = stop_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
    let pacer = Arc::new(Pacer::new(graph.pacer_settings()));
    let write_rate = graph.pacer_settings().writes.per_second();
    let mut display = ProgressDisplay::new(write_rate);
    // Results are written as the outcomes come, in row order, at the end of the run.
    let mut results = RunResultsWriter::create(
        &dir.join("results.csv"),
        &dir.join("results.jsonl"),
        &plan.extra_columns,
    );
    let mut outcomes = RunDigest::new();
    let mut failed = false;
    let result = run::run_plan(
        client,
        pacer,
        graph.dispatcher_settings(),
        &plan.store,
        options,
        RunFiles {
            journal,
            state,
            dir,
        },
        stop_rx,
        |p| display.update(p),
        |outcome| {
            let status = outcome.final_status();
            failed |= status.is_failure() || status == RunStatus::Drifted;
            if let Ok(writer) = &mut results
                && let Err(e) = writer.write(&outcome)
            {
                results = Err(e);
            }
            outcomes.add(&outcome);
        },
    )
    .await;
    interrupts.abort();
    display.finish();

    let figures = RunFigures {
        started,
        ended: now_rfc3339(),
        wall_seconds: clock.elapsed().as_secs_f64(),
        writes_sent: result.writes_sent,
        throttled: result.throttled,
        retries: result.retried,
        interrupted: result.interrupted,
        graph: graph_root.to_string(),
        sim,
    };
    let reports = results
        .and_then(RunResultsWriter::finish)
        .map_err(anyhow::Error::from)
        .and_then(|()| write_reports(dir, &plan.digest, &outcomes, &figures));
    eprintln!(
        "mfa-reset: {} — results in {}",
        RunStatus::ALL
            .iter()
            .map(|s| (s, outcomes.tally.count(*s)))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", "),
        dir.display()
    );
    if let Some(failure) = &result.failure {
        eprintln!(
            "mfa-reset: the run stopped: {failure}. What was done is in the journal; fix the cause, then `mfa-reset resume {}`",
            dir.display()
        );
    }
    if let Err(e) = reports {
        eprintln!(
            "mfa-reset: error: the reports could not be written: {e:#}. Every outcome is in {}; once the cause is fixed, `mfa-reset resume {}` writes them again",
            dir.join("journal.jsonl").display(),
            shell_quote(dir)
        );
        return Ok(ExitCode::from(if result.interrupted {
            EXIT_INTERRUPTED
        } else {
            1
        }));
    }
    if result.interrupted {
        eprintln!(
            "mfa-reset: interrupted. Carry on with: mfa-reset resume {}",
            shell_quote(dir)
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_reports(
    dir: &Path,
    plan: &PlanDigest,
    outcomes: &RunDigest,
    figures: &RunFigures,
) -> anyhow::Result<()> {
    report::run::write_summary(
        &dir.join("summary.md"),
        &plan.header,
        &plan.figures,
        outcomes,
        figures,
    )?;
    report::run::write_html(
        &dir.join("report.html"),
        &plan.header,
        &plan.figures,
        outcomes,
        figures,
    )?;
    Ok(())
}

/// Asks the operator to confirm a large run, unless `--yes`.
fn confirm(plan: &PlanDigest, run: &RunArgs) -> anyhow::Result<bool> {
    let users = plan.figures.users_affected;
    if users <= run.confirm_above || run.yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "this run changes {users} users (more than --confirm-above {}), and there is no terminal to confirm it on. Read the plan's summary, then run again with --yes",
            run.confirm_above
        );
    }
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "This run changes {users} users ({} Graph writes, at least {}). Type {users} to go on: ",
        plan.header.writes,
        report::human_duration(plan.header.minimum_seconds)
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the confirmation")?;
    if answer.trim() == users.to_string() {
        Ok(true)
    } else {
        eprintln!("mfa-reset: not confirmed; nothing was changed.");
        Ok(false)
    }
}

/// Whether the file at `path` is a plan (a JSON object whose `format` is a plan's) rather
/// than a user list. Read as a stream: nothing but that field is kept.
fn is_plan_file(path: &Path) -> anyhow::Result<bool> {
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<String>,
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let probe: Result<Probe, _> =
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    Ok(probe.is_ok_and(|p| p.format.as_deref() == Some(PLAN_FORMAT)))
}

/// Whether a plan read from one Graph is being applied to another. Plans read from an
/// emulator may be applied to an emulator.
fn given_plan_targets_elsewhere(plan: &PlanHeader, graph_root: &str, sim: bool) -> bool {
    let loopback = |url: &str| {
        url.contains("://127.0.0.1") || url.contains("://[::1]") || url.contains("://localhost")
    };
    if sim && loopback(&plan.graph) {
        return false;
    }
    plan.graph != graph_root
}

fn prepare_run_dir(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output folder {}", out.display()))?;
    if out.join("journal.jsonl").exists() {
        bail!(
            "{} already holds a run; resume it with `mfa-reset resume {}`, or choose another --out folder",
            out.display(),
            out.display()
        );
    }
    if out.join("plan.json").exists() {
        bail!(
            "{} holds a plan; a run writes its own results, so give it a new --out folder (the plan stays as the change board read it)",
            out.display()
        );
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn sim_banner() {
    eprintln!(
        "mfa-reset: --tenant sim: running against the built-in Graph emulator. No real tenant is touched."
    );
}

fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The progress display: indicatif bars on a terminal, a plain line every few seconds
/// otherwise.
struct ProgressDisplay {
    write_rate: f64,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
    last: Progress,
}

impl ProgressDisplay {
    const PLAIN_EVERY: Duration = Duration::from_secs(5);

    fn new(write_rate: f64) -> ProgressDisplay {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} users  {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        ProgressDisplay {
            write_rate,
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
            last: Progress::default(),
        }
    }

    fn message(&self, p: &Progress) -> String {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let remaining = p.writes_total.saturating_sub(p.writes_done);
        format!(
            "{:.1} writes/s of {:.1} allowed, {} throttled (429), about {} left",
            p.writes_done as f64 / elapsed,
            self.write_rate,
            p.throttled,
            report::human_duration(remaining as f64 / self.write_rate.max(0.001))
        )
    }

    fn update(&mut self, p: &Progress) {
        self.last = *p;
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.users_total as u64);
                bar.set_position(p.users_done as u64);
                bar.set_message(self.message(p));
            }
            None => {
                if self.last_line.elapsed() >= Self::PLAIN_EVERY {
                    self.last_line = Instant::now();
                    eprintln!(
                        "mfa-reset: {}/{} users, {}",
                        p.users_done,
                        p.users_total,
                        self.message(p)
                    );
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
