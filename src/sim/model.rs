//! The emulator's tenant model: users and their authentication methods, the tenant's
//! Temporary Access Pass policy ([`TapPolicy`]), and the portable tenant-file format
//! (`{"tenantId", "users": [...], "temporaryAccessPassPolicy": {...}}`) they load from and
//! dump to.
//!
//! Methods are held typed and compact (a tenant of a million generated users must fit in
//! memory), and rendered Graph-shaped — `@odata.type` plus the fields Microsoft documents
//! for each type — both in API answers and in tenant files. Fields the model does not
//! know are kept in `extra` so that a tenant file survives a load and dump unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::wire::{MethodType, PhoneType, fixed_ids};

/// One registered authentication method.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    pub id: String,
    pub kind: MethodType,
    /// Device or key name (Authenticator, FIDO2, Windows Hello, platform credential).
    pub display_name: Option<String>,
    /// When it was registered, as Graph writes it (RFC 3339). Authenticator methods often
    /// have none.
    pub created_date_time: Option<String>,
    /// Phone methods: the number, as Graph formats it (`+1 5555551234`).
    pub phone_number: Option<String>,
    /// Phone methods: mobile, alternateMobile or office.
    pub phone_type: Option<PhoneType>,
    /// Email methods: the address.
    pub email_address: Option<String>,
    /// Every other Graph field, kept as loaded.
    pub extra: Option<Box<Map<String, Value>>>,
}

impl Method {
    /// A method of `kind` with only an id.
    pub fn new(kind: MethodType, id: impl Into<String>) -> Self {
        Method {
            id: id.into(),
            kind,
            display_name: None,
            created_date_time: None,
            phone_number: None,
            phone_type: None,
            email_address: None,
            extra: None,
        }
    }

    /// The password method, with its fixed id.
    pub fn password() -> Self {
        Method::new(MethodType::Password, fixed_ids::PASSWORD)
    }

    /// A phone method of `phone_type` with its fixed id.
    pub fn phone(phone_type: PhoneType, number: impl Into<String>) -> Self {
        let mut m = Method::new(MethodType::Phone, phone_type.method_id());
        m.phone_type = Some(phone_type);
        m.phone_number = Some(number.into());
        m
    }

