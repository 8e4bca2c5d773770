//! A tenant's users as the emulator shows them (`/_sim/state`, JSON): their fields and
//! methods, and picking users for a list.

use std::collections::{BTreeMap, BTreeSet};

use mfa_reset::sim::{Tenant, TenantSource};
use serde_json::Value;

use super::ALTERNATE_MOBILE;
use super::oracle::Profile;

/// Users by id.
pub type Users = BTreeMap<String, Value>;

pub fn id_of(u: &Value) -> &str {
    u["id"].as_str().expect("id")
}

pub fn upn(u: &Value) -> &str {
    u["userPrincipalName"].as_str().expect("UPN")
}

/// A method's type as the CLI names it: `phone`, `fido2`, `temporaryAccessPass`, ...
pub fn kind(m: &Value) -> &str {
    let odata = m["@odata.type"].as_str().expect("@odata.type");
    odata
        .trim_start_matches("#microsoft.graph.")
        .trim_end_matches("AuthenticationMethod")
}

pub fn methods(u: &Value) -> &[Value] {
    u["methods"].as_array().expect("methods")
}

/// The ids of the methods in `refs` (an array of methods or method references; none when
/// it is not an array).
pub fn ids_of(refs: &Value) -> BTreeSet<String> {
    refs.as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["id"].as_str().expect("id").to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn method_ids(u: &Value) -> BTreeSet<String> {
    ids_of(&u["methods"])
}

pub fn is_admin(u: &Value) -> bool {
    !u["roles"].as_array().expect("roles").is_empty()
}

pub fn is_synced(u: &Value) -> bool {
    u["onPremisesSyncEnabled"] == true
}

pub fn is_enabled(u: &Value) -> bool {
    u["accountEnabled"] == true
}

/// The rules tenant (`tests/data/tenant-rules.json`) followed by `generated` generated
/// users: every Entra rule, and users that are not in any list.
pub fn mixed_tenant(generated: usize, seed: u64) -> Tenant {
    let rules = mfa_reset::sim::load_tenant(&TenantSource::File(super::data("tenant-rules.json")))
        .expect("the rules tenant loads");
    let more = mfa_reset::sim::generate::generate(generated, seed);
    let users = rules.users().iter().chain(more.users()).cloned().collect();
    Tenant::new(rules.tenant_id.clone(), users).expect("ids and UPNs are unique")
}

/// The first `n` users (by id).
pub fn some(users: &Users, n: usize) -> Vec<Value> {
    users.values().take(n).cloned().collect()
}

/// The first `n` users (by id) without a directory role.
pub fn without_role(users: &Users, n: usize) -> Vec<Value> {
    users
        .values()
        .filter(|u| !is_admin(u))
        .take(n)
        .cloned()
        .collect()
}

/// `n` "ordinary" users: no role, enabled, cloud-only, with a method the device refresh
/// removes, and a default the plan can tell apart.
pub fn ordinary(users: &Users, n: usize) -> Vec<Value> {
    let picked: Vec<Value> = users
        .values()
        .filter(|u| !is_admin(u) && is_enabled(u) && !is_synced(u))
        .filter(|u| {
            methods(u)
                .iter()
                .any(|m| Profile::DeviceRefresh.removes(kind(m)))
        })
        .filter(|u| u["defaultMethod"] != ALTERNATE_MOBILE)
        .take(n)
        .cloned()
        .collect();
    assert_eq!(picked.len(), n, "not enough ordinary users");
    picked
}

/// The user with the fields a run may change taken out.
pub fn untouchable_fields(u: &Value) -> Value {
    let mut u = u.clone();
    let o = u.as_object_mut().unwrap();
    for field in [
        "methods",
        "accountEnabled",
        "signInSessionsValidFromDateTime",
        "defaultMethod",
    ] {
        o.remove(field);
    }
    u
}

pub fn op(m: &Value) -> &str {
    m["op"].as_str().expect("op")
}

/// Mutations (the emulator's log) by user id, each user's in the order applied.
pub fn by_user(mutations: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut by_user: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in mutations {
        by_user
            .entry(m["userId"].as_str().expect("userId").to_string())
            .or_default()
            .push(m.clone());
    }
    by_user
}

/// The ids of the methods deleted in `mutations`, in order.
pub fn deleted(mutations: &[Value]) -> Vec<&str> {
    mutations
        .iter()
        .filter(|m| op(m) == "deleteMethod")
        .map(|m| m["methodId"].as_str().expect("methodId"))
        .collect()
}

/// How many of `mutations` are `name`.
pub fn count(mutations: &[Value], name: &str) -> usize {
    mutations.iter().filter(|m| op(m) == name).count()
}

/// The passes of one user's `mutations` that are still in the tenant: created and not
/// deleted (nor replaced) after. A pass whose creation's answer was lost is deleted before
/// a new one is issued, so a user never keeps more than one, and never one whose value
/// `tap.csv` does not hold.
pub fn live_passes(mutations: &[Value]) -> Vec<&str> {
    let mut live: Vec<&str> = Vec::new();
    for m in mutations {
        let id = m["methodId"].as_str().unwrap_or_default();
        match op(m) {
            "createTemporaryAccessPass" => {
                // Graph keeps one usable pass a user: a new one replaces the old.
                live.clear();
                live.push(id);
            }
            "deleteMethod" => live.retain(|p| *p != id),
            _ => {}
        }
    }
    live
}

/// Checks that every pass of one user's `mutations` but the last was deleted before the
/// next was created: a lost pass is never left behind.
pub fn assert_lost_passes_deleted(mutations: &[Value], who: &str) {
    let mut created: Option<&str> = None;
    for m in mutations {
        let id = m["methodId"].as_str().unwrap_or_default();
        match op(m) {
            "createTemporaryAccessPass" => {
                assert!(
                    created.is_none(),
                    "{who}: a pass was created while an earlier one ({created:?}) was not deleted"
                );
                created = Some(id);
            }
            "deleteMethod" if created == Some(id) => created = None,
            _ => {}
        }
    }
}

/// One user's `mutations` without the deletions of passes the run itself created (a pass
/// whose value was lost is deleted before a new one is issued): what the plan asked for.
pub fn without_lost_passes(mutations: &[Value]) -> Vec<Value> {
    let created: std::collections::BTreeSet<&str> = mutations
        .iter()
        .filter(|m| op(m) == "createTemporaryAccessPass")
        .filter_map(|m| m["methodId"].as_str())
        .collect();
    mutations
        .iter()
        .filter(|m| {
            !(op(m) == "deleteMethod"
                && m["methodId"]
                    .as_str()
                    .is_some_and(|id| created.contains(id)))
        })
        .cloned()
        .collect()
}
