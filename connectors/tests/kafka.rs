//! Tests of the Kafka connector against a real broker (`scripts/broker.sh start`).
//!
//! They run only when `PULSO_KAFKA_BROKERS` is set (e.g. `127.0.0.1:9092`); otherwise each
//! prints why it is skipped and passes. Every test uses its own topic prefix, so tests can run
//! in parallel and again on the same broker.
//!
//! Two more are `#[ignore]`d and gated by environment variables:
//! - `broker_pause_loses_and_duplicates_nothing` (`PULSO_KAFKA_PAUSE_TEST=1`): SIGSTOPs the
//!   broker (pid from `PULSO_BROKER_PID` or `build/broker.pid`) for 30 s mid-consumption.
//! - `drain_throughput` (`PULSO_KAFKA_BENCH=1`, best with `--release`): drains ~500k small
//!   records with one source and prints records/s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pulso_connectors::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use pulso_connectors::kafka::rdkafka::message::{Headers, Message};
use pulso_connectors::kafka::rdkafka::producer::Producer;
use pulso_connectors::kafka::rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use pulso_connectors::kafka::rdkafka::ClientConfig;
use pulso_connectors::kafka::{
    create_topics, owner, topic_size, DlqProducer, KafkaConfig, KafkaSource, PartitionKey,
    StartPosition,
};
use pulso_events::{Position, RejectReason, Rejection, SourceRecord, Topic};

mod common;
use common::*;

