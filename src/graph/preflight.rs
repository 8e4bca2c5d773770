//! The preflight: before `plan`, `apply` or `resume` reads or writes anything, one real
//! Graph request — `GET /users?$top=1&$select=id`, the least `User.Read.All` allows — proves
//! that the credential gives a token Graph accepts and that the app may read users
//! ([`Preflight::check_access`]); a plan that issues Temporary Access Passes then reads the
//! tenant's TAP policy ([`Preflight::read_tap_policy`]). Getting a token alone proves
//! nothing for a ready token (`MFA_RESET_ACCESS_TOKEN`): only Graph can say it is good.
//!
//! So a rejected token, a missing permission or a Graph that is down ends a command with
//! one message before its first user, whatever the list's size ([`PreflightError`]; the
//! CLI maps [`PreflightError::failure`] to the exit code). A token Graph rejects (401) is
//! replaced once when the credential can make another; a 403 names the permission to
//! grant. A Graph that cannot be reached — connections refused or dropped, `5xx`, `429`,
//! a token endpoint out of reach — is tried again with growing pauses until
//! [`PreflightBounds::total`] (20 s) has passed since the preflight started, then given
//! up: every request of one [`Preflight`] shares that deadline, and no attempt outlives it.
//!
//! The bound is set by the tests through [`PREFLIGHT_SECONDS`] (read by the CLI with the
//! other environment variables), so that a test of an unreachable Graph need not wait
//! 20 s; operators have no reason to set it.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::auth::AuthError;
use super::batch::{GraphFault, ItemOutcome};
use super::client::GraphClient;
use super::request::GraphRequest;
use super::tap_policy::TenantTapPolicy;
use super::transport::SendFailure;

/// The environment variable that bounds the preflight, in seconds (tests only).
pub const PREFLIGHT_SECONDS: &str = "MFA_RESET_PREFLIGHT_SECONDS";
/// The application permission the preflight's request needs.
pub const PROBE_PERMISSION: &str = "User.Read.All";
/// The application permissions that may read the tenant's TAP policy, least privileged
/// first (Microsoft's page for the request lists the first; older pages the second).
pub const TAP_POLICY_PERMISSIONS: [&str; 2] =
    ["Policy.Read.AuthenticationMethod", "Policy.Read.All"];

/// How long the preflight keeps trying a Graph it cannot reach, and how it paces the
/// attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct PreflightBounds {
    /// From the first attempt to giving up.
    pub total: Duration,
    /// The pause after the first failed attempt; doubled after each one.
    pub first_backoff: Duration,
    /// The longest pause.
    pub max_backoff: Duration,
}

impl Default for PreflightBounds {
    /// 20 s in all, pauses from a quarter of a second up to 4 s.
    fn default() -> Self {
        PreflightBounds::within(Duration::from_secs(20))
    }
}

impl PreflightBounds {
    /// Bounds of `total` in all, with pauses in proportion (at most a quarter second, then
    /// doubling to at most 4 s or a fifth of the total).
    pub fn within(total: Duration) -> PreflightBounds {
        PreflightBounds {
            total,
            first_backoff: (total / 40).min(Duration::from_millis(250)),
            max_backoff: (total / 5).min(Duration::from_secs(4)),
        }
    }

    /// The default bounds, or [`PREFLIGHT_SECONDS`] through `lookup` when it is set.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<PreflightBounds, PreflightError> {
        let Some(value) = lookup(PREFLIGHT_SECONDS).filter(|v| !v.trim().is_empty()) else {
            return Ok(PreflightBounds::default());
        };
        match value.trim().parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0 => {
                Ok(PreflightBounds::within(Duration::from_secs_f64(seconds)))
            }
            _ => Err(PreflightError::BadBound {
                value: value.chars().take(40).collect(),
            }),
        }
    }
}

/// What a failed preflight means for the command: the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreflightFailure {
    /// The configuration is at fault; nothing was asked of a server (exit 2).
    Usage,
    /// The credential or a permission was refused (exit 3).
    Refused,
    /// Graph could not be reached, or answered something else (exit 1).
    Failed,
}

