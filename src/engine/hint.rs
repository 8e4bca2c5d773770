//! The commands mfa-reset prints for the operator to run next (`mfa-reset resume DIR`):
//! a path becomes one shell word, so that the command works as printed, pasted into a
//! POSIX shell, whatever the folder is called.

use std::path::Path;

/// `path` as one shell word: as it is when plain, else single-quoted (a `'` inside as
/// `'\''`).
pub fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The command that carries the run in `dir` on.
pub fn resume_command(dir: &Path) -> String {
    format!("mfa-reset resume {}", shell_quote(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_path_stays_and_any_other_is_quoted_to_one_word() {
        assert_eq!(shell_quote(Path::new("runs/2026-11-28")), "runs/2026-11-28");
        assert_eq!(shell_quote(Path::new("")), "''");
        assert_eq!(
            shell_quote(Path::new("run 1 'incident' & co")),
            r"'run 1 '\''incident'\'' & co'"
        );
    }
}
