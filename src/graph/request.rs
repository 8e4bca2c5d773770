//! One Graph request as the client builds it: method, version, relative URL, body, what it
//! costs against Entra's quotas, and what repeating it would do.
//!
//! Every request that touches a user is built here from a validated [`UserKey`], so no
//! input can change what a request targets. The costs are Microsoft's documented ones
//! (`shared/reference/graph-api.md` §5): reading a user or their methods 1 resource unit,
//! listing users 2, `$select` one less (never below 1); every write 1 resource unit and 1
//! write.

use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::endpoints::ApiVersion;
use super::key::UserKey;
use crate::wire::{MethodType, PhoneType};

/// Method ids (GUIDs, base64url strings) keep their unreserved characters but `.`, so
/// that an id can never be a `..` segment.
const METHOD_ID: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// The user properties a plan reads when it resolves a key.
const SELECT: &str = "$select=id,userPrincipalName,displayName,mail,accountEnabled,userType,onPremisesSyncEnabled,isManagementRestricted";

/// The most members Graph returns for one object in an `$expand` of a directory
/// relationship (Microsoft's query-parameters page: `$expand` on directory objects returns
/// at most 20 items of a relationship); more are listed with the relationship's own request.
pub const EXPANDED_MEMBERS: usize = 20;

/// The most values Graph accepts in one `$filter` `in (...)` (without advanced queries):
/// see Microsoft's `$filter` page, "the request is limited to 15 expressions in the filter
/// clause by default".
pub const MAX_KEYS_IN_FILTER: usize = 15;

/// What a request spends of Entra's quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    pub resource_units: u32,
    pub writes: u32,
}

impl Cost {
    /// Every write: 1 resource unit and 1 write.
    pub const WRITE: Cost = Cost {
        resource_units: 1,
        writes: 1,
    };

    /// A read of `base` resource units, one less with `$select`, never below 1.
    pub fn read(base: u32, select: bool) -> Cost {
        Cost {
            resource_units: if select { base.saturating_sub(1) } else { base }.max(1),
            writes: 0,
        }
    }
}

/// What sending a request again would do, which decides how an ambiguous failure (a 504,
/// a dropped connection: the change may or may not have happened) is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// A read: repeat freely.
    Read,
    /// Revoking sessions, setting `accountEnabled`: repeating changes nothing more.
    Idempotent,
    /// A DELETE: repeating after it happened answers 404, which then means "done".
    Delete,
    /// Creating something (a Temporary Access Pass, a phone or email method): repeating may
    /// create a second one, or be refused because the first exists, so after an ambiguous
    /// failure the caller must re-read before deciding.
    Create,
}

/// One Graph request. Its `Debug` names the body's properties, never their values: a
/// restore's body holds a phone number or an email address.
#[derive(Clone, PartialEq)]
pub struct GraphRequest {
    pub method: Method,
    pub version: ApiVersion,
    /// Relative to the version root: `/users/{key}/authentication/methods`.
    pub url: String,
    pub body: Option<Value>,
    pub cost: Cost,
    pub repeat: Repeat,
}

impl std::fmt::Debug for GraphRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body: Option<Vec<&String>> = self.body.as_ref().map(|b| {
            b.as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default()
        });
        f.debug_struct("GraphRequest")
            .field("method", &self.method)
            .field("version", &self.version)
            .field("url", &self.url)
            .field("body", &body)
            .field("cost", &self.cost)
            .field("repeat", &self.repeat)
            .finish()
    }
}

impl GraphRequest {
    fn read(url: String, cost: Cost) -> GraphRequest {
        GraphRequest {
            method: Method::GET,
            version: ApiVersion::V1,
            url,
            body: None,
            cost,
            repeat: Repeat::Read,
        }
    }

    fn write(method: Method, url: String, body: Option<Value>, repeat: Repeat) -> GraphRequest {
        GraphRequest {
            method,
            version: ApiVersion::V1,
            url,
            body,
            cost: Cost::WRITE,
            repeat,
        }
    }

