//! Entra's rules on what may be deleted or changed, checked in the tenant afterwards.

use serde_json::json;

use crate::support::graph::*;
use crate::support::*;

async fn delete(g: &Graph, user: &str, collection: &str, id: &str) -> Answer {
    g.send(
        "DELETE",
        &format!("/users/{user}/authentication/{collection}/{id}"),
        None,
    )
    .await
}

#[tokio::test]
async fn every_method_type_is_deleted_through_its_own_collection() {
    let g = Graph::rules().await;
    let steps = [
        ("phoneMethods", OFFICE),
        ("phoneMethods", MOBILE),
        ("microsoftAuthenticatorMethods", "dora-authenticator-0001"),
        ("softwareOathMethods", "dora-oath-0001"),
        ("fido2Methods", "dora-fido2-0001"),
        ("windowsHelloForBusinessMethods", "dora-whfb-0001"),
        ("emailMethods", EMAIL),
        ("temporaryAccessPassMethods", "dora-tap-0001"),
        ("platformCredentialMethods", "dora-platform-0001"),
    ];
    for (collection, id) in steps {
        let a = delete(&g, DORA, collection, id).await;
        assert_eq!(a.status, 204, "{collection}/{id}: {}", a.body);
        assert!(!g.method_ids(DORA).await.contains(&id.to_string()));
    }
    assert_eq!(g.method_ids(DORA).await, [PASSWORD]);
    let log = g.mutations().await;
    assert_eq!(log.len(), steps.len());
    assert_eq!(log[0]["op"], "deleteMethod");
    assert_eq!(log[0]["userId"], DORA);
}

#[tokio::test]
async fn the_password_cannot_be_deleted_and_the_generic_route_is_refused() {
    let g = Graph::rules().await;
    let a = delete(&g, ALICE, "passwordMethods", PASSWORD).await;
    assert_eq!(a.status, 400, "{}", a.body);
    let a = delete(&g, ALICE, "methods", "alice-fido2-0001").await;
    assert_eq!(a.status, 405, "{}", a.body);
    assert!(
        g.method_ids(ALICE)
            .await
            .contains(&"alice-fido2-0001".to_string())
    );
    assert!(g.mutations().await.is_empty());
}

#[tokio::test]
async fn a_method_the_user_does_not_have_is_404() {
    let g = Graph::rules().await;
    let a = delete(&g, ALICE, "fido2Methods", "no-such-key").await;
    assert_eq!(a.status, 404);
    // Bob's FIDO2 key through Alice's account, or through the wrong collection.
    let a = delete(&g, ALICE, "fido2Methods", "bob-fido2-0001").await;
    assert_eq!(a.status, 404);
    let a = delete(
        &g,
        ALICE,
        "microsoftAuthenticatorMethods",
        "alice-fido2-0001",
    )
    .await;
    assert_eq!(a.status, 404);
    let a = delete(&g, BOB, "phoneMethods", OFFICE).await;
    assert_eq!(a.status, 404);
    assert_eq!(g.method_ids(ALICE).await.len(), 6);
}

#[tokio::test]
async fn the_default_method_goes_last_and_mobile_waits_for_the_alternate_mobile() {
    let g = Graph::rules().await;
    // Alice: default mobile, plus alternate mobile, Authenticator, FIDO2, email.
    let a = delete(&g, ALICE, "phoneMethods", MOBILE).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.error_message().contains("alternate"), "{}", a.body);

    assert_eq!(
        delete(&g, ALICE, "phoneMethods", ALTERNATE_MOBILE)
            .await
            .status,
        204
    );

    // Authenticator could itself be the default, so the default may not go yet.
    let a = delete(&g, ALICE, "phoneMethods", MOBILE).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error_code(), "badRequest");
    assert!(
        a.error_message()
            .starts_with("Cannot delete default method with other methods configured"),
        "{}",
        a.error_message()
    );

    assert_eq!(
        delete(
            &g,
            ALICE,
            "microsoftAuthenticatorMethods",
            "alice-authenticator-0001"
        )
        .await
        .status,
        204
    );
    // FIDO2 and email do not block it.
    assert_eq!(delete(&g, ALICE, "phoneMethods", MOBILE).await.status, 204);
    let alice = g.user_state(ALICE).await;
    assert!(alice["defaultMethod"].is_null(), "{alice}");
    assert_eq!(
        g.method_ids(ALICE).await,
        [PASSWORD, "alice-fido2-0001", EMAIL]
    );
}

#[tokio::test]
async fn an_oath_token_blocks_the_default_but_fido2_hello_and_email_do_not() {
    let g = Graph::rules().await;
    // Carol: default mobile with a software OATH token beside it.
    assert_eq!(delete(&g, CAROL, "phoneMethods", MOBILE).await.status, 400);
    assert_eq!(
        delete(&g, CAROL, "softwareOathMethods", "carol-oath-0001")
            .await
            .status,
        204
    );
    assert_eq!(delete(&g, CAROL, "phoneMethods", MOBILE).await.status, 204);

    // Bob: default Authenticator with FIDO2, Windows Hello and email beside it.
    let a = delete(
        &g,
        BOB,
        "microsoftAuthenticatorMethods",
        "bob-authenticator-0001",
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert!(g.user_state(BOB).await["defaultMethod"].is_null());
}

#[tokio::test]
async fn a_synced_users_account_cannot_be_disabled_in_the_cloud() {
    let g = Graph::rules().await;
    let a = g
        .send(
            "PATCH",
            &format!("/users/{SYNCED}"),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.error_message().contains("on-premises"), "{}", a.body);
    assert_eq!(g.user_state(SYNCED).await["accountEnabled"], true);
    // Sessions and methods are cloud-side: those still work.
    let a = g
        .send(
            "POST",
            &format!("/users/{SYNCED}/revokeSignInSessions"),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn admin_role_holders_cannot_be_changed_without_a_privileged_role() {
    let g = Graph::rules().await;
    let attempts = [
        (
            "DELETE",
            format!("/users/{ADMIN}/authentication/softwareOathMethods/ada-oath-0001"),
            None,
        ),
        ("POST", format!("/users/{ADMIN}/revokeSignInSessions"), None),
        (
            "PATCH",
            format!("/users/{ADMIN}"),
            Some(json!({"accountEnabled": false})),
        ),
        (
            "POST",
            format!("/users/{ADMIN}/authentication/temporaryAccessPassMethods"),
            Some(json!({"lifetimeInMinutes": 60})),
        ),
    ];
    for (method, path, body) in &attempts {
        let a = g.send(method, path, body.clone()).await;
        assert_eq!(a.status, 403, "{method} {path}: {}", a.body);
        assert_eq!(a.error_code(), "Authorization_RequestDenied");
    }
    // Reading is fine.
    assert_eq!(
        g.get(&format!("/users/{ADMIN}/authentication/methods"))
            .await
            .status,
        200
    );
    assert!(g.mutations().await.is_empty());
    assert_eq!(g.method_ids(ADMIN).await.len(), 3);

    let mut config = rules_config();
    config.apps[0].privileged = true;
    let g = Graph::start(config).await;
    for (method, path, body) in &attempts {
        let a = g.send(method, path, body.clone()).await;
        assert!(
            (200..300).contains(&a.status),
            "{method} {path}: {}",
            a.body
        );
    }
    let admin = g.user_state(ADMIN).await;
    assert_eq!(admin["accountEnabled"], false);
    assert_eq!(g.mutations().await.len(), attempts.len());
}
