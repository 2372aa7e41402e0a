//! Kafka helpers shared by the live-broker tests (`kafka_live`, `recovery`): unique test
//! topics, producer delivery reports, reading partitions back, end offsets, the brokers or a skip,
//! and `/v1/pipeline_health` partitions (free ports: `support::engine`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pulso_connectors::kafka::create_topics;
use pulso_connectors::kafka::rdkafka;
use pulso_events::{SourceRecord, Topic};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;

/// Partitions of every source topic.
pub(crate) const PARTITIONS: i32 = 3;
/// librdkafka's limit on one message (default 1 000 000 bytes) for the tests' producers and
/// consumers, raised for generated records over 1 MiB.
pub(crate) const MAX_MESSAGE_BYTES: &str = "8000000";

// ---------------------------------------------------------------------------------------
// Set-up

pub(crate) fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A unique set of topics on the cluster for one test run.
#[derive(Clone)]
pub(crate) struct Cluster {
    pub brokers: String,
    /// Prefix of every source topic, e.g. `t1234-1700000000000000000.`.
    pub prefix: String,
    /// The engine's dead-letter topic (the engine does not prefix it).
    pub dlq: String,
}

impl Cluster {
    /// Creates every topic of [`Topic::ALL`] under a fresh prefix (starting with `tag`) with
    /// [`PARTITIONS`] partitions, and a fresh one-partition dead-letter topic.
    pub(crate) fn create(brokers: &str, tag: &str) -> Cluster {
        let run = format!("{tag}{}-{}", std::process::id(), nanos());
        let cluster = Cluster {
            brokers: brokers.to_string(),
            prefix: format!("{run}."),
            dlq: format!("{run}-pulso.dlq"),
        };
        let names: Vec<String> = Topic::ALL.iter().map(|t| cluster.kafka_name(*t)).collect();
        let mut topics: Vec<(&str, i32)> = names.iter().map(|n| (n.as_str(), PARTITIONS)).collect();
        topics.push((&cluster.dlq, 1));
        create_topics(brokers, &topics).expect("creating the test topics");
        println!(
            "topics: {}* ({} topics x {PARTITIONS} partitions), DLQ {}",
            cluster.prefix,
            Topic::ALL.len(),
            cluster.dlq
        );
        cluster
    }

    pub(crate) fn kafka_name(&self, topic: Topic) -> String {
        format!("{}{}", self.prefix, topic.name())
    }

    pub(crate) fn source_topics(&self) -> Vec<String> {
        Topic::ALL.iter().map(|t| self.kafka_name(*t)).collect()
    }
}

/// The brokers to test against (`PULSO_KAFKA_BROKERS`), or `None` after printing that `test`
/// is skipped.
pub(crate) fn brokers(test: &str) -> Option<String> {
    match std::env::var("PULSO_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.trim().is_empty() => Some(brokers),
        _ => {
            println!(
                "{test}: skipped (set PULSO_KAFKA_BROKERS=127.0.0.1:9092 to run it against a \
                 broker; `scripts/broker.sh start` starts one)"
            );
            None
        }
    }
}

