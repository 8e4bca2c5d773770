//! Changes made to the tenant outside the Graph routes the client uses: what another
//! administrator does in the portal (or what directory sync does) while a plan waits to be
//! applied — a role granted, a user put under on-premises sync, an account enabled or
//! disabled, a method registered.
//!
//! Tests reach these through `SimHandle` (`grant_role`, `set_synced`,
//! `set_account_enabled`, `add_method`). They change the tenant directly: they are not
//! Graph writes, so they are not in the mutation log and spend no quota. Each keeps the
//! tenant as Entra would have it (a method Entra would refuse is refused here too), and
//! names a user by id or userPrincipalName, an unknown one being an error, never a panic.

use serde_json::Value;

use super::Tenant;
use crate::sim::model::Method;
use crate::wire::{MethodType, PhoneType};

impl Tenant {
    /// The index of the user `user` names: an object id or a userPrincipalName, without
    /// regard to case.
    pub fn find_user(&self, user: &str) -> Option<usize> {
        let key = user.trim().to_lowercase();
        self.by_id
            .get(&key)
            .or_else(|| self.by_upn.get(&key))
            .copied()
    }

    /// Makes user `index` an active holder of the directory role `role` (its display
    /// name, e.g. `Global Administrator`); nothing changes if they already hold it.
    pub fn grant_role(&mut self, index: usize, role: &str) -> Result<(), String> {
        let role = role.trim();
        if role.is_empty() {
            return Err("a directory role needs a display name".into());
        }
        let roles = &mut self.users[index].roles;
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_string());
        }
        Ok(())
    }

    /// Puts user `index` under on-premises sync (`onPremisesSyncEnabled: true`), or makes
    /// them cloud-only again (`null`, as Graph shows a user never synced).
    pub fn set_synced(&mut self, index: usize, synced: bool) {
        self.users[index].on_premises_sync_enabled = synced.then_some(true);
    }

    /// Enables or disables user `index`'s account, whatever their sync state (the
    /// on-premises directory may do what the cloud may not).
    pub fn set_account_enabled(&mut self, index: usize, enabled: bool) {
        self.users[index].account_enabled = enabled;
    }

    /// Registers a method for user `index`, given Graph-shaped as in a tenant file
    /// (`{"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": ..., ...}`).
    /// Refused as Entra refuses it: an id the user already has (a phone type already
    /// registered), an alternate mobile phone without a mobile one, a second Temporary
    /// Access Pass.
    pub fn add_method(&mut self, index: usize, method: &Value) -> Result<(), String> {
        let method = Method::from_graph_json(method)?;
        let user = &self.users[index];
        if user.method(&method.id).is_some() {
            return Err(format!(
                "the user already has a method with id {:?}",
                method.id
            ));
        }
        if method.phone_type == Some(PhoneType::AlternateMobile)
            && !user
                .methods
                .iter()
                .any(|m| m.phone_type == Some(PhoneType::Mobile))
        {
            return Err(
                "an alternateMobile phone needs a mobile phone (Entra refuses one without the other)"
                    .into(),
            );
        }
        if method.kind == MethodType::TemporaryAccessPass
            && user
                .methods
                .iter()
                .any(|m| m.kind == MethodType::TemporaryAccessPass)
        {
            return Err("the user already has a Temporary Access Pass; Entra allows one".into());
        }
        self.users[index].methods.push(method);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sim::generate;

    #[test]
    fn users_are_found_by_id_or_upn_in_any_case() {
        let t = generate::generate(3, 1);
        let u = t.user(1).clone();
        assert_eq!(t.find_user(&u.id.to_uppercase()), Some(1));
        assert_eq!(t.find_user(&u.user_principal_name.to_uppercase()), Some(1));
        assert_eq!(t.find_user("nobody@nowhere.example"), None);
    }

    #[test]
    fn methods_entra_would_refuse_are_refused() {
        let mut t = generate::generate(1, 1);
        t.users[0]
            .methods
            .retain(|m| m.kind == MethodType::Password);
        let alternate = json!({
            "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
            "id": crate::wire::fixed_ids::ALTERNATE_MOBILE_PHONE,
            "phoneType": "alternateMobile",
            "phoneNumber": "+1 5555550101",
        });
        assert!(t.add_method(0, &alternate).is_err());
        let tap = json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "id": "tap-1",
        });
        t.add_method(0, &tap).unwrap();
        let second = json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "id": "tap-2",
        });
        assert!(t.add_method(0, &second).is_err());
        assert!(t.add_method(0, &tap).is_err());
        assert!(t.add_method(0, &json!({"id": "x"})).is_err());
        assert!(t.grant_role(0, "  ").is_err());
        t.grant_role(0, "Helpdesk Administrator").unwrap();
        t.grant_role(0, "Helpdesk Administrator").unwrap();
        assert_eq!(t.user(0).roles, ["Helpdesk Administrator"]);
    }
}
