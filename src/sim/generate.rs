//! Deterministic generation of a realistic tenant (`mfa-reset sim --users N --seed S`).
//!
//! The same `(N, seed)` always gives the same tenant, so a rehearsal, a test and a
//! benchmark can name the users they expect. The mix is what a real tenant holds and what
//! trips real tools: users with only a password, with one phone, with a mobile and an
//! alternate mobile, with Authenticator and a phone (Authenticator the default), with
//! FIDO2 keys or Windows Hello, OATH tokens, email methods, platform credentials; guests
//! with `#EXT#` UPNs; UPNs with an apostrophe; exactly one UPN that starts with `$`;
//! synced users; disabled accounts; a few admin-role holders.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::model::{Method, User};
use super::tenant::{Tenant, guid_from_u128};
use crate::wire::{MethodType, PhoneType, fixed_ids};

/// The domain generated members' UPNs use.
pub const DOMAIN: &str = "contoso.example";

const FIRST: [&str; 24] = [
    "Adele",
    "Alex",
    "Allan",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Aoife",
    "Sean",
    "Yuki",
    "Amara",
    "Chen",
    "Fatima",
    "Mateo",
];
const LAST: [&str; 20] = [
    "Vance",
    "Wilber",
    "Deyoung",
    "Salazar",
    "Archie",
    "Cornejo",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Tanaka",
    "Okafor",
    "Nakamura",
];
const IRISH: [&str; 4] = ["O'Brien", "O'Neill", "D'Arcy", "O'Connor"];
const PHONES: [&str; 10] = [
    "iPhone 12",
    "iPhone 13",
    "iPhone 15 Pro",
    "Pixel 6",
    "Pixel 8",
    "Galaxy S21",
    "Galaxy S23",
    "Galaxy A54",
    "moto g power",
    "iPhone SE",
];
const ROLES: [&str; 4] = [
    "Global Administrator",
    "User Administrator",
    "Authentication Administrator",
    "Helpdesk Administrator",
];

/// Registration times are spread over these years.
const FIRST_REGISTRATION: i64 = 1_609_459_200; // 2021-01-01
const LAST_REGISTRATION: i64 = 1_761_955_200; // 2025-11-01

fn guid(rng: &mut ChaCha8Rng) -> String {
    guid_from_u128(rng.random())
}

fn opaque_id(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s: String = (0..22)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    s.push('2');
    s
}

fn timestamp(rng: &mut ChaCha8Rng) -> String {
    let secs = rng.random_range(FIRST_REGISTRATION..LAST_REGISTRATION);
    OffsetDateTime::from_unix_timestamp(secs)
        .expect("timestamp in range")
        .format(&Rfc3339)
        .expect("RFC 3339 formats every timestamp")
}

fn phone_number(rng: &mut ChaCha8Rng) -> String {
    format!("+1 425555{:04}", rng.random_range(0..10_000))
}

fn authenticator(rng: &mut ChaCha8Rng) -> Method {
    let mut m = Method::new(MethodType::MicrosoftAuthenticator, opaque_id(rng));
    m.display_name = Some(PHONES.choose(rng).expect("non-empty").to_string());
    // Graph leaves createdDateTime null for many Authenticator registrations.
    if rng.random_bool(0.85) {
        m.created_date_time = Some(timestamp(rng));
    }
    m
}

fn named(kind: MethodType, id: String, name: String, rng: &mut ChaCha8Rng) -> Method {
    let mut m = Method::new(kind, id);
    m.display_name = Some(name);
    m.created_date_time = Some(timestamp(rng));
    m
}

/// Generates `count` users from `seed`.
pub fn generate(count: usize, seed: u64) -> Tenant {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // The rarer methods draw from a stream of their own, so that a seed's users (names,
    // UPNs, the usual methods) stay what they were before those methods were modelled.
    let mut rare = ChaCha8Rng::seed_from_u64(seed ^ 0x7261_7265_6d65_7468);
    let tenant_id = guid(&mut rng);
    let dollar_index = count / 2;
    let mut users = Vec::with_capacity(count);
    for i in 0..count {
        users.push(user(&mut rng, &mut rare, i, i == dollar_index));
    }
    Tenant::new(tenant_id, users).expect("generated ids and UPNs are unique")
}

/// User `i`; `dollar` for the one user whose UPN starts with `$`. Every draw from `rng`
/// (and from `rare`, for the rarer methods) happens in a fixed order, so that a seed always
/// gives the same tenant.
fn user(rng: &mut ChaCha8Rng, rare: &mut ChaCha8Rng, i: usize, dollar: bool) -> User {
    let who = identity(rng, i, dollar);
    let synced = !who.guest && !dollar && rng.random_bool(0.15);
    let mut methods = Vec::new();
    if !who.guest {
        methods.push(Method::password());
    }
    let mut default = mfa_methods(rng, who.first, &mut methods);
    if !who.guest {
        rarer_methods(rare, &mut methods, &mut default);
    }
    let roles = if !who.guest && (i == 1 || rng.random_bool(0.004)) {
        vec![ROLES.choose(rng).expect("non-empty").to_string()]
    } else {
        vec![]
    };
    User {
        id: guid(rng),
        display_name: format!("{} {}", who.first, who.last),
        user_principal_name: who.upn,
        mail: who.mail,
        account_enabled: !rng.random_bool(0.03),
        user_type: who.user_type.to_string(),
        on_premises_sync_enabled: synced.then_some(true),
        sign_in_sessions_valid_from_date_time: Some(timestamp(rng)),
        roles,
        default_method: default,
        methods,
    }
}

