//! Why no token could be had: [`AuthError`], the hints it gives for the `AADSTS` codes an
//! operator meets most, and the reduction of a token endpoint's OAuth error answer to its
//! code and first sentence, scrubbed of anything that was sent.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{
    AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID,
    MFA_RESET_ACCESS_TOKEN,
};
use crate::secret::Secret;

/// Error texts shown to the user are cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

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

/// The token endpoint's error answer, reduced to its code and first sentence, scrubbed of
/// anything that was sent.
pub(super) fn refusal(status: u16, body: &[u8], sensitive: &[Secret]) -> AuthError {
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
pub(super) fn scrub(text: &str, sensitive: &[Secret]) -> String {
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
}