    /// The method as Graph returns it: `@odata.type`, `id` and the documented fields of
    /// its type. Secrets (a password, a TAP's pass, an OATH secret key) are always null,
    /// as Graph reads them back.
    pub fn to_graph_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("@odata.type".into(), json!(self.kind.odata_type()));
        o.insert("id".into(), json!(self.id));
        let created = json!(self.created_date_time);
        let name = json!(self.display_name);
        match self.kind {
            MethodType::Password => {
                o.insert("password".into(), Value::Null);
                o.insert("createdDateTime".into(), created);
            }
            MethodType::Phone => {
                o.insert("phoneNumber".into(), json!(self.phone_number));
                o.insert(
                    "phoneType".into(),
                    json!(self.phone_type.map(PhoneType::as_str)),
                );
                o.insert("smsSignInState".into(), json!("notSupported"));
            }
            MethodType::MicrosoftAuthenticator => {
                o.insert("displayName".into(), name);
                o.insert("deviceTag".into(), json!("SoftwareTokenActivated"));
                o.insert("phoneAppVersion".into(), json!("6.2401.0119"));
                o.insert("createdDateTime".into(), created);
            }
            MethodType::SoftwareOath => {
                o.insert("secretKey".into(), Value::Null);
            }
            MethodType::Fido2 => {
                o.insert("displayName".into(), name);
                o.insert("createdDateTime".into(), created);
                o.insert(
                    "aaGuid".into(),
                    json!("cb69481e-8ff7-4039-93ec-0a2729a154a8"),
                );
                o.insert("model".into(), json!("YubiKey 5 Series"));
                o.insert("attestationCertificates".into(), json!([]));
                o.insert("attestationLevel".into(), json!("attested"));
            }
            MethodType::WindowsHelloForBusiness => {
                o.insert("displayName".into(), name);
                o.insert("createdDateTime".into(), created);
                o.insert("keyStrength".into(), json!("normal"));
            }
            MethodType::Email => {
                o.insert("emailAddress".into(), json!(self.email_address));
            }
            MethodType::TemporaryAccessPass => {
                o.insert("temporaryAccessPass".into(), Value::Null);
                o.insert("createdDateTime".into(), created);
            }
            MethodType::PlatformCredential => {
                o.insert("displayName".into(), name);
                o.insert("createdDateTime".into(), created);
                o.insert("keyStrength".into(), json!("normal"));
                o.insert("platform".into(), json!("macOS"));
            }
            MethodType::HardwareOath => {
                // Beta only; the token itself (serial number, manufacturer) is the
                // `device` navigation, not expanded here.
                o.insert("displayName".into(), name);
                o.insert("createdDateTime".into(), created);
            }
            MethodType::External => {
                o.insert("displayName".into(), name);
                o.insert("createdDateTime".into(), created);
                o.insert(
                    "configurationId".into(),
                    json!("f3b9f8a2-1a4e-4c6b-9d1e-6e1f2a3b4c5d"),
                );
            }
            MethodType::QrCodePin | MethodType::Unknown => {
                // A method of a type the emulator does not model keeps its own
                // `@odata.type` among the extra fields, which override the one above.
                o.insert("createdDateTime".into(), created);
            }
        }
        if let Some(extra) = &self.extra {
            for (k, v) in extra.iter() {
                o.insert(k.clone(), v.clone());
            }
        }
        for secret_field in ["password", "temporaryAccessPass", "secretKey"] {
            if o.contains_key(secret_field) {
                o.insert(secret_field.into(), Value::Null);
            }
        }
        Value::Object(o)
    }

    /// Reads a Graph-shaped method object (as in a tenant file).
    pub fn from_graph_json(value: &Value) -> Result<Method, String> {
        let obj = value
            .as_object()
            .ok_or_else(|| "a method must be a JSON object".to_string())?;
        let odata = obj
            .get("@odata.type")
            .and_then(Value::as_str)
            .ok_or_else(|| "a method needs an \"@odata.type\" string".to_string())?;
        // A type newer than this tool (`#microsoft.graph.somethingAuthenticationMethod`)
        // is held as it is, to test how a client treats a method it does not know.
        let newer =
            odata.starts_with("#microsoft.graph.") && odata.ends_with("AuthenticationMethod");
        let kind = match MethodType::from_odata_type(odata) {
            Some(kind) => kind,
            None if newer => MethodType::Unknown,
            None => {
                return Err(format!(
                    "unknown \"@odata.type\" {odata:?}; expected one of: {} (or a newer \"#microsoft.graph.…AuthenticationMethod\")",
                    MethodType::ALL.map(|t| t.odata_type()).join(", ")
                ));
            }
        };
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| "a method needs a non-empty \"id\" string".to_string())?;
        let mut m = Method::new(kind, id);
        let text = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_string);
        m.display_name = text("displayName");
        m.created_date_time = text("createdDateTime").or_else(|| text("creationDateTime"));
        m.phone_number = text("phoneNumber");
        m.email_address = text("emailAddress");
        if kind == MethodType::Phone {
            let phone_type = text("phoneType")
                .ok_or_else(|| "a phone method needs \"phoneType\"".to_string())?;
            let phone_type = PhoneType::parse(&phone_type).ok_or_else(|| {
                format!("\"phoneType\" {phone_type:?} is not mobile, alternateMobile or office")
            })?;
            if !phone_type.method_id().eq_ignore_ascii_case(id) {
                return Err(format!(
                    "a {} phone has the fixed id {}, not {id:?}",
                    phone_type.as_str(),
                    phone_type.method_id()
                ));
            }
            m.phone_type = Some(phone_type);
        }
        // Fields held typed above, and secrets (always null when read back). Every other
        // field — a FIDO2 key's model, an Authenticator's app version — is kept as loaded
        // and overrides the defaults a generated method is rendered with.
        let known = [
            "@odata.type",
            "id",
            "displayName",
            "createdDateTime",
            "creationDateTime",
            "phoneNumber",
            "phoneType",
            "emailAddress",
            "password",
            "temporaryAccessPass",
            "secretKey",
        ];
        // Values equal to what the type renders anyway need not be kept.
        let defaults = Method::new(kind, id).to_graph_json();
        let extra: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| {
                kind == MethodType::Unknown && *k == "@odata.type" || !known.contains(&k.as_str())
            })
            .filter(|(k, v)| defaults.get(k.as_str()) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !extra.is_empty() {
            m.extra = Some(Box::new(extra));
        }
        Ok(m)
    }
}

