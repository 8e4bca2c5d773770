//! Unit tests of the dispatcher against a scripted fake transport: batch packing (at most 20
//! items, one per user, one API version), per-item retries and their `Retry-After`, whole-batch
//! failures, bounded attempts, token refresh on 401, and a `Debug` that never shows a body.

use std::collections::HashMap;

use super::*;
use crate::engine::pacer::{Budget, PacerSettings};
use crate::graph::key::UserKey;
use crate::wire::{BatchRequest, BatchResponseItem};

type Script = dyn Fn(&str, u32) -> (u16, Vec<(&'static str, &'static str)>) + Send + Sync;

/// Answers each item by its URL and how often that URL was sent; records batches.
struct Fake {
    script: Box<Script>,
    sent: Mutex<Vec<(Instant, Vec<String>)>>,
    whole_batch_failures: Mutex<u32>,
    rejected: AtomicU64,
    versions: Mutex<Vec<(ApiVersion, Vec<String>)>>,
}

impl Fake {
    fn new(
        script: impl Fn(&str, u32) -> (u16, Vec<(&'static str, &'static str)>) + Send + Sync + 'static,
    ) -> Arc<Fake> {
        Arc::new(Fake {
            script: Box::new(script),
            sent: Mutex::new(Vec::new()),
            whole_batch_failures: Mutex::new(0),
            rejected: AtomicU64::new(0),
            versions: Mutex::new(Vec::new()),
        })
    }

    fn times_sent(&self, url: &str) -> Vec<Instant> {
        let sent = self.sent.lock().unwrap();
        sent.iter()
            .filter(|(_, urls)| urls.iter().any(|u| u == url))
            .map(|(t, _)| *t)
            .collect()
    }
}

impl Transport for Arc<Fake> {
    async fn send_batch(
        &self,
        version: ApiVersion,
        body: BatchRequest,
    ) -> Result<Vec<BatchResponseItem>, SendFailure> {
        let urls: Vec<String> = body.requests.iter().map(|r| r.url.clone()).collect();
        self.versions.lock().unwrap().push((version, urls.clone()));
        let attempt_of = |url: &str| {
            1 + self
                .sent
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, u)| u.iter().any(|x| x == url))
                .count() as u32
        };
        let attempts: Vec<u32> = urls.iter().map(|u| attempt_of(u)).collect();
        self.sent.lock().unwrap().push((Instant::now(), urls));
        {
            let mut failures = self.whole_batch_failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(SendFailure::Connection("reset by peer".into()));
            }
        }
        Ok(body
            .requests
            .iter()
            .zip(attempts)
            .map(|(r, attempt)| {
                let (status, headers) = (self.script)(&r.url, attempt);
                BatchResponseItem {
                    id: r.id.clone(),
                    status,
                    headers: headers
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    body: None,
                }
            })
            .collect())
    }

    fn token_rejected(&self) {
        self.rejected.fetch_add(1, Ordering::SeqCst);
    }
}

fn pacer() -> Arc<Pacer> {
    let fast = Budget {
        amount: 1_000_000,
        per: Duration::from_secs(1),
    };
    Arc::new(Pacer::new(PacerSettings {
        resource_units: fast,
        writes: fast,
    }))
}

fn settings() -> DispatcherSettings {
    DispatcherSettings {
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(50),
        max_attempts: 4,
        ..DispatcherSettings::default()
    }
}

fn revoke(user: u64) -> Job {
    let key = UserKey::parse(&format!("u{user}@contoso.example")).unwrap();
    Job {
        user,
        request: GraphRequest::revoke_sessions(&key).unwrap(),
    }
}

fn delete(user: u64) -> Job {
    let key = UserKey::parse(&format!("u{user}@contoso.example")).unwrap();
    Job {
        user,
        request: GraphRequest::delete_method(&key, crate::wire::MethodType::Fido2, "key-1")
            .unwrap(),
    }
}

async fn run(fake: Arc<Fake>, jobs: Vec<Job>) -> HashMap<(u64, String), Completed> {
    let (done_tx, mut done_rx) = mpsc::channel(8);
    let (job_tx, job_rx) = mpsc::channel(8);
    let dispatcher = Dispatcher::new(fake, pacer(), settings(), done_tx);
    let running = tokio::spawn(dispatcher.run(job_rx));
    tokio::spawn(async move {
        for job in jobs {
            job_tx.send(job).await.unwrap();
        }
    });
    let mut out = HashMap::new();
    while let Some(c) = done_rx.recv().await {
        let key = (c.user, c.request.url.clone());
        assert!(out.insert(key, c).is_none(), "completed twice");
    }
    running.await.unwrap();
    out
}

