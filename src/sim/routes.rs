//! One Graph request, start to finish: routing, cost, throttling, faults, Entra's rules,
//! the Graph-shaped answer and the mutation log.
//!
//! A request sent on its own and an item inside a `$batch` take exactly this path, so the
//! two can never disagree. The order is Graph's: a seeded fault (the request never reached
//! the directory), then routing and query validation, then admission against the quotas
//! (a throttled request spends its resource units and changes nothing), then the
//! operation itself, and for a write, possibly a ghost: applied, but answered 504.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::SimState;
use super::errors::GraphFailure;
use super::observe::{Mutation, Stats};
use super::odata::{self, Filter, GraphPath, QueryOptions};
use super::tenant::{Change, guid_from_u128};
use super::throttle::{Cost, Verdict, format_retry_after};
use crate::wire::{MethodType, headers};

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

enum Route {
    GetUser,
    ListUsers {
        filter: Option<Filter>,
    },
    UpdateUser,
    ListMethods {
        only: Option<MethodType>,
    },
    GetMethod {
        only: Option<MethodType>,
        id: String,
    },
    DeleteMethod {
        kind: MethodType,
        id: String,
    },
    CreateTemporaryAccessPass,
    RevokeSessions,
    UserRoles,
    /// Beta only: the user's default MFA method, as `signInPreferences` shows it.
    SignInPreferences,
    DirectoryRoles {
        expand_members: bool,
    },
    RoleMembers {
        role_id: String,
    },
}

impl Route {
    fn is_write(&self) -> bool {
        matches!(
            self,
            Route::UpdateUser
                | Route::DeleteMethod { .. }
                | Route::CreateTemporaryAccessPass
                | Route::RevokeSessions
        )
    }
}

fn route(method: &str, path: &GraphPath, q: &QueryOptions) -> Result<(Route, Cost), GraphFailure> {
    let segs: Vec<&str> = path.segments.iter().map(String::as_str).collect();
    let full = format!("/{}", segs.join("/"));
    let not_allowed = || GraphFailure::method_not_allowed(method, &full);
    let select = q.select.is_some();
    let small_top = q.top.is_some_and(|t| t < 20);
    let read = |base| Cost::read(base, select, false, small_top);
    let user = path.user_key.is_some();
    let r = match (segs.as_slice(), user) {
        (["users"], false) => match method {
            "GET" => {
                let filter = q.filter.as_deref().map(odata::parse_filter).transpose()?;
                (Route::ListUsers { filter }, read(2))
            }
            _ => return Err(not_allowed()),
        },
        (["users", _], true) => match method {
            "GET" => (Route::GetUser, read(1)),
            "PATCH" => (Route::UpdateUser, Cost::WRITE),
            _ => return Err(not_allowed()),
        },
        (["users", _, "authentication", "methods"], true) => match method {
            "GET" => (Route::ListMethods { only: None }, read(1)),
            _ => return Err(not_allowed()),
        },
        (["users", _, "authentication", "methods", id], true) => match method {
            "GET" => (
                Route::GetMethod {
                    only: None,
                    id: id.to_string(),
                },
                read(1),
            ),
            "DELETE" => {
                return Err(GraphFailure::method_not_allowed(method, &full).with_hint(
                    "Delete a method through its type's collection, e.g. /users/{id}/authentication/phoneMethods/{methodId}.",
                ));
            }
            _ => return Err(not_allowed()),
        },
        (["users", _, "authentication", "signInPreferences"], true) => match method {
            "GET" => (Route::SignInPreferences, read(1)),
            _ => return Err(not_allowed()),
        },
        (["users", _, "authentication", collection], true) => {
            let kind = MethodType::from_collection(collection)
                .ok_or_else(|| GraphFailure::no_route(method, &full))?;
            match method {
                "GET" => (Route::ListMethods { only: Some(kind) }, read(1)),
                "POST" if kind == MethodType::TemporaryAccessPass => {
                    (Route::CreateTemporaryAccessPass, Cost::WRITE)
                }
                _ => return Err(not_allowed()),
            }
        }
        (["users", _, "authentication", collection, id], true) => {
            let kind = MethodType::from_collection(collection)
                .ok_or_else(|| GraphFailure::no_route(method, &full))?;
            match method {
                "GET" => (
                    Route::GetMethod {
                        only: Some(kind),
                        id: id.to_string(),
                    },
                    read(1),
                ),
                "DELETE" => (
                    Route::DeleteMethod {
                        kind,
                        id: id.to_string(),
                    },
                    Cost::WRITE,
                ),
                _ => return Err(not_allowed()),
            }
        }
        (["users", _, "revokeSignInSessions"], true) => match method {
            "POST" => (Route::RevokeSessions, Cost::WRITE),
            _ => return Err(not_allowed()),
        },
        (["users", _, "transitiveMemberOf" | "memberOf"], true)
        | (
            [
                "users",
                _,
                "transitiveMemberOf" | "memberOf",
                "microsoft.graph.directoryRole",
            ],
            true,
        ) => match method {
            "GET" => (Route::UserRoles, read(1)),
            _ => return Err(not_allowed()),
        },
        (["directoryRoles"], false) => match method {
            "GET" => {
                let expand_members = match q.expand.as_deref() {
                    None => false,
                    Some("members") => true,
                    Some(other) => {
                        return Err(GraphFailure::bad_request(
                            "Request_BadRequest",
                            format!(
                                "Could not find a navigation property named '{other}' on type 'microsoft.graph.directoryRole'."
                            ),
                        ));
                    }
                };
                (
                    Route::DirectoryRoles { expand_members },
                    Cost::read(1, select, expand_members, small_top),
                )
            }
            _ => return Err(not_allowed()),
        },
        (["directoryRoles", role_id, "members"], false) => match method {
            "GET" => (
                Route::RoleMembers {
                    role_id: role_id.to_string(),
                },
                read(1),
            ),
            _ => return Err(not_allowed()),
        },
        _ => return Err(GraphFailure::no_route(method, &full)),
    };
    Ok(r)
}

