//! `mfa-reset completions SHELL` and `mfa-reset man`: the shell completion script
//! (clap_complete) and the manual page (clap_mangen), both made from the command line's
//! own definition, written to stdout.

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::Cli;
use crate::exit::{CliError, CliResult, Exit};

/// A shell to complete in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `mfa-reset completions SHELL`.
pub fn completions(args: CompletionsArgs) -> CliResult {
    use clap_complete::Shell as S;
    let shell = match args.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mfa-reset", &mut out);
    write_stdout(&out)
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand's page (check, plan, apply, resume, sim) instead of the overview.
    pub subcommand: Option<String>,
}

/// `mfa-reset man [SUBCOMMAND]`: the manual page, in roff (`mfa-reset man apply >
/// mfa-reset-apply.1`, then `man -l mfa-reset-apply.1`).
pub fn man(args: ManArgs) -> CliResult {
    let mut command = Cli::command();
    command.build();
    let (page, title) = match &args.subcommand {
        None => (command, "mfa-reset".to_string()),
        Some(name) => {
            let Some(sub) = command.find_subcommand(name).cloned() else {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
                return Err(CliError::usage(anyhow::anyhow!(
                    "no subcommand {name:?}: give one of {}",
                    names.join(", ")
                )));
            };
            (sub, format!("mfa-reset-{name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .title(title)
        .render(&mut out)
        .map_err(|e| CliError {
            error: e.into(),
            exit: Exit::Failures,
        })?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> CliResult {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError {
            error: anyhow::anyhow!("cannot write to stdout: {e}"),
            exit: Exit::Failures,
        })?;
    Ok(Exit::Done)
}
