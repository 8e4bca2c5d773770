//! `mfa-reset sim`: a Microsoft Graph emulator that behaves like Entra ID.
//!
//! Every feature of mfa-reset is built, tested, rehearsed and benchmarked against it, so
//! its fidelity decides whether green tests mean anything. It serves the Graph routes a
//! bulk MFA reset needs under `/v1.0` and `/beta` ([`routes`]), `$batch` exactly as Graph
//! does it ([`batch`]), Entra's rules on what may be deleted or changed ([`tenant`]), the
//! Graph application permissions each route needs ([`permissions`]), the documented
//! identity throttling ([`throttle`]), seeded faults, a token endpoint that verifies client
//! secrets and certificate assertions and whose tokens can be expired on demand
//! ([`auth`]), and observation endpoints under `/_sim/` ([`observe`]). A test can change
//! the tenant as another administrator would while a plan waits ([`SimHandle::grant_role`]
//! and its siblings).
//!
//! It shares only [`crate::wire`] with the client: it must never call client code, or the
//! two could agree on a mistake.
//!
//! Start it in-process with [`Sim::start`] (on the caller's tokio runtime) or
//! [`Sim::start_background`] (on a runtime of its own); the returned [`SimHandle`] stops
//! it when dropped.

pub mod auth;
pub mod batch;
pub mod errors;
pub mod generate;
pub mod model;
pub mod observe;
pub mod odata;
pub mod permissions;
pub mod routes;
pub mod server;
pub mod tenant;
pub mod throttle;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use tokio::sync::watch;

pub use auth::{Certificate, SimApp};
pub use errors::{GraphFailure, SimError};
pub use model::{
    AdministrativeUnitRecord, EligibilityRecord, GroupRecord, Method, ScopedRoleRecord, TapPolicy,
    TenantRecord, User,
};
pub use observe::ReceivedRequest;
pub use permissions::Access;
pub use tenant::Tenant;
pub use throttle::{Quotas, TenantSize};

use crate::secret::Secret;

/// The client id of the app the emulator registers when none is configured.
pub const DEFAULT_CLIENT_ID: &str = "5f0d6a3e-2b8c-4c1e-9a77-3d5e0c9b1f42";

/// Where the emulated tenant comes from.
#[derive(Debug, Clone)]
pub enum TenantSource {
    /// Generated deterministically: `users` users from `seed`.
    Generate { users: usize, seed: u64 },
    /// Loaded from a tenant file.
    File(PathBuf),
    /// Given ready-made.
    Tenant(Box<Tenant>),
}

/// Everything the emulator can be told.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    pub tenant: TenantSource,
    /// Seeds faults, batch ordering and latency jitter.
    pub seed: u64,
    pub tenant_size: TenantSize,
    /// Size the tenant by its users instead, as Entra does ([`TenantSize::for_users`]):
    /// `tenant_size` is then ignored.
    pub tenant_size_by_users: bool,
    /// Overrides the documented quotas of `tenant_size` (tests shrink them).
    pub quotas: Option<Quotas>,
    pub throttling: bool,
    /// Quotas refill this many times faster; `Retry-After` shrinks alike.
    pub time_scale: f64,
    /// Share of requests (and of batch items) that fail with 503, 504 or a dropped
    /// connection, without being applied.
    pub fail_rate: f64,
    /// Share of writes that are applied but answered 504.
    pub ghost_write_rate: f64,
    pub latency: Duration,
    pub jitter: Duration,
    /// Registered apps; the first is the one `static_token` authenticates as.
    pub apps: Vec<SimApp>,
    /// A bearer token accepted without a token request.
    pub static_token: Option<Secret>,
    pub token_lifetime: Duration,
    /// Once this many Graph writes have been applied (ghost writes included), every token
    /// issued so far and the static token expire, as [`SimHandle::expire_tokens`] does:
    /// a run that outlives its token, at a point a test can name.
    pub expire_tokens_after_writes: Option<u64>,
    /// Keeps every Graph request received, for [`SimHandle::requests`] (off by default:
    /// a long run would hold every request it sent).
    pub log_requests: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tenant: TenantSource::Generate {
                users: 100,
                seed: 7,
            },
            seed: 7,
            tenant_size: TenantSize::Large,
            tenant_size_by_users: false,
            quotas: None,
            throttling: true,
            time_scale: 1.0,
            fail_rate: 0.0,
            ghost_write_rate: 0.0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            apps: vec![SimApp::default()],
            static_token: None,
            token_lifetime: Duration::from_secs(3599),
            expire_tokens_after_writes: None,
            log_requests: false,
        }
    }
}

