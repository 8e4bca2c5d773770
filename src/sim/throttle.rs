//! Entra's identity-and-access throttling, per app and tenant, as Microsoft documents it.
//!
//! Three token buckets (source: `shared/reference/graph-api.md` §5): resource units per app
//! and tenant (3,500 / 5,000 / 8,000 per 10 s by tenant size), writes per app and tenant
//! (3,000 per 150 s), and writes per tenant across all apps (18,000 per 5 min). Every
//! request, and every item of a `$batch`, is admitted on its own. A throttled request
//! still spends its resource units (so hammering a throttled tenant digs the hole
//! deeper), but not a write, since nothing was written. `time_scale` makes every bucket
//! refill that many times faster, which divides every `Retry-After` by the same factor.
//!
//! The emulator also remembers each throttled request's `Retry-After` window, keyed by
//! app, method and URL: the same request arriving again inside it is an *early retry*,
//! counted for `/_sim/stats`, because a client that does that is burning quota.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use crate::wire::TenantSize;

/// The quotas in force. [`Quotas::documented`] gives Microsoft's numbers; tests may
/// shrink them.
#[derive(Debug, Clone, PartialEq)]
pub struct Quotas {
    pub resource_units: f64,
    pub resource_unit_window: Duration,
    pub app_writes: f64,
    pub app_write_window: Duration,
    pub tenant_writes: f64,
    pub tenant_write_window: Duration,
}

impl Quotas {
    pub fn documented(size: TenantSize) -> Quotas {
        use crate::wire::write_quotas::*;
        Quotas {
            resource_units: size.resource_units_per_10s(),
            resource_unit_window: TenantSize::RESOURCE_UNIT_WINDOW,
            app_writes: f64::from(APP_WRITES),
            app_write_window: APP_WINDOW,
            tenant_writes: f64::from(TENANT_WRITES),
            tenant_write_window: TENANT_WINDOW,
        }
    }
}

/// What one request costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub resource_units: u32,
    pub writes: u32,
}

impl Cost {
    /// A write: 1 RU and 1 write.
    pub const WRITE: Cost = Cost {
        resource_units: 1,
        writes: 1,
    };

    /// A read of `base` RU, with Graph's modifiers: `$select` −1, `$expand` +1,
    /// `$top` below 20 −1; never below 1.
    pub fn read(base: u32, select: bool, expand: bool, small_top: bool) -> Cost {
        let mut ru = base as i64;
        if select {
            ru -= 1;
        }
        if expand {
            ru += 1;
        }
        if small_top {
            ru -= 1;
        }
        Cost {
            resource_units: ru.max(1) as u32,
            writes: 0,
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    capacity: f64,
    per_second: f64,
    level: f64,
    updated: Instant,
}

impl Bucket {
    fn new(capacity: f64, window: Duration, time_scale: f64, now: Instant) -> Bucket {
        Bucket {
            capacity,
            per_second: capacity / window.as_secs_f64() * time_scale,
            level: capacity,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
    }

    /// Takes `amount`, letting the level go negative (to at most one bucket's worth).
    fn spend(&mut self, amount: f64) {
        self.level = (self.level - amount).max(-self.capacity);
    }

    /// How long until `amount` is available.
    fn wait_for(&self, amount: f64) -> Duration {
        if self.level >= amount {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((amount - self.level) / self.per_second)
        }
    }

    fn used(&self) -> f64 {
        (self.capacity - self.level) / self.capacity
    }
}

#[derive(Debug)]
struct AppBuckets {
    resource_units: Bucket,
    writes: Bucket,
}

/// Whether a request may go ahead.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Admitted {
        /// Share of the most-used bucket after this request, when above 0.8.
        limit_percentage: Option<f64>,
    },
    Throttled {
        retry_after: Duration,
        /// `<Scope>/<Limit>/<appId>/<tenantId>`.
        scope: String,
        /// `ResourceUnitLimitExceeded` or `WriteLimitExceeded`.
        information: &'static str,
    },
}

/// The outcome of admitting one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    pub verdict: Verdict,
    /// The request arrived inside a `Retry-After` window the emulator gave for it.
    pub early_retry: bool,
    pub resource_units_spent: u32,
    pub writes_spent: u32,
}

/// All throttling state of one emulated tenant.
#[derive(Debug)]
pub struct Throttle {
    enabled: bool,
    quotas: Quotas,
    time_scale: f64,
    tenant_id: String,
    apps: HashMap<String, AppBuckets>,
    tenant_writes: Bucket,
    /// For each throttled request (app, method, URL): until when it was told to wait,
    /// and which HTTP request it arrived in.
    retry_windows: HashMap<String, (Instant, u64)>,
}

