//! A user list on standard input (`-`, or a pipe such as `/dev/stdin`) for `plan` and
//! `apply`: read once through a real pipe, hashed like a file, named `-` in the plan; a
//! containment from such a list keeps it with the run, so that `resume` can read it again.

use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, upn};

fn csv(users: &[serde_json::Value]) -> String {
    let mut text = String::from("userPrincipalName\n");
    for u in users {
        text.push_str(&format!("{}\n", upn(u)));
    }
    text
}

#[test]
fn plan_reads_a_list_piped_to_it_and_hashes_it_like_a_file() {
    let t = Scenario::start("stdin-plan", generated(100, 221));
    let listed = users::ordinary(&t.before, 4);
    let text = csv(&listed);
    let out = t.planned();
    let plan = t
        .mfa(&["plan", "-", "--profile", "device-refresh"])
        .args(&["--out", out.arg()])
        .run_piped(text.clone());
    plan.expect_code(0);
    let header = out.plan();
    assert_eq!(header["input"]["file"], "-");
    assert_eq!(header["input"]["rows"], 4);
    assert_eq!(
        header["input"]["sha256"],
        mfa_reset::plan::sha256_hex(text.as_bytes())
    );
    assert_eq!(out.rows().len(), 4);
    // A pipe given by name, as a shell's /dev/stdin.
    let again = t.dir.join("again");
    t.mfa(&["plan", "/dev/stdin", "--profile", "device-refresh"])
        .args(&["--out", again.to_str().unwrap()])
        .run_piped(text)
        .expect_code(0);
    assert_eq!(
        crate::support::folder::Folder(again).plan()["input"]["rows"],
        4
    );
    // A bad row of a piped list is named as `-`, with its line.
    let bad = t
        .mfa(&["plan", "-", "--profile", "device-refresh"])
        .args(&["--out", t.dir.join("bad").to_str().unwrap()])
        .run_piped("userPrincipalName\nnot an address\n");
    bad.expect_code(2);
    assert!(bad.stderr.contains("-:2:"), "{}", bad.stderr);
    assert!(t.mutations().is_empty());
}

#[test]
fn apply_contains_from_a_piped_list_and_keeps_it_for_a_resume() {
    let t = Scenario::start("stdin-apply", generated(100, 222));
    let listed = users::ordinary(&t.before, 5);
    let run = t
        .mfa(&["apply", "-", "--profile", "incident", "--yes"])
        .args(&["--out", t.out().arg()])
        .run_piped(csv(&listed));
    let expected = t.assert_tenant_after(&listed, Profile::Incident);
    assert!(!expected.is_empty());
    run.expect_code(0);
    let kept = t.out().join("list-from-stdin");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), csv(&listed));
    let log = std::fs::read_to_string(t.out().join("containment.jsonl")).unwrap();
    assert!(
        log.contains("list-from-stdin"),
        "the containment's list is the kept one"
    );
    assert_eq!(t.out().rows().len(), 5);
}
