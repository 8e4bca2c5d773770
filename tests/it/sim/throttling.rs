//! Entra's identity throttling: resource units and writes per app, writes per tenant,
//! every batch item on its own, `--time-scale`, and early retries.

use std::time::Duration;

use mfa_reset::secret::Secret;
use mfa_reset::sim::{SimApp, SimConfig, TenantSize};
use serde_json::{Value, json};

use crate::support::graph::*;
use crate::support::*;

fn config_with(quotas: mfa_reset::sim::Quotas, time_scale: f64) -> SimConfig {
    SimConfig {
        quotas: Some(quotas),
        time_scale,
        ..rules_config()
    }
}

fn statuses(a: &Answer) -> (Vec<&Value>, Vec<&Value>) {
    let items = a.body["responses"].as_array().expect("a batch answer");
    let ok = items.iter().filter(|i| i["status"] == 200).collect();
    let throttled = items.iter().filter(|i| i["status"] == 429).collect();
    (ok, throttled)
}

fn retry_after(item: &Value) -> f64 {
    item["headers"]["Retry-After"]
        .as_str()
        .unwrap_or_else(|| panic!("no Retry-After: {item}"))
        .parse()
        .expect("decimal seconds")
}

fn reads(n: usize) -> Value {
    json!(
        (0..n)
            .map(|i| get_item(
                &i.to_string(),
                &format!("/users/{ALICE}/authentication/methods")
            ))
            .collect::<Vec<_>>()
    )
}

#[tokio::test]
async fn some_items_of_a_batch_are_throttled_while_others_succeed() {
    let g = Graph::start(config_with(tiny_quotas(10.0, 100.0, 100.0), 1.0)).await;
    let a = g.batch(reads(20)).await;
    assert_eq!(a.status, 200, "the envelope is 200 whatever the items");
    let (ok, throttled) = statuses(&a);
    assert!((10..=11).contains(&ok.len()), "{} succeeded", ok.len());
    assert_eq!(ok.len() + throttled.len(), 20);

    let scope = format!(
        "Tenant_Application/ReadWrite/{}/{}",
        g.sim.client_id(),
        g.sim.tenant_id()
    );
    for item in &throttled {
        assert_eq!(item["body"]["error"]["code"], "TooManyRequests");
        assert!(retry_after(item) > 0.0);
        assert_eq!(item["headers"]["x-ms-throttle-scope"], scope.as_str());
        assert_eq!(
            item["headers"]["x-ms-throttle-information"],
            "ResourceUnitLimitExceeded"
        );
        assert!(item["headers"]["request-id"].is_string());
    }
    // Throttled requests still spend quota, so each later one is told to wait longer.
    let waits: Vec<f64> = throttled.iter().map(|i| retry_after(i)).collect();
    let (min, max) = waits
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), w| (lo.min(*w), hi.max(*w)));
    assert!(max - min >= 5.0, "waits {waits:?}");
    for item in &ok {
        assert_eq!(item["headers"]["x-ms-resource-unit"], "1");
    }
    assert!(
        ok.iter()
            .any(|i| i["headers"]["x-ms-throttle-limit-percentage"].is_string()),
        "items above 80% of the quota say so"
    );
    assert!(
        ok.iter()
            .any(|i| i["headers"]["x-ms-throttle-limit-percentage"].is_null())
    );

    let stats = g.observe("stats").await;
    assert_eq!(stats["throttled"], throttled.len());
    assert_eq!(stats["batchItemsByStatus"]["429"], throttled.len());
    assert_eq!(stats["resourceUnitsSpent"], 20);
}

#[tokio::test]
async fn the_resource_unit_bucket_refills_at_the_scaled_rate() {
    // 10 RU per 10 s, a hundred times faster: 10 RU per 0.1 s.
    let g = Graph::start(config_with(tiny_quotas(10.0, 100.0, 100.0), 100.0)).await;
    let a = g.batch(reads(20)).await;
    let (_, throttled) = statuses(&a);
    assert!(throttled.len() >= 9);
    let wait = throttled.iter().map(|i| retry_after(i)).fold(0.0, f64::max);
    assert!(
        wait < 1.0,
        "Retry-After is divided by the time scale: {wait}"
    );

    tokio::time::sleep(Duration::from_secs_f64(wait + 0.05)).await;
    let a = g
        .get(&format!("/users/{ALICE}/authentication/methods"))
        .await;
    assert_eq!(a.status, 200, "after Retry-After the request succeeds");
    assert_eq!(g.observe("stats").await["earlyRetries"], 0);
}

#[tokio::test]
async fn select_lowers_the_cost_of_a_list_and_costs_are_counted() {
    let g = Graph::rules().await;
    assert_eq!(
        g.get("/users").await.header("x-ms-resource-unit"),
        Some("2")
    );
    assert_eq!(
        g.get("/users?$select=id")
            .await
            .header("x-ms-resource-unit"),
        Some("1")
    );
    assert_eq!(
        g.get(&format!("/users/{ALICE}?$select=id"))
            .await
            .header("x-ms-resource-unit"),
        Some("1"),
        "never below 1"
    );
    let a = g
        .send(
            "POST",
            &format!("/users/{ALICE}/revokeSignInSessions"),
            None,
        )
        .await;
    assert_eq!(a.header("x-ms-resource-unit"), Some("1"));
    let stats = g.observe("stats").await;
    assert_eq!(stats["resourceUnitsSpent"], 5);
    assert_eq!(stats["writesSpent"], 1);
}

fn revokes(users: &[&str]) -> Value {
    json!(
        users
            .iter()
            .enumerate()
            .map(|(i, u)| write_item(
                &i.to_string(),
                "POST",
                &format!("/users/{u}/revokeSignInSessions"),
                json!({})
            ))
            .collect::<Vec<_>>()
    )
}

