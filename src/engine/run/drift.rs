//! The comparison of a user as the run re-read them ([`super::recheck`]) with the user as
//! the plan read them. Any difference a guardrail or a step depends on is drift: the
//! account enabled or disabled, synced from on-premises or no longer, an admin role
//! gained (when admins are protected), a method registered or gone. What the plan did not
//! read (the methods under a policy that removes none, the roles under
//! `--include-admins`: [`UserSnapshot::methods_unread`], [`UserSnapshot::roles_unread`])
//! is never compared, whatever the re-read found: "not read" is not "none". A drifted user is
//! left alone — not even contained — and their row says what differed; with
//! `--on-drift replan` their steps are decided again from what was found, under the
//! plan's policy and its guardrails.
//!
//! The same re-read resolves a Temporary Access Pass creation whose answer was lost (an
//! interrupted run, a lost connection): if the user has a pass the plan did not know of,
//! its value is known to nobody, so it is deleted and a new pass issued; otherwise the
//! creation never reached Graph and is sent again.

use std::collections::BTreeSet;

use super::job::UserJob;
use super::machine::Taken;
use super::recheck::Found;
use super::{Ctx, bug};
use crate::engine::journal::{Record, StepOutcome};
use crate::engine::outcome::RunStatus;
use crate::engine::settings::OnDrift;
use crate::policy::{self, Decision, MethodSnapshot, Step, UserSnapshot};
use crate::wire::MethodType;

impl Ctx<'_> {
    /// Compares what the re-read found with the plan. The user goes on to their steps
    /// ([`Taken::GoOn`]) unless they drifted: then they end `drifted`, or with
    /// `--on-drift replan` go on with the steps decided again.
    pub(super) fn compare(&mut self, index: usize, found: Found) -> Taken {
        let on_drift = self.options.on_drift;
        let Some(job) = self.job_or_bug(index) else {
            return Taken::Ended;
        };
        job.rechecked = true;
        if let Some(methods) = &found.methods {
            job.resolve_intents(methods);
            if job.pass_given_up() && job.clear_pass.is_none() {
                // Nothing to delete: the creation never reached Graph.
                return self.give_up_pass(index);
            }
        }
        let Some(differences) = job.differences(&found) else {
            return Taken::GoOn;
        };
        match on_drift {
            // A pass this plan created whose value was lost is deleted first, drifted or
            // not: no pass may stay in the tenant that `tap.csv` does not hold.
            OnDrift::Skip if job.clear_pass.is_some() => {
                job.drift_after_clear = Some(differences);
                Taken::GoOn
            }
            OnDrift::Skip => {
                self.finish_user(index, RunStatus::Drifted, Some(drifted(&differences)), None);
                Taken::Ended
            }
            OnDrift::Replan => self.replan(index, found, &differences),
        }
    }

    /// Ends a drifted user once the pass whose value was lost has been dealt with
    /// (`pass`: what became of it).
    pub(super) fn end_drifted(&mut self, index: usize, differences: String, pass: &str) -> Taken {
        let reason = format!(
            "{}; a Temporary Access Pass this plan created, whose value was lost, was found: {pass}",
            drifted(&differences)
        );
        self.finish_user(index, RunStatus::Drifted, Some(reason), None);
        Taken::Ended
    }

    /// Decides the user's steps again from what was found now. Steps already done stay
    /// done; the new steps are journaled so that a resume runs the same ones. A user the
    /// new decision protects, or leaves nothing to do, ends here.
    fn replan(&mut self, index: usize, found: Found, differences: &str) -> Taken {
        let policy = self.policy;
        let Some(job) = self.job_or_bug(index) else {
            return Taken::Ended;
        };
        let Some(before) = job.planned_user().cloned() else {
            return Taken::Ended;
        };
        let (account_enabled, synced) = found
            .account
            .unwrap_or((before.account_enabled, before.synced));
        let snapshot = UserSnapshot {
            account_enabled,
            synced,
            methods_unread: before.methods_unread && found.methods.is_none(),
            roles_unread: before.roles_unread && found.roles.is_none(),
            // The re-read shows active built-in roles only: every role the plan knew
            // stays (the eligible, scoped and custom ones its tenant-wide listing found;
            // one lost since, the safer way, protects the user still).
            admin_roles: match found.roles {
                Some(mut roles) => {
                    for role in &before.admin_roles {
                        if !roles.contains(role) {
                            roles.push(role.clone());
                        }
                    }
                    roles
                }
                None => before.admin_roles.clone(),
            },
            methods: found.methods.unwrap_or_else(|| before.methods.clone()),
            ..before
        };
        let decision = policy::decide(policy, &snapshot, false);
        let why = format!(
            "the user changed since the plan ({differences}); decided again from what was found now"
        );
        let nothing_done = job.done.iter().all(Option::is_none);
        let ends = match &decision {
            Decision::Protected { reason } => Some((RunStatus::Protected, reason.clone())),
            Decision::Excluded => Some((RunStatus::Excluded, String::new())),
            Decision::NoChange { reason, .. } if nothing_done => {
                Some((RunStatus::NoChange, reason.clone()))
            }
            _ => None,
        };
        if let Some((status, reason)) = ends {
            self.finish_user(index, status, Some(format!("{why}: {reason}")), None);
            return Taken::Ended;
        }
        let unresolved = job.adopt_steps(decision.steps());
        job.blocked = match &decision {
            Decision::Blocked { reason, .. } => Some(reason.clone()),
            _ => None,
        };
        job.outcome.reason = Some(why);
        let row = job.entry.row;
        let steps = job.steps.clone();
        let mut records = vec![Record::Replanned { row, steps }];
        records.extend(
            unresolved
                .into_iter()
                .map(|step| Record::Intent { row, step }),
        );
        if self.journal_all(&records) {
            Taken::GoOn
        } else {
            Taken::Ended
        }
    }
}

