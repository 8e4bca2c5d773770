//! `mfa-reset apply` and `mfa-reset resume` end to end: the binary against an emulator
//! running in this test process, so that the emulated tenant outlives the child (killed,
//! interrupted or not) and the tests judge the run by the tenant's final state, the
//! emulator's mutation log and the run folder's files.
//!
//! Expectations are computed here from the tenant as it was before the run (see
//! [`expect`]), not read from the plan, so that the plan and the run cannot agree on a
//! mistake.

use crate::support::process::{HANG_GUARD, wait};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mfa_reset::secret::Secret;
use mfa_reset::sim::{Quotas, Sim, SimConfig, SimHandle, Tenant, TenantSource};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mfa-reset");
/// The bearer token every emulator of these tests accepts without a token request.
const TOKEN: &str = "apply-tests-static-token";
const ALICE: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const BOB: &str = "aaaaaaaa-0000-4000-8000-000000000002";
const CAROL: &str = "aaaaaaaa-0000-4000-8000-000000000007";
const DORA: &str = "aaaaaaaa-0000-4000-8000-000000000008";
const MOBILE: &str = "3179e48a-750b-4051-897c-87b9720928f7";
const ALTERNATE_MOBILE: &str = "b6332ec1-7057-4abe-9331-3d72feddfe41";

// ---- the emulator and the binary ----

/// An emulator running in this process, on a runtime of its own.
struct Emulator {
    sim: SimHandle,
}

impl Emulator {
    fn start(config: SimConfig) -> Emulator {
        let sim = Sim::start_background(SimConfig {
            static_token: Some(Secret::new(TOKEN)),
            ..config
        })
        .expect("the emulator starts");
        Emulator { sim }
    }

    /// The rules tenant (`tests/data/tenant-rules.json`) followed by `generated` generated
    /// users: every Entra rule, and users that are not in any list.
    fn mixed(generated: usize, seed: u64) -> Emulator {
        Emulator::start(SimConfig {
            tenant: TenantSource::Tenant(Box::new(mixed_tenant(generated, seed))),
            ..SimConfig::default()
        })
    }

    fn generated(users: usize, seed: u64) -> Emulator {
        Emulator::start(SimConfig {
            tenant: TenantSource::Generate { users, seed },
            ..SimConfig::default()
        })
    }

    /// `mfa-reset ARGS --graph-url BASE --login-url BASE`, with the static token and no
    /// Azure credentials in its environment.
    fn command(&self, args: &[&str]) -> Command {
        let base = self.sim.base_url();
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .args(["--graph-url", base, "--login-url", base])
            .env("MFA_RESET_ACCESS_TOKEN", TOKEN)
            .stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("AZURE_") {
                cmd.env_remove(name);
            }
        }
        cmd
    }

    /// Runs the binary to the end.
    fn run(&self, args: &[&str]) -> Run {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        // Read both pipes on threads so that a chatty child never blocks on a full pipe.
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let out = std::thread::spawn(move || read_all(out));
        let err = std::thread::spawn(move || read_all(err));
        let status = wait(&mut child, &args.join(" "));
        Run {
            status,
            stdout: out.join().expect("reader"),
            stderr: err.join().expect("reader"),
        }
    }

    /// Starts the binary with its output going to `log` (`.out` / `.err`).
    fn spawn(&self, args: &[&str], log: &Path) -> Spawned {
        let out = File::create(log.with_extension("out")).unwrap();
        let err = File::create(log.with_extension("err")).unwrap();
        Spawned(
            self.command(args)
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("the binary starts"),
        )
    }

    /// The tenant now, user by id, as `/_sim/state` shows it.
    fn users(&self) -> BTreeMap<String, Value> {
        let state = serde_json::to_value(self.sim.state()).expect("state serializes");
        state["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| (id_of(u).to_string(), u.clone()))
            .collect()
    }

    fn mutations(&self) -> Vec<Value> {
        self.sim.mutations()["value"]
            .as_array()
            .expect("value")
            .clone()
    }

    /// Sends one request to the emulator's Graph, as another admin would.
    fn graph(&self, method: &str, path: &str, body: Option<Value>) -> u16 {
        let url = format!("{}/v1.0{path}", self.sim.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut request = reqwest::Client::new()
                .request(method, url)
                .bearer_auth(TOKEN);
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
}

fn mixed_tenant(generated: usize, seed: u64) -> Tenant {
    let rules = mfa_reset::sim::load_tenant(&TenantSource::File(data("tenant-rules.json")))
        .expect("the rules tenant loads");
    let more = mfa_reset::sim::generate::generate(generated, seed);
    let users = rules.users().iter().chain(more.users()).cloned().collect();
    Tenant::new(rules.tenant_id.clone(), users).expect("ids and UPNs are unique")
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Quotas small enough to matter: `app_writes` writes per 150 s, generous otherwise.
fn write_quota(app_writes: f64) -> Quotas {
    Quotas {
        resource_units: 8000.0,
        resource_unit_window: Duration::from_secs(10),
        app_writes,
        app_write_window: Duration::from_secs(150),
        tenant_writes: 18_000.0,
        tenant_write_window: Duration::from_secs(300),
    }
}

fn read_all(mut r: impl std::io::Read) -> String {
    let mut bytes = Vec::new();
    let _ = r.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A finished run of the binary.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    #[track_caller]
    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "exit status {:?}\n--- stderr\n{}\n--- stdout\n{}",
            self.status,
            self.stderr,
            self.stdout
        );
        self
    }
}

/// A child process that is killed when the test is done with it, passed or failed.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `trigger` holds for the journal's complete lines, or the child ends.
/// `true` when the trigger fired (the child is still running), `false` when it ended.
fn wait_for_journal(
    child: &mut Child,
    dir: &Path,
    mut trigger: impl FnMut(&[String]) -> bool,
) -> bool {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if trigger(&journal_lines(dir)) {
            return true;
        }
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        assert!(
            Instant::now() < deadline,
            "the journal never got there in {HANG_GUARD:?}"
        );
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// The journal's complete lines (a line being written is left out).
fn journal_lines(dir: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(dir.join("journal.jsonl")) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    lines.pop(); // after the last '\n': empty, or a line cut short
    lines
}

fn records<'a>(lines: &'a [String], kind: &'a str) -> impl Iterator<Item = &'a String> + 'a {
    let tag = format!("\"record\":\"{kind}\"");
    lines.iter().filter(move |l| l.contains(&tag))
}

/// A fresh folder for one test under `target/tmp`.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("apply-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

// ---- users, methods and what a profile must do to them ----

fn id_of(u: &Value) -> &str {
    u["id"].as_str().expect("id")
}

fn upn(u: &Value) -> &str {
    u["userPrincipalName"].as_str().expect("UPN")
}

/// A method's type as the CLI names it: `phone`, `fido2`, `temporaryAccessPass`, ...
fn kind(m: &Value) -> &str {
    let odata = m["@odata.type"].as_str().expect("@odata.type");
    odata
        .trim_start_matches("#microsoft.graph.")
        .trim_end_matches("AuthenticationMethod")
}

fn methods(u: &Value) -> &[Value] {
    u["methods"].as_array().expect("methods")
}

fn method_ids(u: &Value) -> BTreeSet<String> {
    methods(u)
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect()
}

fn is_admin(u: &Value) -> bool {
    !u["roles"].as_array().expect("roles").is_empty()
}

fn is_synced(u: &Value) -> bool {
    u["onPremisesSyncEnabled"] == true
}

fn is_enabled(u: &Value) -> bool {
    u["accountEnabled"] == true
}

/// The first `n` users of `users` (by id) whose default method the plan can tell apart.
fn some_users(users: &BTreeMap<String, Value>, n: usize) -> Vec<Value> {
    users.values().take(n).cloned().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    DeviceRefresh,
    Incident,
    Offboard,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::DeviceRefresh => "device-refresh",
            Profile::Incident => "incident",
            Profile::Offboard => "offboard",
        }
    }

    /// Whether the profile removes methods of this type ("Require re-register MFA" for a
    /// device refresh; everything but the password otherwise).
    fn removes(self, kind: &str) -> bool {
        match self {
            Profile::DeviceRefresh => {
                matches!(kind, "phone" | "microsoftAuthenticator" | "softwareOath")
            }
            Profile::Incident | Profile::Offboard => kind != "password",
        }
    }
}

