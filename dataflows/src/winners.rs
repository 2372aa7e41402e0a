//! The deduplication operator's table of winners, one compact entry per idempotency key.
//!
//! A key is held as the 128-bit hash of its text ([`DedupKey`]) mixed with its topic; the
//! entry holds the winner's timestamp and the [`Slot`] of its record in the [`WinnerLog`]:
//! the topic and key text, the winner's position and its raw bytes. An entry is 40 bytes in
//! `Slots` (module `slots`; the key text and the record's bytes would be ~450), and the expiry
//! buckets name a key by its 4-byte slot number. Whenever a candidate's hash finds an entry,
//! the logged topic and key text are compared: a different key with the same hash (never seen
//! in practice, but possible) lives in an exact side table instead, so the result is exact. A
//! later candidate is compared with the winner by timestamp first; on a tie its bytes are
//! compared with the logged ones.
//!
//! Retention (VIEWS.md): a winner earlier than the cutoff `W(e) - late_after` has expired. A
//! candidate that finds an expired winner is a new event (the old one stays counted), which
//! keeps the rule exact whenever entries are actually removed; [`WinnerTable::expire`] frees
//! them by minute buckets of their timestamp, so expiry costs only the keys that expire.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use pulso_events::{Position, Topic};

use crate::expiry_queue::ExpiryQueue;
use crate::ingest::DedupKey;
use crate::slots::Slots;
use crate::winner_log::{Slot, WinnerLog};

/// What the table keeps of a key's winner (its position and bytes are in the log).
#[derive(Clone, Copy, Debug)]
struct Winner {
    timestamp: i64,
    slot: Slot,
}

/// Bytes of a position at the head of a logged winner's bytes: partition, offset.
const POSITION: usize = 12;

/// A logged winner: its topic and key as they were offered, its position and raw bytes.
struct Logged {
    topic: u8,
    key: Vec<u8>,
    position: Position,
    raw: Vec<u8>,
}

impl Logged {
    /// The winner record at `slot` of `log`.
    fn read(log: &WinnerLog, slot: Slot) -> Logged {
        let (mut key, mut raw) = log.read(slot);
        let topic = key.remove(0);
        let position = Position {
            partition: i32::from_le_bytes(raw[..4].try_into().expect("4 bytes")),
            offset: i64::from_le_bytes(raw[4..POSITION].try_into().expect("8 bytes")),
        };
        raw.drain(..POSITION);
        Logged {
            topic,
            key,
            position,
            raw,
        }
    }
}

impl Winner {
    /// A winner whose topic, key, position and raw bytes are appended to `log`.
    fn logged(
        log: &mut WinnerLog,
        (topic, key): (Topic, &str),
        timestamp: i64,
        raw: &[u8],
        position: Position,
    ) -> Self {
        let partition = position.partition.to_le_bytes();
        let offset = position.offset.to_le_bytes();
        let key: [&[u8]; 2] = [&[topic as u8], key.as_bytes()];
        Winner {
            timestamp,
            slot: log.append_parts(&key, &[&partition, &offset, raw]),
        }
    }
}

/// The outcome of offering a candidate for its key.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// The first candidate of its key: it wins.
    New,
    /// It beats the winner, whose raw bytes and position are handed back (to retract it).
    Replaces(Vec<u8>, Position),
    /// The winner stays (an equal or greater candidate).
    Loses,
}

/// A key of [`WinnerTable::by_hash`]: the key text's 128-bit hash, its high half mixed with
/// the topic.
type Hashed = (u64, u64);

/// The log is rewritten with the live winners only once it holds more than twice as many
/// records as there are live keys, and at least this many more: its size stays within a
/// small multiple of the live state, at an amortised cost of one copy per appended record.
const COMPACT_SLACK: u64 = 1 << 20;

