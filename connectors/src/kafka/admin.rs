//! Admin helpers: create topics (tolerating "already exists") and count the records a topic
//! holds (for the `dlq_size` signals of `pulso.dlq` and `notifications.dlq`).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;

use super::config::KafkaConfig;
use super::error::{Error, Result};

/// Timeout of admin requests and of each metadata / watermark look-up.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates topics `(name, partitions)` on the cluster at `brokers` (replication: the
/// broker's default). Topics that already exist are left as they are.
pub fn create_topics(brokers: &str, topics: &[(&str, i32)]) -> Result<()> {
    create_topics_with(&KafkaConfig::new(brokers), topics)
}

/// [`create_topics`] with the connection settings (SASL/TLS properties...) of `config`.
pub fn create_topics_with(config: &KafkaConfig, topics: &[(&str, i32)]) -> Result<()> {
    if topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = config.client_config().create()?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|&(name, partitions)| NewTopic::new(name, partitions, TopicReplication::Fixed(-1)))
        .collect();
    let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT));
    let results = block_on(admin.create_topics(&new_topics, &options))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(Error::CreateTopic {
                    topic,
                    reason: code.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Records held in `topic` on the cluster at `brokers`: the sum over its partitions of
/// high − low watermark; 0 for a topic that does not exist.
pub fn topic_size(brokers: &str, topic: &str) -> Result<i64> {
    topic_size_with(&KafkaConfig::new(brokers), topic)
}

/// [`topic_size`] with the connection settings (SASL/TLS properties...) of `config`.
///
/// The high watermark of each non-empty partition is checked by reading the record batch
/// just below it: tansu 0.6 answers ListOffsets with the base offset of the last batch plus
/// one, so a batch of several records would otherwise count as one. On Kafka the check
/// reads one record per partition and changes nothing.
pub fn topic_size_with(config: &KafkaConfig, topic: &str) -> Result<i64> {
    let consumer: BaseConsumer = config.lookup_config().create()?;
    let metadata = consumer.fetch_metadata(Some(topic), ADMIN_TIMEOUT)?;
    let mut size = 0;
    for entry in metadata.topics().iter().filter(|t| t.name() == topic) {
        if entry.error().is_some() {
            continue;
        }
        for partition in entry.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, partition.id(), ADMIN_TIMEOUT)?;
            let high = if high > low {
                end_of_last_batch(&consumer, topic, partition.id(), high)?
            } else {
                high
            };
            size += (high - low).max(0);
        }
    }
    Ok(size)
}

/// The offset after the last record of the batch holding offset `high - 1` (at least `high`),
/// read with `consumer`, which this assigns and then unassigns.
pub(crate) fn end_of_last_batch(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    high: i64,
) -> Result<i64> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(high - 1))?;
    consumer.assign(&tpl)?;
    let mut end = high;
    let mut wait = ADMIN_TIMEOUT;
    let deadline = std::time::Instant::now() + ADMIN_TIMEOUT;
    while std::time::Instant::now() < deadline {
        let Some(message) = consumer.poll(wait) else {
            break;
        };
        if let Ok(message) = message {
            if message.topic() == topic && message.partition() == partition {
                end = end.max(message.offset() + 1);
                // The rest of the batch came in the same fetch response.
                wait = Duration::from_millis(50);
            }
        }
    }
    consumer.unassign()?;
    Ok(end)
}

/// Wakes the thread blocked in [`block_on`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread. rdkafka's admin futures are completed by
/// the admin client's own thread, so no async runtime is needed.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}
