//! The tenant's admin-role holders, listed once, tenant-wide, in a few requests: what a
//! containment from the user list checks each key against before its first write, and
//! what a plan adds to each user's own roles, instead of reading every user's roles.
//!
//! Five listings go at once, each followed through `@odata.nextLink`:
//! - `GET /directoryRoles?$expand=members`: every activated directory role with its
//!   members; a role whose expansion shows [`EXPANDED_MEMBERS`] members (Graph's cap) is
//!   listed again with `/directoryRoles/{id}/members`. Every directory role counts, as for
//!   the per-user read of a plan (`transitiveMemberOf/microsoft.graph.directoryRole`), so
//!   both agree on who is an admin.
//! - `GET /roleManagement/directory/roleAssignments?$expand=principal`: the active
//!   assignments, including those the first listing does not show — a role scoped to an
//!   administrative unit (or another object), a custom role.
//! - `GET /roleManagement/directory/roleEligibilityScheduleInstances`: PIM eligibilities,
//!   tenant-wide and scoped.
//! - `GET /roleManagement/directory/roleDefinitions`: the roles' names, custom ones too.
//! - `GET /directory/administrativeUnits`: the units' names, and which restrict management;
//!   a restricted unit's members are listed with `/directory/administrativeUnits/{id}/members`.
//!
//! A principal that is a group (a role-assignable group) is expanded once to its users with
//! `/groups/{id}/transitiveMembers/microsoft.graph.user`, whichever listings name it.
//!
//! What the first listing cannot list — a refused request, a page that cannot be followed, a
//! member of a kind this listing does not know — makes the listing
//! [`RoleHoldersRead::Incomplete`]: the caller must not rely on it (a containment then reads
//! every user's roles first, as a plan does). What the role-management listings cannot
//! read (no licence for PIM, no permission) is recorded ([`RoleHolders::unread`]): those
//! admins are not protected, which `apply` refuses without an explicit acceptance. Units
//! that cannot be listed are only noted ([`RoleHolders::units_unread`]): Graph itself
//! refuses to change a restricted unit's members, which a run takes as their protection.
//! Never a partial list taken for the whole.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::preflight::{Answered, Preflight, PreflightError};
use super::request::{EXPANDED_MEMBERS, GraphRequest};

/// The most pages of one list this listing follows before it gives up (a role or group of
/// more than a million members is not a role-holder list it can vouch for).
const MAX_PAGES: usize = 1000;

/// Who holds a directory role, by object id and UPN (any case), with the roles' names; and
/// who is in a restricted management administrative unit.
#[derive(Debug, Default, Clone)]
pub struct RoleHolders {
    /// Roles by lower-cased object id.
    by_id: HashMap<String, BTreeSet<String>>,
    /// Lower-cased UPN to lower-cased object id.
    ids_by_upn: HashMap<String, String>,
    /// Restricted management units (names) by lower-cased user id.
    restricted: HashMap<String, BTreeSet<String>>,
    requests: usize,
    /// What could not be read of the admins (eligible, scoped or custom-role holders),
    /// and why: those admins are not known.
    unread: Vec<String>,
    /// Why the administrative units could not be listed.
    units_unread: Option<String>,
}

impl RoleHolders {
    /// The roles held by the user whose id or UPN is `key` (any case), if any.
    pub fn roles_of(&self, key: &str) -> Option<&BTreeSet<String>> {
        let id = self.id_of(key);
        self.by_id.get(&id)
    }

    /// The restricted management administrative units the user whose id or UPN is `key`
    /// is in, if any.
    pub fn restricted_units_of(&self, key: &str) -> Option<&BTreeSet<String>> {
        let id = self.id_of(key);
        self.restricted.get(&id)
    }

    /// Whether the user whose id or UPN is `key` holds a role or is in a restricted
    /// management unit: a containment leaves them alone unless admins are included.
    pub fn protects(&self, key: &str) -> bool {
        self.roles_of(key).is_some() || self.restricted_units_of(key).is_some()
    }

