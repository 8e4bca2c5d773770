//! Write throughput of the Graph client: how much of Entra's write budget the dispatcher,
//! the pacer and `GraphClient` actually spend, against the emulator with throttling on.
//!
//! The emulator runs in-process on its own runtime (`Sim::start_background`, two worker
//! threads) with Microsoft's documented quotas for a large tenant
//! (`Quotas::documented(TenantSize::Large)`), throttling on, a generated tenant of
//! `CLIENT_BENCH_USERS` users and `--time-scale` K: every bucket refills K times faster, so
//! the app's write quota of 3,000 per 150 s becomes 20·K writes/s. The client runs on a
//! second tokio runtime in this process, wired exactly as `tests/it/engine.rs` wires it: a
//! `GraphClient` that authenticates with a client secret at the emulator's token endpoint,
//! a `Pacer` with the documented budgets scaled by the same K
//! (`PacerSettings::documented(TenantSize::Large)`, each `Budget::scaled(K)`), and a
//! `Dispatcher` with the default settings except `max_in_flight`.
//!
//! The jobs are writes only: `POST /users/{id}/revokeSignInSessions` for every user without
//! a directory role and, interleaved, `PATCH /users/{id}` with `accountEnabled: false` for
//! those of them not synced from on-premises (a synced user's PATCH is refused with 400, and
//! an admin's with 403). The list is repeated until it holds `CLIENT_BENCH_ITEMS` jobs
//! (default: 15 s of the write budget), so a run takes about 14 s at any K.
//!
//! The measurement skips the first second, because Entra's buckets start full and the pacer
//! spends the whole starting bucket (3,000 writes) at once. The emulator's stats (the JSON
//! `/_sim/stats` serves) are sampled once a second from 1 s on; achieved writes/s = the
//! growth of `writesSpent` from the 1 s sample to the last sample taken while writes were
//! still being spent, divided by the time between them. Targets: at least 97 % of the write budget, at most 0.5 % of the
//! items answered 429, and no early retry (`earlyRetries`: an item resent inside its
//! `Retry-After` window). Every job must end `Done` and come back exactly once, and the
//! emulator must have spent exactly one write per job; otherwise the bench panics rather
//! than measure errors.
//!
//! Run: `cargo bench --bench client_throughput`. Without `--bench` on its command line (as
//! `cargo test --benches` runs it) it only does a smoke run: 400 items at K = 10, about 1 s.
//!
//! Environment (defaults in brackets): `CLIENT_BENCH_TIME_SCALE` [50],
//! `CLIENT_BENCH_MAX_IN_FLIGHT` [`DEFAULT_MAX_IN_FLIGHT`], both comma-separated lists whose
//! every combination is run; `CLIENT_BENCH_ITEMS` [15 s of the write budget at each K];
//! `CLIENT_BENCH_USERS` [10000]; `CLIENT_BENCH_CLIENT_THREADS` [2]; `CLIENT_BENCH_LATENCY_MS`
//! [0], the emulator's latency per HTTP request. Time scaling does not shrink latency, so to
//! play a Graph that answers a `$batch` in L seconds at time scale K, set L / K (for
//! example 10 ms at K = 50 for half a second).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mfa_reset::engine::dispatcher::{
    Counters, DEFAULT_MAX_IN_FLIGHT, Dispatcher, DispatcherSettings, Job, JobResult,
};
use mfa_reset::engine::pacer::{Pacer, PacerSettings};
use mfa_reset::graph::auth::{Credential, TokenEndpoint, TokenSource};
use mfa_reset::graph::client::GraphClient;
use mfa_reset::graph::endpoints::{ApiVersion, Cloud, Endpoints};
use mfa_reset::graph::key::UserKey;
use mfa_reset::graph::request::GraphRequest;
use mfa_reset::graph::transport::{SendFailure, Transport};
use mfa_reset::secret::Secret;
use mfa_reset::sim::{Quotas, Sim, SimApp, SimConfig, SimHandle, TenantSource};
use mfa_reset::wire::{BatchRequest, BatchResponseItem, TenantSize};
use serde_json::Value;
use tokio::sync::mpsc;

