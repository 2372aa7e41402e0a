//! `summarise_by_key`: the per-entity operator of every domain. It keeps, per key, the
//! multiset of the key's compact facts (one copy, in a hash map) and turns each epoch's changes
//! into changes of the key's summary, exactly like differential's `reduce` with the same logic.
//!
//! Why not `reduce`: a `reduce` keeps its input twice over (input arrangement, batches being
//! merged) and its output arranged, and every fact it holds is a full `Ord` record inside a
//! spine. Pulso's times are totally ordered epochs and its facts per key are few (a
//! notification has a send and a handful of webhooks), so all a key needs is its sorted
//! `(fact, count)` pairs, packed into one byte string (module `pack`: names as indices, a send
//! in ~40 bytes, a webhook in ~10): when the key changes they are unpacked, the old summary is
//! computed from them, the epoch's changes are merged in, the new summary is computed and the
//! facts are packed again; only the difference of the summaries leaves the operator. A key
//! whose facts all cancel is removed, so state is exactly the live facts.
//!
//! The keys live in `Slots` (module `slots`): each key and its state sit once in a numbered
//! slot, the hash table beside them holds only slot numbers, and the expiry queue names a key
//! by its slot. Slots of expired keys are reused, so state stays at the most keys live at once
//! (a plain `HashMap` of the entries doubled its whole table when churn filled it with
//! tombstones, so memory stepped up long after the live keys had levelled off:
//! benches/RESULTS.md, "Soak").

use std::hash::Hash;

use crate::consolidation::consolidate;
use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::hashable::Hashable;
use differential_dataflow::ExchangeData;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::ToStream;

use crate::expiry_queue::{Bucket, ExpiryQueue};
use crate::pack::{pack_all, unpack_all, NameTable, Pack};
use crate::pending::{by_slot, grouped_by_key, Pending};
use crate::retention::Horizon;
use crate::slots::Slots;
use crate::watermark::{Maxima, Watermark};
use crate::Epoch;

/// The facts of one key: distinct `(fact, event time)` in ascending order, each with its
/// (non-zero) count. Facts without expiry carry `()` for their time.
type Facts<F, T> = Vec<((F, T), isize)>;

/// How a summarised entity expires (VIEWS.md, "Retention"): at epoch `e`, a key whose latest
/// fact is earlier than `W(e) - horizon` leaves the operator without changing its summary's
/// contribution, unless `keep` says it is still live (an open case). A fact that arrives for
/// it later starts the key afresh (an orphan, when it is not the defining event).
pub struct Expiry<'s, F> {
    /// The watermark's epoch maxima.
    pub maxima: Maxima<'s>,
    /// How long after its latest fact a key is kept.
    pub horizon: Horizon,
    /// True for a key that must stay whatever its age.
    pub keep: fn(&[(&F, isize)]) -> bool,
    /// How a key's final facts fold into one, for keys that live long and gather many facts.
    pub fold: Option<Fold<F>>,
}

impl<'s, F> Expiry<'s, F> {
    /// Keys that expire `horizon` after their latest fact, unless `keep` holds.
    pub fn after(
        maxima: Maxima<'s>,
        horizon: Horizon,
        keep: fn(&[(&F, isize)]) -> bool,
    ) -> Expiry<'s, F> {
        Expiry {
            maxima,
            horizon,
            keep,
            fold: None,
        }
    }

    /// Keys that never expire (few keys, such as skus or departments) whose final facts fold
    /// as `fold` says, so that a key holds only its facts of the last `late_after`.
    pub fn never(maxima: Maxima<'s>, fold: Fold<F>) -> Expiry<'s, F> {
        Expiry {
            maxima,
            horizon: Horizon::OFF,
            keep: |_| true,
            fold: Some(fold),
        }
    }
}

/// Folding of final facts. At epoch `e` a fact whose event time is earlier than
/// `W(e) - late_after` is final: it can no longer be retracted (a retracted dedup winner is
/// never that old), and every fact still to come is later than it (an earlier record is
/// `too_late`). A key's final facts can then be replaced by one fact that stands for them.
pub struct Fold<F> {
    /// The `late_after` horizon of the run.
    pub late_after: Horizon,
    /// One fact that stands for the given final facts (ascending, with their counts, at least
    /// two): `logic` must give the same summary for it, with count 1 and the greatest of
    /// their event times, plus any later facts, as for the final facts plus the same later
    /// facts.
    pub fold: fn(&[(&F, isize)]) -> F,
}

