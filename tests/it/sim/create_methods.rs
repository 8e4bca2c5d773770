//! Re-creating what a restore needs (issue #21 item 3), over real HTTP: phone methods
//! (`POST .../phoneMethods`) and the email method (`POST .../emailMethods`) with Entra's
//! rules, re-enabling an account, deleting a pass and re-pointing the default to a
//! re-created phone — each checked in the tenant state `/_sim/state` shows afterwards,
//! numbers and addresses included, and in the mutation log (which never holds them).

use mfa_reset::sim::permissions;
use serde_json::{Value, json};

use crate::support::graph::*;
use crate::support::*;

fn collection(user: &str, name: &str) -> String {
    format!("/users/{user}/authentication/{name}")
}

async fn add_phone(g: &Graph, user: &str, number: &str, phone_type: &str) -> Answer {
    g.send(
        "POST",
        &collection(user, "phoneMethods"),
        Some(json!({"phoneNumber": number, "phoneType": phone_type})),
    )
    .await
}

async fn add_email(g: &Graph, user: &str, address: &str) -> Answer {
    g.send(
        "POST",
        &collection(user, "emailMethods"),
        Some(json!({"emailAddress": address})),
    )
    .await
}

async fn set_default(g: &Graph, user: &str, value: &str) -> Answer {
    g.send_to(
        "PATCH",
        &format!("/beta/users/{user}/authentication/signInPreferences"),
        Some(json!({ "userPreferredMethodForSecondaryAuthentication": value })),
        &[],
    )
    .await
    .expect("the emulator answers")
}

async fn set_enabled(g: &Graph, user: &str, enabled: bool) -> Answer {
    g.send(
        "PATCH",
        &format!("/users/{user}"),
        Some(json!({ "accountEnabled": enabled })),
    )
    .await
}

/// The user as `/_sim/state` shows it, their methods in id order: a restore re-creates
/// methods at the end of the list, so only the order may differ from before.
async fn user_sorted(g: &Graph, user: &str) -> Value {
    let mut u = g.user_state(user).await;
    let methods = u["methods"].as_array_mut().expect("methods");
    methods.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    u
}

/// The user's method of id `id`, as the tenant holds it.
async fn method(g: &Graph, user: &str, id: &str) -> Value {
    g.user_state(user).await["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[track_caller]
fn assert_bad_request(a: &Answer, what: &str) {
    assert_eq!(a.status, 400, "{what}: {}", a.body);
    assert_eq!(a.error_code(), "badRequest", "{what}: {}", a.body);
    assert!(
        a.body["error"]["innerError"]["request-id"].is_string(),
        "{what}: Graph's error shape: {}",
        a.body
    );
}

#[tokio::test]
async fn phones_are_created_with_their_fixed_ids_and_the_tenant_shows_their_numbers() {
    let g = Graph::rules().await;
    // Bob has no phone.
    let a = add_phone(&g, BOB, "+1 4255550112", "mobile").await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["id"], MOBILE);
    assert_eq!(a.body["phoneNumber"], "+1 4255550112");
    assert_eq!(a.body["phoneType"], "mobile");
    assert_eq!(
        a.body["@odata.type"],
        "#microsoft.graph.phoneAuthenticationMethod"
    );
    assert!(a.body["smsSignInState"].is_string(), "{}", a.body);
    let context = a.body["@odata.context"].as_str().unwrap();
    assert!(
        context.ends_with(&format!(
            "/v1.0/$metadata#users('{BOB}')/authentication/phoneMethods/$entity"
        )),
        "{context}"
    );
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let a = add_phone(&g, BOB, "+44 2071234567", "alternateMobile").await;
    assert_eq!((a.status, &a.body["id"]), (201, &json!(ALTERNATE_MOBILE)));
    let a = add_phone(&g, BOB, "+1 4255550199x123", "office").await;
    assert_eq!((a.status, &a.body["id"]), (201, &json!(OFFICE)));

    // Read back through Graph, and in the tenant state, with their numbers.
    let listed = g.get(&collection(BOB, "phoneMethods")).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 3);
    for (id, number, phone_type) in [
        (MOBILE, "+1 4255550112", "mobile"),
        (ALTERNATE_MOBILE, "+44 2071234567", "alternateMobile"),
        (OFFICE, "+1 4255550199x123", "office"),
    ] {
        let m = method(&g, BOB, id).await;
        assert_eq!(m["phoneNumber"], number, "{m}");
        assert_eq!(m["phoneType"], phone_type, "{m}");
    }
    // A new phone does not become the default (Bob's Authenticator stays it).
    assert_eq!(
        g.user_state(BOB).await["defaultMethod"],
        "bob-authenticator-0001"
    );

    // Writes like any other: in the mutation log (ids and types, never a number) and
    // against the write quota.
    let log = g.mutations().await;
    let ops: Vec<(&Value, &Value, &Value)> = log
        .iter()
        .map(|m| (&m["op"], &m["methodId"], &m["phoneType"]))
        .collect();
    assert_eq!(
        ops,
        [
            (
                &json!("createPhoneMethod"),
                &json!(MOBILE),
                &json!("mobile")
            ),
            (
                &json!("createPhoneMethod"),
                &json!(ALTERNATE_MOBILE),
                &json!("alternateMobile")
            ),
            (
                &json!("createPhoneMethod"),
                &json!(OFFICE),
                &json!("office")
            ),
        ]
    );
    assert!(log.iter().all(|m| m["userId"] == BOB));
    let text = serde_json::to_string(&log).unwrap();
    for number in ["4255550112", "2071234567", "4255550199"] {
        assert!(
            !text.contains(number),
            "a number in the mutation log: {text}"
        );
    }
    assert_eq!(g.observe("stats").await["writesSpent"], 3);
}

