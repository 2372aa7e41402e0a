//! One module per subcommand.

pub mod backfill;
pub mod generate;
pub mod replay;
pub mod run;
pub mod verify;
