//! Live ingestion from Kafka (and Kafka-compatible brokers such as tansu or Redpanda).
//!
//! - [`KafkaConfig`]: brokers, topics, start position, group id, verbatim librdkafka
//!   properties (SASL/TLS...) and the DLQ topic.
//! - [`owner`]: the stable partition → worker rule that spreads partitions over every timely
//!   worker of every process.
//! - [`KafkaSource`]: one worker's consumer, with explicit `assign` (no group rebalancing),
//!   offsets kept by the engine (the progress record), periodic metadata refresh so topics and
//!   partitions created later are picked up, watermarks for lag, and consumer-group commits for
//!   external lag monitoring.
//! - [`DlqProducer`]: writes rejected records, unchanged (a tombstone's null value and the
//!   original headers included), to the engine's dead-letter topic with the `dlq.*` headers
//!   of `EVENTS.md`.
//! - [`create_topics`], [`topic_size`]: small admin helpers.
//!
//! Nothing here panics on broker trouble: librdkafka reconnects by itself, polls return no
//! records meanwhile, and calls that need an answer return an [`Error`].

mod admin;
mod align;
mod assign;
mod config;
mod dlq;
mod error;
mod source;
mod watermark_watcher;

pub use admin::{create_topics, create_topics_with, topic_size, topic_size_with};
pub use align::{Alignment, SharedBounds};
pub use assign::{fnv1a, owner};
pub use config::{KafkaConfig, StartPosition, DEFAULT_DLQ_TOPIC, DEFAULT_GROUP_ID};
pub use dlq::{
    DlqProducer, HEADER_DETAIL, HEADER_FAILED_AT, HEADER_REASON, HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC, HEADER_TOMBSTONE,
};
pub use error::{Error, Result};
pub use source::{KafkaSource, PartitionKey, DEFAULT_REFRESH_INTERVAL};

/// Re-export of the `rdkafka` crate, so callers can use its types (e.g. to produce in tests)
/// without depending on it themselves.
pub use rdkafka;
