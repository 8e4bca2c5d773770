//! Making a plan, apart from reading the tenant: the user list checked and hashed
//! ([`prepare`]), read again a row at a time while the engine reads the tenant
//! ([`reread_rows`]), every finished entry put aside on disk in any order ([`Entries`]),
//! and at the end every row in order — users reached twice by different keys settled,
//! the writes counted, the fingerprint taken — written as `plan.json` ([`Entries::finish`]).
//!
//! Memory does not grow with the list: the rows are read twice rather than kept, and the
//! entries wait in a spill file ([`super::store::EntrySpill`]) until all are done.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;

use super::build::{self, Exclusions, ReadOutcome, Row, UsersSeen};
use super::contained::ContainedRows;
use super::fingerprint::fingerprint_of;
use super::store::{EntryBody, EntrySpill, Hashing, PlanStore, StoreError};
use super::{InputInfo, PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanHeader};
use crate::graph::key::UserKey;
use crate::graph::role_holders::RoleHolders;
use crate::graph::tenant::TenantIdentity;
use crate::input::{self, InputError, InputOptions, InputRow, RowProblem};
use crate::policy::Policy;

/// Why a plan could not be made. Nothing in the tenant changes while a plan is made, so
/// none of these leaves anything to undo.
#[derive(Debug, Error)]
pub enum MakeError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{}: {invalid} of {rows} rows are invalid; nothing was read from the tenant. Fix them (`mfa-reset check {}` lists them) or pass --skip-invalid to plan the rest",
        path.display(),
        path.display()
    )]
    InvalidRows {
        path: PathBuf,
        invalid: usize,
        rows: usize,
    },
    #[error(
        "{}: {invalid} rows of the exclude list are invalid; an exclude list must be right before anything runs",
        path.display()
    )]
    InvalidExclusions { path: PathBuf, invalid: usize },
    #[error("{} changed while the plan was being made; plan again once it stays put", path.display())]
    InputChanged { path: PathBuf },
    #[error("row {row} of {} was not planned; plan again", path.display())]
    RowMissing { path: PathBuf, row: usize },
    #[error("the tenant reader stopped before every row was read")]
    ReaderStopped,
}

/// What a plan is asked for: the user list and how to read it, the policy, the users never
/// to touch, and whether invalid rows stop it.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub input: PathBuf,
    pub options: InputOptions,
    pub policy: Policy,
    pub exclude: Option<PathBuf>,
    pub skip_invalid: bool,
}

/// A user list read and checked, with the policy and the exclusions: everything a plan
/// needs before the tenant is read. The rows themselves are not kept: they are read again,
/// one at a time, while the tenant is read ([`reread_rows`]).
pub struct Prepared {
    pub policy: Policy,
    pub exclusions: Exclusions,
    pub input: PathBuf,
    pub options: InputOptions,
    pub input_sha256: String,
    /// Data rows, and those of them to read from the tenant (valid, first occurrences).
    pub rows: usize,
    pub targets: usize,
    /// The input's other columns, over every row (they head `results.csv`).
    pub extra_columns: Vec<String>,
    /// What a containment from the list did before the plan (`None`: no containment).
    pub contained: Option<Arc<ContainedRows>>,
    /// The tenant's role holders, active and eligible, listed at the start: a user holding
    /// a role there (a PIM eligibility, which the per-user read does not show) is
    /// protected like any admin. `None`: not listed (admins included, or a plain `check`).
    pub role_holders: Option<Arc<RoleHolders>>,
    /// Why the admins are not known in full, for the plan's header.
    pub admins_unverified: Option<String>,
    /// The tenant the plan reads, when the credential says which.
    pub tenant: Option<TenantIdentity>,
    /// What the list is called in the plan and its reports when `input` is not where it
    /// was given (`-`: read from standard input into a file of its own).
    pub input_name: Option<String>,
    /// What reading the user list and the exclude list noted (a skipped example row,
    /// invisible characters removed from the edges of keys, a Graph page that is not the
    /// last), with the file each is about. Said as the lists are read and kept in the
    /// plan's notes ([`Prepared::input_notes`]).
    pub read_notes: Vec<(PathBuf, String)>,
}

