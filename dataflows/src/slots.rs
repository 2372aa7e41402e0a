//! [`Slots`]: per-key state stored once, in numbered slots, for the keyed operators: entities
//! ([`crate::summarise`]), windowed rows (`window_rows`) and dedup winners ([`crate::winners`]).
//!
//! Each live key and its value sit in one slot of a chunked vector; a hash table holds only slot
//! numbers. Other structures (the expiry queue) refer to a key by its 4-byte slot number rather
//! than by a copy of the key (a `String` id is 24 bytes plus its own heap block). A removed
//! key's slot is reused by the next new key, so the slots stay at the most keys ever live at
//! once, and they grow by fixed chunks, never by doubling one vector: a busy operator holds a
//! million keys or more, and a doubled vector would hold up to twice their room.

use std::hash::{BuildHasher, Hash};

use hashbrown::{DefaultHashBuilder, HashTable};

/// Slots per chunk.
const CHUNK: usize = 1 << 12;

/// The number of a slot.
pub(crate) type Slot = u32;

/// Keys with their values, each in a numbered slot.
pub(crate) struct Slots<K, V> {
    hasher: DefaultHashBuilder,
    table: HashTable<Slot>,
    chunks: Vec<Vec<Option<(K, V)>>>,
    free: Vec<Slot>,
}

impl<K, V> std::fmt::Debug for Slots<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("live", &self.table.len())
            .field("free", &self.free.len())
            .finish()
    }
}

impl<K: Hash + Eq, V> Default for Slots<K, V> {
    fn default() -> Self {
        Slots {
            hasher: DefaultHashBuilder::default(),
            table: HashTable::new(),
            chunks: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<K: Hash + Eq, V> Slots<K, V> {
    /// The slot holding `key`, if any.
    pub(crate) fn find(&self, key: &K) -> Option<Slot> {
        self.find_hashed(self.hasher.hash_one(key), key)
    }

    /// [`Slots::find`] with the key's hash already computed.
    fn find_hashed(&self, hash: u64, key: &K) -> Option<Slot> {
        let chunks = &self.chunks;
        self.table
            .find(
                hash,
                |slot| matches!(entry(chunks, *slot), Some((held, _)) if held == key),
            )
            .copied()
    }

    /// The slot holding `key`, after putting it there with `make()` if it was absent, and
    /// whether it was absent.
    pub(crate) fn slot_or_insert(&mut self, key: K, make: impl FnOnce() -> V) -> (Slot, bool) {
        let hash = self.hasher.hash_one(&key);
        if let Some(slot) = self.find_hashed(hash, &key) {
            return (slot, false);
        }
        let Slots {
            hasher,
            table,
            chunks,
            free,
        } = self;
        let slot = match free.pop() {
            Some(slot) => slot,
            None => {
                let next = chunks.last().map_or(CHUNK, Vec::len);
                if next == CHUNK {
                    chunks.push(Vec::with_capacity(CHUNK));
                }
                let last = chunks.len() - 1;
                chunks[last].push(None);
                Slot::try_from(last * CHUNK + chunks[last].len() - 1)
                    .expect("fewer than 2^32 live keys")
            }
        };
        *entry_mut(chunks, slot) = Some((key, make()));
        table.insert_unique(hash, slot, |slot| match entry(chunks, *slot) {
            Some((key, _)) => hasher.hash_one(key),
            None => unreachable!("the table holds occupied slots only"),
        });
        (slot, true)
    }

    /// The key and value in `slot`, if it is occupied.
    pub(crate) fn get_mut(&mut self, slot: Slot) -> Option<(&K, &mut V)> {
        entry_mut(&mut self.chunks, slot)
            .as_mut()
            .map(|(key, value)| (&*key, value))
    }

    /// Empties `slot` (its key and value are dropped) and frees it for the next new key.
    pub(crate) fn remove(&mut self, slot: Slot) {
        let Some((key, _)) = entry_mut(&mut self.chunks, slot).take() else {
            return;
        };
        let hash = self.hasher.hash_one(&key);
        if let Ok(found) = self.table.find_entry(hash, |held| *held == slot) {
            found.remove();
        }
        self.free.push(slot);
    }

    /// The number of live keys.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Every live key's value.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.chunks
            .iter()
            .flatten()
            .flatten()
            .map(|(_, value)| value)
    }

    /// Every live key's value, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.chunks
            .iter_mut()
            .flatten()
            .flatten()
            .map(|(_, value)| value)
    }
}

fn entry<K, V>(chunks: &[Vec<Option<(K, V)>>], slot: Slot) -> &Option<(K, V)> {
    let slot = slot as usize;
    &chunks[slot / CHUNK][slot % CHUNK]
}

fn entry_mut<K, V>(chunks: &mut [Vec<Option<(K, V)>>], slot: Slot) -> &mut Option<(K, V)> {
    let slot = slot as usize;
    &mut chunks[slot / CHUNK][slot % CHUNK]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_slot_and_freed_slots_are_reused() {
        let mut slots: Slots<String, u32> = Slots::default();
        let (a, new_a) = slots.slot_or_insert("a".into(), || 1);
        let (b, new_b) = slots.slot_or_insert("b".into(), || 2);
        assert!(new_a && new_b);
        assert_ne!(a, b);
        assert_eq!(
            slots.slot_or_insert("a".into(), || 9),
            (a, false),
            "present: not made again"
        );
        assert_eq!(slots.find(&"a".to_string()), Some(a));
        assert_eq!(slots.find(&"z".to_string()), None);
        assert_eq!(slots.get_mut(a), Some((&"a".to_string(), &mut 1)));
        slots.remove(a);
        assert_eq!(slots.get_mut(a), None);
        assert_eq!(slots.len(), 1);
        let (c, _) = slots.slot_or_insert("c".into(), || 3);
        assert_eq!(slots.find(&"a".to_string()), None);
        assert_eq!(c, a, "the freed slot is taken by the next new key");
        assert_eq!(slots.get_mut(c), Some((&"c".to_string(), &mut 3)));
        assert_eq!(slots.get_mut(b), Some((&"b".to_string(), &mut 2)));
        slots.remove(c);
        slots.remove(c);
        assert_eq!(slots.len(), 1, "removing an empty slot does nothing");
    }

    #[test]
    fn many_keys_across_chunks_are_found_after_removals() {
        let mut slots: Slots<u64, u64> = Slots::default();
        let n = 3 * CHUNK as u64 + 17;
        let ids: Vec<Slot> = (0..n)
            .map(|k| slots.slot_or_insert(k, || k * 10).0)
            .collect();
        for k in (0..n).step_by(3) {
            slots.remove(ids[k as usize]);
        }
        for k in 0..n {
            let (slot, made_again) = slots.slot_or_insert(k, || k * 10 + 1);
            let (_, value) = slots.get_mut(slot).expect("occupied");
            assert_eq!(made_again, k % 3 == 0);
            assert_eq!(*value, if made_again { k * 10 + 1 } else { k * 10 });
        }
        assert_eq!(slots.len(), n as usize);
        assert_eq!(slots.values().count(), n as usize);
        let before: u64 = slots.values().sum();
        slots.values_mut().for_each(|value| *value += 1);
        assert_eq!(slots.values().sum::<u64>(), before + n);
        assert_eq!(
            slots.chunks.len(),
            4,
            "freed slots were reused, no chunk added"
        );
    }
}
