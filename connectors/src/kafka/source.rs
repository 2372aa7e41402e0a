//! [`KafkaSource`]: one timely worker's Kafka consumer.
//!
//! Partitions are assigned explicitly (`assign`, by [`owner`]) rather than through a consumer
//! group, so every worker of every process knows its partitions without a rebalance, and the
//! offsets the engine reads from are the ones in its own progress record.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pulso_events::time::MICROS_PER_DAY;
use pulso_events::{event_time, Position, RecordHeader, SourceRecord, Topic};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedHeaders, Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::util::Timeout;
use rdkafka::ClientContext;

use super::admin::end_of_last_batch;
use super::align::{limit, Alignment, Lane, HOLD_MOST};
use super::assign::owner;
use super::config::{KafkaConfig, StartPosition};
use super::error::{Error, Result};
use super::watermark_watcher::{look_up, WatermarkWatcher, Watermarks};

/// Records waiting in the broker beyond which a source counts as behind
/// ([`KafkaSource::behind`]): about a quarter of a second of a 40k records/s stream.
const BEHIND_RECORDS: i64 = 10_000;

/// The wall clock in Unix milliseconds.
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The headers of a Kafka record, in order (null values kept as `None`).
fn headers_of(headers: &BorrowedHeaders) -> Vec<RecordHeader> {
    headers
        .iter()
        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
        .collect()
}

/// A topic-partition: `(topic name, partition)`.
pub type PartitionKey = (String, i32);

/// How often [`KafkaSource::poll_batch`] refreshes topic metadata to find new topics and
/// partitions.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Timeout of the metadata and offset look-ups made while assigning partitions.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The consumer's callbacks: keeps the last asynchronous commit error, and the high
/// watermarks that fetch responses reported (from librdkafka's statistics).
#[derive(Default)]
pub(crate) struct SourceContext {
    last_commit_error: Mutex<Option<String>>,
    /// Per topic name, per partition.
    fetched_high: Mutex<BTreeMap<String, BTreeMap<i32, i64>>>,
}

impl ClientContext for SourceContext {
    fn stats(&self, statistics: Statistics) {
        let Ok(mut fetched) = self.fetched_high.lock() else {
            return;
        };
        for (name, topic) in &statistics.topics {
            let partitions = fetched.entry(name.clone()).or_default();
            for (&partition, stats) in &topic.partitions {
                if partition >= 0 && stats.hi_offset >= 0 {
                    let high = partitions.entry(partition).or_insert(0);
                    *high = (*high).max(stats.hi_offset);
                }
            }
        }
    }
}

impl ConsumerContext for SourceContext {
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Ok(mut last) = self.last_commit_error.lock() {
            *last = result.err().map(|e| e.to_string());
        }
    }
}

/// The partitions of one Kafka topic that a source reads.
struct OwnedTopic {
    /// The Pulso topic it stands for, `None` for names Pulso does not know.
    topic: Option<pulso_events::Topic>,
    /// The partitions read, by number.
    partitions: BTreeMap<i32, OwnedPartition>,
}

impl OwnedTopic {
    /// A topic of which no partition is read yet.
    fn new(topic: Option<Topic>) -> OwnedTopic {
        OwnedTopic {
            topic,
            partitions: BTreeMap::new(),
        }
    }
}

/// One partition a source reads.
struct OwnedPartition {
    /// Next offset to read: the records before it were handed out.
    next: i64,
    /// Next offset to fetch: the records from `next` up to it are held in `lane`.
    fetched: i64,
    /// The records fetched but not handed out yet, with their Kafka timestamps.
    lane: Lane<(SourceRecord, i64)>,
    /// The Kafka timestamp (Unix ms) of the last record read, once one was.
    written: Option<i64>,
}

impl OwnedPartition {
    /// A partition read from `next` on, nothing fetched yet.
    fn new(next: i64, now: Instant) -> OwnedPartition {
        OwnedPartition {
            next,
            fetched: next,
            lane: Lane::new(now),
            written: None,
        }
    }
}

