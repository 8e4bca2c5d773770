//! The circuit breaker: a failure that is not about one user — Graph refusing the
//! credential, Graph out of reach, or the same refusal for several users in a row (a
//! missing permission, a Temporary Access Pass outside the tenant's policy) — stops the
//! run from starting more users. The requests on their way settle, the users not finished
//! stay `pending` for a resume, and the run ends with one message that names the cause.
//!
//! The rules:
//!
//! - A 401 after a fresh token, or no token at all, trips at once: nothing more can work.
//! - Graph unreachable (connections failing or 5xx answers, nothing else between) for
//!   longer than the dispatcher's bound trips at once.
//! - Otherwise the same refusal — the same action, HTTP status and Graph error code — for
//!   [`STREAK`] users in a row, with no success of that action between, trips. A refusal
//!   about one user (a 404: the user or method is gone) never counts; one success of the
//!   action ends the streak.

use std::collections::BTreeSet;

use crate::engine::dispatcher::{Abandon, JobResult};
use crate::graph::batch::GraphFault;

/// Users in a row that the same refusal must hit before the run stops.
pub const STREAK: usize = 5;

/// Why the run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tripped {
    pub cause: TripCause,
    /// What happened, in one sentence, without a secret.
    pub summary: String,
}

/// The kind of failure that stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripCause {
    /// Graph refused the credential.
    Credentials,
    /// Graph could not be reached.
    Unreachable,
    /// Graph refused the same action for several users in a row.
    Refused,
}

/// The same refusal, user after user.
struct Streak {
    action: &'static str,
    status: u16,
    code: String,
    message: String,
    /// What to do about it, when known (the permission to grant).
    hint: Option<String>,
    users: BTreeSet<usize>,
}

/// Watches the answers of a run for a failure that is not about one user.
#[derive(Default)]
pub(super) struct Breaker {
    streak: Option<Streak>,
    tripped: Option<Tripped>,
}

impl Breaker {
    /// Why the run stopped, once it has.
    pub(super) fn tripped(&self) -> Option<&Tripped> {
        self.tripped.as_ref()
    }

    pub(super) fn into_tripped(self) -> Option<Tripped> {
        self.tripped
    }

    /// `action` succeeded for a user: a streak of its refusals ends.
    pub(super) fn success(&mut self, action: &'static str) {
        if self.streak.as_ref().is_some_and(|s| s.action == action) {
            self.streak = None;
        }
    }

    /// `action` for user `index` did not succeed with `result`. A job given up without an
    /// answer trips the breaker when the credential was refused or Graph was out of reach;
    /// a refusal counts towards a streak. `hint` says what to do about a refusal (403).
    pub(super) fn failure(
        &mut self,
        index: usize,
        action: &'static str,
        result: &JobResult,
        hint: Option<String>,
    ) {
        if self.tripped.is_some() {
            return;
        }
        match result {
            JobResult::Abandoned { cause, last_error } => self.abandoned(*cause, last_error),
            JobResult::Failed { fault, error } => {
                let (status, code, message) = match fault {
                    Some(GraphFault {
                        status,
                        code,
                        message,
                    }) => (*status, code.clone(), message.clone()),
                    None => (0, String::new(), error.clone()),
                };
                if status == 401 {
                    self.trip(
                        TripCause::Credentials,
                        format!("Graph refused the credential ({status} {code}: {message})"),
                    );
                    return;
                }
                if status == 404 {
                    return;
                }
                let hint = hint.filter(|_| status == 403);
                self.refused(index, action, (status, code, message), hint);
            }
            JobResult::Done { .. } | JobResult::AlreadyDone | JobResult::Unknown { .. } => {}
        }
    }

    /// A job given up without an answer.
    fn abandoned(&mut self, cause: Abandon, last_error: &str) {
        match cause {
            Abandon::Unauthorized => self.trip(
                TripCause::Credentials,
                format!("Graph refused the credential ({last_error})"),
            ),
            Abandon::Unreachable => self.trip(TripCause::Unreachable, last_error.to_string()),
            Abandon::Halted => {}
        }
    }

