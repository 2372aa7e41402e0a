//! `pulso replay --clickhouse`: after a replay, `SELECT * FROM <db>.<view>` of every view
//! equals the oracle; replaying the same input again, or a different input over it, leaves
//! exactly the new views (nothing doubled, stale rows gone). Needs a real ClickHouse server:
//! set `PULSO_CLICKHOUSE_URL` (the test script starts one); skipped otherwise.

mod support;

use std::path::Path;
use std::process::Command;

use pulso_connectors::jsonl;
use pulso_sinks::clickhouse::{ClickHouseConfig, ClickHouseSink};

/// Retention off: the random streams hold records a week late, which the default
/// `late_after` (7 days) would reject; this test is about ClickHouse, not retention.
const RETENTION_OFF: &str = r#"{"retention": {"late_after": "off", "entities": "off",
    "timelines": "off", "future_tolerance": "off",
    "windows": {"minute": "off", "hour": "off", "day": "off"}}}"#;

fn replay_into(url: &str, database: &str, input: &Path) {
    let out = tempfile::tempdir().unwrap();
    let config = out.path().join("retention-off.json");
    std::fs::write(&config, RETENTION_OFF).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args([
            "replay",
            "--workers",
            "2",
            "--epoch-records",
            "300",
            "--input",
        ])
        .arg(input)
        .arg("--out")
        .arg(out.path())
        .args(["--clickhouse", url, "--clickhouse-database", database])
        .arg("--config")
        .arg(&config)
        .status()
        .unwrap();
    assert!(status.success());
}

fn write_input(dir: &Path, seed: u64, events: usize) -> Vec<pulso_events::SourceRecord> {
    let records = support::streams::random_stream(seed, events);
    jsonl::write_dir(dir, records.iter().map(|r| (r.topic, r.value.clone()))).unwrap();
    // Positions as the JSONL source numbers them.
    jsonl::read_dir(dir).unwrap()
}

#[test]
fn clickhouse_views_equal_the_oracle_and_replays_are_idempotent() {
    let Ok(url) = std::env::var("PULSO_CLICKHOUSE_URL") else {
        eprintln!("SKIPPED clickhouse_replay: PULSO_CLICKHOUSE_URL is not set");
        return;
    };
    let database = format!("pulso_replay_test_{}", std::process::id());
    let config = ClickHouseConfig {
        url: url.clone(),
        database: database.clone(),
        ..Default::default()
    };

    let first = tempfile::tempdir().unwrap();
    let records = write_input(first.path(), 11, 1_500);
    let expected = pulso_oracle::compute(&records, None);
    replay_into(&url, &database, first.path());
    let sink = ClickHouseSink::connect(config.clone()).unwrap();
    assert_eq!(sink.read_views().unwrap(), expected, "first replay");

    replay_into(&url, &database, first.path());
    assert_eq!(
        sink.read_views().unwrap(),
        expected,
        "the same replay again"
    );

    let second = tempfile::tempdir().unwrap();
    let records = write_input(second.path(), 12, 800);
    let expected = pulso_oracle::compute(&records, None);
    replay_into(&url, &database, second.path());
    assert_eq!(
        sink.read_views().unwrap(),
        expected,
        "another input over the first"
    );

    sink.drop_database().unwrap();
}
