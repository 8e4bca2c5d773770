//! Hostile input corpus for `mfa-reset check`: user keys built to change the request
//! target or to disguise themselves, and binary and wrongly encoded files. Every case
//! asserts what a user sees: exit code 2, an error naming FILE:LINE:COLUMN (or the file),
//! no panic and no stack trace. And hostile keys among real users, planned and applied
//! against the emulator, change only the real users.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::oracle::Profile;
use crate::support::process::{Run, mfa_reset};
use crate::support::scenario::{Scenario, generated};
use crate::support::users::{id_of, upn, without_role};
use crate::support::{corpus, s, scratch};

/// `mfa-reset check FILE`, which must not panic.
fn check(path: &Path) -> Run {
    let run = Run::of(&mut mfa_reset(&["check", s(path)]));
    run.assert_no_panic();
    run
}

/// Writes `bytes` to a file `name` of a fresh scratch folder `dir`.
#[track_caller]
fn file(dir: &str, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = scratch(dir).join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `check` named each of `lines` of `file` as an invalid row, at column 1.
fn assert_invalid_lines(run: &Run, file: &Path, lines: &[usize]) {
    for line in lines {
        let prefix = format!("{}:{line}:1: ", file.display());
        assert!(
            run.stdout.contains(&prefix),
            "missing {prefix}\n{}",
            run.stdout
        );
    }
}

#[test]
fn request_target_tricks_are_invalid_rows_with_positions() {
    let file = corpus("hostile/upns.csv");
    let run = check(&file);
    run.expect_code(2);
    let stdout = &run.stdout;
    // Lines 2, 3, 5, 6 hold keys with '/', '?', '%' (and an OData `')` trick with '/'):
    // invalid rows. Line 4 (`carol@contoso.example#frag`) is accepted as a key: the
    // client percent-encodes every path segment (src/graph/endpoints.rs SEGMENT), so
    // '#' cannot become a fragment; against a tenant it would be `not-found`.
    let line4 = format!("{}:4:", file.display());
    assert!(!stdout.contains(&line4), "{stdout}");
    assert!(stdout.contains("4 invalid rows"), "{stdout}");
    assert_invalid_lines(&run, &file, &[2, 3, 5, 6]);
}

#[test]
fn binary_file_is_a_clear_file_error() {
    let png = file(
        "binary",
        "image.csv",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01",
    );
    let run = check(&png);
    run.expect_code(2);
    assert!(
        run.stderr.contains(&png.display().to_string()),
        "{}",
        run.stderr
    );
}

#[test]
fn control_characters_lookalikes_and_long_keys_never_panic() {
    let long = format!("{}@contoso.example", "a".repeat(10_000));
    let text = format!(
        "userPrincipalName\n\"nul\0@contoso.example\"\n\"cr\rlf\n@contoso.example\"\nrlo\u{202e}@contoso.example\n{long}\n"
    );
    let file = file("controls", "controls.csv", text);
    let run = check(&file);
    run.expect_code(2);
    // NUL (line 2), CR/LF in a quoted cell (line 3), the right-to-left override U+202E,
    // which would disguise the name on a terminal or in a report (line 5), and the
    // 10,016-character key (line 6) are all invalid.
    assert!(run.stdout.contains("4 invalid rows"), "{}", run.stdout);
    assert_invalid_lines(&run, &file, &[2, 3, 5, 6]);
    // The override is named, not echoed raw.
    assert!(!run.stdout.contains('\u{202e}'), "{}", run.stdout);
}

#[test]
fn latin1_file_is_an_error_naming_the_file() {
    let file = file(
        "latin1",
        "latin1.csv",
        b"userPrincipalName,name\nren\xe9@contoso.example,Ren\xe9\n",
    );
    let run = check(&file);
    run.expect_code(2);
    let said = run.output();
    assert!(said.contains(&file.display().to_string()), "{said}");
}

/// A record larger than any user list holds (one 70 MB line, past the reader's 64 MiB
/// limit on a record): a clear error naming the file and the limit, exit 2, no panic.
#[test]
fn an_oversized_record_is_a_clear_file_error() {
    let mut text = String::from("userPrincipalName,notes\nalice@contoso.example,\"");
    text.push_str(&"x".repeat(70 << 20));
    text.push_str("\"\n");
    let file = file("big", "huge.csv", text);
    let run = check(&file);
    run.expect_code(2);
    let said = run.output();
    assert!(said.contains(&file.display().to_string()), "{said}");
    assert!(said.contains("MiB"), "names the limit: {said}");
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

/// Keys built from `victim`'s UPN to change the request target or to pass for it.
fn hostile_keys(victim: &str) -> Vec<String> {
    vec![
        format!("{victim}/../../users"),
        format!("{victim}?$filter=true"),
        format!("{victim}#x"),
        format!("{victim}')/x"),
        format!("{}%2F..", victim),
        format!("rlo\u{202e}{victim}"),
        // In the middle: at either end the reader trims it like a space, and the row
        // is then the victim, as typed.
        victim.replacen('@', "\u{200b}@", 1),
        "a".repeat(2000),
    ]
}

/// Hostile keys among ordinary users, planned with `--skip-invalid` and applied against
/// the emulator: the hostile rows end `invalid` (or `not-found`, for the two that are
/// well-formed UPNs no user has), every row has one result, and the emulator's mutation
/// log shows changes for the ordinary users only.
#[test]
fn hostile_keys_among_real_users_change_only_the_real_users() {
    let t = Scenario::start("e2e", generated(60, 88));
    let ordinary = without_role(&t.before, 5);
    let hostile = hostile_keys(upn(&ordinary[0]));
    let mut csv = String::from("userPrincipalName,ticket\n");
    for (i, key) in hostile.iter().enumerate() {
        csv.push_str(&format!("\"{key}\",=HYPERLINK(\"http://x\") {i}\n"));
    }
    for u in &ordinary {
        csv.push_str(&format!("\"{}\",+1+1\n", upn(u)));
    }
    let input = t.write("users.csv", csv);
    // Invalid and not-found rows: the plan is written, and exits 1 as the run will.
    t.plan(&input, Profile::Incident)
        .args(&["--skip-invalid"])
        .run()
        .expect_code(1);
    let run = t.apply_plan().yes().run();
    assert!(matches!(run.code(), Some(0 | 1)), "{}", run.stderr);

    let rows = t.out().rows();
    assert_eq!(rows.len(), hostile.len() + ordinary.len());
    for (key, row) in hostile.iter().zip(&rows) {
        let status = row["status"].as_str().unwrap();
        // `#` is legal in a UPN's text and percent-encoded on the wire: such a key names
        // no user. Everything else is refused before any request.
        let expected = if key.ends_with("#x") {
            "not-found"
        } else {
            "invalid"
        };
        assert_eq!(status, expected, "{key:?}: {row}");
    }
    let ids: BTreeSet<&str> = ordinary.iter().map(id_of).collect();
    let mutations = t.mutations();
    assert!(!mutations.is_empty(), "the ordinary users were changed");
    for m in &mutations {
        let user = m["userId"].as_str().unwrap_or_default();
        assert!(ids.contains(user), "a change reached {user}: {m}");
    }
    // Formulas in carried columns are neutralised in the CSV, kept in the JSON.
    let csv = std::fs::read_to_string(t.out().join("results.csv")).unwrap();
    assert!(
        csv.contains("'=HYPERLINK") && csv.contains("'+1+1"),
        "{csv}"
    );
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",+1+1"),
        "{csv}"
    );
    assert!(
        rows.iter()
            .any(|r: &Value| r.to_string().contains("=HYPERLINK"))
    );
}
