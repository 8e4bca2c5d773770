//! mfa-reset's integration tests, one test crate (linked once): the binary and the library
//! against the Graph emulator (`mfa_reset::sim`) over real HTTP on 127.0.0.1.
//!
//! Each module covers one part (see its own doc); `support` holds what they share: the
//! test data's paths, scratch folders, running the binary, an HTTP client for the
//! emulator, and the scenario builder (tenant, user list, policy → plan → apply → the
//! tenant's final state and the run folder's results).

// Tests may print what they saw: the rule that messages go through `say!` is the tool's.
#![allow(clippy::disallowed_macros)]

mod support;

mod apply;
mod engine;
mod faults;
mod fuzz_parsers;
mod graph_auth;
mod graph_key;
mod help;
mod hostile;
mod huge_files;
mod input;
mod layout;
mod output;
mod plan;
mod reads;
mod report_html;
mod report_reasons;
mod report_run;
mod schema;
mod secrets;
mod shell;
mod sim;
