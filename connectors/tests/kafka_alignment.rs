//! Event-time alignment of a Kafka source against a real broker (`scripts/broker.sh start`;
//! runs only when `PULSO_KAFKA_BROKERS` is set).
//!
//! A backlog of two topics over the same fourteen days, one large and one small, read with
//! small fetches: read as fetched, the small topic's last days come out with the large one's
//! first minutes (the engine would then reject the large topic's records as `too_late`); read
//! aligned, no record comes out more than the drift behind the latest event time handed out
//! before it, and every record comes out once.

use std::time::{Duration, Instant};

use pulso_connectors::kafka::rdkafka::producer::Producer;
use pulso_connectors::kafka::{create_topics, Alignment, KafkaSource};
use pulso_events::time::{format_rfc3339, Micros, MICROS_PER_DAY};
use pulso_events::{event_time, SourceRecord, Topic};

mod common;
use common::*;

/// When the records' fourteen days start (2024-01-15T00:00:00Z).
const START: Micros = 1_705_276_800_000_000;

/// Produces `count` records to partition 0 of `topic`, their timestamps spread evenly over
/// fourteen days in order, in batches of 20 (a fetch returns at least one whole batch).
fn produce_days(brokers: &str, topic: &str, count: i64) {
    let producer = producer(brokers);
    for i in 0..count {
        let time = START + i * 14 * MICROS_PER_DAY / count;
        let value = format!(
            r#"{{"event_id":"e-{i}","timestamp":"{}","pad":"{}"}}"#,
            format_rfc3339(time),
            "x".repeat(40)
        );
        send(
            &producer,
            topic,
            0,
            format!("k-{i}").as_bytes(),
            value.as_bytes(),
        );
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// Reads the backlog of both topics with one source (aligned within `drift`, or not) and
/// small fetches; returns the records in the order handed out.
fn read_backlog(
    brokers: &str,
    prefix: &str,
    drift: Option<Micros>,
    want: usize,
) -> Vec<SourceRecord> {
    let mut config = config(brokers, prefix, &[Topic::Orders, Topic::Inventory]);
    config.group_id = format!("{prefix}{drift:?}");
    // Fetches of a few dozen records per partition, as a large backlog is read.
    config
        .properties
        .insert("max.partition.fetch.bytes".into(), "2048".into());
    let mut source = KafkaSource::new(config, 0, 1, Default::default()).unwrap();
    source.align(Alignment {
        drift,
        ..Alignment::default()
    });
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while records.len() < want && Instant::now() < deadline {
        records.extend(source.poll_batch(500, Duration::from_millis(50)));
    }
    records.extend(source.poll_batch(500, Duration::from_millis(300)));
    records
}

/// The most any record came out behind the latest event time handed out before it.
fn worst_lateness(records: &[SourceRecord]) -> Micros {
    let mut latest = Micros::MIN;
    let mut worst = 0;
    for record in records {
        let time = event_time(record.topic, &record.value).expect("every record is timed");
        worst = worst.max(latest.saturating_sub(time));
        latest = latest.max(time);
    }
    worst
}

#[test]
fn a_backlog_is_read_in_step_by_event_time() {
    let Some(brokers) = brokers("a_backlog_is_read_in_step_by_event_time") else {
        return;
    };
    let prefix = unique_prefix("align");
    let (large, small) = (
        format!("{prefix}orders.events"),
        format!("{prefix}inventory.events"),
    );
    create_topics(&brokers, &[(&large, 1), (&small, 1)]).unwrap();
    let (large_count, small_count) = (3000, 30);
    produce_days(&brokers, &large, large_count);
    produce_days(&brokers, &small, small_count);
    let want = (large_count + small_count) as usize;

    let unaligned = read_backlog(&brokers, &prefix, None, want);
    assert_eq!(unaligned.len(), want);
    assert!(
        worst_lateness(&unaligned) > 7 * MICROS_PER_DAY,
        "read as fetched, the small topic runs days ahead (else this test shows nothing)"
    );

    let drift = MICROS_PER_DAY;
    let aligned = read_backlog(&brokers, &prefix, Some(drift), want);
    let worst = worst_lateness(&aligned);
    assert!(
        worst <= drift,
        "a record came out {} h behind the latest before it",
        worst / (MICROS_PER_DAY / 24)
    );
    let mut positions: Vec<(Topic, i64)> = aligned
        .iter()
        .map(|r| (r.topic, r.position.offset))
        .collect();
    positions.sort();
    positions.dedup();
    assert_eq!(positions.len(), want, "every record once");
    for topic in [Topic::Orders, Topic::Inventory] {
        let offsets: Vec<i64> = aligned
            .iter()
            .filter(|r| r.topic == topic)
            .map(|r| r.position.offset)
            .collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{topic:?} in offset order"
        );
    }
}
