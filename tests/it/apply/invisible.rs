//! Invisible characters in user keys (#20 item 5), end to end against the emulator: one
//! rule for CSV, JSON, standard input and `--exclude` lists. A leading U+200B, a trailing
//! U+FEFF or a trailing U+00A0 is removed from a key's cell, said on stderr and kept in
//! the plan's notes, and the user it names is the one acted on; one inside a key makes
//! the row invalid, the character named with the file, line and column, and nothing is
//! changed (or, with `--skip-invalid`, nothing for that row).

use serde_json::{Value, json};

use crate::support::oracle::Profile;
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{self, id_of, upn};

/// The three edge cases, on the first three of `u`: a leading ZERO WIDTH SPACE, a
/// trailing byte-order mark, a trailing NO-BREAK SPACE.
fn edged(u: &[Value]) -> Vec<String> {
    vec![
        format!("\u{200B}{}", upn(&u[0])),
        format!("{}\u{FEFF}", upn(&u[1])),
        format!("{}\u{A0}", upn(&u[2])),
    ]
}

/// What the read says about [`edged`]'s three cells, after `first at`.
const THE_THREE: &str = "also U+FEFF ZERO WIDTH NO-BREAK SPACE (byte-order mark), U+00A0 NO-BREAK SPACE; \
     copy and paste brings them and no user key holds them, so each key was read without them";

/// `u`'s UPN with a ZERO WIDTH SPACE after its first character.
fn zero_width_inside(u: &Value) -> String {
    let upn = upn(u);
    let mut chars = upn.chars();
    let first = chars.next().unwrap();
    format!("{first}\u{200B}{}", chars.as_str())
}

