//! Which operation a method and path name, and what it costs: the emulator's route table.
//!
//! [`route`] matches the path's shape to a handler, one per resource; each handler checks
//! the method (answering `405` as Graph does) and the query options the route reads, and
//! prices the request with Graph's resource-unit modifiers; [`Route::access`] names the
//! permission-checked access it needs. Nothing here touches the tenant.

use super::super::errors::GraphFailure;
use super::super::odata::{self, Filter, GraphPath, QueryOptions};
use super::super::permissions::Access;
use super::super::throttle::Cost;
use crate::wire::MethodType;

/// An operation on the tenant, as routing found it.
pub(super) enum Route {
    GetUser,
    ListUsers {
        filter: Option<Filter>,
    },
    UpdateUser,
    ListMethods {
        only: Option<MethodType>,
    },
    GetMethod {
        only: Option<MethodType>,
        id: String,
    },
    DeleteMethod {
        kind: MethodType,
        id: String,
    },
    CreateTemporaryAccessPass,
    /// `POST .../authentication/phoneMethods`: a new phone method.
    CreatePhoneMethod,
    /// `POST .../authentication/emailMethods`: the email method.
    CreateEmailMethod,
    RevokeSessions,
    UserRoles,
    /// Beta only: the user's default MFA method, as `signInPreferences` shows it.
    SignInPreferences,
    /// Beta only: `PATCH signInPreferences`, a new default MFA method.
    UpdateSignInPreferences,
    DirectoryRoles {
        expand_members: bool,
    },
    RoleMembers {
        role_id: String,
    },
    /// `GET /groups`, with a `$filter` on `displayName` (or `id`) or without.
    ListGroups {
        filter: Option<Filter>,
    },
    /// `GET /groups/{id}/transitiveMembers/microsoft.graph.user`.
    GroupUsers {
        group_id: String,
    },
    /// `GET /roleManagement/directory/roleEligibilityScheduleInstances`.
    Eligibilities,
    /// `GET /roleManagement/directory/roleAssignments`, `$expand=principal` or without.
    RoleAssignments {
        expand_principal: bool,
    },
    /// `GET /roleManagement/directory/roleDefinitions`.
    RoleDefinitions,
    /// `GET /directory/administrativeUnits`.
    AdministrativeUnits,
    /// `GET /organization`: the tenant's id, name and domains.
    Organization,
    /// `GET /directory/administrativeUnits/{id}/members` (or its users only).
    UnitMembers {
        unit_id: String,
    },
    /// The tenant's Temporary Access Pass policy.
    TapPolicy,
}

impl Route {
    /// The permission-checked access the route needs (see [`Access::satisfied_by`]).
    pub(super) fn access(&self) -> Access {
        match self {
            Route::GetUser | Route::ListUsers { .. } | Route::UserRoles => Access::ReadUsers,
            Route::DirectoryRoles { .. }
            | Route::RoleMembers { .. }
            | Route::RoleAssignments { .. }
            | Route::RoleDefinitions => Access::ReadRoles,
            Route::AdministrativeUnits | Route::UnitMembers { .. } => {
                Access::ReadAdministrativeUnits
            }
            Route::Organization => Access::ReadOrganization,
            Route::ListGroups { .. } | Route::GroupUsers { .. } => Access::ReadGroups,
            Route::Eligibilities => Access::ReadEligibility,
            Route::ListMethods { .. } | Route::GetMethod { .. } | Route::SignInPreferences => {
                Access::ReadMethods
            }
            Route::DeleteMethod { .. }
            | Route::CreateTemporaryAccessPass
            | Route::CreatePhoneMethod
            | Route::CreateEmailMethod
            | Route::UpdateSignInPreferences => Access::WriteMethods,
            Route::RevokeSessions => Access::RevokeSessions,
            Route::UpdateUser => Access::EnableDisableAccount,
            Route::TapPolicy => Access::ReadPolicy,
        }
    }