    fn id_of(&self, key: &str) -> String {
        let key = key.to_lowercase();
        match self.ids_by_upn.get(&key) {
            Some(id) => id.clone(),
            None => key,
        }
    }

    /// Users holding at least one role.
    pub fn users(&self) -> usize {
        self.by_id.len()
    }

    /// Requests the listing took.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// What of the admins could not be read (eligible, scoped, custom-role), and why, if
    /// anything: those admins are not protected.
    pub fn unread(&self) -> Option<String> {
        (!self.unread.is_empty()).then(|| self.unread.join("; "))
    }

    /// Why the administrative units could not be listed, if they could not.
    pub fn units_unread(&self) -> Option<&str> {
        self.units_unread.as_deref()
    }

    fn add(&mut self, id: &str, upn: Option<&str>, role: &str) {
        let id = id.to_lowercase();
        if let Some(upn) = upn {
            self.ids_by_upn.insert(upn.to_lowercase(), id.clone());
        }
        self.by_id.entry(id).or_default().insert(role.to_string());
    }

    fn add_restricted(&mut self, id: &str, upn: Option<&str>, unit: &str) {
        let id = id.to_lowercase();
        if let Some(upn) = upn {
            self.ids_by_upn.insert(upn.to_lowercase(), id.clone());
        }
        self.restricted
            .entry(id)
            .or_default()
            .insert(unit.to_string());
    }
}

/// What listing the role holders came to.
#[derive(Debug)]
pub enum RoleHoldersRead {
    Complete(RoleHolders),
    /// Some of it could not be listed: why, in words.
    Incomplete {
        why: String,
    },
}

/// A user: object id and UPN.
type Member = (String, Option<String>);

/// The listing under way: its requests, and the groups expanded so far.
struct Lister<'p, 'c> {
    preflight: &'p Preflight<'c>,
    holders: RoleHolders,
    groups: HashMap<String, Result<Vec<Member>, String>>,
}

impl Lister<'_, '_> {
    /// Every item of the list `first` starts (counted in the listing's requests).
    async fn list(
        &mut self,
        first: GraphRequest,
    ) -> Result<Result<Vec<Value>, String>, PreflightError> {
        list(self.preflight, first, &mut self.holders.requests).await
    }

    /// The users of group `id`, through nested groups; each group is listed once.
    async fn group_users(
        &mut self,
        id: &str,
    ) -> Result<Result<Vec<Member>, String>, PreflightError> {
        let key = id.to_lowercase();
        if let Some(known) = self.groups.get(&key) {
            return Ok(known.clone());
        }
        let users = self
            .list(GraphRequest::group_users(id))
            .await?
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| {
                        let id = u["id"].as_str()?;
                        Some((
                            id.to_string(),
                            u["userPrincipalName"].as_str().map(str::to_string),
                        ))
                    })
                    .collect::<Vec<_>>()
            });
        self.groups.insert(key, users.clone());
        Ok(users)
    }

    /// Gives `principal` (a user or a group, expanded) role `role`. `Err` with why when a
    /// group's users cannot be listed or the principal is of a kind this listing does not
    /// know.
    async fn grant(
        &mut self,
        principal: &Value,
        principal_id: &str,
        role: &str,
    ) -> Result<Result<(), String>, PreflightError> {
        let id = principal["id"].as_str().unwrap_or(principal_id);
        if id.is_empty() {
            return Ok(Err("an assignment names no principal".into()));
        }
        match principal["@odata.type"].as_str().unwrap_or_default() {
            "#microsoft.graph.group" => match self.group_users(id).await? {
                Ok(users) => {
                    for (user, upn) in users {
                        self.holders.add(&user, upn.as_deref(), role);
                    }
                    Ok(Ok(()))
                }
                Err(why) => Ok(Err(format!(
                    "the members of group {id}, which holds {role}, could not be listed ({why})"
                ))),
            },
            // Service principals hold roles too, but are never on a user list.
            "#microsoft.graph.servicePrincipal" => Ok(Ok(())),
            // A user, or a principal Graph did not expand: by id (a user listed by UPN is
            // found by the plan's read of their id).
            "#microsoft.graph.user" | "" => {
                self.holders
                    .add(id, principal["userPrincipalName"].as_str(), role);
                Ok(Ok(()))
            }
            other => Ok(Err(format!(
                "a holder of {role} is of type {other:?}, which cannot be told apart from a user"
            ))),
        }
    }
}

