//! Reading the tenant for a plan: for every target user, resolve the key to the user
//! (id, UPN, `accountEnabled`, sync state), then list what the policy needs of them
//! ([`Scope`]): their authentication methods, hardware OATH tokens and default method
//! when it removes methods, their directory roles when admins are protected — many users
//! at once, through the paced dispatcher. What is not read is recorded in the snapshot
//! ([`UserSnapshot::methods_unread`], [`UserSnapshot::roles_unread`]), so that nothing
//! downstream takes "not read" for "none".
//!
//! Keys are resolved in groups: up to [`MAX_KEYS_IN_FILTER`] ids (or UPNs) in one
//! `GET /users?$filter=id in (...)` ([`GraphRequest::find_users`]); a key Graph does not
//! return is not found, and the others of its request stand. A group Graph refuses (400)
//! is resolved again one `GET /users/{key}` a key, so one odd key never fails the rest.
//! A mail key keeps its own `$filter` (it may match several users). A group is sent once
//! full, or when no more users are coming (the list is over, or the window is full).
//!
//! Each user is a small state machine: resolve, then the reads at once (two round trips
//! a user at most). The dispatcher never puts two requests of one user in a batch, so
//! the reads go out in different batches of the same flight. Every target ends with
//! exactly one [`ReadOutcome`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::engine::dispatcher::{
    Abandon, Completed, Counters, Dispatcher, DispatcherSettings, Job, JobResult,
};
use crate::engine::pacer::Pacer;
use crate::graph::key::{KeyKind, UserKey};
use crate::graph::request::{GraphRequest, MAX_KEYS_IN_FILTER};
use crate::graph::transport::Transport;
use crate::plan::build::ReadOutcome;
use crate::policy::permissions;
use crate::policy::{DefaultMethod, MethodSnapshot, Policy, UserSnapshot};
use crate::wire::{MethodType, PhoneType};

/// A user to read: the input row it came from and its validated key.
#[derive(Debug, Clone)]
pub struct Target {
    pub row: usize,
    pub key: UserKey,
}

/// What a plan reads of each user besides the account: only what its policy decides with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    /// The methods, hardware OATH tokens and default method: the policy removes methods.
    pub methods: bool,
    /// The directory roles: admins are protected (no `--include-admins`).
    pub roles: bool,
}

impl Scope {
    /// Everything (what every plan read before the scope existed).
    pub const EVERYTHING: Scope = Scope {
        methods: true,
        roles: true,
    };

    /// What `policy` needs read ([`Policy::reads_methods`], [`Policy::reads_roles`]).
    pub fn of(policy: &Policy) -> Scope {
        Scope {
            methods: policy.reads_methods(),
            roles: policy.reads_roles(),
        }
    }

