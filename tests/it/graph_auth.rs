//! The Graph client's token providers (`mfa_reset::graph::auth`) against the in-process
//! emulator on 127.0.0.1, a scripted fake token endpoint (for 429s, 5xx and the exact form
//! and assertion sent), and a fake `az` script: credentials from the environment, client
//! secrets and certificates, caching, refresh, invalidation, retries, the Azure CLI, and
//! that no secret, key, assertion or token is ever printed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_reset::graph::auth::{
    AccessToken, AuthError, AuthMode, AzureCli, ClientCertificate, Credential, RetryPolicy,
    TokenEndpoint, TokenSource,
};
use mfa_reset::secret::Secret;
use mfa_reset::sim::{Certificate, Sim, SimConfig, SimHandle, TenantSource};
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[cfg(unix)]
use crate::support::process::write_script;
use crate::support::{data, scratch};

const SECRET: &str = "s3cret~value-for-auth-tests";
const SCOPE: &str = "https://graph.microsoft.com/.default";

// ---------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------

/// The rules tenant with one app that has both a client secret and the test certificate.
fn sim_config(token_lifetime: Duration) -> SimConfig {
    let mut config = SimConfig {
        tenant: TenantSource::File(data("tenant-rules.json")),
        token_lifetime,
        ..SimConfig::default()
    };
    config.apps[0].client_secret = Some(Secret::new(SECRET));
    config.apps[0].certificate =
        Some(Certificate::from_pem_file(&data("app-cert.pem")).expect("test certificate loads"));
    config
}

async fn start(config: SimConfig) -> SimHandle {
    Sim::start(config).await.expect("emulator starts")
}

fn endpoint(sim: &SimHandle) -> TokenEndpoint {
    TokenEndpoint {
        token_url: format!("{}/{}/oauth2/v2.0/token", sim.base_url(), sim.tenant_id()),
        scope: SCOPE.into(),
    }
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn secret_env(sim: &SimHandle, secret: &str) -> Credential {
    Credential::from_env(
        env(&[
            ("AZURE_TENANT_ID", sim.tenant_id()),
            ("AZURE_CLIENT_ID", sim.client_id()),
            ("AZURE_CLIENT_SECRET", secret),
        ]),
        AuthMode::Environment,
    )
    .expect("a client-secret credential")
}

fn source(credential: Credential, sim: &SimHandle) -> TokenSource {
    TokenSource::new(credential, endpoint(sim), reqwest::Client::new()).expect("a token source")
}

/// `GET /v1.0/users?$top=1` with the token; the status.
async fn graph_status(sim: &SimHandle, token: &AccessToken) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/v1.0/users?$top=1", sim.base_url()))
        .header(AUTHORIZATION, token.authorization())
        .send()
        .await
        .expect("the emulator answers")
        .status()
        .as_u16()
}

async fn stat(sim: &SimHandle, name: &str) -> u64 {
    let stats: Value = reqwest::Client::new()
        .get(format!("{}/_sim/stats", sim.base_url()))
        .send()
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("JSON stats");
    stats[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no {name} in {stats}"))
}

// ---------------------------------------------------------------------------------------
// A scripted token endpoint
// ---------------------------------------------------------------------------------------

/// One scripted answer: status, extra headers, body.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn token(token: &str, expires_in: u64) -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: json!({"token_type": "Bearer", "expires_in": expires_in, "access_token": token})
                .to_string(),
        }
    }

    fn throttled(retry_after: Option<&str>) -> Reply {
        Reply {
            status: 429,
            headers: retry_after
                .map(|r| vec![("Retry-After", r.to_string())])
                .unwrap_or_default(),
            body: json!({"error": "temporarily_unavailable", "error_description": "AADSTS90055: Too many requests."}).to_string(),
        }
    }

    fn unavailable(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: json!({"error": "temporarily_unavailable", "error_description": "AADSTS50033: A transient error has occurred. Please try again."}).to_string(),
        }
    }
}

/// A token endpoint on 127.0.0.1 that answers from a script (the last answer repeats) and
/// records each request's form.
struct FakeEndpoint {
    token_url: String,
    forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl FakeEndpoint {
    async fn start(script: Vec<Reply>) -> FakeEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let forms: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
        let recorded = forms.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let body = read_request(&mut stream).await;
                let form: HashMap<String, String> =
                    form_urlencoded::parse(&body).into_owned().collect();
                let n = {
                    let mut forms = recorded.lock().unwrap();
                    forms.push(form.clone());
                    forms.len()
                };
                let mut reply = script[(n - 1).min(script.len() - 1)].clone();
                // `$SECRET` and `$ASSERTION` echo what was sent, as a hostile server might.
                for (placeholder, field) in [
                    ("$SECRET", "client_secret"),
                    ("$ASSERTION", "client_assertion"),
                ] {
                    let value = form.get(field).map(String::as_str).unwrap_or_default();
                    reply.body = reply.body.replace(placeholder, value);
                }
                let mut head = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(reply.body.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        FakeEndpoint {
            token_url: format!("http://{addr}/contoso.example/oauth2/v2.0/token"),
            forms,
        }
    }

    fn endpoint(&self) -> TokenEndpoint {
        TokenEndpoint {
            token_url: self.token_url.clone(),
            scope: SCOPE.into(),
        }
    }

    fn requests(&self) -> usize {
        self.forms.lock().unwrap().len()
    }

    fn form(&self, i: usize) -> HashMap<String, String> {
        self.forms.lock().unwrap()[i].clone()
    }
}

/// Reads one HTTP/1.1 request; returns its body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return Vec::new();
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf[header_end..].to_vec()
}