/// The event time of a fact, when it has one (only facts with a time can expire).
pub trait FactTime: ExchangeData + Copy + Pack {
    /// UTC microseconds, or `None`.
    fn micros(&self) -> Option<i64>;
}

impl FactTime for () {
    fn micros(&self) -> Option<i64> {
        None
    }
}

impl FactTime for i64 {
    fn micros(&self) -> Option<i64> {
        Some(*self)
    }
}

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
    logic: L,
) -> VecCollection<'s, Epoch, (K, S)>
where
    K: ExchangeData + Hashable + Hash,
    F: ExchangeData + Pack,
    S: ExchangeData,
    L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>) + 'static,
{
    let timed = input.map(|(key, fact)| (key, (fact, ())));
    summarise_core(name, timed, None, logic)
}

/// [`summarise_by_key`] over facts with their event times, whose keys expire as `expiry`
/// says. Retractions must only reach keys that have not expired (true when every horizon is
/// at least `late_after`: a retracted winner is never older than `W(e) - late_after`).
pub fn summarise_expiring<'s, K, F, S, L>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, (F, i64))>,
    expiry: Expiry<'s, F>,
    logic: L,
) -> VecCollection<'s, Epoch, (K, S)>
where
    K: ExchangeData + Hashable + Hash,
    F: ExchangeData + Pack,
    S: ExchangeData,
    L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>) + 'static,
{
    summarise_core(name, input, Some(expiry), logic)
}

/// A key's state: its facts, packed (module `pack`), and the minute bucket it is queued in
/// for expiry.
#[derive(Default)]
struct Held {
    facts: Box<[u8]>,
    queued: Option<Bucket>,
}

