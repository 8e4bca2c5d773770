//! The command line: one file per subcommand, each with its flags, their help and its
//! `run` — [`check`], [`plan`], [`apply`], [`resume`], [`sim`]. The flags several
//! subcommands share are defined once ([`args`], [`log`]); what `apply` and `resume`
//! share is [`carry_out`], what the operator sees while they work [`progress`], every
//! message said through [`log`] (`say!`), the document `-o json` prints [`output`], and
//! the examples `--help` ends with [`help`]. Every
//! command ends in an [`crate::exit::Exit`] or a [`crate::exit::CliError`], which `main` maps to the
//! process's exit code.

pub mod apply;
pub mod args;
pub mod carry_out;
pub mod check;
pub mod contain;
pub mod help;
pub mod interrupt;
pub mod log;
pub mod output;
pub mod plan;
pub mod progress;
pub mod restore;
pub mod resume;
pub mod shell;
pub mod sim;
pub mod tenants;

use clap::{Parser, Subcommand};

use crate::cli::log::say;
use crate::engine::preflight::check_tap_policy_read;
use crate::exit::{CliError, CliResult, Exit};
use crate::graph::client::GraphClient;
use crate::graph::preflight::Answered;
use crate::graph::preflight::{PreflightError, PreflightFailure};
use crate::graph::tenant::TenantIdentity;
use crate::policy::TapSettings;
use crate::wire::TenantSize;

/// Reset MFA, revoke sessions and offboard Microsoft Entra ID users in bulk.
#[derive(Debug, Parser)]
#[command(name = "mfa-reset", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub log: log::LogArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a user list offline: list every problem with its line and column.
    #[command(after_help = help::examples(help::CHECK_EXAMPLES))]
    Check(check::CheckArgs),
    /// Dry run: read the tenant and write what a run would change, changing nothing.
    #[command(
        after_help = help::examples(help::PLAN_EXAMPLES),
        after_long_help = help::examples_and_exit_codes(help::PLAN_EXAMPLES, crate::exit::PLAN_EXIT_CODES)
    )]
    Plan(Box<plan::PlanArgs>),
    /// Carry out a plan (or plan and carry out a user list), journaling every change.
    ///
    /// Each user is read again before their first change (account enabled, synced from
    /// on-premises, admin roles, methods); a user who differs from the plan gets nothing,
    /// not even containment (--on-drift replan decides again). A user's steps go: disable
    /// the account, issue the Temporary Access Pass, remove the methods (the default
    /// last); sessions are revoked first in an incident, after the disable when
    /// offboarding, after the removals for a device refresh. When the disable or the pass
    /// fails, the removals are withheld, so nobody is left with fewer ways to sign in than
    /// the policy intends.
    ///
    /// A failure that is not about one user stops the run (circuit breaker): Graph
    /// refusing the credential (exit 3), Graph out of reach for longer than --max-outage
    /// (exit 1), or the same refusal for five users in a row, such as a missing
    /// permission (exit 1). No more users are started, the users not finished are
    /// pending, and `mfa-reset resume DIR` carries on once the cause is fixed.
    #[command(
        after_help = help::examples(help::APPLY_EXAMPLES),
        after_long_help = help::examples_and_exit_codes(help::APPLY_EXAMPLES, crate::exit::RUN_EXIT_CODES)
    )]
    Apply(Box<apply::ApplyArgs>),
    /// Carry on with an interrupted run, or retry its failed users (--retry-failed).
    ///
    /// A run resumes as it was started, from its run.json: its --on-drift, verification
    /// and containment order, and its target (--cloud, --login-url, --graph-url, --tenant
    /// sim and the emulator's tenant), credential source and pacing. `mfa-reset resume DIR`
    /// needs no other flag; a target flag naming another Graph is refused, while --auth and
    /// the pacing flags may be given to change them. Credentials come from the environment.
    ///
    /// The built-in emulator (--tenant sim) lives only as long as a command: a rehearsal
    /// saves its emulated tenant in DIR/sim-tenant.json when it stops, and a resume starts
    /// the emulator again from there (after a kill -9, from the tenant the run started
    /// on, and says so).
    #[command(
        after_help = help::examples(help::RESUME_EXAMPLES),
        after_long_help = help::examples_and_exit_codes(help::RESUME_EXAMPLES, crate::exit::RUN_EXIT_CODES)
    )]
    Resume(Box<resume::ResumeArgs>),
    /// Undo a run as far as Graph allows: phones, email, the account, the default method,
    /// the passes it issued.
    ///
    /// What the run did to each user comes from its journal (a run stopped part-way
    /// included), the state before it from DIR/secrets/restore.jsonl, and the state now
    /// from Graph: a method registered since the run is left alone, one back already is
    /// not sent again, and what an administrator cannot create (Authenticator, FIDO2,
    /// Windows Hello, OATH, platform credentials) is listed per user. Running the same
    /// restore again finishes an interrupted one, and finds nothing to do after a
    /// finished one.
    #[command(
        after_help = help::examples(help::RESTORE_EXAMPLES),
        after_long_help = help::examples_and_exit_codes(help::RESTORE_EXAMPLES, crate::exit::RUN_EXIT_CODES)
    )]
    Restore(Box<restore::RestoreArgs>),
    /// Run the built-in Microsoft Graph emulator, for rehearsals and tests.
    Sim(sim::SimArgs),
    /// Print the shell completion script for bash, zsh, fish or PowerShell.
    ///
    /// For example `mfa-reset completions bash > /etc/bash_completion.d/mfa-reset`, or
    /// `mfa-reset completions zsh > "${fpath[1]}/_mfa-reset"`.
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff), of the whole or of one subcommand:
    /// `mfa-reset man apply > mfa-reset-apply.1 && man -l mfa-reset-apply.1`.
    Man(shell::ManArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    log::init(&cli.log).map_err(crate::exit::CliError::usage)?;
    let name = match &cli.command {
        Command::Check(_) => "check",
        Command::Plan(_) => "plan",
        Command::Apply(_) => "apply",
        Command::Resume(_) => "resume",
        Command::Restore(_) => "restore",
        Command::Sim(_) => "sim",
        Command::Completions(_) => "completions",
        Command::Man(_) => "man",
    };
    tracing::info!(
        command = name,
        version = env!("CARGO_PKG_VERSION"),
        "started"
    );
    let started = std::time::SystemTime::now();
    let document = cli.command.output_document();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Plan(args) => plan::run(*args),
        Command::Apply(args) => apply::run(*args),
        Command::Resume(args) => resume::run(*args),
        Command::Restore(args) => restore::run(*args),
        Command::Sim(args) => sim::run(args),
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
    };
    match &result {
        Ok(exit) => tracing::info!(command = name, exit = exit.code(), "finished"),
        Err(e) => tracing::warn!(command = name, error = %e, exit = e.exit.code(), "failed"),
    }
    if let Some(folder) = document {
        output::print(&output::document(name, folder.as_deref(), started, &result));
    }
    result
}

