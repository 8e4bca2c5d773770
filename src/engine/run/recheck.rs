//! The re-read before a user's first change in a run: what the plan's guardrails and
//! steps depend on may have changed since the plan. The account (enabled, synced from
//! on-premises: when it is disabled or given a pass), the directory roles (when admins are
//! protected) and the methods (when a method is removed or a pass issued) are asked for at
//! once, one round trip; the answers
//! go to the drift comparison ([`super::drift`]). What the plan did not read (the methods
//! under a policy that removes none) is not read again, save the methods when a pass
//! creation's answer was lost (the comparison ignores them anyway). A user whose re-read fails is not
//! changed; one the re-read could not reach (Graph out of reach, the credential refused,
//! the run stopping) stays unfinished for a resume.

use serde_json::Value;

use super::job::{Stage, UserJob};
use super::machine::{Taken, failure_text};
use super::{Ctx, bug};
use crate::engine::dispatcher::{Completed, JobResult};
use crate::engine::outcome::RunStatus;
use crate::engine::read::{account_enabled, admin_roles_in, methods_in, synced};
use crate::graph::request::GraphRequest;
use crate::policy::MethodSnapshot;

/// One of the reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Account,
    Roles,
    Methods,
    /// Beta: hardware OATH tokens, read with the methods (v1.0 does not list them).
    HardwareOath,
}

impl Part {
    fn request(self, job: &UserJob) -> Option<GraphRequest> {
        match self {
            Part::Account => Some(GraphRequest::get_user(&job.key)),
            Part::Roles => GraphRequest::directory_roles(&job.key),
            Part::Methods => GraphRequest::list_methods(&job.key),
            Part::HardwareOath => GraphRequest::list_hardware_oath_methods(&job.key),
        }
    }

    /// Which read `request` is: the path's end tells them apart.
    fn of(request: &GraphRequest) -> Part {
        let path = request.url.split('?').next().unwrap_or_default();
        if path.ends_with("/authentication/methods") {
            Part::Methods
        } else if path.ends_with("/authentication/hardwareOathMethods") {
            Part::HardwareOath
        } else if path.ends_with("/transitiveMemberOf/microsoft.graph.directoryRole") {
            Part::Roles
        } else {
            Part::Account
        }
    }
}

/// The answers of a re-read so far.
#[derive(Default)]
pub(super) struct Reread {
    waiting: Vec<Part>,
    pub(super) found: Found,
    /// The first read that did not succeed, and its answer.
    failed: Option<(Part, JobResult)>,
    /// Graph's answer listing the user's methods, as it came: the restore data's phone
    /// numbers and email address are taken from it, and it is dropped after.
    methods_body: Option<Value>,
}

/// What the re-read found: `None` for what it did not read.
#[derive(Default)]
pub(super) struct Found {
    /// `accountEnabled` and `onPremisesSyncEnabled`.
    pub(super) account: Option<(bool, bool)>,
    pub(super) roles: Option<Vec<String>>,
    pub(super) methods: Option<Vec<MethodSnapshot>>,
}

