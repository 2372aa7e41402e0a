//! Interned names ([`Interner`], one per worker: strings that repeat across events held once,
//! so that compact facts and aggregate keys are a pointer, not a fresh heap string per event;
//! see `pulso_events::intern`), entity ids held inline, and texts that are only ever compared
//! (an idempotency key in flight, a tracked entity in a distinct count) held by their 128-bit
//! hash ([`text_hash`]).

pub use pulso_events::intern::{Interner, Name};

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
