//! The exit codes, the only place they live: [`Exit`] says what a finished command means
//! for the user's tenant, and [`CliError`] carries an error to `main` with the code it
//! exits with. `main` maps them once; nothing else ends the process.

use std::fmt;
use std::process::ExitCode;

/// How a command ended, as its exit code tells scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: every row done, no-change, excluded, protected or duplicate (for `plan`:
    /// planned, no-change, excluded, protected or duplicate).
    Done,
    /// 1: some row ended otherwise (blocked, partial, failed, drifted, not-found, invalid,
    /// pending; for `plan`: blocked, not-found, invalid, error), or the command failed
    /// after it had begun on the tenant.
    Failures,
    /// 2: bad usage or bad input; nothing in the tenant was changed.
    Usage,
    /// 3: the credentials or permissions were refused; nothing was changed.
    Refused,
    /// 4: interrupted by Ctrl-C, SIGTERM or SIGHUP (a run can be resumed).
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Failures => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
            Exit::Interrupted => 4,
        }
    }

    /// [`Exit::Failures`] when `failed`, else [`Exit::Done`].
    pub fn failures_if(failed: bool) -> Exit {
        if failed { Exit::Failures } else { Exit::Done }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// An error on its way to `main`, with the exit code it ends the process with. Any error
/// converts into one as [`Exit::Failures`], which claims nothing about the tenant; errors
/// found before anything was sent say so with [`CliError::usage`] or [`UsageContext`].
pub struct CliError {
    pub error: anyhow::Error,
    pub exit: Exit,
}

impl CliError {
    /// Bad usage or bad input, found before anything changed (exit 2).
    pub fn usage(error: impl Into<anyhow::Error>) -> CliError {
        CliError {
            error: error.into(),
            exit: Exit::Usage,
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(error: E) -> CliError {
        CliError {
            error: error.into(),
            exit: Exit::Failures,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl fmt::Debug for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#} (exit {})", self.error, self.exit.code())
    }
}

/// `.usage()?` on any result: its error is bad usage or input (exit 2).
pub trait UsageContext<T> {
    fn usage(self) -> Result<T, CliError>;
}

impl<T, E: Into<anyhow::Error>> UsageContext<T> for Result<T, E> {
    fn usage(self) -> Result<T, CliError> {
        self.map_err(CliError::usage)
    }
}

/// What a command returns.
pub type CliResult = Result<Exit, CliError>;

/// The exit codes of `apply` and `resume`, as their `--help` ends.
pub const RUN_EXIT_CODES: &str = "\
Exit codes:
  0  every row done, no-change, excluded, protected or duplicate
  1  any other row: blocked, partial, failed, drifted, not-found, invalid or pending (or an
     error after the run began, a full disk say)
  2  bad usage or bad input, or the run not confirmed: nothing was changed
  3  credentials or permissions refused: nothing was changed
  4  interrupted by Ctrl-C, SIGTERM or SIGHUP: `mfa-reset resume DIR` carries on";

/// The exit codes of `plan`, as its `--help` ends.
pub const PLAN_EXIT_CODES: &str = "\
Exit codes:
  0  the plan is written, every row planned, no-change, excluded, protected or duplicate
  1  the plan is written, but some row is blocked, not-found, invalid or error (or an error
     after the tenant was first read)
  2  bad usage or bad input: nothing was read
  3  credentials refused
  4  interrupted by Ctrl-C, SIGTERM or SIGHUP: no plan was written";
