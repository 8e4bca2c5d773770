//! `--help` reads like a manual: each command's flags under the same headings (Input,
//! Policy, Temporary Access Pass, Guardrails, Graph connection, Output), in that order,
//! then examples; `-h` keeps the headings and examples, `--help` adds the exit codes.

use crate::support::process::mfa_reset;

fn help(args: &[&str]) -> String {
    let out = mfa_reset(args).output().expect("mfa-reset runs");
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The headings of a help text, in order: its lines that end in `:` and start a column.
fn headings(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect()
}

#[test]
fn each_command_groups_its_flags_under_the_same_headings_and_ends_with_examples() {
    let expected: [(&str, &[&str]); 5] = [
        ("check", &["Input:", "Output:", "Examples:"]),
        (
            "plan",
            &[
                "Input:",
                "Policy:",
                "Temporary Access Pass:",
                "Guardrails:",
                "Graph connection:",
                "Output:",
                "Examples:",
            ],
        ),
        (
            "apply",
            &[
                "Input:",
                "Policy (with a user list):",
                "Temporary Access Pass:",
                "Guardrails:",
                "Graph connection:",
                "Output:",
                "Examples:",
            ],
        ),
        (
            "resume",
            &[
                "Output:",
                "Graph connection (the run's, from run.json, unless given):",
                "Examples:",
            ],
        ),
        (
            "restore",
            &[
                "Input:",
                "Guardrails:",
                "Output:",
                "Graph connection (the run's, from run.json, unless given):",
                "Examples:",
            ],
        ),
    ];
    for (command, wanted) in expected {
        for flag in ["-h", "--help"] {
            let text = help(&[command, flag]);
            let found: Vec<&str> = headings(&text)
                .into_iter()
                .filter(|h| !matches!(*h, "Arguments:" | "Options:" | "Exit codes:" | "Usage:"))
                .collect();
            assert_eq!(found, wanted, "{command} {flag}:\n{text}");
            let examples = text.split("Examples:").nth(1).unwrap();
            let lines = examples
                .lines()
                .filter(|l| l.trim_start().starts_with("mfa-reset "))
                .count();
            assert!(lines >= 2, "{command} {flag}: {examples}");
        }
        if command != "check" {
            assert!(
                help(&[command, "--help"]).contains("Exit codes:"),
                "{command}"
            );
        }
    }
    // Where each flag lives, for the flags an operator looks for first.
    let plan = help(&["plan", "--help"]);
    let under = |flag: &str| -> String {
        let at = plan.find(&format!("--{flag}")).unwrap();
        headings(&plan[..at]).last().unwrap().to_string()
    };
    assert_eq!(under("issue-tap"), "Temporary Access Pass:");
    assert_eq!(under("exclude-group"), "Guardrails:");
    assert_eq!(under("include-admins"), "Guardrails:");
    assert_eq!(under("tenant-size"), "Graph connection:");
    assert_eq!(under("output"), "Output:");
    assert_eq!(under("profile"), "Policy:");
    // The safe default pacing: the tenant is counted, not assumed large.
    assert!(plan.contains("[default: auto]"), "{plan}");
}
