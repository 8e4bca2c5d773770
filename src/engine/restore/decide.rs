//! What a restore does to one user: from what the run did ([`RunDid`]), the state the run
//! kept before it changed them ([`RestoreRecord`]) and the state now ([`Current`]),
//! which methods to create again, whether to enable the account, which default to set
//! back and which pass to delete — and, in words, what is back already, what was changed
//! since (left alone) and what cannot be restored. Pure: no I/O.
//!
//! The decision is made from the state now, so deciding again after a restore was
//! interrupted (or after it finished) asks only for what is still missing: a restore is
//! resumed, or run twice, by running it again.

use std::collections::BTreeSet;

use crate::engine::secrets::restore::RestoreRecord;
use crate::policy::DefaultMethod;
use crate::wire::MethodType;

/// What a restore may put back (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Phone,
    Email,
    Account,
    Default,
    Tap,
}

impl Part {
    pub const ALL: [Part; 5] = [
        Part::Phone,
        Part::Email,
        Part::Account,
        Part::Default,
        Part::Tap,
    ];

    /// Its name in `--only`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Phone => "phone",
            Part::Email => "email",
            Part::Account => "account",
            Part::Default => "default",
            Part::Tap => "tap",
        }
    }
}

/// What the run did to one user (or tried to: a change whose answer was lost counts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunDid {
    /// Methods removed: type, id and what people call them.
    pub removed: Vec<(MethodType, String, String)>,
    pub disabled: bool,
    pub tap_issued: bool,
    pub default_set: bool,
}

impl RunDid {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && !self.disabled && !self.tap_issued && !self.default_set
    }
}

/// A user's state now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    pub account_enabled: Option<bool>,
    /// `(phoneType, phoneNumber)`.
    pub phones: Vec<(String, String)>,
    pub email: Option<String>,
    /// The Temporary Access Passes: id and `createdDateTime`.
    pub passes: Vec<(String, Option<String>)>,
    /// The types of the other methods registered (for the default's method).
    pub kinds: BTreeSet<MethodType>,
    /// The default MFA method, in Graph's words.
    pub default: Option<String>,
}

/// One change a restore sends.
#[derive(Clone, PartialEq)]
pub enum Action {
    CreatePhone { phone_type: String, number: String },
    CreateEmail { address: String },
    EnableAccount,
    DeletePass { id: String },
    SetDefault { preferred: String },
}

impl Action {
    /// What it does, in words without personal data.
    pub fn describe(&self) -> String {
        match self {
            Action::CreatePhone { phone_type, .. } => {
                format!("create the {} phone again", phone_words(phone_type))
            }
            Action::CreateEmail { .. } => "create the email method again".into(),
            Action::EnableAccount => "enable the account again".into(),
            Action::DeletePass { .. } => "delete the Temporary Access Pass the run issued".into(),
            Action::SetDefault { preferred } => {
                format!("make {preferred} the default method again")
            }
        }
    }

    /// The wave it goes in: a mobile phone before an alternate mobile (Graph refuses an
    /// alternate without a mobile), the default last (its method must exist first).
    pub fn wave(&self) -> u8 {
        match self {
            Action::CreatePhone { phone_type, .. } if phone_type != "mobile" => 1,
            Action::SetDefault { .. } => 2,
            _ => 0,
        }
    }

    /// The personal data the action sends (a phone number, an email address), which
    /// nothing but the restore data may hold: an error Graph gives about the action is
    /// written with it taken out ([`Action::redact`]).
    fn personal(&self) -> Option<&str> {
        match self {
            Action::CreatePhone { number, .. } => Some(number),
            Action::CreateEmail { address } => Some(address),
            _ => None,
        }
    }

    /// `text` (Graph's error about this action) without the number or address it sent.
    pub fn redact(&self, text: &str) -> String {
        match self.personal() {
            Some(p) if !p.is_empty() => text.replace(p, "[redacted]"),
            _ => text.to_string(),
        }
    }
}

/// Never the number or the address.
impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A restore of one user, decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decided {
    pub actions: Vec<Action>,
    /// Back already.
    pub unchanged: Vec<String>,
    /// Changed since the run: left as it is.
    pub left_alone: Vec<String>,
    /// What cannot be restored, and why.
    pub cannot: Vec<String>,
}

fn phone_words(phone_type: &str) -> &str {
    match phone_type {
        "mobile" => "mobile",
        "alternateMobile" => "alternate mobile",
        "office" => "office",
        other => other,
    }
}

/// A phone number as Graph may write it back: without spaces, case-insensitive `x`.
fn same_number(a: &str, b: &str) -> bool {
    let plain = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    plain(a) == plain(b)
}