    pub(super) fn is_write(&self) -> bool {
        matches!(
            self,
            Route::UpdateUser
                | Route::DeleteMethod { .. }
                | Route::CreateTemporaryAccessPass
                | Route::CreatePhoneMethod
                | Route::CreateEmailMethod
                | Route::RevokeSessions
                | Route::UpdateSignInPreferences
        )
    }

    /// Whether Graph has this route only in beta: `signInPreferences`, and the routes of
    /// hardware OATH tokens and of the QR code PIN.
    pub(super) fn beta_only(&self) -> bool {
        match self {
            Route::SignInPreferences | Route::UpdateSignInPreferences => true,
            Route::ListMethods { only: Some(kind) }
            | Route::GetMethod {
                only: Some(kind), ..
            } => kind.beta_only(),
            Route::DeleteMethod { kind, .. } => kind.beta_only(),
            _ => false,
        }
    }
}

/// A route and its cost, or the failure Graph answers instead.
type Routed = Result<(Route, Cost), GraphFailure>;

/// Finds the route of `method` on `path`, and prices it.
pub(super) fn route(method: &str, path: &GraphPath, q: &QueryOptions) -> Routed {
    let segs: Vec<&str> = path.segments.iter().map(String::as_str).collect();
    let r = Request {
        method,
        full: format!("/{}", segs.join("/")),
        q,
    };
    let user = path.user_key.is_some();
    match (segs.as_slice(), user) {
        (["users"], false) => r.users(),
        (["users", _], true) => r.user(),
        (["users", _, "authentication", "methods"], true) => r.methods(),
        (["users", _, "authentication", "methods", id], true) => r.method(id),
        (["users", _, "authentication", "signInPreferences"], true) => r.sign_in_preferences(),
        (["users", _, "authentication", "qrCodePinMethod"], true) => r.qr_code_pin(),
        (
            [
                "users",
                _,
                "authentication",
                "externalAuthenticationMethods",
                id,
                "$ref",
            ],
            true,
        ) => r.external_reference(id),
        (["users", _, "authentication", collection], true) => r.typed_methods(collection),
        (["users", _, "authentication", collection, id], true) => r.typed_method(collection, id),
        (["users", _, "revokeSignInSessions"], true) => r.revoke_sessions(),
        (["users", _, "transitiveMemberOf" | "memberOf"], true)
        | (
            [
                "users",
                _,
                "transitiveMemberOf" | "memberOf",
                "microsoft.graph.directoryRole",
            ],
            true,
        ) => r.user_roles(),
        (["directoryRoles"], false) => r.directory_roles(),
        (["directoryRoles", role_id, "members"], false) => r.role_members(role_id),
        (["groups"], false) => r.groups(),
        (
            [
                "roleManagement",
                "directory",
                "roleEligibilityScheduleInstances",
            ],
            false,
        ) => r.get_only(Route::Eligibilities),
        (["roleManagement", "directory", "roleAssignments"], false) => r.role_assignments(),
        (["roleManagement", "directory", "roleDefinitions"], false) => {
            r.get_only(Route::RoleDefinitions)
        }
        (["directory", "administrativeUnits"], false) => r.get_only(Route::AdministrativeUnits),
        (["organization"], false) => r.get_only(Route::Organization),
        (["directory", "administrativeUnits", unit_id, "members"], false)
        | (
            [
                "directory",
                "administrativeUnits",
                unit_id,
                "members",
                "microsoft.graph.user",
            ],
            false,
        ) => r.get_only(Route::UnitMembers {
            unit_id: unit_id.to_string(),
        }),
        (
            [
                "groups",
                group_id,
                "transitiveMembers",
                "microsoft.graph.user",
            ],
            false,
        ) => r.get_only(Route::GroupUsers {
            group_id: group_id.to_string(),
        }),
        (
            [
                "policies",
                "authenticationMethodsPolicy",
                "authenticationMethodConfigurations",
                id,
            ],
            false,
        ) if id.eq_ignore_ascii_case("TemporaryAccessPass") => r.get_only(Route::TapPolicy),
        _ => Err(r.no_route()),
    }
}

