//! Throughput of the Graph emulator's `$batch` path.
//!
//! Starts the emulator in-process on its own runtime (`Sim::start_background`, two worker
//! threads) with throttling off, a generated tenant and a static bearer token, then drives
//! it from a second tokio runtime in this process with a reqwest client: HTTP/1.1
//! keep-alive, `SIM_BENCH_CONCURRENCY` batches in flight on as many connections, every
//! batch 20 items. Client and emulator share the machine's cores, so the figures are what
//! the emulator serves while a client is also busy, not the emulator alone.
//!
//! Two workloads, each measured for `SIM_BENCH_SECONDS` after `SIM_BENCH_WARMUP_SECONDS`
//! of warm-up:
//!
//! * `reads`: 20 × `GET /users/{id}/authentication/methods`;
//! * `mixed`: per batch 7 × `GET /users/{id}?$select=id,userPrincipalName`,
//!   7 × `GET /users/{id}/authentication/methods` and 6 × `POST /users/{id}/revokeSignInSessions`,
//!   every item for a different user.
//!
//! Every envelope must be 200 and every item 2xx, and the emulator's own `/_sim/stats`
//! must count exactly the items the client saw; otherwise the bench panics rather than
//! measure errors.
//!
//! Run: `cargo bench --bench sim_throughput`. Without `--bench` on its command line (as
//! `cargo test --benches` runs it) it only does a short smoke run on a small tenant.
//!
//! Environment: `SIM_BENCH_SECONDS` (default 5), `SIM_BENCH_WARMUP_SECONDS` (1),
//! `SIM_BENCH_CONCURRENCY` (32), `SIM_BENCH_USERS` (10000), `SIM_BENCH_CLIENT_THREADS` (1),
//! `SIM_BENCH_WORKLOADS` (`reads,mixed`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mfa_reset::secret::Secret;
use mfa_reset::sim::{Sim, SimConfig, SimHandle, TenantSource};
use serde::Deserialize;
use serde_json::{Value, json};

/// Items per batch: Graph's maximum.
const BATCH_ITEMS: usize = 20;
/// The bearer token the emulator is told to accept.
const TOKEN: &str = "bench";
/// The figure the emulator must reach, in batch items per second.
const TARGET_ITEMS_PER_SECOND: f64 = 20_000.0;

struct Settings {
    seconds: f64,
    warmup: f64,
    concurrency: usize,
    users: usize,
    client_threads: usize,
    workloads: Vec<Workload>,
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

impl Settings {
    fn from_env() -> Settings {
        // `cargo bench` passes `--bench`; `cargo test --benches` does not, and then a
        // short smoke run is enough to prove the bench works.
        let smoke = !std::env::args().any(|a| a == "--bench");
        let workloads = env_or("SIM_BENCH_WORKLOADS", "reads,mixed".to_string())
            .split(',')
            .map(|w| match w.trim() {
                "reads" => Workload::Reads,
                "mixed" => Workload::Mixed,
                other => panic!("SIM_BENCH_WORKLOADS: unknown workload {other:?}"),
            })
            .collect();
        let settings = if smoke {
            Settings {
                seconds: 0.3,
                warmup: 0.1,
                concurrency: 8,
                users: 1_000,
                client_threads: 1,
                workloads,
                smoke,
            }
        } else {
            Settings {
                seconds: env_or("SIM_BENCH_SECONDS", 5.0),
                warmup: env_or("SIM_BENCH_WARMUP_SECONDS", 1.0),
                concurrency: env_or("SIM_BENCH_CONCURRENCY", 32),
                users: env_or("SIM_BENCH_USERS", 10_000),
                client_threads: env_or("SIM_BENCH_CLIENT_THREADS", 1),
                workloads,
                smoke,
            }
        };
        assert!(
            settings.seconds > 0.0 && settings.warmup >= 0.0,
            "SIM_BENCH_SECONDS must be positive and SIM_BENCH_WARMUP_SECONDS not negative"
        );
        assert!(
            settings.concurrency >= 1 && settings.client_threads >= 1,
            "SIM_BENCH_CONCURRENCY and SIM_BENCH_CLIENT_THREADS must be at least 1"
        );
        assert!(
            settings.users >= 2 * BATCH_ITEMS,
            "SIM_BENCH_USERS must be at least {}",
            2 * BATCH_ITEMS
        );
        settings
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Reads,
    Mixed,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Reads => "reads",
            Workload::Mixed => "mixed",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Workload::Reads => "20 x GET /users/{id}/authentication/methods per batch",
            Workload::Mixed => {
                "7 x GET /users/{id}?$select=id,userPrincipalName + 7 x GET .../authentication/methods + 6 x POST .../revokeSignInSessions per batch, 20 different users"
            }
        }
    }
}

