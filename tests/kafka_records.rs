//! Kafka record details through `pulso run`, against a real Kafka-compatible broker (tansu in
//! `scripts/broker.sh`): tombstones and record headers. Skipped, with a message, unless
//! `PULSO_KAFKA_BROKERS` is set:
//!
//! ```text
//! PULSO_KAFKA_BROKERS=127.0.0.1:9092 cargo test --release --test kafka_records -- --nocapture
//! ```
//!
//! Four records are produced to `orders.events` of fresh topics: a valid `ORDER_CREATED`
//! with headers, a tombstone (null value) with a header, a malformed record with headers
//! (one of them with a null value, one binary), and an empty (not null) value. The engine
//! must
//! - send the tombstone to the DLQ with a null value, `dlq.reason: malformed_json`,
//!   `dlq.detail: null value (Kafka tombstone)` and `dlq.tombstone: true`, its header kept;
//! - send the malformed and the empty record with their bytes (empty, not null, for the
//!   latter) and original headers first, in order, then the `dlq.*` headers, without
//!   `dlq.tombstone`;
//! - write `rejected.jsonl` with `"value": null` for the tombstone only;
//! - archive the accepted record with its headers (read back with the archive reader).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pulso_connectors::kafka::rdkafka;
use pulso_connectors::kafka::{
    HEADER_DETAIL, HEADER_FAILED_AT, HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC, HEADER_TOMBSTONE,
};
use pulso_events::{RecordHeader, Topic, TOMBSTONE_DETAIL};
use pulso_sinks::archive::read_archive;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use support::engine::{free_port, healthy};
use support::kafka::{brokers, read_all, Cluster, Deliveries};

mod support;

/// One test record: key, value (`None`: a tombstone) and headers.
struct Produced {
    key: &'static str,
    value: Option<Vec<u8>>,
    headers: Vec<RecordHeader>,
}

fn header(key: &str, value: Option<&[u8]>) -> RecordHeader {
    (key.to_string(), value.map(<[u8]>::to_vec))
}

/// The records of the test, all to `orders.events` partition 0.
fn records() -> Vec<Produced> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let created = format!(
        r#"{{"event_id":"kr-1","event_type":"ORDER_CREATED","order_id":"o-1","customer_id":"c-1","items":[{{"sku":"S-1","quantity":1,"unit_price":10}}],"total":10,"timestamp":"{now}"}}"#
    );
    vec![
        Produced {
            key: "accepted",
            value: Some(created.into_bytes()),
            headers: vec![
                header("trace-id", Some(b"t-1")),
                header("null-header", None),
            ],
        },
        Produced {
            key: "tombstone",
            value: None,
            headers: vec![header("why", Some(b"delete"))],
        },
        Produced {
            key: "malformed",
            value: Some(b"{\"event_id\": \"kr-3\", ".to_vec()),
            headers: vec![
                header("trace-id", Some(b"t-3")),
                header("binary", Some(&[0xff, 0x00, 0xfe])),
                header("null-header", None),
            ],
        },
        Produced {
            key: "empty",
            value: Some(Vec::new()),
            headers: Vec::new(),
        },
    ]
}

/// Produces `records` to partition 0 of `topic`, in order, and waits for every ack.
fn produce(brokers: &str, topic: &str, records: &[Produced]) {
    let producer: ThreadedProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .create_with_context(Deliveries::default())
        .expect("creating the test producer");
    for record in records {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &record.headers {
            headers = headers.insert(Header {
                key: key.as_str(),
                value: value.as_deref(),
            });
        }
        let mut message: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic)
            .partition(0)
            .key(record.key.as_bytes())
            .headers(headers);
        if let Some(value) = &record.value {
            message = message.payload(&value[..]);
        }
        producer.send(message).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let failures = producer.context().failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "not delivered: {failures:?}");
}

