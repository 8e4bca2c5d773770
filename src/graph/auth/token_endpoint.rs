//! The tenant's token endpoint: [`TokenEndpoint`] says where client-credentials requests
//! go, [`RetryPolicy`] how hard they are retried (`429` with its `Retry-After`, `5xx`,
//! connection failures); the request is built from a client secret or a freshly signed
//! certificate assertion, and the endpoint's answer is read into a token or an
//! [`AuthError`].

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::error::refusal;
use super::token::{DEFAULT_LIFETIME, Fetched};
use super::{AuthError, Credential, JWT_BEARER_ASSERTION_TYPE};
use crate::secret::Secret;

/// Where client-credentials requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEndpoint {
    /// `{login}/{tenant}/oauth2/v2.0/token`; also the audience of certificate assertions.
    pub token_url: String,
    /// The resource's `/.default` scope, e.g. `https://graph.microsoft.com/.default`.
    pub scope: String,
}

/// How hard the token endpoint is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait after a 429 without `Retry-After`.
    pub default_retry_after: Duration,
    /// A 429 asking for a longer wait than this is not waited for: the error says when to
    /// try again.
    pub max_retry_after: Duration,
    /// The first wait after a 5xx or a connection failure; doubled each time, jittered.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The time one token request may take.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            default_retry_after: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(120),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        // Full jitter over the upper half, so that parallel processes spread out.
        capped.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }
}

/// The fields of one client-credentials request, and the values among them that must never
/// appear in an error.
struct TokenForm {
    fields: Vec<(&'static str, String)>,
    sensitive: Vec<Secret>,
}

/// The client-credentials form for one attempt (a certificate signs a new assertion),
/// and the values that must never appear in an error.
fn form(credential: &Credential, endpoint: &TokenEndpoint) -> Result<TokenForm, AuthError> {
    let scope = endpoint.scope.clone();
    match credential {
        Credential::ClientSecret {
            client_id, secret, ..
        } => Ok(TokenForm {
            fields: vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", client_id.clone()),
                ("scope", scope),
                ("client_secret", secret.expose().to_string()),
            ],
            sensitive: vec![secret.clone()],
        }),
        Credential::Certificate {
            client_id,
            certificate,
            ..
        } => {
            let assertion = certificate.assertion(client_id, &endpoint.token_url)?;
            Ok(TokenForm {
                fields: vec![
                    ("grant_type", "client_credentials".into()),
                    ("client_id", client_id.clone()),
                    ("scope", scope),
                    ("client_assertion_type", JWT_BEARER_ASSERTION_TYPE.into()),
                    ("client_assertion", assertion.expose().to_string()),
                ],
                sensitive: vec![assertion],
            })
        }
        Credential::AccessToken(_) | Credential::AzureCli(_) => {
            unreachable!("only app credentials use the token endpoint")
        }
    }
}

/// One token request, retried on 429, 5xx and connection failures.
pub(super) async fn request_token(
    credential: &Credential,
    endpoint: &TokenEndpoint,
    http: &reqwest::Client,
    policy: &RetryPolicy,
) -> Result<Fetched, AuthError> {
    let url = &endpoint.token_url;
    let max_attempts = policy.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let TokenForm { fields, sensitive } = form(credential, endpoint)?;
        let started = Instant::now();
        let sent = http
            .post(url)
            .header(ACCEPT, "application/json")
            .form(&fields)
            .timeout(policy.request_timeout)
            .send()
            .await;
        drop(fields);
        let (status, retry_after, body) = match read_answer(sent).await {
            Ok(answer) => answer,
            Err(e) => {
                if attempt < max_attempts {
                    tokio::time::sleep(policy.backoff(attempt)).await;
                    continue;
                }
                return Err(AuthError::Network {
                    url: url.clone(),
                    attempts: attempt,
                    reason: error_chain(&e),
                });
            }
        };
        if (200..300).contains(&status) {
            return parse_token_answer(status, &body, started);
        }
        if status == 429 {
            let wait = retry_after.unwrap_or(policy.default_retry_after);
            if attempt < max_attempts && wait <= policy.max_retry_after {
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(AuthError::Throttled {
                attempts: attempt,
                retry_after: wait,
            });
        }
        if status >= 500 && attempt < max_attempts {
            let wait = retry_after
                .unwrap_or_else(|| policy.backoff(attempt))
                .min(policy.max_retry_after);
            tokio::time::sleep(wait).await;
            continue;
        }
        return Err(refusal(status, &body, &sensitive));
    }
}

