//! `apply USERS` with containment first, in two phases: first every listed user is
//! contained straight from the list (`engine::containment`: sessions revoked, and for a
//! policy that disables, accounts disabled — admins and excluded users spared, from one
//! tenant-wide listing of role holders and the exclude list read once), then the rest is
//! planned (`DIR/plan/`, from the users as they were before the run, the containment's
//! steps in it) and carried out as any plan, the containment's steps taken as done.
//!
//! The containment is recorded in `DIR/containment.jsonl`, so that `resume DIR` carries on
//! from wherever the run stopped: in the containment (the rows not yet contained), while
//! planning (the plan is made again), or in the second phase (the run's journal).
//! Ctrl-C during the containment or the planning stops them, writes `results.csv` with a
//! row for every input row (pending, with what was done), and exits 4.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use super::args::graph::GraphArgs;
use super::carry_out::{self, Destination, Staged, shell_quote};
use super::interrupt::Interrupts;
use super::plan as plan_cmd;
use super::progress::ProgressDisplay;
use crate::cli::log::say;
use crate::engine::containment::log::{ContainRecord, ContainState, ContainmentLog};
use crate::engine::containment::{ContainProgress, ContainSteps, ContainTarget, Guard, contain};
use crate::engine::journal::{Journal, JournalState, Record, StepOutcome};
use crate::engine::outcome::{RunStatus, UserOutcome};
use crate::engine::pacer::Pacer;
use crate::engine::read::{Scope, Target, read_stream};
use crate::engine::run::{Progress as RunProgress, RunFiles, now_rfc3339};
use crate::engine::settings::RunOptions;
use crate::exit::{CliError, Exit};
use crate::graph::client::GraphClient;
use crate::graph::key::UserKey;
use crate::plan::build::ReadOutcome;
use crate::plan::contained::ContainedRows;
use crate::plan::make::{self, MakeError, Prepared};
use crate::plan::store::PlanStore;
use crate::policy::{Policy, Step};
use crate::report::run::RunResultsWriter;
use crate::sim::SimHandle;

/// Whether a run of `policy` with `options`, from a user list, contains from the list
/// first: containment first, and something to contain with.
pub fn contains_from_list(policy: &Policy, options: RunOptions) -> bool {
    options.contain_first && (policy.revoke_sessions() || policy.disable_account())
}

/// What the containment does under `policy`.
pub fn steps_of(policy: &Policy) -> ContainSteps {
    ContainSteps {
        revoke: policy.revoke_sessions(),
        disable: policy.disable_account(),
    }
}

/// The guardrails of a containment from the list, read before its first write: the
/// tenant's role holders (unless admins are included) and the exclude list's users.
/// `Ok(Err(why))` when they cannot be known in full: the run must then plan first, reading
/// each user's roles, as without containment from the list. `Err` ends the command (a
/// refused credential, an unreachable Graph: said already).
pub async fn read_guard(
    client: &Arc<GraphClient>,
    graph: &GraphArgs,
    prepared: &Prepared,
) -> Result<Result<Guard, String>, crate::exit::CliResult> {
    let holders = if prepared.policy.include_admins() {
        None
    } else {
        // Listed once at the start (`super::read_admins`).
        match &prepared.role_holders {
            Some(holders) => Some((**holders).clone()),
            None => {
                return Ok(Err(prepared.admins_unverified.clone().unwrap_or_else(
                    || "the tenant's admins could not be listed".into(),
                )));
            }
        }
    };
    let mut excluded: HashSet<String> = prepared.exclusions.keys().map(str::to_string).collect();
    let keys: Vec<UserKey> = prepared
        .exclusions
        .listed_keys()
        .filter_map(|k| UserKey::parse(k).ok())
        .collect();
    if !keys.is_empty() {
        let (tx, rx) = mpsc::channel(keys.len());
        for (row, key) in keys.into_iter().enumerate() {
            let _ = tx.try_send((Target { row, key }, ()));
        }
        drop(tx);
        let mut unread = None;
        let pacer = Arc::new(Pacer::new(graph.pacer_settings()));
        let stopped = read_stream(
            client.clone(),
            pacer,
            graph.dispatcher_settings(),
            Scope {
                methods: false,
                roles: false,
            },
            rx,
            |_, (), outcome, _| match outcome {
                ReadOutcome::Found(user) => {
                    excluded.insert(user.id.to_lowercase());
                    excluded.insert(user.user_principal_name.to_lowercase());
                }
                ReadOutcome::NotFound => {}
                ReadOutcome::Ambiguous(why) | ReadOutcome::Error(why) => {
                    unread.get_or_insert(why);
                }
            },
        )
        .await;
        if let Some(why) = stopped.map(|s| s.to_string()).or(unread) {
            return Ok(Err(format!(
                "the exclude list's users could not all be read ({why})"
            )));
        }
    }
    Ok(Ok(Guard { holders, excluded }))
}

