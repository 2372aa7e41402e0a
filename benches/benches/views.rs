//! Cost of maintaining every view per event: replays of a generated stream through the
//! dataflows (dedup, every domain, timelines, health) on one worker, in epochs of 1k and 10k
//! records (criterion). Run: `cargo bench -p pulso-benches --bench views`.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pulso_benches::sample_records;
use pulso_pipeline::{replay, ReplayConfig};

fn all_views(c: &mut Criterion) {
    let records = sample_records(20_000, 3);
    let mut group = c.benchmark_group("all_views");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    for epoch in [1_000usize, 10_000] {
        let epochs: Vec<Vec<_>> = records.chunks(epoch).map(|c| c.to_vec()).collect();
        group.bench_function(format!("epochs_of_{epoch}"), |b| {
            b.iter_batched(
                || epochs.clone(),
                |epochs| replay(epochs, &ReplayConfig::default()).unwrap().changes,
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, all_views);
criterion_main!(benches);