fn secret_credential() -> Credential {
    Credential::ClientSecret {
        tenant: "contoso.example".into(),
        client_id: "5f0d6a3e-2b8c-4c1e-9a77-3d5e0c9b1f42".into(),
        secret: Secret::new(SECRET),
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        default_retry_after: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(5),
    }
}

// ---------------------------------------------------------------------------------------
// Client secret and certificate against the emulator
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_secret_gets_a_token_that_graph_accepts_and_it_is_cached() {
    let sim = start(sim_config(Duration::from_secs(3599))).await;
    let tokens = source(secret_env(&sim, SECRET), &sim);
    let token = tokens.token().await.expect("a token");
    assert_eq!(graph_status(&sim, &token).await, 200);
    let expires = token.expires_at().expect("an expiry");
    assert!(expires > Instant::now() + Duration::from_secs(3500));

    let again = tokens.token().await.unwrap();
    assert_eq!(again, token, "the cached token is reused");
    assert_eq!(stat(&sim, "tokensIssued").await, 1);
}

#[tokio::test]
async fn a_certificate_from_app_pem_gets_a_token_that_graph_accepts() {
    let sim = start(sim_config(Duration::from_secs(3599))).await;
    let path = data("app.pem");
    let credential = Credential::from_env(
        env(&[
            ("AZURE_TENANT_ID", sim.tenant_id()),
            ("AZURE_CLIENT_ID", sim.client_id()),
            ("AZURE_CLIENT_CERTIFICATE_PATH", path.to_str().unwrap()),
        ]),
        AuthMode::Environment,
    )
    .expect("a certificate credential");
    assert!(matches!(credential, Credential::Certificate { .. }));
    let tokens = source(credential, &sim);
    let token = tokens.token().await.expect("a token");
    assert_eq!(graph_status(&sim, &token).await, 200);
    assert_eq!(stat(&sim, "tokensIssued").await, 1);
    assert_eq!(stat(&sim, "tokenFailures").await, 0);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_aadsts7000215_and_the_secret_is_not_shown() {
    let sim = start(sim_config(Duration::from_secs(3599))).await;
    let wrong = "wrong-secret-value-7h1s";
    let tokens = source(secret_env(&sim, wrong), &sim);
    let error = tokens.token().await.expect_err("a wrong secret is refused");
    assert_eq!(error.aadsts_code(), Some(7000215));
    let AuthError::Refused {
        status,
        error: oauth_error,
        message,
        ..
    } = &error
    else {
        panic!("not a refusal: {error:?}");
    };
    assert_eq!(*status, 401);
    assert_eq!(oauth_error, "invalid_client");
    assert_eq!(message, "Invalid client secret provided.");
    let shown = format!("{error} | {error:?}");
    assert!(shown.contains("AADSTS7000215"), "{shown}");
    assert!(!shown.contains(wrong), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        !shown.contains("Trace ID"),
        "only the first sentence: {shown}"
    );
    // A refusal is not retried.
    assert_eq!(stat(&sim, "tokenFailures").await, 1);

    // A tenant the emulator does not know.
    let credential = Credential::ClientSecret {
        tenant: "00000000-1111-4222-8333-444444444444".into(),
        client_id: sim.client_id().into(),
        secret: Secret::new(SECRET),
    };
    let endpoint = TokenEndpoint {
        token_url: format!(
            "{}/00000000-1111-4222-8333-444444444444/oauth2/v2.0/token",
            sim.base_url()
        ),
        scope: SCOPE.into(),
    };
    let tokens = TokenSource::new(credential, endpoint, reqwest::Client::new()).unwrap();
    let error = tokens.token().await.unwrap_err();
    assert_eq!(error.aadsts_code(), Some(90002), "{error}");
    assert!(error.to_string().contains("AZURE_TENANT_ID"), "{error}");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_new_one_works() {
    let sim = start(sim_config(Duration::from_secs(2))).await;
    let tokens = source(secret_env(&sim, SECRET), &sim);
    let first = tokens.token().await.unwrap();
    assert_eq!(graph_status(&sim, &first).await, 200);
    // Well inside its lifetime (refresh is due 0.2 s before expiry): cached.
    assert_eq!(tokens.token().await.unwrap(), first);
    assert_eq!(stat(&sim, "tokensIssued").await, 1);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        graph_status(&sim, &first).await,
        401,
        "the first has expired"
    );
    let second = tokens.token().await.unwrap();
    assert_ne!(second, first);
    assert_eq!(graph_status(&sim, &second).await, 200);
    assert_eq!(tokens.token().await.unwrap(), second);
    assert_eq!(stat(&sim, "tokensIssued").await, 2);

    // Inside the last tenth of its lifetime a token is refreshed before it expires.
    tokio::time::sleep(Duration::from_millis(1850)).await;
    let third = tokens.token().await.unwrap();
    assert_ne!(third, second);
    assert_eq!(graph_status(&sim, &third).await, 200);
    assert_eq!(stat(&sim, "tokensIssued").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_fetch_and_one_refresh_after_invalidate() {
    let mut config = sim_config(Duration::from_secs(3599));
    // A slow token endpoint, so that the callers really overlap the fetch.
    config.latency = Duration::from_millis(300);
    let sim = start(config).await;
    let tokens = source(secret_env(&sim, SECRET), &sim);

    let many = |tokens: &TokenSource| {
        (0..10)
            .map(|_| {
                let tokens = tokens.clone();
                tokio::spawn(async move { tokens.token().await })
            })
            .collect::<Vec<_>>()
    };
    let mut got = Vec::new();
    for task in many(&tokens) {
        got.push(task.await.unwrap().unwrap());
    }
    let first = got[0].clone();
    assert!(got.iter().all(|t| *t == first), "one token for all");
    assert_eq!(
        stat(&sim, "tokensIssued").await,
        1,
        "one fetch on a cold start"
    );

    tokens.invalidate(&first);
    let mut got = Vec::new();
    for task in many(&tokens) {
        got.push(task.await.unwrap().unwrap());
    }
    let second = got[0].clone();
    assert_ne!(second, first);
    assert!(got.iter().all(|t| *t == second), "one new token for all");
    assert_eq!(stat(&sim, "tokensIssued").await, 2, "exactly one refresh");
    assert_eq!(graph_status(&sim, &second).await, 200);

    // A late invalidate of the old token (another request's 401) changes nothing.
    tokens.invalidate(&first);
    assert_eq!(tokens.token().await.unwrap(), second);
    assert_eq!(stat(&sim, "tokensIssued").await, 2);
}

// ---------------------------------------------------------------------------------------
// What is sent, and retries, against the scripted endpoint
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_certificate_assertion_has_microsofts_documented_header_and_claims() {
    let fake = FakeEndpoint::start(vec![Reply::token("fake-token-1", 3599)]).await;
    let certificate = ClientCertificate::from_pem_file(&data("app.pem")).unwrap();
    let client_id = "5f0d6a3e-2b8c-4c1e-9a77-3d5e0c9b1f42";
    let credential = Credential::Certificate {
        tenant: "contoso.example".into(),
        client_id: client_id.into(),
        certificate,
    };
    let tokens = TokenSource::new(credential, fake.endpoint(), reqwest::Client::new()).unwrap();
    let token = tokens.token().await.unwrap();
    assert_eq!(token.secret().expose(), "fake-token-1");

    let form = fake.form(0);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], client_id);
    assert_eq!(form["scope"], SCOPE);
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!form.contains_key("client_secret"));
    let jwt = &form["client_assertion"];

    // Header: PS256, typ JWT, x5t#S256 = base64url SHA-256 of the certificate's DER.
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::PS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let pem = std::fs::read(data("app-cert.pem")).unwrap();
    let der = x509_parser::pem::Pem::iter_from_buffer(&pem)
        .next()
        .unwrap()
        .unwrap()
        .contents;
    let thumbprint =
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der));
    assert_eq!(header.x5t_s256.as_deref(), Some(thumbprint.as_str()));

    // Signature: verifies with the certificate's public key.
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_der(&cert.public_key().subject_public_key.data);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::PS256);
    validation.set_audience(&[&fake.token_url]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .expect("signed by the certificate's key")
        .claims;

    // Claims: aud = token URL, iss = sub = client id, jti GUID, nbf = iat = now, exp +10 min.
    assert_eq!(claims["aud"], fake.token_url.as_str());
    assert_eq!(claims["iss"], client_id);
    assert_eq!(claims["sub"], client_id);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 36, "{jti}");
    assert_eq!(jti.matches('-').count(), 4, "{jti}");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let nbf = claims["nbf"].as_u64().unwrap();
    assert!(nbf.abs_diff(now) <= 5, "nbf {nbf} now {now}");
    assert_eq!(claims["iat"].as_u64(), Some(nbf));
    assert_eq!(claims["exp"].as_u64(), Some(nbf + 600));

    // Each request signs a new assertion with a new jti.
    tokens.invalidate(&token);
    fake.forms.lock().unwrap().clear();
    tokens.token().await.unwrap();
    let again = fake.form(0)["client_assertion"].clone();
    let claims2: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(again.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_ne!(claims2["jti"], claims["jti"]);
}

