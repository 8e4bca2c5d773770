//! `mfa-reset apply`: carry out a plan, record every user's outcome in a journal as it
//! happens, and write the run's reports.
//!
//! ```text
//! mfa-reset apply plan-2026-11-28/plan.json --out run-2026-11-28
//! mfa-reset apply users.csv --profile incident --out run-2026-11-28 --yes
//! ```
//!
//! `apply PLAN.json` carries out exactly that plan (policy flags are refused: the plan's
//! policy is the one the change board read). `apply INPUT [policy flags]` plans first,
//! writing the plan and its reports to `DIR/plan/`, then applies it; with containment
//! first, it contains every listed user straight from the list before that
//! (`super::contain`). Either way `DIR`
//! receives `plan.json` (the plan carried out), `run.json` (how), `journal.jsonl`,
//! `results.csv`, `results.jsonl`, `summary.md`, `report.html` and, when passes are
//! issued, `secrets/tap.csv` (mode 0600 in a 0700 folder, readied before the first write).
//!
//! Before anything is read or written, one request proves the credential and Graph, and
//! the tenant's Temporary Access Pass policy is read (again, for a plan: it may have
//! changed since) and the passes checked against it (`super::preflight`). A command that
//! ends before its run starts leaves the folder as it found it.
//!
//! Exit codes ([`crate::exit::RUN_EXIT_CODES`]): 0 every row done, no-change, excluded,
//! protected or duplicate; 1 any other row (blocked, partial, failed, drifted, not-found,
//! invalid, pending), or the run stopped because Graph could not be reached or refused
//! the same action user after user; 2 bad usage or input, passes the tenant's policy
//! would refuse, a secrets folder others can read, or not confirmed (nothing changed); 3
//! credentials or a permission refused (before anything changed, or mid-run); 4
//! interrupted (`mfa-reset resume DIR` carries on).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use time::OffsetDateTime;

use super::args::graph::{Connection, GraphArgs};
use super::args::policy::PolicyFlags;
use super::args::values::OnDriftChoice;
use super::carry_out::{self, Destination, RunPlan, Staged};
use super::contain;
use super::plan as plan_cmd;
use crate::cli::log::say;
use crate::engine::containment::log::{ContainStart, ContainmentLog};
use crate::engine::journal::{Journal, JournalState, Record};
use crate::engine::lock::{LOCK_FILE, RunLock};
use crate::engine::pacer::Pacer;
use crate::engine::preflight::check_tap_start;
use crate::engine::run::{RunFiles, now_rfc3339};
use crate::engine::secrets::TapFile;
use crate::engine::settings::{RunOptions, RunSettings};
use crate::exit::{CliError, CliResult, Exit, UsageContext};
use crate::graph::endpoints::is_loopback_url;
use crate::graph::tenant::TenantIdentity;
use crate::plan::{PLAN_FORMAT, PlanHeader};
use crate::policy::{Policy, PolicyArgs, Profile};
use crate::report::{self, PlanDigest};

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// A plan written by `mfa-reset plan` (plan.json), or a user list to plan and apply in
    /// one go.
    pub target: PathBuf,
    /// With a user list: the column (or JSON property) that holds the users.
    #[arg(long, value_name = "NAME", help_heading = "Input")]
    pub column: Option<String>,
    /// With a user list: plan the valid rows and report the invalid ones.
    #[arg(long, help_heading = "Input")]
    pub skip_invalid: bool,
    #[command(flatten)]
    pub many: super::tenants::TenantsArgs,
    #[command(flatten, next_help_heading = "Policy (with a user list)")]
    pub policy: PolicyFlags,
    #[command(flatten, next_help_heading = "Guardrails")]
    pub run: RunArgs,
    /// With a user list: users never to touch (break-glass accounts), in any input format.
    #[arg(long, value_name = "FILE", help_heading = "Guardrails")]
    pub exclude: Option<PathBuf>,
    /// With a user list: users never to touch, every member of this group (object id or
    /// display name, nested groups included); repeatable. Needs GroupMember.Read.All.
    #[arg(long, value_name = "ID|NAME", help_heading = "Guardrails")]
    pub exclude_group: Vec<String>,
    /// With a plan: the fingerprint the change board approved (`sha256:…`, as the plan's
    /// report shows it where it is signed); a plan whose fingerprint differs changes
    /// nothing.
    #[arg(long, value_name = "sha256:HEX", help_heading = "Guardrails")]
    pub expect_fingerprint: Option<String>,
    #[command(flatten, next_help_heading = "Graph connection")]
    pub graph: GraphArgs,
    /// Folder for the run's journal and reports; created if missing, must not hold a run.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: PathBuf,
    #[command(flatten)]
    pub output: super::output::OutputArgs,
}

