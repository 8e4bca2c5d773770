//! The Graph client and dispatcher against the in-process emulator over HTTP: thousands of
//! items through faults, ghost writes and a tight write budget, every one of them reaching
//! exactly one final outcome, with no retry inside a `Retry-After` window.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use mfa_reset::engine::dispatcher::{Completed, Dispatcher, DispatcherSettings, Job, JobResult};
use mfa_reset::engine::pacer::{Budget, Pacer, PacerSettings};
use mfa_reset::graph::auth::{Credential, TokenEndpoint, TokenSource};
use mfa_reset::graph::client::GraphClient;
use mfa_reset::graph::endpoints::{Cloud, Endpoints};
use mfa_reset::graph::key::UserKey;
use mfa_reset::graph::request::GraphRequest;
use mfa_reset::secret::Secret;
use mfa_reset::sim::{Quotas, Sim, SimApp, SimConfig, SimHandle, TenantSource};
use mfa_reset::wire::MethodType;
use serde_json::Value;
use tokio::sync::mpsc;

const SECRET: &str = "engine-test-secret";

fn sim_config(users: usize, time_scale: f64, app_writes: f64) -> SimConfig {
    SimConfig {
        tenant: TenantSource::Generate { users, seed: 7 },
        time_scale,
        quotas: Some(Quotas {
            resource_units: 8_000.0,
            resource_unit_window: Duration::from_secs(10),
            app_writes,
            app_write_window: Duration::from_secs(150),
            tenant_writes: 18_000.0,
            tenant_write_window: Duration::from_secs(300),
        }),
        apps: vec![SimApp {
            client_secret: Some(Secret::new(SECRET)),
            ..SimApp::default()
        }],
        ..SimConfig::default()
    }
}

fn client(sim: &SimHandle) -> GraphClient {
    let endpoints = Endpoints::new(Cloud::Global, Some(sim.base_url()), Some(sim.base_url()))
        .expect("loopback endpoints");
    let http = GraphClient::http_client().unwrap();
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
    .unwrap();
    GraphClient::new(http, endpoints, tokens)
}

/// Runs `jobs` through a dispatcher and returns every completion.
async fn run(
    sim: &SimHandle,
    pacer: PacerSettings,
    settings: DispatcherSettings,
    jobs: Vec<Job>,
) -> (Vec<Completed>, Arc<Pacer>) {
    let pacer = Arc::new(Pacer::new(pacer));
    let (done_tx, mut done_rx) = mpsc::channel(64);
    let dispatcher = Dispatcher::new(client(sim), pacer.clone(), settings, done_tx);
    let (job_tx, job_rx) = mpsc::channel(64);
    let running = tokio::spawn(dispatcher.run(job_rx));
    let feeding = tokio::spawn(async move {
        for job in jobs {
            job_tx.send(job).await.unwrap();
        }
    });
    let mut completed = Vec::new();
    while let Some(c) = done_rx.recv().await {
        completed.push(c);
    }
    feeding.await.unwrap();
    running.await.unwrap();
    (completed, pacer)
}

fn fast_retries() -> DispatcherSettings {
    DispatcherSettings {
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(500),
        ..DispatcherSettings::default()
    }
}

/// The first method a reset may delete at once: not the password, not the default, not a
/// mobile phone with an alternate beside it.
fn deletable(user: &Value) -> Option<(MethodType, String)> {
    let default = user["defaultMethod"].as_str();
    user["methods"].as_array()?.iter().find_map(|m| {
        let kind = MethodType::from_odata_type(m["@odata.type"].as_str()?)?;
        let id = m["id"].as_str()?;
        let blocked =
            kind == MethodType::Password || Some(id) == default || m["phoneType"] == "mobile";
        (!blocked).then(|| (kind, id.to_string()))
    })
}