impl SimConfig {
    fn validate(&self) -> Result<(), SimError> {
        let rate = |name: &str, p: f64| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                Err(SimError::Config(format!(
                    "{name} must be between 0 and 1, got {p}"
                )))
            }
        };
        rate("--fail-rate", self.fail_rate)?;
        rate("--ghost-write-rate", self.ghost_write_rate)?;
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(SimError::Config(format!(
                "--time-scale must be a positive number, got {}",
                self.time_scale
            )));
        }
        if self.apps.is_empty() {
            return Err(SimError::Config(
                "at least one app must be registered".into(),
            ));
        }
        if self.token_lifetime.is_zero() {
            return Err(SimError::Config(
                "--token-lifetime must be at least 1 second".into(),
            ));
        }
        if self.expire_tokens_after_writes == Some(0) {
            return Err(SimError::Config(
                "expire_tokens_after_writes must be at least 1 (to expire tokens now, call SimHandle::expire_tokens)".into(),
            ));
        }
        for app in &self.apps {
            if let Some(unknown) = app
                .denied_permissions
                .iter()
                .find(|p| permissions::known(p).is_none())
            {
                return Err(SimError::Config(format!(
                    "--deny-permission {unknown:?}: not a permission the emulator checks; use one of {}",
                    permissions::KNOWN.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Loads or generates the tenant a config names.
pub fn load_tenant(source: &TenantSource) -> Result<Tenant, SimError> {
    match source {
        TenantSource::Generate { users, seed } => Ok(generate::generate(*users, *seed)),
        TenantSource::Tenant(t) => Ok((**t).clone()),
        TenantSource::File(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| SimError::ReadTenantFile {
                    path: path.clone(),
                    source,
                })?;
            let record: TenantRecord =
                serde_json::from_str(&text).map_err(|e| SimError::ParseTenantFile {
                    path: path.clone(),
                    line: e.line(),
                    column: e.column(),
                    message: e.to_string(),
                })?;
            Tenant::from_record(record).map_err(|message| SimError::InvalidTenant {
                path: path.clone(),
                message,
            })
        }
    }
}

/// Generates request ids: unique, GUID-shaped, cheap.
pub(crate) struct RequestIds {
    prefix: u64,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        RequestIds {
            prefix: rand::random(),
            next: AtomicU64::new(1),
        }
    }

    pub(crate) fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        tenant::guid_from_u128((u128::from(self.prefix) << 64) | u128::from(n))
    }
}

/// The emulator's whole state, shared by every connection.
pub(crate) struct SimState {
    pub(crate) base_url: String,
    pub(crate) tenant_id: String,
    /// Lower-case domains of the tenant's members, which name the tenant at the token
    /// endpoint as its id does.
    pub(crate) domains: std::collections::HashSet<String>,
    pub(crate) config: SimConfig,
    pub(crate) tenant: Mutex<Tenant>,
    pub(crate) throttle: Mutex<throttle::Throttle>,
    pub(crate) tokens: Mutex<auth::TokenStore>,
    pub(crate) rng: Mutex<ChaCha8Rng>,
    pub(crate) stats: observe::Stats,
    pub(crate) mutations: observe::MutationLog,
    /// Every Graph request received, when [`SimConfig::log_requests`] asks for it.
    pub(crate) requests: Option<observe::RequestLog>,
    pub(crate) ids: RequestIds,
    /// Until when the service is down ([`SimHandle::outage`]): every request's connection is
    /// dropped, the token endpoint's too.
    pub(crate) outage_until: Mutex<Option<std::time::Instant>>,
    /// Token requests still to be answered 429 ([`SimHandle::throttle_token_endpoint`]).
    pub(crate) token_throttles: std::sync::atomic::AtomicU32,
    /// Permissions taken from every app while the emulator runs
    /// ([`SimHandle::deny_permissions`]), beside each app's own `denied_permissions`.
    pub(crate) denied_since_start: Mutex<Vec<String>>,
}

impl SimState {
    /// True with probability `p`, from the seeded fault generator.
    pub(crate) fn chance(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        use rand::Rng;
        self.rng.lock().expect("rng lock").random_bool(p.min(1.0))
    }

    fn app(&self, app: &str) -> Option<&SimApp> {
        self.config
            .apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(app))
    }

    pub(crate) fn privileged(&self, app: &str) -> bool {
        self.app(app).is_some_and(|a| a.privileged)
    }

    /// Whether `app`'s permissions allow `access` (an app the emulator does not know has
    /// none: its token could not have been issued).
    pub(crate) fn allows(&self, app: &str, access: Access) -> bool {
        let denied = self.denied_since_start.lock().expect("permissions lock");
        self.app(app)
            .is_some_and(|a| a.allows(access) && permissions::allows(&denied, access))
    }

    /// Counts an applied write (`applied` is how many there have been); the write that
    /// reaches `expire_tokens_after_writes` expires the tokens.
    pub(crate) fn applied_write(&self, applied: usize) {
        if self
            .config
            .expire_tokens_after_writes
            .is_some_and(|n| u64::try_from(applied).is_ok_and(|a| a == n))
        {
            self.tokens.lock().expect("token lock").expire_all();
        }
    }

    /// Runs `change` on the user `user` names (id or UPN).
    fn change_user<T>(
        &self,
        user: &str,
        change: impl FnOnce(&mut Tenant, usize) -> Result<T, String>,
    ) -> Result<T, SimError> {
        let mut tenant = self.tenant.lock().expect("tenant lock");
        let index = tenant
            .find_user(user)
            .ok_or_else(|| SimError::UnknownUser(user.to_string()))?;
        change(&mut tenant, index).map_err(|message| SimError::Change {
            user: user.to_string(),
            message,
        })
    }

    /// Runs `change` on the tenant as a whole.
    fn change_tenant<T>(
        &self,
        change: impl FnOnce(&mut Tenant) -> Result<T, String>,
    ) -> Result<T, SimError> {
        let mut tenant = self.tenant.lock().expect("tenant lock");
        change(&mut tenant).map_err(|message| SimError::Change {
            user: String::new(),
            message,
        })
    }
}

/// Starts emulators.
pub struct Sim;

impl Sim {
    /// Starts the emulator on the current tokio runtime.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let mut handles = Sim::start_tenants(vec![config]).await?;
        Ok(handles.remove(0))
    }

    /// Starts one emulator that serves several tenants, each with its own users, apps,
    /// tokens, quotas and faults (`configs`, one a tenant, on the first one's address), at
    /// one Graph root as Entra serves every tenant: a token request goes to the tenant its
    /// `{tenant}` segment names, a Graph request to the tenant whose token it bears (so each
    /// tenant's static token must be its own). A handle for each, in order; the first
    /// one's runs the server (dropping it stops every tenant), the others only observe and
    /// change their tenant. The `/_sim/` endpoints observe the first.
    pub async fn start_tenants(configs: Vec<SimConfig>) -> Result<Vec<SimHandle>, SimError> {
        let Some(first) = configs.first() else {
            return Ok(Vec::new());
        };
        let listen = first.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
        let host = match addr {
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
            SocketAddr::V4(a) => a.to_string(),
        };
        let root = format!("http://{host}");
        let mut states: Vec<(String, Arc<SimState>)> = Vec::with_capacity(configs.len());
        let mut static_tokens: Vec<String> = Vec::new();
        for config in configs {
            let tenant = load_tenant(&config.tenant)?;
            if states.iter().any(|(_, s)| s.tenant_id == tenant.tenant_id) {
                return Err(SimError::Config(format!(
                    "tenant {} is served twice",
                    tenant.tenant_id
                )));
            }
            if let Some(token) = &config.static_token {
                let token = token.expose().to_string();
                if static_tokens.contains(&token) {
                    return Err(SimError::Config(
                        "two tenants have the same static token: a Graph request goes to the tenant whose token it bears".into(),
                    ));
                }
                static_tokens.push(token);
            }
            states.push((root.clone(), Sim::state(config, tenant, root.clone())?));
        }
        let tenants = Arc::new(server::Tenants {
            all: states.iter().map(|(_, s)| s.clone()).collect(),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, tenants, stopped));
        let mut task = Some(task);
        Ok(states
            .into_iter()
            .map(|(base_url, state)| SimHandle {
                base_url,
                addr,
                state,
                // Only the first handle's stop reaches the server.
                stop: if task.is_some() {
                    stop.clone()
                } else {
                    watch::channel(false).0
                },
                task: task.take(),
                thread: None,
            })
            .collect())
    }

    /// The state of one emulated tenant served at `base_url`.
    fn state(
        config: SimConfig,
        tenant: Tenant,
        base_url: String,
    ) -> Result<Arc<SimState>, SimError> {
        config.validate()?;
        let size = if config.tenant_size_by_users {
            TenantSize::for_users(tenant.users().len())
        } else {
            config.tenant_size
        };
        let quotas = config
            .quotas
            .clone()
            .unwrap_or_else(|| Quotas::documented(size));
        let tenant_id = tenant.tenant_id.clone();
        let domains = tenant
            .users()
            .iter()
            .filter(|u| !u.user_principal_name.contains("#EXT#"))
            .filter_map(|u| u.user_principal_name.rsplit_once('@'))
            .map(|(_, domain)| domain.to_ascii_lowercase())
            .collect();
        let state = Arc::new(SimState {
            base_url: base_url.clone(),
            tenant_id: tenant_id.clone(),
            domains,
            throttle: Mutex::new(throttle::Throttle::new(
                config.throttling,
                quotas,
                config.time_scale,
                tenant_id.clone(),
            )),
            tokens: Mutex::new(auth::TokenStore::new(
                tenant_id.clone(),
                config.apps.clone(),
                config.static_token.clone(),
                config.token_lifetime,
            )),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_fa17)),
            tenant: Mutex::new(tenant),
            stats: observe::Stats::default(),
            mutations: observe::MutationLog::default(),
            requests: config.log_requests.then(observe::RequestLog::default),
            ids: RequestIds::new(),
            outage_until: Mutex::new(None),
            token_throttles: std::sync::atomic::AtomicU32::new(0),
            denied_since_start: Mutex::new(Vec::new()),
            config,
        });
        Ok(state)
    }

    /// Starts the emulator on a runtime of its own (two worker threads), for callers that
    /// are not async or that must not share their runtime with it (benchmarks).
    pub fn start_background(config: SimConfig) -> Result<SimHandle, SimError> {
        let mut handles = Sim::start_tenants_background(vec![config])?;
        Ok(handles.remove(0))
    }

    /// [`Sim::start_tenants`] on a runtime of its own, as [`Sim::start_background`].
    pub fn start_tenants_background(configs: Vec<SimConfig>) -> Result<Vec<SimHandle>, SimError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mfa-reset-sim")
            .enable_all()
            .build()
            .map_err(SimError::Runtime)?;
        let mut handles = runtime.block_on(Sim::start_tenants(configs))?;
        let Some(handle) = handles.first_mut() else {
            return Ok(handles);
        };
        let task = handle.task.take();
        let thread = std::thread::Builder::new()
            .name("mfa-reset-sim-runtime".into())
            .spawn(move || {
                if let Some(task) = task {
                    let _ = runtime.block_on(task);
                }
            })
            .map_err(SimError::Runtime)?;
        handle.thread = Some(thread);
        Ok(handles)
    }
}

