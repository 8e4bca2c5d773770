//! The token endpoint (client secret and certificate assertions) and bearer tokens on the
//! Graph routes, expiry included.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mfa_reset::secret::Secret;
use mfa_reset::sim::{Certificate, SimConfig};
use serde_json::{Value, json};

use crate::support::graph::*;
use crate::support::*;

const SECRET: &str = "s3cret~value-for-tests";

fn config() -> SimConfig {
    let mut config = rules_config();
    config.static_token = None;
    config.apps[0].client_secret = Some(Secret::new(SECRET));
    config.apps[0].certificate =
        Some(Certificate::from_pem_file(&data("app-cert.pem")).expect("test certificate loads"));
    config
}

async fn with_secret(g: &Graph, secret: &str) -> Answer {
    secret_grant(g, g.sim.tenant_id(), g.sim.client_id(), secret).await
}

/// A certificate's thumbprint as JWT headers carry it.
fn thumbprint(algorithm: &'static aws_lc_rs::digest::Algorithm) -> String {
    let pem = std::fs::read(data("app-cert.pem")).unwrap();
    let block = x509_parser::pem::Pem::iter_from_buffer(&pem)
        .next()
        .unwrap()
        .unwrap();
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(algorithm, &block.contents))
}

fn assertion(g: &Graph, alg: Algorithm, key_file: &str, audience: &str, lifetime: i64) -> String {
    let mut header = Header::new(alg);
    match alg {
        Algorithm::PS256 => header.x5t_s256 = Some(thumbprint(&aws_lc_rs::digest::SHA256)),
        _ => header.x5t = Some(thumbprint(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY)),
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({
        "aud": audience,
        "iss": g.sim.client_id(),
        "sub": g.sim.client_id(),
        "jti": format!("jti-{now}-{lifetime}"),
        "nbf": now - 60,
        "iat": now - 60,
        "exp": now + lifetime,
    });
    let key = EncodingKey::from_rsa_pem(&std::fs::read(data(key_file)).unwrap()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn own_audience(g: &Graph) -> String {
    format!(
        "{}/{}/oauth2/v2.0/token",
        g.sim.base_url(),
        g.sim.tenant_id()
    )
}

async fn with_assertion(g: &Graph, assertion: &str) -> Answer {
    token_request(
        g,
        g.sim.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", g.sim.client_id()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await
}

fn assert_invalid_client(a: &Answer, code: u32) {
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.body["error"], "invalid_client");
    assert_eq!(a.body["error_codes"], json!([code]));
    let description = a.body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}:")),
        "{description}"
    );
}

async fn graph_works_with(g: &mut Graph, token: &Answer) {
    assert_eq!(token.status, 200, "{}", token.body);
    assert_eq!(token.body["token_type"], "Bearer");
    g.token = token.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(g.get(&format!("/users/{ALICE}")).await.status, 200);
}

#[tokio::test]
async fn a_client_secret_gets_a_token_that_graph_accepts() {
    let mut g = Graph::start(config()).await;
    let token = with_secret(&g, SECRET).await;
    assert!(token.body["expires_in"].as_u64().unwrap() > 3000);
    graph_works_with(&mut g, &token).await;
    // The tenant may also be named by one of its domains.
    let a = secret_grant(&g, "contoso.example", g.sim.client_id(), SECRET).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(g.observe("stats").await["tokensIssued"], 2);
}

#[tokio::test]
async fn a_wrong_secret_or_tenant_or_app_is_refused_with_an_aadsts_code() {
    let g = Graph::start(config()).await;
    let a = with_secret(&g, "not-the-secret").await;
    assert_invalid_client(&a, 7000215);
    assert!(
        !a.body.to_string().contains("not-the-secret"),
        "secret echoed"
    );

    let a = secret_grant(
        &g,
        "00000000-1111-4222-8333-444444444444",
        g.sim.client_id(),
        SECRET,
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error_codes"], json!([90002]));

    let a = secret_grant(
        &g,
        g.sim.tenant_id(),
        "11111111-2222-4333-8444-555555555555",
        SECRET,
    )
    .await;
    assert_eq!(a.body["error_codes"], json!([700016]));
    assert_eq!(g.observe("stats").await["tokenFailures"], 3);
}

#[tokio::test]
async fn a_ps256_assertion_with_x5t_s256_is_accepted() {
    let mut g = Graph::start(config()).await;
    let jwt = assertion(&g, Algorithm::PS256, "app-key.pem", &own_audience(&g), 600);
    let token = with_assertion(&g, &jwt).await;
    graph_works_with(&mut g, &token).await;
    // Entra's own token URL is a valid audience too, as a client built for Entra sends it.
    let public = format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
        g.sim.tenant_id()
    );
    let jwt = assertion(&g, Algorithm::PS256, "app-key.pem", &public, 600);
    assert_eq!(with_assertion(&g, &jwt).await.status, 200);
}

#[tokio::test]
async fn an_rs256_assertion_with_x5t_is_accepted() {
    let mut g = Graph::start(config()).await;
    let jwt = assertion(&g, Algorithm::RS256, "app-key.pem", &own_audience(&g), 600);
    let token = with_assertion(&g, &jwt).await;
    graph_works_with(&mut g, &token).await;
}

#[tokio::test]
async fn forged_expired_or_misaddressed_assertions_are_refused() {
    let g = Graph::start(config()).await;
    // Signed by another key, claiming the registered certificate's thumbprint.
    let forged = assertion(
        &g,
        Algorithm::PS256,
        "forged-key.pem",
        &own_audience(&g),
        600,
    );
    assert_invalid_client(&with_assertion(&g, &forged).await, 700027);

    // Tampered claims under a valid signature.
    let good = assertion(&g, Algorithm::PS256, "app-key.pem", &own_audience(&g), 600);
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() + 86_400);
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_invalid_client(&with_assertion(&g, &parts.join(".")).await, 700027);

    // Expired well beyond the five-minute clock skew allowance.
    let expired = assertion(&g, Algorithm::PS256, "app-key.pem", &own_audience(&g), -900);
    assert_invalid_client(&with_assertion(&g, &expired).await, 700024);

    let elsewhere = assertion(
        &g,
        Algorithm::PS256,
        "app-key.pem",
        "https://login.example/other/oauth2/v2.0/token",
        600,
    );
    assert_invalid_client(&with_assertion(&g, &elsewhere).await, 50012);
    assert_eq!(g.observe("stats").await["tokensIssued"], 0);
}

#[tokio::test]
async fn graph_routes_need_a_token_the_emulator_issued_and_it_expires() {
    let mut config = config();
    config.token_lifetime = Duration::from_secs(1);
    let mut g = Graph::start(config).await;

    g.token = "made-up".into();
    let a = g.get(&format!("/users/{ALICE}")).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.error_code(), "InvalidAuthenticationToken");
    assert!(a.header("www-authenticate").is_some());
    let a = g
        .http
        .get(g.url(&format!("/v1.0/users/{ALICE}")))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 401);

    let token = with_secret(&g, SECRET).await;
    assert_eq!(token.body["expires_in"], 1);
    graph_works_with(&mut g, &token).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = g.get(&format!("/users/{ALICE}")).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.error_code(), "InvalidAuthenticationToken");
    assert!(a.error_message().contains("expired"), "{}", a.body);
    // Also inside a batch: the batch as a whole is refused.
    assert_eq!(g.batch(json!([get_item("1", "/users")])).await.status, 401);
    assert_eq!(g.observe("stats").await["unauthenticatedRequests"], 4);
}
