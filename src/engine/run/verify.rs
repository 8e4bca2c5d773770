//! `--verify`: after a user's last step, the run reads their methods once more (and their
//! hardware OATH tokens, through beta, when it removed one). The methods still registered
//! go into the result row, and a method the run removed that is still there makes the
//! user `partial`.

use super::job::UserJob;
use super::machine::failure_text;
use crate::engine::dispatcher::JobResult;
use crate::engine::outcome::MethodRef;
use crate::engine::read::methods_in;

impl UserJob {
    /// Whether the user's methods are read again now that their steps are over: with
    /// `--verify`, once, for a user whose steps remove methods.
    pub(super) fn wants_verification(&self, verify: bool) -> bool {
        !self.verified && verify && self.removes_methods()
    }

    /// Takes in an answer to the re-read (the methods, or the hardware OATH tokens): the
    /// methods still registered, or why they could not be read.
    pub(super) fn record_verification(&mut self, result: JobResult) {
        match result {
            JobResult::Done { body, .. } => {
                let methods = body.as_ref().map(methods_in).unwrap_or_default();
                self.outcome
                    .remaining
                    .get_or_insert_with(Vec::new)
                    .extend(methods.iter().map(|m| MethodRef {
                        kind: m.kind,
                        id: m.id.clone(),
                        label: m.label(),
                    }));
            }
            other => {
                let (_, message) = failure_text(&other);
                self.outcome.reason = Some(format!(
                    "the methods could not be re-read to verify: {message}"
                ));
            }
        }
    }

    /// The methods the run removed that the re-read still found, as a reason; `None` when
    /// there are none (or there was no re-read).
    pub(super) fn still_registered(&self) -> Option<String> {
        let remaining = self.outcome.remaining.as_ref()?;
        let still: Vec<&str> = remaining
            .iter()
            .filter(|m| self.removed_ids.contains(&m.id))
            .map(|m| m.label.as_str())
            .collect();
        (!still.is_empty()).then(|| format!("still registered after removal: {}", still.join(", ")))
    }
}
