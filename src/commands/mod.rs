//! One module per subcommand.

pub mod backfill;
pub mod cluster;
pub mod generate;
pub mod replay;
pub mod run;
pub mod time_scale;
pub mod verify;