impl Prepared {
    /// [`Prepared::read_notes`] as they are said and kept: `FILE: note`, the user list
    /// named as it was given (`-` for standard input).
    pub fn input_notes(&self) -> Vec<String> {
        self.read_notes
            .iter()
            .map(|(file, note)| match &self.input_name {
                Some(name) if *file == self.input => format!("{name}: {note}"),
                _ => format!("{}: {note}", file.display()),
            })
            .collect()
    }
}

/// Reads and checks the user list and the exclude list, handing every invalid row to
/// `on_problem` (unless invalid rows are to be skipped). Nothing is read from the tenant.
pub fn prepare(
    request: PlanRequest,
    mut on_problem: impl FnMut(&Path, &RowProblem),
) -> Result<Prepared, MakeError> {
    let mut extra = BTreeSet::new();
    let (summary, input_sha256) = read_hashed(&request.input, &request.options, |r| {
        if let Err(p) = &r.key
            && !request.skip_invalid
        {
            on_problem(&request.input, p);
        }
        for (name, _) in r.extra {
            extra.insert(name);
        }
        Ok::<(), MakeError>(())
    })?;
    if summary.invalid > 0 && !request.skip_invalid {
        return Err(MakeError::InvalidRows {
            path: request.input,
            invalid: summary.invalid,
            rows: summary.rows,
        });
    }
    let mut read_notes: Vec<(PathBuf, String)> = summary
        .notes
        .into_iter()
        .map(|note| (request.input.clone(), note))
        .collect();
    let exclusions = match &request.exclude {
        Some(path) => {
            let (exclusions, notes) = read_exclusions(path, on_problem)?;
            read_notes.extend(notes.into_iter().map(|note| (path.clone(), note)));
            exclusions
        }
        None => Exclusions::default(),
    };
    Ok(Prepared {
        policy: request.policy,
        exclusions,
        input: request.input,
        options: request.options,
        input_sha256,
        rows: summary.rows,
        targets: summary.valid,
        extra_columns: extra.into_iter().collect(),
        contained: None,
        role_holders: None,
        admins_unverified: None,
        tenant: None,
        input_name: None,
        read_notes,
    })
}

/// The exclude list at `path`, read like a user list (the same rules, invisible
/// characters included), and what reading it noted.
fn read_exclusions(
    path: &Path,
    mut on_problem: impl FnMut(&Path, &RowProblem),
) -> Result<(Exclusions, Vec<String>), MakeError> {
    let (rows, summary) = input::read_all(path, &InputOptions::default())?;
    if summary.invalid > 0 {
        for r in &rows {
            if let Err(p) = &r.key {
                on_problem(path, p);
            }
        }
        return Err(MakeError::InvalidExclusions {
            path: path.to_path_buf(),
            invalid: summary.invalid,
        });
    }
    let exclusions = Exclusions::new(rows.iter().flat_map(|r| {
        let key = r.key.as_ref().ok().map(|k| k.as_str().to_string());
        key.into_iter().chain(r.upn.clone())
    }));
    Ok((exclusions, summary.notes))
}

/// Reads the user list at `path`, handing every row to `on_row`, and hashes the file's
/// bytes on the way: the summary and the file's hex SHA-256.
pub fn read_hashed<E: From<InputError>>(
    path: &Path,
    options: &InputOptions,
    mut on_row: impl FnMut(InputRow) -> Result<(), E>,
) -> Result<(input::InputSummary, String), E> {
    let unreadable = |error| InputError::Unreadable {
        path: path.to_path_buf(),
        error,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let hash = Arc::new(Mutex::new(Hashing::new(std::io::sink())));
    let reader = HashingReader {
        inner: file,
        hash: hash.clone(),
    };
    let summary = input::read_from(path, reader, options, |rows| {
        for row in rows {
            on_row(row)?;
        }
        Ok::<(), E>(())
    })?;
    let mut hash = std::mem::replace(&mut *lock(&hash), Hashing::new(std::io::sink()));
    // The reader may stop before the end (after the last row): hash the rest too.
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(hash.written)).map_err(unreadable)?;
    std::io::copy(&mut file, &mut hash).map_err(unreadable)?;
    Ok((summary, hash.hex()))
}

