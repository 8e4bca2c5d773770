//! `mfa-reset resume DIR`: carries on with an interrupted run (Ctrl-C, a crash, a kill -9)
//! from its journal, the same way it was started and against the same Graph, both read
//! from the run's `run.json`. Finished users are not touched again and no Temporary Access
//! Pass is issued twice; with `--retry-failed`, users who ended `failed` or `partial` are
//! taken up again (once the cause is fixed: a permission granted, say).
//!
//! ```text
//! mfa-reset resume run-2026-11-28
//! mfa-reset resume run-2026-11-28 --retry-failed
//! ```
//!
//! No flag is needed: the cloud, the hosts and the emulator's tenant (`--tenant sim`), the
//! credential source and the pacing are the run's. A target flag that names another
//! Graph is refused (exit 2, nothing changed); the credential source and the pacing may
//! be given to change them. Credentials come from the environment, as for `apply`.
//!
//! `--tenant sim`: the emulator runs inside the process and ends with it, so `apply` and
//! `resume` save its tenant as the run left it (`sim-tenant.json`, no pass or secret in
//! it) and a resumed rehearsal starts the emulator again from that. After a kill -9 there
//! is none: the emulator starts from the tenant the run started on (its seed and size, or
//! tenant file), without what the run changed, and the resume says so.
//!
//! Exit codes as for `apply` ([`crate::exit::RUN_EXIT_CODES`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;

use super::args::graph::{Connection, GraphArgs, ResumeTargetError, target_flags};
use super::carry_out::{self, Destination, Staged, shell_quote};
use super::contain;
use crate::cli::log::say;
use crate::engine::containment::log::ContainmentLog;
use crate::engine::journal::{Journal, JournalState, Record};
use crate::engine::lock::RunLock;
use crate::engine::pacer::Pacer;
use crate::engine::run::RunFiles;
use crate::engine::settings::RunSettings;
use crate::exit::{CliError, CliResult, UsageContext};
use crate::plan::store::{self, PlanStore, StoreError};

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The folder of the run (the --out of `mfa-reset apply`).
    pub dir: PathBuf,
    /// Take up again the users who ended failed or partial, once the cause is fixed (a
    /// permission granted, say): their steps that failed run again after their methods
    /// are read anew; steps done stay done. Other users are not touched.
    #[arg(long)]
    pub retry_failed: bool,
    #[command(flatten)]
    pub output: super::output::OutputArgs,
    #[command(
        flatten,
        next_help_heading = "Graph connection (the run's, from run.json, unless given)"
    )]
    pub graph: GraphArgs,
}

/// Runs `mfa-reset resume`.
pub fn run(args: ResumeArgs) -> CliResult {
    let dir = &args.dir;
    let plan_path = dir.join("plan.json");
    if !plan_path.is_file() && dir.join(crate::tenants::RUN_TENANTS_FILE).is_file() {
        return super::tenants::resume(args);
    }
    if !plan_path.is_file() && ContainmentLog::path_in(dir).is_file() {
        return resume_containment(&args);
    }
    if !plan_path.is_file() {
        return Err(CliError::usage(anyhow!(
            "{} holds no run to resume (cannot read {}); start one with `mfa-reset apply`",
            dir.display(),
            plan_path.display()
        )));
    }
    let settings = RunSettings::read(dir).usage()?;
    let mut graph = connection_flags(&args, &settings).usage()?;
    if graph.credentials.is_none()
        && let Some(tenant) = super::tenants::graph_of_tenant_folder(dir, &graph)
    {
        // One tenant of a run over several, resumed alone: its credential as the tenants
        // file names it.
        graph = tenant?;
    }
    let runtime = super::runtime()?;
    let _lock = RunLock::acquire(dir).usage()?;
    carry_out::announce_reading(&plan_path, "checking");
    // Dropped (and so removed) when the resume ends.
    let (store, _copy) = open_plan(dir, &settings).usage()?;
    let (mut journal, mut state) = Journal::resume(dir).usage()?;
    check_journal(dir, &state, &settings, &store).usage()?;
    let plan = carry_out::digest_plan(store)?;
    if settings.sim && graph.is_sim() {
        continue_emulated_tenant(dir, &mut graph);
    }
    runtime.block_on(async {
        let (Connection { client, sim }, destination) = match reconnect(&graph, &settings).await {
            Ok(connected) => connected,
            Err(end) => return end,
        };
        let tenant = match super::read_tenant(&client, ". Nothing more was changed.").await {
            Ok(tenant) => tenant,
            Err(end) => return end,
        };
        super::refuse_unexpected_tenant(&graph, tenant.as_ref())?;
        super::refuse_other_tenant(plan.store.header.tenant.as_ref(), tenant.as_ref())?;
        say!(
            "mfa-reset: resuming against {}",
            super::apply::target_words(tenant.as_ref(), destination.sim)
        );
        super::ready_secrets(dir, &plan.store.header, settings.restore_data)?;
        // Journaled only now that the run can go on: a retry refused at the door leaves
        // the journal as it was.
        let retried = if args.retry_failed {
            Some(journal.retry_failed(&mut state)?.len())
        } else {
            None
        };
        announce(dir, &state, plan.store.len(), retried);
        let files = RunFiles {
            journal: &mut journal,
            state,
            dir,
        };
        let options = settings.options();
        let exit = carry_out::carry_out(
            Arc::new(client),
            Arc::new(Pacer::new(graph.pacer_settings())),
            &graph,
            &plan,
            options,
            files,
            &destination,
            false,
        )
        .await?;
        carry_out::keep_sim_tenant(dir, sim.as_ref());
        Ok(exit)
    })
}

