//! The Microsoft Graph client: how mfa-reset talks to a tenant.
//!
//! [`endpoints`] says where (cloud, login and Graph hosts, loopback-only plain HTTP);
//! [`auth`] gets and caches access tokens from the Azure SDK's credentials; [`key`] turns
//! a user's id, UPN or mail into a validated key that cannot change what a request targets;
//! [`request`] describes one Graph request and its cost; [`batch`] encodes `$batch` bodies
//! and classifies every item's answer; [`transport`] is how a batch reaches Graph;
//! [`preflight`] proves, with one bounded request before a command starts, that the
//! token is accepted and Graph is there, and reads the tenant's Temporary Access Pass
//! policy ([`tap_policy`]). It knows HTTP but not users' stories: what to do to a user is
//! decided elsewhere, and when to send is the engine's business.
//!
//! It shares only [`crate::wire`] with the emulator.

pub mod auth;
pub mod batch;
pub mod client;
pub mod endpoints;
pub mod groups;
pub mod key;
pub mod preflight;
pub mod request;
pub mod role_holders;
pub mod tap_policy;
pub mod tenant;
pub mod transport;
