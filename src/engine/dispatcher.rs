//! The dispatcher: packs ready requests from many users into `$batch`es, sends them at the
//! pacer's rate with a bounded number in flight, and retries exactly the items that need
//! it — never the whole batch, never before the item's `Retry-After`, never twice a change
//! that is not idempotent.
//!
//! Every submitted [`Job`] comes back exactly once as a [`Completed`]: done, already done
//! (a DELETE retried after an ambiguous failure that now finds nothing to delete), unknown
//! (a create whose fate an ambiguous failure hid: the caller must re-read before creating
//! again), failed with its last error once its attempts or retry time run out, or
//! abandoned ([`Abandon`]): Graph refused the credential, Graph could not be reached for
//! longer than [`DispatcherSettings::max_outage`], or the caller halted the dispatcher
//! ([`Dispatcher::halt_switch`]) — the job is then not known to have happened, and the
//! caller leaves it to a resume.
//!
//! Shape: one packer task takes jobs and due retries from a queue, spends their cost at the
//! [`Pacer`], and hands full (or, when nothing else is ready, partial) batches to sender
//! tasks; a sender posts the batch, classifies every item, feeds the pacer, and either
//! completes each item or puts it back in the queue with the time it may go again.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;
use tokio::sync::{Notify, Semaphore, mpsc};

use super::pacer::Pacer;
use crate::graph::batch::{self, GraphFault, Item, ItemAnswer, ItemOutcome};
use crate::graph::endpoints::ApiVersion;
use crate::graph::request::{GraphRequest, Repeat};
use crate::graph::transport::{SendFailure, Transport};
use crate::wire::{BatchRequest, BatchResponseItem, MAX_BATCH_ITEMS};

/// Tuning of the dispatcher.
#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    /// Batches in flight at once.
    pub max_in_flight: usize,
    /// Items per batch, at most 20.
    pub batch_size: usize,
    /// Attempts per item before it fails with its last error.
    pub max_attempts: u32,
    /// Time from an item's first attempt after which it is not retried again.
    pub max_retry_time: Duration,
    /// First backoff after a failure without `Retry-After`; doubles each attempt.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long Graph may be unreachable (connections failing, or 5xx answers, with no
    /// other answer between) before every job that fails that way is abandoned.
    pub max_outage: Duration,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        DispatcherSettings {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            batch_size: MAX_BATCH_ITEMS,
            max_attempts: 10,
            max_retry_time: Duration::from_secs(30 * 60),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(60),
            max_outage: DEFAULT_MAX_OUTAGE,
        }
    }
}

/// How long Graph may be unreachable before the jobs waiting on it are abandoned, by
/// default: long enough for a dropped connection or a brief 503 storm, short enough that
/// a run against a Graph that is down ends within half a minute.
pub const DEFAULT_MAX_OUTAGE: Duration = Duration::from_secs(20);

/// Batches in flight by default (see BENCHMARKS.md for the measurement behind it).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

/// One request to make for one user. `user` is the caller's handle (an input row).
#[derive(Debug, Clone)]
pub struct Job {
    pub user: u64,
    pub request: GraphRequest,
}

/// How a job ended. Its `Debug` never shows a response body: the answer to a Temporary
/// Access Pass creation holds the pass.
#[derive(Clone, PartialEq)]
pub enum JobResult {
    /// Graph answered 2xx.
    Done { status: u16, body: Option<Value> },
    /// A DELETE retried after an ambiguous failure answered 404: the earlier attempt
    /// removed it.
    AlreadyDone,
    /// A create hit an ambiguous failure: it may or may not exist now. Re-read first.
    Unknown { last_error: String },
    /// Graph refused it, or its attempts ran out.
    Failed {
        error: String,
        fault: Option<GraphFault>,
    },
    /// Given up without an answer that settles it (see [`Abandon`]): a write may or may
    /// not have happened, as for [`JobResult::Unknown`].
    Abandoned { cause: Abandon, last_error: String },
}

/// The switch that halts a dispatcher ([`Dispatcher::halt_switch`]).
#[derive(Debug, Default)]
pub struct Halt {
    set: AtomicBool,
    wake: Notify,
}

