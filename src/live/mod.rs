//! The live job behind `pulso run`: record sources for the timely workers (built-in
//! generator or Kafka, each archiving what it read), and the consumer that applies closed
//! epochs to the serving store, ClickHouse, the dead-letter topic and Parquet snapshots.

pub mod consumer;
pub mod dead_letters;
#[cfg(test)]
mod dead_letters_tests;
pub mod dlq_probe;
pub mod durability;
pub mod positions;
pub mod recovery;
pub mod snapshot;
pub mod sources;
#[cfg(test)]
mod sources_tests;