/// An answer's status, its `Retry-After` (read as the headers arrive) and its body; a
/// connection failure while sending or while reading the body alike is the error.
async fn read_answer(
    sent: reqwest::Result<reqwest::Response>,
) -> reqwest::Result<(u16, Option<Duration>, bytes::Bytes)> {
    let response = sent?;
    let status = response.status().as_u16();
    let retry_after = parse_retry_after(response.headers(), SystemTime::now());
    Ok((status, retry_after, response.bytes().await?))
}

/// Refuses a token URL that would send a secret in clear text to another machine.
pub(super) fn check_token_url(url: &str) -> Result<(), AuthError> {
    let invalid = |reason: &str| AuthError::Endpoint {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| invalid("not a URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(invalid(
                    "plain http:// would send the credentials in clear text; use https:// (http:// is allowed to loopback only)",
                ))
            }
        }
        _ => Err(invalid("the scheme must be https://")),
    }
}

/// The token endpoint's success answer.
fn parse_token_answer(status: u16, body: &[u8], obtained: Instant) -> Result<Fetched, AuthError> {
    let invalid = |what: &str| AuthError::InvalidResponse {
        status,
        what: what.to_string(),
    };
    let value: Value =
        serde_json::from_slice(body).map_err(|_| invalid("a body that is not JSON"))?;
    let token = value
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no access_token"))?;
    if let Some(kind) = value.get("token_type").and_then(Value::as_str)
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(invalid("a token that is not a Bearer token"));
    }
    let lifetime = match value.get("expires_in") {
        None | Some(Value::Null) => DEFAULT_LIFETIME,
        Some(v) => {
            let secs = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| invalid("an expires_in that is not a number of seconds"))?;
            if secs == 0 {
                return Err(invalid("a token that has already expired (expires_in 0)"));
            }
            Duration::from_secs(secs)
        }
    };
    Fetched::new(Secret::new(token), obtained, lifetime)
        .map_err(|_| invalid("an access token an HTTP header cannot carry"))
}

/// `Retry-After` as seconds (decimals allowed) or an HTTP date, capped at a day like a
/// number of seconds is (a date in year 9999 would otherwise make the error ask the
/// operator to wait millennia).
fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    const MAX: Duration = Duration::from_secs(86_400);
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX.as_secs_f64())));
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = date - time::OffsetDateTime::from(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO).min(MAX))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut h = HeaderMap::new();
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37Z
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_millis(500)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:50:07 GMT"),
        );
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h, now), None);
        // A date millennia away is a day, like a huge number of seconds.
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Fri, 31 Dec 9999 23:59:59 GMT"),
        );
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn token_urls_must_be_https_or_loopback() {
        assert!(check_token_url("https://login.microsoftonline.com/t/oauth2/v2.0/token").is_ok());
        assert!(check_token_url("http://127.0.0.1:8080/t/oauth2/v2.0/token").is_ok());
        assert!(check_token_url("http://[::1]:8080/t/oauth2/v2.0/token").is_ok());
        assert!(check_token_url("http://localhost/t/oauth2/v2.0/token").is_ok());
        assert!(check_token_url("http://login.example/t/oauth2/v2.0/token").is_err());
        assert!(check_token_url("ftp://login.example/").is_err());
    }
}