#[tokio::test]
async fn batches_hold_at_most_20_items_and_never_two_of_one_user() {
    let fake = Fake::new(|_, _| (200, vec![]));
    let mut jobs = Vec::new();
    for user in 0..50 {
        jobs.push(revoke(user));
        jobs.push(delete(user));
    }
    let out = run(fake.clone(), jobs).await;
    assert_eq!(out.len(), 100);
    for (_, urls) in fake.sent.lock().unwrap().iter() {
        assert!(urls.len() <= 20);
        let users: HashSet<&str> = urls.iter().map(|u| u.split('/').nth(2).unwrap()).collect();
        assert_eq!(users.len(), urls.len(), "two items of one user: {urls:?}");
    }
}

#[tokio::test]
async fn a_batch_holds_requests_of_one_api_version() {
    let fake = Fake::new(|_, _| (200, vec![]));
    let mut jobs = Vec::new();
    for user in 0..30 {
        let key = UserKey::parse(&format!("u{user}@contoso.example")).unwrap();
        jobs.push(Job {
            user,
            request: GraphRequest::sign_in_preferences(&key).unwrap(),
        });
        jobs.push(revoke(user + 100));
    }
    let out = run(fake.clone(), jobs).await;
    assert_eq!(out.len(), 60);
    for (version, urls) in fake.versions.lock().unwrap().iter() {
        let beta = urls
            .iter()
            .filter(|u| u.ends_with("/signInPreferences"))
            .count();
        match version {
            ApiVersion::Beta => assert_eq!(beta, urls.len(), "{urls:?}"),
            ApiVersion::V1 => assert_eq!(beta, 0, "{urls:?}"),
        }
    }
}

#[tokio::test]
async fn only_throttled_items_are_resent_and_never_before_their_retry_after() {
    let fake = Fake::new(|url, attempt| {
        if url.contains("/u3@") && attempt == 1 {
            (429, vec![("Retry-After", "0.3")])
        } else {
            (200, vec![])
        }
    });
    let out = run(fake.clone(), (0..10).map(revoke).collect()).await;
    assert!(
        out.values()
            .all(|c| matches!(c.result, JobResult::Done { .. }))
    );
    let throttled = "/users/u3@contoso.example/revokeSignInSessions";
    let times = fake.times_sent(throttled);
    assert_eq!(times.len(), 2);
    assert!(times[1] - times[0] >= Duration::from_millis(300));
    assert_eq!(
        fake.times_sent("/users/u4@contoso.example/revokeSignInSessions")
            .len(),
        1,
        "items that succeeded are not sent again"
    );
}

#[tokio::test]
async fn a_dropped_batch_is_retried_whole_and_deletes_that_then_find_nothing_are_done() {
    let fake = Fake::new(|url, attempt| match (url.contains("/u1@"), attempt) {
        // u1's delete was applied by the dropped attempt: now it is gone.
        (true, 2) => (404, vec![]),
        _ => (204, vec![]),
    });
    *fake.whole_batch_failures.lock().unwrap() = 1;
    let out = run(fake.clone(), vec![delete(1), delete(2)]).await;
    let url = |u: u64| format!("/users/u{u}@contoso.example/authentication/fido2Methods/key-1");
    assert_eq!(out[&(1, url(1))].result, JobResult::AlreadyDone);
    assert_eq!(out[&(1, url(1))].attempts, 2);
    assert!(matches!(
        out[&(2, url(2))].result,
        JobResult::Done { status: 204, .. }
    ));
}

