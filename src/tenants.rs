//! Many tenants in one run: the tenants file (`--tenants FILE`, JSON) that says, per
//! tenant, how to authenticate — a client id with a certificate's path or the name of the
//! environment variable holding its secret or a ready token, never a secret itself — and
//! optionally its own profile and exclusions; and the split of a user list whose tenant
//! column names each row's tenant into one list per tenant, each row keeping its line in
//! the original list (`sourceLine`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::graph::auth::{AZURE_TENANT_ID, check_tenant};
use crate::input::{InputError, InputOptions};
use crate::policy::Profile;

/// The column of the per-tenant lists that holds each row's user.
pub const USER_COLUMN: &str = "user";
/// The column of the per-tenant lists that holds each row's line in the original list.
pub const SOURCE_LINE_COLUMN: &str = "sourceLine";
/// The sub-folder of a multi-tenant run folder that holds each tenant's list
/// (`lists/<folder>.csv`).
pub const LISTS_DIR: &str = "lists";
/// The copy of the tenants file a multi-tenant run folder keeps, to be resumed.
pub const RUN_TENANTS_FILE: &str = "tenants.json";

/// `--tenants FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantsFile {
    pub tenants: Vec<TenantEntry>,
}

/// One tenant of a tenants file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantEntry {
    /// The tenant's id (a GUID) or a verified domain, as the list's tenant column names it.
    pub tenant: String,
    /// Other values the list's tenant column may give for this tenant (its id when the
    /// entry names a domain, other domains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The run folder's sub-folder for this tenant; the tenant value when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// The app registration's client id (with a secret or a certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The name of the environment variable that holds the app's client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// The app's certificate (PEM with its private key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_path: Option<PathBuf>,
    /// The name of the environment variable that holds a ready access token instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_env: Option<String>,
    /// This tenant's profile, instead of the command line's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// Users of this tenant never to touch (a list in any input format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<PathBuf>,
    /// Groups of this tenant whose members are never touched (id or display name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_groups: Vec<String>,
    /// Graph's service root for this tenant, instead of the command line's (a tenant of
    /// another deployment, or an emulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    /// The login service root for this tenant, instead of the command line's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
}

/// Why a tenants file or a list split by tenant cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a tenants file: {reason}. It is JSON: {{\"tenants\": [{{\"tenant\": \"contoso.com\", \"clientId\": \"…\", \"clientSecretEnv\": \"CONTOSO_SECRET\"}}, …]}}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("{}: tenant {index} ({tenant}): {reason}", path.display())]
    Entry {
        path: PathBuf,
        index: usize,
        tenant: String,
        reason: String,
    },
    #[error("{}: no column names each row's tenant: add a column `tenant` (the tenant's id or domain), or name it with --tenant-column", path.display())]
    NoTenantColumn { path: PathBuf },
    #[error("{}: line {line}, column {column}: {reason}", path.display())]
    Row {
        path: PathBuf,
        line: usize,
        column: String,
        reason: String,
    },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: csv::Error },
}

