//! Reading the tenant for a plan: for every target user, resolve the key to the user
//! (id, UPN, `accountEnabled`, sync state), then list their authentication methods, their
//! directory roles and their default method — many users at once, through the paced
//! dispatcher.
//!
//! Each user is a small state machine: resolve, then the three reads at once (two round
//! trips a user, not four). The dispatcher never puts two requests of one user in a batch,
//! so the three go out in different batches of the same flight. Every target ends with
//! exactly one [`ReadOutcome`].

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::engine::dispatcher::{
    Abandon, Completed, Counters, Dispatcher, DispatcherSettings, Job, JobResult,
};
use crate::engine::pacer::Pacer;
use crate::graph::key::UserKey;
use crate::graph::request::GraphRequest;
use crate::graph::transport::Transport;
use crate::plan::build::ReadOutcome;
use crate::policy::permissions;
use crate::policy::{DefaultMethod, MethodSnapshot, UserSnapshot};
use crate::wire::{MethodType, PhoneType};

/// A user to read: the input row it came from and its validated key.
#[derive(Debug, Clone)]
pub struct Target {
    pub row: usize,
    pub key: UserKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Finding the user from the key.
    Resolve,
    /// The user's methods, roles and default method, asked for at once.
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
/// row order). Only a window of users is read at once, so memory follows the window, not
/// the list: a million users are read with the memory of a few thousand.
///
/// When Graph refuses the credential or stays out of reach, the reads stop at once
/// ([`ReadsStopped`]): the users not read yet end as errors without a request.
pub async fn read_stream<T: Transport, P>(
    transport: T,
    pacer: Arc<Pacer>,
    settings: DispatcherSettings,
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
    let mut to_send: std::collections::VecDeque<Job> = std::collections::VecDeque::new();
    let mut source_open = true;
    let mut job_tx = Some(job_tx);
    loop {
        if let Some(stop) = &stopped {
            // Not sent: the users waiting and those still to come end unread.
            to_send.clear();
            let mut end =
                |row: usize, payload: P| on_outcome(row, payload, not_read(stop), &counters);
            end_unsent(&mut readings, &mut targets, &mut end);
        }
        while source_open && readings.len() < window {
            match targets.try_recv() {
                Ok(target) => admit(&mut readings, &mut to_send, target),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => source_open = false,
            }
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
                        if let Some((reading, _)) = readings.get_mut(&job.user) {
                            reading.in_flight += 1;
                        }
                        permit.send(job);
                    }
                    Err(_) => break,
                }
            }
            target = targets.recv(), if room => match target {
                Some(target) => admit(&mut readings, &mut to_send, target),
                None => source_open = false,
            },
            completed = done_rx.recv() => {
                let Some(completed) = completed else { break };
                let row = completed.user;
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
                match advance(reading, completed) {
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
    // Every user has finished: let the dispatcher drain and stop.
    job_tx.take();
    drop(done_rx);
    let _ = running.await;
    stopped
}

/// Takes a target in: its reading, and the request that resolves its key.
fn admit<P>(
    readings: &mut HashMap<u64, (Reading, P)>,
    to_send: &mut std::collections::VecDeque<Job>,
    (t, payload): (Target, P),
) {
    to_send.push_back(Job {
        user: t.row as u64,
        request: GraphRequest::get_user(&t.key),
    });
    let reading = Reading {
        key: t.key,
        stage: Stage::Resolve,
        user: None,
        waiting: Vec::new(),
        in_flight: 0,
    };
    readings.insert(t.row as u64, (reading, payload));
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

fn advance(reading: &mut Reading, completed: Completed) -> Next {
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
            let needed = match part {
                None | Some(Part::Roles) => permissions::USER_READ_ALL,
                Some(Part::Methods | Part::HardwareOath | Part::Preferences) => {
                    permissions::METHODS_READ_ALL
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
        return resolved(reading, body);
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

/// The user found from the key: then their methods, roles and default method, at once.
fn resolved(reading: &mut Reading, body: Value) -> Next {
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
        default_method: None,
        methods: Vec::new(),
        hardware_oath_unread: false,
    });
    reading.key = by_id;
    reading.stage = Stage::Details;
    reading.waiting = Part::ALL.to_vec();
    Next::Send(Part::ALL.iter().map(|p| p.request(&reading.key)).collect())
}

/// The methods in Graph's answer to a list of a user's methods.
pub(crate) fn methods_in(body: &Value) -> Vec<MethodSnapshot> {
    body.get("value")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(method_snapshot).collect())
        .unwrap_or_default()
}

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
                    None => "a directory role (its name is not readable: grant RoleManagement.Read.Directory)".to_string(),
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
        let Next::Finished(ReadOutcome::Found(found)) = advance(&mut reading, refused) else {
            panic!("a missing beta route must not lose the user");
        };
        assert!(found.hardware_oath_unread);
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
                default_method: None,
                methods: Vec::new(),
                hardware_oath_unread: false,
            }),
            waiting: vec![Part::Roles, Part::Preferences],
            in_flight: 0,
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
