//! Every Graph request mfa-reset can send, checked against Microsoft's published v1.0
//! schema (issue #16): the path (entity set, keys, navigation properties, type casts, bound
//! actions, `$ref`), the `$select`/`$filter`/`$expand` names and the body's properties must
//! all exist in it, so that a misspelling fails here and not in a customer's tenant.
//!
//! The schema is `tests/data/graph-v1.0-authentication.csdl.xml`, an extract of
//! `schemas/v1.0-Prod.csdl` in microsoftgraph/msgraph-metadata (the commit is named in the
//! file); `support/csdl.rs` says how to refresh it and holds the checker. Requests the
//! extract cannot judge — beta ones, and v1.0 routes outside it — must match a template of
//! [`OUT_OF_EXTRACT`], each with the Microsoft page it comes from; any other request fails.
//!
//! Two sources of requests are checked: a catalogue of every public constructor of
//! [`GraphRequest`] (with an id, a UPN, a `$`-UPN and a mail key, and every method type),
//! and what `plan` + `apply` actually send to the emulator, logged by it
//! ([`SimConfig::log_requests`]) for each profile and flag, with id, UPN and mail keys. The
//! negative cases show that the check rejects a misspelling, naming it.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use mfa_reset::graph::key::UserKey;
use mfa_reset::graph::request::GraphRequest;
use mfa_reset::sim::{ReceivedRequest, SimConfig, TenantRecord, TenantSource};
use mfa_reset::wire::{MethodType, PhoneType};
use serde_json::{Value, json};

use crate::support::csdl::Csdl;
use crate::support::graph::{Graph, TOKEN};
use crate::support::scenario::{Scenario, rules};
use crate::support::users::{id_of, upn};
use crate::support::{ALICE, DORA, EMAIL, MOBILE, PASSWORD, SERVICE, data};

fn csdl() -> &'static Csdl {
    static CSDL: OnceLock<Csdl> = OnceLock::new();
    CSDL.get_or_init(|| Csdl::load(&data("graph-v1.0-authentication.csdl.xml")))
}

// ---- requests the v1.0 extract cannot judge ----

/// A request form outside the v1.0 extract: `{key}` stands for a user key segment (an id,
/// a UPN, or the `users('...')` form), `{id}` for any other key. A path with a query
/// matches only that exact request; any other query is refused.
/// `body`: `None` for no body; otherwise the property names it may hold (at least one).
struct Template {
    method: &'static str,
    version: &'static str,
    path: &'static str,
    body: Option<&'static [&'static str]>,
    /// The Microsoft page the request comes from.
    doc: &'static str,
}

