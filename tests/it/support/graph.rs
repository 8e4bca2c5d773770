//! Helpers: start an emulator in-process and talk to it over real HTTP on 127.0.0.1.

use std::time::Duration;

use mfa_reset::secret::Secret;
use mfa_reset::sim::{Quotas, Sim, SimConfig, SimHandle, TenantSource};
use serde_json::{Value, json};

use super::data;

/// The bearer token every test emulator accepts without a token request.
pub const TOKEN: &str = "test-static-token";

/// The rules tenant (`tests/data/tenant-rules.json`), throttling on with documented quotas.
pub fn rules_config() -> SimConfig {
    SimConfig {
        tenant: TenantSource::File(data("tenant-rules.json")),
        static_token: Some(Secret::new(TOKEN)),
        ..SimConfig::default()
    }
}

/// Quotas small enough to exhaust in a test: `ru` resource units per 10 s, `app_writes`
/// writes per 150 s, `tenant_writes` writes per 5 min.
pub fn tiny_quotas(ru: f64, app_writes: f64, tenant_writes: f64) -> Quotas {
    Quotas {
        resource_units: ru,
        resource_unit_window: Duration::from_secs(10),
        app_writes,
        app_write_window: Duration::from_secs(150),
        tenant_writes,
        tenant_write_window: Duration::from_secs(300),
    }
}

/// One answer: status, headers, JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    /// The items of a batch answer, by id.
    pub fn item(&self, id: &str) -> &Value {
        self.body["responses"]
            .as_array()
            .expect("a batch answer")
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no item {id} in {}", self.body))
    }
}

/// A running emulator and an HTTP client for it.
pub struct Graph {
    pub sim: SimHandle,
    pub http: reqwest::Client,
    pub token: String,
}

impl Graph {
    pub async fn start(config: SimConfig) -> Graph {
        let sim = Sim::start(config).await.expect("emulator starts");
        Graph {
            sim,
            http: reqwest::Client::new(),
            token: TOKEN.to_string(),
        }
    }

    pub async fn rules() -> Graph {
        Graph::start(rules_config()).await
    }

    pub fn url(&self, version_and_path: &str) -> String {
        format!("{}{version_and_path}", self.sim.base_url())
    }

    /// Sends a request to `/v1.0{path}`.
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.send_to(method, &format!("/v1.0{path}"), body, &[])
            .await
            .expect("the emulator answers")
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    /// Sends a request to a full path (version included) with extra headers; `Err` when
    /// the connection failed.
    pub async fn send_to(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await?).await
    }

    /// Posts `{"requests": items}` to `/v1.0/$batch`.
    pub async fn batch(&self, items: Value) -> Answer {
        self.send("POST", "/$batch", Some(json!({ "requests": items })))
            .await
    }

    /// `GET /_sim/{what}`, without a token.
    pub async fn observe(&self, what: &str) -> Value {
        let resp = self
            .http
            .get(self.url(&format!("/_sim/{what}")))
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("JSON")
    }

    /// The user as `/_sim/state` shows it.
    pub async fn user_state(&self, id: &str) -> Value {
        let state = self.observe("state").await;
        state["users"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no user {id} in state"))
    }

    /// The ids of the user's methods, as the tenant holds them.
    pub async fn method_ids(&self, id: &str) -> Vec<String> {
        self.user_state(id).await["methods"]
            .as_array()
            .expect("methods")
            .iter()
            .map(|m| m["id"].as_str().expect("id").to_string())
            .collect()
    }

    pub async fn mutations(&self) -> Vec<Value> {
        self.observe("mutations").await["value"]
            .as_array()
            .expect("value")
            .clone()
    }
}

/// `POST /{tenant}/oauth2/v2.0/token` with a form.
pub async fn token_request(g: &Graph, tenant: &str, form: &[(&str, &str)]) -> Answer {
    let resp = g
        .http
        .post(g.url(&format!("/{tenant}/oauth2/v2.0/token")))
        .form(form)
        .send()
        .await
        .expect("the emulator answers");
    read(resp).await.expect("a whole answer")
}

/// A client-credentials token request with a client secret.
pub async fn secret_grant(g: &Graph, tenant: &str, client_id: &str, secret: &str) -> Answer {
    token_request(
        g,
        tenant,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await
}

pub async fn read(resp: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "status {status}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A batch item with a JSON body, as Graph wants writes.
pub fn write_item(id: &str, method: &str, url: &str, body: Value) -> Value {
    json!({
        "id": id,
        "method": method,
        "url": url,
        "headers": {"Content-Type": "application/json"},
        "body": body,
    })
}

pub fn get_item(id: &str, url: &str) -> Value {
    json!({"id": id, "method": "GET", "url": url})
}
