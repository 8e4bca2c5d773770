//! Every route, every way of naming a user, and Graph's error shape.

use serde_json::json;

use crate::support::graph::*;
use crate::support::*;

#[tokio::test]
async fn a_user_is_found_by_id_upn_encoded_hash_and_quoted_forms_on_both_versions() {
    let g = Graph::rules().await;
    let cases = [
        (format!("/users/{ALICE}"), ALICE),
        (format!("/users/{}", ALICE.to_uppercase()), ALICE),
        ("/users/alice@contoso.example".to_string(), ALICE),
        ("/users/ALICE@Contoso.Example".to_string(), ALICE),
        ("/users/alice%40contoso.example".to_string(), ALICE),
        (
            "/users/guest_fabrikam.example%23EXT%23@contoso.example".to_string(),
            GUEST,
        ),
        ("/users('bob.o''neil@contoso.example')".to_string(), BOB),
        ("/users/bob.o'neil@contoso.example".to_string(), BOB),
        ("/users('$svc-backup@contoso.example')".to_string(), SERVICE),
        (
            "/users('%24svc-backup@contoso.example')".to_string(),
            SERVICE,
        ),
        (format!("/users('{DORA}')"), DORA),
    ];
    for version in ["v1.0", "beta"] {
        for (path, id) in &cases {
            let a = g
                .send_to("GET", &format!("/{version}{path}"), None, &[])
                .await
                .unwrap();
            assert_eq!(a.status, 200, "{version}{path}: {}", a.body);
            assert_eq!(a.body["id"], *id, "{version}{path}");
            let context = a.body["@odata.context"].as_str().unwrap();
            assert!(
                context.starts_with(&format!("{}/{version}/$metadata#users", g.sim.base_url())),
                "{context}"
            );
        }
    }
}

#[tokio::test]
async fn keys_graph_would_not_resolve_are_refused_as_graph_refuses_them() {
    let g = Graph::rules().await;
    // A plain `$` UPN segment is read as a system query segment by Graph: 400.
    let a = g.get("/users/$svc-backup@contoso.example").await;
    assert_eq!(a.status, 400, "{}", a.body);
    // No such user: 404 Request_ResourceNotFound naming the key.
    let a = g.get("/users/nobody@contoso.example").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.error_code(), "Request_ResourceNotFound");
    assert!(a.error_message().contains("nobody@contoso.example"));
    // A guest's UPN whose `#` is not encoded loses everything after it (a URL fragment).
    let a = g
        .send_to(
            "GET",
            "/v1.0/users/guest_fabrikam.example#EXT#@contoso.example",
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(a.status, 404, "{}", a.body);
}

#[tokio::test]
async fn errors_are_graph_shaped_and_every_answer_carries_correlation_ids() {
    let g = Graph::rules().await;
    let mine = "0f2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b";
    let a = g
        .send_to(
            "GET",
            "/v1.0/users/nobody@contoso.example",
            None,
            &[("client-request-id", mine)],
        )
        .await
        .unwrap();
    assert_eq!(a.status, 404);
    let inner = &a.body["error"]["innerError"];
    assert_eq!(a.header("client-request-id"), Some(mine));
    assert_eq!(inner["client-request-id"], mine);
    let request_id = a.header("request-id").expect("request-id header");
    assert_eq!(inner["request-id"], request_id);
    assert_eq!(request_id.len(), 36);
    assert!(inner["date"].as_str().unwrap().len() >= 19);

    // Without a client-request-id, one is made up and still echoed.
    let a = g.get(&format!("/users/{ALICE}")).await;
    assert!(a.header("request-id").is_some());
    assert!(a.header("client-request-id").is_some());
    assert_eq!(a.header("x-ms-resource-unit"), Some("1"));

    // Unknown routes and versions are Graph errors too.
    let a = g.get(&format!("/users/{ALICE}/nonsense")).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error_code(), "BadRequest");
    let a = g.send_to("GET", "/v2.0/users", None, &[]).await.unwrap();
    assert_eq!(a.status, 400);
    assert!(a.header("request-id").is_some());
}

