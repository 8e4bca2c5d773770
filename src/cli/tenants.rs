//! `plan`, `apply` and `resume` over several tenants in one process (`--tenants FILE`):
//! the list is split by its tenant column into `DIR/lists/<folder>.csv`, and each tenant
//! runs as a one-tenant command of its own into `DIR/<folder>/` — its own credential (read
//! only from the variables the tenants file names), token, pacer and quotas — side by
//! side, on threads of their own. One tenant's refused credential or outage ends that
//! tenant only. `DIR/summary.md` and `DIR/report.html` roll the tenants up, a row each;
//! `resume DIR` carries every tenant on (a tenant that never started is started), and
//! `resume DIR/<folder>` one alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};

use super::apply::ApplyArgs;
use super::args::graph::{CredentialEnv, GraphArgs, TenantChoice};
use super::plan::PlanArgs;
use super::resume::ResumeArgs;
use crate::cli::log::say;
use crate::exit::{CliError, CliResult, Exit, UsageContext};
use crate::input::InputOptions;
use crate::report::tenants::{RollUpRow, report_html, summary_md};
use crate::secret::Secret;
use crate::tenants::{LISTS_DIR, RUN_TENANTS_FILE, TenantEntry, TenantsFile, USER_COLUMN};

/// `--tenants FILE` and `--tenant-column NAME`, as `plan` and `apply` take them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TenantsArgs {
    /// With a user list: run over several tenants, side by side — the tenants file (JSON)
    /// says how to reach each, and the list's tenant column which tenant each row is in.
    /// Each tenant gets a folder of its own in --out, and a roll-up summary.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub tenants: Option<PathBuf>,
    /// With --tenants: the list's column that names each row's tenant (id or domain)
    /// [default: tenant, tenantId or tenantDomain].
    #[arg(
        long,
        value_name = "NAME",
        requires = "tenants",
        help_heading = "Input"
    )]
    pub tenant_column: Option<String>,
}

/// Creates the folder of a command over several tenants.
pub fn create_out(out: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create {}", out.display()))
        .usage()
}

/// What a multi-tenant command does for each tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Plan,
    Apply,
}

/// How one tenant's command ended.
struct Ended {
    folder: String,
    tenant: String,
    exit: Exit,
    error: Option<String>,
}

