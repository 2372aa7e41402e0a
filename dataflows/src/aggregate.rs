//! Named wrappers for the operator shapes every domain uses: pick the least or greatest value
//! per key, and sum [`Sums`] contributions per key into rows.

use differential_dataflow::collection::VecCollection;
use differential_dataflow::hashable::Hashable;
use differential_dataflow::operators::CountTotal;
use differential_dataflow::ExchangeData;

use crate::pack::Pack;
use crate::pre_sum::pre_sum;
use crate::retention::Horizon;
use crate::summarise::{summarise_expiring, Expiry, Fold, SummariseNamed};
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::Epoch;

/// Keeps, per key, the least value (values are `Ord`, so this is "earliest" when the value
/// starts with `(timestamp, event_id)`).
pub fn least_by_key<'s, K, V>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, V)>,
) -> VecCollection<'s, Epoch, (K, V)>
where
    K: ExchangeData + Hashable + std::hash::Hash,
    V: ExchangeData + Pack,
{
    input.summarise_named(name, |_key, values, output| {
        output.push((values[0].0.clone(), 1));
    })
}

/// Keeps, per key, the greatest value ("latest" when it starts with `(timestamp, event_id)`).
pub fn greatest_by_key<'s, K, V>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, V)>,
) -> VecCollection<'s, Epoch, (K, V)>
where
    K: ExchangeData + Hashable + std::hash::Hash,
    V: ExchangeData + Pack,
{
    input.summarise_named(name, |_key, values, output| {
        output.push((values[values.len() - 1].0.clone(), 1));
    })
}

/// Keeps, per key, the latest value: values start with their event time (and event id), and
/// come with that time. A key holds only its values of the last `late_after` and the latest
/// before them (see [`Fold`]), so a key that gets a value now and then for ever stays small.
pub fn latest_by_key<'s, K, V>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, (V, i64))>,
    maxima: Maxima<'s>,
    late_after: Horizon,
) -> VecCollection<'s, Epoch, (K, V)>
where
    K: ExchangeData + Hashable + std::hash::Hash,
    V: ExchangeData + Pack,
{
    let fold = Fold {
        late_after,
        fold: greatest::<V>,
    };
    summarise_expiring(
        name,
        input,
        Expiry::never(maxima, fold),
        |_key, values, output| output.push((greatest(values), 1)),
    )
}

/// The greatest of a key's values (they come in ascending order).
fn greatest<V: Clone>(values: &[(&V, isize)]) -> V {
    values[values.len() - 1].0.clone()
}

/// Sums each key's contributions into one `(key, totals)` row per key whose totals are not
/// all zero. Contributions are records whose difference is a [`Sums`].
pub fn sum_by_key<'s, K, const N: usize>(
    input: VecCollection<'s, Epoch, K, Sums<N>>,
) -> VecCollection<'s, Epoch, (K, Sums<N>)>
where
    K: ExchangeData + Hashable + std::hash::Hash,
{
    pre_sum(input).count_total()
}
