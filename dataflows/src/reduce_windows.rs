//! `reduce_windows`: windowed view rows that are not sums (percentiles, maxima), whose
//! windows expire like those of [`crate::windows::sum_windows`].
//!
//! Per key it keeps the multiset of the key's values (a sorted map of value to count: for
//! latencies, one entry per distinct millisecond value, not per event) and emits, once per
//! epoch and changed key, the old row retracted and the new one inserted, where a row is
//! what `logic` computes from the multiset. A key whose multiset empties has no row. Changes
//! that reach an expired window are not applied, and an expired window's multiset is
//! forgotten (its row stays as it left, in the sinks' history), exactly as `sum_windows`.

use hashbrown::HashMap;
use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::hashable::Hashable;
use differential_dataflow::ExchangeData;
use pulso_events::time::Granularity;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use crate::retention::WindowHorizons;
use crate::watermark::{Maxima, Watermark};
use crate::window_rows::WindowRows;
use crate::Epoch;

/// A key's values: each distinct value with its (positive) count.
pub type Multiset<V> = BTreeMap<V, i64>;

/// Changes waiting for their epoch to close, with the capability to emit at it.
type Pending<K, V> = BTreeMap<Epoch, (Capability<Epoch>, HashMap<K, Vec<(V, isize)>>)>;

/// Reduces the values of each key to one row `logic(key, values)`, where the key's window
/// `window(key)` expires as `horizons` say against the watermark of `maxima`. Emits
/// `(key, row)` for every key with at least one value.
pub fn reduce_windows<'s, K, V, R, L>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, V)>,
    window: fn(&K) -> (Granularity, i64),
    logic: L,
    maxima: Maxima<'s>,
    horizons: WindowHorizons,
) -> VecCollection<'s, Epoch, (K, R)>
where
    K: ExchangeData + Hashable + Hash,
    V: ExchangeData,
    R: ExchangeData,
    L: Fn(&K, &Multiset<V>) -> R + 'static,
{
    let by_key = Exchange::new(|((key, _), _, _): &((K, V), Epoch, isize)| key.hashed().into());
    input
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<((K, R), Epoch, isize)>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            name,
            |_capability, _info| {
                let mut state: WindowRows<K, Multiset<V>> = WindowRows::new(horizons, window);
                let mut pending = Pending::<K, V>::new();
                let mut watermark = Watermark::default();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    maxima.for_each(|_, data| watermark.receive_all(data));
                    input.for_each(|capability, data| {
                        for ((key, value), time, diff) in data.drain(..) {
                            pending
                                .entry(time)
                                .or_insert_with(|| (capability.delayed(&time, 0), HashMap::new()))
                                .1
                                .entry(key)
                                .or_default()
                                .push((value, diff));
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key())
                            || maxima_frontier.less_than(entry.key())
                        {
                            break;
                        }
                        let time = *entry.key();
                        let (capability, changes) = entry.remove();
                        let w = watermark.at(time);
                        state.expire(w);
                        let mut session = output.session(&capability);
                        for (key, deltas) in changes {
                            if state.expired(&key, w) {
                                continue;
                            }
                            let slot = state.slot(key.clone());
                            let values = state.value(slot);
                            let old = (!values.is_empty()).then(|| logic(&key, values));
                            for (value, diff) in deltas {
                                let count = values.entry(value.clone()).or_default();
                                *count += diff as i64;
                                if *count == 0 {
                                    values.remove(&value);
                                }
                            }
                            let new = (!values.is_empty()).then(|| logic(&key, values));
                            if values.is_empty() {
                                state.remove(slot);
                            }
                            if old == new {
                                continue;
                            }
                            if let Some(old) = old {
                                session.give(((key.clone(), old), time, -1));
                            }
                            if let Some(new) = new {
                                session.give(((key, new), time, 1));
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}