impl Halt {
    /// Halts the dispatcher: jobs waiting to be sent or retried are abandoned now, without
    /// waiting for their retry time.
    pub fn halt(&self) {
        if !self.set.swap(true, Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }
}

/// Why a job was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandon {
    /// Graph refused the credential (401 after a fresh token), or no token could be had.
    Unauthorized,
    /// Graph could not be reached for longer than [`DispatcherSettings::max_outage`].
    Unreachable,
    /// The caller halted the dispatcher before the job was settled.
    Halted,
}

impl std::fmt::Debug for JobResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobResult::Done { status, body } => f
                .debug_struct("Done")
                .field("status", status)
                .field("body", &body.as_ref().map(|_| "<redacted>"))
                .finish(),
            JobResult::AlreadyDone => f.write_str("AlreadyDone"),
            JobResult::Unknown { last_error } => f
                .debug_struct("Unknown")
                .field("last_error", last_error)
                .finish(),
            JobResult::Failed { error, fault } => f
                .debug_struct("Failed")
                .field("error", error)
                .field("fault", fault)
                .finish(),
            JobResult::Abandoned { cause, last_error } => f
                .debug_struct("Abandoned")
                .field("cause", cause)
                .field("last_error", last_error)
                .finish(),
        }
    }
}

/// A finished job, with what the report needs.
#[derive(Debug, Clone)]
pub struct Completed {
    pub user: u64,
    pub request: GraphRequest,
    pub result: JobResult,
    pub attempts: u32,
    pub client_request_id: String,
    /// The `request-id` of Graph's last answer, which Microsoft support asks for.
    pub request_id: Option<String>,
}

/// Live counters for the progress display and the report.
#[derive(Debug, Default)]
pub struct Counters {
    pub submitted: AtomicU64,
    pub done: AtomicU64,
    pub already_done: AtomicU64,
    pub unknown: AtomicU64,
    pub failed: AtomicU64,
    pub abandoned: AtomicU64,
    /// Items put back to be sent again.
    pub retried: AtomicU64,
    /// Items (or whole batches) answered 429.
    pub throttled: AtomicU64,
    pub batches: AtomicU64,
    pub items_sent: AtomicU64,
    pub writes_sent: AtomicU64,
    pub resource_units_sent: AtomicU64,
    /// Batches Graph answered, and the microseconds from post to answer they took in all.
    pub batches_answered: AtomicU64,
    pub answer_micros: AtomicU64,
}

impl Counters {
    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// The mean time from posting a batch to its answer, once one was answered.
    pub fn mean_round_trip(&self) -> Option<Duration> {
        let answered = Counters::get(&self.batches_answered);
        (answered > 0).then(|| Duration::from_micros(Counters::get(&self.answer_micros) / answered))
    }
}

struct Pending {
    job: Job,
    client_request_id: String,
    attempts: u32,
    first_sent: Option<Instant>,
    /// An earlier attempt of this write may have been applied.
    ambiguous: bool,
    last_error: String,
    request_id: Option<String>,
    /// Graph answered 401 once already: the token was refreshed for the retry.
    auth_refused: bool,
}

struct Delayed {
    due: Instant,
    seq: u64,
    item: Pending,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<Pending>,
    delayed: BinaryHeap<Reverse<Delayed>>,
    seq: u64,
}

struct Shared<T> {
    transport: T,
    pacer: Arc<Pacer>,
    settings: DispatcherSettings,
    counters: Arc<Counters>,
    queue: Mutex<Queue>,
    wake: Notify,
    /// Jobs accepted and not yet completed.
    outstanding: AtomicUsize,
    done: mpsc::Sender<Completed>,
    /// Set by the caller: settle every job not yet answered as abandoned.
    halt: Arc<Halt>,
    /// Since when Graph has been unreachable, if it is now.
    unreachable_since: Mutex<Option<Instant>>,
}

/// Sends jobs through a transport at the pacer's rate. See the module documentation.
pub struct Dispatcher<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Transport> Dispatcher<T> {
    /// A dispatcher whose finished jobs go to `done`.
    pub fn new(
        transport: T,
        pacer: Arc<Pacer>,
        settings: DispatcherSettings,
        done: mpsc::Sender<Completed>,
    ) -> Dispatcher<T> {
        let settings = DispatcherSettings {
            batch_size: settings.batch_size.clamp(1, MAX_BATCH_ITEMS),
            max_in_flight: settings.max_in_flight.max(1),
            max_attempts: settings.max_attempts.max(1),
            ..settings
        };
        Dispatcher {
            shared: Arc::new(Shared {
                transport,
                pacer,
                settings,
                counters: Arc::new(Counters::default()),
                queue: Mutex::new(Queue::default()),
                wake: Notify::new(),
                outstanding: AtomicUsize::new(0),
                done,
                halt: Arc::new(Halt::default()),
                unreachable_since: Mutex::new(None),
            }),
        }
    }

