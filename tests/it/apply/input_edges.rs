//! Input edges an operator meets: a plan saved again with a UTF-8 byte-order mark is still
//! the plan, and an exclude list that names nobody is said, not taken silently.

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