impl Command {
    /// With `--output json`, the folder the command's document describes (`None` when
    /// it has none, `check`'s case); no document otherwise.
    fn output_document(&self) -> Option<Option<std::path::PathBuf>> {
        match self {
            Command::Check(a) if a.output.json() => Some(None),
            Command::Plan(a) if a.output.json() => Some(Some(a.out.clone())),
            Command::Apply(a) if a.output.json() => Some(Some(a.out.clone())),
            Command::Resume(a) if a.output.json() => Some(Some(a.dir.clone())),
            Command::Restore(a) if a.output.json() => Some(Some(a.folder())),
            _ => None,
        }
    }
}

/// How a command ends when its preflight failed ([`crate::graph::preflight`]): one
/// message, said with what it means for the tenant (`consequence`). A fault of the
/// configuration itself (a variable missing or malformed) is bad usage (exit 2); a
/// credential or permission Graph refused exits 3, logged with the `AADSTS` code an
/// administrator looks up; a Graph that could not be reached exits 1.
fn credentials_refused(error: PreflightError, consequence: &str) -> CliResult {
    match error.failure() {
        PreflightFailure::Usage => Err(CliError::usage(error)),
        PreflightFailure::Refused => {
            tracing::warn!(aadsts = error.aadsts_code(), error = %error, "credentials refused");
            let what = match error {
                PreflightError::Denied { .. } => "permission refused",
                _ => "credentials refused",
            };
            say!("mfa-reset: {what}: {error}{consequence}");
            Ok(Exit::Refused)
        }
        PreflightFailure::Failed => {
            tracing::warn!(error = %error, "Graph not reached");
            say!("mfa-reset: {error}{consequence}");
            Ok(Exit::Failures)
        }
    }
}

