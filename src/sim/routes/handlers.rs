//! Each route's operation on the tenant, and its Graph-shaped answer: the body (with the
//! `@odata.context` Graph puts first), the status, and for a write the change to log.
//!
//! [`run`] locks the tenant, resolves the user a path names, and hands the request to the
//! route's handler; a handler reads or changes the tenant through its own methods, which
//! apply Entra's rules.

use serde_json::{Value, json};

use super::super::SimState;
use super::super::errors::GraphFailure;
use super::super::odata::{Filter, GraphPath, Literal, QueryOptions};
use super::super::tenant::{Change, Tenant, guid_from_u128};
use super::table::Route;
use super::{ItemRequest, now_rfc3339};
use crate::wire::MethodType;

/// What an operation did: its status and body, and a write's change.
pub(super) struct Done {
    pub(super) status: u16,
    pub(super) body: Option<Value>,
    /// A write's change, with the user's id and UPN.
    pub(super) change: Option<(Change, String, String)>,
}

impl Done {
    fn ok(body: Value) -> Result<Done, GraphFailure> {
        Ok(Done {
            status: 200,
            body: Some(body),
            change: None,
        })
    }
}

/// Carries out `route` on the tenant.
pub(super) fn run(
    state: &SimState,
    req: &ItemRequest<'_>,
    path: &GraphPath,
    q: &QueryOptions,
    route: Route,
) -> Result<Done, GraphFailure> {
    let base = format!("{}/{}", state.base_url, req.version);
    let mut tenant = state.tenant.lock().expect("tenant lock");
    let user_index = match (&path.user_key, &path.raw_key) {
        (Some(key), Some(raw)) => Some(tenant.resolve(key, raw)?),
        _ => None,
    };
    let user = move || user_index.expect("user routes carry a key");
    let mut h = Handler {
        base,
        tenant: &mut tenant,
        body: req.body.unwrap_or(&Value::Null),
        q,
        privileged: state.privileged(req.app),
        beta: req.version == "beta",
    };
    match route {
        Route::GetUser => h.get_user(user()),
        Route::ListUsers { filter } => h.list_users(filter.as_ref()),
        Route::UpdateUser => h.update_user(user()),
        Route::ListMethods { only } => h.list_methods(user(), only),
        Route::GetMethod { only, id } => h.get_method(user(), only, &id),
        Route::DeleteMethod { kind, id } => h.delete_method(user(), kind, &id),
        Route::CreateTemporaryAccessPass => h.create_temporary_access_pass(user()),
        Route::CreatePhoneMethod => h.create_method(user(), MethodType::Phone),
        Route::CreateEmailMethod => h.create_method(user(), MethodType::Email),
        Route::RevokeSessions => h.revoke_sessions(user()),
        Route::SignInPreferences => h.sign_in_preferences(user()),
        Route::UpdateSignInPreferences => h.update_sign_in_preferences(user()),
        Route::UserRoles => h.user_roles(user()),
        Route::DirectoryRoles { expand_members } => h.directory_roles(expand_members),
        Route::RoleMembers { role_id } => h.role_members(&role_id),
        Route::ListGroups { filter } => h.list_groups(filter.as_ref()),
        Route::GroupUsers { group_id } => h.group_users(&group_id),
        Route::Eligibilities => h.eligibilities(),
        Route::RoleAssignments { expand_principal } => h.list(
            "roleManagement/directory/roleAssignments",
            h.tenant.role_assignments_json(expand_principal),
        ),
        Route::RoleDefinitions => h.list(
            "roleManagement/directory/roleDefinitions",
            h.tenant.role_definitions_json(),
        ),
        Route::Organization => h.list("organization", vec![h.tenant.organization_json()]),
        Route::AdministrativeUnits => {
            h.list("directory/administrativeUnits", h.tenant.units_json())
        }
        Route::UnitMembers { unit_id } => match h.tenant.unit_members_json(&unit_id) {
            Some(members) => h.list("directoryObjects", members),
            None => Err(GraphFailure::resource_not_found(&unit_id)),
        },
        Route::TapPolicy => h.tap_policy(),
    }
}

/// One request's view of the tenant, which it holds locked.
struct Handler<'a> {
    /// The version root (`http://127.0.0.1:PORT/v1.0`), for `@odata.context`.
    base: String,
    tenant: &'a mut Tenant,
    /// The request body (`null` when there is none).
    body: &'a Value,
    q: &'a QueryOptions,
    /// Whether the calling app holds a privileged directory role.
    privileged: bool,
    /// Whether the request came through beta, which lists beta-only method types too.
    beta: bool,
}

