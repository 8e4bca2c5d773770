//! What the test modules share.

pub mod graph;
pub mod process;