/// Roles' and administrative units' names, by lower-cased id.
struct Names {
    roles: HashMap<String, String>,
    units: HashMap<String, String>,
}

impl Names {
    /// The role an assignment or eligibility `item` gives: its expanded definition's name,
    /// else the name listed for its definition id, else a phrase that says it has none
    /// (which reads after "holds an admin role: ").
    fn role(&self, item: &Value) -> String {
        if let Some(name) = item["roleDefinition"]["displayName"].as_str() {
            return name.to_string();
        }
        match item["roleDefinitionId"].as_str() {
            Some(id) => self
                .roles
                .get(&id.to_lowercase())
                .cloned()
                .unwrap_or_else(|| format!("the directory role {id}, whose name is not listed")),
            None => "a directory role whose name is not listed".into(),
        }
    }

    /// A `directoryScopeId` in words: `administrative unit Sales`, else as Graph gives it.
    fn scope(&self, scope: &str) -> String {
        match scope.strip_prefix("/administrativeUnits/") {
            Some(unit) => format!(
                "administrative unit {}",
                self.units
                    .get(&unit.to_lowercase())
                    .map_or(unit, String::as_str)
            ),
            None => scope.to_string(),
        }
    }
}

impl Lister<'_, '_> {
    /// Gives each role assignment (or, `eligible`, PIM eligibility) in `items` to its
    /// principal, named `Role`, `Role (scope: …)`, `Role (eligible)` or `Role (eligible,
    /// scope: …)`; what cannot be given is recorded as unread.
    async fn grant_listed(
        &mut self,
        items: Vec<Value>,
        names: &Names,
        eligible: bool,
    ) -> Result<(), PreflightError> {
        for item in items {
            let role = names.role(&item);
            let scope = item["directoryScopeId"].as_str().unwrap_or("/");
            let name = match (eligible, scope == "/") {
                (false, true) => role,
                (false, false) => format!("{role} (scope: {})", names.scope(scope)),
                (true, true) => format!("{role} (eligible)"),
                (true, false) => format!("{role} (eligible, scope: {})", names.scope(scope)),
            };
            let principal_id = item["principalId"].as_str().unwrap_or_default();
            if let Err(why) = self.grant(&item["principal"], principal_id, &name).await? {
                self.holders.unread.push(why);
            }
        }
        Ok(())
    }
}

