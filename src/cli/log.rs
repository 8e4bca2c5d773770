//! The structured log, and every message the operator reads on stderr. `--log-format
//! json` writes one JSON object per event (built on `tracing`: the command, each token
//! fetched, each `$batch` answered, each throttling, each user finished, and every message
//! a command says) to `--log-file`, or to stderr instead of the usual text: then every
//! line on stderr is a JSON object, its values typed (numbers as numbers, a batch's
//! statuses as an object), and no progress bar is drawn. `text`, the default, adds nothing
//! to stderr (its messages and progress bar are the text); with `--log-file` it writes
//! warnings there, in words. No event carries a secret, a token or a Temporary Access
//! Pass: events hold counts, statuses, rows, user ids and the messages stderr would show.
//!
//! Commands say things with [`say!`](crate::cli::log::say), never `eprintln!`, so that the
//! log format decides how they reach stderr.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, layer};

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Nothing beyond the usual messages; warnings in words with --log-file.
    #[default]
    Text,
    /// Every event and message as one JSON object per line.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// The log's format: with json and no --log-file, every line on stderr is a JSON
    /// object (messages included) and no progress bar is drawn.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        help_heading = "Output"
    )]
    pub log_format: LogFormat,
    /// Write the log to FILE (appended) instead of stderr.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Output")]
    pub log_file: Option<PathBuf>,
}

/// Whether stderr is the JSON log: messages go there as events, not as text.
static STDERR_IS_JSON_LOG: AtomicBool = AtomicBool::new(false);

/// Whether every line on stderr must be a JSON object (`--log-format json` without
/// `--log-file`): messages become events, and no progress bar is drawn.
pub fn stderr_is_json_log() -> bool {
    STDERR_IS_JSON_LOG.load(Ordering::Relaxed)
}

/// Says `message` to the operator: a line of text on stderr, or, when stderr is the JSON
/// log, one event. Either way it is also an event of the log (a `--log-file` keeps it). A
/// message that starts `mfa-reset: warning:` or holds `error:` is logged as a warning or an
/// error.
pub fn say_message(message: std::fmt::Arguments<'_>) {
    let text = message.to_string();
    let level = level_of(&text);
    if !stderr_is_json_log() {
        // A closed stderr (`2>&1 | head`) must not stop a run half-way: the journal and
        // the reports are the record, not the terminal.
        let _ = writeln!(std::io::stderr(), "{text}");
    }
    let text = text.trim_matches('\n');
    match level {
        Level::ERROR => tracing::error!(target: "mfa_reset::say", "{text}"),
        Level::WARN => tracing::warn!(target: "mfa_reset::say", "{text}"),
        _ => tracing::info!(target: "mfa_reset::say", "{text}"),
    }
}

/// A writer whose every line is said ([`say_message`]): lines a command writes for people
/// (`check`'s problems) become events where stderr is the JSON log.
#[derive(Default)]
pub struct SaidLines(Vec<u8>);

impl Write for SaidLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        while let Some(end) = self.0.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.0.drain(..=end).collect();
            say_message(format_args!("{}", String::from_utf8_lossy(&line[..end])));
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SaidLines {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            say_message(format_args!("{}", String::from_utf8_lossy(&self.0)));
        }
    }
}

/// `eprintln!` for the operator's messages: see [`say_message`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::log::say_message(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// How grave a message is, from its words.
fn level_of(text: &str) -> Level {
    let head = text.trim_start_matches('\n');
    if head.contains(": error:") || head.starts_with("error:") {
        Level::ERROR
    } else if head.contains(": warning:") {
        Level::WARN
    } else {
        Level::INFO
    }
}