/// `mfa-reset apply LIST --tenants FILE --out DIR`.
pub fn apply(args: ApplyArgs, tenants: &Path) -> CliResult {
    if super::apply::is_plan_file(&args.target).unwrap_or(false) {
        return Err(CliError::usage(anyhow!(
            "--tenants splits a user list by tenant, and {} is a plan: apply it on its own, or apply the folder of a `plan --tenants` (`mfa-reset apply PLANS --yes --out DIR`)",
            args.target.display()
        )));
    }
    if args.expect_fingerprint.is_some() {
        return Err(CliError::usage(anyhow!(
            "--expect-fingerprint checks one plan, not a list over several tenants: apply each approved plan on its own"
        )));
    }
    if !args.run.yes {
        return Err(CliError::usage(anyhow!(
            "a run over several tenants asks no question on the terminal: read each tenant's plan first (`mfa-reset plan LIST --tenants FILE --out DIR`), then run again with --yes. Nothing was changed"
        )));
    }
    let (file, lists) = split(
        &args.target,
        args.column.as_deref(),
        args.many.tenant_column.as_deref(),
        tenants,
        &args.out,
    )?;
    record_started(&args.out).usage()?;
    let jobs = lists
        .into_iter()
        .map(|(entry, list)| {
            let e = &file.tenants[entry];
            let mut one = tenant_apply_args(&args, e, list);
            one.graph = tenant_graph(&args.graph, e)?;
            Ok((e.clone(), Box::new(one)))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let ended = side_by_side(jobs, |one| super::apply::run(*one));
    roll_up(&args.out, &file, &ended, Job::Apply)
}

/// `mfa-reset apply PLANS --yes --out DIR`, where PLANS is the folder of a plan over
/// several tenants (`plan --tenants`): each tenant's plan is carried out exactly as
/// planned into `DIR/<folder>/`, side by side, with the credentials of the tenants file
/// (`--tenants FILE`, or the copy the plans' folder keeps).
pub fn apply_plans(args: ApplyArgs) -> CliResult {
    let plans = args.target.clone();
    let file = TenantsFile::read(
        &args
            .many
            .tenants
            .clone()
            .unwrap_or_else(|| plans.join(RUN_TENANTS_FILE)),
    )
    .usage()?;
    if !args.run.yes {
        return Err(CliError::usage(anyhow!(
            "a run over several tenants asks no question on the terminal: read each tenant's plan in {}, then run again with --yes. Nothing was changed",
            plans.display()
        )));
    }
    if args.expect_fingerprint.is_some() {
        return Err(CliError::usage(anyhow!(
            "--expect-fingerprint checks one plan: apply each approved plan on its own (`mfa-reset apply {}/<tenant>/plan.json --expect-fingerprint …`)",
            plans.display()
        )));
    }
    let mut jobs = Vec::new();
    for e in &file.tenants {
        let plan = plans.join(e.folder_name()).join("plan.json");
        if !plan.is_file() {
            continue;
        }
        let one = ApplyArgs {
            target: plan,
            out: args.out.join(e.folder_name()),
            // A plan takes no planning flags: given, each tenant's apply refuses them.
            column: args.column.clone(),
            exclude: args.exclude.clone(),
            skip_invalid: args.skip_invalid,
            exclude_group: args.exclude_group.clone(),
            expect_fingerprint: None,
            many: TenantsArgs::default(),
            output: args.output.clone(),
            policy: args.policy.clone(),
            run: args.run.clone(),
            graph: tenant_graph(&args.graph, e)?,
        };
        jobs.push((e.clone(), Box::new(one)));
    }
    if jobs.is_empty() {
        return Err(CliError::usage(anyhow!(
            "{} holds no tenant's plan (DIR/<folder>/plan.json): make them with `mfa-reset plan LIST --tenants FILE --out {}`",
            plans.display(),
            plans.display()
        )));
    }
    let text = serde_json::to_string_pretty(&file).expect("a tenants file serializes");
    std::fs::write(args.out.join(RUN_TENANTS_FILE), text)
        .with_context(|| format!("cannot write {}", args.out.join(RUN_TENANTS_FILE).display()))
        .usage()?;
    let ended = side_by_side(jobs, |one| super::apply::run(*one));
    roll_up(&args.out, &file, &ended, Job::Apply)
}

/// The connection flags of a run folder that is one tenant's of a run over several
/// (`DIR/<folder>/` next to `DIR/tenants.json`): its tenant's, with the credential the
/// tenants file names. `None` for any other folder.
pub fn graph_of_tenant_folder(
    dir: &Path,
    given: &GraphArgs,
) -> Option<Result<GraphArgs, CliError>> {
    let dir = std::path::absolute(dir).ok()?;
    let (parent, name) = (dir.parent()?, dir.file_name()?.to_str()?);
    let file = TenantsFile::read(&parent.join(RUN_TENANTS_FILE)).ok()?;
    let entry = file.tenants.iter().find(|e| e.folder_name() == name)?;
    Some(tenant_graph(given, entry))
}

/// `mfa-reset plan LIST --tenants FILE --out DIR`.
pub fn plan(args: PlanArgs, tenants: &Path) -> CliResult {
    let (file, lists) = split(
        &args.input,
        args.column.as_deref(),
        args.many.tenant_column.as_deref(),
        tenants,
        &args.out,
    )?;
    let jobs = lists
        .into_iter()
        .map(|(entry, list)| {
            let e = &file.tenants[entry];
            let one = PlanArgs {
                input: list,
                column: Some(USER_COLUMN.into()),
                out: args.out.join(e.folder_name()),
                exclude: e.exclude.clone().or_else(|| args.exclude.clone()),
                skip_invalid: args.skip_invalid,
                exclude_group: tenant_groups(e, &args.exclude_group),
                many: TenantsArgs::default(),
                output: args.output.clone(),
                policy: tenant_policy(&args.policy, e),
                graph: tenant_graph(&args.graph, e)?,
            };
            Ok((e.clone(), Box::new(one)))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let ended = side_by_side(jobs, |one| super::plan::run(*one));
    roll_up(&args.out, &file, &ended, Job::Plan)
}

/// `mfa-reset resume DIR` of a run over several tenants: every tenant is carried on, side
/// by side — resumed where its run began, started where it never did.
pub fn resume(args: ResumeArgs) -> CliResult {
    let dir = &args.dir;
    let file = TenantsFile::read(&dir.join(RUN_TENANTS_FILE)).usage()?;
    let lists = dir.join(LISTS_DIR);
    let mut starts = Vec::new();
    let mut resumes = Vec::new();
    for e in &file.tenants {
        let list = lists.join(format!("{}.csv", e.folder_name()));
        let folder = dir.join(e.folder_name());
        let begun =
            folder.join("plan.json").is_file() || folder.join("containment.jsonl").is_file();
        if !begun && !list.is_file() {
            continue; // no row of this tenant (or, in a run of plans, no plan)
        }
        let graph = tenant_graph(&args.graph, e)?;
        if begun {
            resumes.push((
                e.clone(),
                Box::new(ResumeArgs {
                    dir: folder,
                    retry_failed: args.retry_failed,
                    output: args.output.clone(),
                    graph,
                }),
            ));
        } else {
            starts.push((e.clone(), (list, folder, graph)));
        }
    }
    let mut ended = side_by_side(resumes, |one| super::resume::run(*one));
    // A tenant that never began is started as the run was (a run of plans starts none).
    let started = if starts.is_empty() {
        None
    } else {
        Some(read_started(dir)?)
    };
    let mut fresh = Vec::new();
    for (e, (list, folder, graph)) in starts {
        let Some(started) = &started else { break };
        let mut one = started.apply_args(&e, list)?;
        one.out = folder;
        one.graph = graph;
        fresh.push((e, Box::new(one)));
    }
    ended.extend(side_by_side(fresh, |one| super::apply::run(*one)));
    ended.sort_by(|a, b| a.folder.cmp(&b.folder));
    roll_up(dir, &file, &ended, Job::Apply)
}

/// Checks the tenants file, keeps a copy in `out` (with how the run was started, for a
/// resume), and splits the list there: the tenants file and each tenant's list, by entry.
fn split(
    input: &Path,
    column: Option<&str>,
    tenant_column: Option<&str>,
    tenants: &Path,
    out: &Path,
) -> Result<(TenantsFile, Vec<(usize, PathBuf)>), CliError> {
    let file = TenantsFile::read(tenants).usage()?;
    if out.join(RUN_TENANTS_FILE).exists() {
        return Err(CliError::usage(anyhow!(
            "{} already holds a run over several tenants: carry it on with `mfa-reset resume {}`, or give another --out",
            out.display(),
            out.display()
        )));
    }
    let options = InputOptions {
        column: column.map(str::to_string),
    };
    // A list on standard input is read once; the split lists are the run's from then on.
    let spooled = crate::input::spool::spool(input).usage()?;
    let (lists, notes) = crate::tenants::split_list(
        &spooled.path,
        &options,
        tenant_column,
        &file,
        &out.join(LISTS_DIR),
    )
    .usage()?;
    // The split lists are clean: what reading the list noted is said here, once.
    for note in notes {
        say!("mfa-reset: note: {}: {note}.", spooled.name);
    }
    let text = serde_json::to_string_pretty(&file).expect("a tenants file serializes");
    std::fs::write(out.join(RUN_TENANTS_FILE), text)
        .with_context(|| format!("cannot write {}", out.join(RUN_TENANTS_FILE).display()))
        .usage()?;
    say!(
        "mfa-reset: {} tenants in {}: {}",
        lists.len(),
        input.display(),
        lists
            .iter()
            .map(|l| format!("{} ({} rows)", file.tenants[l.entry].tenant, l.rows))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((file, lists.into_iter().map(|l| (l.entry, l.path)).collect()))
}

/// One tenant's `apply` arguments: the run's, with the tenant's list, folder, profile and
/// exclusions.
fn tenant_apply_args(args: &ApplyArgs, e: &TenantEntry, list: PathBuf) -> ApplyArgs {
    ApplyArgs {
        target: list,
        out: args.out.join(e.folder_name()),
        column: Some(USER_COLUMN.into()),
        exclude: e.exclude.clone().or_else(|| args.exclude.clone()),
        skip_invalid: args.skip_invalid,
        exclude_group: tenant_groups(e, &args.exclude_group),
        expect_fingerprint: None,
        many: TenantsArgs::default(),
        output: args.output.clone(),
        policy: tenant_policy(&args.policy, e),
        run: args.run.clone(),
        graph: args.graph.clone(),
    }
}

fn tenant_groups(e: &TenantEntry, given: &[String]) -> Vec<String> {
    if e.exclude_groups.is_empty() {
        given.to_vec()
    } else {
        e.exclude_groups.clone()
    }
}

fn tenant_policy(
    given: &super::args::policy::PolicyFlags,
    e: &TenantEntry,
) -> super::args::policy::PolicyFlags {
    let mut policy = given.clone();
    if e.profile.is_some() {
        policy.profile = e.profile;
    }
    policy
}

/// The connection flags of one tenant: the command line's, for the tenant the entry names,
/// with its own hosts when it gives them, and its credential read only from the variables
/// it names.
fn tenant_graph(given: &GraphArgs, e: &TenantEntry) -> Result<GraphArgs, CliError> {
    if given.is_sim() {
        return Err(CliError::usage(anyhow!(
            "--tenant sim starts one emulated tenant; a run over several tenants names each in the tenants file (for a rehearsal, its graphUrl and loginUrl may point at an emulator started with `mfa-reset sim`, one a tenant)"
        )));
    }
    let credentials = e
        .credential_env(|name| std::env::var(name).ok())
        .map_err(|why| CliError::usage(anyhow!("{why}. Nothing was changed")))?;
    Ok(GraphArgs {
        tenant: Some(TenantChoice::Named(e.tenant.trim().to_ascii_lowercase())),
        graph_url: e.graph_url.clone().or_else(|| given.graph_url.clone()),
        login_url: e.login_url.clone().or_else(|| given.login_url.clone()),
        credentials: Some(Arc::new(CredentialEnv(
            credentials
                .into_iter()
                .map(|(name, value)| (name, Secret::new(value)))
                .collect(),
        ))),
        ..given.clone()
    })
}

/// Runs `one` for every tenant at once, each on a thread of its own; how each ended, in
/// the order given. A tenant's error is said with its name and ends only that tenant.
fn side_by_side<A: Send + 'static>(
    jobs: Vec<(TenantEntry, Box<A>)>,
    one: impl Fn(Box<A>) -> CliResult + Send + Sync + Copy + 'static,
) -> Vec<Ended> {
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|(e, args)| {
            let handle = std::thread::Builder::new()
                .name(format!("tenant {}", e.tenant))
                .spawn(move || one(args));
            (e, handle)
        })
        .collect();
    handles
        .into_iter()
        .map(|(e, handle)| {
            let result = match handle {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    Err(CliError {
                        error: anyhow!(
                            "the tenant's run stopped on a bug; what it did is in its folder's journal"
                        ),
                        exit: Exit::Failures,
                    })
                }),
                Err(spawn) => Err(CliError {
                    error: anyhow!("cannot start the tenant's run: {spawn}"),
                    exit: Exit::Failures,
                }),
            };
            let (exit, error) = match result {
                Ok(exit) => (exit, None),
                Err(e) => (e.exit, Some(format!("{:#}", e.error))),
            };
            if let Some(error) = &error {
                say!("mfa-reset: tenant {}: error: {error}", e.tenant);
            }
            say!("mfa-reset: tenant {}: exit {}", e.tenant, exit.code());
            Ended {
                folder: e.folder_name(),
                tenant: e.tenant.clone(),
                exit,
                error,
            }
        })
        .collect()
}

/// How the run over several tenants was started, for a tenant a resume starts afresh:
/// kept in `DIR/started.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    /// The command-line `apply` arguments, as words (no credential is ever one).
    args: Vec<String>,
}