/// Hashes what is read through it, into a hash the caller keeps.
struct HashingReader {
    inner: std::fs::File,
    hash: Arc<Mutex<Hashing<std::io::Sink>>>,
}

impl std::io::Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        lock(&self.hash).write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Reads the prepared user list again, a row at a time: rows that need no read of the
/// tenant (invalid, duplicate) go straight to `entries`, the others to `to_read` with
/// their key. Returns the file's hash, which must be the one [`prepare`] saw. Meant for
/// its own thread, beside the engine's reads.
pub fn reread_rows(
    input: &Path,
    options: &InputOptions,
    entries: &Entries,
    mut to_read: impl FnMut(UserKey, Row) -> Result<(), MakeError>,
) -> Result<String, MakeError> {
    let (_, sha256) = read_hashed(input, options, |r| {
        let row = row_of(r);
        if let Some(entry) = build::settled_entry(&row) {
            return entries.put(row.row, &entry);
        }
        match row.key.clone() {
            Ok(key) => to_read(key, row),
            Err(_) => Ok(()),
        }
    })?;
    Ok(sha256)
}

fn row_of(r: InputRow) -> Row {
    Row {
        row: r.row,
        line: r.line,
        input: r.value,
        key: r.key.map_err(|p| p.to_string()),
        duplicate_of: r.duplicate_of.map(|f| f.line),
        columns: r.extra.into_iter().collect::<BTreeMap<_, _>>(),
        upn: r.upn,
    }
}

/// The files a plan in the making keeps in its folder (removed when it ends).
pub const SCRATCH: [&str; 2] = ["plan.json.spill", "plan.json.body"];

/// Removes the scratch files of a plan that was stopped before it was written.
pub fn remove_scratch(out: &Path) {
    for name in SCRATCH {
        let _ = std::fs::remove_file(out.join(name));
    }
}

/// The plan's entries while it is made: put in any order, from any thread, as users
/// finish; kept on disk, not in memory.
pub struct Entries {
    spill: Mutex<EntrySpill>,
    out: PathBuf,
    prepared: PreparedHeader,
}

/// What the plan's header needs from [`Prepared`] once the rows are being read.
struct PreparedHeader {
    policy: Policy,
    exclusions: Exclusions,
    input: PathBuf,
    input_sha256: String,
    rows: usize,
    targets: usize,
    contained: Option<Arc<ContainedRows>>,
    role_holders: Option<Arc<RoleHolders>>,
    admins_unverified: Option<String>,
    tenant: Option<TenantIdentity>,
    input_name: Option<String>,
}

impl Entries {
    /// Starts a plan in `out` (a folder that holds no plan) for `prepared`'s rows.
    pub fn create(out: &Path, prepared: &Prepared) -> Result<Entries, MakeError> {
        let mut spill = EntrySpill::create(out.join(SCRATCH[0]))?;
        spill.reserve_rows(prepared.rows);
        Ok(Entries {
            spill: Mutex::new(spill),
            out: out.to_path_buf(),
            prepared: PreparedHeader {
                policy: prepared.policy.clone(),
                exclusions: prepared.exclusions.clone(),
                input: prepared.input.clone(),
                input_sha256: prepared.input_sha256.clone(),
                rows: prepared.rows,
                targets: prepared.targets,
                contained: prepared.contained.clone(),
                role_holders: prepared.role_holders.clone(),
                admins_unverified: prepared.admins_unverified.clone(),
                tenant: prepared.tenant.clone(),
                input_name: prepared.input_name.clone(),
            },
        })
    }

    /// Sets the entry of row `row`.
    pub fn put(&self, row: usize, entry: &PlanEntry) -> Result<(), MakeError> {
        Ok(lock(&self.spill).put(row, entry)?)
    }

