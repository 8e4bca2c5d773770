//! The exit code says the truth: 0 only when every row is done, no-change, excluded,
//! protected or duplicate (for a plan: planned, no-change, excluded, protected or
//! duplicate); a blocked, not-found (or any other) row makes it 1, for `plan` as for
//! `apply`.

use crate::support::folder::Folder;
use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, rules};
use crate::support::users;
use crate::support::{ADMIN, ALICE, BOB, SERVICE, SYNCED, s};

#[test]
fn a_blocked_or_not_found_row_exits_1_for_plan_and_apply() {
    let t = Scenario::start("exit-blocked", rules());
    // A synced user cannot be disabled in the cloud: offboarding is blocked.
    let listed = t.users_by_id(&[ALICE, SYNCED]);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::Offboard).run().expect_code(1);
    let run = t.apply_plan().yes().run();
    run.expect_code(1);
    assert_eq!(t.out().statuses(), ["done", "blocked"]);

    let unknown = t.write(
        "unknown.csv",
        format!(
            "userPrincipalName\n{}\nnobody@contoso.example\n",
            users::upn(&t.before[BOB])
        ),
    );
    let out = t.dir.join("run-not-found");
    let run = t
        .apply(&unknown, Profile::DeviceRefresh)
        .out(&out)
        .yes()
        .run();
    run.expect_code(1);
    assert_eq!(Folder(out).statuses(), ["done", "not-found"]);

    // An invalid row left out with --skip-invalid is reported, and is no success either.
    let invalid = t.write(
        "invalid.csv",
        format!(
            "userPrincipalName\n{}\nnot a user/..\n",
            users::upn(&t.before[BOB])
        ),
    );
    let out = t.dir.join("run-invalid");
    let run = t
        .apply(&invalid, Profile::DeviceRefresh)
        .args(&["--skip-invalid"])
        .out(&out)
        .yes()
        .run();
    run.expect_code(1);
    assert_eq!(Folder(out).statuses(), ["no-change", "invalid"]);
}

#[test]
fn a_run_whose_rows_are_all_done_no_change_excluded_protected_or_duplicate_exits_0() {
    let t = Scenario::start("exit-zero", rules());
    let upn = |id: &str| users::upn(&t.before[id]).to_string();
    let input = t.write(
        "users.csv",
        format!(
            "userPrincipalName\n{}\n{}\n{}\n{}\n{}\n",
            upn(ALICE),
            upn(ADMIN),
            upn(ALICE),
            upn(SERVICE),
            upn(BOB),
        ),
    );
    let exclude = t.write("exclude.csv", format!("userPrincipalName\n{}\n", upn(BOB)));
    let exclude = ["--exclude", s(&exclude)];
    t.plan(&input, Profile::DeviceRefresh)
        .args(&exclude)
        .run()
        .expect_code(0);
    t.apply(&input, Profile::DeviceRefresh)
        .args(&exclude)
        .yes()
        .run()
        .expect_code(0);
    assert_eq!(
        t.out().statuses(),
        ["done", "protected", "duplicate", "no-change", "excluded"]
    );
}