#[tokio::test]
async fn a_404_without_an_earlier_ambiguous_failure_is_a_failure_and_attempts_are_bounded() {
    let fake = Fake::new(|url, _| {
        if url.contains("/u1@") {
            (404, vec![])
        } else {
            (503, vec![("Retry-After", "0.01")])
        }
    });
    let out = run(fake.clone(), vec![delete(1), revoke(2)]).await;
    let deleted = &out[&(
        1,
        "/users/u1@contoso.example/authentication/fido2Methods/key-1".into(),
    )];
    assert!(
        matches!(deleted.result, JobResult::Failed { fault: Some(ref f), .. } if f.status == 404)
    );
    let revoked = &out[&(2, "/users/u2@contoso.example/revokeSignInSessions".into())];
    assert_eq!(revoked.attempts, 4);
    let JobResult::Failed { error, .. } = &revoked.result else {
        panic!("{:?}", revoked.result)
    };
    assert!(
        error.starts_with("gave up after 4 attempts: HTTP 503"),
        "{error}"
    );
}

#[tokio::test]
async fn a_401_item_makes_the_transport_drop_its_token_and_is_retried() {
    let fake = Fake::new(|_, attempt| {
        if attempt == 1 {
            (401, vec![])
        } else {
            (200, vec![])
        }
    });
    let out = run(fake.clone(), vec![revoke(1)]).await;
    assert!(
        out.values()
            .all(|c| matches!(c.result, JobResult::Done { .. }))
    );
    assert_eq!(fake.rejected.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_again_after_a_fresh_token_abandons_the_job_as_unauthorized() {
    let fake = Fake::new(|_, _| (401, vec![]));
    let out = run(fake.clone(), vec![revoke(1), delete(2)]).await;
    for c in out.values() {
        assert!(
            matches!(
                c.result,
                JobResult::Abandoned {
                    cause: Abandon::Unauthorized,
                    ..
                }
            ),
            "{:?}",
            c.result
        );
        assert_eq!(c.attempts, 2, "one retry with a fresh token, no more");
    }
}

#[tokio::test]
async fn graph_out_of_reach_past_the_bound_abandons_every_job_in_time() {
    let fake = Fake::new(|_, _| (503, vec![]));
    let (done_tx, mut done_rx) = mpsc::channel(8);
    let (job_tx, job_rx) = mpsc::channel(8);
    let settings = DispatcherSettings {
        max_attempts: 1000,
        max_outage: Duration::from_millis(300),
        ..settings()
    };
    let dispatcher = Dispatcher::new(fake, pacer(), settings, done_tx);
    let started = Instant::now();
    let running = tokio::spawn(dispatcher.run(job_rx));
    for user in 0..30 {
        job_tx.send(revoke(user)).await.unwrap();
    }
    drop(job_tx);
    let mut abandoned = 0;
    while let Some(c) = done_rx.recv().await {
        assert!(
            matches!(
                c.result,
                JobResult::Abandoned {
                    cause: Abandon::Unreachable,
                    ..
                }
            ),
            "{:?}",
            c.result
        );
        abandoned += 1;
    }
    running.await.unwrap();
    assert_eq!(abandoned, 30);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_halt_abandons_the_jobs_waiting_to_be_retried_without_waiting_for_them() {
    let fake = Fake::new(|_, _| (503, vec![]));
    let (done_tx, mut done_rx) = mpsc::channel(8);
    let (job_tx, job_rx) = mpsc::channel(8);
    let settings = DispatcherSettings {
        max_attempts: 1000,
        backoff_base: Duration::from_secs(30),
        backoff_cap: Duration::from_secs(30),
        ..settings()
    };
    let dispatcher = Dispatcher::new(fake.clone(), pacer(), settings, done_tx);
    let halt = dispatcher.halt_switch();
    let running = tokio::spawn(dispatcher.run(job_rx));
    job_tx.send(revoke(1)).await.unwrap();
    drop(job_tx);
    // Sent once, now waiting 15 s or more to be retried.
    while fake.sent.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let halted = Instant::now();
    halt.halt();
    let c = done_rx.recv().await.expect("completed");
    assert!(matches!(
        c.result,
        JobResult::Abandoned {
            cause: Abandon::Halted,
            ..
        }
    ));
    assert!(halted.elapsed() < Duration::from_secs(1));
    running.await.unwrap();
}

#[test]
fn debug_of_a_result_never_shows_the_body() {
    let result = JobResult::Done {
        status: 201,
        body: Some(serde_json::json!({"temporaryAccessPass": "TAP-SECRET-123"})),
    };
    let shown = format!("{result:?}");
    assert!(!shown.contains("TAP-SECRET-123"), "{shown}");
    assert!(
        shown.contains("201") && shown.contains("redacted"),
        "{shown}"
    );
}