    pub fn is_write(&self) -> bool {
        self.cost.writes > 0
    }

    /// `GET /users/{key}?$select=...` by id or UPN; a mail key is looked up with a filter.
    pub fn get_user(key: &UserKey) -> GraphRequest {
        match key.users_path() {
            Some(path) => GraphRequest::read(format!("{path}?{SELECT}"), Cost::read(1, true)),
            None => {
                let filter: String =
                    form_urlencoded::byte_serialize(key.filter().as_bytes()).collect();
                GraphRequest::read(
                    format!("/users?$filter={filter}&{SELECT}"),
                    Cost::read(2, true),
                )
            }
        }
    }

    /// `GET /users?$filter={property} in ('a','b',...)&$select=...`: several users found
    /// by id, or by UPN, in one list request. Graph allows at most
    /// [`MAX_KEYS_IN_FILTER`] values in an `in` (graph-api.md §7); a key no user has is
    /// simply missing from the answer. `keys` must be of one kind, and not mail (a mail
    /// address may match several users). Costs what listing users costs: 2 resource
    /// units, 1 with `$select`.
    pub fn find_users(keys: &[&UserKey]) -> GraphRequest {
        debug_assert!(!keys.is_empty() && keys.len() <= MAX_KEYS_IN_FILTER);
        let property = keys.first().map_or("id", |k| k.kind().property());
        let literals: Vec<String> = keys.iter().map(|k| k.literal()).collect();
        let filter = format!("{property} in ({})", literals.join(","));
        let filter: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        GraphRequest::read(
            format!("/users?$filter={filter}&{SELECT}"),
            Cost::read(2, true),
        )
    }

    /// `GET /users?$top=1&$select=id`: the least a token can do with `User.Read.All`,
    /// which proves that Graph accepts it and that the app may read users.
    pub fn probe_users() -> GraphRequest {
        GraphRequest::read("/users?$top=1&$select=id".into(), Cost::read(2, true))
    }

    /// `GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass`:
    /// the tenant's Temporary Access Pass policy.
    pub fn tap_policy() -> GraphRequest {
        GraphRequest::read(
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass".into(),
            Cost::read(1, false),
        )
    }

