//! End-to-end benchmark: the real `mfa-reset plan` and `mfa-reset apply` binaries against
//! the emulator, in three scenarios that bound a bulk run in three different ways.
//!
//! - **quota-bound**: 10,000 users, `device-refresh`, the emulator with Microsoft's
//!   documented quotas for a large tenant, throttling on and `--time-scale` K (default 10:
//!   the app's 3,000 writes per 150 s become 200 writes/s, so the run takes about a minute), the client's budgets scaled the
//!   same way. Reports the writes/s `apply` achieved over its steady part as a share of the
//!   write quota, the share of items answered 429, early retries (an item resent inside its
//!   `Retry-After` window), and the wall time against the least time the quota allows.
//! - **containment**: revoke the sessions of 1,000 users, emulator latency 100 ms ± 20 ms
//!   per HTTP request (80 ms + up to 40 ms), documented quotas at real speed (K = 1).
//!   Reports `apply`'s wall time against the ideal of ⌈batches ÷ in-flight⌉ round trips.
//! - **contain-list**: as containment, but straight from the user list, no plan first:
//!   `apply users.csv --profile incident` and `apply users.csv --revoke-sessions`, each on
//!   a fresh emulator, for 1,000 and 3,000 users. Reports the time from process start to
//!   the last session revocation answered (issue #17's targets: ≤ 1.0 s for 1,000 users,
//!   ≤ 2.5 s for 3,000, at the default latency), and process start to exit. The emulator's
//!   mutation log stamps changes to the whole second only, so the moment of the last
//!   revocation comes from its counters (writes admitted less items refused), read every
//!   millisecond (see `fn answered_between` and `fn contain_list_run`).
//! - **scale**: `plan` and `apply` for 1,000,000 users, throttling off and client budgets
//!   out of the way. Reports each process's peak RSS and its CPU time per 1,000 `$batch`
//!   items.
//! - **estimate**: a device-refresh of 1,000 users against the emulator with the documented
//!   quotas of a large tenant at real speed (K = 1), throttling on. Reports the time
//!   `plan` estimates for the run (`plan.json`'s `minimumSeconds`) against `apply`'s wall
//!   time, process start to exit; the target is within 30 % of it.
//! - **tenants**: `apply --tenants` over 10 tenants, each its own emulator with the
//!   documented quotas of a large tenant at time scale 2 (`E2E_TENANTS_TIME_SCALE`: the
//!   app's bucket of 3,000 writes, then 40 writes/s), throttling on, each list about 4,000
//!   writes (3,000 users, device-refresh), against one such tenant alone. Issue #19's
//!   target: within 20 % of the one tenant's wall time (process start to exit).
//! - **resume** (only when named in `E2E_SCENARIOS`): as scale, but `apply` is killed
//!   (SIGKILL) after as many batch items as there are users, then `resume` finishes it.
//!   Reports the resume's peak RSS.
//!
//! The emulator runs in this process (`Sim::start_background`); `plan` and `apply` are the
//! crate's own binary (`CARGO_BIN_EXE_mfa-reset`) started as child processes pointed at it
//! with `--graph-url`/`--login-url` and a static bearer token, so that their memory and CPU
//! are their own. Peak RSS is the child's `VmHWM` and CPU its `utime + stime` from `/proc`,
//! polled every 10 ms while it runs (so at most 10 ms of growth at the very end is missed).
//! Every run must exit 0 and write exactly one result row per input row, or the bench
//! panics rather than report a figure for a broken run.
//!
//! Run: `cargo bench --bench e2e`. Without `--bench` on its command line (as
//! `cargo test --benches` runs it) it does a small smoke run of each scenario.
//!
//! Environment (defaults in brackets): `E2E_SCENARIOS`
//! [`quota,containment,contain-list,scale,estimate,tenants`; also `resume`];
//! `E2E_QUOTA_USERS` [10000]; `E2E_TIME_SCALE` [10]; `E2E_ESTIMATE_USERS` [1000]; `E2E_CONTAIN_USERS` [1000];
//! `E2E_CONTAIN_LIST_USERS` [1000,3000: a comma-separated list of user counts];
//! `E2E_LATENCY_MS` [80] and `E2E_JITTER_MS` [40]; `E2E_SCALE_USERS` [1000000];
//! `E2E_MAX_IN_FLIGHT` [the default, 8]; `E2E_TENANTS` [10], `E2E_TENANT_USERS` [3000] and
//! `E2E_TENANTS_TIME_SCALE` [2];
//! `E2E_KEEP` (keep the scratch folders).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use mfa_reset::engine::dispatcher::DEFAULT_MAX_IN_FLIGHT;
use mfa_reset::secret::Secret;
use mfa_reset::sim::{Quotas, Sim, SimConfig, SimHandle, TenantSize, TenantSource};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mfa-reset");
const TOKEN: &str = "e2e-bench-token";
const SEED: u64 = 7;
/// Entra's per-app write bucket: 3,000 writes per 150 s, full at the start.
const APP_WRITES: f64 = 3000.0;
const APP_WRITE_WINDOW_S: f64 = 150.0;
const LARGE_RU: f64 = 8000.0;
const RU_WINDOW_S: f64 = 10.0;
/// Targets from the performance issue.
const TARGET_SHARE: f64 = 0.97;
const TARGET_THROTTLED: f64 = 0.005;
const TARGET_CONTAIN_S: f64 = 2.0;
const TARGET_RSS_MIB: f64 = 200.0;
const TARGET_ESTIMATE_ERROR: f64 = 0.30;
/// Issue #17: (users, seconds from process start to the last revocation answered), at
/// the default latency of 80 ms + up to 40 ms.
const TARGET_CONTAIN_LIST_S: [(usize, f64); 2] = [(1000, 1.0), (3000, 2.5)];
const DEFAULT_LATENCY_MS: u64 = 80;
const DEFAULT_JITTER_MS: u64 = 40;
/// Graph's `$batch` holds at most 20 requests.
const BATCH_MAX_ITEMS: u64 = 20;
/// How often contain-list reads the emulator's write counter.
const WRITE_POLL: Duration = Duration::from_millis(1);
/// `/proc/<pid>/stat` counts CPU time in clock ticks of 1/100 s on Linux.
const CLOCK_TICKS_PER_S: f64 = 100.0;

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

/// A comma-separated list of numbers from `name`, or `default`.
fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a list of numbers"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

struct Settings {
    full: bool,
    scenarios: Vec<String>,
    quota_users: usize,
    time_scale: f64,
    contain_users: usize,
    contain_list_users: Vec<usize>,
    latency_ms: u64,
    jitter_ms: u64,
    scale_users: usize,
    estimate_users: usize,
    max_in_flight: usize,
    tenants: usize,
    tenant_users: usize,
    tenants_time_scale: f64,
    keep: bool,
}