/// The winners of one worker's keys.
#[derive(Debug)]
pub struct WinnerTable {
    by_hash: Slots<Hashed, Winner>,
    /// Keys' slots by the minute of a winner's timestamp, for expiry (a slot whose winner has
    /// since changed, or that another key has since taken, is checked by its winner's
    /// timestamp when its bucket expires).
    by_minute: ExpiryQueue,
    /// Keys whose hash an entry of `by_hash` for another key already holds.
    collided: HashMap<(Topic, String), Winner>,
    log: WinnerLog,
}

impl Default for WinnerTable {
    fn default() -> Self {
        WinnerTable::with_log(WinnerLog::default())
    }
}

impl WinnerTable {
    /// A table whose byte log stays in memory.
    pub fn in_memory() -> Self {
        WinnerTable::with_log(WinnerLog::in_memory())
    }

    fn with_log(log: WinnerLog) -> Self {
        WinnerTable {
            by_hash: Slots::default(),
            by_minute: ExpiryQueue::default(),
            collided: HashMap::new(),
            log,
        }
    }

    /// Offers the candidate `(timestamp, raw)` read at `position` for the key `id`, whose
    /// text is `key`: the least `(timestamp, raw bytes)` of a key wins. A winner earlier than
    /// `cutoff` has expired: the candidate is then [`Offer::New`].
    pub fn offer(
        &mut self,
        id: DedupKey,
        key: &str,
        timestamp: i64,
        raw: &[u8],
        position: Position,
        cutoff: Option<i64>,
    ) -> Offer {
        let topic = id.topic;
        let mixed = (topic as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let hashed = (id.hash[1] ^ mixed, id.hash[0]);
        let log = &mut self.log;
        let expired = |winner: &Winner| cutoff.is_some_and(|c| winner.timestamp < c);
        let fresh =
            |log: &mut WinnerLog| Winner::logged(log, (topic, key), timestamp, raw, position);
        let (slot, made) = self.by_hash.slot_or_insert(hashed, || fresh(log));
        let winner = self.by_hash.get_mut(slot).expect("occupied").1;
        let offer = if made {
            Offer::New
        } else if expired(winner) {
            // An expired winner's entry is taken over, whichever key it held.
            *winner = fresh(log);
            Offer::New
        } else {
            let logged = Logged::read(log, winner.slot);
            if (logged.topic, logged.key.as_slice()) != (topic as u8, key.as_bytes()) {
                let candidate = (timestamp, raw, position);
                return offer_collided(&mut self.collided, log, topic, key, candidate, cutoff);
            }
            challenge(
                log,
                winner,
                (topic, key),
                (timestamp, raw, position),
                logged,
            )
        };
        if offer != Offer::Loses {
            self.by_minute.push(ExpiryQueue::bucket_of(timestamp), slot);
        }
        offer
    }

    /// Removes the winners earlier than `cutoff` whose whole minute is before it (the others
    /// are treated as expired by [`WinnerTable::offer`] and removed with a later cutoff).
    /// Returns how many keys were removed.
    pub fn expire(&mut self, cutoff: i64) -> usize {
        let mut removed = 0;
        while let Some((_, slots)) = self.by_minute.pop_before(cutoff) {
            for slot in slots {
                let expired = self
                    .by_hash
                    .get_mut(slot)
                    .is_some_and(|(_, winner)| winner.timestamp < cutoff);
                if expired {
                    self.by_hash.remove(slot);
                    removed += 1;
                }
            }
        }
        if !self.collided.is_empty() {
            let before = self.collided.len();
            self.collided.retain(|_, winner| winner.timestamp >= cutoff);
            removed += before - self.collided.len();
        }
        let live = (self.by_hash.len() + self.collided.len()) as u64;
        if self.log.records() > 2 * live + COMPACT_SLACK {
            self.compact();
        }
        removed
    }

    /// Rewrites the log with the live winners' records only.
    fn compact(&mut self) {
        let old = &self.log;
        let mut log = old.empty_like();
        for winner in self.by_hash.values_mut().chain(self.collided.values_mut()) {
            let (key, bytes) = old.read(winner.slot);
            winner.slot = log.append(&key, &bytes);
        }
        self.log = log;
    }

    /// The greatest winner timestamp, by a scan of every entry.
    pub fn greatest_timestamp(&self) -> Option<i64> {
        self.by_hash
            .values()
            .chain(self.collided.values())
            .map(|w| w.timestamp)
            .max()
    }

    /// Keys held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_hash.len() + self.collided.len()
    }
}