fn summarise_core<'s, K, F, T, S, L>(
    name: &str,
    input: VecCollection<'s, Epoch, (K, (F, T))>,
    expiry: Option<Expiry<'s, F>>,
    mut logic: L,
) -> VecCollection<'s, Epoch, (K, S)>
where
    K: ExchangeData + Hashable + Hash,
    F: ExchangeData + Pack,
    T: FactTime,
    S: ExchangeData,
    L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>) + 'static,
{
    let by_key =
        Exchange::new(|((key, _), _, _): &((K, (F, T)), Epoch, isize)| key.hashed().into());
    let (maxima, horizon, keep, fold) = match expiry {
        Some(e) => (e.maxima, e.horizon, e.keep, e.fold),
        None => (
            Vec::<(Epoch, i64)>::new().to_stream(input.inner.scope()),
            Horizon::OFF,
            (|_: &[(&F, isize)]| true) as fn(&[(&F, isize)]) -> bool,
            None,
        ),
    };
    input
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<((K, S), Epoch, isize)>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            name,
            |_capability, _info| {
                let mut state: Slots<K, Held> = Slots::default();
                let mut names = NameTable::default();
                let mut facts: Facts<F, T> = Vec::new();
                let mut spare: Facts<F, T> = Vec::new();
                let mut queue = ExpiryQueue::default();
                let mut watermark = Watermark::default();
                let mut pending = Pending::<(K, (F, T))>::default();
                let mut summaries: Vec<(S, isize)> = Vec::new();
                let mut fresh = Vec::new();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    maxima.for_each(|_, data| watermark.receive_all(data));
                    input.for_each(|capability, data| pending.hold(&capability, data));
                    while let Some((time, capability, updates)) =
                        pending.next_complete(frontier, maxima_frontier)
                    {
                        let cutoff = horizon.cutoff(watermark.at(time));
                        let final_before = fold
                            .as_ref()
                            .and_then(|f| f.late_after.cutoff(watermark.at(time)));
                        if let Some(cutoff) = cutoff {
                            let held = (&mut state, &names);
                            expire_queued(held, &mut queue, cutoff, keep, &mut facts);
                        }
                        let slotted = by_slot(updates, &mut state, Held::default, &mut fresh);
                        let mut session = output.session(&capability);
                        for (slot, changes) in grouped_by_key(slotted) {
                            summaries.clear();
                            let (key, held) = state.get_mut(slot).expect("occupied");
                            facts.clear();
                            unpack_all(&held.facts, &names, &mut facts);
                            if expired(&facts, cutoff, keep) {
                                // Gone before this epoch: its contribution stays as it was.
                                facts.clear();
                            }
                            if let (Some(fold), Some(final_before)) = (&fold, final_before) {
                                fold_final(&mut facts, final_before, fold);
                            }
                            if !facts.is_empty() {
                                apply(&mut logic, key, &facts, &mut summaries);
                                for (_, n) in summaries.iter_mut() {
                                    *n = -*n;
                                }
                            }
                            merge_into(&mut facts, changes, &mut spare);
                            let gone = facts.is_empty();
                            if !gone {
                                apply(&mut logic, key, &facts, &mut summaries);
                                if let Some(latest) = latest(&facts) {
                                    let bucket = ExpiryQueue::bucket_of(latest);
                                    if held.queued != Some(bucket) && horizon != Horizon::OFF {
                                        held.queued = Some(bucket);
                                        queue.push(bucket, slot);
                                    }
                                }
                                held.facts = pack_all(&facts, &mut names);
                            }
                            consolidate(&mut summaries);
                            for (summary, n) in summaries.drain(..) {
                                session.give(((key.clone(), summary), time, n));
                            }
                            if gone {
                                state.remove(slot);
                            }
                        }
                        // A new key whose changes all cancelled holds nothing.
                        for slot in fresh.drain(..) {
                            if matches!(state.get_mut(slot), Some((_, held)) if held.facts.is_empty())
                            {
                                state.remove(slot);
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}

/// Calls `logic` on `facts` as `reduce` would: the facts by reference, with their counts.
fn apply<K, F, T, S, L>(logic: &mut L, key: &K, facts: &Facts<F, T>, output: &mut Vec<(S, isize)>)
where
    F: PartialEq,
    L: FnMut(&K, &[(&F, isize)], &mut Vec<(S, isize)>),
{
    let mut refs = Vec::with_capacity(facts.len());
    coalesce(facts, &mut refs);
    logic(key, &refs, output);
}

/// The latest event time among `facts`.
fn latest<F, T: FactTime>(facts: &Facts<F, T>) -> Option<i64> {
    facts.iter().filter_map(|((_, t), _)| t.micros()).max()
}

/// Whether a key with `facts` has expired at `cutoff`.
fn expired<F: PartialEq, T: FactTime>(
    facts: &Facts<F, T>,
    cutoff: Option<i64>,
    keep: fn(&[(&F, isize)]) -> bool,
) -> bool {
    let (Some(cutoff), Some(latest)) = (cutoff, latest(facts)) else {
        return false;
    };
    if latest >= cutoff {
        return false;
    }
    let mut refs = Vec::new();
    coalesce(facts, &mut refs);
    !keep(&refs)
}

/// Removes the queued keys whose latest fact is in a minute wholly before `cutoff` and that
/// have expired (keys kept by `keep` are dequeued; their next fact queues them again). A queued
/// slot may since have been freed, or taken by another key: only a key queued in this very
/// bucket is looked at, and whether it has expired is decided from its own facts (unpacked
/// into `facts`).
fn expire_queued<K, F, T>(
    (state, names): (&mut Slots<K, Held>, &NameTable),
    queue: &mut ExpiryQueue,
    cutoff: i64,
    keep: fn(&[(&F, isize)]) -> bool,
    facts: &mut Facts<F, T>,
) where
    K: Hash + Eq,
    F: PartialEq + Pack,
    T: FactTime,
{
    while let Some((bucket, slots)) = queue.pop_before(cutoff) {
        for slot in slots {
            let Some((_, held)) = state.get_mut(slot) else {
                continue;
            };
            if held.queued != Some(bucket) {
                continue;
            }
            facts.clear();
            unpack_all(&held.facts, names, facts);
            if expired(facts, Some(cutoff), keep) {
                state.remove(slot);
            } else {
                held.queued = None;
            }
        }
    }
}

/// Replaces the facts earlier than `cutoff` by the one fact `fold` makes of them, when there
/// are at least two (see [`Fold`]).
fn fold_final<F: Ord, T: FactTime>(facts: &mut Facts<F, T>, cutoff: i64, fold: &Fold<F>) {
    let is_final = |((_, t), _): &((F, T), isize)| t.micros().is_some_and(|t| t < cutoff);
    if facts.iter().filter(|f| is_final(f)).take(2).count() < 2 {
        return;
    }
    let (finals, mut rest): (Facts<F, T>, Facts<F, T>) = facts.drain(..).partition(is_final);
    let time = finals
        .iter()
        .map(|((_, t), _)| *t)
        .max()
        .expect("two finals");
    let mut refs = Vec::with_capacity(finals.len());
    coalesce(&finals, &mut refs);
    if !refs.is_empty() {
        let folded = ((fold.fold)(&refs), time);
        let at = rest.partition_point(|(fact, _)| *fact < folded);
        rest.insert(at, (folded, 1));
    }
    rest.shrink_to_fit();
    *facts = rest;
}

/// The facts as `logic` sees them: equal facts of different times are one fact whose count
/// is the sum (as a `reduce` over the facts without their times would see them).
fn coalesce<'a, F: PartialEq, T>(facts: &'a Facts<F, T>, refs: &mut Vec<(&'a F, isize)>) {
    refs.clear();
    for ((fact, _), n) in facts {
        match refs.last_mut() {
            Some((last, count)) if *last == fact => *count += n,
            _ => refs.push((fact, *n)),
        }
    }
    refs.retain(|(_, n)| *n != 0);
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
    F: ExchangeData + Pack,
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
/// dropping facts whose count becomes zero. `spare` is scratch room: `facts` and it trade
/// their buffers, so that a caller that keeps both allocates only while they grow (the held
/// form is the packed bytes, made at their exact length).
pub(crate) fn merge_into<F: Ord>(
    facts: &mut Vec<(F, isize)>,
    changes: Vec<(F, isize)>,
    spare: &mut Vec<(F, isize)>,
) {
    spare.clear();
    let mut old = facts.drain(..).peekable();
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
                        spare.push((fact, n + m));
                    }
                    continue;
                }
                a < b
            }
        };
        let next = if take_old { old.next() } else { changes.next() };
        if let Some((fact, n)) = next.filter(|(_, n)| *n != 0) {
            spare.push((fact, n));
        }
    }
    drop(old);
    std::mem::swap(facts, spare);
}

