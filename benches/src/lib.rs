//! Shared helpers of Pulso's benchmarks: realistic sample records from the built-in generator.
//!
//! Run the micro-benchmarks with `cargo bench -p pulso-benches`; they print criterion's
//! per-iteration figures.

use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_events::{Position, SourceRecord, Topic};

/// `n` generated records (roughly), as source records numbered per topic.
pub fn sample_records(n: u64, seed: u64) -> Vec<SourceRecord> {
    let mut offsets = std::collections::HashMap::new();
    generate(&GeneratorConfig {
        seed,
        scale: n,
        ..GeneratorConfig::default()
    })
    .into_iter()
    .map(|(topic, value)| {
        let offset = offsets.entry(topic).or_insert(0i64);
        let position = Position {
            partition: 0,
            offset: *offset,
        };
        *offset += 1;
        SourceRecord {
            topic,
            position,
            key: None,
            value,
            tombstone: false,
            headers: Vec::new(),
        }
    })
    .collect()
}

/// The sample records of one topic.
pub fn records_of(records: &[SourceRecord], topic: Topic) -> Vec<SourceRecord> {
    records
        .iter()
        .filter(|r| r.topic == topic)
        .cloned()
        .collect()
}