impl Throttle {
    pub fn new(enabled: bool, quotas: Quotas, time_scale: f64, tenant_id: String) -> Throttle {
        let now = Instant::now();
        Throttle {
            enabled,
            tenant_writes: Bucket::new(
                quotas.tenant_writes,
                quotas.tenant_write_window,
                time_scale,
                now,
            ),
            quotas,
            time_scale,
            tenant_id,
            apps: HashMap::new(),
            retry_windows: HashMap::new(),
        }
    }

    /// Admits (or throttles) one request of `app` costing `cost`. `request` (method and
    /// URL) identifies the request across retries; `origin` is the HTTP request it came
    /// in, so that two equal items of one batch are not taken for a retry of each other.
    pub fn admit(
        &mut self,
        app: &str,
        cost: Cost,
        request: (&str, &str),
        origin: u64,
        now: Instant,
    ) -> Admission {
        if !self.enabled {
            return Admission {
                verdict: Verdict::Admitted {
                    limit_percentage: None,
                },
                early_retry: false,
                resource_units_spent: cost.resource_units,
                writes_spent: cost.writes,
            };
        }
        let window_key = format!("{app} {} {}", request.0, request.1);
        let early_retry = match self.retry_windows.get(&window_key) {
            Some((until, given_in)) if *until > now => *given_in != origin,
            Some(_) => {
                self.retry_windows.remove(&window_key);
                false
            }
            None => false,
        };
        let (quotas, time_scale) = (&self.quotas, self.time_scale);
        let buckets = self
            .apps
            .entry(app.to_string())
            .or_insert_with(|| AppBuckets {
                resource_units: Bucket::new(
                    quotas.resource_units,
                    quotas.resource_unit_window,
                    time_scale,
                    now,
                ),
                writes: Bucket::new(quotas.app_writes, quotas.app_write_window, time_scale, now),
            });
        buckets.resource_units.refill(now);
        buckets.writes.refill(now);
        self.tenant_writes.refill(now);
        let ru = f64::from(cost.resource_units);
        let writes = f64::from(cost.writes);
        let tenant = &self.tenant_id;
        let throttled = if buckets.resource_units.level < ru {
            buckets.resource_units.spend(ru);
            Some((
                buckets.resource_units.wait_for(ru),
                format!("Tenant_Application/ReadWrite/{app}/{tenant}"),
                "ResourceUnitLimitExceeded",
            ))
        } else if writes > 0.0 && buckets.writes.level < writes {
            buckets.resource_units.spend(ru);
            Some((
                buckets.writes.wait_for(writes),
                format!("Tenant_Application/Write/{app}/{tenant}"),
                "WriteLimitExceeded",
            ))
        } else if writes > 0.0 && self.tenant_writes.level < writes {
            buckets.resource_units.spend(ru);
            Some((
                self.tenant_writes.wait_for(writes),
                format!("Tenant/Write/{app}/{tenant}"),
                "WriteLimitExceeded",
            ))
        } else {
            None
        };
        if let Some((retry_after, scope, information)) = throttled {
            if self.retry_windows.len() > 200_000 {
                self.retry_windows.retain(|_, (until, _)| *until > now);
            }
            self.retry_windows
                .insert(window_key, (now + retry_after, origin));
            return Admission {
                verdict: Verdict::Throttled {
                    retry_after,
                    scope,
                    information,
                },
                early_retry,
                resource_units_spent: cost.resource_units,
                writes_spent: 0,
            };
        }
        buckets.resource_units.spend(ru);
        let mut used = buckets.resource_units.used();
        if writes > 0.0 {
            buckets.writes.spend(writes);
            self.tenant_writes.spend(writes);
            used = used
                .max(buckets.writes.used())
                .max(self.tenant_writes.used());
        }
        Admission {
            verdict: Verdict::Admitted {
                limit_percentage: (used > 0.8).then_some(used.min(1.8)),
            },
            early_retry,
            resource_units_spent: cost.resource_units,
            writes_spent: cost.writes,
        }
    }
}

