//! Argument groups shared by several subcommands, each flattened into their `Args`.

pub mod policy;