#[tokio::test]
async fn entra_refuses_a_second_phone_of_a_type_and_an_alternate_without_a_mobile() {
    let g = Graph::rules().await;
    let before = g.observe("state").await;
    // Alice has a mobile and an alternate mobile; Dora a mobile and an office phone.
    assert_bad_request(
        &add_phone(&g, ALICE, "+1 4255550111", "mobile").await,
        "a second mobile",
    );
    assert_bad_request(
        &add_phone(&g, ALICE, "+1 4255550111", "alternateMobile").await,
        "a second alternate",
    );
    assert_bad_request(
        &add_phone(&g, DORA, "+1 4255550111", "office").await,
        "a second office phone",
    );
    // Bob has no mobile, so no alternate; an office phone needs none.
    let a = add_phone(&g, BOB, "+1 4255550111", "alternateMobile").await;
    assert_bad_request(&a, "an alternate without a mobile");
    assert!(a.error_message().contains("mobile"), "{}", a.body);
    // The refusal never repeats the number (a client may report Graph's message).
    assert!(!a.error_message().contains("4255550111"), "{}", a.body);
    assert_eq!(g.observe("state").await, before);
    assert!(g.mutations().await.is_empty());
    assert_eq!(
        g.observe("stats").await["writesSpent"],
        4,
        "refused writes spend quota too"
    );

    let a = add_phone(&g, BOB, "+1 4255550111", "office").await;
    assert_eq!(a.status, 201, "{}", a.body);
}

