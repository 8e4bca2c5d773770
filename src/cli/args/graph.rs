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

use super::values::{cloud_parser, tenant_size_parser};
use crate::engine::dispatcher::{DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_OUTAGE, DispatcherSettings};
use crate::engine::pacer::{Budget, PacerSettings};
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

/// A stand-in for a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TenantChoice {
    /// The built-in Graph emulator, started in-process: a rehearsal that changes nothing real.
    Sim,
}

#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// `sim` runs against the built-in Graph emulator instead of a tenant. The real tenant
    /// comes from AZURE_TENANT_ID.
    #[arg(long, value_enum)]
    pub tenant: Option<TenantChoice>,
    /// With --tenant sim: users in the generated emulated tenant.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub sim_users: usize,
    /// With --tenant sim: seed of the generated tenant.
    #[arg(long, value_name = "SEED", default_value_t = 7)]
    pub sim_seed: u64,
    /// With --tenant sim: load the emulated tenant from this file instead.
    #[arg(long, value_name = "FILE", requires = "tenant")]
    pub sim_tenant_file: Option<std::path::PathBuf>,
    /// The Microsoft cloud the tenant lives in; picks the login and Graph hosts.
    #[arg(long, value_parser = cloud_parser(), default_value = "global")]
    pub cloud: Cloud,
    /// Login service root instead of the cloud's (no path), e.g. https://login.microsoftonline.com.
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// Graph service root instead of the cloud's (no version), e.g. https://graph.microsoft.com.
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// Where credentials come from.
    #[arg(long, value_enum, default_value = "environment")]
    pub auth: AuthSource,
    /// Tenant size, which sets Entra's resource-unit quota (3,500 / 5,000 / 8,000 per 10 s).
    #[arg(long, value_parser = tenant_size_parser(), default_value = "large")]
    pub tenant_size: TenantSize,
    /// Resource units to spend at most, instead of the tenant size's quota (e.g. 8000/10s).
    #[arg(long, value_name = "AMOUNT/PERIOD")]
    pub ru_budget: Option<Budget>,
    /// Writes to spend at most, instead of Entra's 3000/150s per app.
    #[arg(long, value_name = "AMOUNT/PERIOD")]
    pub write_budget: Option<Budget>,
    /// `$batch` requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_IN_FLIGHT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub max_in_flight: usize,
    /// Seconds Graph may be out of reach (connections failing, or 5xx answers) before the
    /// run stops, resumable, instead of retrying on.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_MAX_OUTAGE.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub max_outage: u64,
}

impl GraphArgs {
    pub fn endpoints(&self) -> anyhow::Result<Endpoints> {
        Ok(Endpoints::new(
            self.cloud,
            self.login_url.as_deref(),
            self.graph_url.as_deref(),
        )?)
    }

    pub fn pacer_settings(&self) -> PacerSettings {
        let documented = PacerSettings::documented(self.tenant_size);
        PacerSettings {
            resource_units: self.ru_budget.unwrap_or(documented.resource_units),
            writes: self.write_budget.unwrap_or(documented.writes),
        }
    }

    pub fn dispatcher_settings(&self) -> DispatcherSettings {
        DispatcherSettings {
            max_in_flight: self.max_in_flight,
            max_outage: std::time::Duration::from_secs(self.max_outage),
            ..DispatcherSettings::default()
        }
    }

    /// Connects to the tenant, or starts the emulator for `--tenant sim`.
    pub async fn connect(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Connection> {
        let bounds = PreflightBounds::from_lookup(&lookup)?;
        let Some(TenantChoice::Sim) = self.tenant else {
            return Ok(Connection {
                client: self.client(lookup)?.with_preflight_bounds(bounds),
                sim: None,
            });
        };
        let token = crate::wire::random_guid();
        let tenant = match &self.sim_tenant_file {
            Some(path) => TenantSource::File(path.clone()),
            None => TenantSource::Generate {
                users: self.sim_users,
                seed: self.sim_seed,
            },
        };
        let sim = Sim::start(SimConfig {
            tenant,
            seed: self.sim_seed,
            tenant_size: self.tenant_size,
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
        let mode = match self.auth {
            AuthSource::Environment => AuthMode::Environment,
            AuthSource::AzureCli => AuthMode::AzureCli,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

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
    fn defaults_are_the_global_cloud_and_documented_large_tenant_quotas() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args.endpoints().unwrap().graph(),
            "https://graph.microsoft.com"
        );
        let pacer = args.pacer_settings();
        assert_eq!(pacer.resource_units.per_second(), 800.0);
        assert_eq!(pacer.writes.per_second(), 20.0);
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
    fn missing_credentials_name_the_variables_to_set() {
        let args = parse(&[]).unwrap();
        let e = args.client(|_| None).unwrap_err().to_string();
        assert!(
            e.contains("AZURE_TENANT_ID") || e.contains("AZURE_CLIENT_ID"),
            "{e}"
        );
    }
}
