//! `#[serde(with = ...)]` helpers for the plan's JSON: a [`MethodType`] as its short name
//! (alone or in a list) and an optional [`PhoneType`] as its wire value.
//!
//! [`MethodType`]: crate::wire::MethodType
//! [`PhoneType`]: crate::wire::PhoneType

/// Serde for a [`MethodType`](crate::wire::MethodType) as its short name.
pub(crate) mod method_type_name {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::wire::MethodType;

    /// Writes the short name.
    pub fn serialize<S: Serializer>(kind: &MethodType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.short_name())
    }

    /// Reads a short name: a known type's, or `unknown` for a method whose type this tool
    /// does not know (a snapshot's or a step's, never a policy's).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MethodType, D::Error> {
        let name = String::deserialize(d)?;
        if name == MethodType::Unknown.short_name() {
            return Ok(MethodType::Unknown);
        }
        by_short_name(&name)
            .ok_or_else(|| D::Error::custom(format!("unknown method type {name:?}")))
    }

    /// The type with this exact short name.
    pub fn by_short_name(name: &str) -> Option<MethodType> {
        MethodType::ALL.into_iter().find(|t| t.short_name() == name)
    }
}

/// Serde for a list of [`MethodType`](crate::wire::MethodType)s as short names.
pub(super) mod method_type_list {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::wire::MethodType;

    /// Writes the short names.
    pub fn serialize<S: Serializer>(kinds: &[MethodType], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(kinds.iter().map(|k| k.short_name()))
    }

    /// Reads short names.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MethodType>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|name| {
                super::method_type_name::by_short_name(name)
                    .ok_or_else(|| D::Error::custom(format!("unknown method type {name:?}")))
            })
            .collect()
    }
}

/// Serde for an optional [`PhoneType`](crate::wire::PhoneType) as its wire value.
pub(super) mod phone_type_opt {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::wire::PhoneType;

    /// Writes the wire value or null.
    pub fn serialize<S: Serializer>(phone: &Option<PhoneType>, s: S) -> Result<S::Ok, S::Error> {
        match phone {
            Some(p) => s.serialize_some(p.as_str()),
            None => s.serialize_none(),
        }
    }

    /// Reads a wire value or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PhoneType>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|v| {
                PhoneType::parse(&v)
                    .ok_or_else(|| D::Error::custom(format!("unknown phone type {v:?}")))
            })
            .transpose()
    }
}