impl Settings {
    fn from_env() -> Settings {
        let full = std::env::args().any(|a| a == "--bench");
        let scenarios = std::env::var("E2E_SCENARIOS")
            .unwrap_or_else(|_| "quota,containment,contain-list,scale,estimate,tenants".into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Settings {
            full,
            scenarios,
            quota_users: env_or("E2E_QUOTA_USERS", if full { 10_000 } else { 300 }),
            time_scale: env_or("E2E_TIME_SCALE", if full { 10.0 } else { 100.0 }),
            contain_users: env_or("E2E_CONTAIN_USERS", if full { 1000 } else { 100 }),
            contain_list_users: env_list(
                "E2E_CONTAIN_LIST_USERS",
                if full { &[1000, 3000] } else { &[100] },
            ),
            latency_ms: env_or("E2E_LATENCY_MS", if full { DEFAULT_LATENCY_MS } else { 8 }),
            jitter_ms: env_or("E2E_JITTER_MS", if full { DEFAULT_JITTER_MS } else { 4 }),
            scale_users: env_or("E2E_SCALE_USERS", if full { 1_000_000 } else { 2000 }),
            estimate_users: env_or("E2E_ESTIMATE_USERS", if full { 1000 } else { 100 }),
            max_in_flight: env_or("E2E_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT),
            tenants: env_or("E2E_TENANTS", if full { 10 } else { 3 }),
            tenant_users: env_or("E2E_TENANT_USERS", if full { 3000 } else { 60 }),
            tenants_time_scale: env_or("E2E_TENANTS_TIME_SCALE", if full { 2.0 } else { 100.0 }),
            keep: std::env::var_os("E2E_KEEP").is_some(),
        }
    }
}

/// One child process's run.
struct ChildRun {
    status: ExitStatus,
    /// Taken just before the process was spawned, as an instant and as wall-clock time.
    started: Instant,
    started_at: SystemTime,
    wall: Duration,
    peak_rss_kib: u64,
    cpu: Duration,
    stderr: String,
}

fn proc_peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields after its closing parenthesis are fixed.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(Duration::from_secs_f64(ticks / CLOCK_TICKS_PER_S))
}

/// Runs the binary with `args`, polling its memory and CPU, and calling `on_tick` with the
/// time since the start every 10 ms.
fn run_child(
    dir: &Path,
    name: &str,
    args: &[String],
    mut on_tick: impl FnMut(Duration, u32),
) -> ChildRun {
    let out_path = dir.join(format!("{name}.stdout"));
    let err_path = dir.join(format!("{name}.stderr"));
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .env("MFA_RESET_ACCESS_TOKEN", TOKEN)
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start mfa-reset");
    let pid = child.id();
    let mut peak_rss_kib = 0;
    let mut cpu = Duration::ZERO;
    let status = loop {
        if let Some(rss) = proc_peak_rss_kib(pid) {
            peak_rss_kib = peak_rss_kib.max(rss);
        }
        if let Some(c) = proc_cpu(pid) {
            cpu = cpu.max(c);
        }
        if let Some(status) = child.try_wait().expect("wait for mfa-reset") {
            break status;
        }
        on_tick(start.elapsed(), pid);
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = start.elapsed();
    let mut stderr = String::new();
    File::open(&err_path)
        .and_then(|mut f| f.read_to_string(&mut stderr))
        .expect("read stderr");
    ChildRun {
        status,
        started: start,
        started_at,
        wall,
        peak_rss_kib,
        cpu,
        stderr,
    }
}

/// The command finished its work: exit 0, or exit 1 because some rows are blocked,
/// not-found or protected-by-rule outcomes the tenant's users give (the README's exit
/// codes), never because the command or the run failed or stopped.
fn expect_success(run: &ChildRun, what: &str) {
    let finished = match run.status.code() {
        Some(0) => true,
        Some(1) => {
            !run.stderr.contains("error")
                && !run.stderr.contains("stopped")
                && !run.stderr.contains(" failed")
                && !run.stderr.contains(" partial")
                && !run.stderr.contains(" pending")
        }
        _ => false,
    };
    assert!(
        finished,
        "{what} failed with {}:\n{}",
        run.status, run.stderr
    );
}

/// Writes the emulated tenant's users (all of them, in tenant order) as a one-column CSV,
/// from the same generator and seed the emulator uses.
fn write_input(path: &Path, users: usize) {
    let tenant = mfa_reset::sim::generate::generate(users, SEED);
    let mut w = csv::Writer::from_path(path).expect("input file");
    w.write_record(["userPrincipalName"]).expect("write");
    for u in tenant.users() {
        w.write_record([u.user_principal_name.as_str()])
            .expect("write");
    }
    w.flush().expect("flush");
}

/// Status counts of a run's `results.csv`, and the number of rows.
fn result_counts(path: &Path) -> (usize, Vec<(String, usize)>) {
    let mut reader = csv::Reader::from_path(path).expect("results.csv");
    let status_at = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "status")
        .expect("a status column");
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.expect("a row");
        *counts.entry(record[status_at].to_string()).or_default() += 1;
        rows += 1;
    }
    (rows, counts.into_iter().collect())
}

fn counter(stats: &Value, name: &str) -> u64 {
    stats[name]
        .as_u64()
        .unwrap_or_else(|| panic!("/_sim/stats has no counter {name}: {stats}"))
}

fn start_sim(config: SimConfig) -> SimHandle {
    Sim::start_background(SimConfig {
        static_token: Some(Secret::new(TOKEN)),
        ..config
    })
    .expect("start the emulator")
}

