//! What a plan reads from Graph about a user, and what [`decide`](fn@super::decide) reads:
//! the [`UserSnapshot`] with its [`MethodSnapshot`]s and, when the beta read gives it, the
//! user's [`DefaultMethod`]. Also how a method is named to a person ([`MethodSnapshot::label`],
//! [`mask_phone`]) without exposing it. Snapshots go into `plan.json`, so they never hold a
//! secret.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::serde_with::{method_type_name, phone_type_opt};
use crate::wire::{MethodType, PhoneType};

/// Longest device or key name a label shows before it is cut short.
const MAX_NAME_CHARS: usize = 60;

/// The user's preferred (default) MFA method as beta `signInPreferences` reports it in
/// `userPreferredMethodForSecondaryAuthentication`. Graph v1.0 does not expose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DefaultMethod {
    /// Authenticator push: a `microsoftAuthenticator` method.
    Push,
    /// A one-time code: a `softwareOath` method (or a beta-only hardware token).
    Oath,
    /// A voice call to the mobile phone.
    VoiceMobile,
    /// A voice call to the alternate mobile phone.
    VoiceAlternateMobile,
    /// A voice call to the office phone.
    VoiceOffice,
    /// A text message to the mobile phone.
    Sms,
    /// A value newer than this tool: treated as unknown.
    UnknownFutureValue,
}

impl DefaultMethod {
    /// Every value, in Graph's order.
    pub const ALL: [DefaultMethod; 7] = [
        DefaultMethod::Push,
        DefaultMethod::Oath,
        DefaultMethod::VoiceMobile,
        DefaultMethod::VoiceAlternateMobile,
        DefaultMethod::VoiceOffice,
        DefaultMethod::Sms,
        DefaultMethod::UnknownFutureValue,
    ];

    /// The value on the wire.
    pub fn as_graph(self) -> &'static str {
        match self {
            DefaultMethod::Push => "push",
            DefaultMethod::Oath => "oath",
            DefaultMethod::VoiceMobile => "voiceMobile",
            DefaultMethod::VoiceAlternateMobile => "voiceAlternateMobile",
            DefaultMethod::VoiceOffice => "voiceOffice",
            DefaultMethod::Sms => "sms",
            DefaultMethod::UnknownFutureValue => "unknownFutureValue",
        }
    }

    /// The value named by `value` (ignoring case), or `None` for text Graph does not send.
    pub fn from_graph(value: &str) -> Option<DefaultMethod> {
        DefaultMethod::ALL
            .into_iter()
            .find(|d| d.as_graph().eq_ignore_ascii_case(value))
    }

    /// The method type this value names, or `None` for [`DefaultMethod::UnknownFutureValue`].
    pub fn method_type(self) -> Option<MethodType> {
        match self {
            DefaultMethod::Push => Some(MethodType::MicrosoftAuthenticator),
            DefaultMethod::Oath => Some(MethodType::SoftwareOath),
            DefaultMethod::VoiceMobile
            | DefaultMethod::VoiceAlternateMobile
            | DefaultMethod::VoiceOffice
            | DefaultMethod::Sms => Some(MethodType::Phone),
            DefaultMethod::UnknownFutureValue => None,
        }
    }

    /// The phone this value names, for the phone values.
    pub fn phone_type(self) -> Option<PhoneType> {
        match self {
            DefaultMethod::VoiceMobile | DefaultMethod::Sms => Some(PhoneType::Mobile),
            DefaultMethod::VoiceAlternateMobile => Some(PhoneType::AlternateMobile),
            DefaultMethod::VoiceOffice => Some(PhoneType::Office),
            _ => None,
        }
    }

    /// Whether `method` is (one of the methods that may be) the one this value names. A
    /// phone value names one fixed phone; `push` names any Authenticator registration and
    /// `oath` any OATH token, software or hardware (Graph does not say which of several).
    pub fn names(self, method: &MethodSnapshot) -> bool {
        match (self.method_type(), self.phone_type()) {
            (Some(MethodType::Phone), Some(phone)) => {
                method.kind == MethodType::Phone && method.phone() == Some(phone)
            }
            (Some(MethodType::SoftwareOath), _) => matches!(
                method.kind,
                MethodType::SoftwareOath | MethodType::HardwareOath
            ),
            (Some(kind), _) => method.kind == kind,
            (None, _) => false,
        }
    }

    /// The value that makes `method` the default: `push` for Authenticator, `oath` for
    /// an OATH token, `sms` for the mobile phone (a text is what most users answer),
    /// `voiceAlternateMobile` and `voiceOffice` for the other phones; `None` for a method
    /// that cannot be the default.
    pub fn for_method(method: &MethodSnapshot) -> Option<DefaultMethod> {
        match (method.kind, method.phone()) {
            (MethodType::MicrosoftAuthenticator, _) => Some(DefaultMethod::Push),
            (MethodType::SoftwareOath | MethodType::HardwareOath, _) => Some(DefaultMethod::Oath),
            (MethodType::Phone, Some(PhoneType::Mobile)) => Some(DefaultMethod::Sms),
            (MethodType::Phone, Some(PhoneType::AlternateMobile)) => {
                Some(DefaultMethod::VoiceAlternateMobile)
            }
            (MethodType::Phone, Some(PhoneType::Office)) => Some(DefaultMethod::VoiceOffice),
            _ => None,
        }
    }
}

