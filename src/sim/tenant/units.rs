//! The organisation (`/organization`), administrative units and the role-management
//! listings that show who holds a role and where: `/directory/administrativeUnits` (with
//! restricted management), `/roleManagement/directory/roleAssignments` (tenant-wide and
//! unit-scoped, users and role-assignable groups) and
//! `/roleManagement/directory/roleDefinitions`.
//!
//! A role held at a unit's scope does not make the holder an admin in
//! `transitiveMemberOf` nor in `/directoryRoles` (as in Entra), so an ordinary app may
//! change them: only the role-management listing shows it. A member of a unit whose
//! management is restricted may be changed only by an administrator assigned at the unit's
//! scope; this emulator lets an app with a privileged role stand for one.

use serde_json::{Value, json};

use super::{ROLE_TEMPLATES, Tenant, derived_guid};
use crate::sim::model::{AdministrativeUnitRecord, ScopedRoleRecord};

impl Tenant {
    /// Adds an administrative unit, refusing a malformed or repeated id and members or
    /// role holders the tenant does not have.
    pub fn add_unit(&mut self, unit: AdministrativeUnitRecord) -> Result<(), String> {
        if !crate::sim::odata::is_guid(&unit.id) {
            return Err(format!(
                "administrative unit id {:?} is not a GUID",
                unit.id
            ));
        }
        let id = unit.id.to_ascii_lowercase();
        if self.unit(&id).is_some() || self.by_id.contains_key(&id) || self.group(&id).is_some() {
            return Err(format!("administrative unit id {id} appears twice"));
        }
        let mut members = Vec::with_capacity(unit.members.len());
        for member in &unit.members {
            let member = member.to_ascii_lowercase();
            if !self.by_id.contains_key(&member) {
                return Err(format!(
                    "administrative unit {id}: no user has the id {member}"
                ));
            }
            members.push(member);
        }
        let mut scoped_roles = Vec::with_capacity(unit.scoped_roles.len());
        for role in &unit.scoped_roles {
            let principal = role.principal_id.to_ascii_lowercase();
            if !self.by_id.contains_key(&principal) && self.group(&principal).is_none() {
                return Err(format!(
                    "administrative unit {id}: no user or group has the id {principal}"
                ));
            }
            scoped_roles.push(ScopedRoleRecord {
                principal_id: principal,
                role: role.role.clone(),
            });
        }
        self.units.push(AdministrativeUnitRecord {
            id,
            members,
            scoped_roles,
            ..unit
        });
        Ok(())
    }

    /// The administrative unit of id `id`, if any.
    pub fn unit(&self, id: &str) -> Option<&AdministrativeUnitRecord> {
        let id = id.to_ascii_lowercase();
        self.units.iter().find(|u| u.id == id)
    }

    /// Whether user `index` is in an administrative unit whose management is restricted
    /// (Graph's `isManagementRestricted`).
    pub fn is_management_restricted(&self, index: usize) -> bool {
        let id = &self.users[index].id;
        self.units
            .iter()
            .any(|u| u.is_member_management_restricted && u.members.contains(id))
    }

    /// `GET /directory/administrativeUnits`: every unit, as Graph shows it.
    pub fn units_json(&self) -> Vec<Value> {
        self.units
            .iter()
            .map(|u| {
                json!({
                    "@odata.type": "#microsoft.graph.administrativeUnit",
                    "id": u.id,
                    "displayName": u.display_name,
                    "isMemberManagementRestricted": u.is_member_management_restricted,
                })
            })
            .collect()
    }

    /// `GET /directory/administrativeUnits/{id}/members`: the unit's users; `None` for no
    /// such unit.
    pub fn unit_members_json(&self, id: &str) -> Option<Vec<Value>> {
        let unit = self.unit(id)?;
        Some(
            unit.members
                .iter()
                .filter_map(|m| self.by_id.get(m))
                .map(|&i| self.member_json(i))
                .collect(),
        )
    }

