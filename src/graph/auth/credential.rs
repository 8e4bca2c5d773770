//! How mfa-reset proves who it is: [`Credential`] and [`AuthMode`], read from the Azure
//! SDK's environment names or built directly, with the checks on a tenant, a client id and
//! a ready access token. `Debug` and `Display` never show a secret, key or token.

use std::fmt;
use std::path::Path;

use super::{
    AZURE_CLIENT_CERTIFICATE_PASSWORD, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_CLIENT_ID,
    AZURE_CLIENT_SECRET, AZURE_TENANT_ID, AuthError, AzureCli, ClientCertificate,
    MFA_RESET_ACCESS_TOKEN,
};
use crate::secret::Secret;

/// Where credentials are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// The Azure SDK's environment variables and `MFA_RESET_ACCESS_TOKEN`.
    #[default]
    Environment,
    /// The Azure CLI's signed-in account (`--auth azure-cli`).
    AzureCli,
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
    /// Whether a rejected token can be replaced by a fresh one (everything but a ready
    /// token).
    pub fn refreshable(&self) -> bool {
        !matches!(self, Credential::AccessToken(_))
    }

    /// Where the tokens this credential gives come from, in words for a message: "the
    /// access token in MFA_RESET_ACCESS_TOKEN", "the access token got with the client
    /// secret of app … (AZURE_CLIENT_SECRET)". Never what it holds.
    pub fn token_source(&self) -> String {
        match self {
            Credential::AccessToken(_) => format!("the access token in {MFA_RESET_ACCESS_TOKEN}"),
            Credential::ClientSecret { client_id, .. } => format!(
                "the access token got with the client secret of app {client_id} ({AZURE_CLIENT_SECRET})"
            ),
            Credential::Certificate { client_id, .. } => format!(
                "the access token got with the certificate of app {client_id} ({AZURE_CLIENT_CERTIFICATE_PATH})"
            ),
            Credential::AzureCli(_) => {
                "the access token from the Azure CLI's signed-in account (--auth azure-cli)".into()
            }
        }
    }

    /// What to do when Microsoft Graph rejects the tokens this credential gives.
    pub fn rejected_hint(&self) -> &'static str {
        match self {
            Credential::AccessToken(_) => {
                "put a fresh Graph token in MFA_RESET_ACCESS_TOKEN (e.g. from `az account \
                 get-access-token --resource-type ms-graph`), or use an app credential or \
                 --auth azure-cli so that mfa-reset can refresh tokens itself"
            }
            Credential::ClientSecret { .. } | Credential::Certificate { .. } => {
                "check that AZURE_TENANT_ID and AZURE_CLIENT_ID name this tenant's app \
                 registration and that --cloud (or --graph-url) is the tenant's cloud"
            }
            Credential::AzureCli(_) => {
                "sign in again with `az login` (as an administrator of the tenant) and check \
                 --cloud (or --graph-url)"
            }
        }
    }

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
                certificate.sha256_thumbprint()
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
            let ignored = set_among(
                &get,
                &[
                    MFA_RESET_ACCESS_TOKEN,
                    AZURE_CLIENT_SECRET,
                    AZURE_CLIENT_CERTIFICATE_PATH,
                ],
            );
            if !ignored.is_empty() {
                notes.push(format!("--auth azure-cli: ignoring {}", ignored.join(", ")));
            }
            return Ok((Credential::AzureCli(AzureCli::new(tenant)), notes));
        }

        let client_id = get(AZURE_CLIENT_ID).map(|c| c.trim().to_string());
        let secret = get(AZURE_CLIENT_SECRET);
        let certificate_path = get(AZURE_CLIENT_CERTIFICATE_PATH);

        if let Some(token) = get(MFA_RESET_ACCESS_TOKEN) {
            let ignored = set_among(&get, &[AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH]);
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
            let certificate = certificate_from_env(&path, &get, secret.is_some(), &mut notes)?;
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

/// The variables among `names` that are set (`get` gives their non-empty values).
fn set_among<'a>(get: &dyn Fn(&str) -> Option<String>, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|name| get(name).is_some())
        .collect()
}

/// The certificate named by `AZURE_CLIENT_CERTIFICATE_PATH` (its value is `path`); a note
/// when a client secret is set beside it.
fn certificate_from_env(
    path: &str,
    get: &dyn Fn(&str) -> Option<String>,
    secret_is_set: bool,
    notes: &mut Vec<String>,
) -> Result<ClientCertificate, AuthError> {
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
    if secret_is_set {
        notes.push(format!(
            "both {AZURE_CLIENT_CERTIFICATE_PATH} and {AZURE_CLIENT_SECRET} are set: \
             using the certificate, ignoring the secret"
        ));
    }
    ClientCertificate::from_pem_file(Path::new(path.trim())).map_err(|e| match e {
        AuthError::Certificate { path, reason } => AuthError::Certificate {
            path,
            reason: format!("{reason} (from {AZURE_CLIENT_CERTIFICATE_PATH})"),
        },
        other => other,
    })
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

pub(super) fn is_token_text(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn validate_tenant(tenant: &str) -> Result<(), AuthError> {
    check_tenant(tenant).map_err(|reason| AuthError::InvalidVariable {
        variable: AZURE_TENANT_ID,
        reason,
    })
}

/// Whether `tenant` can name one tenant: a GUID or a domain name, not a multi-tenant
/// alias; why not, in words.
pub fn check_tenant(tenant: &str) -> Result<(), String> {
    let invalid = |reason: &str| reason.to_string();
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