/// The users a workload addresses.
struct Users {
    /// Every user's id.
    all: Vec<String>,
    /// Users whose sessions an unprivileged app may revoke (no directory role).
    writable: Vec<String>,
}

/// Pre-serialized `$batch` bodies, so that the client spends its time on the wire and on
/// checking answers, not on building requests.
fn build_bodies(workload: Workload, users: &Users) -> Vec<Bytes> {
    let batches = users.all.len().div_ceil(BATCH_ITEMS);
    let mut read_cursor = 0usize;
    let mut write_cursor = 0usize;
    let mut next_read = || {
        let id = &users.all[read_cursor % users.all.len()];
        read_cursor += 1;
        id.clone()
    };
    let mut next_write = || {
        let id = &users.writable[write_cursor % users.writable.len()];
        write_cursor += 1;
        id.clone()
    };
    (0..batches)
        .map(|_| {
            let requests: Vec<Value> = (0..BATCH_ITEMS)
                .map(|i| {
                    let id = (i + 1).to_string();
                    match (workload, i % 3) {
                        (Workload::Reads, _) | (Workload::Mixed, 1) => json!({
                            "id": id,
                            "method": "GET",
                            "url": format!("/users/{}/authentication/methods", next_read()),
                        }),
                        (Workload::Mixed, 0) => json!({
                            "id": id,
                            "method": "GET",
                            "url": format!("/users/{}?$select=id,userPrincipalName", next_read()),
                        }),
                        (Workload::Mixed, _) => json!({
                            "id": id,
                            "method": "POST",
                            "url": format!("/users/{}/revokeSignInSessions", next_write()),
                            "headers": {"Content-Type": "application/json"},
                            "body": {},
                        }),
                    }
                })
                .collect();
            Bytes::from(
                serde_json::to_vec(&json!({ "requests": requests })).expect("bodies serialize"),
            )
        })
        .collect()
}

/// The part of a `$batch` answer the bench checks; item bodies and headers are skipped.
#[derive(Deserialize)]
struct Envelope {
    responses: Vec<ItemStatus>,
}

#[derive(Deserialize)]
struct ItemStatus {
    id: String,
    status: u16,
}

/// What one connection's worth of batches saw.
#[derive(Default)]
struct Tally {
    batches: u64,
    items: u64,
    statuses: BTreeMap<u16, u64>,
    latencies: Vec<Duration>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.batches += other.batches;
        self.items += other.items;
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.latencies.extend(other.latencies);
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(1500).collect()
}

/// Posts batches on one connection until `deadline`, checking every answer.
async fn worker(
    client: reqwest::Client,
    url: Arc<str>,
    bodies: Arc<Vec<Bytes>>,
    first: usize,
    stride: usize,
    deadline: Instant,
) -> Result<Tally, String> {
    let mut tally = Tally::default();
    let mut next = first;
    while Instant::now() < deadline {
        let body = bodies[next % bodies.len()].clone();
        next += stride;
        let started = Instant::now();
        let resp = client
            .post(&*url)
            .header(reqwest::header::AUTHORIZATION, "Bearer bench")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {url} failed: {e}"))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| format!("reading a $batch answer failed: {e}"))?;
        tally.latencies.push(started.elapsed());
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "$batch envelope answered {status}, not 200: {}",
                snippet(&bytes)
            ));
        }
        let envelope: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "$batch answer is not a batch envelope ({e}): {}",
                snippet(&bytes)
            )
        })?;
        if envelope.responses.len() != BATCH_ITEMS {
            return Err(format!(
                "$batch answered {} items for {BATCH_ITEMS} requests: {}",
                envelope.responses.len(),
                snippet(&bytes)
            ));
        }
        for item in &envelope.responses {
            *tally.statuses.entry(item.status).or_default() += 1;
            if !(200..300).contains(&item.status) {
                return Err(format!(
                    "batch item {} answered {}, not 2xx: {}",
                    item.id,
                    item.status,
                    snippet(&bytes)
                ));
            }
        }
        tally.batches += 1;
        tally.items += envelope.responses.len() as u64;
    }
    Ok(tally)
}

