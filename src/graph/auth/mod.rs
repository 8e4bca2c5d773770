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
//! [`Secret`](crate::secret::Secret) or in types whose `Debug` redacts them, and an
//! [`AuthError`] never carries a request body, a token or a value read from the
//! environment — only variable names, the token endpoint's `AADSTS` code and the first
//! sentence of its description (with anything that was sent scrubbed out), or the first
//! line the Azure CLI wrote to stderr.
//!
//! The parts, in the order a token is made:
//!
//! - `credential.rs`: [`Credential`] and [`AuthMode`], read from the environment names
//!   below ([`Credential::from_env`]), with the checks on the tenant, the client id and a
//!   ready token;
//! - `certificate.rs`: [`ClientCertificate`], the PEM file read and the PS256 client
//!   assertion signed;
//! - `azure_cli.rs`: [`AzureCli`], running `az account get-access-token` and reading
//!   its answer;
//! - `token_endpoint.rs`: [`TokenEndpoint`] and [`RetryPolicy`], the client-credentials
//!   request, its retries and the reading of the endpoint's answer;
//! - `token.rs`: [`AccessToken`], a token's lifetime and when to refresh it;
//! - `cache.rs`: [`TokenSource`], the shared cache, one refresh at a time;
//! - `error.rs`: [`AuthError`], its hints, and the reduction of an OAuth refusal to a
//!   scrubbed `AADSTS` code and sentence.

mod azure_cli;
mod cache;
mod certificate;
mod credential;
mod error;
mod token;
mod token_endpoint;

pub use azure_cli::AzureCli;
pub use cache::TokenSource;
pub use certificate::{ClientCertificate, JWT_BEARER_ASSERTION_TYPE};
pub use credential::{AuthMode, Credential, check_tenant};
pub use error::AuthError;
pub use token::AccessToken;
pub use token_endpoint::{RetryPolicy, TokenEndpoint};

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
