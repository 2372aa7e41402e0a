//! Event-time alignment of one source's partitions.
//!
//! Kafka hands out a backlog partition by partition, a fetch (up to 1 MiB) at a time, so on a
//! catch-up the partitions of a small topic deliver days of event time while those of a large
//! one deliver minutes. The engine's watermark is the greatest accepted event time (VIEWS.md,
//! Retention): read that way, the large topic's records would fall more than `late_after`
//! behind it and be rejected as `too_late`, although none of them arrived late. So the source
//! holds what it fetched per partition ([`Lane`]) and hands a record out only when its event
//! time is at most a drift past the least event time of the partitions that still have records
//! to read ([`limit`]): partitions far ahead are paused until the others catch up, as Flink's
//! watermark alignment and Kafka Streams' timestamp-ordered partition groups do.
//!
//! The sources of one process share their bounds ([`SharedBounds`]), so the partitions of all
//! its workers go in step; the processes of a cluster each align their own partitions.
//!
//! A partition with records left to read but none delivered holds the others back only for
//! [`PATIENCE`] after it was last heard from, so a partition the broker does not serve cannot
//! stop the rest; the partition whose next record is the earliest can always go on, so the
//! source never stalls. Alignment orders reads only: which records are accepted is decided by
//! the engine as before.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pulso_events::time::Micros;

/// How long a partition that has records left to read, but delivered none, holds the others
/// back.
pub(crate) const PATIENCE: Duration = Duration::from_secs(2);

/// Records held for one partition before the consumer is paused on it (resumed at half).
pub(crate) const HOLD_MOST: usize = 8192;

/// One partition's fetched records (`T`: a record and what the source keeps with it) that are
/// not handed out yet.
#[derive(Debug)]
pub(crate) struct Lane<T> {
    held: VecDeque<(Micros, T)>,
    /// The event time of the last record fetched whose time could be read.
    last: Option<Micros>,
    /// When the partition last delivered a record, or was assigned.
    heard: Instant,
    /// Whether the consumer is paused on the partition.
    pub(crate) paused: bool,
}

impl<T> Lane<T> {
    /// A partition assigned at `now`, holding nothing.
    pub(crate) fn new(now: Instant) -> Lane<T> {
        Lane {
            held: VecDeque::new(),
            last: None,
            heard: now,
            paused: false,
        }
    }

    /// Holds a record fetched at `now`. A record whose event time cannot be read takes the
    /// time of the partition's previous record (it goes out right after it).
    pub(crate) fn hold(&mut self, time: Option<Micros>, record: T, now: Instant) {
        if time.is_some() {
            self.last = time;
        }
        let time = time.or(self.last).unwrap_or(Micros::MIN);
        self.heard = now;
        self.held.push_back((time, record));
    }

    /// The number of records held.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// The event time this partition holds the others to: that of its next record when it
    /// holds one; when it holds none but has records left to read (`behind`), that of the
    /// last one it delivered (the least time if none yet), for [`PATIENCE`] after it was last
    /// heard from; else none.
    pub(crate) fn bound(&self, behind: bool, now: Instant) -> Option<Micros> {
        match self.held.front() {
            Some((time, _)) => Some(*time),
            None if behind && now.saturating_duration_since(self.heard) < PATIENCE => {
                Some(self.last.unwrap_or(Micros::MIN))
            }
            None => None,
        }
    }

    /// Hands out held records in order, at most `room` of them, while their event time is at
    /// most `limit` (every one when `None`).
    pub(crate) fn release(
        &mut self,
        limit: Option<Micros>,
        room: usize,
    ) -> impl Iterator<Item = T> + '_ {
        let mut left = room;
        std::iter::from_fn(move || {
            let (time, _) = self.held.front()?;
            if left == 0 || limit.is_some_and(|limit| *time > limit) {
                return None;
            }
            left -= 1;
            self.held.pop_front().map(|(_, record)| record)
        })
    }

    /// Drops every held record (the partition is read again from its next offset), as
    /// assigned anew at `now`.
    pub(crate) fn clear(&mut self, now: Instant) {
        self.held.clear();
        self.heard = now;
        self.paused = false;
    }
}

/// The greatest event time that may be handed out: `drift` past the least of the partitions'
/// bounds ([`Lane::bound`]). `None` (no limit) without a drift or when no partition bounds.
pub(crate) fn limit(
    bounds: impl IntoIterator<Item = Option<Micros>>,
    drift: Option<Micros>,
) -> Option<Micros> {
    let drift = drift?;
    bounds
        .into_iter()
        .flatten()
        .min()
        .map(|floor| floor.saturating_add(drift))
}

/// How sources read in step: within `drift` of the least event time among their partitions
/// still being read, all the sources sharing `bounds` together.
#[derive(Clone, Debug, Default)]
pub struct Alignment {
    /// How far ahead of that least time a record may be handed out; `None`: no alignment,
    /// records go out as fetched.
    pub drift: Option<Micros>,
    /// The bounds of the sources that read in step (the workers of a process).
    pub bounds: SharedBounds,
}

