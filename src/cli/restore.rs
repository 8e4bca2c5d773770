//! `mfa-reset restore RUN_DIR`: undo a run, as far as Graph allows.
//!
//! ```text
//! mfa-reset restore run-2026-12-03
//! mfa-reset restore run-2026-12-03 --users wrong-rows.csv --only phone,account --yes
//! ```
//!
//! What the run did to each user comes from its plan and journal (a run stopped part-way
//! included: only what it sent is undone), the state before it from
//! `secrets/restore.jsonl`, and the state now from Graph. Per user the restore creates
//! again the phone and email methods the run removed, enables the account it disabled,
//! sets the default method back and deletes the Temporary Access Pass it issued
//! ([`crate::engine::restore::decide`]). A method registered since the run is left
//! alone; one back already is not sent again. Authenticator, FIDO2, Windows Hello, OATH
//! and platform credentials cannot be created by an administrator: the report lists them
//! per user.
//!
//! Like `apply`, it confirms (`--yes`, or the count typed above `--confirm-above`), sends
//! through the paced `$batch` dispatcher, and writes `results.csv`, `results.jsonl`,
//! `summary.md` and `report.html` to its folder (`RUN_DIR/restore`, or `restore-2`, … when
//! taken), with `journal.jsonl`, one fsynced line per change answered. It decides from the
//! state now, so an interrupted restore is resumed, and a finished one checked, by running
//! it again: what is back already is not sent twice. Exit codes as `apply`'s: 0 every user
//! restored (or nothing to do), 1 some change failed or is unknown, 2 bad usage (nothing
//! changed), 3 credentials refused.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;

use super::args::graph::{Connection, GraphArgs};
use super::log::say;
use super::output::OutputArgs;
use crate::engine::dispatcher::{Completed, Job, JobResult};
use crate::engine::journal::Journal;
use crate::engine::lock::RunLock;
use crate::engine::pacer::Pacer;
use crate::engine::restore::decide::{Action, Current, Decided, Part, RunDid, decide};
use crate::engine::restore::execute::{read_requests, request_of, send_all, take_read};
use crate::engine::restore::run_did;
use crate::engine::run::now_rfc3339;
use crate::engine::secrets::restore::{RestoreFile, RestoreRecord};
use crate::engine::settings::RunSettings;
use crate::exit::{CliError, CliResult, Exit, UsageContext};
use crate::graph::key::UserKey;
use crate::input::{self, InputOptions, InputRow};
use crate::plan::store::PlanStore;
use crate::report::restore::{RestoreHeader, RestoreRow, counts};

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The folder of the run to undo (the --out of `mfa-reset apply`).
    pub dir: PathBuf,
    /// Restore only the users this list names (any input format: object ids or UPNs).
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub users: Option<PathBuf>,
    /// What to put back, comma-separated: phone, email, account, default, tap [default:
    /// all of them].
    #[arg(
        long,
        value_name = "PARTS",
        value_delimiter = ',',
        help_heading = "Input"
    )]
    pub only: Vec<String>,
    /// Ask the operator to confirm a restore that changes more than N users.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        help_heading = "Guardrails"
    )]
    pub confirm_above: usize,
    /// Confirm without asking (scripts, pipelines).
    #[arg(long, help_heading = "Guardrails")]
    pub yes: bool,
    /// Decide and report what the restore would do, per user, and change nothing (rows
    /// `planned`).
    #[arg(long, help_heading = "Guardrails")]
    pub dry_run: bool,
    /// Folder for the restore's results and reports [default: RUN_DIR/restore, or
    /// RUN_DIR/restore-2, … when taken].
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(
        flatten,
        next_help_heading = "Graph connection (the run's, from run.json, unless given)"
    )]
    pub graph: GraphArgs,
}

impl RestoreArgs {
    /// The restore's folder: `--out`, else the first of `RUN_DIR/restore`,
    /// `RUN_DIR/restore-2`, … that does not hold a restore yet.
    pub fn folder(&self) -> PathBuf {
        if let Some(out) = &self.out {
            return out.clone();
        }
        (1..)
            .map(|n| match n {
                1 => self.dir.join("restore"),
                n => self.dir.join(format!("restore-{n}")),
            })
            .find(|d| !d.join("results.jsonl").exists())
            .expect("an unbounded range has a free name")
    }
}

