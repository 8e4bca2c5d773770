//! Access tokens for Microsoft Graph: where the credentials come from, how a token is
//! obtained, and how it is cached, shared and refreshed.
//!
//! A [`Credential`] is read from the Azure SDK's environment names
//! ([`Credential::from_env`]) or built directly. Four kinds exist:
//!
//! - a **client secret** (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`),
//!   sent in a client-credentials request to the tenant's token endpoint;
//! - a **client certificate** (`AZURE_CLIENT_CERTIFICATE_PATH`: a PEM file holding the
//!   certificate and its unencrypted RSA private key), proven with a short-lived JWT
//!   assertion signed PS256 whose `x5t#S256` header names the certificate, as Microsoft
//!   documents for the v2.0 endpoint;
//! - a **ready access token** (`MFA_RESET_ACCESS_TOKEN`), used as it is and never refreshed;
//! - the **Azure CLI**'s signed-in account (`--auth azure-cli`), asked for a Graph token with
//!   `az account get-access-token --resource-type ms-graph`.
//!
//! A [`TokenSource`] turns a credential into [`AccessToken`]s. It caches the token and
//! refreshes it shortly before it expires (five minutes before, or a tenth of its lifetime
//! before when that is sooner); callers that arrive during a refresh wait for that one
//! refresh instead of starting their own. After Graph answers `401
//! InvalidAuthenticationToken`, [`TokenSource::invalidate`] drops the rejected token so that
//! the next [`TokenSource::token`] fetches a new one, once. The token endpoint's own `429`
//! is honoured (`Retry-After`, 60 s when absent) and, like `5xx` answers and connection
//! failures, retried a bounded number of times ([`RetryPolicy`]).
//!
//! Nothing secret is printable: client secrets, private keys, assertions and tokens sit in
//! [`Secret`] or in types whose `Debug` redacts them, and an [`AuthError`] never carries a
//! request body, a token or a value read from the environment — only variable names, the
//! token endpoint's `AADSTS` code and the first sentence of its description (with anything
//! that was sent scrubbed out), or the first line the Azure CLI wrote to stderr.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde_json::Value;

use crate::secret::Secret;
use crate::wire::random_guid;

/// The directory (tenant) id or a verified domain of the tenant.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// The application (client) id of the app registration.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// A client secret's value.
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// A PEM file holding the app's certificate and its private key.
pub const AZURE_CLIENT_CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
/// The Azure SDK's password for an encrypted certificate file; not supported here.
pub const AZURE_CLIENT_CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
/// A ready Graph access token.
pub const MFA_RESET_ACCESS_TOKEN: &str = "MFA_RESET_ACCESS_TOKEN";

/// The `client_assertion_type` of a JWT client assertion (RFC 7523).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a certificate assertion is valid: Microsoft asks for a short window.
const ASSERTION_LIFETIME_SECS: u64 = 600;
/// A token is refreshed this long before it expires at most…
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// …and a token is not handed out when it has less than this left, even as a fallback.
const MIN_USABLE: Duration = Duration::from_secs(5);
/// The longest lifetime believed from a token answer (guards against absurd numbers).
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The lifetime assumed when a token answer has no `expires_in` (Entra's usual value).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3599);
/// Error texts shown to the user are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why no token could be had. Messages name variables, codes and what to do next; they
/// never contain a secret, key, assertion, token or request body.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No credential is configured at all.
    #[error(
        "no credentials found: set {MFA_RESET_ACCESS_TOKEN} to a ready Graph token; or set \
         {AZURE_TENANT_ID}, {AZURE_CLIENT_ID} and {AZURE_CLIENT_CERTIFICATE_PATH} (or \
         {AZURE_CLIENT_SECRET}) for an app registration; or sign in with `az login` and pass \
         --auth azure-cli"
    )]
    NoCredentials,

    /// A variable the chosen credential needs is not set.
    #[error("{variable} is not set: {hint}")]
    MissingVariable {
        variable: &'static str,
        hint: String,
    },

    /// A variable is set but its value cannot be used.
    #[error("{variable} is not valid: {reason}")]
    InvalidVariable {
        variable: &'static str,
        reason: String,
    },

    /// The certificate file cannot be read or used.
    #[error("cannot use the client certificate {}: {reason}", .path.display())]
    Certificate { path: PathBuf, reason: String },

    /// The token endpoint's URL is not acceptable.
    #[error("the token endpoint URL {url} is not usable: {reason}")]
    Endpoint { url: String, reason: String },

    /// The token endpoint refused the request with an OAuth error.
    #[error(
        "the token endpoint refused the credentials: {}{message} ({error}, HTTP {status}){}",
        aadsts_prefix(.code),
        hint_suffix(.hint)
    )]
    Refused {
        status: u16,
        /// The OAuth `error`, e.g. `invalid_client`.
        error: String,
        /// The `AADSTS` code, e.g. 7000215.
        code: Option<u32>,
        /// The first sentence of `error_description`, without the `AADSTS…:` prefix.
        message: String,
        hint: Option<&'static str>,
    },

    /// The token endpoint kept answering 429.
    #[error(
        "the token endpoint is throttling this app (HTTP 429 after {attempts} attempts); \
         wait {} s and try again",
        .retry_after.as_secs().max(1)
    )]
    Throttled {
        attempts: u32,
        retry_after: Duration,
    },

    /// The token endpoint could not be reached.
    #[error("could not reach the token endpoint {url} after {attempts} attempts: {reason}")]
    Network {
        url: String,
        attempts: u32,
        reason: String,
    },

    /// The token endpoint answered something that is not a token nor an OAuth error.
    #[error("the token endpoint answered HTTP {status} with {what}")]
    InvalidResponse { status: u16, what: String },

    /// The Azure CLI is not installed (or not at the configured path).
    #[error(
        "the Azure CLI ({}) was not found: install it and run `az login`, or use the \
         {AZURE_TENANT_ID} / {AZURE_CLIENT_ID} / {AZURE_CLIENT_CERTIFICATE_PATH} credentials \
         instead of --auth azure-cli",
        .program.display()
    )]
    AzureCliNotFound { program: PathBuf },

    /// The Azure CLI failed or printed no usable token.
    #[error("the Azure CLI could not give a Graph token ({}): {message}{}", exit_status(.status), hint_suffix(.hint))]
    AzureCli {
        /// The exit code; `None` when it was killed, timed out or never ran.
        status: Option<i32>,
        /// The first line the CLI wrote to stderr, or what went wrong.
        message: String,
        hint: Option<&'static str>,
    },

    /// A ready access token was rejected by Graph or has expired; it cannot be refreshed.
    #[error(
        "the access token given in {MFA_RESET_ACCESS_TOKEN} {}: a ready token cannot be \
         refreshed; put a fresh one in {MFA_RESET_ACCESS_TOKEN} (e.g. from `az account \
         get-access-token --resource-type ms-graph`), or use an app credential or --auth \
         azure-cli so that mfa-reset can refresh tokens itself",
        if *.expired { "has expired" } else { "was rejected by Microsoft Graph" }
    )]
    StaticTokenRejected { expired: bool },
}

