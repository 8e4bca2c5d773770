//! The one place a Temporary Access Pass is written down: `DIR/secrets/tap.csv`, for the
//! administrator who hands each user their pass.
//!
//! The folder is created private (mode 0700) and the file is created with mode 0600 from
//! the start, never created readable and narrowed afterwards; an existing folder or file
//! that others can reach, or that belongs to another user, is refused rather than appended
//! to. A run that issues passes readies both before its first write ([`TapFile::prepare`]),
//! so that a folder left open is refused before anything changes, not at the first pass;
//! the run then appends to the file as passes come. Each row is fsynced before
//! [`TapFile::append`] returns, so a pass the run reports as issued is on disk. The pass
//! appears nowhere else — not in the journal, the results or any error message.
//!
//! The users' phone numbers and email addresses a run keeps for `mfa-reset restore`
//! live beside it, in `secrets/restore.jsonl`, under the same rules ([`restore`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::journal::sync_dir;
use crate::secret::Secret;

pub mod restore;

/// The secrets folder inside the run folder.
pub const SECRETS_DIR: &str = "secrets";
/// The passes file inside the secrets folder.
pub const TAP_FILE: &str = "tap.csv";
/// The columns of `tap.csv`: the user, the pass, when it starts working (Graph's
/// `startDateTime`), how long and how often it works, and when it stops working
/// (`expiryDateTime`: its start, or its creation when Graph gives no start, plus its
/// lifetime; UTC, RFC 3339). The expiry comes last so that a reader of the older
/// columns ([`LEGACY_TAP_HEADER`]) finds each one where it was.
pub const TAP_HEADER: [&str; 7] = [
    "userId",
    "userPrincipalName",
    "temporaryAccessPass",
    "startDateTime",
    "lifetimeInMinutes",
    "isUsableOnce",
    "expiryDateTime",
];

/// The columns of a `tap.csv` begun by mfa-reset before the expiry column: a run resumed
/// on such a file goes on writing rows of these columns, so that every row of a file has
/// its header's columns.
pub const LEGACY_TAP_HEADER: &[&str] = match TAP_HEADER.split_last() {
    Some((_expiry, older)) => older,
    None => &[],
};
/// One issued pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapRecord {
    pub user_id: String,
    pub user_principal_name: String,
    pub pass: Secret,
    /// When the pass starts working, as Graph answered (RFC 3339).
    pub start: Option<String>,
    pub lifetime_minutes: u32,
    pub usable_once: bool,
    /// When the pass stops working (RFC 3339, UTC); `None` when it cannot be told.
    pub expiry: Option<String>,
}

/// Why the secrets file could not be opened or written. No variant holds a pass.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    #[error(
        "{} is open to other users (mode {mode:03o}); a secrets file (passes, restore data) must be private: make it so with `chmod {expected:o} {}`, check who may have read it, then run again",
        path.display(), path.display()
    )]
    TooOpen {
        path: PathBuf,
        mode: u32,
        expected: u32,
    },
    #[error(
        "{} belongs to another user (uid {owner}; mfa-reset runs as uid {me}): secrets must be written where only you can read them; move it away, then run again",
        path.display()
    )]
    NotOwned { path: PathBuf, owner: u32, me: u32 },
    #[error(
        "{} is not a plain {}; remove or rename it, then run again",
        path.display(), if *dir { "folder" } else { "file" }
    )]
    NotPlain { path: PathBuf, dir: bool },
    #[error(
        "{} does not start with the tap.csv header, so it was not written by mfa-reset; move it away, then run again",
        path.display()
    )]
    NotOurs { path: PathBuf },
}

