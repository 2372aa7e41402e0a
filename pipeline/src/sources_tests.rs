//! The archiving source on a failing disk: once the archive cannot be written, no progress
//! record or offset acknowledgement goes past the failed epoch, the source reads nothing
//! more, and the failure is reported as fatal. And with a dead-letter topic: the progress
//! record of an epoch with rejections waits until its dead letters are delivered, and is
//! never written when the DLQ fails for good. An epoch processed after the next one was read
//! records its own read positions, not the later ones.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::record_source::{EpochRead, RecordSource};
use pulso_dataflows::Epoch;
use pulso_events::{Position, RejectReason, SourceRecord, Topic};
use pulso_queries::ViewStore;
use pulso_sinks::archive::{read_progress, ArchiveWriter};

use crate::dead_letters::DlqDelivered;
use crate::durability::Durability;
use crate::sources::{ArchivingSource, Positioned};

/// A source of one record per poll that counts its acknowledgements.
#[derive(Default)]
struct Counting {
    offset: i64,
    processed: Vec<Epoch>,
}

impl RecordSource for Counting {
    fn poll(&mut self, _max: usize, _timeout: Duration) -> Option<Vec<SourceRecord>> {
        self.offset += 1;
        Some(vec![record(self.offset - 1)])
    }

    fn epoch_processed(&mut self, epoch: Epoch) {
        self.processed.push(epoch);
    }
}

impl Positioned for Counting {
    fn next_offsets(&self) -> BTreeMap<(String, i32), i64> {
        BTreeMap::from([(("orders.events".to_owned(), 0), self.offset)])
    }
}

fn record(offset: i64) -> SourceRecord {
    SourceRecord::new(
        Topic::Orders,
        Position {
            partition: 0,
            offset,
        },
        None,
        b"{}".to_vec(),
    )
}

fn read_of(records: Vec<SourceRecord>) -> EpochRead {
    EpochRead {
        accepted: records
            .into_iter()
            .map(|r| (r, 1_705_314_600_000_000))
            .collect(),
        rejected: Vec::new(),
    }
}

#[test]
fn a_failing_archive_stops_progress_and_reading() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let writer = ArchiveWriter::new(&root, 0).unwrap();
    let durability = Durability::new(Arc::new(ViewStore::new()));
    let mut source = ArchivingSource::new(
        Counting::default(),
        writer,
        0,
        "",
        &Default::default(),
        durability.clone(),
    );
    // Epoch 0 is archived, its progress recorded and acknowledged.
    let records = source.poll(10, Duration::ZERO).unwrap();
    source.epoch_read(0, &mut read_of(records));
    source.epoch_processed(0);
    assert_eq!(read_progress(&root).unwrap().last_epoch(), Some(0));
    assert_eq!(durability.failure(), None);

    // The archive's folder becomes a file: every write of epoch 1 fails.
    std::fs::remove_dir_all(&root).unwrap();
    std::fs::write(&root, b"not a folder").unwrap();
    let records = source.poll(10, Duration::ZERO).unwrap();
    source.epoch_read(1, &mut read_of(records));
    source.epoch_processed(1);
    let (reason, fatal) = durability.failure().expect("the failure is reported");
    assert!(fatal, "{reason}");
    assert!(reason.contains("epoch 1 of the raw archive"), "{reason}");
    // Nothing more is read, and epoch 1 is never acknowledged.
    assert!(source.poll(10, Duration::ZERO).is_none());
    std::fs::remove_file(&root).unwrap();
    assert!(read_progress(&root).unwrap().last_epoch().is_none());
}

