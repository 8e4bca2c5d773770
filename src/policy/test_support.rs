//! Fixtures shared by the policy's unit tests: policies written as command-line flags,
//! users and methods, and shorthands for reading decisions.
//!
//! Policies are written as the flags an operator types (`--profile incident --keep
//! fido2`) and read into [`PolicyArgs`] as the command line does: values after the flag
//! or after `=`, lists comma-separated. The command line's own parsing of these flags is
//! tested beside its definition, in the command line's argument groups; the policy layer
//! does not know the parser.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::decide::delete_step;
use super::{
    Decision, MethodSnapshot, Policy, PolicyArgs, PolicyError, Profile, Step, UserSnapshot,
};
use crate::wire::{MethodType, PhoneType, fixed_ids};

/// Reads policy flags into [`PolicyArgs`] as the command line would.
fn parse(args: &[&str]) -> PolicyArgs {
    let mut parsed = PolicyArgs::default();
    let mut words = args.iter().copied();
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (word, None),
        };
        let mut value = || {
            inline
                .or_else(|| words.next())
                .unwrap_or_else(|| panic!("{flag} needs a value"))
                .to_string()
        };
        let list = |v: String| v.split(',').map(str::to_string).collect::<Vec<_>>();
        match flag {
            "--profile" => {
                let name = value();
                let profile = [Profile::DeviceRefresh, Profile::Incident, Profile::Offboard]
                    .into_iter()
                    .find(|p| p.name() == name)
                    .unwrap_or_else(|| panic!("no profile {name}"));
                parsed.profile = Some(profile);
            }
            "--remove-methods" => parsed.remove_methods.extend(list(value())),
            "--keep" => parsed.keep.extend(list(value())),
            "--registered-after" => parsed.registered_after = Some(value()),
            "--registered-before" => parsed.registered_before = Some(value()),
            "--device-name" => parsed.device_name = Some(value()),
            "--tap-lifetime" => parsed.tap_lifetime = Some(value().parse().expect("minutes")),
            "--revoke-sessions" => parsed.revoke_sessions = true,
            "--disable-account" => parsed.disable_account = true,
            "--issue-tap" => parsed.issue_tap = true,
            "--tap-once" => parsed.tap_once = true,
            "--tap-start" => parsed.tap_start = Some(value()),
            "--include-admins" => parsed.include_admins = true,
            other => panic!("not a policy flag: {other}"),
        }
    }
    parsed
}

/// Parses and validates policy flags.
pub(super) fn policy(args: &[&str]) -> Result<Policy, PolicyError> {
    parse(args).into_policy()
}

/// Parses and validates policy flags as if planned at `now`.
pub(super) fn policy_at(args: &[&str], now: &str) -> Result<Policy, PolicyError> {
    parse(args).into_policy_at(at(now))
}

/// The policy of one profile alone.
pub(super) fn profile(p: Profile) -> Policy {
    PolicyArgs {
        profile: Some(p),
        ..PolicyArgs::default()
    }
    .into_policy()
    .expect("profiles are valid")
}

/// An instant from RFC 3339.
pub(super) fn at(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap()
}

/// A method of `kind` with `id`.
pub(super) fn method(kind: MethodType, id: &str) -> MethodSnapshot {
    MethodSnapshot {
        id: id.into(),
        kind,
        display_name: None,
        created: None,
        phone_type: None,
        odata_type: None,
    }
}

/// A phone method of the given type, with its fixed id.
pub(super) fn phone(p: PhoneType) -> MethodSnapshot {
    MethodSnapshot {
        phone_type: Some(p),
        ..method(MethodType::Phone, p.method_id())
    }
}

/// The password method.
pub(super) fn password() -> MethodSnapshot {
    method(MethodType::Password, fixed_ids::PASSWORD)
}

/// The email method.
pub(super) fn email() -> MethodSnapshot {
    method(MethodType::Email, fixed_ids::EMAIL)
}

/// A method with a device name and an optional creation time.
pub(super) fn named(
    kind: MethodType,
    id: &str,
    name: &str,
    created: Option<&str>,
) -> MethodSnapshot {
    MethodSnapshot {
        display_name: Some(name.into()),
        created: created.map(str::to_string),
        ..method(kind, id)
    }
}

/// An Authenticator registration on a device.
pub(super) fn authenticator(id: &str, device: &str) -> MethodSnapshot {
    named(MethodType::MicrosoftAuthenticator, id, device, None)
}

/// A cloud-only, enabled, non-admin user with these methods.
pub(super) fn user(methods: Vec<MethodSnapshot>) -> UserSnapshot {
    UserSnapshot {
        id: "00000000-0000-4000-8000-000000000001".into(),
        user_principal_name: "ada@contoso.com".into(),
        account_enabled: true,
        synced: false,
        admin_roles: Vec::new(),
        management_restricted: false,
        restricted_units: Vec::new(),
        default_method: None,
        methods,
        hardware_oath_unread: false,
        methods_unread: false,
        roles_unread: false,
    }
}

/// A user holding every kind of method: password, three phones, Authenticator, OATH,
/// FIDO2, Windows Hello, email, TAP, platform credential.
pub(super) fn everything() -> UserSnapshot {
    user(vec![
        password(),
        phone(PhoneType::Mobile),
        authenticator("auth-1", "iPhone 12"),
        method(MethodType::SoftwareOath, "oath-1"),
        named(
            MethodType::Fido2,
            "fido-1",
            "Red key",
            Some("2020-08-10T06:44:09Z"),
        ),
        named(
            MethodType::WindowsHelloForBusiness,
            "whfb-1",
            "Ada's Surface",
            Some("2020-11-27T23:12:49Z"),
        ),
        email(),
        method(MethodType::TemporaryAccessPass, "tap-1"),
        named(
            MethodType::PlatformCredential,
            "plat-1",
            "Ada's MacBook",
            None,
        ),
        phone(PhoneType::Office),
        phone(PhoneType::AlternateMobile),
    ])
}

/// The ids of the methods a list of steps deletes, in order.
pub(super) fn deleted(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::DeleteMethod { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// The steps of a planned decision (panics otherwise).
pub(super) fn planned(d: &Decision) -> &[Step] {
    match d {
        Decision::Planned { steps, .. } => steps,
        other => panic!("expected planned, got {other:?}"),
    }
}

/// The deletion step for a method id, as `decide` writes it.
pub(super) fn del(user: &UserSnapshot, id: &str) -> Step {
    delete_step(user.methods.iter().find(|m| m.id == id).unwrap())
}

pub(super) const MOBILE: &str = fixed_ids::MOBILE_PHONE;
pub(super) const ALT: &str = fixed_ids::ALTERNATE_MOBILE_PHONE;
pub(super) const OFFICE: &str = fixed_ids::OFFICE_PHONE;

pub(super) const EMAIL_ID: &str = fixed_ids::EMAIL;

/// Policies exercising every field.
pub(super) fn sample_policies() -> Vec<Policy> {
    vec![
        profile(Profile::DeviceRefresh),
        profile(Profile::Incident),
        profile(Profile::Offboard),
        policy(&[
            "--profile",
            "device-refresh",
            "--registered-after",
            "2026-11-01T02:00:00+02:00",
            "--registered-before",
            "2026-12-01",
            "--device-name",
            "iPhone 12*",
            "--revoke-sessions",
            "--issue-tap",
            "--tap-lifetime",
            "480",
            "--tap-once",
            "--include-admins",
        ])
        .unwrap(),
        policy(&["--issue-tap"]).unwrap(),
    ]
}
