//! One module per subcommand.

pub(crate) mod args;
pub(crate) mod backfill;
pub(crate) mod cluster;
pub(crate) mod generate;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod verify;
