//! Tests of snapshots: method labels, default method values, and the snapshot JSON.

use super::*;
use crate::policy::test_support::*;

#[test]
fn labels_name_the_method_and_mask_phone_numbers() {
    let mut mobile = phone(PhoneType::Mobile);
    mobile.display_name = Some("+1 4255550113".into());
    assert_eq!(mobile.label(), "mobile phone …13");
    let mut office = phone(PhoneType::Office);
    office.display_name = Some("+44 20 7946 0958x12".into());
    assert_eq!(office.label(), "office phone …12");
    assert_eq!(
        phone(PhoneType::AlternateMobile).label(),
        "alternate mobile phone"
    );
    assert_eq!(mask_phone("5"), Some("…5".into()));
    assert_eq!(mask_phone("+1 5"), Some("…15".into()));
    assert_eq!(mask_phone("none"), None);
    assert_eq!(
        authenticator("a", "iPhone 12").label(),
        "Authenticator on iPhone 12"
    );
    assert_eq!(
        named(MethodType::Fido2, "f", "Red key", None).label(),
        "FIDO2 key \"Red key\""
    );
    assert_eq!(
        named(MethodType::WindowsHelloForBusiness, "w", "PC-1", None).label(),
        "Windows Hello on PC-1"
    );
    assert_eq!(
        named(MethodType::PlatformCredential, "p", "Mac", None).label(),
        "platform credential on Mac"
    );
    assert_eq!(email().label(), "email address");
    assert_eq!(password().label(), "password");
    assert_eq!(
        method(MethodType::TemporaryAccessPass, "t").label(),
        "Temporary Access Pass"
    );
    assert_eq!(
        method(MethodType::SoftwareOath, "o").label(),
        "software OATH token"
    );
}

#[test]
fn labels_strip_control_characters_and_cut_long_names() {
    let a = authenticator("a", "  iPhone\n12\u{1b}[31m  ");
    assert_eq!(a.label(), "Authenticator on iPhone12[31m");
    let long = authenticator("b", &"x".repeat(200));
    let label = long.label();
    assert!(label.ends_with('…'));
    assert_eq!(
        label.chars().count(),
        "Authenticator on ".len() + MAX_NAME_CHARS
    );
    assert_eq!(
        authenticator("c", " \t ").label(),
        "Authenticator (unnamed device)"
    );
}

// ---- default method values ----

#[test]
fn default_method_values_round_trip_and_map_to_methods() {
    for d in DefaultMethod::ALL {
        assert_eq!(DefaultMethod::from_graph(d.as_graph()), Some(d));
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", d.as_graph()));
        assert_eq!(serde_json::from_str::<DefaultMethod>(&json).unwrap(), d);
    }
    assert_eq!(DefaultMethod::from_graph("SMS"), Some(DefaultMethod::Sms));
    assert_eq!(DefaultMethod::from_graph("passkey"), None);
    assert!(DefaultMethod::Sms.names(&phone(PhoneType::Mobile)));
    assert!(DefaultMethod::VoiceMobile.names(&phone(PhoneType::Mobile)));
    assert!(!DefaultMethod::Sms.names(&phone(PhoneType::AlternateMobile)));
    assert!(DefaultMethod::VoiceAlternateMobile.names(&phone(PhoneType::AlternateMobile)));
    assert!(DefaultMethod::VoiceOffice.names(&phone(PhoneType::Office)));
    assert!(DefaultMethod::Push.names(&authenticator("a", "x")));
    assert!(DefaultMethod::Oath.names(&method(MethodType::SoftwareOath, "o")));
    assert!(!DefaultMethod::Push.names(&method(MethodType::SoftwareOath, "o")));
    assert!(!DefaultMethod::UnknownFutureValue.names(&authenticator("a", "x")));
}

#[test]
fn snapshots_round_trip_without_empty_fields() {
    let u = UserSnapshot {
        default_method: Some(DefaultMethod::VoiceOffice),
        admin_roles: vec!["Helpdesk Administrator".into()],
        ..everything()
    };
    let json = serde_json::to_value(&u).unwrap();
    assert_eq!(json["defaultMethod"], "voiceOffice");
    assert_eq!(json["methods"][1]["phoneType"], "mobile");
    assert_eq!(json["methods"][1]["kind"], "phone");
    assert!(json["methods"][0].get("displayName").is_none());
    assert_eq!(serde_json::from_value::<UserSnapshot>(json).unwrap(), u);
    let minimal: UserSnapshot = serde_json::from_str(
        r#"{"id":"x","userPrincipalName":"a@b.c","accountEnabled":true,"synced":false}"#,
    )
    .unwrap();
    assert!(minimal.methods.is_empty() && minimal.default_method.is_none());
    assert!(serde_json::from_str::<MethodSnapshot>(r#"{"id":"x","kind":"sms"}"#).is_err());
    assert!(
        serde_json::from_str::<MethodSnapshot>(r#"{"id":"x","kind":"phone","phoneType":"fax"}"#)
            .is_err()
    );
}

#[test]
fn a_snapshot_from_a_plan_made_before_reads_were_scoped_read_everything() {
    // No `methodsUnread` or `rolesUnread`: the plan read the methods and the roles.
    let old: UserSnapshot = serde_json::from_str(
        r#"{"id":"x","userPrincipalName":"a@contoso.example","accountEnabled":true,"synced":false,"adminRoles":[],"methods":[]}"#,
    )
    .unwrap();
    assert!(!old.methods_unread && !old.roles_unread);
    // And a snapshot that read everything is written as before, without them.
    let json = serde_json::to_value(&old).unwrap();
    assert!(json.get("methodsUnread").is_none() && json.get("rolesUnread").is_none());
    let unread = UserSnapshot {
        methods_unread: true,
        roles_unread: true,
        ..old
    };
    let json = serde_json::to_value(&unread).unwrap();
    assert_eq!(
        (&json["methodsUnread"], &json["rolesUnread"]),
        (&true.into(), &true.into())
    );
}
