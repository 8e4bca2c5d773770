//! How long a plan's run takes, about: the least time the client's pacer lets its requests
//! go (`plan.json`'s `minimumSeconds`, "about N s" on the terminal and in the reports),
//! plus the round trips.
//!
//! The pacer ([`crate::engine::pacer`]) lets the whole write budget go at once (Entra's
//! per-app bucket of 3,000 starts full), then the budget's steady rate (20 a second); it
//! lets one second's worth of resource units go at once, then their rate. So the `W`
//! writes of a run take `max(0, W − burst) ÷ rate` of pacing, and likewise its resource
//! units: one per write and one per read `apply` makes of a user with changes — the re-read
//! before their first change and the verification after their removals, as many as the
//! policy needs ([`reads_per_user`]: one for revoking alone, four for a device refresh,
//! five for offboarding). The tenant-wide 18,000 writes per 5 minutes bounds the same way
//! when a `--write-budget` above it is given (the pacer does not know of it; Graph would
//! throttle). The largest of these is the pacing time.
//!
//! Round trips: the run's items go in batches of 20, `--max-in-flight` at once, so they
//! need `⌈⌈items ÷ 20⌉ ÷ in flight⌉` round trips. They overlap with the pacing (batches
//! leave while the pacer waits), so the estimate is the larger of the two, plus one round
//! trip for the last answer. The round trip is the mean the plan itself measured while it
//! read the tenant (a few milliseconds against the emulator, far more against Graph), or
//! [`DEFAULT_ROUND_TRIP`] when it posted no batch.
//!
//! It is an estimate, not a bound: the reads counted follow the policy, not each user's
//! steps (nor `--no-verify`), retries and throttling add time, and the re-read's and the writes'
//! round trips may differ from the plan's reads. Nor does it count the process's own
//! start, journal and reports (0.1 to 0.2 s: a 100-user run estimated at 0.03 s took 0.21 s).

use std::time::Duration;

use super::pacer::PacerSettings;
use crate::policy::Policy;
use crate::wire::{MAX_BATCH_ITEMS, write_quotas};

/// Reads of a user with changes in a device refresh: the re-read before their first change
/// (directory roles, methods, hardware OATH tokens; `engine::run::recheck`) and the
/// verification after their removals (`engine::run::verify`), one resource unit each. A
/// device-refresh of 1,000 emulated users read 4.04 a user with writes.
pub const READS_PER_USER: usize = 4;

/// The reads `apply` makes of each user with changes under `policy`, as the re-read and
/// the verification decide them: the account when it is disabled or given a pass; the
/// roles when admins are protected; the methods and hardware OATH tokens, and the
/// verification's list of methods, when methods are removed; the account alone when
/// nothing else is read. `--no-verify` (an `apply` flag) would read one less.
pub fn reads_per_user(policy: &Policy) -> usize {
    let account = usize::from(policy.disable_account() || policy.tap().is_some());
    let roles = usize::from(!policy.include_admins());
    let methods = if policy.reads_methods() { 2 + 1 } else { 0 };
    (account + roles + methods).max(1)
}

/// The round trip counted when the plan measured none (it posted no batch).
pub const DEFAULT_ROUND_TRIP: Duration = Duration::from_millis(500);

/// What a run's time is counted from: the budgets the pacer spends, the batches in
/// flight, and a batch's round trip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub budgets: PacerSettings,
    /// Reads of each user with changes ([`reads_per_user`]).
    pub reads_per_user: usize,
    pub max_in_flight: usize,
    pub round_trip: Duration,
}