/// Carries on a run that contained from the list and stopped before its plan was made
/// (`DIR/containment.jsonl`, no `plan.json`): the rows not yet contained are contained,
/// then the rest is planned and run, as `apply` would have.
fn resume_containment(args: &ResumeArgs) -> CliResult {
    let dir = &args.dir;
    let start = ContainmentLog::read_start(dir).usage()?;
    let settings = RunSettings {
        plan_sha256: String::new(),
        graph: start.graph.clone(),
        sim: start.sim,
        on_drift: start.on_drift,
        verify: start.verify,
        contain_first: true,
        restore_data: start.restore_data,
        connection: Some(start.connection.clone()),
        tenant: None,
    };
    let mut graph = connection_flags(args, &settings).usage()?;
    let runtime = super::runtime()?;
    let _lock = RunLock::acquire(dir).usage()?;
    let mut prepared = contain::reprepare(&start)?;
    if settings.sim && graph.is_sim() {
        continue_emulated_tenant(dir, &mut graph);
    }
    runtime.block_on(async {
        let (Connection { client, sim }, destination) = match reconnect(&graph, &settings).await {
            Ok(connected) => connected,
            Err(end) => return end,
        };
        let mut notes = Vec::new();
        prepared.tenant = match super::read_tenant(&client, ". Nothing more was changed.").await
        {
            Ok(tenant) => tenant,
            Err(end) => return end,
        };
        if let Err(end) = super::read_guardrails(
            &client,
            &mut prepared,
            &start.exclude_groups,
            &mut notes,
            ". Nothing more was changed.",
        )
        .await
        {
            return end;
        }
        let client = Arc::new(client);
        let (log, mut state) = ContainmentLog::resume(dir).usage()?;
        let guard = match contain::read_guard(&client, &graph, &prepared).await {
            Err(end) => return end,
            Ok(Ok(guard)) => guard,
            Ok(Err(why)) => {
                say!(
                    "mfa-reset: note: {why}: the users not contained yet are read before anything more is changed, as a plan is."
                );
                state.finished = true;
                crate::engine::containment::Guard::default()
            }
        };
        let (revoked, _) = state.rows.counts();
        say!(
            "mfa-reset: resuming {}: {revoked} users were contained before it stopped.",
            dir.display()
        );
        contain::contain_then_apply(
            contain::ContainRun {
                client,
                graph: &graph,
                out: dir,
                options: settings.options(),
                destination: &destination,
                sim: sim.as_ref(),
            },
            prepared,
            guard,
            notes,
            contain::Begin::Resumed {
                log,
                state: Box::new(state),
            },
        )
        .await
    })
}

/// Connects as the run did and proves the credential: refused when the flags reach
/// another Graph than the run's (nothing changed).
pub(super) async fn reconnect(
    graph: &GraphArgs,
    settings: &RunSettings,
) -> Result<(Connection, Destination), CliResult> {
    let connection = super::connect(graph).await.map_err(Err)?;
    let destination = Destination {
        graph_root: connection.client.endpoints().graph().to_string(),
        sim: connection.sim.is_some(),
        connection: graph.record(),
    };
    if !(settings.sim && destination.sim) && settings.graph != destination.graph_root {
        return Err(Err(CliError::usage(anyhow!(
            "the run went to {} but this resume would go to {}; resume against the same Graph. Nothing was changed",
            settings.graph,
            destination.graph_root
        ))));
    }
    if let Err(e) = connection.client.check_credentials().await {
        return Err(super::credentials_refused(e, ". Nothing more was changed."));
    }
    Ok((connection, destination))
}

