//! What `--help` ends with: a few examples per command, in the style of cargo's and
//! ripgrep's help, then (with `--help`, not `-h`) the exit codes. The examples are real
//! command lines: a test parses each one, so they cannot drift from the flags.

/// `mfa-reset check`'s examples.
pub const CHECK_EXAMPLES: &[(&str, &str)] = &[
    (
        "Check a list before a change window",
        "mfa-reset check leavers.csv",
    ),
    (
        "Read the users from a named column of an export",
        "mfa-reset check export.csv --column \"Sign-in name\"",
    ),
    (
        "Check a list on standard input, for a script",
        "mfa-reset check - -o json",
    ),
];

/// `mfa-reset plan`'s examples.
pub const PLAN_EXAMPLES: &[(&str, &str)] = &[
    (
        "Rehearse against the built-in emulator (no tenant touched)",
        "mfa-reset plan samples/users-comma.csv --profile device-refresh --issue-tap --tenant sim --out /tmp/rehearsal",
    ),
    (
        "Plan a phone-fleet swap, sparing the break-glass group",
        "mfa-reset plan users.csv --profile device-refresh --issue-tap --exclude-group \"Break glass\" --out plan-2026-12-03",
    ),
    (
        "Count the users a script would see planned",
        "mfa-reset plan users.csv --profile incident --out plan -o json",
    ),
];

/// `mfa-reset apply`'s examples.
pub const APPLY_EXAMPLES: &[(&str, &str)] = &[
    (
        "Carry out the plan the change board approved",
        "mfa-reset apply plan-2026-12-03/plan.json --expect-fingerprint sha256:4f2a… --out run-2026-12-03",
    ),
    (
        "Contain an incident straight from the list",
        "mfa-reset apply compromised.csv --profile incident --yes --out run-incident",
    ),
    (
        "Rehearse the whole job against the built-in emulator",
        "mfa-reset apply samples/users-comma.csv --profile device-refresh --issue-tap --tenant sim --yes --out /tmp/rehearsal-run",
    ),
];

/// `mfa-reset resume`'s examples.
pub const RESUME_EXAMPLES: &[(&str, &str)] = &[
    (
        "Carry on after Ctrl-C, a kill or an outage",
        "mfa-reset resume run-2026-12-03",
    ),
    (
        "Retry the failed users once the missing permission is granted",
        "mfa-reset resume run-2026-12-03 --retry-failed",
    ),
];

/// `mfa-reset restore`'s examples.
pub const RESTORE_EXAMPLES: &[(&str, &str)] = &[
    (
        "Undo a run: see what comes back, then confirm",
        "mfa-reset restore run-2026-12-03",
    ),
    (
        "Undo only the rows that were wrong, phones and accounts only",
        "mfa-reset restore run-2026-12-03 --users wrong-rows.csv --only phone,account --yes",
    ),
];

/// The examples as `--help` shows them.
pub fn examples(examples: &[(&str, &str)]) -> String {
    let mut text = String::from("Examples:\n");
    for (what, line) in examples {
        text.push_str(&format!("  {what}:\n    {line}\n"));
    }
    text.trim_end().to_string()
}

/// The examples, then the exit codes: what `--help` ends with.
pub fn examples_and_exit_codes(list: &[(&str, &str)], exit_codes: &str) -> String {
    format!("{}\n\n{exit_codes}", examples(list))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    /// Splits a command line as a shell would, for the examples' simple quoting.
    fn words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        words.push(word);
        words
    }

    #[test]
    fn every_example_is_a_command_line_the_tool_accepts() {
        for (command, list) in [
            ("check", CHECK_EXAMPLES),
            ("plan", PLAN_EXAMPLES),
            ("apply", APPLY_EXAMPLES),
            ("resume", RESUME_EXAMPLES),
            ("restore", RESTORE_EXAMPLES),
        ] {
            assert!(list.len() >= 2, "{command}");
            for (_, line) in list {
                let words = words(line);
                assert_eq!(words[1], command, "{line}");
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("{line}: {e}");
                }
            }
        }
    }
}
