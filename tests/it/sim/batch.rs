//! `$batch` as Graph does it: envelope rules, per-item answers, `dependsOn` and order.

use serde_json::{Value, json};

use crate::support::graph::*;
use crate::support::*;

#[tokio::test]
async fn a_batch_answers_every_item_with_its_own_status_and_correlation_ids() {
    let g = Graph::rules().await;
    let a = g
        .batch(json!([
            {"id": "read", "method": "GET", "url": format!("/users/{ALICE}/authentication/methods"),
             "headers": {"client-request-id": "11111111-1111-4111-8111-111111111111"}},
            write_item("revoke", "POST", &format!("/users/{BOB}/revokeSignInSessions"), json!({})),
            {"id": "gone", "method": "DELETE", "url": format!("/users/{DORA}/authentication/fido2Methods/dora-fido2-0001")},
            get_item("missing", "/users/nobody@contoso.example"),
            get_item("guest", "/users/guest_fabrikam.example%23EXT%23@contoso.example?$select=id"),
            get_item("quoted", "users('bob.o''neil@contoso.example')"),
        ]))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["responses"].as_array().unwrap().len(), 6);

    let read = a.item("read");
    assert_eq!(read["status"], 200);
    assert_eq!(read["body"]["value"].as_array().unwrap().len(), 6);
    assert_eq!(
        read["headers"]["client-request-id"],
        "11111111-1111-4111-8111-111111111111"
    );
    assert_eq!(read["headers"]["x-ms-resource-unit"], "1");
    assert_eq!(a.item("revoke")["status"], 200);
    assert_eq!(a.item("revoke")["body"]["value"], true);
    assert_eq!(a.item("gone")["status"], 204);
    let missing = a.item("missing");
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["body"]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        missing["body"]["error"]["innerError"]["request-id"],
        missing["headers"]["request-id"]
    );
    assert_eq!(a.item("guest")["body"]["id"], GUEST);
    assert_eq!(a.item("quoted")["body"]["id"], BOB);
    for item in a.body["responses"].as_array().unwrap() {
        assert!(item["headers"]["request-id"].is_string(), "{item}");
        assert!(item["headers"]["client-request-id"].is_string(), "{item}");
    }

    // The writes happened, and nothing else.
    assert!(!g.method_ids(DORA).await.contains(&"dora-fido2-0001".into()));
    assert!(g.user_state(BOB).await["signInSessionsValidFromDateTime"].is_string());
    assert_eq!(g.mutations().await.len(), 2);
    let stats = g.observe("stats").await;
    assert_eq!(stats["batchRequests"], 1);
    assert_eq!(stats["batchItems"], 6);
    assert_eq!(stats["batchItemsByStatus"]["200"], 4);
}

async fn whole_batch_refused(g: &Graph, items: Value) -> String {
    let a = g.batch(items).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.get("responses").is_none());
    a.error_message().to_string()
}