/// What a run of `profile` must do to one user.
#[derive(Debug, Clone, PartialEq)]
struct Expect {
    status: &'static str,
    deleted: BTreeSet<String>,
    revoke: bool,
    disable: bool,
    tap: bool,
}

impl Expect {
    fn writes(&self) -> usize {
        self.deleted.len()
            + usize::from(self.revoke)
            + usize::from(self.disable)
            + usize::from(self.tap)
    }
}

/// What `profile` (with `--issue-tap` when `tap`) must do to `u`, from Entra's rules.
fn expect(profile: Profile, tap: bool, u: &Value) -> Expect {
    let nothing = |status| Expect {
        status,
        deleted: BTreeSet::new(),
        revoke: false,
        disable: false,
        tap: false,
    };
    if is_admin(u) {
        return nothing("protected");
    }
    let revoke = matches!(profile, Profile::Incident | Profile::Offboard);
    if profile == Profile::Offboard && is_enabled(u) && is_synced(u) {
        // Cannot be disabled through Graph: only the sessions are revoked.
        return Expect {
            revoke: true,
            ..nothing("blocked")
        };
    }
    let selected: BTreeSet<String> = methods(u)
        .iter()
        .filter(|m| profile.removes(kind(m)))
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    // An alternate mobile phone that is the default, with a mobile phone: Graph deletes
    // neither (the mobile phone not while the alternate exists, the default not while
    // another MFA method remains).
    let stuck: BTreeSet<String> = if u["defaultMethod"] == ALTERNATE_MOBILE
        && selected.contains(ALTERNATE_MOBILE)
        && selected.contains(MOBILE)
    {
        [ALTERNATE_MOBILE.to_string(), MOBILE.to_string()].into()
    } else {
        BTreeSet::new()
    };
    let deleted: BTreeSet<String> = selected.difference(&stuck).cloned().collect();
    let disable = profile == Profile::Offboard && is_enabled(u);
    let tap = tap && is_enabled(u) && !deleted.is_empty();
    let e = Expect {
        status: "done",
        deleted,
        revoke,
        disable,
        tap,
    };
    if e.writes() == 0 {
        nothing(if stuck.is_empty() {
            "no-change"
        } else {
            "blocked"
        })
    } else if !stuck.is_empty() {
        Expect {
            status: "blocked",
            ..e
        }
    } else {
        e
    }
}

/// Users of `users` that are "ordinary": no role, enabled, cloud-only, with a method the
/// device refresh removes, and a default the plan can tell apart: `take` of them.
fn ordinary(users: &BTreeMap<String, Value>, take: usize) -> Vec<Value> {
    let picked: Vec<Value> = users
        .values()
        .filter(|u| !is_admin(u) && is_enabled(u) && !is_synced(u))
        .filter(|u| {
            methods(u)
                .iter()
                .any(|m| Profile::DeviceRefresh.removes(kind(m)))
        })
        .filter(|u| u["defaultMethod"] != ALTERNATE_MOBILE)
        .take(take)
        .cloned()
        .collect();
    assert_eq!(picked.len(), take, "not enough ordinary users");
    picked
}

/// Writes `userPrincipalName,ticket` for `users` to `path`; ticket `T-<row>`.
fn write_list(path: &Path, users: &[Value]) {
    let mut text = String::from("userPrincipalName,ticket\n");
    for (i, u) in users.iter().enumerate() {
        text.push_str(&format!("{},T-{i}\n", upn(u)));
    }
    std::fs::write(path, text).unwrap();
}

// ---- the run folder ----

fn results_jsonl(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("results.jsonl").display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// `results.csv` as maps from column to cell.
fn results_csv(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join("results.csv")).expect("results.csv");
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn ids_of(refs: &Value) -> BTreeSet<String> {
    refs.as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["id"].as_str().expect("id").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `secrets/tap.csv`: (user id, pass) per row; checks the file is private.
fn tap_file(dir: &Path) -> Vec<(String, String)> {
    let path = dir.join("secrets/tap.csv");
    #[cfg(unix)]
    for (path, private) in [(dir.join("secrets"), 0o700), (path.clone(), 0o600)] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, private, "{} mode {mode:o}", path.display());
    }
    let mut reader = csv::Reader::from_path(&path).expect("tap.csv");
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (user, pass) = (col("userId"), col("temporaryAccessPass"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[user].to_string(), r[pass].to_string())
        })
        .collect()
}

/// Fails if any pass appears in any file of `dir` but `secrets/tap.csv`, or in `logs`.
fn assert_passes_only_in_tap_file(dir: &Path, passes: &[String], logs: &[&str]) {
    let tap = dir.join("secrets/tap.csv");
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path != tap {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 5, "{files:?}");
    for pass in passes {
        assert!(pass.len() >= 8, "a pass of {} characters", pass.len());
        for file in &files {
            let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
            assert!(
                !text.contains(pass.as_str()),
                "a pass appears in {}",
                file.display()
            );
        }
        for log in logs {
            assert!(!log.contains(pass.as_str()), "a pass appears in the output");
        }
    }
}

/// The mutations of each user, in the order applied.
fn mutations_by_user(mutations: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut by_user: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in mutations {
        by_user
            .entry(m["userId"].as_str().expect("userId").to_string())
            .or_default()
            .push(m.clone());
    }
    by_user
}

fn op(m: &Value) -> &str {
    m["op"].as_str().expect("op")
}

/// The user with the fields a run may change taken out.
fn untouchable_fields(u: &Value) -> Value {
    let mut u = u.clone();
    let o = u.as_object_mut().unwrap();
    for field in [
        "methods",
        "accountEnabled",
        "signInSessionsValidFromDateTime",
        "defaultMethod",
    ] {
        o.remove(field);
    }
    u
}