impl AuthError {
    /// The `AADSTS` code of a token-endpoint refusal.
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            AuthError::Refused { code, .. } => *code,
            _ => None,
        }
    }

    /// True when the configuration is at fault (nothing was asked of a server): the
    /// caller's "bad usage" exit code rather than "authentication failure".
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            AuthError::NoCredentials
                | AuthError::MissingVariable { .. }
                | AuthError::InvalidVariable { .. }
                | AuthError::Certificate { .. }
                | AuthError::Endpoint { .. }
        )
    }
}

fn aadsts_prefix(code: &Option<u32>) -> String {
    code.map(|c| format!("AADSTS{c}: ")).unwrap_or_default()
}

fn hint_suffix(hint: &Option<&'static str>) -> String {
    hint.map(|h| format!(" — {h}")).unwrap_or_default()
}

fn exit_status(status: &Option<i32>) -> String {
    match status {
        Some(code) => format!("exit status {code}"),
        None => "no exit status".to_string(),
    }
}

/// What to do about the `AADSTS` codes an operator meets most.
fn hint_for(code: Option<u32>) -> Option<&'static str> {
    Some(match code? {
        7000215 => {
            "check that AZURE_CLIENT_SECRET holds the secret's value (not its secret id) for this app"
        }
        7000222 => "the client secret has expired: add a new one to the app registration",
        700016 => {
            "check AZURE_CLIENT_ID and AZURE_TENANT_ID: the app is not registered in that tenant"
        }
        90002 => "check AZURE_TENANT_ID and --cloud: no such tenant in this cloud",
        700027 => {
            "check that the certificate in AZURE_CLIENT_CERTIFICATE_PATH is uploaded to the app registration"
        }
        700024 => "check this machine's clock: the assertion's time window was not accepted",
        70011 | 1002012 => {
            "check --cloud / --graph-url: the scope must be one resource's /.default"
        }
        7000218 => "the app needs a client secret or a certificate",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

/// Where credentials are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// The Azure SDK's environment variables and `MFA_RESET_ACCESS_TOKEN`.
    #[default]
    Environment,
    /// The Azure CLI's signed-in account (`--auth azure-cli`).
    AzureCli,
}

/// An app's certificate, ready to sign client assertions: the RSA private key and the
/// certificate's SHA-256 thumbprint. Its `Debug` shows the thumbprint only.
#[derive(Clone)]
pub struct ClientCertificate {
    key: EncodingKey,
    sha256_thumbprint: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.sha256_thumbprint)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

impl ClientCertificate {
    /// Reads a PEM text holding the certificate (the first `CERTIFICATE` block) and its
    /// unencrypted RSA private key (`PRIVATE KEY` or `RSA PRIVATE KEY`), and checks that
    /// the key belongs to the certificate. Errors never quote the file.
    pub fn from_pem(pem: &str) -> Result<ClientCertificate, String> {
        let mut cert_der: Option<Vec<u8>> = None;
        let mut key: Option<(bool, Vec<u8>)> = None; // (is PKCS#8, DER)
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let Ok(block) = block else {
                return Err(not_pem());
            };
            match block.label.as_str() {
                "CERTIFICATE" if cert_der.is_none() => cert_der = Some(block.contents),
                "PRIVATE KEY" if key.is_none() => key = Some((true, block.contents)),
                "RSA PRIVATE KEY" if key.is_none() => key = Some((false, block.contents)),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(
                        "the private key is encrypted; decrypt it (`openssl pkey -in \
                                key.pem -out plain.pem`), keep the file readable by you only, \
                                and put it beside the certificate"
                            .into(),
                    );
                }
                "EC PRIVATE KEY" => {
                    return Err(
                        "the private key is an EC key; Entra's client assertions need \
                                an RSA key (PS256)"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        let cert_der = cert_der.ok_or_else(|| {
            if pem.contains("-----BEGIN") {
                "no \"-----BEGIN CERTIFICATE-----\" block: the file must hold the certificate \
                 and its private key"
                    .to_string()
            } else {
                not_pem()
            }
        })?;
        let (is_pkcs8, key_der) = key.ok_or(
            "no \"-----BEGIN PRIVATE KEY-----\" block: the file must hold the certificate and \
             its unencrypted private key",
        )?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der)
            .map_err(|_| "the CERTIFICATE block is not an X.509 certificate".to_string())?;
        let spki = cert.public_key();
        if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
            return Err(
                "the certificate's key is not RSA; Entra's client assertions need RSA (PS256)"
                    .into(),
            );
        }
        let pair = if is_pkcs8 {
            RsaKeyPair::from_pkcs8(&key_der)
        } else {
            RsaKeyPair::from_der(&key_der)
        }
        .map_err(|e| format!("the private key is not a usable RSA key ({e})"))?;
        if pair.public_key().as_ref() != spki.subject_public_key.data.as_ref() {
            return Err(
                "the private key does not belong to the certificate (their public keys \
                        differ): put the certificate together with its own key in the file"
                    .into(),
            );
        }
        let key = if is_pkcs8 {
            // jsonwebtoken reads PKCS#8 from PEM only (it unwraps the PKCS#1 key inside).
            let mut text = String::from("-----BEGIN PRIVATE KEY-----\n");
            let b64 = STANDARD.encode(&key_der);
            for line in b64.as_bytes().chunks(64) {
                text.push_str(std::str::from_utf8(line).unwrap_or_default());
                text.push('\n');
            }
            text.push_str("-----END PRIVATE KEY-----\n");
            EncodingKey::from_rsa_pem(text.as_bytes())
                .map_err(|_| "the private key is not a usable RSA key".to_string())?
        } else {
            EncodingKey::from_rsa_der(&key_der)
        };
        Ok(ClientCertificate {
            key,
            sha256_thumbprint: URL_SAFE_NO_PAD
                .encode(digest::digest(&digest::SHA256, &cert_der).as_ref()),
        })
    }

    /// [`ClientCertificate::from_pem`] of a file.
    pub fn from_pem_file(path: &Path) -> Result<ClientCertificate, AuthError> {
        let failure = |reason: String| AuthError::Certificate {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| failure(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| failure(not_pem()))?;
        ClientCertificate::from_pem(&text).map_err(failure)
    }

    /// The certificate's SHA-256 thumbprint, base64url without padding (`x5t#S256`).
    pub fn sha256_thumbprint(&self) -> &str {
        &self.sha256_thumbprint
    }

    /// A client assertion for `client_id` addressed to `audience` (the token endpoint's
    /// URL): PS256, `typ: JWT`, `x5t#S256`; `iss` = `sub` = client id, a random GUID `jti`,
    /// `nbf` = `iat` = now, `exp` = now + 10 minutes.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<Secret, AuthError> {
        let mut header = Header::new(Algorithm::PS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(self.sha256_thumbprint.clone());
        let now = unix_now();
        let claims = AssertionClaims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: random_guid(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| AuthError::Certificate {
                path: PathBuf::from("<certificate>"),
                reason: format!("signing the client assertion failed ({e})"),
            })
    }
}

fn not_pem() -> String {
    "not a PEM file: it must hold the certificate and its unencrypted private key (convert a \
     .pfx with `openssl pkcs12 -in app.pfx -nodes -out app.pem`)"
        .to_string()
}

/// How `az` is run for [`Credential::AzureCli`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureCli {
    /// Passed as `--tenant` when known.
    pub tenant: Option<String>,
    /// The program to run: `az` (`az.cmd` on Windows) unless a test says otherwise.
    pub program: PathBuf,
    /// How long `az` may take before it is killed.
    pub timeout: Duration,
}

impl AzureCli {
    pub fn new(tenant: Option<String>) -> AzureCli {
        AzureCli {
            tenant,
            program: PathBuf::from(if cfg!(windows) { "az.cmd" } else { "az" }),
            timeout: Duration::from_secs(60),
        }
    }

    /// The arguments given to the program.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "account",
            "get-access-token",
            "--resource-type",
            "ms-graph",
            "--output",
            "json",
        ]
        .map(String::from)
        .to_vec();
        if let Some(tenant) = &self.tenant {
            args.push("--tenant".into());
            args.push(tenant.clone());
        }
        args
    }
}

