//! The read-model lag (VIEWS.md, "Read-model lag"): how old the oldest record is that the
//! published views do not reflect yet. The sources report what they read (the record time of
//! the oldest record of each epoch, and where each partition stands), the output consumer
//! reports each epoch it publishes, and asks for the lag whenever it refreshes the live
//! status.
//!
//! # Contract
//! - The lag is 0 when no record read is in an unpublished epoch and no partition is behind
//!   its high watermark; otherwise the wall clock minus the record time of the oldest record
//!   not yet published: read in an epoch not yet published, or the next record of a
//!   lagging partition.
//! - A record's time is its Kafka timestamp (the time it was read when it has none); for the
//!   built-in generator, the instant its pacing made it due.
//! - The next record of a lagging Kafka partition has not been read, so its timestamp is not
//!   known: it is taken as the later of the timestamp of the last record read from the
//!   partition (records are appended in time order, so the next one is no older) and the
//!   instant the partition was first seen lagging (the next record was written by then). The
//!   lag is thus never overstated by an idle partition that just received a record, and is
//!   understated by at most the watermark refresh interval.
//! - High watermarks come from the sources' periodic fetch (at most once a second, at the end
//!   of an epoch): a partition is seen lagging that late at worst.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use pulso_connectors::kafka::PartitionKey;
use pulso_dataflows::clock::wall_clock_micros;

/// The wall clock in Unix milliseconds (the engine's wall clock, in Kafka's unit).
pub fn now_millis() -> i64 {
    wall_clock_micros().div_euclid(1000)
}

/// Where the engine stands in one partition (or in the generator's schedule).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PartitionRead {
    /// The next offset the engine will read.
    next_offset: i64,
    /// The partition's high watermark as last fetched.
    high_watermark: i64,
    /// The record time of the last record read from it.
    last_read_ms: Option<i64>,
    /// The record time of the next record, when the source knows it (the generator).
    next_record_ms: Option<i64>,
    /// When the partition was first seen behind its high watermark (while it is).
    lagging_since_ms: Option<i64>,
}

impl PartitionRead {
    /// Whether records are waiting in the partition.
    fn lagging(&self) -> bool {
        self.high_watermark > self.next_offset
    }

    /// Starts or ends the lagging period at `now`.
    fn settle(&mut self, now: i64) {
        self.lagging_since_ms = match self.lagging() {
            true => self.lagging_since_ms.or(Some(now)),
            false => None,
        };
    }

    /// The record time of the next record while lagging (see the module's contract).
    fn next_record_time(&self) -> Option<i64> {
        if !self.lagging() {
            return None;
        }
        self.next_record_ms
            .or(match (self.last_read_ms, self.lagging_since_ms) {
                (Some(read), Some(since)) => Some(read.max(since)),
                (read, since) => read.or(since),
            })
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// The least record time read in each epoch not yet published.
    unpublished: BTreeMap<u64, i64>,
    /// The last epoch published.
    published: Option<u64>,
    /// Every partition read, by Kafka topic name and partition.
    partitions: BTreeMap<PartitionKey, PartitionRead>,
}

/// The read-model lag's inputs, shared by the sources and the output consumer (a clone is
/// another handle).
#[derive(Clone, Debug, Default)]
pub struct ReadLag(Arc<Mutex<Inner>>);

impl ReadLag {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that records as old as `oldest_ms` were read in `epoch`.
    pub fn read(&self, epoch: u64, oldest_ms: i64) {
        let mut inner = self.lock();
        if inner.published.is_some_and(|p| epoch <= p) {
            return;
        }
        let oldest = inner.unpublished.entry(epoch).or_insert(oldest_ms);
        *oldest = (*oldest).min(oldest_ms);
    }

    /// Records a Kafka source's read positions and the record times of the last records it
    /// read, per partition.
    pub fn positions(
        &self,
        next: &BTreeMap<PartitionKey, i64>,
        read_ms: &BTreeMap<PartitionKey, i64>,
    ) {
        let now = now_millis();
        let mut inner = self.lock();
        for (key, &next_offset) in next {
            let p = inner.partitions.entry(key.clone()).or_default();
            p.next_offset = next_offset;
            p.high_watermark = p.high_watermark.max(next_offset);
            if let Some(&ms) = read_ms.get(key) {
                p.last_read_ms = Some(ms);
            }
            p.settle(now);
        }
    }

