//! One run at a time per folder: [`RunLock`] is held for the whole of `apply` or `resume`,
//! so two runs never append to the same journal or send the same plan's changes twice.
//!
//! The lock is an exclusive OS file lock on `DIR/.lock` (`File::try_lock`, `flock` on
//! Linux), not the file's existence: the OS drops it when the process ends however it
//! ends, so a crashed or killed run never leaves a stale lock behind. The holder's pid is
//! written into the file, only so that the refusal can name it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the run folder.
pub const LOCK_FILE: &str = ".lock";

/// Why the run folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another mfa-reset run is using {}{}; wait for it to finish, or stop it, before running again in that folder",
        dir.display(), holder(*pid)
    )]
    Held { dir: PathBuf, pid: Option<u32> },
    #[error(
        "cannot {action} {}: {source}; the folder must be writable, on a file system that supports file locks",
        path.display()
    )]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
}

fn holder(pid: Option<u32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

/// The run folder's lock, released on drop (and by the OS whenever the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of the run folder `dir` (which must exist), without waiting.
    pub fn acquire(dir: &Path) -> Result<RunLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io_err = |action, source| LockError::Io {
            path: path.clone(),
            action,
            source,
        };
        // Not truncated on open: until the lock is ours, the pid in it is the holder's.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("open", e))?;
        // `File::try_lock` is stable since Rust 1.89, this crate's `rust-version`.
        let locked = file.try_lock();
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    pid,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", e)),
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(|e| io_err("write", e))?;
        Ok(RunLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Closing the file would release the lock anyway; unlocking says so plainly.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mfa-reset-lock-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn second_acquire_is_refused_until_the_first_is_dropped() {
        let dir = scratch("twice");
        let first = RunLock::acquire(&dir).unwrap();
        let pid = std::fs::read_to_string(first.path()).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());

        // std's locks belong to the open file description (flock), so a second open in
        // the same process is refused just as another process would be.
        let err = RunLock::acquire(&dir).unwrap_err();
        match &err {
            LockError::Held { dir: d, pid } => {
                assert_eq!(d, &dir);
                assert_eq!(*pid, Some(std::process::id()));
            }
            other => panic!("{other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("another mfa-reset run is using"),
            "{message}"
        );
        assert!(
            message.contains(&format!("(pid {})", std::process::id())),
            "{message}"
        );

        drop(first);
        let again = RunLock::acquire(&dir).unwrap();
        assert!(matches!(
            RunLock::acquire(&dir),
            Err(LockError::Held { .. })
        ));
        drop(again);
    }

    /// Run by `held_across_processes` in a child process: expects the folder in
    /// `MFA_RESET_LOCK_PROBE` to be locked by its parent.
    #[test]
    fn child_probe() {
        let Some(dir) = std::env::var_os("MFA_RESET_LOCK_PROBE") else {
            return;
        };
        let parent: Option<u32> = std::env::var("MFA_RESET_LOCK_PROBE_PID")
            .ok()
            .and_then(|p| p.parse().ok());
        match RunLock::acquire(Path::new(&dir)) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, parent),
            other => panic!("expected the parent's lock, got {other:?}"),
        }
        std::fs::write(Path::new(&dir).join("probe-refused"), "").unwrap();
    }

    #[test]
    fn held_across_processes() {
        let dir = scratch("processes");
        let lock = RunLock::acquire(&dir).unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "engine::lock::tests::child_probe", "--quiet"])
            .env("MFA_RESET_LOCK_PROBE", &dir)
            .env("MFA_RESET_LOCK_PROBE_PID", std::process::id().to_string())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the child process got the lock");
        assert!(
            dir.join("probe-refused").exists(),
            "the child probe did not run"
        );
        drop(lock);
    }

    #[test]
    fn a_leftover_lock_file_does_not_hold_the_folder() {
        // What a killed run leaves: the file with its pid, but no lock.
        let dir = scratch("stale");
        std::fs::write(dir.join(LOCK_FILE), "999999\n").unwrap();
        let lock = RunLock::acquire(&dir).unwrap();
        let pid = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(pid, format!("{}\n", std::process::id()));
    }

    #[test]
    fn held_without_a_readable_pid_still_refuses() {
        let err = LockError::Held {
            dir: PathBuf::from("/runs/x"),
            pid: None,
        };
        assert_eq!(
            err.to_string(),
            "another mfa-reset run is using /runs/x; wait for it to finish, or stop it, before running again in that folder"
        );
    }

    #[test]
    fn missing_folder_is_an_io_error() {
        let dir = scratch("gone").join("not-there");
        let err = RunLock::acquire(&dir).unwrap_err();
        assert!(
            matches!(err, LockError::Io { action: "open", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(".lock"));
    }
}
