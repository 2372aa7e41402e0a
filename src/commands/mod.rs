//! One module per subcommand.

pub mod args;
pub mod backfill;
pub mod cluster;
pub mod generate;
pub mod generator;
pub mod replay;
pub mod run;
pub mod verify;