impl SecretsError {
    fn io(path: &Path, action: &'static str, source: io::Error) -> SecretsError {
        SecretsError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

/// `DIR/secrets/tap.csv`, open for appending.
#[derive(Debug)]
pub struct TapFile {
    path: PathBuf,
    file: File,
    /// The file was begun with [`LEGACY_TAP_HEADER`]: rows go without the expiry.
    legacy: bool,
}

impl TapFile {
    /// Where the passes of the run in `dir` go.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(SECRETS_DIR).join(TAP_FILE)
    }

    /// This file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates DIR/secrets (mode 0700) and DIR/secrets/tap.csv (mode 0600, created with
    /// that mode), or opens it for appending if it exists (resume). The header is written
    /// only when the file is new. An existing folder or file that others can reach is
    /// refused.
    pub fn open(dir: &Path) -> Result<TapFile, SecretsError> {
        let (path, mut file) = open_private(dir, TAP_FILE)?;
        let (kept, legacy) = complete_length(&path, &mut file)?;
        if kept == 0 {
            let header = encode(&TAP_HEADER).map_err(|e| SecretsError::io(&path, "write", e))?;
            write_synced(&file, &header).map_err(|e| SecretsError::io(&path, "write", e))?;
        }
        Ok(TapFile { path, file, legacy })
    }

    /// Whether the file has the columns of an earlier mfa-reset ([`LEGACY_TAP_HEADER`]),
    /// which its new rows keep: no expiry column.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// Readies DIR/secrets/tap.csv before a run's first write, as [`TapFile::open`] does
    /// (created private, the header written when new; refused when others can reach it),
    /// and closes it again: the run opens it when its first pass comes.
    pub fn prepare(dir: &Path) -> Result<PathBuf, SecretsError> {
        TapFile::open(dir).map(|file| file.path)
    }

    /// Checks, creating and writing nothing, that DIR/secrets and DIR/secrets/tap.csv are
    /// private and the user's where they exist already: a run that issues passes refuses
    /// a folder left open before it reads or changes anything (it readies them with
    /// [`TapFile::prepare`] just before its first write).
    pub fn check_existing(dir: &Path) -> Result<(), SecretsError> {
        let folder = dir.join(SECRETS_DIR);
        let path = folder.join(TAP_FILE);
        for (at, is_dir, expected) in [(&folder, true, 0o700), (&path, false, 0o600)] {
            let meta = match std::fs::symlink_metadata(at) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(SecretsError::io(at, "read", e)),
            };
            let plain = if is_dir {
                meta.file_type().is_dir()
            } else {
                meta.file_type().is_file()
            };
            if !plain {
                return Err(SecretsError::NotPlain {
                    path: at.clone(),
                    dir: is_dir,
                });
            }
            check_private(at, &meta, expected)?;
        }
        Ok(())
    }

    /// Appends one row, in the columns of the file's header, and fsyncs before returning.
    pub fn append(&mut self, record: &TapRecord) -> Result<(), SecretsError> {
        let lifetime = record.lifetime_minutes.to_string();
        let fields = [
            record.user_id.as_str(),
            record.user_principal_name.as_str(),
            record.pass.expose(),
            record.start.as_deref().unwrap_or(""),
            lifetime.as_str(),
            if record.usable_once { "true" } else { "false" },
            record.expiry.as_deref().unwrap_or(""),
        ];
        let columns = if self.legacy {
            LEGACY_TAP_HEADER.len()
        } else {
            TAP_HEADER.len()
        };
        let row =
            encode(&fields[..columns]).map_err(|e| SecretsError::io(&self.path, "write", e))?;
        write_synced(&self.file, &row).map_err(|e| SecretsError::io(&self.path, "write", e))
    }
}