/// The preflight of a command about to read or write the tenant: one request proves the
/// credential and Graph ([`GraphClient::check_credentials`]); when passes are to be issued
/// (`tap`), the tenant's Temporary Access Pass policy is read with the same deadline and
/// the passes checked against it — a conflict is bad usage (exit 2; `applying` says the
/// plan cannot be carried out as it is), a policy that cannot be read a note, returned for
/// the plan's reports and said on the terminal. `Err` holds how the command ends, its one
/// message printed.
async fn preflight(
    client: &GraphClient,
    tap: Option<TapSettings>,
    consequence: &str,
    applying: bool,
) -> Result<Vec<String>, CliResult> {
    let checks = client.preflight();
    let ended = |e| Err(credentials_refused(e, consequence));
    if let Err(e) = checks.check_access().await {
        return ended(e);
    }
    let Some(tap) = tap else {
        return Ok(Vec::new());
    };
    let read = match checks.read_tap_policy().await {
        Ok(read) => read,
        Err(e) => return ended(e),
    };
    match check_tap_policy_read(tap, &read) {
        Ok(None) => Ok(Vec::new()),
        Ok(Some(note)) => {
            tracing::warn!(note = %note, "not checked");
            say!("mfa-reset: note: {note}.");
            Ok(vec![note])
        }
        Err(conflict) if applying => Err(Err(CliError::usage(anyhow::anyhow!(
            "the tenant would refuse the plan's Temporary Access Passes, so nothing was changed: {conflict}"
        )))),
        Err(conflict) => Err(Err(CliError::usage(anyhow::anyhow!(
            "{conflict}. No plan was written"
        )))),
    }
}

/// Which tenant the client's credential is for ([`crate::graph::tenant`]), said on stderr.
/// Only a refused credential or an unreachable Graph ends the command (`consequence`
/// completes its message).
async fn read_tenant(
    client: &GraphClient,
    consequence: &str,
) -> Result<Option<TenantIdentity>, CliResult> {
    match crate::graph::tenant::read(&client.preflight()).await {
        Err(e) => Err(credentials_refused(e, consequence)),
        Ok(Some(tenant)) => {
            say!("mfa-reset: tenant: {tenant}");
            Ok(Some(tenant))
        }
        Ok(None) => {
            say!(
                "mfa-reset: note: the credential does not say which tenant it is for (its token names none, and the app may not read /organization: grant Organization.Read.All to have it recorded)"
            );
            Ok(None)
        }
    }
}

/// `--tenant-size auto` (the default): the tenant's size, which sets Entra's resource-unit
/// quota, from its user count (`GET /users?$count=true`, an advanced query sent with
/// `ConsistencyLevel: eventual`), said on stderr. Where the users cannot be counted (no
/// permission, an answer without a count), the small tenant's quota, the safe one, with a
/// note. `None` when no count is needed: a size or a resource-unit budget was given.
async fn count_tenant(client: &GraphClient, graph: &args::graph::GraphArgs) -> Option<TenantSize> {
    if !graph.needs_count() {
        return None;
    }
    let answered = client
        .preflight()
        .ask(&crate::graph::request::GraphRequest::user_count())
        .await;
    let counted = match &answered {
        Ok(Answered::Body(Some(body))) => body["@odata.count"].as_u64(),
        _ => None,
    };
    let size = match counted {
        Some(users) => {
            let size = TenantSize::for_users(users as usize);
            say!(
                "mfa-reset: tenant size: {users} users, {} (--tenant-size auto): paced to {} resource units per 10 s",
                size_name(size).0,
                size_name(size).1
            );
            size
        }
        None => {
            let why = match answered {
                Ok(Answered::Refused(fault)) => format!("Graph answered {}", fault.status),
                Ok(Answered::Body(_)) => "Graph gave no count".to_string(),
                Err(e) => e.to_string(),
            };
            say!(
                "mfa-reset: note: the tenant's users could not be counted ({why}): paced to the small tenant's quota, 3,500 resource units per 10 s, the safe one; give --tenant-size medium or large if the tenant is larger"
            );
            TenantSize::Small
        }
    };
    Some(size)
}

/// A size as `--tenant-size` names it, and its resource-unit quota per 10 s in words.
fn size_name(size: TenantSize) -> (&'static str, &'static str) {
    match size {
        TenantSize::Small => ("small", "3,500"),
        TenantSize::Medium => ("medium", "5,000"),
        TenantSize::Large => ("large", "8,000"),
    }
}