    /// Decides the entry of `row` from what reading its user found, and puts it.
    ///
    /// A row a containment from the list reached first is decided from the user as they
    /// were before the run (an account it disabled counts as enabled), so that its entry
    /// holds the containment's steps, which the run then takes as done; a note says so.
    pub fn decide(&self, row: Row, mut outcome: ReadOutcome) -> Result<(), MakeError> {
        let p = &self.prepared;
        let index = row.row;
        let contained = p.contained.as_deref();
        if let (Some(contained), ReadOutcome::Found(user)) = (contained, &mut outcome)
            && contained.disabled(index)
        {
            user.account_enabled = true;
        }
        // Roles the tenant-wide listing knows of and the user's own read does not show
        // (PIM eligibilities, scoped and custom roles) protect them too, as does a
        // restricted management administrative unit.
        if let (Some(holders), ReadOutcome::Found(user)) = (&p.role_holders, &mut outcome) {
            for role in holders.roles_of(&user.id).into_iter().flatten() {
                if !user.admin_roles.contains(role) {
                    user.admin_roles.push(role.clone());
                }
            }
            if let Some(units) = holders.restricted_units_of(&user.id) {
                user.management_restricted = true;
                user.restricted_units = units.iter().cloned().collect();
            }
        }
        let mut entry = build::read_entry(row, Some(outcome), &p.policy, &p.exclusions);
        if let Some(note) = contained.and_then(|c| c.note(index)) {
            entry.notes.push(note);
        }
        self.put(index, &entry)
    }

    /// The plan's header as far as it is known before its rows are gone through (no
    /// writes counted, no fingerprint yet): `graph` is the service root the tenant was
    /// read from, `created` when.
    pub fn header(&self, graph: String, created: String) -> PlanHeader {
        let p = &self.prepared;
        PlanHeader {
            format: PLAN_FORMAT.into(),
            version: PLAN_VERSION,
            created,
            tool: format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
            graph,
            input: InputInfo {
                file: p
                    .input_name
                    .clone()
                    .unwrap_or_else(|| p.input.display().to_string()),
                sha256: p.input_sha256.clone(),
                rows: p.rows,
            },
            policy: p.policy.clone(),
            fingerprint: String::new(),
            writes: 0,
            minimum_seconds: 0.0,
            notes: Vec::new(),
            admins_unverified: p.admins_unverified.clone(),
            tenant: p.tenant.clone(),
        }
    }

    /// Writes `plan.json` from every row in order, once all are put, under `header` (from
    /// [`Entries::header`]) with its writes, estimated time and fingerprint filled in.
    /// `reread_sha256` is the hash [`reread_rows`] saw (the input must not have changed
    /// since [`prepare`]); `estimate` says about how long a run takes for its writes and
    /// the users with writes (`engine::estimate::Pace::seconds`).
    /// `each` sees every entry in row order (the results and the summary are written from
    /// it). The scratch files are gone after, whatever the outcome.
    pub fn finish<E: From<MakeError>>(
        self,
        reread_sha256: &str,
        mut header: PlanHeader,
        estimate: impl FnOnce(usize, usize) -> f64,
        mut each: impl FnMut(&PlanEntry) -> Result<(), E>,
    ) -> Result<(PlanStore, PlanHeader), E> {
        let Entries {
            spill,
            out,
            prepared: p,
        } = self;
        let mut spill = spill.into_inner().unwrap_or_else(|e| e.into_inner());
        if reread_sha256 != p.input_sha256 {
            return Err(MakeError::InputChanged { path: p.input }.into());
        }
        let mut body = EntryBody::create(out.join(SCRATCH[1])).map_err(MakeError::from)?;
        let mut seen = UsersSeen::with_capacity(p.targets);
        let mut planned = 0usize;
        for row in 0..p.rows {
            let mut entry = spill
                .get::<PlanEntry>(row)
                .map_err(MakeError::from)?
                .ok_or_else(|| MakeError::RowMissing {
                    path: p.input.clone(),
                    row,
                })?;
            seen.settle(&mut entry);
            header.writes += entry.writes();
            planned += usize::from(entry.writes() > 0);
            body.push(&entry).map_err(MakeError::from)?;
            each(&entry)?;
        }
        drop(spill);
        header.minimum_seconds = estimate(header.writes, planned);
        header.notes.extend(pass_lifetime_note(
            &header.policy,
            header.minimum_seconds,
            planned,
        ));
        header.fingerprint = fingerprint_of(
            &header.input.sha256,
            &header.policy,
            &body.entries_sha256(),
            header.tenant.as_ref().map(|t| t.id.as_str()),
        );
        let store = body
            .write_plan(&out.join("plan.json"), &header)
            .map_err(MakeError::from)?;
        Ok((store, header))
    }
}

