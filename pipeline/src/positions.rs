//! The read positions of the live job's Kafka consumers: each worker advances those of its
//! partitions once an epoch is processed, and the output consumer reads them all to report
//! the lag of every partition in the live status.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use pulso_connectors::kafka::PartitionKey;
use pulso_queries::PartitionStatus;

/// Where the consumers stand in one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionPosition {
    /// The next offset the engine will read.
    pub next_offset: i64,
    /// The partition's high watermark as last fetched (never below `next_offset`).
    pub high_watermark: i64,
}

/// The positions of every partition, by Kafka topic name (prefix included) and partition;
/// shared by the Kafka workers and the output consumer (a clone is another handle).
#[derive(Clone, Debug, Default)]
pub struct ConsumerPositions(Arc<Mutex<BTreeMap<PartitionKey, PartitionPosition>>>);

impl ConsumerPositions {
    /// Records the next offsets of a worker's partitions after an epoch, and the high
    /// watermarks when freshly fetched (`(low, high)` per partition; empty between fetches).
    pub fn advance(
        &self,
        next: BTreeMap<PartitionKey, i64>,
        watermarks: &BTreeMap<PartitionKey, (i64, i64)>,
    ) {
        let mut positions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, next_offset) in next {
            let fetched = watermarks.get(&key).map(|&(_, high)| high);
            let position = positions.entry(key).or_insert(PartitionPosition {
                next_offset,
                high_watermark: next_offset,
            });
            position.next_offset = next_offset;
            if let Some(high) = fetched {
                position.high_watermark = high;
            }
            position.high_watermark = position.high_watermark.max(next_offset);
        }
    }

    /// Every partition's position and lag, for the live status.
    pub fn statuses(&self) -> Vec<PartitionStatus> {
        let positions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        positions
            .iter()
            .map(|((topic, partition), p)| PartitionStatus {
                topic: topic.clone(),
                partition: *partition,
                next_offset: p.next_offset,
                high_watermark: p.high_watermark,
                lag: (p.high_watermark - p.next_offset).max(0),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(partition: i32) -> PartitionKey {
        ("orders.events".to_string(), partition)
    }

    #[test]
    fn lag_follows_offsets_and_fetched_watermarks() {
        let positions = ConsumerPositions::default();
        let handle = positions.clone();
        handle.advance(BTreeMap::from([(key(0), 5)]), &BTreeMap::new());
        let status = &positions.statuses()[0];
        assert_eq!(
            (status.next_offset, status.high_watermark, status.lag),
            (5, 5, 0)
        );

        handle.advance(
            BTreeMap::from([(key(0), 7), (key(1), 0)]),
            &BTreeMap::from([(key(0), (0, 20)), (key(1), (0, 3))]),
        );
        let lags: Vec<(i32, i64)> = positions
            .statuses()
            .iter()
            .map(|s| (s.partition, s.lag))
            .collect();
        assert_eq!(lags, [(0, 13), (1, 3)]);

        // Between fetches the last watermark stays; it never falls below the next offset.
        handle.advance(BTreeMap::from([(key(0), 25)]), &BTreeMap::new());
        let status = &positions.statuses()[0];
        assert_eq!((status.high_watermark, status.lag), (25, 0));
    }
}