#[tokio::test]
async fn a_malformed_batch_fails_whole_and_changes_nothing() {
    let g = Graph::rules().await;
    let revoke = |id: &str| {
        write_item(
            id,
            "POST",
            &format!("/users/{ALICE}/revokeSignInSessions"),
            json!({}),
        )
    };

    let items: Vec<Value> = (0..21).map(|i| revoke(&i.to_string())).collect();
    let message = whole_batch_refused(&g, json!(items)).await;
    assert!(message.contains("20"), "{message}");
    let items: Vec<Value> = (0..20)
        .map(|i| get_item(&i.to_string(), "/users?$top=1"))
        .collect();
    assert_eq!(g.batch(json!(items)).await.status, 200);

    let message = whole_batch_refused(&g, json!([revoke("a"), revoke("A")])).await;
    assert!(message.contains("'A'"), "{message}");

    let message = whole_batch_refused(
        &g,
        json!([
            revoke("1"),
            {"id": "2", "method": "POST", "url": format!("/users/{BOB}/revokeSignInSessions"), "body": {}},
        ]),
    )
    .await;
    assert_eq!(
        message,
        "Write request id : 2 does not contain Content-Type header or body."
    );
    let message = whole_batch_refused(
        &g,
        json!([{"id": "3", "method": "PATCH", "url": format!("/users/{BOB}"),
                "headers": {"content-type": "application/json"}}]),
    )
    .await;
    assert!(message.starts_with("Write request id : 3"), "{message}");

    whole_batch_refused(&g, json!([])).await;
    whole_batch_refused(
        &g,
        json!([{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]),
    )
    .await;
    whole_batch_refused(
        &g,
        json!([
            {"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]},
            {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]},
        ]),
    )
    .await;

    let resp = g
        .http
        .post(g.url("/v1.0/$batch"))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/json")
        .body("{\"requests\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    assert!(
        g.mutations().await.is_empty(),
        "a refused batch changed the tenant"
    );
    assert!(g.user_state(ALICE).await["signInSessionsValidFromDateTime"].is_null());
}

#[tokio::test]
async fn an_absolute_url_fails_only_its_own_item() {
    let g = Graph::rules().await;
    let a = g
        .batch(json!([
            get_item(
                "abs",
                &format!("https://graph.microsoft.com/v1.0/users/{ALICE}")
            ),
            get_item("rel", &format!("/users/{ALICE}")),
        ]))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.item("abs")["status"], 400);
    assert_eq!(a.item("rel")["status"], 200);
}

#[tokio::test]
async fn dependents_of_a_failed_item_get_424_and_are_not_run() {
    let g = Graph::rules().await;
    let a = g
        .batch(json!([
            // Fails: mobile waits for the alternate mobile.
            {"id": "1", "method": "DELETE", "url": format!("/users/{ALICE}/authentication/phoneMethods/{MOBILE}")},
            {"id": "2", "method": "DELETE", "url": format!("/users/{ALICE}/authentication/emailMethods/{EMAIL}"), "dependsOn": ["1"]},
            {"id": "3", "method": "DELETE", "url": format!("/users/{ALICE}/authentication/fido2Methods/alice-fido2-0001"), "dependsOn": ["2"]},
            // Succeeds, so its dependent runs, after it.
            {"id": "4", "method": "DELETE", "url": format!("/users/{CAROL}/authentication/softwareOathMethods/carol-oath-0001")},
            {"id": "5", "method": "DELETE", "url": format!("/users/{CAROL}/authentication/phoneMethods/{MOBILE}"), "dependsOn": ["4"]},
        ]))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.item("1")["status"], 400);
    assert_eq!(a.item("2")["status"], 424);
    assert_eq!(a.item("3")["status"], 424);
    assert_eq!(a.item("4")["status"], 204);
    assert_eq!(a.item("5")["status"], 204, "{}", a.item("5"));
    assert_eq!(g.method_ids(ALICE).await.len(), 6, "424 items must not run");
    let log = g.mutations().await;
    let order: Vec<&str> = log
        .iter()
        .map(|m| m["methodId"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["carol-oath-0001", MOBILE]);
}

#[tokio::test]
async fn items_run_and_come_back_in_a_seeded_shuffled_order() {
    let orders = async |seed: u64| {
        let mut config = rules_config();
        config.seed = seed;
        let g = Graph::start(config).await;
        let items: Vec<Value> = (0..20)
            .map(|i| get_item(&i.to_string(), &format!("/users/{ALICE}?$select=id")))
            .collect();
        let mut orders = Vec::new();
        for _ in 0..3 {
            let a = g.batch(json!(items)).await;
            let ids: Vec<String> = a.body["responses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            orders.push(ids);
        }
        orders
    };
    let first = orders(11).await;
    let in_order: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert!(first.iter().any(|o| *o != in_order), "never shuffled");
    assert_eq!(first, orders(11).await, "same seed, same order");
    assert_ne!(first, orders(12).await, "another seed, another order");
}
