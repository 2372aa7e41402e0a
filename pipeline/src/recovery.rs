//! Recovery of `pulso run --brokers`: the state is rebuilt by replaying the raw archive
//! through the same dataflows, and the records rejected before the restart are re-counted
//! from the progress record, before Kafka is read again from the progress record's offsets.
//! Archived records are neither archived nor ingested a second time (an epoch archived just
//! before a crash, whose progress was not yet written, is read again from Kafka and its
//! archived records skipped), and the restarted run numbers its archive epochs after the last
//! durable one, so no file of an earlier run is replaced.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use crate::record_source::{EpochRead, RecordSource};
use pulso_connectors::kafka::owner;
use pulso_dataflows::Epoch;
use pulso_events::{Position, RejectReason, SourceRecord, Topic};
use pulso_sinks::archive::{read_archive, read_progress, PartitionsProgress, Progress};
use pulso_sinks::SinkError;

/// What a restart resumes from, for the workers of this process.
pub struct Recovered {
    /// Archived records of the partitions each local worker owns (index: local worker).
    pub backlog: Vec<Vec<SourceRecord>>,
    /// Archived records at or after their partition's resume offset: Kafka hands them out
    /// again, and they must be skipped.
    pub tail: HashSet<(Topic, Position)>,
    /// Rejected records before the resume offsets of the partitions each local worker owns,
    /// per (topic, reason) (index: local worker).
    pub rejected: Vec<Vec<(Topic, RejectReason, u64)>>,
    /// Every (Kafka topic name, partition) of the progress record: resume offsets and the
    /// rejected counts below them.
    pub progress: PartitionsProgress,
    /// The next offset per (Kafka topic name, partition).
    pub resume: BTreeMap<(String, i32), i64>,
    /// The first archive epoch this run may use.
    pub epoch_base: u64,
}

/// Reads the archive under `root` for the local `workers` (global indices) of `peers`:
/// the archived records and rejected counts of the partitions each owns under the stable
/// assignment rule (so with several processes every partition is restored exactly once, from
/// a shared archive or from each process's own), where to resume each partition (the progress
/// record), and the next free archive epoch. `topic_prefix` maps topics to their Kafka names.
pub fn recover(
    root: &Path,
    workers: Range<usize>,
    peers: usize,
    topic_prefix: &str,
) -> Result<Recovered, SinkError> {
    let progress = read_progress(root)?;
    let archived = read_archive(root, None, None)?;
    let local = |(name, partition): &(String, i32)| {
        let worker = owner(name, *partition, peers);
        workers.contains(&worker).then(|| worker - workers.start)
    };
    let mut resume: BTreeMap<(String, i32), i64> = progress
        .offsets
        .iter()
        .map(|(key, p)| (key.clone(), p.next_offset))
        .collect();
    let mut epoch_base = progress.last_epoch().map_or(0, |e| e + 1);
    let mut backlog = vec![Vec::new(); workers.len().max(1)];
    let mut tail = HashSet::new();
    for record in archived {
        epoch_base = epoch_base.max(record.epoch + 1);
        let key = (
            format!("{topic_prefix}{}", record.topic.name()),
            record.position.partition,
        );
        let Some(worker) = local(&key) else {
            continue;
        };
        // A partition archived before its first progress record is read again from its
        // start, so that its rejected records are counted.
        if record.position.offset >= *resume.entry(key).or_insert(0) {
            tail.insert((record.topic, record.position));
        }
        backlog[worker].push(record.into_source());
    }
    // Each local worker re-counts the rejected records of the partitions it owns.
    let mut owned = vec![Progress::default(); backlog.len()];
    for (key, partition) in &progress.offsets {
        if let Some(worker) = local(key) {
            owned[worker].offsets.insert(key.clone(), partition.clone());
        }
    }
    let rejected = owned.iter().map(restored_rejections).collect();
    Ok(Recovered {
        backlog,
        tail,
        rejected,
        progress: progress.offsets,
        resume,
        epoch_base,
    })
}

