//! What enters the dataflow: each decoded record, accepted or rejected, and the split of the
//! accepted events into deduplication candidates.

use differential_dataflow::collection::VecCollection;
use pulso_events::{Position, RejectReason, Rejection, SourceRecord, Topic};
use serde::{Deserialize, Serialize};
use twox_hash::XxHash3_128;

use crate::dedup::Candidate;
use crate::watermark::Admission;
use crate::{Epoch, SharedEvent};
use std::sync::Arc;

/// One record as the dataflow sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ingested {
    /// A valid event, with its raw bytes for the duplicate tie-break.
    Accepted {
        /// The event, shared by every operator that reads it.
        event: SharedEvent,
        /// The record's raw value bytes.
        raw: Arc<[u8]>,
        /// Where it was read (decoding depends on it: `notifications.dlq` ids).
        position: Position,
    },
    /// A rejected record: only its topic and reason matter to the views.
    Rejected {
        /// The topic it was read from.
        topic: Topic,
        /// Why it was rejected.
        reason: RejectReason,
    },
}

/// Decodes a source record into what the dataflow ingests, and applies the retention rules
/// of its epoch (`admission`: too late, too far in the future); a rejected record is handed
/// back with its rejection (for the DLQ). The record's value bytes are copied once, into the
/// event's shared `raw` (see [`ingest_ref`]).
pub fn ingest(
    record: SourceRecord,
    admission: &Admission,
) -> (Ingested, Option<(SourceRecord, Rejection)>) {
    let (ingested, rejection) = ingest_ref(&record, admission);
    (ingested, rejection.map(|rejection| (record, rejection)))
}

/// [`ingest`] reading the record in place, for a caller that keeps it (the live loop archives
/// the accepted records and sends the rejected ones to the DLQ): the value bytes are copied
/// once, into the event's shared `raw`, and nothing else of the record is copied.
pub fn ingest_ref(record: &SourceRecord, admission: &Admission) -> (Ingested, Option<Rejection>) {
    let decoded = record
        .decode()
        .and_then(|event| match admission.refuse(event.timestamp) {
            Some(rejection) => Err(rejection),
            None => Ok(event),
        });
    match decoded {
        Ok(event) => (
            Ingested::Accepted {
                event: Arc::new(event),
                raw: Arc::from(record.value.as_slice()),
                position: record.position,
            },
            None,
        ),
        Err(rejection) => (
            Ingested::Rejected {
                topic: record.topic,
                reason: rejection.reason,
            },
            Some(rejection),
        ),
    }
}

/// The idempotency identity of an event as the dataflow carries it: its topic and the 128-bit
/// hash (XXH3) of its idempotency key, two words. The key's text stays in the event: the
/// deduplication operator compares it only when a hash finds an entry, so two keys sharing a
/// hash are still told apart (see [`crate::winners`]). Hashed once here, the key is neither
/// copied nor compared as text on its way to its worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DedupKey {
    /// The topic the event was read from.
    pub topic: Topic,
    /// The key text's XXH3-128 hash, low word first.
    pub hash: [u64; 2],
}

impl DedupKey {
    /// The identity of `key` read from `topic`.
    pub fn of(topic: Topic, key: &str) -> Self {
        let hash = XxHash3_128::oneshot(key.as_bytes());
        DedupKey {
            topic,
            hash: [hash as u64, (hash >> 64) as u64],
        }
    }
}

/// The accepted events keyed for [`crate::dedup::deduplicate`].
pub fn accepted<'s>(
    input: VecCollection<'s, Epoch, Ingested>,
) -> VecCollection<'s, Epoch, (DedupKey, Candidate)> {
    input.flat_map(|ingested| match ingested {
        Ingested::Accepted {
            event,
            raw,
            position,
        } => Some((
            DedupKey::of(event.topic, &event.dedup_key),
            Candidate {
                timestamp: event.timestamp,
                raw,
                position,
                event,
            },
        )),
        Ingested::Rejected { .. } => None,
    })
}
