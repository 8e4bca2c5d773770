//! The emulator's token endpoint (`POST /{tenant}/oauth2/v2.0/token`) and the bearer-token
//! check on every Graph route.
//!
//! Client-credentials grant only, as a daemon app uses it: with a client secret (form
//! field or HTTP Basic), or with a certificate's JWT assertion whose signature is verified
//! against the registered certificate — PS256 with `x5t#S256` as Microsoft documents now,
//! and RS256 with `x5t` as older clients send. Wrong credentials get Entra's
//! `invalid_client` answers with their `AADSTS` codes. Issued tokens are opaque, expire
//! after the configured lifetime, and name the app that the throttling buckets charge.
//!
//! Tokens can also be expired on demand ([`TokenStore::expire_all`], behind
//! `SimHandle::expire_tokens` and `SimConfig::expire_tokens_after_writes`): every token
//! issued so far, and the static token, are from then on answered as an expired token is,
//! `401 InvalidAuthenticationToken` "Lifetime validation failed, the token is expired.";
//! tokens the endpoint issues afterwards work.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{GraphFailure, SimError};
use super::permissions::{self, Access};
use crate::secret::Secret;

/// The login host whose token-endpoint URL an assertion may name as audience, besides
/// the emulator's own.
const PUBLIC_LOGIN_HOST: &str = "https://login.microsoftonline.com";

/// A registered certificate: its thumbprints and its public key.
#[derive(Clone)]
pub struct Certificate {
    sha1_thumbprint: String,
    sha256_thumbprint: String,
    key: DecodingKey,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("x5t", &self.sha1_thumbprint)
            .field("x5t#S256", &self.sha256_thumbprint)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Reads the first `CERTIFICATE` block of a PEM text (a private key beside it is
    /// ignored: the emulator only needs the public half).
    pub fn from_pem(pem: &str) -> Result<Certificate, String> {
        let mut der = None;
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let block = block.map_err(|e| format!("not a PEM file: {e}"))?;
            if block.label == "CERTIFICATE" {
                der = Some(block.contents);
                break;
            }
        }
        let der = der.ok_or("no \"-----BEGIN CERTIFICATE-----\" block found")?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
            return Err("the certificate's key is not RSA; Entra's client assertions need RSA (PS256 or RS256)".into());
        }
        let key = DecodingKey::from_rsa_der(&spki.subject_public_key.data);
        Ok(Certificate {
            sha1_thumbprint: URL_SAFE_NO_PAD
                .encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref()),
            sha256_thumbprint: URL_SAFE_NO_PAD
                .encode(digest::digest(&digest::SHA256, &der).as_ref()),
            key,
        })
    }

    pub fn from_pem_file(path: &Path) -> Result<Certificate, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Certificate {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Certificate::from_pem(&text).map_err(|message| SimError::Certificate {
            path: path.to_path_buf(),
            message,
        })
    }
}

/// An app registration the emulator knows.
///
/// `SimApp::default()` is the emulator's default app ([`super::DEFAULT_CLIENT_ID`]) with no
/// credential, no privileged role and every Graph permission granted.
#[derive(Debug, Clone)]
pub struct SimApp {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub certificate: Option<Certificate>,
    /// The app holds a privileged directory role, so it may change admin-role holders.
    pub privileged: bool,
    /// Graph application permissions the app was *not* granted (every other one is). A
    /// request is refused with 403 only when every permission that would allow it is
    /// denied: see [`super::permissions`].
    pub denied_permissions: Vec<String>,
}

impl Default for SimApp {
    fn default() -> Self {
        SimApp {
            client_id: super::DEFAULT_CLIENT_ID.into(),
            client_secret: None,
            certificate: None,
            privileged: false,
            denied_permissions: Vec::new(),
        }
    }
}

impl SimApp {
    /// Whether the app's permissions allow `access`.
    pub fn allows(&self, access: Access) -> bool {
        permissions::allows(&self.denied_permissions, access)
    }
}

/// An error answer of the token endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFailure {
    pub status: u16,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

