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

/// Hostile keys among ordinary users, planned with `--skip-invalid` and applied against
/// the emulator: the hostile rows end `invalid` (or `not-found`, for the two that are
/// well-formed UPNs no user has), every row has one result, and the emulator's mutation
/// log shows changes for the ordinary users only.
#[test]
fn hostile_keys_among_real_users_change_only_the_real_users() {
    use mfa_reset::secret::Secret;
    use mfa_reset::sim::{Sim, SimConfig, TenantSource};

    let dir = std::env::temp_dir().join(format!("mfa-reset-hostile-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = Sim::start_background(SimConfig {
        tenant: TenantSource::Generate {
            users: 60,
            seed: 88,
        },
        static_token: Some(Secret::new("hostile-token")),
        ..SimConfig::default()
    })
    .unwrap();
    let state = serde_json::to_value(sim.state()).unwrap();
    let ordinary: Vec<(String, String)> = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["roles"].as_array().is_none_or(|r| r.is_empty()))
        .take(5)
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_string(),
                u["userPrincipalName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let victim = &ordinary[0].1;
    let hostile = [
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
    ];
    let mut csv = String::from("userPrincipalName,ticket\n");
    for (i, key) in hostile.iter().enumerate() {
        csv.push_str(&format!("\"{key}\",=HYPERLINK(\"http://x\") {i}\n"));
    }
    for (_, upn) in &ordinary {
        csv.push_str(&format!("\"{upn}\",+1+1\n"));
    }
    let input = dir.join("users.csv");
    std::fs::write(&input, csv).unwrap();
    let base = sim.base_url().to_string();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--graph-url", &base, "--login-url", &base])
            .env("MFA_RESET_ACCESS_TOKEN", "hostile-token")
            .env_remove("AZURE_CLIENT_SECRET")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        no_panic(&stderr);
        (out.status.code().unwrap_or(-1), stderr)
    };
    let plan = dir.join("plan");
    let (code, err) = run(&[
        "plan",
        input.to_str().unwrap(),
        "--skip-invalid",
        "--profile",
        "incident",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let out = dir.join("run");
    let (code, err) = run(&[
        "apply",
        plan.join("plan.json").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--yes",
    ]);
    assert!(matches!(code, 0 | 1), "{err}");

    let rows: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
    let ids: std::collections::BTreeSet<&str> =
        ordinary.iter().map(|(id, _)| id.as_str()).collect();
    let mutations = sim.mutations();
    let mutations = mutations["value"].as_array().unwrap();
    assert!(!mutations.is_empty(), "the ordinary users were changed");
    for m in mutations {
        let user = m["userId"].as_str().unwrap_or_default();
        assert!(ids.contains(user), "a change reached {user}: {m}");
    }
    // Formulas in carried columns are neutralised in the CSV, kept in the JSON.
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(
        csv.contains("'=HYPERLINK") && csv.contains("'+1+1"),
        "{csv}"
    );
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",+1+1"),
        "{csv}"
    );
    assert!(rows.iter().any(|r| r.to_string().contains("=HYPERLINK")));
}

/// A record larger than any user list holds (one 70 MB line, past the reader's 64 MiB
/// limit on a record): a clear error naming the file and the limit, exit 2, no panic.
#[test]
fn an_oversized_record_is_a_clear_file_error() {
    let dir = std::env::temp_dir().join(format!("mfa-reset-hostile-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("huge.csv");
    let mut text = String::from("userPrincipalName,notes\nalice@contoso.example,\"");
    text.push_str(&"x".repeat(70 << 20));
    text.push_str("\"\n");
    std::fs::write(&file, text).unwrap();
    let (code, stdout, stderr) = check(&file);
    no_panic(&stderr);
    assert_eq!(code, 2, "{stdout}{stderr}");
    let said = format!("{stdout}{stderr}");
    assert!(said.contains(&file.display().to_string()), "{said}");
    assert!(said.contains("MiB"), "names the limit: {said}");
    let _ = std::fs::remove_dir_all(&dir);
}
