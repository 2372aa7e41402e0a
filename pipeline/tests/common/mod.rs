//! Shared helpers of the pipeline's in-process tests: a generated stream with a few malformed
//! records, the live loop driven by one source and drained by the output consumer, and the
//! batch replay the live results must equal.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc, Mutex};

use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_events::views::ViewSet;
use pulso_events::{Position, SourceRecord, Topic};
use pulso_pipeline::consumer::{consume, Outputs};
use pulso_pipeline::epoch_loop::{run_live, AsOfMode, LiveConfig};
use pulso_pipeline::sources::{NoSource, ReadSignals};
use pulso_pipeline::{replay, ReplayConfig};
use pulso_pipeline::{RecordSource, SourceFactory};
use pulso_queries::ViewStore;
use pulso_sinks::changes::diff_views;

/// A generated stream of about `scale` records over six hours (nothing expires and nothing
/// is too late under the default retention), positioned as one partition per topic, with a
/// malformed `orders.events` record after every `bad_every` records.
pub(crate) fn stream(scale: u64, bad_every: usize) -> Vec<SourceRecord> {
    let config = GeneratorConfig {
        span: 6 * 3_600 * 1_000_000,
        ..GeneratorConfig::new(7, scale)
    };
    let mut offsets: HashMap<Topic, i64> = HashMap::new();
    let mut records = Vec::new();
    let mut push = |topic: Topic, value: Vec<u8>| {
        let offset = offsets.entry(topic).or_insert(0);
        let position = Position {
            partition: 0,
            offset: *offset,
        };
        *offset += 1;
        records.push(SourceRecord::new(topic, position, None, value));
    };
    for (i, (topic, value)) in generate(&config).into_iter().enumerate() {
        push(topic, value);
        if (i + 1) % bad_every == 0 {
            push(Topic::Orders, b"{not json".to_vec());
        }
    }
    records
}

/// `records` cut into batches of `size`.
pub(crate) fn batches(records: &[SourceRecord], size: usize) -> Vec<Vec<SourceRecord>> {
    records.chunks(size).map(<[SourceRecord]>::to_vec).collect()
}

/// The live loop's settings of these tests: one worker, small epochs, open cases graded at
/// the greatest event time (as a replay grades them).
pub(crate) fn live_config() -> LiveConfig {
    LiveConfig {
        workers: 1,
        cluster: Default::default(),
        epoch_ms: 20,
        epoch_records: 500,
        as_of: AsOfMode::MaxEventTime,
        retention: Default::default(),
        sla: Default::default(),
        clock: Default::default(),
    }
}

/// A factory handing `source` to worker 0 (once) and nothing to the others.
pub(crate) fn factory(source: Box<dyn RecordSource + Send>) -> SourceFactory {
    let source = Mutex::new(Some(source));
    Arc::new(move |_index, _peers| -> Box<dyn RecordSource> {
        match source.lock().unwrap().take() {
            Some(source) => source,
            None => Box::new(NoSource),
        }
    })
}

/// Runs the live loop over `source` until it is finished, the output consumer delivering to
/// `store` and the folder `out`; returns the consumer's result.
pub(crate) fn run(
    source: Box<dyn RecordSource + Send>,
    store: &Arc<ViewStore>,
    out: &Path,
) -> pulso_pipeline::Result<()> {
    let (sender, receiver) = mpsc::sync_channel(100_000);
    let config = live_config();
    let sources = factory(source);
    let engine = std::thread::spawn(move || {
        run_live(&config, sources, sender, Arc::new(AtomicBool::new(false)))
    });
    let outputs = Outputs {
        store: Arc::clone(store),
        clickhouse: None,
        kafka: None,
        progress: None,
        signals: ReadSignals::default(),
        out: out.to_path_buf(),
        snapshot_secs: 1,
        process_id: 0,
    };
    let consumed = consume(receiver, outputs);
    engine.join().unwrap().unwrap();
    consumed
}

/// The views of one batch replay of `records` (batches of 500), and the positions of the
/// records it rejected.
pub(crate) fn replayed(records: &[SourceRecord]) -> (ViewSet, BTreeSet<(Topic, Position)>) {
    let output = replay(batches(records, 500), &ReplayConfig::default()).unwrap();
    let rejected = output
        .rejected
        .iter()
        .map(|(r, _)| (r.topic, r.position))
        .collect();
    (output.views, rejected)
}

/// Panics with the first differences when `actual` and `expected` differ.
pub(crate) fn assert_same_views(actual: &ViewSet, expected: &ViewSet, what: &str) {
    let differences = diff_views(actual, expected);
    assert!(
        differences.is_empty(),
        "{what}: {} differences, first: {:?}",
        differences.len(),
        differences.iter().take(3).collect::<Vec<_>>()
    );
}
