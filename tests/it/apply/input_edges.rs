//! Input edges an operator meets: a plan saved again with a UTF-8 byte-order mark is still
//! the plan, an exclude list that names nobody is said, not taken silently, and a row whose
//! id and UPN name two different users is invalid.

use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users;

#[test]
fn a_plan_saved_with_a_byte_order_mark_is_still_the_plan() {
    let t = Scenario::start("edges-bom", generated(100, 231));
    let listed = users::ordinary(&t.before, 3);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend(std::fs::read(t.planned().plan_file()).unwrap());
    let with_bom = t.write("plan-with-bom.json", bytes);
    let run = t
        .mfa(&["apply", with_bom.to_str().unwrap(), "--yes"])
        .args(&["--out", t.out().arg()])
        .run();
    run.expect_code(0);
    assert!(!run.stderr.contains("give a --profile"), "{}", run.stderr);
    t.assert_tenant_after(&listed, Profile::DeviceRefresh);
}

#[test]
fn an_exclude_list_that_names_nobody_is_said() {
    let t = Scenario::start("edges-empty-exclude", generated(100, 232));
    let listed = users::ordinary(&t.before, 2);
    let input = t.write_list(&listed);
    let exclude = t.write("keep.csv", "userPrincipalName\n");
    let plan = t
        .plan(&input, Profile::DeviceRefresh)
        .args(&["--exclude", exclude.to_str().unwrap()])
        .run();
    plan.expect_code(0);
    assert!(
        plan.stderr.contains("holds no user: nobody is excluded"),
        "{}",
        plan.stderr
    );
}

#[test]
fn a_row_whose_id_and_upn_name_two_users_is_invalid_and_changes_neither() {
    let t = Scenario::start("edges-id-upn", generated(100, 233));
    let u = users::ordinary(&t.before, 3);
    let text = format!(
        "id,userPrincipalName\n{},{}\n{},{}\n",
        crate::support::users::id_of(&u[0]),
        crate::support::users::upn(&u[0]),
        crate::support::users::id_of(&u[1]),
        crate::support::users::upn(&u[2]),
    );
    let input = t.write("users.csv", text);
    // Invalid rows make the exit 1.
    t.apply(&input, Profile::DeviceRefresh)
        .yes()
        .run()
        .expect_code(1);
    let rows = t.out().rows();
    assert_eq!(rows[0]["status"], "done", "{}", rows[0]);
    assert_eq!(rows[1]["status"], "invalid", "{}", rows[1]);
    let reason = rows[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains(crate::support::users::upn(&u[1]))
            && reason.contains(crate::support::users::upn(&u[2])),
        "{reason}"
    );
    for other in &u[1..] {
        assert!(
            !t.mutations()
                .iter()
                .any(|m| m["userId"] == crate::support::users::id_of(other)),
            "{} was changed",
            crate::support::users::upn(other)
        );
    }
}