/// Who a generated user is: name, UPN, mail, and whether a guest.
struct Identity {
    first: &'static str,
    last: &'static str,
    guest: bool,
    upn: String,
    mail: Option<String>,
    user_type: &'static str,
}

/// User `i`'s name and addresses: a member of [`DOMAIN`], a guest with an `#EXT#` UPN
/// (one in twenty), or for `dollar` the service account whose UPN starts with `$`.
fn identity(rng: &mut ChaCha8Rng, i: usize, dollar: bool) -> Identity {
    let first = *FIRST.choose(rng).expect("non-empty");
    let irish = rng.random_bool(0.02);
    let last = if irish {
        *IRISH.choose(rng).expect("non-empty")
    } else {
        *LAST.choose(rng).expect("non-empty")
    };
    let guest = !dollar && rng.random_bool(0.05);
    let local = format!("{}.{}{i}", first.to_lowercase(), last.to_lowercase());
    let (upn, mail, user_type) = if dollar {
        let upn = format!("$svc-backup{i}@{DOMAIN}");
        (upn.clone(), Some(upn), "Member")
    } else if guest {
        let home = ["fabrikam.example", "adatum.example", "gmail.example"]
            .choose(rng)
            .expect("non-empty");
        let external = format!("{local}@{home}");
        let upn = format!("{}#EXT#@{DOMAIN}", external.replace('@', "_"));
        (upn, Some(external), "Guest")
    } else {
        let upn = format!("{local}@{DOMAIN}");
        let mail = rng.random_bool(0.9).then(|| upn.clone());
        (upn, mail, "Member")
    };
    Identity {
        first,
        last,
        guest,
        upn,
        mail,
        user_type,
    }
}

/// Adds a user's MFA methods to `methods`, drawn from one of the profiles a real tenant
/// holds, and returns the id of the default method (`None` for password only).
fn mfa_methods(rng: &mut ChaCha8Rng, first: &str, methods: &mut Vec<Method>) -> Option<String> {
    let profile: u32 = rng.random_range(0..100);
    match profile {
        // Password only (or nothing, for a guest).
        0..=19 => None,
        20..=37 => one_mobile(rng, methods),
        38..=42 => mobile_and_alternate(rng, methods),
        43..=72 => authenticator_and_phone(rng, methods),
        73..=79 => authenticator_oath_and_phone(rng, methods),
        80..=86 => fido2_and_authenticator(rng, first, methods),
        87..=92 => hello_and_authenticator(rng, first, methods),
        93..=96 => email_and_phone(rng, first, methods),
        _ => mac_and_authenticator(rng, first, methods),
    }
}

/// Now and then one of the rarer methods: a hardware OATH token (the default of a user who
/// had none), an external MFA provider's method, a QR code PIN (frontline workers).
fn rarer_methods(rng: &mut ChaCha8Rng, methods: &mut Vec<Method>, default: &mut Option<String>) {
    let draw: u32 = rng.random_range(0..1000);
    match draw {
        0..=24 => {
            let token = named(
                MethodType::HardwareOath,
                guid(rng),
                format!("Token {}", rng.random_range(100_000..999_999)),
                rng,
            );
            default.get_or_insert_with(|| token.id.clone());
            methods.push(token);
        }
        25..=44 => {
            let id = guid(rng);
            methods.push(named(
                MethodType::External,
                id,
                "Contoso external MFA".to_string(),
                rng,
            ));
        }
        45..=59 => {
            let mut qr = Method::new(MethodType::QrCodePin, guid(rng));
            qr.created_date_time = Some(timestamp(rng));
            methods.push(qr);
        }
        _ => {}
    }
}

/// One mobile phone.
fn one_mobile(rng: &mut ChaCha8Rng, methods: &mut Vec<Method>) -> Option<String> {
    methods.push(Method::phone(PhoneType::Mobile, phone_number(rng)));
    Some(fixed_ids::MOBILE_PHONE.to_string())
}

/// Mobile with alternate mobile and sometimes an office phone.
fn mobile_and_alternate(rng: &mut ChaCha8Rng, methods: &mut Vec<Method>) -> Option<String> {
    methods.push(Method::phone(PhoneType::Mobile, phone_number(rng)));
    methods.push(Method::phone(PhoneType::AlternateMobile, phone_number(rng)));
    if rng.random_bool(0.5) {
        methods.push(Method::phone(PhoneType::Office, phone_number(rng)));
    }
    let default = if rng.random_bool(0.3) {
        fixed_ids::ALTERNATE_MOBILE_PHONE
    } else {
        fixed_ids::MOBILE_PHONE
    };
    Some(default.to_string())
}