/// One user of the emulated tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub account_enabled: bool,
    /// `Member` or `Guest`.
    pub user_type: String,
    /// `Some(true)` for users synced from on-premises AD; Graph returns null otherwise.
    pub on_premises_sync_enabled: Option<bool>,
    pub sign_in_sessions_valid_from_date_time: Option<String>,
    /// Display names of the directory roles the user holds.
    pub roles: Vec<String>,
    /// The id of the user's default MFA method, if any.
    pub default_method: Option<String>,
    pub methods: Vec<Method>,
}

impl User {
    pub fn is_synced(&self) -> bool {
        self.on_premises_sync_enabled == Some(true)
    }

    pub fn holds_admin_role(&self) -> bool {
        !self.roles.is_empty()
    }

    pub fn method(&self, id: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.id.eq_ignore_ascii_case(id))
    }
}

/// A user as written in a tenant file: exactly the names the tenant-file format fixes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    pub id: String,
    #[serde(rename = "userPrincipalName")]
    pub user_principal_name: String,
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(rename = "accountEnabled", default = "default_true")]
    pub account_enabled: bool,
    #[serde(rename = "userType", default)]
    pub user_type: Option<String>,
    #[serde(rename = "onPremisesSyncEnabled", default)]
    pub on_premises_sync_enabled: Option<bool>,
    #[serde(
        rename = "signInSessionsValidFromDateTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sign_in_sessions_valid_from_date_time: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(rename = "defaultMethod", default)]
    pub default_method: Option<String>,
    #[serde(default)]
    pub methods: Vec<Value>,
}

fn default_true() -> bool {
    true
}

/// A whole tenant file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRecord {
    #[serde(rename = "tenantId")]
    pub tenant_id: String,
    /// The organisation's name, as `/organization` shows it; "Emulated tenant" when
    /// absent.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    pub users: Vec<UserRecord>,
    /// The tenant's Temporary Access Pass policy; Entra's defaults when absent (and left
    /// out of a dump while it has them).
    #[serde(
        rename = "temporaryAccessPassPolicy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub temporary_access_pass_policy: Option<TapPolicy>,
    /// Groups (break-glass groups, role-assignable groups), by id; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRecord>,
    /// Privileged Identity Management: roles users or groups are eligible for (not
    /// active until activated).
    #[serde(
        rename = "roleEligibilities",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub role_eligibilities: Vec<EligibilityRecord>,
    /// Whether the tenant has the licence PIM needs (Entra ID P2); `true` when absent.
    /// Without it, Graph refuses to list eligibilities.
    #[serde(
        rename = "pimLicensed",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pim_licensed: Option<bool>,
    /// Administrative units: roles assigned at their scope, and restricted management.
    #[serde(
        rename = "administrativeUnits",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub administrative_units: Vec<AdministrativeUnitRecord>,
}

/// A PIM eligibility: the user or group `principal_id` may activate `role`, tenant-wide
/// or at the scope of one administrative unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EligibilityRecord {
    pub principal_id: String,
    pub role: String,
    /// The id of the administrative unit the eligibility is scoped to; tenant-wide when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administrative_unit: Option<String>,
}

