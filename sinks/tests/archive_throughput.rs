//! Raw archive write and read throughput over ~1M generated records (ignored: run with
//! `cargo test --release -p pulso-sinks --test archive_throughput -- --ignored --nocapture`).
//! `PULSO_BENCH_SCALE` sets the number of generated records (default 1,000,000),
//! `PULSO_BENCH_EPOCH` the records per epoch (default 10,000), `PULSO_BENCH_DIR` keeps the
//! archive there instead of a temporary directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_events::{decode, Position, Topic};
use pulso_sinks::archive::{read_archive, ArchiveReader, ArchiveRecord, ArchiveWriter};

const PARTITIONS: i32 = 4;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bytes of every file under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                disk_bytes(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

#[test]
#[ignore = "measurement; run with --release --ignored --nocapture"]
fn archive_throughput() {
    let scale = env_number("PULSO_BENCH_SCALE", 1_000_000);
    let per_epoch = env_number("PULSO_BENCH_EPOCH", 10_000) as usize;
    let started = Instant::now();
    let generated = generate(&GeneratorConfig::new(42, scale));
    let mut next_offset: BTreeMap<(Topic, i32), i64> = BTreeMap::new();
    let mut records = Vec::with_capacity(generated.len());
    for (i, (topic, value)) in generated.into_iter().enumerate() {
        let partition = (i as i32) % PARTITIONS;
        let offset = next_offset.entry((topic, partition)).or_default();
        let position = Position {
            partition,
            offset: *offset,
        };
        *offset += 1;
        // Only accepted records are archived.
        let Ok(event) = decode(topic, &value, position) else {
            continue;
        };
        records.push(ArchiveRecord {
            topic,
            position,
            key: Some(event.event_id.into_bytes()),
            value,
            timestamp: event.timestamp,
            epoch: 0,
            headers: Vec::new(),
        });
    }
    let payload: u64 = records
        .iter()
        .map(|r| (r.value.len() + r.key.as_ref().map_or(0, Vec::len)) as u64)
        .sum();
    println!(
        "generated {} accepted records ({:.1} MB of key+value) in {:.1?}",
        records.len(),
        payload as f64 / 1e6,
        started.elapsed()
    );

    let temp = tempfile::tempdir().unwrap();
    let root = std::env::var_os("PULSO_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().join("archive"));
    let mut writer = ArchiveWriter::new(&root, 0).unwrap();
    let started = Instant::now();
    let mut files = 0;
    for (epoch, chunk) in records.chunks(per_epoch).enumerate() {
        files += writer.write_epoch(epoch as u64 + 1, chunk).unwrap().len();
    }
    let write = started.elapsed().as_secs_f64();
    let on_disk = disk_bytes(&root);
    let n = records.len() as f64;
    println!(
        "write: {} records, {} epochs of {per_epoch}, {files} files in {write:.2} s: \
         {:.0} events/s, {:.1} MB/s of key+value, {:.1} MB/s to disk; \
         {:.1} MB on disk = {:.1} bytes/event (key+value {:.1} bytes/event, ratio {:.2})",
        records.len(),
        records.len().div_ceil(per_epoch),
        n / write,
        payload as f64 / 1e6 / write,
        on_disk as f64 / 1e6 / write,
        on_disk as f64 / 1e6,
        on_disk as f64 / n,
        payload as f64 / n,
        payload as f64 / on_disk as f64,
    );

    let started = Instant::now();
    let mut streamed = 0;
    for batch in ArchiveReader::open(&root, None, None).unwrap() {
        streamed += batch.unwrap().len();
    }
    let stream = started.elapsed().as_secs_f64();
    println!(
        "stream read: {streamed} records in {stream:.2} s: {:.0} events/s",
        streamed as f64 / stream
    );
    let started = Instant::now();
    let read = read_archive(&root, None, None).unwrap();
    let all = started.elapsed().as_secs_f64();
    println!(
        "read_archive (sorted, deduplicated): {} records in {all:.2} s: {:.0} events/s",
        read.len(),
        read.len() as f64 / all
    );
    assert_eq!(read.len(), records.len());
    assert_eq!(streamed, records.len());
}
