//! Microsoft Graph wire types shared by the client (`graph`) and the emulator (`sim`).
//!
//! Only facts about the protocol live here: authentication-method types and their
//! collection names, the well-known fixed method ids, header names, the JSON error body
//! and the `$batch` envelope. Neither side's behaviour does: the emulator must never call
//! client code (or the two could agree on a mistake), so this module is the whole of what
//! they share. Sources for every fact: `shared/reference/graph-api.md` §1, §4, §5, §6.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most requests one JSON `$batch` may carry.
pub const MAX_BATCH_ITEMS: usize = 20;

/// Well-known fixed ids of the methods Entra gives the same id in every tenant.
pub mod fixed_ids {
    /// The `mobile` phone method.
    pub const MOBILE_PHONE: &str = "3179e48a-750b-4051-897c-87b9720928f7";
    /// The `alternateMobile` phone method.
    pub const ALTERNATE_MOBILE_PHONE: &str = "b6332ec1-7057-4abe-9331-3d72feddfe41";
    /// The `office` phone method.
    pub const OFFICE_PHONE: &str = "e37fc753-ff3b-4958-9484-eaa9425c82bc";
    /// The password method.
    pub const PASSWORD: &str = "28c10230-6103-485e-b985-444c60001490";
    /// The email method.
    pub const EMAIL: &str = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f";
}

/// Header names Graph uses for correlation and throttling.
pub mod headers {
    pub const REQUEST_ID: &str = "request-id";
    pub const CLIENT_REQUEST_ID: &str = "client-request-id";
    pub const RETRY_AFTER: &str = "Retry-After";
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// `eventual`: required by Graph's advanced queries on directory objects (`$count`).
    pub const CONSISTENCY_LEVEL: &str = "ConsistencyLevel";
    pub const RESOURCE_UNIT: &str = "x-ms-resource-unit";
    pub const THROTTLE_LIMIT_PERCENTAGE: &str = "x-ms-throttle-limit-percentage";
    pub const THROTTLE_SCOPE: &str = "x-ms-throttle-scope";
    pub const THROTTLE_INFORMATION: &str = "x-ms-throttle-information";
}

/// The authentication-method types mfa-reset knows: every type Graph v1.0 lists
/// (`shared/reference/graph-api.md` §1.1) and beta's hardware OATH token, plus
/// [`MethodType::Unknown`] for a type newer than this tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MethodType {
    Password,
    Phone,
    MicrosoftAuthenticator,
    SoftwareOath,
    /// A hardware OATH token: listed and removed only through beta (`hardwareOathMethods`).
    HardwareOath,
    Fido2,
    WindowsHelloForBusiness,
    Email,
    TemporaryAccessPass,
    PlatformCredential,
    /// A method held with an external MFA provider (v1.0 `externalAuthenticationMethods`).
    External,
    /// A QR code and PIN (v1.0 type; its own route, `qrCodePinMethod`, is beta).
    QrCodePin,
    /// A type this tool does not know (a newer `@odata.type`): shown, never removed. Not
    /// in [`MethodType::ALL`], which lists the known types.
    Unknown,
}

impl MethodType {
    /// Every known type, in a stable order.
    pub const ALL: [MethodType; 12] = [
        MethodType::Password,
        MethodType::Phone,
        MethodType::MicrosoftAuthenticator,
        MethodType::SoftwareOath,
        MethodType::HardwareOath,
        MethodType::Fido2,
        MethodType::WindowsHelloForBusiness,
        MethodType::Email,
        MethodType::TemporaryAccessPass,
        MethodType::PlatformCredential,
        MethodType::External,
        MethodType::QrCodePin,
    ];