#[test]
fn two_workers_read_every_record_once_and_resume() {
    let Some(brokers) = brokers("two_workers_read_every_record_once_and_resume") else {
        return;
    };
    let prefix = unique_prefix("workers");
    let orders = format!("{prefix}orders.events");
    let inventory = format!("{prefix}inventory.events");
    create_topics(&brokers, &[(&orders, 3), (&inventory, 3)]).unwrap();
    // Creating again is fine.
    create_topics(&brokers, &[(&orders, 3)]).unwrap();
    let counts = [120, 77, 5];
    for (p, &n) in counts.iter().enumerate() {
        produce(&brokers, &orders, p as i32, 0, n);
        produce(&brokers, &inventory, p as i32, 0, n + 1);
    }
    let config = config(&brokers, &prefix, &[Topic::Orders, Topic::Inventory]);
    let mut w0 = KafkaSource::new(config.clone(), 0, 2, BTreeMap::new()).unwrap();
    let mut w1 = KafkaSource::new(config.clone(), 1, 2, BTreeMap::new()).unwrap();
    // The two workers own disjoint partitions that cover all six.
    let assigned: BTreeSet<PartitionKey> = w0.assigned().into_iter().chain(w1.assigned()).collect();
    assert_eq!(assigned.len(), 6);
    assert_eq!(w0.assigned().len() + w1.assigned().len(), 6);

    // Read part of the records, then stop both workers.
    let total: usize = counts.iter().sum::<usize>() * 2 + 3;
    let mut first: Vec<Vec<SourceRecord>> = vec![Vec::new(), Vec::new()];
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.iter().map(Vec::len).sum::<usize>() < 100 && Instant::now() < deadline {
        first[0].extend(w0.poll_batch(7, Duration::from_millis(50)));
        first[1].extend(w1.poll_batch(7, Duration::from_millis(50)));
    }
    let mut progress = w0.next_offsets();
    progress.extend(w1.next_offsets());
    drop((w0, w1));
    let read_first: usize = first.iter().map(Vec::len).sum();
    assert!(read_first < total, "read {read_first} of {total} already");

    // Resume from the progress record, produce more meanwhile.
    for (p, &n) in counts.iter().enumerate() {
        produce(&brokers, &orders, p as i32, n, 10);
    }
    let mut w0 = KafkaSource::new(config.clone(), 0, 2, progress.clone()).unwrap();
    let mut w1 = KafkaSource::new(config.clone(), 1, 2, progress).unwrap();
    let rest = drain(&mut [&mut w0, &mut w1], total + 30 - read_first);

    let mut all = Vec::new();
    for (worker, records) in first.iter().chain(rest.iter()).enumerate() {
        for record in records {
            let name = format!("{prefix}{}", record.topic.name());
            assert_eq!(owner(&name, record.position.partition, 2), worker % 2);
        }
        all.extend(records.iter().cloned());
    }
    let orders_to: Vec<usize> = counts.iter().map(|n| n + 10).collect();
    let inventory_to: Vec<usize> = counts.iter().map(|n| n + 1).collect();
    check_exactly(&all, Topic::Orders, &[0, 0, 0], &orders_to);
    check_exactly(&all, Topic::Inventory, &[0, 0, 0], &inventory_to);
    assert_eq!(all.len(), total + 30);

    // The progress record is the end of every partition.
    let mut next = w0.next_offsets();
    next.extend(w1.next_offsets());
    for p in 0..3 {
        assert_eq!(next[&(orders.clone(), p)], orders_to[p as usize] as i64);
        assert_eq!(
            next[&(inventory.clone(), p)],
            inventory_to[p as usize] as i64
        );
    }

    // Group commits land where an external monitor sees them.
    w0.commit(&w0.next_offsets()).unwrap();
    w1.commit(&w1.next_offsets()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let monitor: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", &config.group_id)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition(&orders, p);
    }
    loop {
        // Serve the async commit callbacks.
        w0.poll_batch(1, Duration::from_millis(50));
        w1.poll_batch(1, Duration::from_millis(50));
        let committed = monitor
            .committed_offsets(tpl.clone(), Duration::from_secs(5))
            .unwrap();
        let offsets: Vec<Offset> = committed.elements().iter().map(|e| e.offset()).collect();
        let want: Vec<Offset> = orders_to
            .iter()
            .map(|&n| Offset::Offset(n as i64))
            .collect();
        if offsets == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "committed {offsets:?}, want {want:?}; errors {:?} {:?}",
            w0.last_commit_error(),
            w1.last_commit_error()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(w0.last_commit_error(), None);
}

#[test]
fn topics_and_partitions_created_later_are_picked_up() {
    let Some(brokers) = brokers("topics_and_partitions_created_later_are_picked_up") else {
        return;
    };
    let prefix = unique_prefix("later");
    let tracking = format!("{prefix}tracking.events");
    let other = format!("{prefix}not.a.pulso.topic");
    // `latest` applies to partitions present at start; later ones are read from the start.
    let mut config = config(&brokers, &prefix, &[Topic::Tracking]);
    config.start = StartPosition::Latest;
    let mut source = KafkaSource::new(config, 0, 1, BTreeMap::new()).unwrap();
    source.set_refresh_interval(Duration::from_millis(200));
    assert!(source.assigned().is_empty());
    assert!(source.poll_batch(10, Duration::from_millis(300)).is_empty());

    create_topics(&brokers, &[(&tracking, 2), (&other, 1)]).unwrap();
    produce(&brokers, &tracking, 0, 0, 30);
    produce(&brokers, &tracking, 1, 0, 20);
    produce(&brokers, &other, 0, 0, 4);
    let got = drain(&mut [&mut source], 50).remove(0);
    check_exactly(&got, Topic::Tracking, &[0, 0], &[30, 20]);
    assert_eq!(got.len(), 50);
    // A topic that is not configured is never assigned.
    assert_eq!(source.skipped_unknown(), 0);
    assert_eq!(source.assigned().len(), 2);
}

#[test]
fn a_source_naming_a_topic_not_in_events_md_refuses_to_start() {
    // No broker needed: the names are checked before any client is created.
    let mut config = KafkaConfig::new("127.0.0.1:1");
    config.topics.push("payments.events".into());
    let Err(err) = KafkaSource::new(config, 0, 1, BTreeMap::new()) else {
        panic!("a source with an unknown topic started");
    };
    assert!(err.to_string().contains("payments.events"), "{err}");
}

#[test]
fn latest_and_timestamp_start_positions() {
    let Some(brokers) = brokers("latest_and_timestamp_start_positions") else {
        return;
    };
    let prefix = unique_prefix("start");
    let topic = format!("{prefix}orders.events");
    create_topics(&brokers, &[(&topic, 1)]).unwrap();
    produce(&brokers, &topic, 0, 0, 10);
    let mut config = config(&brokers, &prefix, &[Topic::Orders]);
    config.start = StartPosition::Latest;
    let mut latest = KafkaSource::new(config.clone(), 0, 1, BTreeMap::new()).unwrap();
    assert_eq!(latest.next_offsets()[&(topic.clone(), 0)], 10);
    std::thread::sleep(Duration::from_millis(20));
    let after_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    std::thread::sleep(Duration::from_millis(20));
    produce(&brokers, &topic, 0, 10, 5);
    let got = drain(&mut [&mut latest], 5).remove(0);
    check_exactly(&got, Topic::Orders, &[10], &[15]);

    config.start = StartPosition::Timestamp(after_ms);
    let by_time = KafkaSource::new(config.clone(), 0, 1, BTreeMap::new()).unwrap();
    assert_eq!(by_time.next_offsets()[&(topic.clone(), 0)], 10);
    // (A time after every record should start at the end; tansu 0.6 answers such a
    // ListOffsets query with offset 0, so that case is not asserted here.)
}

#[test]
fn dlq_keeps_bytes_and_adds_headers() {
    let Some(brokers) = brokers("dlq_keeps_bytes_and_adds_headers") else {
        return;
    };
    let prefix = unique_prefix("dlq");
    let config = config(&brokers, &prefix, &[Topic::Orders]);
    create_topics(&brokers, &[(&config.dlq_topic, 1)]).unwrap();
    let dlq = DlqProducer::new(&config).unwrap();
    let with_key = SourceRecord {
        topic: Topic::Orders,
        position: Position {
            partition: 2,
            offset: 41,
        },
        key: Some(vec![0, 159, 146, 150, b'k']),
        value: vec![b'{', 0xff, 0xfe, 0, b'"'],
        tombstone: false,
        headers: Vec::new(),
    };
    let without_key = SourceRecord {
        topic: Topic::Notifications,
        position: Position {
            partition: 0,
            offset: 7,
        },
        key: None,
        value: br#"{"event_id": 1}"#.to_vec(),
        tombstone: false,
        headers: Vec::new(),
    };
    let first = Rejection::new(RejectReason::MalformedJson, "expected value at line 1");
    let second = Rejection::new(
        RejectReason::InvalidField,
        "field `event_id` must be a string",
    );
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    dlq.send(&with_key, &first).unwrap();
    dlq.send(&without_key, &second).unwrap();
    dlq.flush(Duration::from_secs(30)).unwrap();

    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "dlq-reader")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&config.dlq_topic, 0, Offset::Beginning)
        .unwrap();
    reader.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < 2 && Instant::now() < deadline {
        let Some(message) = reader.poll(Duration::from_millis(100)) else {
            continue;
        };
        let message = message.unwrap();
        {
            let headers: BTreeMap<String, String> = message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            let value = String::from_utf8(h.value.unwrap().to_vec()).unwrap();
                            (h.key.to_string(), value)
                        })
                        .collect()
                })
                .unwrap_or_default();
            got.push((
                message.key().map(<[u8]>::to_vec),
                message.payload().unwrap_or_default().to_vec(),
                headers,
            ));
        }
    }
    assert_eq!(got.len(), 2);
    let expected = [
        (&with_key, &first, "malformed_json", "2", "41"),
        (&without_key, &second, "invalid_field", "0", "7"),
    ];
    for ((key, value, headers), (record, rejection, reason, partition, offset)) in
        got.iter().zip(expected)
    {
        assert_eq!(key, &record.key);
        assert_eq!(value, &record.value);
        assert_eq!(headers.len(), 6, "{headers:?}");
        assert_eq!(headers["dlq.reason"], reason);
        assert_eq!(headers["dlq.detail"], rejection.detail);
        assert_eq!(
            headers["dlq.source.topic"],
            format!("{prefix}{}", record.topic.name())
        );
        assert_eq!(headers["dlq.source.partition"], partition);
        assert_eq!(headers["dlq.source.offset"], offset);
        let failed_at = chrono::DateTime::parse_from_rfc3339(&headers["dlq.failed_at"]).unwrap();
        assert!(headers["dlq.failed_at"].ends_with('Z'));
        assert!(failed_at >= before && failed_at <= chrono::Utc::now());
    }
    assert_eq!(topic_size(&brokers, &config.dlq_topic).unwrap(), 2);
}

