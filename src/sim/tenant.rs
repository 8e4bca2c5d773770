//! The emulated tenant: its users, the indexes Graph's key forms need, and every change a
//! request can make, each enforcing Entra's own rules.
//!
//! The rules (sources in `shared/reference/graph-api.md` §1.4, §2.5, §2.6):
//! the password method cannot be deleted; the default method cannot be deleted while a
//! method that could itself be the default (phone, Authenticator, software or hardware
//! OATH) remains; the default can be moved (beta `signInPreferences`) only to a method the
//! user has; a mobile phone cannot be deleted while an alternateMobile exists; hardware
//! OATH tokens and the QR code PIN are reached through beta only, and v1.0 lists no
//! hardware token; one Temporary Access Pass per
//! user, created only as the tenant's TAP policy allows (enabled, a lifetime within its
//! range, 60–480 minutes by default, one-time passes only when it says so); one phone
//! method of each type, an alternateMobile only beside a mobile, numbers in Graph's
//! `+{country code} {number}x{extension}` format, and one email method (`create`);
//! `accountEnabled` of a synced user cannot be changed in the cloud; an app without a
//! privileged role cannot change an admin-role holder.
//!
//! `create` re-creates phone and email methods (what a restore puts back); `console` adds
//! the changes an administrator makes outside these routes (a role granted,
//! sync turned on, a method registered), for tests of a tenant that moves under a plan.

mod console;
mod create;
mod units;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value, json};

use super::errors::GraphFailure;
use super::model::{
    AdministrativeUnitRecord, EligibilityRecord, GroupRecord, Method, TapPolicy, TenantRecord,
    User, UserRecord,
};
use super::odata::{Filter, Literal, UserKey};
use crate::wire::{MethodType, PhoneType};

pub use create::CreatedMethod;

/// Properties a `$select` on users may name, in Graph's order for the default set.
const DEFAULT_USER_PROPERTIES: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];
const EXTRA_USER_PROPERTIES: [&str; 5] = [
    "accountEnabled",
    "userType",
    "onPremisesSyncEnabled",
    "signInSessionsValidFromDateTime",
    "isManagementRestricted",
];

/// Well-known directory role template ids.
const ROLE_TEMPLATES: [(&str, &str); 10] = [
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
    ),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    ),
];

/// A stable GUID derived from `parts`.
pub fn derived_guid(parts: &[&str]) -> String {
    let mut h1 = DefaultHasher::new();
    let mut h2 = DefaultHasher::new();
    "mfa-reset-sim-a".hash(&mut h1);
    "mfa-reset-sim-b".hash(&mut h2);
    for p in parts {
        p.hash(&mut h1);
        p.hash(&mut h2);
    }
    guid_from_u128((u128::from(h1.finish()) << 64) | u128::from(h2.finish()))
}

pub use crate::wire::guid_from_u128;

/// A change the tenant made, for the mutation log.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    DeleteMethod {
        method_id: String,
        method_type: MethodType,
        was_default: bool,
    },
    RevokeSessions {
        valid_from: String,
    },
    UpdateUser {
        account_enabled: bool,
    },
    CreateTemporaryAccessPass {
        method_id: String,
        replaced: Option<String>,
        lifetime_in_minutes: i64,
        is_usable_once: bool,
    },
    SetDefaultMethod {
        preferred: String,
        method_id: String,
    },
    /// A phone method created: its id and type, never its number (personal data).
    CreatePhoneMethod {
        method_id: String,
        phone_type: PhoneType,
    },
    /// The email method created: its id, never its address (personal data).
    CreateEmailMethod {
        method_id: String,
    },
}

impl Change {
    pub fn to_json(&self) -> Value {
        match self {
            Change::DeleteMethod {
                method_id,
                method_type,
                was_default,
            } => json!({"op": "deleteMethod", "methodId": method_id,
                        "methodType": method_type.short_name(), "wasDefault": was_default}),
            Change::RevokeSessions { valid_from } => {
                json!({"op": "revokeSignInSessions", "signInSessionsValidFromDateTime": valid_from})
            }
            Change::UpdateUser { account_enabled } => {
                json!({"op": "updateUser", "accountEnabled": account_enabled})
            }
            Change::CreateTemporaryAccessPass {
                method_id,
                replaced,
                lifetime_in_minutes,
                is_usable_once,
            } => json!({"op": "createTemporaryAccessPass", "methodId": method_id,
                        "replaced": replaced, "lifetimeInMinutes": lifetime_in_minutes,
                        "isUsableOnce": is_usable_once}),
            Change::SetDefaultMethod {
                preferred,
                method_id,
            } => json!({"op": "setDefaultMethod",
                        "userPreferredMethodForSecondaryAuthentication": preferred,
                        "methodId": method_id}),
            Change::CreatePhoneMethod {
                method_id,
                phone_type,
            } => json!({"op": "createPhoneMethod", "methodId": method_id,
                        "phoneType": phone_type.as_str()}),
            Change::CreateEmailMethod { method_id } => {
                json!({"op": "createEmailMethod", "methodId": method_id})
            }
        }
    }
}