#[tokio::test]
async fn a_429_from_the_token_endpoint_waits_for_retry_after_then_retries() {
    let fake = FakeEndpoint::start(vec![
        Reply::throttled(Some("1")),
        Reply::token("after-429", 3599),
    ])
    .await;
    let tokens =
        TokenSource::new(secret_credential(), fake.endpoint(), reqwest::Client::new()).unwrap();
    let started = Instant::now();
    let token = tokens.token().await.expect("a token after the 429");
    assert_eq!(token.secret().expose(), "after-429");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(fake.requests(), 2);
    // The secret form.
    let form = fake.form(1);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_secret"], SECRET);
    assert_eq!(form["scope"], SCOPE);
    assert!(!form.contains_key("client_assertion"));
}

#[tokio::test]
async fn a_429_without_retry_after_waits_the_default() {
    let fake = FakeEndpoint::start(vec![Reply::throttled(None), Reply::token("t", 3599)]).await;
    let tokens = TokenSource::with_retry(
        secret_credential(),
        fake.endpoint(),
        reqwest::Client::new(),
        quick_retries(),
    )
    .unwrap();
    let started = Instant::now();
    tokens.token().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn token_endpoint_429s_are_retried_a_bounded_number_of_times() {
    let fake = FakeEndpoint::start(vec![Reply::throttled(Some("0"))]).await;
    let tokens = TokenSource::with_retry(
        secret_credential(),
        fake.endpoint(),
        reqwest::Client::new(),
        quick_retries(),
    )
    .unwrap();
    let error = tokens.token().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Throttled { attempts: 3, .. }),
        "{error:?}"
    );
    assert_eq!(fake.requests(), 3);

    // A wait longer than the policy allows is not waited for: the error says when.
    let fake = FakeEndpoint::start(vec![Reply::throttled(Some("3600"))]).await;
    let tokens = TokenSource::with_retry(
        secret_credential(),
        fake.endpoint(),
        reqwest::Client::new(),
        quick_retries(),
    )
    .unwrap();
    let error = tokens.token().await.unwrap_err();
    assert!(error.to_string().contains("3600 s"), "{error}");
    assert_eq!(fake.requests(), 1);
}

