//! The live job behind `pulso run`: record sources for the timely workers (built-in
//! generator or Kafka, each archiving what it read), and the consumer that applies closed
//! epochs to the serving store, ClickHouse, the dead-letter topic and Parquet snapshots.

pub(crate) mod consumer;
pub(crate) mod dead_letters;
#[cfg(test)]
mod dead_letters_tests;
pub(crate) mod dlq_probe;
pub(crate) mod durability;
pub(crate) mod positions;
pub(crate) mod read_lag;
pub(crate) mod recovery;
pub(crate) mod sla_count;
pub(crate) mod snapshot;
pub(crate) mod sources;
#[cfg(test)]
mod sources_tests;
