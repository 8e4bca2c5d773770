//! A token and its lifetime: [`AccessToken`] (a bearer token whose `Debug` shows only how
//! long it has left), when a fetched token is refreshed, and the expiry of a JWT-shaped
//! ready token.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::HeaderValue;
use serde_json::Value;

use super::AuthError;
use super::credential::is_token_text;
use crate::secret::Secret;

/// A token is refreshed this long before it expires at most…
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The longest lifetime believed from a token answer (guards against absurd numbers).
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The lifetime assumed when a token answer has no `expires_in` (Entra's usual value).
pub(super) const DEFAULT_LIFETIME: Duration = Duration::from_secs(3599);

/// A bearer token for Graph. `Debug` shows how long it has left, never the token.
#[derive(Clone)]
pub struct AccessToken {
    value: Secret,
    header: HeaderValue,
    expires_at: Option<Instant>,
}

impl AccessToken {
    /// A token that expires at `expires_at` (`None`: unknown, never refreshed). Fails when
    /// the value cannot be sent in an HTTP header.
    pub fn new(value: Secret, expires_at: Option<Instant>) -> Result<AccessToken, AuthError> {
        let unsendable = || AuthError::InvalidResponse {
            status: 200,
            what: "an access token an HTTP header cannot carry".into(),
        };
        if !is_token_text(value.expose()) {
            return Err(unsendable());
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {}", value.expose()))
            .map_err(|_| unsendable())?;
        header.set_sensitive(true);
        Ok(AccessToken {
            value,
            header,
            expires_at,
        })
    }

    /// The `Authorization` header value, `Bearer …`, marked sensitive.
    pub fn authorization(&self) -> HeaderValue {
        self.header.clone()
    }

    /// The token itself.
    pub fn secret(&self) -> &Secret {
        &self.value
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }
}

impl PartialEq for AccessToken {
    fn eq(&self, other: &Self) -> bool {
        self.value.constant_time_eq(other.value.expose())
    }
}

impl Eq for AccessToken {}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("AccessToken");
        s.field("token", &"<redacted>");
        match self.expires_at {
            Some(at) => s.field(
                "expires_in_secs",
                &at.saturating_duration_since(Instant::now()).as_secs(),
            ),
            None => s.field("expires_in_secs", &"unknown"),
        };
        s.finish()
    }
}

/// A fetched token and when to fetch the next one.
pub(super) struct Fetched {
    pub(super) token: AccessToken,
    pub(super) refresh_at: Option<Instant>,
}

impl Fetched {
    /// A token obtained at `obtained` that lives `lifetime`: refreshed five minutes before
    /// it expires, or a tenth of its lifetime before when that is sooner.
    pub(super) fn new(
        value: Secret,
        obtained: Instant,
        lifetime: Duration,
    ) -> Result<Fetched, AuthError> {
        let lifetime = lifetime.min(MAX_LIFETIME);
        let expires_at = obtained + lifetime;
        let refresh_at = expires_at - refresh_margin(lifetime);
        Ok(Fetched {
            token: AccessToken::new(value, Some(expires_at))?,
            refresh_at: Some(refresh_at),
        })
    }
}

fn refresh_margin(lifetime: Duration) -> Duration {
    MAX_REFRESH_MARGIN.min(lifetime / 10)
}

/// The monotonic instant of a wall-clock time (now, when it is past).
pub(super) fn instant_of(at: SystemTime) -> Instant {
    let now = Instant::now();
    match at.duration_since(SystemTime::now()) {
        Ok(ahead) => now + ahead.min(MAX_LIFETIME * 365),
        Err(_) => now,
    }
}

/// The `exp` of a JWT-shaped token, read without verifying anything (to warn before
/// sending an expired ready token, nothing more).
pub(super) fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin_is_five_minutes_or_a_tenth_of_the_lifetime() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3599)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(1200)),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn jwt_expiry_reads_exp_only_from_jwt_shapes() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
        let token = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
        assert_eq!(
            jwt_expiry(&token),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.b.c.d"), None);
    }

    #[test]
    fn access_token_headers_are_sensitive() {
        let t = AccessToken::new(Secret::new("tok-123"), None).unwrap();
        assert!(t.authorization().is_sensitive());
        assert_eq!(t.authorization().to_str().unwrap(), "Bearer tok-123");
        assert!(!format!("{t:?}").contains("tok-123"));
        assert!(AccessToken::new(Secret::new("a b"), None).is_err());
    }
}
