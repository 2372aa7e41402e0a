//! Pulso's sources of records: a JSONL folder source (`DIR/<topic>.jsonl`, used for replays
//! and tests) and a seedable generator of realistic event streams for every topic of
//! `EVENTS.md`, including the duplicates, late and out-of-order events, orphans and bad
//! records the engine must handle; and live ingestion from Kafka with its dead-letter producer
//! ([`kafka`]).

pub mod generator;
pub mod jsonl;
pub mod kafka;

pub use generator::{generate, Generator, GeneratorConfig, GeneratorStats};
pub use jsonl::{read_dir, scan_dir, write_dir, JsonlDir, SourceError};
