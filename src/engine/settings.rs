//! How a run behaves beyond its plan ([`RunOptions`]: drift, verification, containment
//! order), and `DIR/run.json` ([`RunSettings`]), which records them with the plan's hash,
//! the Graph the run went to and how it was reached ([`RunConnection`]: cloud, hosts, the
//! emulator's tenant, credential source, pacing — never a secret or token), so that
//! `resume` carries on the same way, against the same tenant, with no flags.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::pacer::Budget;
use crate::graph::auth::AuthMode;
use crate::graph::endpoints::Cloud;
use crate::wire::TenantSize;

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
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub on_drift: OnDrift,
    /// Re-read the methods of users whose methods were removed, and record what remains.
    pub verify: bool,
    /// Revoke sessions and disable accounts for every user before any method is removed.
    pub contain_first: bool,
    /// The tenant's role holders as listed when the run began: the re-read of a user
    /// before their first change adds the roles it shows (eligible, scoped, custom) to
    /// the user's own, so that an admin made since the plan is drift, not changed.
    pub role_holders: Option<std::sync::Arc<crate::graph::role_holders::RoleHolders>>,
    /// Keep what `mfa-reset restore` needs in `DIR/secrets/restore.jsonl` before each
    /// user's first change (`--no-restore-data` turns it off).
    pub restore_data: bool,
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
    /// The run keeps restore data (`secrets/restore.jsonl`); false in a `run.json`
    /// written before it existed (no such file was kept).
    #[serde(default)]
    pub restore_data: bool,
    /// How the run reached Graph; `None` in a `run.json` written before it was recorded
    /// (such a run is resumed with the connection flags given again, as then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<RunConnection>,
    /// The tenant the run's plan was made for, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<crate::graph::tenant::TenantIdentity>,
}

/// How a run reached Graph, as its command line said (defaults filled in): what `resume`
/// reconnects with when it is given no flags. The target — the cloud, the hosts, the
/// emulator and its tenant — must stay the same for the whole run; the credential source
/// and the pacing may be changed on resume. No credential is kept here: every command
/// reads those from the environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunConnection {
    /// `--cloud`.
    #[serde(with = "cloud_name")]
    pub cloud: Cloud,
    /// `--login-url`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
    /// `--graph-url`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    /// `--tenant sim`: the emulated tenant the run started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<SimTenant>,
    /// `--auth`.
    #[serde(with = "auth_name")]
    pub auth: AuthMode,
    /// `--tenant-size`.
    #[serde(with = "tenant_size_name")]
    pub tenant_size: TenantSize,
    /// `--ru-budget`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "budget_text")]
    pub ru_budget: Option<Budget>,
    /// `--write-budget`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "budget_text")]
    pub write_budget: Option<Budget>,
    /// `--max-in-flight`.
    pub max_in_flight: usize,
    /// `--max-outage`, when given (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_outage: Option<u64>,
    /// `--tenant ID|DOMAIN`, when given: the tenant the credential was for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// The built-in emulator's tenant: generated from `users` and `seed`, or loaded from
/// `tenant_file` (an absolute path). The emulator runs inside the process, so a resumed
/// run starts it afresh from this same tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimTenant {
    /// `--sim-users`.
    pub users: usize,
    /// `--sim-seed`.
    pub seed: u64,
    /// `--sim-tenant-file`, made absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_file: Option<PathBuf>,
}

/// [`Cloud`] by its `--cloud` name.
mod cloud_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::graph::endpoints::Cloud;

    pub fn serialize<S: Serializer>(cloud: &Cloud, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(cloud.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cloud, D::Error> {
        let name = String::deserialize(d)?;
        Cloud::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| D::Error::custom(format!("unknown cloud {name:?}")))
    }
}

