//! What a containment from the user list did to each row before the plan was made: whose
//! sessions were revoked and whose account disabled. A plan made after it decides from the
//! users as they were before the run (an account this run disabled counts as enabled, so
//! the plan shows the disable as this run's step), and says so in the entry's notes; the
//! run then takes those steps as done.
//!
//! One byte a row: a million rows cost a megabyte.

/// The row's sessions were revoked by the containment.
const REVOKED: u8 = 1;
/// The row's account was disabled by the containment.
const DISABLED: u8 = 2;

/// What the containment did, by input row.
#[derive(Debug, Clone, Default)]
pub struct ContainedRows {
    flags: Vec<u8>,
}

impl ContainedRows {
    /// No row contained yet, for `rows` rows.
    pub fn new(rows: usize) -> ContainedRows {
        ContainedRows {
            flags: vec![0; rows],
        }
    }

    fn set(&mut self, row: usize, flag: u8) {
        if row >= self.flags.len() {
            self.flags.resize(row + 1, 0);
        }
        self.flags[row] |= flag;
    }

    fn has(&self, row: usize, flag: u8) -> bool {
        self.flags.get(row).is_some_and(|f| f & flag != 0)
    }

    pub fn set_revoked(&mut self, row: usize) {
        self.set(row, REVOKED);
    }

    pub fn set_disabled(&mut self, row: usize) {
        self.set(row, DISABLED);
    }

    pub fn revoked(&self, row: usize) -> bool {
        self.has(row, REVOKED)
    }

    pub fn disabled(&self, row: usize) -> bool {
        self.has(row, DISABLED)
    }

    /// Rows whose sessions were revoked, and whose accounts were disabled.
    pub fn counts(&self) -> (usize, usize) {
        let revoked = self.flags.iter().filter(|f| *f & REVOKED != 0).count();
        let disabled = self.flags.iter().filter(|f| *f & DISABLED != 0).count();
        (revoked, disabled)
    }

    /// The note of a contained row's plan entry, or `None` for a row not contained.
    pub fn note(&self, row: usize) -> Option<String> {
        match (self.revoked(row), self.disabled(row)) {
            (false, false) => None,
            (true, false) => {
                Some("contained from the list before this plan: sessions revoked".into())
            }
            (false, true) => {
                Some("contained from the list before this plan: account disabled".into())
            }
            (true, true) => Some(
                "contained from the list before this plan: sessions revoked, account disabled"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_keeps_what_was_done_to_it() {
        let mut rows = ContainedRows::new(3);
        rows.set_revoked(0);
        rows.set_disabled(0);
        rows.set_revoked(2);
        rows.set_revoked(5);
        assert!(rows.revoked(0) && rows.disabled(0));
        assert!(!rows.revoked(1) && !rows.disabled(1));
        assert!(rows.revoked(2) && !rows.disabled(2));
        assert!(rows.revoked(5));
        assert_eq!(rows.counts(), (3, 1));
        assert_eq!(rows.note(1), None);
        assert!(
            rows.note(0)
                .unwrap()
                .ends_with("sessions revoked, account disabled")
        );
    }
}
