//! The tenant's admin-role holders, listed once, tenant-wide, in a few requests: what a
//! containment from the user list checks each key against before its first write, instead
//! of reading every user's roles.
//!
//! `GET /directoryRoles?$expand=members` lists every activated directory role with its
//! members; a role whose expansion shows [`EXPANDED_MEMBERS`] members (Graph's cap) is
//! listed again with `/directoryRoles/{id}/members`, and a member that is a group (a
//! role-assignable group) is expanded to its users with
//! `/groups/{id}/transitiveMembers/microsoft.graph.user`, following `@odata.nextLink`.
//! Every directory role counts, as for the per-user read of a plan
//! (`transitiveMemberOf/microsoft.graph.directoryRole`), so both agree on who is an admin.
//!
//! Anything that cannot be listed — a refused request, a page that cannot be followed, a
//! member of a kind this listing does not know — makes the listing [`RoleHoldersRead::Incomplete`]:
//! the caller must not rely on it (a containment then reads every user's roles first, as a
//! plan does). Never a partial list taken for the whole.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::preflight::{Answered, Preflight, PreflightError};
use super::request::{EXPANDED_MEMBERS, GraphRequest};

/// The most pages of one list this listing follows before it gives up (a role or group of
/// more than a million members is not a role-holder list it can vouch for).
const MAX_PAGES: usize = 1000;

/// Who holds a directory role, by object id and UPN (any case), with the roles' names.
#[derive(Debug, Default, Clone)]
pub struct RoleHolders {
    /// Roles by lower-cased object id.
    by_id: HashMap<String, BTreeSet<String>>,
    /// Lower-cased UPN to lower-cased object id.
    ids_by_upn: HashMap<String, String>,
    requests: usize,
    /// Why the PIM eligibilities could not be read (no licence, no permission): eligible
    /// admins are then not known.
    eligible_unread: Option<String>,
}

impl RoleHolders {
    /// The roles held by the user whose id or UPN is `key` (any case), if any.
    pub fn roles_of(&self, key: &str) -> Option<&BTreeSet<String>> {
        let key = key.to_lowercase();
        self.by_id
            .get(&key)
            .or_else(|| self.ids_by_upn.get(&key).and_then(|id| self.by_id.get(id)))
    }

    /// Users holding at least one role.
    pub fn users(&self) -> usize {
        self.by_id.len()
    }

    /// Requests the listing took.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Why eligible (PIM) admins could not be read, if they could not.
    pub fn eligible_unread(&self) -> Option<&str> {
        self.eligible_unread.as_deref()
    }