/// Every request mfa-reset may send that the v1.0 extract cannot check, with its source.
/// Add a template here only with the page that documents it.
const OUT_OF_EXTRACT: &[Template] = &[
    Template {
        method: "GET",
        version: "v1.0",
        path: "/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/rbacapplication-list-roleeligibilityscheduleinstances (principal and roleDefinition are the instance's navigation properties: learn.microsoft.com/graph/api/resources/unifiedroleeligibilityscheduleinstance)",
    },
    Template {
        method: "GET",
        version: "v1.0",
        path: "/users?$count=true&$top=1&$select=id",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/user-list (example \"Get only a count of users\": $count with ConsistencyLevel: eventual, an advanced query: learn.microsoft.com/graph/aad-advanced-queries)",
    },
    Template {
        method: "GET",
        version: "v1.0",
        path: "/organization?$select=id,displayName,verifiedDomains",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/organization-list (id, displayName and verifiedDomains: learn.microsoft.com/graph/api/resources/organization)",
    },
    Template {
        method: "GET",
        version: "v1.0",
        path: "/roleManagement/directory/roleAssignments?$expand=principal",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments (its example expands principal; directoryScopeId gives the scope: learn.microsoft.com/graph/api/resources/unifiedroleassignment)",
    },
    Template {
        method: "GET",
        version: "v1.0",
        path: "/roleManagement/directory/roleDefinitions?$select=id,displayName",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/rbacapplication-list-roledefinitions (id and displayName: learn.microsoft.com/graph/api/resources/unifiedroledefinition)",
    },
    Template {
        method: "GET",
        version: "v1.0",
        path: "/directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/directory-list-administrativeunits (isMemberManagementRestricted: learn.microsoft.com/graph/api/resources/administrativeunit)",
    },
    Template {
        method: "GET",
        version: "v1.0",
        path: "/directory/administrativeUnits/{id}/members?$select=id,userPrincipalName",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/administrativeunit-list-members",
    },
    Template {
        method: "POST",
        version: "v1.0",
        path: "/$batch",
        body: None,
        doc: "https://learn.microsoft.com/graph/json-batching (graph-api.md G-BATCH)",
    },
    Template {
        method: "POST",
        version: "beta",
        path: "/$batch",
        body: None,
        doc: "https://learn.microsoft.com/graph/json-batching (graph-api.md G-BATCH)",
    },
    Template {
        method: "GET",
        version: "v1.0",
        path: "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/temporaryaccesspassauthenticationmethodconfiguration-get?view=graph-rest-1.0 (graph-api.md G-TAP-CFG-GET)",
    },
    Template {
        method: "GET",
        version: "beta",
        path: "/users/{key}/authentication/signInPreferences",
        body: None,
        doc: "microsoft-graph-docs-contrib api-reference/beta/api/authentication-get.md (graph-api.md G-AUTHGET)",
    },
    Template {
        method: "PATCH",
        version: "beta",
        path: "/users/{key}/authentication/signInPreferences",
        body: Some(&["userPreferredMethodForSecondaryAuthentication"]),
        doc: "microsoft-graph-docs-contrib api-reference/beta/api/authentication-update.md (graph-api.md G-AUTHUPD, G-SIP)",
    },
    Template {
        method: "GET",
        version: "beta",
        path: "/users/{key}/authentication/hardwareOathMethods",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/resources/hardwareoathauthenticationmethod?view=graph-rest-beta (graph-api.md G-HWOATH)",
    },
    Template {
        method: "DELETE",
        version: "beta",
        path: "/users/{key}/authentication/hardwareOathMethods/{id}",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/resources/hardwareoathauthenticationmethod?view=graph-rest-beta (graph-api.md G-HWOATH, E-OATH)",
    },
    Template {
        method: "DELETE",
        version: "beta",
        path: "/users/{key}/authentication/qrCodePinMethod",
        body: None,
        doc: "https://learn.microsoft.com/graph/api/authentication-delete-qrcodepinmethod?view=graph-rest-beta (anchors.md: the route is beta; the v1.0 extract's authentication has no qrCodePinMethod)",
    },
];

/// The request's path as template segments: `users('x')` becomes `users` and a key.
fn path_segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    let mut segments = Vec::new();
    for (i, segment) in rest.split('/').enumerate() {
        match segment.split_once('(') {
            Some((set, key)) if i == 0 && key.ends_with(')') => {
                segments.push(set);
                segments.push(key);
            }
            _ => segments.push(segment),
        }
    }
    Some(segments)
}

impl Template {
    fn matches(&self, method: &str, version: &str, url: &str, body: Option<&Value>) -> bool {
        if method != self.method || version != self.version {
            return false;
        }
        // A template with a query matches that exact request, without a body.
        if self.path.contains('?') {
            return url == self.path && body.is_none() && self.body.is_none();
        }
        if url.contains('?') {
            return false;
        }
        let (Some(got), Some(want)) = (path_segments(url), path_segments(self.path)) else {
            return false;
        };
        let path_ok = got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| match *w {
                "{key}" | "{id}" => !g.is_empty() && !g.starts_with('$'),
                literal => g == &literal,
            });
        let body_ok = match (self.body, body) {
            (None, None) => true,
            (Some(allowed), Some(Value::Object(o))) => {
                !o.is_empty() && o.keys().all(|k| allowed.contains(&k.as_str()))
            }
            _ => false,
        };
        path_ok && body_ok
    }
}

/// Where a request was found: in the v1.0 schema, or on [`OUT_OF_EXTRACT`] (its page).
/// `Err` says why it is neither.
fn verdict(
    method: &str,
    version: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<&'static str, String> {
    let in_schema = csdl().check(method, version, url, body);
    if in_schema.is_ok() {
        return Ok("the v1.0 schema");
    }
    if let Some(t) = OUT_OF_EXTRACT
        .iter()
        .find(|t| t.matches(method, version, url, body))
    {
        return Ok(t.doc);
    }
    Err(format!(
        "{} (and no out-of-extract template matches {method} /{version}{url})",
        in_schema.unwrap_err()
    ))
}

