//! The recovery protocol, in process: a run archives what it reads and writes a progress
//! record per epoch; after a crash (one more epoch archived, its progress record never
//! written) the restarted run replays its share of the archive, re-counts the rejections of
//! the progress record, skips the archived records the source hands out again, and ends with
//! the views, archive and progress of one uninterrupted pass.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{assert_same_views, batches, replayed, run, stream};
use pulso_events::SourceRecord;
use pulso_pipeline::batch::Archive;
use pulso_pipeline::durability::Durability;
use pulso_pipeline::recovery::{recover, RecoveringSource};
use pulso_pipeline::sources::{ArchivingSource, MemorySource};
use pulso_queries::ViewStore;
use pulso_sinks::archive::{
    read_progress, ArchiveRecord, ArchiveWriter, PartitionsProgress, Progress,
};

const MALFORMED: &[u8] = b"{not json";

/// The next offset of every (topic, partition) among `records`.
fn next_offsets(records: &[SourceRecord]) -> BTreeMap<(String, i32), i64> {
    let mut next = BTreeMap::new();
    for r in records {
        let key = (r.topic.name().to_string(), r.position.partition);
        let at = next.entry(key).or_insert(0);
        *at = (*at).max(r.position.offset + 1);
    }
    next
}

/// The next offset of every (topic, partition) a progress record holds.
fn durable_offsets(progress: &Progress) -> BTreeMap<(String, i32), i64> {
    progress
        .offsets
        .iter()
        .map(|(key, p)| (key.clone(), p.next_offset))
        .collect()
}

#[test]
fn a_restart_resumes_from_the_archive_and_ends_as_one_pass() {
    let records = stream(3_000, 150);
    let half = records.len() / 2;
    let (first, second) = records.split_at(half);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");

    // Run 1 reads the first half, archiving each epoch and its progress record.
    let store = Arc::new(ViewStore::new());
    let durability = Durability::new(Arc::clone(&store));
    let source = ArchivingSource::new(
        MemorySource::new(batches(first, 100)),
        ArchiveWriter::new(&archive, 0).unwrap(),
        0,
        "",
        &PartitionsProgress::new(),
        durability.clone(),
    );
    run(Box::new(source), &store, &dir.path().join("run1")).unwrap();
    assert_eq!(durability.failure(), None);
    assert_same_views(&store.snapshot(), &replayed(first).0, "run 1");
    let progress = read_progress(&archive).unwrap();
    assert_eq!(
        durable_offsets(&progress),
        next_offsets(first),
        "run 1's last progress record"
    );

    // The crash: the next 40 accepted records archived as one more epoch, whose progress
    // record was never written.
    let (expected, rejected_all) = replayed(&records);
    let accepted = |r: &&SourceRecord| !rejected_all.contains(&(r.topic, r.position));
    let crashed: Vec<&SourceRecord> = second.iter().take(60).filter(accepted).take(40).collect();
    let last = progress.last_epoch().unwrap();
    let tail: Vec<ArchiveRecord> = crashed
        .iter()
        .map(|r| ArchiveRecord {
            topic: r.topic,
            position: r.position,
            key: None,
            value: r.value.clone(),
            timestamp: 1_705_276_800_000_000,
            epoch: last + 1,
            headers: Vec::new(),
        })
        .collect();
    let mut writer = ArchiveWriter::new(&archive, 0).unwrap();
    writer.write_epoch(last + 1, &tail).unwrap();

    // Run 2: what the archive says, for the one worker of the one process.
    let mut recovered = recover(&archive, 0..1, 1, "").unwrap();
    assert_eq!(recovered.resume, next_offsets(first));
    assert_eq!(recovered.epoch_base, last + 2);
    assert_eq!(recovered.tail.len(), crashed.len());
    let backlog = recovered.backlog.pop().unwrap();
    let accepted_first = first.iter().filter(accepted).count();
    assert_eq!(backlog.len(), accepted_first + crashed.len());
    let rejected = recovered.rejected.pop().unwrap();
    let restored: u64 = rejected.iter().map(|(_, _, n)| n).sum();
    let malformed_first = first.iter().filter(|r| r.value == MALFORMED).count();
    assert!(malformed_first >= 5);
    assert_eq!(
        restored as usize,
        first.len() - accepted_first,
        "{rejected:?}"
    );

    // The source hands out everything from the resume offsets again, the crashed epoch's
    // records included.
    let store = Arc::new(ViewStore::new());
    let durability = Durability::new(Arc::clone(&store));
    let source = RecoveringSource::new(
        backlog,
        recovered.tail,
        rejected,
        ArchivingSource::new(
            MemorySource::new(batches(second, 100)),
            ArchiveWriter::new(&archive, 0).unwrap(),
            recovered.epoch_base,
            "",
            &recovered.progress,
            durability.clone(),
        ),
    );
    run(Box::new(source), &store, &dir.path().join("run2")).unwrap();
    assert_eq!(durability.failure(), None);
    assert_same_views(&store.snapshot(), &expected, "the restarted run");

    // The archive and its progress record now stand for the whole stream: recomputed from
    // them (as `pulso verify` does), the views are the same.
    let progress = read_progress(&archive).unwrap();
    assert_eq!(durable_offsets(&progress), next_offsets(&records));
    let whole = Archive::read(&archive, None, None).unwrap();
    assert_eq!(whole.records(), records.iter().filter(accepted).count());
    let (recomputed, _) = whole
        .recompute(1, (Default::default(), Default::default()), None)
        .unwrap();
    assert_same_views(&recomputed, &expected, "recomputed from the archive");
}