/// One user the run changed.
struct Candidate {
    row: usize,
    line: usize,
    input: String,
    user_id: String,
    upn: String,
    key: UserKey,
    did: RunDid,
    record: Option<RestoreRecord>,
}

/// Runs `mfa-reset restore`.
pub fn run(args: RestoreArgs) -> CliResult {
    let dir = args.dir.clone();
    let plan_path = dir.join("plan.json");
    if !plan_path.is_file() || !Journal::path_in(&dir).is_file() {
        return Err(CliError::usage(anyhow!(
            "{} holds no run to restore (no plan.json and journal.jsonl there); give the --out folder of `mfa-reset apply`",
            dir.display()
        )));
    }
    let only = parse_only(&args.only).usage()?;
    let wanted = match &args.users {
        Some(list) => Some(users_named(list).usage()?),
        None => None,
    };
    let out = args.folder();
    let settings = RunSettings::read(&dir).usage()?;
    let mut graph = super::resume::run_connection(&args.graph, &dir, &settings).usage()?;
    let _lock = RunLock::acquire(&dir).usage()?;
    let store = PlanStore::open(&plan_path).usage()?;
    let state = Journal::read_only(&dir).usage()?;
    let kept: HashMap<String, RestoreRecord> = RestoreFile::read(&dir)
        .usage()?
        .into_iter()
        .map(|r| (r.user_id.to_ascii_lowercase(), r))
        .collect();
    let started_run = match &state.run {
        Some(crate::engine::journal::Record::Run { started, .. }) => started.clone(),
        _ => String::new(),
    };
    let mut candidates = Vec::new();
    for entry in store.entries() {
        let entry = entry.usage()?;
        let did = run_did(&entry, &state).usage()?;
        let Some(user) = entry.before.as_ref() else {
            continue;
        };
        if did.is_empty() {
            continue;
        }
        if let Some(wanted) = &wanted
            && !wanted.contains(&user.id.to_ascii_lowercase())
            && !wanted.contains(&user.user_principal_name.to_ascii_lowercase())
        {
            continue;
        }
        let Ok(key) = UserKey::parse(&user.id) else {
            continue;
        };
        candidates.push(Candidate {
            row: entry.row,
            line: entry.line,
            input: entry.input.clone(),
            user_id: user.id.clone(),
            upn: user.user_principal_name.clone(),
            key,
            did,
            record: kept.get(&user.id.to_ascii_lowercase()).cloned(),
        });
    }
    if kept.is_empty() && !candidates.is_empty() {
        say!(
            "mfa-reset: note: the run kept no restore data ({}): phone numbers and email addresses cannot be put back",
            RestoreFile::path_in(&dir).display()
        );
    }
    if settings.sim && graph.is_sim() {
        super::resume::continue_emulated_tenant(&dir, &mut graph);
    }
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let (Connection { client, sim }, destination) =
            match super::resume::reconnect(&graph, &settings).await {
                Ok(connected) => connected,
                Err(end) => return end,
            };
        let tenant = match super::read_tenant(&client, ". Nothing was changed.").await {
            Ok(tenant) => tenant,
            Err(end) => return end,
        };
        super::refuse_unexpected_tenant(&graph, tenant.as_ref())?;
        super::refuse_other_tenant(store.header.tenant.as_ref(), tenant.as_ref())?;
        let target = super::apply::target_words(tenant.as_ref(), destination.sim);
        let client = Arc::new(client);
        let pacer = Arc::new(Pacer::new(graph.pacer_settings()));
        let settings_d = graph.dispatcher_settings();

        // The state now.
        let mut now: Vec<Current> = vec![Current::default(); candidates.len()];
        let mut unread: BTreeMap<usize, String> = BTreeMap::new();
        let jobs: Vec<Job> = candidates
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                read_requests(&c.key).into_iter().map(move |request| Job {
                    user: i as u64,
                    request,
                })
            })
            .collect();
        let stopped = send_all(client.clone(), pacer.clone(), settings_d.clone(), jobs, |done| {
            let i = done.user as usize;
            match &done.result {
                JobResult::Done { body, .. } => {
                    take_read(&mut now[i], &done.request, body.as_ref().unwrap_or(&serde_json::Value::Null))
                }
                // The default method is read in beta, which a cloud may not serve: without
                // it the default is simply not known (a restore that sets it is refused on
                // its own). The account and the methods must be read.
                _ if done.request.url.contains("/signInPreferences") => {}
                other => {
                    unread.entry(i).or_insert_with(|| failure_words(other));
                }
            }
        })
        .await;
        if let Some(cause) = stopped {
            return Err(stopped_error(cause, "while the users were read; nothing was changed"));
        }
        let decided: Vec<Decided> = candidates
            .iter()
            .zip(&now)
            .enumerate()
            .map(|(i, (c, now))| {
                if unread.contains_key(&i) {
                    Decided::default()
                } else {
                    decide(&c.did, c.record.as_ref(), now, &started_run, &only)
                }
            })
            .collect();
        let to_change = decided.iter().filter(|d| !d.actions.is_empty()).count();
        let changes: usize = decided.iter().map(|d| d.actions.len()).sum();
        say!(
            "mfa-reset: restoring in {target}: {} users the run changed, {to_change} to put back ({changes} Graph writes)",
            candidates.len()
        );
        show_per_user(&candidates, &decided);
        if args.dry_run {
            return finish_dry_run(&out, &dir, &destination.graph_root, &target, &store, &only, &candidates, &decided, &unread);
        }
        if to_change > args.confirm_above && !args.yes {
            let no_terminal = format!(
                "this restore changes {to_change} users, more than --confirm-above {}: run it again with --yes to confirm; nothing was changed",
                args.confirm_above
            );
            let prompt = format!("This restore changes {to_change} users of {target} ({changes} Graph writes).");
            if !super::apply::ask_for_count(to_change, &no_terminal, &prompt).usage()? {
                return Ok(Exit::Usage);
            }
        }
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create the restore's folder {}", out.display()))?;
        let mut journal = RestoreJournal::create(&out)?;

        // The changes, wave after wave; a user whose change failed gets no later wave.
        let mut outcomes: Vec<Vec<Option<JobResult>>> =
            decided.iter().map(|d| vec![None; d.actions.len()]).collect();
        let mut stopped = None;
        for wave in 0..=2u8 {
            let jobs: Vec<Job> = decided
                .iter()
                .enumerate()
                .filter(|(i, _)| outcomes[*i].iter().flatten().all(is_success))
                .flat_map(|(i, d)| {
                    let key = &candidates[i].key;
                    d.actions.iter().enumerate().filter(|(_, a)| a.wave() == wave).filter_map(
                        move |(a, action)| {
                            request_of(key, action).map(|request| Job {
                                user: ((i as u64) << 8) | a as u64,
                                request,
                            })
                        },
                    )
                })
                .collect();
            let mut failure = None;
            stopped = send_all(client.clone(), pacer.clone(), settings_d.clone(), jobs, |done: Completed| {
                let (i, a) = ((done.user >> 8) as usize, (done.user & 0xff) as usize);
                if let Err(e) = journal.record(&candidates[i], &decided[i].actions[a], &done.result) {
                    failure.get_or_insert(e);
                }
                outcomes[i][a] = Some(done.result);
            })
            .await;
            if let Some(e) = failure {
                return Err(e.into());
            }
            if stopped.is_some() {
                break;
            }
        }
        let rows: Vec<RestoreRow> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| row_of(c, &decided[i], &outcomes[i], unread.get(&i)))
            .collect();
        let header = RestoreHeader {
            run_dir: &dir,
            graph: &destination.graph_root,
            tenant: &target,
            started: &now_rfc3339(),
            tool: &format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
            fingerprint: &store.header.fingerprint,
            only: &only.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
        };
        crate::report::restore::write(&out, &header, &rows)
            .with_context(|| format!("cannot write the restore's results to {}", out.display()))?;
        super::carry_out::keep_sim_tenant(&dir, sim.as_ref());
        let counted: Vec<String> = counts(&rows).iter().map(|(s, n)| format!("{n} {s}")).collect();
        say!(
            "mfa-reset: restore: {} — results in {}",
            if counted.is_empty() { "nothing to restore".to_string() } else { counted.join(", ") },
            out.display()
        );
        if let Some(cause) = stopped {
            return Err(stopped_error(
                cause,
                "part-way: what was answered is in the restore's results; run the same restore again to finish it",
            ));
        }
        Ok(Exit::failures_if(
            rows.iter().any(|r| !matches!(r.status.as_str(), "done" | "no-change")),
        ))
    })
}

