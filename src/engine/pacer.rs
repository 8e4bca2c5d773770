//! Client-side pacing to Entra's identity quotas, so that a bulk run goes as fast as Graph
//! allows and almost never meets a 429.
//!
//! Two `governor` limiters hold the budgets — resource units and writes per app and
//! tenant — and every request takes cells from both in proportion to its cost before it
//! may go into a batch. Unlike adaptive retry in the AWS SDKs, which discovers the rate
//! from throttling, the pacer starts at the documented rate (`--tenant-size`, or
//! `--ru-budget` / `--write-budget`) and only adapts from there: a 429 pauses all traffic
//! until its `Retry-After` and lowers the rate multiplicatively; an
//! `x-ms-throttle-limit-percentage` of 1.0 or more (another app is spending the same
//! tenant's quota) slows it gently; clean answers raise it back additively, never above the budget.
//!
//! Bursts: the write limiter starts with the whole window's budget (3,000 writes, Entra's
//! per-app bucket starts full), so an incident run of up to 3,000 writes is bounded by round
//! trips, not by the steady rate of 20 writes/s. The resource-unit limiter lets one second's
//! worth go at once: reads are plentiful, and a plan that just ran has usually emptied
//! Entra's resource-unit bucket, so bursting it would only meet 429s.
//!
//! Lowering the rate does not rebuild the limiters: at rate factor `f` a request takes
//! `cost / f` cells, which spends the same budget `1 / f` times faster.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

use crate::graph::request::Cost;
use crate::wire::{TenantSize, write_quotas};

/// Cells a limiter holds per unit of cost, so that fractional rates stay exact.
const CELLS_PER_UNIT: f64 = 1000.0;
/// The rate never falls below this share of the budget.
const MIN_FACTOR: f64 = 0.05;
/// Multiplicative decrease on a 429.
const THROTTLED_DECREASE: f64 = 0.7;
/// Multiplicative decrease when Graph says the quota is used up or overrun.
const NEAR_LIMIT_DECREASE: f64 = 0.95;
/// `x-ms-throttle-limit-percentage` at or above which the pacer slows. Graph sends the
/// header from 0.8 on; a run paced at its own budget keeps its bucket nearly empty and
/// sees 0.9 to 1.0 on every write, so slowing below 1.0 would only waste quota (it cost
/// 3 % of the write quota in the end-to-end benchmark). From 1.0 on, something else is
/// spending the same quota and the next request may be throttled.
const NEAR_LIMIT: f64 = 1.0;
/// Additive increase per `CLEAN_STREAK` clean answers.
const INCREASE: f64 = 0.05;
const CLEAN_STREAK: u32 = 20;

/// A quota: `amount` per `per`, written `8000/10s` or `3000/150s` (`ms`, `s`, `m` units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub amount: u32,
    pub per: Duration,
}

impl Budget {
    pub fn per_second(&self) -> f64 {
        f64::from(self.amount) / self.per.as_secs_f64()
    }

    /// The same budget with time running `factor` times faster (for the emulator's
    /// `--time-scale`).
    pub fn scaled(&self, factor: f64) -> Budget {
        Budget {
            amount: self.amount,
            per: self.per.div_f64(factor),
        }
    }
}

/// Why a budget could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "invalid budget {given:?}: {why}; write it as AMOUNT/PERIOD with a unit, like 8000/10s or 3000/150s"
)]
pub struct BudgetError {
    given: String,
    why: &'static str,
}

impl FromStr for Budget {
    type Err = BudgetError;

    fn from_str(s: &str) -> Result<Budget, BudgetError> {
        let err = |why| BudgetError {
            given: s.to_string(),
            why,
        };
        let (amount, period) = s.trim().split_once('/').ok_or_else(|| err("no '/'"))?;
        let amount: u32 = amount
            .trim()
            .parse()
            .map_err(|_| err("the amount is not a whole number"))?;
        if amount == 0 {
            return Err(err("the amount must be at least 1"));
        }
        let period = period.trim();
        let (number, unit) = period
            .find(|c: char| c.is_ascii_alphabetic())
            .map(|i| period.split_at(i))
            .ok_or_else(|| err("the period has no unit"))?;
        let number: f64 = number
            .parse()
            .map_err(|_| err("the period is not a number"))?;
        let seconds = match unit {
            "ms" => number / 1000.0,
            "s" => number,
            "m" | "min" => number * 60.0,
            _ => return Err(err("the unit must be ms, s or m")),
        };
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
            return Err(err("the period must be above zero and at most a day"));
        }
        Ok(Budget {
            amount,
            per: Duration::from_secs_f64(seconds),
        })
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}s", self.amount, self.per.as_secs_f64())
    }
}

