//! Keeping what `mfa-reset restore` needs: after a user's re-read and before their first
//! change, the phone and email methods the re-read listed (with their numbers and
//! address), the account's enabled state and the default method go to
//! `DIR/secrets/restore.jsonl` ([`crate::engine::secrets::restore`]), fsynced. A record
//! that cannot be written stops the run before the user is changed (the user stays
//! unfinished, for a resume): no change is made that the run could not help undo.

use serde_json::Value;

use super::recheck::Found;
use super::{Ctx, RunError};
use crate::engine::run::now_rfc3339;
use crate::engine::secrets::restore::{RestoreFile, RestoreRecord};

impl Ctx<'_> {
    /// Writes the user's restore record, when the run keeps them and the user has a
    /// restorable change to come; `methods` is Graph's answer to the re-read of the
    /// user's methods, if it was read. `false` when the run stops instead (the record
    /// could not be written).
    pub(super) fn keep_restore_data(
        &mut self,
        index: usize,
        found: &Found,
        methods: Option<&Value>,
    ) -> bool {
        if !self.options.restore_data {
            return true;
        }
        if self.failure.is_some() {
            return false;
        }
        let Some(job) = self.jobs.get(&index) else {
            return true;
        };
        if !job.changes_restorable() {
            return true;
        }
        let before = job.entry.before.as_ref();
        let mut record = RestoreRecord {
            row: job.entry.row,
            user_id: before.map(|u| u.id.clone()).unwrap_or_default(),
            user_principal_name: before
                .map(|u| u.user_principal_name.clone())
                .unwrap_or_default(),
            read_at: now_rfc3339(),
            account_enabled: found
                .account
                .map(|(enabled, _)| enabled)
                .or(before.map(|u| u.account_enabled)),
            default_method: before
                .and_then(|u| u.default_method)
                .map(|d| d.as_graph().to_string()),
            phones: Vec::new(),
            email: None,
        };
        if let Some(body) = methods {
            record.take_methods(body);
        }
        let written = match self.restore.as_mut() {
            Some(file) => file.append(&record),
            None => RestoreFile::open(self.dir).and_then(|mut file| {
                let appended = file.append(&record);
                self.restore = Some(file);
                appended
            }),
        };
        match written {
            Ok(()) => true,
            Err(e) => {
                self.failure = Some(RunError::Secrets(e.to_string()));
                false
            }
        }
    }
}
