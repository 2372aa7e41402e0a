//! The output consumer, in process: the live loop reads an in-memory source and the consumer
//! fans every closed epoch out to the serving store, the Parquet snapshots and
//! `rejected.jsonl`; each must hold what one batch replay of the same records computes.

mod common;

use std::collections::BTreeSet;
use std::sync::{mpsc, Arc};

use common::{assert_same_views, batches, replayed, run, stream};
use pulso_events::Topic;
use pulso_pipeline::consumer::{consume, Outputs};
use pulso_pipeline::sources::{MemorySource, ReadSignals};
use pulso_pipeline::PipelineError;
use pulso_queries::ViewStore;

#[test]
fn every_output_ends_as_one_batch_replay() {
    let records = stream(3_000, 250);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ViewStore::new());
    let source = MemorySource::new(batches(&records, 120));
    run(Box::new(source), &store, dir.path()).unwrap();

    let (expected, rejected) = replayed(&records);
    assert_same_views(&store.snapshot(), &expected, "serving store");
    assert!(
        store.epoch().is_some_and(|e| e > 0),
        "several epochs closed"
    );
    // The last snapshot of the run writes every view.
    let parquet = pulso_sinks::parquet::read_views(&dir.path().join("views")).unwrap();
    assert_same_views(&parquet, &expected, "Parquet snapshots");

    // One line per rejected record, the malformed ones among them with their positions.
    let text = std::fs::read_to_string(dir.path().join("rejected.jsonl")).unwrap();
    assert_eq!(text.lines().count(), rejected.len());
    let malformed: BTreeSet<i64> = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line["reason"] == "malformed_json" && line["value"] == "{not json")
        .map(|line| line["offset"].as_i64().unwrap())
        .collect();
    let expected_malformed: BTreeSet<i64> = records
        .iter()
        .filter(|r| r.topic == Topic::Orders && r.value == b"{not json")
        .map(|r| r.position.offset)
        .collect();
    assert!(expected_malformed.len() >= 10);
    assert_eq!(malformed, expected_malformed);
}

#[test]
fn a_consumer_that_cannot_prepare_its_outputs_fails_with_the_folder_named() {
    let dir = tempfile::tempdir().unwrap();
    // The output folder is a file: its `views/` cannot be created.
    let out = dir.path().join("not-a-folder");
    std::fs::write(&out, "x").unwrap();
    let (_sender, receiver) = mpsc::sync_channel(1);
    let outputs = Outputs {
        store: Arc::new(ViewStore::new()),
        clickhouse: None,
        kafka: None,
        progress: None,
        signals: ReadSignals::default(),
        out: out.clone(),
        snapshot_secs: 1,
        process_id: 0,
    };
    let error = consume(receiver, outputs).unwrap_err();
    assert!(
        matches!(&error, PipelineError::SinkStep { context, .. } if context.contains("preparing")),
        "{error:?}"
    );
    let text = pulso_pipeline::error::chain(&error);
    assert!(
        text.contains(&out.join("views").display().to_string()),
        "{text}"
    );
}
