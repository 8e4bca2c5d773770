//! Least privilege: the Microsoft Graph application permissions a policy needs, and the one
//! a refused request (403) was missing, so that an administrator grants exactly these and
//! a denial says what to grant.
//!
//! From Microsoft's permission tables (`../shared/reference/graph-api.md`, section 3): a
//! user is resolved, and their directory roles listed (`transitiveMemberOf`), with
//! `User.Read.All`; methods and the default method are read with
//! `UserAuthenticationMethod.Read.All` and removed, the default method changed (beta
//! `signInPreferences`), or a Temporary Access Pass issued, with
//! `UserAuthenticationMethod.ReadWrite.All` (which includes the read; it also covers
//! external, hardware OATH and QR code PIN methods, whose narrower
//! `UserAuthMethod-*` permissions are not needed); sessions are revoked
//! with `User.RevokeSessions.All` and accounts disabled with `User.EnableDisableAccount.All`.
//! A plan reads methods only when its policy removes some, and roles only when admins are
//! protected; a policy that removes methods needs the read-write permission anyway, so
//! `UserAuthenticationMethod.Read.All` is never the one to list (nor to name when a method
//! read is refused), and a policy that only revokes sessions or disables accounts needs no
//! `UserAuthenticationMethod` permission at all.
//! Changing an administrator's methods or account also needs a privileged Entra role
//! assigned to the app (Privileged Authentication Administrator, Privileged Role
//! Administrator); a permission alone is refused for them.

use super::{Policy, Step};

/// One application permission, and why the policy needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub name: &'static str,
    pub why: &'static str,
}

pub const USER_READ_ALL: &str = "User.Read.All";
pub const METHODS_READ_ALL: &str = "UserAuthenticationMethod.Read.All";
pub const METHODS_READ_WRITE_ALL: &str = "UserAuthenticationMethod.ReadWrite.All";
pub const REVOKE_SESSIONS_ALL: &str = "User.RevokeSessions.All";
pub const ENABLE_DISABLE_ACCOUNT_ALL: &str = "User.EnableDisableAccount.All";
pub const ROLE_MANAGEMENT_READ_DIRECTORY: &str = "RoleManagement.Read.Directory";
pub const ADMINISTRATIVE_UNIT_READ_ALL: &str = "AdministrativeUnit.Read.All";

/// What the app must be granted (application permissions, with admin consent) for `plan`
/// and `apply` of `policy`, least privileged first. `User.Read.All` always (every key is
/// resolved to its user); a `UserAuthenticationMethod` permission only when the policy
/// reads or writes methods ([`Policy::reads_methods`]: it removes some; or it issues
/// passes): a policy that only revokes sessions or disables accounts reads no method.
pub fn for_policy(policy: &Policy) -> Vec<Permission> {
    let tap = policy.tap().is_some();
    let removes = policy.reads_methods();
    let mut needed = vec![Permission {
        name: USER_READ_ALL,
        why: if policy.reads_roles() {
            "find each user and their directory roles"
        } else {
            "find each user"
        },
    }];
    if tap || removes {
        needed.push(Permission {
            name: METHODS_READ_WRITE_ALL,
            why: match (tap, removes) {
                (true, true) => {
                    "read and remove methods, change the default method where a removal \
                     needs it, issue Temporary Access Passes"
                }
                (true, false) => "issue Temporary Access Passes",
                _ => {
                    "read and remove authentication methods, and change the default method \
                     where a removal needs it"
                }
            },
        });
    }
    if policy.reads_roles() {
        needed.push(Permission {
            name: ROLE_MANAGEMENT_READ_DIRECTORY,
            why: "list the tenant's admins at once, active and eligible (PIM), tenant-wide \
                  and scoped to an administrative unit, to protect them (without it a plan \
                  says such admins are not protected and `apply` refuses to run)",
        });
        needed.push(Permission {
            name: ADMINISTRATIVE_UNIT_READ_ALL,
            why: "list the restricted management administrative units and their members, \
                  to leave them alone (without it Graph's refusal to change one is their \
                  protection) and to name the unit an admin's role is scoped to",
        });
    }
    if policy.revoke_sessions() {
        needed.push(Permission {
            name: REVOKE_SESSIONS_ALL,
            why: "revoke sign-in sessions",
        });
    }
    if policy.disable_account() {
        needed.push(Permission {
            name: ENABLE_DISABLE_ACCOUNT_ALL,
            why: "disable accounts",
        });
    }
    needed
}

/// The permission a step needs.
pub fn for_step(step: &Step) -> &'static str {
    match step {
        Step::RevokeSessions => REVOKE_SESSIONS_ALL,
        Step::DisableAccount => ENABLE_DISABLE_ACCOUNT_ALL,
        Step::DeleteMethod { .. }
        | Step::IssueTemporaryAccessPass { .. }
        | Step::SetDefaultMethod { .. } => METHODS_READ_WRITE_ALL,
    }
}