/// One worker's reader of the partitions it owns (see [`owner`]) across the configured
/// topics.
///
/// The source keeps the next offset to read of every owned partition (its part of the
/// engine's progress record, [`KafkaSource::next_offsets`]); it never commits by itself.
/// Records are returned at most once and in offset order per partition: a record at an offset
/// below the partition's next offset is dropped, so re-assignments never duplicate.
///
/// With [`KafkaSource::align`], the partitions are read in step by event time (see
/// [`Alignment`]): a record is handed out only within a drift of the least event time of the
/// partitions with records left to read, so a backlog read from the beginning does not make
/// one topic's records `too_late` behind another's.
pub struct KafkaSource {
    consumer: BaseConsumer<SourceContext>,
    /// A second connection for metadata and offset look-ups, which would otherwise wait
    /// behind the consumer's long-polling fetches; also probes batch ends (see `admin`).
    lookup: BaseConsumer,
    /// Looks the watermarks up for [`KafkaSource::request_watermarks`], on its own thread
    /// and connection.
    watcher: WatermarkWatcher,
    config: KafkaConfig,
    worker: usize,
    peers: usize,
    /// Offsets to resume from, for partitions not yet assigned.
    resume: BTreeMap<PartitionKey, i64>,
    /// Next offset to read of every assigned partition, by Kafka topic name.
    owned: BTreeMap<String, OwnedTopic>,
    /// Set once a metadata refresh has succeeded: partitions found after it are new.
    initialized: bool,
    refresh_interval: Duration,
    last_refresh: Option<Instant>,
    skipped_unknown: u64,
    poll_errors: u64,
    last_poll_error: Option<String>,
    /// The least Kafka timestamp of the records the last [`KafkaSource::poll_batch`] returned.
    batch_oldest: Option<i64>,
    /// How the partitions are read in step ([`KafkaSource::align`]).
    alignment: Alignment,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("worker", &self.worker)
            .field("peers", &self.peers)
            .field("next", &self.next_offsets())
            .finish_non_exhaustive()
    }
}

impl KafkaSource {
    /// A source for worker `worker_index` of `peers` workers in all processes.
    ///
    /// `resume` holds the next offset to read per partition, from the engine's progress
    /// record; it may cover every partition of every worker (each worker takes its own).
    /// Partitions without a saved offset start at [`KafkaConfig::start`].
    ///
    /// Tries a first metadata refresh at once; an unreachable broker or missing topics are not
    /// an error (the source assigns partitions as soon as they can be seen). Fails only on a
    /// configuration librdkafka rejects.
    pub fn new(
        config: KafkaConfig,
        worker_index: usize,
        peers: usize,
        resume: BTreeMap<PartitionKey, i64>,
    ) -> Result<Self> {
        let peers = peers.max(1);
        if worker_index >= peers {
            return Err(Error::Config(format!(
                "worker index {worker_index} out of range for {peers} peers"
            )));
        }
        let unknown = config.unknown_topics();
        if !unknown.is_empty() {
            return Err(Error::Config(format!(
                "kafka.topics names topics that are not in EVENTS.md: {} (known: {})",
                unknown.join(", "),
                Topic::ALL.map(Topic::name).join(", ")
            )));
        }
        let consumer: BaseConsumer<SourceContext> = config
            .consumer_config()
            .create_with_context(SourceContext::default())?;
        let lookup: BaseConsumer = config.lookup_config().create()?;
        let watcher = WatermarkWatcher::spawn(
            config.lookup_config().create()?,
            format!("kafka-marks-{worker_index}"),
        )
        .map_err(|e| Error::Thread(e.to_string()))?;
        let mut source = KafkaSource {
            consumer,
            lookup,
            watcher,
            config,
            worker: worker_index,
            peers,
            resume,
            owned: BTreeMap::new(),
            initialized: false,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            last_refresh: None,
            skipped_unknown: 0,
            poll_errors: 0,
            last_poll_error: None,
            batch_oldest: None,
            alignment: Alignment::default(),
        };
        // Not fatal: the broker may be down or the topics not created yet.
        let _ = source.refresh();
        Ok(source)
    }

    /// Sets how often [`KafkaSource::poll_batch`] refreshes metadata (default 5 s).
    pub fn set_refresh_interval(&mut self, interval: Duration) {
        self.refresh_interval = interval;
    }

