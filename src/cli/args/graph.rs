//! The flags every subcommand that talks to a tenant shares: which cloud and hosts, how to
//! authenticate, and how fast to go. Defined once here, with their documentation, and
//! turned into the Graph client, the pacer and the dispatcher's settings.
//!
//! Credentials never come from flags: they come from the Azure SDK's environment variables
//! (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`,
//! `AZURE_CLIENT_CERTIFICATE_PATH`), a ready token in `MFA_RESET_ACCESS_TOKEN`, or the Azure
//! CLI (`--auth azure-cli`). One more variable is read, by tests only:
//! `MFA_RESET_PREFLIGHT_SECONDS` shortens how long the preflight keeps trying a Graph it
//! cannot reach (20 s; [`crate::graph::preflight`]).

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::values::{TenantSizeChoice, cloud_parser};
use crate::engine::dispatcher::{DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_OUTAGE, DispatcherSettings};
use crate::engine::pacer::{Budget, PacerSettings};
use crate::engine::settings::{RunConnection, SimTenant};
use crate::graph::auth::{AuthMode, Credential, TokenEndpoint, TokenSource};
use crate::graph::client::GraphClient;
use crate::graph::endpoints::{Cloud, Endpoints};
use crate::graph::preflight::PreflightBounds;
use crate::secret::Secret;
use crate::sim::{Sim, SimConfig, SimHandle, TenantSource};
use crate::wire::TenantSize;

/// A Graph client, and the emulator behind it when the target is `--tenant sim` (it stops
/// when this is dropped).
pub struct Connection {
    pub client: GraphClient,
    pub sim: Option<SimHandle>,
}

/// Where credentials come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthSource {
    /// The Azure SDK's environment variables, or `MFA_RESET_ACCESS_TOKEN`.
    Environment,
    /// The account the Azure CLI is signed in with (`az account get-access-token`).
    AzureCli,
}

impl From<AuthSource> for AuthMode {
    fn from(source: AuthSource) -> AuthMode {
        match source {
            AuthSource::Environment => AuthMode::Environment,
            AuthSource::AzureCli => AuthMode::AzureCli,
        }
    }
}

impl From<AuthMode> for AuthSource {
    fn from(mode: AuthMode) -> AuthSource {
        match mode {
            AuthMode::Environment => AuthSource::Environment,
            AuthMode::AzureCli => AuthSource::AzureCli,
        }
    }
}

/// `--sim-users` when not given.
pub const DEFAULT_SIM_USERS: usize = 1000;
/// `--sim-seed` when not given.
pub const DEFAULT_SIM_SEED: u64 = 7;

/// `--tenant`: the built-in emulator, or the tenant the credential is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantChoice {
    /// The built-in Graph emulator, started in-process: a rehearsal that changes nothing real.
    Sim,
    /// A tenant by id (a GUID) or verified domain: the credential's tenant, instead of
    /// `AZURE_TENANT_ID` (as `az --tenant`).
    Named(String),
}

/// Parses `--tenant`: `sim`, a GUID or a domain name.
fn parse_tenant(value: &str) -> Result<TenantChoice, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("sim") {
        return Ok(TenantChoice::Sim);
    }
    crate::graph::auth::check_tenant(value)
        .map_err(|reason| format!("{reason}; or `sim` for the built-in emulator"))?;
    Ok(TenantChoice::Named(value.to_ascii_lowercase()))
}

