//! The answer to one of a user's steps: what it comes to ([`StepOutcome`], with Graph's
//! error when it failed), the `Step` record that journals it, and the user's result that
//! takes it in. A created Temporary Access Pass goes to `secrets/tap.csv` before its step
//! is journaled; a deletion Graph refuses because the method is the default waits for
//! the user's other deletions. Every answer also goes to the circuit breaker.
//!
//! Two answers leave the step without an outcome: a job given up without an answer
//! (Graph out of reach, the credential refused, the run stopping), which a resume sends
//! again; and a pass creation whose answer was lost, after which the user is re-read and
//! a pass nobody holds the value of is deleted before a new one is issued.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::job::{RESTRICTED, refused_as_default, refused_as_restricted};
use super::machine::{Taken, failure_text};
use super::{Ctx, RunError, bug};
use crate::engine::dispatcher::JobResult;
use crate::engine::journal::{Record, StepOutcome};
use crate::engine::outcome::UserOutcome;
use crate::engine::secrets::{TapFile, TapRecord};
use crate::policy::Step;
use crate::policy::permissions;
use crate::secret::Secret;

/// What a step's answer comes to.
struct StepAnswer {
    outcome: StepOutcome,
    /// Graph's error code, when it failed.
    code: Option<String>,
    message: Option<String>,
}

impl StepAnswer {
    fn of(outcome: StepOutcome) -> StepAnswer {
        StepAnswer {
            outcome,
            code: None,
            message: None,
        }
    }

    fn unknown(message: &str) -> StepAnswer {
        StepAnswer {
            message: Some(message.into()),
            ..StepAnswer::of(StepOutcome::Unknown)
        }
    }

    /// A step that did not succeed: failed, or unknown when no answer could be had. A
    /// refusal for lack of permission names the permission the step needs.
    fn failed(step: &Step, result: &JobResult) -> StepAnswer {
        let (code, mut message) = failure_text(result);
        if let JobResult::Failed {
            fault: Some(fault), ..
        } = result
            && fault.status == 403
        {
            message = format!(
                "{message} — {}",
                permissions::denied_hint(permissions::for_step(step))
            );
        }
        let outcome = if matches!(result, JobResult::Unknown { .. }) {
            StepOutcome::Unknown
        } else {
            StepOutcome::Failed
        };
        StepAnswer {
            outcome,
            code,
            message: Some(message),
        }
    }
}