    /// Reads the partitions in step by event time: a record goes out only when its event time
    /// is at most `alignment.drift` past the least event time of the partitions that still
    /// have records to read, here and in the sources sharing `alignment.bounds` (default: no
    /// drift, records go out as fetched). The engine sets a fraction of its `late_after`
    /// horizon and shares the bounds among the workers of a process.
    pub fn align(&mut self, alignment: Alignment) {
        self.alignment = alignment;
    }

    /// The configuration.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// This worker's index.
    pub fn worker_index(&self) -> usize {
        self.worker
    }

    /// The number of workers partitions are spread over.
    pub fn peers(&self) -> usize {
        self.peers
    }

    /// The partitions this worker currently reads.
    pub fn assigned(&self) -> Vec<PartitionKey> {
        self.next_offsets().into_keys().collect()
    }

    /// Looks up topic metadata now and assigns partitions of this worker that are new since
    /// the last refresh (topics created and partitions added while running). Returns how many
    /// partitions were added.
    pub fn refresh(&mut self) -> Result<usize> {
        self.last_refresh = Some(Instant::now());
        let metadata = self.lookup.fetch_metadata(None, LOOKUP_TIMEOUT)?;
        let wanted = self.config.kafka_topics();
        let mut found = Vec::new();
        for topic in metadata.topics() {
            if topic.error().is_some() || !wanted.iter().any(|t| t == topic.name()) {
                continue;
            }
            for partition in topic.partitions() {
                let key = (topic.name().to_string(), partition.id());
                if owner(&key.0, key.1, self.peers) == self.worker && !self.owns(&key) {
                    found.push(key);
                }
            }
        }
        let initial = !self.initialized;
        if found.is_empty() {
            self.initialized = true;
            return Ok(0);
        }
        // On failure nothing is assigned and the same partitions are found again next time.
        let starts = self.start_offsets(&found, initial)?;
        let (added, now) = (starts.len(), Instant::now());
        for ((name, partition), offset) in starts {
            let topic = self.config.topic_of(&name);
            self.owned
                .entry(name)
                .or_insert_with(|| OwnedTopic::new(topic))
                .partitions
                .insert(partition, OwnedPartition::new(offset, now));
        }
        self.reassign()?;
        self.initialized = true;
        Ok(added)
    }

