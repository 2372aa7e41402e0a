//! Recovery of `pulso run --brokers`: the state is rebuilt by replaying the raw archive
//! through the same dataflows before Kafka is read again, from right after the archived
//! offsets. Archived records are not archived a second time, and the restarted run numbers
//! its archive epochs after the last durable one, so no file of an earlier run is replaced.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use pulso_dataflows::live::RecordSource;
use pulso_dataflows::Epoch;
use pulso_events::{Position, SourceRecord, Topic};
use pulso_sinks::parquet::{read_archive, read_progress};

/// What a restart resumes from.
pub struct Recovered {
    /// Archived records, for worker `i % workers`.
    pub backlog: Vec<Vec<SourceRecord>>,
    /// The next offset per (Kafka topic name, partition).
    pub resume: BTreeMap<(String, i32), i64>,
    /// The first archive epoch this run may use.
    pub epoch_base: u64,
}

/// Reads the archive under `root`: its records (split over `workers`), where to resume each
/// partition (after both the progress record and the last archived offset), and the next
/// free archive epoch. `topic_prefix` maps topics to their Kafka names.
pub fn recover(root: &Path, workers: usize, topic_prefix: &str) -> Result<Recovered> {
    let progress = read_progress(root)?;
    let archived = read_archive(root, None, None)?;
    let mut resume = progress.offsets.clone();
    let mut epoch_base = progress.last_epoch().map_or(0, |e| e + 1);
    let mut backlog = vec![Vec::new(); workers.max(1)];
    for (i, record) in archived.into_iter().enumerate() {
        let key = (
            format!("{topic_prefix}{}", record.topic.name()),
            record.position.partition,
        );
        let next = resume.entry(key).or_insert(0);
        *next = (*next).max(record.position.offset + 1);
        epoch_base = epoch_base.max(record.epoch + 1);
        let source = SourceRecord {
            topic: record.topic,
            position: record.position,
            key: record.key,
            value: record.value,
        };
        let n = backlog.len();
        backlog[i % n].push(source);
    }
    Ok(Recovered {
        backlog,
        resume,
        epoch_base,
    })
}

/// Feeds a worker's archived records first, then its live source; archived records are not
/// passed on to the live source's `epoch_read` (they are archived already).
pub struct RecoveringSource<S> {
    backlog: VecDeque<SourceRecord>,
    replayed: HashSet<(Topic, Position)>,
    inner: S,
}

impl<S: RecordSource> RecoveringSource<S> {
    /// Replays `backlog`, then reads `inner`.
    pub fn new(backlog: Vec<SourceRecord>, inner: S) -> Self {
        let replayed = backlog.iter().map(|r| (r.topic, r.position)).collect();
        RecoveringSource {
            backlog: backlog.into(),
            replayed,
            inner,
        }
    }
}

impl<S: RecordSource> RecordSource for RecoveringSource<S> {
    fn poll(&mut self, max: usize, timeout: Duration) -> Option<Vec<SourceRecord>> {
        if self.backlog.is_empty() {
            return self.inner.poll(max, timeout);
        }
        let n = max.min(self.backlog.len());
        Some(self.backlog.drain(..n).collect())
    }

    fn epoch_read(&mut self, epoch: Epoch, accepted: &[(SourceRecord, i64)]) {
        if self.replayed.is_empty() {
            return self.inner.epoch_read(epoch, accepted);
        }
        let fresh: Vec<(SourceRecord, i64)> = accepted
            .iter()
            .filter(|(r, _)| !self.replayed.contains(&(r.topic, r.position)))
            .cloned()
            .collect();
        if self.backlog.is_empty() {
            // Every archived record has gone through an epoch by now.
            self.replayed.clear();
        }
        self.inner.epoch_read(epoch, &fresh);
    }

    fn epoch_processed(&mut self, epoch: Epoch) {
        self.inner.epoch_processed(epoch);
    }
}
