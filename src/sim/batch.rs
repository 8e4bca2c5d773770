//! `POST /$batch`, exactly as Graph does it.
//!
//! The envelope is checked as a whole first: valid JSON, 1 to 20 items, ids unique without
//! regard to case, a `Content-Type` on every item with a body (and a body on every write),
//! `dependsOn` naming one other item of the same batch without cycles. Any of those wrong
//! fails the whole batch with 400 and nothing runs. Then every item runs on its own through
//! [`routes::execute`] — its own throttling verdict, its own fault, its own answer — in a
//! seeded shuffled order that respects `dependsOn` (dependents of a failed item get 424),
//! and the answers come back in another shuffled order inside a 200 envelope.

use std::collections::{BTreeMap, HashMap};

use rand::seq::SliceRandom;

use super::SimState;
use super::errors::GraphFailure;
use super::observe::Stats;
use super::routes::{self, ItemRequest, ItemResponse};
use crate::wire::{
    BatchRequest, BatchRequestItem, BatchResponse, BatchResponseItem, MAX_BATCH_ITEMS, headers,
};

/// Runs a `$batch` body for `app` against Graph `version`. `Err` fails the whole batch.
pub(crate) fn execute_batch(
    state: &SimState,
    version: &str,
    body: &[u8],
    app: &str,
    origin: u64,
) -> Result<BatchResponse, GraphFailure> {
    let batch: BatchRequest = serde_json::from_slice(body).map_err(|e| {
        GraphFailure::bad_request("BadRequest", format!("Invalid batch payload format: {e}."))
    })?;
    let plan = validate(&batch.requests)?;
    Stats::bump(&state.stats.batch_requests, 1);
    Stats::bump(&state.stats.batch_items, batch.requests.len() as u64);

    let mut order: Vec<usize> = (0..batch.requests.len()).collect();
    order.shuffle(&mut *state.rng.lock().expect("rng lock"));

    let mut answers: Vec<Option<ItemResponse>> = vec![None; batch.requests.len()];
    // Items whose dependency has not run yet wait; a dependency always runs first because
    // `validate` proved the graph acyclic.
    while answers.iter().any(Option::is_none) {
        for &i in &order {
            if answers[i].is_some() {
                continue;
            }
            let item = &batch.requests[i];
            let answer = match plan.depends_on[i] {
                Some(dep) => match &answers[dep] {
                    None => continue,
                    Some(dep_answer) if !dep_answer.is_success() => failed_dependency(state, item),
                    Some(_) => run_item(state, version, item, app, origin),
                },
                None => run_item(state, version, item, app, origin),
            };
            answers[i] = Some(answer);
        }
    }

    let mut responses: Vec<BatchResponseItem> = batch
        .requests
        .iter()
        .zip(answers)
        .map(|(item, answer)| {
            let answer = answer.expect("every item answered");
            BatchResponseItem {
                id: item.id.clone(),
                status: answer.status,
                headers: answer
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<BTreeMap<_, _>>(),
                body: answer.body,
            }
        })
        .collect();
    responses.shuffle(&mut *state.rng.lock().expect("rng lock"));
    Ok(BatchResponse { responses })
}

/// What validation learnt: for each item, the index of the item it depends on.
struct Plan {
    depends_on: Vec<Option<usize>>,
}

fn invalid(message: String) -> GraphFailure {
    GraphFailure::bad_request("BadRequest", message)
}

