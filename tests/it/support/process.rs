//! Child processes in the end-to-end tests: waiting for one without ever hanging the
//! suite.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// A run that has not ended after this is hung.
pub const HANG_GUARD: Duration = Duration::from_secs(180);

/// Waits for the child; kills it and fails if it runs past [`HANG_GUARD`]. `what` names
/// it in that failure.
pub fn wait(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`mfa-reset {what}` still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
