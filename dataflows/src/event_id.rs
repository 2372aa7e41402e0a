//! [`EventId`]: an event id as the per-entity facts hold it. Ids are compared, as text, to
//! break ties between events of one timestamp (VIEWS.md: "earliest by `(timestamp,
//! event_id)`"), so facts must keep them; most are canonical UUIDs, whose text is 36 bytes
//! in a heap block of its own but whose value fits 16 bytes inline.
//!
//! A canonical UUID (8-4-4-4-12 lowercase hex digits) is held as its 128-bit value; any other
//! id as its text. Each text has exactly one form, so equality and hashing are the text's;
//! the order is the text's too: two UUIDs compare by value (for canonical UUIDs that is their
//! text order: the dashes sit at the same places and `0-9` sort before `a-f`), a UUID and a
//! text by the UUID's text. The form is the same in every worker and process.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// An event id: a canonical UUID's value, or any other id's text.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventId {
    /// A canonical lowercase UUID: its value, high and low 64 bits.
    Uuid(u64, u64),
    /// Any other id.
    Text(Arc<str>),
}

/// Length of a canonical UUID's text.
const UUID_LEN: usize = 36;

/// Where a canonical UUID's text has its dashes.
const DASHES: [usize; 4] = [8, 13, 18, 23];

impl EventId {
    /// The id whose text is `text`.
    pub fn new(text: &str) -> EventId {
        match uuid_value(text.as_bytes()) {
            Some(value) => EventId::Uuid((value >> 64) as u64, value as u64),
            None => EventId::Text(Arc::from(text)),
        }
    }

    /// Calls `f` with the id's text (a UUID's is written on the stack).
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            EventId::Text(text) => f(text),
            EventId::Uuid(high, low) => {
                let value = (u128::from(*high) << 64) | u128::from(*low);
                let mut text = [b'-'; UUID_LEN];
                let mut digit = 32;
                for (at, byte) in text.iter_mut().enumerate().rev() {
                    if DASHES.contains(&at) {
                        continue;
                    }
                    digit -= 1;
                    let nibble = ((value >> (4 * (31 - digit))) & 0xf) as u8;
                    *byte = b"0123456789abcdef"[nibble as usize];
                }
                f(std::str::from_utf8(&text).expect("hex digits and dashes"))
            }
        }
    }
}

/// The value of a canonical lowercase UUID's text, `None` for any other text.
fn uuid_value(text: &[u8]) -> Option<u128> {
    if text.len() != UUID_LEN {
        return None;
    }
    let mut value = 0u128;
    for (at, &byte) in text.iter().enumerate() {
        if DASHES.contains(&at) {
            if byte != b'-' {
                return None;
            }
            continue;
        }
        let nibble = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        value = (value << 4) | u128::from(nibble);
    }
    Some(value)
}

impl Ord for EventId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (EventId::Uuid(a, b), EventId::Uuid(c, d)) => (a, b).cmp(&(c, d)),
            (EventId::Text(a), EventId::Text(b)) => a.cmp(b),
            _ => self.with_text(|a| other.with_text(|b| a.cmp(b))),
        }
    }
}

impl PartialOrd for EventId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|text| write!(f, "{text:?}"))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|text| f.write_str(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_uuids_are_values_and_other_ids_texts() {
        let uuid = "f309929e-cb7d-49af-a4d4-f1ec67e341c7";
        assert!(matches!(EventId::new(uuid), EventId::Uuid(..)));
        assert_eq!(EventId::new(uuid).to_string(), uuid);
        for other in [
            "F309929E-CB7D-49AF-A4D4-F1EC67E341C7",
            "f309929e-cb7d-49af-a4d4-f1ec67e341c",
            "f309929ecb7d-49af-a4d4-f1ec67e341c7-",
            "evt-1",
            "",
        ] {
            assert_eq!(EventId::new(other), EventId::Text(Arc::from(other)));
            assert_eq!(EventId::new(other).to_string(), other);
        }
        assert_eq!(std::mem::size_of::<EventId>(), 24);
    }

    /// Ids as the streams have them: canonical UUIDs, UUIDs a character off, other texts.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[0-9a-fA-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-g]{4}-[0-9a-f]{12}",
            "[0-9a-f-]{30,40}",
            "[a-z0-9-]{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn ids_order_and_equal_as_their_texts(a in id(), b in id()) {
            let (x, y) = (EventId::new(&a), EventId::new(&b));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x == y, a == b);
            prop_assert_eq!(x.to_string(), a);
        }
    }
}