fn graph_args(sim: &SimHandle, settings: &Settings, ru: &str, writes: &str) -> Vec<String> {
    [
        "--graph-url",
        sim.base_url(),
        "--login-url",
        sim.base_url(),
        "--ru-budget",
        ru,
        "--write-budget",
        writes,
        "--max-in-flight",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([settings.max_in_flight.to_string()])
    .collect()
}

fn args(parts: &[&str], rest: &[String]) -> Vec<String> {
    parts
        .iter()
        .map(|s| s.to_string())
        .chain(rest.iter().cloned())
        .collect()
}

/// `plan INPUT POLICY... --out DIR` and the Graph flags.
fn plan_argv(input: &Path, policy: &[&str], out: &Path, graph: &[String]) -> Vec<String> {
    let mut parts = vec!["plan", s(input)];
    parts.extend_from_slice(policy);
    parts.extend(["--out", s(out)]);
    args(&parts, graph)
}

/// `apply PLAN_DIR/plan.json --out DIR --yes` and the Graph flags.
fn apply_argv(plan_dir: &Path, out: &Path, graph: &[String]) -> Vec<String> {
    let plan = plan_dir.join("plan.json");
    args(&["apply", s(&plan), "--out", s(out), "--yes"], graph)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

/// What a scenario reports, one line of the final table.
struct Line {
    scenario: &'static str,
    figure: String,
    target: String,
    met: Option<bool>,
}

fn check_results(dir: &Path, users: usize) -> String {
    let (rows, counts) = result_counts(&dir.join("results.csv"));
    assert_eq!(
        rows,
        users,
        "one result row per input row in {}",
        dir.display()
    );
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The quota-bound scenario's folder, input and emulator: documented quotas for a large
/// tenant at time scale K, throttling on, and the client's budgets scaled the same way.
struct QuotaRig {
    dir: PathBuf,
    input: PathBuf,
    sim: SimHandle,
    graph: Vec<String>,
    /// The app's write quota at time scale K, in writes per second.
    write_rate: f64,
}

fn quota_rig(settings: &Settings, root: &Path, name: &str, users: usize, k: f64) -> QuotaRig {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("scratch");
    let input = dir.join("users.csv");
    write_input(&input, users);
    let sim = start_sim(SimConfig {
        tenant: TenantSource::Generate { users, seed: SEED },
        seed: SEED,
        throttling: true,
        quotas: Some(Quotas::documented(TenantSize::Large)),
        time_scale: k,
        ..SimConfig::default()
    });
    let ru = format!("{}/{}ms", LARGE_RU, RU_WINDOW_S * 1000.0 / k);
    let writes = format!("{}/{}ms", APP_WRITES, APP_WRITE_WINDOW_S * 1000.0 / k);
    let graph = graph_args(&sim, settings, &ru, &writes);
    let write_rate = APP_WRITES / APP_WRITE_WINDOW_S * k;
    QuotaRig {
        dir,
        input,
        sim,
        graph,
        write_rate,
    }
}

/// Runs `plan` with the device-refresh profile and prints its line. Returns the plan's
/// folder and the emulator's stats after it.
fn quota_plan(rig: &QuotaRig, users: usize) -> (PathBuf, Value) {
    let before_plan = rig.sim.stats();
    let plan_dir = rig.dir.join("plan");
    let plan = run_child(
        &rig.dir,
        "plan",
        &plan_argv(
            &rig.input,
            &["--profile", "device-refresh"],
            &plan_dir,
            &rig.graph,
        ),
        |_, _| {},
    );
    expect_success(&plan, "plan");
    let after_plan = rig.sim.stats();
    println!(
        "  plan     {:>8.2} s  {} batch items, {} throttled  [{}]",
        plan.wall.as_secs_f64(),
        counter(&after_plan, "batchItems") - counter(&before_plan, "batchItems"),
        counter(&after_plan, "throttled") - counter(&before_plan, "throttled"),
        check_results(&plan_dir, users)
    );
    (plan_dir, after_plan)
}

/// Runs `apply` on the plan in `plan_dir`, sampling the emulator's writes every 250 ms
/// while it runs: (seconds since the start, writesSpent less `w0`), from (0, 0) on.
fn sampled_apply(
    rig: &QuotaRig,
    plan_dir: &Path,
    apply_dir: &Path,
    w0: u64,
) -> (ChildRun, Vec<(f64, u64)>) {
    let mut samples: Vec<(f64, u64)> = vec![(0.0, 0)];
    let mut next_sample = Duration::from_millis(250);
    let apply = run_child(
        &rig.dir,
        "apply",
        &apply_argv(plan_dir, apply_dir, &rig.graph),
        |t, _| {
            if t >= next_sample {
                let w = counter(&rig.sim.stats(), "writesSpent") - w0;
                samples.push((t.as_secs_f64(), w));
                next_sample += Duration::from_millis(250);
            }
        },
    );
    (apply, samples)
}

/// Steady part: from the first sample after the starting bucket was spent to the last
/// sample taken while writes were still being spent. Returns (writes/s, seconds) when it
/// spans at least 2 s.
fn steady_rate(samples: &[(f64, u64)]) -> Option<(f64, f64)> {
    let first = samples
        .iter()
        .position(|&(_, w)| w as f64 >= APP_WRITES)
        .map(|i| (i + 1).min(samples.len() - 1));
    let last = samples
        .windows(2)
        .rposition(|p| p[1].1 > p[0].1)
        .map(|i| i + 1);
    match (first, last) {
        (Some(a), Some(b)) if b > a && samples[b].0 - samples[a].0 >= 2.0 => {
            let (t0, w0) = samples[a];
            let (t1, w1) = samples[b];
            Some(((w1 - w0) as f64 / (t1 - t0), t1 - t0))
        }
        _ => None,
    }
}

/// What `apply` did in the quota-bound scenario.
struct QuotaApply {
    /// The app's write quota, in writes per second.
    write_rate: f64,
    wall: Duration,
    writes_total: u64,
    items: u64,
    throttled: u64,
    early: u64,
    /// (writes/s, seconds) over the steady part, when it was long enough to judge.
    steady: Option<(f64, f64)>,
}

impl QuotaApply {
    /// The least time the quota allows: the starting bucket at once, then the quota's rate.
    fn ideal_bucket(&self) -> f64 {
        (self.writes_total as f64 - APP_WRITES).max(0.0) / self.write_rate
    }

    fn throttled_share(&self) -> f64 {
        self.throttled as f64 / self.items.max(1) as f64
    }
}

/// Prints `apply`'s line and the ideal's.
fn print_quota_apply(run: &QuotaApply, results: &str) {
    let QuotaApply {
        write_rate,
        writes_total,
        items,
        throttled,
        early,
        ..
    } = *run;
    let ideal_bucket = run.ideal_bucket();
    let ideal_steady = writes_total as f64 / write_rate;
    println!(
        "  apply    {:>8.2} s  {writes_total} writes, {items} batch items, {throttled} throttled ({:.3} %), early retries {early}  [{results}]",
        run.wall.as_secs_f64(),
        run.throttled_share() * 100.0
    );
    println!(
        "  ideal    {ideal_bucket:>8.2} s  spending the full bucket of {APP_WRITES:.0} at once, then {write_rate:.0}/s ({ideal_steady:.2} s at {write_rate:.0}/s from the start)"
    );
}

/// Prints the steady rate and returns the scenario's lines of the final table.
fn quota_lines(run: &QuotaApply) -> Vec<Line> {
    let (throttled, items, early) = (run.throttled, run.items, run.early);
    let throttled_share = run.throttled_share();
    let ideal_bucket = run.ideal_bucket();
    let mut lines = Vec::new();
    match run.steady {
        Some((rate, span)) => {
            let share = rate / run.write_rate;
            println!(
                "  steady   {rate:>8.1} writes/s over {span:.1} s = {:.2} % of the write quota",
                share * 100.0
            );
            lines.push(Line {
                scenario: "quota-bound",
                figure: format!("{:.2} % of the write quota ({rate:.1}/s)", share * 100.0),
                target: format!("≥ {:.0} %", TARGET_SHARE * 100.0),
                met: Some(share >= TARGET_SHARE),
            });
        }
        None => println!("  steady   too short to judge (raise E2E_QUOTA_USERS)"),
    }
    lines.push(Line {
        scenario: "quota-bound",
        figure: format!(
            "{throttled} of {items} items throttled ({:.3} %)",
            throttled_share * 100.0
        ),
        target: format!("≤ {:.1} %", TARGET_THROTTLED * 100.0),
        met: Some(throttled_share <= TARGET_THROTTLED),
    });
    lines.push(Line {
        scenario: "quota-bound",
        figure: format!("{early} early retries"),
        target: "0".into(),
        met: Some(early == 0),
    });
    let against_ideal = if ideal_bucket > 0.0 {
        format!(
            "apply {:.1} s against the ideal {ideal_bucket:.1} s ({:.1} %)",
            run.wall.as_secs_f64(),
            run.wall.as_secs_f64() / ideal_bucket * 100.0
        )
    } else {
        format!(
            "apply {:.1} s; every write fits in the starting bucket",
            run.wall.as_secs_f64()
        )
    };
    lines.push(Line {
        scenario: "quota-bound",
        figure: against_ideal,
        target: "(information)".into(),
        met: None,
    });
    lines
}

fn quota_bound(settings: &Settings, root: &Path) -> Vec<Line> {
    let k = settings.time_scale;
    let users = settings.quota_users;
    let rig = quota_rig(settings, root, "quota", users, k);
    let write_rate = rig.write_rate;
    println!(
        "\n== quota-bound: {users} users, device-refresh, time scale {k} (write quota {write_rate:.0}/s, bucket {APP_WRITES:.0}), {} in flight ==",
        settings.max_in_flight
    );

    let (plan_dir, after_plan) = quota_plan(&rig, users);
    let estimate = read_plan_header(&plan_dir)["minimumSeconds"].as_f64();

    // Sample the emulator's writes every 250 ms while apply runs.
    let apply_dir = rig.dir.join("apply");
    let w0 = counter(&after_plan, "writesSpent");
    let (apply, samples) = sampled_apply(&rig, &plan_dir, &apply_dir, w0);
    expect_success(&apply, "apply");
    let after = rig.sim.stats();
    let results = check_results(&apply_dir, users);
    let run = QuotaApply {
        write_rate,
        wall: apply.wall,
        writes_total: counter(&after, "writesSpent") - w0,
        items: counter(&after, "batchItems") - counter(&after_plan, "batchItems"),
        throttled: counter(&after, "throttled") - counter(&after_plan, "throttled"),
        early: counter(&after, "earlyRetries"),
        steady: steady_rate(&samples),
    };
    print_quota_apply(&run, &results);
    if let Some(estimate) = estimate {
        println!("  estimate {estimate:>8.2} s  from plan.json (at the scaled budgets)");
    }
    quota_lines(&run)
}

/// The plan's estimate of a device-refresh of `E2E_ESTIMATE_USERS` at real quotas, against
/// the time `apply` takes.
fn estimate(settings: &Settings, root: &Path) -> Vec<Line> {
    let users = settings.estimate_users;
    let rig = quota_rig(settings, root, "estimate", users, 1.0);
    println!(
        "\n== estimate: {users} users, device-refresh, documented quotas at real speed, {} in flight ==",
        settings.max_in_flight
    );
    let (plan_dir, after_plan) = quota_plan(&rig, users);
    let estimate = read_plan_header(&plan_dir)["minimumSeconds"]
        .as_f64()
        .expect("plan.json has minimumSeconds");
    let apply_dir = rig.dir.join("apply");
    let apply = run_child(
        &rig.dir,
        "apply",
        &apply_argv(&plan_dir, &apply_dir, &rig.graph),
        |_, _| {},
    );
    expect_success(&apply, "apply");
    let after = rig.sim.stats();
    let results = check_results(&apply_dir, users);
    let wall = apply.wall.as_secs_f64();
    let error = (estimate - wall) / wall;
    println!(
        "  apply    {wall:>8.2} s  {} writes, {} batch items, {} throttled  [{results}]",
        counter(&after, "writesSpent") - counter(&after_plan, "writesSpent"),
        counter(&after, "batchItems") - counter(&after_plan, "batchItems"),
        counter(&after, "throttled") - counter(&after_plan, "throttled"),
    );
    println!(
        "  estimate {estimate:>8.2} s  from plan.json, {:+.1} % of the measured apply",
        error * 100.0
    );
    vec![Line {
        scenario: "estimate",
        figure: format!(
            "plan estimated {estimate:.2} s, apply took {wall:.2} s ({:+.1} %)",
            error * 100.0
        ),
        target: format!("within {:.0} %", TARGET_ESTIMATE_ERROR * 100.0),
        met: Some(error.abs() <= TARGET_ESTIMATE_ERROR),
    }]
}

/// `plan.json` (its header's fields are at the top).
fn read_plan_header(plan_dir: &Path) -> Value {
    let text = std::fs::read_to_string(plan_dir.join("plan.json")).expect("plan.json");
    serde_json::from_str(&text).expect("plan.json is JSON")
}

/// A containment run's folder, input and emulator: every user of a generated tenant, the
/// documented quotas of a large tenant at real speed (K = 1), throttling on, the configured
/// latency and jitter on every HTTP request, and the client's budgets at those quotas.
struct LatencyRig {
    dir: PathBuf,
    input: PathBuf,
    sim: SimHandle,
    graph: Vec<String>,
    /// The mean time the emulator holds a request: the latency and half the jitter.
    mean_rtt: Duration,
}

fn latency_rig(settings: &Settings, root: &Path, name: &str, users: usize) -> LatencyRig {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("scratch");
    let input = dir.join("users.csv");
    write_input(&input, users);
    let latency = Duration::from_millis(settings.latency_ms);
    let jitter = Duration::from_millis(settings.jitter_ms);
    let sim = start_sim(SimConfig {
        tenant: TenantSource::Generate { users, seed: SEED },
        seed: SEED,
        throttling: true,
        quotas: Some(Quotas::documented(TenantSize::Large)),
        latency,
        jitter,
        ..SimConfig::default()
    });
    let graph = graph_args(
        &sim,
        settings,
        &format!("{LARGE_RU}/{RU_WINDOW_S}s"),
        &format!("{APP_WRITES}/{APP_WRITE_WINDOW_S}s"),
    );
    LatencyRig {
        dir,
        input,
        sim,
        graph,
        mean_rtt: latency + jitter / 2,
    }
}

fn containment(settings: &Settings, root: &Path) -> Vec<Line> {
    let users = settings.contain_users;
    let LatencyRig {
        dir,
        input,
        sim,
        graph,
        mean_rtt,
    } = latency_rig(settings, root, "containment", users);
    println!(
        "\n== containment: revoke sessions of {users} users, latency {} ms + up to {} ms, documented quotas, {} in flight ==",
        settings.latency_ms, settings.jitter_ms, settings.max_in_flight
    );
    let plan_dir = dir.join("plan");
    let plan = run_child(
        &dir,
        "plan",
        &plan_argv(&input, &["--revoke-sessions"], &plan_dir, &graph),
        |_, _| {},
    );
    expect_success(&plan, "plan");
    println!(
        "  plan     {:>8.2} s  (reading the tenant; not part of the target)  [{}]",
        plan.wall.as_secs_f64(),
        check_results(&plan_dir, users)
    );
    let before = sim.stats();
    let apply_dir = dir.join("apply");
    let apply = run_child(
        &dir,
        "apply",
        &apply_argv(&plan_dir, &apply_dir, &graph),
        |_, _| {},
    );
    expect_success(&apply, "apply");
    let after = sim.stats();
    let results = check_results(&apply_dir, users);
    let requests = counter(&after, "graphRequests") - counter(&before, "graphRequests");
    let items = counter(&after, "batchItems") - counter(&before, "batchItems");
    let writes = counter(&after, "writesSpent") - counter(&before, "writesSpent");
    let batches = writes.div_ceil(20);
    let round_trips = batches.div_ceil(settings.max_in_flight as u64);
    let ideal = mean_rtt * round_trips as u32;
    println!(
        "  apply    {:>8.2} s  {writes} revocations in {items} batch items, {requests} HTTP requests to Graph, {} throttled  [{results}]",
        apply.wall.as_secs_f64(),
        counter(&after, "throttled") - counter(&before, "throttled"),
    );
    println!(
        "  ideal    {:>8.2} s  = ⌈{batches} batches ÷ {} in flight⌉ = {round_trips} round trips of {} ms on average",
        ideal.as_secs_f64(),
        settings.max_in_flight,
        mean_rtt.as_millis()
    );
    vec![Line {
        scenario: "containment",
        figure: format!(
            "{users} users revoked in {:.2} s (ideal {:.2} s)",
            apply.wall.as_secs_f64(),
            ideal.as_secs_f64()
        ),
        target: format!("≤ {TARGET_CONTAIN_S:.0} s"),
        met: Some(apply.wall.as_secs_f64() <= TARGET_CONTAIN_S),
    }]
}

/// The two commands of issue #17 that contain straight from a user list: the policy flags
/// after `apply users.csv`.
const CONTAIN_LIST_POLICIES: [&[&str]; 2] = [&["--profile", "incident"], &["--revoke-sessions"]];

/// `apply users.csv --profile incident` and `apply users.csv --revoke-sessions`, each on a
/// fresh emulator, for every user count of `E2E_CONTAIN_LIST_USERS`.
fn contain_list(settings: &Settings, root: &Path) -> Vec<Line> {
    let mut lines = Vec::new();
    for &users in &settings.contain_list_users {
        for policy in CONTAIN_LIST_POLICIES {
            lines.push(contain_list_run(settings, root, policy, users));
        }
    }
    lines
}

/// One reading of the emulator's counters whose estimate of the changes applied differs
/// from the reading before: `applied` = writes admitted (`writesSpent`) less items answered
/// with an error other than 429 and 424 (a write Graph refuses spends a write and changes
/// nothing; a throttled item or one whose dependency failed spends none). The change it
/// counts happened after `after` and no later than `seen`.
struct WriteSample {
    applied: i64,
    /// When the previous reading began.
    after: Instant,
    /// When this reading ended.
    seen: Instant,
}

/// Items and requests the emulator answered with an error that may have spent a write:
/// any status from 400 on but 429 (throttled before admission) and 424 (never run).
fn refused(stats: &Value) -> u64 {
    ["batchItemsByStatus", "requestsByStatus"]
        .iter()
        .filter_map(|map| stats[*map].as_object())
        .flat_map(|m| m.iter())
        .filter(|(status, _)| {
            status
                .parse::<u16>()
                .is_ok_and(|s| s >= 400 && s != 429 && s != 424)
        })
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum()
}

/// The emulator's estimate of the changes applied so far (see [`WriteSample`]).
fn applied_estimate(stats: &Value) -> i64 {
    counter(stats, "writesSpent") as i64 - refused(stats) as i64
}

/// Reads the emulator's counters every [`WRITE_POLL`] until `stop` is set, then once more,
/// keeping each reading whose estimate of the changes applied changed.
fn sample_writes(sim: &SimHandle, stop: &AtomicBool) -> Vec<WriteSample> {
    let mut samples = Vec::new();
    let mut last = applied_estimate(&sim.stats());
    let mut previous_start = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let start = Instant::now();
        let applied = applied_estimate(&sim.stats());
        let seen = Instant::now();
        if applied != last {
            samples.push(WriteSample {
                applied,
                after: previous_start,
                seen,
            });
            last = applied;
        }
        previous_start = start;
        if stopping {
            return samples;
        }
        std::thread::sleep(WRITE_POLL);
    }
}

/// Sets the flag when dropped, so that a panic in the measured run still stops the sampler
/// (a scoped thread that never ends would hang the bench instead).
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The revocations in the emulator's mutation log (a fresh emulator: this run's changes
/// only), checked against the run's results.
struct Revocations {
    count: usize,
    /// Changes of any kind, revocations included.
    changes: usize,
    /// The last revocation's place in the log, from 1: the changes applied up to it.
    last_sequence: u64,
    /// The last revocation's `time`, as the emulator stamps it: RFC 3339, whole seconds.
    last_time: String,
}

fn revocations(sim: &SimHandle, results: &Path, users: usize) -> Revocations {
    let log = sim.mutations();
    let entries = log["value"].as_array().expect("the mutation log's value");
    let revoked: Vec<&Value> = entries
        .iter()
        .filter(|m| m["op"] == "revokeSignInSessions")
        .collect();
    let last = revoked.last().expect("at least one session revocation");
    let distinct: std::collections::BTreeSet<&str> = revoked
        .iter()
        .map(|m| m["userId"].as_str().expect("a revocation's userId"))
        .collect();
    assert_eq!(
        distinct.len(),
        revoked.len(),
        "some user's sessions were revoked more than once"
    );
    let (rows, counts) = result_counts(results);
    let untouched: usize = counts
        .iter()
        .filter(|(status, _)| matches!(status.as_str(), "protected" | "excluded" | "duplicate"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(rows, users, "one result row per input row");
    assert_eq!(
        revoked.len(),
        rows - untouched,
        "one revocation per user neither protected, excluded nor a duplicate ({counts:?})"
    );
    Revocations {
        count: revoked.len(),
        changes: entries.len(),
        last_sequence: last["sequence"].as_u64().expect("a mutation's sequence"),
        last_time: last["time"]
            .as_str()
            .expect("a mutation's time")
            .to_string(),
    }
}

/// When the last revocation was answered, from the process's start: (earliest, latest).
///
/// The mutation log stamps a change to the whole second, too coarse for a target of one
/// second, so the moment comes from the counters the sampler read every millisecond: a
/// revocation is one write, admitted and applied in one handler call, so the
/// `last_sequence`-th change was applied when the estimate of changes applied
/// ([`WriteSample`]) reached `last_sequence`. The estimate is exact when every refused item
/// was a write and every write not refused changed the tenant; `mismatch` = the estimate at
/// the end less the changes in the log says by how much it is not: positive, some writes
/// changed nothing unseen, and the moment lies between the estimate reaching
/// `last_sequence` and `last_sequence + mismatch`; negative, some refused items were reads,
/// and it lies between `last_sequence + mismatch` and `last_sequence`.
fn answered_between(
    samples: &[WriteSample],
    started: Instant,
    last_sequence: i64,
    mismatch: i64,
) -> (Duration, Duration) {
    let reached = |applied: i64| {
        samples
            .iter()
            .find(|s| s.applied >= applied)
            .unwrap_or_else(|| panic!("the sampler never saw {applied} changes applied"))
    };
    (
        reached(last_sequence + mismatch.min(0))
            .after
            .saturating_duration_since(started),
        reached(last_sequence + mismatch.max(0))
            .seen
            .saturating_duration_since(started),
    )
}

/// Whether the bracket `[from, to]` after `started_at` overlaps the second the mutation
/// log stamped (`time`, truncated to the second): a check that the counter's timeline and
/// the log describe the same revocation. Allows 5 ms for the two clocks' reading.
fn agrees_with_stamp(started_at: SystemTime, from: Duration, to: Duration, time: &str) -> bool {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let stamped = OffsetDateTime::parse(time, &Rfc3339).expect("an RFC 3339 mutation time");
    let slack = time::Duration::milliseconds(5);
    let from = OffsetDateTime::from(started_at + from) - slack;
    let to = OffsetDateTime::from(started_at + to) + slack;
    from < stamped + time::Duration::SECOND && to >= stamped
}

/// The target for `users` at the configured latency, if issue #17 sets one.
fn contain_list_target(settings: &Settings, users: usize) -> Option<f64> {
    let default_latency =
        settings.latency_ms == DEFAULT_LATENCY_MS && settings.jitter_ms == DEFAULT_JITTER_MS;
    TARGET_CONTAIN_LIST_S
        .iter()
        .find(|&&(n, _)| n == users && default_latency)
        .map(|&(_, seconds)| seconds)
}

/// `apply users.csv POLICY --out DIR --yes` on a fresh emulator: process start to the
/// last session revocation answered, and to exit.
///
/// "Answered" is the moment the emulator applied the last revocation: it sleeps the
/// request's whole latency before handling it (`simulate_latency` in src/sim/server.rs),
/// then applies the batch and sends the answer at once, so the answer leaves then and
/// reaches the client over loopback within microseconds; no one-way latency is added.
fn contain_list_run(settings: &Settings, root: &Path, policy: &[&str], users: usize) -> Line {
    let label = policy.join(" ");
    let short = policy.last().map_or("", |p| p.trim_start_matches('-'));
    let name = format!("contain-list-{short}-{users}");
    let rig = latency_rig(settings, root, &name, users);
    println!(
        "\n== contain-list: apply users.csv {label}, {users} users, latency {} ms + up to {} ms, documented quotas, {} in flight ==",
        settings.latency_ms, settings.jitter_ms, settings.max_in_flight
    );
    let before = rig.sim.stats();
    assert_eq!(counter(&before, "writesSpent"), 0, "a fresh emulator");
    let out = rig.dir.join("apply");
    let mut parts = vec!["apply", s(&rig.input)];
    parts.extend_from_slice(policy);
    parts.extend(["--out", s(&out), "--yes"]);
    let argv = args(&parts, &rig.graph);
    let stop = AtomicBool::new(false);
    let (run, samples) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| sample_writes(&rig.sim, &stop));
        let run = {
            let _stop = SetOnDrop(&stop);
            run_child(&rig.dir, "apply", &argv, |_, _| {})
        };
        (run, sampler.join().expect("the write sampler"))
    });
    expect_success(&run, &format!("apply users.csv {label}"));
    let after = rig.sim.stats();
    let results = check_results(&out, users);
    let revoked = revocations(&rig.sim, &out.join("results.csv"), users);
    let writes = counter(&after, "writesSpent");
    let mismatch = applied_estimate(&after) - revoked.changes as i64;
    let (from, to) = answered_between(
        &samples,
        run.started,
        revoked.last_sequence as i64,
        mismatch,
    );
    let agrees = agrees_with_stamp(run.started_at, from, to, &revoked.last_time);
    let batches = (revoked.count as u64).div_ceil(BATCH_MAX_ITEMS);
    let round_trips = 1 + batches.div_ceil(settings.max_in_flight as u64);
    let ideal = rig.mean_rtt * round_trips as u32;
    println!(
        "  revoked  {:>8.2} s  after process start, the last of {} revocations answered (between {:.3} and {:.3} s; the mutation log stamps it {})",
        to.as_secs_f64(),
        revoked.count,
        from.as_secs_f64(),
        to.as_secs_f64(),
        revoked.last_time
    );
    if mismatch != 0 {
        println!(
            "  note     the counters' estimate of changes applied is off by {mismatch} from the mutation log ({} refused items): the moment is known only within that bracket; the figure is its end",
            refused(&after)
        );
    }
    if !agrees {
        println!(
            "  WARNING  the write counter's timeline and the mutation log's stamp disagree: the figure is not judged"
        );
    }
    println!(
        "  exit     {:>8.2} s  {} revocations and {} other changes ({writes} writes, {} items refused), {} batch items, {} HTTP requests to Graph, {} throttled  [{results}]",
        run.wall.as_secs_f64(),
        revoked.count,
        revoked.changes - revoked.count,
        refused(&after),
        counter(&after, "batchItems") - counter(&before, "batchItems"),
        counter(&after, "graphRequests") - counter(&before, "graphRequests"),
        counter(&after, "throttled") - counter(&before, "throttled"),
    );
    println!(
        "  ideal    {:>8.2} s  = 1 role listing + ⌈{batches} batches ÷ {} in flight⌉ = {round_trips} round trips of {} ms on average",
        ideal.as_secs_f64(),
        settings.max_in_flight,
        rig.mean_rtt.as_millis()
    );
    let target = contain_list_target(settings, users);
    Line {
        scenario: "contain-list",
        figure: format!(
            "`{label}`, {users} users: last revocation answered {:.2} s after start (exit {:.2} s; ideal {:.2} s){}",
            to.as_secs_f64(),
            run.wall.as_secs_f64(),
            ideal.as_secs_f64(),
            if agrees {
                ""
            } else {
                "; timeline and log disagree"
            }
        ),
        target: target.map_or_else(
            || "(none at this size and latency)".into(),
            |t| format!("≤ {t:.1} s"),
        ),
        met: target.filter(|_| agrees).map(|t| to.as_secs_f64() <= t),
    }
}

/// A scale-sized run's folder, input and emulator: every user of a generated tenant,
/// throttling off and the client's budgets out of the way.
struct Unthrottled {
    dir: PathBuf,
    input: PathBuf,
    sim: SimHandle,
    graph: Vec<String>,
    /// How long the emulator took to generate its tenant and start.
    ready: Duration,
}

fn unthrottled(settings: &Settings, root: &Path, name: &str) -> Unthrottled {
    let users = settings.scale_users;
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("scratch");
    let input = dir.join("users.csv");
    write_input(&input, users);
    let started = Instant::now();
    let sim = start_sim(SimConfig {
        tenant: TenantSource::Generate { users, seed: SEED },
        seed: SEED,
        throttling: false,
        ..SimConfig::default()
    });
    let ready = started.elapsed();
    let unlimited = "1000000000/1s";
    let graph = graph_args(&sim, settings, unlimited, unlimited);
    Unthrottled {
        dir,
        input,
        sim,
        graph,
        ready,
    }
}

fn scale(settings: &Settings, root: &Path) -> Vec<Line> {
    let users = settings.scale_users;
    let Unthrottled {
        dir,
        input,
        sim,
        graph,
        ready,
    } = unthrottled(settings, root, "scale");
    println!(
        "\n== scale: {users} users, device-refresh, throttling off, {} in flight (emulator ready in {:.1} s) ==",
        settings.max_in_flight,
        ready.as_secs_f64()
    );
    let mut lines = Vec::new();
    let plan_dir = dir.join("plan");
    let apply_dir = dir.join("apply");
    let steps: [(&str, Vec<String>, &PathBuf); 2] = [
        (
            "plan",
            plan_argv(&input, &["--profile", "device-refresh"], &plan_dir, &graph),
            &plan_dir,
        ),
        (
            "apply",
            apply_argv(&plan_dir, &apply_dir, &graph),
            &apply_dir,
        ),
    ];
    for (name, argv, out) in steps {
        let before = sim.stats();
        let run = run_child(&dir, name, &argv, |_, _| {});
        expect_success(&run, name);
        let after = sim.stats();
        let items = counter(&after, "batchItems") - counter(&before, "batchItems");
        let results = check_results(out, users);
        let cpu_per_k = run.cpu.as_secs_f64() * 1000.0 / items.max(1) as f64;
        println!(
            "  {name:<8} {:>8.2} s  {items} batch items ({:.0}/s), peak RSS {:.1} MiB, CPU {:.2} s = {:.2} ms per 1,000 items  [{results}]",
            run.wall.as_secs_f64(),
            items as f64 / run.wall.as_secs_f64(),
            mib(run.peak_rss_kib),
            run.cpu.as_secs_f64(),
            cpu_per_k * 1000.0
        );
        lines.push(Line {
            scenario: "scale",
            figure: format!("{name}: peak RSS {:.1} MiB", mib(run.peak_rss_kib)),
            target: format!("≤ {TARGET_RSS_MIB:.0} MiB"),
            met: Some(mib(run.peak_rss_kib) <= TARGET_RSS_MIB),
        });
        lines.push(Line {
            scenario: "scale",
            figure: format!(
                "{name}: CPU {:.1} ms per 1,000 items ({:.0} items per CPU-second)",
                cpu_per_k * 1000.0,
                items as f64 / run.cpu.as_secs_f64().max(1e-9)
            ),
            target: "(information)".into(),
            met: None,
        });
    }
    lines
}

/// `plan`, then `apply` killed (SIGKILL) a third of the way, then `resume`: the memory and
/// CPU of a resume that finds a large journal, and one result row per input row after it.
fn resume(settings: &Settings, root: &Path) -> Vec<Line> {
    let users = settings.scale_users;
    let Unthrottled {
        dir,
        input,
        sim,
        graph,
        ..
    } = unthrottled(settings, root, "resume");
    println!(
        "\n== resume: {users} users, device-refresh, apply killed after {users} batch items, throttling off, {} in flight ==",
        settings.max_in_flight
    );
    let plan_dir = dir.join("plan");
    let apply_dir = dir.join("apply");
    let plan = run_child(
        &dir,
        "plan",
        &plan_argv(&input, &["--profile", "device-refresh"], &plan_dir, &graph),
        |_, _| {},
    );
    expect_success(&plan, "plan");
    let before = counter(&sim.stats(), "batchItems");
    let mut killed = false;
    let apply = run_child(
        &dir,
        "apply",
        &apply_argv(&plan_dir, &apply_dir, &graph),
        |_, pid| {
            if !killed && counter(&sim.stats(), "batchItems") - before >= users as u64 {
                killed = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .is_ok_and(|s| s.success());
            }
        },
    );
    assert!(
        killed && !apply.status.success(),
        "apply ended before it could be killed: {}",
        apply.status
    );
    let journal = std::fs::metadata(apply_dir.join("journal.jsonl")).map_or(0, |m| m.len());
    println!(
        "  apply    {:>8.2} s  killed, peak RSS {:.1} MiB, journal {:.0} MiB",
        apply.wall.as_secs_f64(),
        mib(apply.peak_rss_kib),
        journal as f64 / (1 << 20) as f64
    );
    let before = counter(&sim.stats(), "batchItems");
    let resumed = run_child(
        &dir,
        "resume",
        &args(&["resume", s(&apply_dir)], &graph),
        |_, _| {},
    );
    expect_success(&resumed, "resume");
    let items = counter(&sim.stats(), "batchItems") - before;
    let results = check_results(&apply_dir, users);
    println!(
        "  resume   {:>8.2} s  {items} batch items, peak RSS {:.1} MiB, CPU {:.2} s  [{results}]",
        resumed.wall.as_secs_f64(),
        mib(resumed.peak_rss_kib),
        resumed.cpu.as_secs_f64()
    );
    vec![Line {
        scenario: "resume",
        figure: format!(
            "resume after a kill: peak RSS {:.1} MiB",
            mib(resumed.peak_rss_kib)
        ),
        target: format!("≤ {TARGET_RSS_MIB:.0} MiB"),
        met: Some(mib(resumed.peak_rss_kib) <= TARGET_RSS_MIB),
    }]
}

/// One tenant's emulator of the tenants scenario: a generated tenant (the same users in
/// every one) under tenant id number `n`, documented quotas for a large tenant at time
/// scale `k`, throttling on.
fn tenant_sim(users: usize, n: usize, k: f64, dir: &Path) -> SimHandle {
    let mut record = mfa_reset::sim::generate::generate(users, SEED).to_record();
    record.tenant_id = format!("0b0b0b0b-0000-4000-8000-{n:012}");
    let file = dir.join(format!("tenant-{n}.json"));
    std::fs::write(
        &file,
        serde_json::to_string(&record).expect("a tenant serializes"),
    )
    .expect("tenant file");
    start_sim(SimConfig {
        tenant: TenantSource::File(file),
        seed: SEED,
        throttling: true,
        quotas: Some(Quotas::documented(TenantSize::Large)),
        time_scale: k,
        ..SimConfig::default()
    })
}

/// `apply users.csv --tenants tenants.json --profile device-refresh` over `count` tenants
/// of `users` users each, every tenant its own emulator; the wall time, process start to
/// exit, and the writes.
fn tenants_run(settings: &Settings, root: &Path, count: usize, users: usize) -> (Duration, u64) {
    let k = settings.tenants_time_scale;
    let dir = root.join(format!("tenants-{count}"));
    std::fs::create_dir_all(&dir).expect("scratch");
    let sims: Vec<SimHandle> = (0..count).map(|n| tenant_sim(users, n, k, &dir)).collect();
    let tenant = mfa_reset::sim::generate::generate(users, SEED);
    let input = dir.join("users.csv");
    let mut w = csv::Writer::from_path(&input).expect("input file");
    w.write_record(["userPrincipalName", "tenant"])
        .expect("write");
    for sim in &sims {
        for u in tenant.users() {
            w.write_record([u.user_principal_name.as_str(), sim.tenant_id()])
                .expect("write");
        }
    }
    w.flush().expect("flush");
    let entries: Vec<Value> = sims
        .iter()
        .map(|sim| {
            serde_json::json!({
                "tenant": sim.tenant_id(),
                "graphUrl": sim.base_url(),
                "loginUrl": sim.base_url(),
                "accessTokenEnv": "MFA_RESET_ACCESS_TOKEN",
            })
        })
        .collect();
    let tenants = dir.join("tenants.json");
    std::fs::write(
        &tenants,
        serde_json::json!({"tenants": entries}).to_string(),
    )
    .expect("tenants file");
    let ru = format!("{}/{}ms", LARGE_RU, RU_WINDOW_S * 1000.0 / k);
    let writes = format!("{}/{}ms", APP_WRITES, APP_WRITE_WINDOW_S * 1000.0 / k);
    let out = dir.join("run");
    let argv = args(
        &[
            "apply",
            s(&input),
            "--profile",
            "device-refresh",
            "--tenants",
            s(&tenants),
            "--yes",
            "--out",
            s(&out),
            "--ru-budget",
            &ru,
            "--write-budget",
            &writes,
        ],
        &[],
    );
    let run = run_child(&dir, "apply", &argv, |_, _| {});
    expect_success(&run, "apply --tenants");
    let mut written = 0;
    for (n, sim) in sims.iter().enumerate() {
        written += counter(&sim.stats(), "writesSpent");
        let folder = out.join(sim.tenant_id());
        let results = check_results(&folder, users);
        if n == 0 {
            println!("  tenant {n}: [{results}]");
        }
    }
    (run.wall, written)
}

/// Issue #19: `count` tenants, each bound by its own write quota, side by side against
/// one such tenant alone; the target is within 20 % of its time.
fn tenants(settings: &Settings, root: &Path) -> Vec<Line> {
    let (count, users) = (settings.tenants, settings.tenant_users);
    println!(
        "\n== tenants: {count} tenants of {users} users each, device-refresh, time scale {} (each tenant's write quota {:.0}/s after its bucket of {APP_WRITES:.0}) ==",
        settings.tenants_time_scale,
        APP_WRITES / APP_WRITE_WINDOW_S * settings.tenants_time_scale
    );
    let (alone, alone_writes) = tenants_run(settings, root, 1, users);
    println!(
        "  1 tenant   {:>8.2} s  {alone_writes} writes",
        alone.as_secs_f64()
    );
    let (together, writes) = tenants_run(settings, root, count, users);
    println!(
        "  {count} tenants {:>8.2} s  {writes} writes",
        together.as_secs_f64()
    );
    let ratio = together.as_secs_f64() / alone.as_secs_f64();
    vec![Line {
        scenario: "tenants",
        figure: format!(
            "{count} tenants × {} writes: {:.2} s, one alone {:.2} s ({:.0} % more)",
            alone_writes,
            together.as_secs_f64(),
            alone.as_secs_f64(),
            (ratio - 1.0) * 100.0
        ),
        target: "≤ 20 % more than one tenant alone".into(),
        met: Some(ratio <= 1.2),
    }]
}

fn main() {
    let settings = Settings::from_env();
    let root = std::env::temp_dir().join(format!("mfa-reset-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("scratch folder");
    println!(
        "e2e: {} run, binary {BIN}, scratch {}, {} CPU(s)",
        if settings.full { "full" } else { "smoke" },
        root.display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut lines = Vec::new();
    for scenario in &settings.scenarios {
        lines.extend(match scenario.as_str() {
            "quota" => quota_bound(&settings, &root),
            "containment" => containment(&settings, &root),
            "scale" => scale(&settings, &root),
            "resume" => resume(&settings, &root),
            "estimate" => estimate(&settings, &root),
            "contain-list" => contain_list(&settings, &root),
            "tenants" => tenants(&settings, &root),
            other => panic!(
                "unknown scenario {other:?} in E2E_SCENARIOS (quota, containment, contain-list, scale, estimate, resume, tenants)"
            ),
        });
    }
    println!("\n| scenario | figure | target | verdict |\n|---|---|---|---|");
    for l in &lines {
        let verdict = match (settings.full, l.met) {
            (_, None) => "",
            (false, Some(_)) => "(smoke run: not judged)",
            (true, Some(met)) => verdict(met),
        };
        println!(
            "| {} | {} | {} | {verdict} |",
            l.scenario, l.figure, l.target
        );
    }
    if settings.keep {
        println!("kept {}", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
}
