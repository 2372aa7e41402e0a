//! Record sources of the live job: the paced built-in generator, Kafka (one consumer per
//! worker, partitions assigned by the stable rule), and a wrapper that writes each epoch's
//! accepted records to the raw Parquet archive, and its progress record once the epoch's
//! dead letters are delivered, before the epoch's offsets are acknowledged.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::record_source::{EpochRead, RecordSource};
use pulso_connectors::generator::{Generator, GeneratorConfig, Numbering};
use pulso_connectors::kafka::{Alignment, KafkaConfig, KafkaSource, SharedBounds};
use pulso_dataflows::Epoch;
use pulso_events::retention::Horizon;
use pulso_events::{RejectReason, SourceRecord};
use pulso_sinks::archive::{write_progress, ArchiveWriter, PartitionProgress, PartitionsProgress};

use crate::archive_thread::ArchiveThread;
use crate::dead_letters::DlqDelivered;
use crate::durability::Durability;
use crate::positions::ConsumerPositions;
use crate::read_lag::{now_millis, ReadLag};
use crate::sla_count::SlaViolations;

/// What the sources report of their reads for the live status: the read-model lag's inputs
/// and the `sla.violados` per department (a clone is another handle).
#[derive(Clone, Debug, Default)]
pub struct ReadSignals {
    /// The read-model lag's inputs.
    pub lag: ReadLag,
    /// `sla.violados` read per department.
    pub violations: SlaViolations,
}

impl ReadSignals {
    /// Counts what an epoch accepted.
    fn epoch_read(&self, read: &EpochRead) {
        self.violations
            .count(read.accepted.iter().map(|(record, _)| record));
    }
}

/// The pseudo-partition of the built-in generator in the read-model lag.
const GENERATOR_PARTITION: (&str, i32) = ("generator", 0);

/// The built-in generator, paced at `rate` records per second (worker 0 only).
pub struct GeneratorSource {
    generator: Generator,
    rate: f64,
    started: Instant,
    emitted: u64,
    numbering: Numbering,
    /// The wall clock at `started`, in Unix milliseconds.
    started_ms: i64,
    /// The epoch being read.
    epoch: Epoch,
    signals: Option<ReadSignals>,
}

impl GeneratorSource {
    /// A generator source for `config`, emitting `rate` records per second.
    pub fn new(config: &GeneratorConfig, rate: f64) -> Self {
        GeneratorSource {
            generator: Generator::new(config),
            rate: rate.max(1.0),
            started: Instant::now(),
            emitted: 0,
            numbering: Numbering::default(),
            started_ms: now_millis(),
            epoch: 0,
            signals: None,
        }
    }

    /// Reports reads to `signals`: a record's time is the instant its pacing made it due.
    pub fn with_signals(mut self, signals: ReadSignals) -> Self {
        self.signals = Some(signals);
        self
    }

    /// The instant record `index` (from 0) became due, in Unix milliseconds.
    fn due_ms(&self, index: u64) -> i64 {
        self.started_ms + ((index + 1) as f64 * 1e3 / self.rate) as i64
    }

    /// Reports the records just read (from `first`) and whether more are due.
    fn report(&self, first: u64, due: u64) {
        let Some(signals) = &self.signals else {
            return;
        };
        if self.emitted > first {
            signals.lag.read(self.epoch, self.due_ms(first));
        }
        let waiting = (due > self.emitted).then(|| self.due_ms(self.emitted));
        let (name, partition) = GENERATOR_PARTITION;
        signals.lag.schedule((name.to_string(), partition), waiting);
    }
}

impl RecordSource for GeneratorSource {
    fn poll(&mut self, max: usize, timeout: Duration) -> Option<Vec<SourceRecord>> {
        let due = (self.started.elapsed().as_secs_f64() * self.rate) as u64;
        let wanted = (due.saturating_sub(self.emitted) as usize).min(max);
        let first = self.emitted;
        if wanted == 0 {
            self.report(first, due);
            let next = Duration::from_secs_f64((self.emitted + 1) as f64 / self.rate);
            std::thread::sleep(next.saturating_sub(self.started.elapsed()).min(timeout));
            return Some(Vec::new());
        }
        let mut records = Vec::with_capacity(wanted);
        for (topic, value) in self.generator.by_ref().take(wanted) {
            records.push(self.numbering.record(topic, value));
        }
        if records.is_empty() {
            return None;
        }
        self.emitted += records.len() as u64;
        self.report(first, due);
        Some(records)
    }