/// A user as the plan read them from Graph: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSnapshot {
    /// The object id.
    pub id: String,
    /// The user principal name.
    pub user_principal_name: String,
    /// `accountEnabled`.
    pub account_enabled: bool,
    /// `onPremisesSyncEnabled == true`: the account is mastered in on-premises AD.
    pub synced: bool,
    /// Display names of the directory roles the user holds; any role makes them an admin.
    #[serde(default)]
    pub admin_roles: Vec<String>,
    /// Graph's `isManagementRestricted`: the user is in a restricted management
    /// administrative unit, which only administrators assigned at its scope may change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub management_restricted: bool,
    /// The names of those units, when the tenant's listing of them could be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restricted_units: Vec<String>,
    /// The default MFA method, if known (beta `signInPreferences`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_method: Option<DefaultMethod>,
    /// The authentication methods, as listed (v1.0's list, and beta's hardware OATH
    /// tokens).
    #[serde(default)]
    pub methods: Vec<MethodSnapshot>,
    /// Graph had no route to list hardware OATH tokens (beta, global cloud only): the user
    /// may hold some that `methods` does not show.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hardware_oath_unread: bool,
    /// The plan did not read the user's methods, hardware OATH tokens or default method
    /// (its policy removes no method, [`Policy::reads_methods`](super::Policy::reads_methods)):
    /// `methods` is empty for want of reading, not because the user holds none. Absent
    /// (false) in plans made before it existed, which read everything.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub methods_unread: bool,
    /// The plan did not read the user's directory roles (`--include-admins`,
    /// [`Policy::reads_roles`](super::Policy::reads_roles)): `admin_roles` is empty for
    /// want of reading. Absent (false) in plans made before it existed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub roles_unread: bool,
}

/// One authentication method as listed: its id, type and what identifies it to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSnapshot {
    /// The method id.
    pub id: String,
    /// The method type.
    #[serde(with = "method_type_name")]
    pub kind: MethodType,
    /// The device or key name (Authenticator, Windows Hello, FIDO2, platform credential).
    /// Labels of phone methods mask any number found here to its last two digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `createdDateTime` (`creationDateTime` for FIDO2), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// For a phone method, which phone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "phone_type_opt"
    )]
    pub phone_type: Option<PhoneType>,
    /// For a method of a type this tool does not know ([`MethodType::Unknown`]), the
    /// `@odata.type` Graph gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
}

impl MethodSnapshot {
    /// Which phone this is: `phone_type`, else recognised from the fixed id.
    pub fn phone(&self) -> Option<PhoneType> {
        if self.kind != MethodType::Phone {
            return None;
        }
        self.phone_type
            .or_else(|| PhoneType::from_method_id(&self.id))
    }

    /// The creation time, if present and RFC 3339.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        self.created
            .as_deref()
            .and_then(|c| OffsetDateTime::parse(c.trim(), &Rfc3339).ok())
    }

    /// A label for reports that identifies the method to a person without exposing it:
    /// "Authenticator on iPhone 12", "mobile phone …13", "FIDO2 key \"Red key\"".
    pub fn label(&self) -> String {
        let name = self.display_name.as_deref().and_then(clean_name);
        match self.kind {
            MethodType::Password => "password".into(),
            MethodType::Phone => {
                let phone = match self.phone() {
                    Some(PhoneType::Mobile) => "mobile phone",
                    Some(PhoneType::AlternateMobile) => "alternate mobile phone",
                    Some(PhoneType::Office) => "office phone",
                    None => "phone",
                };
                match self.display_name.as_deref().and_then(mask_phone) {
                    Some(masked) => format!("{phone} {masked}"),
                    None => phone.into(),
                }
            }
            MethodType::MicrosoftAuthenticator => match name {
                Some(n) => format!("Authenticator on {n}"),
                None => "Authenticator (unnamed device)".into(),
            },
            MethodType::SoftwareOath => "software OATH token".into(),
            MethodType::HardwareOath => match name {
                Some(n) => format!("hardware OATH token \"{n}\""),
                None => "hardware OATH token".into(),
            },
            MethodType::External => match name {
                Some(n) => format!("external MFA method \"{n}\""),
                None => "external MFA method".into(),
            },
            MethodType::QrCodePin => "QR code PIN".into(),
            MethodType::Unknown => format!(
                "unknown ({})",
                self.odata_type
                    .as_deref()
                    .and_then(clean_name)
                    .unwrap_or_else(|| "no @odata.type".into())
            ),
            MethodType::Fido2 => match name {
                Some(n) => format!("FIDO2 key \"{n}\""),
                None => "FIDO2 key".into(),
            },
            MethodType::WindowsHelloForBusiness => match name {
                Some(n) => format!("Windows Hello on {n}"),
                None => "Windows Hello (unnamed device)".into(),
            },
            MethodType::Email => "email address".into(),
            MethodType::TemporaryAccessPass => "Temporary Access Pass".into(),
            MethodType::PlatformCredential => match name {
                Some(n) => format!("platform credential on {n}"),
                None => "platform credential (unnamed device)".into(),
            },
        }
    }
}

/// A phone number masked to its last two digits (`…13`), or `None` without digits.
pub fn mask_phone(number: &str) -> Option<String> {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0 => None,
        n => Some(format!(
            "…{}",
            digits[n.saturating_sub(2)..].iter().collect::<String>()
        )),
    }
}

/// A display name fit for a label: trimmed, without control characters, at most
/// [`MAX_NAME_CHARS`] characters; `None` if nothing is left.
fn clean_name(name: &str) -> Option<String> {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        return None;
    }
    if cleaned.chars().count() > MAX_NAME_CHARS {
        let cut: String = cleaned.chars().take(MAX_NAME_CHARS - 1).collect();
        Some(format!("{}…", cut.trim_end()))
    } else {
        Some(cleaned.to_string())
    }
}

#[cfg(test)]
mod tests;