/// A running emulator. Dropping it stops the emulator.
pub struct SimHandle {
    base_url: String,
    addr: SocketAddr,
    state: Arc<SimState>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimHandle {
    /// The service root, without a version: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn tenant_id(&self) -> &str {
        &self.state.tenant_id
    }

    /// The client id of the first registered app.
    pub fn client_id(&self) -> &str {
        &self.state.config.apps[0].client_id
    }

    /// The tenant as it is now, in the tenant-file format.
    pub fn state(&self) -> TenantRecord {
        self.state.tenant.lock().expect("tenant lock").to_record()
    }

    /// The same JSON `/_sim/stats` serves.
    pub fn stats(&self) -> Value {
        self.state.stats.to_json()
    }

    /// Answers the next `requests` token requests 429 with `Retry-After: 1`, as Entra's
    /// token endpoint does when an app asks too often.
    pub fn throttle_token_endpoint(&self, requests: u32) {
        self.state
            .token_throttles
            .store(requests, std::sync::atomic::Ordering::SeqCst);
    }

    /// Takes the service down for `duration` from now: every request that arrives
    /// meanwhile has its connection dropped unanswered and changes nothing, as when Graph
    /// or the network between is gone. The tenant's state is kept.
    pub fn outage(&self, duration: std::time::Duration) {
        *self.state.outage_until.lock().expect("outage lock") =
            Some(std::time::Instant::now() + duration);
    }