/// A new Temporary Access Pass, as the create call answers it.
pub struct CreatedPass {
    pub change: Change,
    /// The 201 body, including the pass itself (the only time Graph shows it).
    pub body: Value,
}

/// The emulated tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub tenant_id: String,
    users: Vec<User>,
    by_id: HashMap<String, usize>,
    by_upn: HashMap<String, usize>,
    by_mail: HashMap<String, Vec<usize>>,
    tap_policy: TapPolicy,
    groups: Vec<GroupRecord>,
    eligibilities: Vec<EligibilityRecord>,
    pim_licensed: bool,
    units: Vec<AdministrativeUnitRecord>,
    display_name: Option<String>,
}

impl Tenant {
    /// Builds a tenant, checking that ids and UPNs are unique.
    pub fn new(tenant_id: String, users: Vec<User>) -> Result<Tenant, String> {
        let mut t = Tenant {
            tenant_id,
            by_id: HashMap::with_capacity(users.len()),
            by_upn: HashMap::with_capacity(users.len()),
            by_mail: HashMap::new(),
            users: Vec::with_capacity(users.len()),
            tap_policy: TapPolicy::default(),
            groups: Vec::new(),
            eligibilities: Vec::new(),
            pim_licensed: true,
            units: Vec::new(),
            display_name: None,
        };
        for (i, u) in users.into_iter().enumerate() {
            if t.by_id.insert(u.id.clone(), i).is_some() {
                return Err(format!("users[{i}]: id {} appears twice", u.id));
            }
            if t.by_upn
                .insert(u.user_principal_name.to_lowercase(), i)
                .is_some()
            {
                return Err(format!(
                    "users[{i}]: userPrincipalName {} appears twice (UPNs are unique regardless of case)",
                    u.user_principal_name
                ));
            }
            if let Some(mail) = &u.mail {
                t.by_mail.entry(mail.to_lowercase()).or_default().push(i);
            }
            t.users.push(u);
        }
        Ok(t)
    }

