//! Deduplication: one winner per `(topic, idempotency key)`.
//!
//! EVENTS.md: records with the same idempotency key on a topic count once; the one with the
//! least `(timestamp, raw value bytes)` wins, whatever the arrival order. The losers are
//! the topic's `duplicates`.

use std::collections::HashMap;

use pulso_events::time::Micros;
use pulso_events::{Decoded, Event, SourceRecord, Topic};

/// The accepted events after deduplication, with the per-topic counts `pipeline_health` needs.
pub(crate) struct Deduped {
    /// One event per `(topic, dedup_key)`: the winner.
    pub winners: Vec<Event>,
    /// Accepted (decoded) records per topic, duplicates included.
    pub accepted: HashMap<Topic, i64>,
    /// Distinct idempotency keys per topic.
    pub distinct_keys: HashMap<Topic, i64>,
}

/// Picks the winner of every `(topic, dedup_key)` among the accepted records.
pub(crate) fn dedup(decoded: &[(SourceRecord, Decoded)]) -> Deduped {
    // (topic, dedup_key) -> (timestamp, value bytes, event) of the best record so far.
    let mut best: HashMap<(Topic, &str), (Micros, &[u8], &Event)> = HashMap::new();
    let mut accepted: HashMap<Topic, i64> = HashMap::new();

    for (record, result) in decoded {
        let Ok(event) = result else { continue };
        *accepted.entry(record.topic).or_default() += 1;
        let candidate = (event.timestamp, record.value.as_slice(), event);
        best.entry((record.topic, event.dedup_key.as_str()))
            .and_modify(|current| {
                if (candidate.0, candidate.1) < (current.0, current.1) {
                    *current = candidate;
                }
            })
            .or_insert(candidate);
    }

    let mut distinct_keys: HashMap<Topic, i64> = HashMap::new();
    for (topic, _) in best.keys() {
        *distinct_keys.entry(*topic).or_default() += 1;
    }
    let mut winners: Vec<Event> = best.into_values().map(|(_, _, e)| e.clone()).collect();
    // A fixed order (keys are unique), so nothing downstream can depend on the input's order.
    winners.sort_by(|a, b| (a.topic, &a.dedup_key).cmp(&(b.topic, &b.dedup_key)));

    Deduped {
        winners,
        accepted,
        distinct_keys,
    }
}

/// The counts of [`dedup`] for events that retention already deduplicated (`counted` may hold
/// two events of one key when the first winner expired before the second arrived).
pub(crate) fn counted(decoded: &[(SourceRecord, Decoded)], counted: Vec<Event>) -> Deduped {
    let mut accepted: HashMap<Topic, i64> = HashMap::new();
    for (record, result) in decoded {
        if result.is_ok() {
            *accepted.entry(record.topic).or_default() += 1;
        }
    }
    let mut distinct_keys: HashMap<Topic, i64> = HashMap::new();
    for event in &counted {
        *distinct_keys.entry(event.topic).or_default() += 1;
    }
    Deduped {
        winners: counted,
        accepted,
        distinct_keys,
    }
}