impl TokenFailure {
    fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        TokenFailure {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    fn invalid_client(code: u32, description: impl Into<String>) -> Self {
        TokenFailure::new(401, "invalid_client", code, description)
    }

    /// The body Entra answers with.
    pub fn body(&self, trace_id: &str, timestamp: &str) -> Value {
        json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {trace_id} Timestamp: {timestamp}",
                self.code, self.description),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": trace_id,
            "error_uri": format!("{PUBLIC_LOGIN_HOST}/error?code={}", self.code),
        })
    }
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    #[serde(default)]
    jti: Option<String>,
}

struct IssuedToken {
    app: String,
    expires: Instant,
    /// The store's epoch when the token was issued; a later epoch has expired it.
    epoch: u64,
}

/// The message Graph gives a request whose token has expired.
const EXPIRED: &str = "Lifetime validation failed, the token is expired.";

/// Issued tokens and the apps they belong to.
pub struct TokenStore {
    /// The tenant the tokens are for: their `tid` claim.
    tenant_id: String,
    apps: Vec<SimApp>,
    static_token: Option<Secret>,
    lifetime: Duration,
    issued: HashMap<String, IssuedToken>,
    /// Bumped by [`TokenStore::expire_all`]: tokens of an earlier epoch, and the static
    /// token once the epoch is past 0, are expired.
    epoch: u64,
}

impl TokenStore {
    pub fn new(
        tenant_id: String,
        apps: Vec<SimApp>,
        static_token: Option<Secret>,
        lifetime: Duration,
    ) -> Self {
        TokenStore {
            tenant_id,
            apps,
            static_token,
            lifetime,
            issued: HashMap::new(),
            epoch: 0,
        }
    }

    /// Expires every token issued so far and the static token; tokens issued from now on
    /// are not affected.
    pub fn expire_all(&mut self) {
        self.epoch += 1;
    }

    pub fn app(&self, client_id: &str) -> Option<&SimApp> {
        self.apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// Whether `token` is this tenant's: its static token, or one it issued (expired or
    /// not).
    pub fn knows(&self, token: &str) -> bool {
        self.static_token
            .as_ref()
            .is_some_and(|t| t.constant_time_eq(token))
            || self.issued.contains_key(token)
    }

    /// The app a bearer token from an `Authorization` header belongs to.
    pub fn authenticate(
        &mut self,
        authorization: Option<&str>,
        now: Instant,
    ) -> Result<String, GraphFailure> {
        let invalid = |message: &str| GraphFailure::new(401, "InvalidAuthenticationToken", message);
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("Access token is empty."))?;
        if let Some(static_token) = &self.static_token
            && static_token.constant_time_eq(token)
        {
            return match self.epoch {
                0 => Ok(self.apps[0].client_id.clone()),
                _ => Err(invalid(EXPIRED)),
            };
        }
        // An expired token stays known, so that it keeps being answered as expired.
        match self.issued.get(token) {
            Some(t) if t.expires > now && t.epoch == self.epoch => Ok(t.app.clone()),
            Some(_) => Err(invalid(EXPIRED)),
            None => Err(invalid(
                "Access token validation failure. Invalid audience.",
            )),
        }
    }