    /// Builds a tenant from its file form.
    pub fn from_record(record: TenantRecord) -> Result<Tenant, String> {
        if !super::odata::is_guid(&record.tenant_id) {
            return Err(format!("\"tenantId\" {:?} is not a GUID", record.tenant_id));
        }
        let users = record
            .users
            .into_iter()
            .enumerate()
            .map(|(i, u)| {
                let upn = u.user_principal_name.clone();
                u.into_user()
                    .map_err(|e| format!("users[{i}] ({upn}): {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut tenant = Tenant::new(record.tenant_id.to_ascii_lowercase(), users)?;
        if let Some(policy) = record.temporary_access_pass_policy {
            tenant.set_tap_policy(policy)?;
        }
        for group in record.groups {
            tenant.add_group(group)?;
        }
        // Units before eligibilities: an eligibility may be scoped to one.
        for unit in record.administrative_units {
            tenant.add_unit(unit)?;
        }
        for eligibility in record.role_eligibilities {
            tenant.add_eligibility(eligibility)?;
        }
        tenant.pim_licensed = record.pim_licensed.unwrap_or(true);
        tenant.display_name = record.display_name;
        Ok(tenant)
    }

    /// The tenant in its file form.
    pub fn to_record(&self) -> TenantRecord {
        TenantRecord {
            tenant_id: self.tenant_id.clone(),
            display_name: self.display_name.clone(),
            users: self.users.iter().map(UserRecord::from).collect(),
            temporary_access_pass_policy: (self.tap_policy != TapPolicy::default())
                .then_some(self.tap_policy),
            groups: self.groups.clone(),
            role_eligibilities: self.eligibilities.clone(),
            pim_licensed: (!self.pim_licensed).then_some(false),
            administrative_units: self.units.clone(),
        }
    }

    /// Makes a user or group eligible (PIM) for a role.
    pub fn add_eligibility(&mut self, eligibility: EligibilityRecord) -> Result<(), String> {
        let id = eligibility.principal_id.to_ascii_lowercase();
        if !self.by_id.contains_key(&id) && self.group(&id).is_none() {
            return Err(format!("no user or group has the id {id}"));
        }
        let administrative_unit = match eligibility.administrative_unit {
            Some(unit) => Some(
                self.unit(&unit)
                    .ok_or_else(|| format!("no administrative unit has the id {unit}"))?
                    .id
                    .clone(),
            ),
            None => None,
        };
        self.eligibilities.push(EligibilityRecord {
            principal_id: id,
            administrative_unit,
            ..eligibility
        });
        Ok(())
    }

    /// Whether the tenant has the licence PIM needs.
    pub fn set_pim_licensed(&mut self, licensed: bool) {
        self.pim_licensed = licensed;
    }

    /// `GET /roleManagement/directory/roleEligibilityScheduleInstances`, principals and
    /// role definitions expanded; refused as Graph refuses it in a tenant without the
    /// licence PIM needs.
    pub fn eligibility_instances_json(&self) -> Result<Vec<Value>, GraphFailure> {
        if !self.pim_licensed {
            return Err(GraphFailure::bad_request(
                "AadPremiumLicenseRequired",
                "The tenant needs a Microsoft Entra ID P2 or Microsoft Entra ID Governance license to use Privileged Identity Management.",
            ));
        }
        Ok(self
            .eligibilities
            .iter()
            .enumerate()
            .map(|(n, e)| {
                let principal = match self.by_id.get(&e.principal_id) {
                    Some(&i) => self.member_json(i),
                    None => {
                        let name = self
                            .group(&e.principal_id)
                            .map(|g| g.display_name.clone())
                            .unwrap_or_default();
                        json!({
                            "@odata.type": "#microsoft.graph.group",
                            "id": e.principal_id,
                            "displayName": name,
                        })
                    }
                };
                let role = self.role_json(&e.role);
                json!({
                    "id": derived_guid(&[&self.tenant_id, "eligibility", &n.to_string()]),
                    "principalId": e.principal_id,
                    "roleDefinitionId": role["roleTemplateId"],
                    "directoryScopeId": e
                        .administrative_unit
                        .as_deref()
                        .map_or_else(|| "/".to_string(), |u| format!("/administrativeUnits/{u}")),
                    "memberType": "Direct",
                    "principal": principal,
                    "roleDefinition": {
                        "id": role["roleTemplateId"],
                        "displayName": e.role,
                    },
                })
            })
            .collect())
    }

    /// Adds a group, refusing an id used already or a malformed one.
    pub fn add_group(&mut self, group: GroupRecord) -> Result<(), String> {
        if !super::odata::is_guid(&group.id) {
            return Err(format!("group id {:?} is not a GUID", group.id));
        }
        let id = group.id.to_ascii_lowercase();
        if self.groups.iter().any(|g| g.id == id) || self.by_id.contains_key(&id) {
            return Err(format!("group id {id} appears twice"));
        }
        self.groups.push(GroupRecord {
            id,
            members: group
                .members
                .iter()
                .map(|m| m.to_ascii_lowercase())
                .collect(),
            ..group
        });
        Ok(())
    }

    /// The groups whose display name is `name` (any case, as Graph's `eq` on it).
    pub fn groups_named(&self, name: &str) -> Vec<&GroupRecord> {
        self.groups
            .iter()
            .filter(|g| g.display_name.eq_ignore_ascii_case(name))
            .collect()
    }

    /// Every group.
    pub fn groups_named_all(&self) -> Vec<&GroupRecord> {
        self.groups.iter().collect()
    }

    /// The group of id `id`, if any.
    pub fn group(&self, id: &str) -> Option<&GroupRecord> {
        let id = id.to_ascii_lowercase();
        self.groups.iter().find(|g| g.id == id)
    }

    /// The users in group `id`, through nested groups too, in tenant order; `None` for no
    /// such group.
    pub fn group_users(&self, id: &str) -> Option<Vec<usize>> {
        let mut seen: Vec<&str> = Vec::new();
        let mut users: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
        let mut stack = vec![self.group(id)?];
        while let Some(group) = stack.pop() {
            if seen.contains(&group.id.as_str()) {
                continue;
            }
            seen.push(&group.id);
            for member in &group.members {
                if let Some(&i) = self.by_id.get(member) {
                    users.insert(i);
                } else if let Some(nested) = self.group(member) {
                    stack.push(nested);
                }
            }
        }
        Some(users.into_iter().collect())
    }

    /// The tenant's Temporary Access Pass policy.
    pub fn tap_policy(&self) -> TapPolicy {
        self.tap_policy
    }

    /// Replaces the tenant's Temporary Access Pass policy, refusing one Entra would not
    /// accept.
    pub fn set_tap_policy(&mut self, policy: TapPolicy) -> Result<(), String> {
        policy.validate()?;
        self.tap_policy = policy;
        Ok(())
    }

    /// `GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass`:
    /// the policy as Graph shows it (an app that may not read it is refused before, as
    /// for every route).
    pub fn tap_policy_json(&self) -> Value {
        let p = &self.tap_policy;
        json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": if p.state { "enabled" } else { "disabled" },
            "defaultLifetimeInMinutes": p.default_lifetime_in_minutes,
            "defaultLength": p.default_length,
            "minimumLifetimeInMinutes": p.minimum_lifetime_in_minutes,
            "maximumLifetimeInMinutes": p.maximum_lifetime_in_minutes,
            "isUsableOnce": p.is_usable_once,
            "includeTargets": [
                {"targetType": "group", "id": "all_users", "isRegistrationRequired": false}
            ],
            "excludeTargets": [],
        })
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn user(&self, index: usize) -> &User {
        &self.users[index]
    }

    /// The index of the user a key names, or Graph's 404.
    pub fn resolve(&self, key: &UserKey, raw: &str) -> Result<usize, GraphFailure> {
        let found = match key {
            UserKey::Id(id) => self.by_id.get(id),
            UserKey::Upn(upn) => self.by_upn.get(&upn.to_lowercase()),
        };
        found
            .copied()
            .ok_or_else(|| GraphFailure::resource_not_found(raw))
    }

    /// A user rendered as Graph renders it, honouring `$select`.
    pub fn user_json(
        &self,
        index: usize,
        select: Option<&[String]>,
    ) -> Result<Value, GraphFailure> {
        let u = &self.users[index];
        let mut o = Map::new();
        let wanted: Vec<&str> = match select {
            Some(props) => {
                for p in props {
                    if !DEFAULT_USER_PROPERTIES.contains(&p.as_str())
                        && !EXTRA_USER_PROPERTIES.contains(&p.as_str())
                    {
                        return Err(GraphFailure::bad_request(
                            "Request_BadRequest",
                            format!(
                                "Could not find a property named '{p}' on type 'microsoft.graph.user'."
                            ),
                        ));
                    }
                }
                props.iter().map(String::as_str).collect()
            }
            None => DEFAULT_USER_PROPERTIES.to_vec(),
        };
        for p in wanted {
            let v = match p {
                "businessPhones" => json!([]),
                "displayName" => json!(u.display_name),
                "mail" => json!(u.mail),
                "userPrincipalName" => json!(u.user_principal_name),
                "id" => json!(u.id),
                "accountEnabled" => json!(u.account_enabled),
                "userType" => json!(u.user_type),
                "onPremisesSyncEnabled" => json!(u.on_premises_sync_enabled),
                "isManagementRestricted" => json!(self.is_management_restricted(index)),
                "signInSessionsValidFromDateTime" => {
                    json!(u.sign_in_sessions_valid_from_date_time)
                }
                _ => Value::Null,
            };
            o.insert(p.to_string(), v);
        }
        Ok(Value::Object(o))
    }

    /// Indexes of the users a `$filter` selects, in tenant order.
    pub fn filter_users(&self, filter: &Filter) -> Result<Vec<usize>, GraphFailure> {
        let mut hits: Vec<usize> = Vec::new();
        for clause in &filter.clauses {
            for value in &clause.values {
                match (clause.property.as_str(), value) {
                    ("id", Literal::Text(id)) => {
                        hits.extend(self.by_id.get(&id.to_ascii_lowercase()).copied())
                    }
                    ("userPrincipalName", Literal::Text(upn)) => {
                        hits.extend(self.by_upn.get(&upn.to_lowercase()).copied())
                    }
                    ("mail", Literal::Text(mail)) => hits.extend(
                        self.by_mail
                            .get(&mail.to_lowercase())
                            .into_iter()
                            .flatten()
                            .copied(),
                    ),
                    ("userType", Literal::Text(t)) => hits.extend(
                        (0..self.users.len())
                            .filter(|&i| self.users[i].user_type.eq_ignore_ascii_case(t)),
                    ),
                    ("accountEnabled", Literal::Bool(b)) => hits.extend(
                        (0..self.users.len()).filter(|&i| self.users[i].account_enabled == *b),
                    ),
                    (prop, _) => {
                        return Err(GraphFailure::bad_request(
                            "Request_UnsupportedQuery",
                            format!(
                                "Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'."
                            ),
                        ));
                    }
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        Ok(hits)
    }

    /// The user's methods as Graph lists them: through v1.0 (`beta` false) without the
    /// types only beta knows (hardware OATH tokens).
    pub fn methods_json(&self, index: usize, only: Option<MethodType>, beta: bool) -> Vec<Value> {
        self.users[index]
            .methods
            .iter()
            .filter(|m| only.is_none_or(|t| m.kind == t))
            .filter(|m| beta || m.kind.listed_by_v1())
            .map(Method::to_graph_json)
            .collect()
    }

    /// Whether the calling app may change user `index`: not an active admin, nor in a
    /// restricted management administrative unit, unless it holds a privileged role.
    fn check_may_change(&self, index: usize, privileged: bool) -> Result<(), GraphFailure> {
        if privileged {
            Ok(())
        } else if self.is_management_restricted(index) {
            Err(GraphFailure::restricted_management())
        } else if !self.roles_of(index).is_empty() {
            Err(GraphFailure::insufficient_privileges())
        } else {
            Ok(())
        }
    }

    /// `DELETE /users/{key}/authentication/{collection}/{id}`.
    pub fn delete_method(
        &mut self,
        index: usize,
        collection: MethodType,
        method_id: &str,
        privileged: bool,
    ) -> Result<Change, GraphFailure> {
        if collection == MethodType::Password {
            return Err(GraphFailure::bad_request(
                "badRequest",
                "The password authentication method cannot be deleted. Use resetPassword to change it.",
            ));
        }
        self.check_may_change(index, privileged)?;
        let user = &self.users[index];
        // The QR code PIN is single-valued: its route names no id.
        let Some(position) = user.methods.iter().position(|m| {
            m.kind == collection
                && (collection == MethodType::QrCodePin || m.id.eq_ignore_ascii_case(method_id))
        }) else {
            return Err(GraphFailure::new(
                404,
                "itemNotFound",
                format!(
                    "The authentication method '{method_id}' was not found among the user's {}.",
                    collection.collection()
                ),
            ));
        };
        let method = &user.methods[position];
        if method.phone_type == Some(PhoneType::Mobile)
            && user
                .methods
                .iter()
                .any(|m| m.phone_type == Some(PhoneType::AlternateMobile))
        {
            return Err(GraphFailure::bad_request(
                "badRequest",
                "Cannot delete the mobile phone method while an alternate mobile phone method is registered. Delete the alternate mobile phone first, or update the mobile phone number.",
            ));
        }
        let is_default = user
            .default_method
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case(&method.id));
        if is_default
            && user
                .methods
                .iter()
                .enumerate()
                .any(|(i, m)| i != position && m.kind.can_be_default())
        {
            return Err(GraphFailure::bad_request(
                "badRequest",
                "Cannot delete default method with other methods configured. Please change default method before deletion.",
            ));
        }
        let user = &mut self.users[index];
        let removed = user.methods.remove(position);
        if is_default {
            user.default_method = None;
        }
        Ok(Change::DeleteMethod {
            method_id: removed.id,
            method_type: removed.kind,
            was_default: is_default,
        })
    }

    /// `POST /users/{key}/revokeSignInSessions`.
    pub fn revoke_sessions(
        &mut self,
        index: usize,
        privileged: bool,
        now: &str,
    ) -> Result<Change, GraphFailure> {
        self.check_may_change(index, privileged)?;
        self.users[index].sign_in_sessions_valid_from_date_time = Some(now.to_string());
        Ok(Change::RevokeSessions {
            valid_from: now.to_string(),
        })
    }

    /// `PATCH /users/{key}`: only `accountEnabled` is modelled.
    pub fn update_user(
        &mut self,
        index: usize,
        body: &Value,
        privileged: bool,
    ) -> Result<Change, GraphFailure> {
        let Some(obj) = body.as_object() else {
            return Err(GraphFailure::bad_request(
                "Request_BadRequest",
                "The request body must be a JSON object.",
            ));
        };
        if let Some(other) = obj.keys().find(|k| *k != "accountEnabled") {
            return Err(GraphFailure::bad_request(
                "Request_BadRequest",
                format!(
                    "mfa-reset's emulator does not model changing the property '{other}'; only accountEnabled."
                ),
            ));
        }
        let Some(enabled) = obj.get("accountEnabled").and_then(Value::as_bool) else {
            return Err(GraphFailure::bad_request(
                "Request_BadRequest",
                "Invalid value specified for property 'accountEnabled' of resource 'User'.",
            ));
        };
        self.check_may_change(index, privileged)?;
        if self.users[index].is_synced() {
            return Err(GraphFailure::bad_request(
                "Request_BadRequest",
                "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
            ));
        }
        self.users[index].account_enabled = enabled;
        Ok(Change::UpdateUser {
            account_enabled: enabled,
        })
    }

    /// `POST /users/{key}/authentication/temporaryAccessPassMethods`.
    pub fn create_temporary_access_pass(
        &mut self,
        index: usize,
        body: &Value,
        privileged: bool,
        now: &str,
        method_id: String,
        pass: String,
    ) -> Result<CreatedPass, GraphFailure> {
        let empty = Map::new();
        let obj = match body {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => {
                return Err(GraphFailure::bad_request(
                    "badRequest",
                    "The request body must be a JSON object.",
                ));
            }
        };
        let policy = self.tap_policy;
        if !policy.state {
            return Err(GraphFailure::bad_request(
                "badRequest",
                "Converged UserCredentialPolicy does not allow creating or updating this authentication method. AuthMethodType [TemporaryAccessPass].",
            ));
        }
        let lifetime = match obj.get("lifetimeInMinutes") {
            None | Some(Value::Null) => policy.default_lifetime_in_minutes,
            Some(v) => v.as_i64().ok_or_else(|| {
                GraphFailure::bad_request("badRequest", "Invalid LifetimeInMinutes specified.")
            })?,
        };
        let (min, max) = (
            policy.minimum_lifetime_in_minutes,
            policy.maximum_lifetime_in_minutes,
        );
        if !(min..=max).contains(&lifetime) {
            return Err(GraphFailure::bad_request(
                "badRequest",
                format!(
                    "Invalid LifetimeInMinutes specified. The valid range between {min} and {max}."
                ),
            ));
        }
        let once = match obj.get("isUsableOnce") {
            // A policy of one-time passes makes every pass one-time.
            None | Some(Value::Null) => policy.is_usable_once,
            Some(v) => v.as_bool().ok_or_else(|| {
                GraphFailure::bad_request("badRequest", "Invalid IsUsableOnce specified.")
            })?,
        };
        if policy.is_usable_once && !once {
            return Err(GraphFailure::bad_request(
                "badRequest",
                "Invalid IsUsableOnce specified. The Temporary Access Pass policy allows only one-time use passes.",
            ));
        }
        let rfc3339 = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        };
        let (start, later) = match obj.get("startDateTime") {
            None | Some(Value::Null) => (now.to_string(), false),
            Some(Value::String(s)) if rfc3339(s).is_some() => {
                // Graph refuses a start in the past, and a later one is not usable yet.
                let (at, now) = (rfc3339(s), rfc3339(now));
                if at < now {
                    return Err(GraphFailure::bad_request(
                        "badRequest",
                        "Invalid StartDateTime specified. It can not be a time in the past.",
                    ));
                }
                (s.clone(), at > now)
            }
            Some(_) => {
                return Err(GraphFailure::bad_request(
                    "badRequest",
                    "Invalid StartDateTime specified.",
                ));
            }
        };
        self.check_may_change(index, privileged)?;
        let user = &mut self.users[index];
        let replaced = user
            .methods
            .iter()
            .position(|m| m.kind == MethodType::TemporaryAccessPass)
            .map(|i| user.methods.remove(i).id);
        let mut method = Method::new(MethodType::TemporaryAccessPass, method_id.clone());
        method.created_date_time = Some(now.to_string());
        let mut extra = Map::new();
        extra.insert("startDateTime".into(), json!(start));
        extra.insert("lifetimeInMinutes".into(), json!(lifetime));
        extra.insert("isUsableOnce".into(), json!(once));
        extra.insert("isUsable".into(), json!(!later));
        let reason = if later {
            "NotYetValid"
        } else {
            "EnabledByPolicy"
        };
        extra.insert("methodUsabilityReason".into(), json!(reason));
        method.extra = Some(Box::new(extra));
        let mut body = method.to_graph_json();
        body["temporaryAccessPass"] = json!(pass);
        user.methods.push(method);
        Ok(CreatedPass {
            change: Change::CreateTemporaryAccessPass {
                method_id,
                replaced,
                lifetime_in_minutes: lifetime,
                is_usable_once: once,
            },
            body,
        })
    }

    /// Beta `PATCH /users/{key}/authentication/signInPreferences`: sets the user's default
    /// MFA method (`userPreferredMethodForSecondaryAuthentication`) to a method they have
    /// registered: `push` an Authenticator, `oath` an OATH token (software or hardware),
    /// `sms` and `voiceMobile` the mobile phone, `voiceAlternateMobile` and `voiceOffice`
    /// those phones. Anything else is refused, as is a method the user does not have.
    pub fn update_sign_in_preferences(
        &mut self,
        index: usize,
        body: &Value,
        privileged: bool,
    ) -> Result<Change, GraphFailure> {
        const PROPERTY: &str = "userPreferredMethodForSecondaryAuthentication";
        let Some(obj) = body.as_object() else {
            return Err(GraphFailure::bad_request(
                "badRequest",
                "The request body must be a JSON object.",
            ));
        };
        if let Some(other) = obj.keys().find(|k| *k != PROPERTY) {
            return Err(GraphFailure::bad_request(
                "badRequest",
                format!(
                    "mfa-reset's emulator does not model changing the property '{other}' of signInPreferences; only {PROPERTY}."
                ),
            ));
        }
        let preferred = obj
            .get(PROPERTY)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let wanted: fn(&Method) -> bool = match preferred {
            "push" => |m| m.kind == MethodType::MicrosoftAuthenticator,
            "oath" => |m| matches!(m.kind, MethodType::SoftwareOath | MethodType::HardwareOath),
            "sms" | "voiceMobile" => |m| m.phone_type == Some(PhoneType::Mobile),
            "voiceAlternateMobile" => |m| m.phone_type == Some(PhoneType::AlternateMobile),
            "voiceOffice" => |m| m.phone_type == Some(PhoneType::Office),
            other => {
                return Err(GraphFailure::bad_request(
                    "badRequest",
                    format!(
                        "Invalid value '{other}' for {PROPERTY}: expected push, oath, voiceMobile, voiceAlternateMobile, voiceOffice or sms."
                    ),
                ));
            }
        };
        self.check_may_change(index, privileged)?;
        let user = &mut self.users[index];
        let Some(method_id) = user
            .methods
            .iter()
            .find(|m| wanted(m))
            .map(|m| m.id.clone())
        else {
            return Err(GraphFailure::bad_request(
                "badRequest",
                format!(
                    "The user has no registered authentication method for the default method '{preferred}'."
                ),
            ));
        };
        user.default_method = Some(method_id.clone());
        Ok(Change::SetDefaultMethod {
            preferred: preferred.to_string(),
            method_id,
        })
    }

    /// The tenant's activated directory roles: (role object, its members as Graph lists
    /// them — users, and role-assignable groups holding the role).
    pub fn directory_roles(&self) -> Vec<(Value, Vec<Value>)> {
        let mut roles: Vec<(String, Vec<Value>)> = Vec::new();
        let mut add = |role: &str, member: Value| match roles.iter_mut().find(|(n, _)| n == role) {
            Some((_, members)) => members.push(member),
            None => roles.push((role.to_string(), vec![member])),
        };
        for (i, u) in self.users.iter().enumerate() {
            for r in &u.roles {
                add(r, self.member_json(i));
            }
        }
        for g in &self.groups {
            for r in &g.roles {
                add(
                    r,
                    json!({
                        "@odata.type": "#microsoft.graph.group",
                        "id": g.id,
                        "displayName": g.display_name,
                    }),
                );
            }
        }
        roles.sort_by(|a, b| a.0.cmp(&b.0));
        roles
            .into_iter()
            .map(|(name, members)| (self.role_json(&name), members))
            .collect()
    }

    /// User `index` as a member of a directory object.
    pub fn member_json(&self, index: usize) -> Value {
        let u = &self.users[index];
        json!({
            "@odata.type": "#microsoft.graph.user",
            "id": u.id,
            "userPrincipalName": u.user_principal_name,
            "displayName": u.display_name,
        })
    }

    /// The directory roles user `index` holds: their own, and those of every
    /// role-assignable group they are in (through nested groups), as
    /// `transitiveMemberOf` shows them.
    pub fn roles_of(&self, index: usize) -> Vec<String> {
        let mut roles = self.users[index].roles.clone();
        for g in self.groups.iter().filter(|g| !g.roles.is_empty()) {
            if self
                .group_users(&g.id)
                .is_some_and(|users| users.contains(&index))
            {
                for r in &g.roles {
                    if !roles.contains(r) {
                        roles.push(r.clone());
                    }
                }
            }
        }
        roles
    }

    /// Beta `signInPreferences`: the user's default MFA method as the value of
    /// `userPreferredMethodForSecondaryAuthentication` (`push`, `oath`, `sms`,
    /// `voiceAlternateMobile`, `voiceOffice`), or null when there is none.
    pub fn sign_in_preferences_json(&self, index: usize) -> Value {
        let user = &self.users[index];
        let preferred = user
            .default_method
            .as_deref()
            .and_then(|id| user.method(id))
            .and_then(|m| match (m.kind, m.phone_type) {
                (MethodType::MicrosoftAuthenticator, _) => Some("push"),
                (MethodType::SoftwareOath | MethodType::HardwareOath, _) => Some("oath"),
                (MethodType::Phone, Some(PhoneType::Mobile)) => Some("sms"),
                (MethodType::Phone, Some(PhoneType::AlternateMobile)) => {
                    Some("voiceAlternateMobile")
                }
                (MethodType::Phone, Some(PhoneType::Office)) => Some("voiceOffice"),
                _ => None,
            });
        json!({
            "isSystemPreferredAuthenticationMethodEnabled": false,
            "userPreferredMethodForSecondaryAuthentication": preferred,
            "systemPreferredAuthenticationMethod": null,
        })
    }

    /// A directory role object as Graph renders it.
    pub fn role_json(&self, name: &str) -> Value {
        let template = ROLE_TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| derived_guid(&["role-template", name]));
        json!({
            "@odata.type": "#microsoft.graph.directoryRole",
            "id": derived_guid(&[&self.tenant_id, "role", name]),
            "deletedDateTime": null,
            "description": format!("{name} (emulated)"),
            "displayName": name,
            "roleTemplateId": template,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::fixed_ids;

    /// A cloud-only member with no role, `methods` and the default `default`.
    pub(super) fn user(methods: Vec<Method>, default: Option<&str>) -> User {
        User {
            id: "00000000-0000-4000-8000-000000000001".into(),
            user_principal_name: "a@x.example".into(),
            display_name: "A".into(),
            mail: None,
            account_enabled: true,
            user_type: "Member".into(),
            on_premises_sync_enabled: None,
            sign_in_sessions_valid_from_date_time: None,
            roles: vec![],
            default_method: default.map(str::to_string),
            methods,
        }
    }

    fn authenticator() -> Method {
        Method::new(MethodType::MicrosoftAuthenticator, "auth-1")
    }

    #[test]
    fn default_method_goes_last() {
        let methods = vec![
            Method::password(),
            authenticator(),
            Method::phone(PhoneType::Mobile, "+1 5555550100"),
            Method::new(MethodType::Fido2, "key-1"),
        ];
        let mut t = Tenant::new(
            "00000000-0000-4000-8000-0000000000aa".into(),
            vec![user(methods, Some("auth-1"))],
        )
        .unwrap();
        let err = t
            .delete_method(0, MethodType::MicrosoftAuthenticator, "auth-1", false)
            .unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "badRequest"));
        t.delete_method(0, MethodType::Phone, fixed_ids::MOBILE_PHONE, false)
            .unwrap();
        // A FIDO2 key does not block deleting the default.
        let change = t
            .delete_method(0, MethodType::MicrosoftAuthenticator, "auth-1", false)
            .unwrap();
        assert!(matches!(
            change,
            Change::DeleteMethod {
                was_default: true,
                ..
            }
        ));
        assert_eq!(t.user(0).default_method, None);
        let err = t
            .delete_method(0, MethodType::Password, fixed_ids::PASSWORD, false)
            .unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn mobile_waits_for_alternate_mobile() {
        let methods = vec![
            Method::phone(PhoneType::Mobile, "+1 5555550100"),
            Method::phone(PhoneType::AlternateMobile, "+1 5555550101"),
        ];
        let mut t = Tenant::new(
            "00000000-0000-4000-8000-0000000000aa".into(),
            vec![user(methods, None)],
        )
        .unwrap();
        assert_eq!(
            t.delete_method(0, MethodType::Phone, fixed_ids::MOBILE_PHONE, false)
                .unwrap_err()
                .status,
            400
        );
        t.delete_method(
            0,
            MethodType::Phone,
            fixed_ids::ALTERNATE_MOBILE_PHONE,
            false,
        )
        .unwrap();
        t.delete_method(0, MethodType::Phone, fixed_ids::MOBILE_PHONE, false)
            .unwrap();
        assert_eq!(
            t.delete_method(0, MethodType::Phone, fixed_ids::MOBILE_PHONE, false)
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn derived_guids_are_stable_and_well_formed() {
        let a = derived_guid(&["x", "y"]);
        assert_eq!(a, derived_guid(&["x", "y"]));
        assert_ne!(a, derived_guid(&["x", "z"]));
        assert!(super::super::odata::is_guid(&a));
    }
}
