//! The scenario builder of the end-to-end tests: given a tenant (in an emulator running in
//! this process, on a runtime of its own, so that it outlives the binary however the
//! binary ends) and a user list, when `mfa-reset plan`, `apply` or `resume` runs with a
//! policy, then the tenant's final state, the emulator's mutation log, the run folder's
//! files, the exit code and the output show what happened.
//!
//! ```ignore
//! let t = Scenario::start("drift", rules());
//! let input = t.write_list(&listed);
//! t.plan(&input, Profile::DeviceRefresh.with_tap()).run().expect_code(0);
//! let run = t.apply_plan().yes().run();
//! let expected = t.assert_tenant_after(&listed, Profile::DeviceRefresh);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mfa_reset::secret::Secret;
use mfa_reset::sim::{Quotas, Sim, SimApp, SimConfig, SimHandle, TenantSource};
use serde_json::Value;

use super::folder::Folder;
use super::oracle::{self, Expect, Policy, Profile};
use super::process::{Run, Spawned, mfa_reset};
use super::users::{Users, id_of, mixed_tenant, upn};
use super::{data, s, scratch};

/// The bearer token every scenario's emulator accepts without a token request, unless
/// the scenario's configuration names another.
pub const TOKEN: &str = "scenario-static-token";

/// The rules tenant (`tests/data/tenant-rules.json`): every Entra rule, by name.
pub fn rules() -> SimConfig {
    SimConfig {
        tenant: TenantSource::File(data("tenant-rules.json")),
        ..SimConfig::default()
    }
}

/// The rules tenant followed by `generated` generated users, which no list names.
pub fn mixed(generated: usize, seed: u64) -> SimConfig {
    SimConfig {
        tenant: TenantSource::Tenant(Box::new(mixed_tenant(generated, seed))),
        ..SimConfig::default()
    }
}

/// A generated tenant of `users` users: the realistic mix, seeded.
pub fn generated(users: usize, seed: u64) -> SimConfig {
    SimConfig {
        tenant: TenantSource::Generate { users, seed },
        ..SimConfig::default()
    }
}

/// The default app with a client secret (for `AZURE_CLIENT_SECRET`).
pub fn app_with_secret(secret: &str) -> SimApp {
    SimApp {
        client_secret: Some(Secret::new(secret)),
        ..SimApp::default()
    }
}

/// Quotas small enough to matter: `app_writes` writes per 150 s, generous otherwise.
pub fn write_quota(app_writes: f64) -> Quotas {
    Quotas {
        resource_units: 8000.0,
        resource_unit_window: Duration::from_secs(10),
        app_writes,
        app_write_window: Duration::from_secs(150),
        tenant_writes: 18_000.0,
        tenant_write_window: Duration::from_secs(300),
    }
}

/// How the binary authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A ready token, `MFA_RESET_ACCESS_TOKEN`.
    Token(String),
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`.
    Secret(String),
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_CERTIFICATE_PATH`.
    Certificate(PathBuf),
}

/// One test's world: a scratch folder, an emulator holding the tenant, and the tenant as
/// it was when the scenario started.
pub struct Scenario {
    pub dir: PathBuf,
    pub sim: SimHandle,
    pub before: Users,
    token: String,
}

impl Scenario {
    /// Starts the emulator on `config` (with [`TOKEN`] as its static token unless it has
    /// one), in a fresh scratch folder named after the test module and `name`.
    #[track_caller]
    pub fn start(name: &str, config: SimConfig) -> Scenario {
        let dir = scratch(name);
        Scenario::start_in(dir, config)
    }

    /// Starts the emulator on the tenant given as JSON (as `tenant.json` in the folder).
    #[track_caller]
    pub fn with_tenant(name: &str, tenant: &Value) -> Scenario {
        let dir = scratch(name);
        let file = dir.join("tenant.json");
        std::fs::write(&file, tenant.to_string()).unwrap();
        let config = SimConfig {
            tenant: TenantSource::File(file),
            ..SimConfig::default()
        };
        Scenario::start_in(dir, config)
    }

