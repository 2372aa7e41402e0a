//! Errors of the Kafka connector.

/// What can go wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error reported by librdkafka (configuration, transport, broker error codes...).
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A configuration value Pulso cannot use.
    #[error("kafka configuration: {0}")]
    Config(String),
    /// A thread of the connector could not be started.
    #[error("starting a thread: {0}")]
    Thread(String),
    /// A topic could not be created.
    #[error("creating topic `{topic}`: {reason}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's error.
        reason: String,
    },
    /// A flush of the DLQ producer ran out of time with records still queued: the broker did
    /// not acknowledge them (it may be unreachable). Nothing is lost; they stay queued.
    #[error("dead-letter records still queued after waiting {0:?} (is the broker reachable?)")]
    FlushTimedOut(std::time::Duration),
    /// Records handed to the DLQ producer were not delivered.
    #[error("{failed} dead-letter record(s) not delivered; last error: {last}")]
    Delivery {
        /// How many deliveries failed since the last successful flush.
        failed: u64,
        /// The last delivery error.
        last: String,
    },
}

/// The result type of the Kafka connector.
pub type Result<T> = std::result::Result<T, Error>;
