//! The structured log. `--log-format json` writes one JSON object per event (built on
//! `tracing`: the command, each token fetched, each `$batch` answered, each throttling, each
//! user finished) to `--log-file`, or to stderr next to the usual messages. `text`, the
//! default, adds nothing to stderr (its messages and progress bar are the text); with
//! `--log-file` it writes warnings there, in words. No event carries a secret, a token or
//! a Temporary Access Pass: events hold counts, statuses, rows and user ids.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use tracing::Level;

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Nothing beyond the usual messages; warnings in words with --log-file.
    #[default]
    Text,
    /// Every event as one JSON object per line.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// The structured log's format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Write the log to FILE (appended) instead of stderr.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

/// Installs the log for this process.
pub fn init(args: &LogArgs) -> anyhow::Result<()> {
    let level = match args.log_format {
        LogFormat::Text => Level::WARN,
        LogFormat::Json => Level::INFO,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false);
    let result = match (&args.log_file, args.log_format) {
        (Some(path), format) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            let writer = std::sync::Mutex::new(file);
            match format {
                LogFormat::Json => builder.json().with_writer(writer).try_init(),
                LogFormat::Text => builder.with_writer(writer).try_init(),
            }
        }
        (None, LogFormat::Json) => builder.json().with_writer(std::io::stderr).try_init(),
        // The usual messages and progress bar are the text log.
        (None, LogFormat::Text) => return Ok(()),
    };
    // Already installed (a test calling twice): keep the first.
    let _ = result;
    Ok(())
}
