//! What the operator sees while a command works: the bar while a plan reads the tenant,
//! and a run's progress (users done and failed, the writes a second over the last few
//! seconds against the write budget, throttling, time elapsed and left) — indicatif bars on
//! a terminal, a plain line every few seconds otherwise. Rates show one decimal at most.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::cli::log::say;
use crate::engine::pacer::Budget;
use crate::engine::run::Progress;
use crate::report;

/// The bar shown while a plan reads `total` users from the tenant.
pub fn reading_bar(total: usize) -> indicatif::ProgressBar {
    // With the JSON log on stderr, nothing but JSON lines goes there.
    if crate::cli::log::stderr_is_json_log() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "reading the tenant {bar:30} {pos}/{len} users, {per_sec:1}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// The writes answered over the last [`RateWindow::SPAN`], from the counts the display is
/// given with the time they were seen (the caller's clock, so tests pass their own).
#[derive(Debug)]
struct RateWindow {
    /// (when, writes done then), oldest first; the first may be older than the span, as
    /// the base the window's writes are counted from.
    samples: VecDeque<(Instant, usize)>,
}

impl RateWindow {
    const SPAN: Duration = Duration::from_secs(5);
    /// Counts seen closer together than this update one sample, so the window holds at
    /// most about 50.
    const GRAIN: Duration = Duration::from_millis(100);

    fn new() -> RateWindow {
        RateWindow {
            samples: VecDeque::new(),
        }
    }

    fn record(&mut self, now: Instant, done: usize) {
        // The first sample stays the base; later ones within a grain of the last merge.
        let merge = self.samples.len() > 1;
        match self.samples.back_mut() {
            Some((at, count)) if merge && now.saturating_duration_since(*at) < Self::GRAIN => {
                *count = done;
            }
            _ => self.samples.push_back((now, done)),
        }
        let cutoff = now.checked_sub(Self::SPAN);
        while self.samples.len() > 1 && cutoff.is_some_and(|c| self.samples[1].0 <= c) {
            self.samples.pop_front();
        }
    }

    /// Writes a second since the window's base, counting at least a second so that the
    /// first answers do not read as thousands a second.
    fn per_second(&self, now: Instant) -> f64 {
        let (Some(&(since, base)), Some(&(_, done))) = (self.samples.front(), self.samples.back())
        else {
            return 0.0;
        };
        let seconds = now
            .saturating_duration_since(since)
            .max(Duration::from_secs(1));
        done.saturating_sub(base) as f64 / seconds.as_secs_f64()
    }
}

/// `x` with one decimal at most, none when it is whole: `20`, `12.3`.
fn one_decimal(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The progress display: an indicatif bar on a terminal, a plain line every few seconds
/// otherwise; nothing until the run knows how many users it has.
pub struct ProgressDisplay {
    writes: Budget,
    terminal: bool,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
    window: RateWindow,
    /// Writes done when the run began (by an earlier run of the plan).
    done_before: Option<usize>,
}

impl ProgressDisplay {
    const PLAIN_EVERY: Duration = Duration::from_secs(5);

    /// A display for a run paced to the write budget `writes`.
    pub fn new(writes: Budget) -> ProgressDisplay {
        // With the JSON log on stderr, the plain line (an event there) replaces the bar.
        let terminal = std::io::stderr().is_terminal() && !crate::cli::log::stderr_is_json_log();
        ProgressDisplay::at(writes, terminal, Instant::now())
    }

    fn at(writes: Budget, terminal: bool, now: Instant) -> ProgressDisplay {
        ProgressDisplay {
            writes,
            terminal,
            bar: None,
            started: now,
            last_line: now,
            window: RateWindow::new(),
            done_before: None,
        }
    }

    /// Takes in `p` as seen at `now`, and says what the display shows after the users'
    /// count.
    fn message(&mut self, p: &Progress, now: Instant) -> String {
        self.window.record(now, p.writes_done);
        let done_before = *self.done_before.get_or_insert(p.writes_done);
        let elapsed = now.saturating_duration_since(self.started);
        let rate = self.window.per_second(now);
        // What the pacer still allows at once: its starting bucket, refilled since the
        // start, less what this run spent; the rest goes at the budget's rate.
        let steady = self.writes.per_second();
        let bucket = f64::from(self.writes.amount);
        let spent = p.writes_done.saturating_sub(done_before) as f64;
        let allowed_now = (bucket + steady * elapsed.as_secs_f64() - spent).min(bucket);
        let remaining = p.writes_total.saturating_sub(p.writes_done) as f64;
        let mut left = (remaining - allowed_now).max(0.0) / steady;
        if rate > 0.0 {
            left = left.max(remaining / rate);
        }
        format!(
            "{} writes/s over the last {} s (budget {} at once, then {}/s), {} failed, {} throttled (429), {} elapsed, about {} left",
            one_decimal(rate),
            RateWindow::SPAN.as_secs(),
            self.writes.amount,
            one_decimal(steady),
            p.users_failed,
            p.throttled,
            report::human_duration(elapsed.as_secs_f64()),
            report::human_duration(left)
        )
    }

    pub fn update(&mut self, p: &Progress) {
        if let Some(line) = self.update_at(p, Instant::now()) {
            say!("{line}");
        }
    }

    /// [`ProgressDisplay::update`] at `now`: the plain line to print, if one is due.
    fn update_at(&mut self, p: &Progress, now: Instant) -> Option<String> {
        // Before the run has counted its users (or with none to run) there is nothing to
        // show: no "0/0 users".
        if p.users_total == 0 {
            return None;
        }
        let message = self.message(p, now);
        if self.terminal {
            let bar = self.bar.get_or_insert_with(|| {
                let bar = indicatif::ProgressBar::new(p.users_total as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} users  {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar.enable_steady_tick(Duration::from_millis(250));
                bar
            });
            bar.set_length(p.users_total as u64);
            bar.set_position(p.users_done as u64);
            bar.set_message(message);
            return None;
        }
        if now.saturating_duration_since(self.last_line) < Self::PLAIN_EVERY {
            return None;
        }
        self.last_line = now;
        Some(format!(
            "mfa-reset: {}/{} users, {message}",
            p.users_done, p.users_total
        ))
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn the_rate_is_over_the_last_five_seconds_not_since_the_start() {
        let t0 = Instant::now();
        let mut w = RateWindow::new();
        w.record(t0, 0);
        // A burst of 3,000 in the first second, then 20 a second for 10 s.
        w.record(at(t0, 1000), 3000);
        for s in 1..=10 {
            w.record(at(t0, 1000 + s * 1000), 3000 + 20 * s as usize);
        }
        let now = at(t0, 11_000);
        // The cumulative average would say (3,200 ÷ 11 s) = 290.9 writes/s.
        assert!(
            (w.per_second(now) - 20.0).abs() < 1e-9,
            "{}",
            w.per_second(now)
        );
        // A stall: nothing answered for 3 s, the rate falls.
        assert!((w.per_second(at(t0, 14_000)) - 100.0 / 8.0).abs() < 1e-9);
        // The window holds a bounded number of samples.
        assert!(w.samples.len() <= 7, "{}", w.samples.len());
        // The first answers count at least a second, not 600 writes in 10 ms.
        let mut fresh = RateWindow::new();
        fresh.record(t0, 0);
        fresh.record(at(t0, 10), 600);
        assert_eq!(fresh.per_second(at(t0, 10)), 600.0);
        assert_eq!(RateWindow::new().per_second(t0), 0.0);
    }

    #[test]
    fn counts_seen_within_a_grain_update_one_sample() {
        let t0 = Instant::now();
        let mut w = RateWindow::new();
        for ms in 0..1000 {
            w.record(at(t0, ms), ms as usize);
        }
        // The base at 0 ms, then one sample a grain from 1 ms on.
        assert_eq!(w.samples.len(), 11);
        assert_eq!(w.samples.back(), Some(&(at(t0, 901), 999)));
    }

    #[test]
    fn rates_have_one_decimal_at_most() {
        assert_eq!(one_decimal(20.0), "20");
        assert_eq!(one_decimal(12.345), "12.3");
        assert_eq!(one_decimal(0.04), "0");
        assert_eq!(one_decimal(1.0 / 3.0), "0.3");
    }

    fn progress(users_done: usize, writes_done: usize) -> Progress {
        Progress {
            users_total: 1000,
            users_done,
            writes_total: 5000,
            writes_done,
            users_failed: 3,
            throttled: 2,
            retried: 0,
        }
    }

    #[test]
    fn the_plain_line_says_the_recent_rate_failures_and_time() {
        let budget: Budget = "3000/150s".parse().unwrap();
        let t0 = Instant::now();
        let mut d = ProgressDisplay::at(budget, false, t0);
        // Before the users are counted: nothing.
        assert_eq!(d.update_at(&Progress::default(), t0), None);
        assert_eq!(
            d.update_at(&progress(0, 0), at(t0, 100)),
            None,
            "not yet due"
        );
        assert_eq!(d.update_at(&progress(600, 3000), at(t0, 2000)), None);
        d.update_at(&progress(600, 3000), at(t0, 4000));
        let line = d.update_at(&progress(620, 3100), at(t0, 9000)).unwrap();
        assert_eq!(
            line,
            "mfa-reset: 620/1000 users, 20 writes/s over the last 5 s (budget 3000 at once, then 20/s), 3 failed, 2 throttled (429), 9 s elapsed, about 1 min 35 s left"
        );
        // The next line waits five seconds.
        assert_eq!(d.update_at(&progress(640, 3200), at(t0, 12_000)), None);
        // Nothing answered for 4 s: 100 writes over the last 7 s.
        let line = d.update_at(&progress(640, 3200), at(t0, 16_000)).unwrap();
        assert!(line.contains(", 14.3 writes/s over the last 5 s"), "{line}");
        assert!(line.contains("16 s elapsed"), "{line}");
    }

    #[test]
    fn a_run_with_nothing_to_do_shows_nothing() {
        let budget: Budget = "3000/150s".parse().unwrap();
        let t0 = Instant::now();
        let mut d = ProgressDisplay::at(budget, false, t0);
        assert_eq!(d.update_at(&Progress::default(), at(t0, 60_000)), None);
        let mut term = ProgressDisplay::at(budget, true, t0);
        assert_eq!(term.update_at(&Progress::default(), at(t0, 60_000)), None);
        assert!(term.bar.is_none(), "no 0/0 bar");
    }
}