/// Where a containment starts: a new one, or one a resume carries on.
pub enum Begin {
    New(Box<crate::engine::containment::log::ContainStart>),
    Resumed {
        log: ContainmentLog,
        state: Box<ContainState>,
    },
}

/// The run's context for [`contain_then_apply`].
pub struct ContainRun<'a> {
    pub client: Arc<GraphClient>,
    pub graph: &'a GraphArgs,
    pub out: &'a Path,
    pub options: RunOptions,
    pub destination: &'a Destination,
    pub sim: Option<&'a SimHandle>,
}

/// Contains every listed user from the list, then plans the rest into `DIR/plan/` and
/// carries it out (see the module documentation). `notes` are the preflight's, for the
/// plan.
pub async fn contain_then_apply(
    run: ContainRun<'_>,
    mut prepared: Prepared,
    guard: Guard,
    mut notes: Vec<String>,
    begin: Begin,
) -> Result<Exit, CliError> {
    let out = run.out;
    let resumed = matches!(begin, Begin::Resumed { .. });
    let (mut log, mut rows, finished) = match begin {
        Begin::New(start) => (
            ContainmentLog::create(out, *start)?,
            ContainedRows::new(prepared.rows),
            false,
        ),
        Begin::Resumed { log, state } => (log, state.rows, state.finished),
    };
    // Every Ctrl-C, SIGTERM or SIGHUP is counted while this command runs its phases.
    let mut interrupts = Interrupts::listen().context("cannot listen for Ctrl-C")?;
    let (signals_tx, mut signals) = watch::channel(0u32);
    let listener = tokio::spawn(async move {
        let mut count = 0;
        loop {
            let name = interrupts.next().await;
            count += 1;
            if count == 1 {
                say!(
                    "\nmfa-reset: stopping ({name}): nothing new is started; requests in flight finish"
                );
            }
            let _ = signals_tx.send(count);
        }
    });

    // One pacer for the three phases: what the containment spent of the app's quotas is
    // not spent again by the plan and the method clean-up. Only the preflight and the
    // listings have read anything before it: the resource-unit bucket is nearly full.
    let pacer = Arc::new(Pacer::fresh(run.graph.pacer_settings()));
    if !finished {
        let steps = steps_of(&prepared.policy);
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut watch_signals = signals.clone();
        let forward = tokio::spawn(async move {
            if watch_signals.changed().await.is_ok() {
                let _ = stop_tx.send(true);
            }
        });
        let (target_tx, target_rx) = mpsc::channel::<ContainTarget>(4096);
        let producer = std::thread::spawn({
            let (input, options) = (prepared.input.clone(), prepared.options.clone());
            move || {
                make::read_hashed(&input, &options, |r| {
                    if let (Ok(key), None) = (r.key, r.duplicate_of) {
                        target_tx
                            .blocking_send(ContainTarget { row: r.row, key })
                            .map_err(|_| MakeError::ReaderStopped)?;
                    }
                    Ok::<(), MakeError>(())
                })
            }
        });
        say!(
            "mfa-reset: containing {} users from the list before anything else is read ({}{})…",
            prepared.targets,
            if steps.revoke { "sessions revoked" } else { "" },
            match (steps.revoke, steps.disable) {
                (true, true) => ", accounts disabled",
                (false, true) => "accounts disabled",
                _ => "",
            }
        );
        let mut display = ProgressDisplay::new(run.graph.pacer_settings().writes);
        let done = contain(
            run.client.clone(),
            pacer.clone(),
            run.graph.dispatcher_settings(),
            steps,
            &guard,
            target_rx,
            &mut rows,
            &mut log,
            stop_rx,
            |p| display.update(&as_run_progress(p, prepared.targets, steps)),
        )
        .await
        .map_err(anyhow::Error::from)?;
        display.finish();
        forward.abort();
        // The reader stops at the first row it cannot hand over (the containment stopped).
        let read = producer.join();
        say!(
            "mfa-reset: contained in {:.1} s{}: {} sessions revoked, {} accounts disabled, {} admins and {} excluded users left alone, {} keys no user has, {} writes refused (tried again in the second phase).",
            done.elapsed.as_secs_f64(),
            done.last_revocation
                .map(|t| format!(" (last revocation answered at {:.2} s)", t.as_secs_f64()))
                .unwrap_or_default(),
            done.revoked,
            done.disabled,
            done.protected,
            done.excluded,
            done.not_found,
            done.refused
        );
        if done.interrupted || done.stopped.is_some() {
            listener.abort();
            write_pending(
                out,
                &ListRows::of(&prepared),
                &rows,
                "the containment was stopped",
            )?;
            carry_out::keep_sim_tenant(out, run.sim);
            return Ok(match done.stopped {
                Some((credentials, why)) => {
                    say!(
                        "mfa-reset: the containment stopped: {} ({why}). What was done is in {}; once fixed, `mfa-reset resume {}` carries on",
                        if credentials {
                            "Graph refused the credential"
                        } else {
                            "Graph could not be reached"
                        },
                        ContainmentLog::path_in(out).display(),
                        shell_quote(out)
                    );
                    if credentials {
                        Exit::Refused
                    } else {
                        Exit::Failures
                    }
                }
                None => {
                    say!(
                        "mfa-reset: interrupted. Every row is in {} (pending); carry on with: mfa-reset resume {}",
                        out.join("results.csv").display(),
                        shell_quote(out)
                    );
                    Exit::Interrupted
                }
            });
        }
        match read {
            Ok(Ok((_, sha256))) if sha256 == prepared.input_sha256 => {}
            Ok(Ok(_)) => {
                return Err(anyhow::anyhow!(
                    "{} changed while the run was containing its users; the containment is in {}. Put the list back as it was, then `mfa-reset resume {}`",
                    prepared.input.display(),
                    ContainmentLog::path_in(out).display(),
                    shell_quote(out)
                )
                .into());
            }
            Ok(Err(e)) => return Err(anyhow::Error::from(e).into()),
            Err(_) => return Err(anyhow::anyhow!("reading the user list failed").into()),
        }
        log.push(&ContainRecord::Finished {
            ended: now_rfc3339(),
        });
        log.sync().map_err(anyhow::Error::from)?;
    }

    // Phase 2: the plan for the rest, from the users as they were before the run.
    let (revoked, disabled) = rows.counts();
    if revoked + disabled > 0 {
        notes.push(containment_note(revoked, disabled));
    }
    prepared.contained = Some(Arc::new(rows));
    let plan_dir = out.join("plan");
    if resumed {
        // This run's own plan, stopped half-way or never taken up: made again.
        clear_unfinished_plan(&plan_dir);
    }
    plan_cmd::prepare_out_dir(&plan_dir)?;
    let contained = prepared.contained.clone().unwrap_or_default();
    let list = ListRows::of(&prepared);
    let planned = {
        let making = plan_cmd::make_plan(
            prepared,
            run.client.clone(),
            pacer.clone(),
            run.graph,
            &plan_dir,
            notes,
        );
        tokio::select! {
            made = making => Some(made),
            _ = signals.changed() => None,
        }
    };
    let made = match planned {
        Some(Ok(made)) => made,
        Some(Err(error)) => {
            // The reads stopped (a refused credential, Graph out of reach) or the plan
            // could not be written: the containment stands, the rest is planned again.
            listener.abort();
            make::remove_scratch(&plan_dir);
            let cause = format!("{error:#}");
            let exit = plan_cmd::stopped_reads(error).exit;
            write_pending(out, &list, &contained, "the plan of the rest stopped")?;
            carry_out::keep_sim_tenant(out, run.sim);
            say!(
                "mfa-reset: the containment is done (in {}), but the plan of the rest stopped; every row is in {} (pending). Once Graph can be reached, `mfa-reset resume {}` plans the rest again",
                ContainmentLog::path_in(out).display(),
                out.join("results.csv").display(),
                shell_quote(out)
            );
            return Err(CliError {
                exit,
                error: anyhow::anyhow!("the plan of the rest stopped: {cause}"),
            });
        }
        None => {
            listener.abort();
            make::remove_scratch(&plan_dir);
            write_pending(out, &list, &contained, "the run was stopped while planning")?;
            carry_out::keep_sim_tenant(out, run.sim);
            say!(
                "mfa-reset: interrupted while planning: every row is in {} (pending); carry on with: mfa-reset resume {}",
                out.join("results.csv").display(),
                shell_quote(out)
            );
            return Ok(Exit::Interrupted);
        }
    };
    plan_cmd::write_reports(&plan_dir, &made.digest)?;
    plan_cmd::describe_plan(&plan_dir, &made.digest);
    let mut staged = Staged::new(out.join("plan.json.partial"));
    let mut plan = carry_out::import_plan(made.store.path(), staged.path())?;
    super::ready_secrets(out, &plan.store.header, run.options.restore_data)?;
    let journal = super::apply::start_run(
        &mut plan,
        &mut staged,
        out,
        run.options.clone(),
        run.destination,
    )?;
    let (mut journal, state) = seed_journal(journal, out, &plan.store, &contained)?;
    let files = RunFiles {
        journal: &mut journal,
        state,
        dir: out,
    };
    // Ours until the run listens itself: a stop asked for in between is handed on.
    listener.abort();
    let interrupted_before = *signals.borrow() > 0;
    let exit = carry_out::carry_out(
        run.client,
        pacer,
        run.graph,
        &plan,
        run.options,
        files,
        run.destination,
        interrupted_before,
    )
    .await?;
    carry_out::keep_sim_tenant(out, run.sim);
    Ok(exit)
}