/// A message's headers, in order.
fn headers_of(message: &OwnedMessage) -> Vec<RecordHeader> {
    message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one DLQ record against what was produced.
fn check_dead_letter(message: &OwnedMessage, produced: &Produced, cluster: &Cluster) {
    let headers = headers_of(message);
    let name = produced.key;
    // The original headers first, unchanged and in order...
    assert!(
        headers.len() >= produced.headers.len()
            && headers[..produced.headers.len()] == produced.headers[..],
        "{name}: original headers not kept first: {headers:?}"
    );
    // ... then the engine's.
    let dlq: BTreeMap<&str, Option<&[u8]>> = headers[produced.headers.len()..]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    let text = |key: &str| -> String {
        let value = dlq
            .get(key)
            .unwrap_or_else(|| panic!("{name}: no {key}: {dlq:?}"));
        String::from_utf8(value.unwrap().to_vec()).unwrap()
    };
    assert_eq!(text(HEADER_REASON), "malformed_json", "{name}");
    assert_eq!(
        text(HEADER_SOURCE_TOPIC),
        cluster.kafka_name(Topic::Orders),
        "{name}"
    );
    assert_eq!(text(HEADER_SOURCE_PARTITION), "0", "{name}");
    for key in [HEADER_DETAIL, HEADER_SOURCE_OFFSET, HEADER_FAILED_AT] {
        text(key);
    }
    assert_eq!(message.key(), Some(name.as_bytes()), "{name}: key");
    match &produced.value {
        None => {
            assert_eq!(message.payload(), None, "{name}: a tombstone stays null");
            assert_eq!(text(HEADER_TOMBSTONE), "true");
            assert_eq!(text(HEADER_DETAIL), TOMBSTONE_DETAIL);
        }
        Some(value) => {
            assert_eq!(
                message.payload(),
                Some(&value[..]),
                "{name}: value bytes (empty is not null)"
            );
            assert!(!dlq.contains_key(HEADER_TOMBSTONE), "{name}: {dlq:?}");
            assert_ne!(text(HEADER_DETAIL), TOMBSTONE_DETAIL, "{name}");
        }
    }
}

/// The `rejected.jsonl` lines of `out`, by key.
fn rejected_lines(out: &Path) -> BTreeMap<String, serde_json::Value> {
    let text = std::fs::read_to_string(out.join("rejected.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["key"].as_str().unwrap().to_string(), v))
        .collect()
}

#[test]
fn tombstones_and_headers_reach_the_dlq_and_the_archive() {
    let Some(brokers) = brokers("kafka_records") else {
        return;
    };
    let cluster = Cluster::create(&brokers, "kr");
    let records = records();
    produce(&brokers, &cluster.kafka_name(Topic::Orders), &records);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let log = dir.path().join("engine.log");
    let port = free_port();
    let log_file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .arg("run")
        .args(["--brokers", &brokers])
        .args(["--topic-prefix", &cluster.prefix])
        .args(["--dlq-topic", &cluster.dlq])
        .arg("--out")
        .arg(&out)
        .args(["--http", &format!("127.0.0.1:{port}")])
        .args(["--snapshot-secs", "1"])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("starting pulso run");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // The three rejected records reach the DLQ.
    let messages = read_all(
        &brokers,
        "pulso-kafka-records-test",
        &[(cluster.dlq.clone(), 0)],
        3,
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    assert!(healthy(port), "the engine is healthy\n{}", log_text());
    assert_eq!(messages.len(), 3, "DLQ records\n{}", log_text());
    for message in &messages {
        let key = std::str::from_utf8(message.key().unwrap()).unwrap();
        let produced = records.iter().find(|r| r.key == key).unwrap();
        check_dead_letter(message, produced, &cluster);
    }

    // The accepted record's epoch is archived with its progress record once the DLQ is
    // delivered; stop the engine and read the archive back.
    let started = Instant::now();
    let progress = out.join("archive/_progress");
    while !progress.is_dir() || std::fs::read_dir(&progress).unwrap().next().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no progress record"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "engine exit {status}\n{}", log_text());

    let archived = read_archive(&out.join("archive"), None, None).unwrap();
    assert_eq!(archived.len(), 1, "one accepted record");
    assert_eq!(archived[0].key.as_deref(), Some(&b"accepted"[..]));
    assert_eq!(archived[0].headers, records[0].headers, "archived headers");
    assert_eq!(Some(&archived[0].value), records[0].value.as_ref());

    let rejected = rejected_lines(&out);
    assert_eq!(rejected.len(), 3);
    assert_eq!(rejected["tombstone"]["value"], serde_json::Value::Null);
    assert_eq!(rejected["tombstone"]["detail"], TOMBSTONE_DETAIL);
    assert_eq!(rejected["empty"]["value"], "");
    assert_eq!(rejected["malformed"]["value"], "{\"event_id\": \"kr-3\", ");
    println!("kafka_records: DLQ, rejected.jsonl and archive checked");
}
