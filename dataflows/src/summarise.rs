//! `summarise_by_key`: the per-entity operator of every domain. It keeps, per key, the
//! multiset of the key's compact facts (one copy, in a hash map) and turns each epoch's changes
//! into changes of the key's summary, exactly like differential's `reduce` with the same logic.
//!
//! Why not `reduce`: a `reduce` keeps its input twice over (input arrangement, batches being
//! merged) and its output arranged, and every fact it holds is a full `Ord` record inside a
//! spine. Pulso's times are totally ordered epochs and its facts per key are few (a
//! notification has a send and a handful of webhooks), so all a key needs is a small sorted
//! vector of `(fact, count)`: the old summary is recomputed from it before the epoch's
//! changes are merged in, the new one after, and only the difference leaves the operator.
//! A key whose facts all cancel is removed, so state is exactly the live facts.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::consolidation::consolidate;
use differential_dataflow::hashable::Hashable;
use differential_dataflow::ExchangeData;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;

use crate::Epoch;

/// The facts of one key: distinct facts in ascending order, each with its (non-zero) count.
type Facts<F> = Vec<(F, isize)>;

/// Updates waiting for their epoch to close, with the capability to emit at it.
type Pending<K, F> = BTreeMap<Epoch, (Capability<Epoch>, Vec<((K, F), isize)>)>;

/// Keeps each key's facts and emits, per epoch, the changes of `(key, summary)` that `logic`
/// computes from them: `logic(key, facts, output)` sees the key's distinct facts in ascending
/// order with their counts (as `reduce` does) and pushes `(summary, count)` pairs.
///
/// # Contract
/// `logic` must depend only on its arguments. It is called only for keys with at least one
/// fact, twice per key and epoch in which the key changed (before and after), so it should be
/// cheap in the number of facts of one key. Output equals `input.reduce_named(name, logic)`.
pub fn summarise_by_key<'s, K, F, S, L>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, F)>,
    mut logic: L,
) -> VecCollection<'s, Epoch, (K, S)>
where
    K: ExchangeData + Hashable + Hash,
    F: ExchangeData,
    S: ExchangeData,
    L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>) + 'static,
{
    let by_key = Exchange::new(|((key, _), _, _): &((K, F), Epoch, isize)| key.hashed().into());
    input
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<((K, S), Epoch, isize)>>, _, _, _>(
            by_key,
            name,
            |_capability, _info| {
                let mut state: HashMap<K, Facts<F>> = HashMap::new();
                let mut pending = Pending::<K, F>::new();
                let mut summaries: Vec<(S, isize)> = Vec::new();
                move |(input, frontier), output| {
                    input.for_each(|capability, data| {
                        for (fact, time, diff) in data.drain(..) {
                            pending
                                .entry(time)
                                .or_insert_with(|| (capability.delayed(&time, 0), Vec::new()))
                                .1
                                .push((fact, diff));
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let time = *entry.key();
                        let (capability, mut updates) = entry.remove();
                        consolidate(&mut updates);
                        let mut session = output.session(&capability);
                        let mut updates = updates.into_iter().peekable();
                        while let Some(((key, fact), diff)) = updates.next() {
                            let mut changes = vec![(fact, diff)];
                            while let Some(((_, fact), diff)) =
                                updates.next_if(|((next, _), _)| *next == key)
                            {
                                changes.push((fact, diff));
                            }
                            summaries.clear();
                            let facts = match state.entry(key.clone()) {
                                Entry::Occupied(occupied) => occupied.into_mut(),
                                Entry::Vacant(vacant) => vacant.insert(Vec::new()),
                            };
                            if !facts.is_empty() {
                                apply(&mut logic, &key, facts, &mut summaries);
                                for (_, n) in summaries.iter_mut() {
                                    *n = -*n;
                                }
                            }
                            merge(facts, changes);
                            if facts.is_empty() {
                                state.remove(&key);
                            } else {
                                apply(&mut logic, &key, facts, &mut summaries);
                            }
                            consolidate(&mut summaries);
                            for (summary, n) in summaries.drain(..) {
                                session.give(((key.clone(), summary), time, n));
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}

/// Calls `logic` on `facts` as `reduce` would: the facts by reference, with their counts.
fn apply<K, F, S, L>(logic: &mut L, key: &K, facts: &Facts<F>, output: &mut Vec<(S, isize)>)
where
    L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>),
{
    let refs: Vec<(&F, isize)> = facts.iter().map(|(f, n)| (f, *n)).collect();
    logic(key, &refs, output);
}

/// [`summarise_by_key`] as a method, named like differential's `reduce_named` so that a
/// domain reads the same with either.
pub trait SummariseNamed<'s, K, F> {
    /// See [`summarise_by_key`].
    fn summarise_named<S, L>(self, name: &str, logic: L) -> VecCollection<'s, Epoch, (K, S)>
    where
        S: ExchangeData,
        L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>) + 'static;
}

impl<'s, K, F> SummariseNamed<'s, K, F> for VecCollection<'s, Epoch, (K, F)>
where
    K: ExchangeData + Hashable + Hash,
    F: ExchangeData,
{
    fn summarise_named<S, L>(self, name: &str, logic: L) -> VecCollection<'s, Epoch, (K, S)>
    where
        S: ExchangeData,
        L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>) + 'static,
    {
        summarise_by_key(name, self, logic)
    }
}

/// Adds `changes` (sorted by fact, consolidated) to `facts` (sorted, non-zero counts),
/// dropping facts whose count becomes zero.
fn merge<F: Ord>(facts: &mut Facts<F>, changes: Vec<(F, isize)>) {
    if facts.is_empty() {
        facts.extend(changes.into_iter().filter(|(_, n)| *n != 0));
        return;
    }
    let old = std::mem::take(facts);
    let mut old = old.into_iter().peekable();
    let mut changes = changes.into_iter().peekable();
    loop {
        let take_old = match (old.peek(), changes.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((a, _)), Some((b, _))) => {
                if a == b {
                    let (fact, n) = old.next().expect("peeked");
                    let (_, m) = changes.next().expect("peeked");
                    if n + m != 0 {
                        facts.push((fact, n + m));
                    }
                    continue;
                }
                a < b
            }
        };
        let next = if take_old { old.next() } else { changes.next() };
        if let Some((fact, n)) = next.filter(|(_, n)| *n != 0) {
            facts.push((fact, n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn merge_adds_counts_and_drops_zeros() {
        let mut facts = vec![(1, 1), (3, 2), (5, 1)];
        merge(&mut facts, vec![(0, 1), (3, -2), (4, 1), (5, 1), (9, 1)]);
        assert_eq!(facts, vec![(0, 1), (1, 1), (4, 1), (5, 2), (9, 1)]);
        let mut empty: Vec<(i32, isize)> = Vec::new();
        merge(&mut empty, vec![(2, 1)]);
        assert_eq!(empty, vec![(2, 1)]);
    }
}