#[tokio::test]
async fn select_returns_only_the_named_properties() {
    let g = Graph::rules().await;
    let a = g
        .get(&format!(
            "/users/{SYNCED}?$select=id,accountEnabled,onPremisesSyncEnabled,signInSessionsValidFromDateTime"
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert_eq!(a.body["accountEnabled"], true);
    assert_eq!(a.body["onPremisesSyncEnabled"], true);
    assert!(a.body.get("userPrincipalName").is_none());

    let a = g.get(&format!("/users/{ALICE}?$select=id,shoeSize")).await;
    assert_eq!(a.status, 400);
    assert!(a.error_message().contains("shoeSize"));
}

#[tokio::test]
async fn filter_finds_users_by_upn_mail_and_lists_of_ids_or_upns() {
    let g = Graph::rules().await;
    let ids = |a: &Answer| -> Vec<String> {
        a.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    };
    let a = g
        .get("/users?$filter=userPrincipalName%20eq%20'bob.o''neil@contoso.example'")
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(ids(&a), [BOB]);

    let a = g
        .get("/users?$filter=mail eq 'guest@fabrikam.example'&$select=id,mail")
        .await;
    assert_eq!(ids(&a), [GUEST]);

    let a = g
        .get(&format!(
            "/users?$filter=id in ('{ALICE}','{CAROL}','00000000-0000-4000-8000-000000000000')"
        ))
        .await;
    assert_eq!(ids(&a), [ALICE, CAROL]);

    let a = g
        .get("/users?$filter=userPrincipalName in ('dora@contoso.example','guest_fabrikam.example%23EXT%23@contoso.example')")
        .await;
    assert_eq!(ids(&a), [GUEST, DORA]);

    // 15 values are allowed, 16 are not.
    let values = |n: usize| {
        (0..n)
            .map(|i| format!("'u{i}@contoso.example'"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let a = g
        .get(&format!(
            "/users?$filter=userPrincipalName in ({})",
            values(15)
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = g
        .get(&format!(
            "/users?$filter=userPrincipalName in ({})",
            values(16)
        ))
        .await;
    assert_eq!(a.status, 400);
    assert!(a.error_message().contains("15"), "{}", a.error_message());
}

#[tokio::test]
async fn listing_users_pages_with_next_links() {
    let g = Graph::rules().await;
    let mut seen = Vec::new();
    let mut next = Some(g.url("/v1.0/users?$top=3&$select=id"));
    while let Some(url) = next {
        let resp = g.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        let a = read(resp).await.unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        for u in a.body["value"].as_array().unwrap() {
            seen.push(u["id"].as_str().unwrap().to_string());
        }
        next = a.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 9);
    seen.dedup();
    assert_eq!(seen.len(), 9);
}

#[tokio::test]
async fn methods_are_listed_graph_shaped_in_one_list_and_per_type() {
    let g = Graph::rules().await;
    let a = g
        .get(&format!("/users/{DORA}/authentication/methods"))
        .await;
    assert_eq!(a.status, 200);
    let methods = a.body["value"].as_array().unwrap();
    let types: Vec<&str> = methods
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap())
        .collect();
    for t in [
        "password",
        "phone",
        "microsoftAuthenticator",
        "softwareOath",
        "fido2",
        "windowsHelloForBusiness",
        "email",
        "temporaryAccessPass",
        "platformCredential",
    ] {
        let odata = format!("#microsoft.graph.{t}AuthenticationMethod");
        assert!(
            types.contains(&odata.as_str()),
            "{odata} missing: {types:?}"
        );
    }
    let authenticator = methods
        .iter()
        .find(|m| m["id"] == "dora-authenticator-0001")
        .unwrap();
    assert_eq!(authenticator["displayName"], "iPhone 12");
    assert_eq!(authenticator["createdDateTime"], "2024-03-04T10:11:12Z");
    let password = methods.iter().find(|m| m["id"] == PASSWORD).unwrap();
    assert_eq!(password["password"], serde_json::Value::Null);

    let a = g
        .get(&format!("/users/{DORA}/authentication/phoneMethods"))
        .await;
    let phones: Vec<&str> = a.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["phoneType"].as_str().unwrap())
        .collect();
    assert_eq!(phones, ["mobile", "office"]);

    let a = g
        .get(&format!(
            "/users/{DORA}/authentication/fido2Methods/dora-fido2-0001"
        ))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["model"], "YubiKey 5 Series");
}

#[tokio::test]
async fn revoke_sign_in_sessions_answers_true_and_moves_the_valid_from_time() {
    let g = Graph::rules().await;
    assert!(
        g.user_state(ALICE).await["signInSessionsValidFromDateTime"].is_null(),
        "fixture starts without a revocation"
    );
    let a = g
        .send(
            "POST",
            "/users/alice@contoso.example/revokeSignInSessions",
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["value"], true);
    let after = g.user_state(ALICE).await;
    assert!(
        after["signInSessionsValidFromDateTime"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")),
        "{after}"
    );
    let a = g
        .get(&format!(
            "/users/{ALICE}?$select=signInSessionsValidFromDateTime"
        ))
        .await;
    assert_eq!(
        a.body["signInSessionsValidFromDateTime"],
        after["signInSessionsValidFromDateTime"]
    );
}

#[tokio::test]
async fn patch_account_enabled_disables_the_user() {
    let g = Graph::rules().await;
    let a = g
        .send(
            "PATCH",
            &format!("/users/{CAROL}"),
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(a.body, serde_json::Value::Null);
    assert_eq!(g.user_state(CAROL).await["accountEnabled"], false);

    let a = g
        .send(
            "PATCH",
            &format!("/users/{CAROL}"),
            Some(json!({"accountEnabled": "no"})),
        )
        .await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn a_temporary_access_pass_is_issued_and_replaces_the_old_one() {
    let g = Graph::rules().await;
    let path = format!("/users/{CAROL}/authentication/temporaryAccessPassMethods");
    let a = g
        .send(
            "POST",
            &path,
            Some(json!({"lifetimeInMinutes": 120, "isUsableOnce": true})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let pass = a.body["temporaryAccessPass"].as_str().unwrap();
    assert!(pass.len() >= 8, "{pass}");
    assert_eq!(a.body["lifetimeInMinutes"], 120);
    assert_eq!(a.body["isUsableOnce"], true);
    let new_id = a.body["id"].as_str().unwrap().to_string();

    // One pass per user: the fixture's old one is gone, the new one is there.
    let ids = g.method_ids(CAROL).await;
    assert!(ids.contains(&new_id));
    assert!(!ids.contains(&"carol-tap-0001".to_string()));
    // Reading it back never shows the pass itself.
    let listed = g.get(&path).await;
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);
    assert!(listed.body["value"][0]["temporaryAccessPass"].is_null());
    let state = g.observe("state").await.to_string();
    assert!(!state.contains(pass), "the pass leaked into /_sim/state");

    for bad in [59, 481] {
        let a = g
            .send("POST", &path, Some(json!({"lifetimeInMinutes": bad})))
            .await;
        assert_eq!(a.status, 400, "lifetime {bad}");
        assert_eq!(a.error_code(), "badRequest");
    }
    assert!(g.method_ids(CAROL).await.contains(&new_id));
}

#[tokio::test]
async fn admin_role_holders_are_listed_as_graph_lists_them() {
    let g = Graph::rules().await;
    let a = g.get("/directoryRoles?$expand=members").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let roles = a.body["value"].as_array().unwrap();
    let global = roles
        .iter()
        .find(|r| r["displayName"] == "Global Administrator")
        .expect("Global Administrator is activated");
    assert_eq!(
        global["roleTemplateId"],
        "62e90394-69f5-4237-9190-012177145e10"
    );
    let members: Vec<&str> = global["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(members, [ADMIN]);

    let role_id = global["id"].as_str().unwrap();
    let a = g.get(&format!("/directoryRoles/{role_id}/members")).await;
    assert_eq!(
        a.body["value"][0]["userPrincipalName"],
        "admin.ada@contoso.example"
    );

    let a = g
        .get(&format!(
            "/users/{ADMIN}/transitiveMemberOf/microsoft.graph.directoryRole"
        ))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["value"][0]["displayName"], "Global Administrator");
    let a = g
        .get(&format!(
            "/users/{ALICE}/transitiveMemberOf/microsoft.graph.directoryRole"
        ))
        .await;
    assert_eq!(a.body["value"], json!([]));
}

#[tokio::test]
async fn beta_sign_in_preferences_name_the_default_method() {
    let g = Graph::rules().await;
    let cases = [
        (ALICE, json!("sms")),
        (BOB, json!("push")),
        (GUEST, serde_json::Value::Null),
    ];
    for (user, expected) in cases {
        let a = g
            .send_to(
                "GET",
                &format!("/beta/users/{user}/authentication/signInPreferences"),
                None,
                &[],
            )
            .await
            .unwrap();
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            a.body["userPreferredMethodForSecondaryAuthentication"], expected,
            "{user}"
        );
        assert_eq!(
            a.body["isSystemPreferredAuthenticationMethodEnabled"],
            false
        );
    }
    // Not on v1.0, as in Graph.
    let a = g
        .get(&format!("/users/{ALICE}/authentication/signInPreferences"))
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    // Once the default is gone, there is none.
    for (collection, id) in [
        ("phoneMethods", ALTERNATE_MOBILE),
        ("microsoftAuthenticatorMethods", "alice-authenticator-0001"),
        ("phoneMethods", MOBILE),
    ] {
        let a = g
            .send(
                "DELETE",
                &format!("/users/{ALICE}/authentication/{collection}/{id}"),
                None,
            )
            .await;
        assert_eq!(a.status, 204, "{}", a.body);
    }
    let a = g
        .send_to(
            "GET",
            &format!("/beta/users/{ALICE}/authentication/signInPreferences"),
            None,
            &[],
        )
        .await
        .unwrap();
    assert!(a.body["userPreferredMethodForSecondaryAuthentication"].is_null());
}