    /// Records freshly fetched high watermarks (`(low, high)` per partition).
    pub fn watermarks(&self, marks: &BTreeMap<PartitionKey, (i64, i64)>) {
        let now = now_millis();
        let mut inner = self.lock();
        for (key, &(_, high)) in marks {
            let p = inner.partitions.entry(key.clone()).or_default();
            p.high_watermark = high.max(p.next_offset);
            p.settle(now);
        }
    }

    /// Records a source that knows when its next record became due: `next_record_ms` while
    /// records are waiting, `None` when it is caught up (the built-in generator).
    pub fn schedule(&self, key: PartitionKey, next_record_ms: Option<i64>) {
        let mut inner = self.lock();
        let p = inner.partitions.entry(key).or_default();
        // One pseudo-record waiting, or none.
        p.next_offset = 0;
        p.high_watermark = i64::from(next_record_ms.is_some());
        p.next_record_ms = next_record_ms;
        p.lagging_since_ms = next_record_ms;
    }

    /// Records that every epoch up to `epoch` is published (applied to the serving store).
    pub fn published(&self, epoch: u64) {
        let mut inner = self.lock();
        inner.published = Some(inner.published.map_or(epoch, |p| p.max(epoch)));
        inner.unpublished = inner.unpublished.split_off(&(epoch + 1));
    }

    /// The read-model lag at `now_ms` (Unix milliseconds), in seconds.
    pub fn seconds_at(&self, now_ms: i64) -> f64 {
        let inner = self.lock();
        let read = inner.unpublished.values().copied();
        let waiting = inner
            .partitions
            .values()
            .filter_map(PartitionRead::next_record_time);
        match read.chain(waiting).min() {
            Some(oldest) => (now_ms - oldest).max(0) as f64 / 1e3,
            None => 0.0,
        }
    }

    /// The read-model lag now, in seconds.
    pub fn seconds(&self) -> f64 {
        self.seconds_at(now_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(partition: i32) -> PartitionKey {
        ("orders.events".to_string(), partition)
    }

    #[test]
    fn read_records_count_until_their_epoch_is_published() {
        let lag = ReadLag::default();
        assert_eq!(lag.seconds_at(10_000), 0.0);
        lag.read(0, 4_000);
        lag.read(0, 3_000);
        lag.read(1, 6_000);
        assert_eq!(lag.seconds_at(10_000), 7.0);
        lag.published(0);
        assert_eq!(lag.seconds_at(10_000), 4.0);
        // A late report of a published epoch is ignored.
        lag.read(0, 1_000);
        assert_eq!(lag.seconds_at(10_000), 4.0);
        lag.published(1);
        assert_eq!(lag.seconds_at(10_000), 0.0);
    }

    #[test]
    fn a_lagging_partition_counts_its_next_record() {
        let lag = ReadLag::default();
        let now = now_millis();
        lag.positions(
            &BTreeMap::from([(key(0), 10), (key(1), 5)]),
            &BTreeMap::from([(key(0), now + 2_000)]),
        );
        // Caught up: nothing waits.
        assert_eq!(lag.seconds_at(now + 10_000), 0.0);
        // Partition 0 is behind: its next record is no older than the last one read.
        lag.watermarks(&BTreeMap::from([(key(0), (0, 15)), (key(1), (0, 5))]));
        assert_eq!(lag.seconds_at(now + 10_000), 8.0);
        // Read up to the watermark: caught up again.
        lag.positions(&BTreeMap::from([(key(0), 15)]), &BTreeMap::new());
        assert_eq!(lag.seconds_at(now + 10_000), 0.0);
    }

    #[test]
    fn a_partition_never_read_lags_since_it_was_seen_lagging() {
        let lag = ReadLag::default();
        lag.positions(&BTreeMap::from([(key(0), 0)]), &BTreeMap::new());
        lag.watermarks(&BTreeMap::from([(key(0), (0, 3))]));
        assert!(lag.seconds() < 1.0);
        assert!(lag.seconds_at(now_millis() + 8_000) >= 7.0);
    }

    #[test]
    fn a_schedule_counts_its_due_record() {
        let lag = ReadLag::default();
        let generator = ("generator".to_string(), 0);
        lag.schedule(generator.clone(), Some(1_000));
        assert_eq!(lag.seconds_at(3_500), 2.5);
        lag.schedule(generator, None);
        assert_eq!(lag.seconds_at(3_500), 0.0);
    }
}
