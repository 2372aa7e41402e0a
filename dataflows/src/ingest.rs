//! What enters the dataflow: each decoded record, accepted or rejected, and its split among
//! its readers (deduplication candidates, accepted times, health tallies).

use differential_dataflow::collection::{AsCollection, VecCollection};
use pulso_events::registry::{View, ViewSelection};
use pulso_events::views::TopicHealth;
use pulso_events::{Position, RejectReason, Rejection, SourceRecord, Topic};
use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::progress::operate::FrontierInterest;

use crate::dedup::Candidate;
use crate::intern::{text_hash, TextHash};
use crate::watermark::Admission;
use crate::{Batch, Epoch, SharedEvent};
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
    /// The key text's [`TextHash`].
    pub hash: TextHash,
}

impl DedupKey {
    /// The identity of `key` read from `topic`.
    pub fn of(topic: Topic, key: &str) -> Self {
        DedupKey {
            topic,
            hash: text_hash(key),
        }
    }
}

/// What a record counts for in `pipeline_health`: its topic, and its reason if rejected.
pub type Tally = (Topic, Option<RejectReason>);

/// The ingested records as their readers take them.
pub struct Split<'s> {
    /// The accepted events keyed for [`crate::dedup::deduplicate`].
    pub candidates: VecCollection<'s, Epoch, (DedupKey, Candidate)>,
    /// The accepted events' times, inserted only (for [`crate::watermark::epoch_maxima`]).
    pub times: VecCollection<'s, Epoch, i64>,
    /// Every record's [`Tally`], when asked for (`pipeline_health`); else empty.
    pub tallies: VecCollection<'s, Epoch, Tally>,
}

/// Hands the ingested records to their readers in one pass over each batch (a stream read by
/// several operators is copied for each, every shared event counted up and down again): the
/// deduplication candidates, the accepted times, and, when `views` holds `pipeline_health`,
/// what each record counts for in it.
pub fn split<'s>(input: VecCollection<'s, Epoch, Ingested>, views: &ViewSelection) -> Split<'s> {
    let tallies = views.contains(TopicHealth::NAME);
    let mut builder = OperatorBuilder::new("IngestedToReaders".to_owned(), input.scope());
    let mut records = builder.new_input(input.inner, Pipeline);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (mut candidate_output, candidates) = builder.new_output::<Batch<(DedupKey, Candidate)>>();
    let (mut time_output, times) = builder.new_output::<Batch<i64>>();
    let (mut tally_output, tally_stream) = builder.new_output::<Batch<Tally>>();
    builder.build(move |_initial| {
        let (mut keyed, mut accepted, mut counted) = (Vec::new(), Vec::new(), Vec::new());
        move |_frontiers| {
            let mut candidate_handle = candidate_output.activate();
            let mut time_handle = time_output.activate();
            let mut tally_handle = tally_output.activate();
            records.for_each_stamp(|capability, containers| {
                for data in containers {
                    for (ingested, time, diff) in data.drain(..) {
                        match ingested {
                            Ingested::Accepted {
                                event,
                                raw,
                                position,
                            } => {
                                if tallies {
                                    counted.push(((event.topic, None), time, diff));
                                }
                                if diff > 0 {
                                    accepted.push((event.timestamp, time, diff));
                                }
                                let key = DedupKey::of(event.topic, &event.dedup_key);
                                let candidate = Candidate {
                                    timestamp: event.timestamp,
                                    raw,
                                    position,
                                    event,
                                };
                                keyed.push(((key, candidate), time, diff));
                            }
                            Ingested::Rejected { topic, reason } => {
                                if tallies {
                                    counted.push(((topic, Some(reason)), time, diff));
                                }
                            }
                        }
                    }
                }
                candidate_handle.give(&capability, &mut keyed);
                time_handle.give(&capability, &mut accepted);
                tally_handle.give(&capability, &mut counted);
                keyed.clear();
                accepted.clear();
                counted.clear();
            });
        }
    });
    Split {
        candidates: candidates.as_collection(),
        times: times.as_collection(),
        tallies: tally_stream.as_collection(),
    }
}