#[cfg(test)]
mod tests {
    use super::{fold_final, merge_into, Fold};
    use crate::retention::Horizon;

    #[test]
    fn final_facts_fold_into_one_at_their_latest_time() {
        // Facts are (value, time); the fold sums the final facts' values times their counts.
        let sum = Fold {
            late_after: Horizon::micros(10),
            fold: |facts: &[(&i64, isize)]| facts.iter().map(|(v, n)| **v * *n as i64).sum(),
        };
        let mut facts = vec![((1, 5), 1), ((2, 30), 1), ((4, 7), 2), ((9, 12), 1)];
        fold_final(&mut facts, 10, &sum);
        // 1 + 4 × 2 = 9 at time 7, beside the equal fact of time 12 and the later one.
        assert_eq!(facts, vec![((2, 30), 1), ((9, 7), 1), ((9, 12), 1)]);
        assert_eq!(facts.capacity(), facts.len());
        // One final fact (or none) is left as it is.
        let mut one = vec![((3, 1), 1), ((5, 20), 1)];
        fold_final(&mut one, 10, &sum);
        assert_eq!(one, vec![((3, 1), 1), ((5, 20), 1)]);
        // Final facts that cancel out leave nothing behind.
        let mut cancelled = vec![((3, 1), 1), ((3, 2), -1), ((5, 20), 1)];
        fold_final(&mut cancelled, 10, &sum);
        assert_eq!(cancelled, vec![((5, 20), 1)]);
    }

    #[test]
    fn an_entity_slot_is_48_bytes() {
        // Its id (inline up to 24 bytes), its packed facts and the bucket it is queued in.
        let slot = std::mem::size_of::<Option<(crate::intern::EntityId, super::Held)>>();
        assert_eq!(slot, 48);
    }

    #[test]
    fn merge_adds_counts_and_drops_zeros() {
        let mut spare = Vec::new();
        let mut facts = vec![(1, 1), (3, 2), (5, 1)];
        merge_into(
            &mut facts,
            vec![(0, 1), (3, -2), (4, 1), (5, 1), (9, 1)],
            &mut spare,
        );
        assert_eq!(facts, vec![(0, 1), (1, 1), (4, 1), (5, 2), (9, 1)]);
        let mut empty: Vec<(i32, isize)> = Vec::new();
        merge_into(&mut empty, vec![(2, 1)], &mut spare);
        assert_eq!(empty, vec![(2, 1)]);
        merge_into(&mut facts, vec![(1, -1), (7, 1), (9, -1)], &mut spare);
        assert_eq!(facts, vec![(0, 1), (4, 1), (5, 2), (7, 1)]);
        merge_into(
            &mut facts,
            vec![(0, -1), (4, -1), (5, -2), (7, -1)],
            &mut spare,
        );
        assert!(facts.is_empty());
    }
}