/// An administrative unit: the users in it, the roles assigned at its scope (active: the
/// principal holds the role over the unit's members only), and whether its management is
/// restricted — then only an administrator assigned at its scope may change its members,
/// which this emulator grants an app with a privileged role (standing for an app assigned
/// a role at the unit's scope) and no other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdministrativeUnitRecord {
    pub id: String,
    pub display_name: String,
    /// User ids.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub is_member_management_restricted: bool,
    /// Active role assignments at the unit's scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scoped_roles: Vec<ScopedRoleRecord>,
}

/// A role held at an administrative unit's scope by a user or a role-assignable group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScopedRoleRecord {
    pub principal_id: String,
    pub role: String,
}

/// A group: its members are object ids of users or of other groups (nested).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupRecord {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub members: Vec<String>,
    /// Directory roles assigned to the group (a role-assignable group): its users hold
    /// them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// The tenant's Temporary Access Pass policy: the settings of Graph's
/// `temporaryAccessPassAuthenticationMethodConfiguration` that decide whether, and which,
/// passes may be created. In a tenant file every field is optional, Entra's default
/// standing in for a missing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TapPolicy {
    /// Whether passes may be created at all (`state`: `enabled` or `disabled`).
    #[serde(with = "policy_state")]
    pub state: bool,
    /// The lifetime of a pass created without `lifetimeInMinutes`.
    pub default_lifetime_in_minutes: i64,
    pub minimum_lifetime_in_minutes: i64,
    pub maximum_lifetime_in_minutes: i64,
    /// True: every pass is usable once only, and a multi-use pass is refused.
    pub is_usable_once: bool,
    /// Characters in a new pass.
    pub default_length: usize,
}

impl Default for TapPolicy {
    /// Entra's defaults: enabled, 60 to 480 minutes (60 by default), multi-use passes
    /// allowed, 8 characters.
    fn default() -> Self {
        TapPolicy {
            state: true,
            default_lifetime_in_minutes: 60,
            minimum_lifetime_in_minutes: 60,
            maximum_lifetime_in_minutes: 480,
            is_usable_once: false,
            default_length: 8,
        }
    }
}

impl TapPolicy {
    /// Shortest and longest lifetime any policy may set, in minutes (30 days).
    pub const LIFETIME_LIMITS: (i64, i64) = (10, 43_200);

    /// Checks what Entra itself would refuse to configure.
    pub fn validate(&self) -> Result<(), String> {
        let (low, high) = Self::LIFETIME_LIMITS;
        let (min, max, default) = (
            self.minimum_lifetime_in_minutes,
            self.maximum_lifetime_in_minutes,
            self.default_lifetime_in_minutes,
        );
        if !(low..=high).contains(&min) || !(low..=high).contains(&max) {
            return Err(format!(
                "temporaryAccessPassPolicy: the lifetimes must be between {low} and {high} minutes, got {min} to {max}"
            ));
        }
        if min > max || !(min..=max).contains(&default) {
            return Err(format!(
                "temporaryAccessPassPolicy: need minimumLifetimeInMinutes <= defaultLifetimeInMinutes <= maximumLifetimeInMinutes, got {min}, {default}, {max}"
            ));
        }
        if !(8..=48).contains(&self.default_length) {
            return Err(format!(
                "temporaryAccessPassPolicy: defaultLength must be between 8 and 48, got {}",
                self.default_length
            ));
        }
        Ok(())
    }
}

/// `state` as Graph writes it: `"enabled"` or `"disabled"`.
mod policy_state {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(enabled: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *enabled { "enabled" } else { "disabled" })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match String::deserialize(d)?.as_str() {
            "enabled" => Ok(true),
            "disabled" => Ok(false),
            other => Err(D::Error::custom(format!(
                "state must be \"enabled\" or \"disabled\", got {other:?}"
            ))),
        }
    }
}

impl From<&User> for UserRecord {
    fn from(u: &User) -> Self {
        UserRecord {
            id: u.id.clone(),
            user_principal_name: u.user_principal_name.clone(),
            display_name: Some(u.display_name.clone()),
            mail: u.mail.clone(),
            account_enabled: u.account_enabled,
            user_type: Some(u.user_type.clone()),
            on_premises_sync_enabled: u.on_premises_sync_enabled,
            sign_in_sessions_valid_from_date_time: u.sign_in_sessions_valid_from_date_time.clone(),
            roles: u.roles.clone(),
            default_method: u.default_method.clone(),
            methods: u.methods.iter().map(Method::to_graph_json).collect(),
        }
    }
}

