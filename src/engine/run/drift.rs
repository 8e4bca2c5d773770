//! The re-read of a user's methods before the run changes them: it resolves a TAP
//! creation an interrupted run left unanswered, and compares the methods with the plan's.
//! A user whose methods changed since the plan (drift) is left alone (`drifted`), or with
//! `--on-drift replan` gets their steps decided again from the methods found now.

use std::collections::BTreeSet;

use super::job::UserJob;
use super::machine::{failure_text, list_of_methods};
use super::{Ctx, bug};
use crate::engine::dispatcher::JobResult;
use crate::engine::journal::{Record, StepOutcome};
use crate::engine::outcome::RunStatus;
use crate::engine::settings::OnDrift;
use crate::policy::{self, MethodSnapshot, Step, UserSnapshot};
use crate::wire::MethodType;

impl Ctx<'_> {
    /// Takes in the re-read of a user's methods before the first change. `true` when the
    /// user goes on to their steps; `false` when they ended here (the read failed, or
    /// their methods drifted and `--on-drift skip`), or a replan could not be journaled.
    pub(super) fn on_methods_before_change(&mut self, index: usize, result: JobResult) -> bool {
        let methods = match result {
            JobResult::Done { body, .. } => list_of_methods(body.as_ref()),
            other => {
                let (code, message) = failure_text(&other);
                self.finish_user(
                    index,
                    RunStatus::Failed,
                    Some(format!(
                        "could not re-read the user's methods before changing them: {message}"
                    )),
                    code,
                );
                return false;
            }
        };
        let Some(job) = self.job_or_bug(index) else {
            return false;
        };
        job.resolve_intents(&methods);
        let drift = job.drift(&methods);
        job.drift_checked = true;
        let Some(found) = drift else {
            return true;
        };
        match self.options.on_drift {
            OnDrift::Skip => {
                self.finish_user(
                    index,
                    RunStatus::Drifted,
                    Some(format!(
                        "the user's methods changed since the plan ({found}); nothing was changed for this user. Plan again, or apply with --on-drift replan"
                    )),
                    None,
                );
                false
            }
            OnDrift::Replan => self.replan(index, methods, &found),
        }
    }

    /// Decides the user's steps again from the methods found now. Steps already done stay
    /// done; the new steps are journaled so that a resume runs the same ones.
    fn replan(&mut self, index: usize, methods: Vec<MethodSnapshot>, found: &str) -> bool {
        let policy = self.policy;
        let Some(job) = self.job_or_bug(index) else {
            return false;
        };
        let Some(before) = job.planned_user().cloned() else {
            return false;
        };
        let snapshot = UserSnapshot { methods, ..before };
        let decision = policy::decide(policy, &snapshot, false);
        job.adopt_steps(decision.steps());
        job.outcome.reason = Some(format!(
            "the user's methods changed since the plan ({found}); decided again from the methods found now"
        ));
        let row = job.entry.row;
        let steps = job.steps.clone();
        self.journal(Record::Replanned { row, steps })
    }
}

impl UserJob {
    /// The user as the plan read them. Every job has one (its key is their id): a job
    /// without is a bug, reported.
    fn planned_user(&self) -> Option<&UserSnapshot> {
        let before = self.entry.before.as_ref();
        if before.is_none() {
            bug(format_args!(
                "row {} runs without the user the plan read",
                self.entry.row
            ));
        }
        before
    }

    /// A TAP creation journaled as intended but never answered (the run was killed while
    /// it was in flight): if the user has no pass the plan did not know of, it never
    /// reached Graph and may be sent now; otherwise it was created and its pass is lost,
    /// and it stays unresolved (never created twice).
    fn resolve_intents(&mut self, now: &[MethodSnapshot]) {
        let Some(before) = self.planned_user() else {
            return;
        };
        let known: BTreeSet<&str> = before.methods.iter().map(|m| m.id.as_str()).collect();
        let new_pass = now
            .iter()
            .any(|m| m.kind == MethodType::TemporaryAccessPass && !known.contains(m.id.as_str()));
        if !new_pass {
            self.intent_unresolved.clear();
        }
    }

    /// How the user's methods now differ from what the plan expects, in words, or `None`.
    fn drift(&self, now: &[MethodSnapshot]) -> Option<String> {
        let before = self.planned_user()?;
        let planned: BTreeSet<&str> = before.methods.iter().map(|m| m.id.as_str()).collect();
        let current: BTreeSet<&str> = now.iter().map(|m| m.id.as_str()).collect();
        // After an interruption, the steps of this plan may have changed things already.
        let removable: BTreeSet<&str> = if self.begun {
            self.steps
                .iter()
                .filter_map(|s| match s {
                    Step::DeleteMethod { id, .. } => Some(id.as_str()),
                    _ => None,
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        // Graph replaces an existing pass when this run's pass is created: not drift.
        let replaced_by_this_run = |m: &MethodSnapshot| {
            self.begun && m.kind == MethodType::TemporaryAccessPass && self.tap_step_ran()
        };
        let new: Vec<String> = now
            .iter()
            .filter(|m| !planned.contains(m.id.as_str()))
            .filter(|m| !replaced_by_this_run(m))
            .map(|m| m.label())
            .collect();
        let gone: Vec<String> = before
            .methods
            .iter()
            .filter(|m| !current.contains(m.id.as_str()) && !removable.contains(m.id.as_str()))
            .filter(|m| !replaced_by_this_run(m))
            .map(|m| m.label())
            .collect();
        if new.is_empty() && gone.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        if !new.is_empty() {
            parts.push(format!("registered since: {}", new.join(", ")));
        }
        if !gone.is_empty() {
            parts.push(format!("no longer registered: {}", gone.join(", ")));
        }
        Some(parts.join("; "))
    }

    /// Takes `decided` as the user's steps: the steps already done first, as they stand,
    /// then the decided ones not among them, none done yet.
    fn adopt_steps(&mut self, decided: &[Step]) {
        let done_steps: Vec<Step> = self
            .steps
            .iter()
            .zip(&self.done)
            .filter(|(_, d)| d.is_some())
            .map(|(s, _)| s.clone())
            .collect();
        let mut steps: Vec<Step> = done_steps.clone();
        steps.extend(decided.iter().filter(|s| !done_steps.contains(s)).cloned());
        let mut done: Vec<Option<StepOutcome>> =
            self.done.iter().copied().flatten().map(Some).collect();
        done.resize(steps.len(), None);
        self.steps = steps;
        self.done = done;
    }
}