const SECRET: &str = "client-bench-secret";
/// The default `--time-scale`.
const DEFAULT_TIME_SCALE: f64 = 50.0;
/// Seconds of write budget the default job count is worth.
const SECONDS_OF_WORK: f64 = 15.0;
/// The start of a run the measurement skips: the buckets start full.
const WARMUP: Duration = Duration::from_secs(1);
/// Shortest steady window worth judging.
const MIN_STEADY: Duration = Duration::from_millis(500);
/// Targets.
const TARGET_SHARE: f64 = 0.97;
const TARGET_THROTTLED_SHARE: f64 = 0.005;
/// The smoke run: a few hundred items at a time scale low enough that the pacer must wait
/// after the first second's burst, so it takes about a second.
const SMOKE_ITEMS: usize = 400;
const SMOKE_TIME_SCALE: f64 = 10.0;

struct Settings {
    time_scales: Vec<f64>,
    in_flight: Vec<usize>,
    items: Option<usize>,
    users: usize,
    client_threads: usize,
    /// The emulator's latency per HTTP request (the whole `$batch`).
    latency: Duration,
    smoke: bool,
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        _ => default,
    }
}

fn env_list<T: FromStr>(name: &str, default: T) -> Vec<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|part| {
                part.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: {part:?} is not a valid value"))
            })
            .collect(),
        _ => vec![default],
    }
}

impl Settings {
    fn from_env() -> Settings {
        // `cargo bench` passes `--bench`; `cargo test --benches` does not, and then a short
        // smoke run is enough to prove the bench works.
        let smoke = !std::env::args().any(|a| a == "--bench");
        let time_scales = env_list("CLIENT_BENCH_TIME_SCALE", DEFAULT_TIME_SCALE);
        let in_flight = env_list("CLIENT_BENCH_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT);
        let settings = if smoke {
            Settings {
                time_scales: vec![SMOKE_TIME_SCALE],
                in_flight: vec![in_flight[0]],
                items: Some(SMOKE_ITEMS),
                users: 1_000,
                client_threads: 2,
                latency: Duration::ZERO,
                smoke,
            }
        } else {
            Settings {
                time_scales,
                in_flight,
                items: std::env::var("CLIENT_BENCH_ITEMS")
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .map(|_| env_or("CLIENT_BENCH_ITEMS", 0usize)),
                users: env_or("CLIENT_BENCH_USERS", 10_000),
                client_threads: env_or("CLIENT_BENCH_CLIENT_THREADS", 2),
                latency: {
                    let ms: f64 = env_or("CLIENT_BENCH_LATENCY_MS", 0.0);
                    assert!(
                        ms.is_finite() && ms >= 0.0,
                        "CLIENT_BENCH_LATENCY_MS must be a number of milliseconds, at least 0"
                    );
                    Duration::from_secs_f64(ms / 1e3)
                },
                smoke,
            }
        };
        assert!(
            settings
                .time_scales
                .iter()
                .all(|k| k.is_finite() && *k > 0.0),
            "CLIENT_BENCH_TIME_SCALE must hold positive numbers"
        );
        assert!(
            settings.in_flight.iter().all(|m| *m >= 1),
            "CLIENT_BENCH_MAX_IN_FLIGHT must hold numbers of at least 1"
        );
        assert!(
            settings.items.is_none_or(|n| n >= 1),
            "CLIENT_BENCH_ITEMS must be at least 1"
        );
        assert!(
            settings.users >= 100 && settings.client_threads >= 1,
            "CLIENT_BENCH_USERS must be at least 100 and CLIENT_BENCH_CLIENT_THREADS at least 1"
        );
        settings
    }

    fn items_at(&self, time_scale: f64) -> usize {
        self.items
            .unwrap_or_else(|| (SECONDS_OF_WORK * write_budget(time_scale)).round() as usize)
    }
}

/// The app's write budget at time scale `k`, in writes per second.
fn write_budget(k: f64) -> f64 {
    PacerSettings::documented(TenantSize::Large)
        .writes
        .scaled(k)
        .per_second()
}

/// The `GraphClient` as tests/it/engine.rs builds it: client-secret credential, the emulator
/// as both login and Graph host.
fn graph_client(sim: &SimHandle) -> GraphClient {
    let endpoints = Endpoints::new(Cloud::Global, Some(sim.base_url()), Some(sim.base_url()))
        .expect("loopback endpoints");
    let http = GraphClient::http_client().expect("the HTTP client builds");
    let credential = Credential::ClientSecret {
        tenant: sim.tenant_id().to_string(),
        client_id: sim.client_id().to_string(),
        secret: Secret::new(SECRET),
    };
    let tokens = TokenSource::new(
        credential,
        TokenEndpoint {
            token_url: endpoints.token_url(sim.tenant_id()),
            scope: endpoints.scope().to_string(),
        },
        http.clone(),
    )
    .expect("the token source builds");
    GraphClient::new(http, endpoints, tokens)
}

/// One sent `$batch`: how long the transport took and how many items it held.
type BatchLog = Arc<Mutex<Vec<(Duration, usize)>>>;

/// `GraphClient` with a stopwatch around every batch; otherwise the same transport.
struct Timed {
    inner: GraphClient,
    log: BatchLog,
}

impl Transport for Timed {
    async fn send_batch(
        &self,
        version: ApiVersion,
        body: BatchRequest,
    ) -> Result<Vec<BatchResponseItem>, SendFailure> {
        let items = body.requests.len();
        let started = Instant::now();
        let result = self.inner.send_batch(version, body).await;
        let took = started.elapsed();
        self.log.lock().expect("batch log lock").push((took, items));
        result
    }

