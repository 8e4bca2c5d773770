//! The `mfa-reset` binary: parses the command line, runs it, and maps failures to the
//! documented exit codes. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use mfa_reset::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mfa-reset: error: {error:#}");
            ExitCode::from(cli::EXIT_USAGE)
        }
    }
}