impl Ctx<'_> {
    /// The reads of a user's re-read, all sent at once; the job waits on them.
    pub(super) fn recheck_requests(&mut self, index: usize) -> Vec<GraphRequest> {
        let protect_admins = !self.policy.include_admins();
        let Some(job) = self.job_or_bug(index) else {
            return Vec::new();
        };
        // Only what a guardrail of the user's open steps depends on: the account's state
        // for a disable or a pass, the roles when admins are protected, the methods for a
        // removal or a pass. A user with none of these (sessions revoked under
        // --include-admins) is still read once, to know they are there.
        let mut parts = Vec::new();
        if job.recheck_reads_account() {
            parts.push(Part::Account);
        }
        if protect_admins {
            parts.push(Part::Roles);
        }
        // The methods the plan did not read (its policy removes none: a pass alone) are
        // compared with nothing; they are read only to settle a pass creation whose answer
        // was lost.
        let plan_read_methods = !job.entry.before.as_ref().is_some_and(|u| u.methods_unread);
        if job.recheck_reads_methods() && (plan_read_methods || !job.intent_unresolved.is_empty()) {
            parts.push(Part::Methods);
            // Only where the plan could list them: otherwise the tokens the plan did not
            // see would look like methods registered since.
            if !job
                .entry
                .before
                .as_ref()
                .is_some_and(|u| u.hardware_oath_unread)
            {
                parts.push(Part::HardwareOath);
            }
        }
        if parts.is_empty() {
            parts.push(Part::Account);
        }
        let requests: Vec<GraphRequest> = parts.iter().filter_map(|p| p.request(job)).collect();
        if requests.len() != parts.len() {
            bug(format_args!("row {} has no read URL", job.entry.row));
            return Vec::new();
        }
        job.reread = Some(Box::new(Reread {
            waiting: parts,
            ..Reread::default()
        }));
        job.stage = Stage::Recheck;
        requests
    }

    /// Takes one answer of a user's re-read: waits for the others, then compares.
    pub(super) fn on_reread(&mut self, index: usize, completed: Completed) -> Taken {
        let holders = self.options.role_holders.clone();
        let Some(job) = self.job_or_bug(index) else {
            return Taken::Ended;
        };
        let Some(reread) = job.reread.as_mut() else {
            bug(format_args!("entry {index} was re-read without a re-read"));
            return Taken::Ended;
        };
        let part = Part::of(&completed.request);
        reread.waiting.retain(|p| *p != part);
        match completed.result {
            JobResult::Done { body, .. } => {
                let body = body.unwrap_or(Value::Null);
                let found = &mut reread.found;
                match part {
                    Part::Account => found.account = Some((account_enabled(&body), synced(&body))),
                    Part::Roles => {
                        let mut roles = admin_roles_in(&body);
                        // The roles the run's listing knows and the user's own read does
                        // not show: eligible, scoped, custom.
                        let listed = holders.as_ref().and_then(|holders| {
                            let id = job.entry.before.as_ref().map(|u| u.id.as_str())?;
                            holders.roles_of(id)
                        });
                        for role in listed.into_iter().flatten() {
                            if !roles.contains(role) {
                                roles.push(role.clone());
                            }
                        }
                        found.roles = Some(roles);
                    }
                    // The two lists arrive in either order; each adds its methods.
                    Part::Methods | Part::HardwareOath => found
                        .methods
                        .get_or_insert_with(Vec::new)
                        .extend(methods_in(&body)),
                }
                if part == Part::Methods {
                    reread.methods_body = Some(body);
                }
            }
            other => {
                reread.failed.get_or_insert((part, other));
            }
        }
        if !reread.waiting.is_empty() {
            job.stage = Stage::Recheck;
            return Taken::Wait;
        }
        let reread = job.reread.take().expect("checked above");
        job.stage = Stage::Idle;
        match reread.failed {
            Some((part, failure)) => self.reread_failed(index, part, failure),
            None => {
                self.breaker.success(READ);
                // Before anything changes: what a restore would need. Not written, the
                // run stops and the user is left as they are.
                if !self.keep_restore_data(index, &reread.found, reread.methods_body.as_ref()) {
                    return Taken::Ended;
                }
                self.compare(index, reread.found)
            }
        }
    }

    /// A re-read that did not succeed: the user is not changed. Given up without an
    /// answer, the user stays unfinished (a resume reads them again).
    fn reread_failed(&mut self, index: usize, part: Part, failure: JobResult) -> Taken {
        self.breaker.failure(index, READ, &failure, None);
        if matches!(failure, JobResult::Abandoned { .. }) {
            return Taken::Ended;
        }
        let (code, message) = failure_text(&failure);
        let gone = part == Part::Account
            && matches!(&failure, JobResult::Failed { fault: Some(f), .. } if f.status == 404);
        let (status, reason) = if gone {
            (
                RunStatus::NotFound,
                "the user no longer exists in the tenant (Graph answered 404 when the run \
                 read them again); nothing was changed for this user in this run"
                    .to_string(),
            )
        } else {
            let earlier = self
                .jobs
                .get(&index)
                .is_some_and(|job| job.done.iter().any(Option::is_some));
            (
                if earlier {
                    RunStatus::Partial
                } else {
                    RunStatus::Failed
                },
                format!(
                    "could not read the user again before changing them ({message}); nothing \
                     was changed for this user in this run"
                ),
            )
        };
        self.finish_user(index, status, Some(reason), code);
        Taken::Ended
    }
}

/// The action a re-read is, for the circuit breaker.
const READ: &str = "read users";
