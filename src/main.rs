//! The `mfa-reset` binary: parses the command line, runs it, and maps how it ended to the
//! documented exit codes ([`mfa_reset::exit`]), once. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use mfa_reset::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(error) => {
            cli::log::say_message(format_args!("mfa-reset: error: {error}"));
            error.exit.into()
        }
    }
}
