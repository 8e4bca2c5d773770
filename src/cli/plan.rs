//! `mfa-reset plan`: the dry run. Reads the user list, reads every user's state from the
//! tenant through the paced `$batch` client, decides what the policy would change, and
//! writes the plan and its reports. Nothing in the tenant changes.
//!
//! ```text
//! mfa-reset plan users.csv --profile device-refresh --issue-tap --out plan-2026-11-28
//! mfa-reset plan samples/users.csv --profile incident --tenant sim --out /tmp/rehearsal
//! ```
//!
//! Before anything is read or written — the `--out` folder included — one request proves
//! the credential and Graph, and a plan that issues passes reads the tenant's Temporary
//! Access Pass policy (`super::preflight`): a `--tap-lifetime` outside it, a disabled
//! policy or multi-use passes where it allows one-time ones only are refused; a policy the
//! app may not read is noted in the plan and its reports.
//!
//! `--out DIR` receives `plan.json`, `results.csv`, `results.jsonl`, `summary.md` and
//! `report.html`. Exit codes ([`crate::exit::PLAN_EXIT_CODES`]): 0 the plan is written and
//! every row is planned, no-change, excluded, protected or duplicate; 1 written, with some
//! row blocked, not-found, invalid or error, or not written because Graph could not be
//! reached; 2 bad usage or bad input, or passes the tenant's policy would refuse (nothing
//! read); 3 the credentials or the permission to read users were refused; 4 interrupted
//! (Ctrl-C) before the plan was written.
//!
//! The plan itself is made in [`crate::plan::make`] from the reads of
//! [`crate::engine::read`]; [`make_plan`] only wires the two together and writes the
//! results on the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::args::graph::{Connection, GraphArgs};
use super::args::policy::PolicyFlags;
use super::interrupt::Interrupts;
use super::progress;
use crate::cli::log::say;
use crate::engine::estimate::{DEFAULT_ROUND_TRIP, Pace, reads_per_user};
use crate::engine::pacer::Pacer;
use crate::engine::read::{ReadsStopped, Scope, Target, read_stream_sparing};
use crate::engine::run::now_rfc3339;
use crate::exit::{CliResult, Exit, UsageContext};
use crate::graph::client::GraphClient;
use crate::input::spool::{Spooled, spool};
use crate::input::{InputOptions, RowProblem};
use crate::plan::build::Row;
use crate::plan::make::{self, Entries, MakeError, PlanRequest, Prepared};
use crate::plan::store::PlanStore;
use crate::policy::PolicyArgs;
use crate::policy::permissions;
use crate::report::{self, PlanDigest, results::PlanResultsWriter};

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The user list: CSV (Entra export, bulk template, any delimiter), a plain list, or
    /// JSON (array, JSON Lines, Graph pages).
    pub input: PathBuf,
    /// The column (or JSON property) that holds the users, when it cannot be found by name.
    #[arg(long, value_name = "NAME", help_heading = "Input")]
    pub column: Option<String>,
    /// Plan the valid rows and report the invalid ones instead of stopping.
    #[arg(long, help_heading = "Input")]
    pub skip_invalid: bool,
    #[command(flatten)]
    pub many: super::tenants::TenantsArgs,
    #[command(flatten, next_help_heading = "Policy")]
    pub policy: PolicyFlags,
    /// Users never to touch (break-glass accounts), in any input format.
    #[arg(long, value_name = "FILE", help_heading = "Guardrails")]
    pub exclude: Option<PathBuf>,
    /// Users never to touch: every member of this group, through nested groups (its object
    /// id, or its display name); repeatable. Needs GroupMember.Read.All.
    #[arg(long, value_name = "ID|NAME", help_heading = "Guardrails")]
    pub exclude_group: Vec<String>,
    #[command(flatten, next_help_heading = "Graph connection")]
    pub graph: GraphArgs,
    /// Folder for the plan and its reports; created if missing, must not hold a plan yet.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: PathBuf,
    #[command(flatten)]
    pub output: super::output::OutputArgs,
}