/// The note of a plan whose run takes longer, by its estimate (`engine::estimate`), than its
/// passes live (`minimum_seconds` for `users` users with writes): the passes issued first would
/// expire before the last users are reached. `None` when the passes outlive the run, or
/// none are issued.
pub fn pass_lifetime_note(policy: &Policy, minimum_seconds: f64, users: usize) -> Option<String> {
    let tap = policy.tap()?;
    let lifetime = f64::from(tap.lifetime_minutes) * 60.0;
    if minimum_seconds <= lifetime || users == 0 {
        return None;
    }
    // Users whose writes fit in one lifetime, at the plan's average per user.
    let per_run = ((lifetime / minimum_seconds) * users as f64)
        .floor()
        .max(1.0) as u64;
    Some(format!(
        "the plan's writes take about {} minutes at the write budget, longer than the passes' lifetime of {} minutes: passes issued early in the run expire before its last users are reached; plan with a longer --tap-lifetime (up to the tenant's policy maximum) or split the list into runs of at most about {per_run} users",
        (minimum_seconds / 60.0).ceil() as u64,
        tap.lifetime_minutes
    ))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::sha256_hex;
    use crate::policy::{PolicyArgs, Profile};

    fn with_tap(lifetime: u32) -> Policy {
        PolicyArgs {
            profile: Some(Profile::DeviceRefresh),
            issue_tap: true,
            tap_lifetime: Some(lifetime),
            ..PolicyArgs::default()
        }
        .into_policy()
        .unwrap()
    }

    #[test]
    fn a_run_longer_than_the_passes_live_is_noted_with_what_to_do() {
        // 20 minutes of writes for 100 users, passes of 10 minutes: half the users a run.
        let note = pass_lifetime_note(&with_tap(10), 1200.0, 100).unwrap();
        assert!(
            note.starts_with("the plan's writes take about 20 minutes at the write budget, longer than the passes' lifetime of 10 minutes"),
            "{note}"
        );
        assert!(note.contains("--tap-lifetime"), "{note}");
        assert!(note.contains("runs of at most about 50 users"), "{note}");
        // Within the lifetime, no passes, or nobody to change: nothing to say.
        assert_eq!(pass_lifetime_note(&with_tap(10), 600.0, 100), None);
        assert_eq!(pass_lifetime_note(&with_tap(10), 1200.0, 0), None);
        let no_tap = PolicyArgs {
            profile: Some(Profile::DeviceRefresh),
            ..PolicyArgs::default()
        }
        .into_policy()
        .unwrap();
        assert_eq!(pass_lifetime_note(&no_tap, 1e9, 100), None);
    }

    /// The input's hash is the plan's anchor (`apply` checks a plan against it): it must be
    /// the hash of the whole file, whatever the format and however far the reader read.
    #[test]
    fn reading_the_input_hashes_every_byte_of_every_sample() {
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let mut read = 0;
        for entry in std::fs::read_dir(&samples).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".png") || name == "README.md" {
                continue;
            }
            let mut rows = 0;
            let result = read_hashed(&path, &InputOptions::default(), |_| {
                rows += 1;
                Ok::<(), InputError>(())
            });
            let Ok((summary, sha)) = result else {
                continue;
            };
            assert_eq!(summary.rows, rows, "{name}");
            assert_eq!(sha, sha256_hex(&std::fs::read(&path).unwrap()), "{name}");
            read += 1;
        }
        assert!(read >= 8, "only {read} samples were read");
    }
}