impl TenantsFile {
    /// Reads and checks `path`: at least one tenant, each named once (aliases too), each
    /// with one way to authenticate, no secret written in the file.
    pub fn read(path: &Path) -> Result<TenantsFile, TenantsError> {
        let text = std::fs::read_to_string(path).map_err(|source| TenantsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let malformed = |reason: String| TenantsError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let raw: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        // A secret written into the file is refused by name, before anything else.
        for (index, entry) in raw["tenants"].as_array().into_iter().flatten().enumerate() {
            for key in ["clientSecret", "secret", "password", "accessToken", "token"] {
                if entry.get(key).is_some() {
                    return Err(TenantsError::Entry {
                        path: path.to_path_buf(),
                        index: index + 1,
                        tenant: entry["tenant"].as_str().unwrap_or("?").to_string(),
                        reason: format!(
                            "`{key}` holds a secret, which never goes in this file: name the environment variable that holds it (`clientSecretEnv` or `accessTokenEnv`)"
                        ),
                    });
                }
            }
        }
        let file: TenantsFile =
            serde_json::from_value(raw).map_err(|e| malformed(e.to_string()))?;
        if file.tenants.is_empty() {
            return Err(malformed("it names no tenant".into()));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut folders: HashMap<String, usize> = HashMap::new();
        for (i, entry) in file.tenants.iter().enumerate() {
            let bad = |reason: String| TenantsError::Entry {
                path: path.to_path_buf(),
                index: i + 1,
                tenant: entry.tenant.clone(),
                reason,
            };
            for name in entry.names() {
                check_tenant(&name).map_err(|r| bad(format!("{name:?}: {r}")))?;
                if let Some(first) = seen.insert(name.clone(), i + 1) {
                    return Err(bad(format!("{name} is also tenant {first}'s")));
                }
            }
            let folder = entry.folder_name();
            if folder.is_empty()
                || folder.starts_with('.')
                || !folder
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(bad(format!(
                    "{folder:?} cannot be a folder's name (letters, digits, '-', '_' and '.')"
                )));
            }
            if let Some(first) = folders.insert(folder.to_ascii_lowercase(), i + 1) {
                return Err(bad(format!("its folder {folder} is also tenant {first}'s")));
            }
            let ways = [
                entry.client_secret_env.is_some(),
                entry.certificate_path.is_some(),
                entry.access_token_env.is_some(),
            ]
            .iter()
            .filter(|w| **w)
            .count();
            if ways != 1 {
                return Err(bad(
                    "give exactly one of clientSecretEnv, certificatePath (each with clientId) and accessTokenEnv".into(),
                ));
            }
            if entry.access_token_env.is_none() && entry.client_id.is_none() {
                return Err(bad("clientId is missing".into()));
            }
        }
        Ok(file)
    }

    /// The entry a tenant column's value names (its tenant or an alias, any case).
    pub fn entry_for(&self, value: &str) -> Option<usize> {
        let value = value.trim().to_ascii_lowercase();
        self.tenants
            .iter()
            .position(|e| e.names().any(|n| n == value))
    }
}

impl TenantEntry {
    /// The tenant and its aliases, lower-cased.
    fn names(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.tenant)
            .chain(&self.aliases)
            .map(|n| n.trim().to_ascii_lowercase())
    }

    /// The tenant's sub-folder of the run folder.
    pub fn folder_name(&self) -> String {
        self.folder
            .clone()
            .unwrap_or_else(|| self.tenant.trim().to_ascii_lowercase())
    }

    /// The environment this tenant's credential reads (the Azure SDK's names, or
    /// `MFA_RESET_ACCESS_TOKEN`), from the variables the entry names, read through
    /// `lookup`. A variable that is not set is said by name.
    pub fn credential_env(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, String> {
        let mut env = BTreeMap::new();
        let read = |name: &str| {
            lookup(name).ok_or_else(|| {
                format!(
                    "the environment variable {name}, which the tenants file names for tenant {}, is not set",
                    self.tenant
                )
            })
        };
        if let Some(name) = &self.access_token_env {
            env.insert("MFA_RESET_ACCESS_TOKEN".into(), read(name)?);
            return Ok(env);
        }
        env.insert(AZURE_TENANT_ID.into(), self.tenant.trim().to_string());
        if let Some(id) = &self.client_id {
            env.insert("AZURE_CLIENT_ID".into(), id.clone());
        }
        if let Some(name) = &self.client_secret_env {
            env.insert("AZURE_CLIENT_SECRET".into(), read(name)?);
        }
        if let Some(path) = &self.certificate_path {
            env.insert(
                "AZURE_CLIENT_CERTIFICATE_PATH".into(),
                path.display().to_string(),
            );
        }
        Ok(env)
    }
}

/// One tenant's share of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantList {
    /// Index of the tenant in the tenants file.
    pub entry: usize,
    /// Its list, in its folder.
    pub path: PathBuf,
    /// Its rows.
    pub rows: usize,
}