    pub fn counters(&self) -> Arc<Counters> {
        self.shared.counters.clone()
    }

    /// The switch that halts the dispatcher: once set, jobs waiting to be sent or to be
    /// retried are completed as [`Abandon::Halted`] instead; batches already posted are
    /// still answered and settled.
    pub fn halt_switch(&self) -> Arc<Halt> {
        self.shared.halt.clone()
    }

    /// Runs until `jobs` is closed and every job taken from it has completed.
    pub async fn run(self, mut jobs: mpsc::Receiver<Job>) {
        let shared = self.shared;
        let permits = Arc::new(Semaphore::new(shared.settings.max_in_flight));
        let mut senders = tokio::task::JoinSet::new();
        let mut input_open = true;
        loop {
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let mut batch: Vec<Pending> = Vec::new();
            let mut users: HashSet<u64> = HashSet::new();
            loop {
                if batch.len() >= shared.settings.batch_size {
                    break;
                }
                let version = batch.first().map(|p: &Pending| p.job.request.version);
                match next_item(&shared, &mut jobs, &mut input_open, &users, version).await {
                    Next::Item(item) => {
                        shared.pacer.acquire(item.job.request.cost).await;
                        users.insert(item.job.user);
                        batch.push(item);
                    }
                    Next::Flush => break,
                    Next::Finished => {
                        debug_assert!(batch.is_empty());
                        while senders.join_next().await.is_some() {}
                        return;
                    }
                }
            }
            if batch.is_empty() {
                continue;
            }
            // Items paced before a 429 arrived wait out its Retry-After too.
            shared.pacer.wait_while_paused().await;
            let shared = shared.clone();
            senders.spawn(async move {
                send(&shared, batch).await;
                drop(permit);
            });
            // Reap finished senders so the set does not grow.
            while senders.try_join_next().is_some() {}
        }
    }
}

enum Next {
    Item(Pending),
    /// Nothing more is ready now: send what the batch has.
    Flush,
    /// No job is left and none can come.
    Finished,
}

