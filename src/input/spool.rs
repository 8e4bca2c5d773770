//! A user list given as `-` (standard input) or as a pipe (`/dev/stdin`, `<(…)`): read once
//! into a file of its own, so that `plan` and `apply` can read it twice (the list, then the
//! rows again as they are planned) and hash it like any file. A list in a regular file is
//! used where it is.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::InputError;

/// How a user list reached the command.
#[derive(Debug)]
pub struct Spooled {
    /// The file to read the list from.
    pub path: PathBuf,
    /// What the list is called in reports: `-` for standard input, else the path given.
    pub name: String,
    /// The spool file, removed when this is dropped (`None` for a regular file).
    spool: Option<PathBuf>,
}

impl Spooled {
    /// Whether the list came from standard input or a pipe.
    pub fn spooled(&self) -> bool {
        self.spool.is_some()
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if let Some(spool) = &self.spool {
            let _ = std::fs::remove_file(spool);
        }
    }
}

/// Whether `path` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// `path` as a file that can be read twice: standard input (`-`) or a pipe read once into
/// a private file of the system's temporary folder; a regular file as it is.
pub fn spool(path: &Path) -> Result<Spooled, InputError> {
    let unreadable = |error| InputError::Unreadable {
        path: path.to_path_buf(),
        error,
    };
    let regular = !is_stdin(path)
        && std::fs::metadata(path)
            .map_err(unreadable)?
            .file_type()
            .is_file();
    if regular {
        return Ok(Spooled {
            path: path.to_path_buf(),
            name: path.display().to_string(),
            spool: None,
        });
    }
    let mut bytes = Vec::new();
    if is_stdin(path) {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    }
    .map_err(unreadable)?;
    let file = std::env::temp_dir().join(format!(
        "mfa-reset-list-{}-{}",
        std::process::id(),
        crate::wire::random_guid()
    ));
    write_private(&file, &bytes).map_err(unreadable)?;
    Ok(Spooled {
        path: file.clone(),
        name: path.display().to_string(),
        spool: Some(file),
    })
}

/// Writes `bytes` to a new file only its owner may read (user lists name people), synced.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_used_where_it_is_and_a_pipe_is_read_once_into_a_private_file() {
        let dir = std::env::temp_dir().join(format!("mfa-reset-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("users.csv");
        std::fs::write(&list, "userPrincipalName\na@contoso.example\n").unwrap();
        let same = spool(&list).unwrap();
        assert_eq!(same.path, list);
        assert!(!same.spooled());
        // A FIFO stands for a pipe.
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, "a@contoso.example\n").unwrap())
        };
        let spooled = spool(&fifo).unwrap();
        writer.join().unwrap();
        assert!(spooled.spooled());
        assert_eq!(
            std::fs::read_to_string(&spooled.path).unwrap(),
            "a@contoso.example\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&spooled.path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let kept = spooled.path.clone();
        drop(spooled);
        assert!(!kept.exists(), "the spool goes with the command");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