/// The first users' restores on stderr, before anything is sent: what comes back, and what
/// cannot.
fn show_per_user(candidates: &[Candidate], decided: &[Decided]) {
    const SHOWN: usize = 20;
    let mut shown = 0;
    for (c, d) in candidates.iter().zip(decided) {
        if d.actions.is_empty() && d.cannot.is_empty() {
            continue;
        }
        if shown == SHOWN {
            let more = candidates.len().saturating_sub(SHOWN);
            say!("  … and up to {more} more users: every one is in the restore's results.csv");
            break;
        }
        shown += 1;
        let actions: Vec<String> = d.actions.iter().map(Action::describe).collect();
        say!(
            "  line {} {}: {}{}",
            c.line,
            c.upn,
            if actions.is_empty() {
                "nothing to send".to_string()
            } else {
                actions.join(", ")
            },
            if d.cannot.is_empty() {
                String::new()
            } else {
                format!("; cannot be restored: {}", d.cannot.join("; "))
            }
        );
    }
}

/// `--dry-run`: the restore's reports, every row `planned` (or `no-change`), nothing sent.
#[allow(clippy::too_many_arguments)]
fn finish_dry_run(
    out: &Path,
    dir: &Path,
    graph_root: &str,
    target: &str,
    store: &PlanStore,
    only: &BTreeSet<Part>,
    candidates: &[Candidate],
    decided: &[Decided],
    unread: &BTreeMap<usize, String>,
) -> CliResult {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the restore's folder {}", out.display()))?;
    let rows: Vec<RestoreRow> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = row_of(c, &decided[i], &[], unread.get(&i));
            if row.status != "not-found" && unread.get(&i).is_none() {
                row.errors.clear();
                row.status = if decided[i].actions.is_empty() {
                    "no-change"
                } else {
                    "planned"
                }
                .into();
                row.restored = decided[i]
                    .actions
                    .iter()
                    .map(|a| format!("would {}", a.describe()))
                    .collect();
            }
            row
        })
        .collect();
    let header = RestoreHeader {
        run_dir: dir,
        graph: graph_root,
        tenant: target,
        started: &now_rfc3339(),
        tool: &format!(
            "mfa-reset {} (dry run: nothing changed)",
            env!("CARGO_PKG_VERSION")
        ),
        fingerprint: &store.header.fingerprint,
        only: &only.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
    };
    crate::report::restore::write(out, &header, &rows)
        .with_context(|| format!("cannot write the restore's results to {}", out.display()))?;
    say!(
        "mfa-reset: dry run: nothing was changed; what the restore would do is in {}",
        out.display()
    );
    Ok(Exit::Done)
}