#[tokio::test]
async fn a_number_outside_graphs_format_and_a_malformed_body_are_400_and_change_nothing() {
    let g = Graph::rules().await;
    let before = g.observe("state").await;
    for number in [
        "4255550111",
        "+14255550111",
        "+1 425 555 0111",
        "+1 (425) 5550111",
        "+1 425-555-0111",
        "1 4255550111",
        "+1 4255550111 x12",
        "+1 4255550111x",
        "+1 4255550111ext12",
        "+0 4255550111",
        "+1 12345678901234567",
        "",
    ] {
        let a = add_phone(&g, BOB, number, "mobile").await;
        assert_bad_request(&a, number);
        if !number.is_empty() {
            assert!(!a.error_message().contains(number), "{}", a.body);
        }
    }
    let phones = collection(BOB, "phoneMethods");
    for body in [
        json!({}),
        json!([]),
        json!("+1 4255550111"),
        json!({"phoneType": "mobile"}),
        json!({"phoneNumber": "+1 4255550111"}),
        json!({"phoneNumber": "+1 4255550111", "phoneType": "pager"}),
        json!({"phoneNumber": "+1 4255550111", "phoneType": null}),
        json!({"phoneNumber": 14255550111_u64, "phoneType": "mobile"}),
        // Read-only, says Microsoft.
        json!({"phoneNumber": "+1 4255550111", "phoneType": "mobile", "smsSignInState": "ready"}),
        json!({"phoneNumber": "+1 4255550111", "phoneType": "mobile", "id": MOBILE}),
    ] {
        assert_bad_request(
            &g.send("POST", &phones, Some(body.clone())).await,
            &body.to_string(),
        );
    }
    // No body, and a body that is not JSON.
    assert_bad_request(&g.send("POST", &phones, None).await, "no body");
    let raw = g
        .http
        .post(g.url(&format!("/v1.0{phones}")))
        .bearer_auth(&g.token)
        .header("content-type", "application/json")
        .body("{\"phoneNumber\": \"+1 42555")
        .send()
        .await
        .unwrap();
    let raw = read(raw).await.unwrap();
    assert_eq!(raw.status, 400, "{}", raw.body);
    assert!(!raw.error_message().contains("42555"), "{}", raw.body);
    assert_eq!(g.observe("state").await, before);
    assert!(g.mutations().await.is_empty());
}

#[tokio::test]
async fn one_email_method_with_a_plausible_address() {
    let g = Graph::rules().await;
    // Bob has an email method already.
    let a = add_email(&g, BOB, "bob@elsewhere.example").await;
    assert_bad_request(&a, "a second email method");
    assert!(!a.error_message().contains("elsewhere"), "{}", a.body);
    // The service account has none.
    for address in [
        "",
        "svc",
        "svc@",
        "@personal.example",
        "svc@personal",
        "svc @personal.example",
        "svc@@personal.example",
        "svc@personal..example",
    ] {
        assert_bad_request(&add_email(&g, SERVICE, address).await, address);
    }
    assert_bad_request(
        &g.send(
            "POST",
            &collection(SERVICE, "emailMethods"),
            Some(json!({"emailAddress": "svc@personal.example", "id": EMAIL})),
        )
        .await,
        "an id in the body",
    );
    assert_eq!(g.method_ids(SERVICE).await, [PASSWORD]);

    let a = add_email(&g, SERVICE, "svc@personal.example").await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["id"], EMAIL);
    assert_eq!(a.body["emailAddress"], "svc@personal.example");
    assert_eq!(
        a.body["@odata.type"],
        "#microsoft.graph.emailAuthenticationMethod"
    );
    assert!(
        a.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/authentication/emailMethods/$entity")
    );
    assert_eq!(
        method(&g, SERVICE, EMAIL).await["emailAddress"],
        "svc@personal.example"
    );
    assert_bad_request(
        &add_email(&g, SERVICE, "svc2@personal.example").await,
        "a second email method",
    );
    let log = g.mutations().await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (&log[0]["op"], &log[0]["methodId"]),
        (&json!("createEmailMethod"), &json!(EMAIL))
    );
    assert!(
        !serde_json::to_string(&log).unwrap().contains("svc@"),
        "an address in the mutation log"
    );
}

