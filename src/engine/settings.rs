//! How a run behaves beyond its plan ([`RunOptions`]: drift, verification, containment
//! order), and `DIR/run.json` ([`RunSettings`]), which records them with the plan's hash
//! and the Graph the run went to, so that `resume` carries on the same way, against the
//! same tenant.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What to do when a user's methods differ from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDrift {
    /// Change nothing for that user; report `drifted`.
    #[default]
    Skip,
    /// Decide again from the methods found now, under the plan's policy, and carry that
    /// out.
    Replan,
}

/// How a run behaves.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub on_drift: OnDrift,
    /// Re-read the methods of users whose methods were removed, and record what remains.
    pub verify: bool,
    /// Revoke sessions and disable accounts for every user before any method is removed.
    pub contain_first: bool,
}

/// `DIR/run.json`: how the run was started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSettings {
    /// SHA-256 of the run's `plan.json`: a resume refuses a plan changed since.
    pub plan_sha256: String,
    /// The Graph service root the run went to.
    pub graph: String,
    /// The run went to the built-in emulator.
    pub sim: bool,
    pub on_drift: OnDrift,
    pub verify: bool,
    pub contain_first: bool,
}

/// `run.json` could not be written or read.
#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot read {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{} is not a run file ({cause}); it is written by `mfa-reset apply` and must not be edited", path.display())]
    Invalid {
        path: PathBuf,
        cause: serde_json::Error,
    },
}

/// The settings file's name in a run folder.
pub const RUN_SETTINGS_FILE: &str = "run.json";

impl RunSettings {
    /// The options the run was started with.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            on_drift: self.on_drift,
            verify: self.verify,
            contain_first: self.contain_first,
        }
    }

    /// Writes `dir/run.json`, fsynced.
    pub fn write(&self, dir: &Path) -> Result<(), SettingsError> {
        let path = dir.join(RUN_SETTINGS_FILE);
        let bytes = serde_json::to_vec_pretty(self).expect("run settings serialise");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&path)?;
            file.write_all(&bytes)?;
            file.sync_all()
        };
        write().map_err(|cause| SettingsError::Write {
            path: path.clone(),
            cause,
        })
    }

    /// Reads `dir/run.json`; a value it does not know (an `onDrift` other than `skip` or
    /// `replan`) is refused, not taken for a default.
    pub fn read(dir: &Path) -> Result<RunSettings, SettingsError> {
        let path = dir.join(RUN_SETTINGS_FILE);
        let bytes = std::fs::read(&path).map_err(|cause| SettingsError::Read {
            path: path.clone(),
            cause,
        })?;
        serde_json::from_slice(&bytes).map_err(|cause| SettingsError::Invalid { path, cause })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_json_round_trips_and_an_unknown_drift_choice_is_refused() {
        let dir = std::env::temp_dir().join(format!("mfa-reset-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = RunSettings {
            plan_sha256: "ab".into(),
            graph: "http://127.0.0.1:1/v1.0".into(),
            sim: true,
            on_drift: OnDrift::Replan,
            verify: true,
            contain_first: false,
        };
        settings.write(&dir).unwrap();
        let text = std::fs::read_to_string(dir.join(RUN_SETTINGS_FILE)).unwrap();
        assert!(text.contains("\"onDrift\": \"replan\""), "{text}");
        assert_eq!(RunSettings::read(&dir).unwrap(), settings);

        std::fs::write(
            dir.join(RUN_SETTINGS_FILE),
            text.replace("\"replan\"", "\"Replan-ish\""),
        )
        .unwrap();
        let refused = RunSettings::read(&dir).unwrap_err().to_string();
        assert!(refused.contains("is not a run file"), "{refused}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
