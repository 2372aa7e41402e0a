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
//!
//! Most keys have one or two members: a key's counts are a vector of exact length while it
//! has at most [`FEW`] members (24 bytes per member of `tracking_activity`: an entity's
//! 128-bit hash and its count), a hash map beyond (a map holds room for four entries from its
//! first, over 100 bytes).

use hashbrown::HashMap;
use std::hash::Hash;

use crate::consolidation::consolidate;
use differential_dataflow::collection::{AsCollection, VecCollection};
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
                let mut members: WindowRows<K, Members<M>> = WindowRows::new(horizons, window);
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
                            let (old, new) = counts.add(member, diff);
                            let distinct = i64::from(new > 0) - i64::from(old > 0);
                            if counts.is_empty() {
                                members.remove(slot);
                            }
                            session.give((key, time, Sums::of(&[diff as i64, distinct])));
                        }
                    }
                }
            },
        )
        .as_collection()
}

/// The most members a key holds in a vector; more go to a hash map.
const FEW: usize = 8;

/// One key's members with their (non-zero) counts.
enum Members<M> {
    /// At most [`FEW`] members, in a vector of exact length.
    Few(Vec<(M, isize)>),
    /// More members (boxed: an inline map would make every key's `Members` 48 bytes, not 24).
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<M, isize>>),
}

impl<M> Default for Members<M> {
    fn default() -> Self {
        Members::Few(Vec::new())
    }
}

impl<M: Hash + Eq> Members<M> {
    /// Adds `diff` to `member`'s count (a member whose count becomes 0 leaves); returns its
    /// count before and after.
    fn add(&mut self, member: M, diff: isize) -> (isize, isize) {
        match self {
            Members::Few(few) => match few.iter().position(|(m, _)| *m == member) {
                Some(at) => {
                    let old = few[at].1;
                    few[at].1 += diff;
                    if few[at].1 == 0 {
                        few.swap_remove(at);
                        few.shrink_to_fit();
                    }
                    (old, old + diff)
                }
                None if few.len() < FEW => {
                    few.reserve_exact(1);
                    few.push((member, diff));
                    (0, diff)
                }
                None => {
                    let mut many: HashMap<M, isize> = few.drain(..).collect();
                    many.insert(member, diff);
                    *self = Members::Many(Box::new(many));
                    (0, diff)
                }
            },
            Members::Many(many) => {
                let old = many.get(&member).copied().unwrap_or(0);
                if old + diff == 0 {
                    many.remove(&member);
                } else {
                    many.insert(member, old + diff);
                }
                (old, old + diff)
            }
        }
    }

    /// Whether no member is present.
    fn is_empty(&self) -> bool {
        match self {
            Members::Few(few) => few.is_empty(),
            Members::Many(many) => many.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_count_alike_in_a_vector_and_in_a_map() {
        let mut members = Members::default();
        let mut model: HashMap<u32, isize> = HashMap::new();
        // Members 0..20 come and go: the vector fills past FEW and turns into a map.
        for step in 0..400u32 {
            let member = (step * 7) % 20;
            let diff = if step % 3 == 0 { -1 } else { 1 };
            let old = model.get(&member).copied().unwrap_or(0);
            assert_eq!(members.add(member, diff), (old, old + diff));
            if old + diff == 0 {
                model.remove(&member);
            } else {
                model.insert(member, old + diff);
            }
            assert_eq!(members.is_empty(), model.is_empty());
        }
        if let Members::Few(few) = &members {
            assert_eq!(few.len(), model.len());
            assert_eq!(few.capacity(), few.len());
        }
    }
}