/// Reads and checks the input, the policy and the exclusions, printing every invalid row
/// as `file:line:column: problem (hint)`. Errors here are usage errors (exit 2): nothing
/// has been read from the tenant.
pub fn prepare(
    list: &Spooled,
    column: Option<String>,
    exclude: Option<PathBuf>,
    skip_invalid: bool,
    policy: PolicyArgs,
) -> anyhow::Result<Prepared> {
    let request_exclude = exclude.clone();
    let request = PlanRequest {
        input: list.path.clone(),
        options: InputOptions { column },
        policy: policy.into_policy()?,
        exclude,
        skip_invalid,
    };
    // A problem of a list read from standard input is named as `-`, not by its spool.
    let mut prepared = make::prepare(request, |path, problem| {
        if list.spooled() && path == list.path {
            print_problem(Path::new(&list.name), problem);
        } else {
            print_problem(path, problem);
        }
    })?;
    if list.spooled() {
        prepared.input_name = Some(list.name.clone());
    }
    // What reading the lists noted (kept in the plan's notes by `make_plan`).
    for note in prepared.input_notes() {
        say!("mfa-reset: note: {note}.");
    }
    if let Some(exclude) = &request_exclude
        && prepared.exclusions.is_empty()
    {
        say!(
            "mfa-reset: warning: the exclude list {} holds no user: nobody is excluded (check that it is the right file, and that its users' column has a header)",
            exclude.display()
        );
    }
    Ok(prepared)
}

/// A plan written to disk: `plan.json` open for reading, and what its reports need.
pub struct MadePlan {
    pub store: PlanStore,
    pub digest: PlanDigest,
}

/// Reads every target user through `client`, decides the plan, and writes `plan.json`
/// (with the lists' notes, `notes` — what the preflight could not check — and a note of its own when the
/// passes would expire before the run is through), `results.csv` and `results.jsonl`
/// to `out` (the summary and the HTML report are [`write_reports`]'). Memory does not grow with the list: the input is read again a
/// row at a time in its own thread, only a window of users is read at once, and every
/// finished entry waits on disk until all are done.
pub async fn make_plan(
    prepared: Prepared,
    client: Arc<GraphClient>,
    pacer: Arc<Pacer>,
    graph: &GraphArgs,
    out: &Path,
    notes: Vec<String>,
) -> anyhow::Result<MadePlan> {
    let graph_root = client.endpoints().graph().to_string();
    let input_notes = prepared.input_notes();
    let entries = Arc::new(Entries::create(out, &prepared)?);
    let (target_tx, target_rx) = tokio::sync::mpsc::channel::<(Target, Row)>(4096);
    let producer = std::thread::spawn({
        let entries = entries.clone();
        let (input, options) = (prepared.input.clone(), prepared.options.clone());
        move || {
            make::reread_rows(&input, &options, &entries, |key, row| {
                let target = Target { row: row.row, key };
                target_tx
                    .blocking_send((target, row))
                    .map_err(|_| MakeError::ReaderStopped)
            })
        }
    });
    let bar = progress::reading_bar(prepared.targets);
    let mut failure: Option<MakeError> = None;
    let scope = Scope::of(&prepared.policy);
    // The mean round trip of the plan's batches, for the run's estimate.
    let mut round_trip = None;
    // Excluded users are read only as far as knowing them by every key.
    let spared = (!prepared.exclusions.is_empty()).then(|| {
        Arc::new(
            prepared
                .exclusions
                .keys()
                .map(str::to_string)
                .collect::<std::collections::HashSet<_>>(),
        )
    });
    let stopped = read_stream_sparing(
        client,
        pacer,
        graph.dispatcher_settings(),
        scope,
        spared,
        target_rx,
        |_, row, outcome, counters| {
            if let Err(e) = entries.decide(row, outcome) {
                failure.get_or_insert(e);
            }
            round_trip = counters.mean_round_trip();
            bar.inc(1);
        },
    )
    .await;
    bar.finish_and_clear();
    let reread_sha256 = producer
        .join()
        .map_err(|_| anyhow::anyhow!("reading {} failed", prepared.input.display()))??;
    if let Some(failure) = failure {
        return Err(failure.into());
    }
    if let Some(stopped) = stopped {
        // Every user not read by then would be an error row: no plan is worth writing.
        drop(entries);
        make::remove_scratch(out);
        return Err(stopped.into());
    }
    let entries = Arc::try_unwrap(entries)
        .map_err(|_| anyhow::anyhow!("the plan's rows are still in use"))?;

    // Every row in order: the results as they come, the figures for the summary.
    let mut header = entries.header(graph_root, now_rfc3339());
    // The lists' notes first, then the preflight's: all said already.
    header.notes = input_notes;
    header.notes.extend(notes);
    let noted = header.notes.len();
    let mut results = PlanResultsWriter::create(
        &out.join("results.csv"),
        &out.join("results.jsonl"),
        &prepared.extra_columns,
    )?
    .with_tenant(header.tenant.as_ref().map(|t| t.id.as_str()));
    let mut digest = PlanDigest::new(header.clone());
    let pace = Pace {
        budgets: graph.pacer_settings(),
        reads_per_user: reads_per_user(&prepared.policy),
        max_in_flight: graph.dispatcher_settings().max_in_flight,
        round_trip: round_trip.unwrap_or(DEFAULT_ROUND_TRIP),
    };
    let (store, header) = entries.finish(
        &reread_sha256,
        header,
        |writes, users| pace.seconds(writes, users),
        |entry| {
            results.write(entry)?;
            digest.add(entry);
            Ok::<(), anyhow::Error>(())
        },
    )?;
    results.finish()?;
    // What the plan found out about itself (passes that would expire mid-run), said
    // before the plan is described; the preflight's notes were said already.
    for note in header.notes.iter().skip(noted) {
        tracing::warn!(note = %note, "plan note");
        say!("mfa-reset: note: {note}.");
    }
    digest.figures.writes = header.writes;
    digest.figures.minimum_seconds = header.minimum_seconds;
    digest.header = header;
    Ok(MadePlan { store, digest })
}