    fn epoch_read(&mut self, epoch: Epoch, read: &mut EpochRead) {
        self.epoch = epoch + 1;
        if let Some(signals) = &self.signals {
            signals.epoch_read(read);
        }
    }
}

/// Records held in memory, handed out a batch per poll (a batch larger than the poll's `max`
/// over several polls), then finished: the source of the in-process tests, and of any caller
/// that has its records already (an archive read back, a JSONL folder read whole). Its read
/// positions are those of Kafka's records: the next offset per (topic name, partition).
#[derive(Debug, Default)]
pub struct MemorySource {
    batches: std::collections::VecDeque<Vec<SourceRecord>>,
    next: BTreeMap<(String, i32), i64>,
    topic_prefix: String,
}

impl MemorySource {
    /// Hands out `batches` in order, one per poll.
    pub fn new(batches: Vec<Vec<SourceRecord>>) -> Self {
        MemorySource {
            batches: batches.into(),
            ..Default::default()
        }
    }

    /// Names the read positions' topics with `prefix` (as Kafka's with `--topic-prefix`).
    pub fn with_topic_prefix(mut self, prefix: &str) -> Self {
        self.topic_prefix = prefix.to_string();
        self
    }
}

impl RecordSource for MemorySource {
    fn poll(&mut self, max: usize, _timeout: Duration) -> Option<Vec<SourceRecord>> {
        let batch = self.batches.front_mut()?;
        let records: Vec<SourceRecord> = match batch.len() > max.max(1) {
            true => batch.drain(..max.max(1)).collect(),
            false => self.batches.pop_front().unwrap_or_default(),
        };
        for record in &records {
            let key = (
                format!("{}{}", self.topic_prefix, record.topic.name()),
                record.position.partition,
            );
            let next = self.next.entry(key).or_insert(0);
            *next = (*next).max(record.position.offset + 1);
        }
        Some(records)
    }
}

impl Positioned for MemorySource {
    fn next_offsets(&self) -> BTreeMap<(String, i32), i64> {
        self.next.clone()
    }
}

/// A worker without a source of its own (generator mode, workers other than 0).
pub struct NoSource;

impl RecordSource for NoSource {
    fn poll(&mut self, _max: usize, _timeout: Duration) -> Option<Vec<SourceRecord>> {
        None
    }
}

/// How the Kafka sources of a process read in step: a partition is read at most a quarter of
/// `late_after` ahead, in event time, of the least partition of the process still being read
/// (no alignment when nothing is ever too late). Records that arrive in order then reach the
/// engine well within `late_after` of each other, however the broker hands out a backlog, and
/// none is rejected `too_late` for the reading order alone.
pub fn alignment(late_after: Horizon) -> Alignment {
    Alignment {
        drift: late_after.as_micros().map(|micros| micros / 4),
        bounds: SharedBounds::default(),
    }
}

/// One worker's Kafka consumer: polls its partitions, publishes its progress and commits
/// consumer-group offsets once an epoch is processed.
pub struct KafkaRecordSource {
    source: KafkaSource,
    progress: ConsumerPositions,
    last_watermarks: Instant,
    signals: ReadSignals,
    /// The epoch being read.
    epoch: Epoch,
    /// The read positions at the end of each epoch read and not yet processed, oldest first:
    /// what is committed once it is processed.
    read: VecDeque<(Epoch, Offsets)>,
}

/// The next offset to read per `(topic, partition)`.
type Offsets = BTreeMap<(String, i32), i64>;

impl KafkaRecordSource {
    /// A consumer for worker `index` of `peers`, resuming at `resume`, whose partitions are
    /// read in step by event time as `alignment` says ([`alignment`]).
    pub fn new(
        config: KafkaConfig,
        index: usize,
        peers: usize,
        resume: BTreeMap<(String, i32), i64>,
        progress: ConsumerPositions,
        signals: ReadSignals,
        alignment: Alignment,
    ) -> Result<Self, pulso_connectors::kafka::Error> {
        let mut source = KafkaSource::new(config, index, peers, resume)?;
        source.align(alignment);
        Ok(KafkaRecordSource {
            source,
            progress,
            last_watermarks: Instant::now() - Duration::from_secs(60),
            signals,
            epoch: 0,
            read: VecDeque::new(),
        })
    }
}