    /// The `@odata.type` value Graph puts on a method of this type.
    pub fn odata_type(self) -> &'static str {
        match self {
            MethodType::Password => "#microsoft.graph.passwordAuthenticationMethod",
            MethodType::Phone => "#microsoft.graph.phoneAuthenticationMethod",
            MethodType::MicrosoftAuthenticator => {
                "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
            }
            MethodType::SoftwareOath => "#microsoft.graph.softwareOathAuthenticationMethod",
            MethodType::Fido2 => "#microsoft.graph.fido2AuthenticationMethod",
            MethodType::WindowsHelloForBusiness => {
                "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod"
            }
            MethodType::Email => "#microsoft.graph.emailAuthenticationMethod",
            MethodType::TemporaryAccessPass => {
                "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
            }
            MethodType::PlatformCredential => {
                "#microsoft.graph.platformCredentialAuthenticationMethod"
            }
            MethodType::HardwareOath => "#microsoft.graph.hardwareOathAuthenticationMethod",
            MethodType::External => "#microsoft.graph.externalAuthenticationMethod",
            MethodType::QrCodePin => "#microsoft.graph.qrCodePinAuthenticationMethod",
            // Never sent nor matched: the real type is whatever Graph wrote.
            MethodType::Unknown => "#microsoft.graph.authenticationMethod",
        }
    }

    /// The known type whose `@odata.type` is `odata_type` (with or without the leading
    /// `#`).
    pub fn from_odata_type(odata_type: &str) -> Option<MethodType> {
        let wanted = odata_type.trim_start_matches('#');
        MethodType::ALL
            .into_iter()
            .find(|t| t.odata_type().trim_start_matches('#') == wanted)
    }

    /// The collection segment under `/users/{key}/authentication/` that addresses methods
    /// of this type (`phoneMethods`, ...).
    pub fn collection(self) -> &'static str {
        match self {
            MethodType::Password => "passwordMethods",
            MethodType::Phone => "phoneMethods",
            MethodType::MicrosoftAuthenticator => "microsoftAuthenticatorMethods",
            MethodType::SoftwareOath => "softwareOathMethods",
            MethodType::Fido2 => "fido2Methods",
            MethodType::WindowsHelloForBusiness => "windowsHelloForBusinessMethods",
            MethodType::Email => "emailMethods",
            MethodType::TemporaryAccessPass => "temporaryAccessPassMethods",
            MethodType::PlatformCredential => "platformCredentialMethods",
            MethodType::HardwareOath => "hardwareOathMethods",
            MethodType::External => "externalAuthenticationMethods",
            // Single-valued: `/authentication/qrCodePinMethod` is the user's one QR code PIN.
            MethodType::QrCodePin => "qrCodePinMethod",
            MethodType::Unknown => "methods",
        }
    }

    /// Whether this type's own routes are beta only (hardware OATH tokens; the QR code
    /// PIN's `qrCodePinMethod`), so that a request to them goes in a beta `$batch`.
    pub fn beta_only(self) -> bool {
        matches!(self, MethodType::HardwareOath | MethodType::QrCodePin)
    }

    /// Whether Graph v1.0's `GET /users/{id}/authentication/methods` lists methods of this
    /// type: every v1.0 type; hardware OATH tokens are listed only by beta.
    pub fn listed_by_v1(self) -> bool {
        self != MethodType::HardwareOath
    }

    /// The path, under `/users/{key}/authentication/`, that deletes the method `id`
    /// (percent-encoded by the caller): `{collection}/{id}`; an external method's reference
    /// is deleted with `/$ref` (Microsoft's documented form); the QR code PIN is
    /// single-valued and has no id in its path. `None` for a type with no DELETE.
    pub fn delete_path(self, id: &str) -> Option<String> {
        match self {
            MethodType::Password | MethodType::Unknown => None,
            MethodType::QrCodePin => Some(self.collection().to_string()),
            MethodType::External => Some(format!("{}/{id}/$ref", self.collection())),
            _ => Some(format!("{}/{id}", self.collection())),
        }
    }

    /// The type addressed by a collection segment such as `fido2Methods`.
    pub fn from_collection(segment: &str) -> Option<MethodType> {
        MethodType::ALL
            .into_iter()
            .find(|t| t.collection() == segment)
    }

    /// The short name used on mfa-reset's command line and in reports (`phone`, `fido2`).
    pub fn short_name(self) -> &'static str {
        match self {
            MethodType::Password => "password",
            MethodType::Phone => "phone",
            MethodType::MicrosoftAuthenticator => "microsoftAuthenticator",
            MethodType::SoftwareOath => "softwareOath",
            MethodType::Fido2 => "fido2",
            MethodType::WindowsHelloForBusiness => "windowsHelloForBusiness",
            MethodType::Email => "email",
            MethodType::TemporaryAccessPass => "temporaryAccessPass",
            MethodType::PlatformCredential => "platformCredential",
            MethodType::HardwareOath => "hardwareOath",
            MethodType::External => "external",
            MethodType::QrCodePin => "qrCodePin",
            MethodType::Unknown => "unknown",
        }
    }

    /// Whether a method of this type can be a user's default MFA method, and so blocks
    /// deleting the current default while it remains.
    pub fn can_be_default(self) -> bool {
        matches!(
            self,
            MethodType::Phone
                | MethodType::MicrosoftAuthenticator
                | MethodType::SoftwareOath
                | MethodType::HardwareOath
        )
    }

    /// Whether Graph offers a DELETE for this type that mfa-reset sends (the password
    /// method has none; a type this tool does not know has no known route).
    pub fn deletable(self) -> bool {
        !matches!(self, MethodType::Password | MethodType::Unknown)
    }
}

