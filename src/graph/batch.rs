//! `$batch` bodies and what every item's answer means.
//!
//! Graph answers a well-formed batch with 200 whatever happened to the items; each item
//! has its own status, headers and body, comes back in any order, and is throttled on its
//! own. [`classify`] turns one item's answer into an [`ItemOutcome`] the dispatcher can act
//! on: success, throttled, transient, authentication expired, failed dependency, or
//! permanent (keeping Graph's code, message and `request-id` for the report).

use std::time::Duration;

use serde_json::Value;

use super::request::GraphRequest;
use crate::wire::{BatchRequest, BatchRequestItem, BatchResponseItem, headers};

/// One item to put in a batch: its id in the batch, its request, its `client-request-id`.
pub struct Item<'a> {
    pub id: String,
    pub request: &'a GraphRequest,
    pub client_request_id: String,
}

/// Builds the `$batch` body for `items` (at most 20, all of one API version).
pub fn encode(items: &[Item<'_>]) -> BatchRequest {
    BatchRequest {
        requests: items
            .iter()
            .map(|item| {
                let mut item_headers = std::collections::BTreeMap::new();
                item_headers.insert(
                    headers::CLIENT_REQUEST_ID.to_string(),
                    item.client_request_id.clone(),
                );
                if item.request.is_advanced_query() {
                    item_headers.insert(
                        headers::CONSISTENCY_LEVEL.to_string(),
                        "eventual".to_string(),
                    );
                }
                if item.request.body.is_some() {
                    item_headers.insert(
                        headers::CONTENT_TYPE.to_string(),
                        "application/json".to_string(),
                    );
                }
                BatchRequestItem {
                    id: item.id.clone(),
                    method: item.request.method.as_str().to_string(),
                    url: item.request.url.clone(),
                    headers: Some(item_headers),
                    body: item.request.body.clone(),
                    depends_on: None,
                }
            })
            .collect(),
    }
}

/// Graph's error, as an item or a whole request reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphFault {
    pub status: u16,
    /// Graph's error code (`Request_ResourceNotFound`, `badRequest`, ...).
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for GraphFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.code.is_empty() {
            write!(f, "HTTP {}: {}", self.status, self.message)
        } else {
            write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
        }
    }
}

impl GraphFault {
    /// Reads Graph's `{"error": {"code", "message"}}` body, or makes do without one.
    pub fn from_body(status: u16, body: Option<&Value>) -> GraphFault {
        let error = body.and_then(|b| b.get("error"));
        let text = |name: &str| {
            error
                .and_then(|e| e.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut message = text("message");
        if message.trim().is_empty() {
            // An empty or missing message would leave the operator with "HTTP 0: ".
            message = http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Graph gave no error message")
                .to_string();
        }
        GraphFault {
            status,
            code: text("code"),
            message,
        }
    }
}

/// What one item's answer means.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    /// 2xx.
    Success {
        status: u16,
        body: Option<Value>,
        /// `x-ms-throttle-limit-percentage` when Graph sent it: the quota is nearly used.
        limit_percentage: Option<f64>,
    },
    /// 429: wait `retry_after` (or a default when Graph gave none), then send again.
    Throttled { retry_after: Option<Duration> },
    /// 500, 502, 503, 504: the service did not finish; the change may or may not have
    /// happened (a 504 is the typical ghost write).
    Transient {
        fault: GraphFault,
        retry_after: Option<Duration>,
    },
    /// 401: the access token expired or was refused.
    AuthExpired(GraphFault),
    /// 424: an item it depended on failed.
    Dependency,
    /// Any other status: sending it again would fail the same way.
    Permanent(GraphFault),
}

/// One item's answer, classified, with Graph's `request-id` for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemAnswer {
    pub id: String,
    pub outcome: ItemOutcome,
    pub request_id: Option<String>,
}

/// Classifies one item of a batch answer.
pub fn classify(item: BatchResponseItem) -> ItemAnswer {
    let request_id = item.header(headers::REQUEST_ID).map(str::to_string);
    let retry_after = item
        .header(headers::RETRY_AFTER)
        .and_then(parse_retry_after);
    let outcome = classify_status(
        item.status,
        retry_after,
        item.header(headers::THROTTLE_LIMIT_PERCENTAGE)
            .and_then(|p| p.trim().parse::<f64>().ok())
            // `NaN` and `inf` parse as floats too; they are no percentage.
            .filter(|p| p.is_finite()),
        item.body,
    );
    ItemAnswer {
        id: item.id,
        outcome,
        request_id,
    }
}

/// Classifies a status with its `Retry-After`, limit percentage and body; shared by batch
/// items and whole answers.
pub fn classify_status(
    status: u16,
    retry_after: Option<Duration>,
    limit_percentage: Option<f64>,
    body: Option<Value>,
) -> ItemOutcome {
    match status {
        200..=299 => ItemOutcome::Success {
            status,
            body,
            limit_percentage,
        },
        429 => ItemOutcome::Throttled { retry_after },
        500 | 502 | 503 | 504 => ItemOutcome::Transient {
            fault: GraphFault::from_body(status, body.as_ref()),
            retry_after,
        },
        401 => ItemOutcome::AuthExpired(GraphFault::from_body(status, body.as_ref())),
        424 => ItemOutcome::Dependency,
        _ => ItemOutcome::Permanent(GraphFault::from_body(status, body.as_ref())),
    }
}