impl UserRecord {
    /// Converts to the model, checking what Entra itself would never allow.
    pub fn into_user(self) -> Result<User, String> {
        if !crate::sim::odata::is_guid(&self.id) {
            return Err(format!("\"id\" {:?} is not a GUID", self.id));
        }
        if !self.user_principal_name.contains('@') {
            return Err(format!(
                "\"userPrincipalName\" {:?} has no '@'",
                self.user_principal_name
            ));
        }
        let mut methods = Vec::with_capacity(self.methods.len());
        for (i, m) in self.methods.iter().enumerate() {
            let method = Method::from_graph_json(m).map_err(|e| format!("methods[{i}]: {e}"))?;
            if methods
                .iter()
                .any(|other: &Method| other.id.eq_ignore_ascii_case(&method.id))
            {
                return Err(format!("methods[{i}]: id {:?} appears twice", method.id));
            }
            methods.push(method);
        }
        let has_phone = |p: PhoneType| methods.iter().any(|m| m.phone_type == Some(p));
        if has_phone(PhoneType::AlternateMobile) && !has_phone(PhoneType::Mobile) {
            return Err("an alternateMobile phone needs a mobile phone (Entra refuses one without the other)".into());
        }
        if let Some(default) = &self.default_method {
            let Some(m) = methods.iter().find(|m| m.id.eq_ignore_ascii_case(default)) else {
                return Err(format!(
                    "\"defaultMethod\" {default:?} is not the id of one of the user's methods"
                ));
            };
            if !m.kind.can_be_default() {
                return Err(format!(
                    "\"defaultMethod\" {default:?} is a {} method, which cannot be a default (use a phone, Authenticator or OATH method)",
                    m.kind
                ));
            }
        }
        Ok(User {
            display_name: self
                .display_name
                .unwrap_or_else(|| self.user_principal_name.clone()),
            id: self.id.to_ascii_lowercase(),
            user_principal_name: self.user_principal_name,
            mail: self.mail,
            account_enabled: self.account_enabled,
            user_type: self.user_type.unwrap_or_else(|| "Member".into()),
            on_premises_sync_enabled: self.on_premises_sync_enabled,
            sign_in_sessions_valid_from_date_time: self.sign_in_sessions_valid_from_date_time,
            roles: self.roles,
            default_method: self.default_method,
            methods,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_round_trips_through_graph_json_and_keeps_unknown_fields() {
        let v = json!({
            "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
            "id": "_jpuR-TGZtk6aQCLF3BQjA2",
            "displayName": "iPhone 12",
            "createdDateTime": "2024-01-02T03:04:05Z",
            "customNote": "kept"
        });
        let m = Method::from_graph_json(&v).unwrap();
        assert_eq!(m.kind, MethodType::MicrosoftAuthenticator);
        let back = m.to_graph_json();
        assert_eq!(back["displayName"], "iPhone 12");
        assert_eq!(back["customNote"], "kept");
        assert_eq!(Method::from_graph_json(&back).unwrap(), m);
    }

    #[test]
    fn secrets_are_never_rendered() {
        let v = json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "id": "6f1967b7-15e8-4935-ac26-d50770ed07a7",
            "temporaryAccessPass": "+drkzqAD"
        });
        let m = Method::from_graph_json(&v).unwrap();
        assert_eq!(m.to_graph_json()["temporaryAccessPass"], Value::Null);
    }

    #[test]
    fn phone_with_wrong_fixed_id_is_rejected() {
        let v = json!({
            "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
            "id": fixed_ids::OFFICE_PHONE,
            "phoneType": "mobile",
            "phoneNumber": "+1 5555550100"
        });
        let err = Method::from_graph_json(&v).unwrap_err();
        assert!(err.contains("fixed id"), "{err}");
    }
}