/// Checks the tenant after a finished run of `profile` over `listed` (in input order):
/// each listed user's state and mutations are what [`expect`] says, users not listed are
/// untouched, and nothing else was changed. Returns the expectations, by user id.
fn assert_tenant_after(
    emu: &Emulator,
    before: &BTreeMap<String, Value>,
    listed: &[Value],
    profile: Profile,
    tap: bool,
) -> BTreeMap<String, Expect> {
    let after = emu.users();
    let mutations = emu.mutations();
    let by_user = mutations_by_user(&mutations);
    let mut expected = BTreeMap::new();
    for u in listed {
        let id = id_of(u);
        let e = expect(profile, tap, &before[id]);
        let (was, now) = (&before[id], &after[id]);
        let who = format!("{} ({})", upn(was), e.status);
        assert_eq!(untouchable_fields(now), untouchable_fields(was), "{who}");
        // Methods: the selected ones gone, the kept ones exactly as they were, one new
        // pass when one is issued (it replaces an existing one, as Graph does).
        let new: Vec<&Value> = methods(now)
            .iter()
            .filter(|m| !method_ids(was).contains(m["id"].as_str().unwrap()))
            .collect();
        assert_eq!(new.len(), usize::from(e.tap), "{who}: new methods {new:?}");
        assert!(
            new.iter().all(|m| kind(m) == "temporaryAccessPass"),
            "{who}"
        );
        let kept: Vec<&Value> = methods(was)
            .iter()
            .filter(|m| !e.deleted.contains(m["id"].as_str().unwrap()))
            .filter(|m| !(e.tap && kind(m) == "temporaryAccessPass"))
            .collect();
        let old_now: Vec<&Value> = methods(now)
            .iter()
            .filter(|m| method_ids(was).contains(m["id"].as_str().unwrap()))
            .collect();
        assert_eq!(old_now, kept, "{who}: methods kept");
        assert!(
            methods(now).iter().any(|m| kind(m) == "password") || u["userType"] == "Guest",
            "{who}: the password is never removed"
        );
        assert_eq!(is_enabled(now), is_enabled(was) && !e.disable, "{who}");
        if !e
            .deleted
            .contains(was["defaultMethod"].as_str().unwrap_or_default())
        {
            assert_eq!(now["defaultMethod"], was["defaultMethod"], "{who}");
        }
        let moved =
            now["signInSessionsValidFromDateTime"] != was["signInSessionsValidFromDateTime"];
        assert_eq!(moved, e.revoke, "{who}: sessions revoked");
        if e.revoke {
            assert!(now["signInSessionsValidFromDateTime"].is_string(), "{who}");
        }
        // Mutations: exactly the expected ones, each once.
        let mine = by_user.get(id).cloned().unwrap_or_default();
        let deleted: Vec<&str> = mine
            .iter()
            .filter(|m| op(m) == "deleteMethod")
            .map(|m| m["methodId"].as_str().unwrap())
            .collect();
        assert_eq!(
            deleted
                .iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<_>>(),
            e.deleted,
            "{who}: methods deleted"
        );
        assert_eq!(
            deleted.len(),
            e.deleted.len(),
            "{who}: a method deleted twice"
        );
        let count = |name: &str| mine.iter().filter(|m| op(m) == name).count();
        assert_eq!(
            count("revokeSignInSessions"),
            usize::from(e.revoke),
            "{who}"
        );
        assert_eq!(count("updateUser"), usize::from(e.disable), "{who}");
        assert_eq!(
            count("createTemporaryAccessPass"),
            usize::from(e.tap),
            "{who}"
        );
        assert_eq!(mine.len(), e.writes(), "{who}: {mine:?}");
        if mine.iter().any(|m| op(m) == "updateUser") {
            assert!(
                mine.iter()
                    .all(|m| op(m) != "updateUser" || m["accountEnabled"] == false)
            );
        }
        expected.insert(id.to_string(), e);
    }
    // Nobody else was touched.
    let listed_ids: BTreeSet<&str> = listed.iter().map(id_of).collect();
    for (id, was) in before {
        if !listed_ids.contains(id.as_str()) {
            assert_eq!(&after[id], was, "{} is not in the list", upn(was));
        }
    }
    let stray: Vec<&Value> = mutations
        .iter()
        .filter(|m| !listed_ids.contains(m["userId"].as_str().unwrap()))
        .collect();
    assert!(
        stray.is_empty(),
        "changes to users not in the list: {stray:?}"
    );
    let writes: usize = expected.values().map(Expect::writes).sum();
    assert_eq!(mutations.len(), writes, "mutations");
    assert_eq!(after.len(), before.len());
    expected
}

/// Checks the order of each user's changes: the profile's sequence, the default method
/// last of the removals, a TAP last of all.
fn assert_order(emu: &Emulator, profile: Profile) {
    for (id, mine) in mutations_by_user(&emu.mutations()) {
        let ops: Vec<&str> = mine.iter().map(op).collect();
        let rank = |o: &str| match (profile, o) {
            (Profile::Incident, "revokeSignInSessions") => 0,
            (Profile::Offboard, "updateUser") => 0,
            (Profile::Offboard, "revokeSignInSessions") => 1,
            (_, "deleteMethod") => 2,
            (Profile::DeviceRefresh, "revokeSignInSessions") => 3,
            (_, "createTemporaryAccessPass") => 4,
            _ => panic!("{id}: unexpected {o}"),
        };
        assert!(
            ops.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
            "{id}: {ops:?} out of the {} order",
            profile.name()
        );
        let deletes: Vec<&Value> = mine.iter().filter(|m| op(m) == "deleteMethod").collect();
        if let Some(p) = deletes.iter().position(|m| m["wasDefault"] == true) {
            assert_eq!(p, deletes.len() - 1, "{id}: the default method goes last");
        }
        let phones: Vec<&str> = deletes
            .iter()
            .map(|m| m["methodId"].as_str().unwrap())
            .filter(|m| [MOBILE, ALTERNATE_MOBILE].contains(m))
            .collect();
        assert_ne!(
            phones,
            [MOBILE, ALTERNATE_MOBILE],
            "{id}: the alternate mobile phone goes before the mobile one"
        );
    }
}

/// Checks the run folder after a finished run over `listed`: one result row per input
/// row, in order, with the expected status and columns, in both results files; the
/// artefacts; the TAP file. Returns the passes issued.
fn assert_results(
    dir: &Path,
    listed: &[Value],
    expected: &BTreeMap<String, Expect>,
) -> Vec<String> {
    for artefact in [
        "plan.json",
        "run.json",
        "journal.jsonl",
        "results.csv",
        "results.jsonl",
        "summary.md",
        "report.html",
    ] {
        assert!(dir.join(artefact).is_file(), "{artefact} missing");
    }
    let rows = results_jsonl(dir);
    let csv = results_csv(dir);
    assert_eq!(
        rows.len(),
        listed.len(),
        "results.jsonl: one row per input row"
    );
    assert_eq!(
        csv.len(),
        listed.len(),
        "results.csv: one row per input row"
    );
    for (i, (u, (row, cells))) in listed.iter().zip(rows.iter().zip(&csv)).enumerate() {
        let e = &expected[id_of(u)];
        let who = format!("row {i} ({})", upn(u));
        assert_eq!(row["row"], i, "{who}");
        assert_eq!(row["input"], upn(u), "{who}");
        assert_eq!(row["status"], e.status, "{who}: {row}");
        assert_eq!(cells["status"], e.status, "{who}");
        assert_eq!(row["columns"]["ticket"], format!("T-{i}"), "{who}");
        assert_eq!(cells["ticket"], format!("T-{i}"), "{who}");
        if e.status == "protected" {
            continue;
        }
        assert_eq!(row["userId"], id_of(u), "{who}");
        let removed = ids_of(&row["removed"]);
        assert_eq!(removed, e.deleted, "{who}: removed");
        assert!(ids_of(&row["alreadyRemoved"]).is_empty(), "{who}");
        let all = method_ids(u);
        let kept: BTreeSet<String> = all.difference(&e.deleted).cloned().collect();
        assert_eq!(ids_of(&row["kept"]), kept, "{who}: kept");
        assert_eq!(row["sessionsRevoked"], e.revoke, "{who}");
        assert_eq!(row["accountDisabled"], e.disable, "{who}");
        assert_eq!(row["tapIssued"], e.tap, "{who}");
        let yes = |b: bool| if b { "yes" } else { "no" };
        assert_eq!(cells["tapIssued"], yes(e.tap), "{who}");
        assert_eq!(cells["sessionsRevoked"], yes(e.revoke), "{who}");
        for id in &e.deleted {
            assert!(
                cells["removedIds"].contains(id.as_str()),
                "{who}: {cells:?}"
            );
        }
        if !e.deleted.is_empty() {
            // Verified after the removals: what remains is what was kept, with the new
            // pass in place of an old one.
            let remaining = ids_of(&row["remaining"]);
            let old_taps: BTreeSet<String> = methods(u)
                .iter()
                .filter(|m| e.tap && kind(m) == "temporaryAccessPass")
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect();
            let still: BTreeSet<String> = kept.difference(&old_taps).cloned().collect();
            assert!(
                remaining.is_superset(&still),
                "{who}: remaining {remaining:?}"
            );
            assert_eq!(
                remaining.len(),
                still.len() + usize::from(e.tap),
                "{who}: remaining {remaining:?}"
            );
        }
    }
    let tapped: BTreeSet<&str> = listed
        .iter()
        .filter(|u| expected[id_of(u)].tap)
        .map(id_of)
        .collect();
    if tapped.is_empty() {
        assert!(!dir.join("secrets/tap.csv").exists());
        return Vec::new();
    }
    let taps = tap_file(dir);
    assert_eq!(taps.len(), tapped.len(), "tap.csv: one row per pass issued");
    assert_eq!(
        taps.iter()
            .map(|(u, _)| u.as_str())
            .collect::<BTreeSet<_>>(),
        tapped
    );
    taps.into_iter().map(|(_, p)| p).collect()
}

