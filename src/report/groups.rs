//! Rows grouped by what is wrong with them, for the sections of the reports that list
//! problems ("Needs attention" in a plan's, "Failed, partly done or blocked" in a run's):
//! one group per status and reason, with how many rows share it and the first of those
//! rows, so that 300 users blocked for the same reason read as one line with the count
//! 300 and the users behind a fold, not as 300 lines repeating the reason.
//!
//! Like the digests that hold them ([`super::PlanDigest`], [`super::run::RunDigest`]),
//! [`Groups`] is built one row at a time and stays bounded however many rows there are:
//! at most [`MAX_GROUPS`] groups (rows whose reason comes after that many different ones
//! are only counted, in [`Groups::ungrouped`]), and at most [`MAX_GROUPS`] rows kept
//! beyond the first of each group.

use std::collections::HashMap;

/// At most this many groups are kept, and at most this many rows beyond each group's
/// first: as many as a report lists rows in a table.
pub const MAX_GROUPS: usize = super::page::MAX_ROWS;

/// The rows that share one status and one reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Group<T> {
    /// The status, as the reports name it (`blocked`, `failed`, ...).
    pub status: &'static str,
    /// Why, as the rows say it.
    pub reason: String,
    /// How many rows share this status and reason.
    pub count: usize,
    /// The first of them, in row order.
    pub rows: Vec<T>,
}

/// Rows grouped by status and reason, in row order of each group's first row; built with
/// [`Groups::default`], then [`Groups::add`] for each row.
#[derive(Debug, Clone)]
pub struct Groups<T> {
    groups: Vec<Group<T>>,
    /// Index into `groups` by status and reason.
    index: HashMap<(&'static str, String), usize>,
    /// Rows kept beyond each group's first.
    extra: usize,
    /// Rows counted in all.
    pub total: usize,
    /// Rows whose reason came after [`MAX_GROUPS`] others: counted, in no group.
    pub ungrouped: usize,
}

impl<T> Default for Groups<T> {
    fn default() -> Self {
        Groups {
            groups: Vec::new(),
            index: HashMap::new(),
            extra: 0,
            total: 0,
            ungrouped: 0,
        }
    }
}

impl<T: Clone> Groups<T> {
    /// Counts one more row of `status` for `reason`, keeping it while the bounds allow.
    pub fn add(&mut self, status: &'static str, reason: &str, row: &T) {
        self.total += 1;
        if let Some(&at) = self.index.get(&(status, reason.to_string())) {
            let group = &mut self.groups[at];
            group.count += 1;
            if self.extra < MAX_GROUPS {
                self.extra += 1;
                group.rows.push(row.clone());
            }
            return;
        }
        if self.groups.len() == MAX_GROUPS {
            self.ungrouped += 1;
            return;
        }
        self.index
            .insert((status, reason.to_string()), self.groups.len());
        self.groups.push(Group {
            status,
            reason: reason.to_string(),
            count: 1,
            rows: vec![row.clone()],
        });
    }
}

impl<T> Groups<T> {
    /// The groups, the largest first (ties in row order of their first row).
    pub fn largest_first(&self) -> Vec<&Group<T>> {
        let mut groups: Vec<&Group<T>> = self.groups.iter().collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        groups
    }

    /// How many groups there are.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no row was counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sharing_a_status_and_reason_are_one_group_largest_first() {
        let mut g = Groups::default();
        g.add("blocked", "synced", &1);
        g.add("not-found", "no such user", &2);
        g.add("blocked", "synced", &3);
        g.add("error", "synced", &4);
        g.add("blocked", "synced", &5);
        let groups = g.largest_first();
        assert_eq!(groups.len(), 3);
        assert_eq!(g.total, 5);
        assert_eq!(
            (groups[0].status, groups[0].reason.as_str(), groups[0].count),
            ("blocked", "synced", 3)
        );
        assert_eq!(groups[0].rows, [1, 3, 5]);
        // Ties keep the row order of their first row.
        assert_eq!(groups[1].rows, [2]);
        assert_eq!(groups[2].rows, [4]);
    }

    #[test]
    fn groups_and_kept_rows_are_bounded() {
        let mut g = Groups::default();
        for i in 0..MAX_GROUPS + 10 {
            g.add("invalid", &format!("reason {i}"), &i);
        }
        for i in 0..MAX_GROUPS + 10 {
            g.add("invalid", "reason 0", &i);
        }
        assert_eq!(g.len(), MAX_GROUPS);
        assert_eq!(g.ungrouped, 10);
        assert_eq!(g.total, 2 * MAX_GROUPS + 20);
        let first = g.largest_first()[0];
        assert_eq!(first.count, MAX_GROUPS + 11);
        assert_eq!(first.rows.len(), MAX_GROUPS + 1);
    }
}