/// The containment's progress as the run's display shows a run's: users reached of
/// `targets`, writes answered of those to make.
fn as_run_progress(p: ContainProgress, targets: usize, steps: ContainSteps) -> RunProgress {
    let writes_each = usize::from(steps.revoke) + usize::from(steps.disable);
    RunProgress {
        users_total: targets,
        users_done: (p.revoked.max(p.disabled) + p.refused + p.not_found + p.spared).min(targets),
        writes_total: targets * writes_each,
        writes_done: p.revoked + p.disabled,
        users_failed: p.refused,
        throttled: 0,
        retried: 0,
    }
}

/// The plan's note about the containment before it.
fn containment_note(revoked: usize, disabled: usize) -> String {
    format!(
        "this plan was made after a containment from the list: {revoked} users' sessions revoked{}; those steps are in the users' entries and are not sent again",
        if disabled > 0 {
            format!(", {disabled} accounts disabled")
        } else {
            String::new()
        }
    )
}

/// Removes what a plan stopped half-way (or written, with its run never started) left in
/// `plan_dir`, so that it is made again.
fn clear_unfinished_plan(plan_dir: &Path) {
    make::remove_scratch(plan_dir);
    for name in [
        "plan.json",
        "results.csv",
        "results.jsonl",
        "summary.md",
        "report.html",
    ] {
        let _ = std::fs::remove_file(plan_dir.join(name));
    }
}