/// Why the preflight failed. Never holds a token or a secret: Graph's error code and
/// message, the credential's description and the cause of a connection failure only.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PreflightError {
    /// No token could be had: the credential's own error.
    #[error(transparent)]
    Credential(AuthError),
    /// Graph rejected the token (401).
    #[error("Microsoft Graph at {graph} rejected {credential} ({fault}): {hint}")]
    TokenRejected {
        graph: String,
        /// Where the token came from ([`crate::graph::auth::Credential::token_source`]).
        credential: String,
        fault: GraphFault,
        hint: &'static str,
    },
    /// Graph refused the request (403): a permission is missing.
    #[error(
        "Microsoft Graph at {graph} refused the app's first request, {what} ({fault}): grant the app the application permission {permission} (with admin consent), then run again"
    )]
    Denied {
        graph: String,
        what: &'static str,
        permission: &'static str,
        fault: GraphFault,
    },
    /// Graph could not be reached before the preflight's bound.
    #[error(
        "Microsoft Graph at {graph} could not be reached: {cause} ({attempts} {} in {}); check the network and --cloud or --graph-url, or wait for Graph to recover, then run again",
        if *.attempts == 1 { "attempt" } else { "attempts" },
        seconds(*.waited)
    )]
    Unreachable {
        graph: String,
        cause: String,
        attempts: u32,
        waited: Duration,
    },
    /// Graph answered the request with an error that is neither of the above.
    #[error("Microsoft Graph at {graph} answered the app's first request, {what}, with {fault}")]
    Unexpected {
        graph: String,
        what: &'static str,
        fault: GraphFault,
    },
    /// [`PREFLIGHT_SECONDS`] is set to something that is not a bound.
    #[error(
        "{PREFLIGHT_SECONDS} is {value:?}: it must be a number of seconds above 0 and at most 3600 (it is meant for tests; unset it)"
    )]
    BadBound { value: String },
}

impl PreflightError {
    /// What the failure means for the command.
    pub fn failure(&self) -> PreflightFailure {
        match self {
            PreflightError::Credential(e) if e.is_configuration() => PreflightFailure::Usage,
            PreflightError::Credential(AuthError::Network { .. } | AuthError::Throttled { .. }) => {
                PreflightFailure::Failed
            }
            PreflightError::Credential(_)
            | PreflightError::TokenRejected { .. }
            | PreflightError::Denied { .. } => PreflightFailure::Refused,
            PreflightError::Unreachable { .. } | PreflightError::Unexpected { .. } => {
                PreflightFailure::Failed
            }
            PreflightError::BadBound { .. } => PreflightFailure::Usage,
        }
    }

    /// The `AADSTS` code of a token-endpoint refusal, for the log.
    pub fn aadsts_code(&self) -> Option<u32> {
        match self {
            PreflightError::Credential(e) => e.aadsts_code(),
            _ => None,
        }
    }
}

impl From<AuthError> for PreflightError {
    fn from(e: AuthError) -> Self {
        PreflightError::Credential(e)
    }
}

/// What reading the tenant's TAP policy found.
#[derive(Debug, Clone, PartialEq)]
pub enum TapPolicyRead {
    Read(TenantTapPolicy),
    /// Graph would not show it (`denied`: 403, a permission is missing) or showed
    /// something that is not a policy; `why` says what Graph answered.
    Unreadable {
        denied: bool,
        why: String,
    },
}

/// One preflight: requests that share one deadline ([`PreflightBounds::total`] from
/// [`Preflight::start`]).
pub struct Preflight<'a> {
    client: &'a GraphClient,
    bounds: PreflightBounds,
    started: Instant,
    deadline: Instant,
}

/// How Graph answered a request, once it answered.
pub(crate) enum Answered {
    Body(Option<Value>),
    /// A 4xx other than 401: trying again would not change it.
    Refused(GraphFault),
}