/// Runs `concurrency` workers for `seconds` and merges what they saw.
async fn drive(
    client: &reqwest::Client,
    url: &Arc<str>,
    bodies: &Arc<Vec<Bytes>>,
    concurrency: usize,
    seconds: f64,
    round: usize,
) -> Tally {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    // Start each round elsewhere in the body pool, so that warm-up and measurement do not
    // address the same users in the same order.
    let offset = round * 7919;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            tokio::spawn(worker(
                client.clone(),
                url.clone(),
                bodies.clone(),
                offset + w,
                concurrency,
                deadline,
            ))
        })
        .collect();
    let mut total = Tally::default();
    let mut failures = Vec::new();
    for w in workers {
        match w.await {
            Ok(Ok(tally)) => total.merge(tally),
            Ok(Err(message)) => failures.push(message),
            Err(e) => failures.push(format!("a bench worker panicked: {e}")),
        }
    }
    if let Some(first) = failures.first() {
        panic!(
            "sim_throughput: {} of {concurrency} workers failed; the bench will not measure errors. First failure: {first}",
            failures.len()
        );
    }
    total
}

async fn sim_stats(client: &reqwest::Client, base_url: &str) -> Value {
    let url = format!("{base_url}/_sim/stats");
    let resp = client
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url} failed: {e}"));
    assert_eq!(
        resp.status(),
        reqwest::StatusCode::OK,
        "GET {url} did not answer 200"
    );
    resp.json()
        .await
        .unwrap_or_else(|e| panic!("GET {url} answered no JSON: {e}"))
}

fn counter(stats: &Value, name: &str) -> u64 {
    stats[name]
        .as_u64()
        .unwrap_or_else(|| panic!("/_sim/stats has no counter {name:?}: {stats}"))
}

