//! Helpers shared by the Kafka connector's tests: the broker to test against, unique topic
//! prefixes, source configs, and producing and draining records.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pulso_connectors::kafka::rdkafka::producer::{BaseRecord, DefaultProducerContext};
use pulso_connectors::kafka::rdkafka::producer::{Producer, ThreadedProducer};
use pulso_connectors::kafka::rdkafka::ClientConfig;
use pulso_connectors::kafka::{KafkaConfig, KafkaSource};
use pulso_events::{Position, SourceRecord, Topic};

/// The broker to test against, or `None` (with a message) when the tests are skipped.
pub(crate) fn brokers(test: &str) -> Option<String> {
    match std::env::var("PULSO_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.is_empty() => Some(brokers),
        _ => {
            eprintln!(
                "SKIPPED {test}: PULSO_KAFKA_BROKERS is not set \
                 (run scripts/broker.sh start, then PULSO_KAFKA_BROKERS=127.0.0.1:9092)"
            );
            None
        }
    }
}

/// A topic prefix no other test or run uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "t{}-{}-{}-{test}.",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub(crate) fn config(brokers: &str, prefix: &str, topics: &[Topic]) -> KafkaConfig {
    KafkaConfig {
        topics: topics.iter().map(|t| t.name().to_string()).collect(),
        topic_prefix: prefix.to_string(),
        group_id: format!("{prefix}group"),
        dlq_topic: format!("{prefix}pulso.dlq"),
        ..KafkaConfig::new(brokers)
    }
}

pub(crate) fn producer(brokers: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap()
}

/// Produces `count` records to `partition` of `topic`, with keys `k-<partition>-<i>` and
/// values `v-<partition>-<i>` for `i` in `first..first + count`; flushes.
pub(crate) fn produce(brokers: &str, topic: &str, partition: i32, first: usize, count: usize) {
    produce_flushing(brokers, topic, partition, first..first + count, usize::MAX);
}

/// Like [`produce`], one record per batch (flushing after each).
pub(crate) fn produce_unbatched(
    brokers: &str,
    topic: &str,
    partition: i32,
    first: usize,
    count: usize,
) {
    produce_flushing(brokers, topic, partition, first..first + count, 1);
}

/// Produces records `indices` as [`produce`] does, flushing after every `every` of them and
/// at the end.
fn produce_flushing(
    brokers: &str,
    topic: &str,
    partition: i32,
    indices: std::ops::Range<usize>,
    every: usize,
) {
    let producer = producer(brokers);
    for (n, i) in indices.enumerate() {
        let key = format!("k-{partition}-{i}");
        let value = format!("v-{partition}-{i}");
        send(
            &producer,
            topic,
            partition,
            key.as_bytes(),
            value.as_bytes(),
        );
        if (n + 1) % every == 0 {
            producer.flush(Duration::from_secs(30)).unwrap();
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

pub(crate) fn send(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    partition: i32,
    key: &[u8],
    value: &[u8],
) {
    let mut record = BaseRecord::to(topic)
        .partition(partition)
        .key(key)
        .payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((_, back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Polls `sources` until `want` records came in all (or 60 s passed); returns them per source.
pub(crate) fn drain(sources: &mut [&mut KafkaSource], want: usize) -> Vec<Vec<SourceRecord>> {
    let mut got: Vec<Vec<SourceRecord>> = vec![Vec::new(); sources.len()];
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.iter().map(Vec::len).sum::<usize>() < want && Instant::now() < deadline {
        for (i, source) in sources.iter_mut().enumerate() {
            got[i].extend(source.poll_batch(1000, Duration::from_millis(50)));
        }
    }
    // Anything beyond `want` would be a duplicate: give it a chance to show up.
    for (i, source) in sources.iter_mut().enumerate() {
        got[i].extend(source.poll_batch(1000, Duration::from_millis(300)));
    }
    got
}

/// Checks that `records` are exactly records `from[p]..to[p]` of each partition of `topic`
/// as written by [`produce`], each once.
pub(crate) fn check_exactly(records: &[SourceRecord], topic: Topic, from: &[usize], to: &[usize]) {
    let mut seen = BTreeSet::new();
    for record in records.iter().filter(|r| r.topic == topic) {
        let Position { partition, offset } = record.position;
        assert!(
            seen.insert((partition, offset)),
            "duplicate {topic} {partition}/{offset}"
        );
        assert_eq!(
            record.key.as_deref(),
            Some(format!("k-{partition}-{offset}").as_bytes())
        );
        assert_eq!(record.value, format!("v-{partition}-{offset}").into_bytes());
    }
    let expected: BTreeSet<(i32, i64)> = (0..from.len())
        .flat_map(|p| (from[p]..to[p]).map(move |o| (p as i32, o as i64)))
        .collect();
    assert_eq!(seen, expected, "records of {topic}");
}