/// How mfa-reset proves who it is. `Debug` and `Display` never show a secret, key or token.
#[derive(Clone)]
pub enum Credential {
    /// An app registration's client secret.
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: Secret,
    },
    /// An app registration's certificate.
    Certificate {
        tenant: String,
        client_id: String,
        certificate: ClientCertificate,
    },
    /// A ready access token; it cannot be refreshed.
    AccessToken(Secret),
    /// The Azure CLI's signed-in account.
    AzureCli(AzureCli),
}

impl Credential {
    /// What kind of credential it is, for the log (never what it holds).
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::ClientSecret { .. } => "client secret",
            Credential::Certificate { .. } => "client certificate",
            Credential::AccessToken(_) => "access token",
            Credential::AzureCli(_) => "Azure CLI",
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ClientSecret {
                tenant, client_id, ..
            } => f
                .debug_struct("ClientSecret")
                .field("tenant", tenant)
                .field("client_id", client_id)
                .field("secret", &"<redacted>")
                .finish(),
            Credential::Certificate {
                tenant,
                client_id,
                certificate,
            } => f
                .debug_struct("Certificate")
                .field("tenant", tenant)
                .field("client_id", client_id)
                .field("certificate", certificate)
                .finish(),
            Credential::AccessToken(_) => f.write_str("AccessToken(<redacted>)"),
            Credential::AzureCli(cli) => f.debug_tuple("AzureCli").field(cli).finish(),
        }
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::ClientSecret {
                tenant, client_id, ..
            } => write!(f, "client secret of app {client_id} in tenant {tenant}"),
            Credential::Certificate {
                tenant,
                client_id,
                certificate,
            } => write!(
                f,
                "certificate (x5t#S256 {}) of app {client_id} in tenant {tenant}",
                certificate.sha256_thumbprint
            ),
            Credential::AccessToken(_) => {
                write!(f, "a ready access token from {MFA_RESET_ACCESS_TOKEN}")
            }
            Credential::AzureCli(cli) => match &cli.tenant {
                Some(t) => write!(f, "the Azure CLI's signed-in account, tenant {t}"),
                None => write!(f, "the Azure CLI's signed-in account"),
            },
        }
    }
}