/// Refuses a credential for another tenant than the one named by id with `--tenant` (or a
/// tenants file): a ready token says which tenant it is for, whatever was named (exit 2,
/// nothing changed). A tenant named by domain is not checked: the credential was asked
/// of that tenant's login.
fn refuse_unexpected_tenant(
    graph: &args::graph::GraphArgs,
    current: Option<&TenantIdentity>,
) -> Result<(), CliError> {
    let (Some(args::graph::TenantChoice::Named(named)), Some(current)) = (&graph.tenant, current)
    else {
        return Ok(());
    };
    if crate::graph::tenant::is_guid(named) && !named.eq_ignore_ascii_case(&current.id) {
        return Err(CliError::usage(anyhow::anyhow!(
            "the credential is for {current}, not for tenant {named}, which --tenant (or the tenants file) names. Nothing was changed"
        )));
    }
    Ok(())
}

/// Refuses to carry out a plan made for another tenant than the one the credential is
/// for (exit 2, nothing changed), or for a tenant the credential cannot be matched with.
/// A plan that names no tenant (made before tenants were recorded, or with a credential
/// that did not say) is carried out with a note.
fn refuse_other_tenant(
    planned: Option<&TenantIdentity>,
    current: Option<&TenantIdentity>,
) -> Result<(), CliError> {
    match (planned, current) {
        (Some(planned), Some(current)) if !planned.same_as(current) => {
            Err(CliError::usage(anyhow::anyhow!(
                "this plan was made for {planned}, but the credential is for {current}. Nothing was changed. Apply a plan to the tenant it was made for: plan again with this tenant's credential"
            )))
        }
        (Some(planned), None) => Err(CliError::usage(anyhow::anyhow!(
            "this plan was made for {planned}, and the credential does not say which tenant it is for (its token names none, and the app may not read /organization). Nothing was changed. Use a credential whose token names the tenant, or grant the app Organization.Read.All"
        ))),
        (None, _) => {
            say!(
                "mfa-reset: note: the plan does not say which tenant it was made for; it is carried out against the credential's"
            );
            Ok(())
        }
        (Some(_), Some(_)) => Ok(()),
    }
}

/// Reads the users of every `--exclude-group` group and adds them to `prepared`'s
/// exclusions, before anything else is read or changed. A group that cannot be known in
/// full ends the command (exit 2, or 3 for a refused credential): an exclusion is never
/// taken as known when it is not.
async fn exclude_groups(
    client: &GraphClient,
    prepared: &mut crate::plan::make::Prepared,
    groups: &[String],
    consequence: &str,
) -> Result<(), CliResult> {
    let checks = client.preflight();
    for spec in groups {
        match crate::graph::groups::read_group(&checks, spec).await {
            Err(e) => return Err(credentials_refused(e, consequence)),
            Ok(Err(why)) => {
                return Err(Err(CliError::usage(anyhow::anyhow!(
                    "--exclude-group {spec}: {why}{consequence}"
                ))));
            }
            Ok(Ok(group)) => {
                say!(
                    "mfa-reset: --exclude-group {spec}: {} user(s) of the group {:?} are excluded.",
                    group.users.len(),
                    group.name
                );
                prepared.exclusions.add_group(&group.name, &group.users);
            }
        }
    }
    Ok(())
}

/// What every command that reads a user list learns of the tenant before its users: the
/// `--exclude-group` groups' members ([`exclude_groups`]) and the tenant's admins
/// ([`read_admins`]), into `prepared` (and `notes`, the plan's).
async fn read_guardrails(
    client: &GraphClient,
    prepared: &mut crate::plan::make::Prepared,
    groups: &[String],
    notes: &mut Vec<String>,
    consequence: &str,
) -> Result<(), CliResult> {
    exclude_groups(client, prepared, groups, consequence).await?;
    read_admins(client, prepared, notes, consequence).await
}

/// Lists the tenant's role holders, active and eligible (PIM), once, when the policy
/// protects admins: into `prepared`, so that the plan protects a user the tenant-wide
/// listing knows as an admin although their own roles do not show it. What could not be
/// listed is said (on stderr and in `notes`, the plan's) and recorded in
/// `prepared.admins_unverified`: `apply` refuses such a plan without
/// `--accept-unverified-admins`. Never a silent downgrade.
async fn read_admins(
    client: &GraphClient,
    prepared: &mut crate::plan::make::Prepared,
    notes: &mut Vec<String>,
    consequence: &str,
) -> Result<(), CliResult> {
    use crate::graph::role_holders::{self, RoleHoldersRead};
    if !prepared.policy.reads_roles() {
        return Ok(());
    }
    let unverified = match role_holders::read(&client.preflight()).await {
        Err(e) => return Err(credentials_refused(e, consequence)),
        Ok(RoleHoldersRead::Complete(holders)) => {
            if let Some(why) = holders.units_unread() {
                let note = format!(
                    "the administrative units could not be listed ({why}): a user in a restricted management unit is known by their own isManagementRestricted, and Graph's refusal to change one ends their row protected"
                );
                say!("mfa-reset: note: {note}.");
                notes.push(note);
            }
            let unverified = holders
                .unread()
                .map(|why| format!("{why}: they are not protected"));
            prepared.role_holders = Some(std::sync::Arc::new(holders));
            unverified
        }
        Ok(RoleHoldersRead::Incomplete { why }) => Some(format!(
            "the tenant's admins could not be listed ({why}): eligible (PIM) admins, whom a user's own roles do not show, are not protected"
        )),
    };
    if let Some(note) = unverified {
        say!("mfa-reset: warning: {note}.");
        notes.push(note.clone());
        prepared.admins_unverified = Some(note);
    }
    Ok(())
}