const CHANGEABLE: [&str; 7] = [ALICE, BOB, GUEST, SYNCED, SERVICE, CAROL, DORA];

#[tokio::test]
async fn the_app_write_bucket_throttles_writes_but_not_reads() {
    let g = Graph::start(config_with(tiny_quotas(1000.0, 5.0, 1000.0), 1.0)).await;
    let a = g.batch(revokes(&CHANGEABLE)).await;
    let (ok, throttled) = statuses(&a);
    assert_eq!((ok.len(), throttled.len()), (5, 2), "{}", a.body);
    for item in &throttled {
        assert_eq!(
            item["headers"]["x-ms-throttle-scope"],
            format!(
                "Tenant_Application/Write/{}/{}",
                g.sim.client_id(),
                g.sim.tenant_id()
            )
        );
        assert_eq!(
            item["headers"]["x-ms-throttle-information"],
            "WriteLimitExceeded"
        );
    }
    assert_eq!(
        g.mutations().await.len(),
        5,
        "throttled writes change nothing"
    );
    assert_eq!(g.get(&format!("/users/{ALICE}")).await.status, 200);
    let stats = g.observe("stats").await;
    assert_eq!(stats["writesSpent"], 5);
    assert_eq!(stats["resourceUnitsSpent"], 8);
}

#[tokio::test]
async fn the_app_write_bucket_refills_at_the_scaled_rate() {
    // 5 writes per 150 s, 150 times faster: 5 per second.
    let g = Graph::start(config_with(tiny_quotas(1000.0, 5.0, 1000.0), 150.0)).await;
    let a = g.batch(revokes(&CHANGEABLE)).await;
    let (_, throttled) = statuses(&a);
    assert!(!throttled.is_empty());
    let wait = throttled.iter().map(|i| retry_after(i)).fold(0.0, f64::max);
    assert!(wait < 2.0, "{wait}");
    tokio::time::sleep(Duration::from_secs_f64(wait + 0.05)).await;
    let a = g
        .send(
            "POST",
            &format!("/users/{ALICE}/revokeSignInSessions"),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test]
async fn the_tenant_write_bucket_is_shared_by_every_app() {
    let second_app = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
    let mut config = config_with(tiny_quotas(1000.0, 100.0, 4.0), 1.0);
    config.apps.push(SimApp {
        client_id: second_app.into(),
        client_secret: Some(Secret::new("second-app-secret")),
        ..SimApp::default()
    });
    let mut g = Graph::start(config).await;
    let a = g.batch(revokes(&CHANGEABLE[..3])).await;
    assert_eq!(statuses(&a).0.len(), 3);

    let token = secret_grant(&g, g.sim.tenant_id(), second_app, "second-app-secret").await;
    g.token = token.body["access_token"].as_str().unwrap().to_string();
    let a = g.batch(revokes(&CHANGEABLE[3..6])).await;
    let (ok, throttled) = statuses(&a);
    assert_eq!((ok.len(), throttled.len()), (1, 2), "{}", a.body);
    assert_eq!(
        throttled[0]["headers"]["x-ms-throttle-scope"],
        format!("Tenant/Write/{second_app}/{}", g.sim.tenant_id())
    );
    let apps: Vec<String> = g
        .mutations()
        .await
        .iter()
        .map(|m| m["appId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(apps.iter().filter(|a| *a == second_app).count(), 1);
    assert_eq!(apps.len(), 4);
}

#[tokio::test]
async fn retrying_inside_the_retry_after_window_is_counted_as_an_early_retry() {
    let g = Graph::start(config_with(tiny_quotas(2.0, 100.0, 100.0), 1.0)).await;
    let path = format!("/users/{ALICE}/authentication/methods");
    assert_eq!(g.get(&path).await.status, 200);
    assert_eq!(g.get(&path).await.status, 200);
    let a = g.get(&path).await;
    assert_eq!(a.status, 429);
    assert!(a.header("Retry-After").is_some());
    assert_eq!(g.observe("stats").await["earlyRetries"], 0);
    assert_eq!(g.get(&path).await.status, 429);
    let other = g.get(&format!("/users/{BOB}/authentication/methods")).await;
    assert_eq!(other.status, 429);
    let stats = g.observe("stats").await;
    assert_eq!(stats["earlyRetries"], 1, "only the same request counts");
    assert_eq!(stats["requestsByStatus"]["429"], 3);
}

#[tokio::test]
async fn no_throttle_turns_throttling_off() {
    let mut config = config_with(tiny_quotas(1.0, 1.0, 1.0), 1.0);
    config.throttling = false;
    let g = Graph::start(config).await;
    let a = g.batch(reads(20)).await;
    assert_eq!(statuses(&a).0.len(), 20);
    let a = g.batch(revokes(&CHANGEABLE)).await;
    assert_eq!(statuses(&a).0.len(), 7);
    assert_eq!(g.observe("stats").await["throttled"], 0);
}

#[tokio::test]
async fn a_small_tenant_gets_the_documented_3500_resource_units() {
    // Time almost stands still (ten thousand times slower), so nothing refills meanwhile:
    // 0.035 units a second, so the 176 batches would have to take a minute to let two
    // more in (a thousand times slower, ten seconds on a loaded machine let 3,503 in).
    let mut config = rules_config();
    config.tenant_size = TenantSize::Small;
    config.time_scale = 0.0001;
    let g = Graph::start(config).await;
    let mut ok = 0;
    let mut throttled = 0;
    for _ in 0..176 {
        let a = g.batch(reads(20)).await;
        let (o, t) = statuses(&a);
        ok += o.len();
        throttled += t.len();
    }
    assert!((3500..=3502).contains(&ok), "{ok} admitted");
    assert_eq!(ok + throttled, 3520);
}
