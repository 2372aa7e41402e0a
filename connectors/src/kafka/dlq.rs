//! [`DlqProducer`]: writes rejected records to the engine's dead-letter topic, unchanged
//! (original key and value bytes, null for a tombstone, and original headers), with the
//! `dlq.*` headers of `EVENTS.md` after the original ones (and `dlq.tombstone: true` for a
//! tombstone).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use pulso_events::{Rejection, SourceRecord};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::config::KafkaConfig;
use super::error::{Error, Result};

/// Header: the rejection reason (`malformed_json`, `missing_field`...).
pub const HEADER_REASON: &str = "dlq.reason";
/// Header: human text naming the offending field.
pub const HEADER_DETAIL: &str = "dlq.detail";
/// Header: the Kafka topic the record was read from (with [`KafkaConfig::topic_prefix`]).
pub const HEADER_SOURCE_TOPIC: &str = "dlq.source.topic";
/// Header: its partition (decimal).
pub const HEADER_SOURCE_PARTITION: &str = "dlq.source.partition";
/// Header: its offset (decimal).
pub const HEADER_SOURCE_OFFSET: &str = "dlq.source.offset";
/// Header: when it was rejected (RFC 3339, UTC).
pub const HEADER_FAILED_AT: &str = "dlq.failed_at";
/// Header: `true` when the rejected record was a tombstone (its value was null, and the
/// dead-letter copy's value is null too). Absent otherwise.
pub const HEADER_TOMBSTONE: &str = "dlq.tombstone";

/// How long [`DlqProducer::send`] keeps retrying while librdkafka's queue is full.
const QUEUE_FULL_WAIT: Duration = Duration::from_secs(30);

/// Delivery reports: counts failures until the next [`DlqProducer::flush`].
#[derive(Default)]
struct DlqContext {
    failures: Mutex<(u64, Option<String>)>,
}

impl ClientContext for DlqContext {}

impl ProducerContext for DlqContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((error, _)) = result {
            if let Ok(mut failures) = self.failures.lock() {
                failures.0 += 1;
                failures.1 = Some(error.to_string());
            }
        }
    }
}

/// Producer of the engine's dead-letter topic ([`KafkaConfig::dlq_topic`]).
///
/// Sends are asynchronous (a background thread serves delivery reports); call
/// [`DlqProducer::flush`] before acknowledging an epoch so its rejections are durable.
pub struct DlqProducer {
    producer: ThreadedProducer<DlqContext>,
    topic: String,
    source_prefix: String,
}

impl std::fmt::Debug for DlqProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DlqProducer")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DlqProducer {
    /// A producer for `config.dlq_topic` with `config`'s brokers and properties.
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        let producer = config
            .producer_config()
            .create_with_context(DlqContext::default())?;
        Ok(DlqProducer {
            producer,
            topic: config.dlq_topic.clone(),
            source_prefix: config.topic_prefix.clone(),
        })
    }

    /// The dead-letter topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues `record` for the dead-letter topic: its original key and value bytes (a null
    /// value for a tombstone) and its original headers, in order, followed by the headers
    /// `dlq.reason`, `dlq.detail`, `dlq.source.topic`, `dlq.source.partition`,
    /// `dlq.source.offset`, `dlq.failed_at` (now, RFC 3339 UTC) and, for a tombstone,
    /// `dlq.tombstone: true`. Waits (up to 30 s) while the local queue is full; delivery
    /// failures are reported by [`DlqProducer::flush`].
    pub fn send(&self, record: &SourceRecord, rejection: &Rejection) -> Result<()> {
        let partition = record.position.partition.to_string();
        let offset = record.position.offset.to_string();
        let source_topic = format!("{}{}", self.source_prefix, record.topic.name());
        let failed_at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 7);
        for (key, value) in &record.headers {
            headers = headers.insert(Header {
                key: key.as_str(),
                value: value.as_deref(),
            });
        }
        let mut headers = headers
            .insert(header(HEADER_REASON, rejection.reason.as_str()))
            .insert(header(HEADER_DETAIL, &rejection.detail))
            .insert(header(HEADER_SOURCE_TOPIC, &source_topic))
            .insert(header(HEADER_SOURCE_PARTITION, &partition))
            .insert(header(HEADER_SOURCE_OFFSET, &offset))
            .insert(header(HEADER_FAILED_AT, &failed_at));
        if record.tombstone {
            headers = headers.insert(header(HEADER_TOMBSTONE, "true"));
        }
        let mut message: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic).headers(headers);
        if !record.tombstone {
            message = message.payload(&record.value[..]);
        }
        if let Some(key) = &record.key {
            message = message.key(&key[..]);
        }
        let started = Instant::now();
        loop {
            match self.producer.send(message) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if started.elapsed() < QUEUE_FULL_WAIT =>
                {
                    message = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }

    /// Waits up to `timeout` for every queued record to be delivered. Fails if that takes
    /// longer ([`Error::FlushTimedOut`]: the records stay queued), or if any record sent since
    /// the last successful flush was not delivered ([`Error::Delivery`]).
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.producer.flush(timeout).map_err(|error| match error {
            KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut) => Error::FlushTimedOut(timeout),
            error => error.into(),
        })?;
        let mut failures = self
            .producer
            .context()
            .failures
            .lock()
            .map_err(|_| Error::Config("DLQ delivery report lock poisoned".into()))?;
        if failures.0 > 0 {
            let error = Error::Delivery {
                failed: failures.0,
                last: failures.1.take().unwrap_or_default(),
            };
            failures.0 = 0;
            return Err(error);
        }
        Ok(())
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
