//! One Graph request, start to finish: routing, cost, throttling, faults, Entra's rules,
//! the Graph-shaped answer and the mutation log.
//!
//! A request sent on its own and an item inside a `$batch` take exactly this path, so the
//! two can never disagree. The order is Graph's: a seeded fault (the request never reached
//! the directory), then routing and query validation, then the app's permissions (a
//! request no granted permission allows is `403 Authorization_RequestDenied`, spends no
//! quota and changes nothing), then admission against the quotas (a throttled request
//! spends its resource units and changes nothing), then the operation itself, and for a
//! write, possibly a ghost: applied, but answered 504.
//!
//! This file is that pipeline; `routes/table.rs` says which route a method and path name and
//! what it costs, and `routes/handlers.rs` carries each route out on the tenant.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

mod handlers;
mod table;

use super::SimState;
use super::errors::GraphFailure;
use super::observe::{Mutation, Stats};
use super::odata;
use super::throttle::{Cost, Verdict, format_retry_after};
use crate::wire::headers;
use handlers::{Done, run};
use table::{Route, route};

/// The `Content-Type` Graph gives its JSON answers.
pub const GRAPH_JSON: &str = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8";

/// One Graph request, from the wire or from a batch.
pub struct ItemRequest<'a> {
    /// Upper-case HTTP method.
    pub method: &'a str,
    /// `v1.0` or `beta`.
    pub version: &'a str,
    /// Path and query, relative to the version root (`/users/x?$select=id`).
    pub url: &'a str,
    pub body: Option<&'a Value>,
    pub client_request_id: Option<&'a str>,
    /// Whether it came with `ConsistencyLevel: eventual`, which Graph's advanced queries
    /// (`$count`) require.
    pub eventual: bool,
    /// The app the bearer token belongs to.
    pub app: &'a str,
    pub in_batch: bool,
    /// The HTTP request this one arrived in (a batch's items share it).
    pub origin: u64,
}

/// The answer to one Graph request.
#[derive(Debug, Clone)]
pub struct ItemResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