impl Credential {
    /// Reads the credential from environment variables through `lookup` (pass
    /// `|name| std::env::var(name).ok()`); empty values count as unset.
    ///
    /// In [`AuthMode::Environment`] the first that is set wins:
    ///
    /// 1. `MFA_RESET_ACCESS_TOKEN` — a ready token (a leading `Bearer ` is dropped); every
    ///    `AZURE_*` variable is then ignored;
    /// 2. `AZURE_CLIENT_CERTIFICATE_PATH` with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID` — the
    ///    certificate wins over `AZURE_CLIENT_SECRET` when both are set (unlike the Azure
    ///    SDK's `EnvironmentCredential`, which tries the secret first: a certificate is the
    ///    stronger credential, and someone who set one meant it);
    /// 3. `AZURE_CLIENT_SECRET` with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`.
    ///
    /// In [`AuthMode::AzureCli`] only `AZURE_TENANT_ID` is read, as `az --tenant`.
    ///
    /// [`Credential::from_env_with_notes`] also says which variables were ignored.
    pub fn from_env(
        lookup: impl Fn(&str) -> Option<String>,
        mode: AuthMode,
    ) -> Result<Credential, AuthError> {
        Credential::from_env_with_notes(lookup, mode).map(|(credential, _)| credential)
    }

    /// [`Credential::from_env`], plus notes for the operator about variables that were
    /// set but ignored (for instance a secret beside a certificate). Notes name
    /// variables, never values.
    pub fn from_env_with_notes(
        lookup: impl Fn(&str) -> Option<String>,
        mode: AuthMode,
    ) -> Result<(Credential, Vec<String>), AuthError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut notes = Vec::new();
        let tenant = get(AZURE_TENANT_ID).map(|t| t.trim().to_string());
        if mode == AuthMode::AzureCli {
            if let Some(t) = &tenant {
                validate_tenant(t)?;
            }
            let ignored: Vec<&str> = [
                MFA_RESET_ACCESS_TOKEN,
                AZURE_CLIENT_SECRET,
                AZURE_CLIENT_CERTIFICATE_PATH,
            ]
            .into_iter()
            .filter(|name| get(name).is_some())
            .collect();
            if !ignored.is_empty() {
                notes.push(format!("--auth azure-cli: ignoring {}", ignored.join(", ")));
            }
            return Ok((Credential::AzureCli(AzureCli::new(tenant)), notes));
        }

