//! What the operator sees while a command works: the bar while a plan reads the tenant,
//! and a run's progress (users, writes a second against the allowed rate, throttling, time
//! left) — indicatif bars on a terminal, a plain line every few seconds otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::engine::run::Progress;
use crate::report;

/// The bar shown while a plan reads `total` users from the tenant.
pub fn reading_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "reading the tenant {bar:30} {pos}/{len} users, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// The progress display: indicatif bars on a terminal, a plain line every few seconds
/// otherwise.
pub struct ProgressDisplay {
    write_rate: f64,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
    last: Progress,
}

impl ProgressDisplay {
    const PLAIN_EVERY: Duration = Duration::from_secs(5);

    pub fn new(write_rate: f64) -> ProgressDisplay {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} users  {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        ProgressDisplay {
            write_rate,
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
            last: Progress::default(),
        }
    }

    fn message(&self, p: &Progress) -> String {
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let remaining = p.writes_total.saturating_sub(p.writes_done);
        format!(
            "{:.1} writes/s of {:.1} allowed, {} throttled (429), about {} left",
            p.writes_done as f64 / elapsed,
            self.write_rate,
            p.throttled,
            report::human_duration(remaining as f64 / self.write_rate.max(0.001))
        )
    }

    pub fn update(&mut self, p: &Progress) {
        self.last = *p;
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.users_total as u64);
                bar.set_position(p.users_done as u64);
                bar.set_message(self.message(p));
            }
            None => {
                if self.last_line.elapsed() >= Self::PLAIN_EVERY {
                    self.last_line = Instant::now();
                    eprintln!(
                        "mfa-reset: {}/{} users, {}",
                        p.users_done,
                        p.users_total,
                        self.message(p)
                    );
                }
            }
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