    /// The reads of a resolved user, in [`Part::ALL`]'s order.
    fn parts(self) -> Vec<Part> {
        Part::ALL
            .into_iter()
            .filter(|p| match p {
                Part::Roles => self.roles,
                Part::Methods | Part::HardwareOath | Part::Preferences => self.methods,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Finding the user from the key.
    Resolve,
    /// The user's methods, roles and default method (those of the [`Scope`]), asked for
    /// at once.
    Details,
}

/// One of the reads of a resolved user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Methods,
    /// Beta: hardware OATH tokens, which v1.0's list of methods does not show.
    HardwareOath,
    Roles,
    Preferences,
}

impl Part {
    const ALL: [Part; 4] = [
        Part::Methods,
        Part::HardwareOath,
        Part::Roles,
        Part::Preferences,
    ];

    fn request(self, key: &UserKey) -> GraphRequest {
        match self {
            Part::Methods => GraphRequest::list_methods(key),
            Part::HardwareOath => GraphRequest::list_hardware_oath_methods(key),
            Part::Roles => GraphRequest::directory_roles(key),
            Part::Preferences => GraphRequest::sign_in_preferences(key),
        }
        .expect("an id key has a path")
    }

    /// Which of the three reads `request` is (its answer comes back on the user's row, so
    /// the path's end tells them apart; nothing is built to compare).
    fn of(request: &GraphRequest) -> Option<Part> {
        let path = request.url.split('?').next().unwrap_or_default();
        if path.ends_with("/authentication/methods") {
            Some(Part::Methods)
        } else if path.ends_with("/authentication/hardwareOathMethods") {
            Some(Part::HardwareOath)
        } else if path.ends_with("/transitiveMemberOf/microsoft.graph.directoryRole") {
            Some(Part::Roles)
        } else if path.ends_with("/authentication/signInPreferences") {
            Some(Part::Preferences)
        } else {
            None
        }
    }
}

struct Reading {
    key: UserKey,
    stage: Stage,
    user: Option<UserSnapshot>,
    /// Reads of [`Stage::Details`] not answered yet.
    waiting: Vec<Part>,
    /// Requests handed to the dispatcher and not answered yet.
    in_flight: u16,
    /// Users (lower-cased ids and UPNs) whose account alone is read: excluded users,
    /// read only to know them by every key.
    spared: Option<Arc<HashSet<String>>>,
}

/// Why the reads stopped before every user was read: Graph refused the credential, or
/// could not be reached for longer than the dispatcher's bound. Every user not read by
/// then is an error; the plan made of them is not worth writing.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the plan stopped: {message}")]
pub struct ReadsStopped {
    /// The credential was refused (rather than Graph out of reach).
    pub credentials: bool,
    pub message: String,
}

/// Reads every target that arrives on `targets` until it closes, handing each one's
/// outcome to `on_outcome` with the payload that came with it, as users finish (not in
/// row order). Reads of each user only what `scope` asks for. Only a window of users is
/// read at once, so memory follows the window, not the list: a million users are read
/// with the memory of a few thousand.
///
/// When Graph refuses the credential or stays out of reach, the reads stop at once
/// ([`ReadsStopped`]): the users not read yet end as errors without a request.
pub async fn read_stream<T: Transport, P>(
    transport: T,
    pacer: Arc<Pacer>,
    settings: DispatcherSettings,
    scope: Scope,
    targets: mpsc::Receiver<(Target, P)>,
    on_outcome: impl FnMut(usize, P, ReadOutcome, &Counters),
) -> Option<ReadsStopped> {
    read_stream_sparing(transport, pacer, settings, scope, None, targets, on_outcome).await
}

/// [`read_stream`], reading only the account of the users `spared` names (lower-cased
/// ids and UPNs: the excluded users), whatever the scope: their snapshot says their
/// methods and roles were not read.
pub async fn read_stream_sparing<T: Transport, P>(
    transport: T,
    pacer: Arc<Pacer>,
    settings: DispatcherSettings,
    scope: Scope,
    spared: Option<Arc<HashSet<String>>>,
    mut targets: mpsc::Receiver<(Target, P)>,
    mut on_outcome: impl FnMut(usize, P, ReadOutcome, &Counters),
) -> Option<ReadsStopped> {
    let (done_tx, mut done_rx) = mpsc::channel::<Completed>(256);
    let max_in_flight = settings.max_in_flight;
    let dispatcher = Dispatcher::new(transport, pacer, settings, done_tx);
    let counters = dispatcher.counters();
    let halt = dispatcher.halt_switch();
    let (job_tx, job_rx) = mpsc::channel::<Job>(256);
    let running = tokio::spawn(dispatcher.run(job_rx));
    let mut stopped: Option<ReadsStopped> = None;

    // Enough users at once to keep every batch in flight full while finished users make
    // room.
    let window = read_window(max_in_flight);
    let mut readings: HashMap<u64, (Reading, P)> = HashMap::with_capacity(window);
    let mut groups = Groups::default();
    let mut to_send = Queue::new();
    let mut source_open = true;
    let mut job_tx = Some(job_tx);
    loop {
        if let Some(stop) = &stopped {
            // Not sent: the users waiting and those still to come end unread.
            to_send.clear();
            groups.forget_unsent();
            let mut end =
                |row: usize, payload: P| on_outcome(row, payload, not_read(stop), &counters);
            end_unsent(&mut readings, &mut targets, &mut end);
        }
        while source_open && readings.len() < window {
            match targets.try_recv() {
                Ok(target) => admit(&mut readings, &mut groups, &mut to_send, &spared, target),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => source_open = false,
            }
        }
        // No more users are coming for now: the groups not yet full go as they are.
        if stopped.is_none() && (!source_open || readings.len() >= window) {
            groups.flush(&readings, &mut to_send);
        }
        if !source_open && readings.is_empty() {
            break;
        }
        let sender = job_tx.as_ref().filter(|_| !to_send.is_empty());
        let room = source_open && readings.len() < window;
        tokio::select! {
            permit = async { sender.expect("guarded").reserve().await }, if sender.is_some() => {
                match permit {
                    Ok(permit) => {
                        let job = to_send.pop_front().expect("guarded");
                        for row in groups.rows_of(job.user) {
                            if let Some((reading, _)) = readings.get_mut(&row) {
                                reading.in_flight += 1;
                            }
                        }
                        permit.send(job);
                    }
                    Err(_) => break,
                }
            }
            target = targets.recv(), if room => match target {
                Some(target) => admit(&mut readings, &mut groups, &mut to_send, &spared, target),
                None => source_open = false,
            },
            completed = done_rx.recv() => {
                let Some(completed) = completed else { break };
                if let JobResult::Abandoned { cause, last_error } = &completed.result
                    && *cause != Abandon::Halted
                    && stopped.is_none()
                {
                    halt.halt();
                    stopped = Some(ReadsStopped {
                        credentials: *cause == Abandon::Unauthorized,
                        message: last_error.clone(),
                    });
                }
                // A group's answer is every one of its users' answer.
                let (rows, answer, mut single) = match groups.take(completed.user) {
                    Some(rows) => (rows, Some(GroupAnswer::of(completed)), None),
                    None => (vec![completed.user], None, Some(completed)),
                };
                for row in rows {
                    let Some((reading, _)) = readings.get_mut(&row) else { continue };
                    reading.in_flight = reading.in_flight.saturating_sub(1);
                    if let Some(stop) = &stopped {
                        if reading.in_flight == 0
                            && let Some((_, payload)) = readings.remove(&row)
                        {
                            on_outcome(row as usize, payload, not_read(stop), &counters);
                        }
                        continue;
                    }
                    let next = match (&answer, single.take()) {
                        (Some(answer), _) => answer.for_user(reading, scope),
                        (None, Some(completed)) => advance(reading, completed, scope),
                        (None, None) => continue,
                    };
                    match next {
                        Next::Send(requests) => to_send
                            .extend(requests.into_iter().map(|request| Job { user: row, request })),
                        Next::Wait => {}
                        Next::Finished(outcome) => {
                            if let Some((_, payload)) = readings.remove(&row) {
                                on_outcome(row as usize, payload, outcome, &counters);
                            }
                        }
                    }
                }
            }
        }
    }
    // Every user has finished: let the dispatcher drain and stop.
    job_tx.take();
    drop(done_rx);
    let _ = running.await;
    stopped
}

/// Marks the dispatcher's user of a group request apart from every row.
const GROUP: u64 = 1 << 63;

/// Keys waiting to be resolved together, and the group requests handed out.
#[derive(Default)]
struct Groups {
    /// Rows whose key is an id, then rows whose key is a UPN, not yet in a request.
    pending: [Vec<u64>; 2],
    /// The rows of each group request not answered yet, by its dispatcher user.
    sent: HashMap<u64, Vec<u64>>,
    next: u64,
}

impl Groups {
    /// Which pending list a key goes to: `None` for a key resolved on its own (a mail
    /// address; a value longer than Graph takes in a filter, which no UPN is).
    fn slot(key: &UserKey) -> Option<usize> {
        if key.as_str().chars().count() > MAX_FILTER_VALUE_CHARS {
            return None;
        }
        match key.kind() {
            KeyKind::Id => Some(0),
            KeyKind::Upn => Some(1),
            KeyKind::Mail => None,
        }
    }

    /// Sends every pending key: in one group request each (one key alone: its own GET).
    fn flush<P>(&mut self, readings: &HashMap<u64, (Reading, P)>, to_send: &mut Queue) {
        for slot in 0..self.pending.len() {
            self.send(slot, readings, to_send);
        }
    }

    /// Sends the pending keys of `slot` (at most [`MAX_KEYS_IN_FILTER`]).
    fn send<P>(&mut self, slot: usize, readings: &HashMap<u64, (Reading, P)>, to_send: &mut Queue) {
        let rows: Vec<u64> = std::mem::take(&mut self.pending[slot])
            .into_iter()
            .filter(|row| readings.contains_key(row))
            .collect();
        let keys: Vec<&UserKey> = rows.iter().map(|row| &readings[row].0.key).collect();
        match keys.as_slice() {
            [] => {}
            [one] => to_send.push_back(Job {
                user: rows[0],
                request: GraphRequest::get_user(one),
            }),
            many => {
                let user = GROUP | self.next;
                self.next += 1;
                to_send.push_back(Job {
                    user,
                    request: GraphRequest::find_users(many),
                });
                self.sent.insert(user, rows);
            }
        }
    }

    /// The rows a request of dispatcher user `user` is for: a group's, or the one row.
    fn rows_of(&self, user: u64) -> Vec<u64> {
        match self.sent.get(&user) {
            Some(rows) => rows.clone(),
            None => vec![user],
        }
    }

    /// The rows of the group request of dispatcher user `user`, now answered; `None` if
    /// `user` is a row.
    fn take(&mut self, user: u64) -> Option<Vec<u64>> {
        if user & GROUP == 0 {
            return None;
        }
        self.sent.remove(&user)
    }

    /// The reads stopped: the keys not sent are dropped (their users end unread). Group
    /// requests already in flight still get their answers.
    fn forget_unsent(&mut self) {
        for pending in &mut self.pending {
            pending.clear();
        }
    }
}

/// Jobs waiting for the dispatcher.
type Queue = std::collections::VecDeque<Job>;

/// The longest key put into a group's `$filter`: Graph takes at most 120 characters in
/// an `eq` value (graph-api.md §7); Entra's UPNs are at most 113.
const MAX_FILTER_VALUE_CHARS: usize = 120;

/// Graph's answer to a group request, for each of its users.
enum GroupAnswer {
    /// The users Graph found, by their key as matched (id or UPN, lower-cased).
    Found(HashMap<String, Value>),
    /// Graph refused the filter itself: each key is resolved on its own.
    Alone,
    /// The request failed: every user of the group ends with this.
    Failed(ReadOutcome),
}

impl GroupAnswer {
    fn of(completed: Completed) -> GroupAnswer {
        match completed.result {
            JobResult::Done { body, .. } => {
                let users = body
                    .as_ref()
                    .and_then(|b| b.get("value"))
                    .and_then(Value::as_array)
                    .map(|list| list.as_slice())
                    .unwrap_or_default();
                let by_key = users
                    .iter()
                    .flat_map(|u| {
                        ["id", "userPrincipalName"]
                            .into_iter()
                            .filter_map(move |name| {
                                let value = u.get(name).and_then(Value::as_str)?;
                                Some((match_key(value), u.clone()))
                            })
                    })
                    .collect();
                GroupAnswer::Found(by_key)
            }
            JobResult::Failed { fault: Some(f), .. } if f.status == 400 => GroupAnswer::Alone,
            JobResult::Failed {
                fault: Some(f),
                error,
            } if f.status == 403 => GroupAnswer::Failed(ReadOutcome::Error(format!(
                "{error} — {}",
                permissions::denied_hint(permissions::USER_READ_ALL)
            ))),
            JobResult::Failed { error, .. }
            | JobResult::Abandoned {
                last_error: error, ..
            } => GroupAnswer::Failed(ReadOutcome::Error(error)),
            JobResult::AlreadyDone | JobResult::Unknown { .. } => GroupAnswer::Failed(
                ReadOutcome::Error("a read came back as a write's outcome".into()),
            ),
        }
    }

    /// What becomes of one user of the group.
    fn for_user(&self, reading: &mut Reading, scope: Scope) -> Next {
        match self {
            GroupAnswer::Found(by_key) => match by_key.get(&match_key(reading.key.as_str())) {
                Some(user) => resolved(reading, user.clone(), scope),
                // As a 404 to `GET /users/{key}` says.
                None => Next::Finished(ReadOutcome::NotFound),
            },
            GroupAnswer::Alone => Next::Send(vec![GraphRequest::get_user(&reading.key)]),
            GroupAnswer::Failed(outcome) => Next::Finished(outcome.clone()),
        }
    }
}

/// A key or a property as a group's answer is matched: Graph matches ids and UPNs
/// without regard to case.
fn match_key(value: &str) -> String {
    value.to_lowercase()
}

/// Takes a target in: its reading, and its key in a group (or the request that resolves
/// it on its own). A full group is sent at once.
fn admit<P>(
    readings: &mut HashMap<u64, (Reading, P)>,
    groups: &mut Groups,
    to_send: &mut Queue,
    spared: &Option<Arc<HashSet<String>>>,
    (t, payload): (Target, P),
) {
    let row = t.row as u64;
    let slot = Groups::slot(&t.key);
    if slot.is_none() {
        to_send.push_back(Job {
            user: row,
            request: GraphRequest::get_user(&t.key),
        });
    }
    let reading = Reading {
        key: t.key,
        stage: Stage::Resolve,
        user: None,
        waiting: Vec::new(),
        in_flight: 0,
        spared: spared.clone(),
    };
    readings.insert(row, (reading, payload));
    if let Some(slot) = slot {
        groups.pending[slot].push(row);
        if groups.pending[slot].len() >= MAX_KEYS_IN_FILTER {
            groups.send(slot, readings, to_send);
        }
    }
}

/// Ends, through `end`, the users of `readings` with nothing on its way and every target
/// waiting in `targets`: the reads stopped before them.
fn end_unsent<P>(
    readings: &mut HashMap<u64, (Reading, P)>,
    targets: &mut mpsc::Receiver<(Target, P)>,
    end: &mut impl FnMut(usize, P),
) {
    let waiting: Vec<u64> = readings
        .iter()
        .filter(|(_, (r, _))| r.in_flight == 0)
        .map(|(row, _)| *row)
        .collect();
    for row in waiting {
        if let Some((_, payload)) = readings.remove(&row) {
            end(row as usize, payload);
        }
    }
    while let Ok((t, payload)) = targets.try_recv() {
        end(t.row, payload);
    }
}

/// The outcome of a user the reads stopped before.
fn not_read(stop: &ReadsStopped) -> ReadOutcome {
    ReadOutcome::Error(format!("not read: {stop}"))
}

/// Users read at once for `max_in_flight` batches: eight batches' worth per batch in
/// flight, at least 2,048.
fn read_window(max_in_flight: usize) -> usize {
    (max_in_flight * 20 * 8).max(2048)
}

enum Next {
    /// Send these (the three reads of a resolved user go out at once).
    Send(Vec<GraphRequest>),
    /// Wait for the user's other reads.
    Wait,
    Finished(ReadOutcome),
}

fn advance(reading: &mut Reading, completed: Completed, scope: Scope) -> Next {
    let part = match reading.stage {
        Stage::Resolve => None,
        Stage::Details => match Part::of(&completed.request) {
            Some(part) if reading.waiting.contains(&part) => Some(part),
            // An answer this reading did not ask for (or got already): not ours.
            _ => return Next::Wait,
        },
    };
    let body = match completed.result {
        JobResult::Done { body, .. } => body.unwrap_or(Value::Null),
        JobResult::Failed { fault: Some(f), .. }
            if f.status == 404 && reading.stage == Stage::Resolve =>
        {
            return Next::Finished(ReadOutcome::NotFound);
        }
        // Hardware OATH tokens are a beta route Graph offers only in its global cloud: where
        // it has none, the user's other methods still stand, and the snapshot says the
        // tokens were not read (the plan notes it where the policy removes them).
        JobResult::Failed { fault: Some(f), .. }
            if part == Some(Part::HardwareOath) && matches!(f.status, 400 | 404 | 405 | 501) =>
        {
            reading.waiting.retain(|p| *p != Part::HardwareOath);
            let user = reading.user.as_mut().expect("resolved first");
            user.hardware_oath_unread = true;
            if !reading.waiting.is_empty() {
                return Next::Wait;
            }
            return Next::Finished(ReadOutcome::Found(
                reading.user.take().expect("resolved first"),
            ));
        }
        JobResult::Failed {
            fault: Some(f),
            error,
        } if f.status == 403 => {
            // Methods are read only for a policy that removes some, which needs the
            // read-write permission (`permissions::for_policy`): that is the one to grant.
            let needed = match part {
                None | Some(Part::Roles) => permissions::USER_READ_ALL,
                Some(Part::Methods | Part::HardwareOath | Part::Preferences) => {
                    permissions::METHODS_READ_WRITE_ALL
                }
            };
            return Next::Finished(ReadOutcome::Error(format!(
                "{error} — {}",
                permissions::denied_hint(needed)
            )));
        }
        JobResult::Failed { error, .. }
        | JobResult::Abandoned {
            last_error: error, ..
        } => {
            return Next::Finished(ReadOutcome::Error(error));
        }
        JobResult::AlreadyDone | JobResult::Unknown { .. } => {
            return Next::Finished(ReadOutcome::Error(
                "a read came back as a write's outcome".into(),
            ));
        }
    };
    let Some(part) = part else {
        return resolved(reading, body, scope);
    };
    reading.waiting.retain(|p| *p != part);
    let user = reading.user.as_mut().expect("resolved first");
    match part {
        // The two lists arrive in either order; each adds its methods.
        Part::Methods | Part::HardwareOath => user.methods.extend(methods_in(&body)),
        Part::Roles => user.admin_roles = admin_roles_in(&body),
        Part::Preferences => {
            user.default_method = body
                .get("userPreferredMethodForSecondaryAuthentication")
                .and_then(Value::as_str)
                .and_then(DefaultMethod::from_graph);
        }
    }
    if !reading.waiting.is_empty() {
        return Next::Wait;
    }
    Next::Finished(ReadOutcome::Found(
        reading.user.take().expect("resolved first"),
    ))
}

/// The user found from the key: then what `scope` reads of them, at once (found at once
/// when it reads nothing more).
fn resolved(reading: &mut Reading, body: Value, scope: Scope) -> Next {
    // A mail key was looked up with a filter: exactly one user must match.
    let user = match body.get("value").and_then(Value::as_array) {
        Some(list) => match list.as_slice() {
            [one] => one.clone(),
            [] => return Next::Finished(ReadOutcome::NotFound),
            many => {
                return Next::Finished(ReadOutcome::Ambiguous(format!(
                    "{} users have the mail address {}",
                    many.len(),
                    reading.key
                )));
            }
        },
        None => body,
    };
    let text = |name: &str| user.get(name).and_then(Value::as_str).map(str::to_string);
    let (Some(id), Some(upn)) = (text("id"), text("userPrincipalName")) else {
        return Next::Finished(ReadOutcome::Error(
            "Graph's answer about the user had no id or userPrincipalName".into(),
        ));
    };
    let Ok(by_id) = UserKey::id(&id) else {
        return Next::Finished(ReadOutcome::Error(format!(
            "Graph gave the user an id that is not a GUID: {id:?}"
        )));
    };
    reading.user = Some(UserSnapshot {
        id,
        user_principal_name: upn,
        account_enabled: account_enabled(&user),
        synced: synced(&user),
        admin_roles: Vec::new(),
        management_restricted: management_restricted(&user),
        restricted_units: Vec::new(),
        default_method: None,
        methods: Vec::new(),
        hardware_oath_unread: false,
        methods_unread: !scope.methods,
        roles_unread: !scope.roles,
    });
    reading.key = by_id;
    reading.stage = Stage::Details;
    let user = reading.user.as_mut().expect("resolved just now");
    if let Some(spared) = &reading.spared
        && [&user.id, &user.user_principal_name]
            .iter()
            .any(|k| spared.contains(&k.to_lowercase()))
    {
        user.methods_unread = true;
        user.roles_unread = true;
        return Next::Finished(ReadOutcome::Found(
            reading.user.take().expect("resolved just now"),
        ));
    }
    reading.waiting = scope.parts();
    if reading.waiting.is_empty() {
        return Next::Finished(ReadOutcome::Found(
            reading.user.take().expect("resolved just now"),
        ));
    }
    Next::Send(
        reading
            .waiting
            .iter()
            .map(|p| p.request(&reading.key))
            .collect(),
    )
}

/// The methods in Graph's answer to a list of a user's methods.
pub(crate) fn methods_in(body: &Value) -> Vec<MethodSnapshot> {
    body.get("value")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(method_snapshot).collect())
        .unwrap_or_default()
}

/// A directory role Graph listed without its name, as the plan names it: a phrase of
/// its own, which reads after "holds an admin role: " (see
/// [`crate::policy::admin_roles_words`]).
pub const UNREADABLE_ROLE: &str =
    "a directory role whose name is not readable (grant RoleManagement.Read.Directory)";

/// The directory roles in Graph's answer to `transitiveMemberOf/microsoft.graph.directoryRole`.
pub(crate) fn admin_roles_in(body: &Value) -> Vec<String> {
    body.get("value")
        .and_then(Value::as_array)
        .map(|list| {
            // Every entry is a directory role (the URL casts to it). Without a permission
            // to read roles Graph may return one without its name: it still makes the user
            // an administrator, protected unless --include-admins.
            list.iter()
                .map(|r| match r.get("displayName").and_then(Value::as_str) {
                    Some(name) => name.to_string(),
                    None => UNREADABLE_ROLE.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether Graph's user object says the account is enabled (enabled when it does not say).
pub(crate) fn account_enabled(user: &Value) -> bool {
    user.get("accountEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// Whether Graph's user object says the user is in a restricted management
/// administrative unit (`isManagementRestricted`).
pub(crate) fn management_restricted(user: &Value) -> bool {
    user.get("isManagementRestricted").and_then(Value::as_bool) == Some(true)
}

/// Whether Graph's user object says the account is synced from on-premises AD.
pub(crate) fn synced(user: &Value) -> bool {
    user.get("onPremisesSyncEnabled").and_then(Value::as_bool) == Some(true)
}

/// One method from Graph's list, or `None` for an entry without an id. A method of a type
/// this tool does not know is kept as [`MethodType::Unknown`] with its `@odata.type`: it is
/// never removed, but the plan and the reports show it (and a policy that removes every
/// method cannot call its user clean).
pub(crate) fn method_snapshot(m: &Value) -> Option<MethodSnapshot> {
    let odata_type = m.get("@odata.type").and_then(Value::as_str);
    let kind = odata_type
        .and_then(MethodType::from_odata_type)
        .unwrap_or(MethodType::Unknown);
    let text = |name: &str| m.get(name).and_then(Value::as_str).map(str::to_string);
    Some(MethodSnapshot {
        id: text("id")?,
        kind,
        display_name: text("displayName"),
        created: text("createdDateTime").or_else(|| text("creationDateTime")),
        phone_type: text("phoneType").as_deref().and_then(PhoneType::parse),
        odata_type: (kind == MethodType::Unknown)
            .then(|| odata_type.unwrap_or_default().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(reading: &mut Reading, request: GraphRequest, body: Value) -> Next {
        answer_in(reading, request, body, Scope::EVERYTHING)
    }

    fn answer_in(reading: &mut Reading, request: GraphRequest, body: Value, scope: Scope) -> Next {
        advance(
            reading,
            Completed {
                user: 0,
                request,
                result: JobResult::Done {
                    status: 200,
                    body: Some(body),
                },
                attempts: 1,
                client_request_id: String::new(),
                request_id: None,
            },
            scope,
        )
    }

    const ID: &str = "3342c5af-74d0-4868-bd6e-d5dc7e482577";

    fn resolved_reading(key: &UserKey) -> (Reading, Vec<GraphRequest>) {
        let mut reading = Reading {
            key: key.clone(),
            stage: Stage::Resolve,
            user: None,
            waiting: Vec::new(),
            in_flight: 0,
            spared: None,
        };
        let user = serde_json::json!({"id": ID, "userPrincipalName": "a@contoso.example"});
        let Next::Send(requests) = answer(&mut reading, GraphRequest::get_user(key), user) else {
            panic!("no reads after the resolve");
        };
        (reading, requests)
    }

    #[test]
    fn a_resolved_user_is_read_four_ways_at_once_and_found_when_all_four_answer() {
        let key = UserKey::parse("a@contoso.example").unwrap();
        let (mut reading, requests) = resolved_reading(&key);
        let by_id = UserKey::id(ID).unwrap();
        let parts: Vec<Part> = requests
            .iter()
            .map(|r| Part::of(r).expect("one of the four reads"))
            .collect();
        assert_eq!(parts, Part::ALL);
        // Answers in any order; the user is found when the last one comes.
        let preferences =
            serde_json::json!({"userPreferredMethodForSecondaryAuthentication": "push"});
        let methods = serde_json::json!({"value": [{
            "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
            "id": "3179e48a-750b-4051-897c-87b9720928f7",
            "phoneType": "mobile"
        }, {
            "@odata.type": "#microsoft.graph.futureWidgetAuthenticationMethod",
            "id": "w-1"
        }]});
        let hardware = serde_json::json!({"value": [{
            "@odata.type": "#microsoft.graph.hardwareOathAuthenticationMethod",
            "id": "h-1",
            "displayName": "Token 7"
        }]});
        let req = |p: Part| p.request(&by_id);
        assert!(matches!(
            answer(&mut reading, req(Part::Preferences), preferences),
            Next::Wait
        ));
        assert!(matches!(
            answer(&mut reading, req(Part::HardwareOath), hardware),
            Next::Wait
        ));
        assert!(matches!(
            answer(&mut reading, req(Part::Methods), methods.clone()),
            Next::Wait
        ));
        // An answer it did not wait for (the same read twice) changes nothing.
        assert!(matches!(
            answer(
                &mut reading,
                req(Part::Methods),
                serde_json::json!({"value": []})
            ),
            Next::Wait
        ));
        let roles = serde_json::json!({"value": []});
        let Next::Finished(ReadOutcome::Found(found)) =
            answer(&mut reading, req(Part::Roles), roles)
        else {
            panic!("not found after the four reads");
        };
        assert_eq!(found.id, ID);
        // In the order the answers came: the hardware tokens first here.
        let labels: Vec<String> = found.methods.iter().map(|m| m.label()).collect();
        assert_eq!(
            labels,
            [
                "hardware OATH token \"Token 7\"",
                "mobile phone",
                // A type this tool does not know is kept, named by its @odata.type.
                "unknown (#microsoft.graph.futureWidgetAuthenticationMethod)",
            ]
        );
        assert!(found.admin_roles.is_empty());
        assert!(found.default_method.is_some());
        assert!(!found.hardware_oath_unread);
    }

    #[test]
    fn no_route_for_hardware_tokens_leaves_the_other_methods_and_says_so() {
        let key = UserKey::parse("a@contoso.example").unwrap();
        let (mut reading, _) = resolved_reading(&key);
        let by_id = UserKey::id(ID).unwrap();
        let req = |p: Part| p.request(&by_id);
        for part in [Part::Methods, Part::Roles, Part::Preferences] {
            let body = if part == Part::Preferences {
                serde_json::json!({})
            } else {
                serde_json::json!({"value": []})
            };
            assert!(matches!(answer(&mut reading, req(part), body), Next::Wait));
        }
        let refused = Completed {
            user: 0,
            request: req(Part::HardwareOath),
            result: JobResult::Failed {
                fault: Some(crate::graph::batch::GraphFault {
                    status: 400,
                    code: "BadRequest".into(),
                    message: "Resource not found for the segment 'hardwareOathMethods'.".into(),
                }),
                error: "400 BadRequest".into(),
            },
            attempts: 1,
            client_request_id: String::new(),
            request_id: None,
        };
        let Next::Finished(ReadOutcome::Found(found)) =
            advance(&mut reading, refused, Scope::EVERYTHING)
        else {
            panic!("a missing beta route must not lose the user");
        };
        assert!(found.hardware_oath_unread);
    }

    fn completed(result: JobResult) -> Completed {
        Completed {
            user: GROUP,
            request: GraphRequest::get_user(&UserKey::id(ID).unwrap()),
            result,
            attempts: 1,
            client_request_id: String::new(),
            request_id: None,
        }
    }

    fn waiting(key: &str) -> Reading {
        Reading {
            key: UserKey::parse(key).unwrap(),
            stage: Stage::Resolve,
            user: None,
            waiting: Vec::new(),
            in_flight: 1,
            spared: None,
        }
    }

    #[test]
    fn a_group_finds_each_key_without_regard_to_case_and_a_missing_key_is_not_found() {
        let answer = GroupAnswer::of(completed(JobResult::Done {
            status: 200,
            body: Some(serde_json::json!({"value": [
                {"id": ID, "userPrincipalName": "Bob.O'Neil@Contoso.example", "accountEnabled": false}
            ]})),
        }));
        // Only what the scope asks for is read, and what is not is recorded.
        let scope = Scope {
            methods: false,
            roles: true,
        };
        let mut bob = waiting("bob.o'neil@contoso.example");
        let Next::Send(requests) = answer.for_user(&mut bob, scope) else {
            panic!("bob is found");
        };
        let parts: Vec<Part> = requests.iter().filter_map(Part::of).collect();
        assert_eq!(parts, [Part::Roles]);
        let user = bob.user.as_ref().unwrap();
        assert!(user.methods_unread && !user.roles_unread && !user.account_enabled);
        let mut by_id = waiting(&ID.to_uppercase());
        assert!(matches!(
            answer.for_user(&mut by_id, Scope { methods: false, roles: false }),
            Next::Finished(ReadOutcome::Found(u)) if u.id == ID && u.roles_unread
        ));
        let mut missing = waiting("nobody@contoso.example");
        assert!(matches!(
            answer.for_user(&mut missing, scope),
            Next::Finished(ReadOutcome::NotFound)
        ));
    }

    #[test]
    fn a_group_graph_refuses_is_resolved_one_key_at_a_time() {
        let refused = GroupAnswer::of(completed(JobResult::Failed {
            fault: Some(crate::graph::batch::GraphFault {
                status: 400,
                code: "Request_UnsupportedQuery".into(),
                message: "Unsupported or invalid query filter clause specified".into(),
            }),
            error: "400 Request_UnsupportedQuery".into(),
        }));
        let mut reading = waiting("o'brien@contoso.example");
        let Next::Send(requests) = refused.for_user(&mut reading, Scope::EVERYTHING) else {
            panic!("the key is not tried on its own");
        };
        assert_eq!(requests, [GraphRequest::get_user(&reading.key)]);
        // Then a 404 to that GET is not found, as before groups.
        let gone = Completed {
            user: 0,
            ..completed(JobResult::Failed {
                fault: Some(crate::graph::batch::GraphFault {
                    status: 404,
                    code: "Request_ResourceNotFound".into(),
                    message: "Resource does not exist".into(),
                }),
                error: "404".into(),
            })
        };
        assert!(matches!(
            advance(&mut reading, gone, Scope::EVERYTHING),
            Next::Finished(ReadOutcome::NotFound)
        ));
        // Another failure ends every user of the group with it.
        let denied = GroupAnswer::of(completed(JobResult::Failed {
            fault: Some(crate::graph::batch::GraphFault {
                status: 403,
                code: "Authorization_RequestDenied".into(),
                message: "Insufficient privileges".into(),
            }),
            error: "403 Authorization_RequestDenied".into(),
        }));
        let Next::Finished(ReadOutcome::Error(why)) =
            denied.for_user(&mut waiting("a@contoso.example"), Scope::EVERYTHING)
        else {
            panic!("a refused group is an error");
        };
        assert!(why.contains("User.Read.All"), "{why}");
    }

    #[test]
    fn only_ids_and_upns_that_fit_a_filter_are_grouped() {
        assert_eq!(Groups::slot(&UserKey::parse(ID).unwrap()), Some(0));
        assert_eq!(
            Groups::slot(&UserKey::parse("guest_x#EXT#@contoso.example").unwrap()),
            Some(1)
        );
        assert_eq!(
            Groups::slot(&UserKey::mail("a@contoso.example").unwrap()),
            None
        );
        let long = format!("{}@contoso.example", "a".repeat(120));
        assert_eq!(Groups::slot(&UserKey::parse(&long).unwrap()), None);
    }

    #[test]
    fn a_role_graph_gives_without_its_name_still_makes_an_administrator() {
        let key = UserKey::id(ID).unwrap();
        let mut reading = Reading {
            key: key.clone(),
            stage: Stage::Details,
            user: Some(UserSnapshot {
                id: ID.into(),
                user_principal_name: "a@contoso.example".into(),
                account_enabled: true,
                synced: false,
                admin_roles: Vec::new(),
                management_restricted: false,
                restricted_units: Vec::new(),
                default_method: None,
                methods: Vec::new(),
                hardware_oath_unread: false,
                methods_unread: false,
                roles_unread: false,
            }),
            waiting: vec![Part::Roles, Part::Preferences],
            in_flight: 0,
            spared: None,
        };
        // Without a permission to read roles, Graph may answer with ids only.
        let body = serde_json::json!({"value": [
            {"@odata.type": "#microsoft.graph.directoryRole", "id": "62e90394-69f5-4237-9190-012177145e10"},
            {"@odata.type": "#microsoft.graph.directoryRole", "displayName": "User Administrator"}
        ]});
        assert!(matches!(
            answer(&mut reading, Part::Roles.request(&key), body),
            Next::Wait
        ));
        let roles = &reading.user.as_ref().unwrap().admin_roles;
        assert_eq!(roles.len(), 2, "{roles:?}");
        assert!(
            roles[0].contains("RoleManagement.Read.Directory"),
            "{roles:?}"
        );
        assert_eq!(roles[1], "User Administrator");
    }
}
