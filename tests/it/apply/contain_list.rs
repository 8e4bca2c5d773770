//! `apply USERS` for an incident contains straight from the list: sessions are revoked by
//! the keys as given, before any user is read, while admins (from one listing of the
//! tenant's role holders) and excluded users (read once, whatever key the exclude list
//! names them by) are never written to; a key no user has ends `not-found`; the method
//! clean-up is planned after; Ctrl-C during the containment leaves a result row for every
//! input row, and `resume` finishes without revoking anyone twice.

use std::collections::{BTreeMap, BTreeSet};

use mfa_reset::sim::{GroupRecord, SimConfig, permissions};
use serde_json::Value;

use crate::support::oracle::{Profile, exit_for};
use crate::support::process::wait_until;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, id_of, is_admin, op, upn};

fn logged(name: &str, config: SimConfig) -> Scenario {
    Scenario::start(
        name,
        SimConfig {
            log_requests: true,
            ..config
        },
    )
}

/// Revocations by user id, from the emulator's mutation log.
fn revocations(t: &Scenario) -> BTreeMap<String, usize> {
    let mut by_user = BTreeMap::new();
    for m in t.mutations() {
        if op(&m) == "revokeSignInSessions" {
            *by_user
                .entry(m["userId"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    by_user
}

/// The lines of the run's containment log of `kind` (`revoked`, `disabled`, ...).
fn contained_rows(t: &Scenario, kind: &str) -> BTreeSet<u64> {
    std::fs::read_to_string(t.out().join("containment.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["record"] == kind)
        .map(|r| r["row"].as_u64().unwrap())
        .collect()
}

/// Waits until the run's containment log says the containment went through the list,
/// while the run goes on (planning the rest).
fn wait_for_containment_to_finish(
    out: &crate::support::folder::Folder,
    child: &mut crate::support::process::Spawned,
) {
    let log = out.join("containment.jsonl");
    wait_until("the containment finished", || {
        let finished = std::fs::read_to_string(&log)
            .is_ok_and(|text| text.contains("\"record\":\"finished\""));
        finished || !child.is_running()
    });
    assert!(
        child.is_running(),
        "the run ended first: {}",
        child.stderr()
    );
}

#[test]
fn an_incident_revokes_from_the_list_first_and_spares_admins_excluded_and_unknown_keys() {
    let t = logged("contain-list", generated(300, 171));
    let admins: Vec<Value> = t
        .before
        .values()
        .filter(|u| is_admin(u))
        .take(3)
        .cloned()
        .collect();
    assert!(!admins.is_empty(), "the tenant has admins");
    let others = users::without_role(&t.before, 40);
    let excluded = others[5].clone();
    // The list names everyone by UPN, the exclude list names the excluded user by id:
    // only a read of the exclude list can tell they are the same person.
    let mut text = String::from("userPrincipalName,ticket\n");
    for u in admins.iter().chain(&others) {
        text.push_str(&format!("{},T\n", upn(u)));
    }
    text.push_str("nobody-here@contoso.example,T\n");
    let input = t.write("users.csv", text);
    let exclude = t.write("exclude.csv", format!("id\n{}\n", id_of(&excluded)));

    let run = t
        .apply(&input, Profile::Incident)
        .args(&["--exclude", exclude.to_str().unwrap()])
        .yes()
        .run();
    // A key no user has is a row that needs attention.
    run.expect_code(1);
    let contained = format!("containing {} users from the list", admins.len() + 41);
    assert!(run.stderr.contains(&contained), "{}", run.stderr);

    // Nothing was written to an admin or the excluded user; everyone else was revoked
    // exactly once, though both phases run.
    let mutations = t.mutations();
    let spared: BTreeSet<&str> = admins.iter().chain([&excluded]).map(id_of).collect();
    for m in &mutations {
        let who = m["userId"].as_str().unwrap();
        assert!(!spared.contains(who), "a spared user was changed: {m}");
    }
    let revoked = revocations(&t);
    for u in others.iter().filter(|u| id_of(u) != id_of(&excluded)) {
        assert_eq!(revoked.get(id_of(u)), Some(&1), "{}", upn(u));
    }
    assert_eq!(revoked.len(), others.len() - 1);

    // The first write went out before any listed user was read (the exclude list's user
    // is read, to know them by every key), and nothing but that read ever named the
    // excluded user in its path.
    let requests = t.sim.requests().expect("the log is on");
    let first_write = requests
        .iter()
        .position(|r| r.url.ends_with("/revokeSignInSessions"))
        .expect("a revocation");
    let names_excluded = |url: &str| {
        [id_of(&excluded), upn(&excluded)].iter().any(|k| {
            url.to_lowercase()
                .starts_with(&format!("/users/{}", k.to_lowercase()))
        })
    };
    for r in requests[..first_write]
        .iter()
        .filter(|r| r.url != "/$batch")
    {
        assert_eq!(r.method, "GET", "{}", r.url);
        let per_user = r.url.starts_with("/users/") || r.url.starts_with("/users(");
        assert!(
            !per_user || names_excluded(&r.url),
            "a listed user was read before the first revocation: {}",
            r.url
        );
    }
    for r in &requests {
        if names_excluded(&r.url) {
            assert_eq!(
                r.method, "GET",
                "the excluded user was written to: {}",
                r.url
            );
            assert!(!r.url.contains("/authentication/"), "{}", r.url);
        }
    }

    // One row per input row: the admins protected, the excluded user excluded, the key
    // nobody has not-found, the others done with their sessions revoked.
    let rows = t.out().rows();
    assert_eq!(rows.len(), admins.len() + others.len() + 1);
    for (row, u) in rows.iter().zip(admins.iter().chain(&others)) {
        let expected = if is_admin(u) {
            "protected"
        } else if id_of(u) == id_of(&excluded) {
            "excluded"
        } else {
            "done"
        };
        assert_eq!(row["status"], expected, "{row}");
        assert_eq!(row["sessionsRevoked"], expected == "done", "{row}");
    }
    let last = rows.last().unwrap();
    assert_eq!(last["status"], "not-found", "{last}");

    // Both phases are in the reports and the plan.
    let summary = std::fs::read_to_string(t.out().join("summary.md")).unwrap();
    let phase_1 = format!(
        "Phase 1: contained from the list | {} users' sessions revoked; 1 key no user has (",
        others.len() - 1
    );
    assert!(summary.contains(&phase_1), "{summary}");
    assert!(summary.contains("Phase 2: the plan"), "{summary}");
    let html = std::fs::read_to_string(t.out().join("report.html")).unwrap();
    assert!(html.contains("id=\"containment\""), "report.html");
    let plan = t.out().plan();
    assert!(
        plan["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("made after a containment from the list")),
        "{}",
        plan["notes"]
    );
}

#[test]
fn with_include_admins_the_admins_on_the_list_are_contained_too() {
    // An app with a privileged role: Graph lets it change administrators.
    let mut config = generated(200, 172);
    config.apps[0].privileged = true;
    let t = Scenario::start("contain-list-admins", config);
    let admins: Vec<Value> = t
        .before
        .values()
        .filter(|u| is_admin(u))
        .take(2)
        .cloned()
        .collect();
    let input = t.write_list(&admins);
    t.apply(&input, Profile::Incident)
        .args(&["--include-admins"])
        .yes()
        .run()
        .expect_code(0);
    let revoked = revocations(&t);
    for u in &admins {
        assert_eq!(revoked.get(id_of(u)), Some(&1), "{}", upn(u));
    }
}

#[test]
fn ctrl_c_while_containing_from_the_list_keeps_a_row_for_everyone_and_resume_revokes_no_one_twice()
{
    let t = Scenario::start("contain-list-ctrl-c", generated(160, 173));
    let listed = users::some(&t.before, 120);
    let input = t.write_list(&listed);
    let out = t.out();
    // 20 writes a second: the 120 revocations take seconds.
    let mut child = t
        .apply(&input, Profile::Incident)
        .yes()
        .budget("20/1s")
        .spawn("apply");
    wait_until("some users contained", || {
        contained_rows(&t, "revoked").len() >= 25 || !child.is_running()
    });
    child.signal("INT");
    child.expect_code(4);
    let stderr = child.stderr();
    assert!(
        stderr.contains(&format!("mfa-reset resume {}", out.arg())),
        "{stderr}"
    );

    // Every input row has its result row; those contained say so, and match the log.
    let revoked_rows = contained_rows(&t, "revoked");
    assert!(revoked_rows.len() >= 25, "{}", revoked_rows.len());
    assert!(
        revoked_rows.len() < 110,
        "the containment was not interrupted"
    );
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    for row in &rows {
        let index = row["row"].as_u64().unwrap();
        assert_eq!(row["status"], "pending", "{row}");
        assert_eq!(
            row["sessionsRevoked"] == true,
            revoked_rows.contains(&index),
            "{row}"
        );
    }
    // The tenant agrees: the users logged as revoked, and only they (admins spared).
    let revoked = revocations(&t);
    assert_eq!(revoked.len(), revoked_rows.len());

    // Resume finishes as if nothing had happened, and no one is revoked twice.
    let run = t.resume().budget("2000/1s").run();
    let expected = t.assert_tenant_after(&listed, Profile::Incident);
    run.expect_code(exit_for(expected.values().map(|e| e.status)));
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len());
    for (u, row) in listed.iter().zip(&rows) {
        assert_eq!(row["status"], expected[id_of(u)].status, "{row}");
    }
    let revoked = revocations(&t);
    for u in listed.iter().filter(|u| !is_admin(u)) {
        assert_eq!(revoked.get(id_of(u)), Some(&1), "{}", upn(u));
    }
}

#[test]
fn an_offboarding_disables_from_the_list_but_never_a_synced_account() {
    let t = Scenario::start("contain-list-offboard", generated(300, 174));
    let listed = users::without_role(&t.before, 80);
    let synced: Vec<&Value> = listed.iter().filter(|u| users::is_synced(u)).collect();
    assert!(!synced.is_empty(), "the list has a synced user");
    let input = t.write_list(&listed);
    let run = t.apply(&input, Profile::Offboard).yes().run();
    let expected = t.assert_tenant_after(&listed, Profile::Offboard);
    run.expect_code(exit_for(expected.values().map(|e| e.status)));
    // The disables came from the containment (its log), not from the second phase.
    let disabled = contained_rows(&t, "disabled");
    let enabled_cloud = listed
        .iter()
        .filter(|u| users::is_enabled(u) && !users::is_synced(u))
        .count();
    assert_eq!(disabled.len(), enabled_cloud);
    for m in t.mutations() {
        if op(&m) == "updateUser" && m["accountEnabled"] == false {
            let who = m["userId"].as_str().unwrap();
            assert!(
                !synced.iter().any(|u| id_of(u) == who),
                "a synced account was disabled: {m}"
            );
        }
    }
}

#[test]
fn ctrl_c_while_planning_after_the_containment_keeps_a_row_for_everyone_and_resume_finishes() {
    // 100 ms a request: the plan's reads of 300 users take seconds after the containment.
    let t = Scenario::start(
        "contain-list-ctrl-c-planning",
        SimConfig {
            latency: std::time::Duration::from_millis(100),
            ..generated(400, 175)
        },
    );
    let listed = users::some(&t.before, 300);
    let input = t.write_list(&listed);
    let out = t.out();
    let mut child = t.apply(&input, Profile::Incident).yes().spawn("apply");
    wait_for_containment_to_finish(&out, &mut child);
    child.signal("INT");
    child.expect_code(4);
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    let revoked = contained_rows(&t, "revoked");
    for row in &rows {
        assert_eq!(row["status"], "pending", "{row}");
        let index = row["row"].as_u64().unwrap();
        assert_eq!(
            row["sessionsRevoked"] == true,
            revoked.contains(&index),
            "{row}"
        );
    }
    assert!(!out.join("plan.json").exists(), "no plan was taken up");

    let run = t.resume().run();
    let expected = t.assert_tenant_after(&listed, Profile::Incident);
    run.expect_code(exit_for(expected.values().map(|e| e.status)));
    for (u, row) in listed.iter().zip(&out.rows()) {
        assert_eq!(row["status"], expected[id_of(u)].status, "{row}");
    }
    let revocations = revocations(&t);
    for u in listed.iter().filter(|u| !is_admin(u)) {
        assert_eq!(revocations.get(id_of(u)), Some(&1), "{}", upn(u));
    }
}

#[test]
fn an_outage_while_planning_after_the_containment_keeps_it_and_resume_plans_again() {
    let t = Scenario::start(
        "contain-list-plan-outage",
        SimConfig {
            latency: std::time::Duration::from_millis(100),
            ..generated(400, 176)
        },
    );
    let listed = users::some(&t.before, 300);
    let input = t.write_list(&listed);
    let out = t.out();
    let mut child = t
        .apply(&input, Profile::Incident)
        .args(&["--max-outage", "1"])
        .yes()
        .spawn("apply");
    wait_for_containment_to_finish(&out, &mut child);
    let outage = std::time::Duration::from_secs(5);
    let down = std::time::Instant::now();
    t.sim.outage(outage);
    child.expect_code(1);
    let stderr = child.stderr();
    assert!(stderr.contains("the containment is done"), "{stderr}");
    assert!(
        !stderr.contains("nothing in the tenant was changed"),
        "{stderr}"
    );
    let rows = out.rows();
    assert_eq!(rows.len(), listed.len(), "one row per input row");
    assert!(rows.iter().all(|r| r["status"] == "pending"));
    let revoked = contained_rows(&t, "revoked");
    assert!(revoked.len() > 250, "{}", revoked.len());

    std::thread::sleep(
        outage.saturating_sub(down.elapsed()) + std::time::Duration::from_millis(200),
    );
    let run = t.resume().run();
    let expected = t.assert_tenant_after(&listed, Profile::Incident);
    run.expect_code(exit_for(expected.values().map(|e| e.status)));
    let revocations = revocations(&t);
    for u in listed.iter().filter(|u| !is_admin(u)) {
        assert_eq!(revocations.get(id_of(u)), Some(&1), "{}", upn(u));
    }
}

#[test]
fn without_the_permission_to_list_admins_apply_refuses_until_accepted_then_reads_every_user_first()
{
    let t = Scenario::start("contain-list-no-roles", generated(200, 177));
    t.sim
        .deny_permissions(&permissions::with_wider(
            permissions::ROLE_MANAGEMENT_READ_DIRECTORY,
        ))
        .unwrap();
    let admins: Vec<Value> = t
        .before
        .values()
        .filter(|u| is_admin(u))
        .take(2)
        .cloned()
        .collect();
    assert!(!admins.is_empty(), "the tenant has admins");
    let listed: Vec<Value> = admins
        .iter()
        .cloned()
        .chain(users::without_role(&t.before, 20))
        .collect();
    let input = t.write_list(&listed);
    // Never a silent downgrade: refused, nothing changed, until the operator accepts it.
    let refused = t.apply(&input, Profile::Incident).yes().run();
    refused.expect_code(2);
    assert!(
        refused
            .stderr
            .contains("the tenant's admins could not be listed"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--accept-unverified-admins"),
        "{}",
        refused.stderr
    );
    assert!(t.mutations().is_empty(), "nothing changed");
    let run = t
        .apply(&input, Profile::Incident)
        .args(&["--accept-unverified-admins"])
        .yes()
        .run();
    // Then every user is read first, as a plan does; admins by their own roles stay
    // protected.
    assert!(!t.out().join("containment.jsonl").exists());
    let expected = t.assert_tenant_after(&listed, Profile::Incident);
    run.expect_code(exit_for(expected.values().map(|e| e.status)));
    for m in t.mutations() {
        let who = m["userId"].as_str().unwrap();
        assert!(
            !admins.iter().any(|a| id_of(a) == who),
            "an admin was changed: {m}"
        );
    }
    let plan = t.out().plan();
    assert!(
        plan["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("could not be listed")),
        "{}",
        plan["notes"]
    );
}

#[test]
fn a_plan_already_in_the_run_folder_is_refused_before_anyone_is_contained() {
    let t = Scenario::start("contain-list-plan-there", generated(60, 178));
    let listed = users::without_role(&t.before, 10);
    let input = t.write_list(&listed);
    let plan_dir = t.out().join("plan");
    std::fs::create_dir_all(&plan_dir).unwrap();
    std::fs::write(plan_dir.join("plan.json"), "{}").unwrap();
    let run = t.apply(&input, Profile::Incident).yes().run();
    run.expect_code(2);
    assert!(
        run.stderr.contains("already holds a plan"),
        "{}",
        run.stderr
    );
    assert!(t.mutations().is_empty(), "nothing changed");
    assert_eq!(
        std::fs::read_to_string(plan_dir.join("plan.json")).unwrap(),
        "{}"
    );
}

#[test]
fn an_admin_through_a_role_assignable_group_is_spared_by_the_containment_and_the_plan() {
    const TIER_0: &str = "0b0b0b0b-0000-4000-8000-00000000c001";
    let t = logged("contain-list-group-admin", generated(200, 179));
    let listed = users::ordinary(&t.before, 10);
    let admin = listed[3].clone();
    t.sim
        .add_group(GroupRecord {
            id: TIER_0.into(),
            display_name: "Tier 0".into(),
            members: vec![id_of(&admin).into()],
            roles: vec!["Privileged Authentication Administrator".into()],
        })
        .unwrap();
    let input = t.write_list(&listed);
    t.apply(&input, Profile::Incident)
        .yes()
        .run()
        .expect_code(0);
    for m in t.mutations() {
        assert_ne!(
            m["userId"],
            id_of(&admin),
            "the group's admin was changed: {m}"
        );
    }
    // The tenant-wide listing expanded the group that holds the role.
    let requests = t.sim.requests().expect("the log is on");
    assert!(
        requests.iter().any(|r| r
            .url
            .starts_with(&format!("/groups/{TIER_0}/transitiveMembers"))),
        "the role's group was not expanded"
    );
    let rows = t.out().rows();
    for (u, row) in listed.iter().zip(&rows) {
        if id_of(u) == id_of(&admin) {
            assert_eq!(row["status"], "protected", "{row}");
            let reason = row["reason"].as_str().unwrap();
            assert!(
                reason.contains("Privileged Authentication Administrator"),
                "{row}"
            );
        } else {
            assert_eq!(row["status"], "done", "{row}");
        }
    }
}
