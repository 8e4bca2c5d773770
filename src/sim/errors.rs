//! Graph-shaped failures the emulator answers with, and the errors of the emulator itself.
//!
//! A [`GraphFailure`] is an HTTP answer, not a bug: a status, Graph's error `code` and a
//! message, rendered as `{"error": {"code", "message", "innerError": {...}}}` by the
//! request layer, which adds the correlation ids. [`SimError`] is what can go wrong
//! starting the emulator (a bad tenant file, a port in use).

use std::path::PathBuf;

/// A Graph error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl GraphFailure {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        GraphFailure {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        GraphFailure::new(400, code, message)
    }

    /// The 404 Graph gives for a user (or other directory object) that does not exist.
    pub fn resource_not_found(key: &str) -> Self {
        GraphFailure::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// The 403 Graph gives when the caller lacks the privilege for an operation.
    pub fn insufficient_privileges() -> Self {
        GraphFailure::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// The target user is in a restricted management administrative unit and the caller
    /// is not assigned a role at its scope. The wording is this emulator's, after the
    /// message administrators report; Microsoft documents no exact text.
    pub fn restricted_management() -> Self {
        GraphFailure::new(
            403,
            "Authorization_RequestDenied",
            "Target object is a member of a restricted management administrative unit and can only be modified by administrators scoped to that administrative unit. Check that you are assigned a role that has permission to perform the operation at this restricted administrative unit scope.",
        )
    }

    /// No route matches the request.
    pub fn no_route(method: &str, path: &str) -> Self {
        GraphFailure::new(
            400,
            "BadRequest",
            format!("Resource not found for the segment in '{method} {path}'."),
        )
    }

    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        GraphFailure::new(
            405,
            "Request_BadRequest",
            format!(
                "No HTTP resource was found that matches the request URI '{path}' for method '{method}'."
            ),
        )
    }
}

/// Errors starting or configuring the emulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read tenant file {path}: {source}")]
    ReadTenantFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "tenant file {path}, line {line}, column {column}: {message}\n  hint: the format is {{\"tenantId\": \"...\", \"users\": [{{\"id\", \"userPrincipalName\", ...}}]}}; `mfa-reset sim --users 3 --dump-tenant FILE` writes an example"
    )]
    ParseTenantFile {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("tenant file {path}: {message}")]
    InvalidTenant { path: PathBuf, message: String },
    #[error("invalid tenant: {0}")]
    Tenant(String),
    #[error(
        "no user {0:?} in the emulated tenant\n  hint: name a user by object id or userPrincipalName"
    )]
    UnknownUser(String),
    #[error("cannot change user {user:?}: {message}")]
    Change { user: String, message: String },
    #[error("cannot read client certificate {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("invalid emulator setting: {0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the emulator's runtime: {0}")]
    Runtime(std::io::Error),
}
