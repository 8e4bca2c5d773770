//! The tenant's Temporary Access Pass policy: served as Graph serves it, set from a tenant
//! file or the handle, and enforced on every pass created — the lifetime range with
//! Graph's own message, a disabled policy, one-time passes only — with nothing created or
//! logged when a creation is refused.

use mfa_reset::sim::{TapPolicy, TenantSource, permissions};
use serde_json::json;

use crate::support::graph::*;
use crate::support::*;

const POLICY_PATH: &str =
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";

fn taps_path() -> String {
    format!("/users/{CAROL}/authentication/temporaryAccessPassMethods")
}

#[tokio::test]
async fn the_policy_is_served_with_entras_defaults_and_counted_as_a_read() {
    let g = Graph::rules().await;
    let before = g.observe("stats").await["resourceUnitsSpent"].clone();
    let a = g.get(POLICY_PATH).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.body["@odata.type"],
        "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
    );
    assert_eq!(a.body["id"], "TemporaryAccessPass");
    assert_eq!(a.body["state"], "enabled");
    assert_eq!(a.body["defaultLifetimeInMinutes"], 60);
    assert_eq!(a.body["minimumLifetimeInMinutes"], 60);
    assert_eq!(a.body["maximumLifetimeInMinutes"], 480);
    assert_eq!(a.body["isUsableOnce"], false);
    assert_eq!(a.body["defaultLength"], 8);
    assert!(
        a.body["@odata.context"]
            .as_str()
            .unwrap()
            .contains("$metadata#")
    );
    // Microsoft's pages spell the id both ways.
    let lower = g
        .get(&POLICY_PATH.replace("TemporaryAccessPass", "temporaryAccessPass"))
        .await;
    assert_eq!(lower.status, 200);
    let after = g.observe("stats").await["resourceUnitsSpent"].clone();
    assert_ne!(before, after, "reading the policy spends resource units");
}

#[tokio::test]
async fn a_lifetime_outside_the_policys_range_is_refused_with_graphs_message() {
    let g = Graph::rules().await;
    g.sim
        .set_tap_policy(TapPolicy {
            minimum_lifetime_in_minutes: 60,
            maximum_lifetime_in_minutes: 120,
            default_lifetime_in_minutes: 90,
            ..TapPolicy::default()
        })
        .unwrap();
    assert_eq!(
        g.get(POLICY_PATH).await.body["maximumLifetimeInMinutes"],
        120
    );
    for bad in [59, 121, 480] {
        let a = g
            .send(
                "POST",
                &taps_path(),
                Some(json!({"lifetimeInMinutes": bad})),
            )
            .await;
        assert_eq!(a.status, 400, "lifetime {bad}: {}", a.body);
        assert_eq!(a.error_code(), "badRequest");
        assert_eq!(
            a.error_message(),
            "Invalid LifetimeInMinutes specified. The valid range between 60 and 120."
        );
    }
    // The same inside a batch.
    let a = g
        .batch(json!([{"id": "1", "method": "POST", "url": taps_path(),
                       "headers": {"Content-Type": "application/json"},
                       "body": {"lifetimeInMinutes": 480}}]))
        .await;
    assert_eq!(a.item("1")["status"], 400, "{}", a.body);
    assert!(
        g.mutations().await.is_empty(),
        "a refused pass is no change"
    );

    let a = g
        .send(
            "POST",
            &taps_path(),
            Some(json!({"lifetimeInMinutes": 120})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    // Without a lifetime, the policy's default.
    let a = g.send("POST", &taps_path(), Some(json!({}))).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["lifetimeInMinutes"], 90);
}

#[tokio::test]
async fn a_disabled_policy_or_one_time_passes_only_refuse_what_they_forbid() {
    let g = Graph::rules().await;
    g.sim
        .set_tap_policy(TapPolicy {
            state: false,
            ..TapPolicy::default()
        })
        .unwrap();
    assert_eq!(g.get(POLICY_PATH).await.body["state"], "disabled");
    let a = g
        .send("POST", &taps_path(), Some(json!({"lifetimeInMinutes": 60})))
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.error_message().contains("TemporaryAccessPass"),
        "{}",
        a.body
    );

    g.sim
        .set_tap_policy(TapPolicy {
            is_usable_once: true,
            default_length: 12,
            ..TapPolicy::default()
        })
        .unwrap();
    let a = g
        .send(
            "POST",
            &taps_path(),
            Some(json!({"lifetimeInMinutes": 60, "isUsableOnce": false})),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.error_message().contains("IsUsableOnce"), "{}", a.body);
    assert!(g.mutations().await.is_empty());
    // Asked for or not, a pass is then one-time, of the policy's length.
    for body in [json!({"isUsableOnce": true}), json!({})] {
        let a = g.send("POST", &taps_path(), Some(body)).await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["isUsableOnce"], true);
        assert_eq!(a.body["temporaryAccessPass"].as_str().unwrap().len(), 12);
    }
}

