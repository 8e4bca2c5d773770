//! Admins as tenants hold them: a user eligible (PIM) for a role, directly or through a
//! group, is protected by the plan and spared by a containment from the list, although
//! their own roles do not show it; where the eligibilities cannot be read (no licence for
//! PIM), the plan says so and `apply` changes nothing until the operator accepts it.

use mfa_reset::sim::{GroupRecord, SimConfig};
use serde_json::Value;

use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, id_of};

const PIM_GROUP: &str = "0b0b0b0b-0000-4000-8000-00000000d001";

/// A tenant where `listed[2]` is eligible for Global Administrator and `listed[5]`, through
/// a group, for User Administrator; the list.
fn tenant(name: &str, seed: u64) -> (Scenario, Vec<Value>) {
    let t = Scenario::start(
        name,
        SimConfig {
            ..generated(200, seed)
        },
    );
    let listed = users::ordinary(&t.before, 10);
    t.sim
        .add_eligibility(id_of(&listed[2]), "Global Administrator")
        .unwrap();
    t.sim
        .add_group(GroupRecord {
            id: PIM_GROUP.into(),
            display_name: "PIM user admins".into(),
            members: vec![id_of(&listed[5]).into()],
            roles: Vec::new(),
        })
        .unwrap();
    t.sim
        .add_eligibility(PIM_GROUP, "User Administrator")
        .unwrap();
    (t, listed)
}

fn eligible(i: usize) -> Option<&'static str> {
    match i {
        2 => Some("Global Administrator (eligible)"),
        5 => Some("User Administrator (eligible)"),
        _ => None,
    }
}

#[test]
fn an_eligible_admin_is_protected_by_the_plan_and_spared_by_the_containment() {
    let (t, listed) = tenant("admins-eligible", 195);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    for (i, row) in t.planned().rows().iter().enumerate() {
        match eligible(i) {
            Some(role) => {
                assert_eq!(row["status"], "protected", "{row}");
                assert!(row["reason"].as_str().unwrap().contains(role), "{row}");
            }
            None => assert_eq!(row["status"], "planned", "{row}"),
        }
    }
    t.apply(&input, Profile::Incident)
        .yes()
        .run()
        .expect_code(0);
    for m in t.mutations() {
        let who = m["userId"].as_str().unwrap();
        assert!(
            who != id_of(&listed[2]) && who != id_of(&listed[5]),
            "an eligible admin was changed: {m}"
        );
    }
    for (i, row) in t.out().rows().iter().enumerate() {
        let expected = if eligible(i).is_some() {
            "protected"
        } else {
            "done"
        };
        assert_eq!(row["status"], expected, "{row}");
    }
}

#[test]
fn without_the_licence_pim_needs_the_plan_says_so_and_apply_changes_nothing_until_accepted() {
    let (t, listed) = tenant("admins-unlicensed", 196);
    t.sim.set_pim_licensed(false).unwrap();
    let input = t.write_list(&listed);
    let plan = t.plan(&input, Profile::Incident).run();
    plan.expect_code(0);
    let said = "eligible (PIM) admins could not be read";
    assert!(plan.stderr.contains(said), "{}", plan.stderr);
    let header = t.planned().plan();
    assert!(header["adminsUnverified"].as_str().unwrap().contains(said));
    assert!(
        header["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains(said))
    );
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    assert!(summary.contains(said), "{summary}");

    // Refused, from the plan and from the list, before anything changes.
    let from_plan = t.apply_plan().yes().run();
    from_plan.expect_code(2);
    assert!(
        from_plan.stderr.contains("--accept-unverified-admins"),
        "{}",
        from_plan.stderr
    );
    let from_list = t
        .mfa(&[
            "apply",
            input.to_str().unwrap(),
            "--profile",
            "incident",
            "--yes",
        ])
        .args(&["--out", t.out().join("list").to_str().unwrap()])
        .run();
    from_list.expect_code(2);
    assert!(from_list.stderr.contains(said), "{}", from_list.stderr);
    assert!(t.mutations().is_empty(), "nothing changed");

    // Accepted: the run goes on, and the eligible admins are changed like anyone else.
    t.apply_plan()
        .args(&["--accept-unverified-admins"])
        .yes()
        .run()
        .expect_code(0);
    let changed: Vec<String> = t
        .mutations()
        .iter()
        .map(|m| m["userId"].as_str().unwrap().to_string())
        .collect();
    assert!(changed.iter().any(|id| id == id_of(&listed[2])));
}