#[test]
fn an_epoch_processed_after_the_next_was_read_records_its_own_positions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let writer = ArchiveWriter::new(&root, 0).unwrap();
    let durability = Durability::new(Arc::new(ViewStore::new()));
    let mut source = ArchivingSource::new(
        Counting::default(),
        writer,
        0,
        "",
        &Default::default(),
        durability.clone(),
    );
    let next_offset = |root: &std::path::Path| {
        let progress = read_progress(root).unwrap();
        let key = ("orders.events".to_owned(), 0);
        (progress.last_epoch(), progress.offsets[&key].next_offset)
    };
    // Epochs 0 and 1 are read (offsets 0 and 1) before epoch 0 is processed.
    let records = source.poll(10, Duration::ZERO).unwrap();
    source.epoch_read(0, &mut read_of(records));
    let records = source.poll(10, Duration::ZERO).unwrap();
    source.epoch_read(1, &mut read_of(records));
    source.epoch_processed(0);
    assert_eq!(
        next_offset(&root),
        (Some(0), 1),
        "epoch 0 ends before offset 1"
    );
    assert_eq!(source.inner().processed, vec![0]);
    // Processing epoch 2 writes epoch 1's record, then epoch 2's, in order.
    let records = source.poll(10, Duration::ZERO).unwrap();
    source.epoch_read(2, &mut read_of(records));
    source.epoch_processed(2);
    assert_eq!(next_offset(&root), (Some(2), 3));
    assert_eq!(source.inner().processed, vec![0, 1, 2]);
    assert_eq!(durability.failure(), None);
}

/// An archiving source over [`Counting`] under `root`, waiting for `delivered`.
fn gated(
    root: &std::path::Path,
    durability: &Durability,
    delivered: &DlqDelivered,
) -> ArchivingSource<Counting> {
    let writer = ArchiveWriter::new(root, 0).unwrap();
    ArchivingSource::new(
        Counting::default(),
        writer,
        0,
        "",
        &Default::default(),
        durability.clone(),
    )
    .with_dead_letters(delivered.clone())
}

/// One accepted record and one rejected record.
fn read_with_rejection(source: &mut ArchivingSource<Counting>) -> EpochRead {
    let accepted = source.poll(10, Duration::ZERO).unwrap();
    let rejected = source.poll(10, Duration::ZERO).unwrap();
    let mut read = read_of(accepted);
    read.rejected = rejected
        .iter()
        .map(|r| (r.topic, r.position, RejectReason::MalformedJson))
        .collect();
    read
}

#[test]
fn a_progress_record_waits_for_the_epochs_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let durability = Durability::new(Arc::new(ViewStore::new()));
    let delivered = DlqDelivered::default();
    let mut source = gated(&root, &durability, &delivered);
    // Epoch 0 without rejections: no wait.
    let records = source.poll(10, Duration::ZERO).unwrap();
    source.epoch_read(0, &mut read_of(records));
    source.epoch_processed(0);
    assert_eq!(read_progress(&root).unwrap().last_epoch(), Some(0));

    // Epoch 1 rejected a record: its progress waits for the consumer's delivery.
    let mut read = read_with_rejection(&mut source);
    source.epoch_read(1, &mut read);
    let waiting = std::thread::spawn(move || {
        source.epoch_processed(1);
        source
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiting.is_finished(), "the progress record waits");
    assert_eq!(read_progress(&root).unwrap().last_epoch(), Some(0));
    delivered.delivered_through(1);
    let source = waiting.join().unwrap();
    let progress = read_progress(&root).unwrap();
    assert_eq!(progress.last_epoch(), Some(1));
    assert_eq!(progress.rejected().values().sum::<u64>(), 1);
    assert_eq!(source.inner().processed, vec![0, 1]);
}

#[test]
fn no_progress_record_passes_dead_letters_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let durability = Durability::new(Arc::new(ViewStore::new()));
    let delivered = DlqDelivered::default();
    let mut source = gated(&root, &durability, &delivered);
    let mut read = read_with_rejection(&mut source);
    source.epoch_read(0, &mut read);
    // The consumer gave up on the DLQ: the epoch is never acknowledged.
    durability.report(
        "flushing the dead-letter topic (epoch 0) failed 6 times".into(),
        true,
    );
    source.epoch_processed(0);
    assert!(read_progress(&root).unwrap().last_epoch().is_none());
    assert!(
        source.poll(10, Duration::ZERO).is_none(),
        "reads nothing more"
    );
    assert!(source.inner().processed.is_empty());
}
