//! `distinct_windows`: the events and distinct members of windowed keys, whose windows expire
//! (VIEWS.md, "Retention"), as [`Sums`] contributions `[events, distinct members]` per key for
//! [`crate::windows::sum_windows`] to total.
//!
//! It keeps, per key, one count per distinct member (an entity id), never the events: an
//! event adds 1 to its member's count, a retraction (a winner replaced) subtracts 1; a member
//! whose count becomes positive adds 1 to the key's distinct members, one whose count falls to
//! 0 subtracts 1 and leaves the state. A key whose window has expired leaves the state at the
//! same watermark at which `sum_windows` forgets its row, and later changes to it are not
//! applied (they would not be by `sum_windows` either).

use std::collections::HashMap;
use std::hash::Hash;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::consolidation::consolidate;
use differential_dataflow::hashable::Hashable;
use differential_dataflow::ExchangeData;
use pulso_events::time::Granularity;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use crate::pending::Pending;
use crate::retention::WindowHorizons;
use crate::sums::Sums;
use crate::watermark::{Maxima, Watermark};
use crate::window_rows::WindowRows;
use crate::Epoch;

/// Turns `(key, member)` records (one per event) into `[events, distinct members]`
/// contributions per key, whose window `window(key)` expires as `horizons` say against the
/// watermark of `maxima`.
pub fn distinct_windows<'s, K, M>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, M)>,
    window: fn(&K) -> (Granularity, i64),
    maxima: Maxima<'s>,
    horizons: WindowHorizons,
) -> VecCollection<'s, Epoch, K, Sums<2>>
where
    K: ExchangeData + Hashable + Hash,
    M: ExchangeData + Hash,
{
    let by_key = Exchange::new(|((key, _), _, _): &((K, M), Epoch, isize)| key.hashed().into());
    input
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(K, Epoch, Sums<2>)>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            name,
            |_capability, _info| {
                // Per key, the count of each member present.
                let mut members: WindowRows<K, HashMap<M, isize>> =
                    WindowRows::new(horizons, window);
                let mut pending = Pending::<(K, M)>::default();
                let mut watermark = Watermark::default();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    maxima.for_each(|_, data| watermark.receive_all(data));
                    input.for_each(|capability, data| pending.hold(&capability, data));
                    while let Some((time, capability, mut changes)) =
                        pending.next_complete(frontier, maxima_frontier)
                    {
                        let w = watermark.at(time);
                        members.expire(w);
                        consolidate(&mut changes);
                        let mut session = output.session(&capability);
                        for ((key, member), diff) in changes {
                            if members.expired(&key, w) {
                                continue;
                            }
                            let slot = members.slot(key.clone());
                            let counts = members.value(slot);
                            let old = counts.get(&member).copied().unwrap_or(0);
                            let new = old + diff;
                            let distinct = i64::from(new > 0) - i64::from(old > 0);
                            if new == 0 {
                                counts.remove(&member);
                                if counts.is_empty() {
                                    members.remove(slot);
                                }
                            } else {
                                counts.insert(member, new);
                            }
                            session.give((key, time, Sums::of(&[diff as i64, distinct])));
                        }
                    }
                }
            },
        )
        .as_collection()
}