/// The longest wait a `Retry-After` is believed for: a day. Anything longer (a date in
/// year 9999, say) would stall the pacer, and with it the whole run, for good.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// Reads a `Retry-After`: decimal seconds as Graph sends on batch items (`2.5`), whole
/// seconds, or an HTTP date; capped at [`MAX_RETRY_AFTER`]. Negative or unreadable values
/// are ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let when =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = when - time::OffsetDateTime::now_utc();
    Some(
        Duration::try_from(wait)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(status: u16, headers: &[(&str, &str)], body: Option<Value>) -> BatchResponseItem {
        BatchResponseItem {
            id: "1".into(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }

    #[test]
    fn retry_after_is_decimal_seconds_whole_seconds_or_a_date() {
        assert_eq!(parse_retry_after("2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_retry_after(" 60 "), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        // However far off the date (or large the number), the wait is capped at a day.
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("1e300"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn items_are_classified_by_status_keeping_graphs_error_and_request_id() {
        let a = classify(item(
            429,
            &[("Retry-After", "1.25"), ("request-id", "r-1")],
            Some(json!({"error": {"code": "TooManyRequests", "message": "slow down"}})),
        ));
        assert_eq!(
            a.outcome,
            ItemOutcome::Throttled {
                retry_after: Some(Duration::from_millis(1250))
            }
        );
        assert_eq!(a.request_id.as_deref(), Some("r-1"));
        assert_eq!(
            classify(item(429, &[], None)).outcome,
            ItemOutcome::Throttled { retry_after: None }
        );

        let a = classify(item(
            200,
            &[("x-ms-throttle-limit-percentage", "0.93")],
            Some(json!({"value": true})),
        ));
        assert_eq!(
            a.outcome,
            ItemOutcome::Success {
                status: 200,
                body: Some(json!({"value": true})),
                limit_percentage: Some(0.93)
            }
        );
        assert!(matches!(
            classify(item(504, &[], None)).outcome,
            ItemOutcome::Transient {
                retry_after: None,
                ..
            }
        ));
        assert!(matches!(
            classify(item(503, &[("Retry-After", "2")], None)).outcome,
            ItemOutcome::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(2)
        ));
        assert!(matches!(
            classify(item(401, &[], None)).outcome,
            ItemOutcome::AuthExpired(_)
        ));
        assert_eq!(
            classify(item(424, &[], None)).outcome,
            ItemOutcome::Dependency
        );
        // Found by fuzzing: a fault without a message still says something.
        assert_eq!(
            GraphFault::from_body(0, None).to_string(),
            "HTTP 0: Graph gave no error message"
        );
        assert_eq!(
            GraphFault::from_body(403, Some(&serde_json::json!({"error": {"message": ""}})))
                .to_string(),
            "HTTP 403: Forbidden"
        );
        for junk in ["NaN", "inf", "-infinity", "x"] {
            let a = classify(item(200, &[("x-ms-throttle-limit-percentage", junk)], None));
            assert!(
                matches!(
                    a.outcome,
                    ItemOutcome::Success {
                        limit_percentage: None,
                        ..
                    }
                ),
                "{junk}"
            );
        }
        let a = classify(item(
            400,
            &[],
            Some(
                json!({"error": {"code": "badRequest", "message": "Cannot delete default method"}}),
            ),
        ));
        let ItemOutcome::Permanent(fault) = a.outcome else {
            panic!("400 is permanent")
        };
        assert_eq!(fault.code, "badRequest");
        assert_eq!(
            fault.to_string(),
            "HTTP 400 badRequest: Cannot delete default method"
        );
    }

    #[test]
    fn writes_carry_content_type_and_every_item_its_client_request_id() {
        let key = crate::graph::key::UserKey::parse("alice@contoso.example").unwrap();
        let revoke = GraphRequest::revoke_sessions(&key).unwrap();
        let read = GraphRequest::list_methods(&key).unwrap();
        let body = encode(&[
            Item {
                id: "0".into(),
                request: &revoke,
                client_request_id: "c-0".into(),
            },
            Item {
                id: "1".into(),
                request: &read,
                client_request_id: "c-1".into(),
            },
        ]);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["requests"][0]["method"], "POST");
        assert_eq!(
            json["requests"][0]["headers"]["Content-Type"],
            "application/json"
        );
        assert_eq!(json["requests"][0]["body"], json!({}));
        assert_eq!(json["requests"][1]["headers"]["client-request-id"], "c-1");
        assert!(json["requests"][1].get("body").is_none());
        assert!(json["requests"][1]["headers"].get("Content-Type").is_none());
    }
}
