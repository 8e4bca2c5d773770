//! Admins as real tenants hold them, end to end: eligible (PIM) directly and through a
//! group, active through a role-assignable group, active and eligible at an
//! administrative unit's scope, a break-glass group, a restricted management
//! administrative unit. Without `--include-admins` no profile writes to any of them (the
//! emulator's mutation log); with it and a privileged app, they are handled like everyone
//! else but the break-glass group. A user put into a restricted unit after the plan ends
//! `protected` at apply, without tripping the run's circuit breaker. The listing costs the
//! same requests for 10 users as for 10,000.

use mfa_reset::sim::{AdministrativeUnitRecord, GroupRecord, ScopedRoleRecord, SimApp, SimConfig};
use serde_json::Value;

use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, id_of, upn};

const PIM_GROUP: &str = "0b0b0b0b-0000-4000-8000-00000000e001";
const HELPDESK_GROUP: &str = "0b0b0b0b-0000-4000-8000-00000000e002";
const BREAK_GLASS: &str = "0b0b0b0b-0000-4000-8000-00000000e003";
const SALES_UNIT: &str = "0b0b0b0b-0000-4000-8000-00000000e004";
const VIP_UNIT: &str = "0b0b0b0b-0000-4000-8000-00000000e005";

/// The listed users the tenant holds as admins (or spares otherwise), and what each row's
/// reason must name.
const HELD: [(&str, &str); 7] = [
    ("protected", "Global Administrator (eligible)"),
    ("protected", "User Administrator (eligible)"),
    ("protected", "Helpdesk Administrator"),
    (
        "protected",
        "User Administrator (scope: administrative unit Sales)",
    ),
    (
        "protected",
        "Password Administrator (eligible, scope: administrative unit Sales)",
    ),
    ("excluded", "Break glass"),
    (
        "protected",
        "restricted management administrative unit Executives",
    ),
];

/// A tenant of 200 users where the first seven of the ten listed are held as [`HELD`]
/// says; the app is privileged (may change admins and restricted units' members) or not.
fn tenant(name: &str, seed: u64, privileged: bool) -> (Scenario, Vec<Value>) {
    let t = Scenario::start(
        name,
        SimConfig {
            apps: vec![SimApp {
                privileged,
                ..SimApp::default()
            }],
            log_requests: true,
            ..generated(200, seed)
        },
    );
    let listed = users::ordinary(&t.before, 10);
    let id = |i: usize| id_of(&listed[i]).to_string();
    let group = |gid: &str, name: &str, member: usize, roles: &[&str]| GroupRecord {
        id: gid.into(),
        display_name: name.into(),
        members: vec![id(member)],
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    t.sim
        .add_eligibility(&id(0), "Global Administrator")
        .unwrap();
    t.sim
        .add_group(group(PIM_GROUP, "PIM user admins", 1, &[]))
        .unwrap();
    t.sim
        .add_eligibility(PIM_GROUP, "User Administrator")
        .unwrap();
    t.sim
        .add_group(group(
            HELPDESK_GROUP,
            "Helpdesk",
            2,
            &["Helpdesk Administrator"],
        ))
        .unwrap();
    t.sim.add_administrative_unit(sales_unit(&id(3))).unwrap();
    t.sim
        .add_scoped_eligibility(&id(4), "Password Administrator", SALES_UNIT)
        .unwrap();
    t.sim
        .add_group(group(BREAK_GLASS, "Break glass", 5, &[]))
        .unwrap();
    t.sim
        .add_administrative_unit(AdministrativeUnitRecord {
            id: VIP_UNIT.into(),
            display_name: "Executives".into(),
            members: vec![id(6)],
            is_member_management_restricted: true,
            scoped_roles: Vec::new(),
        })
        .unwrap();
    (t, listed)
}

/// The unit "Sales", where `admin` holds User Administrator.
fn sales_unit(admin: &str) -> AdministrativeUnitRecord {
    AdministrativeUnitRecord {
        id: SALES_UNIT.into(),
        display_name: "Sales".into(),
        members: Vec::new(),
        is_member_management_restricted: false,
        scoped_roles: vec![ScopedRoleRecord {
            principal_id: admin.into(),
            role: "User Administrator".into(),
        }],
    }
}

fn written_to(t: &Scenario, user: &Value) -> usize {
    t.mutations()
        .iter()
        .filter(|m| m["userId"] == id_of(user))
        .count()
}

#[test]
fn without_include_admins_no_profile_writes_to_an_admin_a_break_glass_or_a_restricted_user() {
    let (t, listed) = tenant("held-protected", 181, false);
    let input = t.write_list(&listed);
    for profile in [Profile::DeviceRefresh, Profile::Incident, Profile::Offboard] {
        let out = t.dir.join(format!("run-{}", profile.name()));
        let run = t
            .apply(&input, profile)
            .out(&out)
            .args(&["--exclude-group", "Break glass"])
            .yes()
            .run();
        run.expect_code(0);
        let rows = crate::support::folder::Folder(out).rows();
        for (i, (status, named)) in HELD.iter().enumerate() {
            let row = &rows[i];
            assert_eq!(row["status"], *status, "{}: {row}", profile.name());
            let reason = row["reason"].as_str().unwrap_or_default();
            assert!(reason.contains(named), "{}: {named}: {row}", profile.name());
        }
        for row in &rows[HELD.len()..] {
            assert!(
                ["done", "no-change"].contains(&row["status"].as_str().unwrap()),
                "{}: {row}",
                profile.name()
            );
        }
    }
    for (i, user) in listed.iter().enumerate() {
        let writes = written_to(&t, user);
        if i < HELD.len() {
            assert_eq!(writes, 0, "{} got a write", upn(user));
        } else {
            assert!(writes > 0, "{} was not changed", upn(user));
        }
    }
}

#[test]
fn with_include_admins_and_a_privileged_app_only_the_break_glass_group_stays_untouched() {
    let (t, listed) = tenant("held-included", 182, true);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::Incident)
        .args(&["--include-admins", "--exclude-group", "Break glass"])
        .yes()
        .run()
        .expect_code(0);
    let rows = t.out().rows();
    for (i, user) in listed.iter().enumerate() {
        let writes = written_to(&t, user);
        if i == 5 {
            assert_eq!(writes, 0, "the break-glass member got a write");
            assert_eq!(rows[i]["status"], "excluded", "{}", rows[i]);
        } else {
            assert!(writes > 0, "{} was not changed", upn(user));
            assert_eq!(rows[i]["status"], "done", "{}", rows[i]);
        }
    }
}