impl RecordSource for KafkaRecordSource {
    fn poll(&mut self, max: usize, timeout: Duration) -> Option<Vec<SourceRecord>> {
        let records = self.source.poll_batch(max, timeout);
        if let Some(oldest) = self.source.batch_oldest_timestamp() {
            self.signals.lag.read(self.epoch, oldest);
            let read = self.source.read_timestamps();
            self.signals
                .lag
                .positions(&self.source.next_offsets(), &read);
        }
        Some(records)
    }

    fn behind(&self) -> bool {
        self.source.behind()
    }

    fn epoch_read(&mut self, epoch: Epoch, read: &mut EpochRead) {
        self.epoch = epoch + 1;
        self.signals.epoch_read(read);
        self.read.push_back((epoch, self.source.next_offsets()));
    }

    fn epoch_processed(&mut self, epoch: Epoch) {
        // The positions at the end of `epoch`: the records read since are not processed yet.
        let mut next = None;
        while self.read.front().is_some_and(|(read, _)| *read <= epoch) {
            next = self.read.pop_front().map(|(_, offsets)| offsets);
        }
        let Some(next) = next else {
            return;
        };
        let _ = self.source.commit(&next);
        // Asked every second, answered on the source's watermark thread: the worker does not
        // wait for the broker's round trips.
        if self.last_watermarks.elapsed() >= Duration::from_secs(1) {
            self.last_watermarks = Instant::now();
            self.source.request_watermarks();
        }
        let watermarks = self.source.fetched_watermarks().unwrap_or_default();
        let read = self.source.read_timestamps();
        self.signals.lag.positions(&next, &read);
        self.signals.lag.watermarks(&watermarks);
        self.progress.advance(next, &watermarks);
    }
}

/// A source whose read position can be recorded: the next offset per topic-partition.
pub trait Positioned: RecordSource {
    /// The next offset to read per `(topic, partition)`.
    fn next_offsets(&self) -> BTreeMap<(String, i32), i64>;
}

impl Positioned for KafkaRecordSource {
    fn next_offsets(&self) -> BTreeMap<(String, i32), i64> {
        self.source.next_offsets()
    }
}

impl Positioned for GeneratorSource {
    fn next_offsets(&self) -> BTreeMap<(String, i32), i64> {
        self.numbering
            .next_offsets()
            .map(|(topic, next)| ((topic.name().to_string(), 0), next))
            .collect()
    }
}

/// Wraps a source so each epoch's accepted records reach the raw archive (queued when the
/// epoch is read, written by a thread of their own: [`ArchiveThread`]) and this worker's
/// progress record, with the rejected counts of its partitions (once the epoch is processed,
/// its archive files are durable and, if it rejected records, its dead letters are
/// delivered), before the epoch is acknowledged.
pub struct ArchivingSource<S> {
    inner: S,
    /// The thread writing the archive files (`None`: it could not start, nothing is read).
    archive: Option<ArchiveThread>,
    /// The archive root and this worker, for its progress records.
    root: PathBuf,
    worker: usize,
    epoch_base: u64,
    topic_prefix: String,
    /// Rejected records of each (Kafka topic name, partition) since its first offset: those
    /// of earlier runs (restored) plus this run's.
    rejected: BTreeMap<(String, i32), BTreeMap<RejectReason, u64>>,
    /// Retries of failed writes, and the failure reported to the run.
    durability: Durability,
    /// Set once a write failed for good: the source reads and acknowledges nothing more.
    stopped: bool,
    /// With a dead-letter topic: how far the output consumer has delivered it.
    dead_letters: Option<DlqDelivered>,
    /// The epochs read and not yet processed, oldest first: each one's progress record is
    /// written when it is processed (the live loop reads an epoch while the views still work
    /// on the ones before it).
    read: VecDeque<ReadEpoch>,
}

/// An epoch an [`ArchivingSource`] has archived, waiting to be processed.
struct ReadEpoch {
    /// The live loop's epoch.
    epoch: Epoch,
    /// Its number in the archive.
    archived: u64,
    /// Whether this worker rejected records in it (its progress waits for their dead letters).
    rejected: bool,
    /// The read positions and rejected counts at its end: its progress record.
    progress: PartitionsProgress,
}