/// Authenticator and a phone; Authenticator usually the default.
fn authenticator_and_phone(rng: &mut ChaCha8Rng, methods: &mut Vec<Method>) -> Option<String> {
    let a = authenticator(rng);
    let a_id = a.id.clone();
    methods.push(a);
    methods.push(Method::phone(PhoneType::Mobile, phone_number(rng)));
    let default = if rng.random_bool(0.75) {
        a_id
    } else {
        fixed_ids::MOBILE_PHONE.to_string()
    };
    if rng.random_bool(0.1) {
        methods.push(authenticator(rng));
    }
    Some(default)
}

/// Authenticator (the default), OATH token and phone.
fn authenticator_oath_and_phone(rng: &mut ChaCha8Rng, methods: &mut Vec<Method>) -> Option<String> {
    let default = default_authenticator(rng, methods);
    let mut oath = Method::new(MethodType::SoftwareOath, guid(rng));
    oath.created_date_time = Some(timestamp(rng));
    methods.push(oath);
    methods.push(Method::phone(PhoneType::Mobile, phone_number(rng)));
    default
}

/// FIDO2 key(s) and Authenticator (the default).
fn fido2_and_authenticator(
    rng: &mut ChaCha8Rng,
    first: &str,
    methods: &mut Vec<Method>,
) -> Option<String> {
    let key_id = opaque_id(rng);
    methods.push(named(
        MethodType::Fido2,
        key_id,
        format!("{first}'s YubiKey"),
        rng,
    ));
    if rng.random_bool(0.3) {
        let backup_id = opaque_id(rng);
        methods.push(named(
            MethodType::Fido2,
            backup_id,
            "Backup key".to_string(),
            rng,
        ));
    }
    default_authenticator(rng, methods)
}

/// Windows Hello and Authenticator (the default).
fn hello_and_authenticator(
    rng: &mut ChaCha8Rng,
    first: &str,
    methods: &mut Vec<Method>,
) -> Option<String> {
    let id = guid(rng);
    methods.push(named(
        MethodType::WindowsHelloForBusiness,
        id,
        format!("{first}'s Surface Laptop"),
        rng,
    ));
    default_authenticator(rng, methods)
}

/// Email and phone (the default).
fn email_and_phone(rng: &mut ChaCha8Rng, first: &str, methods: &mut Vec<Method>) -> Option<String> {
    let mut e = Method::new(MethodType::Email, fixed_ids::EMAIL);
    e.email_address = Some(format!("{}@personal.example", first.to_lowercase()));
    methods.push(e);
    methods.push(Method::phone(PhoneType::Mobile, phone_number(rng)));
    Some(fixed_ids::MOBILE_PHONE.to_string())
}

/// Platform credential (a Mac) and Authenticator (the default).
fn mac_and_authenticator(
    rng: &mut ChaCha8Rng,
    first: &str,
    methods: &mut Vec<Method>,
) -> Option<String> {
    let id = opaque_id(rng);
    methods.push(named(
        MethodType::PlatformCredential,
        id,
        format!("{first}'s MacBook Pro"),
        rng,
    ));
    default_authenticator(rng, methods)
}

/// Adds an Authenticator registration and returns its id, as the default method.
fn default_authenticator(rng: &mut ChaCha8Rng, methods: &mut Vec<Method>) -> Option<String> {
    let a = authenticator(rng);
    let id = a.id.clone();
    methods.push(a);
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_tenant_and_a_realistic_mix() {
        let a = generate(2_000, 7);
        let b = generate(2_000, 7);
        assert_eq!(a.to_record().users.len(), 2_000);
        assert_eq!(
            serde_json::to_string(&a.to_record()).unwrap(),
            serde_json::to_string(&b.to_record()).unwrap()
        );
        assert_ne!(
            serde_json::to_string(&generate(50, 8).to_record()).unwrap(),
            serde_json::to_string(&generate(50, 7).to_record()).unwrap()
        );
        let users = a.users();
        let count = |f: &dyn Fn(&User) -> bool| users.iter().filter(|u| f(u)).count();
        assert_eq!(count(&|u| u.user_principal_name.starts_with('$')), 1);
        assert!(count(&|u| u.user_principal_name.contains("#EXT#")) > 20);
        assert!(count(&|u| u.user_principal_name.contains('\'')) > 5);
        assert!(count(&|u| u.is_synced()) > 100);
        assert!(count(&|u| u.holds_admin_role()) >= 2);
        assert!(count(&|u| !u.account_enabled) > 10);
        assert!(count(&|u| u.methods.iter().all(|m| m.kind == MethodType::Password)) > 100);
        for kind in MethodType::ALL {
            if kind != MethodType::TemporaryAccessPass {
                assert!(
                    count(&|u| u.methods.iter().any(|m| m.kind == kind)) > 10,
                    "{kind}"
                );
            }
        }
        assert!(
            count(&|u| u
                .methods
                .iter()
                .any(|m| m.phone_type == Some(PhoneType::AlternateMobile)))
                > 10
        );
        // Every generated user is valid as a tenant-file user.
        for u in a.to_record().users {
            u.into_user().unwrap();
        }
    }
}