/// The budgets the pacer spends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacerSettings {
    pub resource_units: Budget,
    pub writes: Budget,
}

impl PacerSettings {
    /// Microsoft's documented quotas for a tenant of `size`.
    pub fn documented(size: TenantSize) -> PacerSettings {
        PacerSettings {
            resource_units: Budget {
                amount: size.resource_units_per_10s() as u32,
                per: TenantSize::RESOURCE_UNIT_WINDOW,
            },
            writes: Budget {
                amount: write_quotas::APP_WRITES,
                per: write_quotas::APP_WINDOW,
            },
        }
    }
}

type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    governor::middleware::NoOpMiddleware<<DefaultClock as Clock>::Instant>,
>;

struct Adaptive {
    factor: f64,
    paused_until: Option<Instant>,
    clean: u32,
    near_limit: u32,
}

/// Paces requests to the budgets. Shared by every sender of one app.
pub struct Pacer {
    settings: PacerSettings,
    resource_units: Limiter,
    writes: Limiter,
    clock: DefaultClock,
    adaptive: Mutex<Adaptive>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("settings", &self.settings)
            .field("rate_factor", &self.rate_factor())
            .finish_non_exhaustive()
    }
}

/// How much of a budget may go at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Burst {
    /// One second's worth.
    OneSecond,
    /// The whole window (`amount`): Entra's write bucket starts full and holds 3,000.
    WholeWindow,
    /// Half the window: what a run that read nothing before it may spend at once.
    HalfWindow,
}

impl Burst {
    /// Units of `budget` that may go at once.
    fn units(self, budget: Budget) -> f64 {
        let window = f64::from(budget.amount);
        match self {
            // Never more than the window holds (a budget of 8,000 per 0.5 s, as the
            // emulator's --time-scale makes, must not burst 16,000).
            Burst::OneSecond => budget.per_second().min(window),
            Burst::WholeWindow => window,
            Burst::HalfWindow => (window / 2.0).max(budget.per_second().min(window)),
        }
    }
}

impl PacerSettings {
    /// Writes the pacer lets go at once, before the steady rate: the whole write budget.
    pub fn write_burst(&self) -> f64 {
        Burst::WholeWindow.units(self.writes)
    }

    /// Resource units the pacer lets go at once: one second's worth.
    pub fn resource_unit_burst(&self) -> f64 {
        Burst::OneSecond.units(self.resource_units)
    }
}