fn verdict_of(r: &GraphRequest) -> Result<&'static str, String> {
    verdict(
        r.method.as_str(),
        r.version.as_str(),
        &r.url,
        r.body.as_ref(),
    )
}

#[track_caller]
fn assert_known(r: &GraphRequest) {
    if let Err(e) = verdict_of(r) {
        panic!("{e}");
    }
}

#[track_caller]
fn assert_rejected(method: &str, version: &str, url: &str, body: Option<Value>, naming: &str) {
    match verdict(method, version, url, body.as_ref()) {
        Ok(source) => panic!("{method} /{version}{url} was accepted (by {source})"),
        Err(e) => assert!(
            e.contains(naming),
            "the error does not name {naming:?}: {e}"
        ),
    }
}

// ---- the catalogue ----

/// An id, a plain UPN, a guest `#EXT#` UPN, a UPN with a quote, a `$` UPN (the
/// `users('...')` form) and a mail key.
fn keys() -> Vec<UserKey> {
    vec![
        UserKey::parse(ALICE).unwrap(),
        UserKey::parse("alice@contoso.example").unwrap(),
        UserKey::parse("guest_fabrikam.example#EXT#@contoso.example").unwrap(),
        UserKey::parse("bob.o'neil@contoso.example").unwrap(),
        UserKey::parse("$svc-backup@contoso.example").unwrap(),
        UserKey::mail("alice@contoso.example").unwrap(),
    ]
}

/// Every request a public constructor of [`GraphRequest`] builds, for every key it takes
/// and every method type. A constructor that refuses a mail key (`None`) is checked to.
fn catalogue() -> Vec<GraphRequest> {
    let mut all = vec![GraphRequest::probe_users(), GraphRequest::tap_policy()];
    for key in keys() {
        let is_mail = key.users_path().is_none();
        all.push(GraphRequest::get_user(&key));
        let per_user = [
            GraphRequest::list_methods(&key),
            GraphRequest::directory_roles(&key),
            GraphRequest::sign_in_preferences(&key),
            GraphRequest::set_default_method(&key, "oath"),
            GraphRequest::list_hardware_oath_methods(&key),
            GraphRequest::revoke_sessions(&key),
            GraphRequest::set_account_enabled(&key, false),
            GraphRequest::set_account_enabled(&key, true),
            GraphRequest::create_temporary_access_pass(&key, 60, true, None),
            GraphRequest::create_phone_method(&key, "+1 4255550101", PhoneType::Mobile),
            GraphRequest::create_phone_method(&key, "+1 4255550102x12", PhoneType::AlternateMobile),
            GraphRequest::create_phone_method(&key, "+44 2071234567", PhoneType::Office),
            GraphRequest::create_email_method(&key, "alice@personal.example"),
            GraphRequest::create_temporary_access_pass(
                &key,
                60,
                false,
                Some(time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)),
            ),
        ]
        .into_iter()
        .chain(
            MethodType::ALL
                .into_iter()
                // The password has no DELETE: no request at all.
                .filter(|kind| kind.deletable())
                .map(|kind| GraphRequest::delete_method(&key, kind, "_jpuR-TGZtk6aQCLF3BQjA2")),
        );
        for request in per_user {
            match request {
                Some(r) => all.push(r),
                None => assert!(is_mail, "only a mail key has no path, not {key:?}"),
            }
        }
    }
    all
}

