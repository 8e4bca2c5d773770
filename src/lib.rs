//! mfa-reset: reset MFA, revoke sessions and offboard Microsoft Entra ID users in bulk,
//! through Microsoft Graph.
//!
//! The binary (`src/main.rs`) is a thin shell over this library: [`cli`] parses and runs
//! the subcommands; [`graph`] is the Microsoft Graph client and [`engine`] the pipeline
//! that paces and dispatches its requests; [`sim`] is the Graph emulator that tests,
//! rehearsals and benchmarks run against; [`wire`] holds the Graph wire types the emulator
//! and the client share; [`secret`] keeps secrets out of logs and `Debug` output.

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
pub mod wire;