impl Started {
    fn apply_args(&self, e: &TenantEntry, list: PathBuf) -> Result<ApplyArgs, CliError> {
        use clap::Parser;
        #[derive(Parser)]
        struct Words {
            #[command(flatten)]
            apply: ApplyArgs,
        }
        let words =
            Words::try_parse_from(std::iter::once("apply".to_string()).chain(self.args.clone()))
                .map(|w| w.apply)
                .map_err(|e| {
                    CliError::usage(anyhow!(
                        "{STARTED_FILE} does not hold the words of an `apply` (was it edited?): {e}"
                    ))
                })?;
        Ok(tenant_apply_args(&words, e, list))
    }
}

fn read_started(dir: &Path) -> Result<Started, CliError> {
    let path = dir.join(STARTED_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))
        .usage()?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not how a run started", path.display()))
        .usage()
}

/// Where a run over several tenants keeps how it was started.
const STARTED_FILE: &str = "started.json";

/// Records the `apply` words of a run over several tenants (from the process's arguments,
/// after `apply`), for a resume that must start a tenant afresh.
fn record_started(out: &Path) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip_while(|a| a != "apply")
        .skip(1)
        .collect();
    let text = serde_json::to_string_pretty(&Started { args })?;
    std::fs::write(out.join(STARTED_FILE), text)
        .with_context(|| format!("cannot write {}", out.join(STARTED_FILE).display()))
}