// ---- 1. each profile ----

/// The list for the profile tests: every rules-tenant user but one, then 25 generated
/// users; the other generated users are not listed.
fn profile_list(emu: &Emulator, left_out: &str) -> Vec<Value> {
    let users = emu.users();
    let rules: Vec<Value> = users
        .values()
        .filter(|u| id_of(u).starts_with("aaaaaaaa-") && id_of(u) != left_out)
        .cloned()
        .collect();
    let generated: Vec<Value> = users
        .values()
        .filter(|u| !id_of(u).starts_with("aaaaaaaa-"))
        .take(25)
        .cloned()
        .collect();
    rules.into_iter().chain(generated).collect()
}

#[test]
fn device_refresh_with_passes_removes_phone_methods_and_keeps_the_rest() {
    let dir = scratch("device-refresh");
    let emu = Emulator::mixed(60, 31);
    let before = emu.users();
    let listed = profile_list(&emu, DORA);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    let run = emu.run(&[
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--issue-tap",
        "--out",
        s(&out),
        "--yes",
    ]);
    run.expect_code(0);
    let expected = assert_tenant_after(&emu, &before, &listed, Profile::DeviceRefresh, true);
    assert_order(&emu, Profile::DeviceRefresh);
    // The rules users, by name: what the issue promises for each.
    assert_eq!(
        expected[ALICE].deleted,
        [MOBILE, ALTERNATE_MOBILE, "alice-authenticator-0001"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        expected[BOB].deleted,
        ["bob-authenticator-0001".to_string()].into()
    );
    let after = emu.users();
    assert!(method_ids(&after[ALICE]).contains("alice-fido2-0001"));
    for keep in ["bob-fido2-0001", "bob-whfb-0001"] {
        assert!(method_ids(&after[BOB]).contains(keep));
    }
    assert!(
        !method_ids(&after[CAROL]).contains("carol-tap-0001"),
        "replaced by the new pass"
    );
    assert_eq!(
        expected
            .values()
            .filter(|e| e.status == "protected")
            .count(),
        1
    );
    let passes = assert_results(&out, &listed, &expected);
    assert!(passes.len() >= 5, "{passes:?}");
    assert!(
        out.join("plan/plan.json").is_file(),
        "the plan is written first"
    );
    assert_passes_only_in_tap_file(&out, &passes, &[&run.stdout, &run.stderr]);
}

#[test]
fn incident_revokes_everyone_first_then_removes_every_method() {
    let dir = scratch("incident");
    let emu = Emulator::mixed(60, 32);
    let before = emu.users();
    let listed = profile_list(&emu, BOB);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    emu.run(&[
        "apply",
        s(&input),
        "--profile",
        "incident",
        "--out",
        s(&out),
        "--yes",
    ])
    .expect_code(0);
    let expected = assert_tenant_after(&emu, &before, &listed, Profile::Incident, false);
    assert_order(&emu, Profile::Incident);
    // Contain first: every session revoked before any method is removed.
    let mutations = emu.mutations();
    let last_revoke = mutations
        .iter()
        .rposition(|m| op(m) == "revokeSignInSessions")
        .expect("revocations");
    let first_delete = mutations
        .iter()
        .position(|m| op(m) == "deleteMethod")
        .expect("removals");
    assert!(last_revoke < first_delete, "containment first");
    let after = emu.users();
    for id in [ALICE, CAROL, DORA] {
        let left: Vec<&str> = methods(&after[id]).iter().map(kind).collect();
        assert_eq!(left, ["password"], "{id}");
        assert!(is_enabled(&after[id]), "incident does not disable");
    }
    assert_results(&out, &listed, &expected);
}

#[test]
fn offboard_from_a_plan_disables_revokes_and_clears_but_blocks_synced_users() {
    let dir = scratch("offboard");
    let emu = Emulator::mixed(60, 33);
    let before = emu.users();
    let listed = profile_list(&emu, CAROL);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let plan = dir.join("plan");
    emu.run(&[
        "plan",
        s(&input),
        "--profile",
        "offboard",
        "--out",
        s(&plan),
    ])
    .expect_code(0);
    assert!(emu.mutations().is_empty(), "a plan changes nothing");
    let out = dir.join("run");
    emu.run(&[
        "apply",
        s(&plan.join("plan.json")),
        "--out",
        s(&out),
        "--yes",
    ])
    .expect_code(0);
    let expected = assert_tenant_after(&emu, &before, &listed, Profile::Offboard, false);
    assert_order(&emu, Profile::Offboard);
    let synced = "aaaaaaaa-0000-4000-8000-000000000004";
    assert_eq!(expected[synced].status, "blocked");
    let after = emu.users();
    assert!(is_enabled(&after[synced]));
    assert!(!is_enabled(&after[ALICE]));
    assert_eq!(method_ids(&after[synced]), method_ids(&before[synced]));
    assert_results(&out, &listed, &expected);
}

/// Two Authenticator apps, the default sorting first: Graph v1.0 and beta say only
/// "push", the plan removes them in id order, and Graph refuses the default while the
/// other remains. The run must defer that removal and retry it after the others (as
/// `src/policy.rs` promises: "an unknown default costs at most one extra request").
#[test]
fn a_default_the_plan_could_not_tell_apart_is_removed_last() {
    let dir = scratch("ambiguous-default");
    let authenticator = |id: &str, name: &str| {
        json!({
            "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "id": id,
            "displayName": name,
        })
    };
    let tenant = json!({
        "tenantId": "9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13",
        "users": [{
            "id": "bbbbbbbb-0000-4000-8000-000000000001",
            "userPrincipalName": "erin@contoso.example",
            "defaultMethod": "erin-authenticator-a",
            "methods": [
                {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                 "id": "28c10230-6103-485e-b985-444c60001490"},
                authenticator("erin-authenticator-a", "iPhone 12"),
                authenticator("erin-authenticator-b", "Pixel 8"),
                {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": MOBILE,
                 "phoneNumber": "+1 4255550111", "phoneType": "mobile"},
            ],
        }],
    });
    let file = dir.join("tenant.json");
    std::fs::write(&file, tenant.to_string()).unwrap();
    let emu = Emulator::start(SimConfig {
        tenant: TenantSource::File(file),
        ..SimConfig::default()
    });
    let before = emu.users();
    let listed: Vec<Value> = before.values().cloned().collect();
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    let run = emu.run(&[
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--out",
        s(&out),
    ]);
    let rows = results_jsonl(&out);
    assert_eq!(rows[0]["status"], "done", "{}\n{}", rows[0], run.stderr);
    run.expect_code(0);
    let expected = assert_tenant_after(&emu, &before, &listed, Profile::DeviceRefresh, false);
    assert_results(&out, &listed, &expected);
}

// ---- 2. kill -9 and resume ----

#[test]
fn kill_9_at_any_moment_then_resume_finishes_every_row_once_and_never_repeats_a_pass() {
    let dir = scratch("kill");
    let emu = Emulator::generated(220, 41);
    let before = emu.users();
    let listed = some_users(&before, 150);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    let budget = ["--write-budget", "60/1s"];
    let mut apply = vec![
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--issue-tap",
        "--out",
        s(&out),
        "--yes",
    ];
    apply.extend(budget);
    let mut resume = vec!["resume", s(&out)];
    resume.extend(budget);

    // Kill points, counted from where each attempt starts: journal lines; users finished;
    // or a pass's creation in flight (its intent journaled, no outcome yet).
    #[derive(Debug)]
    enum At {
        Lines(usize),
        Finished(usize),
        PassInFlight,
    }
    let kills = [
        At::Lines(3),
        At::Lines(40),
        At::PassInFlight,
        At::Lines(150),
        At::Lines(1),
        At::Finished(10),
        At::PassInFlight,
        At::Finished(25),
        At::Lines(60),
    ];
    let mut killed = 0;
    for (n, at) in kills.iter().enumerate() {
        let args = if n == 0 { &apply } else { &resume };
        let start = journal_lines(&out);
        let finished_at_start = records(&start, "finished").count();
        let Spawned(child) = &mut emu.spawn(args, &dir.join(format!("attempt-{n}")));
        let fired = wait_for_journal(child, &out, |lines| match at {
            At::Lines(k) => lines.len() >= start.len() + k,
            At::Finished(k) => records(lines, "finished").count() >= finished_at_start + k,
            At::PassInFlight => {
                (lines.len() > start.len()
                    && lines
                        .last()
                        .is_some_and(|l| l.contains("\"record\":\"intent\"")))
                    || lines.len() >= start.len() + 400
            }
        });
        if fired {
            child.kill().expect("SIGKILL");
            killed += 1;
        }
        let status = wait(child, args[0]);
        if !fired {
            // It finished before the kill point: nothing left to kill.
            assert!(status.code().is_some(), "{at:?}: {status:?}");
            break;
        }
    }
    assert!(killed >= 4, "only {killed} kills landed");
    // Resume until the run ends (not interrupted).
    let mut last = None;
    for _ in 0..3 {
        let run = emu.run(&resume);
        assert!(
            matches!(run.code(), Some(0 | 1)),
            "{:?}\n{}",
            run.status,
            run.stderr
        );
        let pending = results_jsonl(&out).iter().any(|r| r["status"] == "pending");
        last = Some(run);
        if !pending {
            break;
        }
    }
    let last = last.expect("resumed");

    // Every input row exactly one result row, journaled as finished exactly once.
    let rows = results_jsonl(&out);
    assert_eq!(rows.len(), listed.len());
    let lines = journal_lines(&out);
    let mut finished: BTreeMap<u64, usize> = BTreeMap::new();
    for l in records(&lines, "finished") {
        let v: Value = serde_json::from_str(l).unwrap();
        *finished
            .entry(v["outcome"]["row"].as_u64().unwrap())
            .or_default() += 1;
    }
    assert_eq!(finished.len(), listed.len(), "every row finished");
    assert!(
        finished.values().all(|n| *n == 1),
        "a row finished twice: {finished:?}"
    );

    // The tenant: every user as planned; one pass per user at most, never a second.
    let after = emu.users();
    let mutations = emu.mutations();
    let by_user = mutations_by_user(&mutations);
    let mut partial = 0;
    for (i, u) in listed.iter().enumerate() {
        let id = id_of(u);
        let e = expect(Profile::DeviceRefresh, true, u);
        let who = format!("row {i} ({})", upn(u));
        let row = &rows[i];
        assert_eq!(row["row"], i);
        let status = row["status"].as_str().unwrap();
        if status == "partial" && e.tap {
            // Killed while the pass was being created: it exists, its pass may be lost,
            // and it is never created twice.
            partial += 1;
            assert!(
                row["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("Temporary Access Pass"),
                "{who}: {row}"
            );
        } else {
            assert_eq!(status, e.status, "{who}: {row}");
        }
        let mine = by_user.get(id).cloned().unwrap_or_default();
        let taps = mine
            .iter()
            .filter(|m| op(m) == "createTemporaryAccessPass")
            .count();
        assert_eq!(taps, usize::from(e.tap), "{who}: passes created");
        let deleted: Vec<&str> = mine
            .iter()
            .filter(|m| op(m) == "deleteMethod")
            .map(|m| m["methodId"].as_str().unwrap())
            .collect();
        assert_eq!(deleted.len(), e.deleted.len(), "{who}: {deleted:?}");
        assert_eq!(
            deleted
                .iter()
                .map(|d| d.to_string())
                .collect::<BTreeSet<_>>(),
            e.deleted,
            "{who}"
        );
        let left: BTreeSet<String> = method_ids(u).difference(&e.deleted).cloned().collect();
        let now = method_ids(&after[id]);
        assert!(now.is_superset(&left), "{who}");
        assert_eq!(now.len(), left.len() + usize::from(e.tap), "{who}");
    }
    let listed_ids: BTreeSet<&str> = listed.iter().map(id_of).collect();
    assert!(
        mutations
            .iter()
            .all(|m| listed_ids.contains(m["userId"].as_str().unwrap()))
    );
    assert_eq!(
        last.code(),
        Some(if partial > 0 { 1 } else { 0 }),
        "{}",
        last.stderr
    );

    // Passes: at most one row per user, never for a user without a pass.
    let taps = tap_file(&out);
    let mut per_user: BTreeMap<&str, usize> = BTreeMap::new();
    for (user, _) in &taps {
        *per_user.entry(user.as_str()).or_default() += 1;
    }
    assert!(per_user.values().all(|n| *n == 1), "{per_user:?}");
    for (i, row) in rows.iter().enumerate() {
        if row["tapIssued"] == true {
            assert!(
                per_user.contains_key(id_of(&listed[i])),
                "row {i}: issued but not in tap.csv"
            );
        }
    }
    for user in per_user.keys() {
        assert!(
            by_user[*user]
                .iter()
                .any(|m| op(m) == "createTemporaryAccessPass")
        );
    }
    let passes: Vec<String> = taps.into_iter().map(|(_, p)| p).collect();
    assert_passes_only_in_tap_file(&out, &passes, &[&last.stdout, &last.stderr]);
}

/// A kill -9 just after a pass's creation reached Graph and before its outcome was
/// journaled leaves exactly this journal: everything up to the pass's `intent`. The
/// journal is append-only, so cutting a finished run's journal there is that kill, made
/// exact. Resume must not create the pass again, must report what was done (the methods
/// removed) and that the pass may exist - for a user who had no pass before as for one
/// who had one (which Graph replaced when the new one was created).
#[test]
fn a_kill_while_a_pass_was_in_flight_never_creates_it_twice() {
    for (name, user) in [("alice", ALICE), ("carol", CAROL)] {
        let dir = scratch(&format!("pass-in-flight-{name}"));
        let emu = Emulator::start(SimConfig {
            tenant: TenantSource::File(data("tenant-rules.json")),
            ..SimConfig::default()
        });
        let listed = vec![emu.users()[user].clone()];
        let input = dir.join("users.csv");
        write_list(&input, &listed);
        let out = dir.join("run");
        emu.run(&[
            "apply",
            s(&input),
            "--profile",
            "device-refresh",
            "--issue-tap",
            "--out",
            s(&out),
        ])
        .expect_code(0);
        let changes = emu.mutations().len();

        // The kill: the journal up to the intent; no reports.
        let lines = journal_lines(&out);
        let intent = lines
            .iter()
            .position(|l| l.contains("\"record\":\"intent\""))
            .expect("an intent");
        let cut = lines[..=intent].join("\n") + "\n";
        std::fs::write(out.join("journal.jsonl"), cut).unwrap();
        for report in ["results.csv", "results.jsonl", "summary.md", "report.html"] {
            std::fs::remove_file(out.join(report)).unwrap();
        }

        let run = emu.run(&["resume", s(&out)]);
        let mutations = emu.mutations();
        let more = &mutations[changes..];
        assert!(more.is_empty(), "{name}: resume changed more: {more:?}");
        let rows = results_jsonl(&out);
        let r = &rows[0];
        assert_eq!(r["status"], "partial", "{name}: {r}\n{}", run.stderr);
        let reason = r["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("Temporary Access Pass"), "{name}: {r}");
        let expected = expect(Profile::DeviceRefresh, true, &listed[0]);
        let done: BTreeSet<String> = ids_of(&r["removed"])
            .union(&ids_of(&r["alreadyRemoved"]))
            .cloned()
            .collect();
        assert_eq!(done, expected.deleted, "{name}: {r}");
        run.expect_code(1);
    }
}

// ---- 3. Ctrl-C ----

#[test]
fn ctrl_c_stops_cleanly_with_exit_4_and_resume_finishes() {
    let dir = scratch("ctrl-c");
    let emu = Emulator::generated(160, 51);
    let before = emu.users();
    let listed = some_users(&before, 120);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    // Interrupted once a few users are finished: with --contain-first, after every
    // session is revoked and during the removals. The rows the plan settled are journaled
    // as finished before the first step.
    let mut settled = None;
    interrupt_incident_apply(&emu, &dir, &input, &out, "40/1s", |lines| {
        if settled.is_none() && records(lines, "step").next().is_some() {
            settled = Some(records(lines, "finished").count());
        }
        settled.is_some_and(|n| records(lines, "finished").count() >= n + 5)
    });
    let csv = results_csv(&out);
    assert_eq!(csv.len(), listed.len(), "one row per input row");
    assert!(
        csv.iter().any(|r| r["status"] == "pending"),
        "some users pending"
    );
    assert!(csv.iter().any(|r| r["status"] == "done"), "some users done");
    // The journal is whole: every line is JSON.
    for l in journal_lines(&out) {
        serde_json::from_str::<Value>(&l).expect("a whole journal line");
    }

    emu.run(&["resume", s(&out), "--write-budget", "2000/1s"])
        .expect_code(0);
    let expected = assert_tenant_after(&emu, &before, &listed, Profile::Incident, false);
    let rows = results_jsonl(&out);
    assert!(rows.iter().all(|r| r["status"] != "pending"));
    for (u, row) in listed.iter().zip(&rows) {
        assert_eq!(row["status"], expected[id_of(u)].status, "{row}");
    }
}

#[test]
fn ctrl_c_while_containing_keeps_every_revocation_in_the_results_and_resume_finishes() {
    let dir = scratch("ctrl-c-containing");
    let emu = Emulator::generated(160, 53);
    let before = emu.users();
    let listed = some_users(&before, 120);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    // 20 writes a second: the 120 revocations of the containment pass take seconds.
    interrupt_incident_apply(&emu, &dir, &input, &out, "20/1s", |lines| {
        records(lines, "step").count() >= 25
    });

    // Users contained before the interruption wait on disk for the second pass; their
    // result rows must still say their sessions were revoked.
    let plan: Value =
        serde_json::from_slice(&std::fs::read(out.join("plan.json")).unwrap()).unwrap();
    let lines = journal_lines(&out);
    let revoked: BTreeSet<u64> = records(&lines, "step")
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["outcome"] == "done" || r["outcome"] == "already-done")
        .filter(|r| {
            let row = r["row"].as_u64().unwrap() as usize;
            let step = r["step"].as_u64().unwrap() as usize;
            plan["entries"][row]["steps"][step]["action"] == "revokeSessions"
        })
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert!(
        revoked.len() >= 25,
        "{} revocations journaled",
        revoked.len()
    );
    let rows = results_jsonl(&out);
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    let pending_revoked = rows
        .iter()
        .filter(|r| r["status"] == "pending" && r["sessionsRevoked"] == true)
        .count();
    assert!(pending_revoked > 0, "no contained user is pending");
    for row in &rows {
        let index = row["row"].as_u64().unwrap();
        assert_eq!(
            row["sessionsRevoked"] == true,
            revoked.contains(&index),
            "row {index}: {row}"
        );
    }
    assert_no_scratch_files(&out);

    emu.run(&["resume", s(&out), "--write-budget", "2000/1s"])
        .expect_code(0);
    let expected = assert_tenant_after(&emu, &before, &listed, Profile::Incident, false);
    let rows = results_jsonl(&out);
    for (u, row) in listed.iter().zip(&rows) {
        assert_eq!(row["status"], expected[id_of(u)].status, "{row}");
    }
    assert_no_scratch_files(&out);
}

/// Starts `apply INPUT --profile incident` at `write_budget`, sends it Ctrl-C once
/// `trigger` holds for its journal, and checks it stops with exit 4 and names `resume`.
fn interrupt_incident_apply(
    emu: &Emulator,
    dir: &Path,
    input: &Path,
    out: &Path,
    write_budget: &str,
    trigger: impl FnMut(&[String]) -> bool,
) {
    let Spawned(child) = &mut emu.spawn(
        &[
            "apply",
            s(input),
            "--profile",
            "incident",
            "--out",
            s(out),
            "--yes",
            "--write-budget",
            write_budget,
        ],
        &dir.join("apply"),
    );
    let fired = wait_for_journal(child, out, trigger);
    assert!(fired, "the run ended before it could be interrupted");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = wait(child, "apply");
    let stderr = std::fs::read_to_string(dir.join("apply.err")).unwrap();
    assert_eq!(status.code(), Some(4), "{status:?}\n{stderr}");
    assert!(
        stderr.contains(&format!("mfa-reset resume {}", s(out))),
        "{stderr}"
    );
}

/// A run's folder holds what the run documents, and no scratch file of its own.
fn assert_no_scratch_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !(name.ends_with(".tmp") || name.ends_with(".partial") || name.ends_with(".spill")),
            "{} left behind in {}",
            name,
            dir.display()
        );
    }
}

