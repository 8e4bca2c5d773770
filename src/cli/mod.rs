//! The command line: one file per subcommand, each with its flags, their help and its
//! `run` — [`check`], [`plan`], [`apply`], [`resume`], [`sim`]. The flags several
//! subcommands share are defined once ([`args`], [`log`]); what `apply` and `resume`
//! share is [`carry_out`], what the operator sees while they work [`progress`]. Every
//! command ends in an [`crate::exit::Exit`] or a [`crate::exit::CliError`], which `main` maps to the
//! process's exit code.

pub mod apply;
pub mod args;
pub mod carry_out;
pub mod check;
pub mod interrupt;
pub mod log;
pub mod plan;
pub mod progress;
pub mod resume;
pub mod sim;

use clap::{Parser, Subcommand};

use crate::exit::{CliError, CliResult, Exit};
use crate::graph::auth::AuthError;

/// Reset MFA, revoke sessions and offboard Microsoft Entra ID users in bulk.
#[derive(Debug, Parser)]
#[command(name = "mfa-reset", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub log: log::LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a user list offline: list every problem with its line and column.
    Check(check::CheckArgs),
    /// Dry run: read the tenant and write what a run would change, changing nothing.
    #[command(after_long_help = crate::exit::PLAN_EXIT_CODES)]
    Plan(Box<plan::PlanArgs>),
    /// Carry out a plan (or plan and carry out a user list), journaling every change.
    #[command(after_long_help = crate::exit::RUN_EXIT_CODES)]
    Apply(Box<apply::ApplyArgs>),
    /// Carry on with an interrupted run, or retry its failed users (--retry-failed).
    ///
    /// A run resumes as it was started, from its run.json: its --on-drift, verification
    /// and containment order, and its target (--cloud, --login-url, --graph-url, --tenant
    /// sim and the emulator's tenant), credential source and pacing. `mfa-reset resume DIR`
    /// needs no other flag; a target flag naming another Graph is refused, while --auth and
    /// the pacing flags may be given to change them. Credentials come from the environment.
    ///
    /// The built-in emulator (--tenant sim) lives only as long as a command: a rehearsal
    /// saves its emulated tenant in DIR/sim-tenant.json when it stops, and a resume starts
    /// the emulator again from there (after a kill -9, from the tenant the run started
    /// on, and says so).
    #[command(after_long_help = crate::exit::RUN_EXIT_CODES)]
    Resume(Box<resume::ResumeArgs>),
    /// Run the built-in Microsoft Graph emulator, for rehearsals and tests.
    Sim(sim::SimArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    log::init(&cli.log).map_err(crate::exit::CliError::usage)?;
    let name = match &cli.command {
        Command::Check(_) => "check",
        Command::Plan(_) => "plan",
        Command::Apply(_) => "apply",
        Command::Resume(_) => "resume",
        Command::Sim(_) => "sim",
    };
    tracing::info!(
        command = name,
        version = env!("CARGO_PKG_VERSION"),
        "started"
    );
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Plan(args) => plan::run(*args),
        Command::Apply(args) => apply::run(*args),
        Command::Resume(args) => resume::run(*args),
        Command::Sim(args) => sim::run(args),
    };
    match &result {
        Ok(exit) => tracing::info!(command = name, exit = exit.code(), "finished"),
        Err(e) => tracing::warn!(command = name, error = %e, exit = e.exit.code(), "failed"),
    }
    result
}

/// How a command ends when the credentials were refused before anything was sent: said
/// with what it means for the tenant (`consequence`), logged with the `AADSTS` code an
/// administrator looks up. A fault of the configuration itself (a variable missing or
/// malformed) is bad usage instead.
fn credentials_refused(error: AuthError, consequence: &str) -> CliResult {
    if error.is_configuration() {
        return Err(CliError::usage(error));
    }
    tracing::warn!(aadsts = error.aadsts_code(), "credentials refused");
    eprintln!("mfa-reset: credentials refused: {error}{consequence}");
    Ok(Exit::Refused)
}

/// Connects to the tenant the flags name (credentials from the environment), or starts the
/// emulator for `--tenant sim` and says so. A failure here is bad usage: nothing was sent.
async fn connect(graph: &args::graph::GraphArgs) -> Result<args::graph::Connection, CliError> {
    let connection = graph
        .connect(|k| std::env::var(k).ok())
        .await
        .map_err(CliError::usage)?;
    if connection.sim.is_some() {
        eprintln!(
            "mfa-reset: --tenant sim: running against the built-in Graph emulator. No real tenant is touched."
        );
    }
    Ok(connection)
}

/// The async runtime a command that talks to Graph runs on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