/// Graph stopped answering (`cause`) `when`: a refused credential exits 3, an outage 1.
fn stopped_error(cause: crate::engine::dispatcher::Abandon, when: &str) -> CliError {
    use crate::engine::dispatcher::Abandon;
    let (exit, what) = match cause {
        Abandon::Unauthorized => (Exit::Refused, "Graph refused the credential"),
        _ => (Exit::Failures, "Graph could not be reached"),
    };
    CliError {
        error: anyhow!("{what} {when}"),
        exit,
    }
}

fn is_success(result: &JobResult) -> bool {
    matches!(result, JobResult::Done { .. } | JobResult::AlreadyDone)
}

fn failure_words(result: &JobResult) -> String {
    match result {
        JobResult::Done { .. } | JobResult::AlreadyDone => String::new(),
        JobResult::Unknown { last_error } | JobResult::Abandoned { last_error, .. } => {
            format!("no answer ({last_error}): run the restore again to settle it")
        }
        JobResult::Failed { error, .. } => error.clone(),
    }
}

/// One user's row.
fn row_of(
    c: &Candidate,
    d: &Decided,
    outcomes: &[Option<JobResult>],
    unread: Option<&String>,
) -> RestoreRow {
    let mut row = RestoreRow {
        line: c.line,
        input: c.input.clone(),
        user_id: c.user_id.clone(),
        user_principal_name: c.upn.clone(),
        status: String::new(),
        restored: Vec::new(),
        unchanged: d.unchanged.clone(),
        left_alone: d.left_alone.clone(),
        cannot_restore: d.cannot.clone(),
        errors: Vec::new(),
    };
    if let Some(why) = unread {
        row.status = if why.contains("404") || why.to_ascii_lowercase().contains("not exist") {
            "not-found".into()
        } else {
            "failed".into()
        };
        row.errors.push(format!("could not read the user: {why}"));
        return row;
    }
    let mut unknown = false;
    for (action, outcome) in d.actions.iter().zip(outcomes) {
        match outcome {
            Some(r) if is_success(r) => row.restored.push(action.describe()),
            Some(r) => {
                unknown |= matches!(r, JobResult::Unknown { .. } | JobResult::Abandoned { .. });
                // Graph's message may quote what was sent: never a number or an address.
                let why = action.redact(&failure_words(r));
                row.errors.push(format!("{}: {why}", action.describe()));
            }
            None => row.errors.push(format!(
                "{}: not sent (an earlier change of this user failed)",
                action.describe()
            )),
        }
    }
    row.status = match (
        d.actions.is_empty(),
        row.restored.len(),
        row.errors.is_empty(),
    ) {
        (true, _, _) => "no-change",
        (false, _, true) => "done",
        _ if unknown => "unknown",
        (false, 0, false) => "failed",
        (false, _, false) => "partial",
    }
    .into();
    row
}