// ---- 4. faults ----

#[test]
fn failures_and_ghost_writes_under_a_tight_quota_end_done_without_early_retries() {
    let dir = scratch("faults");
    // 50 writes per 150 s, 300 times faster: 100 writes a second, the client's budget
    // too; the emulator's bucket holds only 50, so the client's first burst meets 429s.
    let emu = Emulator::start(SimConfig {
        tenant: TenantSource::Generate {
            users: 160,
            seed: 61,
        },
        quotas: Some(write_quota(50.0)),
        time_scale: 300.0,
        fail_rate: 0.05,
        ghost_write_rate: 0.01,
        seed: 61,
        ..SimConfig::default()
    });
    let before = emu.users();
    let listed = some_users(&before, 120);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    emu.run(&[
        "apply",
        s(&input),
        "--profile",
        "offboard",
        "--out",
        s(&out),
        "--yes",
        "--write-budget",
        "100/1s",
    ])
    .expect_code(0);
    let stats = emu.sim.stats();
    assert_eq!(stats["earlyRetries"], 0, "{stats}");
    let faults = &stats["faults"];
    assert!(
        faults["failedRequests"].as_u64().unwrap() + faults["droppedConnections"].as_u64().unwrap()
            > 0,
        "no fault was injected: {stats}"
    );
    let rows = results_jsonl(&out);
    assert_eq!(rows.len(), listed.len());
    for (u, row) in listed.iter().zip(&rows) {
        let e = expect(Profile::Offboard, false, u);
        assert_eq!(row["status"], e.status, "{row}");
    }
    // Ghost writes were applied although Graph said 504: the end state is still right, and
    // a removal answered 404 on its retry counts as removed.
    let after = emu.users();
    for u in &listed {
        let e = expect(Profile::Offboard, false, u);
        let now = &after[id_of(u)];
        assert!(method_ids(now).is_disjoint(&e.deleted), "{}", upn(u));
        assert_eq!(is_enabled(now), is_enabled(u) && !e.disable, "{}", upn(u));
    }
    assert!(
        rows.iter()
            .all(|r| r["status"] != "failed" && r["status"] != "partial")
    );
}

