//! [`TokenSource`]: the token cache one credential's callers share. A token is refreshed
//! shortly before it expires, one refresh at a time (callers that arrive meanwhile wait
//! for it), and dropped when Graph rejects it; a ready token is used until it expires.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::azure_cli::run_azure_cli;
use super::token::{Fetched, instant_of, jwt_expiry};
use super::token_endpoint::{check_token_url, request_token};
use super::{
    AccessToken, AuthError, Credential, MFA_RESET_ACCESS_TOKEN, RetryPolicy, TokenEndpoint,
};
use crate::secret::Secret;

/// …and a token is not handed out when it has less than this left, even as a fallback.
const MIN_USABLE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Cache {
    token: Option<AccessToken>,
    refresh_at: Option<Instant>,
    invalid: bool,
}

struct Inner {
    credential: Credential,
    endpoint: TokenEndpoint,
    http: reqwest::Client,
    retry: RetryPolicy,
    cache: Mutex<Cache>,
    /// Held while fetching: one refresh at a time. Keeps the last refresh's error for the
    /// callers that waited for it.
    refresh: tokio::sync::Mutex<Option<AuthError>>,
    /// Completed refreshes, successful or not.
    refreshes: AtomicU64,
    /// The ready token was rejected by Graph.
    static_rejected: AtomicBool,
}

