//! "Latest" and "earliest" of VIEWS.md: choosing by `(timestamp, event_id)`.
//!
//! Ties on `(timestamp, event_id)` can only happen between events of different topics (or
//! tracking events sharing an `event_id` under different `dedup_key`s); they are broken by
//! the whole event's order so that the result never depends on input order.

use pulso_events::time::Micros;
use pulso_events::Event;

/// The order of events used for every "latest"/"earliest" choice.
pub(crate) type EventOrder<'a> = (Micros, &'a str, &'a Event);

/// The [`EventOrder`] of an event.
pub(crate) fn order(e: &Event) -> EventOrder<'_> {
    (e.timestamp, &e.event_id, e)
}

/// Keeps the value offered with the greatest key.
#[derive(Debug)]
pub(crate) struct Latest<K, V>(Option<(K, V)>);

impl<K: Ord, V> Default for Latest<K, V> {
    fn default() -> Self {
        Latest(None)
    }
}

impl<K: Ord, V> Latest<K, V> {
    /// Offers `value` at `key`; it is kept if `key` is greater than the current one.
    pub(crate) fn offer(&mut self, key: K, value: V) {
        if self.0.as_ref().is_none_or(|(k, _)| key > *k) {
            self.0 = Some((key, value));
        }
    }

    /// The value with the greatest key offered, if any.
    pub(crate) fn value(&self) -> Option<&V> {
        self.0.as_ref().map(|(_, v)| v)
    }

    /// The greatest key offered, if any.
    pub(crate) fn key(&self) -> Option<&K> {
        self.0.as_ref().map(|(k, _)| k)
    }
}

/// Keeps the value offered with the least key.
#[derive(Debug)]
pub(crate) struct Earliest<K, V>(Option<(K, V)>);

impl<K: Ord, V> Default for Earliest<K, V> {
    fn default() -> Self {
        Earliest(None)
    }
}

impl<K: Ord, V> Earliest<K, V> {
    /// Offers `value` at `key`; it is kept if `key` is less than the current one.
    pub(crate) fn offer(&mut self, key: K, value: V) {
        if self.0.as_ref().is_none_or(|(k, _)| key < *k) {
            self.0 = Some((key, value));
        }
    }

    /// The value with the least key offered, if any.
    pub(crate) fn value(&self) -> Option<&V> {
        self.0.as_ref().map(|(_, v)| v)
    }
}
