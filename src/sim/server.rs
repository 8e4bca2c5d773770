//! The emulator's HTTP front: connections, the token endpoint, authentication, transport
//! faults, latency, and dispatch to a single Graph request or a `$batch`.
//!
//! What happens here is what happens before a request reaches the directory: the HTTP
//! connection (which a fault may drop), the network's latency, the bearer token. Everything
//! after that is [`super::routes`] and [`super::batch`]. The `/_sim/` observation endpoints
//! need no token and see no latency or faults: they are not Graph.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::SimState;
use super::batch;
use super::errors::GraphFailure;
use super::observe::Stats;
use super::routes::{self, GRAPH_JSON, ItemRequest, ItemResponse};
use crate::wire::headers;

/// Request bodies larger than this are refused with 413, as Graph refuses them.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

type Body = Full<Bytes>;

/// Returned by the service to make hyper drop the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a simulated fault")
    }
}

impl std::error::Error for DropConnection {}

/// The tenants one listener serves, at the same Graph root as Entra serves every tenant:
/// a token request goes to the tenant its `{tenant}` segment names (by id, then by
/// domain), a Graph request to the tenant whose token it bears; anything else (and a token
/// no tenant knows) to the first.
pub(crate) struct Tenants {
    pub(crate) all: Vec<Arc<SimState>>,
}

impl Tenants {
    /// The tenant a request goes to.
    fn pick(&self, req: &Request<Incoming>) -> Arc<SimState> {
        let first = &self.all[0];
        if self.all.len() == 1 {
            return first.clone();
        }
        let path = req.uri().path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if let [tenant, "oauth2", "v2.0", "token"] = segments.as_slice() {
            let named = self
                .all
                .iter()
                .find(|s| s.tenant_id.eq_ignore_ascii_case(tenant))
                .or_else(|| {
                    self.all
                        .iter()
                        .find(|s| s.domains.contains(&tenant.to_ascii_lowercase()))
                });
            return named.unwrap_or(first).clone();
        }
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        token
            .and_then(|token| {
                self.all
                    .iter()
                    .find(|s| s.tokens.lock().expect("token lock").knows(token))
            })
            .unwrap_or(first)
            .clone()
    }
}

/// Accepts connections until `stop` turns true (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    tenants: Arc<Tenants>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or a reset before accept: wait, don't spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let tenants = tenants.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = tenants.pick(&req);
                handle(state, req)
            });
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

async fn handle(
    state: Arc<SimState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let _in_flight = state.stats.enter();
    // Numbers this HTTP request, so that the items of one batch are known to be together.
    let origin = state
        .stats
        .http_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let down = state
        .outage_until
        .lock()
        .expect("outage lock")
        .is_some_and(|until| std::time::Instant::now() < until);
    if down && !parts.uri.path().starts_with("/_sim/") {
        Stats::bump(&state.stats.dropped_connections, 1);
        return Err(DropConnection);
    }
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let f = GraphFailure::new(
                413,
                "RequestEntityTooLarge",
                "The request body is larger than 4 MB.",
            );
            return Ok(graph_error(&state, &f, None));
        }
    };
    let path = parts.uri.path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let client_request_id = parts
        .headers
        .get(headers::CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());

    match segments.as_slice() {
        ["_sim", what] => Ok(observe(&state, &parts.method, what)),
        [tenant, "oauth2", "v2.0", "token"] => {
            simulate_latency(&state).await;
            Ok(token(&state, &parts.method, tenant, &parts.headers, &body))
        }
        [version @ ("v1.0" | "beta"), ..] => {
            simulate_latency(&state).await;
            let rest = &path[1 + version.len()..];
            graph(
                &state,
                &parts,
                version,
                rest,
                client_request_id,
                &body,
                origin,
            )
        }
        _ => {
            let f = GraphFailure::new(
                400,
                "BadRequest",
                format!("Invalid version: the path must start with /v1.0 or /beta, got '{path}'."),
            );
            Ok(graph_error(&state, &f, client_request_id))
        }
    }
}

/// Sleeps for the configured latency plus a seeded share of the jitter.
async fn simulate_latency(state: &SimState) {
    let config = &state.config;
    if config.latency.is_zero() && config.jitter.is_zero() {
        return;
    }
    let jitter = if config.jitter.is_zero() {
        Duration::ZERO
    } else {
        use rand::Rng;
        let share: f64 = state.rng.lock().expect("rng lock").random();
        config.jitter.mul_f64(share)
    };
    tokio::time::sleep(config.latency + jitter).await;
}

