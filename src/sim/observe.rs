//! What the emulator saw, for `/_sim/stats` and `/_sim/mutations` (not Graph routes).
//!
//! Tests and benchmarks judge a client by these numbers: how many requests it sent, how
//! many items came back with which status, how much quota it spent, whether it retried
//! inside a `Retry-After` window, how many requests it had in flight at once, and every
//! change it made to the tenant, in order. When asked ([`super::SimConfig::log_requests`]),
//! it also keeps every Graph request it received ([`RequestLog`]), so that a test can check
//! what a client sends against Graph's published schema.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::tenant::Change;
use crate::wire::BatchRequest;

/// Counters, updated lock-free on the request path.
#[derive(Default)]
pub struct Stats {
    pub http_requests: AtomicU64,
    pub graph_requests: AtomicU64,
    pub batch_requests: AtomicU64,
    pub batch_items: AtomicU64,
    pub throttled: AtomicU64,
    pub resource_units_spent: AtomicU64,
    pub writes_spent: AtomicU64,
    pub early_retries: AtomicU64,
    pub in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
    pub dropped_connections: AtomicU64,
    pub failed_requests: AtomicU64,
    pub ghost_writes: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub token_failures: AtomicU64,
    pub unauthenticated: AtomicU64,
    by_status: Mutex<StatusCounts>,
}

#[derive(Default)]
struct StatusCounts {
    requests: BTreeMap<u16, u64>,
    batch_items: BTreeMap<u16, u64>,
}

/// Decrements the in-flight count when a request ends, however it ends.
pub struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// Counts a request as in flight until the guard drops.
    pub fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records the status a Graph request unit (a single request or a batch item) got.
    pub fn record_status(&self, status: u16, in_batch: bool) {
        let mut counts = self.by_status.lock().expect("stats lock");
        let map = if in_batch {
            &mut counts.batch_items
        } else {
            &mut counts.requests
        };
        *map.entry(status).or_default() += 1;
        if status == 429 {
            Stats::bump(&self.throttled, 1);
        }
    }

    pub fn to_json(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let counts = self.by_status.lock().expect("stats lock");
        let as_map = |m: &BTreeMap<u16, u64>| -> BTreeMap<String, u64> {
            m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        json!({
            "httpRequests": get(&self.http_requests),
            "graphRequests": get(&self.graph_requests),
            "requestsByStatus": as_map(&counts.requests),
            "batchRequests": get(&self.batch_requests),
            "batchItems": get(&self.batch_items),
            "batchItemsByStatus": as_map(&counts.batch_items),
            "throttled": get(&self.throttled),
            "resourceUnitsSpent": get(&self.resource_units_spent),
            "writesSpent": get(&self.writes_spent),
            "earlyRetries": get(&self.early_retries),
            "peakConcurrentRequests": get(&self.peak_in_flight),
            "faults": {
                "droppedConnections": get(&self.dropped_connections),
                "failedRequests": get(&self.failed_requests),
                "ghostWrites": get(&self.ghost_writes),
            },
            "tokensIssued": get(&self.tokens_issued),
            "tokenFailures": get(&self.token_failures),
            "unauthenticatedRequests": get(&self.unauthenticated),
        })
    }
}

/// One applied change.
#[derive(Debug, Clone)]
pub struct Mutation {
    pub time: String,
    pub app_id: String,
    pub request_id: String,
    pub client_request_id: String,
    pub user_id: String,
    pub user_principal_name: String,
    pub change: Change,
    /// The change was applied but the client was told 504.
    pub ghost: bool,
}

/// Every applied change, in the order applied.
#[derive(Default)]
pub struct MutationLog {
    entries: Mutex<Vec<Mutation>>,
}

impl MutationLog {
    /// Appends `m`; how many changes the log holds now.
    pub fn push(&self, m: Mutation) -> usize {
        let mut entries = self.entries.lock().expect("mutation lock");
        entries.push(m);
        entries.len()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("mutation lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn to_json(&self) -> Value {
        let entries = self.entries.lock().expect("mutation lock");
        let value: Vec<Value> = entries
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut v = json!({
                    "sequence": i + 1,
                    "time": m.time,
                    "appId": m.app_id,
                    "requestId": m.request_id,
                    "clientRequestId": m.client_request_id,
                    "userId": m.user_id,
                    "userPrincipalName": m.user_principal_name,
                    "ghost": m.ghost,
                });
                if let (Value::Object(o), Value::Object(c)) = (&mut v, m.change.to_json()) {
                    o.extend(c);
                }
                v
            })
            .collect();
        json!({ "value": value })
    }
}

/// One Graph request as the emulator received it: a request on its own, a `$batch`
/// envelope, or one item of a `$batch`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// `v1.0` or `beta`.
    pub version: String,
    /// As sent, upper-cased.
    pub method: String,
    /// Relative to the version root, query included, exactly as sent:
    /// `/users/{key}/authentication/methods`, `/$batch`.
    pub url: String,
    /// The JSON body; `None` for a `$batch` envelope (its items are logged one by one) and
    /// for a request without a body (or whose body is not JSON).
    pub body: Option<Value>,
    /// True for an item of a `$batch`.
    pub in_batch: bool,
}

/// Every Graph request received, in order of arrival, each `$batch` item on its own after
/// its envelope. Kept only when [`super::SimConfig::log_requests`] is set: a benchmark of
/// a million users must not hold every request it sent.
#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<Vec<ReceivedRequest>>,
}

impl RequestLog {
    /// Records a request to `/{version}{path}?{query}` (before authentication, faults or
    /// validation: what the client sent, not what was served). A `$batch` whose body
    /// holds a batch has its items recorded too.
    pub fn record(
        &self,
        version: &str,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) {
        let url = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let is_batch = path == "/$batch" || path.eq_ignore_ascii_case("/%24batch");
        let mut received = vec![ReceivedRequest {
            version: version.to_string(),
            method: method.to_ascii_uppercase(),
            url,
            body: if is_batch {
                None
            } else {
                serde_json::from_slice(body).ok()
            },
            in_batch: false,
        }];
        if is_batch && let Ok(batch) = serde_json::from_slice::<BatchRequest>(body) {
            received.extend(batch.requests.into_iter().map(|item| ReceivedRequest {
                version: version.to_string(),
                method: item.method.to_ascii_uppercase(),
                url: item.url,
                body: item.body,
                in_batch: true,
            }));
        }
        self.entries
            .lock()
            .expect("request log lock")
            .extend(received);
    }

    /// Every request recorded so far.
    pub fn entries(&self) -> Vec<ReceivedRequest> {
        self.entries.lock().expect("request log lock").clone()
    }
}