/// How the run goes, beyond the plan.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// When a user differs from the plan (methods, account enabled, sync, admin roles):
    /// skip them (status drifted, nothing changed) or decide again from what is there
    /// now, under the same guardrails.
    #[arg(long, value_enum, default_value = "skip")]
    pub on_drift: OnDriftChoice,
    /// Do not re-read a user's methods after removing them.
    #[arg(long)]
    pub no_verify: bool,
    /// Revoke sessions (and disable accounts) for every user before removing any method;
    /// from a user list, straight from the list before any user is read [default with
    /// the incident and offboard profiles, and a policy that only revokes or disables].
    #[arg(
        long,
        conflicts_with = "no_contain_first",
        help_heading = "Policy (with a user list)"
    )]
    pub contain_first: bool,
    /// Run each user's steps in the plan's order, user after user, even for incidents.
    #[arg(long, help_heading = "Policy (with a user list)")]
    pub no_contain_first: bool,
    /// Ask the operator to confirm a run that changes more than N users.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub confirm_above: usize,
    /// Keep no restore data: by default the phone numbers, email addresses, enabled state
    /// and default method of each user are kept, before their first change, in
    /// DIR/secrets/restore.jsonl (0600), so that `mfa-reset restore DIR` can undo the run as
    /// far as Graph allows; nowhere else.
    #[arg(long)]
    pub no_restore_data: bool,
    /// Confirm without asking (scripts, pipelines).
    #[arg(long)]
    pub yes: bool,
    /// Run although eligible (PIM) admins could not be read (no licence, no permission):
    /// such an admin on the list is changed like anyone else.
    #[arg(long)]
    pub accept_unverified_admins: bool,
}

impl RunArgs {
    /// The run's options for a plan of `policy`: containment first is the default of the
    /// incident and offboard profiles, and of a policy that only contains (revokes
    /// sessions or disables accounts, and removes no method and issues no pass).
    pub(super) fn options(&self, policy: &Policy) -> RunOptions {
        let contain_first = if self.contain_first {
            true
        } else if self.no_contain_first {
            false
        } else {
            contains_by_default(policy)
        };
        RunOptions {
            on_drift: self.on_drift.into(),
            verify: !self.no_verify,
            contain_first,
            role_holders: None,
            restore_data: !self.no_restore_data,
        }
    }
}

/// Whether runs of `policy` contain first unless told otherwise.
fn contains_by_default(policy: &Policy) -> bool {
    matches!(
        policy.profile(),
        Some(Profile::Incident | Profile::Offboard)
    ) || ((policy.revoke_sessions() || policy.disable_account())
        && policy.remove_methods().is_empty()
        && policy.tap().is_none())
}