/// A Graph request under `/{version}`: `rest` is the path after the version.
fn graph(
    state: &SimState,
    parts: &http::request::Parts,
    version: &str,
    rest: &str,
    client_request_id: Option<&str>,
    body: &Bytes,
    origin: u64,
) -> Result<Response<Body>, DropConnection> {
    let method = &parts.method;
    if let Some(log) = &state.requests {
        log.record(version, method.as_str(), rest, parts.uri.query(), body);
    }
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let app = state
        .tokens
        .lock()
        .expect("token lock")
        .authenticate(authorization, Instant::now());
    let app = match app {
        Ok(app) => app,
        Err(f) => {
            Stats::bump(&state.stats.unauthenticated, 1);
            let mut resp = graph_error(state, &f, client_request_id);
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""),
            );
            return Ok(resp);
        }
    };
    Stats::bump(&state.stats.graph_requests, 1);

    // A transport fault: the request never reached the directory.
    if state.chance(state.config.fail_rate) {
        if state.chance(1.0 / 3.0) {
            Stats::bump(&state.stats.dropped_connections, 1);
            Stats::bump(&state.stats.failed_requests, 1);
            return Err(DropConnection);
        }
        let request_id = state.ids.next();
        let client_request_id = client_request_id.unwrap_or(&request_id).to_string();
        let mut fault = routes::fault_response(state, &request_id, &client_request_id);
        fault.headers.push((headers::REQUEST_ID, request_id));
        fault
            .headers
            .push((headers::CLIENT_REQUEST_ID, client_request_id));
        state.stats.record_status(fault.status, false);
        return Ok(item_to_response(fault));
    }

    if rest == "/$batch" || rest.eq_ignore_ascii_case("/%24batch") {
        if method != Method::POST {
            let f = GraphFailure::method_not_allowed(method.as_str(), "/$batch");
            return Ok(graph_error(state, &f, client_request_id));
        }
        return Ok(
            match batch::execute_batch(state, version, body, &app, origin) {
                Ok(answer) => {
                    let request_id = state.ids.next();
                    let body = serde_json::to_vec(&answer).expect("batch answers serialize");
                    state.stats.record_status(200, false);
                    let mut resp = Response::new(Full::new(Bytes::from(body)));
                    let h = resp.headers_mut();
                    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(GRAPH_JSON));
                    insert(h, headers::REQUEST_ID, &request_id);
                    insert(
                        h,
                        headers::CLIENT_REQUEST_ID,
                        client_request_id.unwrap_or(&request_id),
                    );
                    resp
                }
                Err(f) => graph_error(state, &f, client_request_id),
            },
        );
    }

    let json_body: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => Some(v),
            Err(e) => {
                let f = GraphFailure::bad_request(
                    "BadRequest",
                    format!(
                        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"
                    ),
                );
                return Ok(graph_error(state, &f, client_request_id));
            }
        }
    };
    let url = match parts.uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    let eventual = parts
        .headers
        .get(headers::CONSISTENCY_LEVEL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    let answer = routes::execute(
        state,
        &ItemRequest {
            method: method.as_str(),
            version,
            url: &url,
            body: json_body.as_ref(),
            client_request_id,
            eventual,
            app: &app,
            in_batch: false,
            origin,
        },
    );
    Ok(item_to_response(answer))
}

fn token(
    state: &SimState,
    method: &Method,
    tenant: &str,
    request_headers: &http::HeaderMap,
    form: &Bytes,
) -> Response<Body> {
    if method != Method::POST {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "invalid_request", "error_description": "The token endpoint accepts POST only."}),
        );
    }
    let throttled = state
        .token_throttles
        .fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |n| n.checked_sub(1),
        )
        .is_ok();
    if throttled {
        Stats::bump(&state.stats.token_failures, 1);
        let mut resp = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({
                "error": "temporarily_unavailable",
                "error_description": "AADSTS50196: The server terminated an operation because it encountered a client request loop.",
            }),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    }
    let tenant_ok = tenant.eq_ignore_ascii_case(&state.tenant_id)
        || state.domains.contains(&tenant.to_ascii_lowercase());
    let basic = request_headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let result = state.tokens.lock().expect("token lock").token_request(
        tenant,
        tenant_ok,
        &state.base_url,
        form,
        basic,
        Instant::now(),
    );
    match result {
        Ok(body) => {
            Stats::bump(&state.stats.tokens_issued, 1);
            let mut resp = json_response(StatusCode::OK, &body);
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, no-cache"),
            );
            resp
        }
        Err(failure) => {
            Stats::bump(&state.stats.token_failures, 1);
            let timestamp = OffsetDateTime::now_utc()
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                ))
                .unwrap_or_default();
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_REQUEST);
            json_response(status, &failure.body(&state.ids.next(), &timestamp))
        }
    }
}

fn observe(state: &SimState, method: &Method, what: &str) -> Response<Body> {
    if method != Method::GET {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "the /_sim/ endpoints answer GET only"}),
        );
    }
    match what {
        "stats" => json_response(StatusCode::OK, &state.stats.to_json()),
        "mutations" => json_response(StatusCode::OK, &state.mutations.to_json()),
        "state" => {
            let record = state.tenant.lock().expect("tenant lock").to_record();
            json_response(StatusCode::OK, &json!(record))
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no /_sim/{what}: try /_sim/stats, /_sim/state or /_sim/mutations")}),
        ),
    }
}

fn insert(h: &mut http::HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        h.insert(name, value);
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).expect("JSON values serialize");
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// A failure outside any route (authentication, version, body), with fresh request ids.
fn graph_error(
    state: &SimState,
    f: &GraphFailure,
    client_request_id: Option<&str>,
) -> Response<Body> {
    state.stats.record_status(f.status, false);
    item_to_response(routes::failure_outside_route(state, f, client_request_id))
}

fn item_to_response(item: ItemResponse) -> Response<Body> {
    let bytes = match &item.body {
        Some(body) => Bytes::from(serde_json::to_vec(body).expect("JSON values serialize")),
        None => Bytes::new(),
    };
    let mut resp = Response::new(Full::new(bytes));
    *resp.status_mut() = StatusCode::from_u16(item.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    for (name, value) in &item.headers {
        insert(h, name, value);
    }
    resp
}