#[tokio::test]
async fn creating_needs_the_write_permission_and_an_admin_needs_a_privileged_app() {
    let mut config = rules_config();
    config.apps[0].denied_permissions = vec![permissions::METHODS_READ_WRITE_ALL.into()];
    let g = Graph::start(config).await;
    for a in [
        add_phone(&g, BOB, "+1 4255550112", "mobile").await,
        add_email(&g, SERVICE, "svc@personal.example").await,
    ] {
        assert_eq!(a.status, 403, "{}", a.body);
        assert_eq!(a.error_code(), "Authorization_RequestDenied");
    }
    assert_eq!(g.observe("stats").await["writesSpent"], 0);
    assert!(g.mutations().await.is_empty());

    // With the permission, an admin-role holder is still out of reach of an app
    // without a privileged role. Ada has a mobile phone but no email method.
    let g = Graph::rules().await;
    let a = add_email(&g, ADMIN, "ada@personal.example").await;
    assert_eq!(a.status, 403, "{}", a.body);
    let mut config = rules_config();
    config.apps[0].privileged = true;
    let g = Graph::start(config).await;
    let a = add_email(&g, ADMIN, "ada@personal.example").await;
    assert_eq!(a.status, 201, "{}", a.body);
}

#[tokio::test]
async fn creations_in_a_batch_are_answered_per_item_and_spend_the_write_quota() {
    // Two writes per 150 s: the third creation is throttled and changes nothing.
    let g = Graph::start(mfa_reset::sim::SimConfig {
        quotas: Some(tiny_quotas(1000.0, 2.0, 1000.0)),
        ..rules_config()
    })
    .await;
    let a = g
        .batch(json!([
            write_item(
                "bob",
                "POST",
                &collection(BOB, "phoneMethods"),
                json!({"phoneNumber": "+1 4255550112", "phoneType": "mobile"}),
            ),
            write_item(
                "svc",
                "POST",
                &collection(SERVICE, "emailMethods"),
                json!({"emailAddress": "svc@personal.example"}),
            ),
            write_item(
                "carol",
                "POST",
                &collection(CAROL, "phoneMethods"),
                json!({"phoneNumber": "+1 4255550117", "phoneType": "office"}),
            ),
        ]))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let mut statuses: Vec<u64> = ["bob", "svc", "carol"]
        .iter()
        .map(|id| a.item(id)["status"].as_u64().unwrap())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 429], "{}", a.body);
    // What was created is in the tenant; what was throttled is not.
    for (id, user, method_id, field, value) in [
        ("bob", BOB, MOBILE, "phoneNumber", "+1 4255550112"),
        (
            "svc",
            SERVICE,
            EMAIL,
            "emailAddress",
            "svc@personal.example",
        ),
        ("carol", CAROL, OFFICE, "phoneNumber", "+1 4255550117"),
    ] {
        let m = method(&g, user, method_id).await;
        if a.item(id)["status"] == 201 {
            assert_eq!(m[field], value, "{id}");
            assert_eq!(a.item(id)["body"]["id"], method_id, "{id}");
        } else {
            assert_eq!(m, Value::Null, "{id} was throttled but created");
        }
    }
    assert_eq!(g.mutations().await.len(), 2);
    // As for every write: the throttled one spends no write (its resource unit, yes).
    assert_eq!(g.observe("stats").await["writesSpent"], 2);
}

#[tokio::test]
async fn re_enabling_an_account_follows_the_rules_of_disabling_it() {
    let g = Graph::rules().await;
    for user in [ALICE, SYNCED, ADMIN] {
        g.sim.set_account_enabled(user, false).unwrap();
    }
    let a = set_enabled(&g, ALICE, true).await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(g.user_state(ALICE).await["accountEnabled"], true);
    let log = g.mutations().await;
    assert_eq!(
        (&log[0]["op"], &log[0]["accountEnabled"]),
        (&json!("updateUser"), &json!(true))
    );
    // Re-enabling again changes nothing more.
    assert_eq!(set_enabled(&g, ALICE, true).await.status, 204);
    assert_eq!(g.user_state(ALICE).await["accountEnabled"], true);

    // A synced user's accountEnabled belongs to on-premises AD.
    let a = set_enabled(&g, SYNCED, true).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.error_code(), "Request_BadRequest");
    assert_eq!(g.user_state(SYNCED).await["accountEnabled"], false);
    // An admin-role holder, only by a privileged app.
    let a = set_enabled(&g, ADMIN, true).await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(g.user_state(ADMIN).await["accountEnabled"], false);
}

