//! The default method and the rarer method types in the emulator: beta `PATCH
//! signInPreferences` with Entra's rules, and the routes of hardware OATH tokens (beta),
//! the QR code PIN (beta, single-valued) and external methods (`/$ref`), each checked in
//! the tenant afterwards.

use serde_json::{Value, json};

use crate::support::graph::*;
use crate::support::*;

const PREFERENCES: &str = "authentication/signInPreferences";

async fn beta(g: &Graph, method: &str, path: &str, body: Option<Value>) -> Answer {
    g.send_to(method, &format!("/beta{path}"), body, &[])
        .await
        .expect("the emulator answers")
}

async fn set_default(g: &Graph, user: &str, value: &str) -> Answer {
    beta(
        g,
        "PATCH",
        &format!("/users/{user}/{PREFERENCES}"),
        Some(json!({ "userPreferredMethodForSecondaryAuthentication": value })),
    )
    .await
}

async fn preferred(g: &Graph, user: &str) -> Value {
    let a = beta(g, "GET", &format!("/users/{user}/{PREFERENCES}"), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["userPreferredMethodForSecondaryAuthentication"].clone()
}

#[tokio::test]
async fn a_new_default_lets_the_old_one_go_while_the_new_one_stays() {
    let g = Graph::rules().await;
    // Erin's default is her Authenticator; her mobile phone and hardware token remain.
    let authenticator = format!(
        "/users/{ERIN}/authentication/microsoftAuthenticatorMethods/erin-authenticator-0001"
    );
    let delete_authenticator = || g.send("DELETE", &authenticator, None);
    let refused = delete_authenticator().await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.error_message().contains("default method"));

    let a = set_default(&g, ERIN, "oath").await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(preferred(&g, ERIN).await, "oath");
    assert_eq!(
        g.user_state(ERIN).await["defaultMethod"],
        "erin-hwoath-0001"
    );
    let log = g.mutations().await;
    assert_eq!(log.last().unwrap()["op"], "setDefaultMethod");
    assert_eq!(log.last().unwrap()["methodId"], "erin-hwoath-0001");

    let gone = delete_authenticator().await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    // Setting the same default again changes nothing more.
    assert_eq!(set_default(&g, ERIN, "oath").await.status, 204);
    assert_eq!(
        g.user_state(ERIN).await["defaultMethod"],
        "erin-hwoath-0001"
    );
}

#[tokio::test]
async fn a_default_must_name_a_registered_method_and_a_value_graph_knows() {
    let g = Graph::rules().await;
    for (user, value) in [
        (ALICE, "voiceOffice"), // Alice has no office phone
        (BOB, "sms"),           // Bob has no phone at all
        (BOB, "oath"),
        (ALICE, "passkey"),
        (ALICE, "unknownFutureValue"),
    ] {
        let a = set_default(&g, user, value).await;
        assert_eq!(a.status, 400, "{user} {value}: {}", a.body);
    }
    // Only the one property; not through v1.0; not on an admin without a privileged role.
    let a = beta(
        &g,
        "PATCH",
        &format!("/users/{ALICE}/{PREFERENCES}"),
        Some(json!({"isSystemPreferredAuthenticationMethodEnabled": true})),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    let a = g
        .send(
            "PATCH",
            &format!("/users/{ALICE}/{PREFERENCES}"),
            Some(json!({"userPreferredMethodForSecondaryAuthentication": "push"})),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    let a = set_default(&g, ADMIN, "oath").await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(g.mutations().await.is_empty());
    assert_eq!(preferred(&g, ALICE).await, "sms");
}

#[tokio::test]
async fn an_alternate_mobile_default_moves_to_the_mobile_and_both_phones_go() {
    let g = Graph::rules().await;
    // Alice: mobile and alternate mobile; make the alternate the default first.
    assert_eq!(
        set_default(&g, ALICE, "voiceAlternateMobile").await.status,
        204
    );
    let phone = |id: &str| format!("/users/{ALICE}/authentication/phoneMethods/{id}");
    // Deadlock: neither phone can go.
    assert_eq!(g.send("DELETE", &phone(MOBILE), None).await.status, 400);
    // Once the default moves to the mobile phone, the alternate goes, then (after her
    // Authenticator) the mobile phone, the last method that could be the default.
    assert_eq!(set_default(&g, ALICE, "sms").await.status, 204);
    assert_eq!(
        g.send("DELETE", &phone(ALTERNATE_MOBILE), None)
            .await
            .status,
        204
    );
    let a = g
        .send(
            "DELETE",
            &format!("/users/{ALICE}/authentication/microsoftAuthenticatorMethods/alice-authenticator-0001"),
            None,
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(g.send("DELETE", &phone(MOBILE), None).await.status, 204);
    let state = g.user_state(ALICE).await;
    assert_eq!(state["defaultMethod"], Value::Null);
}

#[tokio::test]
async fn hardware_oath_tokens_live_in_beta_only() {
    let g = Graph::rules().await;
    let v1 = g
        .get(&format!("/users/{ERIN}/authentication/methods"))
        .await;
    let types = |a: &Answer| -> Vec<String> {
        a.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["@odata.type"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        !types(&v1).contains(&"#microsoft.graph.hardwareOathAuthenticationMethod".into()),
        "{:?}",
        types(&v1)
    );
    for t in [
        "#microsoft.graph.externalAuthenticationMethod",
        "#microsoft.graph.qrCodePinAuthenticationMethod",
    ] {
        assert!(types(&v1).contains(&t.to_string()), "{t}");
    }
    let collection = format!("/users/{ERIN}/authentication/hardwareOathMethods");
    assert_eq!(g.get(&collection).await.status, 400);
    let listed = beta(&g, "GET", &collection, None).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["value"][0]["id"], "erin-hwoath-0001");
    assert_eq!(listed.body["value"][0]["displayName"], "Token 204611");
    let token = format!("{collection}/erin-hwoath-0001");
    assert_eq!(g.send("DELETE", &token, None).await.status, 400);
    let a = beta(&g, "DELETE", &token, None).await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert!(
        !g.method_ids(ERIN)
            .await
            .contains(&"erin-hwoath-0001".into())
    );
}

#[tokio::test]
async fn the_qr_code_pin_is_deleted_without_an_id_and_an_external_method_by_reference() {
    let g = Graph::rules().await;
    let qr = format!("/users/{ERIN}/authentication/qrCodePinMethod");
    assert_eq!(g.send("DELETE", &qr, None).await.status, 400, "beta only");
    let a = beta(&g, "DELETE", &qr, None).await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(beta(&g, "DELETE", &qr, None).await.status, 404);

    let external = format!(
        "/users/{ERIN}/authentication/externalAuthenticationMethods/erin-external-0001/$ref"
    );
    let a = g.send("DELETE", &external, None).await;
    assert_eq!(a.status, 204, "{}", a.body);
    let ids = g.method_ids(ERIN).await;
    assert!(
        !ids.contains(&"erin-qr-0001".into()) && !ids.contains(&"erin-external-0001".into()),
        "{ids:?}"
    );
    let kinds: Vec<Value> = g
        .mutations()
        .await
        .iter()
        .map(|m| m["methodType"].clone())
        .collect();
    assert_eq!(kinds, [json!("qrCodePin"), json!("external")]);
}
