//! Counters of what a [`Generator`](super::Generator) produced, by kind.

use std::collections::BTreeMap;

use pulso_events::{RejectReason, Topic};

/// What a generator has produced so far (complete once the iterator is exhausted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeneratorStats {
    /// Records output, all kinds included.
    pub records: u64,
    /// Records output per topic.
    pub per_topic: BTreeMap<Topic, u64>,
    /// Valid, first-delivery events (not counting the duplicates and bad records below).
    pub valid: u64,
    /// Exact duplicates: the same bytes delivered again later.
    pub exact_duplicates: u64,
    /// Conflicting duplicates: the same `event_id`/`evento_id` with a different timestamp or
    /// content.
    pub conflicting_duplicates: u64,
    /// Tracking events re-sent with a new `event_id` but the same `dedup_key`.
    pub dedup_key_resends: u64,
    /// Events delivered hours after their event time (later than their neighbours).
    pub late: u64,
    /// Records pulled forward out of the arrival window (local shuffle).
    pub reordered: u64,
    /// `NOTIFICATION_SENT`s delivered after one of their own webhooks.
    pub webhooks_before_send: u64,
    /// Events about entities that are never created (webhooks, confirms/cancels, case events).
    pub orphans: u64,
    /// Bad records per the DLQ reason the engine should give them.
    pub bad: BTreeMap<RejectReason, u64>,
}

impl GeneratorStats {
    /// Total bad records (all reasons).
    pub fn bad_total(&self) -> u64 {
        self.bad.values().sum()
    }

    /// The share of all output records that `count` represents.
    pub fn share(&self, count: u64) -> f64 {
        if self.records == 0 {
            0.0
        } else {
            count as f64 / self.records as f64
        }
    }
}