/// Refuses to change anything when the admins are not known in full (`unverified`, from
/// the plan's header) unless the operator accepts it, or the policy includes admins.
fn refuse_unverified_admins(
    unverified: Option<&str>,
    policy: &crate::policy::Policy,
    accepted: bool,
) -> Result<(), CliError> {
    match unverified {
        Some(why) if !accepted && !policy.include_admins() => {
            Err(CliError::usage(anyhow::anyhow!(
                "{why}. Nothing was changed. Grant the app RoleManagement.Read.Directory (and give the tenant the licence PIM needs), then plan again; or, knowing that such an admin on the list would be changed like anyone else, run again with --accept-unverified-admins"
            )))
        }
        _ => Ok(()),
    }
}

/// Readies the private `DIR/secrets/tap.csv` before a run of `plan` that issues passes
/// writes anything, and `DIR/secrets/restore.jsonl` before a run that keeps restore data;
/// a folder or file others can reach, or another user's, is refused (exit 2).
fn ready_secrets(
    dir: &std::path::Path,
    plan: &crate::plan::PlanHeader,
    restore_data: bool,
) -> Result<(), CliError> {
    if plan.policy.tap().is_some() {
        crate::engine::secrets::TapFile::prepare(dir).map_err(CliError::usage)?;
    }
    if restore_data && plan.policy.restore_data_words().is_some() {
        crate::engine::secrets::restore::RestoreFile::open(dir).map_err(CliError::usage)?;
    }
    Ok(())
}

/// Connects to the tenant the flags name (credentials from the environment), or starts the
/// emulator for `--tenant sim` and says so. A failure here is bad usage: nothing was sent.
async fn connect(graph: &args::graph::GraphArgs) -> Result<args::graph::Connection, CliError> {
    let connection = graph
        .connect(|k| graph.env(k))
        .await
        .map_err(CliError::usage)?;
    if connection.sim.is_some() {
        say!(
            "mfa-reset: --tenant sim: running against the built-in Graph emulator. No real tenant is touched."
        );
    }
    Ok(connection)
}

/// The async runtime a command that talks to Graph runs on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    use super::args::graph::{GraphArgs, TenantChoice};
    use super::*;

    #[tokio::test]
    async fn auto_sizes_the_tenant_by_its_users_and_falls_back_to_the_safe_quota() {
        let mut graph = GraphArgs {
            tenant: Some(TenantChoice::Sim),
            sim_users: Some(60),
            ..GraphArgs::default()
        };
        let args::graph::Connection { client, sim } = graph.connect(|_| None).await.unwrap();
        // 60 users: medium; the emulator sized itself the same way.
        assert_eq!(
            count_tenant(&client, &graph).await,
            Some(TenantSize::Medium)
        );
        graph.counted_size = Some(TenantSize::Medium);
        assert_eq!(graph.pacer_settings().resource_units.amount, 5_000);
        assert_eq!(graph.record().tenant_size, TenantSize::Medium);
        // Counted once: no second request.
        assert_eq!(count_tenant(&client, &graph).await, None);
        // A size or a budget given: nothing to count.
        let given = GraphArgs {
            tenant_size: Some(args::values::TenantSizeChoice::Large),
            ..graph.clone()
        };
        assert_eq!(count_tenant(&client, &given).await, None);
        // The users may not be counted: the small tenant's quota, the safe one.
        graph.counted_size = None;
        let names = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All"];
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        // (The emulator lives as long as its handle.)
        let sim = sim.expect("the emulator");
        sim.deny_permissions(&names).unwrap();
        assert_eq!(count_tenant(&client, &graph).await, Some(TenantSize::Small));
    }
}