    /// Handles a token request. `tenant_ok` says whether the `{tenant}` path segment names
    /// this tenant; `audiences` are the token-endpoint URLs an assertion may name.
    pub fn token_request(
        &mut self,
        tenant_segment: &str,
        tenant_ok: bool,
        own_login_url: &str,
        form: &[u8],
        basic_auth: Option<&str>,
        now: Instant,
    ) -> Result<Value, TokenFailure> {
        if !tenant_ok {
            return Err(TokenFailure::new(
                400,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{tenant_segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            ));
        }
        let fields: HashMap<String, String> = form_urlencoded::parse(form).into_owned().collect();
        let field = |name: &str| fields.get(name).map(String::as_str);
        let (basic_id, basic_secret) = match basic_auth.and_then(parse_basic) {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (None, None),
        };
        if field("grant_type") != Some("client_credentials") {
            return Err(TokenFailure::new(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type. mfa-reset's emulator supports client_credentials only.",
            ));
        }
        if !field("scope").is_some_and(|s| s.ends_with("/.default") && !s.contains(' ')) {
            return Err(TokenFailure::new(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            ));
        }
        let client_id = field("client_id")
            .map(str::to_string)
            .or(basic_id)
            .ok_or_else(|| {
                TokenFailure::new(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_id'.",
                )
            })?;
        let Some(app) = self.app(&client_id).cloned() else {
            return Err(TokenFailure::new(
                400,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory."
                ),
            ));
        };
        let secret = field("client_secret").map(str::to_string).or(basic_secret);
        if let Some(secret) = secret {
            let ok = app
                .client_secret
                .as_ref()
                .is_some_and(|s| s.constant_time_eq(&secret));
            if !ok {
                return Err(TokenFailure::invalid_client(
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                ));
            }
        } else if let Some(assertion) = field("client_assertion") {
            if field("client_assertion_type")
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return Err(TokenFailure::new(
                    400,
                    "invalid_request",
                    50027,
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                ));
            }
            verify_assertion(&app, assertion, tenant_segment, own_login_url)?;
        } else {
            return Err(TokenFailure::invalid_client(
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // Shaped like Entra's: a JWT whose claims name the tenant (`tid`) and the app, its
        // signature part random (the emulator knows its tokens by their whole value).
        let claims = json!({
            "aud": "https://graph.microsoft.com",
            "iss": format!("https://sts.windows.net/{}/", self.tenant_id),
            "tid": self.tenant_id,
            "appid": app.client_id,
            "idtyp": "app",
        });
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(bytes)
        );
        if self.issued.len() > 100_000 {
            let epoch = self.epoch;
            self.issued
                .retain(|_, t| t.expires > now && t.epoch == epoch);
        }
        self.issued.insert(
            token.clone(),
            IssuedToken {
                app: app.client_id.clone(),
                expires: now + self.lifetime,
                epoch: self.epoch,
            },
        );
        let seconds = self.lifetime.as_secs();
        Ok(json!({
            "token_type": "Bearer",
            "expires_in": seconds,
            "ext_expires_in": seconds,
            "access_token": token,
        }))
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((unescape(id), unescape(secret)))
}

fn verify_assertion(
    app: &SimApp,
    assertion: &str,
    tenant_segment: &str,
    own_login_url: &str,
) -> Result<(), TokenFailure> {
    let signature_failure = |why: &str| {
        TokenFailure::invalid_client(
            700027,
            format!("Client assertion failed signature validation. {why}"),
        )
    };
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| signature_failure("The assertion is not a well-formed JWT."))?;
    let Some(cert) = &app.certificate else {
        return Err(signature_failure(
            "No certificate is registered on the application.",
        ));
    };
    let thumbprint_ok = match header.alg {
        Algorithm::PS256 => header.x5t_s256.as_deref() == Some(&cert.sha256_thumbprint),
        Algorithm::RS256 => {
            header.x5t.as_deref() == Some(&cert.sha1_thumbprint)
                || header.x5t_s256.as_deref() == Some(&cert.sha256_thumbprint)
        }
        _ => {
            return Err(signature_failure(
                "Only PS256 and RS256 assertions are accepted.",
            ));
        }
    };
    if !thumbprint_ok {
        return Err(TokenFailure::invalid_client(
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application.",
        ));
    }
    let audiences: Vec<String> = [own_login_url.trim_end_matches('/'), PUBLIC_LOGIN_HOST]
        .iter()
        .map(|host| format!("{host}/{tenant_segment}/oauth2/v2.0/token"))
        .collect();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&audiences);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 300;
    let data = jsonwebtoken::decode::<AssertionClaims>(assertion, &cert.key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => {
                    TokenFailure::invalid_client(
                        700024,
                        "Client assertion is not within its valid time range.",
                    )
                }
                ErrorKind::InvalidAudience => TokenFailure::invalid_client(
                    50012,
                    format!(
                        "Client assertion audience claim does not match Realm issuer. Expected one of: {}.",
                        audiences.join(", ")
                    ),
                ),
                ErrorKind::MissingRequiredClaim(claim) => TokenFailure::invalid_client(
                    50012,
                    format!("Client assertion is missing the '{claim}' claim."),
                ),
                _ => signature_failure("The signature does not match the registered certificate."),
            }
        })?;
    let claims = data.claims;
    if !claims.iss.eq_ignore_ascii_case(&app.client_id)
        || !claims.sub.eq_ignore_ascii_case(&app.client_id)
    {
        return Err(TokenFailure::invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    if claims.jti.as_deref().is_none_or(str::is_empty) {
        return Err(TokenFailure::invalid_client(
            50012,
            "Client assertion is missing the 'jti' claim.",
        ));
    }
    Ok(())
}