impl<'a> Preflight<'a> {
    pub fn start(client: &'a GraphClient, bounds: PreflightBounds) -> Preflight<'a> {
        let started = Instant::now();
        Preflight {
            client,
            deadline: started + bounds.total,
            bounds,
            started,
        }
    }

    /// The client the checks go through.
    pub(crate) fn client(&self) -> &GraphClient {
        self.client
    }

    pub(crate) fn graph(&self) -> String {
        self.client.endpoints().graph().to_string()
    }

    /// `GET /users?$top=1&$select=id`: the token is accepted and the app may read users.
    pub async fn check_access(&self) -> Result<(), PreflightError> {
        const WHAT: &str = "listing users";
        match self.ask(&GraphRequest::probe_users()).await? {
            Answered::Body(_) => Ok(()),
            Answered::Refused(fault) if fault.status == 403 => Err(PreflightError::Denied {
                graph: self.graph(),
                what: WHAT,
                permission: PROBE_PERMISSION,
                fault,
            }),
            Answered::Refused(fault) => Err(PreflightError::Unexpected {
                graph: self.graph(),
                what: WHAT,
                fault,
            }),
        }
    }

    /// The tenant's Temporary Access Pass policy, or why it could not be read. Only a
    /// rejected token or an unreachable Graph is an error: a policy the app may not read
    /// is for the caller to note.
    pub async fn read_tap_policy(&self) -> Result<TapPolicyRead, PreflightError> {
        Ok(match self.ask(&GraphRequest::tap_policy()).await? {
            Answered::Body(body) => {
                match TenantTapPolicy::from_graph(body.as_ref().unwrap_or(&Value::Null)) {
                    Ok(policy) => TapPolicyRead::Read(policy),
                    Err(why) => TapPolicyRead::Unreadable {
                        denied: false,
                        why: format!("Graph's answer is not a policy: {why}"),
                    },
                }
            }
            Answered::Refused(fault) => TapPolicyRead::Unreadable {
                denied: fault.status == 403,
                why: fault.to_string(),
            },
        })
    }

    /// Sends `request` until Graph answers it (or the deadline passes): a token first,
    /// then the request; what cannot reach Graph is tried again after a pause.
    pub(crate) async fn ask(&self, request: &GraphRequest) -> Result<Answered, PreflightError> {
        let client = self.client;
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let mut backoff = self.bounds.first_backoff;
        let mut attempts = 0u32;
        let mut replaced_token = false;
        let mut cause;
        loop {
            attempts += 1;
            let mut wait = None;
            match tokio::time::timeout_at(deadline, client.tokens().token()).await {
                Err(_) => {
                    cause = "no access token came before the time allowed ran out".to_string();
                    break;
                }
                Ok(Err(e @ AuthError::Throttled { retry_after, .. })) => {
                    cause = e.to_string();
                    wait = Some(retry_after);
                }
                Ok(Err(e @ AuthError::Network { .. })) => cause = e.to_string(),
                Ok(Err(e)) => return Err(PreflightError::Credential(e)),
                Ok(Ok(_)) => {
                    let sent = tokio::time::timeout_at(deadline, client.send_one(request)).await;
                    let outcome = match sent {
                        Err(_) => {
                            cause = format!("no answer within {}", seconds(self.bounds.total));
                            break;
                        }
                        Ok(Ok(answer)) => answer.outcome,
                        Ok(Err(SendFailure::Status { outcome, .. })) => outcome,
                        Ok(Err(SendFailure::Connection(c) | SendFailure::Auth(c))) => {
                            ItemOutcome::Transient {
                                fault: GraphFault {
                                    status: 0,
                                    code: String::new(),
                                    message: c,
                                },
                                retry_after: None,
                            }
                        }
                    };
                    match outcome {
                        ItemOutcome::Success { body, .. } => return Ok(Answered::Body(body)),
                        ItemOutcome::AuthExpired(fault) => {
                            let credential = client.tokens().credential();
                            if credential.refreshable() && !replaced_token {
                                // The client dropped the token; the next one is fresh.
                                replaced_token = true;
                                continue;
                            }
                            return Err(PreflightError::TokenRejected {
                                graph: self.graph(),
                                credential: credential.token_source(),
                                fault,
                                hint: credential.rejected_hint(),
                            });
                        }
                        ItemOutcome::Throttled { retry_after } => {
                            cause = "Graph is throttling this app (HTTP 429)".to_string();
                            wait = retry_after;
                        }
                        ItemOutcome::Transient { fault, retry_after } => {
                            cause = if fault.status == 0 {
                                fault.message
                            } else {
                                fault.to_string()
                            };
                            wait = retry_after;
                        }
                        ItemOutcome::Dependency => {
                            return Ok(Answered::Refused(GraphFault::from_body(424, None)));
                        }
                        ItemOutcome::Permanent(fault) => return Ok(Answered::Refused(fault)),
                    }
                }
            }
            // Not reached: pause, unless the pause would end past the deadline.
            let wait = wait.unwrap_or(backoff);
            if tokio::time::Instant::now() + wait >= deadline {
                break;
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.bounds.max_backoff);
        }
        Err(PreflightError::Unreachable {
            graph: self.graph(),
            cause,
            attempts,
            waited: self.started.elapsed(),
        })
    }
}

/// A duration in seconds as an operator reads it: `2.5 s`, `20 s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{:.1} s", s)
    } else {
        format!("{:.0} s", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_twenty_seconds_unless_the_tests_set_it() {
        let bounds = PreflightBounds::from_lookup(|_| None).unwrap();
        assert_eq!(bounds.total, Duration::from_secs(20));
        assert_eq!(bounds.first_backoff, Duration::from_millis(250));
        assert_eq!(bounds.max_backoff, Duration::from_secs(4));
        let short =
            PreflightBounds::from_lookup(|k| (k == PREFLIGHT_SECONDS).then(|| "2".to_string()))
                .unwrap();
        assert_eq!(short.total, Duration::from_secs(2));
        assert!(short.first_backoff <= Duration::from_millis(50));
        for bad in ["0", "-1", "soon", "NaN", "inf", "100000"] {
            let e = PreflightBounds::from_lookup(|_| Some(bad.to_string())).unwrap_err();
            assert_eq!(e.failure(), PreflightFailure::Usage, "{bad}");
            assert!(e.to_string().contains(PREFLIGHT_SECONDS), "{e}");
        }
    }

    #[test]
    fn each_failure_has_its_exit_and_says_what_to_do() {
        let fault = |status, code: &str, message: &str| GraphFault {
            status,
            code: code.into(),
            message: message.into(),
        };
        let rejected = PreflightError::TokenRejected {
            graph: "https://graph.microsoft.com".into(),
            credential: "the access token in MFA_RESET_ACCESS_TOKEN".into(),
            fault: fault(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
            ),
            hint: "put a fresh Graph token in MFA_RESET_ACCESS_TOKEN",
        };
        assert_eq!(rejected.failure(), PreflightFailure::Refused);
        assert_eq!(
            rejected.to_string(),
            "Microsoft Graph at https://graph.microsoft.com rejected the access token in MFA_RESET_ACCESS_TOKEN (HTTP 401 InvalidAuthenticationToken: Access token validation failure.): put a fresh Graph token in MFA_RESET_ACCESS_TOKEN"
        );
        let denied = PreflightError::Denied {
            graph: "https://graph.microsoft.com".into(),
            what: "listing users",
            permission: PROBE_PERMISSION,
            fault: fault(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
        };
        assert_eq!(denied.failure(), PreflightFailure::Refused);
        assert!(
            denied
                .to_string()
                .contains("grant the app the application permission User.Read.All")
        );
        let down = PreflightError::Unreachable {
            graph: "https://graph.microsoft.com".into(),
            cause: "connection refused".into(),
            attempts: 7,
            waited: Duration::from_millis(20_300),
        };
        assert_eq!(down.failure(), PreflightFailure::Failed);
        assert_eq!(
            down.to_string(),
            "Microsoft Graph at https://graph.microsoft.com could not be reached: connection refused (7 attempts in 20 s); check the network and --cloud or --graph-url, or wait for Graph to recover, then run again"
        );
        assert_eq!(
            PreflightError::Credential(AuthError::NoCredentials).failure(),
            PreflightFailure::Usage
        );
        assert_eq!(
            PreflightError::Credential(AuthError::StaticTokenRejected { expired: true }).failure(),
            PreflightFailure::Refused
        );
        assert_eq!(
            PreflightError::Credential(AuthError::Network {
                url: "https://login.microsoftonline.com/x/oauth2/v2.0/token".into(),
                attempts: 3,
                reason: "connection refused".into()
            })
            .failure(),
            PreflightFailure::Failed
        );
    }
}