/// Hands out access tokens for one credential: cached, refreshed before expiry, one refresh
/// at a time. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self
            .inner
            .cache
            .lock()
            .map(|c| c.token.clone())
            .ok()
            .flatten();
        f.debug_struct("TokenSource")
            .field("credential", &self.inner.credential)
            .field("endpoint", &self.inner.endpoint)
            .field("cached", &cached)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A token source with the default [`RetryPolicy`]. Fails when the credential needs the
    /// token endpoint and its URL is not `https://` (plain `http://` only to loopback).
    pub fn new(
        credential: Credential,
        endpoint: TokenEndpoint,
        http: reqwest::Client,
    ) -> Result<TokenSource, AuthError> {
        TokenSource::with_retry(credential, endpoint, http, RetryPolicy::default())
    }

    pub fn with_retry(
        credential: Credential,
        endpoint: TokenEndpoint,
        http: reqwest::Client,
        retry: RetryPolicy,
    ) -> Result<TokenSource, AuthError> {
        if credential.uses_token_endpoint() {
            check_token_url(&endpoint.token_url)?;
        }
        Ok(TokenSource {
            inner: Arc::new(Inner {
                credential,
                endpoint,
                http,
                retry,
                cache: Mutex::new(Cache::default()),
                refresh: tokio::sync::Mutex::new(None),
                refreshes: AtomicU64::new(0),
                static_rejected: AtomicBool::new(false),
            }),
        })
    }

    pub fn credential(&self) -> &Credential {
        &self.inner.credential
    }

    /// A token to send now: the cached one, or a fresh one when it is due for refresh
    /// (expiring within five minutes, or within a tenth of its lifetime when that is
    /// sooner) or was invalidated. Callers that arrive during a refresh share it.
    ///
    /// When a refresh fails while the cached token is still valid, the cached token is
    /// returned and the refresh is tried again a little later.
    pub async fn token(&self) -> Result<AccessToken, AuthError> {
        let inner = &*self.inner;
        if let Some(token) = inner.fresh(Instant::now()) {
            return Ok(token);
        }
        let seen = inner.refreshes.load(Ordering::Acquire);
        let mut last_error = inner.refresh.lock().await;
        let now = Instant::now();
        if let Some(token) = inner.fresh(now) {
            return Ok(token);
        }
        if inner.refreshes.load(Ordering::Acquire) != seen
            && let Some(error) = last_error.as_ref()
        {
            // The refresh we waited for failed: share its answer rather than hammer the
            // endpoint once per waiter.
            return inner.usable(now).ok_or_else(|| error.clone());
        }
        let result = inner.fetch().await;
        inner.refreshes.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(fetched) => {
                *last_error = None;
                let token = fetched.token.clone();
                let mut cache = inner.cache.lock().expect("token cache lock");
                cache.token = Some(fetched.token);
                cache.refresh_at = fetched.refresh_at;
                cache.invalid = false;
                Ok(token)
            }
            Err(error) => {
                *last_error = Some(error.clone());
                let now = Instant::now();
                match inner.usable(now) {
                    Some(token) => {
                        // Keep using it; try again in a while, well before it expires.
                        let left = token.expires_at().map_or(Duration::from_secs(60), |e| {
                            e.saturating_duration_since(now)
                        });
                        let mut cache = inner.cache.lock().expect("token cache lock");
                        cache.refresh_at = Some(now + (left / 2).min(Duration::from_secs(30)));
                        Ok(token)
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// Marks `token` as rejected (Graph answered `401 InvalidAuthenticationToken`), so that
    /// the next [`TokenSource::token`] fetches a new one. Does nothing when the cache holds
    /// another token already (someone refreshed in between). A ready token cannot be
    /// refreshed: after this, `token()` fails with [`AuthError::StaticTokenRejected`].
    pub fn invalidate(&self, token: &AccessToken) {
        let mut cache = self.inner.cache.lock().expect("token cache lock");
        if cache.token.as_ref() == Some(token) {
            cache.invalid = true;
            if matches!(self.inner.credential, Credential::AccessToken(_)) {
                self.inner.static_rejected.store(true, Ordering::Release);
            }
        }
    }
}

impl Inner {
    /// The cached token when it is valid and not due for refresh.
    fn fresh(&self, now: Instant) -> Option<AccessToken> {
        let cache = self.cache.lock().expect("token cache lock");
        let token = cache.token.as_ref()?;
        if cache.invalid || cache.refresh_at.is_some_and(|at| now >= at) {
            return None;
        }
        Some(token.clone())
    }

    /// The cached token when it is still valid, due for refresh or not.
    fn usable(&self, now: Instant) -> Option<AccessToken> {
        let cache = self.cache.lock().expect("token cache lock");
        let token = cache.token.as_ref()?;
        if cache.invalid
            || token
                .expires_at()
                .is_some_and(|at| at.saturating_duration_since(now) < MIN_USABLE)
        {
            return None;
        }
        Some(token.clone())
    }

    async fn fetch(&self) -> Result<Fetched, AuthError> {
        let fetched = self.fetch_from_source().await;
        match &fetched {
            Ok(_) => tracing::info!(credential = self.credential.kind(), "access token acquired"),
            Err(e) => {
                tracing::warn!(credential = self.credential.kind(), error = %e, "no access token")
            }
        }
        fetched
    }

    async fn fetch_from_source(&self) -> Result<Fetched, AuthError> {
        match &self.credential {
            Credential::AccessToken(secret) => self.fetch_static(secret),
            Credential::AzureCli(cli) => run_azure_cli(cli).await,
            Credential::ClientSecret { .. } | Credential::Certificate { .. } => {
                request_token(&self.credential, &self.endpoint, &self.http, &self.retry).await
            }
        }
    }

    fn fetch_static(&self, secret: &Secret) -> Result<Fetched, AuthError> {
        if self.static_rejected.load(Ordering::Acquire) {
            return Err(AuthError::StaticTokenRejected { expired: false });
        }
        let expires_at = match jwt_expiry(secret.expose()) {
            Some(exp) if exp <= SystemTime::now() + MIN_USABLE => {
                return Err(AuthError::StaticTokenRejected { expired: true });
            }
            Some(exp) => Some(instant_of(exp)),
            None => None,
        };
        Ok(Fetched {
            token: AccessToken::new(secret.clone(), expires_at).map_err(|_| {
                AuthError::InvalidVariable {
                    variable: MFA_RESET_ACCESS_TOKEN,
                    reason: "it holds characters an HTTP header cannot carry".into(),
                }
            })?,
            // Used until it expires; then `token()` says so.
            refresh_at: expires_at,
        })
    }
}
