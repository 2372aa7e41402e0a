//! Deduplication by idempotency key: per key, the event with the least `(timestamp, raw value
//! bytes)` wins, whatever the arrival order (EVENTS.md).
//!
//! A dedicated operator rather than a differential `reduce`: accepted records are only ever
//! added, so all a key needs is its current winner. The operator keeps one entry per key (the
//! winner's timestamp, raw bytes and event), where a `reduce` would keep every candidate twice
//! (input and output arrangements) and pay for merging them. When a better candidate arrives
//! later, the old winner is retracted and the new one added in the same epoch.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::hashable::Hashable;
use pulso_events::{decode, Position, Topic};
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use crate::ingest::DedupKey;
use crate::{Epoch, SharedEvent};

/// An accepted event competing for its idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Candidate {
    /// Event time: the least wins...
    pub timestamp: i64,
    /// ... then the least raw value bytes.
    pub raw: Arc<[u8]>,
    /// Where the record was read.
    pub position: Position,
    /// The decoded event.
    pub event: SharedEvent,
}

/// What the operator keeps of a key's winner: enough to compare a later candidate with it
/// and to decode the event again should it have to be retracted (rare: a conflicting
/// duplicate that arrives later and wins). The decoded event itself is not kept, which
/// halves the operator's memory.
struct Winner {
    timestamp: i64,
    raw: Arc<[u8]>,
    position: Position,
}

impl Winner {
    fn of(candidate: &Candidate) -> Winner {
        Winner {
            timestamp: candidate.timestamp,
            raw: Arc::clone(&candidate.raw),
            position: candidate.position,
        }
    }

    /// Whether `candidate` beats this winner: a less `(timestamp, raw bytes)`. Equal ones are
    /// the same record (same bytes, same key), so the winner stays.
    fn loses_to(&self, candidate: &Candidate) -> bool {
        (candidate.timestamp, &*candidate.raw) < (self.timestamp, &*self.raw)
    }

    /// The winner's event, decoded again exactly as it was when it won.
    fn event(&self, topic: Topic) -> Option<SharedEvent> {
        decode(topic, &self.raw, self.position).ok().map(Arc::new)
    }
}

/// What the operator emits: a deduplicated event, or a change of the greatest event time of
/// this worker's winners (the default `as_of` of open cases).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Deduplicated {
    /// A winner (or, with a negative difference, a retracted one).
    Event(SharedEvent),
    /// This worker's greatest winner event time.
    GreatestTime(i64),
}

/// An update of the candidates collection.
type CandidateUpdate = ((DedupKey, Candidate), Epoch, isize);

/// Candidates waiting for their epoch to close, with the capability to emit at it.
type Pending = BTreeMap<Epoch, (Capability<Epoch>, Vec<(DedupKey, Candidate)>)>;

/// Keeps one event per idempotency key: the one with the least `(timestamp, raw bytes)`.
///
/// # Contract
/// Candidates are only ever inserted (positive differences, as every source of Pulso does);
/// a retraction would need every losing candidate kept, which this operator does not do, so
/// it is ignored (and a debug build stops on it).
///
/// Besides the events, each worker emits the greatest event time of its winners whenever it
/// changes: it grows with each new winner, and falls only when the winner holding it is
/// replaced by a conflicting duplicate of a lesser timestamp (then the worker's winners are
/// scanned once for the new greatest; such replacements are rare).
pub fn deduplicate<'s>(
    candidates: VecCollection<'s, Epoch, (DedupKey, Candidate)>,
) -> VecCollection<'s, Epoch, Deduplicated> {
    let by_key = Exchange::new(|((key, _), _, _): &CandidateUpdate| key.hashed());
    candidates
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<(Deduplicated, Epoch, isize)>>, _, _, _>(
            by_key,
            "DedupLeastTimestampBytes",
            |_capability, _info| {
                let mut winners: HashMap<DedupKey, Winner> = HashMap::new();
                let mut greatest: Option<i64> = None;
                let mut pending = Pending::new();
                move |(input, frontier), output| {
                    input.for_each(|capability, data| {
                        for ((key, candidate), time, diff) in data.drain(..) {
                            debug_assert!(diff > 0, "a deduplication candidate was retracted");
                            if diff > 0 {
                                pending
                                    .entry(time)
                                    .or_insert_with(|| (capability.delayed(&time, 0), Vec::new()))
                                    .1
                                    .push((key, candidate));
                            }
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let time = *entry.key();
                        let (capability, mut arrived) = entry.remove();
                        // The least candidate of each key among this epoch's arrivals first.
                        arrived.sort_unstable();
                        arrived.dedup_by(|later, first| later.0 == first.0);
                        let mut session = output.session(&capability);
                        let before = greatest;
                        let mut rescan = false;
                        for (key, candidate) in arrived {
                            let topic = key.0;
                            match winners.entry(key) {
                                Entry::Vacant(vacant) => {
                                    vacant.insert(Winner::of(&candidate));
                                    greatest = greatest.max(Some(candidate.timestamp));
                                    session.give((Deduplicated::Event(candidate.event), time, 1));
                                }
                                Entry::Occupied(mut winner)
                                    if winner.get().loses_to(&candidate) =>
                                {
                                    // Always decodes (it did when it won); were it not to, the
                                    // old winner stays rather than leave two events counted.
                                    if let Some(old) = winner.get().event(topic) {
                                        rescan |= Some(winner.get().timestamp) == greatest
                                            && candidate.timestamp < winner.get().timestamp;
                                        winner.insert(Winner::of(&candidate));
                                        session.give((Deduplicated::Event(old), time, -1));
                                        session.give((
                                            Deduplicated::Event(candidate.event),
                                            time,
                                            1,
                                        ));
                                    } else {
                                        debug_assert!(false, "a winner no longer decodes");
                                    }
                                }
                                Entry::Occupied(_) => {}
                            }
                        }
                        if rescan {
                            greatest = winners.values().map(|w| w.timestamp).max();
                        }
                        if greatest != before {
                            if let Some(t) = before {
                                session.give((Deduplicated::GreatestTime(t), time, -1));
                            }
                            if let Some(t) = greatest {
                                session.give((Deduplicated::GreatestTime(t), time, 1));
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}