/// The least bound of each source of a process, shared by them: each reads in step with the
/// least of all (a source that has not published for [`PATIENCE`] is left out).
#[derive(Clone, Debug, Default)]
pub struct SharedBounds(Arc<Mutex<BTreeMap<usize, Published>>>);

/// A source's least bound and when it published it.
type Published = (Option<Micros>, Instant);

impl SharedBounds {
    /// Records `bound` as worker `worker`'s at `now`; returns the least bound of all.
    pub(crate) fn publish(
        &self,
        worker: usize,
        bound: Option<Micros>,
        now: Instant,
    ) -> Option<Micros> {
        let mut bounds = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bounds.insert(worker, (bound, now));
        bounds
            .values()
            .filter(|(_, at)| now.saturating_duration_since(*at) < PATIENCE)
            .filter_map(|(bound, _)| *bound)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records stand for themselves by their offset.
    fn record(offset: i64) -> i64 {
        offset
    }

    #[test]
    fn records_go_out_in_order_up_to_the_limit() {
        let now = Instant::now();
        let mut lane: Lane<i64> = Lane::new(now);
        for (offset, time) in [(0, 10), (1, 30), (2, 20), (3, 50)] {
            lane.hold(Some(time), record(offset), now);
        }
        let out: Vec<i64> = lane.release(Some(30), usize::MAX).collect();
        assert_eq!(out, [0, 1, 2], "20 goes out behind 30, in offset order");
        assert_eq!(lane.release(Some(49), usize::MAX).count(), 0, "50 waits");
        assert_eq!(lane.bound(false, now), Some(50));
        assert_eq!(lane.release(None, 4).collect::<Vec<_>>(), [3]);
        assert_eq!(lane.held(), 0);
    }

    #[test]
    fn release_stops_when_out_is_full() {
        let now = Instant::now();
        let mut lane: Lane<i64> = Lane::new(now);
        for offset in 0..5 {
            lane.hold(Some(offset), record(offset), now);
        }
        assert_eq!(lane.release(None, 2).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(lane.held(), 3);
    }

    #[test]
    fn a_record_without_a_time_follows_its_predecessor() {
        let now = Instant::now();
        let mut lane: Lane<i64> = Lane::new(now);
        lane.hold(None, record(0), now);
        lane.hold(Some(100), record(1), now);
        lane.hold(None, record(2), now);
        let out: Vec<i64> = lane.release(Some(0), usize::MAX).collect();
        assert_eq!(out, [0], "no time and no predecessor: out at once");
        assert_eq!(lane.bound(false, now), Some(100));
        let out: Vec<i64> = lane.release(Some(100), usize::MAX).collect();
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn an_empty_partition_behind_holds_the_others_for_a_while() {
        let start = Instant::now();
        let mut lane: Lane<i64> = Lane::new(start);
        assert_eq!(
            lane.bound(true, start),
            Some(Micros::MIN),
            "nothing heard yet"
        );
        assert_eq!(lane.bound(false, start), None, "caught up: holds nothing");
        lane.hold(Some(40), record(0), start);
        assert_eq!(lane.release(None, usize::MAX).count(), 1);
        assert_eq!(lane.bound(true, start), Some(40), "its last record's time");
        assert_eq!(lane.bound(true, start + PATIENCE), None, "silent too long");
    }

    #[test]
    fn the_limit_is_the_least_bound_plus_the_drift() {
        assert_eq!(limit([Some(50), None, Some(20)], Some(5)), Some(25));
        assert_eq!(limit([None, None], Some(5)), None, "nothing bounds");
        assert_eq!(limit([Some(20)], None), None, "no alignment");
        assert_eq!(limit([Some(Micros::MIN)], Some(5)), Some(Micros::MIN + 5));
        assert_eq!(limit([Some(Micros::MAX)], Some(5)), Some(Micros::MAX));
    }

    #[test]
    fn shared_bounds_give_the_least_of_the_live_sources() {
        let start = Instant::now();
        let shared = SharedBounds::default();
        assert_eq!(shared.publish(0, Some(50), start), Some(50));
        assert_eq!(shared.publish(1, Some(20), start), Some(20));
        assert_eq!(
            shared.publish(2, None, start),
            Some(20),
            "none: holds nothing"
        );
        assert_eq!(shared.publish(1, Some(70), start), Some(50), "replaced");
        let later = start + PATIENCE;
        assert_eq!(
            shared.publish(2, Some(90), later),
            Some(90),
            "the silent are left out"
        );
    }

    #[test]
    fn clearing_drops_what_is_held() {
        let now = Instant::now();
        let mut lane: Lane<i64> = Lane::new(now);
        lane.hold(Some(1), record(0), now);
        lane.paused = true;
        lane.clear(now);
        assert_eq!(lane.held(), 0);
        assert!(!lane.paused);
        assert_eq!(lane.bound(false, now), None);
    }
}