/// Writes `DIR/summary.md` and `DIR/report.html`, a row per tenant, and the exit of the
/// whole: 0 when every tenant's is; else the gravest (interrupted, refused, failures,
/// usage).
fn roll_up(dir: &Path, file: &TenantsFile, ended: &[Ended], job: Job) -> CliResult {
    let rows: Vec<RollUpRow> = ended
        .iter()
        .map(|e| TenantRow::read(dir, e).into_roll_up())
        .collect();
    let title = match job {
        Job::Plan => "plan",
        Job::Apply => "run",
    };
    let md = summary_md(title, file.tenants.len(), &rows);
    let html = report_html(title, &rows);
    for (name, text) in [("summary.md", md), ("report.html", html)] {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
            .map_err(|error| CliError {
                error,
                exit: Exit::Failures,
            })?;
    }
    say!(
        "mfa-reset: {} tenants — roll-up in {}",
        rows.len(),
        dir.join("summary.md").display()
    );
    let gravest = [
        Exit::Interrupted,
        Exit::Refused,
        Exit::Failures,
        Exit::Usage,
    ]
    .into_iter()
    .find(|exit| ended.iter().any(|e| e.exit == *exit));
    Ok(gravest.unwrap_or(Exit::Done))
}

/// One tenant's row of the roll-up.
struct TenantRow {
    folder: String,
    tenant: String,
    identity: Option<String>,
    exit: Exit,
    error: Option<String>,
    by_status: BTreeMap<String, usize>,
}

