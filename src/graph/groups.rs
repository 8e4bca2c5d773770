//! Groups whose members are excluded from a run (`--exclude-group ID|NAME`, break-glass
//! accounts kept in a group rather than in a file): a group named by its id or its display
//! name, and its users through nested groups, read once at the start.
//!
//! Anything short of the whole membership — no such group, a name several groups share, a
//! refused or unfollowable page — is an error with what to do: an exclusion that is not
//! known in full is never taken as known.

use serde_json::Value;

use super::key::UserKey;
use super::preflight::{Preflight, PreflightError};
use super::request::GraphRequest;
use super::role_holders::list;

/// A group and its users (ids and UPNs), through nested groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUsers {
    pub id: String,
    pub name: String,
    pub users: Vec<(String, Option<String>)>,
}

/// Reads the group `spec` names (an object id, or else a display name) and its users.
/// `Ok(Err(why))` when the group cannot be known in full; only a rejected credential or
/// an unreachable Graph is an error.
pub async fn read_group(
    preflight: &Preflight<'_>,
    spec: &str,
) -> Result<Result<GroupUsers, String>, PreflightError> {
    let mut requests = 0;
    let (id, name) = if UserKey::id(spec).is_ok() {
        (spec.to_ascii_lowercase(), None)
    } else {
        let found = match list(preflight, GraphRequest::groups_named(spec), &mut requests).await? {
            Ok(found) => found,
            Err(why) => {
                return Ok(Err(format!(
                    "the groups named {spec:?} could not be listed: {why}"
                )));
            }
        };
        match found.as_slice() {
            [one] => match one["id"].as_str() {
                Some(id) => (id.to_ascii_lowercase(), Some(text(one, "displayName"))),
                None => return Ok(Err("Graph's answer about the group has no id".into())),
            },
            [] => {
                return Ok(Err(format!(
                    "no group is named {spec:?}; give its name exactly, or its object id"
                )));
            }
            many => {
                return Ok(Err(format!(
                    "{} groups are named {spec:?}; give the object id of the one meant ({})",
                    many.len(),
                    many.iter()
                        .map(|g| text(g, "id"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    };
    let members = match list(preflight, GraphRequest::group_users(&id), &mut requests).await? {
        Ok(members) => members,
        Err(why) => {
            return Ok(Err(format!(
                "the members of group {spec:?} could not be read: {why}"
            )));
        }
    };
    let users = members
        .iter()
        .filter_map(|m| {
            let id = m["id"].as_str()?.to_ascii_lowercase();
            Some((id, m["userPrincipalName"].as_str().map(str::to_string)))
        })
        .collect();
    Ok(Ok(GroupUsers {
        name: name.unwrap_or_else(|| spec.to_string()),
        id,
        users,
    }))
}

fn text(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_string()
}
