//! Seeded faults: failed requests that change nothing, ghost writes that change the tenant
//! but answer 504, and latency.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::graph::*;
use crate::support::*;

#[tokio::test]
async fn failed_requests_are_503s_504s_or_dropped_connections_and_change_nothing() {
    let mut config = rules_config();
    config.fail_rate = 1.0;
    let g = Graph::start(config).await;
    let mut kinds = BTreeSet::new();
    for _ in 0..30 {
        let kind = match g
            .send_to(
                "POST",
                &format!("/v1.0/users/{ALICE}/revokeSignInSessions"),
                None,
                &[],
            )
            .await
        {
            Err(_) => "dropped".to_string(),
            Ok(a) => {
                if a.status == 503 {
                    let wait: f64 = a
                        .header("Retry-After")
                        .expect("503 says when")
                        .parse()
                        .unwrap();
                    assert!(wait > 0.0);
                }
                assert!(a.header("request-id").is_some());
                assert_eq!(
                    a.body["error"]["innerError"]["request-id"],
                    a.header("request-id").unwrap()
                );
                a.status.to_string()
            }
        };
        kinds.insert(kind);
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["503".to_string(), "504".to_string(), "dropped".to_string()])
    );
    assert!(g.mutations().await.is_empty());
    assert!(g.user_state(ALICE).await["signInSessionsValidFromDateTime"].is_null());
    let stats = g.observe("stats").await;
    assert_eq!(stats["faults"]["failedRequests"], 30);
    assert!(stats["faults"]["droppedConnections"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn batch_items_fail_on_their_own_and_failed_items_change_nothing() {
    let mut config = rules_config();
    config.fail_rate = 0.3;
    config.throttling = false;
    let g = Graph::start(config).await;
    let users = [ALICE, BOB, GUEST, SYNCED, SERVICE, CAROL, DORA];
    let mut applied = 0;
    let mut failed_items = 0;
    for _ in 0..20 {
        let items: Vec<_> = users
            .iter()
            .map(|u| {
                write_item(
                    u,
                    "POST",
                    &format!("/users/{u}/revokeSignInSessions"),
                    json!({}),
                )
            })
            .collect();
        let Ok(a) = g
            .send_to(
                "POST",
                "/v1.0/$batch",
                Some(json!({"requests": items})),
                &[],
            )
            .await
        else {
            continue; // the whole connection was dropped
        };
        if a.status != 200 {
            assert!([503, 504].contains(&a.status), "{}", a.body);
            continue;
        }
        for item in a.body["responses"].as_array().unwrap() {
            match item["status"].as_u64().unwrap() {
                200 => applied += 1,
                503 | 504 => failed_items += 1,
                other => panic!("unexpected item status {other}: {item}"),
            }
        }
    }
    assert!(
        applied > 0 && failed_items > 0,
        "{applied} applied, {failed_items} failed"
    );
    assert_eq!(
        g.mutations().await.len(),
        applied,
        "only answered-200 items changed the tenant"
    );
}

#[tokio::test]
async fn ghost_writes_are_applied_but_answered_504() {
    let mut config = rules_config();
    config.ghost_write_rate = 1.0;
    let g = Graph::start(config).await;
    let path = format!("/users/{DORA}/authentication/fido2Methods/dora-fido2-0001");
    let a = g.send("DELETE", &path, None).await;
    assert_eq!(a.status, 504);
    assert!(
        !g.method_ids(DORA).await.contains(&"dora-fido2-0001".into()),
        "the change was applied"
    );
    // A client retrying the delete finds it gone: it must count that as done.
    assert_eq!(g.send("DELETE", &path, None).await.status, 404);

    let a = g
        .batch(json!([write_item(
            "1",
            "POST",
            &format!("/users/{BOB}/revokeSignInSessions"),
            json!({})
        )]))
        .await;
    assert_eq!(a.item("1")["status"], 504);
    assert!(g.user_state(BOB).await["signInSessionsValidFromDateTime"].is_string());

    // Reads are never ghosts.
    assert_eq!(g.get(&format!("/users/{BOB}")).await.status, 200);
    let log = g.mutations().await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|m| m["ghost"] == true));
    assert_eq!(g.observe("stats").await["faults"]["ghostWrites"], 2);
}

#[tokio::test]
async fn latency_delays_every_graph_request() {
    let mut config = rules_config();
    config.latency = Duration::from_millis(150);
    config.jitter = Duration::from_millis(50);
    let g = Graph::start(config).await;
    let started = Instant::now();
    assert_eq!(g.get(&format!("/users/{ALICE}")).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    // Observation endpoints are not Graph and are not delayed; nothing to assert on speed.
    let _ = g.observe("stats").await;
}