    /// `GET /roleManagement/directory/roleAssignments`: every active assignment — users'
    /// and groups' tenant-wide roles, and the roles held at a unit's scope — with the
    /// principal expanded when `expand_principal`.
    pub fn role_assignments_json(&self, expand_principal: bool) -> Vec<Value> {
        let mut assignments: Vec<(String, String, String)> = Vec::new();
        for user in &self.users {
            for role in &user.roles {
                assignments.push((user.id.clone(), role.clone(), "/".into()));
            }
        }
        for group in &self.groups {
            for role in &group.roles {
                assignments.push((group.id.clone(), role.clone(), "/".into()));
            }
        }
        for unit in &self.units {
            for scoped in &unit.scoped_roles {
                assignments.push((
                    scoped.principal_id.clone(),
                    scoped.role.clone(),
                    format!("/administrativeUnits/{}", unit.id),
                ));
            }
        }
        assignments
            .into_iter()
            .map(|(principal_id, role, scope)| {
                let definition = self.role_json(&role);
                let mut assignment = json!({
                    "id": derived_guid(&[&self.tenant_id, "assignment", &principal_id, &role, &scope]),
                    "principalId": principal_id,
                    "roleDefinitionId": definition["roleTemplateId"],
                    "directoryScopeId": scope,
                });
                if expand_principal {
                    assignment["principal"] = self.principal_json(&principal_id);
                }
                assignment
            })
            .collect()
    }

    /// `GET /roleManagement/directory/roleDefinitions`: the built-in roles and any other
    /// role the tenant names (a custom role), by template id.
    pub fn role_definitions_json(&self) -> Vec<Value> {
        let mut names: Vec<String> = ROLE_TEMPLATES.iter().map(|(n, _)| n.to_string()).collect();
        let used = self
            .users
            .iter()
            .flat_map(|u| u.roles.iter())
            .chain(self.groups.iter().flat_map(|g| g.roles.iter()))
            .chain(self.eligibilities.iter().map(|e| &e.role))
            .chain(
                self.units
                    .iter()
                    .flat_map(|u| u.scoped_roles.iter().map(|r| &r.role)),
            );
        for name in used {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
            .iter()
            .map(|name| {
                let role = self.role_json(name);
                json!({
                    "id": role["roleTemplateId"],
                    "displayName": name,
                    "isBuiltIn": ROLE_TEMPLATES.iter().any(|(n, _)| n == name),
                })
            })
            .collect()
    }

    /// `GET /organization`: the tenant as an organisation — its id, name and verified
    /// domains, the default one being the domain most of its members' UPNs use (else
    /// `{id}.onmicrosoft.com`).
    pub fn organization_json(&self) -> Value {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for user in &self.users {
            if let Some((_, domain)) = user.user_principal_name.rsplit_once('@')
                && !user.user_principal_name.contains("#EXT#")
            {
                *counts.entry(domain.to_ascii_lowercase()).or_default() += 1;
            }
        }
        let initial = format!("{}.onmicrosoft.com", &self.tenant_id[..8]);
        let default = counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(d, _)| d.clone())
            .unwrap_or_else(|| initial.clone());
        let mut domains = vec![json!({
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": default == initial,
            "isInitial": true,
            "name": initial,
            "type": "Managed",
        })];
        for domain in counts.keys().filter(|d| **d != initial) {
            domains.push(json!({
                "capabilities": "Email",
                "isDefault": *domain == default,
                "isInitial": false,
                "name": domain,
                "type": "Managed",
            }));
        }
        json!({
            "id": self.tenant_id,
            "displayName": self.display_name.as_deref().unwrap_or("Emulated tenant"),
            "verifiedDomains": domains,
        })
    }