impl fmt::Display for MethodType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// The three kinds of phone method, each with its fixed id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneType {
    Mobile,
    AlternateMobile,
    Office,
}

impl PhoneType {
    pub const ALL: [PhoneType; 3] = [
        PhoneType::Mobile,
        PhoneType::AlternateMobile,
        PhoneType::Office,
    ];

    /// The `phoneType` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneType::Mobile => "mobile",
            PhoneType::AlternateMobile => "alternateMobile",
            PhoneType::Office => "office",
        }
    }

    pub fn parse(value: &str) -> Option<PhoneType> {
        PhoneType::ALL.into_iter().find(|p| p.as_str() == value)
    }

    /// The fixed method id of this phone type.
    pub fn method_id(self) -> &'static str {
        match self {
            PhoneType::Mobile => fixed_ids::MOBILE_PHONE,
            PhoneType::AlternateMobile => fixed_ids::ALTERNATE_MOBILE_PHONE,
            PhoneType::Office => fixed_ids::OFFICE_PHONE,
        }
    }

    /// The phone type whose fixed id is `id`.
    pub fn from_method_id(id: &str) -> Option<PhoneType> {
        PhoneType::ALL
            .into_iter()
            .find(|p| p.method_id().eq_ignore_ascii_case(id))
    }
}

/// Graph's error body: `{"error": {"code", "message", "innerError": {...}}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    pub error: GraphError,
}

/// The `error` object of a Graph error body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GraphError {
    pub code: String,
    pub message: String,
    #[serde(
        rename = "innerError",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inner_error: Option<InnerError>,
}

/// Correlation data Graph attaches to an error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct InnerError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(
        rename = "request-id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
    #[serde(
        rename = "client-request-id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_request_id: Option<String>,
}

/// Tenant size, which sets Entra's resource-unit quota per app and tenant
/// (`shared/reference/graph-api.md` §5). Both the emulator and the client's pacer use it;
/// `--tenant-size` names it in lower case (the flag is parsed in `cli::args::values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSize {
    /// Fewer than 50 users: 3,500 RU per 10 s.
    Small,
    /// 50 to 500 users: 5,000 RU per 10 s.
    Medium,
    /// More than 500 users: 8,000 RU per 10 s.
    Large,
}

/// Entra's documented write quotas: per app and tenant, and per tenant across apps.
pub mod write_quotas {
    use std::time::Duration;

    pub const APP_WRITES: u32 = 3_000;
    pub const APP_WINDOW: Duration = Duration::from_secs(150);
    pub const TENANT_WRITES: u32 = 18_000;
    pub const TENANT_WINDOW: Duration = Duration::from_secs(300);
}