/// The plan's notes.
fn plan_notes(t: &Scenario) -> Vec<String> {
    t.planned().plan()["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

fn assert_untouched(t: &Scenario, who: &[Value]) {
    for u in who {
        assert!(
            !t.mutations().iter().any(|m| m["userId"] == id_of(u)),
            "{} was changed",
            upn(u)
        );
    }
}

#[test]
fn invisible_characters_at_the_edges_of_csv_keys_are_removed_said_and_the_users_acted_on() {
    let t = Scenario::start("invisible-edges-csv", generated(100, 241));
    let listed = users::ordinary(&t.before, 3);
    let mut text = String::from("userPrincipalName,ticket\n");
    for (i, key) in edged(&listed).iter().enumerate() {
        text.push_str(&format!("{key},T-{i}\n"));
    }
    let input = t.write("users.csv", text);
    let plan = t.plan(&input, Profile::DeviceRefresh).run();
    plan.expect_code(0);
    let said = format!(
        "users.csv: removed invisible characters from the edges of 3 cells naming users, first \
         U+200B ZERO WIDTH SPACE at line 2, column 1 (\"userPrincipalName\"), {THE_THREE}"
    );
    assert!(
        plan.stderr
            .contains(&format!("mfa-reset: note: {}", input.display()))
            && plan.stderr.contains(&said),
        "{}",
        plan.stderr
    );
    assert!(
        plan_notes(&t).iter().any(|n| n.ends_with(&said)),
        "{:?}",
        plan_notes(&t)
    );
    let rows = t.planned().rows();
    for (row, u) in rows.iter().zip(&listed) {
        assert_eq!(row["status"], "planned", "{row}");
        assert_eq!(row["input"], upn(u), "{row}");
    }
    t.apply_plan().yes().run().expect_code(0);
    t.assert_tenant_after(&listed, Profile::DeviceRefresh);
}

#[test]
fn invisible_characters_at_the_edges_of_json_keys_from_stdin_are_removed_and_said() {
    let t = Scenario::start("invisible-edges-json", generated(100, 242));
    let listed = users::ordinary(&t.before, 3);
    let keys = edged(&listed);
    // A string, an object by UPN, an object by id whose UPN column has the NBSP.
    let list = json!([
        keys[0],
        { "userPrincipalName": keys[1] },
        { "id": id_of(&listed[2]), "userPrincipalName": keys[2] },
    ]);
    let plan = t
        .mfa(&["plan", "-"])
        .args(&crate::support::oracle::Policy::from(Profile::DeviceRefresh).args())
        .args(&["--out", t.planned().arg()])
        .run_piped(serde_json::to_vec(&list).unwrap());
    plan.expect_code(0);
    let said = format!(
        "-: removed invisible characters from the edges of 3 cells naming users, first U+200B \
         ZERO WIDTH SPACE at line 1, column 2, {THE_THREE}"
    );
    assert!(
        plan.stderr.contains(&format!("mfa-reset: note: {said}.")),
        "{}",
        plan.stderr
    );
    assert!(plan_notes(&t).contains(&said), "{:?}", plan_notes(&t));
    t.apply_plan().yes().run().expect_code(0);
    t.assert_tenant_after(&listed, Profile::DeviceRefresh);
}

#[test]
fn an_invisible_character_inside_a_csv_key_is_refused_naming_it_and_nothing_changes() {
    let t = Scenario::start("invisible-inside-csv", generated(100, 243));
    let u = users::ordinary(&t.before, 3);
    let text = format!(
        "userPrincipalName,ticket\n{},T-0\n{},T-1\n{},T-2\n",
        upn(&u[0]),
        zero_width_inside(&u[1]),
        upn(&u[2])
    );
    let input = t.write("users.csv", text);
    let plan = t.plan(&input, Profile::DeviceRefresh).run();
    plan.expect_code(2);
    let escaped = zero_width_inside(&u[1]).replace('\u{200B}', "\\u{200b}");
    assert!(
        plan.stderr.contains(&format!(
            "{}:3:1: user key \"{escaped}\" holds the invisible \
             character U+200B ZERO WIDTH SPACE at character 2: it looks like the same text \
             without it but is not, so the row is refused (retype the value, or copy the \
             user's UPN or object id from the directory",
            input.display()
        )),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains("1 of 3 rows are invalid; nothing was read from the tenant"),
        "{}",
        plan.stderr
    );
    assert!(!t.planned().plan_file().exists(), "no plan is written");

    // With --skip-invalid the row is reported invalid and only the others are changed.
    t.apply(&input, Profile::DeviceRefresh)
        .args(&["--skip-invalid"])
        .yes()
        .run()
        .expect_code(1);
    let rows = t.out().rows();
    assert_eq!(t.out().statuses(), ["done", "invalid", "done"], "{rows:?}");
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("U+200B ZERO WIDTH SPACE at character 2"),
        "{}",
        rows[1]
    );
    assert_untouched(&t, &u[1..2]);
    t.assert_tenant_after(&[u[0].clone(), u[2].clone()], Profile::DeviceRefresh);
}

#[test]
fn an_invisible_character_inside_a_json_key_is_refused_naming_it_and_nothing_changes() {
    let t = Scenario::start("invisible-inside-json", generated(100, 244));
    let u = users::ordinary(&t.before, 3);
    // A key with a U+200B inside, and a UPN beside an id with a NO-BREAK SPACE inside.
    let nbsp_inside = upn(&u[2]).replacen('@', "\u{A0}@", 1);
    let object = json!({ "id": id_of(&u[2]), "userPrincipalName": nbsp_inside }).to_string();
    let text = format!(
        "[\n  {},\n  {},\n  {object}\n]\n",
        json!(upn(&u[0])),
        json!(zero_width_inside(&u[1])),
    );
    // The UPN's value starts after its property name, on line 4 (all ASCII before it).
    let upn_column = 3 + object.find(&json!(nbsp_inside).to_string()).unwrap();
    let input = t.write("users.json", text);
    let plan = t.plan(&input, Profile::DeviceRefresh).run();
    plan.expect_code(2);
    let escaped = zero_width_inside(&u[1]).replace('\u{200B}', "\\u{200b}");
    let file = input.display();
    for said in [
        format!(
            "{file}:3:3: user key \"{escaped}\" holds the invisible character U+200B ZERO WIDTH \
             SPACE at character 2"
        ),
        format!(
            "{file}:4:{upn_column}: UPN \"{}\" holds the invisible character U+00A0 NO-BREAK SPACE at \
             character {}",
            nbsp_inside.replace('\u{A0}', "\\u{a0}"),
            nbsp_inside.find('\u{A0}').unwrap() + 1
        ),
        "2 of 3 rows are invalid".to_string(),
    ] {
        assert!(plan.stderr.contains(&said), "{said}\n{}", plan.stderr);
    }
    assert!(!t.planned().plan_file().exists(), "no plan is written");
    assert!(t.mutations().is_empty(), "{:?}", t.mutations());
}

#[test]
fn an_exclude_list_follows_the_same_rule() {
    let t = Scenario::start("invisible-exclude", generated(100, 245));
    let u = users::ordinary(&t.before, 4);
    let input = t.write_list(&u);
    // The edges: the three excluded users are excluded, and the removal is said.
    let mut text = String::from("userPrincipalName\n");
    for key in edged(&u[..3]) {
        text.push_str(&format!("{key}\n"));
    }
    let keep = t.write("keep.csv", text);
    let plan = t
        .plan(&input, Profile::DeviceRefresh)
        .args(&["--exclude", keep.to_str().unwrap()])
        .run();
    plan.expect_code(0);
    let said = format!(
        "{}: removed invisible characters from the edges of 3 cells naming users, first U+200B \
         ZERO WIDTH SPACE at line 2, column 1 (\"userPrincipalName\"), {THE_THREE}",
        keep.display()
    );
    assert!(plan.stderr.contains(&said), "{}", plan.stderr);
    assert!(plan_notes(&t).contains(&said), "{:?}", plan_notes(&t));
    assert_eq!(
        t.planned().statuses(),
        ["excluded", "excluded", "excluded", "planned"]
    );
    t.apply_plan().yes().run().expect_code(0);
    assert_untouched(&t, &u[..3]);
    t.assert_tenant_after(&u[3..], Profile::DeviceRefresh);

    // Inside a key: the exclude list is refused, and nothing is planned or changed.
    let t = Scenario::start("invisible-exclude-inside", generated(100, 246));
    let u = users::ordinary(&t.before, 2);
    let input = t.write_list(&u);
    let keep = t.write(
        "keep.json",
        serde_json::to_vec(&json!([zero_width_inside(&u[0])])).unwrap(),
    );
    let plan = t
        .apply(&input, Profile::DeviceRefresh)
        .args(&["--exclude", keep.to_str().unwrap()])
        .yes()
        .run();
    plan.expect_code(2);
    assert!(
        plan.stderr.contains(&format!(
            "{}:1:2: user key \"{}\" holds the invisible character U+200B ZERO WIDTH SPACE at \
             character 2",
            keep.display(),
            zero_width_inside(&u[0]).replace('\u{200B}', "\\u{200b}")
        )),
        "{}",
        plan.stderr
    );
    assert!(t.mutations().is_empty(), "{:?}", t.mutations());
}