fn limiter(budget: Budget, burst: Burst, clock: &DefaultClock) -> Limiter {
    let cells_per_second = budget.per_second() * CELLS_PER_UNIT;
    let period = Duration::from_secs_f64(1.0 / cells_per_second).max(Duration::from_nanos(1));
    let allowed = burst.units(budget) * CELLS_PER_UNIT;
    // A request larger than the burst (a costly read, or any request at a low rate
    // factor) is taken in burst-sized pieces by `take`, so no floor is needed here: a
    // budget of 1/1s really lets one write go at once.
    let burst = NonZeroU32::new(allowed.min(f64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period)
        .expect("a positive period")
        .allow_burst(burst);
    RateLimiter::direct_with_clock(quota, clock.clone())
}

impl Pacer {
    pub fn new(settings: PacerSettings) -> Pacer {
        Pacer::with_bursts(settings, Burst::OneSecond)
    }

    /// A pacer for a run that starts with the app's resource-unit bucket nearly full —
    /// nothing but a few listings read before it, as for a containment straight from the
    /// list: half the window's resource units may go at once (the other half is left for
    /// whatever else this app spent in the last window), so that 3,000 revocations are
    /// bound by round trips rather than by 800 resource units a second.
    pub fn fresh(settings: PacerSettings) -> Pacer {
        Pacer::with_bursts(settings, Burst::HalfWindow)
    }

    fn with_bursts(settings: PacerSettings, resource_units: Burst) -> Pacer {
        let clock = DefaultClock::default();
        Pacer {
            resource_units: limiter(settings.resource_units, resource_units, &clock),
            writes: limiter(settings.writes, Burst::WholeWindow, &clock),
            clock,
            settings,
            adaptive: Mutex::new(Adaptive {
                factor: 1.0,
                paused_until: None,
                clean: 0,
                near_limit: 0,
            }),
        }
    }

    pub fn settings(&self) -> PacerSettings {
        self.settings
    }

    /// The share of the budget the pacer currently allows (1.0 = all of it).
    pub fn rate_factor(&self) -> f64 {
        self.adaptive.lock().expect("pacer lock").factor
    }

    /// Waits while a 429's `Retry-After` holds all traffic back.
    pub async fn wait_while_paused(&self) {
        loop {
            let paused_until = self.adaptive.lock().expect("pacer lock").paused_until;
            match paused_until {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await
                }
                _ => break,
            }
        }
    }

    /// Waits until a request of `cost` may be sent, and spends its cost.
    pub async fn acquire(&self, cost: Cost) {
        self.wait_while_paused().await;
        let factor = self.rate_factor();
        self.take(&self.resource_units, cost.resource_units, factor)
            .await;
        self.take(&self.writes, cost.writes, factor).await;
    }

    async fn take(&self, limiter: &Limiter, units: u32, factor: f64) {
        if units == 0 {
            return;
        }
        let cells = (f64::from(units) * CELLS_PER_UNIT / factor).ceil();
        let cells =
            NonZeroU32::new(cells.min(f64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN);
        loop {
            match limiter.check_n(cells) {
                Ok(Ok(())) => return,
                Ok(Err(not_until)) => {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
                // More than the burst at once: take it in burst-sized pieces.
                Err(governor::InsufficientCapacity(max)) => {
                    let mut left = cells.get();
                    while left > 0 {
                        let piece = NonZeroU32::new(left.min(max)).unwrap_or(NonZeroU32::MIN);
                        while let Ok(Err(not_until)) = limiter.check_n(piece) {
                            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                        }
                        left -= piece.get();
                    }
                    return;
                }
            }
        }
    }

    /// A 429: no request goes before `retry_after` has passed, and the rate drops.
    pub fn on_throttled(&self, retry_after: Duration) {
        let mut a = self.adaptive.lock().expect("pacer lock");
        let until = Instant::now() + retry_after;
        // One throttling episode lowers the rate once, however many items it hit.
        let new_episode = a.paused_until.is_none_or(|p| p <= Instant::now());
        if a.paused_until.is_none_or(|p| p < until) {
            a.paused_until = Some(until);
        }
        if new_episode {
            a.factor = (a.factor * THROTTLED_DECREASE).max(MIN_FACTOR);
            tracing::warn!(
                retry_after_ms = retry_after.as_millis() as u64,
                rate_factor = a.factor,
                "throttled by Graph (429): pausing and slowing down"
            );
        }
        a.clean = 0;
    }

    /// A successful answer, with the `x-ms-throttle-limit-percentage` Graph gave, if any.
    pub fn on_success(&self, limit_percentage: Option<f64>) {
        let mut a = self.adaptive.lock().expect("pacer lock");
        if limit_percentage.is_some_and(|p| p >= NEAR_LIMIT) {
            a.clean = 0;
            a.near_limit += 1;
            // Gently, at most once per streak of warnings, not once per item.
            if a.near_limit >= CLEAN_STREAK / 4 {
                a.near_limit = 0;
                a.factor = (a.factor * NEAR_LIMIT_DECREASE).max(MIN_FACTOR);
            }
        } else {
            a.clean += 1;
            if a.clean >= CLEAN_STREAK {
                a.clean = 0;
                a.factor = (a.factor + INCREASE).min(1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_read_as_amount_over_period() {
        assert_eq!(
            "8000/10s".parse::<Budget>(),
            Ok(Budget {
                amount: 8000,
                per: Duration::from_secs(10)
            })
        );
        assert_eq!(
            "3000/2.5m".parse::<Budget>().unwrap().per,
            Duration::from_secs(150)
        );
        assert_eq!("20/500ms".parse::<Budget>().unwrap().per_second(), 40.0);
        for bad in ["8000", "0/10s", "x/10s", "10/10", "10/0s", "10/3h"] {
            let e = bad.parse::<Budget>().unwrap_err().to_string();
            assert!(e.contains("like 8000/10s"), "{bad}: {e}");
        }
        let large = PacerSettings::documented(TenantSize::Large);
        assert_eq!(large.resource_units.per_second(), 800.0);
        assert_eq!(large.writes.per_second(), 20.0);
        let scaled = PacerSettings {
            resource_units: "8000/500ms".parse().unwrap(),
            writes: "20/1s".parse().unwrap(),
        };
        assert_eq!(
            scaled.resource_unit_burst(),
            8000.0,
            "never more than the window"
        );
        assert_eq!(scaled.write_burst(), 20.0);
    }

    #[test]
    fn the_whole_write_window_may_go_at_once_but_only_a_second_of_resource_units() {
        let pacer = Pacer::new(PacerSettings::documented(TenantSize::Large));
        let one = NonZeroU32::new(CELLS_PER_UNIT as u32).unwrap();
        let granted = |limiter: &Limiter, tries: u32| {
            (0..tries)
                .filter(|_| matches!(limiter.check_n(one), Ok(Ok(()))))
                .count()
        };
        // Entra's write bucket holds 3,000 and starts full: an incident run of up to 3,000
        // writes need not wait for the steady 20 a second. Refilling only adds, so at
        // least 3,000 are granted; 1,000 more would take 50 s of refill.
        let writes = granted(&pacer.writes, 4000);
        assert!((3000..3500).contains(&writes), "{writes} writes granted");
        // What the plan's estimate counts as going at once is what the limiters grant.
        assert_eq!(pacer.settings().write_burst(), 3000.0);
        assert_eq!(pacer.settings().resource_unit_burst(), 800.0);
        // Resource units: one second's worth (800 for a large tenant), not the 8,000.
        let units = granted(&pacer.resource_units, 4000);
        assert!(
            (800..3000).contains(&units),
            "{units} resource units granted"
        );
    }

    #[test]
    fn a_fresh_pacer_lets_half_the_resource_unit_window_go_at_once() {
        let pacer = Pacer::fresh(PacerSettings::documented(TenantSize::Large));
        let one = NonZeroU32::new(CELLS_PER_UNIT as u32).unwrap();
        let granted = |limiter: &Limiter, tries: u32| {
            (0..tries)
                .filter(|_| matches!(limiter.check_n(one), Ok(Ok(()))))
                .count()
        };
        // 4,000 of the 8,000 a large tenant's app may spend in 10 s: 3,000 revocations
        // straight from a list go at once, with room for the listings before them.
        let units = granted(&pacer.resource_units, 6000);
        assert!(
            (4000..4500).contains(&units),
            "{units} resource units granted"
        );
        let writes = granted(&pacer.writes, 4000);
        assert!((3000..3500).contains(&writes), "{writes} writes granted");
        // A budget smaller than a second's worth a window keeps its second.
        assert_eq!(
            Burst::HalfWindow.units("8000/500ms".parse().unwrap()),
            8000.0
        );
    }

    #[test]
    fn throttling_lowers_the_rate_once_per_episode_and_clean_traffic_raises_it() {
        let pacer = Pacer::new(PacerSettings::documented(TenantSize::Large));
        pacer.on_throttled(Duration::from_secs(5));
        pacer.on_throttled(Duration::from_secs(6));
        assert!((pacer.rate_factor() - THROTTLED_DECREASE).abs() < 1e-9);
        for _ in 0..CLEAN_STREAK * 2 {
            pacer.on_success(None);
        }
        assert!((pacer.rate_factor() - (THROTTLED_DECREASE + 2.0 * INCREASE)).abs() < 1e-9);
        for _ in 0..CLEAN_STREAK * 100 {
            pacer.on_success(None);
        }
        assert_eq!(pacer.rate_factor(), 1.0, "never above the budget");
        // A bucket nearly used up by this run's own pacing is no reason to slow.
        for _ in 0..CLEAN_STREAK * 10 {
            pacer.on_success(Some(0.97));
        }
        assert_eq!(pacer.rate_factor(), 1.0);
        for _ in 0..CLEAN_STREAK {
            pacer.on_success(Some(1.1));
        }
        assert!(pacer.rate_factor() < 1.0);
        assert!(pacer.rate_factor() > 0.8, "gently: {}", pacer.rate_factor());
    }

    #[tokio::test]
    async fn a_paused_pacer_waits_for_retry_after() {
        let pacer = Pacer::new(PacerSettings::documented(TenantSize::Large));
        pacer.on_throttled(Duration::from_millis(200));
        let started = Instant::now();
        pacer.acquire(Cost::WRITE).await;
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