impl TenantSize {
    /// The resource-unit window every size shares.
    pub const RESOURCE_UNIT_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

    /// The size Entra gives a tenant of `users` users.
    pub fn for_users(users: usize) -> TenantSize {
        match users {
            0..50 => TenantSize::Small,
            50..=500 => TenantSize::Medium,
            _ => TenantSize::Large,
        }
    }

    pub fn resource_units_per_10s(self) -> f64 {
        match self {
            TenantSize::Small => 3_500.0,
            TenantSize::Medium => 5_000.0,
            TenantSize::Large => 8_000.0,
        }
    }
}

/// Formats 128 bits as a version-4-shaped GUID (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`),
/// the shape of Entra object ids, request ids and `client-request-id`s.
pub fn guid_from_u128(v: u128) -> String {
    let v = (v & !(0xF000u128 << 64)) | (0x4000u128 << 64); // version 4
    let v = (v & !(0xC000u128 << 48)) | (0x8000u128 << 48); // variant
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A new random version-4 GUID.
pub fn random_guid() -> String {
    guid_from_u128(rand::random())
}

/// The body POSTed to `/$batch`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchRequest {
    pub requests: Vec<BatchRequestItem>,
}

/// One request inside a `$batch`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchRequestItem {
    pub id: String,
    pub method: String,
    /// Relative to the version root of the batch URL, e.g. `/users/{id}`.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(rename = "dependsOn", default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
}

/// The body Graph answers a `$batch` with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchResponse {
    pub responses: Vec<BatchResponseItem>,
}

/// One item's answer inside a `$batch` response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchResponseItem {
    pub id: String,
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl BatchResponseItem {
    /// A header of this item, looked up without regard to case as HTTP requires.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_types_round_trip_through_their_names() {
        for t in MethodType::ALL {
            assert_eq!(MethodType::from_odata_type(t.odata_type()), Some(t));
            assert_eq!(MethodType::from_collection(t.collection()), Some(t));
        }
        assert_eq!(MethodType::from_odata_type("#microsoft.graph.user"), None);
        assert_eq!(MethodType::from_collection("methods"), None);
    }

    #[test]
    fn only_phone_authenticator_and_oath_can_be_default() {
        let defaults: Vec<_> = MethodType::ALL
            .into_iter()
            .filter(|t| t.can_be_default())
            .collect();
        assert_eq!(
            defaults,
            vec![
                MethodType::Phone,
                MethodType::MicrosoftAuthenticator,
                MethodType::SoftwareOath,
                MethodType::HardwareOath,
            ]
        );
    }

    #[test]
    fn delete_paths_follow_each_types_route() {
        assert_eq!(
            MethodType::Fido2.delete_path("k1").as_deref(),
            Some("fido2Methods/k1")
        );
        assert_eq!(
            MethodType::External.delete_path("e1").as_deref(),
            Some("externalAuthenticationMethods/e1/$ref")
        );
        assert_eq!(
            MethodType::QrCodePin.delete_path("q1").as_deref(),
            Some("qrCodePinMethod")
        );
        assert_eq!(
            MethodType::HardwareOath.delete_path("h1").as_deref(),
            Some("hardwareOathMethods/h1")
        );
        assert_eq!(MethodType::Password.delete_path("p"), None);
        assert_eq!(MethodType::Unknown.delete_path("u"), None);
        assert!(MethodType::HardwareOath.beta_only() && MethodType::QrCodePin.beta_only());
        assert!(!MethodType::HardwareOath.listed_by_v1() && MethodType::QrCodePin.listed_by_v1());
        assert!(!MethodType::ALL.contains(&MethodType::Unknown));
        assert_eq!(
            MethodType::from_odata_type("#microsoft.graph.authenticationMethod"),
            None
        );
    }

    #[test]
    fn phone_types_map_to_fixed_ids() {
        for p in PhoneType::ALL {
            assert_eq!(PhoneType::from_method_id(p.method_id()), Some(p));
            assert_eq!(PhoneType::parse(p.as_str()), Some(p));
        }
    }
}
