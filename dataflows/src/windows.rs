//! `sum_windows`: the totals of windowed view rows, whose windows expire (VIEWS.md,
//! "Retention": a row whose window ends at or before `W(e) - windows.<granularity>` leaves the
//! engine).
//!
//! Like differential's `count_total` over [`Sums`] differences, it emits each changed row's old
//! totals retracted and new totals inserted, once per epoch; unlike it, it keeps one row of
//! totals per key (packed when the view is wide: [`RowTotals`]) in numbered slots, and
//! forgets a row once its window has expired. Changes that reach an
//! expired window afterwards (a webhook for a notification sent long before, a closure dated
//! long ago) are not applied: the row stays as it left, in the sinks' history.

use std::hash::Hash;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::difference::{IsZero, Semigroup};
use differential_dataflow::hashable::Hashable;
use differential_dataflow::ExchangeData;
use pulso_events::time::Granularity;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use crate::pre_sum::{add_to_pending, pre_sum, Pending};
use crate::retention::WindowHorizons;
use crate::row_totals::RowTotals;
use crate::sums::Sums;
use crate::watermark::{Maxima, Watermark};
use crate::window_rows::WindowRows;
use crate::Epoch;

/// Whether the window `(granularity, start)` has expired at watermark `w`.
pub fn window_expired(
    horizons: &WindowHorizons,
    (granularity, start): (Granularity, i64),
    w: Option<i64>,
) -> bool {
    let end = start.saturating_add(granularity.micros());
    horizons
        .of(granularity)
        .cutoff(w)
        .is_some_and(|cutoff| end <= cutoff)
}

/// Sums the `Sums` contributions of each key, whose window `window(key)` expires as
/// `horizons` say against the watermark of `maxima`. Emits `(key, totals)` rows: present when
/// the totals are not all zero.
pub fn sum_windows<'s, K, const N: usize>(
    name: &str,
    input: VecCollection<'s, Epoch, K, Sums<N>>,
    window: fn(&K) -> (Granularity, i64),
    maxima: Maxima<'s>,
    horizons: WindowHorizons,
) -> VecCollection<'s, Epoch, (K, Sums<N>)>
where
    K: ExchangeData + Hashable + Hash,
    Sums<N>: RowTotals,
{
    let by_key = Exchange::new(|(key, _, _): &(K, Epoch, Sums<N>)| key.hashed().into());
    pre_sum(input)
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<((K, Sums<N>), Epoch, isize)>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            name,
            |_capability, _info| {
                let mut totals: WindowRows<K, <Sums<N> as RowTotals>::Held> =
                    WindowRows::new(horizons, window);
                let mut pending = Pending::<K, N>::new();
                let mut watermark = Watermark::default();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    maxima.for_each(|_, data| watermark.receive_all(data));
                    input.for_each(|capability, data| {
                        add_to_pending(&mut pending, &capability, data)
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
                        totals.expire(w);
                        let mut session = output.session(&capability);
                        for (key, delta) in changes {
                            if delta.is_zero() || totals.expired(&key, w) {
                                continue;
                            }
                            let held = totals.find(&key);
                            let old = held
                                .map(|slot| Sums::from_held(totals.value(slot)))
                                .unwrap_or_default();
                            let mut new = old;
                            new.plus_equals(&delta);
                            if !old.is_zero() {
                                session.give(((key.clone(), old), time, -1));
                            }
                            if new.is_zero() {
                                if let Some(slot) = held {
                                    totals.remove(slot);
                                }
                                continue;
                            }
                            session.give(((key.clone(), new), time, 1));
                            let slot = held.unwrap_or_else(|| totals.slot(key));
                            *totals.value(slot) = new.hold();
                        }
                    }
                }
            },
        )
        .as_collection()
}
