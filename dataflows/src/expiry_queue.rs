//! [`ExpiryQueue`]: the keyed operators' slots by the minute of event time after which they
//! may expire, so that an epoch's expiry looks only at the keys whose minute has passed.
//!
//! A minute is held as an `i32` (minutes since 1970: ±4,000 years), so that an entity's state
//! can note the bucket it is queued in with 8 bytes rather than 16 (`Option<i32>` against
//! `Option<i64>`), a field held once per live entity. Times beyond that range are clamped to its
//! ends; an entry is only ever a hint: the operator decides from the key's own state whether it
//! has expired.

use std::collections::BTreeMap;

use crate::slots::Slot;

/// Width of a bucket: one minute of event time, in microseconds.
pub(crate) const BUCKET: i64 = 60_000_000;

/// A bucket: minutes since 1970-01-01T00:00Z.
pub(crate) type Bucket = i32;

/// Slots by bucket.
#[derive(Debug, Default)]
pub(crate) struct ExpiryQueue {
    buckets: BTreeMap<Bucket, Vec<Slot>>,
}

impl ExpiryQueue {
    /// The bucket of an event time (microseconds since 1970), clamped to the range of a bucket.
    pub(crate) fn bucket_of(micros: i64) -> Bucket {
        let minute = micros.div_euclid(BUCKET);
        Bucket::try_from(minute).unwrap_or(if minute < 0 { Bucket::MIN } else { Bucket::MAX })
    }

    /// Queues `slot` in `bucket`.
    pub(crate) fn push(&mut self, bucket: Bucket, slot: Slot) {
        self.buckets.entry(bucket).or_default().push(slot);
    }

    /// Removes and returns the earliest bucket whose whole minute is before `cutoff`, with its
    /// slots (in the order they were queued).
    pub(crate) fn pop_before(&mut self, cutoff: i64) -> Option<(Bucket, Vec<Slot>)> {
        let entry = self.buckets.first_entry()?;
        let end = (i64::from(*entry.key()) + 1) * BUCKET;
        (end <= cutoff).then(|| entry.remove_entry())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_pop_in_order_once_their_minute_is_past() {
        let mut queue = ExpiryQueue::default();
        queue.push(ExpiryQueue::bucket_of(3 * BUCKET + 5), 7);
        queue.push(ExpiryQueue::bucket_of(BUCKET), 1);
        queue.push(ExpiryQueue::bucket_of(BUCKET + 1), 2);
        assert_eq!(queue.pop_before(2 * BUCKET - 1), None);
        assert_eq!(queue.pop_before(2 * BUCKET), Some((1, vec![1, 2])));
        assert_eq!(queue.pop_before(4 * BUCKET - 1), None);
        assert_eq!(queue.pop_before(i64::MAX), Some((3, vec![7])));
        assert_eq!(queue.pop_before(i64::MAX), None);
    }

    #[test]
    fn times_out_of_range_are_clamped() {
        assert_eq!(ExpiryQueue::bucket_of(-1), -1);
        assert_eq!(ExpiryQueue::bucket_of(i64::MIN), Bucket::MIN);
        assert_eq!(ExpiryQueue::bucket_of(i64::MAX), Bucket::MAX);
        let mut queue = ExpiryQueue::default();
        queue.push(Bucket::MAX, 1);
        assert_eq!(queue.pop_before(i64::MAX), Some((Bucket::MAX, vec![1])));
    }
}
