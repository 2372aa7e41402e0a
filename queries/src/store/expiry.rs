//! The rows a table expires, filed in buckets of due instants.
//!
//! A table files a million expiring rows (a week of timeline entries) and takes out those due
//! once the watermark passes them, epoch by epoch. A binary heap popped each of them through
//! ~20 levels of a heap far larger than the caches, moving the row's key at each level (a
//! sixth of the profile samples of the store applying epochs). Here a row is filed in the
//! bucket of its due instant (2^[`BUCKET_SHIFT`] µs wide; the buckets in an ordered map keyed
//! by integers), and a bucket the watermark has passed whole leaves whole, in filing order.
//! Only the bucket the watermark is in is sorted (by due instant, latest first: a bucket
//! sorted at the last expiry and filed in since is sorted again, one already in order is
//! checked in one pass), and its due rows taken from its end.

use std::cmp::Reverse;
use std::collections::BTreeMap;

/// Log₂ of a bucket's width in microseconds (2²⁰ µs, about a second).
const BUCKET_SHIFT: u32 = 20;

/// Rows (`T`) filed with their due instants, taken out at or before a watermark.
#[derive(Clone, Debug)]
pub(crate) struct ExpiryQueue<T> {
    /// Rows and their due instants, by bucket (`due >> BUCKET_SHIFT`).
    buckets: BTreeMap<i64, Vec<(i64, T)>>,
}

impl<T> Default for ExpiryQueue<T> {
    fn default() -> Self {
        ExpiryQueue {
            buckets: BTreeMap::new(),
        }
    }
}

impl<T> ExpiryQueue<T> {
    /// Files `row` to expire at `due`.
    pub(crate) fn push(&mut self, due: i64, row: T) {
        let bucket = self.buckets.entry(due >> BUCKET_SHIFT).or_default();
        bucket.push((due, row));
    }

    /// Gives `expire` every row due at or before `watermark` (in no particular order) and
    /// forgets them.
    pub(crate) fn expire(&mut self, watermark: i64, mut expire: impl FnMut(T)) {
        let current = watermark >> BUCKET_SHIFT;
        while let Some(mut first) = self.buckets.first_entry() {
            let index = *first.key();
            if index > current {
                break;
            }
            if index < current {
                // Every due instant of the bucket is before the watermark's bucket.
                for (_, row) in first.remove() {
                    expire(row);
                }
                continue;
            }
            let bucket = first.get_mut();
            bucket.sort_unstable_by_key(|(due, _)| Reverse(*due));
            while bucket.last().is_some_and(|(due, _)| *due <= watermark) {
                if let Some((_, row)) = bucket.pop() {
                    expire(row);
                }
            }
            if bucket.is_empty() {
                first.remove();
            }
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A bucket's width in microseconds.
    const BUCKET_MICROS: i64 = 1 << BUCKET_SHIFT;

    proptest! {
        /// Rows filed and expired in any interleaving come out exactly once, at the first
        /// expiry whose watermark reaches them: as a sorted list would give them. Due instants
        /// span a few buckets, so whole, partial and refiled buckets all occur.
        #[test]
        fn expires_what_a_sorted_list_expires(
            steps in prop::collection::vec(
                (prop::collection::vec(-3 * BUCKET_MICROS..3 * BUCKET_MICROS, 0..40),
                 -4 * BUCKET_MICROS..4 * BUCKET_MICROS), 0..30),
        ) {
            let mut queue = ExpiryQueue::default();
            let mut reference: Vec<(i64, usize)> = Vec::new();
            let mut next = 0usize;
            for (dues, watermark) in steps {
                for due in dues {
                    queue.push(due, (due, next));
                    reference.push((due, next));
                    next += 1;
                }
                let mut got = Vec::new();
                queue.expire(watermark, |row| got.push(row));
                let mut expected: Vec<(i64, usize)> =
                    reference.iter().copied().filter(|(due, _)| *due <= watermark).collect();
                reference.retain(|(due, _)| *due > watermark);
                got.sort();
                expected.sort();
                prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn a_partial_bucket_gives_its_due_rows_and_keeps_the_rest() {
        let mut queue = ExpiryQueue::default();
        for due in [5, 1, 9, 3, BUCKET_MICROS + 1] {
            queue.push(due, due);
        }
        let mut got = Vec::new();
        queue.expire(4, |row| got.push(row));
        got.sort();
        assert_eq!(got, [1, 3]);
        // Filed after the bucket was sorted: the bucket is sorted again.
        queue.push(2, 2);
        got.clear();
        queue.expire(BUCKET_MICROS, |row| got.push(row));
        got.sort();
        assert_eq!(got, [2, 5, 9]);
        assert_eq!(queue.buckets.len(), 1);
        got.clear();
        queue.expire(i64::MAX, |row| got.push(row));
        assert_eq!(got, [BUCKET_MICROS + 1]);
        assert!(queue.buckets.is_empty());
    }
}
