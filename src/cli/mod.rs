//! The command line: one file per subcommand, each with its flags, their help and its
//! `run`. Errors leave here as `anyhow` errors with context; `main` maps them to exit
//! codes.

pub mod apply;
pub mod args;
pub mod check;
pub mod graph_args;
pub mod log;
pub mod plan;
pub mod sim;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for bad usage or bad input: nothing was changed.
pub const EXIT_USAGE: u8 = 2;

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
    Plan(Box<plan::PlanArgs>),
    /// Carry out a plan (or plan and carry out a user list), journaling every change.
    Apply(Box<apply::ApplyArgs>),
    /// Carry on with an interrupted run.
    Resume(Box<apply::ResumeArgs>),
    /// Run the built-in Microsoft Graph emulator, for rehearsals and tests.
    Sim(sim::SimArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    log::init(&cli.log)?;
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
    let result = run_command(cli.command);
    match &result {
        Ok(code) => tracing::info!(command = name, exit = ?code, "finished"),
        Err(e) => tracing::warn!(command = name, error = %format!("{e:#}"), "failed"),
    }
    result
}

fn run_command(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(args) => check::run(args),
        Command::Plan(args) => plan::run(*args),
        Command::Apply(args) => apply::apply(*args),
        Command::Resume(args) => apply::resume(*args),
        Command::Sim(args) => sim::run(args),
    }
}