// ---- 5. drift ----

#[test]
fn users_changed_between_plan_and_apply_are_drifted_and_left_alone() {
    let dir = scratch("drift");
    let emu = Emulator::start(SimConfig {
        tenant: TenantSource::File(data("tenant-rules.json")),
        ..SimConfig::default()
    });
    let before = emu.users();
    let listed: Vec<Value> = [ALICE, BOB, CAROL, DORA]
        .iter()
        .map(|id| before[*id].clone())
        .collect();
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let plan = dir.join("plan");
    emu.run(&[
        "plan",
        s(&input),
        "--profile",
        "device-refresh",
        "--issue-tap",
        "--out",
        s(&plan),
    ])
    .expect_code(0);

    // Another admin acts after the plan: a pass for Bob, a kept key of Dora's removed.
    assert_eq!(
        emu.graph(
            "POST",
            &format!("/users/{BOB}/authentication/temporaryAccessPassMethods"),
            Some(json!({"lifetimeInMinutes": 60})),
        ),
        201
    );
    assert_eq!(
        emu.graph(
            "DELETE",
            &format!("/users/{DORA}/authentication/fido2Methods/dora-fido2-0001"),
            None,
        ),
        204
    );
    let changed = emu.users();
    let seen = emu.mutations().len();

    let out = dir.join("run");
    let run = emu.run(&[
        "apply",
        s(&plan.join("plan.json")),
        "--out",
        s(&out),
        "--yes",
    ]);
    run.expect_code(1);
    let rows = results_jsonl(&out);
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["done", "drifted", "done", "drifted"], "{rows:#?}");
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("changed since the plan"),
        "{}",
        rows[1]
    );
    let after = emu.users();
    for id in [BOB, DORA] {
        assert_eq!(after[id], changed[id], "nothing changed for a drifted user");
    }
    let mutations = emu.mutations();
    let since = &mutations[seen..];
    assert!(
        since
            .iter()
            .all(|m| ![BOB, DORA].contains(&m["userId"].as_str().unwrap())),
        "{since:?}"
    );
    assert!(since.iter().any(|m| m["userId"] == ALICE));
    assert!(!method_ids(&after[ALICE]).contains(MOBILE));
    let taps = tap_file(&out);
    let tapped: BTreeSet<&str> = taps.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(tapped, [ALICE, CAROL].into());
}