#[tokio::test]
async fn server_errors_and_connection_failures_are_retried_with_backoff_bounded() {
    let fake = FakeEndpoint::start(vec![
        Reply::unavailable(503),
        Reply::unavailable(500),
        Reply::token("after-5xx", 3599),
    ])
    .await;
    let tokens = TokenSource::with_retry(
        secret_credential(),
        fake.endpoint(),
        reqwest::Client::new(),
        quick_retries(),
    )
    .unwrap();
    assert_eq!(tokens.token().await.unwrap().secret().expose(), "after-5xx");
    assert_eq!(fake.requests(), 3);

    let fake = FakeEndpoint::start(vec![Reply::unavailable(503)]).await;
    let tokens = TokenSource::with_retry(
        secret_credential(),
        fake.endpoint(),
        reqwest::Client::new(),
        quick_retries(),
    )
    .unwrap();
    let error = tokens.token().await.unwrap_err();
    assert_eq!(fake.requests(), 3);
    assert_eq!(error.aadsts_code(), Some(50033), "{error:?}");

    // Nobody listens on the port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let endpoint = TokenEndpoint {
        token_url: format!("http://{addr}/contoso.example/oauth2/v2.0/token"),
        scope: SCOPE.into(),
    };
    let tokens = TokenSource::with_retry(
        secret_credential(),
        endpoint,
        reqwest::Client::new(),
        quick_retries(),
    )
    .unwrap();
    let error = tokens.token().await.unwrap_err();
    assert!(
        matches!(error, AuthError::Network { attempts: 3, .. }),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains(SECRET));
}

#[tokio::test]
async fn a_failed_refresh_is_reported_once_the_old_token_is_about_to_expire() {
    let fake = FakeEndpoint::start(vec![
        Reply::token("short-lived", 3),
        Reply::unavailable(503),
    ])
    .await;
    let tokens = TokenSource::with_retry(
        secret_credential(),
        fake.endpoint(),
        reqwest::Client::new(),
        RetryPolicy {
            max_attempts: 1,
            ..quick_retries()
        },
    )
    .unwrap();
    let first = tokens.token().await.unwrap();
    // Due for refresh after 2.7 s; the refresh fails, and with under 5 s left the old token
    // is not handed out as a fallback: the failure is reported.
    tokio::time::sleep(Duration::from_millis(2800)).await;
    let error = tokens.token().await.unwrap_err();
    assert_eq!(error.aadsts_code(), Some(50033), "{error:?}");
    assert_eq!(fake.requests(), 2);
    assert!(!format!("{error:?}").contains(first.secret().expose()));
}