    /// `GET /users/{key}/authentication/methods`. `None` for a mail key, which must be
    /// resolved to an id first.
    pub fn list_methods(key: &UserKey) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest::read(
            format!("{path}/authentication/methods"),
            Cost::read(1, false),
        ))
    }

    /// `GET /users/{key}/transitiveMemberOf/microsoft.graph.directoryRole`: the admin roles
    /// the user holds, directly or through groups.
    pub fn directory_roles(key: &UserKey) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest::read(
            format!(
                "{path}/transitiveMemberOf/microsoft.graph.directoryRole?$select=id,displayName,roleTemplateId"
            ),
            Cost::read(1, true),
        ))
    }

    /// `GET /directoryRoles?$expand=members`: every activated directory role with its
    /// members, in one request. Graph expands at most [`EXPANDED_MEMBERS`] members of each
    /// role: a role that shows that many is listed again with [`GraphRequest::role_members`].
    pub fn directory_roles_with_members() -> GraphRequest {
        GraphRequest::read(
            "/directoryRoles?$select=id,displayName,roleTemplateId&$expand=members".into(),
            Cost::read(1, true),
        )
    }

    /// `GET /directoryRoles/{id}/members?$select=id,userPrincipalName`: every member of one
    /// role (users, groups, service principals), up to 1,000 a page.
    pub fn role_members(role_id: &str) -> GraphRequest {
        GraphRequest::read(
            format!(
                "/directoryRoles/{}/members?$select=id,userPrincipalName",
                utf8_percent_encode(role_id, METHOD_ID)
            ),
            Cost::read(1, true),
        )
    }

    /// `GET /groups/{id}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName`:
    /// the users in a (role-assignable) group, through nested groups too.
    pub fn group_users(group_id: &str) -> GraphRequest {
        GraphRequest::read(
            format!(
                "/groups/{}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$top=999",
                utf8_percent_encode(group_id, METHOD_ID)
            ),
            Cost::read(1, true),
        )
    }

    /// `GET /groups?$filter=displayName eq '...'&$select=id,displayName`: the groups of
    /// that name (Graph compares without regard to case).
    pub fn groups_named(name: &str) -> GraphRequest {
        let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
        let filter: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        GraphRequest::read(
            format!("/groups?$filter={filter}&$select=id,displayName"),
            Cost::read(2, true),
        )
    }

    /// `GET /roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition`:
    /// who is eligible (PIM) for which directory role, tenant-wide and scoped.
    pub fn role_eligibilities() -> GraphRequest {
        GraphRequest::read(
            "/roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal,roleDefinition"
                .into(),
            Cost::read(1, false),
        )
    }

    /// `GET /organization?$select=id,displayName,verifiedDomains`: the tenant's id, name
    /// and domains (the app needs `Organization.Read.All` or `Directory.Read.All`).
    pub fn organization() -> GraphRequest {
        GraphRequest::read(
            "/organization?$select=id,displayName,verifiedDomains".into(),
            Cost::read(1, true),
        )
    }

    /// `GET /users?$count=true&$top=1&$select=id`: how many users the tenant holds, as
    /// `@odata.count` (an advanced query: sent with `ConsistencyLevel: eventual`, see
    /// [`GraphRequest::is_advanced_query`]), which sets the tenant's size for the quota.
    pub fn user_count() -> GraphRequest {
        GraphRequest::read(
            "/users?$count=true&$top=1&$select=id".into(),
            // GET users is 2 RU, less one for $select and one for a $top under 20: the floor.
            Cost::read(1, true),
        )
    }

    /// Whether Graph answers this request only with `ConsistencyLevel: eventual` (an
    /// advanced query on directory objects: one that asks for `$count`).
    pub fn is_advanced_query(&self) -> bool {
        self.url.contains("$count=true")
    }

    /// `GET /roleManagement/directory/roleAssignments?$expand=principal`: every active
    /// role assignment, tenant-wide or scoped (an administrative unit, an object), with
    /// its principal (a user, a role-assignable group, a service principal).
    pub fn role_assignments() -> GraphRequest {
        GraphRequest::read(
            "/roleManagement/directory/roleAssignments?$expand=principal".into(),
            Cost::read(1, false),
        )
    }

    /// `GET /roleManagement/directory/roleDefinitions?$select=id,displayName`: the names
    /// of the built-in and custom roles, by definition id.
    pub fn role_definitions() -> GraphRequest {
        GraphRequest::read(
            "/roleManagement/directory/roleDefinitions?$select=id,displayName".into(),
            Cost::read(1, true),
        )
    }

    /// `GET /directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted`:
    /// the units, to name a role's scope and to know the restricted ones.
    pub fn administrative_units() -> GraphRequest {
        GraphRequest::read(
            "/directory/administrativeUnits?$select=id,displayName,isMemberManagementRestricted"
                .into(),
            Cost::read(1, true),
        )
    }

    /// `GET /directory/administrativeUnits/{id}/members?$select=id,userPrincipalName`: the
    /// unit's members (users, groups, devices).
    pub fn unit_members(unit_id: &str) -> GraphRequest {
        GraphRequest::read(
            format!(
                "/directory/administrativeUnits/{}/members?$select=id,userPrincipalName",
                utf8_percent_encode(unit_id, METHOD_ID)
            ),
            Cost::read(1, true),
        )
    }

    /// The next page of a list, from its `@odata.nextLink` made relative to the version
    /// root (`/groups/...?$skiptoken=...`).
    pub fn next_page(relative: String) -> GraphRequest {
        GraphRequest::read(relative, Cost::read(1, true))
    }

    /// `GET /beta/users/{key}/authentication/signInPreferences`: the user's default MFA
    /// method (v1.0 does not show it).
    pub fn sign_in_preferences(key: &UserKey) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest {
            version: ApiVersion::Beta,
            ..GraphRequest::read(
                format!("{path}/authentication/signInPreferences"),
                Cost::read(1, false),
            )
        })
    }

    /// `GET /beta/users/{key}/authentication/hardwareOathMethods`: the user's hardware
    /// OATH tokens, which v1.0's list of methods does not show.
    pub fn list_hardware_oath_methods(key: &UserKey) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest {
            version: ApiVersion::Beta,
            ..GraphRequest::read(
                format!(
                    "{path}/authentication/{}",
                    MethodType::HardwareOath.collection()
                ),
                Cost::read(1, false),
            )
        })
    }

    /// `DELETE /users/{key}/authentication/{type}Methods/{id}` (the route of each type:
    /// see [`MethodType::delete_path`]), in beta for the types only beta manages. `None`
    /// for a mail key or a type without a DELETE.
    pub fn delete_method(key: &UserKey, kind: MethodType, method_id: &str) -> Option<GraphRequest> {
        let path = key.users_path()?;
        let id: String = utf8_percent_encode(method_id, METHOD_ID).collect();
        let method_path = kind.delete_path(&id)?;
        let request = GraphRequest::write(
            Method::DELETE,
            format!("{path}/authentication/{method_path}"),
            None,
            Repeat::Delete,
        );
        Some(if kind.beta_only() {
            GraphRequest {
                version: ApiVersion::Beta,
                ..request
            }
        } else {
            request
        })
    }

    /// `PATCH /beta/users/{key}/authentication/signInPreferences` with
    /// `userPreferredMethodForSecondaryAuthentication`: makes `preferred` (Graph's value:
    /// `push`, `oath`, `sms`, ...) the user's default MFA method. Setting it again changes
    /// nothing more.
    pub fn set_default_method(key: &UserKey, preferred: &str) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest {
            version: ApiVersion::Beta,
            ..GraphRequest::write(
                Method::PATCH,
                format!("{path}/authentication/signInPreferences"),
                Some(json!({ "userPreferredMethodForSecondaryAuthentication": preferred })),
                Repeat::Idempotent,
            )
        })
    }

    /// `POST /users/{key}/revokeSignInSessions`.
    pub fn revoke_sessions(key: &UserKey) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest::write(
            Method::POST,
            format!("{path}/revokeSignInSessions"),
            Some(json!({})),
            Repeat::Idempotent,
        ))
    }

    /// `PATCH /users/{key}` with `accountEnabled`.
    pub fn set_account_enabled(key: &UserKey, enabled: bool) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest::write(
            Method::PATCH,
            path,
            Some(json!({ "accountEnabled": enabled })),
            Repeat::Idempotent,
        ))
    }

    /// `POST /users/{key}/authentication/temporaryAccessPassMethods`; `start_date_time`
    /// (sent in UTC) when the pass is to become usable later than its creation. Graph
    /// refuses a start in the past ("Invalid StartDateTime specified. It can not be a time
    /// in the past."), so the caller sends only one still to come.
    pub fn create_temporary_access_pass(
        key: &UserKey,
        lifetime_in_minutes: u32,
        is_usable_once: bool,
        start_date_time: Option<time::OffsetDateTime>,
    ) -> Option<GraphRequest> {
        let path = key.users_path()?;
        let mut body = json!({
            "lifetimeInMinutes": lifetime_in_minutes,
            "isUsableOnce": is_usable_once,
        });
        if let Some(start) = start_date_time {
            let utc = start.to_offset(time::UtcOffset::UTC);
            body["startDateTime"] = json!(
                utc.format(&time::format_description::well_known::Rfc3339)
                    .ok()?
            );
        }
        Some(GraphRequest::write(
            Method::POST,
            format!("{path}/authentication/temporaryAccessPassMethods"),
            Some(body),
            Repeat::Create,
        ))
    }

    /// `POST /users/{key}/authentication/phoneMethods` with `phoneNumber` and `phoneType`:
    /// registers a phone again (a restore). `number` must be in Graph's format,
    /// `+{country code} {number}` with an optional `x{extension}`, as Graph reads phones
    /// back; Graph refuses another format, a second phone of a type, and an
    /// `alternateMobile` without a `mobile` (so a restore creates the mobile first). Not
    /// safe to repeat blindly: after it happened a repeat is refused (`400`), so an
    /// ambiguous failure is settled by reading the user's phones. `None` for a mail key.
    pub fn create_phone_method(
        key: &UserKey,
        number: &str,
        phone_type: PhoneType,
    ) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest::write(
            Method::POST,
            format!("{path}/authentication/{}", MethodType::Phone.collection()),
            Some(json!({ "phoneNumber": number, "phoneType": phone_type.as_str() })),
            Repeat::Create,
        ))
    }

    /// `POST /users/{key}/authentication/emailMethods` with `emailAddress`: registers the
    /// user's email method (used for self-service password reset) again. A user has at
    /// most one: after it happened a repeat is refused (`400`), so, as for
    /// [`GraphRequest::create_phone_method`], an ambiguous failure is settled by reading.
    /// `None` for a mail key.
    pub fn create_email_method(key: &UserKey, address: &str) -> Option<GraphRequest> {
        let path = key.users_path()?;
        Some(GraphRequest::write(
            Method::POST,
            format!("{path}/authentication/{}", MethodType::Email.collection()),
            Some(json!({ "emailAddress": address })),
            Repeat::Create,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_documented_table() {
        assert_eq!(Cost::read(1, true).resource_units, 1);
        assert_eq!(Cost::read(2, true).resource_units, 1);
        assert_eq!(Cost::read(2, false).resource_units, 2);
        let key = UserKey::parse("alice@contoso.example").unwrap();
        assert_eq!(GraphRequest::get_user(&key).cost, Cost::read(1, true));
        let revoke = GraphRequest::revoke_sessions(&key).unwrap();
        assert_eq!(revoke.cost, Cost::WRITE);
        assert_eq!(
            revoke.url,
            "/users/alice@contoso.example/revokeSignInSessions"
        );
        assert!(revoke.is_write());
    }

    #[test]
    fn users_are_found_fifteen_at_a_time_with_their_quotes_doubled_and_encoded() {
        let keys = [
            UserKey::parse("o'brien@contoso.example").unwrap(),
            UserKey::parse("adele_fabrikam.example#EXT#@contoso.example").unwrap(),
        ];
        let r = GraphRequest::find_users(&keys.iter().collect::<Vec<_>>());
        assert_eq!(
            r.url,
            "/users?$filter=userPrincipalName+in+%28%27o%27%27brien%40contoso.example%27%2C\
             %27adele_fabrikam.example%23EXT%23%40contoso.example%27%29&$select=id,\
             userPrincipalName,displayName,mail,accountEnabled,userType,onPremisesSyncEnabled,\
             isManagementRestricted"
        );
        // A list of users: 2 resource units, 1 with $select.
        assert_eq!(r.cost, Cost::read(2, true));
        let id = UserKey::parse("3179E48A-750B-4051-897C-87B9720928F7").unwrap();
        let r = GraphRequest::find_users(&[&id]);
        assert!(
            r.url.starts_with(
                "/users?$filter=id+in+%28%273179e48a-750b-4051-897c-87b9720928f7%27%29&"
            ),
            "{}",
            r.url
        );
    }

    #[test]
    fn a_pass_is_asked_for_with_its_start_in_utc_only_when_it_has_one() {
        let key = UserKey::parse("alice@contoso.example").unwrap();
        let r = GraphRequest::create_temporary_access_pass(&key, 480, false, None).unwrap();
        assert_eq!(
            r.body,
            Some(json!({"lifetimeInMinutes": 480, "isUsableOnce": false}))
        );
        let start = time::OffsetDateTime::parse(
            "2026-11-30T08:00:00+01:00",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let r = GraphRequest::create_temporary_access_pass(&key, 60, true, Some(start)).unwrap();
        assert_eq!(
            r.body,
            Some(json!({
                "lifetimeInMinutes": 60,
                "isUsableOnce": true,
                "startDateTime": "2026-11-30T07:00:00Z"
            }))
        );
        assert_eq!(
            r.url,
            "/users/alice@contoso.example/authentication/temporaryAccessPassMethods"
        );
    }

    #[test]
    fn a_method_id_cannot_escape_its_path() {
        let key = UserKey::parse("alice@contoso.example").unwrap();
        let r = GraphRequest::delete_method(&key, MethodType::Fido2, "../../x?y#z").unwrap();
        assert_eq!(
            r.url,
            "/users/alice@contoso.example/authentication/fido2Methods/%2E%2E%2F%2E%2E%2Fx%3Fy%23z"
        );
        let r = GraphRequest::delete_method(&key, MethodType::Fido2, "_jpuR-TGZtk6aQCLF3BQjA2")
            .unwrap();
        assert!(r.url.ends_with("/fido2Methods/_jpuR-TGZtk6aQCLF3BQjA2"));
    }

    #[test]
    fn each_method_type_is_deleted_on_its_own_route_and_version() {
        let key = UserKey::parse("alice@contoso.example").unwrap();
        let r = GraphRequest::delete_method(&key, MethodType::External, "e/1").unwrap();
        assert_eq!(
            (r.version, r.url.as_str()),
            (
                ApiVersion::V1,
                "/users/alice@contoso.example/authentication/externalAuthenticationMethods/e%2F1/$ref"
            )
        );
        let r = GraphRequest::delete_method(&key, MethodType::HardwareOath, "h1").unwrap();
        assert_eq!(r.version, ApiVersion::Beta);
        assert!(r.url.ends_with("/authentication/hardwareOathMethods/h1"));
        let r = GraphRequest::delete_method(&key, MethodType::QrCodePin, "q1").unwrap();
        assert_eq!(r.version, ApiVersion::Beta);
        assert!(r.url.ends_with("/authentication/qrCodePinMethod"));
        assert!(GraphRequest::delete_method(&key, MethodType::Password, "p").is_none());
        assert!(GraphRequest::delete_method(&key, MethodType::Unknown, "u").is_none());
        let r = GraphRequest::set_default_method(&key, "oath").unwrap();
        assert_eq!(
            (r.method.clone(), r.version),
            (Method::PATCH, ApiVersion::Beta)
        );
        assert_eq!(
            r.body,
            Some(json!({"userPreferredMethodForSecondaryAuthentication": "oath"}))
        );
        assert_eq!(r.repeat, Repeat::Idempotent);
    }

    #[test]
    fn phone_and_email_methods_are_created_on_their_collections_once() {
        let key = UserKey::parse("alice@contoso.example").unwrap();
        let r =
            GraphRequest::create_phone_method(&key, "+1 4255550102", PhoneType::AlternateMobile)
                .unwrap();
        assert_eq!(
            (r.method.clone(), r.version, r.url.as_str()),
            (
                Method::POST,
                ApiVersion::V1,
                "/users/alice@contoso.example/authentication/phoneMethods"
            )
        );
        assert_eq!(
            r.body,
            Some(json!({"phoneNumber": "+1 4255550102", "phoneType": "alternateMobile"}))
        );
        assert_eq!((r.cost, r.repeat), (Cost::WRITE, Repeat::Create));
        let r = GraphRequest::create_email_method(&key, "alice@personal.example").unwrap();
        assert_eq!(
            r.url,
            "/users/alice@contoso.example/authentication/emailMethods"
        );
        assert_eq!(
            r.body,
            Some(json!({"emailAddress": "alice@personal.example"}))
        );
        assert_eq!((r.cost, r.repeat), (Cost::WRITE, Repeat::Create));
        let mail = UserKey::mail("alice@contoso.example").unwrap();
        assert!(
            GraphRequest::create_phone_method(&mail, "+1 4255550102", PhoneType::Mobile).is_none()
        );
        assert!(GraphRequest::create_email_method(&mail, "a@b.example").is_none());
    }
}