/// Lists every holder of a directory role through `preflight`'s requests (retried while
/// Graph cannot be reached, within its deadline). Only a rejected credential or an
/// unreachable Graph is an error; anything else that stops the listing is
/// [`RoleHoldersRead::Incomplete`] or recorded in [`RoleHolders::unread`].
pub async fn read(preflight: &Preflight<'_>) -> Result<RoleHoldersRead, PreflightError> {
    // The listings go at once: one round trip before a containment's first write.
    let mut counts = [0usize; 5];
    let [c0, c1, c2, c3, c4] = &mut counts;
    let (roles, eligibilities, assignments, definitions, units) = tokio::join!(
        list(preflight, GraphRequest::directory_roles_with_members(), c0),
        list(preflight, GraphRequest::role_eligibilities(), c1),
        list(preflight, GraphRequest::role_assignments(), c2),
        list(preflight, GraphRequest::role_definitions(), c3),
        list(preflight, GraphRequest::administrative_units(), c4),
    );
    let mut lister = Lister {
        preflight,
        holders: RoleHolders {
            requests: counts.iter().sum(),
            ..RoleHolders::default()
        },
        groups: HashMap::new(),
    };
    let (roles, eligibilities, assignments, definitions, units) =
        (roles?, eligibilities?, assignments?, definitions?, units?);
    let roles = match roles {
        Ok(roles) => roles,
        Err(why) => return Ok(incomplete("the directory roles", why)),
    };
    // Role names by definition (template) id: the definitions, else the activated roles.
    let mut role_names: HashMap<String, String> = HashMap::new();
    for role in &roles {
        if let (Some(template), Some(name)) = (
            role["roleTemplateId"].as_str(),
            role["displayName"].as_str(),
        ) {
            role_names.insert(template.to_lowercase(), name.to_string());
        }
    }
    for definition in definitions.unwrap_or_default() {
        if let (Some(id), Some(name)) = (
            definition["id"].as_str(),
            definition["displayName"].as_str(),
        ) {
            role_names.insert(id.to_lowercase(), name.to_string());
        }
    }
    let unit_names = read_units(&mut lister, units).await?;
    for role in roles {
        let Some(role_id) = role["id"].as_str() else {
            return Ok(incomplete("the directory roles", "a role has no id".into()));
        };
        let name = role["displayName"].as_str().unwrap_or(role_id).to_string();
        let members = match role["members"].as_array() {
            Some(members) if members.len() < EXPANDED_MEMBERS => members.clone(),
            _ => match lister.list(GraphRequest::role_members(role_id)).await? {
                Ok(members) => members,
                Err(why) => return Ok(incomplete(&format!("the members of {name}"), why)),
            },
        };
        for member in members {
            let kind = member["@odata.type"].as_str().unwrap_or_default();
            if kind.is_empty() || member["id"].as_str().unwrap_or_default().is_empty() {
                return Ok(incomplete(
                    &format!("the members of {name}"),
                    format!("a member of type {kind:?} cannot be told apart from a user"),
                ));
            }
            if let Err(why) = lister.grant(&member, "", &name).await? {
                return Ok(incomplete(&format!("the members of {name}"), why));
            }
        }
    }
    let names = Names {
        roles: role_names,
        units: unit_names,
    };
    match assignments {
        Ok(assignments) => lister.grant_listed(assignments, &names, false).await?,
        Err(why) => lister.holders.unread.push(format!(
            "the admins by role assignment (scoped to an administrative unit, or of a custom role) could not be read ({why})"
        )),
    }
    match eligibilities {
        Ok(instances) => lister.grant_listed(instances, &names, true).await?,
        Err(why) => lister.holders.unread.push(format!(
            "the eligible (PIM) admins could not be read ({why})"
        )),
    }
    Ok(RoleHoldersRead::Complete(lister.holders))
}

/// The administrative units' names by lower-cased id, and the members of the restricted
/// ones into the holders; what cannot be listed is noted in `units_unread`.
async fn read_units(
    lister: &mut Lister<'_, '_>,
    units: Result<Vec<Value>, String>,
) -> Result<HashMap<String, String>, PreflightError> {
    let mut names = HashMap::new();
    let units = match units {
        Ok(units) => units,
        Err(why) => {
            lister.holders.units_unread = Some(why);
            return Ok(names);
        }
    };
    for unit in units {
        let Some(id) = unit["id"].as_str() else {
            continue;
        };
        let name = unit["displayName"].as_str().unwrap_or(id).to_string();
        names.insert(id.to_lowercase(), name.clone());
        if unit["isMemberManagementRestricted"].as_bool() != Some(true) {
            continue;
        }
        match lister.list(GraphRequest::unit_members(id)).await? {
            Ok(members) => {
                for member in members {
                    // A group or device in the unit is restricted itself, not its members.
                    if member["@odata.type"].as_str() == Some("#microsoft.graph.user")
                        && let Some(user) = member["id"].as_str()
                    {
                        lister.holders.add_restricted(
                            user,
                            member["userPrincipalName"].as_str(),
                            &name,
                        );
                    }
                }
            }
            Err(why) => {
                lister.holders.units_unread = Some(format!(
                    "the members of the restricted administrative unit {name} could not be listed: {why}"
                ));
            }
        }
    }
    Ok(names)
}