impl Ctx<'_> {
    /// Takes in the answer to step `step` of a user.
    pub(super) fn on_step_answer(&mut self, index: usize, step: usize, result: JobResult) -> Taken {
        let Some(job) = self.job_or_bug(index) else {
            return Taken::Ended;
        };
        let step_def = job.steps[step].clone();
        let action = action_of(&step_def);
        match &result {
            JobResult::Done { .. } | JobResult::AlreadyDone => self.breaker.success(action),
            JobResult::Abandoned { .. } => {
                // Not known to have happened: left for a resume, which sends it again (a
                // pass creation's intent is journaled and is resolved by a re-read).
                self.breaker.failure(index, action, &result, None);
                return Taken::Ended;
            }
            JobResult::Unknown { .. }
                if matches!(step_def, Step::IssueTemporaryAccessPass { .. }) =>
            {
                // The pass may exist with a value nobody saw: read the user again, delete
                // such a pass and issue a new one — or, once too many answers were lost,
                // only delete it.
                job.pass_rechecks += 1;
                job.intent_unresolved.insert(step);
                job.rechecked = false;
                return Taken::GoOn;
            }
            JobResult::Failed { .. } | JobResult::Unknown { .. } => {}
        }
        let refusal = matches!(result, JobResult::Failed { .. }).then(|| result.clone());
        let restricted = refused_as_restricted(&result);
        let answer = self.step_result(index, &step_def, result);
        if answer.outcome == StepOutcome::Failed && restricted {
            // About this user (a restricted management administrative unit), not the
            // run: no other step is sent to them, and the breaker does not count it.
            let Some(job) = self.job_or_bug(index) else {
                return Taken::Ended;
            };
            job.restricted = Some(RESTRICTED.into());
        } else if answer.outcome == StepOutcome::Failed {
            let Some(job) = self.job_or_bug(index) else {
                return Taken::Ended;
            };
            if job.defer_default(step, answer.message.as_deref()) {
                return Taken::GoOn;
            }
            let about_the_default = refused_as_default(answer.message.as_deref());
            if let Some(refusal) = refusal.filter(|_| !about_the_default) {
                let hint = permissions::denied_hint(permissions::for_step(&step_def));
                self.breaker.failure(index, action, &refusal, Some(hint));
            }
        }
        if self.record_step(index, step, answer) {
            Taken::GoOn
        } else {
            Taken::Ended
        }
    }

    /// Takes in the answer to the deletion of a pass nobody holds the value of: gone, the
    /// creation is sent again; still there, the creation ends unknown (and the removals
    /// that wait on it are withheld); given up without an answer, it is left for a resume.
    pub(super) fn on_pass_cleared(&mut self, index: usize, result: JobResult) -> Taken {
        let Some(job) = self.job_or_bug(index) else {
            return Taken::Ended;
        };
        let cleared = match &result {
            JobResult::Done { .. } | JobResult::AlreadyDone => true,
            JobResult::Failed { fault: Some(f), .. } => f.status == 404,
            _ => false,
        };
        if cleared {
            job.clear_pass = None;
            let given_up = job.pass_given_up();
            if !given_up {
                job.intent_unresolved.clear();
            }
            let drift = job.drift_after_clear.take();
            self.breaker.success(CLEAR_PASS);
            if let Some(drift) = drift {
                return self.end_drifted(index, drift, "it was deleted");
            }
            return if given_up {
                self.give_up_pass(index)
            } else {
                Taken::GoOn
            };
        }
        let step = job.intent_unresolved.iter().next().copied();
        let id = job.clear_pass.clone().unwrap_or_default();
        let drift = job.drift_after_clear.take();
        self.breaker.failure(index, CLEAR_PASS, &result, None);
        if matches!(result, JobResult::Abandoned { .. }) {
            return Taken::Ended;
        }
        if let Some(drift) = drift {
            let (_, message) = failure_text(&result);
            let not_deleted =
                format!("it (method id {id}) could not be deleted ({message}): delete it by hand");
            return self.end_drifted(index, drift, &not_deleted);
        }
        let Some(step) = step else {
            bug(format_args!(
                "entry {index} cleared a pass without a pass step"
            ));
            return Taken::Ended;
        };
        if let Some(job) = self.job_or_bug(index) {
            job.clear_pass = None;
        }
        let (_, message) = failure_text(&result);
        let answer = StepAnswer {
            outcome: StepOutcome::Unknown,
            code: None,
            message: Some(format!(
                "a Temporary Access Pass (method id {id}) was created but its value was lost, and it could not be deleted ({message}): delete it by hand and issue a new one"
            )),
        };
        if self.record_step(index, step, answer) {
            Taken::GoOn
        } else {
            Taken::Ended
        }
    }

    /// Ends a pass creation whose answers were lost too often: no pass of it is left (the
    /// one found was deleted, or none was there), and none is issued.
    pub(super) fn give_up_pass(&mut self, index: usize) -> Taken {
        let Some(job) = self.job_or_bug(index) else {
            return Taken::Ended;
        };
        let step = job.intent_unresolved.iter().next().copied();
        let Some(step) = step else {
            bug(format_args!(
                "entry {index} gave up a pass without a pass step"
            ));
            return Taken::Ended;
        };
        let answer = StepAnswer {
            outcome: StepOutcome::Failed,
            code: None,
            message: Some(format!(
                "Graph's answer to the Temporary Access Pass's creation was lost {} times; no \
                 pass whose value is unknown was left, and none was issued",
                job.pass_rechecks
            )),
        };
        if self.record_step(index, step, answer) {
            Taken::GoOn
        } else {
            Taken::Ended
        }
    }

    /// Journals a step's outcome, then takes it into the user's result.
    fn record_step(&mut self, index: usize, step: usize, answer: StepAnswer) -> bool {
        let Some(job) = self.job_or_bug(index) else {
            return false;
        };
        let record = Record::Step {
            row: job.entry.row,
            step,
            outcome: answer.outcome,
            request_id: job.outcome.request_ids.last().cloned(),
            attempts: job.outcome.attempts,
            error_code: answer.code.clone(),
            error_message: answer.message.clone(),
        };
        if !self.journal(record) {
            return false;
        }
        self.progress.writes_done += 1;
        let Some(job) = self.job_or_bug(index) else {
            return false;
        };
        job.record_step(step, answer.outcome, answer.code, answer.message);
        true
    }

    /// What the answer to `step` comes to. A TAP's pass goes to the secrets file here,
    /// before the step is journaled.
    fn step_result(&mut self, index: usize, step: &Step, result: JobResult) -> StepAnswer {
        match result {
            JobResult::Done { body, .. } => match step {
                Step::IssueTemporaryAccessPass {
                    lifetime_minutes,
                    usable_once,
                    ..
                } => self.keep_pass(index, body, *lifetime_minutes, *usable_once),
                _ => StepAnswer::of(StepOutcome::Done),
            },
            JobResult::AlreadyDone => StepAnswer::of(StepOutcome::AlreadyDone),
            JobResult::Failed {
                fault: Some(fault), ..
            } if fault.status == 404 && matches!(step, Step::DeleteMethod { .. }) => {
                // The method is gone already: the end state is what the plan wants.
                StepAnswer::of(StepOutcome::AlreadyDone)
            }
            other => StepAnswer::failed(step, &other),
        }
    }

    /// Writes the pass Graph created for a user to `secrets/tap.csv`. Unknown when Graph
    /// did not return the pass, or it could not be written (then the run stops).
    fn keep_pass(
        &mut self,
        index: usize,
        body: Option<Value>,
        lifetime_minutes: u32,
        usable_once: bool,
    ) -> StepAnswer {
        const NOT_WRITTEN: &str = "the pass could not be written to secrets/tap.csv";
        let body = body.unwrap_or(Value::Null);
        let Some(pass) = body.get("temporaryAccessPass").and_then(Value::as_str) else {
            return StepAnswer::unknown(
                "Graph created a Temporary Access Pass but did not return it; remove it and issue a new one",
            );
        };
        let Some(job) = self.job_or_bug(index) else {
            return StepAnswer::unknown(NOT_WRITTEN);
        };
        let record = tap_record(
            &job.outcome,
            pass,
            &body,
            lifetime_minutes,
            usable_once,
            OffsetDateTime::now_utc(),
        );
        if let Err(e) = self.write_pass(&record) {
            self.failure = Some(RunError::Secrets(e));
            return StepAnswer::unknown(NOT_WRITTEN);
        }
        StepAnswer::of(StepOutcome::Done)
    }

    fn write_pass(&mut self, record: &TapRecord) -> Result<(), String> {
        if self.taps.is_none() {
            self.taps = Some(TapFile::open(self.dir).map_err(|e| e.to_string())?);
        }
        self.taps
            .as_mut()
            .expect("opened above")
            .append(record)
            .map_err(|e| e.to_string())
    }
}