/// The per-status counts of `name` that grew between `before` and `after`.
fn status_delta(before: &Value, after: &Value, name: &str) -> BTreeMap<String, u64> {
    let mut delta = BTreeMap::new();
    if let Some(after_map) = after[name].as_object() {
        for (status, n) in after_map {
            let was = before[name][status].as_u64().unwrap_or(0);
            let grew = n.as_u64().unwrap_or(0).saturating_sub(was);
            if grew > 0 {
                delta.insert(status.clone(), grew);
            }
        }
    }
    delta
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

struct Report {
    workload: Workload,
    items_per_second: f64,
}

fn run_workload(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    handle: &SimHandle,
    settings: &Settings,
    workload: Workload,
    users: &Users,
) -> Report {
    let bodies = Arc::new(build_bodies(workload, users));
    let url: Arc<str> = format!("{}/v1.0/$batch", handle.base_url()).into();
    let c = settings.concurrency;

    if settings.warmup > 0.0 {
        rt.block_on(drive(client, &url, &bodies, c, settings.warmup, 0));
    }
    let before = rt.block_on(sim_stats(client, handle.base_url()));
    let started = Instant::now();
    let mut tally = rt.block_on(drive(client, &url, &bodies, c, settings.seconds, 1));
    // Until the last in-flight batch came back, not just until the deadline.
    let elapsed = started.elapsed().as_secs_f64();
    let after = rt.block_on(sim_stats(client, handle.base_url()));

    let sim_items = counter(&after, "batchItems") - counter(&before, "batchItems");
    let sim_batches = counter(&after, "batchRequests") - counter(&before, "batchRequests");
    // The `after` stats request is counted before it is answered; `before` is not in it.
    let sim_http = counter(&after, "httpRequests") - counter(&before, "httpRequests");
    let sim_by_status = status_delta(&before, &after, "batchItemsByStatus");
    assert_eq!(
        sim_items, tally.items,
        "sim_throughput: the emulator counted {sim_items} batch items but the client saw {}",
        tally.items
    );
    assert_eq!(
        sim_batches, tally.batches,
        "sim_throughput: the emulator counted {sim_batches} batches but the client saw {}",
        tally.batches
    );
    assert!(
        sim_by_status
            .keys()
            .all(|s| s.parse::<u16>().is_ok_and(|s| (200..300).contains(&s))),
        "sim_throughput: the emulator answered items that were not 2xx: {sim_by_status:?}"
    );

    tally.latencies.sort_unstable();
    let batches_per_second = tally.batches as f64 / elapsed;
    let items_per_second = tally.items as f64 / elapsed;
    let statuses = tally
        .statuses
        .iter()
        .fold(String::new(), |mut s, (status, n)| {
            let _ = write!(s, "{}{status}: {n}", if s.is_empty() { "" } else { ", " });
            s
        });
    println!("== {}: {} ==", workload.name(), workload.description());
    println!(
        "  measured             {elapsed:.2} s after {:.1} s warm-up, {c} batches in flight",
        settings.warmup
    );
    println!(
        "  batches              {} ({batches_per_second:.0} batches/s)",
        tally.batches
    );
    println!(
        "  batch items          {} ({items_per_second:.0} items/s)",
        tally.items
    );
    println!(
        "  HTTP requests        {} sent by the client; emulator counted {sim_http} (incl. 1 /_sim/stats)",
        tally.batches
    );
    println!(
        "  batch latency        p50 {}, p99 {}, max {}",
        ms(percentile(&tally.latencies, 0.50)),
        ms(percentile(&tally.latencies, 0.99)),
        ms(percentile(&tally.latencies, 1.0)),
    );
    println!("  item statuses        {statuses}");
    println!(
        "  /_sim/stats          batchItems +{sim_items}, batchRequests +{sim_batches}, batchItemsByStatus {sim_by_status:?}"
    );
    println!();
    Report {
        workload,
        items_per_second,
    }
}

fn main() {
    let settings = Settings::from_env();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "sim_throughput{}: {} users, {} batch items per batch, {} in flight, client runtime {} thread(s), emulator runtime 2 threads, {cpus} CPU(s) available",
        if settings.smoke {
            " (smoke run; `cargo bench` measures)"
        } else {
            ""
        },
        settings.users,
        BATCH_ITEMS,
        settings.concurrency,
        settings.client_threads,
    );

    let generating = Instant::now();
    let handle = Sim::start_background(SimConfig {
        tenant: TenantSource::Generate {
            users: settings.users,
            seed: 7,
        },
        throttling: false,
        static_token: Some(Secret::new(TOKEN)),
        ..SimConfig::default()
    })
    .expect("the emulator starts");
    let record = handle.state();
    let users = Users {
        all: record.users.iter().map(|u| u.id.clone()).collect(),
        writable: record
            .users
            .iter()
            .filter(|u| u.roles.is_empty())
            .map(|u| u.id.clone())
            .collect(),
    };
    assert!(
        users.writable.len() >= BATCH_ITEMS,
        "the generated tenant has too few users without a directory role"
    );
    println!(
        "emulator at {} with {} users ({} without a role; first {}), ready in {:.2} s",
        handle.base_url(),
        users.all.len(),
        users.writable.len(),
        record.users[0].user_principal_name,
        generating.elapsed().as_secs_f64()
    );
    println!();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.client_threads)
        .thread_name("sim-bench-client")
        .enable_all()
        .build()
        .expect("the client runtime starts");
    let client = reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(settings.concurrency + 1)
        .pool_idle_timeout(Duration::from_secs(90))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("the HTTP client builds");

    let reports: Vec<Report> = settings
        .workloads
        .iter()
        .map(|&w| run_workload(&rt, &client, &handle, &settings, w, &users))
        .collect();

    let stats = handle.stats();
    println!(
        "emulator totals: httpRequests {}, batchItems {}, peakConcurrentRequests {}, throttled {}",
        stats["httpRequests"],
        stats["batchItems"],
        stats["peakConcurrentRequests"],
        stats["throttled"]
    );
    for r in &reports {
        let verdict = if r.items_per_second >= TARGET_ITEMS_PER_SECOND {
            "meets"
        } else {
            "BELOW"
        };
        println!(
            "{:<6} {:>8.0} batch items/s: {verdict} the target of {TARGET_ITEMS_PER_SECOND:.0} items/s",
            r.workload.name(),
            r.items_per_second
        );
    }
    drop(rt);
    drop(handle);
}