/// The rejected counts of an archive's progress record, per (topic, reason). A Kafka topic
/// name may carry a `--topic-prefix`, so it is matched by its ending (no topic name ends
/// another).
pub fn restored_rejections(progress: &Progress) -> Vec<(Topic, RejectReason, u64)> {
    let mut counts: BTreeMap<(Topic, RejectReason), u64> = BTreeMap::new();
    for ((name, reason), n) in progress.rejected() {
        match Topic::ALL.into_iter().find(|t| name.ends_with(t.name())) {
            Some(topic) => *counts.entry((topic, reason)).or_insert(0) += n,
            None => tracing::warn!(topic = %name, "progress record names an unknown topic"),
        }
    }
    counts.into_iter().map(|((t, r), n)| (t, r, n)).collect()
}

/// Feeds a worker's archived records first, then its live source without the archived
/// records it hands out again; archived records are not passed on to the live source's
/// `epoch_read` (they are archived already).
pub struct RecoveringSource<S> {
    backlog: VecDeque<SourceRecord>,
    replayed: HashSet<(Topic, Position)>,
    tail: HashSet<(Topic, Position)>,
    rejected: Vec<(Topic, RejectReason, u64)>,
    inner: S,
}

impl<S: RecordSource> RecoveringSource<S> {
    /// Replays `backlog` and restores the `rejected` counts, then reads `inner`, skipping the
    /// records of `tail`.
    pub fn new(
        backlog: Vec<SourceRecord>,
        tail: HashSet<(Topic, Position)>,
        rejected: Vec<(Topic, RejectReason, u64)>,
        inner: S,
    ) -> Self {
        let replayed = backlog.iter().map(|r| (r.topic, r.position)).collect();
        RecoveringSource {
            backlog: backlog.into(),
            replayed,
            tail,
            rejected,
            inner,
        }
    }
}

impl<S: RecordSource> RecordSource for RecoveringSource<S> {
    fn poll(&mut self, max: usize, timeout: Duration) -> Option<Vec<SourceRecord>> {
        if self.backlog.is_empty() {
            let mut records = self.inner.poll(max, timeout)?;
            if !self.tail.is_empty() {
                records.retain(|r| !self.tail.remove(&(r.topic, r.position)));
            }
            return Some(records);
        }
        let n = max.min(self.backlog.len());
        Some(self.backlog.drain(..n).collect())
    }

    fn restored_rejections(&mut self) -> Vec<(Topic, RejectReason, u64)> {
        std::mem::take(&mut self.rejected)
    }

    fn behind(&self) -> bool {
        // The archive's records are all there to be read at once.
        !self.backlog.is_empty() || self.inner.behind()
    }

    fn epoch_read(&mut self, epoch: Epoch, read: &mut EpochRead) {
        if !self.replayed.is_empty() {
            // The records replayed from the archive are there already.
            read.accepted
                .retain(|(r, _)| !self.replayed.contains(&(r.topic, r.position)));
            if self.backlog.is_empty() {
                // Every archived record has gone through an epoch by now.
                self.replayed.clear();
            }
        }
        self.inner.epoch_read(epoch, read);
    }

