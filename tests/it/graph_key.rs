//! `UserKey` against the emulator over HTTP: every user of a generated tenant — guests with
//! `#EXT#`, apostrophes, the UPN that starts with `$` — is reached by its id and by its UPN,
//! and keys built from hostile-looking but legal UPNs land on exactly their user.

use mfa_reset::graph::endpoints::{ApiVersion, Cloud, Endpoints};
use mfa_reset::graph::key::{KeyKind, UserKey};
use mfa_reset::secret::Secret;
use mfa_reset::sim::{Sim, SimConfig, SimHandle, TenantRecord, TenantSource};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

const USERS: usize = 300;

fn config(tenant: TenantSource) -> SimConfig {
    SimConfig {
        static_token: Some(Secret::new("t")),
        tenant,
        ..Default::default()
    }
}

/// GETs `{graph}/v1.0{users_path}?$select=id,userPrincipalName` and returns status and body.
async fn get_user(client: &reqwest::Client, sim: &SimHandle, key: &UserKey) -> (u16, Value) {
    let endpoints = Endpoints::new(Cloud::Global, None, Some(sim.base_url())).unwrap();
    let url = format!(
        "{}{}?$select=id,userPrincipalName",
        endpoints.graph_root(ApiVersion::V1),
        key.users_path().expect("ids and UPNs have a path"),
    );
    let response = client
        .get(&url)
        .bearer_auth("t")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// GETs `/v1.0/users?$filter=...` and returns the ids found.
async fn filter_users(client: &reqwest::Client, sim: &SimHandle, key: &UserKey) -> Vec<String> {
    // The caller percent-encodes the whole `$filter` value.
    let filter = utf8_percent_encode(&key.filter(), NON_ALPHANUMERIC).to_string();
    let url = format!("{}/v1.0/users?$filter={filter}&$select=id", sim.base_url());
    let response = client.get(&url).bearer_auth("t").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{}", key.filter());
    let body: Value = response.json().await.unwrap();
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_user_of_a_generated_tenant_is_reached_by_id_and_by_upn() {
    let sim = Sim::start(config(TenantSource::Generate {
        users: USERS,
        seed: 7,
    }))
    .await
    .unwrap();
    let users = sim.state().users;
    assert_eq!(users.len(), USERS);
    // The tenant holds the awkward cases this test is about.
    let upns = || users.iter().map(|u| u.user_principal_name.as_str());
    assert!(upns().any(|u| u.starts_with('$')), "a $ UPN");
    assert!(upns().any(|u| u.contains("#EXT#")), "a guest UPN");
    assert!(upns().any(|u| u.contains('\'')), "an apostrophe UPN");

    let client = reqwest::Client::new();
    for user in &users {
        let by_upn = UserKey::parse(&user.user_principal_name)
            .unwrap_or_else(|e| panic!("{}: {e}", user.user_principal_name));
        assert_eq!(by_upn.kind(), KeyKind::Upn);
        let (status, body) = get_user(&client, &sim, &by_upn).await;
        assert_eq!(status, 200, "{by_upn} → {:?}: {body}", by_upn.users_path());
        assert_eq!(body["id"], json!(user.id), "{by_upn}");
        assert_eq!(
            body["userPrincipalName"],
            json!(user.user_principal_name),
            "{by_upn}"
        );

        // The id, upper-cased as some exports write it, reaches the same user.
        let by_id = UserKey::parse(&user.id.to_ascii_uppercase()).unwrap();
        assert_eq!(by_id.kind(), KeyKind::Id);
        let (status, body) = get_user(&client, &sim, &by_id).await;
        assert_eq!(status, 200, "{by_id}: {body}");
        assert_eq!(body["id"], json!(user.id), "{by_id}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_find_exactly_their_user() {
    let sim = Sim::start(config(TenantSource::Generate {
        users: USERS,
        seed: 7,
    }))
    .await
    .unwrap();
    let users = sim.state().users;
    let client = reqwest::Client::new();
    // Every UPN with a quote, a '#' or a '$', and a sample of the rest.
    let chosen = users
        .iter()
        .enumerate()
        .filter(|(i, u)| i % 25 == 0 || u.user_principal_name.contains(['\'', '#', '$']));
    for (_, user) in chosen {
        let upn = UserKey::upn(&user.user_principal_name).unwrap();
        assert_eq!(
            filter_users(&client, &sim, &upn).await,
            vec![user.id.as_str()]
        );
        let id = UserKey::id(&user.id).unwrap();
        assert_eq!(
            filter_users(&client, &sim, &id).await,
            vec![user.id.as_str()]
        );
        if let Some(mail) = &user.mail {
            let mail = UserKey::mail(mail).unwrap();
            assert!(
                filter_users(&client, &sim, &mail).await.contains(&user.id),
                "{mail}"
            );
        }
    }
    sim.shutdown().await;
}

/// UPNs that are legal in a key and look dangerous in a URL, each next to the user it
/// could be confused with.
const AWKWARD: &[&str] = &[
    "plain@contoso.example",
    "$plain@contoso.example",
    "$o'brien@contoso.example",
    "o'brien@contoso.example",
    "a#b@contoso.example",
    "a@contoso.example",
    "plain@contoso.example#tail",
    "$x#EXT#@contoso.example",
    "q'#'q@contoso.example",
    "semi;colon=eq&amp@contoso.example",
    "paren(x)@contoso.example",
    "(paren)@contoso.example",
    "users('plain')@contoso.example",
    "plus+tag@contoso.example",
    "star*bang!@contoso.example",
    "colon:tilde~@contoso.example",
    "zoë@contoso.example",
    "quote\"angle<>@contoso.example",
    "brace{}pipe|caret^tick`@contoso.example",
    "$'@contoso.example",
    "''@contoso.example",
];

#[tokio::test]
async fn awkward_upns_land_on_exactly_their_user() {
    let record: TenantRecord = serde_json::from_value(json!({
        "tenantId": "0b9d2f5e-6a8c-4d1e-9f3a-2c7b5e8d1a40",
        "users": AWKWARD.iter().enumerate().map(|(i, upn)| json!({
            "id": format!("00000000-0000-4000-8000-{i:012}"),
            "userPrincipalName": upn,
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    let tenant = mfa_reset::sim::Tenant::from_record(record).unwrap();
    let sim = Sim::start(config(TenantSource::Tenant(Box::new(tenant))))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    for (i, upn) in AWKWARD.iter().enumerate() {
        let key = UserKey::parse(upn).unwrap();
        let (status, body) = get_user(&client, &sim, &key).await;
        assert_eq!(status, 200, "{upn} via {:?}: {body}", key.users_path());
        assert_eq!(
            body["id"],
            json!(format!("00000000-0000-4000-8000-{i:012}")),
            "{upn} via {:?}",
            key.users_path()
        );
        assert_eq!(body["userPrincipalName"], json!(upn));
        assert_eq!(filter_users(&client, &sim, &key).await.len(), 1, "{upn}");
    }
    sim.shutdown().await;
}
