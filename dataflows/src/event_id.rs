//! [`EventId`]: an event id as the per-entity facts hold it. Ids are compared, as text, to
//! break ties between events of one timestamp (VIEWS.md: "earliest by `(timestamp,
//! event_id)`"), so facts must keep them; most are a canonical UUID (envelope A) or `evt_`
//! and 32 hex digits (Conecta360's envelope B), whose text is 36 bytes in a heap block of its
//! own but whose value fits 16 bytes inline.
//!
//! An id of either form, in lowercase, is held as its 128-bit value; any other id as its
//! text. Each text has exactly one form, so equality and hashing are the text's; the order is
//! the text's too: two ids of one form compare by value (for those texts that is their text
//! order: the fixed characters sit at the same places and `0-9` sort before `a-f`), ids of
//! different forms by their texts. The form is the same in every worker and process.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// An event id: a UUID's or an `evt_` id's value, or any other id's text.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventId {
    /// A canonical lowercase UUID: its value, high and low 64 bits.
    Uuid(u64, u64),
    /// `evt_` and 32 lowercase hex digits: their value, high and low 64 bits.
    Evt(u64, u64),
    /// Any other id.
    Text(Arc<str>),
}

/// Length of the texts of both compact forms.
const LEN: usize = 36;

/// A compact form: its text, with `0` where the value's hex digits go.
#[derive(Clone, Copy)]
struct Form(&'static [u8; LEN]);

const UUID: Form = Form(b"00000000-0000-0000-0000-000000000000");
const EVT: Form = Form(b"evt_00000000000000000000000000000000");

impl Form {
    /// The value of `text` in this form, `None` if it is not in it.
    fn value(self, text: &[u8]) -> Option<u128> {
        if text.len() != LEN {
            return None;
        }
        let mut value = 0u128;
        for (&byte, &pattern) in text.iter().zip(self.0) {
            if pattern != b'0' {
                if byte != pattern {
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

    /// The text of `value` in this form.
    fn text(self, value: u128) -> [u8; LEN] {
        let mut text = *self.0;
        let mut shift = 128;
        for byte in text.iter_mut().filter(|b| **b == b'0') {
            shift -= 4;
            *byte = b"0123456789abcdef"[((value >> shift) & 0xf) as usize];
        }
        text
    }
}

/// `(high, low)` halves of a value.
fn halves(value: u128) -> (u64, u64) {
    ((value >> 64) as u64, value as u64)
}

/// The value of `(high, low)` halves.
fn joined(high: u64, low: u64) -> u128 {
    (u128::from(high) << 64) | u128::from(low)
}

impl EventId {
    /// The id whose text is `text`.
    pub fn new(text: &str) -> EventId {
        if let Some((high, low)) = UUID.value(text.as_bytes()).map(halves) {
            return EventId::Uuid(high, low);
        }
        match EVT.value(text.as_bytes()).map(halves) {
            Some((high, low)) => EventId::Evt(high, low),
            None => EventId::Text(Arc::from(text)),
        }
    }

    /// Calls `f` with the id's text (a compact form's is written on the stack).
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let (form, high, low) = match self {
            EventId::Text(text) => return f(text),
            EventId::Uuid(high, low) => (UUID, high, low),
            EventId::Evt(high, low) => (EVT, high, low),
        };
        let text = form.text(joined(*high, *low));
        f(std::str::from_utf8(&text).expect("hex digits and ASCII"))
    }
}

impl Ord for EventId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (EventId::Uuid(a, b), EventId::Uuid(c, d))
            | (EventId::Evt(a, b), EventId::Evt(c, d)) => (a, b).cmp(&(c, d)),
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
        let evt = "evt_f3870970021d4280a0ebc242a375175d";
        assert!(matches!(EventId::new(evt), EventId::Evt(..)));
        assert_eq!(EventId::new(evt).to_string(), evt);
        for other in [
            "evt_F3870970021D4280A0EBC242A375175D",
            "evt-f3870970021d4280a0ebc242a375175d",
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

    /// Ids as the streams have them: canonical UUIDs, `evt_` ids, ids a character off, other
    /// texts.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "evt_[0-9a-f]{32}",
            "ev[st]_[0-9a-g]{32}",
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
