//! Hostile input corpus for `mfa-reset check`: user keys built to change the request
//! target or to disguise themselves, and binary and wrongly encoded files. Every case asserts what a user sees: exit code 2, an error
//! naming FILE:LINE:COLUMN (or the file), no panic and no stack trace.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mfa-reset");

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/hostile")
        .join(name)
}

fn check(path: &Path) -> (i32, String, String) {
    let out = Command::new(BIN).arg("check").arg(path).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
}

#[test]
fn request_target_tricks_are_invalid_rows_with_positions() {
    let file = corpus("upns.csv");
    let (code, stdout, stderr) = check(&file);
    no_panic(&stderr);
    assert_eq!(code, 2, "{stdout}{stderr}");
    // Lines 2, 3, 5, 6 hold keys with '/', '?', '%' (and an OData `')` trick with '/'):
    // invalid rows. Line 4 (`carol@contoso.example#frag`) is accepted as a key: the
    // client percent-encodes every path segment (src/graph/endpoints.rs SEGMENT), so
    // '#' cannot become a fragment; against a tenant it would be `not-found`.
    let line4 = format!("{}:4:", file.display());
    assert!(!stdout.contains(&line4), "{stdout}");
    assert!(stdout.contains("4 invalid rows"), "{stdout}");
    for line in [2, 3, 5, 6] {
        let prefix = format!("{}:{line}:1: ", file.display());
        assert!(stdout.contains(&prefix), "missing {prefix}\n{stdout}");
    }
}

#[test]
fn binary_file_is_a_clear_file_error() {
    let dir = std::env::temp_dir().join(format!("mfa-reset-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("image.csv");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01").unwrap();
    let (code, stdout, stderr) = check(&png);
    no_panic(&stderr);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains(&png.display().to_string()), "{stderr}");
}

#[test]
fn control_characters_lookalikes_and_long_keys_never_panic() {
    let dir = std::env::temp_dir().join(format!("mfa-reset-hostile-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let long = format!("{}@contoso.example", "a".repeat(10_000));
    let text = format!(
        "userPrincipalName\n\"nul\0@contoso.example\"\n\"cr\rlf\n@contoso.example\"\nrlo\u{202e}@contoso.example\n{long}\n"
    );
    let file = dir.join("controls.csv");
    std::fs::write(&file, text).unwrap();
    let (code, stdout, stderr) = check(&file);
    no_panic(&stderr);
    assert_eq!(code, 2, "{stdout}{stderr}");
    // NUL (line 2), CR/LF in a quoted cell (line 3), the right-to-left override U+202E,
    // which would disguise the name on a terminal or in a report (line 5), and the
    // 10,016-character key (line 6) are all invalid.
    assert!(stdout.contains("4 invalid rows"), "{stdout}");
    for line in [2, 3, 5, 6] {
        let prefix = format!("{}:{line}:1: ", file.display());
        assert!(stdout.contains(&prefix), "missing {prefix}\n{stdout}");
    }
    // The override is named, not echoed raw.
    assert!(!stdout.contains('\u{202e}'), "{stdout}");
}

#[test]
fn latin1_file_is_an_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("mfa-reset-hostile-l-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latin1.csv");
    std::fs::write(
        &file,
        b"userPrincipalName,name\nren\xe9@contoso.example,Ren\xe9\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(&file);
    no_panic(&stderr);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains(&file.display().to_string()),
        "{stdout}{stderr}"
    );
}
