//! The one way a command hears "stop": Ctrl-C (SIGINT), SIGTERM (a service manager, a CI
//! runner's timeout) or SIGHUP (the terminal closed). A command that listens stops
//! cleanly and exits 4 ([`crate::exit::Exit::Interrupted`]): a plan writes nothing and
//! removes its scratch files, a run finishes the requests in flight and can be resumed,
//! the emulator shuts down.
//!
//! Once listened for, these signals no longer end the process by themselves (tokio keeps
//! its handlers installed), so a command listens only from where it can stop cleanly.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The stop signals, listened for from [`Interrupts::listen`] on.
pub struct Interrupts {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Interrupts {
    /// Starts listening. Needs a tokio runtime.
    pub fn listen() -> std::io::Result<Interrupts> {
        Ok(Interrupts {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next stop signal and names it (`Ctrl-C`, `SIGTERM`, `SIGHUP`).
    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            Some(()) = self.interrupt.recv() => "Ctrl-C",
            Some(()) = self.terminate.recv() => "SIGTERM",
            Some(()) = self.hangup.recv() => "SIGHUP",
            else => std::future::pending().await,
        }
    }
}