#[tokio::test]
async fn a_restore_puts_the_tenant_back_as_it_was_method_order_aside() {
    let g = Graph::rules().await;
    let alice_before = user_sorted(&g, ALICE).await;
    let dora_before = user_sorted(&g, DORA).await;
    assert_eq!(alice_before["defaultMethod"], MOBILE);

    // Offboard Alice as a run would: disable, re-point the default away from her phones,
    // delete the alternate before the mobile, the email, and issue a pass. Dora loses
    // her office phone; her own pass stays.
    assert_eq!(set_enabled(&g, ALICE, false).await.status, 204);
    assert_eq!(set_default(&g, ALICE, "push").await.status, 204);
    for (name, id) in [
        ("phoneMethods", ALTERNATE_MOBILE),
        ("phoneMethods", MOBILE),
        ("emailMethods", EMAIL),
    ] {
        let a = g
            .send("DELETE", &format!("{}/{id}", collection(ALICE, name)), None)
            .await;
        assert_eq!(a.status, 204, "{name}/{id}: {}", a.body);
    }
    let pass = g
        .send(
            "POST",
            &collection(ALICE, "temporaryAccessPassMethods"),
            Some(json!({"lifetimeInMinutes": 60})),
        )
        .await;
    assert_eq!(pass.status, 201, "{}", pass.body);
    let pass_id = pass.body["id"].as_str().unwrap().to_string();
    let office = format!("{}/{OFFICE}", collection(DORA, "phoneMethods"));
    assert_eq!(g.send("DELETE", &office, None).await.status, 204);
    assert_ne!(user_sorted(&g, ALICE).await, alice_before);

    // Restore: the pass the run issued goes, the phones come back mobile first, the
    // email, the default on the re-created mobile, and the account.
    let a = g
        .send(
            "DELETE",
            &format!(
                "{}/{pass_id}",
                collection(ALICE, "temporaryAccessPassMethods")
            ),
            None,
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(
        add_phone(&g, ALICE, "+1 4255550101", "mobile").await.status,
        201
    );
    assert_eq!(
        add_phone(&g, ALICE, "+1 4255550102", "alternateMobile")
            .await
            .status,
        201
    );
    assert_eq!(
        add_email(&g, ALICE, "alice@personal.example").await.status,
        201
    );
    // Each voice or SMS default lands on the phone it names.
    for (value, id) in [
        ("voiceAlternateMobile", ALTERNATE_MOBILE),
        ("voiceMobile", MOBILE),
        ("sms", MOBILE),
    ] {
        let a = set_default(&g, ALICE, value).await;
        assert_eq!(a.status, 204, "{value}: {}", a.body);
        assert_eq!(g.user_state(ALICE).await["defaultMethod"], id, "{value}");
    }
    assert_eq!(set_enabled(&g, ALICE, true).await.status, 204);
    assert_eq!(
        add_phone(&g, DORA, "+1 4255550199", "office").await.status,
        201
    );
    assert_eq!(set_default(&g, DORA, "voiceOffice").await.status, 204);
    assert_eq!(g.user_state(DORA).await["defaultMethod"], OFFICE);

    assert_eq!(user_sorted(&g, ALICE).await, alice_before);
    // Dora had no default before; a restore would leave it unset, this test set one.
    let mut dora_after = user_sorted(&g, DORA).await;
    dora_after["defaultMethod"] = Value::Null;
    assert_eq!(dora_after, dora_before);

    // Her own pass (not one the run issued) can be deleted too.
    let dora_pass = format!(
        "{}/dora-tap-0001",
        collection(DORA, "temporaryAccessPassMethods")
    );
    assert_eq!(g.send("DELETE", &dora_pass, None).await.status, 204);
    assert!(
        !g.method_ids(DORA)
            .await
            .contains(&"dora-tap-0001".to_string())
    );
}
