//! Creating phone and email methods, as an administrator re-creates what `mfa-reset
//! restore` puts back: `POST /users/{key}/authentication/phoneMethods` and
//! `.../emailMethods`, each with Entra's rules.
//!
//! What Microsoft documents (graph-api.md cites the pages; "Create phoneMethod" is
//! `api-reference/v1.0/api/authentication-post-phonemethods.md`, "Create emailMethod"
//! `.../authentication-post-emailmethods.md`, the resources
//! `.../resources/phoneauthenticationmethod.md` and `emailauthenticationmethod.md`):
//! the body holds `phoneNumber` and `phoneType` but not the read-only `smsSignInState`;
//! a user has at most one phone of each type, and a `mobile` before an `alternateMobile`;
//! numbers are `+{country code} {number}x{extension}`, the extension optional, and others
//! are rejected; a user has at most one email method; the answer is `201 Created` with the
//! new method, whose id is the fixed id of its phone type, or of the email method.
//!
//! What is modelled without a source: the error codes and messages (Microsoft publishes
//! none for these refusals; they are `400 badRequest` like the documented refusals of the
//! same API), the limits of a number (a country code of 1 to 3 digits not starting with
//! 0, at most 15 digits with the number, as E.164 allows; an extension of 1 to 10 digits),
//! the address check (one `@`, a local part and a dotted domain, no spaces, at most 254
//! characters), and that a new phone does not become the default method.
//!
//! Phone numbers and addresses are personal data: no refusal repeats the value it refuses
//! (a client may write Graph's messages into its reports), and the mutation log records
//! the method's id and type only.

use serde_json::{Map, Value};

use super::{Change, Tenant};
use crate::sim::errors::GraphFailure;
use crate::sim::model::Method;
use crate::wire::{MethodType, PhoneType, fixed_ids};

/// A new method, as the create call answers it.
#[derive(Debug)]
pub struct CreatedMethod {
    pub change: Change,
    /// The 201 body: the method as Graph renders it.
    pub body: Value,
}

/// The most digits E.164 allows in a number, country code included.
const MAX_DIGITS: usize = 15;
/// The most digits this emulator accepts in an extension (modelled).
const MAX_EXTENSION_DIGITS: usize = 10;
/// The longest email address (RFC 5321's path limit less its brackets).
const MAX_ADDRESS: usize = 254;

impl Tenant {
    /// `POST /users/{key}/authentication/phoneMethods`: adds a phone of the type the body
    /// names, with its fixed id.
    pub fn create_phone_method(
        &mut self,
        index: usize,
        body: &Value,
        privileged: bool,
    ) -> Result<CreatedMethod, GraphFailure> {
        let obj = object(body)?;
        if obj.contains_key("smsSignInState") {
            return Err(bad_request(
                "The property 'smsSignInState' is read-only and cannot be set when creating a phone method.",
            ));
        }
        only_properties(
            obj,
            &["phoneNumber", "phoneType"],
            "phoneAuthenticationMethod",
        )?;
        let phone_type = property(
            obj,
            "phoneType",
            PhoneType::parse,
            "expected mobile, alternateMobile or office",
        )?;
        let number = property(
            obj,
            "phoneNumber",
            |s| is_phone_number(s).then(|| s.to_string()),
            "phone numbers use the format '+{country code} {number}x{extension}', with extension optional",
        )?;
        self.check_may_change(index, privileged)?;
        let user = &self.users[index];
        let has = |t: PhoneType| user.methods.iter().any(|m| m.phone_type == Some(t));
        if has(phone_type) {
            return Err(bad_request(format!(
                "The user already has a phone method of type '{}'. A user can have one phone of each type: update or delete it instead.",
                phone_type.as_str()
            )));
        }
        if phone_type == PhoneType::AlternateMobile && !has(PhoneType::Mobile) {
            return Err(bad_request(
                "An alternateMobile phone method can only be added to a user who has a mobile phone method.",
            ));
        }
        let change = Change::CreatePhoneMethod {
            method_id: phone_type.method_id().to_string(),
            phone_type,
        };
        Ok(self.add(index, Method::phone(phone_type, number), change))
    }

    /// `POST /users/{key}/authentication/emailMethods`: adds the user's email method,
    /// with its fixed id.
    pub fn create_email_method(
        &mut self,
        index: usize,
        body: &Value,
        privileged: bool,
    ) -> Result<CreatedMethod, GraphFailure> {
        let obj = object(body)?;
        only_properties(obj, &["emailAddress"], "emailAuthenticationMethod")?;
        let address = property(
            obj,
            "emailAddress",
            |s| is_email_address(s).then(|| s.to_string()),
            "not an email address",
        )?;
        self.check_may_change(index, privileged)?;
        let user = &self.users[index];
        if user.methods.iter().any(|m| m.kind == MethodType::Email) {
            return Err(bad_request(
                "The user already has an email authentication method. A user can have one: update or delete it instead.",
            ));
        }
        let mut method = Method::new(MethodType::Email, fixed_ids::EMAIL);
        method.email_address = Some(address);
        let change = Change::CreateEmailMethod {
            method_id: fixed_ids::EMAIL.to_string(),
        };
        Ok(self.add(index, method, change))
    }