impl TenantRow {
    fn read(dir: &Path, e: &Ended) -> TenantRow {
        let folder = dir.join(&e.folder);
        let identity = crate::plan::store::PlanStore::open(&folder.join("plan.json"))
            .or_else(|_| {
                crate::plan::store::PlanStore::open(&folder.join("plan").join("plan.json"))
            })
            .ok()
            .and_then(|p| p.header.tenant.as_ref().map(ToString::to_string));
        let mut by_status = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(folder.join("results.jsonl")) {
            for line in text.lines() {
                if let Ok(row) = serde_json::from_str::<serde_json::Value>(line) {
                    let status = row["status"].as_str().unwrap_or("unknown").to_string();
                    *by_status.entry(status).or_default() += 1;
                }
            }
        }
        TenantRow {
            folder: e.folder.clone(),
            tenant: e.tenant.clone(),
            identity,
            exit: e.exit,
            error: e.error.clone(),
            by_status,
        }
    }

    fn into_roll_up(self) -> RollUpRow {
        RollUpRow {
            tenant: self.identity.clone().unwrap_or_else(|| self.tenant.clone()),
            folder: self.folder.clone(),
            outcome: self.outcome(),
            counts: self.counts(),
        }
    }

    fn counts(&self) -> String {
        if self.by_status.is_empty() {
            return "no results".into();
        }
        self.by_status
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn outcome(&self) -> String {
        let what = match self.exit {
            Exit::Done => "finished",
            Exit::Failures => "finished with rows short of the policy, or stopped",
            Exit::Usage => "not started: refused before anything changed",
            Exit::Refused => "credential or permission refused",
            Exit::Interrupted => "interrupted: resume to finish",
        };
        match &self.error {
            Some(error) => format!("exit {} — {what}: {error}", self.exit.code()),
            None => format!("exit {} — {what}", self.exit.code()),
        }
    }
}
