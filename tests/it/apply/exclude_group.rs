//! `--exclude-group ID|NAME`: break-glass accounts kept in a group. Every member, through
//! nested groups, is read once at the start and never gets a write (nor a read of their
//! methods); their row says which group excluded them. A group that cannot be known in
//! full stops the command before anything changes.

use mfa_reset::sim::{GroupRecord, SimConfig, permissions};
use serde_json::Value;

use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, id_of, upn};

const BREAK_GLASS: &str = "0b0b0b0b-0000-4000-8000-00000000b001";
const NESTED: &str = "0b0b0b0b-0000-4000-8000-00000000b002";

/// A tenant whose "Break Glass" group holds `listed[0]` directly and `listed[1]` through
/// a nested group; the users of the list.
fn tenant(name: &str, seed: u64) -> (Scenario, Vec<Value>) {
    let t = Scenario::start(
        name,
        SimConfig {
            log_requests: true,
            ..generated(200, seed)
        },
    );
    let listed = users::ordinary(&t.before, 12);
    t.sim
        .add_group(GroupRecord {
            id: NESTED.into(),
            display_name: "Vault keepers".into(),
            members: vec![id_of(&listed[1]).into()],
            roles: Vec::new(),
        })
        .unwrap();
    t.sim
        .add_group(GroupRecord {
            id: BREAK_GLASS.into(),
            display_name: "Break Glass".into(),
            members: vec![id_of(&listed[0]).into(), NESTED.into()],
            roles: Vec::new(),
        })
        .unwrap();
    (t, listed)
}

fn assert_untouched(t: &Scenario, spared: &[&Value]) {
    for m in t.mutations() {
        let who = m["userId"].as_str().unwrap();
        assert!(
            !spared.iter().any(|u| id_of(u) == who),
            "a member of the group was changed: {m}"
        );
    }
    for r in t.sim.requests().expect("the log is on") {
        for u in spared {
            let path = format!("/users/{}/", id_of(u));
            assert!(
                !r.url.starts_with(&path),
                "a member of the group was contacted: {} {}",
                r.method,
                r.url
            );
        }
    }
}

#[test]
fn a_plan_excludes_every_member_of_the_group_by_name_nested_ones_too() {
    let (t, listed) = tenant("exclude-group-plan", 191);
    let input = t.write_list(&listed);
    let run = t
        .plan(&input, Profile::Incident)
        .args(&["--exclude-group", "break glass"])
        .run();
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("2 user(s) of the group \"Break Glass\" are excluded"),
        "{}",
        run.stderr
    );
    let rows = t.planned().rows();
    assert_eq!(rows.len(), listed.len());
    for (i, row) in rows.iter().enumerate() {
        if i < 2 {
            assert_eq!(row["status"], "excluded", "{row}");
            let reason = row["reason"].as_str().unwrap();
            assert!(
                reason.contains("\"Break Glass\" (--exclude-group)"),
                "{row}"
            );
        } else {
            assert_eq!(row["status"], "planned", "{row}");
        }
    }
    assert_untouched(&t, &[&listed[0], &listed[1]]);
}

#[test]
fn an_incident_never_writes_to_a_member_of_the_group_and_contains_the_others() {
    let (t, listed) = tenant("exclude-group-apply", 192);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::Incident)
        .args(&["--exclude-group", BREAK_GLASS])
        .yes()
        .run()
        .expect_code(0);
    assert_untouched(&t, &[&listed[0], &listed[1]]);
    let rows = t.out().rows();
    assert_eq!(rows.len(), listed.len());
    assert_eq!(rows[0]["status"], "excluded");
    assert_eq!(rows[1]["status"], "excluded");
    for (u, row) in listed.iter().zip(&rows).skip(2) {
        assert_eq!(row["status"], "done", "{}: {row}", upn(u));
        assert_eq!(row["sessionsRevoked"], true, "{row}");
    }
}

#[test]
fn a_group_that_cannot_be_known_in_full_stops_the_command_before_anything_changes() {
    let (t, listed) = tenant("exclude-group-refused", 193);
    t.sim
        .add_group(GroupRecord {
            id: "0b0b0b0b-0000-4000-8000-00000000b003".into(),
            display_name: "Break Glass".into(),
            members: Vec::new(),
            roles: Vec::new(),
        })
        .unwrap();
    let input = t.write_list(&listed);
    // No such group; two groups of the name; a group the app may not read.
    let cases: [(&str, &str); 2] = [
        ("Nobody's group", "no group is named \"Nobody's group\""),
        ("Break Glass", "2 groups are named \"Break Glass\""),
    ];
    for (spec, said) in cases {
        let run = t
            .apply(&input, Profile::Incident)
            .args(&["--exclude-group", spec])
            .yes()
            .run();
        run.expect_code(2);
        assert!(run.stderr.contains(said), "{spec}: {}", run.stderr);
        assert!(run.stderr.contains("Nothing was changed"), "{}", run.stderr);
    }
    t.sim
        .deny_permissions(&permissions::with_wider(permissions::GROUP_MEMBER_READ_ALL))
        .unwrap();
    let run = t
        .plan(&input, Profile::Incident)
        .args(&["--exclude-group", BREAK_GLASS])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("could not be read"), "{}", run.stderr);
    assert!(t.mutations().is_empty(), "nothing changed");
    assert!(!t.planned().join("plan.json").exists());
}

#[test]
fn a_plan_file_takes_no_exclude_group() {
    let (t, listed) = tenant("exclude-group-plan-file", 194);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::Incident).run().expect_code(0);
    let run = t
        .apply_plan()
        .args(&["--exclude-group", BREAK_GLASS])
        .yes()
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("--exclude-group"), "{}", run.stderr);
}