impl Handler<'_> {
    /// `GET /users/{key}`, with `$select` or without.
    fn get_user(&self, idx: usize) -> Result<Done, GraphFailure> {
        let base = &self.base;
        let mut body = self.tenant.user_json(idx, self.q.select.as_deref())?;
        let context = match &self.q.select {
            Some(s) => format!("{base}/$metadata#users({})/$entity", s.join(",")),
            None => format!("{base}/$metadata#users/$entity"),
        };
        prepend_context(&mut body, context);
        Done::ok(body)
    }

    /// `GET /users`: one page of the users `filter` finds (all without one), and a
    /// `@odata.nextLink` while more are left.
    fn list_users(&self, filter: Option<&Filter>) -> Result<Done, GraphFailure> {
        let (tenant, q, base) = (&*self.tenant, self.q, &self.base);
        let hits: Vec<usize> = match filter {
            Some(f) => tenant.filter_users(f)?,
            None => (0..tenant.users().len()).collect(),
        };
        let top = q.top.unwrap_or(100);
        let skip: usize = match &q.skiptoken {
            None => 0,
            Some(t) => t.parse().map_err(|_| {
                GraphFailure::bad_request(
                    "Request_BadRequest",
                    format!("Invalid skip token '{t}'."),
                )
            })?,
        };
        let page: Vec<Value> = hits
            .iter()
            .skip(skip)
            .take(top)
            .map(|&i| tenant.user_json(i, q.select.as_deref()))
            .collect::<Result<_, _>>()?;
        let mut body = json!({
            "@odata.context": format!("{base}/$metadata#users"),
            "value": page,
        });
        if q.count {
            body["@odata.count"] = json!(hits.len());
        }
        if skip + top < hits.len() {
            body["@odata.nextLink"] = json!(self.next_users_link(top, skip + top));
        }
        Done::ok(body)
    }

    /// The link to the next page of `GET /users`: the same query, from `skip` on.
    fn next_users_link(&self, top: usize, skip: usize) -> String {
        let q = self.q;
        let mut next = form_urlencoded::Serializer::new(String::new());
        if let Some(f) = &q.filter {
            next.append_pair("$filter", f);
        }
        if let Some(s) = &q.select {
            next.append_pair("$select", &s.join(","));
        }
        next.append_pair("$top", &top.to_string());
        next.append_pair("$skiptoken", &skip.to_string());
        format!("{}/users?{}", self.base, next.finish())
    }

    /// `PATCH /users/{key}`.
    fn update_user(&mut self, idx: usize) -> Result<Done, GraphFailure> {
        let change = self.tenant.update_user(idx, self.body, self.privileged)?;
        Ok(self.no_content(idx, change))
    }

    /// `GET /users/{key}/authentication/methods` (or one type's collection).
    fn list_methods(&self, idx: usize, only: Option<MethodType>) -> Result<Done, GraphFailure> {
        let id = &self.tenant.user(idx).id;
        let segment = only.map_or("methods", MethodType::collection);
        Done::ok(json!({
            "@odata.context": format!("{}/$metadata#users('{id}')/authentication/{segment}", self.base),
            "value": self.tenant.methods_json(idx, only, self.beta),
        }))
    }

    /// `GET .../authentication/methods/{id}` (or through one type's collection).
    fn get_method(
        &self,
        idx: usize,
        only: Option<MethodType>,
        id: &str,
    ) -> Result<Done, GraphFailure> {
        let user = self.tenant.user(idx);
        // The QR code PIN is single-valued: its route names no id.
        let found = match only {
            Some(MethodType::QrCodePin) => user
                .methods
                .iter()
                .find(|m| m.kind == MethodType::QrCodePin),
            _ => user.method(id),
        };
        let m = found
            .filter(|m| only.is_none_or(|k| m.kind == k))
            .filter(|m| self.beta || m.kind.listed_by_v1())
            .ok_or_else(|| {
                GraphFailure::new(
                    404,
                    "itemNotFound",
                    format!("The authentication method '{id}' was not found."),
                )
            })?;
        Done::ok(m.to_graph_json())
    }

    /// `DELETE .../authentication/{type}Methods/{id}`.
    fn delete_method(
        &mut self,
        idx: usize,
        kind: MethodType,
        id: &str,
    ) -> Result<Done, GraphFailure> {
        let change = self.tenant.delete_method(idx, kind, id, self.privileged)?;
        Ok(self.no_content(idx, change))
    }

    /// `POST .../authentication/temporaryAccessPassMethods`: `201` with the new pass.
    fn create_temporary_access_pass(&mut self, idx: usize) -> Result<Done, GraphFailure> {
        let method_id = guid_from_u128(rand::random());
        let length = self.tenant.tap_policy().default_length;
        let created = self.tenant.create_temporary_access_pass(
            idx,
            self.body,
            self.privileged,
            &now_rfc3339(),
            method_id,
            new_pass(length),
        )?;
        Ok(self.created(
            idx,
            MethodType::TemporaryAccessPass,
            created.body,
            created.change,
        ))
    }

    /// `POST .../authentication/phoneMethods` or `emailMethods` (`kind`): `201` with the
    /// new method.
    fn create_method(&mut self, idx: usize, kind: MethodType) -> Result<Done, GraphFailure> {
        let created = if kind == MethodType::Email {
            self.tenant
                .create_email_method(idx, self.body, self.privileged)?
        } else {
            self.tenant
                .create_phone_method(idx, self.body, self.privileged)?
        };
        Ok(self.created(idx, kind, created.body, created.change))
    }

    /// A new method of `kind` answered `201` with its `@odata.context`, and its change
    /// logged against user `idx`.
    fn created(&self, idx: usize, kind: MethodType, mut body: Value, change: Change) -> Done {
        let id = &self.tenant.user(idx).id;
        prepend_context(
            &mut body,
            format!(
                "{}/$metadata#users('{id}')/authentication/{}/$entity",
                self.base,
                kind.collection()
            ),
        );
        Done {
            status: 201,
            body: Some(body),
            change: self.wrote(idx, change),
        }
    }

    /// `POST /users/{key}/revokeSignInSessions`: `200` with `true`.
    fn revoke_sessions(&mut self, idx: usize) -> Result<Done, GraphFailure> {
        let change = self
            .tenant
            .revoke_sessions(idx, self.privileged, &now_rfc3339())?;
        Ok(Done {
            status: 200,
            body: Some(json!({
                "@odata.context": format!("{}/$metadata#Edm.Boolean", self.base),
                "value": true,
            })),
            change: self.wrote(idx, change),
        })
    }

    /// `GET /users/{key}/authentication/signInPreferences` (beta).
    fn sign_in_preferences(&self, idx: usize) -> Result<Done, GraphFailure> {
        let id = &self.tenant.user(idx).id;
        let mut body = self.tenant.sign_in_preferences_json(idx);
        prepend_context(
            &mut body,
            format!(
                "{}/$metadata#users('{id}')/authentication/signInPreferences/$entity",
                self.base
            ),
        );
        Done::ok(body)
    }

    /// `PATCH /users/{key}/authentication/signInPreferences` (beta): `204`.
    fn update_sign_in_preferences(&mut self, idx: usize) -> Result<Done, GraphFailure> {
        let change = self
            .tenant
            .update_sign_in_preferences(idx, self.body, self.privileged)?;
        Ok(self.no_content(idx, change))
    }

    /// `GET /users/{key}/memberOf` and the like: the user's directory roles.
    fn user_roles(&self, idx: usize) -> Result<Done, GraphFailure> {
        let tenant = &*self.tenant;
        let roles: Vec<Value> = tenant
            .roles_of(idx)
            .iter()
            .map(|r| tenant.role_json(r))
            .collect();
        Done::ok(json!({
            "@odata.context": format!("{}/$metadata#directoryObjects", self.base),
            "value": roles,
        }))
    }

    /// `GET /directoryRoles`, each with its members under `$expand=members`.
    fn directory_roles(&self, expand_members: bool) -> Result<Done, GraphFailure> {
        let tenant = &*self.tenant;
        let roles: Vec<Value> = tenant
            .directory_roles()
            .into_iter()
            .map(|(mut role, members)| {
                if expand_members {
                    // Graph expands at most 20 members of a directory object.
                    role["members"] = members.iter().take(EXPANDED_MEMBERS).cloned().collect();
                }
                role
            })
            .collect();
        Done::ok(json!({
            "@odata.context": format!("{}/$metadata#directoryRoles", self.base),
            "value": roles,
        }))
    }

    /// `GET /groups?$filter=displayName eq '...'` (or `id eq`): the groups, id and name.
    fn list_groups(&self, filter: Option<&Filter>) -> Result<Done, GraphFailure> {
        let tenant = &*self.tenant;
        let mut groups = Vec::new();
        let candidates: Vec<&super::super::GroupRecord> = match filter {
            None => tenant.groups_named_all(),
            Some(f) => {
                let mut hits = Vec::new();
                for clause in &f.clauses {
                    for value in &clause.values {
                        let Literal::Text(text) = value else {
                            return Err(unsupported_group_filter());
                        };
                        match clause.property.as_str() {
                            "displayName" => hits.extend(tenant.groups_named(text)),
                            "id" => hits.extend(tenant.group(text)),
                            _ => return Err(unsupported_group_filter()),
                        }
                    }
                }
                hits
            }
        };
        for g in candidates {
            groups.push(json!({
                "@odata.type": "#microsoft.graph.group",
                "id": g.id,
                "displayName": g.display_name,
            }));
        }
        Done::ok(json!({
            "@odata.context": format!("{}/$metadata#groups", self.base),
            "value": groups,
        }))
    }

    /// `GET /groups/{id}/transitiveMembers/microsoft.graph.user`: the group's users,
    /// through nested groups.
    fn group_users(&self, group_id: &str) -> Result<Done, GraphFailure> {
        let tenant = &*self.tenant;
        let users = tenant
            .group_users(group_id)
            .ok_or_else(|| GraphFailure::resource_not_found(group_id))?;
        Done::ok(json!({
            "@odata.context": format!("{}/$metadata#users", self.base),
            "value": users.iter().map(|&i| tenant.member_json(i)).collect::<Vec<_>>(),
        }))
    }

    /// A list answer: `value` under the `@odata.context` of `set`.
    fn list(&self, set: &str, value: Vec<Value>) -> Result<Done, GraphFailure> {
        Done::ok(json!({
            "@odata.context": format!("{}/$metadata#{set}", self.base),
            "value": value,
        }))
    }

    /// `GET /roleManagement/directory/roleEligibilityScheduleInstances`.
    fn eligibilities(&self) -> Result<Done, GraphFailure> {
        let value = self.tenant.eligibility_instances_json()?;
        Done::ok(json!({
            "@odata.context": format!(
                "{}/$metadata#roleManagement/directory/roleEligibilityScheduleInstances",
                self.base
            ),
            "value": value,
        }))
    }

    /// `GET /directoryRoles/{id}/members`.
    fn role_members(&self, role_id: &str) -> Result<Done, GraphFailure> {
        let tenant = &*self.tenant;
        let (_, members) = tenant
            .directory_roles()
            .into_iter()
            .find(|(role, _)| role["id"].as_str() == Some(role_id))
            .ok_or_else(|| GraphFailure::resource_not_found(role_id))?;
        Done::ok(json!({
            "@odata.context": format!("{}/$metadata#directoryObjects", self.base),
            "value": members,
        }))
    }

    /// `GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass`.
    fn tap_policy(&self) -> Result<Done, GraphFailure> {
        let mut body = self.tenant.tap_policy_json();
        prepend_context(
            &mut body,
            format!(
                "{}/$metadata#authenticationMethodConfigurations/$entity",
                self.base
            ),
        );
        Done::ok(body)
    }

    /// A write answered `204`, with its change logged against user `idx`.
    fn no_content(&self, idx: usize, change: Change) -> Done {
        Done {
            status: 204,
            body: None,
            change: self.wrote(idx, change),
        }
    }

    /// `change`, with the id and UPN of user `idx`, for the mutation log.
    fn wrote(&self, idx: usize, change: Change) -> Option<(Change, String, String)> {
        let u = self.tenant.user(idx);
        Some((change, u.id.clone(), u.user_principal_name.clone()))
    }
}

/// Members Graph shows of one directory object in an `$expand` (Microsoft's query-parameters
/// page); the relationship's own request lists them all.
const EXPANDED_MEMBERS: usize = 20;

/// Graph's answer to a `$filter` on groups this emulator does not know.
fn unsupported_group_filter() -> GraphFailure {
    GraphFailure::bad_request(
        "Request_UnsupportedQuery",
        "Unsupported or invalid query filter clause specified for groups.",
    )
}

fn prepend_context(body: &mut Value, context: String) {
    if let Value::Object(o) = body {
        let mut with = serde_json::Map::with_capacity(o.len() + 1);
        with.insert("@odata.context".into(), json!(context));
        with.extend(std::mem::take(o));
        *o = with;
    }
}

/// A new Temporary Access Pass of `length` characters (the policy's `defaultLength`).
fn new_pass(length: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+#%&@";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}