/// [`AuthMode`] by its `--auth` name.
mod auth_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::graph::auth::AuthMode;

    pub fn serialize<S: Serializer>(auth: &AuthMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match auth {
            AuthMode::Environment => "environment",
            AuthMode::AzureCli => "azure-cli",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AuthMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "environment" => Ok(AuthMode::Environment),
            "azure-cli" => Ok(AuthMode::AzureCli),
            other => Err(D::Error::custom(format!(
                "unknown credential source {other:?}"
            ))),
        }
    }
}

/// [`TenantSize`] by its `--tenant-size` name.
mod tenant_size_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::wire::TenantSize;

    pub fn serialize<S: Serializer>(size: &TenantSize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match size {
            TenantSize::Small => "small",
            TenantSize::Medium => "medium",
            TenantSize::Large => "large",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TenantSize, D::Error> {
        match String::deserialize(d)?.as_str() {
            "small" => Ok(TenantSize::Small),
            "medium" => Ok(TenantSize::Medium),
            "large" => Ok(TenantSize::Large),
            other => Err(D::Error::custom(format!("unknown tenant size {other:?}"))),
        }
    }
}

/// An optional [`Budget`] as its flag's text (`8000/10s`).
mod budget_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::engine::pacer::Budget;

    pub fn serialize<S: Serializer>(budget: &Option<Budget>, s: S) -> Result<S::Ok, S::Error> {
        match budget {
            Some(b) => s.serialize_str(&b.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Budget>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| text.parse().map_err(D::Error::custom))
            .transpose()
    }
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
            role_holders: None,
            restore_data: self.restore_data,
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
            restore_data: true,
            connection: None,
            tenant: None,
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

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mfa-reset-settings-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_connection_round_trips_by_flag_values_and_holds_no_credential() {
        let dir = scratch("connection");
        let settings = RunSettings {
            plan_sha256: "cd".into(),
            graph: "https://graph.microsoft.us".into(),
            sim: false,
            on_drift: OnDrift::Skip,
            verify: true,
            contain_first: true,
            restore_data: false,
            connection: Some(RunConnection {
                cloud: Cloud::Usgov,
                login_url: None,
                graph_url: Some("https://graph.microsoft.us".into()),
                sim: Some(SimTenant {
                    users: 40,
                    seed: 9,
                    tenant_file: Some("/tmp/t.json".into()),
                }),
                auth: AuthMode::AzureCli,
                tenant_size: TenantSize::Small,
                ru_budget: None,
                write_budget: Some("60/1s".parse().unwrap()),
                max_in_flight: 3,
                max_outage: Some(5),
                tenant: None,
            }),
            tenant: None,
        };
        settings.write(&dir).unwrap();
        let text = std::fs::read_to_string(dir.join(RUN_SETTINGS_FILE)).unwrap();
        for expected in [
            "\"cloud\": \"usgov\"",
            "\"auth\": \"azure-cli\"",
            "\"tenantSize\": \"small\"",
            "\"writeBudget\": \"60/1s\"",
            "\"tenantFile\": \"/tmp/t.json\"",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
        assert!(!text.contains("ruBudget"), "{text}");
        assert_eq!(RunSettings::read(&dir).unwrap(), settings);

        std::fs::write(
            dir.join(RUN_SETTINGS_FILE),
            text.replace("\"usgov\"", "\"mars\""),
        )
        .unwrap();
        let refused = RunSettings::read(&dir).unwrap_err().to_string();
        assert!(refused.contains("unknown cloud \"mars\""), "{refused}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_run_json_written_before_the_connection_was_recorded_is_still_read() {
        let dir = scratch("earlier");
        std::fs::write(
            dir.join(RUN_SETTINGS_FILE),
            r#"{
  "planSha256": "ef",
  "graph": "http://127.0.0.1:4000",
  "sim": false,
  "onDrift": "skip",
  "verify": true,
  "containFirst": false
}"#,
        )
        .unwrap();
        let settings = RunSettings::read(&dir).unwrap();
        assert_eq!(settings.graph, "http://127.0.0.1:4000");
        assert_eq!(settings.connection, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
