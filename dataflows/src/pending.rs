//! [`Pending`]: the updates a stateful operator holds until their epoch is complete. Pulso's
//! keyed and windowed operators apply an epoch's changes at once, in key order, and only
//! when no more input can arrive at that epoch and the watermark's maxima of it are known
//! (expiry at epoch `e` reads `W(e)`). The live loop's hand-off to the consumer holds an
//! epoch's view changes the same way.

use std::collections::BTreeMap;

use timely::dataflow::operators::{Capability, InputCapability};
use timely::progress::frontier::MutableAntichain;

use crate::Epoch;

/// The updates of one epoch.
type Updates<D> = Vec<(D, isize)>;

/// A complete epoch: its time, the capability to emit at it, and its updates.
pub type Complete<D> = (Epoch, Capability<Epoch>, Updates<D>);

/// Updates held by epoch, each epoch with the capability to emit at it.
pub struct Pending<D> {
    epochs: BTreeMap<Epoch, (Capability<Epoch>, Updates<D>)>,
}

impl<D> Default for Pending<D> {
    fn default() -> Self {
        Pending {
            epochs: BTreeMap::new(),
        }
    }
}

impl<D> Pending<D> {
    /// Holds the updates of `data` (which arrived with `capability`), each at its epoch.
    pub fn hold(&mut self, capability: &InputCapability<Epoch>, data: &mut Vec<(D, Epoch, isize)>) {
        for (record, epoch, diff) in data.drain(..) {
            self.epochs
                .entry(epoch)
                .or_insert_with(|| (capability.delayed(&epoch, 0), Vec::new()))
                .1
                .push((record, diff));
        }
    }

    /// The earliest held epoch, once it is complete: the input's `frontier` has passed it and
    /// the watermark maxima's `maxima` frontier has reached it. Its updates are unsorted.
    pub(crate) fn next_complete(
        &mut self,
        frontier: &MutableAntichain<Epoch>,
        maxima: &MutableAntichain<Epoch>,
    ) -> Option<Complete<D>> {
        let first = *self.epochs.keys().next()?;
        if maxima.less_than(&first) {
            return None;
        }
        self.next_passed(frontier)
    }

    /// The earliest held epoch, once the input's `frontier` has passed it. Its updates are
    /// unsorted.
    pub fn next_passed(&mut self, frontier: &MutableAntichain<Epoch>) -> Option<Complete<D>> {
        let entry = self.epochs.first_entry()?;
        if frontier.less_equal(entry.key()) {
            return None;
        }
        let epoch = *entry.key();
        let (capability, updates) = entry.remove();
        Some((epoch, capability, updates))
    }
}

/// An epoch's updates (consolidated: sorted by key, then value) grouped by key: each key once,
/// with its values' changes in order.
pub(crate) fn grouped_by_key<K: PartialEq, V>(
    updates: Updates<(K, V)>,
) -> impl Iterator<Item = (K, Updates<V>)> {
    let mut updates = updates.into_iter().peekable();
    std::iter::from_fn(move || {
        let ((key, value), diff) = updates.next()?;
        let mut changes = vec![(value, diff)];
        while let Some(((_, value), diff)) = updates.next_if(|((next, _), _)| *next == key) {
            changes.push((value, diff));
        }
        Some((key, changes))
    })
}
