//! Decode + validate throughput per topic (criterion). Run: `cargo bench -p pulso-benches --bench decode`.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pulso_benches::{records_of, sample_records};
use pulso_events::{decode, Topic};

fn decode_per_topic(c: &mut Criterion) {
    let records = sample_records(50_000, 7);
    let mut group = c.benchmark_group("decode");
    for topic in Topic::ALL {
        let sample = records_of(&records, topic);
        if sample.is_empty() {
            continue;
        }
        group.throughput(Throughput::Elements(sample.len() as u64));
        group.bench_function(topic.name(), |b| {
            b.iter(|| {
                sample
                    .iter()
                    .filter(|r| decode(r.topic, &r.value, r.position).is_ok())
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode_per_topic);
criterion_main!(benches);