        let client_id = get(AZURE_CLIENT_ID).map(|c| c.trim().to_string());
        let secret = get(AZURE_CLIENT_SECRET);
        let certificate_path = get(AZURE_CLIENT_CERTIFICATE_PATH);

        if let Some(token) = get(MFA_RESET_ACCESS_TOKEN) {
            let ignored: Vec<&str> = [AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH]
                .into_iter()
                .filter(|name| get(name).is_some())
                .collect();
            if !ignored.is_empty() {
                notes.push(format!(
                    "using the token in {MFA_RESET_ACCESS_TOKEN}; ignoring {}",
                    ignored.join(" and ")
                ));
            }
            return Ok((Credential::AccessToken(static_token(&token)?), notes));
        }

        if secret.is_none() && certificate_path.is_none() {
            if tenant.is_none() && client_id.is_none() {
                return Err(AuthError::NoCredentials);
            }
            return Err(AuthError::MissingVariable {
                variable: "AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_SECRET",
                hint: format!(
                    "set {AZURE_CLIENT_CERTIFICATE_PATH} to a PEM file with the app's \
                     certificate and private key, or {AZURE_CLIENT_SECRET} to a client \
                     secret's value"
                ),
            });
        }
        let tenant = tenant.ok_or_else(|| AuthError::MissingVariable {
            variable: AZURE_TENANT_ID,
            hint: "set it to the directory (tenant) id, a GUID, or a verified domain such as \
                   contoso.onmicrosoft.com"
                .into(),
        })?;
        validate_tenant(&tenant)?;
        let client_id = client_id.ok_or_else(|| AuthError::MissingVariable {
            variable: AZURE_CLIENT_ID,
            hint: "set it to the application (client) id of the app registration".into(),
        })?;
        validate_client_id(&client_id)?;

        if let Some(path) = certificate_path {
            if get(AZURE_CLIENT_CERTIFICATE_PASSWORD).is_some() {
                return Err(AuthError::InvalidVariable {
                    variable: AZURE_CLIENT_CERTIFICATE_PASSWORD,
                    reason: format!(
                        "password-protected certificates are not supported: convert the file \
                         to an unencrypted PEM (`openssl pkcs12 -in app.pfx -nodes -out \
                         app.pem`), keep it readable by you only, point \
                         {AZURE_CLIENT_CERTIFICATE_PATH} at it and unset \
                         {AZURE_CLIENT_CERTIFICATE_PASSWORD}"
                    ),
                });
            }
            if secret.is_some() {
                notes.push(format!(
                    "both {AZURE_CLIENT_CERTIFICATE_PATH} and {AZURE_CLIENT_SECRET} are set: \
                     using the certificate, ignoring the secret"
                ));
            }
            let certificate =
                ClientCertificate::from_pem_file(Path::new(path.trim())).map_err(|e| match e {
                    AuthError::Certificate { path, reason } => AuthError::Certificate {
                        path,
                        reason: format!("{reason} (from {AZURE_CLIENT_CERTIFICATE_PATH})"),
                    },
                    other => other,
                })?;
            return Ok((
                Credential::Certificate {
                    tenant,
                    client_id,
                    certificate,
                },
                notes,
            ));
        }
        let secret = secret.map(Secret::new).ok_or(AuthError::NoCredentials)?;
        Ok((
            Credential::ClientSecret {
                tenant,
                client_id,
                secret,
            },
            notes,
        ))
    }

    /// The tenant the credential names, when it names one.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Credential::ClientSecret { tenant, .. } | Credential::Certificate { tenant, .. } => {
                Some(tenant)
            }
            Credential::AccessToken(_) => None,
            Credential::AzureCli(cli) => cli.tenant.as_deref(),
        }
    }

    /// True when the credential asks the token endpoint (a secret or a certificate).
    pub fn uses_token_endpoint(&self) -> bool {
        matches!(
            self,
            Credential::ClientSecret { .. } | Credential::Certificate { .. }
        )
    }
}

/// A ready token from the environment: `Bearer ` dropped, checked to fit in a header.
fn static_token(value: &str) -> Result<Secret, AuthError> {
    let value = value.trim();
    let value = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim_start(),
        _ => value,
    };
    if !is_token_text(value) {
        return Err(AuthError::InvalidVariable {
            variable: MFA_RESET_ACCESS_TOKEN,
            reason: "it holds spaces or characters an HTTP header cannot carry; put only the \
                     token itself in it"
                .into(),
        });
    }
    Ok(Secret::new(value))
}