#[test]
fn users_put_in_a_restricted_unit_after_the_plan_end_protected_without_stopping_the_run() {
    let t = Scenario::start("held-restricted-later", generated(200, 183));
    let listed = users::ordinary(&t.before, 30);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    // More restricted users, one after the other, than the breaker's streak.
    let restricted = &listed[..25];
    t.sim
        .add_administrative_unit(AdministrativeUnitRecord {
            id: VIP_UNIT.into(),
            display_name: "Executives".into(),
            members: restricted.iter().map(|u| id_of(u).to_string()).collect(),
            is_member_management_restricted: true,
            scoped_roles: Vec::new(),
        })
        .unwrap();
    let run = t.apply_plan().yes().run();
    run.expect_code(0);
    assert!(!run.stderr.contains("stopped"), "{}", run.stderr);
    let rows = t.out().rows();
    for (i, row) in rows.iter().enumerate() {
        if i < restricted.len() {
            assert_eq!(row["status"], "protected", "{row}");
            assert!(
                row["reason"]
                    .as_str()
                    .unwrap()
                    .contains("restricted management administrative unit"),
                "{row}"
            );
        } else {
            assert_eq!(row["status"], "done", "{row}");
        }
    }
    for user in restricted {
        assert_eq!(written_to(&t, user), 0, "{}", upn(user));
    }
}

/// The requests of the tenant-wide role listing (and of the groups and units it expands).
fn listing_requests(t: &Scenario) -> usize {
    t.sim
        .requests()
        .expect("requests are logged")
        .iter()
        .filter(|r| {
            [
                "/directoryRoles",
                "/roleManagement/",
                "/directory/",
                "/groups/",
            ]
            .iter()
            .any(|p| r.url.starts_with(p))
        })
        .count()
}

#[test]
fn the_role_listing_costs_the_same_requests_for_ten_users_as_for_ten_thousand() {
    let mut counted = Vec::new();
    for n in [10, 10_000] {
        let t = Scenario::start(
            &format!("held-bounded-{n}"),
            SimConfig {
                log_requests: true,
                ..generated(10_000, 184)
            },
        );
        let listed: Vec<Value> = t.before.values().take(n).cloned().collect();
        let input = t.write_list(&listed);
        let out = t.dir.join("plan");
        t.mfa(&["plan", input.to_str().unwrap(), "--revoke-sessions"])
            .args(&["--out", out.to_str().unwrap()])
            .run()
            .expect_code(0);
        counted.push(listing_requests(&t));
    }
    assert_eq!(counted[0], counted[1], "{counted:?}");
    assert!(counted[0] <= 30, "{counted:?}");
}

#[test]
fn a_user_made_eligible_or_scoped_admin_after_the_plan_is_not_changed_by_its_apply() {
    let t = Scenario::start("held-eligible-later", generated(200, 186));
    let listed = users::ordinary(&t.before, 6);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    t.sim
        .add_eligibility(id_of(&listed[1]), "Global Administrator")
        .unwrap();
    t.sim
        .add_administrative_unit(sales_unit(id_of(&listed[3])))
        .unwrap();
    // Drift ends the run 1; the two new admins are not changed.
    t.apply_plan().yes().run().expect_code(1);
    let rows = t.out().rows();
    for (i, named) in [
        (
            1,
            "now holds an admin role: Global Administrator (eligible)",
        ),
        (3, "User Administrator (scope: administrative unit Sales)"),
    ] {
        assert_eq!(rows[i]["status"], "drifted", "{}", rows[i]);
        assert!(
            rows[i]["reason"].as_str().unwrap().contains(named),
            "{}",
            rows[i]
        );
        assert_eq!(written_to(&t, &listed[i]), 0, "{}", upn(&listed[i]));
    }
    for i in [0, 2, 4, 5] {
        assert_eq!(rows[i]["status"], "done", "{}", rows[i]);
    }
}