/// Creates DIR/secrets (mode 0700) and the file `name` in it (mode 0600, created with that
/// mode), or opens the existing file for appending after checking that it is a plain file
/// only its owner may read: the secrets files are never created readable and narrowed
/// afterwards.
fn open_private(dir: &Path, name: &str) -> Result<(PathBuf, File), SecretsError> {
    let folder = dir.join(SECRETS_DIR);
    ensure_private_dir(&folder)?;
    let path = folder.join(name);
    let mut new = OpenOptions::new();
    new.read(true).append(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut new, 0o600);
    let file = match new.open(&path) {
        Ok(file) => {
            sync_dir(&folder);
            file
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta =
                std::fs::symlink_metadata(&path).map_err(|e| SecretsError::io(&path, "read", e))?;
            if !meta.file_type().is_file() {
                return Err(SecretsError::NotPlain { path, dir: false });
            }
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .map_err(|e| SecretsError::io(&path, "open", e))?;
            // Checked on the file opened, not only on the name.
            let meta = file
                .metadata()
                .map_err(|e| SecretsError::io(&path, "read", e))?;
            if !meta.is_file() {
                return Err(SecretsError::NotPlain { path, dir: false });
            }
            check_private(&path, &meta, 0o600)?;
            file
        }
        Err(e) => return Err(SecretsError::io(&path, "create", e)),
    };
    Ok((path, file))
}

/// One CSV row, quoted as needed. Only I/O errors come back: never a field's value.
fn encode(fields: &[&str]) -> io::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let failed = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        _ => io::Error::other("a row could not be encoded as CSV"),
    };
    writer.write_record(fields).map_err(failed)?;
    writer
        .into_inner()
        .map_err(|e| io::Error::other(e.error().to_string()))
}

/// One write, then fsync.
fn write_synced(mut file: &File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_data()
}

/// Checks the existing file's first line and drops an incomplete last row (a crash in the
/// middle of an append, which never returned), returning the length kept and whether the
/// header is [`LEGACY_TAP_HEADER`].
fn complete_length(path: &Path, file: &mut File) -> Result<(u64, bool), SecretsError> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| SecretsError::io(path, "read", e))?;
    let kept = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut legacy = false;
    if kept > 0 {
        let header = encode(&TAP_HEADER).map_err(|e| SecretsError::io(path, "read", e))?;
        let old = encode(LEGACY_TAP_HEADER).map_err(|e| SecretsError::io(path, "read", e))?;
        legacy = bytes.starts_with(&old);
        if !legacy && !bytes.starts_with(&header) {
            return Err(SecretsError::NotOurs {
                path: path.to_path_buf(),
            });
        }
    }
    if kept < bytes.len() {
        file.set_len(kept as u64)
            .and_then(|()| file.sync_data())
            .map_err(|e| SecretsError::io(path, "truncate the incomplete last row of", e))?;
    }
    Ok((kept as u64, legacy))
}

