//! The order of timeline entries: field by field, by the texts' bytes, as a derived order
//! would be, except that two texts that are one allocation (interned names, the id and
//! summary an event's entries share) are equal without being read: sorting and merging a
//! replay's million entries compares mostly such texts. `Hash` is the derived one, written
//! out beside them.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::TimelineEntry;

/// Compares two texts, equal at once when they are one allocation.
fn cmp_text(a: &Arc<str>, b: &Arc<str>) -> Ordering {
    if Arc::ptr_eq(a, b) {
        Ordering::Equal
    } else {
        a.cmp(b)
    }
}

impl Ord for TimelineEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_text(&self.entity_type, &other.entity_type)
            .then_with(|| cmp_text(&self.entity_id, &other.entity_id))
            .then_with(|| self.timestamp.cmp(&other.timestamp))
            .then_with(|| cmp_text(&self.event_id, &other.event_id))
            .then_with(|| cmp_text(&self.topic, &other.topic))
            .then_with(|| cmp_text(&self.event_type, &other.event_type))
            .then_with(|| cmp_text(&self.summary, &other.summary))
    }
}

impl PartialOrd for TimelineEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for TimelineEntry {
    fn eq(&self, other: &Self) -> bool {
        fn same(a: &Arc<str>, b: &Arc<str>) -> bool {
            Arc::ptr_eq(a, b) || a == b
        }
        self.timestamp == other.timestamp
            && same(&self.entity_id, &other.entity_id)
            && same(&self.event_id, &other.event_id)
            && same(&self.entity_type, &other.entity_type)
            && same(&self.topic, &other.topic)
            && same(&self.event_type, &other.event_type)
            && same(&self.summary, &other.summary)
    }
}

impl Eq for TimelineEntry {}

/// Hashes the fields in order, as a derived `Hash` would.
impl Hash for TimelineEntry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.entity_type.hash(state);
        self.entity_id.hash(state);
        self.timestamp.hash(state);
        self.event_id.hash(state);
        self.topic.hash(state);
        self.event_type.hash(state);
        self.summary.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The order a derived `Ord` would give: the fields' values, in declaration order.
    fn key(e: &TimelineEntry) -> (&str, &str, i64, &str, &str, &str, &str) {
        (
            &e.entity_type,
            &e.entity_id,
            e.timestamp,
            &e.event_id,
            &e.topic,
            &e.event_type,
            &e.summary,
        )
    }

    /// An entry of short texts from a small alphabet, so that entries often tie on a prefix
    /// of their fields; `shared` is the allocation its texts take when `share` says so.
    fn entry(
        texts: [String; 6],
        timestamp: i64,
        share: [bool; 6],
        shared: &[Arc<str>; 6],
    ) -> TimelineEntry {
        let text = |i: usize| -> Arc<str> {
            if share[i] && *shared[i] == *texts[i] {
                Arc::clone(&shared[i])
            } else {
                Arc::from(texts[i].as_str())
            }
        };
        TimelineEntry {
            entity_type: text(0),
            entity_id: text(1),
            timestamp,
            event_id: text(2),
            topic: text(3),
            event_type: text(4),
            summary: text(5),
        }
    }

    fn hash(value: &impl Hash) -> u64 {
        let mut state = std::collections::hash_map::DefaultHasher::new();
        value.hash(&mut state);
        state.finish()
    }

    fn texts() -> impl Strategy<Value = [String; 6]> {
        proptest::array::uniform6("[ab]{0,2}")
    }

    proptest! {
        #[test]
        fn orders_and_compares_as_the_fields_do(
            a in texts(), other in texts(), ta in 0i64..2, tb in 0i64..2,
            differ in proptest::array::uniform6(proptest::bool::weighted(0.25)),
            share_a in any::<[bool; 6]>(), share_b in any::<[bool; 6]>(),
        ) {
            // The second entry differs from the first in a few fields only, so that entries
            // often tie on a prefix of their fields; each takes the shared allocation of a text
            // it has in common with it when `share` says so.
            let b: [String; 6] =
                std::array::from_fn(|i| if differ[i] { other[i].clone() } else { a[i].clone() });
            let shared: [Arc<str>; 6] = std::array::from_fn(|i| Arc::from(a[i].as_str()));
            let x = entry(a, ta, share_a, &shared);
            let y = entry(b, tb, share_b, &shared);
            prop_assert_eq!(x.cmp(&y), key(&x).cmp(&key(&y)));
            prop_assert_eq!(x == y, key(&x) == key(&y));
            prop_assert_eq!(x.partial_cmp(&y), Some(x.cmp(&y)));
            prop_assert_eq!(hash(&x), hash(&key(&x)));
        }
    }
}
