//! Microsoft Graph application permissions, as the emulator checks them on every route.
//!
//! Each route needs one kind of [`Access`], which any one of a short list of application
//! permissions grants (the least privileged first, from Microsoft's permission tables in
//! `shared/reference/graph-api.md` §3). An app registered with the emulator ([`SimApp`])
//! holds every permission except those in its `denied_permissions`, so a test names only
//! what an app lacks.
//!
//! The rule is deliberately literal: a request is allowed when *any* permission that
//! satisfies its access is not denied. Denying `User.RevokeSessions.All` alone therefore
//! changes nothing, because `User.ReadWrite.All` (still granted) revokes sessions too; a
//! test that wants revoking refused denies both — [`Access::satisfied_by`] lists them, and
//! [`with_wider`] expands one name into itself and every wider permission of the same
//! access. A refused request is answered as Graph answers it, `403
//! Authorization_RequestDenied` ("Insufficient privileges to complete the operation."),
//! before it is admitted against the quotas, and changes nothing.
//!
//! [`SimApp`]: super::SimApp

/// `User.Read.All`: read users and their directory roles.
pub const USER_READ_ALL: &str = "User.Read.All";
/// `User.ReadWrite.All`: read and write users; revokes sessions and enables accounts too.
pub const USER_READ_WRITE_ALL: &str = "User.ReadWrite.All";
/// `Directory.Read.All`: read the whole directory, users and roles included.
pub const DIRECTORY_READ_ALL: &str = "Directory.Read.All";
/// `RoleManagement.Read.Directory`: read directory roles and who holds them.
pub const ROLE_MANAGEMENT_READ_DIRECTORY: &str = "RoleManagement.Read.Directory";
/// `RoleEligibilitySchedule.Read.Directory`: read PIM eligibilities for directory roles.
pub const ROLE_ELIGIBILITY_READ_DIRECTORY: &str = "RoleEligibilitySchedule.Read.Directory";
/// `AdministrativeUnit.Read.All`: read administrative units and their members.
pub const ADMINISTRATIVE_UNIT_READ_ALL: &str = "AdministrativeUnit.Read.All";
/// `Organization.Read.All`: read the organisation (the tenant's name and domains).
pub const ORGANIZATION_READ_ALL: &str = "Organization.Read.All";
/// `GroupMember.Read.All`: read groups and their members.
pub const GROUP_MEMBER_READ_ALL: &str = "GroupMember.Read.All";
/// `Group.Read.All`: read groups, their members and more.
pub const GROUP_READ_ALL: &str = "Group.Read.All";
/// `UserAuthenticationMethod.Read.All`: read users' authentication methods.
pub const METHODS_READ_ALL: &str = "UserAuthenticationMethod.Read.All";
/// `UserAuthenticationMethod.ReadWrite.All`: read, delete and create methods (TAPs, phone
/// and email methods).
pub const METHODS_READ_WRITE_ALL: &str = "UserAuthenticationMethod.ReadWrite.All";
/// `User.RevokeSessions.All`: `POST /users/{id}/revokeSignInSessions`.
pub const REVOKE_SESSIONS_ALL: &str = "User.RevokeSessions.All";
/// `User.EnableDisableAccount.All`: `PATCH /users/{id}` with `accountEnabled`.
pub const ENABLE_DISABLE_ACCOUNT_ALL: &str = "User.EnableDisableAccount.All";

/// `Policy.Read.AuthenticationMethod`: read the authentication methods policy (the
/// Temporary Access Pass policy among it).
pub const POLICY_READ_AUTHENTICATION_METHOD: &str = "Policy.Read.AuthenticationMethod";
/// `Policy.Read.All`: read every policy of the tenant.
pub const POLICY_READ_ALL: &str = "Policy.Read.All";

/// Every permission name the emulator knows; a denied name outside this list is a
/// configuration mistake, refused when the emulator starts.
pub const KNOWN: [&str; 15] = [
    USER_READ_ALL,
    ORGANIZATION_READ_ALL,
    ADMINISTRATIVE_UNIT_READ_ALL,
    ROLE_ELIGIBILITY_READ_DIRECTORY,
    GROUP_MEMBER_READ_ALL,
    GROUP_READ_ALL,
    ROLE_MANAGEMENT_READ_DIRECTORY,
    USER_READ_WRITE_ALL,
    DIRECTORY_READ_ALL,
    METHODS_READ_ALL,
    METHODS_READ_WRITE_ALL,
    REVOKE_SESSIONS_ALL,
    ENABLE_DISABLE_ACCOUNT_ALL,
    POLICY_READ_AUTHENTICATION_METHOD,
    POLICY_READ_ALL,
];

/// What a route does, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `GET /users`, `/users/{id}`, `transitiveMemberOf`.
    ReadUsers,
    /// `GET /directoryRoles` (with its members), `/directoryRoles/{id}/members`, and
    /// `/roleManagement/directory/roleAssignments` and `roleDefinitions`.
    ReadRoles,
    /// `GET /groups?$filter=...` and `/groups/{id}/transitiveMembers/...`.
    ReadGroups,
    /// `GET /roleManagement/directory/roleEligibilityScheduleInstances`.
    ReadEligibility,
    /// `GET /directory/administrativeUnits` and their members.
    ReadAdministrativeUnits,
    /// `GET /organization`.
    ReadOrganization,
    /// `GET .../authentication/methods` (and one type's), beta `signInPreferences`.
    ReadMethods,
    /// `DELETE .../authentication/{type}Methods/{id}`, `POST temporaryAccessPassMethods`,
    /// `phoneMethods` and `emailMethods`.
    WriteMethods,
    /// `POST /users/{id}/revokeSignInSessions`.
    RevokeSessions,
    /// `PATCH /users/{id}` (`accountEnabled`).
    EnableDisableAccount,
    /// `GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/...`.
    ReadPolicy,
}