/// The flags are optional without a clap default, so that `resume` can tell a flag given
/// from one left out (and take the run's value for it); the defaults in the help text are
/// applied by the methods below.
#[derive(Debug, Clone, Default, Args)]
pub struct GraphArgs {
    /// The tenant, by id or verified domain (instead of AZURE_TENANT_ID); or `sim` to run
    /// against the built-in Graph emulator instead of a tenant.
    #[arg(long, value_name = "ID|DOMAIN|sim", value_parser = parse_tenant)]
    pub tenant: Option<TenantChoice>,
    /// With --tenant sim: users in the generated emulated tenant [default: 1000].
    #[arg(long, value_name = "N")]
    pub sim_users: Option<usize>,
    /// With --tenant sim: seed of the generated tenant [default: 7].
    #[arg(long, value_name = "SEED")]
    pub sim_seed: Option<u64>,
    /// With --tenant sim: load the emulated tenant from this file instead.
    #[arg(long, value_name = "FILE", requires = "tenant")]
    pub sim_tenant_file: Option<std::path::PathBuf>,
    /// The Microsoft cloud the tenant lives in; picks the login and Graph hosts [default:
    /// global].
    #[arg(long, value_parser = cloud_parser())]
    pub cloud: Option<Cloud>,
    /// Login service root instead of the cloud's (no path), e.g. https://login.microsoftonline.com.
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// Graph service root instead of the cloud's (no version), e.g. https://graph.microsoft.com.
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// Where credentials come from [default: environment].
    #[arg(long, value_enum)]
    pub auth: Option<AuthSource>,
    /// Tenant size, which sets Entra's resource-unit quota: small (under 50 users) 3,500,
    /// medium (50 to 500) 5,000, large 8,000 per 10 s. auto reads the tenant's user count
    /// (/users/$count) and, where it cannot, paces to small, the safe quota [default: auto].
    #[arg(long, value_enum, value_name = "SIZE")]
    pub tenant_size: Option<TenantSizeChoice>,
    /// The size `auto` found, once the tenant's users were counted ([`GraphArgs::size`]).
    #[arg(skip)]
    pub counted_size: Option<TenantSize>,
    /// Resource units to spend at most, instead of the tenant size's quota (e.g. 8000/10s).
    #[arg(long, value_name = "AMOUNT/PERIOD")]
    pub ru_budget: Option<Budget>,
    /// Writes to spend at most, instead of Entra's 3000/150s per app.
    #[arg(long, value_name = "AMOUNT/PERIOD")]
    pub write_budget: Option<Budget>,
    /// `$batch` requests in flight at once [default: 8].
    #[arg(long, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub max_in_flight: Option<usize>,
    /// Seconds Graph may be out of reach (connections failing, or 5xx answers) before the
    /// run stops, resumable, instead of retrying on [default: 20].
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub max_outage: Option<u64>,
    /// One tenant's credential variables in a run over several tenants (`--tenants`),
    /// instead of the process environment's: never given on the command line.
    #[arg(skip)]
    pub credentials: Option<std::sync::Arc<CredentialEnv>>,
}

/// A tenant's credential variables by name; their values (a secret, a token) are kept as
/// [`Secret`]s, so that `Debug` shows only the names.
#[derive(Debug, Default)]
pub struct CredentialEnv(pub std::collections::BTreeMap<String, Secret>);

/// The variables a credential is read from: a tenant of a run over several tenants reads
/// only its own, never the process environment's.
const CREDENTIAL_VARIABLES: [&str; 6] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "MFA_RESET_ACCESS_TOKEN",
];

impl GraphArgs {
    /// The environment variable `name` as this command reads it: a tenant's own
    /// credential variables in a run over several tenants, else the process environment.
    pub fn env(&self, name: &str) -> Option<String> {
        match &self.credentials {
            Some(own) if CREDENTIAL_VARIABLES.contains(&name) => {
                own.0.get(name).map(|v| v.expose().to_string())
            }
            _ => std::env::var(name).ok(),
        }
    }
}

impl GraphArgs {
    pub fn endpoints(&self) -> anyhow::Result<Endpoints> {
        Ok(Endpoints::new(
            self.cloud.unwrap_or_default(),
            self.login_url.as_deref(),
            self.graph_url.as_deref(),
        )?)
    }

    /// The size the quota goes by: the one given, else the one counted, else small (the
    /// safe quota, when the users could not be counted).
    fn tenant_size(&self) -> TenantSize {
        self.given_size()
            .or(self.counted_size)
            .unwrap_or(TenantSize::Small)
    }

    /// The size given with `--tenant-size` (`None` for `auto` or none).
    pub fn given_size(&self) -> Option<TenantSize> {
        self.tenant_size.and_then(TenantSizeChoice::known)
    }