    fn start_in(dir: PathBuf, mut config: SimConfig) -> Scenario {
        let token = config
            .static_token
            .get_or_insert_with(|| Secret::new(TOKEN))
            .expose()
            .to_string();
        let sim = Sim::start_background(config).expect("the emulator starts");
        Scenario::of(dir, sim, token)
    }

    fn of(dir: PathBuf, sim: SimHandle, token: String) -> Scenario {
        let mut t = Scenario {
            dir,
            sim,
            before: Users::new(),
            token,
        };
        t.before = t.users();
        t
    }

    /// One emulator serving a tenant for each of `configs` (each at its own path prefix,
    /// `Sim::start_tenants`), a scenario for each, in folders named `name-1`, `name-2`…;
    /// dropping the first stops them all.
    #[track_caller]
    pub fn start_tenants(name: &str, configs: Vec<SimConfig>) -> Vec<Scenario> {
        let configs: Vec<SimConfig> = configs
            .into_iter()
            .map(|mut c| {
                c.static_token.get_or_insert_with(|| Secret::new(TOKEN));
                c
            })
            .collect();
        let tokens: Vec<String> = configs
            .iter()
            .map(|c| {
                c.static_token
                    .as_ref()
                    .expect("set above")
                    .expose()
                    .to_string()
            })
            .collect();
        let sims = Sim::start_tenants_background(configs).expect("the emulator starts");
        sims.into_iter()
            .zip(tokens)
            .enumerate()
            .map(|(n, (sim, token))| {
                Scenario::of(scratch(&format!("{name}-{}", n + 1)), sim, token)
            })
            .collect()
    }

    // ---- given ----

    /// Writes `userPrincipalName,ticket` for `users` to `users.csv`, ticket `T-<row>`.
    pub fn write_list(&self, users: &[Value]) -> PathBuf {
        self.write_list_as("users.csv", users)
    }

    /// [`Scenario::write_list`] to another file of the folder.
    pub fn write_list_as(&self, name: &str, users: &[Value]) -> PathBuf {
        let mut text = String::from("userPrincipalName,ticket\n");
        for (i, u) in users.iter().enumerate() {
            text.push_str(&format!("{},T-{i}\n", upn(u)));
        }
        self.write(name, text)
    }

    /// Writes a file of the folder.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The users the test lists, in the tenant as it was: by id.
    pub fn users_by_id(&self, ids: &[&str]) -> Vec<Value> {
        ids.iter().map(|id| self.before[*id].clone()).collect()
    }

    // ---- when ----