    /// The concrete next offset of each newly found partition: the saved one, else the
    /// configured start for partitions present at startup, else the beginning.
    fn start_offsets(
        &mut self,
        found: &[PartitionKey],
        initial: bool,
    ) -> Result<BTreeMap<PartitionKey, i64>> {
        let mut starts = BTreeMap::new();
        let mut by_time = Vec::new();
        for key in found {
            if let Some(&offset) = self.resume.get(key) {
                starts.insert(key.clone(), offset);
                continue;
            }
            let start = if initial {
                self.config.start
            } else {
                StartPosition::Earliest
            };
            match start {
                StartPosition::Earliest => {
                    let (low, _) = self
                        .lookup
                        .fetch_watermarks(&key.0, key.1, LOOKUP_TIMEOUT)?;
                    starts.insert(key.clone(), low);
                }
                StartPosition::Latest => {
                    starts.insert(key.clone(), self.end_offset(key)?);
                }
                StartPosition::Timestamp(ms) => by_time.push((key.clone(), ms)),
            }
        }
        if !by_time.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for ((topic, partition), ms) in &by_time {
                tpl.add_partition_offset(topic, *partition, Offset::Offset(*ms))?;
            }
            let answer = self.lookup.offsets_for_times(tpl, LOOKUP_TIMEOUT)?;
            for elem in answer.elements() {
                let key = (elem.topic().to_string(), elem.partition());
                let offset = match elem.offset() {
                    Offset::Offset(n) if n >= 0 => n,
                    // No record at or after the time: start at the end.
                    _ => self.end_offset(&key)?,
                };
                starts.insert(key, offset);
            }
        }
        for key in starts.keys() {
            self.resume.remove(key);
        }
        Ok(starts)
    }

    /// The offset after the last record of a partition (see [`end_of_last_batch`]).
    fn end_offset(&self, key: &PartitionKey) -> Result<i64> {
        let (low, high) = self
            .lookup
            .fetch_watermarks(&key.0, key.1, LOOKUP_TIMEOUT)?;
        if high > low {
            end_of_last_batch(&self.lookup, &key.0, key.1, high)
        } else {
            Ok(high)
        }
    }

    /// True if this source already reads the partition.
    fn owns(&self, (name, partition): &PartitionKey) -> bool {
        self.owned
            .get(name)
            .is_some_and(|o| o.partitions.contains_key(partition))
    }

    /// Assigns every owned partition at its next offset: records fetched but not handed out
    /// are dropped, to be fetched again.
    fn reassign(&mut self) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset) in self.next_offsets() {
            tpl.add_partition_offset(&topic, partition, Offset::Offset(offset))?;
        }
        self.consumer.assign(&tpl)?;
        let now = Instant::now();
        for owned in self.owned.values_mut() {
            for read in owned.partitions.values_mut() {
                read.fetched = read.next;
                read.lane.clear(now);
            }
        }
        Ok(())
    }

    /// Reads up to `max_records` records, waiting up to `timeout` for the first one (and
    /// refreshing metadata first when it is due). Returns what is there: possibly nothing,
    /// e.g. while the broker is unreachable or while every record fetched waits for a
    /// partition behind ([`KafkaSource::align`]). Records of topics Pulso does not know are
    /// skipped (but their offsets advance). The record's topic is the Pulso topic (the Kafka
    /// name less [`KafkaConfig::topic_prefix`]).
    pub fn poll_batch(&mut self, max_records: usize, timeout: Duration) -> Vec<SourceRecord> {
        let due = self
            .last_refresh
            .is_none_or(|at| at.elapsed() >= self.refresh_interval);
        if due {
            // Errors are retried at the next interval; meanwhile keep reading what we have.
            let _ = self.refresh();
        }
        let mut records = Vec::with_capacity(max_records.min(4096));
        self.batch_oldest = None;
        if self.owned.is_empty() {
            std::thread::sleep(timeout.min(self.refresh_interval));
            return records;
        }
        let deadline = Instant::now() + timeout;
        loop {
            // Wait for a record only while there is nothing to hand out.
            let wait = if records.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let fetched = self.fetch(max_records, wait);
            self.release(max_records, &mut records);
            self.pace();
            if records.len() >= max_records || Instant::now() >= deadline {
                break;
            }
            if fetched == 0 && !records.is_empty() {
                break;
            }
        }
        records
    }

    /// Takes up to `max` records from the consumer into their partitions' lanes, waiting up to
    /// `wait` for the first; returns how many it took.
    fn fetch(&mut self, max: usize, wait: Duration) -> usize {
        let now = Instant::now();
        // A time further ahead than this is a bad clock (the engine rejects it): not a pace.
        let future = now_millis()
            .saturating_mul(1000)
            .saturating_add(MICROS_PER_DAY);
        let mut wait = wait;
        let mut taken = 0;
        while taken < max {
            let Some(result) = self.consumer.poll(Timeout::After(wait)) else {
                break;
            };
            wait = Duration::ZERO;
            let message = match result {
                Ok(message) => message,
                Err(error) => {
                    self.poll_errors += 1;
                    self.last_poll_error = Some(error.to_string());
                    continue;
                }
            };
            let (offset, partition) = (message.offset(), message.partition());
            let Some(owned) = self.owned.get_mut(message.topic()) else {
                continue;
            };
            let Some(read) = owned.partitions.get_mut(&partition) else {
                continue;
            };
            if offset < read.fetched {
                continue;
            }
            read.fetched = offset + 1;
            taken += 1;
            // A record without a timestamp counts as written when read.
            let written = message.timestamp().to_millis().unwrap_or_else(now_millis);
            let Some(topic) = owned.topic else {
                // Nothing of this topic is ever held: its offsets advance at once.
                read.next = offset + 1;
                read.written = Some(written);
                self.skipped_unknown += 1;
                continue;
            };
            let payload = message.payload();
            let time = self
                .alignment
                .drift
                .and_then(|_| event_time(topic, payload.unwrap_or_default()))
                .filter(|t| *t <= future);
            let record = SourceRecord {
                topic,
                position: Position { partition, offset },
                key: message.key().map(<[u8]>::to_vec),
                value: payload.map(<[u8]>::to_vec).unwrap_or_default(),
                // A null value (not an empty one) is a tombstone.
                tombstone: payload.is_none(),
                headers: message.headers().map(headers_of).unwrap_or_default(),
            };
            read.lane.hold(time, (record, written), now);
        }
        taken
    }

    /// Hands out held records into `out` (up to `max` in all) that the alignment lets go.
    fn release(&mut self, max: usize, out: &mut Vec<SourceRecord>) {
        let limit = self.alignment.drift.and_then(|drift| {
            let now = Instant::now();
            let highs = self.consumer.context().fetched_high.lock().ok()?;
            let bounds = self.owned.iter().flat_map(|(name, owned)| {
                let highs = highs.get(name);
                owned
                    .partitions
                    .iter()
                    .filter_map(move |(partition, read)| {
                        // Unknown until the consumer's statistics report the partition: behind.
                        let behind = highs
                            .and_then(|highs| highs.get(partition))
                            .is_none_or(|high| *high > read.fetched);
                        read.lane.bound(behind, now)
                    })
            });
            let least = self
                .alignment
                .bounds
                .publish(self.worker, bounds.min(), now);
            limit([least], Some(drift))
        });
        for owned in self.owned.values_mut() {
            for read in owned.partitions.values_mut() {
                for (record, ms) in read.lane.release(limit, max.saturating_sub(out.len())) {
                    read.next = record.position.offset + 1;
                    read.written = Some(ms);
                    self.batch_oldest = Some(self.batch_oldest.map_or(ms, |o| o.min(ms)));
                    out.push(record);
                }
            }
        }
    }

    /// Pauses the consumer on partitions holding more than [`HOLD_MOST`] records and resumes
    /// it on paused ones down to half of that, so what is held stays bounded. A pause or
    /// resume that fails is tried again at the next call.
    fn pace(&mut self) {
        for pausing in [true, false] {
            let mut list = TopicPartitionList::new();
            for (name, owned) in &self.owned {
                for (partition, read) in &owned.partitions {
                    let (held, paused) = (read.lane.held(), read.lane.paused);
                    let wanted = match pausing {
                        true => !paused && held > HOLD_MOST,
                        false => paused && held <= HOLD_MOST / 2,
                    };
                    if wanted {
                        list.add_partition(name, *partition);
                    }
                }
            }
            if list.count() == 0 {
                continue;
            }
            let done = match pausing {
                true => self.consumer.pause(&list),
                false => self.consumer.resume(&list),
            };
            if done.is_err() {
                continue;
            }
            for element in list.elements() {
                let read = self
                    .owned
                    .get_mut(element.topic())
                    .and_then(|owned| owned.partitions.get_mut(&element.partition()));
                if let Some(read) = read {
                    read.lane.paused = pausing;
                }
            }
        }
    }

    /// The least Kafka record timestamp (Unix milliseconds; the read time for a record
    /// without one) of the records the last [`KafkaSource::poll_batch`] returned, `None` when
    /// it returned none.
    pub fn batch_oldest_timestamp(&self) -> Option<i64> {
        self.batch_oldest
    }

    /// The Kafka timestamp (Unix milliseconds) of the last record read from each partition,
    /// for the partitions read from since the source was made.
    pub fn read_timestamps(&self) -> BTreeMap<PartitionKey, i64> {
        self.owned
            .iter()
            .flat_map(|(name, owned)| {
                owned
                    .partitions
                    .iter()
                    .filter_map(move |(&partition, read)| {
                        read.written.map(|ms| ((name.clone(), partition), ms))
                    })
            })
            .collect()
    }

    /// The progress record of this worker: the next offset to read of every partition it
    /// owns (records below it have been returned by [`KafkaSource::poll_batch`]).
    pub fn next_offsets(&self) -> BTreeMap<PartitionKey, i64> {
        self.owned
            .iter()
            .flat_map(|(name, owned)| {
                owned
                    .partitions
                    .iter()
                    .map(move |(&partition, read)| ((name.clone(), partition), read.next))
            })
            .collect()
    }

    /// Whether more than [`BEHIND_RECORDS`] records wait in the broker for the partitions this
    /// source owns, by the high watermarks the consumer's fetch responses last reported
    /// (statistics, up to a second old: a source that keeps up reads as not behind). The live
    /// loop keeps an epoch open longer while it is.
    pub fn behind(&self) -> bool {
        let Ok(highs) = self.consumer.context().fetched_high.lock() else {
            return false;
        };
        let waiting: i64 = self
            .owned
            .iter()
            .filter_map(|(name, owned)| Some((highs.get(name)?, owned)))
            .flat_map(|(highs, owned)| {
                owned.partitions.iter().map(|(partition, read)| {
                    highs
                        .get(partition)
                        .map_or(0, |high| (high - read.next).max(0))
                })
            })
            .sum();
        waiting > BEHIND_RECORDS
    }

    /// Low and high watermarks of every owned partition, asked of the broker with a short
    /// timeout; partitions that do not answer are left out (and after 2 s in all the rest are
    /// skipped, as the broker is then likely unreachable). Lag of a partition is
    /// `max(0, high - next)`.
    ///
    /// The high watermark is the larger of the broker's answer (ListOffsets) and the last one
    /// a fetch response reported (librdkafka statistics, refreshed every second while
    /// polling): tansu 0.6 answers ListOffsets with the base offset of the last record batch
    /// plus one, which undercounts batched partitions, while its fetch responses are right.
    pub fn watermarks(&self) -> BTreeMap<PartitionKey, (i64, i64)> {
        let partitions: Vec<PartitionKey> = self.next_offsets().into_keys().collect();
        self.with_fetched_highs(look_up(&self.lookup, &partitions))
    }

    /// Asks for [`KafkaSource::watermarks`] on the source's watermark thread, so the caller
    /// does not wait for the broker; [`KafkaSource::fetched_watermarks`] gives the answer.
    /// Does nothing while an earlier request is still waiting.
    pub fn request_watermarks(&self) {
        self.watcher
            .request(self.next_offsets().into_keys().collect());
    }

    /// The answer to the last [`KafkaSource::request_watermarks`], once, when it is in.
    pub fn fetched_watermarks(&self) -> Option<BTreeMap<PartitionKey, (i64, i64)>> {
        self.watcher
            .take()
            .map(|marks| self.with_fetched_highs(marks))
    }

    /// `marks` with each high watermark raised to the last one a fetch response reported.
    fn with_fetched_highs(&self, mut marks: Watermarks) -> Watermarks {
        let fetched = self
            .consumer
            .context()
            .fetched_high
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default();
        for ((name, partition), (_, high)) in marks.iter_mut() {
            let reported = fetched.get(name).and_then(|highs| highs.get(partition));
            *high = (*high).max(reported.copied().unwrap_or(0));
        }
        marks
    }

    /// Records not yet read per owned partition, `max(0, high - next)`, for the partitions
    /// whose watermarks could be fetched.
    pub fn lag(&self) -> BTreeMap<PartitionKey, i64> {
        self.watermarks()
            .into_iter()
            .map(|(key, (_, high))| {
                let read = self
                    .owned
                    .get(&key.0)
                    .and_then(|o| o.partitions.get(&key.1));
                let next = read.map_or(0, |read| read.next);
                (key, (high - next).max(0))
            })
            .collect()
    }

    /// Commits `offsets` (next offset to read per partition, as in
    /// [`KafkaSource::next_offsets`]) to the consumer group, asynchronously. The engine calls
    /// this only after the epoch that read up to them is processed and durable; the commits
    /// serve external lag monitoring, not recovery. Errors of earlier asynchronous commits
    /// are reported by [`KafkaSource::last_commit_error`].
    pub fn commit(&self, offsets: &BTreeMap<PartitionKey, i64>) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), &offset) in offsets {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(offset))?;
        }
        self.consumer.commit(&tpl, CommitMode::Async)?;
        Ok(())
    }

    /// The error of the last completed asynchronous commit, if it failed.
    pub fn last_commit_error(&self) -> Option<String> {
        self.consumer
            .context()
            .last_commit_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
    }

    /// Records held in `topic` (see [`topic_size_with`](super::topic_size_with)), with this
    /// source's connection settings.
    pub fn topic_size(&self, topic: &str) -> Result<i64> {
        super::admin::topic_size_with(&self.config, topic)
    }

    /// How many records of topics Pulso does not know were skipped.
    pub fn skipped_unknown(&self) -> u64 {
        self.skipped_unknown
    }

    /// How many errors polls reported (transport errors while the broker is unreachable...),
    /// and the last one.
    pub fn poll_errors(&self) -> (u64, Option<&str>) {
        (self.poll_errors, self.last_poll_error.as_deref())
    }
}