    fn token_rejected(&self) {
        self.inner.token_rejected();
    }
}

/// The jobs of one run: revokes for every user without a role, with a PATCH
/// `accountEnabled: false` after each one who is not synced, repeated up to `items`.
/// Returns the jobs and how many are PATCHes.
fn build_jobs(handle: &SimHandle, items: usize) -> (Vec<Job>, usize) {
    let record = handle.state();
    let mut base = Vec::new();
    for (row, user) in record.users.iter().enumerate() {
        if !user.roles.is_empty() {
            continue;
        }
        let key = UserKey::id(&user.id).expect("the emulator's user ids are GUIDs");
        base.push(Job {
            user: row as u64,
            request: GraphRequest::revoke_sessions(&key).expect("a users path"),
        });
        if user.on_premises_sync_enabled != Some(true) {
            base.push(Job {
                user: row as u64,
                request: GraphRequest::set_account_enabled(&key, false).expect("a users path"),
            });
        }
    }
    assert!(
        !base.is_empty(),
        "the generated tenant has no user without a role"
    );
    let jobs: Vec<Job> = base.iter().cycle().take(items).cloned().collect();
    let patches = jobs
        .iter()
        .filter(|j| j.request.method == http::Method::PATCH)
        .count();
    (jobs, patches)
}

fn counter(stats: &Value, name: &str) -> u64 {
    stats[name]
        .as_u64()
        .unwrap_or_else(|| panic!("/_sim/stats has no counter {name:?}: {stats}"))
}

/// CPU time (user + system) of every thread of this process, by thread id, with its name.
fn thread_cpu() -> HashMap<u32, (String, Duration)> {
    // USER_HZ, which is 100 on every Linux this runs on (`getconf CLK_TCK`).
    const TICK: Duration = Duration::from_millis(10);
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let path = task.path();
        let (Ok(stat), Ok(comm)) = (
            std::fs::read_to_string(path.join("stat")),
            std::fs::read_to_string(path.join("comm")),
        ) else {
            continue;
        };
        // Fields after the parenthesised name start at field 3; utime and stime are 14, 15.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u32>().ok());
        if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
            out.insert(tid, (comm.trim().to_string(), TICK * (user + system)));
        }
    }
    out
}

/// CPU seconds spent between two `thread_cpu` readings by the emulator's threads, the
/// client's (its runtime and the main thread, which collects completions) and the rest.
#[derive(Default, Clone, Copy)]
struct CpuSplit {
    emulator: f64,
    client: f64,
    other: f64,
}