#[tokio::test]
async fn plain_http_to_another_machine_is_refused() {
    let endpoint = TokenEndpoint {
        token_url: "http://login.example/contoso.example/oauth2/v2.0/token".into(),
        scope: SCOPE.into(),
    };
    let error =
        TokenSource::new(secret_credential(), endpoint, reqwest::Client::new()).unwrap_err();
    assert!(matches!(error, AuthError::Endpoint { .. }), "{error:?}");
    assert!(error.is_configuration());
}

// ---------------------------------------------------------------------------------------
// A ready token
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_ready_token_is_used_until_graph_rejects_it_then_a_fresh_one_is_asked_for() {
    let ready = "ready-token-from-env-0123456789";
    let mut config = sim_config(Duration::from_secs(3599));
    config.static_token = Some(Secret::new(ready));
    let sim = start(config).await;
    let credential = Credential::from_env(
        env(&[("MFA_RESET_ACCESS_TOKEN", format!("Bearer {ready}").as_str())]),
        AuthMode::Environment,
    )
    .unwrap();
    let tokens = source(credential, &sim);
    let token = tokens.token().await.unwrap();
    assert_eq!(token.secret().expose(), ready);
    assert_eq!(token.expires_at(), None);
    assert_eq!(graph_status(&sim, &token).await, 200);
    assert_eq!(tokens.token().await.unwrap(), token);

    tokens.invalidate(&token);
    let error = tokens.token().await.unwrap_err();
    assert!(
        matches!(error, AuthError::StaticTokenRejected { expired: false }),
        "{error:?}"
    );
    let shown = format!("{error} | {error:?}");
    assert!(shown.contains("MFA_RESET_ACCESS_TOKEN"), "{shown}");
    assert!(shown.contains("fresh"), "{shown}");
    assert!(!shown.contains(ready), "{shown}");
    assert_eq!(stat(&sim, "tokensIssued").await, 0);

    // A JWT-shaped ready token whose exp has passed is not even sent.
    let payload =
        URL_SAFE_NO_PAD.encode(br#"{"exp":1000000000,"aud":"https://graph.microsoft.com"}"#);
    let expired = format!("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl");
    let tokens = source(Credential::AccessToken(Secret::new(expired.clone())), &sim);
    let error = tokens.token().await.unwrap_err();
    assert!(
        matches!(error, AuthError::StaticTokenRejected { expired: true }),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains(&expired));
}

// ---------------------------------------------------------------------------------------
// The Azure CLI
// ---------------------------------------------------------------------------------------

/// Only one test at a time writes and runs scripts: a script still open for writing in
/// one thread while another forks fails with "text file busy" (and [`write_script`] never
/// opens one for writing in this process, where other modules' tests start children).
#[cfg(unix)]
static SCRIPTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Writes an executable `az` stand-in that logs its arguments to `args.log` beside it and
/// then runs `body`.
#[cfg(unix)]
fn fake_az(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("az");
    let log = dir.join("args.log");
    write_script(
        &path,
        &format!("#!/bin/sh\necho \"$@\" >> '{}'\n{body}\n", log.display()),
    );
    path
}

#[cfg(unix)]
fn az_calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(unix)]
fn cli_source(program: PathBuf, tenant: Option<&str>, timeout: Duration) -> TokenSource {
    let mut cli = AzureCli::new(tenant.map(str::to_string));
    cli.program = program;
    cli.timeout = timeout;
    TokenSource::new(
        Credential::AzureCli(cli),
        TokenEndpoint {
            token_url: "https://login.microsoftonline.com/unused/oauth2/v2.0/token".into(),
            scope: SCOPE.into(),
        },
        reqwest::Client::new(),
    )
    .unwrap()
}

