//! `mfa-reset resume DIR`: carries on with an interrupted run (Ctrl-C, a crash, a kill -9)
//! from its journal, the same way it was started (`run.json`) and against the same Graph.
//! Finished users are not touched again and no Temporary Access Pass is issued twice.
//!
//! ```text
//! mfa-reset resume run-2026-11-28
//! ```
//!
//! Exit codes as for `apply` ([`crate::exit::RUN_EXIT_CODES`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;

use super::args::graph::{Connection, GraphArgs};
use super::carry_out::{self, Destination, Staged};
use crate::engine::journal::{Journal, JournalState, Record};
use crate::engine::lock::RunLock;
use crate::engine::run::RunFiles;
use crate::engine::settings::RunSettings;
use crate::exit::{CliError, CliResult, UsageContext};
use crate::plan::store::{self, PlanStore, StoreError};

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The folder of the interrupted run (the --out of `mfa-reset apply`).
    pub dir: PathBuf,
    #[command(flatten, next_help_heading = "Tenant, credentials and pacing")]
    pub graph: GraphArgs,
}

/// Runs `mfa-reset resume`.
pub fn run(args: ResumeArgs) -> CliResult {
    let dir = &args.dir;
    let plan_path = dir.join("plan.json");
    if !plan_path.is_file() {
        return Err(CliError::usage(anyhow!(
            "{} holds no run to resume (cannot read {}); start one with `mfa-reset apply`",
            dir.display(),
            plan_path.display()
        )));
    }
    let settings = RunSettings::read(dir).usage()?;
    let runtime = super::runtime()?;
    let _lock = RunLock::acquire(dir).usage()?;
    carry_out::announce_reading(&plan_path, "checking");
    // Dropped (and so removed) when the resume ends.
    let (store, _copy) = open_plan(dir, &settings).usage()?;
    let (mut journal, state) = Journal::resume(dir).usage()?;
    check_journal(dir, &state, &settings, &store).usage()?;
    let rows = store.len();
    eprintln!(
        "mfa-reset: resuming {}: {} of {} rows finished earlier, {} to go",
        dir.display(),
        state.finished.len(),
        rows,
        rows - state.finished.len().min(rows)
    );
    let plan = carry_out::digest_plan(store)?;
    runtime.block_on(async {
        let Connection { client, sim } = super::connect(&args.graph).await?;
        let destination = Destination {
            graph_root: client.endpoints().graph().to_string(),
            sim: sim.is_some(),
        };
        if !(settings.sim && destination.sim) && settings.graph != destination.graph_root {
            return Err(CliError::usage(anyhow!(
                "the run went to {} but this resume would go to {}; resume against the same Graph",
                settings.graph,
                destination.graph_root
            )));
        }
        if let Err(e) = client.check_credentials().await {
            return super::credentials_refused(e, ". Nothing more was changed.");
        }
        let files = RunFiles {
            journal: &mut journal,
            state,
            dir,
        };
        let options = settings.options();
        let exit = carry_out::carry_out(
            Arc::new(client),
            &args.graph,
            &plan,
            options,
            files,
            &destination,
        )
        .await?;
        drop(sim);
        Ok(exit)
    })
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
