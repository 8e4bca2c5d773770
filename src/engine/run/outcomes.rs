//! The outcomes, at the end of a run: every row's, in row order, exactly once. Until
//! then the outcomes of users finished in this run wait on disk (`.outcomes.tmp`, and in
//! the journal), so that memory does not grow with the plan.

use std::collections::BTreeMap;
use std::path::Path;

use super::rows::RowPlan;
use super::{Ctx, RunError};
use crate::engine::outcome::{RunStatus, UserOutcome};
use crate::plan::PlanEntry;
use crate::plan::store::{EntrySpill, StoreError};

/// The outcomes of the users finished in this run, by entry index: on disk until the
/// end; in memory those the disk would not take.
pub(super) struct FinishedOutcomes {
    spill: Option<EntrySpill>,
    unspilled: BTreeMap<usize, UserOutcome>,
    /// Which entries finished in this run, a bit each.
    finished: Vec<u64>,
}

impl FinishedOutcomes {
    /// A spill in the run folder `dir`, with room for `rows` entries.
    pub(super) fn create(dir: &Path, rows: usize) -> Result<FinishedOutcomes, StoreError> {
        let mut spill = EntrySpill::create(dir.join(".outcomes.tmp"))?;
        spill.reserve_rows(rows);
        Ok(FinishedOutcomes {
            spill: Some(spill),
            unspilled: BTreeMap::new(),
            finished: Vec::new(),
        })
    }

    /// Without a spill: every outcome is kept in memory.
    pub(super) fn in_memory() -> FinishedOutcomes {
        FinishedOutcomes {
            spill: None,
            unspilled: BTreeMap::new(),
            finished: Vec::new(),
        }
    }

    /// Whether entry `index` finished in this run.
    pub(super) fn contains(&self, index: usize) -> bool {
        self.finished
            .get(index / 64)
            .is_some_and(|bits| bits & (1 << (index % 64)) != 0)
    }

    pub(super) fn put(&mut self, index: usize, outcome: UserOutcome) {
        let word = index / 64;
        if self.finished.len() <= word {
            self.finished.resize(word + 1, 0);
        }
        self.finished[word] |= 1 << (index % 64);
        let spilled = self
            .spill
            .as_mut()
            .is_some_and(|spill| spill.put(index, &outcome).is_ok());
        if !spilled {
            self.unspilled.insert(index, outcome);
        }
    }
}

impl Ctx<'_> {
    /// Gives every row's outcome to `emit`, in row order.
    pub(super) fn emit_all(&mut self, emit: &mut impl FnMut(UserOutcome)) {
        for index in 0..self.plan.len() {
            emit(self.row_outcome(index));
        }
    }

    /// Row `index`'s outcome: as an earlier run finished it, as the plan settled it, as
    /// this run finished it, or `pending` with what was done so far.
    fn row_outcome(&mut self, index: usize) -> UserOutcome {
        let entry = match self.plan.entry(index) {
            Ok(entry) => entry,
            Err(e) => {
                // Still one result row for the row; the journal has its outcome.
                let outcome = UserOutcome {
                    row: index,
                    status: Some(RunStatus::Pending),
                    reason: Some(format!(
                        "the plan's entry could not be read back ({e}); resume to write this row"
                    )),
                    ..UserOutcome::default()
                };
                self.failure.get_or_insert(e.into());
                return outcome;
            }
        };
        if let Some(done) = self.finished_earlier(entry.row) {
            return done;
        }
        if let RowPlan::Settled(outcome) = RowPlan::of(&entry) {
            return *outcome;
        }
        if let Some(outcome) = self.take_finished(index) {
            return outcome;
        }
        self.unfinished(index, &entry)
    }

    /// The outcome of a row an earlier run finished, read back from the journal.
    fn finished_earlier(&mut self, row: usize) -> Option<UserOutcome> {
        if !self.state.finished.contains(row) {
            return None;
        }
        match self.state.finished.get(row) {
            Ok(done) => done,
            Err(e) => {
                self.failure.get_or_insert(e.into());
                None
            }
        }
    }

    /// The outcome of a user this run finished.
    fn take_finished(&mut self, index: usize) -> Option<UserOutcome> {
        if let Some(outcome) = self.finished.unspilled.remove(&index) {
            return Some(outcome);
        }
        read_spill(self.finished.spill.as_mut(), index, &mut self.failure)
    }

    /// A user the run did not finish: `pending`, with what was done so far.
    fn unfinished(&mut self, index: usize, entry: &PlanEntry) -> UserOutcome {
        let mut outcome = match self.jobs.remove(&index) {
            Some(job) => job.outcome,
            None => self
                .take_set_aside(index)
                .map(|aside| aside.into_outcome())
                .unwrap_or_else(|| UserOutcome::from_plan(entry)),
        };
        outcome.status = Some(RunStatus::Pending);
        outcome.reason = Some(match self.breaker.tripped() {
            Some(tripped) => format!(
                "not finished: the run stopped ({}); resume to finish",
                tripped.summary
            ),
            None => "not finished: the run was interrupted; resume to finish".into(),
        });
        outcome
    }
}

/// Row `index` of a spill, if it is there. A spill that cannot be read back is the run's
/// failure (the first one is kept).
pub(super) fn read_spill<T: serde::de::DeserializeOwned>(
    spill: Option<&mut EntrySpill>,
    index: usize,
    failure: &mut Option<RunError>,
) -> Option<T> {
    match spill?.get::<T>(index) {
        Ok(value) => value,
        Err(e) => {
            failure.get_or_insert(e.into());
            None
        }
    }
}