fn is_token_text(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn validate_tenant(tenant: &str) -> Result<(), AuthError> {
    let invalid = |reason: &str| AuthError::InvalidVariable {
        variable: AZURE_TENANT_ID,
        reason: reason.to_string(),
    };
    if tenant.len() > 256
        || !tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(invalid(
            "a tenant is a GUID or a domain name (letters, digits, '-' and '.')",
        ));
    }
    if ["common", "organizations", "consumers"]
        .iter()
        .any(|t| tenant.eq_ignore_ascii_case(t))
    {
        return Err(invalid(
            "an app's own token needs one tenant: give its id (a GUID) or a verified domain, \
             not a multi-tenant alias",
        ));
    }
    Ok(())
}

fn validate_client_id(client_id: &str) -> Result<(), AuthError> {
    if client_id.len() > 256 || !client_id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(AuthError::InvalidVariable {
            variable: AZURE_CLIENT_ID,
            reason: "the application (client) id is a GUID, without spaces".into(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

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
        if !is_token_text(value.expose()) {
            return Err(AuthError::InvalidResponse {
                status: 200,
                what: "an access token an HTTP header cannot carry".into(),
            });
        }
        let mut header =
            HeaderValue::from_str(&format!("Bearer {}", value.expose())).map_err(|_| {
                AuthError::InvalidResponse {
                    status: 200,
                    what: "an access token an HTTP header cannot carry".into(),
                }
            })?;
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

/// A fetched token and when to fetch the next one.
struct Fetched {
    token: AccessToken,
    refresh_at: Option<Instant>,
}

impl Fetched {
    /// A token obtained at `obtained` that lives `lifetime`: refreshed five minutes before
    /// it expires, or a tenth of its lifetime before when that is sooner.
    fn new(value: Secret, obtained: Instant, lifetime: Duration) -> Result<Fetched, AuthError> {
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
                        let left = token.expires_at.map_or(Duration::from_secs(60), |e| {
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
                .expires_at
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
                self.request_token().await
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

    /// The client-credentials form for one attempt (a certificate signs a new assertion),
    /// and the values that must never appear in an error.
    fn form(&self) -> Result<TokenForm, AuthError> {
        let scope = self.endpoint.scope.clone();
        match &self.credential {
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
                let assertion = certificate.assertion(client_id, &self.endpoint.token_url)?;
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
    async fn request_token(&self) -> Result<Fetched, AuthError> {
        let policy = &self.retry;
        let url = &self.endpoint.token_url;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let TokenForm { fields, sensitive } = self.form()?;
            let started = Instant::now();
            let sent = self
                .http
                .post(url)
                .header(ACCEPT, "application/json")
                .form(&fields)
                .timeout(policy.request_timeout)
                .send()
                .await;
            drop(fields);
            let network_failure = |e: &reqwest::Error| AuthError::Network {
                url: url.clone(),
                attempts: attempt,
                reason: error_chain(e),
            };
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    if attempt < max_attempts {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        continue;
                    }
                    return Err(network_failure(&e));
                }
            };
            let status = response.status().as_u16();
            let retry_after = parse_retry_after(response.headers(), SystemTime::now());
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => {
                    if attempt < max_attempts {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        continue;
                    }
                    return Err(network_failure(&e));
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
}

/// Refuses a token URL that would send a secret in clear text to another machine.
fn check_token_url(url: &str) -> Result<(), AuthError> {
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

/// The token endpoint's error answer, reduced to its code and first sentence, scrubbed of
/// anything that was sent.
fn refusal(status: u16, body: &[u8], sensitive: &[Secret]) -> AuthError {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let error = value
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let description = value
        .as_ref()
        .and_then(|v| v.get("error_description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if error.is_empty() && description.is_empty() {
        return AuthError::InvalidResponse {
            status,
            what: "no OAuth error in its body".into(),
        };
    }
    let (prefix_code, sentence) = first_sentence(description);
    let code = value
        .as_ref()
        .and_then(|v| v.get("error_codes"))
        .and_then(|c| c.get(0))
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .or(prefix_code);
    let error: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    let error = if error.is_empty() {
        "no OAuth error code".to_string()
    } else {
        error
    };
    AuthError::Refused {
        status,
        error,
        code,
        message: scrub(&sentence, sensitive),
        hint: hint_for(code),
    }
}

/// Splits `AADSTS7000215: Invalid client secret provided. Ensure …` into the code and the
/// first sentence (`Invalid client secret provided.`), without trace ids or line breaks.
fn first_sentence(description: &str) -> (Option<u32>, String) {
    let mut rest = description.trim();
    let mut code = None;
    if let Some(after) = rest.strip_prefix("AADSTS") {
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            code = after[..digits].parse().ok();
            rest = after[digits..].trim_start_matches(':').trim_start();
        }
    }
    let rest = rest.split(['\r', '\n']).next().unwrap_or_default();
    let rest = rest.split(" Trace ID:").next().unwrap_or_default();
    let sentence = match rest.find(". ") {
        Some(end) => &rest[..=end],
        None => rest.trim_end(),
    };
    (code, sentence.to_string())
}

/// Removes control characters and every sensitive value, and caps the length.
fn scrub(text: &str, sensitive: &[Secret]) -> String {
    let mut text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for secret in sensitive {
        let value = secret.expose();
        if value.len() >= 4 {
            text = text.replace(value, "<redacted>");
        }
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        text = text.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
    }
    text
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

// ---------------------------------------------------------------------------------------
// Azure CLI
// ---------------------------------------------------------------------------------------

struct CliOutput {
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

async fn run_azure_cli(cli: &AzureCli) -> Result<Fetched, AuthError> {
    let program = cli.program.clone();
    let args = cli.args();
    let timeout = cli.timeout;
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || run_program(&program, &args, timeout))
        .await
        .map_err(|_| AuthError::AzureCli {
            status: None,
            message: "running the Azure CLI was interrupted".into(),
            hint: None,
        })??;
    let login_hint = if cli.tenant.is_some() {
        "sign in with `az login --tenant <tenant>` and try again"
    } else {
        "sign in with `az login` and try again"
    };
    if output.status != Some(0) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("it wrote nothing to stderr");
        return Err(AuthError::AzureCli {
            status: output.status,
            message: scrub(first, &[]),
            hint: Some(login_hint),
        });
    }
    let malformed = |what: &str| AuthError::AzureCli {
        status: output.status,
        message: format!("its output is not the expected JSON ({what})"),
        hint: Some("update the Azure CLI (`az upgrade`)"),
    };
    let value: Value = serde_json::from_slice(&output.stdout).map_err(|_| malformed("not JSON"))?;
    let token = value
        .get("accessToken")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no accessToken"))?;
    let now = SystemTime::now();
    let remaining = cli_remaining(&value, now).ok_or_else(|| malformed("no expiry"))?;
    if remaining <= 0 {
        return Err(AuthError::AzureCli {
            status: output.status,
            message: "it gave a token that has already expired".into(),
            hint: Some(login_hint),
        });
    }
    let lifetime = Duration::from_secs(remaining.unsigned_abs()) + started.elapsed();
    Fetched::new(Secret::new(token), started, lifetime).map_err(|_| AuthError::AzureCli {
        status: output.status,
        message: "it gave a token an HTTP header cannot carry".into(),
        hint: None,
    })
}

/// Seconds the CLI's token has left: `expires_on` (epoch seconds, CLI 2.54 and later) or
/// else `expiresOn` (local time, no offset, older CLIs).
fn cli_remaining(value: &Value, now: SystemTime) -> Option<i64> {
    let now_secs = i64::try_from(now.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()?;
    if let Some(v) = value.get("expires_on") {
        let epoch = v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        if let Some(epoch) = epoch {
            // Saturating: `expires_on` is the CLI's text, and may be any i64.
            return Some(epoch.saturating_sub(now_secs));
        }
    }
    let local = value.get("expiresOn")?.as_str()?;
    let naive = parse_cli_local_time(local)?;
    Some(remaining_from_local(naive - now_secs))
}

/// `2024-05-01 12:34:56.123456` (or without fraction) as seconds since the epoch, read as
/// if it were UTC.
fn parse_cli_local_time(text: &str) -> Option<i64> {
    use time::macros::format_description;
    let text = text.trim();
    let with_fraction =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let without = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let parsed = time::PrimitiveDateTime::parse(text, with_fraction)
        .or_else(|_| time::PrimitiveDateTime::parse(text, without))
        .ok()?;
    Some(parsed.assume_utc().unix_timestamp())
}

/// An older CLI gives the expiry in local time without saying the offset, and this crate
/// cannot read the local offset. Of the offsets that exist (−12 h to +14 h, in quarter
/// hours), take the one that leaves the token the least time that is still positive: the
/// token is then refreshed early rather than late (and `az` answers from its own cache),
/// and a token used too late is caught by the 401 → invalidate path anyway.
fn remaining_from_local(naive_minus_now: i64) -> i64 {
    const QUARTER: i64 = 15 * 60;
    (-48..=56)
        .rev()
        .map(|q| naive_minus_now - q * QUARTER)
        .find(|r| *r > 0)
        .unwrap_or(0)
}

/// Runs `program` with a deadline; reads its output on threads so a chatty child cannot
/// block on a full pipe.
fn run_program(program: &Path, args: &[String], timeout: Duration) -> Result<CliOutput, AuthError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AuthError::AzureCliNotFound {
                    program: program.to_path_buf(),
                }
            } else {
                AuthError::AzureCli {
                    status: None,
                    message: format!("could not start {} ({e})", program.display()),
                    hint: None,
                }
            }
        })?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(AuthError::AzureCli {
                    status: None,
                    message: format!("it did not answer within {} s", timeout.as_secs()),
                    hint: Some("check that `az account get-access-token` works in this shell"),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(AuthError::AzureCli {
                    status: None,
                    message: format!("waiting for it failed ({e})"),
                    hint: None,
                });
            }
        }
    };
    Ok(CliOutput {
        status: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The monotonic instant of a wall-clock time (now, when it is past).
fn instant_of(at: SystemTime) -> Instant {
    let now = Instant::now();
    match at.duration_since(SystemTime::now()) {
        Ok(ahead) => now + ahead.min(MAX_LIFETIME * 365),
        Err(_) => now,
    }
}

/// The `exp` of a JWT-shaped token, read without verifying anything (to warn before
/// sending an expired ready token, nothing more).
fn jwt_expiry(token: &str) -> Option<SystemTime> {
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
    fn first_sentence_keeps_the_code_and_drops_the_rest() {
        let (code, s) = first_sentence(
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in \
             the request is the client secret value. Trace ID: abc Correlation ID: abc \
             Timestamp: 2024-01-01 00:00:00Z",
        );
        assert_eq!(code, Some(7000215));
        assert_eq!(s, "Invalid client secret provided.");

        let (code, s) = first_sentence(
            "AADSTS90002: Tenant 'x' not found.\r\nTrace ID: 1\r\nCorrelation ID: 2",
        );
        assert_eq!(code, Some(90002));
        assert_eq!(s, "Tenant 'x' not found.");

        let (code, s) = first_sentence("Something odd Trace ID: 1");
        assert_eq!(code, None);
        assert_eq!(s, "Something odd");
    }

    #[test]
    fn refusals_scrub_what_was_sent() {
        let body = serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Bad secret hunter2-secret-value here. More.",
            "error_codes": [7000215],
        })
        .to_string();
        let e = refusal(401, body.as_bytes(), &[Secret::new("hunter2-secret-value")]);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("AADSTS7000215"), "{shown}");
        assert_eq!(e.aadsts_code(), Some(7000215));

        let e = refusal(502, b"<html>bad gateway</html>", &[]);
        assert!(matches!(e, AuthError::InvalidResponse { status: 502, .. }));
    }

    #[test]
    fn scrub_removes_control_characters_and_caps_length() {
        let s = scrub(&format!("a\u{1b}[31mb{}", "x".repeat(1000)), &[]);
        assert!(!s.contains('\u{1b}'));
        assert!(s.chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

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
    fn older_cli_local_expiry_is_read_conservatively() {
        let naive = parse_cli_local_time("2024-05-01 12:00:00.123456").unwrap();
        assert_eq!(naive, parse_cli_local_time("2024-05-01 12:00:00").unwrap());
        // Whatever the zone, the guess is positive and at most a quarter hour, unless the
        // token has expired in every zone.
        for d in [60, 3600, 5400, -3600, 14 * 3600 + 60] {
            let r = remaining_from_local(d);
            assert!(r > 0 && r <= 15 * 60, "{d} -> {r}");
        }
        assert_eq!(remaining_from_local(-13 * 3600), 0);
        let now = SystemTime::now();
        let epoch = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let v = serde_json::json!({"expires_on": epoch + 3000, "expiresOn": "garbage"});
        assert_eq!(cli_remaining(&v, now), Some(3000));
        let v = serde_json::json!({"expires_on": (epoch + 3000).to_string()});
        assert_eq!(cli_remaining(&v, now), Some(3000));
        assert_eq!(cli_remaining(&serde_json::json!({}), now), None);
        // Absurd numbers saturate instead of overflowing (found by fuzzing).
        let v = serde_json::json!({"expires_on": i64::MIN});
        assert_eq!(cli_remaining(&v, now), Some(i64::MIN));
        let v = serde_json::json!({"expires_on": -1e300});
        assert_eq!(cli_remaining(&v, now), Some(i64::MIN));
    }

    #[test]
    fn guids_are_version_4() {
        let g = random_guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"), "{g}");
        assert_ne!(g, random_guid());
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
    fn static_tokens_lose_bearer_and_must_fit_a_header() {
        assert_eq!(static_token("Bearer abc.def").unwrap().expose(), "abc.def");
        assert_eq!(static_token("  abc  ").unwrap().expose(), "abc");
        let e = static_token("abc def-secret").unwrap_err();
        assert!(!format!("{e}").contains("def-secret"));
    }

    #[test]
    fn tenants_are_ids_or_domains() {
        assert!(validate_tenant("9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13").is_ok());
        assert!(validate_tenant("contoso.onmicrosoft.com").is_ok());
        assert!(validate_tenant("contoso/../x").is_err());
        assert!(validate_tenant("common").is_err());
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

    #[test]
    fn access_token_headers_are_sensitive() {
        let t = AccessToken::new(Secret::new("tok-123"), None).unwrap();
        assert!(t.authorization().is_sensitive());
        assert_eq!(t.authorization().to_str().unwrap(), "Bearer tok-123");
        assert!(!format!("{t:?}").contains("tok-123"));
        assert!(AccessToken::new(Secret::new("a b"), None).is_err());
    }
}