#[cfg(unix)]
#[tokio::test]
async fn the_azure_cli_gives_a_token_graph_accepts() {
    let _one = SCRIPTS.lock().await;
    let cli_token = "cli-token-abcdefghijklmnop";
    let mut config = sim_config(Duration::from_secs(3599));
    config.static_token = Some(Secret::new(cli_token));
    let sim = start(config).await;

    // A current CLI: `expires_on` in epoch seconds.
    let dir = scratch("az-new");
    let expires_on = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3000;
    let answer = json!({
        "accessToken": cli_token,
        "expiresOn": "2099-01-01 00:00:00.000000",
        "expires_on": expires_on,
        "subscription": "sub",
        "tenant": sim.tenant_id(),
        "tokenType": "Bearer",
    });
    let az = fake_az(&dir, &format!("cat <<'EOF'\n{answer}\nEOF"));
    let tokens = cli_source(az, Some(sim.tenant_id()), Duration::from_secs(20));
    let token = tokens.token().await.expect("a token from az");
    assert_eq!(token.secret().expose(), cli_token);
    assert_eq!(graph_status(&sim, &token).await, 200);
    let left = token.expires_at().unwrap() - Instant::now();
    assert!(
        left > Duration::from_secs(2990) && left <= Duration::from_secs(3001),
        "{left:?}"
    );
    assert_eq!(tokens.token().await.unwrap(), token, "cached: az runs once");
    assert_eq!(
        az_calls(&dir),
        vec![format!(
            "account get-access-token --resource-type ms-graph --output json --tenant {}",
            sim.tenant_id()
        )]
    );

    // An older CLI: only `expiresOn`, in local time (here +05:30) without an offset. The
    // guess errs early, never late.
    let dir = scratch("az-old");
    let script = format!(
        "printf '{{\"accessToken\": \"{cli_token}\", \"expiresOn\": \"%s\", \"tokenType\": \"Bearer\"}}\\n' \"$(TZ=XYZ-5:30 date -d @{expires_on} '+%Y-%m-%d %H:%M:%S.000000')\""
    );
    let az = fake_az(&dir, &script);
    let tokens = cli_source(az, None, Duration::from_secs(20));
    let token = tokens.token().await.expect("a token from an older az");
    assert_eq!(graph_status(&sim, &token).await, 200);
    let at = token.expires_at().unwrap();
    assert!(at > Instant::now() && at <= Instant::now() + Duration::from_secs(3001));
    assert_eq!(
        az_calls(&dir),
        vec!["account get-access-token --resource-type ms-graph --output json".to_string()]
    );
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_failures_say_what_happened_without_the_token() {
    let _one = SCRIPTS.lock().await;

    // Not signed in: exit 1, the first stderr line, and what to do.
    let dir = scratch("az-fail");
    let az = fake_az(
        &dir,
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\necho 'second line' >&2\nexit 1",
    );
    let error = cli_source(az, Some("contoso.example"), Duration::from_secs(20))
        .token()
        .await
        .unwrap_err();
    let AuthError::AzureCli {
        status, message, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*status, Some(1));
    assert_eq!(message, "ERROR: Please run 'az login' to setup account.");
    let shown = error.to_string();
    assert!(shown.contains("exit status 1"), "{shown}");
    assert!(shown.contains("az login --tenant"), "{shown}");
    assert!(!shown.contains("second line"), "{shown}");

    // Output that is not the expected JSON: the token in it is not repeated.
    let dir = scratch("az-garbage");
    let az = fake_az(&dir, "echo 'accessToken=leaky-token-value-xyz'");
    let error = cli_source(az, None, Duration::from_secs(20))
        .token()
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        AuthError::AzureCli {
            status: Some(0),
            ..
        }
    ));
    assert!(!format!("{error} {error:?}").contains("leaky-token"));
    let dir = scratch("az-no-expiry");
    let az = fake_az(&dir, "echo '{\"accessToken\": \"leaky-token-value-xyz\"}'");
    let error = cli_source(az, None, Duration::from_secs(20))
        .token()
        .await
        .unwrap_err();
    assert!(
        !format!("{error} {error:?}").contains("leaky-token"),
        "{error}"
    );

    // A CLI that hangs is stopped.
    let dir = scratch("az-hang");
    let az = fake_az(&dir, "exec sleep 30");
    let started = Instant::now();
    let error = cli_source(az, None, Duration::from_millis(500))
        .token()
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(error.to_string().contains("did not answer"), "{error}");

    // No CLI at all.
    let error = cli_source(
        scratch("az-missing").join("az"),
        None,
        Duration::from_secs(20),
    )
    .token()
    .await
    .unwrap_err();
    assert!(
        matches!(error, AuthError::AzureCliNotFound { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("az login"), "{error}");
}

// ---------------------------------------------------------------------------------------
// Credentials from the environment
// ---------------------------------------------------------------------------------------

const TENANT: &str = "9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13";
const CLIENT: &str = "5f0d6a3e-2b8c-4c1e-9a77-3d5e0c9b1f42";

#[test]
fn from_env_precedence_is_token_then_certificate_then_secret() {
    let pem = data("app.pem");
    let pem = pem.to_str().unwrap();

    // Everything set: the ready token wins, and the notes say what was ignored.
    let (credential, notes) = Credential::from_env_with_notes(
        env(&[
            ("MFA_RESET_ACCESS_TOKEN", "ready-token"),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_CLIENT_CERTIFICATE_PATH", pem),
        ]),
        AuthMode::Environment,
    )
    .unwrap();
    assert!(matches!(credential, Credential::AccessToken(ref t) if t.expose() == "ready-token"));
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("AZURE_CLIENT_SECRET") && notes[0].contains("MFA_RESET_ACCESS_TOKEN")
    );

    // Certificate and secret: the certificate wins, and a note says so.
    let (credential, notes) = Credential::from_env_with_notes(
        env(&[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_CLIENT_CERTIFICATE_PATH", pem),
        ]),
        AuthMode::Environment,
    )
    .unwrap();
    let Credential::Certificate {
        tenant,
        client_id,
        certificate,
    } = &credential
    else {
        panic!("{credential:?}");
    };
    assert_eq!((tenant.as_str(), client_id.as_str()), (TENANT, CLIENT));
    assert_eq!(certificate.sha256_thumbprint().len(), 43);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("using the certificate"), "{notes:?}");
    assert!(!notes[0].contains(SECRET));

    // The secret alone.
    let credential = Credential::from_env(
        env(&[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_CLIENT_CERTIFICATE_PATH", ""),
            ("MFA_RESET_ACCESS_TOKEN", "  "),
        ]),
        AuthMode::Environment,
    )
    .unwrap();
    assert!(
        matches!(&credential, Credential::ClientSecret { secret, .. } if secret.expose() == SECRET)
    );
    assert_eq!(credential.tenant(), Some(TENANT));

    // --auth azure-cli reads only the tenant.
    let credential = Credential::from_env(
        env(&[("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_SECRET", SECRET)]),
        AuthMode::AzureCli,
    )
    .unwrap();
    let Credential::AzureCli(cli) = &credential else {
        panic!("{credential:?}");
    };
    assert_eq!(cli.tenant.as_deref(), Some(TENANT));
    assert!(
        cli.args()
            .ends_with(&["--tenant".to_string(), TENANT.to_string()])
    );
    let credential = Credential::from_env(env(&[]), AuthMode::AzureCli).unwrap();
    assert_eq!(credential.tenant(), None);
}

