//! Containment straight from the user list: for an incident (or any run that revokes
//! sessions or disables accounts with containment first), every valid key of the list is
//! revoked — by its id or UPN, in the request's path, with no read of the user first — as
//! soon as it is read, through the same paced `$batch` dispatcher as every write. The plan
//! for the rest (the methods) is made after, from the users as they were.
//!
//! Guardrails, checked before each write without a read of the user:
//! - **admins**: the tenant's role holders, listed once at the start
//!   ([`crate::graph::role_holders`]), by id and UPN ([`Guard::holders`]; `None` with
//!   `--include-admins`);
//! - **exclusions**: the exclude list's users, resolved at the start to their ids and UPNs,
//!   with their keys as given ([`Guard::excluded`]), so that a list naming an excluded user
//!   by another key than the exclude list's still misses them.
//!
//! What needs a read gets one, fifteen users to a request (`engine::read`, reading the
//! account only): a mail key (it cannot go in a path, and may name several users), and
//! every user of a policy that disables accounts — an account synced from on-premises is
//! never disabled (Graph cannot), and an account already disabled is left as it is. An
//! admin or excluded user found by the read is left alone like any other.
//!
//! Every accepted write is logged ([`log`]); a refused one is logged and left to the
//! run's second phase, which reads the user and tries it again. Nothing here is ever a
//! change that cannot be made twice: a resume sends again whatever the log does not hold.

pub mod log;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::dispatcher::{Abandon, Completed, Dispatcher, DispatcherSettings, Job, JobResult};
use super::pacer::Pacer;
use super::read::{Scope, Target, read_stream};
use crate::graph::key::{KeyKind, UserKey};
use crate::graph::request::GraphRequest;
use crate::graph::role_holders::RoleHolders;
use crate::graph::transport::Transport;
use crate::plan::build::ReadOutcome;
use crate::plan::contained::ContainedRows;
use log::{ContainLogError, ContainRecord, ContainmentLog};

/// Targets admitted at once (sent, waiting to be sent, or being read): memory follows this
/// window, not the list.
const WINDOW: usize = 4096;

/// What the containment does to each user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainSteps {
    pub revoke: bool,
    pub disable: bool,
}

/// Who must not be touched, known before the first write.
#[derive(Debug, Default)]
pub struct Guard {
    /// The tenant's role holders; `None` when admins are included.
    pub holders: Option<RoleHolders>,
    /// Lower-cased keys, ids and UPNs of the excluded users.
    pub excluded: HashSet<String>,
}

impl Guard {
    fn excluded(&self, key: &str) -> bool {
        !self.excluded.is_empty() && self.excluded.contains(&key.to_lowercase())
    }

    fn admin(&self, key: &str) -> bool {
        self.holders.as_ref().is_some_and(|h| h.protects(key))
    }

    /// Whether the user known by any of `keys` must be left alone.
    fn spares(&self, keys: &[&str]) -> Option<Spared> {
        if keys.iter().any(|k| self.excluded(k)) {
            Some(Spared::Excluded)
        } else if keys.iter().any(|k| self.admin(k)) {
            Some(Spared::Admin)
        } else {
            None
        }
    }
}

enum Spared {
    Excluded,
    Admin,
}

/// A list row to contain.
#[derive(Debug, Clone)]
pub struct ContainTarget {
    pub row: usize,
    pub key: UserKey,
}

/// How far the containment is, for the display.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContainProgress {
    pub revoked: usize,
    pub disabled: usize,
    /// Writes refused, keys no user has.
    pub refused: usize,
    pub not_found: usize,
    /// Users left alone: admins, excluded.
    pub spared: usize,
}

/// The end of a containment.
#[derive(Debug, Default)]
pub struct Contained {
    pub revoked: usize,
    pub disabled: usize,
    /// Writes Graph refused (but for keys no user has).
    pub refused: usize,
    /// Keys no user has (Graph answered 404).
    pub not_found: usize,
    /// Users left alone because they hold a role, or are excluded.
    pub protected: usize,
    pub excluded: usize,
    /// From the start to the last revocation answered.
    pub last_revocation: Option<Duration>,
    pub elapsed: Duration,
    /// Stopped by `stop` before every row was reached.
    pub interrupted: bool,
    /// Graph refused the credential (`true`) or could not be reached (`false`): stopped.
    pub stopped: Option<(bool, String)>,
}

