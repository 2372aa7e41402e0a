//! Shared helpers of Pulso's benchmarks: realistic sample records from the built-in generator.
//!
//! Run the micro-benchmarks with `cargo bench -p pulso-benches`; they print criterion's
//! per-iteration figures.

use pulso_connectors::generator::{generate, GeneratorConfig, Numbering};
use pulso_events::{SourceRecord, Topic};

/// `n` generated records (roughly), as source records numbered per topic.
pub fn sample_records(n: u64, seed: u64) -> Vec<SourceRecord> {
    let mut numbering = Numbering::default();
    generate(&GeneratorConfig {
        seed,
        scale: n,
        ..GeneratorConfig::default()
    })
    .into_iter()
    .map(|(topic, value)| numbering.record(topic, value))
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
