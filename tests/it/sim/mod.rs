//! Integration tests of the Graph emulator over real HTTP on 127.0.0.1: every route and key
//! form, Entra's rules, `$batch`, throttling, faults, the token endpoint, the observation
//! endpoints, what tests of a fail-safe client need (a missing permission, expired tokens,
//! a tenant changed under a plan) and the `mfa-reset sim` command itself.

mod auth;
mod batch;
mod cli;
mod create_methods;
mod default_method;
mod fail_safe;
mod faults;
mod observe;
mod routes;
mod rules;
mod tap_policy;
mod throttling;