/// Splits the list `input` by the tenant each row names in column `tenant_column` (or the
/// first of `tenant`, `tenantId`, `tenant id`, `tenantDomain` found) into
/// `out/<folder>.csv`, one per tenant of `tenants` with rows, keeping each row's
/// other columns and its line (`sourceLine`). A row that names no tenant of the file, or
/// none, is refused with its line. Also returns what reading the list noted
/// ([`crate::input::InputSummary::notes`]: invisible characters removed from the edges of
/// keys, say), which the split lists, already clean, no longer show.
pub fn split_list(
    input: &Path,
    options: &InputOptions,
    tenant_column: Option<&str>,
    tenants: &TenantsFile,
    out: &Path,
) -> Result<(Vec<TenantList>, Vec<String>), TenantsError> {
    struct Share {
        writer: csv::Writer<std::fs::File>,
        path: PathBuf,
        rows: usize,
    }
    let mut shares: BTreeMap<usize, Share> = BTreeMap::new();
    let mut columns: Option<(String, Vec<String>)> = None;
    let mut failure: Option<TenantsError> = None;
    let wanted = |name: &str| match tenant_column {
        Some(column) => name.eq_ignore_ascii_case(column),
        None => ["tenant", "tenantid", "tenant id", "tenantdomain"]
            .iter()
            .any(|c| name.eq_ignore_ascii_case(c)),
    };
    let (summary, _) = crate::plan::make::read_hashed::<TenantsError>(input, options, |row| {
        if failure.is_some() {
            return Ok(());
        }
        let (tenant_name, others) = columns.get_or_insert_with(|| {
            let tenant = row
                .extra
                .iter()
                .map(|(n, _)| n.clone())
                .find(|n| wanted(n))
                .unwrap_or_default();
            let others = row
                .extra
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| *n != tenant)
                .collect();
            (tenant, others)
        });
        if tenant_name.is_empty() {
            return Err(TenantsError::NoTenantColumn {
                path: input.to_path_buf(),
            });
        }
        let value = row
            .extra
            .iter()
            .find(|(n, _)| n == tenant_name)
            .map(|(_, v)| v.trim())
            .unwrap_or_default();
        let row_error = |reason: String| TenantsError::Row {
            path: input.to_path_buf(),
            line: row.line,
            column: tenant_name.clone(),
            reason,
        };
        if value.is_empty() {
            return Err(row_error(
                "names no tenant: give the tenant's id or domain, as the tenants file names it"
                    .into(),
            ));
        }
        let Some(entry) = tenants.entry_for(value) else {
            return Err(row_error(format!(
                "names tenant {value:?}, which the tenants file does not hold: add it there (or an alias), or fix the row"
            )));
        };
        let share = match shares.entry(entry) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let path = out.join(format!("{}.csv", tenants.tenants[entry].folder_name()));
                let opened = std::fs::create_dir_all(out)
                    .map_err(csv::Error::from)
                    .and_then(|()| csv::Writer::from_path(&path));
                let mut writer = match opened {
                    Ok(w) => w,
                    Err(source) => {
                        failure = Some(TenantsError::Write { path, source });
                        return Ok(());
                    }
                };
                let header = std::iter::once(USER_COLUMN)
                    .chain(std::iter::once(SOURCE_LINE_COLUMN))
                    .chain(others.iter().map(String::as_str));
                if let Err(source) = writer.write_record(header) {
                    failure = Some(TenantsError::Write { path, source });
                    return Ok(());
                }
                v.insert(Share {
                    writer,
                    path,
                    rows: 0,
                })
            }
        };
        let cells: Vec<String> = std::iter::once(row.value.clone())
            .chain(std::iter::once(row.line.to_string()))
            .chain(others.iter().map(|name| {
                row.extra
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            }))
            .collect();
        if let Err(source) = share.writer.write_record(&cells) {
            failure = Some(TenantsError::Write {
                path: share.path.clone(),
                source,
            });
        }
        share.rows += 1;
        Ok(())
    })?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    let mut lists = Vec::new();
    for (entry, mut share) in shares {
        share.writer.flush().map_err(|e| TenantsError::Write {
            path: share.path.clone(),
            source: e.into(),
        })?;
        lists.push(TenantList {
            entry,
            path: share.path,
            rows: share.rows,
        });
    }
    Ok((lists, summary.notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mfa-reset-tenants-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn file(dir: &Path, text: &str) -> Result<TenantsFile, TenantsError> {
        let path = dir.join("tenants.json");
        std::fs::write(&path, text).unwrap();
        TenantsFile::read(&path)
    }

    #[test]
    fn a_tenants_file_names_each_tenant_once_with_one_credential_and_no_secret() {
        let dir = scratch("file");
        let ok = file(
            &dir,
            r#"{"tenants": [
                {"tenant": "contoso.com", "aliases": ["72f988bf-86f1-41af-91ab-2d7cd011db47"], "clientId": "a", "clientSecretEnv": "CONTOSO"},
                {"tenant": "fabrikam.com", "clientId": "b", "certificatePath": "fab.pem", "profile": "offboard"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(ok.entry_for(" CONTOSO.com "), Some(0));
        assert_eq!(
            ok.entry_for("72F988BF-86F1-41AF-91AB-2D7CD011DB47"),
            Some(0)
        );
        assert_eq!(ok.entry_for("fabrikam.com"), Some(1));
        assert_eq!(ok.entry_for("northwind.com"), None);
        let env = ok.tenants[0]
            .credential_env(|n| (n == "CONTOSO").then(|| "s3cret".to_string()))
            .unwrap();
        assert_eq!(env["AZURE_TENANT_ID"], "contoso.com");
        assert_eq!(env["AZURE_CLIENT_SECRET"], "s3cret");
        let unset = ok.tenants[0].credential_env(|_| None).unwrap_err();
        assert!(unset.contains("CONTOSO"), "{unset}");

        let secret = file(
            &dir,
            r#"{"tenants": [{"tenant": "contoso.com", "clientId": "a", "clientSecret": "s3cret"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(secret.contains("never goes in this file"), "{secret}");
        assert!(!secret.contains("s3cret"), "{secret}");
        let twice = file(
            &dir,
            r#"{"tenants": [{"tenant": "a.com", "accessTokenEnv": "A"}, {"tenant": "A.com", "accessTokenEnv": "B"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(twice.contains("also tenant 1's"), "{twice}");
        let two_ways = file(
            &dir,
            r#"{"tenants": [{"tenant": "a.com", "clientId": "x", "clientSecretEnv": "A", "accessTokenEnv": "B"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(two_ways.contains("exactly one"), "{two_ways}");
        let alias = file(
            &dir,
            r#"{"tenants": [{"tenant": "common", "accessTokenEnv": "A"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(alias.contains("multi-tenant alias"), "{alias}");
    }

    #[test]
    fn a_list_is_split_by_its_tenant_column_keeping_each_rows_line() {
        let dir = scratch("split");
        let tenants = file(
            &dir,
            r#"{"tenants": [{"tenant": "a.com", "accessTokenEnv": "A"}, {"tenant": "b.com", "folder": "bee", "accessTokenEnv": "B"}]}"#,
        )
        .unwrap();
        let list = dir.join("list.csv");
        std::fs::write(
            &list,
            "userPrincipalName,tenant,ticket\nx@a.com,a.com,T1\nx@b.com,B.COM,T2\ny@a.com,a.com,T3\n",
        )
        .unwrap();
        let out = dir.join("run");
        let (lists, notes) =
            split_list(&list, &InputOptions::default(), None, &tenants, &out).unwrap();
        assert_eq!(lists.len(), 2);
        assert!(notes.is_empty(), "{notes:?}");
        let a = std::fs::read_to_string(out.join("a.com.csv")).unwrap();
        assert_eq!(a, "user,sourceLine,ticket\nx@a.com,2,T1\ny@a.com,4,T3\n");
        let b = std::fs::read_to_string(out.join("bee.csv")).unwrap();
        assert_eq!(b, "user,sourceLine,ticket\nx@b.com,3,T2\n");

        // Invisible characters removed from a key's edges: the split list is clean, and
        // the removal is returned to be said.
        std::fs::write(&list, "userPrincipalName,tenant\n\u{200B}x@a.com,a.com\n").unwrap();
        let (_, notes) = split_list(
            &list,
            &InputOptions::default(),
            None,
            &tenants,
            &dir.join("r1"),
        )
        .unwrap();
        let a = std::fs::read_to_string(dir.join("r1").join("a.com.csv")).unwrap();
        assert_eq!(a, "user,sourceLine\nx@a.com,2\n");
        assert!(
            notes[0].contains("removed invisible characters from the edges of 1 cell"),
            "{notes:?}"
        );

        std::fs::write(
            &list,
            "userPrincipalName,tenant\nx@a.com,a.com\nz@c.com,c.com\n",
        )
        .unwrap();
        let err = split_list(
            &list,
            &InputOptions::default(),
            None,
            &tenants,
            &dir.join("r2"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 3, column tenant"), "{err}");
        assert!(err.contains("\"c.com\""), "{err}");
        std::fs::write(&list, "userPrincipalName\nx@a.com\n").unwrap();
        let err = split_list(
            &list,
            &InputOptions::default(),
            None,
            &tenants,
            &dir.join("r3"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no column names each row's tenant"), "{err}");
    }
}
