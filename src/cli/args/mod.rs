//! Argument groups shared by several subcommands, each flattened into their `Args`, and
//! the clap side of flag values that are library types ([`values`]).

pub mod graph;
pub mod policy;
pub mod values;
