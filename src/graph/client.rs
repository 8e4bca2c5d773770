//! The HTTP side of the client: posts a `$batch` to Graph with a bearer token and reports
//! what came back — the items' answers, or why the batch as a whole got none.
//!
//! Deciding what to do about an answer is the dispatcher's job (in the engine); this
//! module only keeps the token fresh (a 401 makes the token source fetch a new one) and
//! turns transport trouble into [`SendFailure`]s.

use std::sync::Mutex;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE};

use super::auth::{AccessToken, AuthError, TokenSource};
use super::batch::{self, ItemOutcome};
use super::endpoints::{ApiVersion, Endpoints};
use super::transport::{SendFailure, Transport};
use crate::wire::{BatchRequest, BatchResponse, BatchResponseItem, headers};

/// How long one `$batch` may take before it counts as a dropped connection.
const BATCH_TIMEOUT: Duration = Duration::from_secs(120);

/// Sends `$batch`es to one Graph service root.
pub struct GraphClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    tokens: TokenSource,
    /// The token the latest batch went with, to invalidate after a 401.
    last_token: Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph", &self.endpoints.graph())
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    pub fn new(http: reqwest::Client, endpoints: Endpoints, tokens: TokenSource) -> GraphClient {
        GraphClient {
            http,
            endpoints,
            tokens,
            last_token: Mutex::new(None),
        }
    }

    /// An HTTP client configured as the Graph client wants it.
    pub fn http_client() -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(BATCH_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Gets a token now, so that a credential problem stops a run before it starts.
    pub async fn check_credentials(&self) -> Result<(), super::auth::AuthError> {
        self.tokens.token().await.map(|_| ())
    }

    async fn post(
        &self,
        version: ApiVersion,
        body: &BatchRequest,
    ) -> Result<Vec<BatchResponseItem>, SendFailure> {
        let token = self.tokens.token().await.map_err(token_failure)?;
        *self.last_token.lock().expect("token lock") = Some(token.clone());
        let url = format!("{}/$batch", self.endpoints.graph_root(version));
        let response = self
            .http
            .post(url)
            .header(AUTHORIZATION, token.authorization())
            .header(CONTENT_TYPE, "application/json")
            .json(body)
            .send()
            .await
            .map_err(|e| SendFailure::Connection(describe(&e)))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header(headers::REQUEST_ID);
        let retry_after = header(headers::RETRY_AFTER)
            .as_deref()
            .and_then(batch::parse_retry_after);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendFailure::Connection(describe(&e)))?;
        if status == 200 {
            return serde_json::from_slice::<BatchResponse>(&bytes)
                .map(|b| b.responses)
                .map_err(|e| {
                    SendFailure::Connection(format!("the $batch answer could not be read: {e}"))
                });
        }
        let body = serde_json::from_slice(&bytes).ok();
        let outcome = batch::classify_status(status, retry_after, None, body);
        if matches!(outcome, ItemOutcome::AuthExpired(_)) {
            self.tokens.invalidate(&token);
        }
        Err(SendFailure::Status {
            outcome,
            request_id,
        })
    }
}

/// Why a batch could not be sent for want of a token. A token endpoint that is throttling
/// or out of reach has not let the batch reach Graph at all: its items are throttled, to be
/// sent again after the wait (never "may have happened", which would make a pass creation
/// look uncertain). Anything else is the credential's fault and fails the items.
fn token_failure(error: AuthError) -> SendFailure {
    match error {
        AuthError::Throttled { retry_after, .. } => SendFailure::Status {
            outcome: ItemOutcome::Throttled {
                retry_after: Some(retry_after),
            },
            request_id: None,
        },
        AuthError::Network { .. } => SendFailure::Status {
            outcome: ItemOutcome::Throttled { retry_after: None },
            request_id: None,
        },
        other => SendFailure::Auth(other.to_string()),
    }
}

impl Transport for GraphClient {
    async fn send_batch(
        &self,
        version: ApiVersion,
        body: BatchRequest,
    ) -> Result<Vec<BatchResponseItem>, SendFailure> {
        self.post(version, &body).await
    }

    fn token_rejected(&self) {
        if let Some(token) = self.last_token.lock().expect("token lock").as_ref() {
            self.tokens.invalidate(token);
        }
    }
}

/// A shared client, for a plan and a run that use one connection.
impl Transport for std::sync::Arc<GraphClient> {
    async fn send_batch(
        &self,
        version: ApiVersion,
        body: BatchRequest,
    ) -> Result<Vec<BatchResponseItem>, SendFailure> {
        self.post(version, &body).await
    }

    fn token_rejected(&self) {
        GraphClient::token_rejected(self)
    }
}

/// A transport error in words, without anything secret (reqwest's errors name the URL,
/// which holds none).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