#[test]
fn every_request_a_constructor_builds_is_in_the_schema_or_listed() {
    let catalogue = catalogue();
    assert!(catalogue.len() > 60, "{} requests", catalogue.len());
    let mut failures = Vec::new();
    for r in &catalogue {
        if let Err(e) = verdict_of(r) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Its v1.0 requests to users are judged by the schema itself, never by the list.
    for r in catalogue.iter().filter(|r| r.url.starts_with("/users")) {
        if r.version.as_str() == "v1.0" {
            csdl()
                .check(r.method.as_str(), "v1.0", &r.url, r.body.as_ref())
                .unwrap_or_else(|e| panic!("a v1.0 user request must be in the schema: {e}"));
        }
    }
}

#[test]
fn an_external_method_is_deleted_through_its_reference_as_the_schema_allows() {
    let key = UserKey::parse(ALICE).unwrap();
    let r = GraphRequest::delete_method(&key, MethodType::External, "ext-1").unwrap();
    assert!(
        r.url.ends_with("/externalAuthenticationMethods/ext-1/$ref"),
        "{}",
        r.url
    );
    // v1.0, and judged by the schema itself, not the list.
    csdl()
        .check("DELETE", r.version.as_str(), &r.url, None)
        .unwrap();
}

// ---- negative cases: a misspelling is rejected, naming it ----

#[test]
fn a_misspelled_path_segment_is_rejected() {
    assert_rejected(
        "DELETE",
        "v1.0",
        &format!("/users/{ALICE}/authentication/phoneMethod/{MOBILE}"),
        None,
        "\"phoneMethod\" is neither a navigation property of authentication",
    );
    assert_rejected(
        "GET",
        "v1.0",
        "/user/alice@contoso.example",
        None,
        "\"user\" is not an entity set",
    );
    assert_rejected(
        "POST",
        "v1.0",
        "/users/alice@contoso.example/revokeSigninSessions",
        Some(json!({})),
        "\"revokeSigninSessions\"",
    );
    // The action exists, but only as a POST.
    assert_rejected(
        "GET",
        "v1.0",
        "/users/alice@contoso.example/revokeSignInSessions",
        None,
        "called with POST, not GET",
    );
    // The correct spellings pass, so the rejections above are the misspellings'.
    for (method, url, body) in [
        (
            "DELETE",
            format!("/users/{ALICE}/authentication/phoneMethods/{MOBILE}"),
            None,
        ),
        ("GET", "/users/alice@contoso.example".to_string(), None),
        (
            "POST",
            "/users/alice@contoso.example/revokeSignInSessions".to_string(),
            Some(json!({})),
        ),
    ] {
        verdict(method, "v1.0", &url, body.as_ref()).unwrap();
    }
}

#[test]
fn a_misspelled_query_name_is_rejected() {
    let key = UserKey::parse("alice@contoso.example").unwrap();
    let real = GraphRequest::get_user(&key);
    assert_known(&real);
    assert_rejected(
        "GET",
        "v1.0",
        &real.url.replace("userPrincipalName", "userPrincipleName"),
        None,
        "$select names \"userPrincipleName\", not a property of user",
    );
    let by_mail = GraphRequest::get_user(&UserKey::mail("alice@contoso.example").unwrap());
    assert_known(&by_mail);
    assert!(by_mail.url.contains("$filter=mail+eq+"), "{}", by_mail.url);
    assert_rejected(
        "GET",
        "v1.0",
        &by_mail.url.replace("$filter=mail+eq", "$filter=mial+eq"),
        None,
        "$filter names \"mial\"",
    );
    assert_rejected(
        "GET",
        "v1.0",
        "/directoryRoles?$expand=member",
        None,
        "$expand names \"member\"",
    );
    verdict("GET", "v1.0", "/directoryRoles?$expand=members", None).unwrap();
    // A filter form the checker does not understand is refused, not waved through.
    assert_rejected(
        "GET",
        "v1.0",
        "/users?$filter=startswith(mail,'a')",
        None,
        "expected eq or in",
    );
    assert_rejected(
        "GET",
        "v1.0",
        "/users?$top=1&$count=true",
        None,
        "\"$count\"",
    );
    verdict(
        "GET",
        "v1.0",
        "/users?$filter=userPrincipalName+in+('a@b.c','d''e@b.c')+or+mail+eq+'x@y.z'&$top=5",
        None,
    )
    .unwrap();
}

#[test]
fn a_misspelled_body_property_is_rejected() {
    let key = UserKey::parse(ALICE).unwrap();
    let real = GraphRequest::create_temporary_access_pass(&key, 60, false, None).unwrap();
    assert_known(&real);
    let mut body = real.body.clone().unwrap();
    let lifetime = body
        .as_object_mut()
        .unwrap()
        .remove("lifetimeInMinutes")
        .unwrap();
    body["lifetimeInMinute"] = lifetime;
    assert_rejected(
        "POST",
        "v1.0",
        &real.url,
        Some(body),
        "the body's \"lifetimeInMinute\" is not a property of temporaryAccessPassAuthenticationMethod",
    );
    // A phone method's address is not an email method's property.
    assert_rejected(
        "POST",
        "v1.0",
        &format!("/users/{ALICE}/authentication/phoneMethods"),
        Some(json!({"emailAddress": "alice@personal.example", "phoneType": "mobile"})),
        "the body's \"emailAddress\" is not a property of phoneAuthenticationMethod",
    );
    assert_rejected(
        "PATCH",
        "v1.0",
        &format!("/users/{ALICE}"),
        Some(json!({"accountEnable": false})),
        "\"accountEnable\" is not a property of user",
    );
    // The beta template's body is checked too.
    assert_rejected(
        "PATCH",
        "beta",
        &format!("/users/{ALICE}/authentication/signInPreferences"),
        Some(json!({"userPreferredMethodForSecondaryAuthentications": "push"})),
        "no out-of-extract template matches",
    );
}

#[test]
fn a_wrong_cast_is_rejected() {
    let key = UserKey::parse(ALICE).unwrap();
    let real = GraphRequest::directory_roles(&key).unwrap();
    assert_known(&real);
    assert_rejected(
        "GET",
        "v1.0",
        &real.url.replace(
            "microsoft.graph.directoryRole?",
            "microsoft.graph.directoryRoles?",
        ),
        None,
        "the cast to \"microsoft.graph.directoryRoles\" names no entity type",
    );
    // A type that exists but does not derive from the collection's.
    assert_rejected(
        "GET",
        "v1.0",
        &format!("/users/{ALICE}/authentication/methods/microsoft.graph.user"),
        None,
        "does not derive from authenticationMethod",
    );
    // $select after the cast is judged on the cast's type: a role has no mail.
    assert_rejected(
        "GET",
        "v1.0",
        &format!("/users/{ALICE}/transitiveMemberOf/microsoft.graph.directoryRole?$select=id,mail"),
        None,
        "$select names \"mail\", not a property of directoryRole",
    );
}

#[test]
fn a_beta_only_path_sent_to_v1_is_rejected() {
    let key = UserKey::parse(ALICE).unwrap();
    let beta = GraphRequest::sign_in_preferences(&key).unwrap();
    assert_eq!(beta.version.as_str(), "beta");
    assert_known(&beta);
    assert_rejected(
        "GET",
        "v1.0",
        &beta.url,
        None,
        "\"signInPreferences\" is neither a navigation property of authentication",
    );
    assert_rejected(
        "DELETE",
        "v1.0",
        &format!("/users/{ALICE}/authentication/qrCodePinMethod"),
        None,
        "\"qrCodePinMethod\"",
    );
    // And a v1.0 route sent to beta is not waved through either.
    assert_rejected(
        "GET",
        "beta",
        &format!("/users/{ALICE}/authentication/methods"),
        None,
        "version \"beta\" cannot be checked",
    );
}

// ---- what plan + apply actually send ----

/// A Graph-shaped method of the type named `ty` (`fido2AuthenticationMethod`), with the
/// fixed id Graph gives its type where it has one.
fn sample_method(ty: &str, n: u32) -> Value {
    let mut m = json!({
        "@odata.type": format!("#microsoft.graph.{ty}"),
        "id": format!("bbbbbbbb-0000-4000-8000-{n:012}"),
    });
    match ty {
        "passwordAuthenticationMethod" => m["id"] = json!(PASSWORD),
        "phoneAuthenticationMethod" => {
            m["id"] = json!(MOBILE);
            m["phoneType"] = json!("mobile");
            m["phoneNumber"] = json!("+1 5555550100");
        }
        "emailAuthenticationMethod" => {
            m["id"] = json!(EMAIL);
            m["emailAddress"] = json!("someone@fabrikam.example");
        }
        "externalAuthenticationMethod" => {
            m["configurationId"] = json!("ext-config-1");
            m["displayName"] = json!("External MFA");
        }
        _ => m["displayName"] = json!(format!("{ty} 1")),
    }
    m
}

/// The rules tenant (defaults, an admin, a synced user, a guest, `$` and quoted UPNs) with
/// the request log on; Dora is given a method of every type the emulator knows that no
/// user holds yet.
fn logged_scenario(name: &str) -> Scenario {
    let t = Scenario::start(
        name,
        SimConfig {
            log_requests: true,
            ..rules()
        },
    );
    let held: BTreeSet<&str> = t
        .before
        .values()
        .flat_map(|u| u["methods"].as_array().unwrap())
        .filter_map(|m| m["@odata.type"].as_str())
        .collect();
    for (n, kind) in MethodType::ALL.into_iter().enumerate() {
        let odata = kind.odata_type();
        if !held.contains(odata) {
            let ty = odata.trim_start_matches("#microsoft.graph.");
            t.sim
                .add_method(DORA, &sample_method(ty, 100 + n as u32))
                .unwrap();
        }
    }
    t
}

/// Every user of the tenant, listed by `column` (`id`, `userPrincipalName` or `mail`).
fn list_by(t: &Scenario, column: &str) -> std::path::PathBuf {
    let mut text = format!("{column},ticket\n");
    for (i, u) in t.before.values().enumerate() {
        let key = match column {
            "id" => id_of(u).to_string(),
            "userPrincipalName" => upn(u).to_string(),
            _ => u["mail"]
                .as_str()
                .expect("every user has a mail")
                .to_string(),
        };
        let quoted = if key.contains(',') || key.contains('"') {
            format!("\"{}\"", key.replace('"', "\"\""))
        } else {
            key
        };
        text.push_str(&format!("{quoted},T-{i}\n"));
    }
    t.write(&format!("users-{column}.csv"), text)
}

/// Runs `plan` with `policy` over every user keyed by `column`, then `apply` of that
/// plan; checks every request the emulator received. Returns them.
fn plan_and_apply(name: &str, column: &str, policy: &[&str]) -> Vec<ReceivedRequest> {
    let t = logged_scenario(name);
    let input = list_by(&t, column);
    let plan = t
        .mfa(&["plan", crate::support::s(&input)])
        .args(policy)
        .args(&["--out", t.planned().arg()])
        .run();
    assert!(
        matches!(plan.code(), Some(0 | 1)),
        "plan: {}",
        plan.output()
    );
    let apply = t.apply_plan().yes().run();
    assert!(
        matches!(apply.code(), Some(0 | 1)),
        "apply: {}",
        apply.output()
    );
    assert!(
        !t.mutations().is_empty(),
        "the run changed nothing, so it checked no write: {}",
        apply.output()
    );
    let requests = t.sim.requests().expect("the log is on");
    let mut failures = Vec::new();
    for r in &requests {
        if let Err(e) = verdict(&r.method, &r.version, &r.url, r.body.as_ref()) {
            failures.push(e);
        }
    }
    failures.dedup();
    assert!(
        failures.is_empty(),
        "{} of {} requests are neither in the schema nor listed:\n{}",
        failures.len(),
        requests.len(),
        failures.join("\n")
    );
    requests
}

/// The requests' shapes: method, version and path with keys and ids blanked, for
/// asserting that a run sent the kinds of request it had to.
fn shapes(requests: &[ReceivedRequest]) -> BTreeSet<String> {
    requests
        .iter()
        .map(|r| {
            let path = r.url.split('?').next().unwrap_or_default();
            // `/users('$x')/...` as `/users/{key}/...`.
            let path = match path.strip_prefix("/users('") {
                Some(rest) => format!(
                    "/users/{{key}}{}",
                    rest.split_once("')").map_or("", |(_, r)| r)
                ),
                None => path.to_string(),
            };
            let segments: Vec<&str> = path.split('/').collect();
            let blanked: Vec<&str> = segments
                .iter()
                .enumerate()
                .map(|(i, s)| match i {
                    2 if segments[1] == "users" => "{key}",
                    5 if segments[3] == "authentication" => "{id}",
                    _ => s,
                })
                .collect();
            format!("{} /{}{}", r.method, r.version, blanked.join("/"))
        })
        .collect()
}

#[track_caller]
fn assert_sent(shapes: &BTreeSet<String>, wanted: &[&str]) {
    for w in wanted {
        assert!(shapes.contains(*w), "no {w} among {shapes:#?}");
    }
}

#[test]
fn device_refresh_with_passes_by_upn_sends_only_known_requests() {
    let requests = plan_and_apply(
        "device-refresh",
        "userPrincipalName",
        &["--profile", "device-refresh", "--issue-tap"],
    );
    let shapes = shapes(&requests);
    assert_sent(
        &shapes,
        &[
            "POST /v1.0/$batch",
            "POST /beta/$batch",
            "GET /v1.0/users",
            "GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass",
            "GET /v1.0/users/{key}/authentication/methods",
            "GET /v1.0/users/{key}/transitiveMemberOf/microsoft.graph.directoryRole",
            "GET /beta/users/{key}/authentication/signInPreferences",
            "POST /v1.0/users/{key}/authentication/temporaryAccessPassMethods",
            "DELETE /v1.0/users/{key}/authentication/phoneMethods/{id}",
            "DELETE /v1.0/users/{key}/authentication/microsoftAuthenticatorMethods/{id}",
            "DELETE /v1.0/users/{key}/authentication/softwareOathMethods/{id}",
        ],
    );
}

#[test]
fn incident_by_id_sends_only_known_requests() {
    let requests = plan_and_apply("incident", "id", &["--profile", "incident"]);
    assert_sent(
        &shapes(&requests),
        &[
            "POST /v1.0/users/{key}/revokeSignInSessions",
            "DELETE /v1.0/users/{key}/authentication/fido2Methods/{id}",
            "DELETE /v1.0/users/{key}/authentication/windowsHelloForBusinessMethods/{id}",
            "DELETE /v1.0/users/{key}/authentication/emailMethods/{id}",
            "DELETE /v1.0/users/{key}/authentication/platformCredentialMethods/{id}",
        ],
    );
}

#[test]
fn offboard_by_mail_sends_only_known_requests() {
    let requests = plan_and_apply("offboard", "mail", &["--profile", "offboard"]);
    let shapes = shapes(&requests);
    assert_sent(
        &shapes,
        &[
            "PATCH /v1.0/users/{key}",
            "POST /v1.0/users/{key}/revokeSignInSessions",
            "DELETE /v1.0/users/{key}/authentication/temporaryAccessPassMethods/{id}",
        ],
    );
    // Mail keys are resolved with a filter.
    assert!(
        requests
            .iter()
            .any(|r| r.url.starts_with("/users?$filter=mail+eq+")),
        "no mail filter among {shapes:#?}"
    );
}

#[test]
fn every_flag_with_admins_by_upn_sends_only_known_requests() {
    let requests = plan_and_apply(
        "flags",
        "userPrincipalName",
        &[
            "--remove-methods",
            "all",
            "--revoke-sessions",
            "--disable-account",
            "--include-admins",
        ],
    );
    let shapes = shapes(&requests);
    assert_sent(
        &shapes,
        &[
            "PATCH /v1.0/users/{key}",
            "POST /v1.0/users/{key}/revokeSignInSessions",
            "DELETE /v1.0/users/{key}/authentication/fido2Methods/{id}",
        ],
    );
    // The `$` UPN is resolved with the others in a `userPrincipalName in (...)` filter
    // (the key-in-parentheses form is left for a key resolved on its own), which the
    // check walked too.
    assert!(
        requests.iter().any(
            |r| r.url.starts_with("/users?$filter=userPrincipalName+in+")
                && r.url.contains("%27%24svc-backup%40contoso.example%27")
        ),
        "no userPrincipalName in (...'$svc...') among {shapes:#?}"
    );
}

#[test]
fn removing_every_method_with_passes_by_id_sends_only_known_requests() {
    // `--issue-tap` cannot go with `--disable-account`, hence a run of its own.
    let requests = plan_and_apply(
        "all-with-tap",
        "id",
        &["--remove-methods", "all", "--issue-tap", "--include-admins"],
    );
    assert_sent(
        &shapes(&requests),
        &[
            "POST /v1.0/users/{key}/authentication/temporaryAccessPassMethods",
            "DELETE /v1.0/users/{key}/authentication/emailMethods/{id}",
            "DELETE /v1.0/users/{key}/authentication/softwareOathMethods/{id}",
        ],
    );
}

#[test]
fn the_request_log_is_off_unless_asked_for() {
    let t = Scenario::start("log-off", rules());
    assert_eq!(t.graph("GET", &format!("/users/{SERVICE}"), None), 200);
    assert!(t.sim.requests().is_none());
}

#[test]
fn the_request_log_keeps_each_batch_item_with_its_body() {
    let t = Scenario::start(
        "log-on",
        SimConfig {
            log_requests: true,
            ..rules()
        },
    );
    assert_eq!(
        t.graph(
            "POST",
            "/$batch",
            Some(json!({"requests": [
                {"id": "1", "method": "GET", "url": format!("/users/{SERVICE}/authentication/methods")},
                {"id": "2", "method": "patch", "url": format!("/users/{SERVICE}"),
                 "headers": {"Content-Type": "application/json"}, "body": {"accountEnabled": false}},
            ]}))
        ),
        200
    );
    let log = t.sim.requests().unwrap();
    let seen: Vec<(&str, &str, bool, Option<&Value>)> = log
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.url.as_str(),
                r.in_batch,
                r.body.as_ref(),
            )
        })
        .collect();
    let methods_url = format!("/users/{SERVICE}/authentication/methods");
    let user_url = format!("/users/{SERVICE}");
    let body = json!({"accountEnabled": false});
    assert_eq!(
        seen,
        vec![
            ("POST", "/$batch", false, None),
            ("GET", methods_url.as_str(), true, None),
            ("PATCH", user_url.as_str(), true, Some(&body)),
        ]
    );
    assert!(log.iter().all(|r| r.version == "v1.0"));
}