impl GraphFailure {
    fn with_hint(mut self, hint: &str) -> Self {
        self.message = format!("{} {hint}", self.message);
        self
    }
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
    if matches!(route, Route::SignInPreferences) && req.version != "beta" {
        let f = GraphFailure::no_route(req.method, path_only(url));
        return failure(&f, corr);
    }
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
    let limit_percentage = match admission.verdict {
        Verdict::Throttled {
            retry_after,
            scope,
            information,
        } => {
            let f = GraphFailure::new(429, "TooManyRequests", "Please retry again later.");
            let mut body = error_body(&f, &corr.request_id, &corr.client_request_id);
            body["error"]["innerError"]["code"] = json!("429");
            body["error"]["innerError"]["status"] = json!("429");
            body["error"]["innerError"]["message"] = json!("Please retry after");
            return ItemResponse {
                status: 429,
                headers: vec![
                    (headers::CONTENT_TYPE, GRAPH_JSON.to_string()),
                    (headers::RETRY_AFTER, format_retry_after(retry_after)),
                    (headers::THROTTLE_SCOPE, scope),
                    (headers::THROTTLE_INFORMATION, information.to_string()),
                ],
                body: Some(body),
            };
        }
        Verdict::Admitted { limit_percentage } => limit_percentage,
    };
    let is_write = route.is_write();
    let outcome = run(state, req, &path, &query, route);
    let mut resp = match outcome {
        Err(f) => failure(&f, corr),
        Ok(Done {
            status,
            body,
            change,
        }) => {
            let mut ghost = false;
            if let Some((change, user_id, upn)) = change {
                ghost = is_write && state.chance(state.config.ghost_write_rate);
                if ghost {
                    Stats::bump(&state.stats.ghost_writes, 1);
                }
                state.mutations.push(Mutation {
                    time: now_rfc3339(),
                    app_id: req.app.to_string(),
                    request_id: corr.request_id.clone(),
                    client_request_id: corr.client_request_id.clone(),
                    user_id,
                    user_principal_name: upn,
                    change,
                    ghost,
                });
            }
            if ghost {
                gateway_timeout(&corr.request_id, &corr.client_request_id)
            } else {
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
        }
    };
    resp.headers
        .push((headers::RESOURCE_UNIT, cost.resource_units.to_string()));
    if let Some(p) = limit_percentage {
        resp.headers
            .push((headers::THROTTLE_LIMIT_PERCENTAGE, format!("{p:.2}")));
    }
    resp
}

/// The path of a relative URL, without its query.
fn path_only(url: &str) -> &str {
    url.split('?').next().unwrap_or_default()
}

struct Done {
    status: u16,
    body: Option<Value>,
    /// A write's change, with the user's id and UPN.
    change: Option<(Change, String, String)>,
}

impl Done {
    fn ok(body: Value) -> Result<Done, GraphFailure> {
        Ok(Done {
            status: 200,
            body: Some(body),
            change: None,
        })
    }
}

fn run(
    state: &SimState,
    req: &ItemRequest<'_>,
    path: &GraphPath,
    q: &QueryOptions,
    route: Route,
) -> Result<Done, GraphFailure> {
    let base = format!("{}/{}", state.base_url, req.version);
    let mut tenant = state.tenant.lock().expect("tenant lock");
    let user_index = match (&path.user_key, &path.raw_key) {
        (Some(key), Some(raw)) => Some(tenant.resolve(key, raw)?),
        _ => None,
    };
    let user_index = move || user_index.expect("user routes carry a key");
    let privileged = state.privileged(req.app);
    let wrote = |tenant: &super::Tenant, idx: usize, change: Change| {
        let u = tenant.user(idx);
        Some((change, u.id.clone(), u.user_principal_name.clone()))
    };
    match route {
        Route::GetUser => {
            let idx = user_index();
            let mut body = tenant.user_json(idx, q.select.as_deref())?;
            let context = match &q.select {
                Some(s) => format!("{base}/$metadata#users({})/$entity", s.join(",")),
                None => format!("{base}/$metadata#users/$entity"),
            };
            prepend_context(&mut body, context);
            Done::ok(body)
        }
        Route::ListUsers { filter } => {
            let hits: Vec<usize> = match &filter {
                Some(f) => tenant.filter_users(f)?,
                None => (0..tenant.users().len()).collect(),
            };
            let top = q.top.unwrap_or(100);
            let skip: usize = match &q.skiptoken {
                None => 0,
                Some(t) => t.parse().map_err(|_| {
                    GraphFailure::bad_request(
                        "Request_BadRequest",
                        format!("Invalid skip token '{t}'."),
                    )
                })?,
            };
            let page: Vec<Value> = hits
                .iter()
                .skip(skip)
                .take(top)
                .map(|&i| tenant.user_json(i, q.select.as_deref()))
                .collect::<Result<_, _>>()?;
            let mut body = json!({
                "@odata.context": format!("{base}/$metadata#users"),
                "value": page,
            });
            if skip + top < hits.len() {
                let mut next = form_urlencoded::Serializer::new(String::new());
                if let Some(f) = &q.filter {
                    next.append_pair("$filter", f);
                }
                if let Some(s) = &q.select {
                    next.append_pair("$select", &s.join(","));
                }
                next.append_pair("$top", &top.to_string());
                next.append_pair("$skiptoken", &(skip + top).to_string());
                body["@odata.nextLink"] = json!(format!("{base}/users?{}", next.finish()));
            }
            Done::ok(body)
        }
        Route::UpdateUser => {
            let idx = user_index();
            let body = req.body.unwrap_or(&Value::Null);
            let change = tenant.update_user(idx, body, privileged)?;
            Ok(Done {
                status: 204,
                body: None,
                change: wrote(&tenant, idx, change),
            })
        }
        Route::ListMethods { only } => {
            let idx = user_index();
            let id = tenant.user(idx).id.clone();
            let segment = only.map_or("methods", MethodType::collection);
            Done::ok(json!({
                "@odata.context": format!("{base}/$metadata#users('{id}')/authentication/{segment}"),
                "value": tenant.methods_json(idx, only),
            }))
        }
        Route::GetMethod { only, id } => {
            let idx = user_index();
            let m = tenant
                .user(idx)
                .method(&id)
                .filter(|m| only.is_none_or(|k| m.kind == k))
                .ok_or_else(|| {
                    GraphFailure::new(
                        404,
                        "itemNotFound",
                        format!("The authentication method '{id}' was not found."),
                    )
                })?;
            Done::ok(m.to_graph_json())
        }
        Route::DeleteMethod { kind, id } => {
            let idx = user_index();
            let change = tenant.delete_method(idx, kind, &id, privileged)?;
            Ok(Done {
                status: 204,
                body: None,
                change: wrote(&tenant, idx, change),
            })
        }
        Route::CreateTemporaryAccessPass => {
            let idx = user_index();
            let method_id = guid_from_u128(rand::random());
            let created = tenant.create_temporary_access_pass(
                idx,
                req.body.unwrap_or(&Value::Null),
                privileged,
                &now_rfc3339(),
                method_id,
                new_pass(),
            )?;
            let id = tenant.user(idx).id.clone();
            let mut body = created.body;
            prepend_context(
                &mut body,
                format!(
                    "{base}/$metadata#users('{id}')/authentication/temporaryAccessPassMethods/$entity"
                ),
            );
            Ok(Done {
                status: 201,
                body: Some(body),
                change: wrote(&tenant, idx, created.change),
            })
        }
        Route::RevokeSessions => {
            let idx = user_index();
            let change = tenant.revoke_sessions(idx, privileged, &now_rfc3339())?;
            Ok(Done {
                status: 200,
                body: Some(json!({
                    "@odata.context": format!("{base}/$metadata#Edm.Boolean"),
                    "value": true,
                })),
                change: wrote(&tenant, idx, change),
            })
        }
        Route::SignInPreferences => {
            let idx = user_index();
            let id = tenant.user(idx).id.clone();
            let mut body = tenant.sign_in_preferences_json(idx);
            prepend_context(
                &mut body,
                format!("{base}/$metadata#users('{id}')/authentication/signInPreferences/$entity"),
            );
            Done::ok(body)
        }
        Route::UserRoles => {
            let idx = user_index();
            let roles: Vec<Value> = tenant
                .user(idx)
                .roles
                .iter()
                .map(|r| tenant.role_json(r))
                .collect();
            Done::ok(json!({
                "@odata.context": format!("{base}/$metadata#directoryObjects"),
                "value": roles,
            }))
        }
        Route::DirectoryRoles { expand_members } => {
            let roles: Vec<Value> = tenant
                .directory_roles()
                .into_iter()
                .map(|(mut role, members)| {
                    if expand_members {
                        role["members"] =
                            members.iter().map(|&i| member_json(&tenant, i)).collect();
                    }
                    role
                })
                .collect();
            Done::ok(json!({
                "@odata.context": format!("{base}/$metadata#directoryRoles"),
                "value": roles,
            }))
        }
        Route::RoleMembers { role_id } => {
            let (_, members) = tenant
                .directory_roles()
                .into_iter()
                .find(|(role, _)| role["id"].as_str() == Some(role_id.as_str()))
                .ok_or_else(|| GraphFailure::resource_not_found(&role_id))?;
            Done::ok(json!({
                "@odata.context": format!("{base}/$metadata#directoryObjects"),
                "value": members.iter().map(|&i| member_json(&tenant, i)).collect::<Vec<_>>(),
            }))
        }
    }
}

fn member_json(tenant: &super::Tenant, index: usize) -> Value {
    let u = tenant.user(index);
    json!({
        "@odata.type": "#microsoft.graph.user",
        "id": u.id,
        "userPrincipalName": u.user_principal_name,
        "displayName": u.display_name,
    })
}

fn prepend_context(body: &mut Value, context: String) {
    if let Value::Object(o) = body {
        let mut with = serde_json::Map::with_capacity(o.len() + 1);
        with.insert("@odata.context".into(), json!(context));
        with.extend(std::mem::take(o));
        *o = with;
    }
}

/// A new Temporary Access Pass: 8 characters as Entra's default policy makes them.
fn new_pass() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+#%&@";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}
