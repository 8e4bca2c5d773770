//! What `apply` and `resume` share: a plan taken into the run's folder and checked
//! ([`import_plan`], [`digest_plan`]), and [`carry_out`], which runs it through the engine
//! with the journal, the progress display and Ctrl-C handling, then writes the run's
//! results and reports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::args::graph::GraphArgs;
use super::interrupt::Interrupts;
use super::progress::ProgressDisplay;
use crate::cli::log::say;
use crate::engine::containment::log::ContainmentLog;
use crate::engine::outcome::RunStatus;
use crate::engine::pacer::Pacer;
use crate::engine::run::{self, RunFiles, TripCause, now_rfc3339};
use crate::engine::settings::{RunConnection, RunOptions};
use crate::exit::Exit;
use crate::graph::client::GraphClient;
use crate::graph::role_holders::{self, RoleHolders, RoleHoldersRead};
use crate::plan::store::{self, PlanStore, StoreError};
use crate::report::run::{RunDigest, RunFigures, RunResultsWriter};
use crate::report::{self, PlanDigest};
use crate::sim::SimHandle;

/// A file that is removed when dropped, unless kept.
pub struct Staged(Option<PathBuf>);

impl Staged {
    pub fn new(path: PathBuf) -> Staged {
        Staged(Some(path))
    }

    pub fn path(&self) -> &Path {
        self.0.as_deref().expect("not kept yet")
    }

