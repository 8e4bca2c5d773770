//! How `$batch` requests reach Graph: the [`Transport`] trait the engine's dispatcher
//! sends through (the real [`super::client::GraphClient`], or a stand-in in tests and
//! benches), and [`SendFailure`], why a whole batch got no per-item answers.

use std::future::Future;

use super::batch::ItemOutcome;
use super::endpoints::ApiVersion;
use crate::wire::{BatchRequest, BatchResponseItem};

/// Why a whole batch got no per-item answers.
#[derive(Debug, Clone)]
pub enum SendFailure {
    /// The connection failed or was dropped: the batch may or may not have run.
    Connection(String),
    /// Graph answered the batch itself with an error status (429, 503, 401, 400, ...).
    Status {
        outcome: ItemOutcome,
        request_id: Option<String>,
    },
    /// No access token could be had.
    Auth(String),
}

/// How batches reach Graph (the real client, or anything else in tests).
pub trait Transport: Send + Sync + 'static {
    fn send_batch(
        &self,
        version: ApiVersion,
        body: BatchRequest,
    ) -> impl Future<Output = Result<Vec<BatchResponseItem>, SendFailure>> + Send;

    /// An item was answered 401: the access token in use must not be used again.
    fn token_rejected(&self);
}