/// For each user (by row): a revocation, a listing of methods and, where there is one, the
/// removal of a method a reset may delete at once. Also returns those methods by user id.
fn reset_jobs(users: &[Value]) -> (Vec<Job>, HashMap<String, String>) {
    let mut jobs = Vec::new();
    let mut deletes = HashMap::new();
    for (row, user) in users.iter().enumerate() {
        let key = UserKey::parse(user["userPrincipalName"].as_str().unwrap()).unwrap();
        let row = row as u64;
        jobs.push(Job {
            user: row,
            request: GraphRequest::revoke_sessions(&key).unwrap(),
        });
        jobs.push(Job {
            user: row + 1_000_000,
            request: GraphRequest::list_methods(&key).unwrap(),
        });
        if let Some((kind, id)) = deletable(user) {
            jobs.push(Job {
                user: row + 2_000_000,
                request: GraphRequest::delete_method(&key, kind, &id).unwrap(),
            });
            deletes.insert(user["id"].as_str().unwrap().to_string(), id);
        }
    }
    (jobs, deletes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_items_through_faults_all_end_once_and_nothing_is_retried_early() {
    let mut config = sim_config(1400, 100.0, 600.0);
    config.fail_rate = 0.05;
    config.ghost_write_rate = 0.01;
    config.token_lifetime = Duration::from_secs(3);
    let sim = Sim::start(config).await.unwrap();
    let tenant = serde_json::to_value(sim.state()).unwrap();
    let users = tenant["users"].as_array().unwrap();

    let (jobs, deletes) = reset_jobs(users);
    let submitted = jobs.len();
    assert!(submitted > 3000, "{submitted} items");

    // The app's write quota, at the emulator's time scale: 600 per 1.5 s.
    let pacer = PacerSettings {
        resource_units: Budget {
            amount: 8000,
            per: Duration::from_millis(100),
        },
        writes: Budget {
            amount: 600,
            per: Duration::from_millis(1500),
        },
    };
    let (completed, _) = run(&sim, pacer, fast_retries(), jobs).await;

    // Every item exactly once.
    assert_eq!(completed.len(), submitted);
    let keys: HashSet<(u64, String)> = completed
        .iter()
        .map(|c| (c.user, c.request.url.clone()))
        .collect();
    assert_eq!(keys.len(), submitted, "an item came back twice");

    let admins: HashSet<u64> = users
        .iter()
        .enumerate()
        .filter(|(_, u)| !u["roles"].as_array().unwrap().is_empty())
        .map(|(i, _)| i as u64)
        .collect();
    assert!(!admins.is_empty());
    let mut already_done = 0;
    for c in &completed {
        let row = c.user % 1_000_000;
        match &c.result {
            JobResult::Done { .. } => {}
            JobResult::AlreadyDone => already_done += 1,
            JobResult::Failed { fault: Some(f), .. }
                if admins.contains(&row) && f.code == "Authorization_RequestDenied" => {}
            other => panic!("{} {}: {other:?}", c.request.method, c.request.url),
        }
        assert!(c.attempts >= 1);
        assert_eq!(c.client_request_id.len(), 36);
    }

    // The tenant is as the results say.
    let after = serde_json::to_value(sim.state()).unwrap();
    for (row, user) in after["users"].as_array().unwrap().iter().enumerate() {
        let revoked = user["signInSessionsValidFromDateTime"]
            != users[row]["signInSessionsValidFromDateTime"];
        assert_eq!(
            revoked,
            !admins.contains(&(row as u64)),
            "{}",
            user["userPrincipalName"]
        );
        if let Some(id) = deletes.get(user["id"].as_str().unwrap()) {
            let still_there = user["methods"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == id.as_str());
            assert_eq!(still_there, admins.contains(&(row as u64)));
        }
    }
    // No delete was applied twice; ghosts were retried into "already done".
    let mutations = sim.mutations();
    let mut deleted = HashSet::new();
    for m in mutations["value"].as_array().unwrap() {
        if m["op"] == "deleteMethod" {
            let key = (m["userId"].to_string(), m["methodId"].to_string());
            assert!(deleted.insert(key), "deleted twice: {m}");
        }
    }
    let stats = sim.stats();
    assert_eq!(stats["earlyRetries"], 0, "{stats}");
    assert!(
        stats["faults"]["failedRequests"].as_u64().unwrap() > 0,
        "{stats}"
    );
    assert!(
        stats["tokensIssued"].as_u64().unwrap() >= 2,
        "the token was refreshed: {stats}"
    );
    let ghost_deletes = mutations["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["op"] == "deleteMethod" && m["ghost"] == true)
        .count();
    assert!(already_done <= ghost_deletes + stats["throttled"].as_u64().unwrap() as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_set_too_high_meets_429s_slows_down_and_still_finishes() {
    // The tenant allows 100 writes per 1.5 s; the pacer is told ten times that.
    let sim = Sim::start(sim_config(400, 100.0, 100.0)).await.unwrap();
    let tenant = serde_json::to_value(sim.state()).unwrap();
    let jobs: Vec<Job> = tenant["users"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, u)| u["roles"].as_array().unwrap().is_empty())
        .map(|(row, u)| Job {
            user: row as u64,
            request: GraphRequest::revoke_sessions(
                &UserKey::parse(u["id"].as_str().unwrap()).unwrap(),
            )
            .unwrap(),
        })
        .collect();
    let submitted = jobs.len();
    let pacer = PacerSettings {
        resource_units: Budget {
            amount: 8000,
            per: Duration::from_millis(100),
        },
        writes: Budget {
            amount: 1000,
            per: Duration::from_millis(1500),
        },
    };
    let (completed, pacer) = run(&sim, pacer, fast_retries(), jobs).await;
    assert_eq!(completed.len(), submitted);
    assert!(
        completed
            .iter()
            .all(|c| matches!(c.result, JobResult::Done { status: 200, .. })),
        "{:?}",
        completed
            .iter()
            .find(|c| !matches!(c.result, JobResult::Done { .. }))
    );
    let stats = sim.stats();
    assert!(
        stats["throttled"].as_u64().unwrap() > 0,
        "the budget was too high: {stats}"
    );
    assert_eq!(stats["earlyRetries"], 0, "{stats}");
    assert!(pacer.rate_factor() < 1.0, "the pacer slowed down");
    let revokes = sim.mutations()["value"].as_array().unwrap().len();
    assert_eq!(revokes, submitted, "a throttled write changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_created_behind_a_ghost_504_is_reported_unknown_and_not_created_again() {
    let mut config = sim_config(30, 1.0, 3000.0);
    config.ghost_write_rate = 1.0;
    let sim = Sim::start(config).await.unwrap();
    let tenant = serde_json::to_value(sim.state()).unwrap();
    let user = tenant["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["roles"].as_array().unwrap().is_empty())
        .unwrap();
    let key = UserKey::parse(user["id"].as_str().unwrap()).unwrap();
    let jobs = vec![
        Job {
            user: 1,
            request: GraphRequest::create_temporary_access_pass(&key, 60, true, None).unwrap(),
        },
        Job {
            user: 2,
            request: GraphRequest::revoke_sessions(&key).unwrap(),
        },
    ];
    let settings = DispatcherSettings {
        max_attempts: 3,
        ..fast_retries()
    };
    let pacer = PacerSettings::documented(mfa_reset::wire::TenantSize::Large);
    let (completed, _) = run(&sim, pacer, settings, jobs).await;
    let by_user: HashMap<u64, &Completed> = completed.iter().map(|c| (c.user, c)).collect();
    assert!(
        matches!(by_user[&1].result, JobResult::Unknown { .. }),
        "{:?}",
        by_user[&1].result
    );
    assert_eq!(by_user[&1].attempts, 1, "a create is never sent twice");
    // Revoking is idempotent: retried until attempts ran out, every time applied.
    assert_eq!(by_user[&2].attempts, 3);
    assert!(matches!(by_user[&2].result, JobResult::Failed { .. }));
    let ops: Vec<String> = sim.mutations()["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["op"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ops.iter()
            .filter(|o| *o == "createTemporaryAccessPass")
            .count(),
        1
    );
    assert_eq!(
        ops.iter().filter(|o| *o == "revokeSignInSessions").count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_the_secret_nor_the_token_shows_in_debug_output_or_errors() {
    let sim = Sim::start(sim_config(20, 1.0, 3000.0)).await.unwrap();
    let graph = client(&sim);
    let endpoints = graph.endpoints().clone();
    let tokens = TokenSource::new(
        Credential::ClientSecret {
            tenant: sim.tenant_id().to_string(),
            client_id: sim.client_id().to_string(),
            secret: Secret::new(SECRET),
        },
        TokenEndpoint {
            token_url: endpoints.token_url(sim.tenant_id()),
            scope: endpoints.scope().to_string(),
        },
        GraphClient::http_client().unwrap(),
    )
    .unwrap();
    let token = tokens.token().await.unwrap();
    let token_text = token.secret().expose().to_string();
    let graph = GraphClient::new(
        GraphClient::http_client().unwrap(),
        endpoints,
        tokens.clone(),
    );

    // A run with a success and a refusal, so that results carry Graph's errors.
    let key = UserKey::parse("nobody@contoso.example").unwrap();
    let jobs = vec![Job {
        user: 1,
        request: GraphRequest::revoke_sessions(&key).unwrap(),
    }];
    let pacer = Arc::new(Pacer::new(PacerSettings::documented(
        mfa_reset::wire::TenantSize::Large,
    )));
    let (done_tx, mut done_rx) = mpsc::channel(4);
    let (job_tx, job_rx) = mpsc::channel(4);
    let printed_client = format!("{graph:?} {tokens:?} {token:?} {pacer:?}");
    let dispatcher = Dispatcher::new(graph, pacer, fast_retries(), done_tx);
    let running = tokio::spawn(dispatcher.run(job_rx));
    for job in jobs {
        job_tx.send(job).await.unwrap();
    }
    drop(job_tx);
    let mut printed = printed_client;
    while let Some(c) = done_rx.recv().await {
        assert!(
            matches!(c.result, JobResult::Failed { .. }),
            "{:?}",
            c.result
        );
        printed.push_str(&format!("{c:?}"));
    }
    running.await.unwrap();
    assert!(printed.contains("Request_ResourceNotFound"), "{printed}");
    assert!(
        !printed.contains(SECRET),
        "the client secret leaked: {printed}"
    );
    assert!(
        !printed.contains(&token_text),
        "the access token leaked: {printed}"
    );
}