fn validate(items: &[BatchRequestItem]) -> Result<Plan, GraphFailure> {
    if items.is_empty() {
        return Err(invalid(
            "Invalid batch payload format: the batch contains no requests.".into(),
        ));
    }
    if items.len() > MAX_BATCH_ITEMS {
        return Err(invalid(format!(
            "Invalid batch payload format: the batch contains {} requests; the maximum is {MAX_BATCH_ITEMS}.",
            items.len()
        )));
    }
    let mut by_id: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if item.id.trim().is_empty() {
            return Err(invalid(format!(
                "Invalid batch payload format: request {} has an empty id.",
                i + 1
            )));
        }
        if by_id.insert(item.id.to_ascii_lowercase(), i).is_some() {
            return Err(invalid(format!(
                "Invalid batch payload format: the request id '{}' appears more than once. Ids must be unique, ignoring case.",
                item.id
            )));
        }
        let method = item.method.to_ascii_uppercase();
        if !matches!(
            method.as_str(),
            "GET" | "POST" | "PATCH" | "PUT" | "DELETE" | "HEAD"
        ) {
            return Err(invalid(format!(
                "Invalid batch payload format: request id : {} has an unsupported method '{}'.",
                item.id, item.method
            )));
        }
        let is_write = matches!(method.as_str(), "POST" | "PATCH" | "PUT");
        let has_content_type = item_header(item, headers::CONTENT_TYPE).is_some();
        let has_body = item.body.is_some();
        // A body needs a Content-Type, and a write needs both.
        let well_formed = if has_body {
            has_content_type
        } else {
            !is_write
        };
        if !well_formed {
            return Err(invalid(format!(
                "Write request id : {} does not contain Content-Type header or body.",
                item.id
            )));
        }
    }
    let mut depends_on = vec![None; items.len()];
    for (i, item) in items.iter().enumerate() {
        let deps = item.depends_on.as_deref().unwrap_or_default();
        match deps {
            [] => {}
            [dep] => {
                let Some(&d) = by_id.get(&dep.to_ascii_lowercase()) else {
                    return Err(invalid(format!(
                        "Invalid batch payload format: request id : {} depends on '{dep}', which is not in the batch.",
                        item.id
                    )));
                };
                if d == i {
                    return Err(invalid(format!(
                        "Invalid batch payload format: request id : {} depends on itself.",
                        item.id
                    )));
                }
                depends_on[i] = Some(d);
            }
            _ => {
                return Err(invalid(format!(
                    "Invalid batch payload format: request id : {} depends on {} requests; a request can depend on only one other request.",
                    item.id,
                    deps.len()
                )));
            }
        }
    }
    // With one dependency each, a cycle is a chain that comes back to where it started.
    for start in 0..items.len() {
        let mut at = start;
        for _ in 0..items.len() {
            match depends_on[at] {
                Some(next) => at = next,
                None => break,
            }
        }
        if depends_on[at].is_some() {
            return Err(invalid(format!(
                "Invalid batch payload format: the dependsOn of request id : {} forms a cycle.",
                items[start].id
            )));
        }
    }
    Ok(Plan { depends_on })
}

fn item_header<'a>(item: &'a BatchRequestItem, name: &str) -> Option<&'a str> {
    item.headers
        .as_ref()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn run_item(
    state: &SimState,
    version: &str,
    item: &BatchRequestItem,
    app: &str,
    origin: u64,
) -> ItemResponse {
    let method = item.method.to_ascii_uppercase();
    let client_request_id = item_header(item, headers::CLIENT_REQUEST_ID);
    if item.url.contains("://") {
        let f = GraphFailure::bad_request(
            "BadRequest",
            format!(
                "Invalid request URL '{}': a request inside a batch must use a URL relative to the batch's version, like /users/{{id}}.",
                item.url
            ),
        );
        state.stats.record_status(f.status, true);
        return routes::failure_outside_route(state, &f, client_request_id);
    }
    let url = if item.url.starts_with('/') {
        item.url.clone()
    } else {
        format!("/{}", item.url)
    };
    routes::execute(
        state,
        &ItemRequest {
            method: &method,
            version,
            url: &url,
            body: item.body.as_ref(),
            client_request_id,
            eventual: item_header(item, headers::CONSISTENCY_LEVEL)
                .is_some_and(|v| v.eq_ignore_ascii_case("eventual")),
            app,
            in_batch: true,
            origin,
        },
    )
}

fn failed_dependency(state: &SimState, item: &BatchRequestItem) -> ItemResponse {
    let f = GraphFailure::new(
        424,
        "FailedDependency",
        "The request this one depends on failed, so it was not run.",
    );
    state.stats.record_status(f.status, true);
    routes::failure_outside_route(state, &f, item_header(item, headers::CLIENT_REQUEST_ID))
}