impl Access {
    /// The permissions that grant this access, least privileged first.
    pub fn satisfied_by(self) -> &'static [&'static str] {
        match self {
            Access::ReadUsers => &[USER_READ_ALL, USER_READ_WRITE_ALL, DIRECTORY_READ_ALL],
            Access::ReadRoles => &[ROLE_MANAGEMENT_READ_DIRECTORY, DIRECTORY_READ_ALL],
            Access::ReadGroups => &[GROUP_MEMBER_READ_ALL, GROUP_READ_ALL, DIRECTORY_READ_ALL],
            Access::ReadEligibility => &[
                ROLE_ELIGIBILITY_READ_DIRECTORY,
                ROLE_MANAGEMENT_READ_DIRECTORY,
            ],
            Access::ReadAdministrativeUnits => &[ADMINISTRATIVE_UNIT_READ_ALL, DIRECTORY_READ_ALL],
            Access::ReadOrganization => &[ORGANIZATION_READ_ALL, DIRECTORY_READ_ALL],
            Access::ReadMethods => &[METHODS_READ_ALL, METHODS_READ_WRITE_ALL],
            Access::WriteMethods => &[METHODS_READ_WRITE_ALL],
            Access::RevokeSessions => &[REVOKE_SESSIONS_ALL, USER_READ_WRITE_ALL],
            Access::EnableDisableAccount => &[ENABLE_DISABLE_ACCOUNT_ALL, USER_READ_WRITE_ALL],
            Access::ReadPolicy => &[POLICY_READ_AUTHENTICATION_METHOD, POLICY_READ_ALL],
        }
    }

    const ALL: [Access; 11] = [
        Access::ReadUsers,
        Access::ReadRoles,
        Access::ReadGroups,
        Access::ReadEligibility,
        Access::ReadAdministrativeUnits,
        Access::ReadOrganization,
        Access::ReadMethods,
        Access::WriteMethods,
        Access::RevokeSessions,
        Access::EnableDisableAccount,
        Access::ReadPolicy,
    ];
}

/// The permission `name` as the emulator spells it, if it knows it (names are compared
/// without regard to case).
pub fn known(name: &str) -> Option<&'static str> {
    KNOWN.iter().copied().find(|k| k.eq_ignore_ascii_case(name))
}

/// `name` and every permission wider than it: those that grant an access `name` is the
/// least privileged grant of. Denying all of them takes that access away, e.g.
/// `with_wider("User.RevokeSessions.All")` is `["User.RevokeSessions.All",
/// "User.ReadWrite.All"]`. An unknown name comes back alone.
pub fn with_wider(name: &str) -> Vec<String> {
    let mut names = vec![known(name).unwrap_or(name).to_string()];
    for access in Access::ALL {
        let grants = access.satisfied_by();
        if grants[0].eq_ignore_ascii_case(name) {
            for wider in &grants[1..] {
                if !names.iter().any(|n| n == wider) {
                    names.push((*wider).to_string());
                }
            }
        }
    }
    names
}

/// Whether an app denied `denied` may perform `access`.
pub fn allows(denied: &[String], access: Access) -> bool {
    access
        .satisfied_by()
        .iter()
        .any(|p| !denied.iter().any(|d| d.eq_ignore_ascii_case(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_access_is_refused_only_when_every_grant_is_denied() {
        assert!(allows(&[], Access::WriteMethods));
        assert!(allows(
            &denied(&[REVOKE_SESSIONS_ALL]),
            Access::RevokeSessions
        ));
        assert!(!allows(
            &denied(&[REVOKE_SESSIONS_ALL, "user.readwrite.all"]),
            Access::RevokeSessions
        ));
        // The write permission is the only grant of writing methods, but reading them has
        // a narrower grant of its own.
        let no_write = denied(&[METHODS_READ_WRITE_ALL]);
        assert!(!allows(&no_write, Access::WriteMethods));
        assert!(allows(&no_write, Access::ReadMethods));
    }

    #[test]
    fn with_wider_names_every_grant_of_the_narrow_permissions_access() {
        assert_eq!(
            with_wider("User.RevokeSessions.All"),
            [REVOKE_SESSIONS_ALL, USER_READ_WRITE_ALL]
        );
        assert_eq!(
            with_wider("user.read.all"),
            [USER_READ_ALL, USER_READ_WRITE_ALL, DIRECTORY_READ_ALL]
        );
        assert_eq!(
            with_wider(METHODS_READ_ALL),
            [METHODS_READ_ALL, METHODS_READ_WRITE_ALL]
        );
        assert_eq!(with_wider(METHODS_READ_WRITE_ALL), [METHODS_READ_WRITE_ALL]);
        for access in Access::ALL {
            let all = with_wider(access.satisfied_by()[0]);
            assert!(!allows(&all, access), "{access:?}");
        }
    }
}