    fn epoch_processed(&mut self, epoch: Epoch) {
        self.inner.epoch_processed(epoch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulso_sinks::archive::{ArchiveRecord, ArchiveWriter, PartitionProgress};

    /// A source handing out `records` once.
    struct Fixed(Option<Vec<SourceRecord>>);

    impl RecordSource for Fixed {
        fn poll(&mut self, _max: usize, _timeout: Duration) -> Option<Vec<SourceRecord>> {
            self.0.take()
        }
    }

    fn record(offset: i64) -> SourceRecord {
        SourceRecord::new(
            Topic::Orders,
            Position {
                partition: 1,
                offset,
            },
            None,
            format!("{{\"n\":{offset}}}").into_bytes(),
        )
    }

    #[test]
    fn an_epoch_archived_after_its_progress_is_skipped_when_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::new(dir.path(), 0).unwrap();
        // Epoch 0: offsets 0..4 archived, progress at 5 with two rejected records (0..5 read).
        // Epoch 1: offsets 6 and 8 archived, then a crash before its progress was written.
        let archived = |offsets: &[i64], epoch: u64| -> Vec<ArchiveRecord> {
            offsets
                .iter()
                .map(|&o| {
                    let r = record(o);
                    ArchiveRecord {
                        topic: r.topic,
                        position: r.position,
                        key: None,
                        value: r.value,
                        timestamp: 1_700_000_000_000_000,
                        epoch,
                        headers: Vec::new(),
                    }
                })
                .collect()
        };
        writer.write_epoch(0, &archived(&[0, 2, 4], 0)).unwrap();
        let mut progress = PartitionProgress::at(5);
        progress.rejected.insert(RejectReason::MalformedJson, 2);
        let partitions = BTreeMap::from([(("staging.orders.events".to_string(), 1), progress)]);
        writer.write_progress(0, &partitions).unwrap();
        writer.write_epoch(1, &archived(&[6, 8], 1)).unwrap();

        let recovered = recover(dir.path(), 0..1, 1, "staging.").unwrap();
        assert_eq!(
            recovered.resume,
            BTreeMap::from([(("staging.orders.events".to_string(), 1), 5)])
        );
        assert_eq!(recovered.epoch_base, 2);
        assert_eq!(
            recovered.rejected,
            vec![vec![(Topic::Orders, RejectReason::MalformedJson, 2)]]
        );
        let rejected = recovered.rejected.into_iter().next().unwrap();
        let backlog = recovered.backlog.into_iter().next().unwrap();
        assert_eq!(backlog.len(), 5);
        // Kafka hands out 5..=9 again: the archived 6 and 8 are skipped.
        let live = Fixed(Some((5..10).map(record).collect()));
        let mut source = RecoveringSource::new(backlog, recovered.tail, rejected, live);
        assert_eq!(source.restored_rejections().len(), 1);
        assert!(source.restored_rejections().is_empty(), "restored once");
        let mut read = Vec::new();
        while let Some(records) = source.poll(100, Duration::ZERO) {
            read.extend(records.into_iter().map(|r| r.position.offset));
        }
        assert_eq!(read, vec![0, 2, 4, 6, 8, 5, 7, 9]);
    }

    #[test]
    fn processes_restore_disjoint_shares_of_a_shared_archive() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::new(dir.path(), 0).unwrap();
        let records: Vec<ArchiveRecord> = (0..60)
            .map(|i| ArchiveRecord {
                topic: Topic::ALL[i % Topic::ALL.len()],
                position: Position {
                    partition: (i % 3) as i32,
                    offset: i as i64,
                },
                key: None,
                value: b"{}".to_vec(),
                timestamp: 1_700_000_000_000_000,
                epoch: 0,
                headers: Vec::new(),
            })
            .collect();
        writer.write_epoch(0, &records).unwrap();
        let mut counts = PartitionProgress::at(100);
        counts.rejected.insert(RejectReason::TooLarge, 1);
        let mut partitions = PartitionsProgress::new();
        for topic in Topic::ALL {
            for partition in 0..3 {
                partitions.insert((topic.name().to_string(), partition), counts.clone());
            }
        }
        writer.write_progress(0, &partitions).unwrap();
        // Two processes of two workers each: every record and every partition's rejected
        // count is restored by exactly one worker, its partition's owner.
        let mut restored = Vec::new();
        let mut rejected = 0;
        for process in 0..2 {
            let workers = process * 2..process * 2 + 2;
            let recovered = recover(dir.path(), workers.clone(), 4, "").unwrap();
            for (at, backlog) in recovered.backlog.iter().enumerate() {
                for r in backlog {
                    assert_eq!(
                        owner(r.topic.name(), r.position.partition, 4),
                        workers.start + at
                    );
                    restored.push((r.topic, r.position));
                }
            }
            rejected += recovered
                .rejected
                .iter()
                .flatten()
                .map(|(_, _, n)| n)
                .sum::<u64>();
        }
        restored.sort();
        let mut all: Vec<_> = records.iter().map(|r| (r.topic, r.position)).collect();
        all.sort();
        assert_eq!(restored, all);
        assert_eq!(rejected, partitions.len() as u64);
    }
}