    /// Replaces the tenant's Temporary Access Pass policy (as an administrator would in
    /// the Entra admin center); refused when Entra would refuse it.
    pub fn set_tap_policy(&self, policy: TapPolicy) -> Result<(), SimError> {
        self.state
            .tenant
            .lock()
            .expect("tenant lock")
            .set_tap_policy(policy)
            .map_err(SimError::Config)
    }

    /// Takes the Graph application permissions `names` from every app from now on, as an
    /// administrator removing a grant between `plan` and `apply` would: a request that
    /// needs one of them, and no other permission that allows it, is refused with 403. An
    /// unknown name is refused.
    pub fn deny_permissions(&self, names: &[String]) -> Result<(), SimError> {
        let mut known = Vec::with_capacity(names.len());
        for name in names {
            let Some(name) = permissions::known(name) else {
                return Err(SimError::Config(format!(
                    "unknown permission {name:?}: the emulator knows {}",
                    permissions::KNOWN.join(", ")
                )));
            };
            known.push(name.to_string());
        }
        self.state
            .denied_since_start
            .lock()
            .expect("permissions lock")
            .extend(known);
        Ok(())
    }

    /// The same JSON `/_sim/mutations` serves.
    pub fn mutations(&self) -> Value {
        self.state.mutations.to_json()
    }

