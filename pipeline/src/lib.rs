//! `pulso-pipeline`: running Pulso. It puts the other crates together: record sources behind
//! one trait ([`RecordSource`]: the built-in generator, Kafka, an in-memory source, and the
//! wrappers that archive what they read and replay the archive after a restart), the recovery
//! protocol ([`recovery`]), the live epoch loop ([`run`], on `pulso_dataflows::live`), and the
//! output consumer ([`consumer`]) that fans each consolidated epoch out to the serving store,
//! Parquet, ClickHouse and the dead-letter topic. The shared steps of `replay`, `backfill` and
//! `verify` live here too ([`batch`]); the `pulso` binary keeps the flags and the config file.
//!
//! Every error is a [`PipelineError`]. The tests need no service: recovery and the output
//! consumer run in process against [`sources::MemorySource`] (the Kafka probe test runs only
//! with `PULSO_KAFKA_BROKERS`).

mod assemble;
pub mod batch;
pub mod consumer;
pub mod dead_letters;
#[cfg(test)]
mod dead_letters_tests;
pub mod dlq_probe;
pub mod durability;
pub mod error;
pub mod generator;
pub mod positions;
pub mod read_lag;
pub mod recovery;
pub mod run;
pub mod sla_count;
pub mod snapshot;
pub mod sources;
#[cfg(test)]
mod sources_tests;
pub mod verify;

pub use error::{PipelineError, Result};
pub use pulso_dataflows::live::{EpochRead, RecordSource, SourceFactory};
pub use run::{run_live_job, LiveRun};