/// Why a containment could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ContainError {
    #[error(transparent)]
    Log(#[from] ContainLogError),
}

/// A job's handle: the row and which write.
fn handle(row: usize, disable: bool) -> u64 {
    (row as u64) << 1 | u64::from(disable)
}

fn unhandle(user: u64) -> (usize, bool) {
    ((user >> 1) as usize, user & 1 == 1)
}

/// Contains every target that arrives on `targets` until it closes (or `stop` turns
/// true): `rows` holds what was done already (a resumed containment) and what this one
/// does; `log` records each accepted write. `on_progress` sees the counts as they move.
#[allow(clippy::too_many_arguments)]
pub async fn contain<T: Transport + Clone>(
    transport: T,
    pacer: Arc<Pacer>,
    settings: DispatcherSettings,
    steps: ContainSteps,
    guard: &Guard,
    mut targets: mpsc::Receiver<ContainTarget>,
    rows: &mut ContainedRows,
    log: &mut ContainmentLog,
    mut stop: watch::Receiver<bool>,
    mut on_progress: impl FnMut(ContainProgress),
) -> Result<Contained, ContainError> {
    let started = Instant::now();
    let (done_tx, mut done_rx) = mpsc::channel::<Completed>(256);
    let dispatcher = Dispatcher::new(transport.clone(), pacer.clone(), settings.clone(), done_tx);
    let halt = dispatcher.halt_switch();
    let (job_tx, job_rx) = mpsc::channel::<Job>(256);
    let running = tokio::spawn(dispatcher.run(job_rx));

    // Reads of the users a write needs to know first.
    let (read_tx, read_rx) = mpsc::channel::<(Target, ())>(WINDOW);
    let (found_tx, mut found_rx) = mpsc::unbounded_channel::<(usize, ReadOutcome)>();
    let reader = tokio::spawn(read_stream(
        transport,
        pacer,
        settings,
        Scope {
            methods: false,
            roles: false,
        },
        read_rx,
        move |row, (), outcome, _| {
            let _ = found_tx.send((row, outcome));
        },
    ));
    let mut read_tx = Some(read_tx);
    // Mail keys by row, for the read's answer.
    let mut mail_rows: HashSet<usize> = HashSet::new();

    let mut out = Contained::default();
    let mut pending: VecDeque<Job> = VecDeque::new();
    let mut in_flight = 0usize;
    let mut reading = 0usize;
    let mut source_open = true;
    let mut reads_open = true;
    let mut job_tx = Some(job_tx);
    let mut stopping = *stop.borrow();
    let mut progress = ContainProgress::default();
    loop {
        if stopping {
            source_open = false;
            pending.clear();
            read_tx.take();
            halt.halt();
        }
        if !source_open {
            // Nothing more to read once the list is over: the reader finishes what it has.
            read_tx.take();
        }
        if !source_open && pending.is_empty() && in_flight == 0 && reading == 0 {
            break;
        }
        let room = source_open && pending.len() + in_flight + reading < WINDOW;
        let sender = job_tx.as_ref().filter(|_| !pending.is_empty());
        tokio::select! {
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    out.interrupted = true;
                }
            }
            permit = async { sender.expect("guarded").reserve().await }, if sender.is_some() => {
                match permit {
                    Ok(permit) => {
                        in_flight += 1;
                        permit.send(pending.pop_front().expect("guarded"));
                    }
                    Err(_) => break,
                }
            }
            target = targets.recv(), if room => match target {
                None => source_open = false,
                Some(ContainTarget { row, key }) => {
                    let revoke = steps.revoke && !rows.revoked(row);
                    let disable = steps.disable && !rows.disabled(row);
                    if !revoke && !disable {
                        continue;
                    }
                    match guard.spares(&[key.as_str()]) {
                        Some(Spared::Excluded) => { out.excluded += 1; progress.spared += 1; continue; }
                        Some(Spared::Admin) => { out.protected += 1; progress.spared += 1; continue; }
                        None => {}
                    }
                    let by_path = key.kind() != KeyKind::Mail;
                    if revoke && by_path
                        && let Some(request) = GraphRequest::revoke_sessions(&key)
                    {
                        pending.push_back(Job { user: handle(row, false), request });
                    }
                    if disable || (revoke && !by_path) {
                        if !by_path {
                            mail_rows.insert(row);
                        }
                        if let Some(tx) = &read_tx
                            && tx.try_send((Target { row, key }, ())).is_ok()
                        {
                            reading += 1;
                        }
                    }
                }
            },
            found = found_rx.recv(), if reads_open => match found {
                None => reads_open = false,
                Some((row, outcome)) => {
                    reading = reading.saturating_sub(1);
                    let by_mail = mail_rows.remove(&row);
                    let ReadOutcome::Found(user) = outcome else { continue };
                    if stopping {
                        continue;
                    }
                    match guard.spares(&[&user.id, &user.user_principal_name]) {
                        Some(Spared::Excluded) => { out.excluded += 1; progress.spared += 1; continue; }
                        Some(Spared::Admin) => { out.protected += 1; progress.spared += 1; continue; }
                        None => {}
                    }
                    let Ok(id) = UserKey::id(&user.id) else { continue };
                    if by_mail && steps.revoke && !rows.revoked(row)
                        && let Some(request) = GraphRequest::revoke_sessions(&id)
                    {
                        pending.push_back(Job { user: handle(row, false), request });
                    }
                    if steps.disable && !rows.disabled(row) && user.account_enabled && !user.synced
                        && let Some(request) = GraphRequest::set_account_enabled(&id, false)
                    {
                        pending.push_back(Job { user: handle(row, true), request });
                    }
                }
            },
            completed = done_rx.recv() => {
                let Some(completed) = completed else { break };
                in_flight = in_flight.saturating_sub(1);
                let (row, disable) = unhandle(completed.user);
                match &completed.result {
                    JobResult::Done { .. } | JobResult::AlreadyDone => {
                        let request_id = completed.request_id.clone();
                        if disable {
                            rows.set_disabled(row);
                            out.disabled += 1;
                            progress.disabled += 1;
                            log.push(&ContainRecord::Disabled { row, request_id });
                        } else {
                            rows.set_revoked(row);
                            out.revoked += 1;
                            progress.revoked += 1;
                            out.last_revocation = Some(started.elapsed());
                            log.push(&ContainRecord::Revoked { row, request_id });
                        }
                    }
                    JobResult::Abandoned { cause: Abandon::Halted, .. } => {}
                    JobResult::Abandoned { cause, last_error } => {
                        if out.stopped.is_none() {
                            out.stopped = Some((*cause == Abandon::Unauthorized, last_error.clone()));
                        }
                        stopping = true;
                    }
                    JobResult::Failed { fault: Some(fault), .. } if fault.status == 404 => {
                        out.not_found += 1;
                        progress.not_found += 1;
                        log.push(&ContainRecord::NotFound { row });
                    }
                    JobResult::Failed { error, .. } | JobResult::Unknown { last_error: error } => {
                        out.refused += 1;
                        progress.refused += 1;
                        log.push(&ContainRecord::Refused {
                            row,
                            step: if disable { "disable-account" } else { "revoke-sessions" }.into(),
                            error: error.clone(),
                        });
                    }
                }
                on_progress(progress);
                // One fsync for what a batch's answers brought, not one a user.
                if done_rx.is_empty() {
                    log.sync()?;
                }
            }
        }
    }
    job_tx.take();
    drop(read_tx);
    drop(done_rx);
    let _ = running.await;
    let _ = reader.await;
    log.sync()?;
    out.elapsed = started.elapsed();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_keeps_the_row_and_the_write() {
        for row in [0usize, 1, 7, 1_000_000] {
            for disable in [false, true] {
                assert_eq!(unhandle(handle(row, disable)), (row, disable));
            }
        }
    }
}