    pub fn keep(&mut self) {
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
pub struct RunPlan {
    pub store: PlanStore,
    pub digest: PlanDigest,
    pub extra_columns: Vec<String>,
}

/// Says so when a plan is large enough for reading it to take a while (a million users'
/// plan is about a gigabyte: tens of seconds), so that the wait is not taken for a hang.
pub fn announce_reading(path: &Path, what: &str) {
    const LARGE: u64 = 100 << 20;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() >= LARGE
    {
        say!(
            "mfa-reset: {what} {} ({:.1} GB) before anything changes…",
            path.display(),
            meta.len() as f64 / 1e9
        );
    }
}

/// Copies the plan at `given` to `dest`, refusing it when it was edited after it was
/// written, and reads it through once for its figures.
pub fn import_plan(given: &Path, dest: &Path) -> Result<RunPlan, StoreError> {
    announce_reading(given, "checking");
    digest_plan(store::import(given, dest)?)
}

/// Reads every entry of `store` once for the figures and columns the reports need.
pub fn digest_plan(store: PlanStore) -> Result<RunPlan, StoreError> {
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

/// Where a run's requests go: the Graph service root, whether it is the emulator, and
/// the connection flags that reach it (recorded in `run.json` for `resume`).
pub struct Destination {
    pub graph_root: String,
    pub sim: bool,
    pub connection: RunConnection,
}

/// Carries out `plan` through `client` (the journal and the state of an earlier,
/// interrupted run in `files`), then writes the results and reports to `files.dir`.
/// Ctrl-C (or SIGTERM, SIGHUP) stops new work and lets requests in flight finish; a second
/// one stops at once, leaving the results to `resume` (the journal stays consistent either
/// way). `interrupted_before`: a stop was asked for before the run began; it starts
/// stopped.
#[allow(clippy::too_many_arguments)]
pub async fn carry_out(
    client: Arc<GraphClient>,
    pacer: Arc<Pacer>,
    graph: &GraphArgs,
    plan: &RunPlan,
    options: RunOptions,
    files: RunFiles<'_>,
    destination: &Destination,
    interrupted_before: bool,
) -> anyhow::Result<Exit> {
    let dir = files.dir;
    let mut options = options;
    if options.role_holders.is_none() && plan.store.header.policy.reads_roles() {
        options.role_holders = list_role_holders(&client).await;
    }
    let started = now_rfc3339();
    let clock = Instant::now();
    // A stop asked for before the run began (between the phases of a containment from
    // the list): the run starts stopped, every user pending, and `resume` carries on.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(interrupted_before);
    let interrupts = Interrupts::listen().context("cannot listen for Ctrl-C")?;
    let interrupted_twice = stop_on_signals(interrupts, stop_tx);
    let mut display = ProgressDisplay::new(graph.pacer_settings().writes);
    // Results are written as the outcomes come, in row order, at the end of the run.
    let tenant_id = plan.store.header.tenant.as_ref().map(|t| t.id.as_str());
    let mut results = RunResultsWriter::create(
        &dir.join("results.csv"),
        &dir.join("results.jsonl"),
        &plan.extra_columns,
    )
    .map(|w| w.with_tenant(tenant_id));
    let mut outcomes = RunDigest::new();
    let mut failed = false;
    let running = run::run_plan(
        client,
        pacer,
        graph.dispatcher_settings(),
        &plan.store,
        options,
        files,
        stop_rx,
        |p| display.update(p),
        |outcome| {
            let status = outcome.final_status();
            failed |= !status.exits_zero();
            if let Ok(writer) = &mut results
                && let Err(e) = writer.write(&outcome)
            {
                results = Err(e);
            }
            outcomes.add(&outcome);
        },
    );
    let result = tokio::select! {
        result = running => result,
        () = interrupted_twice => {
            say!(
                "\nmfa-reset: quit. Every change made so far is in the journal; carry on with: mfa-reset resume {}",
                shell_quote(dir)
            );
            return Ok(Exit::Interrupted);
        }
    };
    display.finish();

    let figures = RunFigures {
        started,
        ended: now_rfc3339(),
        wall_seconds: clock.elapsed().as_secs_f64(),
        writes_sent: result.writes_sent,
        throttled: result.throttled,
        retries: result.retried,
        interrupted: result.interrupted,
        graph: destination.graph_root.clone(),
        sim: destination.sim,
        containment: ContainmentLog::describe(dir),
    };
    let reports = results
        .and_then(RunResultsWriter::finish)
        .map_err(anyhow::Error::from)
        .and_then(|()| write_reports(dir, &plan.digest, &outcomes, &figures));
    say!(
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
        say!(
            "mfa-reset: the run stopped: {failure}. What was done is in the journal; fix the cause, then `mfa-reset resume {}`",
            shell_quote(dir)
        );
    }
    if let Err(e) = reports {
        say!(
            "mfa-reset: error: the reports could not be written: {e:#}. Every outcome is in {}; once the cause is fixed, `mfa-reset resume {}` writes them again",
            dir.join("journal.jsonl").display(),
            shell_quote(dir)
        );
        return Ok(if result.interrupted {
            Exit::Interrupted
        } else {
            Exit::Failures
        });
    }
    if let Some(stopped) = &result.stopped {
        return Ok(report_stopped(
            stopped,
            dir,
            outcomes.tally.count(RunStatus::Failed) + outcomes.tally.count(RunStatus::Partial) > 0,
        ));
    }
    if result.interrupted {
        say!(
            "mfa-reset: interrupted. Carry on with: mfa-reset resume {}",
            shell_quote(dir)
        );
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::failures_if(failed))
}

/// The tenant's role holders as they are now, for a run of a plan made earlier: an admin
/// made since (eligible, scoped, custom role), whom the user's own roles do not show, is
/// then drift at the re-read, not changed. What cannot be listed is said, and the run
/// goes on with what the plan knew (the plan was checked when it was made, and the
/// re-read still sees active roles).
async fn list_role_holders(client: &GraphClient) -> Option<Arc<RoleHolders>> {
    match role_holders::read(&client.preflight()).await {
        Ok(RoleHoldersRead::Complete(holders)) => {
            if let Some(why) = holders.unread() {
                say!(
                    "mfa-reset: warning: {why}: an admin of that kind made since the plan is not known"
                );
            }
            Some(Arc::new(holders))
        }
        Ok(RoleHoldersRead::Incomplete { why }) => {
            say!(
                "mfa-reset: warning: the tenant's admins could not be listed again ({why}): an admin made since the plan is known only by their own roles"
            );
            None
        }
        Err(e) => {
            say!(
                "mfa-reset: warning: the tenant's admins could not be listed again ({e}): an admin made since the plan is known only by their own roles"
            );
            None
        }
    }
}

/// The first Ctrl-C, SIGTERM or SIGHUP asks the run to stop (`stop`); the future ends at
/// the second, when the command quits at once.
async fn stop_on_signals(mut interrupts: Interrupts, stop: tokio::sync::watch::Sender<bool>) {
    let first = interrupts.next().await;
    say!(
        "\nmfa-reset: stopping ({first}): no new users are started; requests in flight finish (Ctrl-C again to quit at once; the journal stays consistent)"
    );
    let _ = stop.send(true);
    interrupts.next().await;
}

/// The one message of a run the circuit breaker stopped, and its exit code: 3 when the
/// credential was refused, 1 otherwise.
fn report_stopped(stopped: &run::Tripped, dir: &Path, some_failed: bool) -> Exit {
    let (fix, exit) = match stopped.cause {
        TripCause::Credentials => (
            "check the credential (a ready token may have expired: get a new one; a client \
             secret or certificate may have been removed from the app)",
            Exit::Refused,
        ),
        TripCause::Unreachable => (
            "check the network and Graph's service health",
            Exit::Failures,
        ),
        TripCause::Refused => (
            "fix the cause Graph gives (a permission to grant, a tenant policy to change, or \
             a new plan)",
            Exit::Failures,
        ),
    };
    let retry = if some_failed {
        " --retry-failed` (which also retries the users that ended failed or partial)"
    } else {
        "`"
    };
    say!(
        "mfa-reset: the run stopped: {}. No more users were started, and the users not \
         finished are pending; no method was removed from a user whose disable or pass \
         failed. To finish: {fix}, then `mfa-reset resume {}{retry}",
        stopped.summary,
        shell_quote(dir)
    );
    exit
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

/// The emulated tenant as a `--tenant sim` run left it, in the run's folder.
pub const SIM_TENANT_FILE: &str = "sim-tenant.json";

/// Saves the tenant of the emulator a `--tenant sim` run went to, as the run left it
/// ([`SIM_TENANT_FILE`], in the tenant-file format, which holds no pass or secret), so
/// that `resume` carries on against it: the emulator itself ends with the command. Best
/// effort: without the file (a run killed with kill -9), a resume starts the emulator
/// from the tenant the run started on, and says so.
pub fn keep_sim_tenant(dir: &Path, sim: Option<&SimHandle>) {
    let Some(sim) = sim else {
        return;
    };
    let path = dir.join(SIM_TENANT_FILE);
    let partial = dir.join(format!("{SIM_TENANT_FILE}.partial"));
    let written = serde_json::to_vec(&sim.state())
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&partial, bytes))
        .and_then(|()| std::fs::rename(&partial, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        say!(
            "mfa-reset: warning: cannot save the emulated tenant to {}: {e}; a resume would start the emulator from the tenant the run started on",
            path.display()
        );
    }
}

pub use crate::engine::hint::shell_quote;
