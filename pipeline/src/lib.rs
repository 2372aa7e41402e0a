//! `pulso-pipeline`: running Pulso. It puts the other crates together: record sources behind
//! one trait ([`RecordSource`]: the built-in generator, Kafka, an in-memory source, the
//! wrappers that archive what they read and replay the archive after a restart, and the JSONL
//! folder and raw archive of the batch commands), the recovery protocol ([`recovery`]), the
//! cluster settings ([`cluster`]), the live epoch loop ([`epoch_loop`], started by [`run`]),
//! the replay runner ([`replay`]) and the output consumer ([`consumer`]) that fans each
//! consolidated epoch out to the serving store, Parquet, ClickHouse and the dead-letter topic.
//! The shared steps of `replay`, `backfill` and `verify` live here too ([`batch`]); the
//! `pulso` binary keeps the flags and the config file. The dataflow itself, built inside each
//! worker, is `pulso_dataflows::engine::routed_views`.
//!
//! Every error is a [`PipelineError`]. The tests need no service: recovery and the output
//! consumer run in process against [`sources::MemorySource`] (the Kafka probe test runs only
//! with `PULSO_KAFKA_BROKERS`).

pub mod archive_thread;
mod assemble;
pub mod batch;
pub mod cluster;
pub mod consumer;
pub mod dead_letters;
#[cfg(test)]
mod dead_letters_tests;
pub mod dlq_probe;
pub mod durability;
pub mod epoch_loop;
pub mod error;
pub mod generator;
#[cfg(test)]
mod hand_off_tests;
pub mod positions;
pub mod progress;
pub mod read_lag;
pub mod record_source;
pub mod recovery;
pub mod replay;
pub mod run;
pub mod sla_count;
pub mod snapshot;
pub mod sources;
#[cfg(test)]
mod sources_tests;
mod store_writer;
pub mod verify;

pub use cluster::ClusterConfig;
pub use error::{DataflowError, PipelineError, Result};
pub use record_source::{EpochRead, RecordSource, SourceFactory};
pub use replay::{replay, replay_source, replay_stream, ReplayConfig, ReplayOutput};
pub use run::{run_live_job, LiveRun};

/// What a scoped thread returned; its panic, if it panicked, goes on in the caller.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