    /// `mfa-reset ARGS --graph-url BASE --login-url BASE`, with the static token.
    pub fn mfa(&self, args: &[&str]) -> Invocation<'_> {
        Invocation {
            t: self,
            args: args.iter().map(|a| a.to_string()).collect(),
            auth: Auth::Token(self.token.clone()),
            env: Vec::new(),
        }
    }

    /// `plan INPUT POLICY --out plan/`.
    pub fn plan(&self, input: &Path, policy: impl Into<Policy>) -> Invocation<'_> {
        self.mfa(&["plan", s(input)])
            .args(&policy.into().args())
            .args(&["--out", self.planned().arg()])
    }

    /// `apply INPUT POLICY --out run/`: plans and applies in one go.
    pub fn apply(&self, input: &Path, policy: impl Into<Policy>) -> Invocation<'_> {
        self.mfa(&["apply", s(input)])
            .args(&policy.into().args())
            .args(&["--out", self.out().arg()])
    }

    /// `apply plan/plan.json --out run/`.
    pub fn apply_plan(&self) -> Invocation<'_> {
        self.mfa(&["apply", s(&self.planned().plan_file())])
            .args(&["--out", self.out().arg()])
    }

    /// `resume run/`.
    pub fn resume(&self) -> Invocation<'_> {
        self.mfa(&["resume", self.out().arg()])
    }

    /// Sends one request to the emulator's Graph, as another admin would; the status.
    pub fn graph(&self, method: &str, path: &str, body: Option<Value>) -> u16 {
        let url = format!("{}/v1.0{path}", self.sim.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut request = reqwest::Client::new()
                .request(method, url)
                .bearer_auth(&self.token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            request
                .send()
                .await
                .expect("the emulator answers")
                .status()
                .as_u16()
        })
    }

    // ---- then ----

    /// The folder `plan` writes to (`plan/`).
    pub fn planned(&self) -> Folder {
        Folder(self.dir.join("plan"))
    }

    /// The folder `apply` and `resume` write to (`run/`).
    pub fn out(&self) -> Folder {
        Folder(self.dir.join("run"))
    }

    /// The tenant now, user by id, as `/_sim/state` shows it.
    pub fn users(&self) -> Users {
        let state = serde_json::to_value(self.sim.state()).expect("state serializes");
        state["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| (id_of(u).to_string(), u.clone()))
            .collect()
    }

    /// The emulator's mutation log: every change made, in order.
    pub fn mutations(&self) -> Vec<Value> {
        self.sim.mutations()["value"]
            .as_array()
            .expect("value")
            .clone()
    }

    /// See [`oracle::assert_tenant_after`]: the tenant after a finished run of `policy`
    /// over `listed`, against the tenant as it was when the scenario started.
    pub fn assert_tenant_after(
        &self,
        listed: &[Value],
        policy: impl Into<Policy>,
    ) -> BTreeMap<String, Expect> {
        oracle::assert_tenant_after(
            &self.before,
            &self.users(),
            &self.mutations(),
            listed,
            policy.into(),
        )
    }

    /// See [`oracle::assert_order`].
    pub fn assert_order(&self, profile: Profile) {
        oracle::assert_order(&self.mutations(), profile);
    }
}

/// One command line of a scenario, to run or start.
pub struct Invocation<'a> {
    t: &'a Scenario,
    args: Vec<String>,
    auth: Auth,
    env: Vec<(String, String)>,
}

impl Invocation<'_> {
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// `--yes`: no confirmation asked.
    pub fn yes(self) -> Self {
        self.args(&["--yes"])
    }

    /// `--write-budget BUDGET`.
    pub fn budget(self, budget: &str) -> Self {
        self.args(&["--write-budget", budget])
    }

    /// Another `--out` folder.
    pub fn out(mut self, dir: &Path) -> Self {
        let at = self.args.iter().position(|a| a == "--out").expect("--out");
        self.args[at + 1] = s(dir).to_string();
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// One more environment variable for the binary.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    fn command(&self) -> std::process::Command {
        let sim = &self.t.sim;
        let base = sim.base_url();
        let mut cmd = mfa_reset(&self.args);
        if !matches!(self.args[0].as_str(), "check" | "sim") {
            cmd.args(["--graph-url", base, "--login-url", base]);
        }
        match &self.auth {
            Auth::Token(token) => {
                cmd.env("MFA_RESET_ACCESS_TOKEN", token);
            }
            Auth::Secret(secret) => {
                cmd.env("AZURE_TENANT_ID", sim.tenant_id())
                    .env("AZURE_CLIENT_ID", sim.client_id())
                    .env("AZURE_CLIENT_SECRET", secret);
            }
            Auth::Certificate(path) => {
                cmd.env("AZURE_TENANT_ID", sim.tenant_id())
                    .env("AZURE_CLIENT_ID", sim.client_id())
                    .env("AZURE_CLIENT_CERTIFICATE_PATH", path);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Runs the binary to the end with `input` piped to its standard input.
    pub fn run_piped(&self, input: impl Into<Vec<u8>>) -> Run {
        let run = Run::of_piped(&mut self.command(), input.into());
        run.assert_no_panic();
        run
    }

    /// Runs the binary to the end; the run never panics.
    pub fn run(&self) -> Run {
        let run = Run::of(&mut self.command());
        run.assert_no_panic();
        run
    }

    /// Starts the binary, its output going to `LOG.out` and `LOG.err` in the folder.
    pub fn spawn(&self, log: &str) -> Spawned {
        Spawned::start(&mut self.command(), &self.t.dir.join(log))
    }
}