/// What to tell the operator when Graph refused a request that needs `permission` with
/// 403: the permission, and the role an administrator target needs on top.
pub fn denied_hint(permission: &str) -> String {
    format!(
        "Graph refused (403): grant the app the application permission {permission} with admin consent; for a user who holds an admin role the app also needs a privileged Entra role (Privileged Authentication Administrator)"
    )
}

/// The lines `plan` prints and `summary.md` lists.
pub fn describe(needed: &[Permission]) -> Vec<String> {
    needed
        .iter()
        .map(|p| format!("{} ({})", p.name, p.why))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{PolicyArgs, Profile};

    fn names(policy: &Policy) -> Vec<&'static str> {
        for_policy(policy).iter().map(|p| p.name).collect()
    }

    fn profile(p: Profile) -> Policy {
        PolicyArgs {
            profile: Some(p),
            ..PolicyArgs::default()
        }
        .into_policy()
        .expect("a profile is a valid policy")
    }

    #[test]
    fn each_profile_needs_exactly_what_it_does() {
        assert_eq!(
            names(&profile(Profile::DeviceRefresh)),
            [
                USER_READ_ALL,
                METHODS_READ_WRITE_ALL,
                ROLE_MANAGEMENT_READ_DIRECTORY,
                ADMINISTRATIVE_UNIT_READ_ALL
            ]
        );
        assert_eq!(
            names(&profile(Profile::Incident)),
            [
                USER_READ_ALL,
                METHODS_READ_WRITE_ALL,
                ROLE_MANAGEMENT_READ_DIRECTORY,
                ADMINISTRATIVE_UNIT_READ_ALL,
                REVOKE_SESSIONS_ALL
            ]
        );
        assert_eq!(
            names(&profile(Profile::Offboard)),
            [
                USER_READ_ALL,
                METHODS_READ_WRITE_ALL,
                ROLE_MANAGEMENT_READ_DIRECTORY,
                ADMINISTRATIVE_UNIT_READ_ALL,
                REVOKE_SESSIONS_ALL,
                ENABLE_DISABLE_ACCOUNT_ALL
            ]
        );
        // Revoking alone neither reads nor writes methods; it lists the tenant's admins
        // at once, to revoke straight from the list.
        let revoke_only = PolicyArgs {
            revoke_sessions: true,
            ..PolicyArgs::default()
        }
        .into_policy()
        .unwrap();
        assert_eq!(
            names(&revoke_only),
            [
                USER_READ_ALL,
                ROLE_MANAGEMENT_READ_DIRECTORY,
                ADMINISTRATIVE_UNIT_READ_ALL,
                REVOKE_SESSIONS_ALL
            ]
        );
        let disable_only = PolicyArgs {
            disable_account: true,
            include_admins: true,
            ..PolicyArgs::default()
        }
        .into_policy()
        .unwrap();
        assert_eq!(
            names(&disable_only),
            [USER_READ_ALL, ENABLE_DISABLE_ACCOUNT_ALL]
        );
    }

    #[test]
    fn each_permission_says_only_what_the_policy_reads_and_writes() {
        let why = |policy: &Policy, name: &str| {
            for_policy(policy)
                .into_iter()
                .find(|p| p.name == name)
                .map(|p| p.why)
        };
        let revoke = |include_admins: bool| {
            PolicyArgs {
                revoke_sessions: true,
                include_admins,
                ..PolicyArgs::default()
            }
            .into_policy()
            .unwrap()
        };
        assert_eq!(
            why(&revoke(false), USER_READ_ALL),
            Some("find each user and their directory roles")
        );
        // --include-admins: the roles are not read.
        assert_eq!(why(&revoke(true), USER_READ_ALL), Some("find each user"));
        // A pass alone writes methods but reads none.
        let tap_only = PolicyArgs {
            issue_tap: true,
            ..PolicyArgs::default()
        }
        .into_policy()
        .unwrap();
        assert_eq!(
            why(&tap_only, METHODS_READ_WRITE_ALL),
            Some("issue Temporary Access Passes")
        );
        assert_eq!(why(&tap_only, METHODS_READ_ALL), None);
        let removal = why(&profile(Profile::DeviceRefresh), METHODS_READ_WRITE_ALL).unwrap();
        assert!(removal.starts_with("read and remove"), "{removal}");
    }

    #[test]
    fn a_denial_names_the_steps_permission() {
        assert_eq!(for_step(&Step::RevokeSessions), REVOKE_SESSIONS_ALL);
        assert_eq!(for_step(&Step::DisableAccount), ENABLE_DISABLE_ACCOUNT_ALL);
        let hint = denied_hint(for_step(&Step::IssueTemporaryAccessPass {
            lifetime_minutes: 60,
            usable_once: false,
            start: None,
        }));
        assert!(
            hint.contains("UserAuthenticationMethod.ReadWrite.All"),
            "{hint}"
        );
    }
}