fn cpu_split(
    before: &HashMap<u32, (String, Duration)>,
    after: &HashMap<u32, (String, Duration)>,
) -> CpuSplit {
    let main = std::process::id();
    let mut split = CpuSplit::default();
    for (tid, (name, spent)) in after {
        let was = before.get(tid).map_or(Duration::ZERO, |(_, d)| *d);
        let seconds = spent.saturating_sub(was).as_secs_f64();
        if name.starts_with("mfa-reset-sim") {
            split.emulator += seconds;
        } else if name.starts_with("client-bench") || *tid == main {
            split.client += seconds;
        } else {
            split.other += seconds;
        }
    }
    split
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// The steady part of a run.
struct Steady {
    /// Seconds since the start.
    from: f64,
    to: f64,
    writes: u64,
    per_second: f64,
    share: f64,
}

struct Report {
    time_scale: f64,
    max_in_flight: usize,
    items: usize,
    wall: Duration,
    steady: Option<Steady>,
    throttled: u64,
    early_retries: u64,
    p50: Duration,
    p99: Duration,
    cpu: CpuSplit,
}

impl Report {
    fn throttled_share(&self) -> f64 {
        self.throttled as f64 / self.items as f64
    }

    fn share_met(&self) -> Option<bool> {
        self.steady.as_ref().map(|s| s.share >= TARGET_SHARE)
    }

    fn throttled_met(&self) -> bool {
        self.throttled_share() <= TARGET_THROTTLED_SHARE
    }
}

/// The emulator for one run: the generated tenant, Microsoft's documented quotas for a
/// large tenant, throttling on, every bucket refilled `time_scale` times faster.
fn start_emulator(settings: &Settings, time_scale: f64) -> SimHandle {
    Sim::start_background(SimConfig {
        tenant: TenantSource::Generate {
            users: settings.users,
            seed: 7,
        },
        time_scale,
        latency: settings.latency,
        quotas: Some(Quotas::documented(TenantSize::Large)),
        throttling: true,
        apps: vec![SimApp {
            client_secret: Some(Secret::new(SECRET)),
            ..SimApp::default()
        }],
        ..SimConfig::default()
    })
    .expect("the emulator starts")
}

/// The client's side of one run, built before the measurement starts.
struct Client {
    /// The documented budgets, each scaled by the time scale.
    pacer: PacerSettings,
    dispatcher: DispatcherSettings,
    transport: Timed,
}

/// The client as tests/it/engine.rs wires it, and the log its transport times batches into.
fn build_client(handle: &SimHandle, time_scale: f64, max_in_flight: usize) -> (Client, BatchLog) {
    let documented = PacerSettings::documented(TenantSize::Large);
    let pacer = PacerSettings {
        resource_units: documented.resource_units.scaled(time_scale),
        writes: documented.writes.scaled(time_scale),
    };
    let dispatcher = DispatcherSettings {
        max_in_flight,
        ..DispatcherSettings::default()
    };
    let log: BatchLog = Arc::default();
    let transport = Timed {
        inner: graph_client(handle),
        log: log.clone(),
    };
    let client = Client {
        pacer,
        dispatcher,
        transport,
    };
    (client, log)
}

/// One reading of the emulator's stats: (seconds since the start, writesSpent, throttled).
type Sample = (f64, u64, u64);

/// What driving the jobs through the dispatcher gave back.
struct Driven {
    started: Instant,
    last_completion: Instant,
    completed: usize,
    counters: Arc<Counters>,
    /// The pacer's rate factor at the end.
    rate_factor: f64,
    /// Once a second from 1 s on.
    samples: Vec<Sample>,
}

/// Feeds `jobs` to a dispatcher, collects every completion (panicking on any that did not
/// end `Done`) and samples the emulator's stats once a second from `WARMUP` on.
async fn drive(handle: &SimHandle, client: Client, jobs: Vec<Job>) -> Driven {
    let mut samples: Vec<Sample> = Vec::new();
    let pacer = Arc::new(Pacer::new(client.pacer));
    let (done_tx, mut done_rx) = mpsc::channel(64);
    let (job_tx, job_rx) = mpsc::channel(1024);
    let dispatcher = Dispatcher::new(client.transport, pacer.clone(), client.dispatcher, done_tx);
    let counters = dispatcher.counters();
    let started = Instant::now();
    let running = tokio::spawn(dispatcher.run(job_rx));
    let feeding = tokio::spawn(async move {
        for job in jobs {
            job_tx.send(job).await.expect("the dispatcher takes jobs");
        }
    });
    let mut ticks = tokio::time::interval_at((started + WARMUP).into(), Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut completed = 0usize;
    let mut last_completion = started;
    loop {
        tokio::select! {
            c = done_rx.recv() => {
                let Some(c) = c else { break };
                last_completion = Instant::now();
                completed += 1;
                if !matches!(c.result, JobResult::Done { .. }) {
                    panic!(
                        "client_throughput: {} {} ended {:?} after {} attempt(s); the bench will not measure errors",
                        c.request.method, c.request.url, c.result, c.attempts
                    );
                }
            }
            _ = ticks.tick() => {
                let stats = handle.stats();
                samples.push((
                    started.elapsed().as_secs_f64(),
                    counter(&stats, "writesSpent"),
                    counter(&stats, "throttled"),
                ));
            }
        }
    }
    feeding.await.expect("the feeder finishes");
    running.await.expect("the dispatcher finishes");
    Driven {
        started,
        last_completion,
        completed,
        counters,
        rate_factor: pacer.rate_factor(),
        samples,
    }
}

/// One measured run: `drive` on the client runtime, with the process's CPU time and the
/// emulator's stats read just before it and just after.
struct Measured {
    driven: Driven,
    /// From the start to the last completion.
    wall: Duration,
    cpu: CpuSplit,
    before: Value,
    after: Value,
}

impl Measured {
    /// How much the emulator's counter `name` grew over the run.
    fn delta(&self, name: &str) -> u64 {
        counter(&self.after, name) - counter(&self.before, name)
    }
}

fn measure(
    rt: &tokio::runtime::Runtime,
    handle: &SimHandle,
    client: Client,
    jobs: Vec<Job>,
) -> Measured {
    let cpu_before = thread_cpu();
    let before = handle.stats();
    let driven = rt.block_on(drive(handle, client, jobs));
    let wall = driven.last_completion - driven.started;
    let cpu = cpu_split(&cpu_before, &thread_cpu());
    let after = handle.stats();
    Measured {
        driven,
        wall,
        cpu,
        before,
        after,
    }
}

/// Panics unless every job came back exactly once, ended `Done`, and cost the emulator
/// exactly one write.
fn assert_complete(run: &Measured, submitted: usize) {
    let completed = run.driven.completed;
    assert_eq!(
        completed, submitted,
        "client_throughput: {completed} completions for {submitted} jobs"
    );
    let done = Counters::get(&run.driven.counters.done) as usize;
    assert_eq!(
        done, submitted,
        "client_throughput: {done} jobs done of {submitted}"
    );
    let writes = run.delta("writesSpent");
    assert_eq!(
        writes, submitted as u64,
        "client_throughput: the emulator spent {writes} writes for {submitted} write jobs"
    );
}

/// The steady part: from the sample at 1 s to the last sample taken while writes were
/// still being spent. Both ends see the emulator's count lag the pacer by the items of
/// the batch being packed and of the batches in flight, so the lag cancels out. A run
/// too short for two such samples ends its window at the last completion instead.
fn steady_window(run: &Measured, submitted: usize, budget: f64) -> Option<Steady> {
    let base = counter(&run.before, "writesSpent");
    let samples = &run.driven.samples;
    samples.first().and_then(|&(from, spent_from, _)| {
        let (to, spent_to) = samples
            .iter()
            .rev()
            .find(|&&(at, spent, _)| spent - base < submitted as u64 && at > from)
            .filter(|&&(at, _, _)| at - from >= MIN_STEADY.as_secs_f64())
            .map_or(
                (run.wall.as_secs_f64(), counter(&run.after, "writesSpent")),
                |&(at, spent, _)| (at, spent),
            );
        let seconds = to - from;
        (seconds >= MIN_STEADY.as_secs_f64()).then(|| {
            let writes = spent_to - spent_from;
            let per_second = writes as f64 / seconds;
            Steady {
                from,
                to,
                writes,
                per_second,
                share: per_second / budget,
            }
        })
    })
}

/// The transport time of every batch sent, sorted, and how many items they held in all.
fn batch_latencies(log: &BatchLog) -> (Vec<Duration>, usize) {
    let mut latencies: Vec<Duration> = Vec::new();
    let mut batch_items = 0usize;
    for (took, n) in log.lock().expect("batch log lock").iter() {
        latencies.push(*took);
        batch_items += n;
    }
    latencies.sort_unstable();
    (latencies, batch_items)
}

/// The writes/s of each second sampled, with the items throttled in it where there were
/// any: ` 3000 98(2 thr) 100`.
fn by_second(run: &Measured) -> String {
    let mut previous = (0.0, counter(&run.before, "writesSpent"), 0);
    let mut by_second = String::new();
    for &(at, spent, thr) in &run.driven.samples {
        let rate = (spent - previous.1) as f64 / (at - previous.0);
        by_second.push_str(&format!(" {rate:.0}"));
        if thr > previous.2 {
            by_second.push_str(&format!("({} thr)", thr - previous.2));
        }
        previous = (at, spent, thr);
    }
    by_second
}

/// Prints the run's rates against the targets: wall time, the steady window and its share
/// of the budget, the items throttled, early retries and the writes/s of each second.
fn print_rates(report: &Report, budget: f64, run: &Measured) {
    let (wall, items) = (report.wall, report.items);
    let (throttled, early_retries) = (report.throttled, report.early_retries);
    println!("  wall time            {:.2} s", wall.as_secs_f64());
    match &report.steady {
        Some(s) => {
            println!(
                "  steady window        {:.2} s .. {:.2} s: {} writes in {:.2} s = {:.1} writes/s",
                s.from,
                s.to,
                s.writes,
                s.to - s.from,
                s.per_second
            );
            println!(
                "  share of budget      {:.2} % of {budget:.0} writes/s (target >= {:.0} %: {})",
                s.share * 100.0,
                TARGET_SHARE * 100.0,
                verdict(s.share >= TARGET_SHARE)
            );
        }
        None => println!("  steady window        none: the run was too short to judge the rate"),
    }
    println!(
        "  throttled            {throttled} items = {:.3} % of {items} (target <= {:.1} %: {})",
        report.throttled_share() * 100.0,
        TARGET_THROTTLED_SHARE * 100.0,
        verdict(report.throttled_met())
    );
    println!(
        "  early retries        {early_retries} (target 0: {})",
        verdict(early_retries == 0)
    );
    let by_second = by_second(run);
    println!("  writes/s by second  {by_second}");
}

/// Prints how the client went about the run and what it cost: the batches and their
/// latency, the dispatcher's counters, the emulator's stats, the pacer's rate factor at
/// the end and the CPU time of each side, then a blank line.
fn print_internals(report: &Report, run: &Measured, latencies: &[Duration], batch_items: usize) {
    let (wall, cpu, counters) = (run.wall, run.cpu, &run.driven.counters);
    let (throttled, early_retries) = (report.throttled, report.early_retries);
    let (writes, rate_factor) = (run.delta("writesSpent"), run.driven.rate_factor);
    let batches = latencies.len();
    println!(
        "  batches              {batches} sent, {:.1} items per batch, latency p50 {}, p99 {}, max {}",
        batch_items as f64 / batches.max(1) as f64,
        ms(report.p50),
        ms(report.p99),
        ms(percentile(latencies, 1.0)),
    );
    let c = |v: &std::sync::atomic::AtomicU64| Counters::get(v);
    println!(
        "  dispatcher counters  submitted {}, done {}, already_done {}, unknown {}, failed {}, retried {}, throttled {}, batches {}, items_sent {}, writes_sent {}, resource_units_sent {}",
        c(&counters.submitted),
        c(&counters.done),
        c(&counters.already_done),
        c(&counters.unknown),
        c(&counters.failed),
        c(&counters.retried),
        c(&counters.throttled),
        c(&counters.batches),
        c(&counters.items_sent),
        c(&counters.writes_sent),
        c(&counters.resource_units_sent),
    );
    println!(
        "  /_sim/stats          httpRequests +{}, batchRequests +{}, batchItems +{}, writesSpent +{writes}, throttled +{throttled}, earlyRetries +{early_retries}, tokensIssued +{}, peakConcurrentRequests {}, batchItemsByStatus {}",
        run.delta("httpRequests"),
        run.delta("batchRequests"),
        run.delta("batchItems"),
        run.delta("tokensIssued"),
        run.after["peakConcurrentRequests"],
        run.after["batchItemsByStatus"],
    );
    println!("  pacer rate factor    {rate_factor:.2} at the end");
    println!(
        "  CPU                  emulator {:.2} s, client {:.2} s, other {:.2} s in {:.2} s wall ({:.2} of {} cores busy)",
        cpu.emulator,
        cpu.client,
        cpu.other,
        wall.as_secs_f64(),
        (cpu.emulator + cpu.client + cpu.other) / wall.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    println!();
}

fn run_once(
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    time_scale: f64,
    max_in_flight: usize,
) -> Report {
    let budget = write_budget(time_scale);
    let items = settings.items_at(time_scale);
    let handle = start_emulator(settings, time_scale);
    let (jobs, patches) = build_jobs(&handle, items);
    println!(
        "== K={time_scale} (write budget {budget:.0} writes/s), max_in_flight {max_in_flight}: {items} items ({} POST revokeSignInSessions, {patches} PATCH accountEnabled=false) ==",
        items - patches
    );
    let (client, log) = build_client(&handle, time_scale, max_in_flight);
    let submitted = jobs.len();

    let run = measure(rt, &handle, client, jobs);
    assert_complete(&run, submitted);
    let (latencies, batch_items) = batch_latencies(&log);
    let report = Report {
        time_scale,
        max_in_flight,
        items,
        wall: run.wall,
        steady: steady_window(&run, submitted, budget),
        throttled: run.delta("throttled"),
        early_retries: run.delta("earlyRetries"),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        cpu: run.cpu,
    };
    print_rates(&report, budget, &run);
    print_internals(&report, &run, &latencies, batch_items);
    drop(handle);
    report
}

fn main() {
    let settings = Settings::from_env();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "client_throughput{}: {} users, time scale(s) {:?}, max_in_flight {:?}, emulator latency {} per request, client runtime {} thread(s), emulator runtime 2 threads, {cpus} CPU(s) available",
        if settings.smoke {
            " (smoke run; `cargo bench` measures)"
        } else {
            ""
        },
        settings.users,
        settings.time_scales,
        settings.in_flight,
        ms(settings.latency),
        settings.client_threads,
    );
    println!();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.client_threads)
        .thread_name("client-bench")
        .enable_all()
        .build()
        .expect("the client runtime starts");

    let mut reports = Vec::new();
    for &k in &settings.time_scales {
        for &m in &settings.in_flight {
            reports.push(run_once(&rt, &settings, k, m));
        }
    }

    println!(
        "| K | write budget | max_in_flight | items | wall | achieved writes/s | share of budget | throttled | early retries | batch p50 / p99 | CPU emulator / client |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for r in &reports {
        let (rate, share) = match &r.steady {
            Some(s) => (
                format!("{:.0}", s.per_second),
                format!("{:.1} %", s.share * 100.0),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {} | {:.0}/s | {} | {} | {:.2} s | {rate} | {share} | {} ({:.3} %) | {} | {} / {} | {:.1} / {:.1} s |",
            r.time_scale,
            write_budget(r.time_scale),
            r.max_in_flight,
            r.items,
            r.wall.as_secs_f64(),
            r.throttled,
            r.throttled_share() * 100.0,
            r.early_retries,
            ms(r.p50),
            ms(r.p99),
            r.cpu.emulator,
            r.cpu.client,
        );
    }
    println!();
    for r in &reports {
        let share = match (&r.steady, r.share_met()) {
            (Some(s), Some(met)) => format!(
                "{:.1} % of the write budget ({})",
                s.share * 100.0,
                verdict(met)
            ),
            _ => "no steady window (not judged)".into(),
        };
        println!(
            "K={} max_in_flight {}: {share}; throttled {:.3} % ({}); early retries {} ({})",
            r.time_scale,
            r.max_in_flight,
            r.throttled_share() * 100.0,
            verdict(r.throttled_met()),
            r.early_retries,
            verdict(r.early_retries == 0),
        );
    }
    drop(rt);
}