/// [`make_plan`], unless Ctrl-C (or SIGTERM, SIGHUP) stops it first: then `None`, no plan
/// is written and its scratch files are removed (the tenant was only read).
pub async fn make_plan_unless_interrupted(
    prepared: Prepared,
    client: Arc<GraphClient>,
    graph: &GraphArgs,
    out: &Path,
    notes: Vec<String>,
) -> anyhow::Result<Option<MadePlan>> {
    // Listening before the plan starts: from here on Ctrl-C is ours, not the default
    // (which would leave the scratch files behind).
    let mut interrupts = Interrupts::listen().context("cannot listen for Ctrl-C")?;
    tokio::select! {
        biased;
        made = make_plan(prepared, client, Arc::new(Pacer::new(graph.pacer_settings())), graph, out, notes) => made.map(Some),
        _ = interrupts.next() => {
            make::remove_scratch(out);
            Ok(None)
        }
    }
}

/// Runs `mfa-reset plan`.
pub fn run(mut args: PlanArgs) -> CliResult {
    if let Some(tenants) = args.many.tenants.clone() {
        super::tenants::create_out(&args.out)?;
        return super::tenants::plan(args, &tenants);
    }
    let list = spool(&args.input).usage()?;
    let mut prepared = prepare(
        &list,
        args.column.clone(),
        args.exclude.clone(),
        args.skip_invalid,
        args.policy.clone().into(),
    )
    .usage()?;
    check_out_dir(&args.out).usage()?;
    let runtime = super::runtime()?;
    let made = runtime.block_on(async {
        let Connection { client, sim } = super::connect(&args.graph).await?;
        // Nothing is written, not even the folder, before Graph has answered.
        let tap = prepared.policy.tap();
        let consequence = ". Nothing was changed, and no plan was written.";
        let mut notes = match super::preflight(&client, tap, consequence, false).await {
            Ok(notes) => notes,
            Err(end) => return end.map(Err),
        };
        let (tenant, size) = tokio::join!(
            super::read_tenant(&client, consequence),
            super::count_tenant(&client, &args.graph)
        );
        prepared.tenant = match tenant {
            Ok(tenant) => tenant,
            Err(end) => return end.map(Err),
        };
        args.graph.counted_size = size.or(args.graph.counted_size);
        super::refuse_unexpected_tenant(&args.graph, prepared.tenant.as_ref())?;
        if let Err(end) = super::read_guardrails(
            &client,
            &mut prepared,
            &args.exclude_group,
            &mut notes,
            consequence,
        )
        .await
        {
            return end.map(Err);
        }
        prepare_out_dir(&args.out).usage()?;
        let made =
            make_plan_unless_interrupted(prepared, Arc::new(client), &args.graph, &args.out, notes)
                .await
                .map_err(stopped_reads)?;
        drop(sim);
        Ok::<_, crate::exit::CliError>(made.ok_or(Exit::Interrupted))
    })?;
    let made = match made {
        Ok(made) => made,
        Err(Exit::Interrupted) => {
            say!(
                "\nmfa-reset: interrupted: no plan was written, and nothing in the tenant was changed (a plan only reads)."
            );
            return Ok(Exit::Interrupted);
        }
        Err(exit) => return Ok(exit),
    };
    write_reports(&args.out, &made.digest)?;
    describe_plan(&args.out, &made.digest);
    say!("mfa-reset: nothing in the tenant was changed (a plan only reads).");
    Ok(Exit::failures_if(
        made.digest
            .figures
            .by_status
            .keys()
            .any(|s| !s.exits_zero()),
    ))
}

