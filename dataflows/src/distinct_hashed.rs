//! `distinct_hashed`: the distinct rows of a collection whose rows are large (timeline
//! entries with their summary texts), holding per distinct row its 128-bit hash, count and
//! event time, not the row. A row is emitted when its count leaves zero and retracted when it
//! returns there; both moments come with an input change that carries the row itself, so the
//! operator never needs it again.
//!
//! Two different rows of equal 128-bit hash (XXH3) would count as one: for a billion rows the
//! chance of that is below 10^-20, against the ~450 bytes per row a row-keyed distinct holds
//! (benches/RESULTS.md, "Tracking entries by their hash").
//!
//! The hashes live in `Slots` (module `slots`): a row's hash and state are 40 bytes in a
//! numbered slot, the expiry queue names a row by its 4-byte slot number, and the hash table
//! holds slot numbers only (a hash map of the rows doubled its whole table of 32-byte entries
//! as it grew, and the queue held each 16-byte hash again).
//!
//! Rows expire like the keys of [`crate::summarise::summarise_expiring`] with no `keep`: at
//! epoch `e`, a row whose event time is earlier than `W(e) - horizon` leaves the state without
//! changing the output, and a later change of it starts afresh.

use crate::consolidation::consolidate;
use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::ExchangeData;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use crate::expiry_queue::ExpiryQueue;
use crate::pending::Pending;
use crate::retention::Horizon;
use crate::slots::Slots;
use crate::watermark::{Maxima, Watermark};
use crate::Epoch;

/// What is held per distinct row.
struct Held {
    /// The sum of the row's changes (present when not zero).
    count: isize,
    /// The row's event time.
    time: i64,
}

/// The distinct rows of `input` (each present row once), rows identified by `hash`; a row of
/// event time `time(row)` expires `horizon` after it against the watermark of `maxima`.
/// Output equals a `distinct` of `input` whose rows expire so.
pub fn distinct_hashed<'s, D>(
    name: &str,
    input: VecCollection<'s, Epoch, D>,
    hash: fn(&D) -> u128,
    time: fn(&D) -> i64,
    maxima: Maxima<'s>,
    horizon: Horizon,
) -> VecCollection<'s, Epoch, D>
where
    D: ExchangeData,
{
    let by_hash = Exchange::new(|((h, _), _, _): &((u128, D), Epoch, isize)| *h as u64);
    input
        .map(move |row| (hash(&row), row))
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(D, Epoch, isize)>>, _, _, _, _>(
            maxima,
            by_hash,
            Pipeline,
            name,
            |_capability, _info| {
                let mut held: Slots<(u64, u64), Held> = Slots::default();
                let mut queue = ExpiryQueue::default();
                let mut watermark = Watermark::default();
                let mut pending = Pending::<(u128, D)>::default();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    maxima.for_each(|_, data| watermark.receive_all(data));
                    input.for_each(|capability, data| pending.hold(&capability, data));
                    while let Some((epoch, capability, mut updates)) =
                        pending.next_complete(frontier, maxima_frontier)
                    {
                        let cutoff = horizon.cutoff(watermark.at(epoch));
                        if let Some(cutoff) = cutoff {
                            expire(&mut held, &mut queue, cutoff);
                        }
                        consolidate(&mut updates);
                        let mut session = output.session(&capability);
                        for ((h, row), diff) in updates {
                            let at = time(&row);
                            let key = ((h >> 64) as u64, h as u64);
                            let (slot, made) =
                                held.slot_or_insert(key, || Held { count: 0, time: at });
                            if made {
                                queue.push(ExpiryQueue::bucket_of(at), slot);
                            }
                            let state = held.get_mut(slot).expect("occupied").1;
                            if cutoff.is_some_and(|cutoff| state.time < cutoff) {
                                // Gone before this epoch: its output stays as it was.
                                state.count = 0;
                            }
                            let was = state.count != 0;
                            state.count += diff;
                            let is = state.count != 0;
                            if was != is {
                                session.give((row, epoch, if is { 1 } else { -1 }));
                            }
                            if !is {
                                held.remove(slot);
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}

/// Removes the queued rows whose event time is in a minute wholly before `cutoff` and earlier
/// than it. A queued slot may since have been freed, or taken by another row: the row in it
/// is decided by its own time.
fn expire(held: &mut Slots<(u64, u64), Held>, queue: &mut ExpiryQueue, cutoff: i64) {
    while let Some((_, slots)) = queue.pop_before(cutoff) {
        for slot in slots {
            if held
                .get_mut(slot)
                .is_some_and(|(_, state)| state.time < cutoff)
            {
                held.remove(slot);
            }
        }
    }
}
