//! The restore's reads and writes, through the same paced `$batch` dispatcher as a run:
//! each user's state now ([`read_now`]), then the changes decided, in waves
//! ([`Action::wave`]): a mobile phone before an alternate one, the default last.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::decide::{Action, Current};
use crate::engine::dispatcher::{
    Abandon, Completed, Dispatcher, DispatcherSettings, Job, JobResult,
};
use crate::engine::pacer::Pacer;
use crate::engine::read::account_enabled;
use crate::graph::key::UserKey;
use crate::graph::request::GraphRequest;
use crate::graph::transport::Transport;
use crate::wire::{MethodType, PhoneType};

/// Sends every job through one dispatcher, handing each answer to `on_done` as it comes.
/// Returns why Graph stopped answering (the credential refused, Graph out of reach), if
/// it did: the jobs not settled then come back [`Abandon::Halted`].
pub async fn send_all<T: Transport>(
    transport: T,
    pacer: Arc<Pacer>,
    settings: DispatcherSettings,
    jobs: Vec<Job>,
    mut on_done: impl FnMut(Completed),
) -> Option<Abandon> {
    let total = jobs.len();
    if total == 0 {
        return None;
    }
    let (done_tx, mut done_rx) = mpsc::channel::<Completed>(256);
    let dispatcher = Dispatcher::new(transport, pacer, settings, done_tx);
    let halt = dispatcher.halt_switch();
    let (job_tx, job_rx) = mpsc::channel::<Job>(256);
    let running = tokio::spawn(dispatcher.run(job_rx));
    let feeding = tokio::spawn(async move {
        for job in jobs {
            if job_tx.send(job).await.is_err() {
                break;
            }
        }
    });
    let mut stopped = None;
    let mut received = 0;
    while received < total {
        let Some(completed) = done_rx.recv().await else {
            break;
        };
        received += 1;
        if let JobResult::Abandoned { cause, .. } = &completed.result
            && *cause != Abandon::Halted
            && stopped.is_none()
        {
            stopped = Some(*cause);
            halt.halt();
        }
        on_done(completed);
    }
    let _ = feeding.await;
    let _ = running.await;
    stopped
}

/// The reads of one user's state now: the account, the methods, the default method.
pub fn read_requests(key: &UserKey) -> Vec<GraphRequest> {
    [
        Some(GraphRequest::get_user(key)),
        GraphRequest::list_methods(key),
        GraphRequest::sign_in_preferences(key),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Takes one answer of [`read_requests`] into `now`.
pub fn take_read(now: &mut Current, request: &GraphRequest, body: &Value) {
    let path = request.url.split('?').next().unwrap_or_default();
    if path.ends_with("/authentication/methods") {
        let listed = body["value"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for m in listed {
            let kind = m["@odata.type"]
                .as_str()
                .and_then(MethodType::from_odata_type);
            match kind {
                Some(MethodType::Phone) => now.phones.push((
                    m["phoneType"].as_str().unwrap_or_default().to_string(),
                    m["phoneNumber"].as_str().unwrap_or_default().to_string(),
                )),
                Some(MethodType::Email) => {
                    now.email = m["emailAddress"].as_str().map(str::to_string)
                }
                Some(MethodType::TemporaryAccessPass) => now.passes.push((
                    m["id"].as_str().unwrap_or_default().to_string(),
                    m["createdDateTime"].as_str().map(str::to_string),
                )),
                _ => {}
            }
            if let Some(kind) = kind {
                now.kinds.insert(kind);
            }
        }
    } else if path.ends_with("/authentication/signInPreferences") {
        now.default = body["userPreferredMethodForSecondaryAuthentication"]
            .as_str()
            .map(str::to_string);
    } else {
        now.account_enabled = Some(account_enabled(body));
    }
}

/// The request that carries out `action` for the user `key`.
pub fn request_of(key: &UserKey, action: &Action) -> Option<GraphRequest> {
    match action {
        Action::CreatePhone { phone_type, number } => {
            GraphRequest::create_phone_method(key, number, PhoneType::parse(phone_type)?)
        }
        Action::CreateEmail { address } => GraphRequest::create_email_method(key, address),
        Action::EnableAccount => GraphRequest::set_account_enabled(key, true),
        Action::DeletePass { id } => {
            GraphRequest::delete_method(key, MethodType::TemporaryAccessPass, id)
        }
        Action::SetDefault { preferred } => GraphRequest::set_default_method(key, preferred),
    }
}
