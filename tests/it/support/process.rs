//! Child processes in the end-to-end tests: running the binary without ever hanging the
//! suite, a finished run's exit status and output, and a child killed when the test is
//! done with it.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::BIN;

/// A run that has not ended after this is hung.
pub const HANG_GUARD: Duration = Duration::from_secs(180);

/// Waits for the child; kills it and fails if it runs past [`HANG_GUARD`]. `what` names
/// it in that failure.
pub fn wait(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`mfa-reset {what}` still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `done` every few milliseconds until it holds; fails with `what` after
/// [`HANG_GUARD`].
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG_GUARD;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not after {HANG_GUARD:?}"
        );
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// `mfa-reset ARGS` with standard input closed and none of the test's own Azure
/// credentials or access token in its environment.
pub fn mfa_reset<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") || name == "MFA_RESET_ACCESS_TOKEN" {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A finished run of the binary.
pub struct Run {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `cmd` to the end (within [`HANG_GUARD`]), its output captured.
    pub fn of(cmd: &mut Command) -> Run {
        let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        // Read both pipes on threads so that a chatty child never blocks on a full pipe.
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let out = std::thread::spawn(move || read_all(out));
        let err = std::thread::spawn(move || read_all(err));
        let status = wait(&mut child, &what);
        Run {
            what,
            status,
            stdout: out.join().expect("reader"),
            stderr: err.join().expect("reader"),
        }
    }

    /// [`Run::of`], with `input` written to the child's standard input through a pipe
    /// (closed once written).
    pub fn of_piped(cmd: &mut Command, input: Vec<u8>) -> Run {
        let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut stdin = child.stdin.take().expect("piped");
        let feed = std::thread::spawn(move || {
            use std::io::Write;
            let _ = stdin.write_all(&input);
        });
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let out = std::thread::spawn(move || read_all(out));
        let err = std::thread::spawn(move || read_all(err));
        let status = wait(&mut child, &what);
        feed.join().expect("feeder");
        Run {
            what,
            status,
            stdout: out.join().expect("reader"),
            stderr: err.join().expect("reader"),
        }
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Fails, showing the output, unless the run exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "`mfa-reset {}`: exit status {:?}\n--- stderr\n{}\n--- stdout\n{}",
            self.what,
            self.status,
            self.stderr,
            self.stdout
        );
        self
    }

    /// Standard output and standard error, one after the other.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Fails if the binary panicked or printed a stack trace.
    #[track_caller]
    pub fn assert_no_panic(&self) -> &Run {
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(!self.stderr.contains("stack backtrace"), "{}", self.stderr);
        self
    }
}

fn read_all(mut r: impl std::io::Read) -> String {
    let mut bytes = Vec::new();
    let _ = r.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A child process that is killed when the test is done with it, passed or failed. Its
/// output goes to `LOG.out` and `LOG.err`.
pub struct Spawned {
    pub child: Child,
    log: std::path::PathBuf,
}

impl Spawned {
    pub fn start(cmd: &mut Command, log: &Path) -> Spawned {
        let out = std::fs::File::create(log.with_extension("out")).unwrap();
        let err = std::fs::File::create(log.with_extension("err")).unwrap();
        let child = cmd
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the binary starts");
        Spawned {
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// What the child wrote to standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default()
    }

    /// Waits for the end (within [`HANG_GUARD`]).
    pub fn wait(&mut self) -> ExitStatus {
        wait(&mut self.child, &self.log.display().to_string())
    }

    /// Waits for the end and fails, showing standard error, unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(&mut self, code: i32) {
        let status = self.wait();
        assert_eq!(status.code(), Some(code), "{status:?}\n{}", self.stderr());
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    /// Sends the signal `name`: `INT` as Ctrl-C sends it, `TERM`, `HUP`, ...
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes an executable script. The file is written by a child process (`sh`), never
/// opened for writing in this process: a child that another test starts meanwhile would
/// inherit such a file descriptor, and running the script would then fail with "text file
/// busy".
#[cfg(unix)]
pub fn write_script(path: &Path, text: &str) {
    use std::io::Write;
    let mut sh = Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh runs");
    sh.stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .expect("the script is written");
    assert!(sh.wait().expect("sh ends").success(), "{}", path.display());
}
