//! The Azure CLI's signed-in account as a credential: [`AzureCli`] says how `az` is run,
//! and running it (on a blocking thread, with a deadline) yields a Graph token whose expiry
//! is read from `expires_on`, or from an older CLI's local-time `expiresOn`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::AuthError;
use super::error::scrub;
use super::token::Fetched;
use crate::secret::Secret;

/// How `az` is run for [`Credential::AzureCli`](super::Credential::AzureCli).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureCli {
    /// Passed as `--tenant` when known.
    pub tenant: Option<String>,
    /// The program to run: `az` (`az.cmd` on Windows) unless a test says otherwise.
    pub program: PathBuf,
    /// How long `az` may take before it is killed.
    pub timeout: Duration,
}

impl AzureCli {
    pub fn new(tenant: Option<String>) -> AzureCli {
        AzureCli {
            tenant,
            program: PathBuf::from(if cfg!(windows) { "az.cmd" } else { "az" }),
            timeout: Duration::from_secs(60),
        }
    }

    /// The arguments given to the program.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "account",
            "get-access-token",
            "--resource-type",
            "ms-graph",
            "--output",
            "json",
        ]
        .map(String::from)
        .to_vec();
        if let Some(tenant) = &self.tenant {
            args.push("--tenant".into());
            args.push(tenant.clone());
        }
        args
    }
}

struct CliOutput {
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

pub(super) async fn run_azure_cli(cli: &AzureCli) -> Result<Fetched, AuthError> {
    let program = cli.program.clone();
    let args = cli.args();
    let timeout = cli.timeout;
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || run_program(&program, &args, timeout))
        .await
        .map_err(|_| AuthError::AzureCli {
            status: None,
            message: "running the Azure CLI was interrupted".into(),
            hint: None,
        })??;
    let login_hint = if cli.tenant.is_some() {
        "sign in with `az login --tenant <tenant>` and try again"
    } else {
        "sign in with `az login` and try again"
    };
    if output.status != Some(0) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("it wrote nothing to stderr");
        return Err(AuthError::AzureCli {
            status: output.status,
            message: scrub(first, &[]),
            hint: Some(login_hint),
        });
    }
    let malformed = |what: &str| AuthError::AzureCli {
        status: output.status,
        message: format!("its output is not the expected JSON ({what})"),
        hint: Some("update the Azure CLI (`az upgrade`)"),
    };
    let value: Value = serde_json::from_slice(&output.stdout).map_err(|_| malformed("not JSON"))?;
    let token = value
        .get("accessToken")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no accessToken"))?;
    let now = SystemTime::now();
    let remaining = cli_remaining(&value, now).ok_or_else(|| malformed("no expiry"))?;
    if remaining <= 0 {
        return Err(AuthError::AzureCli {
            status: output.status,
            message: "it gave a token that has already expired".into(),
            hint: Some(login_hint),
        });
    }
    let lifetime = Duration::from_secs(remaining.unsigned_abs()) + started.elapsed();
    Fetched::new(Secret::new(token), started, lifetime).map_err(|_| AuthError::AzureCli {
        status: output.status,
        message: "it gave a token an HTTP header cannot carry".into(),
        hint: None,
    })
}

/// Seconds the CLI's token has left: `expires_on` (epoch seconds, CLI 2.54 and later) or
/// else `expiresOn` (local time, no offset, older CLIs).
fn cli_remaining(value: &Value, now: SystemTime) -> Option<i64> {
    let now_secs = i64::try_from(now.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()?;
    if let Some(v) = value.get("expires_on") {
        let epoch = v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        if let Some(epoch) = epoch {
            // Saturating: `expires_on` is the CLI's text, and may be any i64.
            return Some(epoch.saturating_sub(now_secs));
        }
    }
    let local = value.get("expiresOn")?.as_str()?;
    let naive = parse_cli_local_time(local)?;
    Some(remaining_from_local(naive - now_secs))
}

/// `2024-05-01 12:34:56.123456` (or without fraction) as seconds since the epoch, read as
/// if it were UTC.
fn parse_cli_local_time(text: &str) -> Option<i64> {
    use time::macros::format_description;
    let text = text.trim();
    let with_fraction =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let without = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let parsed = time::PrimitiveDateTime::parse(text, with_fraction)
        .or_else(|_| time::PrimitiveDateTime::parse(text, without))
        .ok()?;
    Some(parsed.assume_utc().unix_timestamp())
}

/// An older CLI gives the expiry in local time without saying the offset, and this crate
/// cannot read the local offset. Of the offsets that exist (−12 h to +14 h, in quarter
/// hours), take the one that leaves the token the least time that is still positive: the
/// token is then refreshed early rather than late (and `az` answers from its own cache),
/// and a token used too late is caught by the 401 → invalidate path anyway.
fn remaining_from_local(naive_minus_now: i64) -> i64 {
    const QUARTER: i64 = 15 * 60;
    (-48..=56)
        .rev()
        .map(|q| naive_minus_now - q * QUARTER)
        .find(|r| *r > 0)
        .unwrap_or(0)
}

/// Runs `program` with a deadline; reads its output on threads so a chatty child cannot
/// block on a full pipe.
fn run_program(program: &Path, args: &[String], timeout: Duration) -> Result<CliOutput, AuthError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AuthError::AzureCliNotFound {
                    program: program.to_path_buf(),
                }
            } else {
                AuthError::AzureCli {
                    status: None,
                    message: format!("could not start {} ({e})", program.display()),
                    hint: None,
                }
            }
        })?;
    let stdout = read_on_thread(child.stdout.take());
    let stderr = read_on_thread(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(AuthError::AzureCli {
                    status: None,
                    message: format!("it did not answer within {} s", timeout.as_secs()),
                    hint: Some("check that `az account get-access-token` works in this shell"),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(AuthError::AzureCli {
                    status: None,
                    message: format!("waiting for it failed ({e})"),
                    hint: None,
                });
            }
        }
    };
    Ok(CliOutput {
        status: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads `pipe` to its end on a thread of its own.
fn read_on_thread(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_cli_local_expiry_is_read_conservatively() {
        let naive = parse_cli_local_time("2024-05-01 12:00:00.123456").unwrap();
        assert_eq!(naive, parse_cli_local_time("2024-05-01 12:00:00").unwrap());
        // Whatever the zone, the guess is positive and at most a quarter hour, unless the
        // token has expired in every zone.
        for d in [60, 3600, 5400, -3600, 14 * 3600 + 60] {
            let r = remaining_from_local(d);
            assert!(r > 0 && r <= 15 * 60, "{d} -> {r}");
        }
        assert_eq!(remaining_from_local(-13 * 3600), 0);
        let now = SystemTime::now();
        let epoch = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let v = serde_json::json!({"expires_on": epoch + 3000, "expiresOn": "garbage"});
        assert_eq!(cli_remaining(&v, now), Some(3000));
        let v = serde_json::json!({"expires_on": (epoch + 3000).to_string()});
        assert_eq!(cli_remaining(&v, now), Some(3000));
        assert_eq!(cli_remaining(&serde_json::json!({}), now), None);
        // Absurd numbers saturate instead of overflowing (found by fuzzing).
        let v = serde_json::json!({"expires_on": i64::MIN});
        assert_eq!(cli_remaining(&v, now), Some(i64::MIN));
        let v = serde_json::json!({"expires_on": -1e300});
        assert_eq!(cli_remaining(&v, now), Some(i64::MIN));
    }
}