/// Decides the restore of one user. `record`: the state the run kept (`None`: none kept
/// for them); `run_started`: when the run began (RFC 3339), to tell the pass it issued
/// from one issued since; `only`: the parts to restore.
pub fn decide(
    did: &RunDid,
    record: Option<&RestoreRecord>,
    now: &Current,
    run_started: &str,
    only: &BTreeSet<Part>,
) -> Decided {
    let mut d = Decided::default();
    let mut phones_after: BTreeSet<String> = now.phones.iter().map(|(t, _)| t.clone()).collect();
    for (kind, id, label) in &did.removed {
        match kind {
            MethodType::Phone if only.contains(&Part::Phone) => {
                let kept = record.and_then(|r| r.phones.iter().find(|p| &p.id == id));
                let Some(kept) = kept else {
                    d.cannot
                        .push(format!("{label}: no restore data was kept for it"));
                    continue;
                };
                let words = phone_words(&kept.phone_type);
                match now.phones.iter().find(|(t, _)| *t == kept.phone_type) {
                    Some((_, number)) if same_number(number, &kept.phone_number) => {
                        d.unchanged.push(format!("the {words} phone is registered, as before the run"))
                    }
                    Some(_) => d.left_alone.push(format!(
                        "a {words} phone with another number was registered since the run: left as it is"
                    )),
                    None => {
                        phones_after.insert(kept.phone_type.clone());
                        d.actions.push(Action::CreatePhone {
                            phone_type: kept.phone_type.clone(),
                            number: kept.phone_number.clone(),
                        });
                    }
                }
            }
            MethodType::Email if only.contains(&Part::Email) => {
                let kept = record
                    .and_then(|r| r.email.as_ref())
                    .filter(|e| &e.id == id);
                let Some(kept) = kept else {
                    d.cannot
                        .push(format!("{label}: no restore data was kept for it"));
                    continue;
                };
                match &now.email {
                    Some(address) if address.eq_ignore_ascii_case(&kept.email_address) => {
                        d.unchanged.push("the email method is registered, as before the run".into())
                    }
                    Some(_) => d.left_alone.push(
                        "an email method with another address was registered since the run: left as it is"
                            .into(),
                    ),
                    None => d.actions.push(Action::CreateEmail {
                        address: kept.email_address.clone(),
                    }),
                }
            }
            MethodType::Phone | MethodType::Email => {}
            _ => d.cannot.push(format!(
                "{label}: an administrator cannot create it again; the user registers it anew"
            )),
        }
    }
    // An alternate mobile needs a mobile phone (Graph refuses it otherwise).
    if !phones_after.contains("mobile") {
        let before = d.actions.len();
        d.actions.retain(|a| {
            !matches!(a, Action::CreatePhone { phone_type, .. } if phone_type == "alternateMobile")
        });
        if d.actions.len() < before {
            phones_after.remove("alternateMobile");
            d.cannot.push(
                "the alternate mobile phone: Graph takes one only beside a mobile phone, which the user does not have"
                    .into(),
            );
        }
    }
    if did.disabled && only.contains(&Part::Account) {
        match (record.and_then(|r| r.account_enabled), now.account_enabled) {
            (Some(true), Some(true)) => d.unchanged.push("the account is enabled, as before the run".into()),
            (Some(true), _) => d.actions.push(Action::EnableAccount),
            (Some(false), _) => {
                d.unchanged.push("the account was disabled before the run: it stays so".into())
            }
            (None, _) => d.cannot.push(
                "the account: whether it was enabled before the run was not kept (a containment straight from the list disables before reading); enable it by hand if it was"
                    .into(),
            ),
        }
    }
    if did.tap_issued && only.contains(&Part::Tap) {
        let issued_by_run: Vec<&String> = now
            .passes
            .iter()
            .filter(|(_, created)| created.as_deref().is_none_or(|c| c >= run_started))
            .map(|(id, _)| id)
            .collect();
        if issued_by_run.is_empty() {
            d.unchanged
                .push("no Temporary Access Pass of the run's is left".into());
        }
        for id in issued_by_run {
            d.actions.push(Action::DeletePass { id: id.clone() });
        }
    }
    let default_touched = did.default_set || !did.removed.is_empty();
    if default_touched
        && only.contains(&Part::Default)
        && let Some(before) = record.and_then(|r| r.default_method.as_deref())
    {
        if now
            .default
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case(before))
        {
            d.unchanged
                .push(format!("{before} is the default method already"));
        } else if method_present(before, &phones_after, now) {
            d.actions.push(Action::SetDefault {
                preferred: before.to_string(),
            });
        } else if did.default_set {
            d.cannot.push(format!(
                "the default method {before}: its method is not registered again, so it cannot be the default"
            ));
        }
    }
    d.actions.sort_by_key(Action::wave);
    d
}

