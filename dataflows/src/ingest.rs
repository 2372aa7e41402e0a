//! What enters the dataflow: each decoded record, accepted or rejected, and the split of the
//! accepted events into the deduplicated event collection.

use differential_dataflow::collection::VecCollection;
use pulso_events::{decode, Event, RejectReason, Rejection, SourceRecord, Topic};
use serde::{Deserialize, Serialize};

use crate::aggregate::least_by_key;
use crate::{Epoch, SharedEvent};
use std::sync::Arc;

/// One record as the dataflow sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ingested {
    /// A valid event, with its raw bytes for the duplicate tie-break.
    Accepted {
        /// The event.
        event: Box<Event>,
        /// The record's raw value bytes.
        raw: Vec<u8>,
    },
    /// A rejected record: only its topic and reason matter to the views.
    Rejected {
        /// The topic it was read from.
        topic: Topic,
        /// Why it was rejected.
        reason: RejectReason,
    },
}

/// Decodes a source record into what the dataflow ingests, and the rejection (for the DLQ)
/// when there is one.
pub fn ingest(record: &SourceRecord) -> (Ingested, Option<Rejection>) {
    match decode(record.topic, &record.value, record.position) {
        Ok(event) => (
            Ingested::Accepted {
                event: Box::new(event),
                raw: record.value.clone(),
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

/// The idempotency identity of an event: its topic and idempotency key.
pub type DedupKey = (Topic, String);

/// A candidate for its idempotency key: `(timestamp, raw bytes, event)`; the least wins.
pub type Candidate = (i64, Arc<[u8]>, SharedEvent);

/// Keeps one event per idempotency key: the one with the least `(timestamp, raw bytes)`,
/// whatever the arrival order.
pub fn deduplicate<'s>(
    accepted: VecCollection<'s, Epoch, (DedupKey, Candidate)>,
) -> VecCollection<'s, Epoch, SharedEvent> {
    least_by_key("DedupLeastTimestampBytes", accepted).map(|(_key, (_ts, _raw, event))| event)
}

/// The accepted events keyed for [`deduplicate`].
pub fn accepted<'s>(
    input: VecCollection<'s, Epoch, Ingested>,
) -> VecCollection<'s, Epoch, (DedupKey, Candidate)> {
    input.flat_map(|ingested| match ingested {
        Ingested::Accepted { event, raw } => Some((
            (event.topic, event.dedup_key.clone()),
            (event.timestamp, Arc::from(raw), Arc::from(event)),
        )),
        Ingested::Rejected { .. } => None,
    })
}