// ---- 6. guardrails ----

#[test]
fn a_large_run_without_yes_and_no_terminal_is_refused_and_changes_nothing() {
    let dir = scratch("no-yes");
    let emu = Emulator::generated(80, 71);
    let before = emu.users();
    let listed = ordinary(&before, 15);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    let run = emu.run(&[
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--out",
        s(&out),
    ]);
    run.expect_code(2);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(
        run.stderr.contains("15"),
        "names the number of users: {}",
        run.stderr
    );
    assert!(emu.mutations().is_empty());
    assert_eq!(emu.users(), before);
    assert!(!out.join("journal.jsonl").exists());
}

#[test]
fn policy_flags_with_a_plan_are_refused() {
    let dir = scratch("plan-flags");
    let emu = Emulator::generated(40, 72);
    let listed = ordinary(&emu.users(), 3);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let plan = dir.join("plan");
    emu.run(&[
        "plan",
        s(&input),
        "--profile",
        "device-refresh",
        "--out",
        s(&plan),
    ])
    .expect_code(0);
    let out = dir.join("run");
    let run = emu.run(&[
        "apply",
        s(&plan.join("plan.json")),
        "--profile",
        "incident",
        "--out",
        s(&out),
        "--yes",
    ]);
    run.expect_code(2);
    assert!(run.stderr.contains("policy"), "{}", run.stderr);
    assert!(emu.mutations().is_empty());
}

#[test]
fn applying_into_a_folder_that_holds_a_run_is_refused_and_names_resume() {
    let dir = scratch("folder-taken");
    let emu = Emulator::generated(40, 73);
    let listed = ordinary(&emu.users(), 3);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    let args = [
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--out",
        s(&out),
    ];
    emu.run(&args).expect_code(0);
    let changes = emu.mutations().len();
    let journal = std::fs::read(out.join("journal.jsonl")).unwrap();
    let run = emu.run(&args);
    run.expect_code(2);
    assert!(run.stderr.contains("mfa-reset resume"), "{}", run.stderr);
    assert_eq!(emu.mutations().len(), changes);
    assert_eq!(std::fs::read(out.join("journal.jsonl")).unwrap(), journal);
}

#[test]
fn a_second_run_on_the_same_folder_is_refused_while_the_first_runs() {
    let dir = scratch("locked");
    let emu = Emulator::generated(200, 74);
    let listed = ordinary(&emu.users(), 100);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    // One write a second after the first burst: this run cannot finish during the test.
    let Spawned(slow) = &mut emu.spawn(
        &[
            "apply",
            s(&input),
            "--profile",
            "incident",
            "--out",
            s(&out),
            "--yes",
            "--write-budget",
            "1/1s",
        ],
        &dir.join("slow"),
    );
    let started = wait_for_journal(slow, &out, |lines| lines.len() >= 2);
    assert!(
        started,
        "the slow run ended: {}",
        std::fs::read_to_string(dir.join("slow.err")).unwrap_or_default()
    );
    let second = emu.run(&["resume", s(&out)]);
    let third = emu.run(&[
        "apply",
        s(&input),
        "--profile",
        "incident",
        "--out",
        s(&out),
        "--yes",
    ]);
    assert!(
        slow.try_wait().unwrap().is_none(),
        "the slow run is still running"
    );
    slow.kill().unwrap();
    wait(slow, "apply");
    second.expect_code(2);
    assert!(
        second.stderr.contains("another mfa-reset run"),
        "{}",
        second.stderr
    );
    third.expect_code(2);

    // A killed run leaves no stale lock: resume (faster now) finishes it.
    emu.run(&["resume", s(&out), "--write-budget", "5000/1s"])
        .expect_code(0);
    let rows = results_jsonl(&out);
    assert_eq!(rows.len(), listed.len());
    assert!(rows.iter().all(|r| r["status"] == "done"), "{rows:#?}");
}

// ---- least privilege ----

#[test]
fn plan_lists_the_permissions_and_a_refusal_names_the_missing_one() {
    let dir = scratch("privilege");
    // The emulated app holds no privileged role: Graph refuses changes to administrators
    // with 403, as Entra does for an app with only the permissions.
    let emu = Emulator::generated(300, 81);
    let users = emu.users();
    let admins: Vec<Value> = users
        .values()
        .filter(|u| is_admin(u))
        .take(2)
        .cloned()
        .collect();
    assert!(
        !admins.is_empty(),
        "the generated tenant has administrators"
    );
    let listed: Vec<Value> = admins.iter().cloned().chain(ordinary(&users, 3)).collect();
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let plan_dir = dir.join("plan");
    let planned = emu.run(&[
        "plan",
        s(&input),
        "--profile",
        "offboard",
        "--include-admins",
        "--out",
        s(&plan_dir),
    ]);
    planned.expect_code(0);
    for permission in [
        "User.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "User.RevokeSessions.All",
        "User.EnableDisableAccount.All",
    ] {
        assert!(
            planned.stderr.contains(permission),
            "{permission}: {}",
            planned.stderr
        );
        let summary = std::fs::read_to_string(plan_dir.join("summary.md")).unwrap();
        assert!(
            summary.contains(&format!("`{permission}`")),
            "{permission} in summary.md"
        );
    }
    assert!(
        !planned.stderr.contains("UserAuthenticationMethod.Read.All"),
        "a policy that removes methods needs ReadWrite, not also Read: {}",
        planned.stderr
    );

    let out = dir.join("run");
    emu.run(&[
        "apply",
        s(&plan_dir.join("plan.json")),
        "--out",
        s(&out),
        "--yes",
    ])
    .expect_code(1);
    let rows = results_jsonl(&out);
    assert_eq!(rows.len(), listed.len());
    for (u, row) in listed.iter().zip(&rows) {
        let message = row["errorMessage"].as_str().unwrap_or_default();
        if is_admin(u) {
            assert_eq!(row["status"], "failed", "{row}");
            // The refusal names the permission of the step Graph refused, and the role an
            // administrator target needs on top.
            let named = [
                "User.EnableDisableAccount.All",
                "User.RevokeSessions.All",
                "UserAuthenticationMethod.ReadWrite.All",
            ]
            .iter()
            .any(|p| message.contains(&format!("application permission {p}")));
            assert!(
                named && message.contains("Privileged Authentication Administrator"),
                "{message}"
            );
        } else {
            assert_eq!(row["status"], "done", "{row}");
            assert!(message.is_empty(), "{row}");
        }
    }
    // Nothing at all reached an administrator.
    let admin_ids: BTreeSet<&str> = admins.iter().map(id_of).collect();
    assert!(
        emu.mutations()
            .iter()
            .all(|m| !admin_ids.contains(m["userId"].as_str().unwrap_or_default())),
        "{:?}",
        emu.mutations()
    );
}