#[tokio::test]
async fn a_policy_entra_would_not_accept_is_refused() {
    let g = Graph::rules().await;
    for bad in [
        TapPolicy {
            minimum_lifetime_in_minutes: 5,
            ..TapPolicy::default()
        },
        TapPolicy {
            maximum_lifetime_in_minutes: 50_000,
            ..TapPolicy::default()
        },
        TapPolicy {
            default_lifetime_in_minutes: 500,
            ..TapPolicy::default()
        },
        TapPolicy {
            default_length: 4,
            ..TapPolicy::default()
        },
    ] {
        assert!(g.sim.set_tap_policy(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        g.get(POLICY_PATH).await.body["maximumLifetimeInMinutes"],
        480
    );
}

#[tokio::test]
async fn a_tenant_file_sets_the_policy_and_a_dump_keeps_it() {
    let mut tenant: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("tenant-rules.json")).unwrap()).unwrap();
    tenant["temporaryAccessPassPolicy"] = json!({
        "minimumLifetimeInMinutes": 30,
        "maximumLifetimeInMinutes": 240,
        "defaultLifetimeInMinutes": 30,
        "isUsableOnce": true
    });
    let dir = scratch("tap-policy-file");
    let file = dir.join("tenant.json");
    std::fs::write(&file, tenant.to_string()).unwrap();
    let mut config = rules_config();
    config.tenant = TenantSource::File(file.clone());
    let g = Graph::start(config).await;
    let a = g.get(POLICY_PATH).await;
    assert_eq!(a.body["minimumLifetimeInMinutes"], 30);
    assert_eq!(a.body["maximumLifetimeInMinutes"], 240);
    assert_eq!(a.body["isUsableOnce"], true);
    assert_eq!(
        a.body["state"], "enabled",
        "a field left out is Entra's default"
    );
    let state = g.observe("state").await;
    assert_eq!(
        state["temporaryAccessPassPolicy"]["maximumLifetimeInMinutes"],
        240
    );
    // A dump of a tenant with the default policy says nothing about it.
    assert!(Graph::rules().await.observe("state").await["temporaryAccessPassPolicy"].is_null());

    tenant["temporaryAccessPassPolicy"] = json!({"state": "off"});
    std::fs::write(&file, tenant.to_string()).unwrap();
    let mut config = rules_config();
    config.tenant = TenantSource::File(file);
    let refused = mfa_reset::sim::Sim::start(config).await;
    assert!(refused.is_err(), "an unknown state is refused");
}

#[tokio::test]
async fn an_app_that_may_not_read_the_policy_is_answered_403() {
    let g = Graph::rules().await;
    assert!(
        g.sim
            .deny_permissions(&["Policy.Read.Everything".to_string()])
            .is_err(),
        "an unknown permission is refused"
    );
    assert_eq!(g.get(POLICY_PATH).await.status, 200);
    g.sim
        .deny_permissions(&permissions::with_wider(
            permissions::POLICY_READ_AUTHENTICATION_METHOD,
        ))
        .unwrap();
    let a = g.get(POLICY_PATH).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.error_code(), "Authorization_RequestDenied");
    // Creating a pass is another permission.
    let a = g
        .send("POST", &taps_path(), Some(json!({"lifetimeInMinutes": 60})))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
}