// ---- the emulator knows every method type of the schema ----

/// For every entity type deriving from `authenticationMethod` in the extract, what is
/// missing: `MethodType::from_odata_type` does not know it, the emulator refuses to hold
/// it, or does not list it back with its `@odata.type`. Empty when all is known.
async fn unknown_method_types() -> Vec<(String, String)> {
    let types = csdl().derived_types("authenticationMethod");
    assert!(types.len() >= 11, "the extract lists {types:?}");
    // One user without methods.
    let mut record: Value = serde_json::to_value(
        mfa_reset::sim::load_tenant(&TenantSource::File(data("tenant-rules.json")))
            .unwrap()
            .to_record(),
    )
    .unwrap();
    let users = record["users"].as_array_mut().unwrap();
    users.retain(|u| u["id"] == SERVICE);
    users[0]["methods"] = json!([]);
    users[0]["defaultMethod"] = Value::Null;
    let record: TenantRecord = serde_json::from_value(record).unwrap();
    let tenant = mfa_reset::sim::Tenant::from_record(record).unwrap();
    let graph = Graph::start(SimConfig {
        tenant: TenantSource::Tenant(Box::new(tenant)),
        static_token: Some(mfa_reset::secret::Secret::new(TOKEN)),
        ..SimConfig::default()
    })
    .await;

    let mut missing = Vec::new();
    for (n, ty) in types.iter().enumerate() {
        let odata = format!("#microsoft.graph.{ty}");
        if MethodType::from_odata_type(&odata).is_none() {
            missing.push((
                ty.to_string(),
                "MethodType::from_odata_type does not know it".into(),
            ));
        }
        if let Err(e) = graph.sim.add_method(SERVICE, &sample_method(ty, n as u32)) {
            missing.push((ty.to_string(), format!("the emulator cannot hold it: {e}")));
        }
    }
    let listed = graph
        .get(&format!("/users/{SERVICE}/authentication/methods"))
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let listed: BTreeSet<&str> = listed.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["@odata.type"].as_str())
        .collect();
    for ty in &types {
        if !listed.contains(format!("#microsoft.graph.{ty}").as_str()) {
            missing.push((
                ty.to_string(),
                "not listed by GET .../authentication/methods".into(),
            ));
        }
    }
    missing
}

#[tokio::test]
async fn the_emulator_knows_every_method_type_of_the_schema() {
    let missing = unknown_method_types().await;
    assert!(missing.is_empty(), "{missing:#?}");
}
