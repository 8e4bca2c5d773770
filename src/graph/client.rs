//! The HTTP side of the client: posts a `$batch` to Graph with a bearer token and reports
//! what came back — the items' answers, or why the batch as a whole got none.
//!
//! Deciding what to do about an answer is the dispatcher's job (in the engine); this
//! module only keeps the token fresh (a 401 makes the token source fetch a new one) and
//! turns transport trouble into [`SendFailure`]s. One request can also go on its own
//! ([`GraphClient::send_one`]), which the [`super::preflight`] uses before a command starts.

use std::sync::Mutex;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE};

use super::auth::{AccessToken, AuthError, TokenSource};
use super::batch::{self, ItemAnswer, ItemOutcome};
use super::endpoints::{ApiVersion, Endpoints};
use super::preflight::{Preflight, PreflightBounds, PreflightError};
use super::request::GraphRequest;
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
    /// How long the preflight may keep trying an unreachable Graph.
    preflight: PreflightBounds,
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
            preflight: PreflightBounds::default(),
        }
    }

    /// This client with other bounds for its preflight ([`GraphClient::preflight`]).
    pub fn with_preflight_bounds(mut self, bounds: PreflightBounds) -> GraphClient {
        self.preflight = bounds;
        self
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

    /// The token source the client's requests go with.
    pub fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    /// Proves, before anything else is sent, that the credential gives a token Graph
    /// accepts and that the app may read users: one real request
    /// ([`Preflight::check_access`]), retried within the client's preflight bounds while
    /// Graph cannot be reached.
    pub async fn check_credentials(&self) -> Result<(), PreflightError> {
        self.preflight().check_access().await
    }

    /// A preflight of this client: its requests share one deadline.
    pub fn preflight(&self) -> Preflight<'_> {
        Preflight::start(self, self.preflight.clone())
    }

    /// Sends `request` on its own (a `$batch` of one) and classifies its answer. A 401
    /// drops the token it went with, as [`Transport::token_rejected`] does.
    pub async fn send_one(&self, request: &GraphRequest) -> Result<ItemAnswer, SendFailure> {
        let body = batch::encode(&[batch::Item {
            id: "1".into(),
            request,
            client_request_id: crate::wire::random_guid(),
        }]);
        let items = self.post(request.version, &body).await?;
        let item = items.into_iter().find(|i| i.id == "1").ok_or_else(|| {
            SendFailure::Connection("the $batch answer did not answer its one request".into())
        })?;
        let answer = batch::classify(item);
        if matches!(answer.outcome, ItemOutcome::AuthExpired(_)) {
            self.token_rejected();
        }
        Ok(answer)
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
