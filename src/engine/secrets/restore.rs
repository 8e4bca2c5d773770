//! `DIR/secrets/restore.jsonl`: what `mfa-reset restore` needs to undo a run as far as
//! Graph allows, and that nothing else may hold. Phone numbers and email addresses are
//! personal data: they are written here only — never into `plan.json`, the journal, the
//! results, the reports or a log — in the private secrets folder (0700), in a file created
//! with mode 0600 ([`super::open_private`]).
//!
//! A run appends one [`RestoreRecord`] per user, fsynced, after the user's re-read and
//! before the user's first change: the phone and email methods the user holds then, the
//! account's enabled state, and the default method the plan read. A resumed run reads a
//! user again and appends again; the first record of a user is the state before the run
//! ([`RestoreFile::read`] keeps it). A crash in the middle of an append leaves an
//! incomplete last line, dropped when the file is opened again.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{SECRETS_DIR, SecretsError, open_private, write_synced};
use crate::wire::MethodType;

/// The restore data file inside the secrets folder.
pub const RESTORE_FILE: &str = "restore.jsonl";

/// A phone method as it was: enough to create it again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneToRestore {
    /// The method's id (fixed per phone type in Graph).
    pub id: String,
    /// `mobile`, `alternateMobile` or `office`.
    pub phone_type: String,
    /// As Graph gave it: `+1 2065555555`.
    pub phone_number: String,
}

/// The email method as it was.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailToRestore {
    pub id: String,
    pub email_address: String,
}

/// One user's restorable state before the run changed them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRecord {
    /// The plan entry's row (0-based, the plan's order).
    pub row: usize,
    pub user_id: String,
    pub user_principal_name: String,
    /// When the state was read (RFC 3339).
    pub read_at: String,
    /// `accountEnabled` before the run, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_enabled: Option<bool>,
    /// The default MFA method before the run, in Graph's words (`push`, `sms`, …), when
    /// the plan read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_method: Option<String>,
    /// The phone methods the user held.
    #[serde(default)]
    pub phones: Vec<PhoneToRestore>,
    /// The email method the user held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailToRestore>,
}