async fn next_item<T>(
    shared: &Shared<T>,
    jobs: &mut mpsc::Receiver<Job>,
    input_open: &mut bool,
    users_in_batch: &HashSet<u64>,
    batch_version: Option<ApiVersion>,
) -> Next {
    let batch_empty = batch_version.is_none();
    loop {
        // Take every job already waiting in the channel.
        while *input_open {
            match jobs.try_recv() {
                Ok(job) => accept(shared, job),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => *input_open = false,
            }
        }
        if shared.halt.is_set() {
            abandon_queued(shared).await;
        }
        let next_due = {
            let mut q = shared.queue.lock().expect("queue lock");
            let now = Instant::now();
            while q.delayed.peek().is_some_and(|Reverse(d)| d.due <= now) {
                let Reverse(d) = q.delayed.pop().expect("peeked");
                q.ready.push_back(d.item);
            }
            // Never two items of one user in a batch, and one API version per batch; look a
            // little way down the queue.
            if let Some(pos) = q.ready.iter().take(256).position(|p| {
                !users_in_batch.contains(&p.job.user)
                    && batch_version.is_none_or(|v| v == p.job.request.version)
            }) {
                return Next::Item(q.ready.remove(pos).expect("position is in range"));
            }
            q.delayed.peek().map(|Reverse(d)| d.due)
        };
        if !batch_empty {
            return Next::Flush;
        }
        if !*input_open && shared.outstanding.load(Ordering::SeqCst) == 0 {
            return Next::Finished;
        }
        let sleep = async {
            match next_due {
                Some(due) => tokio::time::sleep_until(due.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            job = jobs.recv(), if *input_open => match job {
                Some(job) => accept(shared, job),
                None => *input_open = false,
            },
            _ = shared.wake.notified() => {}
            _ = shared.halt.wake.notified() => {}
            _ = sleep => {}
        }
    }
}

fn accept<T>(shared: &Shared<T>, job: Job) {
    shared.outstanding.fetch_add(1, Ordering::SeqCst);
    Counters::bump(&shared.counters.submitted);
    let pending = Pending {
        job,
        client_request_id: crate::wire::random_guid(),
        attempts: 0,
        first_sent: None,
        ambiguous: false,
        last_error: String::new(),
        request_id: None,
        auth_refused: false,
    };
    shared
        .queue
        .lock()
        .expect("queue lock")
        .ready
        .push_back(pending);
}

/// Completes every job waiting in the queue (to be sent, or retried) as halted.
async fn abandon_queued<T>(shared: &Shared<T>) {
    let items: Vec<Pending> = {
        let mut q = shared.queue.lock().expect("queue lock");
        let mut items: Vec<Pending> = q.ready.drain(..).collect();
        items.extend(q.delayed.drain().map(|Reverse(d)| d.item));
        items
    };
    for item in items {
        let last_error = if item.last_error.is_empty() {
            "not sent: the run was stopping".to_string()
        } else {
            item.last_error.clone()
        };
        let result = JobResult::Abandoned {
            cause: Abandon::Halted,
            last_error,
        };
        complete(shared, item, result).await;
    }
}

/// Posts one batch and settles every item in it: each is completed, or put back in the
/// queue with the time it may go again.
async fn send<T: Transport>(shared: &Shared<T>, mut batch: Vec<Pending>) {
    let version = batch[0].job.request.version;
    let body = encode_attempt(&mut batch);
    count_sent(&shared.counters, &batch);
    let sent_at = Instant::now();
    match shared.transport.send_batch(version, body).await {
        Ok(responses) => {
            let counters = &shared.counters;
            Counters::bump(&counters.batches_answered);
            counters
                .answer_micros
                .fetch_add(sent_at.elapsed().as_micros() as u64, Ordering::Relaxed);
            log_answered(batch.len(), &responses, sent_at);
            settle_answers(shared, batch, responses).await;
        }
        Err(failure) => {
            tracing::warn!(
                items = batch.len(),
                elapsed_ms = sent_at.elapsed().as_millis() as u64,
                failure = %failure_kind(&failure),
                "batch failed as a whole"
            );
            settle_batch_failure(shared, batch, failure).await;
        }
    }
}

/// Counts one more attempt of every item and encodes the `$batch` body; an item's id in
/// the batch is its place in `batch`.
fn encode_attempt(batch: &mut [Pending]) -> BatchRequest {
    let now = Instant::now();
    for p in batch.iter_mut() {
        p.attempts += 1;
        p.first_sent.get_or_insert(now);
    }
    let items: Vec<Item<'_>> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| Item {
            id: i.to_string(),
            request: &p.job.request,
            client_request_id: p.client_request_id.clone(),
        })
        .collect();
    batch::encode(&items)
}

/// The counters of a batch about to be posted.
fn count_sent(counters: &Counters, batch: &[Pending]) {
    Counters::bump(&counters.batches);
    for p in batch {
        Counters::bump(&counters.items_sent);
        counters
            .writes_sent
            .fetch_add(u64::from(p.job.request.cost.writes), Ordering::Relaxed);
        counters.resource_units_sent.fetch_add(
            u64::from(p.job.request.cost.resource_units),
            Ordering::Relaxed,
        );
    }
}

/// Logs the statuses of an answered batch. Counted only when someone listens: this runs
/// for every batch.
fn log_answered(items: usize, responses: &[BatchResponseItem], sent_at: Instant) {
    if tracing::enabled!(tracing::Level::INFO) {
        let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
        for r in responses {
            *statuses.entry(r.status).or_default() += 1;
        }
        tracing::info!(
            items,
            statuses = %serde_json::to_string(&statuses).unwrap_or_default(),
            elapsed_ms = sent_at.elapsed().as_millis() as u64,
            "batch answered"
        );
    }
}

/// Settles each item by its answer in the batch; items Graph did not answer at all are
/// treated as a lost connection.
async fn settle_answers<T: Transport>(
    shared: &Shared<T>,
    batch: Vec<Pending>,
    responses: Vec<BatchResponseItem>,
) {
    let mut slots: Vec<Option<Pending>> = batch.into_iter().map(Some).collect();
    let answers: Vec<ItemAnswer> = responses.into_iter().map(batch::classify).collect();
    if answers
        .iter()
        .any(|a| matches!(a.outcome, ItemOutcome::AuthExpired(_)))
    {
        shared.transport.token_rejected();
    }
    for answer in answers {
        let Some(slot) = answer
            .id
            .parse::<usize>()
            .ok()
            .and_then(|i| slots.get_mut(i))
        else {
            continue;
        };
        if let Some(item) = slot.take() {
            settle(shared, item, answer).await;
        }
    }
    for item in slots.into_iter().flatten() {
        let answer = ItemAnswer {
            id: String::new(),
            outcome: ItemOutcome::Transient {
                fault: GraphFault {
                    status: 0,
                    code: String::new(),
                    message: "the batch answer did not include this item".into(),
                },
                retry_after: None,
            },
            request_id: None,
        };
        settle(shared, item, answer).await;
    }
}