#[test]
fn from_env_errors_name_the_missing_variable_and_never_a_value() {
    let check = |pairs: &[(&str, &str)], must: &[&str]| {
        let error = Credential::from_env(env(pairs), AuthMode::Environment).unwrap_err();
        let shown = format!("{error} | {error:?}");
        for m in must {
            assert!(shown.contains(m), "{m} not in {shown}");
        }
        for (_, value) in pairs {
            if value.len() > 8 && !value.contains('/') {
                assert!(!shown.contains(value), "{value} leaked in {shown}");
            }
        }
        assert!(error.is_configuration());
        error
    };
    let error = check(
        &[],
        &[
            "MFA_RESET_ACCESS_TOKEN",
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "azure-cli",
        ],
    );
    assert!(matches!(error, AuthError::NoCredentials));
    check(
        &[("AZURE_CLIENT_ID", CLIENT), ("AZURE_CLIENT_SECRET", SECRET)],
        &["AZURE_TENANT_ID is not set", "tenant"],
    );
    check(
        &[("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_SECRET", SECRET)],
        &["AZURE_CLIENT_ID is not set", "application (client) id"],
    );
    check(
        &[("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_ID", CLIENT)],
        &["AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_SECRET is not set"],
    );
    check(
        &[
            ("AZURE_TENANT_ID", "common"),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", SECRET),
        ],
        &["AZURE_TENANT_ID is not valid"],
    );
    check(
        &[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            (
                "AZURE_CLIENT_CERTIFICATE_PATH",
                data("app.pem").to_str().unwrap(),
            ),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pfx-password-value"),
        ],
        &["AZURE_CLIENT_CERTIFICATE_PASSWORD", "openssl pkcs12"],
    );
    check(
        &[("MFA_RESET_ACCESS_TOKEN", "has a space-secret-part")],
        &["MFA_RESET_ACCESS_TOKEN is not valid"],
    );
}