/// A `--tenant sim` run: the emulator lived in the process that ran it, so it starts
/// again, from the tenant as the run left it (`sim-tenant.json`, saved when a command
/// ends) or, when that was not saved (kill -9), from the tenant the run started on.
pub(super) fn continue_emulated_tenant(dir: &Path, graph: &mut GraphArgs) {
    let saved = dir.join(carry_out::SIM_TENANT_FILE);
    if saved.is_file() {
        say!(
            "mfa-reset: the built-in emulator starts again from the emulated tenant as the run left it ({})",
            saved.display()
        );
        graph.sim_tenant_file = Some(saved);
    } else {
        say!(
            "mfa-reset: warning: the emulated tenant was not saved when the run stopped ({} is missing): the built-in emulator starts again from the tenant the run started on, without what the run changed. Users finished earlier keep their results; a user stopped half-way may be reported partial",
            saved.display()
        );
    }
}

/// The connection flags the resume runs with: the run's own (`run.json`), the credential
/// source and pacing replaced where given. A target flag naming another Graph than the
/// run's is refused. A run recorded before `run.json` kept its connection is resumed with
/// the flags as given, and checked against its Graph root once connected.
fn connection_flags(args: &ResumeArgs, settings: &RunSettings) -> anyhow::Result<GraphArgs> {
    run_connection(&args.graph, &args.dir, settings)
}

/// The flags that reach the Graph the run in `dir` went to: the run's, with `given`'s
/// credential source and pacing; a target flag naming another Graph is refused.
pub(super) fn run_connection(
    given: &GraphArgs,
    run_dir: &Path,
    settings: &RunSettings,
) -> anyhow::Result<GraphArgs> {
    let Some(run) = &settings.connection else {
        return Ok(given.clone());
    };
    given.resumed(run).map_err(|e| match e {
        ResumeTargetError::Other(_) => {
            let dir = shell_quote(run_dir);
            let target = match &run.sim {
                Some(_) => "the built-in emulator".to_string(),
                None => settings.graph.clone(),
            };
            let own = target_flags(run);
            let own = if own.is_empty() {
                String::new()
            } else {
                let words: Vec<String> = own
                    .iter()
                    .map(|w| shell_quote(Path::new(w)))
                    .collect();
                format!(", or with the run's own: `mfa-reset resume {dir} {}`", words.join(" "))
            };
            anyhow!(
                "the run went to {target}, but the flags name another target: {e}. A run is resumed against the Graph it started on; nothing was changed. Resume with no target flags: `mfa-reset resume {dir}`{own}"
            )
        }
        other => other.into(),
    })
}

/// One line on where the resumed run stands.
fn announce(dir: &Path, state: &JournalState, rows: usize, retried: Option<usize>) {
    let finished = state.finished.len().min(rows);
    let retrying = match retried {
        None => String::new(),
        Some(0) => "; no user ended failed or partial, so none is retried".into(),
        Some(n) => format!("; {n} that ended failed or partial taken up again"),
    };
    say!(
        "mfa-reset: resuming {}: {finished} of {rows} rows finished earlier, {} to go{retrying}",
        dir.display(),
        rows - finished,
    );
}

/// The run's `plan.json`, refused when it changed since the run started. A plan laid out
/// otherwise (a run started by an earlier version of this tool) that is byte for byte the
/// plan the run started with is carried on from a copy in this version's layout, removed
/// when the copy is dropped; `plan.json` itself stays as it is.
fn open_plan(dir: &Path, settings: &RunSettings) -> anyhow::Result<(PlanStore, Option<Staged>)> {
    let plan_path = dir.join("plan.json");
    let changed = || {
        anyhow!(
            "{} was changed after the run started (its hash no longer matches run.json); a run carries out the plan it started with. Start a new run with `mfa-reset apply`",
            plan_path.display()
        )
    };
    match PlanStore::open(&plan_path) {
        Ok(store) if store.sha256() == settings.plan_sha256 => Ok((store, None)),
        Ok(_) => Err(changed()),
        Err(StoreError::Invalid { .. }) => {
            if store::file_sha256(&plan_path)? != settings.plan_sha256 {
                return Err(changed());
            }
            let copy = Staged::new(dir.join("plan.json.resume"));
            let store = store::import(&plan_path, copy.path())?;
            Ok((store, Some(copy)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses a journal that belongs to another plan than `store`.
fn check_journal(
    dir: &Path,
    state: &JournalState,
    settings: &RunSettings,
    store: &PlanStore,
) -> anyhow::Result<()> {
    match &state.run {
        Some(Record::Run {
            plan_sha256,
            plan_fingerprint,
            ..
        }) if *plan_sha256 == settings.plan_sha256
            && *plan_fingerprint == store.header.fingerprint =>
        {
            Ok(())
        }
        _ => Err(anyhow!(
            "{}: the journal belongs to another plan; it cannot be resumed with this plan.json",
            dir.join("journal.jsonl").display()
        )),
    }
}