    /// Whether the tenant's users must be counted to know its quota: `auto` (the default),
    /// no resource-unit budget given, not counted yet.
    pub fn needs_count(&self) -> bool {
        self.given_size().is_none() && self.ru_budget.is_none() && self.counted_size.is_none()
    }

    pub fn pacer_settings(&self) -> PacerSettings {
        let documented = PacerSettings::documented(self.tenant_size());
        PacerSettings {
            resource_units: self.ru_budget.unwrap_or(documented.resource_units),
            writes: self.write_budget.unwrap_or(documented.writes),
        }
    }

    pub fn dispatcher_settings(&self) -> DispatcherSettings {
        DispatcherSettings {
            max_in_flight: self.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            max_outage: std::time::Duration::from_secs(
                self.max_outage.unwrap_or(DEFAULT_MAX_OUTAGE.as_secs()),
            ),
            ..DispatcherSettings::default()
        }
    }

    /// What `run.json` records of these flags, defaults filled in and the emulator's
    /// tenant file made absolute: enough for `resume` to reach the same Graph the same
    /// way with no flags.
    pub fn record(&self) -> RunConnection {
        let sim = self.is_sim().then(|| SimTenant {
            users: self.sim_users.unwrap_or(DEFAULT_SIM_USERS),
            seed: self.sim_seed.unwrap_or(DEFAULT_SIM_SEED),
            tenant_file: self
                .sim_tenant_file
                .as_ref()
                .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone())),
        });
        RunConnection {
            cloud: self.cloud.unwrap_or_default(),
            login_url: self.login_url.clone(),
            graph_url: self.graph_url.clone(),
            sim,
            auth: self.auth.unwrap_or(AuthSource::Environment).into(),
            tenant_size: self.tenant_size(),
            ru_budget: self.ru_budget,
            write_budget: self.write_budget,
            max_in_flight: self.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            max_outage: self.max_outage,
            tenant: match &self.tenant {
                Some(TenantChoice::Named(tenant)) => Some(tenant.clone()),
                _ => None,
            },
        }
    }

    /// Whether the command runs against the built-in emulator (`--tenant sim`).
    pub fn is_sim(&self) -> bool {
        self.tenant == Some(TenantChoice::Sim)
    }

    /// The flags that reconnect to `run` the way it was reached: its values for every
    /// flag not given here. The credential source and the pacing given here replace the
    /// run's; a target flag (`--tenant`, `--sim-*`, `--cloud`, `--login-url`,
    /// `--graph-url`) that names another target than the run's is refused, every such
    /// flag named.
    pub fn resumed(&self, run: &RunConnection) -> Result<GraphArgs, ResumeTargetError> {
        let mut other = Vec::new();
        let mut differs = |flag: &str, given: String, used: String| {
            other.push(FlagDiffers {
                flag: flag.to_string(),
                given,
                used,
            });
        };
        let run_sim = run.sim.as_ref();
        let not_sim = || "no emulator".to_string();
        match &self.tenant {
            Some(TenantChoice::Sim) if run_sim.is_none() => differs(
                "--tenant",
                "sim".into(),
                "a tenant, not the emulator".into(),
            ),
            Some(TenantChoice::Named(given)) if run_sim.is_some() => {
                differs("--tenant", given.clone(), "the built-in emulator".into());
            }
            Some(TenantChoice::Named(given))
                if run.tenant.as_ref().is_some_and(|used| used != given) =>
            {
                differs(
                    "--tenant",
                    given.clone(),
                    run.tenant.clone().unwrap_or_default(),
                );
            }
            _ => {}
        }
        if let Some(users) = self.sim_users
            && run_sim.is_none_or(|s| s.users != users)
        {
            let used = run_sim.map_or_else(not_sim, |s| s.users.to_string());
            differs("--sim-users", users.to_string(), used);
        }
        if let Some(seed) = self.sim_seed
            && run_sim.is_none_or(|s| s.seed != seed)
        {
            let used = run_sim.map_or_else(not_sim, |s| s.seed.to_string());
            differs("--sim-seed", seed.to_string(), used);
        }
        if let Some(file) = &self.sim_tenant_file {
            let given = std::path::absolute(file).unwrap_or_else(|_| file.clone());
            let used = run_sim.and_then(|s| s.tenant_file.as_ref());
            if used != Some(&given) {
                let used = match (run_sim, used) {
                    (None, _) => not_sim(),
                    (Some(_), None) => "a generated tenant".into(),
                    (Some(_), Some(f)) => f.display().to_string(),
                };
                differs("--sim-tenant-file", given.display().to_string(), used);
            }
        }
        if let Some(cloud) = self.cloud
            && cloud != run.cloud
        {
            differs("--cloud", cloud.to_string(), run.cloud.to_string());
        }
        // Hosts are compared as the endpoints resolve them (a trailing `/` is no other
        // host). With the emulator, the run's hosts were the emulator's own.
        let run_endpoints = Endpoints::new(
            run.cloud,
            run.login_url.as_deref(),
            run.graph_url.as_deref(),
        )
        .map_err(ResumeTargetError::Recorded)?;
        if let Some(url) = &self.graph_url {
            let given = Endpoints::new(run.cloud, None, Some(url))?;
            if run_sim.is_some() {
                differs("--graph-url", url.clone(), "the built-in emulator".into());
            } else if given.graph() != run_endpoints.graph() {
                differs(
                    "--graph-url",
                    url.clone(),
                    run_endpoints.graph().to_string(),
                );
            }
        }
        if let Some(url) = &self.login_url {
            let given = Endpoints::new(run.cloud, Some(url), None)?;
            if run_sim.is_some() {
                differs("--login-url", url.clone(), "the built-in emulator".into());
            } else if given.login() != run_endpoints.login() {
                differs(
                    "--login-url",
                    url.clone(),
                    run_endpoints.login().to_string(),
                );
            }
        }
        if !other.is_empty() {
            return Err(ResumeTargetError::Other(other));
        }
        Ok(GraphArgs {
            tenant: match (run_sim, &self.tenant, &run.tenant) {
                (Some(_), _, _) => Some(TenantChoice::Sim),
                (None, Some(TenantChoice::Named(given)), _) => {
                    Some(TenantChoice::Named(given.clone()))
                }
                (None, _, Some(used)) => Some(TenantChoice::Named(used.clone())),
                (None, _, None) => None,
            },
            sim_users: run_sim.map(|s| s.users),
            sim_seed: run_sim.map(|s| s.seed),
            sim_tenant_file: run_sim.and_then(|s| s.tenant_file.clone()),
            cloud: Some(run.cloud),
            login_url: run.login_url.clone(),
            graph_url: run.graph_url.clone(),
            auth: Some(self.auth.unwrap_or(run.auth.into())),
            tenant_size: Some(self.given_size().unwrap_or(run.tenant_size).into()),
            counted_size: None,
            ru_budget: self.ru_budget.or(run.ru_budget),
            write_budget: self.write_budget.or(run.write_budget),
            max_in_flight: Some(self.max_in_flight.unwrap_or(run.max_in_flight)),
            max_outage: self.max_outage.or(run.max_outage),
            credentials: self.credentials.clone(),
        })
    }

    /// Connects to the tenant, or starts the emulator for `--tenant sim`.
    pub async fn connect(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Connection> {
        let bounds = PreflightBounds::from_lookup(&lookup)?;
        let Some(TenantChoice::Sim) = &self.tenant else {
            return Ok(Connection {
                client: self.client(lookup)?.with_preflight_bounds(bounds),
                sim: None,
            });
        };
        let token = crate::wire::random_guid();
        let seed = self.sim_seed.unwrap_or(DEFAULT_SIM_SEED);
        let tenant = match &self.sim_tenant_file {
            Some(path) => TenantSource::File(path.clone()),
            None => TenantSource::Generate {
                users: self.sim_users.unwrap_or(DEFAULT_SIM_USERS),
                seed,
            },
        };
        let sim = Sim::start(SimConfig {
            tenant,
            seed,
            tenant_size: self.tenant_size(),
            // Sized like Entra would size it, unless a size is given.
            tenant_size_by_users: self.given_size().is_none(),
            static_token: Some(Secret::new(token.clone())),
            ..SimConfig::default()
        })
        .await?;
        let endpoints = Endpoints::new(Cloud::Global, Some(sim.base_url()), Some(sim.base_url()))?;
        let http = GraphClient::http_client().context("cannot set up HTTP")?;
        let tokens = TokenSource::new(
            Credential::AccessToken(Secret::new(token)),
            TokenEndpoint {
                token_url: endpoints.token_url(sim.tenant_id()),
                scope: endpoints.scope().to_string(),
            },
            http.clone(),
        )?;
        Ok(Connection {
            client: GraphClient::new(http, endpoints, tokens).with_preflight_bounds(bounds),
            sim: Some(sim),
        })
    }

    /// The Graph client, with credentials read through `lookup` (the environment).
    pub fn client(&self, lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<GraphClient> {
        let endpoints = self.endpoints()?;
        let mode = self.auth.unwrap_or(AuthSource::Environment).into();
        // `--tenant ID|DOMAIN` stands for AZURE_TENANT_ID (as `az --tenant` does).
        let named = match &self.tenant {
            Some(TenantChoice::Named(tenant)) => Some(tenant.clone()),
            _ => None,
        };
        let lookup = |name: &str| match (&named, name) {
            (Some(tenant), crate::graph::auth::AZURE_TENANT_ID) => Some(tenant.clone()),
            _ => lookup(name),
        };
        let credential = Credential::from_env(lookup, mode)?;
        let tenant = credential.tenant().unwrap_or("organizations").to_string();
        let http = GraphClient::http_client().context("cannot set up HTTPS")?;
        let tokens = TokenSource::new(
            credential,
            TokenEndpoint {
                token_url: endpoints.token_url(&tenant),
                scope: endpoints.scope().to_string(),
            },
            http.clone(),
        )?;
        Ok(GraphClient::new(http, endpoints, tokens))
    }
}

/// A target flag of `resume` that differs from the run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagDiffers {
    pub flag: String,
    /// The value given to `resume`.
    pub given: String,
    /// What the run used.
    pub used: String,
}