    /// A user or group, as a role assignment's expanded `principal`.
    fn principal_json(&self, id: &str) -> Value {
        match self.by_id.get(id) {
            Some(&i) => self.member_json(i),
            None => {
                let name = self
                    .group(id)
                    .map(|g| g.display_name.clone())
                    .unwrap_or_default();
                json!({
                    "@odata.type": "#microsoft.graph.group",
                    "id": id,
                    "displayName": name,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::model::{EligibilityRecord, GroupRecord};

    fn tenant_of(users: usize) -> Tenant {
        crate::sim::generate::generate(users, 7)
    }

    const UNIT: &str = "00000000-0000-4000-8000-0000000000a1";

    #[test]
    fn a_restricted_unit_restricts_its_members_and_scoped_roles_are_listed_with_their_scope() {
        let mut tenant = tenant_of(40);
        let plain: Vec<usize> = (0..40)
            .filter(|&i| tenant.roles_of(i).is_empty())
            .take(3)
            .collect();
        let (a, b, c) = (
            tenant.user(plain[0]).id.clone(),
            tenant.user(plain[1]).id.clone(),
            tenant.user(plain[2]).id.clone(),
        );
        tenant
            .add_group(GroupRecord {
                id: "00000000-0000-4000-8000-0000000000b1".into(),
                display_name: "Helpdesk".into(),
                members: vec![c.clone()],
                roles: vec![],
            })
            .unwrap();
        tenant
            .add_unit(AdministrativeUnitRecord {
                id: UNIT.to_uppercase(),
                display_name: "Executives".into(),
                members: vec![a.clone()],
                is_member_management_restricted: true,
                scoped_roles: vec![
                    ScopedRoleRecord {
                        principal_id: b.clone(),
                        role: "User Administrator".into(),
                    },
                    ScopedRoleRecord {
                        principal_id: "00000000-0000-4000-8000-0000000000B1".into(),
                        role: "Helpdesk Administrator".into(),
                    },
                ],
            })
            .unwrap();
        tenant
            .add_eligibility(EligibilityRecord {
                principal_id: c.clone(),
                role: "Password Administrator".into(),
                administrative_unit: Some(UNIT.into()),
            })
            .unwrap();
        let (a_index, b_index) = (plain[0], plain[1]);
        assert!(tenant.is_management_restricted(a_index));
        assert!(!tenant.is_management_restricted(b_index));
        // A unit-scoped role is no directory-role membership: an ordinary app may
        // change its holder; the restricted member only a privileged one.
        assert!(tenant.roles_of(b_index).is_empty());
        let refused = tenant.check_may_change(a_index, false).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(
            refused
                .message
                .contains("restricted management administrative unit")
        );
        assert!(tenant.check_may_change(a_index, true).is_ok());
        assert!(tenant.check_may_change(b_index, false).is_ok());

        let scope = format!("/administrativeUnits/{UNIT}");
        let assignments: Vec<Value> = tenant
            .role_assignments_json(true)
            .into_iter()
            .filter(|a| a["directoryScopeId"] == scope)
            .collect();
        assert_eq!(assignments.len(), 2, "{assignments:#?}");
        assert_eq!(assignments[0]["principal"]["id"], b);
        assert_eq!(
            assignments[1]["principal"]["@odata.type"],
            "#microsoft.graph.group"
        );
        // The tenant-wide roles of the generated admins are listed too, unscoped.
        assert!(
            tenant
                .role_assignments_json(false)
                .iter()
                .any(|a| a["directoryScopeId"] == "/" && a.get("principal").is_none())
        );
        let eligible = tenant.eligibility_instances_json().unwrap();
        assert_eq!(eligible[0]["directoryScopeId"], scope);
        let units = tenant.units_json();
        assert_eq!(units[0]["isMemberManagementRestricted"], true);
        assert_eq!(tenant.unit_members_json(UNIT).unwrap()[0]["id"], a);
        let definitions = tenant.role_definitions_json();
        assert!(
            definitions
                .iter()
                .any(|d| d["displayName"] == "Helpdesk Administrator")
        );
        // The tenant file keeps the units.
        let again = Tenant::from_record(tenant.to_record()).unwrap();
        assert!(again.is_management_restricted(a_index));
    }

    #[test]
    fn a_unit_naming_someone_the_tenant_does_not_have_is_refused() {
        let mut tenant = tenant_of(1);
        let err = tenant
            .add_unit(AdministrativeUnitRecord {
                id: UNIT.into(),
                display_name: "X".into(),
                members: vec!["00000000-0000-4000-8000-00000000dead".into()],
                is_member_management_restricted: false,
                scoped_roles: vec![],
            })
            .unwrap_err();
        assert!(err.contains("no user has the id"), "{err}");
        let err = tenant
            .add_eligibility(EligibilityRecord {
                principal_id: tenant.user(0).id.clone(),
                role: "Global Administrator".into(),
                administrative_unit: Some(UNIT.into()),
            })
            .unwrap_err();
        assert!(err.contains("no administrative unit"), "{err}");
    }
}
