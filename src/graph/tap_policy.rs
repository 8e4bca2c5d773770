//! The tenant's Temporary Access Pass policy as Graph shows it
//! (`temporaryAccessPassAuthenticationMethodConfiguration`, read from
//! `/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass`):
//! whether passes may be created at all, the lifetimes they may have, and whether they
//! must be one-time. Graph refuses a pass outside it with `400 badRequest`, one user at a
//! time; reading it first lets a plan be refused once, before anything is read or changed
//! (`shared/reference/graph-api.md` §2.5).

use serde_json::Value;

/// The parts of the tenant's TAP policy that decide whether a pass can be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantTapPolicy {
    /// `state`: passes can be created only while the policy is enabled.
    pub enabled: bool,
    /// The lifetime of a pass created without one, in minutes.
    pub default_lifetime_minutes: Option<u32>,
    /// The shortest and longest lifetime a pass may have, in minutes.
    pub minimum_lifetime_minutes: u32,
    pub maximum_lifetime_minutes: u32,
    /// `isUsableOnce`: every pass must be one-time; a multi-use pass is refused.
    pub one_time_only: bool,
}

impl TenantTapPolicy {
    /// Reads Graph's answer; `Err` says what is missing or malformed.
    pub fn from_graph(body: &Value) -> Result<TenantTapPolicy, String> {
        let minutes = |name: &str| -> Result<Option<u32>, String> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| format!("{name} is not a number of minutes")),
            }
        };
        let required = |name: &str| minutes(name)?.ok_or_else(|| format!("it gives no {name}"));
        let enabled = match body.get("state").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("enabled") => true,
            Some(s) if s.eq_ignore_ascii_case("disabled") => false,
            _ => return Err("its state is neither enabled nor disabled".into()),
        };
        let one_time_only = match body.get("isUsableOnce") {
            None | Some(Value::Null) => false,
            Some(v) => v.as_bool().ok_or("isUsableOnce is not true or false")?,
        };
        Ok(TenantTapPolicy {
            enabled,
            default_lifetime_minutes: minutes("defaultLifetimeInMinutes")?,
            minimum_lifetime_minutes: required("minimumLifetimeInMinutes")?,
            maximum_lifetime_minutes: required("maximumLifetimeInMinutes")?,
            one_time_only,
        })
    }

    /// Whether a pass of `minutes` is within the policy's range.
    pub fn allows_lifetime(&self, minutes: u32) -> bool {
        (self.minimum_lifetime_minutes..=self.maximum_lifetime_minutes).contains(&minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graphs_documented_answer_is_read() {
        let body = json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": "enabled",
            "defaultLifetimeInMinutes": 60,
            "defaultLength": 8,
            "minimumLifetimeInMinutes": 60,
            "maximumLifetimeInMinutes": 480,
            "isUsableOnce": false,
            "includeTargets": [{"targetType": "group", "id": "all_users"}],
        });
        let p = TenantTapPolicy::from_graph(&body).unwrap();
        assert_eq!(
            p,
            TenantTapPolicy {
                enabled: true,
                default_lifetime_minutes: Some(60),
                minimum_lifetime_minutes: 60,
                maximum_lifetime_minutes: 480,
                one_time_only: false,
            }
        );
        assert!(p.allows_lifetime(60) && p.allows_lifetime(480));
        assert!(!p.allows_lifetime(59) && !p.allows_lifetime(481));
    }

    #[test]
    fn an_answer_without_the_range_or_state_is_not_a_policy() {
        for body in [
            json!({"state": "enabled", "minimumLifetimeInMinutes": 60}),
            json!({"minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480}),
            json!({"state": "on", "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480}),
            json!({"state": "enabled", "minimumLifetimeInMinutes": -1, "maximumLifetimeInMinutes": 480}),
            json!({"state": "enabled", "minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480, "isUsableOnce": "yes"}),
        ] {
            assert!(TenantTapPolicy::from_graph(&body).is_err(), "{body}");
        }
        let p = TenantTapPolicy::from_graph(&json!({
            "state": "Disabled", "minimumLifetimeInMinutes": 10, "maximumLifetimeInMinutes": 43200
        }))
        .unwrap();
        assert!(!p.enabled && !p.one_time_only);
        assert_eq!(p.default_lifetime_minutes, None);
    }
}