/// Installs the log for this process.
pub fn init(args: &LogArgs) -> anyhow::Result<()> {
    let level = match args.log_format {
        LogFormat::Text => LevelFilter::WARN,
        LogFormat::Json => LevelFilter::INFO,
    };
    let result = match (&args.log_file, args.log_format) {
        (Some(path), format) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            match format {
                LogFormat::Json => tracing_subscriber::registry()
                    .with(JsonLines::new(Box::new(file)).with_filter(level))
                    .try_init()
                    .is_ok(),
                LogFormat::Text => tracing_subscriber::fmt()
                    .with_max_level(Level::WARN)
                    .with_ansi(false)
                    .with_writer(Mutex::new(file))
                    .try_init()
                    .is_ok(),
            }
        }
        (None, LogFormat::Json) => {
            let installed = tracing_subscriber::registry()
                .with(JsonLines::new(Box::new(std::io::stderr())).with_filter(level))
                .try_init()
                .is_ok();
            if installed {
                STDERR_IS_JSON_LOG.store(true, Ordering::Relaxed);
            }
            installed
        }
        // The usual messages and progress bar are the text log.
        (None, LogFormat::Text) => return Ok(()),
    };
    // Already installed (a test calling twice): keep the first.
    let _ = result;
    Ok(())
}

/// The JSON log: one object per event and line, `{"timestamp", "level", "target",
/// "fields": {"message", …}}` (the shape of `tracing-subscriber`'s JSON), with every field
/// typed: integers and floats as numbers, booleans as booleans, and a field given as JSON
/// text (`statuses = %json`) as that JSON, an object or an array.
struct JsonLines {
    writer: Mutex<Box<dyn Write + Send>>,
}

impl JsonLines {
    fn new(writer: Box<dyn Write + Send>) -> JsonLines {
        JsonLines {
            writer: Mutex::new(writer),
        }
    }
}

impl<S: Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &Event<'_>, _: layer::Context<'_, S>) {
        let mut fields = TypedFields(Map::new());
        event.record(&mut fields);
        let meta = event.metadata();
        let line = serde_json::json!({
            "timestamp": timestamp(),
            "level": meta.level().as_str(),
            "fields": Value::Object(fields.0),
            "target": meta.target(),
        });
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        // A log that cannot be written must not stop the run: the journal is the record.
        if let Ok(mut w) = self.writer.lock() {
            let _ = w.write_all(text.as_bytes());
            let _ = w.flush();
        }
    }
}

/// An event's fields, each as its own JSON type.
struct TypedFields(Map<String, Value>);

impl Visit for TypedFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.0.insert(field.name().into(), value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        // A structured value written as JSON (`%serde_json::Value`) stays structured.
        let value = match serde_json::from_str::<Value>(&text) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) if field.name() != "message" => v,
            _ => Value::String(text),
        };
        self.0.insert(field.name().into(), value);
    }
}

/// Now, to the microsecond: `2026-12-03T09:41:12.123456Z`.
fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let micros = now
        .replace_nanosecond(now.microsecond() * 1000)
        .unwrap_or(now);
    micros
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_as_grave_as_its_words() {
        assert_eq!(level_of("mfa-reset: error: no such file"), Level::ERROR);
        assert_eq!(level_of("mfa-reset: warning: empty list"), Level::WARN);
        assert_eq!(level_of("\nmfa-reset: interrupted"), Level::INFO);
        assert_eq!(level_of("mfa-reset: plan written to x"), Level::INFO);
    }

    #[test]
    fn fields_keep_their_types() {
        struct Capture(Mutex<Vec<u8>>);
        impl Write for &Capture {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(Box::new(captured)));
        tracing::subscriber::with_default(subscriber, || {
            let statuses: std::collections::BTreeMap<u16, usize> = [(200, 7), (429, 1)].into();
            let statuses = serde_json::to_string(&statuses).unwrap();
            tracing::info!(items = 8usize, rate = 0.5, ok = true, statuses = %statuses, who = "a{b", "batch answered");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let event: Value = serde_json::from_str(text.trim()).unwrap();
        let fields = &event["fields"];
        assert_eq!(fields["message"], "batch answered");
        assert_eq!(fields["items"], 8);
        assert_eq!(fields["rate"], 0.5);
        assert_eq!(fields["ok"], true);
        assert_eq!(fields["statuses"], serde_json::json!({"200": 7, "429": 1}));
        assert_eq!(fields["who"], "a{b");
        assert_eq!(event["level"], "INFO");
    }
}