/// The deletion of a pass nobody holds the value of, for the circuit breaker.
const CLEAR_PASS: &str = "delete a Temporary Access Pass whose value was lost";

/// What a step does, for the circuit breaker's message ("Graph refused to ...").
fn action_of(step: &Step) -> &'static str {
    match step {
        Step::RevokeSessions => "revoke sign-in sessions",
        Step::DisableAccount => "disable accounts",
        Step::DeleteMethod { .. } => "remove methods",
        Step::IssueTemporaryAccessPass { .. } => "issue Temporary Access Passes",
        Step::SetDefaultMethod { .. } => "change default MFA methods",
    }
}

/// The line of `secrets/tap.csv` for a pass Graph created: the pass, and its start,
/// lifetime and single use as Graph answered them (as asked where it did not say), and
/// when it stops working: from Graph's `startDateTime`, else its `createdDateTime`, else
/// `answered` (when the answer came: the pass was created no later), plus the lifetime.
fn tap_record(
    user: &UserOutcome,
    pass: &str,
    body: &Value,
    lifetime_minutes: u32,
    usable_once: bool,
    answered: OffsetDateTime,
) -> TapRecord {
    let start = body
        .get("startDateTime")
        .and_then(Value::as_str)
        .map(str::to_string);
    let lifetime_minutes = body
        .get("lifetimeInMinutes")
        .and_then(Value::as_u64)
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(lifetime_minutes);
    let instant = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
    };
    let from = instant("startDateTime")
        .or_else(|| instant("createdDateTime"))
        .unwrap_or(answered);
    let expiry = (from + time::Duration::minutes(i64::from(lifetime_minutes)))
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .ok();
    TapRecord {
        user_id: user.user_id.clone().unwrap_or_default(),
        user_principal_name: user.user_principal_name.clone().unwrap_or_default(),
        pass: Secret::new(pass),
        start,
        lifetime_minutes,
        usable_once: body
            .get("isUsableOnce")
            .and_then(Value::as_bool)
            .unwrap_or(usable_once),
        expiry,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(body: Value) -> TapRecord {
        let user = UserOutcome {
            user_id: Some("u-1".into()),
            user_principal_name: Some("u1@contoso.com".into()),
            ..UserOutcome::default()
        };
        let answered = OffsetDateTime::parse("2026-11-28T09:00:05Z", &Rfc3339).unwrap();
        tap_record(&user, "p4ss", &body, 60, false, answered)
    }

    #[test]
    fn a_passs_expiry_is_its_start_or_creation_plus_its_lifetime_in_utc() {
        // Graph's documented answer: a start later than the creation.
        let r = record(json!({
            "createdDateTime": "2022-06-02T16:21:09.765173Z",
            "startDateTime": "2022-06-05T00:00:00Z",
            "lifetimeInMinutes": 90,
            "isUsableOnce": true,
        }));
        assert_eq!(r.start.as_deref(), Some("2022-06-05T00:00:00Z"));
        assert_eq!(r.expiry.as_deref(), Some("2022-06-05T01:30:00Z"));
        assert_eq!((r.lifetime_minutes, r.usable_once), (90, true));
        // No start given back: from the creation; an offset is brought to UTC.
        let r = record(json!({
            "createdDateTime": "2026-11-28T10:00:00+01:00",
            "lifetimeInMinutes": 480,
        }));
        assert_eq!(r.expiry.as_deref(), Some("2026-11-28T17:00:00Z"));
        // Neither: from when the answer came, with the lifetime asked for.
        let r = record(json!({}));
        assert_eq!(r.expiry.as_deref(), Some("2026-11-28T10:00:05Z"));
        assert_eq!(r.start, None);
    }
}
