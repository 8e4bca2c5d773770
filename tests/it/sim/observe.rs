//! The observation endpoints: `/_sim/stats`, `/_sim/state`, `/_sim/mutations`.

use std::time::Duration;

use mfa_reset::sim::TenantSource;
use serde_json::{Value, json};

use crate::support::graph::*;
use crate::support::*;

#[tokio::test]
async fn stats_count_requests_items_statuses_quota_and_peak_concurrency() {
    let mut config = rules_config();
    config.latency = Duration::from_millis(300);
    let g = Graph::start(config).await;
    let before = g.observe("stats").await;
    assert_eq!(before["httpRequests"], 1, "the stats request itself");

    // Four requests at once, each held 300 ms by the latency: they overlap.
    let paths: Vec<String> = [ALICE, BOB, CAROL, DORA]
        .iter()
        .map(|u| format!("/users/{u}/authentication/methods"))
        .collect();
    let answers = futures_join_all(&g, &paths).await;
    assert!(answers.iter().all(|s| *s == 200));
    g.batch(json!([
        get_item("1", &format!("/users/{ALICE}")),
        get_item("2", "/users/nobody@contoso.example"),
        write_item(
            "3",
            "POST",
            &format!("/users/{BOB}/revokeSignInSessions"),
            json!({})
        ),
    ]))
    .await;

    let stats = g.observe("stats").await;
    assert_eq!(stats["httpRequests"], 7);
    assert_eq!(stats["graphRequests"], 5);
    assert_eq!(stats["requestsByStatus"]["200"], 5);
    assert_eq!(stats["batchRequests"], 1);
    assert_eq!(stats["batchItems"], 3);
    assert_eq!(stats["batchItemsByStatus"], json!({"200": 2, "404": 1}));
    assert_eq!(stats["resourceUnitsSpent"], 7);
    assert_eq!(stats["writesSpent"], 1);
    assert_eq!(stats["throttled"], 0);
    assert_eq!(stats["earlyRetries"], 0);
    let peak = stats["peakConcurrentRequests"].as_u64().unwrap();
    assert!((2..=5).contains(&peak), "peak {peak}");
}

async fn futures_join_all(g: &Graph, paths: &[String]) -> Vec<u16> {
    let mut tasks = tokio::task::JoinSet::new();
    for path in paths {
        let url = g.url(&format!("/v1.0{path}"));
        let http = g.http.clone();
        tasks.spawn(async move {
            http.get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn state_is_the_tenant_file_and_loads_back_unchanged() {
    let g = Graph::rules().await;
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(data("tenant-rules.json")).unwrap()).unwrap();
    let state = g.observe("state").await;
    assert_eq!(
        state, fixture,
        "an untouched tenant dumps exactly as it was loaded"
    );

    g.send(
        "POST",
        &format!("/users/{ALICE}/revokeSignInSessions"),
        None,
    )
    .await;
    let changed = g.observe("state").await;
    let dir = std::env::temp_dir().join(format!("mfa-reset-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenant.json");
    std::fs::write(&file, serde_json::to_vec(&changed).unwrap()).unwrap();
    let mut config = rules_config();
    config.tenant = TenantSource::File(file);
    let reloaded = Graph::start(config).await;
    assert_eq!(reloaded.observe("state").await, changed);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn mutations_list_every_applied_change_in_order() {
    let g = Graph::rules().await;
    g.send(
        "DELETE",
        &format!("/users/{CAROL}/authentication/softwareOathMethods/carol-oath-0001"),
        None,
    )
    .await;
    g.send(
        "PATCH",
        &format!("/users/{CAROL}"),
        Some(json!({"accountEnabled": false})),
    )
    .await;
    // Refused: not a mutation.
    g.send(
        "DELETE",
        &format!("/users/{CAROL}/authentication/passwordMethods/{PASSWORD}"),
        None,
    )
    .await;
    let tap = g
        .send(
            "POST",
            &format!("/users/{CAROL}/authentication/temporaryAccessPassMethods"),
            Some(json!({"lifetimeInMinutes": 60})),
        )
        .await;
    let log = g.mutations().await;
    let ops: Vec<&str> = log.iter().map(|m| m["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        ["deleteMethod", "updateUser", "createTemporaryAccessPass"]
    );
    let sequence: Vec<u64> = log
        .iter()
        .map(|m| m["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequence, [1, 2, 3]);
    assert_eq!(log[0]["methodType"], "softwareOath");
    assert_eq!(log[0]["wasDefault"], false);
    assert_eq!(log[1]["accountEnabled"], false);
    assert_eq!(log[2]["replaced"], "carol-tap-0001");
    assert_eq!(log[2]["userPrincipalName"], "carol@contoso.example");
    assert_eq!(log[2]["requestId"], tap.header("request-id").unwrap());
    let pass = tap.body["temporaryAccessPass"].as_str().unwrap();
    assert!(
        !Value::Array(log).to_string().contains(pass),
        "the pass leaked"
    );
}