/// `--only`'s parts; all when none is given.
fn parse_only(given: &[String]) -> anyhow::Result<BTreeSet<Part>> {
    if given.is_empty() {
        return Ok(Part::ALL.into_iter().collect());
    }
    given
        .iter()
        .map(|g| {
            let g = g.trim();
            Part::ALL
                .into_iter()
                .find(|p| p.name().eq_ignore_ascii_case(g))
                .ok_or_else(|| {
                    anyhow!(
                        "--only {g:?}: give some of phone, email, account, default, tap (comma-separated); nothing was changed"
                    )
                })
        })
        .collect()
}

/// The users a `--users` list names (object ids and UPNs, lower-case). A row that names
/// no user is refused with its line and column.
fn users_named(list: &Path) -> anyhow::Result<HashSet<String>> {
    let mut named = HashSet::new();
    let mut problems = Vec::new();
    input::read(list, &InputOptions::default(), |rows: Vec<InputRow>| {
        for row in rows {
            match &row.key {
                Ok(key) => {
                    named.insert(key.as_str().to_ascii_lowercase());
                }
                Err(p) => problems.push(format!("{}:{}:{}: {p}", list.display(), p.line, p.column)),
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    if let Some(first) = problems.first() {
        anyhow::bail!(
            "{first}{}; correct the --users list, then run again; nothing was changed",
            if problems.len() > 1 {
                format!(" (and {} more rows)", problems.len() - 1)
            } else {
                String::new()
            }
        );
    }
    Ok(named)
}

/// `journal.jsonl` of a restore: one fsynced line per change answered — the user, what
/// was done and how it ended; never a number or an address.
struct RestoreJournal {
    file: std::fs::File,
    path: PathBuf,
}

impl RestoreJournal {
    fn create(out: &Path) -> anyhow::Result<RestoreJournal> {
        let path = out.join("journal.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(RestoreJournal { file, path })
    }

    fn record(&mut self, c: &Candidate, action: &Action, result: &JobResult) -> anyhow::Result<()> {
        let outcome = match result {
            JobResult::Done { .. } | JobResult::AlreadyDone => "done",
            JobResult::Failed { .. } => "failed",
            _ => "unknown",
        };
        let line = serde_json::json!({
            "at": now_rfc3339(),
            "row": c.row,
            "userId": c.user_id,
            "change": action.describe(),
            "outcome": outcome,
        });
        let mut bytes = serde_json::to_vec(&line)?;
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}