/// A plan whose reads stopped (the credential refused mid-plan: exit 3; Graph out of
/// reach: exit 1), with what to do; any other error as it is.
pub fn stopped_reads(error: anyhow::Error) -> crate::exit::CliError {
    match error.downcast::<ReadsStopped>() {
        Ok(stopped) => crate::exit::CliError {
            exit: if stopped.credentials {
                Exit::Refused
            } else {
                Exit::Failures
            },
            error: anyhow::anyhow!(
                "{stopped}. No plan was written, and nothing in the tenant was changed (a plan only reads); {}",
                if stopped.credentials {
                    "check the credential, then plan again"
                } else {
                    "plan again when Graph can be reached"
                }
            ),
        },
        Err(error) => error.into(),
    }
}

/// One line on the terminal about a written plan.
pub fn describe_plan(out: &Path, plan: &PlanDigest) {
    let described: Vec<String> = plan
        .figures
        .by_status
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let described = if described.is_empty() {
        "no users to change (the input names no user)".to_string()
    } else {
        described.join(", ")
    };
    say!(
        "mfa-reset: plan written to {}: {}; {} Graph writes, about {} to apply.",
        out.display(),
        described,
        plan.header.writes,
        report::human_duration(plan.header.minimum_seconds)
    );
    say!("mfa-reset: the app needs these Graph application permissions (admin consent):");
    for line in permissions::describe(&permissions::for_policy(&plan.header.policy)) {
        say!("  {line}");
    }
}

/// Prints an invalid row as `file:line:column: problem (hint)`.
pub(super) fn print_problem(path: &Path, p: &RowProblem) {
    say!(
        "{}:{}:{}: {} ({})",
        path.display(),
        p.line,
        p.column,
        p.message,
        p.hint
    );
}

/// Refuses an output folder that already holds a plan, creating nothing.
pub fn check_out_dir(out: &Path) -> anyhow::Result<()> {
    let plan = out.join("plan.json");
    if plan.exists() {
        anyhow::bail!(
            "{} already holds a plan; choose another --out folder, or move the old plan away first",
            out.display()
        );
    }
    Ok(())
}

/// Creates the output folder (when missing) for a plan, refusing one that holds a plan.
pub fn prepare_out_dir(out: &Path) -> anyhow::Result<()> {
    check_out_dir(out)?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output folder {}", out.display()))
}

/// Writes the plan's `summary.md` and `report.html` (`plan.json` and the results are
/// written by [`make_plan`]).
pub fn write_reports(out: &Path, plan: &PlanDigest) -> anyhow::Result<()> {
    report::summary::write(&out.join("summary.md"), plan)?;
    report::html::write(&out.join("report.html"), plan)?;
    Ok(())
}
