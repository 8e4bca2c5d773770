//! The passes of a run over its users: a window of users runs at once, each with one
//! request on its way (or the reads of its re-read); the loop hands their requests to the
//! dispatcher (a TAP creation's `Intent` journaled first), takes the answers back, and
//! stops taking new work on Ctrl-C, SIGTERM or SIGHUP, a failure, or when the circuit
//! breaker trips: then requests not yet sent are not sent, the dispatcher is halted (jobs
//! waiting to be retried are given up, for a resume), and the requests in flight finish.

use std::collections::VecDeque;
use std::iter::Copied;
use std::slice::Iter;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::contain::Pass;
use super::machine::Next;
use super::{Ctx, Progress};
use crate::engine::dispatcher::{Abandon, Completed, Counters, Halt, Job, JobResult};

/// The run's ends of the dispatcher's channels, and of the stop signal.
pub(super) struct Channels {
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<Completed>,
    stop: watch::Receiver<bool>,
    /// The stop signal's sender is still there.
    stop_open: bool,
    /// The run was asked to stop.
    interrupted: bool,
    /// Halts the dispatcher once the run stops.
    halt: Arc<Halt>,
}

impl Channels {
    pub(super) fn new(
        jobs: mpsc::Sender<Job>,
        done: mpsc::Receiver<Completed>,
        stop: watch::Receiver<bool>,
        halt: Arc<Halt>,
    ) -> Channels {
        let interrupted = *stop.borrow();
        Channels {
            jobs,
            done,
            stop,
            stop_open: true,
            interrupted,
            halt,
        }
    }

    /// Whether the run takes no new work: asked to stop, failed, or stopped by the
    /// circuit breaker.
    fn stopping(&self, ctx: &Ctx<'_>) -> bool {
        self.interrupted || ctx.failure.is_some() || ctx.breaker.tripped().is_some()
    }

    /// Closes the channels, so that the dispatcher ends; whether the run was asked to
    /// stop.
    pub(super) fn close(self) -> bool {
        let Channels {
            jobs,
            done,
            interrupted,
            ..
        } = self;
        drop(jobs);
        drop(done);
        interrupted
    }

    /// Runs the users of `to_run` (entry indexes) in each pass, until they are all done,
    /// the run is asked to stop, or it fails.
    pub(super) async fn run_passes(
        &mut self,
        ctx: &mut Ctx<'_>,
        to_run: &[usize],
        max_active: usize,
        counters: &Counters,
        on_progress: &mut impl FnMut(&Progress),
    ) {
        for &pass in Pass::sequence(ctx.options.contain_first) {
            if self.stopping(ctx) {
                break;
            }
            let window = Window::new(to_run, max_active);
            self.run_pass(ctx, pass, window, counters, on_progress)
                .await;
        }
    }

    /// One pass: fills the window, hands requests over as the dispatcher takes them, and
    /// takes answers back, until no user of the pass is active and none is left to start
    /// (or the run stops).
    async fn run_pass(
        &mut self,
        ctx: &mut Ctx<'_>,
        pass: Pass,
        mut window: Window<'_>,
        counters: &Counters,
        on_progress: &mut impl FnMut(&Progress),
    ) {
        loop {
            let stopping = self.stopping(ctx);
            if stopping {
                self.halt.halt();
                window.park_outbox(ctx, pass);
            } else {
                window.fill(ctx, pass);
            }
            if window.is_over(stopping) {
                break;
            }
            let sender = Some(&self.jobs).filter(|_| !window.outbox.is_empty());
            tokio::select! {
                permit = async { sender.expect("guarded").reserve().await }, if sender.is_some() => {
                    match permit {
                        Ok(permit) => window.hand_over(ctx, permit, pass),
                        Err(_) => break,
                    }
                }
                completed = self.done.recv() => {
                    let Some(completed) = completed else { break };
                    let stopping = self.stopping(ctx);
                    window.on_answer(ctx, completed, pass, stopping);
                    ctx.progress.throttled = Counters::get(&counters.throttled);
                    ctx.progress.retried = Counters::get(&counters.retried);
                    on_progress(&ctx.progress);
                }
                changed = self.stop.changed(), if !self.interrupted && self.stop_open => {
                    if changed.is_err() {
                        self.stop_open = false;
                    } else if *self.stop.borrow() {
                        self.interrupted = true;
                    }
                }
            }
        }
    }
}