/// Whether the method a default (Graph's value) points at is there after the restore.
fn method_present(default: &str, phones: &BTreeSet<String>, now: &Current) -> bool {
    match DefaultMethod::from_graph(default) {
        Some(DefaultMethod::Sms | DefaultMethod::VoiceMobile) => phones.contains("mobile"),
        Some(DefaultMethod::VoiceAlternateMobile) => phones.contains("alternateMobile"),
        Some(DefaultMethod::VoiceOffice) => phones.contains("office"),
        Some(DefaultMethod::Push) => now.kinds.contains(&MethodType::MicrosoftAuthenticator),
        Some(DefaultMethod::Oath) => {
            now.kinds.contains(&MethodType::SoftwareOath)
                || now.kinds.contains(&MethodType::HardwareOath)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::secrets::restore::{EmailToRestore, PhoneToRestore};

    const MOBILE: &str = "3179e48a-750b-4051-897c-87b9720928f7";
    const ALTERNATE: &str = "b6332ec1-7057-4abe-9331-3d72feddfe41";
    const EMAIL: &str = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f";

    fn record() -> RestoreRecord {
        RestoreRecord {
            row: 0,
            user_id: "u".into(),
            user_principal_name: "u@contoso.example".into(),
            read_at: "2026-12-03T10:00:00Z".into(),
            account_enabled: Some(true),
            default_method: Some("sms".into()),
            phones: vec![
                PhoneToRestore {
                    id: MOBILE.into(),
                    phone_type: "mobile".into(),
                    phone_number: "+1 2065550100".into(),
                },
                PhoneToRestore {
                    id: ALTERNATE.into(),
                    phone_type: "alternateMobile".into(),
                    phone_number: "+1 2065550101".into(),
                },
            ],
            email: Some(EmailToRestore {
                id: EMAIL.into(),
                email_address: "ana@example.org".into(),
            }),
        }
    }

    fn offboarded() -> RunDid {
        RunDid {
            removed: vec![
                (MethodType::Phone, MOBILE.into(), "mobile phone".into()),
                (
                    MethodType::Phone,
                    ALTERNATE.into(),
                    "alternate mobile phone".into(),
                ),
                (MethodType::Email, EMAIL.into(), "email".into()),
                (MethodType::Fido2, "k".into(), "FIDO2 key YubiKey".into()),
            ],
            disabled: true,
            tap_issued: true,
            default_set: false,
        }
    }

    fn all() -> BTreeSet<Part> {
        Part::ALL.into_iter().collect()
    }

    #[test]
    fn everything_the_run_removed_and_graph_can_create_comes_back_in_order() {
        let now = Current {
            account_enabled: Some(false),
            passes: vec![("p".into(), Some("2026-12-03T10:05:00Z".into()))],
            ..Current::default()
        };
        let d = decide(
            &offboarded(),
            Some(&record()),
            &now,
            "2026-12-03T10:00:00Z",
            &all(),
        );
        let described: Vec<String> = d.actions.iter().map(Action::describe).collect();
        assert_eq!(
            described,
            [
                "create the mobile phone again",
                "create the email method again",
                "enable the account again",
                "delete the Temporary Access Pass the run issued",
                "create the alternate mobile phone again",
                "make sms the default method again",
            ]
        );
        assert_eq!(d.cannot.len(), 1, "{:?}", d.cannot);
        assert!(d.cannot[0].contains("FIDO2"));
        assert!(!format!("{d:?}").contains("2065550100"));
        let quoted = "Invalid phone number '+1 2065550100'.";
        assert_eq!(
            d.actions[0].redact(quoted),
            "Invalid phone number '[redacted]'."
        );
    }

    #[test]
    fn deciding_again_after_the_restore_finds_nothing_to_do() {
        let now = Current {
            account_enabled: Some(true),
            phones: vec![
                ("mobile".into(), "+1 2065550100".into()),
                ("alternateMobile".into(), "+1 2065550101".into()),
            ],
            email: Some("Ana@example.org".into()),
            default: Some("sms".into()),
            ..Current::default()
        };
        let d = decide(
            &offboarded(),
            Some(&record()),
            &now,
            "2026-12-03T10:00:00Z",
            &all(),
        );
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        assert_eq!(d.unchanged.len(), 6, "{:?}", d.unchanged);
    }

    #[test]
    fn a_method_registered_since_is_left_alone_and_only_limits_the_parts() {
        let now = Current {
            account_enabled: Some(false),
            phones: vec![("mobile".into(), "+44 7700900123".into())],
            ..Current::default()
        };
        let only: BTreeSet<Part> = [Part::Phone, Part::Email].into_iter().collect();
        let d = decide(
            &offboarded(),
            Some(&record()),
            &now,
            "2026-12-03T10:00:00Z",
            &only,
        );
        assert_eq!(d.left_alone.len(), 1);
        let described: Vec<String> = d.actions.iter().map(Action::describe).collect();
        assert_eq!(
            described,
            [
                "create the email method again",
                "create the alternate mobile phone again"
            ]
        );
    }

    #[test]
    fn without_restore_data_nothing_is_guessed() {
        let d = decide(&offboarded(), None, &Current::default(), "x", &all());
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        assert!(d.cannot.iter().any(|c| c.contains("no restore data")));
        assert!(d.cannot.iter().any(|c| c.contains("enable it by hand")));
    }

    #[test]
    fn an_alternate_mobile_alone_is_not_sent() {
        let did = RunDid {
            removed: vec![(
                MethodType::Phone,
                ALTERNATE.into(),
                "alternate mobile phone".into(),
            )],
            ..RunDid::default()
        };
        let d = decide(&did, Some(&record()), &Current::default(), "x", &all());
        assert!(d.actions.is_empty(), "{:?}", d.actions);
        assert!(d.cannot.iter().any(|c| c.contains("beside a mobile phone")));
    }
}