// ---- a plan edited by hand ----

#[test]
fn a_plan_edited_anywhere_after_it_was_written_is_refused_and_nothing_changes() {
    let dir = scratch("edited");
    let emu = Emulator::generated(120, 82);
    let listed = ordinary(&emu.users(), 12);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let plan_dir = dir.join("plan");
    emu.run(&[
        "plan",
        s(&input),
        "--profile",
        "device-refresh",
        "--out",
        s(&plan_dir),
    ])
    .expect_code(0);
    let original: Value =
        serde_json::from_slice(&std::fs::read(plan_dir.join("plan.json")).unwrap()).unwrap();
    let planned = original["entries"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["status"] == "planned")
        .expect("a planned user");
    // Each edit alone: a step's method id, a user's steps, the policy, the input's hash.
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a step's method id",
            Box::new(move |p: &mut Value| {
                p["entries"][planned]["steps"][0]["id"] =
                    json!("00000000-0000-0000-0000-000000000000");
            }),
        ),
        (
            "a user's steps",
            Box::new(move |p: &mut Value| {
                let steps = p["entries"][planned]["steps"].as_array_mut().unwrap();
                let again = steps[0].clone();
                steps.push(again);
            }),
        ),
        (
            "the policy",
            Box::new(|p: &mut Value| p["policy"]["includeAdmins"] = json!(true)),
        ),
        (
            "the input's hash",
            Box::new(|p: &mut Value| p["input"]["sha256"] = json!("0".repeat(64))),
        ),
    ];
    for (what, edit) in edits {
        let mut plan = original.clone();
        edit(&mut plan);
        assert_ne!(plan, original, "{what}: the edit changed nothing");
        let edited = dir.join("edited.json");
        std::fs::write(&edited, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
        let out = dir.join(format!("run-{}", what.replace([' ', '\''], "-")));
        let run = emu.run(&["apply", s(&edited), "--out", s(&out), "--yes"]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("edited after it was written"),
            "{what}: {}",
            run.stderr
        );
    }
    assert!(
        emu.mutations().is_empty(),
        "an edited plan changed the tenant"
    );

    // Re-saved unedited in another layout (re-indented, its fields in another order, as
    // a JSON tool writes it), the plan is the same plan and is carried out.
    let resaved = dir.join("resaved.json");
    std::fs::write(&resaved, serde_json::to_vec_pretty(&original).unwrap()).unwrap();
    let text = std::fs::read_to_string(&resaved).unwrap();
    assert!(
        text.find("\"entries\"") < text.find("\"format\""),
        "the re-saved plan has its fields in another order"
    );
    let out = dir.join("run-resaved");
    emu.run(&["apply", s(&resaved), "--out", s(&out), "--yes"])
        .expect_code(0);
    assert!(
        !emu.mutations().is_empty(),
        "the re-saved plan was carried out"
    );
    // The run keeps the plan it carried out, in this tool's own layout.
    let kept = std::fs::read_to_string(out.join("plan.json")).unwrap();
    assert!(
        kept.starts_with("{\n  \"format\": \"mfa-reset-plan\","),
        "{kept}"
    );
    assert_eq!(serde_json::from_str::<Value>(&kept).unwrap(), original);
    assert_eq!(results_jsonl(&out).len(), listed.len());
    assert_no_scratch_files(&out);
    assert_no_scratch_files(&plan_dir);
}

#[test]
fn a_run_whose_plan_is_laid_out_otherwise_resumes_from_a_copy_unless_it_was_changed() {
    let dir = scratch("other-layout");
    let emu = Emulator::generated(120, 84);
    let listed = ordinary(&emu.users(), 12);
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("run");
    emu.run(&[
        "apply",
        s(&input),
        "--profile",
        "device-refresh",
        "--out",
        s(&out),
        "--yes",
    ])
    .expect_code(0);
    let changes = emu.mutations().len();
    assert!(changes > 0);

    // The run's plan.json laid out as earlier versions wrote it (the whole plan indented),
    // its hash recorded where such a run recorded it.
    let plan_path = out.join("plan.json");
    let plan: Value = serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    let relay = |plan: &Value| {
        let bytes = serde_json::to_vec_pretty(plan).unwrap();
        std::fs::write(&plan_path, &bytes).unwrap();
        bytes
    };
    let other_layout = relay(&plan);
    let sha = mfa_reset::plan::sha256_hex(&other_layout);
    let mut settings: Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    settings["planSha256"] = json!(sha);
    std::fs::write(out.join("run.json"), settings.to_string()).unwrap();
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let (first, rest) = journal.split_once('\n').unwrap();
    let mut run: Value = serde_json::from_str(first).unwrap();
    run["planSha256"] = json!(sha);
    std::fs::write(out.join("journal.jsonl"), format!("{run}\n{rest}")).unwrap();
    std::fs::remove_file(out.join("results.csv")).unwrap();

    emu.run(&["resume", s(&out)]).expect_code(0);
    assert_eq!(
        results_csv(&out).len(),
        listed.len(),
        "one row per input row"
    );
    assert_eq!(
        emu.mutations().len(),
        changes,
        "a finished run changes nothing more"
    );
    assert_eq!(
        std::fs::read(&plan_path).unwrap(),
        other_layout,
        "plan.json untouched"
    );
    assert!(
        !out.join("plan.json.resume").exists(),
        "the copy is removed"
    );
    assert_no_scratch_files(&out);

    // Changed in any way, it is refused.
    let mut edited = plan.clone();
    edited["entries"][0]["input"] = json!("someone-else@contoso.example");
    relay(&edited);
    let refused = emu.run(&["resume", s(&out)]);
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("changed after the run started"),
        "{}",
        refused.stderr
    );
    assert_eq!(emu.mutations().len(), changes);
}

#[test]
fn ctrl_c_while_planning_writes_no_plan_and_leaves_no_scratch_files() {
    // (`apply USERS.csv` plans without this: Ctrl-C there ends the process as usual.)
    let dir = scratch("ctrl-c-planning");
    // 100 ms a request: reading 1,500 users takes seconds, time enough to interrupt.
    let emu = Emulator::start(SimConfig {
        tenant: TenantSource::Generate {
            users: 1500,
            seed: 91,
        },
        latency: Duration::from_millis(100),
        ..SimConfig::default()
    });
    let listed: Vec<Value> = emu.users().into_values().collect();
    let input = dir.join("users.csv");
    write_list(&input, &listed);
    let out = dir.join("plan");
    let Spawned(child) = &mut emu.spawn(
        &[
            "plan",
            s(&input),
            "--profile",
            "device-refresh",
            "--out",
            s(&out),
        ],
        &dir.join("plan-run"),
    );
    // The tenant is being read once the plan's spill exists.
    let deadline = Instant::now() + HANG_GUARD;
    while !out.join("plan.json.spill").exists() {
        assert!(child.try_wait().unwrap().is_none(), "plan ended first");
        assert!(Instant::now() < deadline, "plan never started reading");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = wait(child, "plan");
    let stderr = std::fs::read_to_string(dir.join("plan-run.err")).unwrap();
    assert_eq!(status.code(), Some(4), "{status:?}\n{stderr}");
    assert!(stderr.contains("no plan was written"), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "plan left {left:?} in {}", out.display());
    assert!(
        emu.mutations().is_empty(),
        "an interrupted plan changed the tenant"
    );
}