/// Settles every item of a batch that failed as a whole with the same answer.
async fn settle_batch_failure<T>(shared: &Shared<T>, batch: Vec<Pending>, failure: SendFailure) {
    let (outcome, request_id) = whole_batch_outcome(failure);
    // A whole-batch 429 pauses the pacer once, not once per item.
    if let ItemOutcome::Throttled { retry_after } = &outcome {
        shared
            .pacer
            .on_throttled(retry_after.unwrap_or(shared.settings.backoff_base));
    }
    for item in batch {
        let answer = ItemAnswer {
            id: String::new(),
            outcome: outcome.clone(),
            request_id: request_id.clone(),
        };
        settle(shared, item, answer).await;
    }
}

/// What a whole-batch failure means for each of its items, and Graph's `request-id` when
/// it answered.
fn whole_batch_outcome(failure: SendFailure) -> (ItemOutcome, Option<String>) {
    match failure {
        SendFailure::Connection(message) => (
            ItemOutcome::Transient {
                fault: GraphFault {
                    status: 0,
                    code: String::new(),
                    message: format!("connection failed: {message}"),
                },
                retry_after: None,
            },
            None,
        ),
        SendFailure::Status {
            outcome,
            request_id,
        } => (outcome, request_id),
        SendFailure::Auth(message) => (
            ItemOutcome::AuthExpired(GraphFault {
                status: 0,
                code: "authentication".into(),
                message,
            }),
            None,
        ),
    }
}

/// A whole-batch failure in a few words, for the log (never a body).
fn failure_kind(failure: &SendFailure) -> String {
    match failure {
        SendFailure::Connection(_) => "connection failed".into(),
        SendFailure::Status { outcome, .. } => match outcome {
            ItemOutcome::Throttled { .. } => "throttled (429)".into(),
            ItemOutcome::Transient { fault, .. }
            | ItemOutcome::AuthExpired(fault)
            | ItemOutcome::Permanent(fault) => format!("HTTP {}", fault.status),
            ItemOutcome::Success { status, .. } => format!("HTTP {status}"),
            ItemOutcome::Dependency => "HTTP 424".into(),
        },
        SendFailure::Auth(_) => "no access token".into(),
    }
}

