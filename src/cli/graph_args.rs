//! Moved to [`super::args::graph`]; re-exported so that `cli::graph_args::…` still resolves.
pub use super::args::graph::{AuthSource, Connection, GraphArgs, TenantChoice};