#[test]
fn watermarks_lag_and_topic_size() {
    let Some(brokers) = brokers("watermarks_lag_and_topic_size") else {
        return;
    };
    let prefix = unique_prefix("lag");
    let topic = format!("{prefix}notifications.dlq");
    create_topics(&brokers, &[(&topic, 3)]).unwrap();
    produce_unbatched(&brokers, &topic, 0, 0, 40);
    // One batch of 9: tansu 0.6 answers ListOffsets for it with 1, not 9.
    produce(&brokers, &topic, 2, 0, 9);
    assert_eq!(topic_size(&brokers, &topic).unwrap(), 49);
    assert_eq!(
        topic_size(&brokers, &format!("{prefix}missing")).unwrap(),
        0
    );

    let mut source = KafkaSource::new(
        config(&brokers, &prefix, &[Topic::NotificationsDlq]),
        0,
        1,
        BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(source.topic_size(&topic).unwrap(), 49);
    let marks = source.watermarks();
    assert_eq!(marks[&(topic.clone(), 0)], (0, 40));
    assert_eq!(marks[&(topic.clone(), 1)], (0, 0));
    let lag = source.lag();
    assert_eq!(lag[&(topic.clone(), 0)], 40);
    assert_eq!(lag[&(topic.clone(), 1)], 0);
    assert!(lag[&(topic.clone(), 2)] > 0);

    let got = drain(&mut [&mut source], 49).remove(0);
    check_exactly(&got, Topic::NotificationsDlq, &[0, 0, 0], &[40, 0, 9]);
    assert!(source.lag().values().all(|&l| l == 0), "{:?}", source.lag());
    assert_eq!(source.lag().len(), 3);
    // Fetch responses report the true high watermark of the batched partition.
    let deadline = Instant::now() + Duration::from_secs(10);
    while source.watermarks()[&(topic.clone(), 2)] != (0, 9) {
        assert!(Instant::now() < deadline, "{:?}", source.watermarks());
        assert!(source.poll_batch(10, Duration::from_millis(200)).is_empty());
    }
    produce_unbatched(&brokers, &topic, 1, 0, 3);
    assert_eq!(source.lag()[&(topic.clone(), 1)], 3);
    assert_eq!(source.lag().values().sum::<i64>(), 3);
}

/// The pid of the broker started by `scripts/broker.sh`.
fn broker_pid() -> String {
    if let Ok(pid) = std::env::var("PULSO_BROKER_PID") {
        return pid;
    }
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../build/broker.pid");
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("reading {file}: {e}; set PULSO_BROKER_PID"))
        .trim()
        .to_string()
}