/// Runs `mfa-reset apply`.
pub fn run(mut args: ApplyArgs) -> CliResult {
    let plans =
        args.target.is_dir() && args.target.join(crate::tenants::RUN_TENANTS_FILE).is_file();
    if plans || args.many.tenants.is_some() {
        check_run_dir(&args.out).usage()?;
        super::tenants::create_out(&args.out)?;
        return match args.many.tenants.clone() {
            Some(tenants) if !plans => super::tenants::apply(args, &tenants),
            _ => super::tenants::apply_plans(args),
        };
    }
    // A list on standard input is read once into a file of its own (a plan is a file).
    let from_stdin = crate::input::spool::is_stdin(&args.target);
    let given_plan = !from_stdin && is_plan_file(&args.target).usage()?;
    if given_plan {
        refuse_planning_flags(&args).usage()?;
    } else if args.expect_fingerprint.is_some() {
        return Err(CliError::usage(anyhow::anyhow!(
            "--expect-fingerprint checks a plan file, and {} is a user list: plan it first (`mfa-reset plan`), have the plan approved, then apply the plan with its fingerprint. Nothing was changed",
            args.target.display()
        )));
    }
    check_run_dir(&args.out).usage()?;
    if !given_plan {
        // The plan made on the way goes there: refused before anything is read or changed.
        plan_cmd::check_out_dir(&args.out.join("plan")).usage()?;
    }
    let list = if given_plan {
        None
    } else {
        Some(crate::input::spool::spool(&args.target).usage()?)
    };
    let mut prepared = match &list {
        None => None,
        Some(list) => Some(
            plan_cmd::prepare(
                list,
                args.column.clone(),
                args.exclude.clone(),
                args.skip_invalid,
                args.policy.clone().into(),
            )
            .usage()?,
        ),
    };
    // Left as it was found unless the run starts.
    let mut folder = RunFolder::prepare(&args.out).usage()?;
    // Nothing is written to the folder before the run holds it.
    let _lock = RunLock::acquire(&args.out).usage()?;
    // The plan is copied into the run's folder (checked on the way) under a staging
    // name, and becomes the run's `plan.json` only once the run is confirmed.
    let mut staged = Staged::new(args.out.join("plan.json.partial"));
    let imported = if given_plan {
        Some(carry_out::import_plan(&args.target, staged.path()).usage()?)
    } else {
        None
    };
    if let (Some(plan), Some(expected)) = (&imported, &args.expect_fingerprint) {
        refuse_unapproved(&plan.store.header.fingerprint, expected).usage()?;
    }
    let tap = match (&imported, &prepared) {
        (Some(plan), _) => plan.store.header.policy.tap(),
        (None, Some(prepared)) => prepared.policy.tap(),
        (None, None) => None,
    };
    if let Some(tap) = tap {
        // Passes whose window is over are refused before the tenant is read; a start
        // still to come is said.
        if let Some(when) = check_tap_start(tap, OffsetDateTime::now_utc()).usage()? {
            say!("mfa-reset: note: {when}.");
        }
        // A secrets folder left open is refused before the tenant is read.
        TapFile::check_existing(&args.out).usage()?;
    }

    let runtime = super::runtime()?;
    runtime.block_on(async {
        let Connection { client, sim } = super::connect(&args.graph).await?;
        let destination = Destination {
            graph_root: client.endpoints().graph().to_string(),
            sim: sim.is_some(),
            connection: args.graph.record(),
        };
        if let Some(plan) = &imported
            && given_plan_targets_elsewhere(&plan.store.header, &destination)
        {
            return Err(CliError::usage(anyhow::anyhow!(
                "the plan was read from {} but this run would go to {}; apply a plan to the tenant it was made from",
                plan.store.header.graph,
                destination.graph_root
            )));
        }
        // The credential, Graph, and the tenant's TAP policy (which may have changed since
        // the plan was made), before anything is read or written.
        let notes = match super::preflight(&client, tap, ". Nothing was changed.", given_plan).await
        {
            Ok(notes) => notes,
            Err(end) => return end,
        };
        let mut notes = notes;
        // The tenant and the guardrails (admins, exclude groups) are read at once: one
        // round trip before a containment's first write, not two.
        let (tenant, size, guardrails) = tokio::join!(
            super::read_tenant(&client, ". Nothing was changed."),
            super::count_tenant(&client, &args.graph),
            async {
                match prepared.as_mut() {
                    Some(list) => {
                        super::read_guardrails(
                            &client,
                            list,
                            &args.exclude_group,
                            &mut notes,
                            ". Nothing was changed.",
                        )
                        .await
                    }
                    None => Ok(()),
                }
            }
        );
        let tenant = match tenant {
            Ok(tenant) => tenant,
            Err(end) => return end,
        };
        if let Err(end) = guardrails {
            return end;
        }
        // The run records (and a resume keeps) the size counted.
        args.graph.counted_size = size.or(args.graph.counted_size);
        let destination = Destination {
            connection: args.graph.record(),
            ..destination
        };
        super::refuse_unexpected_tenant(&args.graph, tenant.as_ref())?;
        if let Some(plan) = &imported {
            super::refuse_other_tenant(plan.store.header.tenant.as_ref(), tenant.as_ref())?;
        }
        if let Some(list) = prepared.as_mut() {
            list.tenant = tenant.clone();
            super::refuse_unverified_admins(
                list.admins_unverified.as_deref(),
                &list.policy,
                args.run.accept_unverified_admins,
            )?;
        }
        let client = Arc::new(client);
        // One pacer for everything the run reads and writes: the plan made on the way
        // spends the same quotas as the run.
        let pacer = Arc::new(Pacer::new(args.graph.pacer_settings()));
        if let Some(list) = &prepared
            && contain::contains_from_list(&list.policy, args.run.options(&list.policy))
        {
            match contain::read_guard(&client, &args.graph, list).await {
                Err(end) => return end,
                Ok(Err(why)) => {
                    let note = format!(
                        "{why}: every user is read before anything is changed, as a plan is, instead of containing them straight from the list"
                    );
                    say!("mfa-reset: note: {note}.");
                    notes.push(note);
                }
                Ok(Ok(guard)) => {
                    let mut options = args.run.options(&list.policy);
                    options.role_holders = list.role_holders.clone();
                    let target = target_words(list.tenant.as_ref(), destination.sim);
                    if !confirm_containment(list.targets, &list.policy, &args.run, &target)
                        .usage()?
                    {
                        return Ok(Exit::Usage);
                    }
                    say!(
                        "mfa-reset: applying to {target}: up to {} users contained from the list first, then the rest planned and carried out",
                        list.targets
                    );
                    // A resume reads the list again: one read from standard input stays
                    // with the run.
                    let kept = list_from_stdin(&args.out, list)?;
                    let mut start =
                        contain_start(&args, list, options.clone(), &destination).usage()?;
                    if let Some(kept) = &kept {
                        start.input = std::path::absolute(kept).unwrap_or_else(|_| kept.clone());
                    }
                    folder.keep();
                    let mut prepared = prepared.expect("checked above");
                    if let Some(kept) = kept {
                        prepared.input = kept;
                    }
                    return contain::contain_then_apply(
                        contain::ContainRun {
                            client,
                            graph: &args.graph,
                            out: &args.out,
                            options,
                            destination: &destination,
                            sim: sim.as_ref(),
                        },
                        prepared,
                        guard,
                        notes,
                        contain::Begin::New(Box::new(start)),
                    )
                    .await;
                }
            }
        }
        let listed_holders = prepared.as_ref().and_then(|p| p.role_holders.clone());
        let mut plan = match (imported, prepared) {
            (Some(plan), _) => plan,
            (None, Some(prepared)) => {
                let plan_dir = args.out.join("plan");
                plan_cmd::prepare_out_dir(&plan_dir).usage()?;
                // Ctrl-C here ends the process as usual: a listener would outlive the
                // planning and swallow a Ctrl-C at the confirmation prompt.
                let made = plan_cmd::make_plan(
                    prepared,
                    client.clone(),
                    pacer.clone(),
                    &args.graph,
                    &plan_dir,
                    notes,
                )
                .await
                .map_err(plan_cmd::stopped_reads)?;
                plan_cmd::write_reports(&plan_dir, &made.digest)?;
                plan_cmd::describe_plan(&plan_dir, &made.digest);
                carry_out::import_plan(made.store.path(), staged.path())?
            }
            (None, None) => unreachable!("a user list is always prepared"),
        };
        super::refuse_unverified_admins(
            plan.store.header.admins_unverified.as_deref(),
            &plan.store.header.policy,
            args.run.accept_unverified_admins,
        )?;
        let mut options = args.run.options(&plan.store.header.policy);
        options.role_holders = listed_holders;
        let target = target_words(plan.store.header.tenant.as_ref(), destination.sim);
        if !confirm(&plan.digest, &args.run, &target).usage()? {
            return Ok(Exit::Usage);
        }
        say!(
            "mfa-reset: applying to {target}: {} users, {} Graph writes to come",
            plan.digest.figures.users_affected, plan.store.header.writes
        );
        // Where the passes go, private, before the first write: a folder others can read
        // is refused while nothing has changed.
        super::ready_secrets(&args.out, &plan.store.header, options.restore_data)?;
        let mut journal =
            start_run(&mut plan, &mut staged, &args.out, options.clone(), &destination)?;
        folder.keep();
        let files = RunFiles {
            journal: &mut journal,
            state: JournalState::default(),
            dir: &args.out,
        };
        let exit = carry_out::carry_out(
            client,
            pacer,
            &args.graph,
            &plan,
            options,
            files,
            &destination,
            false,
        )
        .await?;
        carry_out::keep_sim_tenant(&args.out, sim.as_ref());
        Ok(exit)
    })
}