/// Why `resume` would not reach the run's target with the flags it was given.
#[derive(Debug, thiserror::Error)]
pub enum ResumeTargetError {
    /// Target flags that name another target than the run's.
    #[error("{}", describe_differences(.0))]
    Other(Vec<FlagDiffers>),
    /// A `--login-url` or `--graph-url` given is not a service root.
    #[error(transparent)]
    Given(#[from] crate::graph::endpoints::EndpointError),
    /// The run's own hosts no longer resolve (run.json was edited).
    #[error(
        "run.json names hosts that are not service roots ({0}); it was edited after the run started"
    )]
    Recorded(crate::graph::endpoints::EndpointError),
}

fn describe_differences(other: &[FlagDiffers]) -> String {
    other
        .iter()
        .map(|d| format!("{} {} (the run used {})", d.flag, d.given, d.used))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The flags that name `run`'s target, as `resume` would be given them.
pub fn target_flags(run: &RunConnection) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(tenant) = &run.tenant {
        flags.extend(["--tenant".to_string(), tenant.clone()]);
    }
    if let Some(sim) = &run.sim {
        flags.extend(["--tenant".to_string(), "sim".to_string()]);
        match &sim.tenant_file {
            Some(file) => {
                flags.extend(["--sim-tenant-file".into(), file.display().to_string()]);
            }
            None => flags.extend(["--sim-users".into(), sim.users.to_string()]),
        }
        flags.extend(["--sim-seed".into(), sim.seed.to_string()]);
        return flags;
    }
    if run.cloud != Cloud::default() {
        flags.extend(["--cloud".into(), run.cloud.to_string()]);
    }
    if let Some(url) = &run.login_url {
        flags.extend(["--login-url".into(), url.clone()]);
    }
    if let Some(url) = &run.graph_url {
        flags.extend(["--graph-url".into(), url.clone()]);
    }
    flags
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

    #[test]
    fn a_tenants_credential_is_read_from_its_own_variables_and_never_shown_in_debug() {
        let mut own = std::collections::BTreeMap::new();
        own.insert(
            "AZURE_CLIENT_SECRET".to_string(),
            Secret::new("s3cret-value"),
        );
        let args = GraphArgs {
            credentials: Some(std::sync::Arc::new(CredentialEnv(own))),
            ..GraphArgs::default()
        };
        assert_eq!(
            args.env("AZURE_CLIENT_SECRET").as_deref(),
            Some("s3cret-value")
        );
        // A credential variable the tenant does not name is not taken from the process.
        assert_eq!(args.env("MFA_RESET_ACCESS_TOKEN"), None);
        let shown = format!("{args:?}");
        assert!(shown.contains("AZURE_CLIENT_SECRET"), "{shown}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        graph: GraphArgs,
    }

    fn parse(args: &[&str]) -> Result<GraphArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("mfa-reset").chain(args.iter().copied()))
            .map(|c| c.graph)
    }

    #[test]
    fn defaults_are_the_global_cloud_and_until_counted_the_small_tenant_quotas() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args.endpoints().unwrap().graph(),
            "https://graph.microsoft.com"
        );
        // --tenant-size auto before the users are counted: the safe quota.
        let pacer = args.pacer_settings();
        assert_eq!(pacer.resource_units.per_second(), 350.0);
        assert_eq!(pacer.writes.per_second(), 20.0);
        assert!(args.needs_count());
        assert_eq!(
            args.dispatcher_settings().max_in_flight,
            DEFAULT_MAX_IN_FLIGHT
        );
    }

    #[test]
    fn budgets_and_hosts_can_be_overridden() {
        let args = parse(&[
            "--tenant-size",
            "small",
            "--write-budget",
            "1500/150s",
            "--graph-url",
            "http://127.0.0.1:8080",
            "--cloud",
            "usgov",
        ])
        .unwrap();
        let pacer = args.pacer_settings();
        assert_eq!(pacer.resource_units.per_second(), 350.0);
        assert_eq!(pacer.writes.per, Duration::from_secs(150));
        assert_eq!(pacer.writes.amount, 1500);
        let endpoints = args.endpoints().unwrap();
        assert_eq!(endpoints.graph(), "http://127.0.0.1:8080");
        assert_eq!(endpoints.login(), "https://login.microsoftonline.us");
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        let e = parse(&["--write-budget", "lots"]).unwrap_err().to_string();
        assert!(e.contains("--write-budget"), "{e}");
        assert!(e.contains("like 8000/10s"), "{e}");
        assert!(parse(&["--max-in-flight", "0"]).is_err());
        let args = parse(&["--graph-url", "http://graph.example.com"]).unwrap();
        let e = args.endpoints().unwrap_err().to_string();
        assert!(e.contains("--graph-url"), "{e}");
    }

    #[test]
    fn the_record_fills_in_the_defaults_and_makes_the_tenant_file_absolute() {
        let run = parse(&[]).unwrap().record();
        assert_eq!(run.cloud, Cloud::Global);
        assert_eq!((run.login_url, run.graph_url, run.sim), (None, None, None));
        assert_eq!(run.auth, AuthMode::Environment);
        // Not counted (auto, before the tenant was read): the safe quota.
        assert_eq!(run.tenant_size, TenantSize::Small);
        assert_eq!(run.max_in_flight, DEFAULT_MAX_IN_FLIGHT);

        let run = parse(&["--tenant", "sim", "--sim-tenant-file", "t.json"])
            .unwrap()
            .record();
        let sim = run.sim.expect("the emulator's tenant");
        assert_eq!((sim.users, sim.seed), (DEFAULT_SIM_USERS, DEFAULT_SIM_SEED));
        let file = sim.tenant_file.expect("the file");
        assert!(file.is_absolute() && file.ends_with("t.json"), "{file:?}");
    }

    #[test]
    fn resume_takes_the_runs_connection_and_the_pacing_it_is_given() {
        let run = parse(&[
            "--cloud",
            "usgov",
            "--graph-url",
            "http://127.0.0.1:8080",
            "--login-url",
            "http://127.0.0.1:8081",
            "--auth",
            "azure-cli",
            "--tenant-size",
            "small",
            "--write-budget",
            "60/1s",
            "--max-in-flight",
            "3",
        ])
        .unwrap()
        .record();
        let resumed = parse(&[]).unwrap().resumed(&run).unwrap();
        assert_eq!(resumed.record(), run);
        let endpoints = resumed.endpoints().unwrap();
        assert_eq!(endpoints.graph(), "http://127.0.0.1:8080");
        assert_eq!(endpoints.login(), "http://127.0.0.1:8081");

        // The same target spelled otherwise, and other pacing and credentials: accepted.
        let resumed = parse(&[
            "--graph-url",
            "http://127.0.0.1:8080/",
            "--cloud",
            "usgov",
            "--auth",
            "environment",
            "--write-budget",
            "10/1s",
            "--max-in-flight",
            "1",
        ])
        .unwrap()
        .resumed(&run)
        .unwrap();
        assert_eq!(resumed.auth, Some(AuthSource::Environment));
        assert_eq!(resumed.pacer_settings().writes.amount, 10);
        assert_eq!(resumed.pacer_settings().resource_units.per_second(), 350.0);
        assert_eq!(resumed.dispatcher_settings().max_in_flight, 1);
        assert_eq!(
            resumed.endpoints().unwrap().graph(),
            "http://127.0.0.1:8080"
        );
    }

    fn refused(run: &RunConnection, args: &[&str]) -> Vec<String> {
        match parse(args).unwrap().resumed(run) {
            Err(ResumeTargetError::Other(other)) => other.into_iter().map(|d| d.flag).collect(),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn resume_refuses_every_flag_that_names_another_target() {
        let tenant = parse(&["--graph-url", "http://127.0.0.1:8080"])
            .unwrap()
            .record();
        assert_eq!(
            refused(&tenant, &["--graph-url", "http://127.0.0.1:9"]),
            ["--graph-url"]
        );
        assert_eq!(refused(&tenant, &["--cloud", "china"]), ["--cloud"]);
        assert_eq!(
            refused(&tenant, &["--login-url", "http://127.0.0.1:9"]),
            ["--login-url"]
        );
        assert_eq!(
            refused(&tenant, &["--tenant", "sim", "--sim-seed", "7"]),
            ["--tenant", "--sim-seed"]
        );
        let e = parse(&["--graph-url", "http://127.0.0.1:9"])
            .unwrap()
            .resumed(&tenant)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--graph-url http://127.0.0.1:9 (the run used http://127.0.0.1:8080)"
        );
        assert!(matches!(
            parse(&["--graph-url", "http://graph.example.com"])
                .unwrap()
                .resumed(&tenant),
            Err(ResumeTargetError::Given(_))
        ));

        let sim = parse(&["--tenant", "sim", "--sim-users", "50"])
            .unwrap()
            .record();
        let resumed = parse(&[]).unwrap().resumed(&sim).unwrap();
        assert_eq!(resumed.tenant, Some(TenantChoice::Sim));
        assert_eq!(resumed.record(), sim);
        assert!(
            parse(&["--tenant", "sim", "--sim-users", "50", "--sim-seed", "7"])
                .unwrap()
                .resumed(&sim)
                .is_ok()
        );
        assert_eq!(refused(&sim, &["--sim-users", "51"]), ["--sim-users"]);
        assert_eq!(
            refused(&sim, &["--tenant", "sim", "--sim-tenant-file", "t.json"]),
            ["--sim-tenant-file"]
        );
        assert_eq!(
            refused(&sim, &["--graph-url", "http://127.0.0.1:9"]),
            ["--graph-url"]
        );
        assert_eq!(
            target_flags(&sim),
            ["--tenant", "sim", "--sim-users", "50", "--sim-seed", "7"]
        );
        assert_eq!(
            target_flags(&tenant),
            ["--graph-url", "http://127.0.0.1:8080"]
        );
    }

    #[test]
    fn missing_credentials_name_the_variables_to_set() {
        let args = parse(&[]).unwrap();
        let e = args.client(|_| None).unwrap_err().to_string();
        assert!(
            e.contains("AZURE_TENANT_ID") || e.contains("AZURE_CLIENT_ID"),
            "{e}"
        );
    }
}