    fn add(&mut self, id: &str, upn: Option<&str>, role: &str) {
        let id = id.to_lowercase();
        if let Some(upn) = upn {
            self.ids_by_upn.insert(upn.to_lowercase(), id.clone());
        }
        self.by_id.entry(id).or_default().insert(role.to_string());
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

/// Lists every holder of a directory role through `preflight`'s requests (retried while
/// Graph cannot be reached, within its deadline). Only a rejected credential or an
/// unreachable Graph is an error; anything else that stops the listing is
/// [`RoleHoldersRead::Incomplete`].
pub async fn read(preflight: &Preflight<'_>) -> Result<RoleHoldersRead, PreflightError> {
    let mut holders = RoleHolders::default();
    // The two listings go at once: one round trip before a containment's first write.
    let (mut role_requests, mut eligibility_requests) = (0, 0);
    let (roles, eligibilities) = tokio::join!(
        list(
            preflight,
            GraphRequest::directory_roles_with_members(),
            &mut role_requests,
        ),
        list(
            preflight,
            GraphRequest::role_eligibilities(),
            &mut eligibility_requests,
        ),
    );
    holders.requests = role_requests + eligibility_requests;
    let (roles, eligibilities) = (roles?, eligibilities?);
    let roles = match roles {
        Ok(roles) => roles,
        Err(why) => return Ok(incomplete("the directory roles", why)),
    };
    for role in roles {
        let Some(role_id) = role["id"].as_str() else {
            return Ok(incomplete("the directory roles", "a role has no id".into()));
        };
        let name = role["displayName"].as_str().unwrap_or(role_id).to_string();
        let members = match role["members"].as_array() {
            Some(members) if members.len() < EXPANDED_MEMBERS => members.clone(),
            _ => match list(
                preflight,
                GraphRequest::role_members(role_id),
                &mut holders.requests,
            )
            .await?
            {
                Ok(members) => members,
                Err(why) => return Ok(incomplete(&format!("the members of {name}"), why)),
            },
        };
        for member in members {
            let id = member["id"].as_str().unwrap_or_default();
            match member["@odata.type"].as_str().unwrap_or_default() {
                "#microsoft.graph.user" if !id.is_empty() => {
                    holders.add(id, member["userPrincipalName"].as_str(), &name);
                }
                "#microsoft.graph.group" if !id.is_empty() => {
                    let users = match list(
                        preflight,
                        GraphRequest::group_users(id),
                        &mut holders.requests,
                    )
                    .await?
                    {
                        Ok(users) => users,
                        Err(why) => {
                            return Ok(incomplete(
                                &format!("the members of group {id}, which holds {name}"),
                                why,
                            ));
                        }
                    };
                    for user in users {
                        if let Some(user_id) = user["id"].as_str() {
                            holders.add(user_id, user["userPrincipalName"].as_str(), &name);
                        }
                    }
                }
                // Service principals hold roles too, but are never on a user list.
                "#microsoft.graph.servicePrincipal" => {}
                other => {
                    return Ok(incomplete(
                        &format!("the members of {name}"),
                        format!("a member of type {other:?} cannot be told apart from a user"),
                    ));
                }
            }
        }
    }
    read_eligibilities(preflight, eligibilities, &mut holders).await?;
    Ok(RoleHoldersRead::Complete(holders))
}

/// Adds every PIM eligibility `listed` to `holders` (`Role (eligible)`, with its scope when not
/// tenant-wide), a group's through its users; when Graph refuses the listing (no licence,
/// no permission) records why instead.
async fn read_eligibilities(
    preflight: &Preflight<'_>,
    listed: Result<Vec<Value>, String>,
    holders: &mut RoleHolders,
) -> Result<(), PreflightError> {
    let instances = match listed {
        Ok(instances) => instances,
        Err(why) => {
            holders.eligible_unread = Some(why);
            return Ok(());
        }
    };
    for instance in instances {
        let principal = &instance["principal"];
        let id = instance["principalId"]
            .as_str()
            .or_else(|| principal["id"].as_str())
            .unwrap_or_default()
            .to_string();
        let role = instance["roleDefinition"]["displayName"]
            .as_str()
            .or_else(|| instance["roleDefinitionId"].as_str())
            .unwrap_or("a directory role");
        let scope = instance["directoryScopeId"].as_str().unwrap_or("/");
        let name = if scope == "/" {
            format!("{role} (eligible)")
        } else {
            format!("{role} (eligible, scope {scope})")
        };
        match principal["@odata.type"].as_str().unwrap_or_default() {
            "#microsoft.graph.group" => {
                match list(
                    preflight,
                    GraphRequest::group_users(&id),
                    &mut holders.requests,
                )
                .await?
                {
                    Ok(users) => {
                        for user in users {
                            if let Some(user_id) = user["id"].as_str() {
                                holders.add(user_id, user["userPrincipalName"].as_str(), &name);
                            }
                        }
                    }
                    Err(why) => {
                        holders.eligible_unread = Some(format!(
                            "the members of group {id}, eligible for {role}, could not be read: {why}"
                        ));
                    }
                }
            }
            "#microsoft.graph.servicePrincipal" => {}
            // A user, or a principal Graph did not expand: by id (a user listed by UPN
            // is found by the plan's read of their id).
            _ if !id.is_empty() => holders.add(&id, principal["userPrincipalName"].as_str(), &name),
            _ => {}
        }
    }
    Ok(())
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