/// Why a drifted user was left alone.
fn drifted(differences: &str) -> String {
    format!(
        "the user changed since the plan ({differences}); nothing was changed for this user. Plan again, or apply with --on-drift replan"
    )
}

impl UserJob {
    /// The user as the plan read them. Every job has one (its key is their id): a job
    /// without is a bug, reported.
    pub(super) fn planned_user(&self) -> Option<&UserSnapshot> {
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
    /// it was in flight, or Graph's answer was lost): if the user has no pass the plan did
    /// not know of, it never reached Graph and is sent again; otherwise it was created and
    /// nobody holds its value, so it is deleted first ([`UserJob::clear_pass`]) and a new
    /// pass issued, recorded in `secrets/tap.csv`. A plan that did not read the methods
    /// knows of no pass, so any pass found is taken for the lost one: deleting a pass the
    /// user held before changes nothing, since the new pass would replace it anyway.
    fn resolve_intents(&mut self, now: &[MethodSnapshot]) {
        if self.intent_unresolved.is_empty() {
            return;
        }
        let Some(before) = self.planned_user() else {
            return;
        };
        let known: BTreeSet<&str> = before.methods.iter().map(|m| m.id.as_str()).collect();
        let unknown_pass = now
            .iter()
            .find(|m| m.kind == MethodType::TemporaryAccessPass && !known.contains(m.id.as_str()));
        match unknown_pass {
            Some(pass) => self.clear_pass = Some(pass.id.clone()),
            // Never reached Graph: sent again, unless it is given up.
            None if !self.pass_given_up() => self.intent_unresolved.clear(),
            None => {}
        }
    }

    /// How the user now differs from the plan, in words, or `None`: the account, the
    /// roles and the methods, as far as the re-read looked.
    fn differences(&self, found: &Found) -> Option<String> {
        let before = self.planned_user()?;
        let mut parts: Vec<String> = Vec::new();
        if let Some((enabled, synced)) = found.account {
            // This plan's own disable, from an interrupted run, is not drift.
            let disabled_here = self.begun && self.steps.contains(&Step::DisableAccount);
            if enabled != before.account_enabled && (enabled || !disabled_here) {
                parts.push(if enabled {
                    "the account was enabled".into()
                } else {
                    "the account was disabled".into()
                });
            }
            if synced != before.synced {
                parts.push(if synced {
                    "the account is now synced from on-premises Active Directory".into()
                } else {
                    "the account is no longer synced from on-premises Active Directory".into()
                });
            }
        }
        if let Some(roles) = &found.roles
            && !before.roles_unread
        {
            let gained: Vec<String> = roles
                .iter()
                .filter(|r| !before.admin_roles.contains(r))
                .cloned()
                .collect();
            if !gained.is_empty() {
                parts.push(format!("now holds {}", policy::admin_roles_words(&gained)));
            }
        }
        if let Some(methods) = &found.methods
            && !before.methods_unread
            && let Some(changed) = self.method_drift(methods)
        {
            parts.push(changed);
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// How the user's methods now differ from what the plan expects, in words, or `None`.
    fn method_drift(&self, now: &[MethodSnapshot]) -> Option<String> {
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

    /// Takes `decided` as the user's steps: the steps that succeeded first, in their
    /// order, then the decided ones not among them, none done yet (a step that failed is
    /// decided again). The journal renumbers the row's records the same way when it reads
    /// the `Replanned` record, so that a resume finds the same list. A pass creation whose
    /// answer is unresolved keeps its place by what it is, and comes back as the indexes
    /// to journal again.
    fn adopt_steps(&mut self, decided: &[Step]) -> Vec<usize> {
        let succeeded = |d: &Option<StepOutcome>| {
            matches!(d, Some(StepOutcome::Done | StepOutcome::AlreadyDone))
        };
        let done_steps: Vec<(Step, Option<StepOutcome>)> = self
            .steps
            .iter()
            .zip(&self.done)
            .filter(|(_, d)| succeeded(d))
            .map(|(s, d)| (s.clone(), *d))
            .collect();
        let mut steps: Vec<Step> = done_steps.iter().map(|(s, _)| s.clone()).collect();
        let mut done: Vec<Option<StepOutcome>> = done_steps.iter().map(|(_, d)| *d).collect();
        steps.extend(
            decided
                .iter()
                .filter(|s| !steps.contains(s))
                .cloned()
                .collect::<Vec<_>>(),
        );
        done.resize(steps.len(), None);
        let unresolved: Vec<usize> = self
            .intent_unresolved
            .iter()
            .filter_map(|&old| steps.iter().position(|s| *s == self.steps[old]))
            .collect();
        self.intent_unresolved = unresolved.iter().copied().collect();
        self.steps = steps;
        self.done = done;
        self.deferred.clear();
        self.default_retried.clear();
        unresolved
    }
}