#[test]
fn certificate_files_that_cannot_work_are_explained() {
    let dir = scratch("certs");
    let cert = std::fs::read_to_string(data("app-cert.pem")).unwrap();
    let key = std::fs::read_to_string(data("app-key.pem")).unwrap();
    let forged = std::fs::read_to_string(data("forged-key.pem")).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let load = |path: &Path| {
        Credential::from_env(
            env(&[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", CLIENT),
                ("AZURE_CLIENT_CERTIFICATE_PATH", path.to_str().unwrap()),
            ]),
            AuthMode::Environment,
        )
    };
    let reason = |path: &Path| {
        let error = load(path).unwrap_err();
        let AuthError::Certificate { path: p, reason } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(p, path);
        let shown = format!("{error} | {error:?}");
        assert!(shown.contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{shown}");
        assert!(!shown.contains("MII"), "no PEM content in errors: {shown}");
        reason.clone()
    };

    // Key first, then certificate: order does not matter.
    assert!(load(&write("reversed.pem", &format!("{key}{cert}"))).is_ok());
    assert!(reason(&write("cert-only.pem", &cert)).contains("PRIVATE KEY"));
    assert!(reason(&write("key-only.pem", &key)).contains("CERTIFICATE"));
    assert!(reason(&write("mismatch.pem", &format!("{cert}{forged}"))).contains("does not belong"));
    assert!(reason(&write("garbage.pem", "not a pem at all")).contains("not a PEM file"));
    assert!(
        reason(&write(
            "encrypted.pem",
            &format!("{cert}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
        ))
        .contains("encrypted")
    );
    let missing = dir.join("missing.pem");
    let error = load(&missing).unwrap_err();
    assert!(
        error.to_string().contains("missing.pem"),
        "the path is named: {error}"
    );
}

// ---------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn nothing_secret_is_ever_printed() {
    const TOKEN_TEXT: &str = "tok-very-secret-0123456789";
    let key_pem = std::fs::read_to_string(data("app-key.pem")).unwrap();
    // A line from the middle of the private key's base64.
    let key_line = key_pem.lines().nth(5).unwrap().to_string();
    let cert = ClientCertificate::from_pem_file(&data("app.pem")).unwrap();
    let assertion = cert
        .assertion(
            CLIENT,
            "https://login.microsoftonline.com/t/oauth2/v2.0/token",
        )
        .unwrap();
    let assertion_text = assertion.expose().to_string();

    let credentials = vec![
        Credential::ClientSecret {
            tenant: TENANT.into(),
            client_id: CLIENT.into(),
            secret: Secret::new(SECRET),
        },
        Credential::Certificate {
            tenant: TENANT.into(),
            client_id: CLIENT.into(),
            certificate: cert.clone(),
        },
        Credential::AccessToken(Secret::new(TOKEN_TEXT)),
        Credential::AzureCli(AzureCli::new(Some(TENANT.into()))),
    ];

    // A source with a cached token.
    let fake = FakeEndpoint::start(vec![Reply::token(TOKEN_TEXT, 3599)]).await;
    let tokens = TokenSource::new(
        credentials[0].clone(),
        fake.endpoint(),
        reqwest::Client::new(),
    )
    .unwrap();
    let token = tokens.token().await.unwrap();
    let static_source = TokenSource::new(
        credentials[2].clone(),
        fake.endpoint(),
        reqwest::Client::new(),
    )
    .unwrap();
    static_source.token().await.unwrap();

    // Errors built from answers that try to echo what was sent.
    let echo = FakeEndpoint::start(vec![Reply {
        status: 401,
        headers: vec![],
        body: json!({
            "error": "invalid_client",
            "error_description": format!("AADSTS7000215: You sent $SECRET, it is wrong. Bye."),
            "error_codes": [7000215],
        })
        .to_string(),
    }])
    .await;
    let refused = TokenSource::new(
        credentials[0].clone(),
        echo.endpoint(),
        reqwest::Client::new(),
    )
    .unwrap()
    .token()
    .await
    .unwrap_err();
    let echo_assertion = FakeEndpoint::start(vec![Reply {
        status: 400,
        headers: vec![],
        body: json!({"error": "invalid_client", "error_description": "AADSTS50012: Bad assertion $ASSERTION here."}).to_string(),
    }])
    .await;
    let refused_cert = TokenSource::new(
        credentials[1].clone(),
        echo_assertion.endpoint(),
        reqwest::Client::new(),
    )
    .unwrap()
    .token()
    .await
    .unwrap_err();
    static_source.invalidate(&static_source.token().await.unwrap());
    let rejected = static_source.token().await.unwrap_err();
    let missing = Credential::from_env(
        env(&[("AZURE_CLIENT_SECRET", SECRET), ("AZURE_CLIENT_ID", CLIENT)]),
        AuthMode::Environment,
    )
    .unwrap_err();

    let mut shown = String::new();
    for c in &credentials {
        shown += &format!("{c:?}\n{c}\n{:#?}\n", c);
    }
    shown += &format!("{tokens:?}\n{tokens:#?}\n{static_source:?}\n");
    shown += &format!("{token:?}\n{token:#?}\n{:?}\n", token.authorization());
    shown += &format!("{cert:?}\n{assertion:?}\n");
    for e in [&refused, &refused_cert, &rejected, &missing] {
        shown += &format!("{e}\n{e:?}\n{e:#?}\n");
    }
    let echoed_assertion = echo_assertion.form(0)["client_assertion"].clone();
    assert!(echoed_assertion.len() > 100);
    for needle in [
        SECRET,
        TOKEN_TEXT,
        &key_line,
        &assertion_text,
        &echoed_assertion,
    ] {
        assert!(!shown.contains(needle), "{needle} printed in:\n{shown}");
    }
    // The refusal kept what it should.
    assert!(refused.to_string().contains("AADSTS7000215"), "{refused}");
    assert!(shown.contains("redacted"));
}

#[test]
fn token_sources_and_tokens_can_be_shared_across_threads() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<TokenSource>();
    shared::<AccessToken>();
    shared::<Credential>();
    shared::<AuthError>();
}
