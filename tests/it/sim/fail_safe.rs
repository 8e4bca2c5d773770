//! What the emulator offers tests of a client that must fail safe, seen as a client sees
//! it: an app missing a Graph permission (403 per request and per batch item, nothing
//! changed), tokens that expire on demand or after N writes (401, the batch as a whole),
//! and a tenant changed by another administrator between `plan` and `apply` (a role
//! granted, sync turned on, an account disabled, a method registered).

use mfa_reset::secret::Secret;
use mfa_reset::sim::{SimConfig, SimError, permissions};
use serde_json::{Value, json};

use crate::support::graph::*;
use crate::support::*;

const SECRET: &str = "fail-safe-secret";

/// The rules tenant, its app also holding a client secret.
fn config() -> SimConfig {
    let mut config = rules_config();
    config.apps[0].client_secret = Some(Secret::new(SECRET));
    config
}

fn assert_denied(item: &Value) {
    assert_eq!(item["status"], 403, "{item}");
    assert_eq!(item["body"]["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        item["body"]["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
}

fn assert_expired(a: &Answer) {
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.error_code(), "InvalidAuthenticationToken");
    assert_eq!(
        a.error_message(),
        "Lifetime validation failed, the token is expired."
    );
}

async fn fresh_token(g: &Graph) -> String {
    let token = secret_grant(g, g.sim.tenant_id(), g.sim.client_id(), SECRET).await;
    assert_eq!(token.status, 200, "{}", token.body);
    token.body["access_token"].as_str().unwrap().to_string()
}

fn revoke(id: &str, user: &str) -> Value {
    write_item(
        id,
        "POST",
        &format!("/users/{user}/revokeSignInSessions"),
        json!({}),
    )
}

#[tokio::test]
async fn a_denied_permission_is_403_per_batch_item_and_changes_nothing() {
    let mut config = config();
    let mut denied = permissions::with_wider(permissions::REVOKE_SESSIONS_ALL);
    denied.push(permissions::METHODS_READ_WRITE_ALL.into());
    config.apps[0].denied_permissions = denied;
    let g = Graph::start(config).await;
    let before = g.observe("state").await;

    let a = g
        .batch(json!([
            revoke("revoke", ALICE),
            {"id": "delete", "method": "DELETE",
             "url": format!("/users/{BOB}/authentication/fido2Methods/bob-fido2-0001")},
            write_item(
                "tap",
                "POST",
                &format!("/users/{CAROL}/authentication/temporaryAccessPassMethods"),
                json!({"lifetimeInMinutes": 60}),
            ),
            get_item("read", &format!("/users/{ALICE}/authentication/methods")),
            write_item("disable", "PATCH", &format!("/users/{DORA}"), json!({"accountEnabled": false})),
        ]))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    for id in ["revoke", "delete", "tap"] {
        assert_denied(a.item(id));
    }
    // Reading methods needs only UserAuthenticationMethod.Read.All, which is granted, and
    // disabling needs User.EnableDisableAccount.All.
    assert_eq!(a.item("read")["status"], 200);
    assert_eq!(a.item("disable")["status"], 204);

    // On its own, the same refusal.
    let single = g
        .send(
            "POST",
            &format!("/users/{ALICE}/revokeSignInSessions"),
            None,
        )
        .await;
    assert_eq!(single.status, 403, "{}", single.body);
    assert_eq!(single.error_code(), "Authorization_RequestDenied");

    let log = g.mutations().await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (&log[0]["op"], &log[0]["userId"]),
        (&json!("updateUser"), &json!(DORA))
    );
    let stats = g.observe("stats").await;
    assert_eq!(
        stats["writesSpent"], 1,
        "a refused write spends no quota: {stats}"
    );
    let after = g.observe("state").await;
    for id in [ALICE, BOB, CAROL] {
        let user = |state: &Value| {
            state["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(user(&after), user(&before), "{id} changed");
    }
}

#[tokio::test]
async fn a_permission_is_missed_only_when_every_wider_one_is_denied_too() {
    let mut narrow = config();
    narrow.apps[0].denied_permissions = vec![
        permissions::REVOKE_SESSIONS_ALL.into(),
        permissions::USER_READ_ALL.into(),
    ];
    let g = Graph::start(narrow).await;
    // User.ReadWrite.All is still granted: it revokes sessions and reads users.
    let a = g
        .send(
            "POST",
            &format!("/users/{ALICE}/revokeSignInSessions"),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(g.get(&format!("/users/{ALICE}")).await.status, 200);

    let mut no_reading = self::config();
    no_reading.apps[0].denied_permissions = permissions::with_wider(permissions::USER_READ_ALL);
    let g = Graph::start(no_reading).await;
    for path in [
        format!("/users/{ALICE}"),
        "/users?$filter=accountEnabled eq true".to_string(),
        format!("/users/{ADMIN}/transitiveMemberOf/microsoft.graph.directoryRole"),
    ] {
        let a = g.get(&path).await;
        assert_eq!(a.status, 403, "{path}: {}", a.body);
        assert_eq!(a.error_code(), "Authorization_RequestDenied");
    }
    // The tenant's role listing is RoleManagement.Read.Directory's (or Directory.Read.All's).
    assert_eq!(g.get("/directoryRoles?$expand=members").await.status, 200);
    let mut no_roles = self::config();
    no_roles.apps[0].denied_permissions =
        permissions::with_wider(permissions::ROLE_MANAGEMENT_READ_DIRECTORY);
    let g = Graph::start(no_roles).await;
    let a = g.get("/directoryRoles?$expand=members").await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(g.get(&format!("/users/{ALICE}")).await.status, 200);
    // Methods are read under another permission.
    assert_eq!(
        g.get(&format!("/users/{ALICE}/authentication/methods"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn expired_tokens_get_401_and_a_fresh_client_secret_token_works() {
    let mut g = Graph::start(config()).await;
    let issued = fresh_token(&g).await;
    assert_eq!(g.get(&format!("/users/{ALICE}")).await.status, 200);

    g.sim.expire_tokens();
    // The static token, and on every use, not only the first.
    for _ in 0..2 {
        assert_expired(&g.get(&format!("/users/{ALICE}")).await);
    }
    // A batch is refused as a whole, and none of its writes is applied.
    let a = g
        .batch(json!([revoke("1", ALICE), get_item("2", "/users")]))
        .await;
    assert_expired(&a);
    assert!(a.body.get("responses").is_none(), "{}", a.body);
    // A token issued before is expired too.
    g.token = issued;
    assert_expired(&g.get(&format!("/users/{ALICE}")).await);

    g.token = fresh_token(&g).await;
    let a = g.batch(json!([revoke("1", ALICE)])).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.item("1")["status"], 200);
    assert_eq!(g.mutations().await.len(), 1);
    assert_eq!(g.observe("stats").await["unauthenticatedRequests"], 4);
}

#[tokio::test]
async fn tokens_expire_once_the_configured_number_of_writes_is_applied() {
    let mut config = config();
    config.expire_tokens_after_writes = Some(3);
    let mut g = Graph::start(config).await;

    // Refused and read requests are not writes.
    let a = g
        .batch(json!([
            revoke("admin", ADMIN),
            get_item("read", &format!("/users/{ALICE}")),
            revoke("alice", ALICE),
            revoke("bob", BOB),
        ]))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.item("admin")["status"], 403);
    assert_eq!(a.item("alice")["status"], 200);
    assert_eq!(a.item("bob")["status"], 200);
    assert_eq!(g.get(&format!("/users/{CAROL}")).await.status, 200);

    // The third write is applied and answered: the token is checked when a request
    // arrives. The next request finds it expired.
    let a = g
        .send(
            "POST",
            &format!("/users/{CAROL}/revokeSignInSessions"),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_expired(&g.get(&format!("/users/{CAROL}")).await);
    assert_expired(&g.batch(json!([revoke("dora", DORA)])).await);
    assert_eq!(g.mutations().await.len(), 3);
    assert!(
        g.user_state(DORA).await["signInSessionsValidFromDateTime"].is_null(),
        "a refused batch changed nothing"
    );

    // Only once: a token issued afterwards keeps working past further writes.
    g.token = fresh_token(&g).await;
    let a = g.batch(json!([revoke("dora", DORA)])).await;
    assert_eq!(a.item("dora")["status"], 200);
    assert_eq!(g.get(&format!("/users/{DORA}")).await.status, 200);
    assert_eq!(g.mutations().await.len(), 4);
}

#[tokio::test]
async fn a_role_granted_after_the_plan_is_listed_and_guards_the_user() {
    let g = Graph::rules().await;
    g.sim
        .grant_role("Alice@Contoso.example", "Helpdesk Administrator")
        .unwrap();

    let a = g
        .get(&format!(
            "/users/{ALICE}/transitiveMemberOf/microsoft.graph.directoryRole"
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let names: Vec<&str> = a.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Helpdesk Administrator"]);
    let roles = g.get("/directoryRoles?$expand=members").await;
    let helpdesk = roles.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["displayName"] == "Helpdesk Administrator")
        .unwrap_or_else(|| panic!("no new role in {}", roles.body));
    assert_eq!(helpdesk["members"][0]["id"], ALICE);

    // The app holds no privileged role: Alice is an administrator now.
    let a = g
        .batch(json!([
            {"id": "1", "method": "DELETE",
             "url": format!("/users/{ALICE}/authentication/fido2Methods/alice-fido2-0001")},
        ]))
        .await;
    assert_denied(a.item("1"));
    assert!(g.mutations().await.is_empty());
    assert!(
        g.method_ids(ALICE)
            .await
            .contains(&"alice-fido2-0001".to_string())
    );
    let state = g.sim.state();
    let alice = state.users.iter().find(|u| u.id == ALICE).unwrap();
    assert_eq!(alice.roles, ["Helpdesk Administrator"]);

    // An app with a privileged role may.
    let mut config = rules_config();
    config.apps[0].privileged = true;
    let g = Graph::start(config).await;
    g.sim.grant_role(ALICE, "Global Administrator").unwrap();
    let a = g
        .send(
            "DELETE",
            &format!("/users/{ALICE}/authentication/fido2Methods/alice-fido2-0001"),
            None,
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
}

#[tokio::test]
async fn a_user_synced_or_disabled_after_the_plan_shows_it() {
    let g = Graph::rules().await;
    g.sim.set_synced(BOB, true).unwrap();
    let bob = format!("/users/{BOB}");
    let disable = || g.send("PATCH", &bob, Some(json!({"accountEnabled": false})));
    let a = disable().await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.error_code(), "Request_BadRequest");
    assert!(a.error_message().contains("on-premises"), "{}", a.body);
    assert!(g.mutations().await.is_empty());
    let bob = g.user_state(BOB).await;
    assert_eq!(
        (&bob["onPremisesSyncEnabled"], &bob["accountEnabled"]),
        (&json!(true), &json!(true))
    );

    // Back to cloud-only: Graph shows null, and the cloud may disable again.
    g.sim.set_synced(BOB, false).unwrap();
    assert!(g.user_state(BOB).await["onPremisesSyncEnabled"].is_null());
    assert_eq!(disable().await.status, 204);

    // Another admin disables Carol: Graph reads it, and the change is not logged as the
    // client's.
    g.sim.set_account_enabled(CAROL, false).unwrap();
    let a = g
        .get(&format!("/users/{CAROL}?$select=id,accountEnabled"))
        .await;
    assert_eq!(a.body["accountEnabled"], false);
    assert_eq!(g.mutations().await.len(), 1);
}

#[tokio::test]
async fn a_method_registered_after_the_plan_is_listed_and_a_bad_one_refused() {
    let g = Graph::rules().await;
    let key = json!({
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
        "id": "alice-fido2-0002",
        "displayName": "Second key",
    });
    g.sim.add_method(ALICE, &key).unwrap();
    let a = g
        .get(&format!("/users/{ALICE}/authentication/fido2Methods"))
        .await;
    let ids: Vec<&str> = a.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alice-fido2-0001", "alice-fido2-0002"]);
    assert!(g.mutations().await.is_empty());

    // Refused, with the tenant left as it was: a duplicate id, an unknown type, an
    // alternate mobile phone for a user without a mobile one.
    let err = g.sim.add_method(ALICE, &key).unwrap_err();
    assert!(matches!(err, SimError::Change { .. }), "{err}");
    assert!(err.to_string().contains("alice-fido2-0002"), "{err}");
    let err = g
        .sim
        .add_method(
            BOB,
            &json!({"@odata.type": "#microsoft.graph.nope", "id": "x"}),
        )
        .unwrap_err();
    assert!(err.to_string().contains("@odata.type"), "{err}");
    let alternate = json!({
        "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
        "id": ALTERNATE_MOBILE,
        "phoneType": "alternateMobile",
        "phoneNumber": "+1 5555550101",
    });
    assert!(g.sim.add_method(BOB, &alternate).is_err());
    assert_eq!(g.method_ids(BOB).await.len(), 5);
}

#[tokio::test]
async fn an_unknown_user_is_an_error_not_a_panic() {
    let g = Graph::rules().await;
    let nobody = "nobody@contoso.example";
    let errors = [
        g.sim
            .grant_role(nobody, "Global Administrator")
            .unwrap_err(),
        g.sim.set_synced(nobody, true).unwrap_err(),
        g.sim
            .set_account_enabled("00000000-0000-4000-8000-00000000dead", false)
            .unwrap_err(),
        g.sim
            .add_method(
                nobody,
                &json!({"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "id": EMAIL}),
            )
            .unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, SimError::UnknownUser(_)), "{err}");
        assert!(err.to_string().contains("userPrincipalName"), "{err}");
    }
    assert!(matches!(
        g.sim.grant_role(ALICE, " ").unwrap_err(),
        SimError::Change { .. }
    ));
}