fn signal(signal: &str, pid: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
#[ignore = "pauses the shared broker for 30 s; run with PULSO_KAFKA_PAUSE_TEST=1"]
fn broker_pause_loses_and_duplicates_nothing() {
    let Some(brokers) = brokers("broker_pause_loses_and_duplicates_nothing") else {
        return;
    };
    if std::env::var("PULSO_KAFKA_PAUSE_TEST").as_deref() != Ok("1") {
        eprintln!("SKIPPED broker_pause_loses_and_duplicates_nothing: PULSO_KAFKA_PAUSE_TEST!=1");
        return;
    }
    let pid = broker_pid();
    let prefix = unique_prefix("pause");
    let topic = format!("{prefix}orders.events");
    create_topics(&brokers, &[(&topic, 3)]).unwrap();
    for p in 0..3 {
        produce(&brokers, &topic, p, 0, 20_000);
    }
    let mut source = KafkaSource::new(
        config(&brokers, &prefix, &[Topic::Orders]),
        0,
        1,
        BTreeMap::new(),
    )
    .unwrap();
    let mut got = Vec::new();
    while got.len() < 10_000 {
        got.extend(source.poll_batch(500, Duration::from_millis(100)));
    }
    // Records produced while the broker is stopped wait in the producer's queue.
    let producer = producer(&brokers);
    signal("-STOP", &pid);
    let paused = Instant::now();
    let mut during = 0;
    for i in 0..1000 {
        let key = format!("k-1-{}", 20_000 + i);
        let value = format!("v-1-{}", 20_000 + i);
        send(&producer, &topic, 1, key.as_bytes(), value.as_bytes());
    }
    while paused.elapsed() < Duration::from_secs(30) {
        let batch = source.poll_batch(500, Duration::from_millis(200));
        during += batch.len();
        got.extend(batch);
        let _ = source.watermarks();
    }
    signal("-CONT", &pid);
    eprintln!(
        "broker resumed; {during} records were read from local buffers while it was stopped; \
         poll errors meanwhile: {:?}",
        source.poll_errors()
    );
    producer.flush(Duration::from_secs(120)).unwrap();
    let resumed = Instant::now();
    let total = 61_000;
    let deadline = Instant::now() + Duration::from_secs(120);
    while got.len() < total && Instant::now() < deadline {
        got.extend(source.poll_batch(1000, Duration::from_millis(100)));
    }
    got.extend(source.poll_batch(1000, Duration::from_millis(500)));
    eprintln!(
        "drained the rest {:.1} s after SIGCONT",
        resumed.elapsed().as_secs_f64()
    );
    check_exactly(&got, Topic::Orders, &[0, 0, 0], &[20_000, 21_000, 20_000]);
    assert_eq!(got.len(), total);
    assert!(source.lag().values().all(|&l| l == 0));
}

#[test]
#[ignore = "benchmark; run with PULSO_KAFKA_BENCH=1 (best with --release)"]
fn drain_throughput() {
    let Some(brokers) = brokers("drain_throughput") else {
        return;
    };
    if std::env::var("PULSO_KAFKA_BENCH").as_deref() != Ok("1") {
        eprintln!("SKIPPED drain_throughput: PULSO_KAFKA_BENCH!=1");
        return;
    }
    let prefix = unique_prefix("bench");
    let topic = format!("{prefix}orders.events");
    let partitions = 4;
    let per_partition = 125_000;
    create_topics(&brokers, &[(&topic, partitions)]).unwrap();
    let producer = producer(&brokers);
    let value = br#"{"event_id":"e-000000","event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:30:00Z","order_id":"o-1"}"#;
    let started = Instant::now();
    for i in 0..per_partition {
        for p in 0..partitions {
            send(&producer, &topic, p, format!("o-{i}").as_bytes(), value);
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    let total = per_partition * partitions as usize;
    eprintln!(
        "produced {total} records of {} bytes in {:.2} s",
        value.len(),
        started.elapsed().as_secs_f64()
    );
    let mut source = KafkaSource::new(
        config(&brokers, &prefix, &[Topic::Orders]),
        0,
        1,
        BTreeMap::new(),
    )
    .unwrap();
    let started = Instant::now();
    let mut count = 0;
    let mut bytes = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while count < total && Instant::now() < deadline {
        for record in source.poll_batch(10_000, Duration::from_millis(100)) {
            count += 1;
            bytes += record.value.len();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "drained {count} records ({:.1} MB) with one KafkaSource in {secs:.2} s: {:.0} records/s",
        bytes as f64 / 1e6,
        count as f64 / secs
    );
    assert_eq!(count, total);
}