    /// Every Graph request received so far, in order of arrival, each `$batch` item on its
    /// own after its envelope; `None` unless [`SimConfig::log_requests`] was set.
    pub fn requests(&self) -> Option<Vec<observe::ReceivedRequest>> {
        self.state
            .requests
            .as_ref()
            .map(observe::RequestLog::entries)
    }

    /// Expires every access token issued so far and the static token: from now on they
    /// are answered `401 InvalidAuthenticationToken` ("Lifetime validation failed, the
    /// token is expired."), a `$batch` as a whole. Tokens the token endpoint issues after
    /// this work.
    pub fn expire_tokens(&self) {
        self.state.tokens.lock().expect("token lock").expire_all();
    }

    // What another administrator does meanwhile. These change the tenant directly, not
    // through Graph: they are not in the mutation log and spend no quota. `user` is an
    // object id or a userPrincipalName; an unknown one is `SimError::UnknownUser`.

    /// Makes a user or group eligible (PIM) for a role, not active.
    pub fn add_eligibility(&self, principal_id: &str, role: &str) -> Result<(), SimError> {
        self.state.change_tenant(|t| {
            t.add_eligibility(EligibilityRecord {
                principal_id: principal_id.to_string(),
                role: role.to_string(),
                administrative_unit: None,
            })
        })
    }

    /// Makes a user or group eligible (PIM) for a role at the scope of administrative
    /// unit `unit` only.
    pub fn add_scoped_eligibility(
        &self,
        principal_id: &str,
        role: &str,
        unit: &str,
    ) -> Result<(), SimError> {
        self.state.change_tenant(|t| {
            t.add_eligibility(EligibilityRecord {
                principal_id: principal_id.to_string(),
                role: role.to_string(),
                administrative_unit: Some(unit.to_string()),
            })
        })
    }

    /// Adds an administrative unit: its users, the roles held at its scope, and whether
    /// its management is restricted (then only a privileged app may change its members).
    pub fn add_administrative_unit(&self, unit: AdministrativeUnitRecord) -> Result<(), SimError> {
        self.state.change_tenant(|t| t.add_unit(unit))
    }

    /// Whether the tenant has the licence PIM needs (without it Graph refuses to list
    /// eligibilities).
    pub fn set_pim_licensed(&self, licensed: bool) -> Result<(), SimError> {
        self.state.change_tenant(|t| {
            t.set_pim_licensed(licensed);
            Ok(())
        })
    }

    /// Adds a group (members: ids of users or of other groups), as an administrator
    /// would create a break-glass group.
    pub fn add_group(&self, group: GroupRecord) -> Result<(), SimError> {
        self.state.change_tenant(|t| t.add_group(group))
    }

    /// Makes `user` an active holder of the directory role `role_display_name` (e.g.
    /// `Global Administrator`): listed in their `transitiveMemberOf` and in
    /// `/directoryRoles?$expand=members`, and from then on changeable only by an app with
    /// a privileged role.
    pub fn grant_role(&self, user: &str, role_display_name: &str) -> Result<(), SimError> {
        self.state
            .change_user(user, |t, i| t.grant_role(i, role_display_name))
    }

    /// Puts `user` under on-premises sync (`onPremisesSyncEnabled: true`, so the cloud may
    /// no longer change `accountEnabled`), or makes them cloud-only again (`null`).
    pub fn set_synced(&self, user: &str, synced: bool) -> Result<(), SimError> {
        self.state.change_user(user, |t, i| {
            t.set_synced(i, synced);
            Ok(())
        })
    }

    /// Enables or disables `user`'s account.
    pub fn set_account_enabled(&self, user: &str, enabled: bool) -> Result<(), SimError> {
        self.state.change_user(user, |t, i| {
            t.set_account_enabled(i, enabled);
            Ok(())
        })
    }

    /// Registers a method for `user`, Graph-shaped as in a tenant file, e.g.
    /// `{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": "key-2",
    /// "displayName": "YubiKey"}`. Refused (`SimError::Change`) when Entra would refuse it:
    /// a duplicate id, an alternate mobile phone without a mobile one, a second TAP.
    pub fn add_method(&self, user: &str, method: &Value) -> Result<(), SimError> {
        self.state.change_user(user, |t, i| t.add_method(i, method))
    }

    /// Stops the emulator and waits until it has stopped listening.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
