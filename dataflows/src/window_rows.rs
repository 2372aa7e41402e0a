//! [`WindowRows`]: the per-row state of the windowed operators ([`crate::windows`],
//! [`crate::reduce_windows`], [`crate::distinct`]), which a row leaves when its window expires
//! (VIEWS.md, "Retention").
//!
//! Each row's key and value are held once, in [`Slots`]; the rows waiting for their window to
//! expire are queued by slot number, not by a copy of the key. A queued slot may have been
//! emptied since (the row's value went back to nothing) or taken by another row: at its due
//! instant a slot's row is dropped only if its own window has expired.

use std::collections::BTreeMap;
use std::hash::Hash;

use pulso_events::time::Granularity;

use crate::retention::WindowHorizons;
use crate::slots::{Slot, Slots};
use crate::windows::window_expired;

/// Rows of a windowed view by key, each with its value, expiring with their windows.
pub(crate) struct WindowRows<K, V> {
    rows: Slots<K, V>,
    /// Slots by the instant their row's window expires (window end plus horizon).
    expiries: BTreeMap<i64, Vec<Slot>>,
    horizons: WindowHorizons,
    window: fn(&K) -> (Granularity, i64),
}

impl<K: Hash + Eq, V: Default> WindowRows<K, V> {
    /// No rows; a row's window is `window(key)`, and expires as `horizons` say.
    pub(crate) fn new(horizons: WindowHorizons, window: fn(&K) -> (Granularity, i64)) -> Self {
        WindowRows {
            rows: Slots::default(),
            expiries: BTreeMap::new(),
            horizons,
            window,
        }
    }

    /// Whether the window of `key` has expired at watermark `w`.
    pub(crate) fn expired(&self, key: &K, w: Option<i64>) -> bool {
        window_expired(&self.horizons, (self.window)(key), w)
    }

    /// Drops every row whose window has expired at watermark `w` (none while there is no
    /// watermark).
    pub(crate) fn expire(&mut self, w: Option<i64>) {
        let Some(at) = w else { return };
        while let Some(due) = self.expiries.first_entry() {
            if *due.key() > at {
                break;
            }
            for slot in due.remove() {
                let gone = match self.rows.get_mut(slot) {
                    Some((key, _)) => window_expired(&self.horizons, (self.window)(key), w),
                    None => false,
                };
                if gone {
                    self.rows.remove(slot);
                }
            }
        }
    }

    /// The slot of `key`'s row, if it has one.
    pub(crate) fn find(&self, key: &K) -> Option<Slot> {
        self.rows.find(key)
    }

    /// The slot of `key`'s row, made with `V::default()` (and queued to expire with its
    /// window) if it had none.
    pub(crate) fn slot(&mut self, key: K) -> Slot {
        let (granularity, start) = (self.window)(&key);
        let (slot, made) = self.rows.slot_or_insert(key, V::default);
        if made {
            if let Some(h) = self.horizons.of(granularity).as_micros() {
                let end = start.saturating_add(granularity.micros());
                let due = end.saturating_add(h);
                self.expiries.entry(due).or_default().push(slot);
            }
        }
        slot
    }

    /// The value of the row in `slot` (a slot given by [`WindowRows::slot`] or
    /// [`WindowRows::find`] since the last change of the rows).
    pub(crate) fn value(&mut self, slot: Slot) -> &mut V {
        self.rows.get_mut(slot).expect("a row's slot").1
    }

    /// Drops the row in `slot`.
    pub(crate) fn remove(&mut self, slot: Slot) {
        self.rows.remove(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::Horizon;

    const MINUTE: i64 = 60_000_000;

    fn horizons() -> WindowHorizons {
        WindowHorizons {
            minute: Horizon::micros(MINUTE),
            ..WindowHorizons::default()
        }
    }

    #[test]
    fn rows_leave_when_their_window_expires_and_reused_slots_stay() {
        let window = |start: &i64| (Granularity::Minute, *start);
        let mut rows: WindowRows<i64, u32> = WindowRows::new(horizons(), window);
        let first = rows.slot(0);
        *rows.value(first) = 1;
        // The row goes back to nothing; its slot is taken by a later window's row.
        rows.remove(first);
        let later = rows.slot(10 * MINUTE);
        assert_eq!(later, first, "the emptied slot is reused");
        *rows.value(later) = 2;
        let second = rows.slot(MINUTE);
        // Window [0, 1 min) expires at 2 min: its queued slot now holds the later row.
        rows.expire(Some(2 * MINUTE));
        assert_eq!(
            rows.find(&(10 * MINUTE)),
            Some(later),
            "not this row's window"
        );
        assert_eq!(*rows.value(later), 2);
        assert_eq!(rows.find(&MINUTE), Some(second), "not due yet");
        rows.expire(Some(3 * MINUTE));
        assert_eq!(rows.find(&MINUTE), None);
        assert!(rows.expired(&MINUTE, Some(3 * MINUTE)));
        assert!(!rows.expired(&(10 * MINUTE), Some(3 * MINUTE)));
        rows.expire(Some(12 * MINUTE));
        assert_eq!(rows.find(&(10 * MINUTE)), None);
        rows.expire(None);
    }
}
