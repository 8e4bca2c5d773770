//! Plans edited by hand: refused wherever the edit, carried out when only re-laid out; a
//! run whose plan is laid out as earlier versions wrote it resumes from a copy.

use serde_json::{Value, json};

use crate::support::folder::Folder;
use crate::support::oracle::Profile;
use crate::support::s;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::ordinary;

/// One edit of a plan, in place.
type Edit = Box<dyn Fn(&mut Value)>;

/// Each edit alone: a step's method id, a user's steps, the policy, the input's hash.
fn edits(plan: &Value) -> Vec<(&'static str, Edit)> {
    let planned = plan["entries"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["status"] == "planned")
        .expect("a planned user");
    vec![
        (
            "a step's method id",
            Box::new(move |p: &mut Value| {
                p["entries"][planned]["steps"][0]["id"] =
                    json!("00000000-0000-0000-0000-000000000000");
            }),
        ),
        (
            "a user's steps",
            Box::new(move |p: &mut Value| {
                let steps = p["entries"][planned]["steps"].as_array_mut().unwrap();
                let again = steps[0].clone();
                steps.push(again);
            }),
        ),
        (
            "the policy",
            Box::new(|p: &mut Value| p["policy"]["includeAdmins"] = json!(true)),
        ),
        (
            "the input's hash",
            Box::new(|p: &mut Value| p["input"]["sha256"] = json!("0".repeat(64))),
        ),
    ]
}

#[test]
fn a_plan_edited_anywhere_after_it_was_written_is_refused_and_nothing_changes() {
    let t = Scenario::start("edited", generated(120, 82));
    let listed = ordinary(&t.before, 12);
    let input = t.write_list(&listed);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    let original = t.planned().plan();
    for (what, edit) in edits(&original) {
        let mut plan = original.clone();
        edit(&mut plan);
        assert_ne!(plan, original, "{what}: the edit changed nothing");
        let edited = t.write("edited.json", serde_json::to_vec_pretty(&plan).unwrap());
        let out = t
            .dir
            .join(format!("run-{}", what.replace([' ', '\''], "-")));
        let run = t.mfa(&["apply", s(&edited), "--out", s(&out)]).yes().run();
        run.expect_code(2);
        assert!(
            run.stderr.contains("edited after it was written"),
            "{what}: {}",
            run.stderr
        );
    }
    assert!(
        t.mutations().is_empty(),
        "an edited plan changed the tenant"
    );

    // Re-saved unedited in another layout (re-indented, its fields in another order, as
    // a JSON tool writes it), the plan is the same plan and is carried out.
    let resaved = t.write(
        "resaved.json",
        serde_json::to_vec_pretty(&original).unwrap(),
    );
    let text = std::fs::read_to_string(&resaved).unwrap();
    assert!(
        text.find("\"entries\"") < text.find("\"format\""),
        "the re-saved plan has its fields in another order"
    );
    let out = Folder(t.dir.join("run-resaved"));
    t.mfa(&["apply", s(&resaved), "--out", out.arg()])
        .yes()
        .run()
        .expect_code(0);
    assert!(
        !t.mutations().is_empty(),
        "the re-saved plan was carried out"
    );
    // The run keeps the plan it carried out, in this tool's own layout.
    let kept = std::fs::read_to_string(out.plan_file()).unwrap();
    assert!(
        kept.starts_with("{\n  \"format\": \"mfa-reset-plan\","),
        "{kept}"
    );
    assert_eq!(serde_json::from_str::<Value>(&kept).unwrap(), original);
    assert_eq!(out.rows().len(), listed.len());
    out.assert_no_scratch_files();
    t.planned().assert_no_scratch_files();
}

/// Lays a run's `plan.json` out as earlier versions wrote it (the whole plan indented),
/// its hash recorded where such a run recorded it (`run.json` and the journal's first
/// line). Returns the bytes written.
fn lay_out_as_before(out: &Folder) -> Vec<u8> {
    let other_layout = serde_json::to_vec_pretty(&out.plan()).unwrap();
    std::fs::write(out.plan_file(), &other_layout).unwrap();
    let sha = mfa_reset::plan::sha256_hex(&other_layout);
    let mut settings = crate::support::read_json(&out.join("run.json"));
    settings["planSha256"] = json!(sha);
    std::fs::write(out.join("run.json"), settings.to_string()).unwrap();
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let (first, rest) = journal.split_once('\n').unwrap();
    let mut run: Value = serde_json::from_str(first).unwrap();
    run["planSha256"] = json!(sha);
    std::fs::write(out.join("journal.jsonl"), format!("{run}\n{rest}")).unwrap();
    other_layout
}

#[test]
fn a_run_whose_plan_is_laid_out_otherwise_resumes_from_a_copy_unless_it_was_changed() {
    let t = Scenario::start("other-layout", generated(120, 84));
    let listed = ordinary(&t.before, 12);
    let input = t.write_list(&listed);
    t.apply(&input, Profile::DeviceRefresh)
        .yes()
        .run()
        .expect_code(0);
    let changes = t.mutations().len();
    assert!(changes > 0);

    let out = t.out();
    let plan = out.plan();
    let other_layout = lay_out_as_before(&out);
    std::fs::remove_file(out.join("results.csv")).unwrap();
    t.resume().run().expect_code(0);
    assert_eq!(out.csv().len(), listed.len(), "one row per input row");
    assert_eq!(
        t.mutations().len(),
        changes,
        "a finished run changes nothing more"
    );
    assert_eq!(
        std::fs::read(out.plan_file()).unwrap(),
        other_layout,
        "plan.json untouched"
    );
    assert!(
        !out.join("plan.json.resume").exists(),
        "the copy is removed"
    );
    out.assert_no_scratch_files();

    // Changed in any way, it is refused.
    let mut edited = plan.clone();
    edited["entries"][0]["input"] = json!("someone-else@contoso.example");
    std::fs::write(out.plan_file(), serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    let refused = t.resume().run();
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("changed after the run started"),
        "{}",
        refused.stderr
    );
    assert_eq!(t.mutations().len(), changes);
}