impl RestoreRecord {
    /// Takes the phone and email methods out of Graph's answer to `GET
    /// /users/{id}/authentication/methods` (`body`).
    pub fn take_methods(&mut self, body: &Value) {
        let listed = body
            .get("value")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for method in listed {
            let kind = method["@odata.type"]
                .as_str()
                .and_then(MethodType::from_odata_type);
            let id = method["id"].as_str().unwrap_or_default().to_string();
            match kind {
                Some(MethodType::Phone) => {
                    if let (Some(number), Some(phone_type)) =
                        (method["phoneNumber"].as_str(), method["phoneType"].as_str())
                    {
                        self.phones.push(PhoneToRestore {
                            id,
                            phone_type: phone_type.to_string(),
                            phone_number: number.to_string(),
                        });
                    }
                }
                Some(MethodType::Email) => {
                    if let Some(address) = method["emailAddress"].as_str() {
                        self.email = Some(EmailToRestore {
                            id,
                            email_address: address.to_string(),
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

/// Never the numbers or the address: how many, and of what type.
impl fmt::Debug for RestoreRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phones: Vec<&str> = self.phones.iter().map(|p| p.phone_type.as_str()).collect();
        f.debug_struct("RestoreRecord")
            .field("row", &self.row)
            .field("user_id", &self.user_id)
            .field("account_enabled", &self.account_enabled)
            .field("default_method", &self.default_method)
            .field("phones", &phones)
            .field("email", &self.email.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PhoneToRestore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneToRestore({}, [redacted])", self.phone_type)
    }
}

impl fmt::Debug for EmailToRestore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailToRestore([redacted])")
    }
}

/// `DIR/secrets/restore.jsonl`, open for appending.
#[derive(Debug)]
pub struct RestoreFile {
    path: PathBuf,
    file: File,
}

impl RestoreFile {
    /// Where the restore data of the run in `dir` goes.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(SECRETS_DIR).join(RESTORE_FILE)
    }

    /// Creates (private) or opens the file for appending, dropping an incomplete last
    /// line.
    pub fn open(dir: &Path) -> Result<RestoreFile, SecretsError> {
        let (path, mut file) = open_private(dir, RESTORE_FILE)?;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_end(&mut bytes))
            .map_err(|e| SecretsError::io(&path, "read", e))?;
        let kept = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if kept < bytes.len() {
            file.set_len(kept as u64)
                .and_then(|()| file.sync_data())
                .map_err(|e| SecretsError::io(&path, "truncate the incomplete last line of", e))?;
        }
        Ok(RestoreFile { path, file })
    }

    /// Appends one record, and fsyncs before returning: the change it guards comes after.
    pub fn append(&mut self, record: &RestoreRecord) -> Result<(), SecretsError> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| SecretsError::io(&self.path, "write", io::Error::other(e)))?;
        line.push(b'\n');
        write_synced(&self.file, &line).map_err(|e| SecretsError::io(&self.path, "write", e))
    }

    /// Every user's first record in the run in `dir` (the state before the run), in
    /// the order written; an empty list when the run kept none. An unreadable line is an
    /// error naming its line, never its content.
    pub fn read(dir: &Path) -> Result<Vec<RestoreRecord>, SecretsError> {
        let path = RestoreFile::path_in(dir);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(SecretsError::io(&path, "read", e)),
        };
        let mut seen = HashSet::new();
        let mut records = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| SecretsError::io(&path, "read", e))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: RestoreRecord = serde_json::from_str(&line).map_err(|_| {
                SecretsError::io(
                    &path,
                    "read",
                    io::Error::other(format!("line {} is not a restore record", n + 1)),
                )
            })?;
            if seen.insert(record.user_id.clone()) {
                records.push(record);
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: &str) -> RestoreRecord {
        RestoreRecord {
            row: 0,
            user_id: user.into(),
            user_principal_name: format!("{user}@contoso.example"),
            read_at: "2026-12-03T10:00:00Z".into(),
            account_enabled: Some(true),
            default_method: Some("sms".into()),
            phones: Vec::new(),
            email: None,
        }
    }

    #[test]
    fn phones_and_email_are_taken_from_the_methods_listed() {
        let mut r = record("u1");
        r.take_methods(&serde_json::json!({"value": [
            {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+1 2065550100", "phoneType": "mobile"},
            {"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "id": "3ddfcfc8-9383-446f-83cc-3ab9be4be18f", "emailAddress": "ana@example.org"},
            {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "28c10230-6103-485e-b985-444c60001490"}
        ]}));
        assert_eq!(r.phones.len(), 1);
        assert_eq!(r.phones[0].phone_number, "+1 2065550100");
        assert_eq!(r.phones[0].phone_type, "mobile");
        assert_eq!(r.email.as_ref().unwrap().email_address, "ana@example.org");
        let debug = format!("{r:?}");
        assert!(
            !debug.contains("2065550100") && !debug.contains("ana@"),
            "{debug}"
        );
    }

    #[test]
    fn the_file_is_private_keeps_each_users_first_record_and_survives_a_cut_line() {
        let dir = std::env::temp_dir().join(format!("mfa-reset-restore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut file = RestoreFile::open(&dir).unwrap();
        let mut first = record("u1");
        first.phones.push(PhoneToRestore {
            id: "m".into(),
            phone_type: "mobile".into(),
            phone_number: "+1 2065550100".into(),
        });
        file.append(&first).unwrap();
        file.append(&record("u1")).unwrap();
        file.append(&record("u2")).unwrap();
        drop(file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(RestoreFile::path_in(&dir))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A crash mid-append: the cut line is dropped when the file is opened again.
        let path = RestoreFile::path_in(&dir);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"row\":3,\"userId\":\"u3\"");
        std::fs::write(&path, bytes).unwrap();
        RestoreFile::open(&dir).unwrap();
        let records = RestoreFile::read(&dir).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0], first);
        assert_eq!(records[1].user_id, "u2");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