/// The run's folder until the run starts: created when missing and, should the command end
/// before the run starts (a refused credential or plan, no confirmation), left as it was
/// found — the lock file this command made removed, and the folder too when this command
/// created it and nothing else is in it (a plan made on the way, `DIR/plan/`, stays for
/// the operator to read).
struct RunFolder {
    dir: PathBuf,
    created: bool,
    lock_existed: bool,
    kept: bool,
}

impl RunFolder {
    fn prepare(dir: &Path) -> anyhow::Result<RunFolder> {
        let created = std::fs::symlink_metadata(dir).is_err();
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            created,
            lock_existed: dir.join(LOCK_FILE).exists(),
            kept: false,
        })
    }

    /// The run has started: the folder is the run's.
    fn keep(&mut self) {
        self.kept = true;
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if !self.lock_existed {
            let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
        }
        if self.created {
            // Only when empty.
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// A list read from standard input (`prepared.input_name` set), copied into the run's
/// folder as `list-from-stdin` (private), so that a resume can read it again: its path, or
/// `None` for a list in a file of its own.
fn list_from_stdin(
    out: &Path,
    prepared: &crate::plan::make::Prepared,
) -> Result<Option<PathBuf>, CliError> {
    if prepared.input_name.is_none() {
        return Ok(None);
    }
    let kept = out.join("list-from-stdin");
    std::fs::read(&prepared.input)
        .and_then(|bytes| crate::input::spool::write_private(&kept, &bytes))
        .with_context(|| {
            format!(
                "cannot keep the list read from standard input as {}",
                kept.display()
            )
        })
        .usage()?;
    Ok(Some(kept))
}

/// Refuses a plan whose fingerprint is not the approved one (`expected`, with or without
/// its `sha256:` prefix, any case).
fn refuse_unapproved(fingerprint: &str, expected: &str) -> anyhow::Result<()> {
    let bare = |f: &str| {
        let f = f.trim().to_ascii_lowercase();
        f.strip_prefix("sha256:").map(str::to_string).unwrap_or(f)
    };
    if bare(fingerprint) == bare(expected) {
        say!("mfa-reset: the plan's fingerprint is the approved one ({fingerprint})");
        return Ok(());
    }
    bail!(
        "the plan's fingerprint is {fingerprint}, not the approved {}: this is not the plan that was approved (it was made again, for other users or another tenant, or changed). Nothing was changed",
        expected.trim()
    )
}

/// A plan file carries its own policy and list: the flags that make a plan are refused
/// with it.
fn refuse_planning_flags(args: &ApplyArgs) -> anyhow::Result<()> {
    if PolicyArgs::from(args.policy.clone()) != PolicyArgs::default() {
        bail!(
            "{} is a plan: its policy is carried out exactly as planned, so policy flags (--profile, --remove-methods, ...) cannot be given with it. Plan again to change the policy",
            args.target.display()
        );
    }
    if args.column.is_some()
        || args.exclude.is_some()
        || args.skip_invalid
        || !args.exclude_group.is_empty()
    {
        bail!(
            "{} is a plan: --column, --exclude, --exclude-group and --skip-invalid apply only when planning; plan again to change them",
            args.target.display()
        );
    }
    Ok(())
}

/// How a containment from the list starts, for its log (and a resume).
fn contain_start(
    args: &ApplyArgs,
    list: &crate::plan::make::Prepared,
    options: RunOptions,
    destination: &Destination,
) -> anyhow::Result<ContainStart> {
    let absolute =
        |p: &Path| std::path::absolute(p).with_context(|| format!("cannot find {}", p.display()));
    Ok(ContainStart {
        input: absolute(&list.input)?,
        input_sha256: list.input_sha256.clone(),
        column: list.options.column.clone(),
        exclude: args.exclude.as_deref().map(absolute).transpose()?,
        exclude_groups: args.exclude_group.clone(),
        skip_invalid: args.skip_invalid,
        policy: list.policy.clone(),
        on_drift: options.on_drift,
        verify: options.verify,
        restore_data: options.restore_data,
        graph: destination.graph_root.clone(),
        sim: destination.sim,
        connection: destination.connection.clone(),
        started: now_rfc3339(),
        tool: format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
    })
}

/// Asks the operator to confirm a containment of more than `--confirm-above` users from
/// the list, unless `--yes`.
fn confirm_containment(
    users: usize,
    policy: &Policy,
    run: &RunArgs,
    target: &str,
) -> anyhow::Result<bool> {
    if users <= run.confirm_above || run.yes {
        return Ok(true);
    }
    let what = match (policy.revoke_sessions(), policy.disable_account()) {
        (true, true) => "revokes the sessions of and disables",
        (false, true) => "disables",
        _ => "revokes the sessions of",
    };
    ask_for_count(
        users,
        &format!(
            "this run {what} {users} users of {target} from the list (more than --confirm-above {}) before planning the rest, and there is no terminal to confirm it on. Check the list, then run again with --yes",
            run.confirm_above
        ),
        &format!(
            "This run {what} {users} users of {target} from the list at once (admins and excluded users spared), then plans and carries out the rest."
        ),
    )
}

/// Makes the confirmed plan the run's `plan.json`, records how the run goes in
/// `run.json`, and opens the journal with the run's first record.
pub(super) fn start_run(
    plan: &mut RunPlan,
    staged: &mut Staged,
    out: &Path,
    options: RunOptions,
    destination: &Destination,
) -> anyhow::Result<Journal> {
    let plan_path = out.join("plan.json");
    plan.store
        .rename(&plan_path)
        .with_context(|| format!("cannot write {}", plan_path.display()))?;
    staged.keep();
    let plan_sha256 = plan.store.sha256().to_string();
    RunSettings {
        plan_sha256: plan_sha256.clone(),
        graph: destination.graph_root.clone(),
        sim: destination.sim,
        on_drift: options.on_drift,
        verify: options.verify,
        contain_first: options.contain_first,
        restore_data: options.restore_data,
        connection: Some(destination.connection.clone()),
        tenant: plan.store.header.tenant.clone(),
    }
    .write(out)?;
    Ok(Journal::create(
        out,
        Record::Run {
            plan_fingerprint: plan.store.header.fingerprint.clone(),
            plan_sha256,
            started: now_rfc3339(),
            tool: format!("mfa-reset {}", env!("CARGO_PKG_VERSION")),
        },
    )?)
}

/// Asks the operator to confirm a large run, unless `--yes`.
fn confirm(plan: &PlanDigest, run: &RunArgs, target: &str) -> anyhow::Result<bool> {
    let users = plan.figures.users_affected;
    if users <= run.confirm_above || run.yes {
        return Ok(true);
    }
    ask_for_count(
        users,
        &format!(
            "this run changes {users} users of {target} (more than --confirm-above {}), and there is no terminal to confirm it on. Read the plan's summary, then run again with --yes",
            run.confirm_above
        ),
        &format!(
            "This run changes {users} users of {target} ({} Graph writes, about {}).",
            plan.header.writes,
            report::human_duration(plan.header.minimum_seconds)
        ),
    )
}

/// The tenant a run goes to, in words for its confirmation and its last line before the
/// first write.
pub(super) fn target_words(tenant: Option<&TenantIdentity>, sim: bool) -> String {
    match (tenant, sim) {
        (Some(tenant), false) => tenant.to_string(),
        (Some(tenant), true) => format!("{tenant}, in the built-in emulator"),
        (None, true) => "the built-in emulator's tenant".into(),
        (None, false) => "the credential's tenant (which it does not name)".into(),
    }
}

/// Asks on the terminal for `users` to be typed after `prompt`; without a terminal, the
/// error `no_terminal`.
pub(super) fn ask_for_count(users: usize, no_terminal: &str, prompt: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("{no_terminal}");
    }
    if super::log::stderr_is_json_log() {
        // The question is an event like every other line; the answer is typed below it.
        say!("{prompt} Type {users} to go on:");
    } else {
        let mut stderr = std::io::stderr();
        let _ = write!(stderr, "{prompt} Type {users} to go on: ");
        let _ = stderr.flush();
    }
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the confirmation")?;
    if answer.trim() == users.to_string() {
        Ok(true)
    } else {
        say!("mfa-reset: not confirmed; nothing was changed.");
        Ok(false)
    }
}

/// Whether the file at `path` is a plan (a JSON object whose `format` is a plan's) rather
/// than a user list. Read as a stream: nothing but that field is kept.
pub(super) fn is_plan_file(path: &Path) -> anyhow::Result<bool> {
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<String>,
    }
    let file = std::fs::File::open(path)
        .and_then(crate::plan::store::without_bom)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let probe: Result<Probe, _> =
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    Ok(probe.is_ok_and(|p| p.format.as_deref() == Some(PLAN_FORMAT)))
}

/// Whether a plan read from one Graph is being applied to another. Plans read from an
/// emulator may be applied to an emulator.
fn given_plan_targets_elsewhere(plan: &PlanHeader, destination: &Destination) -> bool {
    if destination.sim && is_loopback_url(&plan.graph) {
        return false;
    }
    plan.graph != destination.graph_root
}

/// Refuses an output folder that holds a run or a plan, creating nothing.
fn check_run_dir(out: &Path) -> anyhow::Result<()> {
    if out.join("journal.jsonl").exists() || ContainmentLog::path_in(out).exists() {
        bail!(
            "{} already holds a run; resume it with `mfa-reset resume {}`, or choose another --out folder",
            out.display(),
            carry_out::shell_quote(out)
        );
    }
    if out.join("plan.json").exists() {
        bail!(
            "{} holds a plan; a run writes its own results, so give it a new --out folder (the plan stays as the change board read it)",
            out.display()
        );
    }
    Ok(())
}
