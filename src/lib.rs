//! mfa-reset: reset MFA, revoke sessions and offboard Microsoft Entra ID users in bulk,
//! through Microsoft Graph.
//!
//! # Layout
//!
//! The binary (`src/main.rs`) is a thin shell over this library: it parses the command
//! line, calls [`cli::run`], and maps how the command ended ([`exit`]) to an exit code.
//! The modules follow the data flow:
//!
//! ```text
//! user list ─► input ─► plan ◄── engine::read ◄── graph ◄── Graph (or sim)
//!   (parse, validate,   (decide per user    (paced $batch reads)
//!    dedupe rows)        with policy; write
//!                        plan.json)
//! plan.json ─► engine::run ─► graph ─► Graph          (paced $batch writes, journal)
//!                  └────────► report                   (results, summary, report.html)
//! ```
//!
//! - [`input`]: user lists in every format, checked row by row, duplicates found.
//! - [`policy`]: what to do to one user and in which order — pure, no I/O.
//! - [`plan`]: a plan made from the rows and what the tenant said ([`plan::make`]),
//!   `plan.json` and its fingerprint, stored and read an entry at a time.
//! - [`graph`]: the Microsoft Graph client — endpoints, credentials and tokens, user keys,
//!   requests, `$batch` encoding and the [`graph::transport::Transport`] it sends through.
//! - [`engine`]: the async pipeline — pacer, dispatcher, the tenant reads of a plan, the
//!   per-user jobs of a run, journal, lock, `run.json`, the secrets file.
//! - [`report`]: what people read — results CSV/JSONL, `summary.md`, `report.html`.
//! - [`tenants`]: runs over several tenants — the tenants file, and a list split by its
//!   tenant column into one list per tenant.
//! - [`cli`]: one file per subcommand (arguments, usage, `run`), wiring the layers.
//! - [`sim`]: the Graph emulator that tests, rehearsals and benchmarks run against.
//! - Shared leaves: [`wire`] (the Graph wire types the emulator and the client share),
//!   [`secret`] (secrets kept out of logs and `Debug`), [`exit`] (the exit codes).
//!
//! Imports run one way — cli → {input, plan, engine, report, tenants}; tenants → {input,
//! plan, graph's tenant names}; report → {plan, engine's
//! outcome types}; engine → {graph, plan, policy}; plan → {policy, input}; input → graph's
//! user keys; sim → {wire, secret} — and `tests/it/layout.rs` fails on a loop.

pub mod cli;
pub mod engine;
pub mod exit;
pub mod graph;
pub mod input;
pub mod plan;
pub mod policy;
pub mod report;
pub mod secret;
pub mod sim;
pub mod tenants;
pub mod wire;