fn incomplete(what: &str, why: String) -> RoleHoldersRead {
    RoleHoldersRead::Incomplete {
        why: format!("{what} could not be listed: {why}"),
    }
}

/// Every item of the list `first` starts, following `@odata.nextLink`; `Err` with why when
/// Graph refuses a page or a page cannot be followed.
pub(crate) async fn list(
    preflight: &Preflight<'_>,
    first: GraphRequest,
    requests: &mut usize,
) -> Result<Result<Vec<Value>, String>, PreflightError> {
    let graph = preflight.graph();
    let mut request = first;
    let mut items = Vec::new();
    for _ in 0..MAX_PAGES {
        *requests += 1;
        let body = match preflight.ask(&request).await? {
            Answered::Body(body) => body.unwrap_or(Value::Null),
            Answered::Refused(fault) => return Ok(Err(fault.to_string())),
        };
        let Some(page) = body["value"].as_array() else {
            return Ok(Err("Graph's answer is not a list".into()));
        };
        items.extend(page.iter().cloned());
        let Some(next) = body["@odata.nextLink"].as_str() else {
            return Ok(Ok(items));
        };
        match relative_to_version(next, &graph, request.version.as_str()) {
            Some(relative) => request = GraphRequest::next_page(relative),
            None => return Ok(Err(format!("the next page is elsewhere: {next}"))),
        }
    }
    Ok(Err(format!("more than {MAX_PAGES} pages")))
}

/// `next` (an absolute `@odata.nextLink`) relative to `graph` + `/` + `version`, or `None`
/// when it points elsewhere.
fn relative_to_version(next: &str, graph: &str, version: &str) -> Option<String> {
    let root = format!(
        "{}/{}",
        graph.trim_end_matches('/'),
        version.trim_matches('/')
    );
    let rest = next.strip_prefix(&root)?;
    rest.starts_with('/').then(|| rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_link_is_followed_only_under_the_same_graph_and_version() {
        let graph = "https://graph.microsoft.com";
        assert_eq!(
            relative_to_version(
                "https://graph.microsoft.com/v1.0/groups/g/transitiveMembers?$skiptoken=x",
                graph,
                "v1.0"
            )
            .as_deref(),
            Some("/groups/g/transitiveMembers?$skiptoken=x")
        );
        assert_eq!(
            relative_to_version("https://evil.example/v1.0/groups", graph, "v1.0"),
            None
        );
        assert_eq!(
            relative_to_version("https://graph.microsoft.com/v1.0x/groups", graph, "v1.0"),
            None
        );
    }

    #[test]
    fn a_role_without_a_listed_name_is_a_phrase_that_reads_after_holds_an_admin_role() {
        let names = Names {
            roles: HashMap::from([("r1".to_string(), "Helpdesk Administrator".to_string())]),
            units: HashMap::new(),
        };
        let listed = serde_json::json!({"roleDefinitionId": "R1"});
        assert_eq!(names.role(&listed), "Helpdesk Administrator");
        let unlisted = serde_json::json!({"roleDefinitionId": "r2"});
        assert_eq!(
            names.role(&unlisted),
            "the directory role r2, whose name is not listed"
        );
        let none = serde_json::json!({});
        assert_eq!(
            names.role(&none),
            "a directory role whose name is not listed"
        );
    }

    #[test]
    fn a_holder_is_found_by_id_or_upn_in_any_case() {
        let mut holders = RoleHolders::default();
        holders.add("AAAA", Some("Admin@Contoso.com"), "Global Administrator");
        holders.add("aaaa", None, "User Administrator");
        assert_eq!(holders.users(), 1);
        let roles = holders.roles_of("admin@contoso.COM").unwrap();
        assert_eq!(roles.len(), 2, "{roles:?}");
        assert!(holders.roles_of("AaAa").is_some());
        assert!(holders.roles_of("someone@contoso.com").is_none());
    }
}
