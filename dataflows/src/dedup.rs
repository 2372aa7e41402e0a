//! Deduplication by idempotency key: per key, the event with the least `(timestamp, raw value
//! bytes)` wins, whatever the arrival order (EVENTS.md).
//!
//! A dedicated operator rather than a differential `reduce`: accepted records are only ever
//! added, so all a key needs is its current winner. The operator keeps one compact entry per
//! key ([`WinnerTable`]: timestamp, position, and where the winner's key and bytes lie in a
//! log outside the heap), where a `reduce` would keep every candidate twice (input and output
//! arrangements). When a better candidate arrives later, the old winner is decoded again from
//! its logged bytes and retracted, and the new one added, in the same epoch.
//!
//! Retention: at epoch `e`, a winner earlier than `W(e) - late_after` has expired; a later
//! candidate of its key counts as a new event (see [`crate::winners`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::collection::{AsCollection, VecCollection};
use pulso_events::{decode, Position};
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use crate::ingest::DedupKey;
use crate::retention::Horizon;
use crate::watermark::{Maxima, Watermark};
use crate::winners::{Offer, WinnerTable};
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
///
/// `maxima` gives the watermark; winners earlier than `W(e) - late_after` expire.
pub fn deduplicate<'s>(
    candidates: VecCollection<'s, Epoch, (DedupKey, Candidate)>,
    maxima: Maxima<'s>,
    late_after: Horizon,
) -> VecCollection<'s, Epoch, Deduplicated> {
    let by_key = Exchange::new(|((key, _), _, _): &CandidateUpdate| key.hash[0]);
    candidates
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(Deduplicated, Epoch, isize)>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            "DedupLeastTimestampBytes",
            |_capability, _info| {
                let mut winners = WinnerTable::default();
                let mut greatest: Option<i64> = None;
                let mut pending = Pending::new();
                let mut watermark = Watermark::default();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    maxima.for_each(|_, data| watermark.receive_all(data));
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
                        if frontier.less_equal(entry.key())
                            || maxima_frontier.less_than(entry.key())
                        {
                            break;
                        }
                        let time = *entry.key();
                        let (capability, mut arrived) = entry.remove();
                        let cutoff = late_after.cutoff(watermark.at(time));
                        if let Some(cutoff) = cutoff {
                            winners.expire(cutoff);
                        }
                        // The least candidate of each key among this epoch's arrivals first
                        // (keys sharing a hash stay apart: only equal texts are merged).
                        arrived.sort_unstable_by(|(a, x), (b, y)| {
                            (a, x.timestamp, &x.raw).cmp(&(b, y.timestamp, &y.raw))
                        });
                        arrived.dedup_by(|(later, l), (first, f)| {
                            later == first && l.event.dedup_key == f.event.dedup_key
                        });
                        let mut session = output.session(&capability);
                        let before = greatest;
                        let mut rescan = false;
                        for (key, candidate) in arrived {
                            let offer = winners.offer(
                                key,
                                &candidate.event.dedup_key,
                                candidate.timestamp,
                                &candidate.raw,
                                candidate.position,
                                cutoff,
                            );
                            match offer {
                                Offer::New => {
                                    greatest = greatest.max(Some(candidate.timestamp));
                                    session.give((Deduplicated::Event(candidate.event), time, 1));
                                }
                                Offer::Replaces(raw, position) => {
                                    // The old winner decoded when it won, so it decodes again;
                                    // were it not to, the run stops rather than miscount.
                                    let old = decode(key.topic, &raw, position)
                                        .expect("a deduplication winner decodes again");
                                    rescan |= Some(old.timestamp) == greatest
                                        && candidate.timestamp < old.timestamp;
                                    session.give((Deduplicated::Event(Arc::new(old)), time, -1));
                                    session.give((Deduplicated::Event(candidate.event), time, 1));
                                }
                                Offer::Loses => {}
                            }
                        }
                        if rescan {
                            greatest = winners.greatest_timestamp();
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