impl Pace {
    /// About how many seconds `writes` Graph writes for `users` users take.
    pub fn seconds(&self, writes: usize, users: usize) -> f64 {
        if writes == 0 {
            return 0.0;
        }
        let writes = writes as f64;
        let items = writes + (users * self.reads_per_user) as f64;
        // Time to spend `need` from a bucket that starts with `burst` and refills `rate`.
        let drained = |need: f64, burst: f64, rate: f64| (need - burst).max(0.0) / rate;
        let b = &self.budgets;
        let app = drained(writes, b.write_burst(), b.writes.per_second());
        let tenant_writes = f64::from(write_quotas::TENANT_WRITES);
        let tenant = drained(
            writes,
            tenant_writes,
            tenant_writes / write_quotas::TENANT_WINDOW.as_secs_f64(),
        );
        let units = drained(
            items,
            b.resource_unit_burst(),
            b.resource_units.per_second(),
        );
        let batches = (items / MAX_BATCH_ITEMS as f64).ceil();
        let rounds = (batches / self.max_in_flight.max(1) as f64).ceil();
        let round_trip = self.round_trip.as_secs_f64();
        app.max(tenant).max(units).max(rounds * round_trip) + round_trip
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pacer::Budget;
    use crate::wire::TenantSize;

    fn pace(writes: &str, resource_units: &str, round_trip_ms: u64) -> Pace {
        Pace {
            budgets: PacerSettings {
                resource_units: resource_units.parse().unwrap(),
                writes: writes.parse().unwrap(),
            },
            reads_per_user: READS_PER_USER,
            max_in_flight: 8,
            round_trip: Duration::from_millis(round_trip_ms),
        }
    }

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-9, "{got} s, not {want} s");
    }

    #[test]
    fn the_starting_write_bucket_goes_at_once_and_the_rest_at_the_steady_rate() {
        // Resource units and round trips out of the way: the write bucket alone.
        let p = pace("3000/150s", "1000000000/1s", 0);
        close(p.seconds(0, 0), 0.0);
        close(p.seconds(1, 1), 0.0);
        close(p.seconds(2_999, 1_500), 0.0);
        close(p.seconds(3_000, 1_500), 0.0);
        close(p.seconds(3_001, 1_501), 1.0 / 20.0);
        close(p.seconds(10_000, 5_000), 7_000.0 / 20.0);
        // Not writes ÷ 20 (the old "at least 50 s" for 1,000 writes).
        close(p.seconds(1_000, 700), 0.0);
        // A custom budget: its amount at once, then its rate (1,000 per 100 s = 10/s).
        let custom = pace("1000/100s", "1000000000/1s", 0);
        close(custom.seconds(1_000, 500), 0.0);
        close(custom.seconds(3_001, 1_501), 2_001.0 / 10.0);
        close(custom.seconds(10_000, 5_000), 900.0);
        // One write a minute: all but the first wait a minute each.
        close(pace("1/60s", "1000000000/1s", 0).seconds(11, 11), 600.0);
    }

    #[test]
    fn the_tenant_wide_write_quota_binds_above_the_app_budget() {
        // 100,000 writes a minute allowed by the flag; Entra's 18,000 per 5 min still holds.
        let p = pace("100000/60s", "1000000000/1s", 0);
        close(p.seconds(18_000, 9_000), 0.0);
        close(p.seconds(30_000, 15_000), 12_000.0 / 60.0);
    }

    #[test]
    fn resource_units_and_round_trips_count_too() {
        // The 1,000-user device-refresh of the e2e bench: 1,348 writes for 787 users, a
        // large tenant (800 resource units a second, one second's worth at once), 5 ms a
        // round trip. 1,348 + 4 × 787 = 4,496 items: (4,496 − 800) ÷ 800 = 4.62 s of
        // resource units, against 29 round trips (225 batches ÷ 8) = 0.145 s.
        let large = Pace {
            budgets: PacerSettings::documented(TenantSize::Large),
            reads_per_user: READS_PER_USER,
            max_in_flight: 8,
            round_trip: Duration::from_millis(5),
        };
        close(large.seconds(1_348, 787), 3_696.0 / 800.0 + 0.005);
        // Round trips bound a run the budgets do not: revoking 1,000 users' sessions (and
        // their re-reads) at 100 ms a round trip: 5,000 items = 250 batches = 32 round
        // trips, 3.2 s, plus the last answer; the resource units take (5,000 − 800) ÷ 800.
        let slow = Pace {
            round_trip: Duration::from_millis(100),
            ..large
        };
        close(slow.seconds(1_000, 1_000), 5.25 + 0.1);
        let fast_budgets = Pace {
            budgets: PacerSettings {
                resource_units: Budget {
                    amount: 1_000_000,
                    per: Duration::from_secs(1),
                },
                ..large.budgets
            },
            ..slow
        };
        close(fast_budgets.seconds(1_000, 1_000), 3.2 + 0.1);
        // One write still waits for its answer.
        close(slow.seconds(1, 1), 0.2);
        // Revoking only re-reads the roles: 1,000 writes and 1,000 reads, 2,000 items
        // = 100 batches = 13 round trips, 1.3 s; the resource units (2,000 − 800) ÷ 800.
        let revoke_only = Pace {
            reads_per_user: 1,
            ..slow
        };
        close(revoke_only.seconds(1_000, 1_000), 1.5 + 0.1);
    }

    fn policy(flags: crate::policy::PolicyArgs) -> Policy {
        flags.into_policy().expect("a valid policy")
    }

    #[test]
    fn the_reads_follow_what_the_policy_reads_again_and_verifies() {
        use crate::policy::{PolicyArgs, Profile};
        let profile = |p: Profile| PolicyArgs {
            profile: Some(p),
            ..PolicyArgs::default()
        };
        // Roles, methods, hardware tokens, and the verification's methods.
        assert_eq!(reads_per_user(&policy(profile(Profile::DeviceRefresh))), 4);
        assert_eq!(reads_per_user(&policy(profile(Profile::Incident))), 4);
        // Offboarding also reads the account it disables.
        assert_eq!(reads_per_user(&policy(profile(Profile::Offboard))), 5);
        // Revoking alone re-reads the roles only; with --include-admins, the account.
        let revoke = |include_admins| PolicyArgs {
            revoke_sessions: true,
            include_admins,
            ..PolicyArgs::default()
        };
        assert_eq!(reads_per_user(&policy(revoke(false))), 1);
        assert_eq!(reads_per_user(&policy(revoke(true))), 1);
        // A pass alone: the account and the roles (its methods are not read).
        let pass = PolicyArgs {
            issue_tap: true,
            ..PolicyArgs::default()
        };
        assert_eq!(reads_per_user(&policy(pass)), 2);
    }
}