/// Starts `pulso run` on `cluster`'s topics, writing to `out` and its log to `log` (appended
/// to), its API on `port`, with `extra` arguments (`--workers`, `--config`...).
pub(crate) fn spawn_run(
    cluster: &Cluster,
    out: &std::path::Path,
    port: u16,
    log: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> std::process::Child {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_pulso"))
        .arg("run")
        .args(["--brokers", &cluster.brokers])
        .args(["--topic-prefix", &cluster.prefix])
        .args(["--dlq-topic", &cluster.dlq])
        .arg("--out")
        .arg(out)
        .args(["--http", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("starting pulso run")
}

/// The key of the `index`th generated record: stable, so records spread over the
/// partitions by librdkafka's key hash.
pub(crate) fn key_of(index: usize) -> Vec<u8> {
    format!("rec-{index:07}").into_bytes()
}

// ---------------------------------------------------------------------------------------
// Producing

/// Delivery reports of the test producer: every failure.
#[derive(Default)]
pub(crate) struct Deliveries {
    pub failures: Mutex<Vec<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((error, _)) = result {
            self.failures.lock().unwrap().push(error.to_string());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reading back

/// Every record of `partitions` from the beginning, waiting (up to `wait`) until `expected`
/// have arrived, then `settle` longer for any extra (which the caller then sees). The
/// consumer's group is `{group_prefix}-{nanos}`.
pub(crate) fn read_all(
    brokers: &str,
    group_prefix: &str,
    partitions: &[(String, i32)],
    expected: usize,
    wait: Duration,
    settle: Duration,
) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{group_prefix}-{}", nanos()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .set("max.partition.fetch.bytes", MAX_MESSAGE_BYTES)
        .create()
        .expect("creating the read-back consumer");
    let mut tpl = TopicPartitionList::new();
    for (topic, partition) in partitions {
        tpl.add_partition_offset(topic, *partition, Offset::Beginning)
            .unwrap();
    }
    consumer
        .assign(&tpl)
        .expect("assigning the read-back partitions");
    let deadline = Instant::now() + wait;
    let mut messages = Vec::new();
    let mut settle_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if settle_until.is_some_and(|t| now >= t) || now >= deadline {
            break;
        }
        if messages.len() >= expected && settle_until.is_none() {
            settle_until = Some(now + settle);
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => messages.push(message.detach()),
            Some(Err(error)) => println!("read-back consumer: {error}"),
            None => {}
        }
    }
    messages
}

/// The offset after the last record of each partition, by Kafka topic name.
pub(crate) fn end_offsets(
    cluster: &Cluster,
    records: &[SourceRecord],
) -> BTreeMap<(String, i32), i64> {
    let mut ends: BTreeMap<(String, i32), i64> = cluster
        .source_topics()
        .into_iter()
        .flat_map(|t| (0..PARTITIONS).map(move |p| ((t.clone(), p), 0)))
        .collect();
    for r in records {
        let end = ends
            .get_mut(&(cluster.kafka_name(r.topic), r.position.partition))
            .unwrap();
        *end = (*end).max(r.position.offset + 1);
    }
    ends
}

// ---------------------------------------------------------------------------------------
// The engine

/// One partition of `/v1/pipeline_health`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct PartitionJson {
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
    pub high_watermark: i64,
    pub lag: i64,
}

/// Sends record `index` of a test stream to its prefixed topic, keyed by index, waiting while
/// the producer's queue is full.
pub(crate) fn send_record(
    producer: &ThreadedProducer<Deliveries>,
    cluster: &Cluster,
    index: usize,
    topic: Topic,
    value: &[u8],
) {
    let name = cluster.kafka_name(topic);
    let key = key_of(index);
    let mut record = BaseRecord::to(&name).key(&key[..]).payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((error, _)) => panic!("producing record {index} ({name}): {error}"),
        }
    }
}

/// Produces `stream[range]` (keyed by index) to the prefixed topics and waits until every
/// record is acknowledged.
pub(crate) fn produce(
    cluster: &Cluster,
    stream: &[(Topic, Vec<u8>)],
    range: std::ops::Range<usize>,
) {
    produce_paced(cluster, stream, range, Duration::ZERO);
}

/// Produces `stream[range]` (keyed by index) at a steady pace spread over `over`, then waits
/// until every record is acknowledged.
pub(crate) fn produce_paced(
    cluster: &Cluster,
    stream: &[(Topic, Vec<u8>)],
    range: std::ops::Range<usize>,
    over: Duration,
) {
    let started = Instant::now();
    let producer: ThreadedProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", &cluster.brokers)
        .set("client.id", "pulso-test-producer")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.max.bytes", MAX_MESSAGE_BYTES)
        .create_with_context(Deliveries::default())
        .expect("creating the test producer");
    let count = range.len();
    for (n, index) in range.enumerate() {
        if n % 500 == 0 && !over.is_zero() {
            let due = over.mul_f64(n as f64 / count as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let (topic, value) = &stream[index];
        send_record(&producer, cluster, index, *topic, value);
    }
    producer
        .flush(Duration::from_secs(60))
        .expect("flushing the test producer");
    let failures = producer.context().failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} of {count} records were not delivered, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    println!("produced {count} records in {:.2?}", started.elapsed());
}
