//! `pre_sum`: sums [`Sums`] contributions per key and epoch on the worker that made them,
//! before they are exchanged to the worker that owns the key.
//!
//! Aggregate views get their contributions from every event or summary change (a webhook
//! retracts a notification's old outcome and adds its new one, in every window granularity),
//! and most of an epoch's contributions share a few keys (tenant, channel, minute). Summing
//! them locally first sends one wide record per key and epoch through the exchange instead of
//! one per contribution. The sums are emitted once the input's frontier has passed the epoch,
//! which an aggregate downstream waits for anyway.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::difference::{IsZero, Semigroup};
use differential_dataflow::ExchangeData;
use hashbrown::HashMap;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Capability, InputCapability};

use crate::sums::Sums;
use crate::Epoch;

/// Sums per key waiting for their epoch to close, with the capability to emit at it (here and
/// in [`crate::windows::sum_windows`]).
pub(crate) type Pending<K, const N: usize> =
    BTreeMap<Epoch, (Capability<Epoch>, HashMap<K, Sums<N>>)>;

/// Adds the contributions of one input message to their epochs' sums in `pending`.
pub(crate) fn add_to_pending<K: Hash + Eq, const N: usize>(
    pending: &mut Pending<K, N>,
    capability: &InputCapability<Epoch>,
    data: &mut Vec<(K, Epoch, Sums<N>)>,
) {
    let mut data = data.drain(..).peekable();
    // A message's records mostly share one time: its sums are looked up once per run of it.
    while let Some(&(_, time, _)) = data.peek() {
        let sums = &mut pending
            .entry(time)
            .or_insert_with(|| (capability.delayed(&time, 0), HashMap::new()))
            .1;
        while let Some((key, _, diff)) = data.next_if(|(_, t, _)| *t == time) {
            sums.entry(key).or_default().plus_equals(&diff);
        }
    }
}

/// The contributions of `input` summed per key and epoch on this worker: the same collection
/// (equal once consolidated), in at most one record per key and epoch. Keys whose
/// contributions cancel out are not emitted.
pub(crate) fn pre_sum<'s, K, const N: usize>(
    input: VecCollection<'s, Epoch, K, Sums<N>>,
) -> VecCollection<'s, Epoch, K, Sums<N>>
where
    K: ExchangeData + Hash,
{
    input
        .inner
        .unary_frontier(Pipeline, "PreSum", |_capability, _info| {
            let mut pending = Pending::<K, N>::new();
            move |(input, frontier), output| {
                input.for_each(|capability, data| add_to_pending(&mut pending, &capability, data));
                while let Some(entry) = pending.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let time = *entry.key();
                    let (capability, sums) = entry.remove();
                    output.session(&capability).give_iterator(
                        sums.into_iter()
                            .filter(|(_, sums)| !sums.is_zero())
                            .map(|(key, sums)| (key, time, sums)),
                    );
                }
            }
        })
        .as_collection()
}

#[cfg(test)]
mod tests {
    use super::*;
    use differential_dataflow::input::Input;
    use std::sync::{Arc, Mutex};
    use timely::dataflow::operators::capture::Extract;
    use timely::dataflow::operators::Capture;

    /// Runs `records` (`(key, epoch, total)`) through `pre_sum` on one worker and returns
    /// what it emitted, sorted.
    fn pre_summed(records: Vec<(u32, Epoch, i128)>) -> Vec<(u32, Epoch, i128)> {
        let captured = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&captured);
        timely::execute_directly(move |worker| {
            let (mut input, capture) = worker.dataflow::<Epoch, _, _>(|scope| {
                let (input, collection) = scope.new_collection::<u32, Sums<1>>();
                (input, pre_sum(collection).inner.capture())
            });
            for (key, epoch, total) in records {
                input.advance_to(epoch);
                input.update(key, Sums([total]));
            }
            input.close();
            while worker.step() {}
            *sink.lock().unwrap() = Some(capture);
        });
        let capture = captured.lock().unwrap().take().unwrap();
        let mut out: Vec<_> = capture
            .extract()
            .into_iter()
            .flat_map(|(_, data)| data)
            .map(|(key, time, sums)| (key, time, sums.0[0]))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn sums_each_key_once_per_epoch_and_drops_cancelled_keys() {
        let out = pre_summed(vec![
            (1, 0, 2),
            (2, 0, 1),
            (1, 0, 3),
            (2, 0, -1),
            (1, 1, 4),
            (3, 1, 5),
            (1, 1, -4),
            (3, 2, 1),
        ]);
        assert_eq!(out, vec![(1, 0, 5), (3, 1, 5), (3, 2, 1)]);
    }
}