/// Formats a `Retry-After` as Graph does on batch items: decimal seconds, at most three
/// decimals, never zero.
pub fn format_retry_after(d: Duration) -> String {
    let millis = (d.as_secs_f64() * 1000.0).ceil().max(1.0) as u64;
    let s = format!("{}.{:03}", millis / 1000, millis % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Quotas {
        Quotas {
            resource_units: 10.0,
            resource_unit_window: Duration::from_secs(10),
            app_writes: 3.0,
            app_write_window: Duration::from_secs(150),
            tenant_writes: 5.0,
            tenant_write_window: Duration::from_secs(300),
        }
    }

    #[test]
    fn resource_units_run_out_and_throttled_requests_still_spend() {
        let now = Instant::now();
        let mut t = Throttle::new(true, small(), 1.0, "t".into());
        let read = Cost::read(1, false, false, false);
        for i in 0..10 {
            let a = t.admit("app", read, ("GET", &format!("GET /users/{i}")), 0, now);
            assert!(matches!(a.verdict, Verdict::Admitted { .. }), "{i}");
        }
        let a = t.admit("app", read, ("GET", "GET /users/x"), 0, now);
        let Verdict::Throttled {
            retry_after,
            information,
            ..
        } = a.verdict
        else {
            panic!("expected a 429")
        };
        assert_eq!(information, "ResourceUnitLimitExceeded");
        assert_eq!(a.resource_units_spent, 1);
        // Level is now -1: two RU must refill at 1 RU/s before one request fits.
        assert!(
            (retry_after.as_secs_f64() - 2.0).abs() < 1e-9,
            "{retry_after:?}"
        );
        // The same request in the same batch is not a retry; in a later one, inside its
        // window, it is an early one.
        assert!(
            !t.admit("app", read, ("GET", "GET /users/x"), 0, now)
                .early_retry
        );
        assert!(
            t.admit("app", read, ("GET", "GET /users/x"), 1, now)
                .early_retry
        );
        let later = now + Duration::from_secs(20);
        let a = t.admit("app", read, ("GET", "GET /users/x"), 2, later);
        assert!(!a.early_retry);
        assert!(matches!(a.verdict, Verdict::Admitted { .. }));
    }

    #[test]
    fn app_and_tenant_write_quotas() {
        let now = Instant::now();
        let mut t = Throttle::new(true, small(), 1.0, "t".into());
        for i in 0..3 {
            assert!(matches!(
                t.admit("a", Cost::WRITE, ("GET", &i.to_string()), 0, now)
                    .verdict,
                Verdict::Admitted { .. }
            ));
        }
        let Verdict::Throttled {
            scope, retry_after, ..
        } = t.admit("a", Cost::WRITE, ("GET", "w"), 0, now).verdict
        else {
            panic!()
        };
        assert!(scope.starts_with("Tenant_Application/Write/a/"), "{scope}");
        assert!((retry_after.as_secs_f64() - 50.0).abs() < 1e-6);
        // A second app has its own app quota, but shares the tenant's 5 writes.
        for i in 0..2 {
            assert!(matches!(
                t.admit("b", Cost::WRITE, ("GET", &i.to_string()), 0, now)
                    .verdict,
                Verdict::Admitted { .. }
            ));
        }
        let Verdict::Throttled { scope, .. } =
            t.admit("b", Cost::WRITE, ("GET", "w"), 0, now).verdict
        else {
            panic!()
        };
        assert!(scope.starts_with("Tenant/Write/b/"), "{scope}");
    }

    #[test]
    fn time_scale_divides_retry_after_and_percentage_is_reported_above_80() {
        let now = Instant::now();
        let mut t = Throttle::new(true, small(), 10.0, "t".into());
        let read = Cost::read(1, false, false, false);
        let mut last = None;
        for i in 0..9 {
            last = Some(t.admit("a", read, ("GET", &i.to_string()), 0, now).verdict);
        }
        assert_eq!(
            last,
            Some(Verdict::Admitted {
                limit_percentage: Some(0.9)
            })
        );
        t.admit("a", read, ("GET", "9"), 0, now);
        let Verdict::Throttled { retry_after, .. } =
            t.admit("a", read, ("GET", "x"), 0, now).verdict
        else {
            panic!()
        };
        assert!(
            (retry_after.as_secs_f64() - 0.2).abs() < 1e-9,
            "{retry_after:?}"
        );
    }

    #[test]
    fn costs_and_retry_after_format() {
        assert_eq!(Cost::read(2, true, false, false).resource_units, 1);
        assert_eq!(Cost::read(1, true, false, false).resource_units, 1);
        assert_eq!(Cost::read(1, false, true, false).resource_units, 2);
        assert_eq!(format_retry_after(Duration::from_millis(2128)), "2.128");
        assert_eq!(format_retry_after(Duration::from_secs(10)), "10");
        assert_eq!(format_retry_after(Duration::from_micros(10)), "0.001");
        assert_eq!(format_retry_after(Duration::from_millis(50)), "0.05");
    }
}
