//! A backlog read from the beginning by `pulso run` against a real Kafka-compatible broker
//! (tansu in `scripts/broker.sh`; skipped, with a message, unless `PULSO_KAFKA_BROKERS` is
//! set):
//!
//! ```text
//! PULSO_KAFKA_BROKERS=127.0.0.1:9092 cargo test --release --test kafka_backlog -- --nocapture
//! ```
//!
//! A generated stream of fourteen days is on the broker before the engine starts, and the
//! engine reads it with small fetches and the default retention (`late_after` 7 days). Kafka
//! hands a backlog out partition by partition, so read as fetched the small topics' last days
//! would come in with the large topics' first hours and push the watermark past them: their
//! records would be rejected `too_late` though none arrived late. The engine reads the
//! partitions in step by event time, so none is, and it counts every record.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use pulso_connectors::generator::{generate, GeneratorConfig};
use serde_json::Value;
use support::engine::{free_port, get_json};
use support::kafka::{brokers, produce, spawn_run, Cluster};

mod support;

/// How long the engine may take to read the backlog.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// The sum of `column` over the rows of `/v1/pipeline_health`.
fn health_sum(health: &Value, column: &str) -> i64 {
    health["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r[column].as_i64()).sum())
        .unwrap_or(0)
}

#[test]
fn a_fourteen_day_backlog_is_read_without_too_late_rejections() {
    let Some(brokers) = brokers("a_fourteen_day_backlog_is_read_without_too_late_rejections")
    else {
        return;
    };
    let cluster = Cluster::create(&brokers, "b");
    let stream = generate(&GeneratorConfig {
        seed: 5,
        scale: 20_000,
        ..Default::default()
    });
    produce(&cluster, &stream, 0..stream.len());

    let dir = tempfile::tempdir().unwrap();
    // Fetches of a few records per partition, as a large backlog is read; default retention.
    let config = serde_json::json!({"kafka": {
        "brokers": cluster.brokers,
        "properties": {"max.partition.fetch.bytes": "4096"},
    }});
    let config_path = dir.path().join("pulso.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let port = free_port();
    let log = dir.path().join("engine.log");
    let extra = [OsStr::new("--config"), config_path.as_os_str()]
        .into_iter()
        .chain(["--workers", "2", "--epoch-records", "250"].map(OsStr::new));
    let mut engine = spawn_run(
        &cluster,
        &dir.path().join("out"),
        port,
        &log,
        &extra.collect::<Vec<_>>(),
    );

    let started = Instant::now();
    let expected = stream.len() as i64;
    let health = loop {
        let health = get_json(port, "/v1/pipeline_health").unwrap_or(Value::Null);
        if health_sum(&health, "records") == expected || started.elapsed() > CATCH_UP_TIMEOUT {
            break health;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = engine.kill();
    let _ = engine.wait();
    assert_eq!(
        health_sum(&health, "records"),
        expected,
        "records counted after {CATCH_UP_TIMEOUT:?}: {health}"
    );
    println!(
        "read {expected} records in {:.2?}; rejected {}",
        started.elapsed(),
        health_sum(&health, "rejected")
    );
    assert_eq!(
        health_sum(&health, "rejected_too_late"),
        0,
        "records rejected too_late: {health}"
    );
}