    fn refused(
        &mut self,
        index: usize,
        action: &'static str,
        (status, code, message): (u16, String, String),
        hint: Option<String>,
    ) {
        let same = self
            .streak
            .as_ref()
            .is_some_and(|s| s.action == action && s.status == status && s.code == code);
        if !same {
            self.streak = Some(Streak {
                action,
                status,
                code,
                message,
                hint,
                users: BTreeSet::new(),
            });
        }
        let Some(streak) = self.streak.as_mut() else {
            return;
        };
        streak.users.insert(index);
        if streak.users.len() >= STREAK {
            let answer = match (streak.status, streak.code.as_str()) {
                (0, _) => streak.message.clone(),
                (status, "") => format!("{status}: {}", streak.message),
                (status, code) => format!("{status} {code}: {}", streak.message),
            };
            let mut summary = format!(
                "Graph refused to {action} for {} users in a row ({answer})",
                streak.users.len()
            );
            if let Some(hint) = &streak.hint {
                summary.push_str(&format!(" — {hint}"));
            }
            self.trip(TripCause::Refused, summary);
        }
    }

    fn trip(&mut self, cause: TripCause, summary: String) {
        tracing::error!(cause = ?cause, "{summary}; the run stops starting users");
        self.tripped.get_or_insert(Tripped { cause, summary });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, code: &str) -> JobResult {
        JobResult::Failed {
            error: format!("HTTP {status}"),
            fault: Some(GraphFault {
                status,
                code: code.into(),
                message: "Invalid LifetimeInMinutes specified.".into(),
            }),
        }
    }

    #[test]
    fn the_same_refusal_for_five_users_in_a_row_trips() {
        let mut b = Breaker::default();
        for user in 0..STREAK - 1 {
            b.failure(
                user,
                "issue a Temporary Access Pass",
                &refusal(400, "badRequest"),
                None,
            );
        }
        // The same user again does not count twice.
        b.failure(
            0,
            "issue a Temporary Access Pass",
            &refusal(400, "badRequest"),
            None,
        );
        assert!(b.tripped().is_none());
        b.failure(
            9,
            "issue a Temporary Access Pass",
            &refusal(400, "badRequest"),
            None,
        );
        let tripped = b.tripped().expect("tripped");
        assert_eq!(tripped.cause, TripCause::Refused);
        assert!(
            tripped.summary.contains("5 users in a row")
                && tripped.summary.contains("Invalid LifetimeInMinutes"),
            "{}",
            tripped.summary
        );
    }

    #[test]
    fn a_success_or_another_refusal_ends_the_streak_and_a_404_never_counts() {
        let mut b = Breaker::default();
        for user in 0..STREAK - 1 {
            b.failure(
                user,
                "disable the account",
                &refusal(403, "Authorization_RequestDenied"),
                None,
            );
        }
        b.success("disable the account");
        for user in 10..10 + STREAK - 1 {
            b.failure(
                user,
                "disable the account",
                &refusal(403, "Authorization_RequestDenied"),
                None,
            );
        }
        b.failure(
            20,
            "disable the account",
            &refusal(400, "Request_BadRequest"),
            None,
        );
        for user in 30..40 {
            b.failure(user, "remove a method", &refusal(404, "itemNotFound"), None);
        }
        assert!(b.tripped().is_none());
    }

    #[test]
    fn a_refused_credential_or_graph_out_of_reach_trips_at_once() {
        let mut b = Breaker::default();
        b.failure(
            0,
            "revoke sessions",
            &refusal(401, "InvalidAuthenticationToken"),
            None,
        );
        assert_eq!(b.tripped().unwrap().cause, TripCause::Credentials);

        let mut b = Breaker::default();
        let down = JobResult::Abandoned {
            cause: Abandon::Unreachable,
            last_error: "Graph could not be reached for 20 s".into(),
        };
        b.failure(0, "revoke sessions", &down, None);
        assert_eq!(b.tripped().unwrap().cause, TripCause::Unreachable);

        let mut b = Breaker::default();
        let halted = JobResult::Abandoned {
            cause: Abandon::Halted,
            last_error: String::new(),
        };
        b.failure(0, "revoke sessions", &halted, None);
        assert!(b.tripped().is_none());
    }
}
