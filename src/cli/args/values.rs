//! Flag values that are library types: `--cloud` ([`Cloud`]), `--tenant-size`
//! ([`TenantSize`]) and `--on-drift` ([`OnDrift`]). The library knows nothing of clap, so each has a mirror here that
//! derives [`ValueEnum`] with the same variants, value names and docs (clap shows a
//! variant's doc as that value's help), and converts both ways; the flags parse with
//! [`cloud_parser`] and [`tenant_size_parser`] straight to the library type.
//!
//! The conversions are exhaustive `match`es in both directions, so a variant added on
//! either side without the other does not compile.

use clap::ValueEnum;
use clap::builder::{EnumValueParser, TypedValueParser};

use crate::engine::settings::OnDrift;
use crate::graph::endpoints::Cloud;
use crate::wire::TenantSize;

/// A [`Cloud`] as a `--cloud` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudValue {
    /// The worldwide service (also GCC moderate tenants).
    #[value(name = "global")]
    Global,
    /// US Government L4 (GCC High).
    #[value(name = "usgov")]
    Usgov,
    /// US Government L5 (DoD).
    #[value(name = "usgov-dod")]
    UsgovDod,
    /// Microsoft Azure operated by 21Vianet (China).
    #[value(name = "china")]
    China,
}

impl From<CloudValue> for Cloud {
    fn from(value: CloudValue) -> Cloud {
        match value {
            CloudValue::Global => Cloud::Global,
            CloudValue::Usgov => Cloud::Usgov,
            CloudValue::UsgovDod => Cloud::UsgovDod,
            CloudValue::China => Cloud::China,
        }
    }
}

impl From<Cloud> for CloudValue {
    fn from(cloud: Cloud) -> CloudValue {
        match cloud {
            Cloud::Global => CloudValue::Global,
            Cloud::Usgov => CloudValue::Usgov,
            Cloud::UsgovDod => CloudValue::UsgovDod,
            Cloud::China => CloudValue::China,
        }
    }
}

/// `--tenant-size` of a command that reaches a tenant: a size, or `auto` (read from the
/// tenant's user count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TenantSizeChoice {
    /// Read the tenant's user count (/users/$count); where the app may not, the small
    /// tenant's quota, the safe one.
    Auto,
    /// Fewer than 50 users: 3,500 RU per 10 s.
    Small,
    /// 50 to 500 users: 5,000 RU per 10 s.
    Medium,
    /// More than 500 users: 8,000 RU per 10 s.
    Large,
}

impl TenantSizeChoice {
    /// The size given, `None` for `auto`.
    pub fn known(self) -> Option<TenantSize> {
        match self {
            TenantSizeChoice::Auto => None,
            TenantSizeChoice::Small => Some(TenantSize::Small),
            TenantSizeChoice::Medium => Some(TenantSize::Medium),
            TenantSizeChoice::Large => Some(TenantSize::Large),
        }
    }
}

impl From<TenantSize> for TenantSizeChoice {
    fn from(size: TenantSize) -> TenantSizeChoice {
        match size {
            TenantSize::Small => TenantSizeChoice::Small,
            TenantSize::Medium => TenantSizeChoice::Medium,
            TenantSize::Large => TenantSizeChoice::Large,
        }
    }
}

/// A [`TenantSize`] as the emulator's `--tenant-size` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TenantSizeValue {
    /// Fewer than 50 users: 3,500 RU per 10 s.
    Small,
    /// 50 to 500 users: 5,000 RU per 10 s.
    Medium,
    /// More than 500 users: 8,000 RU per 10 s.
    Large,
}

impl From<TenantSizeValue> for TenantSize {
    fn from(value: TenantSizeValue) -> TenantSize {
        match value {
            TenantSizeValue::Small => TenantSize::Small,
            TenantSizeValue::Medium => TenantSize::Medium,
            TenantSizeValue::Large => TenantSize::Large,
        }
    }
}

impl From<TenantSize> for TenantSizeValue {
    fn from(size: TenantSize) -> TenantSizeValue {
        match size {
            TenantSize::Small => TenantSizeValue::Small,
            TenantSize::Medium => TenantSizeValue::Medium,
            TenantSize::Large => TenantSizeValue::Large,
        }
    }
}

/// Parses a `--cloud` value to a [`Cloud`], listing the possible values as
/// `value_enum` would.
pub fn cloud_parser() -> impl TypedValueParser<Value = Cloud> {
    EnumValueParser::<CloudValue>::new().map(Cloud::from)
}

/// Parses a `--tenant-size` value to a [`TenantSize`], listing the possible values as
/// `value_enum` would.
pub fn tenant_size_parser() -> impl TypedValueParser<Value = TenantSize> {
    EnumValueParser::<TenantSizeValue>::new().map(TenantSize::from)
}

/// What to do when a user's methods differ from the plan (`--on-drift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OnDriftChoice {
    /// Change nothing for that user; report `drifted`.
    #[default]
    Skip,
    /// Decide again from the methods found now, under the plan's policy, and carry that
    /// out.
    Replan,
}

impl From<OnDriftChoice> for OnDrift {
    fn from(choice: OnDriftChoice) -> OnDrift {
        match choice {
            OnDriftChoice::Skip => OnDrift::Skip,
            OnDriftChoice::Replan => OnDrift::Replan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_values_are_the_clouds_own_names() {
        let names: Vec<String> = CloudValue::value_variants()
            .iter()
            .map(|c| c.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(names, ["global", "usgov", "usgov-dod", "china"]);
        assert_eq!(CloudValue::value_variants().len(), Cloud::ALL.len());
        for (value, cloud) in CloudValue::value_variants().iter().zip(Cloud::ALL) {
            assert_eq!(Cloud::from(*value), cloud);
            assert_eq!(CloudValue::from(cloud), *value);
            assert_eq!(
                cloud.to_string(),
                value.to_possible_value().unwrap().get_name()
            );
            assert_eq!(CloudValue::from_str(cloud.as_str(), false), Ok(*value));
        }
        assert_eq!(Cloud::default(), Cloud::Global);
    }

    #[test]
    fn tenant_size_values_map_to_each_size() {
        let names: Vec<String> = TenantSizeValue::value_variants()
            .iter()
            .map(|s| s.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(names, ["small", "medium", "large"]);
        for (value, size) in TenantSizeValue::value_variants().iter().zip([
            TenantSize::Small,
            TenantSize::Medium,
            TenantSize::Large,
        ]) {
            assert_eq!(TenantSize::from(*value), size);
            assert_eq!(TenantSizeValue::from(size), *value);
            assert_eq!(TenantSizeChoice::from(size).known(), Some(size));
        }
        assert_eq!(TenantSizeChoice::Auto.known(), None);
    }
}