    /// Registers `method` for user `index`, answered as Graph renders it.
    fn add(&mut self, index: usize, method: Method, change: Change) -> CreatedMethod {
        let body = method.to_graph_json();
        self.users[index].methods.push(method);
        CreatedMethod { change, body }
    }
}

fn bad_request(message: impl Into<String>) -> GraphFailure {
    GraphFailure::bad_request("badRequest", message)
}

/// The body as a JSON object, or Graph's 400.
fn object(body: &Value) -> Result<&Map<String, Value>, GraphFailure> {
    body.as_object()
        .ok_or_else(|| bad_request("The request body must be a JSON object."))
}

/// The string property `name`, as `parse` reads it; Graph's 400 when it is missing, not a
/// string or not what `parse` accepts (`expected` says what is; the value itself is never
/// repeated).
fn property<T>(
    obj: &Map<String, Value>,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<T, GraphFailure> {
    match obj.get(name) {
        None => Err(bad_request(format!("The property '{name}' is required."))),
        Some(value) => value.as_str().and_then(parse).ok_or_else(|| {
            bad_request(format!(
                "Invalid value specified for property '{name}': {expected}."
            ))
        }),
    }
}

/// Refuses a property other than `allowed` (named: property names are not personal data).
fn only_properties(
    obj: &Map<String, Value>,
    allowed: &[&str],
    ty: &str,
) -> Result<(), GraphFailure> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(other) => Err(bad_request(format!(
            "mfa-reset's emulator does not model setting the property '{other}' when creating a {ty}; only {}.",
            allowed.join(" and ")
        ))),
    }
}

/// `+{country code} {number}` with an optional `x{extension}`: `+1 5555551234`,
/// `+44 2071234567x12`.
pub fn is_phone_number(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let Some((country, rest)) = rest.split_once(' ') else {
        return false;
    };
    let (number, extension) = match rest.split_once('x') {
        Some((n, e)) => (n, Some(e)),
        None => (rest, None),
    };
    digits(country)
        && country.len() <= 3
        && !country.starts_with('0')
        && digits(number)
        && country.len() + number.len() <= MAX_DIGITS
        && extension.is_none_or(|e| digits(e) && e.len() <= MAX_EXTENSION_DIGITS)
}