impl<S: Positioned> ArchivingSource<S> {
    /// Archives what `inner` reads with `writer`, numbering archive epochs from `epoch_base`
    /// (after those of an earlier run); `restored` is the progress of an earlier run (its
    /// rejected counts carry on), `topic_prefix` maps topics to their Kafka names. Failed
    /// writes are retried and reported through `durability`.
    pub fn new(
        inner: S,
        writer: ArchiveWriter,
        epoch_base: u64,
        topic_prefix: &str,
        restored: &PartitionsProgress,
        durability: Durability,
    ) -> Self {
        let (root, worker) = (writer.root().to_path_buf(), writer.worker());
        let archive = ArchiveThread::spawn(writer, durability.clone())
            .inspect_err(|e| durability.report(format!("starting the archive's writer: {e}"), true))
            .ok();
        ArchivingSource {
            inner,
            stopped: archive.is_none(),
            archive,
            root,
            worker,
            epoch_base,
            topic_prefix: topic_prefix.to_string(),
            rejected: restored
                .iter()
                .map(|(key, p)| (key.clone(), p.rejected.clone()))
                .collect(),
            durability,
            dead_letters: None,
            read: VecDeque::new(),
        }
    }

    /// Makes each epoch's progress record wait until the output consumer has delivered the
    /// epoch's dead letters (when this worker rejected records in it): a progress record
    /// past undelivered rejections would lose them on a restart.
    pub fn with_dead_letters(mut self, delivered: DlqDelivered) -> Self {
        self.dead_letters = Some(delivered);
        self
    }

    /// The wrapped source.
    #[cfg(test)]
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Positioned> RecordSource for ArchivingSource<S> {
    fn poll(&mut self, max: usize, timeout: Duration) -> Option<Vec<SourceRecord>> {
        if self.stopped || self.durability.is_fatal() {
            return None;
        }
        self.inner.poll(max, timeout)
    }

    fn behind(&self) -> bool {
        self.inner.behind()
    }

    fn epoch_read(&mut self, read_epoch: Epoch, read: &mut EpochRead) {
        self.inner.epoch_read(read_epoch, read);
        let Some(archive) = self.archive.as_ref().filter(|_| !self.stopped) else {
            return;
        };
        let epoch = self.epoch_base + read_epoch;
        for (topic, position, reason) in &read.rejected {
            let key = (
                format!("{}{}", self.topic_prefix, topic.name()),
                position.partition,
            );
            *self
                .rejected
                .entry(key)
                .or_default()
                .entry(*reason)
                .or_insert(0) += 1;
        }
        // The archive is the recovery log: no progress record may pass an epoch it lacks (its
        // progress waits for the files: `epoch_processed`).
        if !archive.write(epoch, std::mem::take(&mut read.accepted)) {
            self.stopped = true;
            return;
        }
        // The positions at the epoch's end, not at its processing: the next epoch may have
        // been read meanwhile, and a progress record past records it lacks would lose them.
        let progress: PartitionsProgress = self
            .inner
            .next_offsets()
            .into_iter()
            .map(|(key, next_offset)| {
                let rejected = self.rejected.get(&key).cloned().unwrap_or_default();
                let progress = PartitionProgress {
                    next_offset,
                    rejected,
                };
                (key, progress)
            })
            .collect();
        self.read.push_back(ReadEpoch {
            epoch: read_epoch,
            archived: epoch,
            rejected: !read.rejected.is_empty(),
            progress,
        });
    }

    fn epoch_processed(&mut self, processed: Epoch) {
        while self
            .read
            .front()
            .is_some_and(|read| read.epoch <= processed)
        {
            let Some(read) = self.read.pop_front() else {
                break;
            };
            let archived = read.archived;
            if self.stopped
                || !self
                    .archive
                    .as_ref()
                    .is_some_and(|archive| archive.wait_for(archived))
            {
                self.stopped = true;
                return;
            }
            // Nor may it pass rejections the dead-letter topic lacks.
            if let (true, Some(delivered)) = (read.rejected, &self.dead_letters) {
                if !delivered.wait_for(read.epoch, &self.durability) {
                    self.stopped = true;
                    return;
                }
            }
            let what = || format!("writing the progress record of epoch {archived}");
            let (root, worker) = (&self.root, self.worker);
            if self
                .durability
                .write(what, || {
                    write_progress(root, worker, archived, &read.progress)
                })
                .is_err()
            {
                self.stopped = true;
                return;
            }
            // Offsets are committed only for epochs the archive and progress records hold.
            self.inner.epoch_processed(read.epoch);
        }
    }
}