impl ItemResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Current time as Graph writes it in properties: `2026-11-28T04:41:12Z`.
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Current time as Graph writes it in `innerError.date`: `2026-11-28T04:41:12`.
pub fn now_inner_error_date() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// Renders a failure as Graph's error body.
pub fn error_body(f: &GraphFailure, request_id: &str, client_request_id: &str) -> Value {
    json!({
        "error": {
            "code": f.code,
            "message": f.message,
            "innerError": {
                "date": now_inner_error_date(),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    })
}

struct Correlation {
    request_id: String,
    client_request_id: String,
}

fn failure(f: &GraphFailure, c: &Correlation) -> ItemResponse {
    ItemResponse {
        status: f.status,
        headers: vec![(headers::CONTENT_TYPE, GRAPH_JSON.to_string())],
        body: Some(error_body(f, &c.request_id, &c.client_request_id)),
    }
}

/// A failure decided before a request reaches a route (authentication, batch checks, a
/// failed dependency), answered with fresh correlation ids.
pub(crate) fn failure_outside_route(
    state: &SimState,
    f: &GraphFailure,
    client_request_id: Option<&str>,
) -> ItemResponse {
    let request_id = state.ids.next();
    let corr = Correlation {
        client_request_id: client_request_id.unwrap_or(&request_id).to_string(),
        request_id,
    };
    let mut resp = failure(f, &corr);
    resp.headers.push((headers::REQUEST_ID, corr.request_id));
    resp.headers
        .push((headers::CLIENT_REQUEST_ID, corr.client_request_id));
    resp
}

/// Executes one Graph request.
pub(crate) fn execute(state: &SimState, req: &ItemRequest<'_>) -> ItemResponse {
    let corr = Correlation {
        request_id: state.ids.next(),
        client_request_id: req
            .client_request_id
            .map_or_else(String::new, str::to_string),
    };
    let corr = Correlation {
        client_request_id: if corr.client_request_id.is_empty() {
            corr.request_id.clone()
        } else {
            corr.client_request_id
        },
        ..corr
    };
    let mut resp = execute_inner(state, req, &corr);
    resp.headers
        .push((headers::REQUEST_ID, corr.request_id.clone()));
    resp.headers
        .push((headers::CLIENT_REQUEST_ID, corr.client_request_id.clone()));
    state.stats.record_status(resp.status, req.in_batch);
    resp
}

/// The answer to a request hit by a seeded fault: 503 with `Retry-After`, or 504.
pub(crate) fn fault_response(
    state: &SimState,
    request_id: &str,
    client_request_id: &str,
) -> ItemResponse {
    Stats::bump(&state.stats.failed_requests, 1);
    if state.chance(0.5) {
        let f = GraphFailure::new(
            503,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry after the time given in Retry-After.",
        );
        let retry = Duration::from_secs_f64(2.0 / state.config.time_scale);
        ItemResponse {
            status: 503,
            headers: vec![
                (headers::CONTENT_TYPE, GRAPH_JSON.to_string()),
                (headers::RETRY_AFTER, format_retry_after(retry)),
            ],
            body: Some(error_body(&f, request_id, client_request_id)),
        }
    } else {
        gateway_timeout(request_id, client_request_id)
    }
}

/// A 504, as both a real timeout and a ghost write answer it.
fn gateway_timeout(request_id: &str, client_request_id: &str) -> ItemResponse {
    let f = GraphFailure::new(
        504,
        "gatewayTimeout",
        "The operation timed out before the back end answered.",
    );
    ItemResponse {
        status: 504,
        headers: vec![(headers::CONTENT_TYPE, GRAPH_JSON.to_string())],
        body: Some(error_body(&f, request_id, client_request_id)),
    }
}

/// A request after its correlation ids are settled: fault, routing, admission, the
/// operation, and the headers every routed answer carries.
fn execute_inner(state: &SimState, req: &ItemRequest<'_>, corr: &Correlation) -> ItemResponse {
    // A request on its own meets its fault at the transport (the server decides); an item
    // of a batch meets its own here.
    if req.in_batch && state.chance(state.config.fail_rate) {
        return fault_response(state, &corr.request_id, &corr.client_request_id);
    }
    // A raw '#' starts a fragment, which never reaches the server: an unencoded `#EXT#`
    // cuts the UPN short, exactly as it does against Graph.
    let url = req.url.split('#').next().unwrap_or_default();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    let parsed = odata::parse_path(path)
        .and_then(|p| odata::parse_query(query).map(|q| (p, q)))
        .and_then(|(p, q)| route(req.method, &p, &q).map(|r| (p, q, r)));
    let (path, query, (route, cost)) = match parsed {
        Ok(v) => v,
        Err(f) => return failure(&f, corr),
    };
    // As Graph: `$count` on directory objects is an advanced query, refused without
    // `ConsistencyLevel: eventual`; the emulator counts users only.
    let refused_count = if !query.count {
        None
    } else if !matches!(route, Route::ListUsers { .. }) {
        Some("The query option '$count' is supported by mfa-reset's emulator on /users only.")
    } else if !req.eventual {
        Some("Unsupported Query.")
    } else {
        None
    };
    if let Some(message) = refused_count {
        let f = GraphFailure::bad_request("Request_UnsupportedQuery", message);
        return failure(&f, corr);
    }
    if route.beta_only() && req.version != "beta" {
        let f = GraphFailure::no_route(req.method, path_only(url));
        return failure(&f, corr);
    }
    if !state.allows(req.app, route.access()) {
        return failure(&GraphFailure::insufficient_privileges(), corr);
    }
    let limit_percentage = match admit(state, req, url, cost) {
        Verdict::Throttled {
            retry_after,
            scope,
            information,
        } => return throttled(corr, retry_after, scope, information),
        Verdict::Admitted { limit_percentage } => limit_percentage,
    };
    let is_write = route.is_write();
    let mut resp = match run(state, req, &path, &query, route) {
        Err(f) => failure(&f, corr),
        Ok(done) => answer(state, req, corr, is_write, done),
    };
    resp.headers
        .push((headers::RESOURCE_UNIT, cost.resource_units.to_string()));
    if let Some(p) = limit_percentage {
        resp.headers
            .push((headers::THROTTLE_LIMIT_PERCENTAGE, format!("{p:.2}")));
    }
    resp
}

/// Admits a request against the quotas, counting what it spent, and gives the verdict.
fn admit(state: &SimState, req: &ItemRequest<'_>, url: &str, cost: Cost) -> Verdict {
    let admission = state.throttle.lock().expect("throttle lock").admit(
        req.app,
        cost,
        (req.method, url),
        req.origin,
        Instant::now(),
    );
    Stats::bump(
        &state.stats.resource_units_spent,
        u64::from(admission.resource_units_spent),
    );
    Stats::bump(&state.stats.writes_spent, u64::from(admission.writes_spent));
    if admission.early_retry {
        Stats::bump(&state.stats.early_retries, 1);
    }
    admission.verdict
}

/// A throttled request's `429`, with `Retry-After` and the throttle scope as Graph gives them.
fn throttled(
    corr: &Correlation,
    retry_after: Duration,
    scope: String,
    information: &str,
) -> ItemResponse {
    let f = GraphFailure::new(429, "TooManyRequests", "Please retry again later.");
    let mut body = error_body(&f, &corr.request_id, &corr.client_request_id);
    body["error"]["innerError"]["code"] = json!("429");
    body["error"]["innerError"]["status"] = json!("429");
    body["error"]["innerError"]["message"] = json!("Please retry after");
    ItemResponse {
        status: 429,
        headers: vec![
            (headers::CONTENT_TYPE, GRAPH_JSON.to_string()),
            (headers::RETRY_AFTER, format_retry_after(retry_after)),
            (headers::THROTTLE_SCOPE, scope),
            (headers::THROTTLE_INFORMATION, information.to_string()),
        ],
        body: Some(body),
    }
}

/// The answer to an operation that succeeded. A write's change goes to the mutation log;
/// a write may turn out a ghost (applied, but answered `504`).
fn answer(
    state: &SimState,
    req: &ItemRequest<'_>,
    corr: &Correlation,
    is_write: bool,
    done: Done,
) -> ItemResponse {
    let Done {
        status,
        body,
        change,
    } = done;
    let mut ghost = false;
    if let Some((change, user_id, upn)) = change {
        ghost = is_write && state.chance(state.config.ghost_write_rate);
        if ghost {
            Stats::bump(&state.stats.ghost_writes, 1);
        }
        let applied = state.mutations.push(Mutation {
            time: now_rfc3339(),
            app_id: req.app.to_string(),
            request_id: corr.request_id.clone(),
            client_request_id: corr.client_request_id.clone(),
            user_id,
            user_principal_name: upn,
            change,
            ghost,
        });
        state.applied_write(applied);
    }
    if ghost {
        return gateway_timeout(&corr.request_id, &corr.client_request_id);
    }
    let mut headers = Vec::new();
    if body.is_some() {
        headers.push((headers::CONTENT_TYPE, GRAPH_JSON.to_string()));
    }
    ItemResponse {
        status,
        headers,
        body,
    }
}

/// The path of a relative URL, without its query.
fn path_only(url: &str) -> &str {
    url.split('?').next().unwrap_or_default()
}