/// A plausible address: one `@` between a local part and a dotted domain, no whitespace
/// or control characters, at most 254 characters.
pub fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    s.len() <= MAX_ADDRESS
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && labels_ok
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sim::model::User;

    fn tenant(methods: Vec<Method>, roles: Vec<String>) -> Tenant {
        let user = User {
            roles,
            ..super::super::tests::user(methods, None)
        };
        Tenant::new("00000000-0000-4000-8000-0000000000aa".into(), vec![user]).unwrap()
    }

    fn phone(number: &str, phone_type: &str) -> Value {
        json!({"phoneNumber": number, "phoneType": phone_type})
    }

    #[test]
    fn numbers_follow_graphs_format() {
        for ok in [
            "+1 2065555555",
            "+1 5555551234x123",
            "+44 2071234567",
            "+358 401234567",
            "+1 5x1",
        ] {
            assert!(is_phone_number(ok), "{ok}");
        }
        for bad in [
            "",
            "+",
            "2065555555",
            "+12065555555",
            "+1  2065555555",
            "+1 206 555 5555",
            "+1 206-555-5555",
            "+1 (206)5555555",
            "+0 2065555555",
            "+1234 5555555",
            "+1 2065555555x",
            "+1 2065555555x12345678901",
            "+1 2065555555X1",
            "+1 1234567890123456",
            "+1 2065555555 ",
            "+١ ٢٠٦٥٥٥٥٥٥٥",
            "+1 x1",
        ] {
            assert!(!is_phone_number(bad), "{bad:?}");
        }
    }

    #[test]
    fn addresses_are_plausible() {
        for ok in ["kim@contoso.com", "a.b+c@mail.example.org", "x@y.z"] {
            assert!(is_email_address(ok), "{ok}");
        }
        let long = format!("{}@contoso.com", "a".repeat(250));
        for bad in [
            "",
            "kim",
            "kim@",
            "@contoso.com",
            "kim@contoso",
            "kim@@contoso.com",
            "kim@contoso..com",
            "kim@.contoso.com",
            "kim @contoso.com",
            "kim@contoso.com\n",
            "kim@-contoso.com",
            long.as_str(),
        ] {
            assert!(!is_email_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn one_phone_of_each_type_and_a_mobile_before_an_alternate() {
        let mut t = tenant(vec![Method::password()], vec![]);
        let err = t
            .create_phone_method(0, &phone("+1 4255550102", "alternateMobile"), false)
            .unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "badRequest"));
        assert!(
            err.message.contains("mobile phone method"),
            "{}",
            err.message
        );

        let created = t
            .create_phone_method(0, &phone("+1 4255550101", "mobile"), false)
            .unwrap();
        assert_eq!(created.body["id"], fixed_ids::MOBILE_PHONE);
        assert_eq!(created.body["phoneNumber"], "+1 4255550101");
        assert_eq!(created.body["phoneType"], "mobile");
        assert_eq!(
            created.body["@odata.type"],
            "#microsoft.graph.phoneAuthenticationMethod"
        );
        assert_eq!(
            created.change,
            Change::CreatePhoneMethod {
                method_id: fixed_ids::MOBILE_PHONE.into(),
                phone_type: PhoneType::Mobile,
            }
        );
        let err = t
            .create_phone_method(0, &phone("+1 4255550109", "mobile"), false)
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains("'mobile'"), "{}", err.message);
        // The refusal does not repeat the number (personal data).
        assert!(!err.message.contains("4255550109"), "{}", err.message);

        t.create_phone_method(0, &phone("+1 4255550102", "alternateMobile"), false)
            .unwrap();
        t.create_phone_method(0, &phone("+1 4255550199x7", "office"), false)
            .unwrap();
        let user = t.user(0);
        assert_eq!(user.methods.len(), 4);
        assert_eq!(
            user.method(fixed_ids::OFFICE_PHONE)
                .and_then(|m| m.phone_number.as_deref()),
            Some("+1 4255550199x7")
        );
        // A new phone does not become the default.
        assert_eq!(user.default_method, None);
    }

    #[test]
    fn a_malformed_body_is_refused_and_changes_nothing() {
        let mut t = tenant(vec![Method::password()], vec![]);
        for body in [
            Value::Null,
            json!([]),
            json!("+1 4255550101"),
            json!({}),
            json!({"phoneType": "mobile"}),
            json!({"phoneNumber": "+1 4255550101"}),
            json!({"phoneNumber": 14255550101_u64, "phoneType": "mobile"}),
            json!({"phoneNumber": "+1 4255550101", "phoneType": "landline"}),
            json!({"phoneNumber": "+1 4255550101", "phoneType": 1}),
            json!({"phoneNumber": "425-555-0101", "phoneType": "mobile"}),
            json!({"phoneNumber": "+1 4255550101", "phoneType": "mobile", "smsSignInState": "ready"}),
            json!({"phoneNumber": "+1 4255550101", "phoneType": "mobile", "id": "x"}),
        ] {
            let err = t.create_phone_method(0, &body, false).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_str()),
                (400, "badRequest"),
                "{body}"
            );
            assert!(!err.message.contains("4255550101"), "{}", err.message);
        }
        for body in [
            Value::Null,
            json!({}),
            json!({"emailAddress": 7}),
            json!({"emailAddress": "not an address"}),
            json!({"emailAddress": "kim@contoso.com", "id": "x"}),
        ] {
            let err = t.create_email_method(0, &body, false).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_str()),
                (400, "badRequest"),
                "{body}"
            );
        }
        assert_eq!(t.user(0).methods, vec![Method::password()]);
    }

    #[test]
    fn one_email_method() {
        let mut t = tenant(vec![Method::password()], vec![]);
        let created = t
            .create_email_method(0, &json!({"emailAddress": "kim@contoso.com"}), false)
            .unwrap();
        assert_eq!(created.body["id"], fixed_ids::EMAIL);
        assert_eq!(created.body["emailAddress"], "kim@contoso.com");
        assert_eq!(
            created.change,
            Change::CreateEmailMethod {
                method_id: fixed_ids::EMAIL.into()
            }
        );
        let err = t
            .create_email_method(0, &json!({"emailAddress": "kim2@contoso.com"}), false)
            .unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "badRequest"));
        assert!(!err.message.contains("kim2"), "{}", err.message);
        assert_eq!(t.user(0).methods.len(), 2);
    }

    #[test]
    fn an_admin_is_changed_only_by_a_privileged_app() {
        let mut t = tenant(vec![], vec!["Global Administrator".into()]);
        let err = t
            .create_phone_method(0, &phone("+1 4255550101", "mobile"), false)
            .unwrap_err();
        assert_eq!(err.status, 403);
        let err = t
            .create_email_method(0, &json!({"emailAddress": "kim@contoso.com"}), false)
            .unwrap_err();
        assert_eq!(err.status, 403);
        assert!(t.user(0).methods.is_empty());
        t.create_phone_method(0, &phone("+1 4255550101", "mobile"), true)
            .unwrap();
        t.create_email_method(0, &json!({"emailAddress": "kim@contoso.com"}), true)
            .unwrap();
        assert_eq!(t.user(0).methods.len(), 2);
    }

    #[test]
    fn a_created_method_reads_back_as_a_tenant_file_holds_it() {
        let mut t = tenant(vec![], vec![]);
        t.create_phone_method(0, &phone("+1 4255550101", "mobile"), false)
            .unwrap();
        t.create_email_method(0, &json!({"emailAddress": "kim@contoso.com"}), false)
            .unwrap();
        let record = t.to_record();
        let back = Tenant::from_record(record).unwrap();
        assert_eq!(back.user(0).methods, t.user(0).methods);
    }
}