/// The users of one pass that run now, and those still waiting to start.
struct Window<'a> {
    waiting: Copied<Iter<'a, usize>>,
    waiting_left: bool,
    /// Users started and not yet done in this pass: each has a request in `outbox` or
    /// on its way.
    active: usize,
    max_active: usize,
    /// Requests not yet handed to the dispatcher.
    outbox: VecDeque<Job>,
}

impl<'a> Window<'a> {
    fn new(to_run: &'a [usize], max_active: usize) -> Window<'a> {
        Window {
            waiting: to_run.iter().copied(),
            waiting_left: true,
            active: 0,
            max_active,
            outbox: VecDeque::new(),
        }
    }

    /// Starts waiting users until the window is full or none is left.
    fn fill(&mut self, ctx: &mut Ctx<'_>, pass: Pass) {
        while self.active < self.max_active {
            let Some(index) = self.waiting.next() else {
                self.waiting_left = false;
                break;
            };
            let requests = ctx.start(index, pass);
            if requests.is_empty() {
                ctx.settle_if_finished(index, pass);
                continue;
            }
            self.active += 1;
            self.send(index, requests);
        }
    }

    /// Puts a user's requests in the outbox.
    fn send(&mut self, index: usize, requests: Vec<crate::graph::request::GraphRequest>) {
        self.outbox.extend(requests.into_iter().map(|request| Job {
            user: index as u64,
            request,
        }));
    }

    /// The pass is over: no user active, and none left to start (or the run stops).
    fn is_over(&self, stopping: bool) -> bool {
        self.active == 0 && (!self.waiting_left || stopping)
    }

    /// Hands the first request of the outbox to the dispatcher. A pass is created at most
    /// once: the intent is on disk before the request can reach Graph.
    fn hand_over(&mut self, ctx: &mut Ctx<'_>, permit: mpsc::Permit<'_, Job>, pass: Pass) {
        let job = self.outbox.pop_front().expect("guarded");
        if ctx.journal_intent(job.user as usize, &job.request) {
            permit.send(job);
        } else {
            // The journal failed: the run stops, and the request is not sent.
            self.on_answer(ctx, not_sent(job), pass, true);
        }
    }

    /// Takes a user's answer: their next request goes to the outbox, or they leave the
    /// window. While `stopping`, the answer is recorded and nothing more is sent.
    fn on_answer(&mut self, ctx: &mut Ctx<'_>, completed: Completed, pass: Pass, stopping: bool) {
        let index = completed.user as usize;
        let next = if stopping {
            if ctx.absorb(index, completed) {
                Next::Wait
            } else {
                Next::Over
            }
        } else {
            ctx.advance(index, completed, pass)
        };
        match next {
            Next::Send(requests) if !requests.is_empty() => self.send(index, requests),
            Next::Wait => {}
            Next::Send(_) | Next::Over => {
                self.active -= 1;
                ctx.settle_if_finished(index, pass);
            }
        }
    }

    /// The requests not yet handed to the dispatcher are not sent: each is answered as
    /// given up, and its user waits for a resume.
    fn park_outbox(&mut self, ctx: &mut Ctx<'_>, pass: Pass) {
        while let Some(job) = self.outbox.pop_front() {
            self.on_answer(ctx, not_sent(job), pass, true);
        }
    }
}

/// The answer of a request the run did not send.
fn not_sent(job: Job) -> Completed {
    Completed {
        user: job.user,
        request: job.request,
        result: JobResult::Abandoned {
            cause: Abandon::Halted,
            last_error: "not sent: the run was stopping".into(),
        },
        attempts: 0,
        client_request_id: String::new(),
        request_id: None,
    }
}
