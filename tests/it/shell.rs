//! `mfa-reset completions SHELL` and `mfa-reset man [SUBCOMMAND]`: a completion script for
//! each shell that the shell itself parses (bash always; zsh and fish where installed),
//! and manual pages that `man -l` renders with their sections.

use std::process::{Command, Stdio};

use crate::support::process::mfa_reset;

fn stdout_of(args: &[&str]) -> String {
    let out = mfa_reset(args).output().expect("mfa-reset runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `shell -n FILE` (parse only, run nothing).
fn parses(shell: &str, script: &str, name: &str) {
    let file = std::env::temp_dir().join(format!("mfa-reset-{name}-{}", std::process::id()));
    std::fs::write(&file, script).unwrap();
    let out = Command::new(shell)
        .arg("-n")
        .arg(&file)
        .output()
        .expect("the shell runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{shell} -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn each_shells_completion_script_completes_the_subcommands_and_parses() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for word in ["plan", "apply", "resume", "tenants", "expect-fingerprint"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
        let checker = match shell {
            "powershell" => continue,
            other => other,
        };
        if checker == "bash" || installed(checker) {
            parses(checker, &script, shell);
        }
    }
    let refused = mfa_reset(&["completions", "tcsh"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn the_manual_pages_render_with_their_sections() {
    for (page, sections) in [
        (
            None,
            &["NAME", "SYNOPSIS", "DESCRIPTION", "SUBCOMMANDS"][..],
        ),
        (
            Some("apply"),
            &[
                "NAME",
                "SYNOPSIS",
                "OPTIONS",
                "INPUT",
                "GUARDRAILS",
                "TEMPORARY ACCESS PASS",
                "GRAPH CONNECTION",
                "OUTPUT",
                "Examples:",
                "Exit codes:",
            ][..],
        ),
        (
            Some("plan"),
            &["NAME", "SYNOPSIS", "POLICY", "Examples:"][..],
        ),
    ] {
        let args: Vec<&str> = std::iter::once("man").chain(page).collect();
        let roff = stdout_of(&args);
        let file = std::env::temp_dir().join(format!(
            "mfa-reset-{}-{}.1",
            page.unwrap_or("overview"),
            std::process::id()
        ));
        std::fs::write(&file, &roff).unwrap();
        let rendered = if installed("man") {
            let out = Command::new("man")
                .arg("-l")
                .arg(&file)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "100")
                .output()
                .expect("man runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            roff.clone()
        };
        let _ = std::fs::remove_file(&file);
        for section in sections {
            assert!(
                rendered.contains(section),
                "{page:?}: no {section}:\n{rendered}"
            );
        }
    }
    let unknown = mfa_reset(&["man", "nope"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("give one of check, plan"));
}
