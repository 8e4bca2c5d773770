//! `mfa-reset sim`: run the built-in Microsoft Graph emulator.
//!
//! ```text
//! mfa-reset sim --users 10000 --seed 7 --static-token demo
//! mfa-reset sim --tenant-file tenant.json --client-cert app.pem --time-scale 20
//! mfa-reset sim --users 50 --dump-tenant tenant.json     # write the tenant and exit
//! mfa-reset sim --static-token demo --deny-permission User.EnableDisableAccount.All \
//!     --deny-permission User.ReadWrite.All                 # an app that cannot disable
//! ```
//!
//! The first line on stdout is the service root (`http://127.0.0.1:PORT`, no version), so
//! scripts can read it; everything else goes to stderr. It serves until Ctrl-C.
//!
//! Credentials: the app's client secret comes from `MFA_RESET_SIM_CLIENT_SECRET` (never a
//! flag, so it stays out of shell history and process lists), its certificate from
//! `--client-cert`, or any request may carry `--static-token` as its bearer token.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::args::values::tenant_size_parser;
use super::interrupt::Interrupts;
use crate::cli::log::say;
use crate::exit::{CliError, CliResult, Exit, UsageContext};
use crate::secret::Secret;
use crate::sim::{self, Certificate, Sim, SimApp, SimConfig, TenantSize, TenantSource};

/// The environment variable the emulated app's client secret is read from.
pub const CLIENT_SECRET_ENV: &str = "MFA_RESET_SIM_CLIENT_SECRET";

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on. The default keeps the emulator on this machine.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub listen: IpAddr,
    /// Generate a tenant of this many users.
    #[arg(long, default_value_t = 1000, conflicts_with = "tenant_file")]
    pub users: usize,
    /// Seed for the generated tenant, faults, latency and batch order.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Load the tenant from this JSON file instead of generating one.
    #[arg(long, value_name = "FILE")]
    pub tenant_file: Option<PathBuf>,
    /// Write the tenant to FILE in the tenant-file format, then exit.
    #[arg(long, value_name = "FILE")]
    pub dump_tenant: Option<PathBuf>,
    /// Tenant size, which sets the resource-unit quota (3,500 / 5,000 / 8,000 per 10 s).
    #[arg(long, value_parser = tenant_size_parser(), default_value = "large")]
    pub tenant_size: TenantSize,
    /// Refill quotas K times faster (and divide Retry-After by K).
    #[arg(long, value_name = "K", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Turn throttling off.
    #[arg(long)]
    pub no_throttle: bool,
    /// Share of requests (0 to 1) that fail with 503, 504 or a dropped connection.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Share of writes (0 to 1) that are applied but answered 504.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub ghost_write_rate: f64,
    /// Added to every Graph and token request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Up to this many more milliseconds, seeded.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,
    /// The emulated app's client id.
    #[arg(long, default_value = sim::DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// PEM file with the app's certificate: client assertions must be signed by its key.
    #[arg(long, value_name = "PEM")]
    pub client_cert: Option<PathBuf>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, value_name = "S", default_value_t = 3599)]
    pub token_lifetime: u64,
    /// Accept this bearer token without a token request (for curl and rehearsals).
    #[arg(long, value_name = "T")]
    pub static_token: Option<String>,
    /// The app holds a privileged directory role, so it may change admin-role holders.
    #[arg(long)]
    pub app_has_privileged_role: bool,
    /// Do not grant the app this Graph application permission (repeatable; every other
    /// one is granted). A request is refused with 403 only when every permission that
    /// allows it is denied: deny User.RevokeSessions.All and User.ReadWrite.All to refuse
    /// revoking sessions.
    #[arg(long, value_name = "NAME")]
    pub deny_permission: Vec<String>,
}

impl SimArgs {
    fn config(&self) -> anyhow::Result<SimConfig> {
        let tenant = match &self.tenant_file {
            Some(path) => TenantSource::File(path.clone()),
            None => TenantSource::Generate {
                users: self.users,
                seed: self.seed,
            },
        };
        let client_secret = match std::env::var(CLIENT_SECRET_ENV) {
            Ok(s) if !s.is_empty() => Some(Secret::new(s)),
            _ => None,
        };
        let certificate = self
            .client_cert
            .as_deref()
            .map(Certificate::from_pem_file)
            .transpose()?;
        Ok(SimConfig {
            listen: SocketAddr::new(self.listen, self.port),
            tenant,
            seed: self.seed,
            tenant_size: self.tenant_size,
            tenant_size_by_users: false,
            quotas: None,
            throttling: !self.no_throttle,
            time_scale: self.time_scale,
            fail_rate: self.fail_rate,
            ghost_write_rate: self.ghost_write_rate,
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            apps: vec![SimApp {
                client_id: self.client_id.clone(),
                client_secret,
                certificate,
                privileged: self.app_has_privileged_role,
                denied_permissions: self.deny_permission.clone(),
            }],
            static_token: self.static_token.clone().map(Secret::new),
            token_lifetime: Duration::from_secs(self.token_lifetime),
            expire_tokens_after_writes: None,
            log_requests: false,
        })
    }
}

/// Runs `mfa-reset sim`.
pub fn run(args: SimArgs) -> CliResult {
    let config = args.config().usage()?;
    if let Some(path) = &args.dump_tenant {
        let tenant = sim::load_tenant(&config.tenant).usage()?;
        let json = serde_json::to_vec_pretty(&tenant.to_record())
            .context("cannot serialize the tenant")?;
        std::fs::write(path, json).map_err(|source| sim::SimError::Write {
            path: path.clone(),
            source,
        })?;
        say!(
            "wrote {} users of tenant {} to {}",
            tenant.users().len(),
            tenant.tenant_id,
            path.display()
        );
        return Ok(Exit::Done);
    }
    let app = &config.apps[0];
    if app.client_secret.is_none() && app.certificate.is_none() && config.static_token.is_none() {
        return Err(CliError::usage(anyhow::anyhow!(
            "no way to authenticate to the emulator: set {CLIENT_SECRET_ENV}, pass --client-cert PEM, or pass --static-token T"
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mfa-reset-sim")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let handle = Sim::start(config).await.usage()?;
        println!("{}", handle.base_url());
        let state = handle.state();
        say!(
            "mfa-reset sim: tenant {} with {} users, app {}",
            handle.tenant_id(),
            state.users.len(),
            handle.client_id()
        );
        say!(
            "  Graph:  {0}/v1.0  {0}/beta\n  token:  {0}/{1}/oauth2/v2.0/token\n  stats:  {0}/_sim/stats  {0}/_sim/state  {0}/_sim/mutations\n  Ctrl-C stops it.",
            handle.base_url(),
            handle.tenant_id()
        );
        Interrupts::listen()
            .context("cannot listen for Ctrl-C")?
            .next()
            .await;
        say!("mfa-reset sim: stopping");
        handle.shutdown().await;
        Ok(Exit::Done)
    })
}