/// [`WinnerTable::offer`] for a key whose hash another key's entry holds.
fn offer_collided(
    collided: &mut HashMap<(Topic, String), Winner>,
    log: &mut WinnerLog,
    topic: Topic,
    key: &str,
    (timestamp, raw, position): (i64, &[u8], Position),
    cutoff: Option<i64>,
) -> Offer {
    let fresh = |log: &mut WinnerLog| Winner::logged(log, (topic, key), timestamp, raw, position);
    match collided.entry((topic, key.to_string())) {
        Entry::Vacant(vacant) => {
            vacant.insert(fresh(log));
            Offer::New
        }
        Entry::Occupied(occupied) => {
            let winner = occupied.into_mut();
            if cutoff.is_some_and(|c| winner.timestamp < c) {
                *winner = fresh(log);
                return Offer::New;
            }
            let logged = Logged::read(log, winner.slot);
            challenge(
                log,
                winner,
                (topic, key),
                (timestamp, raw, position),
                logged,
            )
        }
    }
}

/// Compares a candidate with `winner` (logged as `logged`), replacing it when the candidate
/// is less.
fn challenge(
    log: &mut WinnerLog,
    winner: &mut Winner,
    key: (Topic, &str),
    (timestamp, raw, position): (i64, &[u8], Position),
    logged: Logged,
) -> Offer {
    if (timestamp, raw) >= (winner.timestamp, logged.raw.as_slice()) {
        return Offer::Loses;
    }
    *winner = Winner::logged(log, key, timestamp, raw, position);
    Offer::Replaces(logged.raw, logged.position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expiry_queue::BUCKET;

    fn at(offset: i64) -> Position {
        Position {
            partition: 0,
            offset,
        }
    }

    impl WinnerTable {
        /// Offers with the key's hash, or `hash` instead when given (to force collisions).
        fn offer_as(
            &mut self,
            hash: Option<[u64; 2]>,
            (t, k): (Topic, &str),
            ts: i64,
            raw: &[u8],
            p: Position,
            cutoff: Option<i64>,
        ) -> Offer {
            let id = match hash {
                Some(hash) => DedupKey { topic: t, hash },
                None => DedupKey::of(t, k),
            };
            self.offer(id, k, ts, raw, p, cutoff)
        }

        fn offer_at(
            &mut self,
            t: Topic,
            k: &str,
            ts: i64,
            raw: &[u8],
            p: Position,
            cutoff: Option<i64>,
        ) -> Offer {
            self.offer_as(None, (t, k), ts, raw, p, cutoff)
        }

        fn offer_now(&mut self, t: Topic, k: &str, ts: i64, raw: &[u8], p: Position) -> Offer {
            self.offer_at(t, k, ts, raw, p, None)
        }
    }

    #[test]
    fn expired_winners_give_way_and_are_removed() {
        let mut table = WinnerTable::default();
        let t = Topic::Orders;
        let minute = BUCKET;
        assert_eq!(table.offer_at(t, "a", 10, b"x", at(0), None), Offer::New);
        assert_eq!(
            table.offer_at(t, "b", 5 * minute, b"x", at(1), None),
            Offer::New
        );
        // Not expired: the later candidate loses.
        assert_eq!(
            table.offer_at(t, "a", 20, b"x", at(2), Some(10)),
            Offer::Loses
        );
        // Expired (10 < 11): the candidate is a new event.
        assert_eq!(
            table.offer_at(t, "a", 20, b"x", at(3), Some(11)),
            Offer::New
        );
        assert_eq!(table.expire(2 * minute), 1);
        assert_eq!(table.len(), 1);
        assert_eq!(table.expire(6 * minute), 1);
        assert_eq!(table.len(), 0);
        assert_eq!(
            table.offer_at(t, "b", 6 * minute, b"x", at(4), None),
            Offer::New
        );
    }

    #[test]
    fn compaction_keeps_the_live_winners_only() {
        let mut table = WinnerTable::in_memory();
        let t = Topic::Orders;
        let n = COMPACT_SLACK as i64 + 100;
        for i in 0..n {
            let key = format!("k{i}");
            let ts = i * BUCKET;
            assert_eq!(table.offer_at(t, &key, ts, b"old", at(i), None), Offer::New);
        }
        // All but the last ten expire: the log is rewritten with those ten.
        table.expire((n - 10) * BUCKET);
        assert_eq!(table.len(), 10);
        assert_eq!(table.log.records(), 10);
        for i in n - 10..n {
            let (key, ts) = (format!("k{i}"), i * BUCKET);
            assert_eq!(
                table.offer_at(t, &key, ts, b"old", at(i), None),
                Offer::Loses
            );
            assert_eq!(
                table.offer_at(t, &key, ts, b"zzz", at(i), None),
                Offer::Loses
            );
            assert_eq!(
                table.offer_at(t, &key, ts, b"abc", at(i), None),
                Offer::Replaces(b"old".to_vec(), at(i))
            );
        }
    }

    #[test]
    fn an_entry_is_forty_bytes() {
        assert_eq!(std::mem::size_of::<Option<(Hashed, Winner)>>(), 40);
    }

    #[test]
    fn least_timestamp_then_bytes_wins() {
        let mut table = WinnerTable::default();
        let t = Topic::Orders;
        assert_eq!(table.offer_now(t, "k", 10, b"b", at(0)), Offer::New);
        assert_eq!(table.offer_now(t, "k", 10, b"b", at(1)), Offer::Loses);
        assert_eq!(table.offer_now(t, "k", 11, b"a", at(2)), Offer::Loses);
        assert_eq!(
            table.offer_now(t, "k", 10, b"a", at(3)),
            Offer::Replaces(b"b".to_vec(), at(0))
        );
        assert_eq!(
            table.offer_now(t, "k", 9, b"z", at(4)),
            Offer::Replaces(b"a".to_vec(), at(3))
        );
        assert_eq!(
            table.offer_now(Topic::Inventory, "k", 50, b"z", at(5)),
            Offer::New
        );
        assert_eq!(table.len(), 2);
        assert_eq!(table.greatest_timestamp(), Some(50));
    }

    #[test]
    fn keys_sharing_a_hash_are_kept_apart() {
        let mut table = WinnerTable::in_memory();
        // Every key hashes to 7: they share one entry's hash.
        let same = Some([7, 0]);
        let t = Topic::Orders;
        assert_eq!(
            table.offer_as(same, (t, "a"), 10, b"x", at(0), None),
            Offer::New
        );
        assert_eq!(
            table.offer_as(same, (t, "b"), 20, b"y", at(1), None),
            Offer::New
        );
        assert_eq!(
            table.offer_as(same, (t, "c"), 5, b"z", at(2), None),
            Offer::New
        );
        assert_eq!(
            table.offer_as(same, (t, "a"), 10, b"x", at(3), None),
            Offer::Loses
        );
        assert_eq!(
            table.offer_as(same, (t, "b"), 20, b"y", at(4), None),
            Offer::Loses
        );
        assert_eq!(
            table.offer_as(same, (t, "b"), 20, b"w", at(5), None),
            Offer::Replaces(b"y".to_vec(), at(1))
        );
        assert_eq!(
            table.offer_as(same, (t, "c"), 4, b"z", at(6), None),
            Offer::Replaces(b"z".to_vec(), at(2))
        );
        assert_eq!(
            table.offer_as(same, (Topic::Inventory, "b"), 1, b"q", at(7), None),
            Offer::New
        );
        assert_eq!(table.len(), 4);
        assert_eq!(table.collided.len(), 2);
        assert_eq!(table.greatest_timestamp(), Some(20));
    }
}