/// Decides what happens to one item after an answer.
async fn settle<T>(shared: &Shared<T>, mut item: Pending, answer: ItemAnswer) {
    if answer.request_id.is_some() {
        item.request_id = answer.request_id;
    }
    let repeat = item.job.request.repeat;
    let is_write = item.job.request.is_write();
    let counters = &shared.counters;
    shared.note_reachable(&answer.outcome);
    let retry_after = match answer.outcome {
        ItemOutcome::Success {
            status,
            body,
            limit_percentage,
        } => {
            shared.pacer.on_success(limit_percentage);
            return complete(shared, item, JobResult::Done { status, body }).await;
        }
        ItemOutcome::Permanent(fault) => {
            if fault.status == 404 && repeat == Repeat::Delete && item.ambiguous {
                return complete(shared, item, JobResult::AlreadyDone).await;
            }
            return complete(
                shared,
                item,
                JobResult::Failed {
                    error: fault.to_string(),
                    fault: Some(fault),
                },
            )
            .await;
        }
        ItemOutcome::Throttled { retry_after } => {
            Counters::bump(&counters.throttled);
            // Graph's own advice: a throttled write inside a batch is not certain to have
            // been skipped.
            item.ambiguous |= is_write;
            item.last_error = "HTTP 429 TooManyRequests".into();
            let wait = retry_after.unwrap_or_else(|| backoff(&shared.settings, item.attempts));
            shared.pacer.on_throttled(wait);
            wait
        }
        ItemOutcome::Transient { fault, retry_after } => {
            item.last_error = fault.to_string();
            if is_write {
                item.ambiguous = true;
                if repeat == Repeat::Create {
                    let last_error = std::mem::take(&mut item.last_error);
                    return complete(shared, item, JobResult::Unknown { last_error }).await;
                }
            }
            retry_after
                .unwrap_or_default()
                .max(backoff(&shared.settings, item.attempts))
        }
        ItemOutcome::AuthExpired(fault) => {
            // The transport refreshes the token; one quick retry. Refused again, the
            // credential itself is refused: nothing of this job happened.
            item.last_error = fault.to_string();
            if item.auth_refused {
                let last_error = std::mem::take(&mut item.last_error);
                let cause = Abandon::Unauthorized;
                return complete(shared, item, JobResult::Abandoned { cause, last_error }).await;
            }
            item.auth_refused = true;
            Duration::ZERO
        }
        ItemOutcome::Dependency => {
            item.last_error = "HTTP 424 failed dependency".into();
            backoff(&shared.settings, item.attempts)
        }
    };
    if shared.halt.is_set() {
        let last_error = std::mem::take(&mut item.last_error);
        let cause = Abandon::Halted;
        return complete(shared, item, JobResult::Abandoned { cause, last_error }).await;
    }
    let retry_after = match shared.outage_left() {
        Some(left) if left.is_zero() => {
            let last_error = format!(
                "Graph could not be reached for {} s: {}",
                shared.settings.max_outage.as_secs(),
                item.last_error
            );
            let cause = Abandon::Unreachable;
            return complete(shared, item, JobResult::Abandoned { cause, last_error }).await;
        }
        // Try again when the outage would be over the limit, not later.
        Some(left) => retry_after.min(left + Duration::from_millis(10)),
        None => retry_after,
    };
    let out_of_time = item
        .first_sent
        .is_some_and(|t| t.elapsed() + retry_after > shared.settings.max_retry_time);
    if item.attempts >= shared.settings.max_attempts || out_of_time {
        let error = format!(
            "gave up after {} attempts: {}",
            item.attempts, item.last_error
        );
        return complete(shared, item, JobResult::Failed { error, fault: None }).await;
    }
    Counters::bump(&counters.retried);
    let due = Instant::now() + retry_after;
    {
        let mut q = shared.queue.lock().expect("queue lock");
        q.seq += 1;
        let seq = q.seq;
        q.delayed.push(Reverse(Delayed { due, seq, item }));
    }
    shared.wake.notify_one();
}

impl<T> Shared<T> {
    /// Keeps track of whether Graph is reachable: a lost connection or a 5xx answer starts
    /// (or continues) an outage; any other answer ends it.
    fn note_reachable(&self, outcome: &ItemOutcome) {
        let down = matches!(outcome, ItemOutcome::Transient { fault, .. }
            if fault.status == 0 || fault.status >= 500);
        let mut since = self.unreachable_since.lock().expect("outage lock");
        if down {
            since.get_or_insert_with(Instant::now);
        } else {
            *since = None;
        }
    }

    /// During an outage, how long is left before jobs are abandoned.
    fn outage_left(&self) -> Option<Duration> {
        let since = (*self.unreachable_since.lock().expect("outage lock"))?;
        Some(self.settings.max_outage.saturating_sub(since.elapsed()))
    }
}

async fn complete<T>(shared: &Shared<T>, item: Pending, result: JobResult) {
    let counters = &shared.counters;
    Counters::bump(match &result {
        JobResult::Done { .. } => &counters.done,
        JobResult::AlreadyDone => &counters.already_done,
        JobResult::Unknown { .. } => &counters.unknown,
        JobResult::Failed { .. } => &counters.failed,
        JobResult::Abandoned { .. } => &counters.abandoned,
    });
    let completed = Completed {
        user: item.job.user,
        request: item.job.request,
        result,
        attempts: item.attempts,
        client_request_id: item.client_request_id,
        request_id: item.request_id,
    };
    // The receiver may be gone (the run was abandoned); the outcome is then moot.
    let _ = shared.done.send(completed).await;
    shared.outstanding.fetch_sub(1, Ordering::SeqCst);
    shared.wake.notify_one();
}

/// Exponential backoff with jitter: between half and all of `base · 2^(attempt-1)`.
fn backoff(settings: &DispatcherSettings, attempt: u32) -> Duration {
    let exp = settings
        .backoff_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(settings.backoff_cap);
    exp.mul_f64(rand::rng().random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests;