/// Creates the secrets folder private, or checks that the existing one is.
fn ensure_private_dir(folder: &Path) -> Result<(), SecretsError> {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(folder) {
        Ok(()) => {
            if let Some(parent) = folder.parent() {
                sync_dir(parent);
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(folder)
                .map_err(|e| SecretsError::io(folder, "read", e))?;
            if !meta.file_type().is_dir() {
                return Err(SecretsError::NotPlain {
                    path: folder.to_path_buf(),
                    dir: true,
                });
            }
            check_private(folder, &meta, 0o700)
        }
        Err(e) => Err(SecretsError::io(folder, "create", e)),
    }
}

/// Refuses a file or folder that its group or others may use, or that belongs to another
/// user than the one mfa-reset runs as.
#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata, expected: u32) -> Result<(), SecretsError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(SecretsError::NotOwned {
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SecretsError::TooOpen {
            path: path.to_path_buf(),
            mode,
            expected,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path, _: &std::fs::Metadata, _: u32) -> Result<(), SecretsError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mfa-reset-secrets-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn record(n: u32, pass: &str) -> TapRecord {
        TapRecord {
            user_id: format!("00000000-0000-0000-0000-00000000000{n}"),
            user_principal_name: format!("user{n}@contoso.com"),
            pass: Secret::new(pass),
            start: n
                .is_multiple_of(2)
                .then(|| "2026-11-28T10:41:12Z".to_string()),
            lifetime_minutes: 60 * n,
            usable_once: n % 2 == 1,
            expiry: Some(format!("2026-11-28T1{n}:41:12Z")),
        }
    }

    fn rows(path: &Path) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(path)
            .unwrap()
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn writes_header_once_and_rows_quoted() {
        let dir = scratch("rows");
        let mut file = TapFile::open(&dir).unwrap();
        file.append(&record(1, "plain-Pass1")).unwrap();
        file.append(&record(2, "has,comma \"and quote\"")).unwrap();
        drop(file);
        let mut file = TapFile::open(&dir).unwrap();
        file.append(&record(3, "third")).unwrap();
        drop(file);
        // Opening and dropping without a row changes nothing.
        drop(TapFile::open(&dir).unwrap());

        let rows = rows(&TapFile::path_in(&dir));
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(rows[0], TAP_HEADER);
        assert_eq!(
            rows[1],
            [
                "00000000-0000-0000-0000-000000000001",
                "user1@contoso.com",
                "plain-Pass1",
                "",
                "60",
                "true",
                "2026-11-28T11:41:12Z"
            ]
        );
        assert_eq!(rows[2][2], "has,comma \"and quote\"");
        assert_eq!(rows[2][3], "2026-11-28T10:41:12Z");
        assert_eq!(rows[2][5], "false");
        assert_eq!(rows[3][2], "third");
    }

    #[test]
    fn each_row_is_on_disk_when_append_returns() {
        let dir = scratch("synced");
        let mut file = TapFile::open(&dir).unwrap();
        file.append(&record(1, "pass-one")).unwrap();
        // Read through another handle while `file` is still open.
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn incomplete_last_row_is_dropped_on_reopen() {
        let dir = scratch("torn");
        let mut file = TapFile::open(&dir).unwrap();
        file.append(&record(1, "pass-one")).unwrap();
        drop(file);
        let path = TapFile::path_in(&dir);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"0000,user2@contoso.com,half-a-pa");
        std::fs::write(&path, &bytes).unwrap();
        let mut file = TapFile::open(&dir).unwrap();
        file.append(&record(3, "pass-three")).unwrap();
        let rows = rows(&path);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[2][2], "pass-three");

        // A crash before the header was whole: the header is written again.
        std::fs::write(&path, b"userId,userPrinc").unwrap();
        drop(TapFile::open(&dir).unwrap());
        assert_eq!(rows_of(&path), 1);
    }

    #[test]
    fn a_file_begun_without_the_expiry_column_keeps_its_columns_on_resume() {
        let dir = scratch("legacy");
        drop(TapFile::open(&dir).unwrap());
        let path = TapFile::path_in(&dir);
        // As an earlier mfa-reset left it: its header, one row, and a torn row.
        let mut old = encode(LEGACY_TAP_HEADER).unwrap();
        old.extend_from_slice(
            b"00000000-0000-0000-0000-000000000009,user9@contoso.com,old-pass,,60,false\n",
        );
        std::fs::write(&path, [old.as_slice(), b"0000,user8@con"].concat()).unwrap();

        let mut file = TapFile::open(&dir).unwrap();
        assert!(file.is_legacy());
        file.append(&record(2, "new-pass")).unwrap();
        drop(file);
        let text = std::fs::read(&path).unwrap();
        assert!(text.starts_with(&old), "what was there is kept as it was");
        let written = rows(&path);
        assert_eq!(written.len(), 3, "{written:?}");
        assert_eq!(written[0], LEGACY_TAP_HEADER);
        assert_eq!(written[1][2], "old-pass");
        assert_eq!(
            written[2],
            [
                "00000000-0000-0000-0000-000000000002",
                "user2@contoso.com",
                "new-pass",
                "2026-11-28T10:41:12Z",
                "120",
                "false"
            ],
            "the new row has the file's six columns"
        );
        // Readied again (a second resume): still the old columns, nothing added.
        TapFile::prepare(&dir).unwrap();
        assert_eq!(rows_of(&path), 3);
        // A new file has the expiry column.
        let fresh = scratch("legacy-fresh");
        assert!(!TapFile::open(&fresh).unwrap().is_legacy());
        assert_eq!(rows(&TapFile::path_in(&fresh)), [TAP_HEADER]);
    }

    fn rows_of(path: &Path) -> usize {
        rows(path).len()
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = scratch("foreign");
        drop(TapFile::open(&dir).unwrap());
        let path = TapFile::path_in(&dir);
        std::fs::write(&path, "name,password\nbob,hunter2\n").unwrap();
        let err = TapFile::open(&dir).unwrap_err();
        assert!(matches!(err, SecretsError::NotOurs { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[cfg(unix)]
    #[test]
    fn modes_are_private_from_the_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("modes");
        let file = TapFile::open(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(SECRETS_DIR)), 0o700);
        assert_eq!(mode(file.path()), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn an_open_file_or_folder_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("too-open");
        let mut file = TapFile::open(&dir).unwrap();
        file.append(&record(1, "s3cret-pass")).unwrap();
        drop(file);
        let path = TapFile::path_in(&dir);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let before = std::fs::read(&path).unwrap();
        let err = TapFile::open(&dir).unwrap_err();
        assert!(
            matches!(err, SecretsError::TooOpen { mode: 0o644, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("mode 644"), "{message}");
        assert!(message.contains("chmod 600"), "{message}");
        assert!(!message.contains("s3cret-pass"), "{message}");
        assert!(!format!("{err:?}").contains("s3cret-pass"));
        assert_eq!(std::fs::read(&path).unwrap(), before, "left untouched");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let folder = dir.join(SECRETS_DIR);
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = TapFile::open(&dir).unwrap_err();
        assert!(
            matches!(err, SecretsError::TooOpen { mode: 0o755, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("chmod 700"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn prepare_readies_a_private_file_with_its_header_and_refuses_an_open_folder() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("prepare");
        let path = TapFile::prepare(&dir).unwrap();
        assert_eq!(path, TapFile::path_in(&dir));
        assert_eq!(rows(&path), [TAP_HEADER]);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(SECRETS_DIR)), 0o700);
        assert_eq!(mode(&path), 0o600);
        // Again (resume): nothing changes.
        TapFile::prepare(&dir).unwrap();
        assert_eq!(rows(&path), [TAP_HEADER]);

        let open = scratch("prepare-open");
        std::fs::create_dir(open.join(SECRETS_DIR)).unwrap();
        std::fs::set_permissions(
            open.join(SECRETS_DIR),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let err = TapFile::prepare(&open).unwrap_err();
        assert!(
            matches!(err, SecretsError::TooOpen { mode: 0o755, .. }),
            "{err:?}"
        );
        assert!(!TapFile::path_in(&open).exists(), "nothing written into it");
        let err = TapFile::check_existing(&open).unwrap_err();
        assert!(err.to_string().contains("chmod 700"), "{err}");

        // Checking creates nothing, and finds a file others can read.
        let fresh = scratch("check-fresh");
        TapFile::check_existing(&fresh).unwrap();
        assert!(!fresh.join(SECRETS_DIR).exists());
        TapFile::prepare(&fresh).unwrap();
        TapFile::check_existing(&fresh).unwrap();
        let path = TapFile::path_in(&fresh);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = TapFile::check_existing(&fresh).unwrap_err();
        assert!(
            matches!(err, SecretsError::TooOpen { mode: 0o644, .. }),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_refused() {
        let dir = scratch("symlink");
        let folder = dir.join(SECRETS_DIR);
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let elsewhere = dir.join("elsewhere.csv");
        std::fs::write(&elsewhere, "").unwrap();
        std::os::unix::fs::symlink(&elsewhere, folder.join(TAP_FILE)).unwrap();
        let err = TapFile::open(&dir).unwrap_err();
        assert!(
            matches!(err, SecretsError::NotPlain { dir: false, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn debug_never_shows_the_pass() {
        let shown = format!("{:?}", record(1, "s3cret-pass"));
        assert!(!shown.contains("s3cret-pass"), "{shown}");
    }
}