/// Journals the containment's steps of every contained user as done (a `Begin` and a
/// `Step` record each), so that the run takes them as a resumed run would: not sent
/// again, and in the user's result. Returns the journal open again with that state.
fn seed_journal(
    journal: Journal,
    out: &Path,
    store: &PlanStore,
    contained: &ContainedRows,
) -> anyhow::Result<(Journal, JournalState)> {
    let mut journal = journal;
    let mut records = Vec::new();
    for entry in store.entries() {
        let entry = entry?;
        if entry.writes() == 0 {
            continue;
        }
        let done: Vec<usize> = entry
            .steps
            .iter()
            .enumerate()
            .filter(|(_, step)| match step {
                Step::RevokeSessions => contained.revoked(entry.row),
                Step::DisableAccount => contained.disabled(entry.row),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        if done.is_empty() {
            continue;
        }
        records.push(Record::Begin { row: entry.row });
        records.extend(done.into_iter().map(|step| Record::Step {
            row: entry.row,
            step,
            outcome: StepOutcome::Done,
            request_id: None,
            attempts: 1,
            error_code: None,
            error_message: None,
        }));
        if records.len() >= 8192 {
            journal.append_all(&records)?;
            records.clear();
        }
    }
    journal.append_all(&records)?;
    drop(journal);
    Ok(Journal::resume(out)?)
}

/// The list prepared again from how the run started (a resume, or the results of a run
/// stopped while planning).
pub fn reprepare(
    start: &crate::engine::containment::log::ContainStart,
) -> Result<Prepared, CliError> {
    let prepared = make::prepare(
        make::PlanRequest {
            input: start.input.clone(),
            options: crate::input::InputOptions {
                column: start.column.clone(),
            },
            policy: start.policy.clone(),
            exclude: start.exclude.clone(),
            skip_invalid: start.skip_invalid,
        },
        plan_cmd::print_problem,
    )
    .map_err(CliError::usage)?;
    if prepared.input_sha256 != start.input_sha256 {
        return Err(CliError::usage(anyhow::anyhow!(
            "{} changed since the run started; a run carries on only with the list it started with. Put it back as it was (SHA-256 {})",
            start.input.display(),
            start.input_sha256
        )));
    }
    Ok(prepared)
}

/// What [`write_pending`] needs of the user list: where it is, how to read it, its other
/// columns.
struct ListRows {
    input: std::path::PathBuf,
    options: crate::input::InputOptions,
    extra_columns: Vec<String>,
}

impl ListRows {
    fn of(prepared: &Prepared) -> ListRows {
        ListRows {
            input: prepared.input.clone(),
            options: prepared.options.clone(),
            extra_columns: prepared.extra_columns.clone(),
        }
    }
}

/// Writes `results.csv` and `results.jsonl` with one row for every input row while no
/// plan exists yet: `pending` (with what the containment did) for the rows to contain,
/// `invalid` and `duplicate` as they are.
fn write_pending(
    out: &Path,
    list: &ListRows,
    contained: &ContainedRows,
    why: &str,
) -> anyhow::Result<()> {
    let mut writer = RunResultsWriter::create(
        &out.join("results.csv"),
        &out.join("results.jsonl"),
        &list.extra_columns,
    )?;
    make::read_hashed(&list.input, &list.options, |r| {
        let (status, reason) = match (&r.key, &r.duplicate_of) {
            (Err(problem), _) => (RunStatus::Invalid, problem.to_string()),
            (Ok(_), Some(first)) => (
                RunStatus::Duplicate,
                format!("same user as line {}", first.line),
            ),
            (Ok(_), None) => (
                RunStatus::Pending,
                format!("{why}; `mfa-reset resume` finishes it"),
            ),
        };
        let outcome = UserOutcome {
            row: r.row,
            line: r.line,
            input: r.value,
            status: Some(status),
            reason: Some(reason),
            sessions_revoked: contained.revoked(r.row),
            account_disabled: contained.disabled(r.row),
            columns: r.extra.into_iter().collect(),
            ..UserOutcome::default()
        };
        writer.write(&outcome).map_err(anyhow::Error::from)
    })?;
    writer.finish()?;
    Ok(())
}