/// The request being routed: its method, its path as one string (for messages) and its
/// query options.
struct Request<'a> {
    method: &'a str,
    full: String,
    q: &'a QueryOptions,
}

impl Request<'_> {
    /// `/users`: list (and filter) the users.
    fn users(&self) -> Routed {
        self.filtered_list(|filter| Route::ListUsers { filter })
    }

    /// A list `GET` (2 resource units) with its optional `$filter` parsed into `route`.
    fn filtered_list(&self, route: impl FnOnce(Option<odata::Filter>) -> Route) -> Routed {
        match self.method {
            "GET" => {
                let filter = self
                    .q
                    .filter
                    .as_deref()
                    .map(odata::parse_filter)
                    .transpose()?;
                Ok((route(filter), self.read(2)))
            }
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}`: read or update one user.
    fn user(&self) -> Routed {
        match self.method {
            "GET" => Ok((Route::GetUser, self.read(1))),
            "PATCH" => Ok((Route::UpdateUser, Cost::WRITE)),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/authentication/methods`: every method of the user.
    fn methods(&self) -> Routed {
        self.get_only(Route::ListMethods { only: None })
    }

    /// `/users/{key}/authentication/methods/{id}`: one method, of any type. Deleting goes
    /// through the method's type, so a `DELETE` here is refused with that hint.
    fn method(&self, id: &str) -> Routed {
        match self.method {
            "GET" => Ok((
                Route::GetMethod {
                    only: None,
                    id: id.to_string(),
                },
                self.read(1),
            )),
            "DELETE" => Err(self.not_allowed().with_hint(
                "Delete a method through its type's collection, e.g. /users/{id}/authentication/phoneMethods/{methodId}.",
            )),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/authentication/signInPreferences` (beta): read, or set the default
    /// method.
    fn sign_in_preferences(&self) -> Routed {
        match self.method {
            "GET" => Ok((Route::SignInPreferences, self.read(1))),
            "PATCH" => Ok((Route::UpdateSignInPreferences, Cost::WRITE)),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/authentication/qrCodePinMethod` (beta): the user's one QR code PIN,
    /// read or deleted without an id.
    fn qr_code_pin(&self) -> Routed {
        let (kind, id) = (MethodType::QrCodePin, String::new());
        match self.method {
            "GET" => Ok((
                Route::GetMethod {
                    only: Some(kind),
                    id,
                },
                self.read(1),
            )),
            "DELETE" => Ok((Route::DeleteMethod { kind, id }, Cost::WRITE)),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/authentication/externalAuthenticationMethods/{id}/$ref`: deleting
    /// the reference removes the external method (Microsoft's documented form).
    fn external_reference(&self, id: &str) -> Routed {
        match self.method {
            "DELETE" => Ok((
                Route::DeleteMethod {
                    kind: MethodType::External,
                    id: id.to_string(),
                },
                Cost::WRITE,
            )),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/authentication/{type}Methods`: the methods of one type, or a new
    /// Temporary Access Pass, phone method or email method (the types a restore
    /// re-creates; other types are registered by the user, not created through Graph).
    fn typed_methods(&self, collection: &str) -> Routed {
        let kind = self.method_type(collection)?;
        match (self.method, kind) {
            ("GET", _) => Ok((Route::ListMethods { only: Some(kind) }, self.read(1))),
            ("POST", MethodType::TemporaryAccessPass) => {
                Ok((Route::CreateTemporaryAccessPass, Cost::WRITE))
            }
            ("POST", MethodType::Phone) => Ok((Route::CreatePhoneMethod, Cost::WRITE)),
            ("POST", MethodType::Email) => Ok((Route::CreateEmailMethod, Cost::WRITE)),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/authentication/{type}Methods/{id}`: read or delete one method.
    fn typed_method(&self, collection: &str, id: &str) -> Routed {
        let kind = self.method_type(collection)?;
        match self.method {
            "GET" => Ok((
                Route::GetMethod {
                    only: Some(kind),
                    id: id.to_string(),
                },
                self.read(1),
            )),
            "DELETE" => Ok((
                Route::DeleteMethod {
                    kind,
                    id: id.to_string(),
                },
                Cost::WRITE,
            )),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/revokeSignInSessions`.
    fn revoke_sessions(&self) -> Routed {
        match self.method {
            "POST" => Ok((Route::RevokeSessions, Cost::WRITE)),
            _ => Err(self.not_allowed()),
        }
    }

    /// `/users/{key}/memberOf` and `transitiveMemberOf`, optionally cast to directory roles.
    fn user_roles(&self) -> Routed {
        self.get_only(Route::UserRoles)
    }

    /// `/directoryRoles`, with `$expand=members` or without.
    fn directory_roles(&self) -> Routed {
        if self.method != "GET" {
            return Err(self.not_allowed());
        }
        let expand_members = match self.q.expand.as_deref() {
            None => false,
            Some("members") => true,
            Some(other) => {
                return Err(GraphFailure::bad_request(
                    "Request_BadRequest",
                    format!(
                        "Could not find a navigation property named '{other}' on type 'microsoft.graph.directoryRole'."
                    ),
                ));
            }
        };
        let q = self.q;
        Ok((
            Route::DirectoryRoles { expand_members },
            Cost::read(1, q.select.is_some(), expand_members, self.small_top()),
        ))
    }

    /// `/roleManagement/directory/roleAssignments`, with `$expand=principal` or without.
    fn role_assignments(&self) -> Routed {
        if self.method != "GET" {
            return Err(self.not_allowed());
        }
        let expand_principal = match self.q.expand.as_deref() {
            None => false,
            Some("principal") => true,
            Some(other) => {
                return Err(GraphFailure::bad_request(
                    "Request_BadRequest",
                    format!(
                        "Expanding '{other}' on 'microsoft.graph.unifiedRoleAssignment' is not supported by this emulator."
                    ),
                ));
            }
        };
        Ok((Route::RoleAssignments { expand_principal }, self.read(1)))
    }

    /// `/groups`, optionally filtered.
    fn groups(&self) -> Routed {
        self.filtered_list(|filter| Route::ListGroups { filter })
    }

    /// `/directoryRoles/{id}/members`.
    fn role_members(&self, role_id: &str) -> Routed {
        self.get_only(Route::RoleMembers {
            role_id: role_id.to_string(),
        })
    }

    /// A read of 1 RU that only `GET` may make.
    fn get_only(&self, route: Route) -> Routed {
        match self.method {
            "GET" => Ok((route, self.read(1))),
            _ => Err(self.not_allowed()),
        }
    }

    /// The method type a `{type}Methods` collection names; an unknown one (or the QR code
    /// PIN's single-valued `qrCodePinMethod`) is no route.
    fn method_type(&self, collection: &str) -> Result<MethodType, GraphFailure> {
        MethodType::from_collection(collection)
            .filter(|k| *k != MethodType::QrCodePin)
            .ok_or_else(|| self.no_route())
    }

    /// A read of `base` RU, with the query's `$select` and `$top` modifiers.
    fn read(&self, base: u32) -> Cost {
        Cost::read(base, self.q.select.is_some(), false, self.small_top())
    }

    fn small_top(&self) -> bool {
        self.q.top.is_some_and(|t| t < 20)
    }

    fn not_allowed(&self) -> GraphFailure {
        GraphFailure::method_not_allowed(self.method, &self.full)
    }

    fn no_route(&self) -> GraphFailure {
        GraphFailure::no_route(self.method, &self.full)
    }
}

impl GraphFailure {
    fn with_hint(mut self, hint: &str) -> Self {
        self.message = format!("{} {hint}", self.message);
        self
    }
}
