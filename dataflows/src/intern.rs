//! Interned names: strings that repeat across events (tenant, provider, sku, reasons) held
//! once per worker as a shared `Arc<str>`, so that compact facts and aggregate keys are a
//! pointer, not a fresh heap string per event. Texts that are only ever compared (an
//! idempotency key in flight, a tracked entity in a distinct count) are held by their
//! 128-bit hash instead ([`text_hash`]).
//!
//! A [`Name`] compares, hashes and serializes as its text, so it means the same in every
//! worker and every process of a cluster (a name that crosses processes is re-shared by the
//! receiver's own copy of the text); no id table has to be agreed between processes.

use hashbrown::HashSet;
use std::sync::Arc;

/// An entity id (notification, order) as the keyed operators hold it: its text, inline when
/// it has at most 24 bytes (the generated and seed ids have 12 to 14), so a key held for
/// as long as its entity lives needs no heap block of its own.
pub type EntityId = compact_str::CompactString;

/// A text held by its 128-bit hash (XXH3) as two words, low word first: a `u128` would align
/// whatever it is stored beside to 16 bytes.
pub type TextHash = [u64; 2];

/// The [`TextHash`] of `text`.
pub fn text_hash(text: &str) -> TextHash {
    let hash = twox_hash::XxHash3_128::oneshot(text.as_bytes());
    [hash as u64, (hash >> 64) as u64]
}

/// An interned name: its text, shared.
pub type Name = Arc<str>;

/// One worker's set of names. Each distinct text is allocated once.
#[derive(Debug, Default)]
pub struct Interner {
    names: HashSet<Name>,
}

impl Interner {
    /// The shared name for `text`, allocated on first sight.
    pub fn name(&mut self, text: &str) -> Name {
        if let Some(name) = self.names.get(text) {
            return Arc::clone(name);
        }
        let name: Name = Arc::from(text);
        self.names.insert(Arc::clone(&name));
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_one_allocation() {
        let mut interner = Interner::default();
        let a = interner.name("SendGrid");
        let b = interner.name("SendGrid");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*interner.name("SES"), "SES");
    }
}
