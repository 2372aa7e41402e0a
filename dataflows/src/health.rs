//! `pipeline_health` counters a replay can know, per topic: records, rejected by reason,
//! duplicates and orphan events.

use differential_dataflow::collection::VecCollection;
use pulso_events::views::TopicHealth;
use pulso_events::{RejectReason, Topic};

use crate::aggregate::sum_by_key;
use crate::ingest::Tally;
use crate::sums::Sums;
use crate::Epoch;

/// Index of the `records` total.
const RECORDS: usize = 0;
/// Index of the first `rejected` total (one per [`RejectReason::ALL`]).
const REJECTED: usize = 1;
/// Index of the `duplicates` total.
const DUPLICATES: usize = REJECTED + RejectReason::ALL.len();
/// Index of the `orphan_events` total.
const ORPHANS: usize = DUPLICATES + 1;

/// A contribution of `n` orphan events to `topic`'s health.
pub fn orphans(topic: Topic, n: i64) -> (Topic, Sums) {
    (topic, Sums::one_at(ORPHANS, i128::from(n)))
}

/// Builds the per-topic health rows from the ingested records' [`Tally`]s, the topics of the
/// deduplicated events, and the orphan contributions of every domain. Every accepted record
/// counts as a duplicate until its event wins deduplication (`winner_topics` takes one back per
/// winner).
pub fn pipeline_health<'s>(
    tallies: VecCollection<'s, Epoch, Tally>,
    winner_topics: VecCollection<'s, Epoch, Topic>,
    orphan_counts: VecCollection<'s, Epoch, (Topic, Sums)>,
) -> VecCollection<'s, Epoch, TopicHealth> {
    let records = tallies.explode(|(topic, rejected)| match rejected {
        None => {
            let mut sums = Sums::one_at(RECORDS, 1);
            sums.0[DUPLICATES] = 1;
            Some((topic, sums))
        }
        Some(reason) => {
            let mut sums = Sums::one_at(RECORDS, 1);
            let index = RejectReason::ALL
                .iter()
                .position(|r| *r == reason)
                .unwrap_or(0);
            sums.0[REJECTED + index] = 1;
            Some((topic, sums))
        }
    });
    let duplicates = winner_topics.explode(|topic| Some((topic, Sums::one_at(DUPLICATES, -1))));
    let orphans = orphan_counts.explode(|(topic, sums)| Some((topic, sums)));
    sum_by_key(records.concat(duplicates).concat(orphans)).map(|(topic, sums)| {
        let rejected = std::array::from_fn(|i| sums.count(REJECTED + i));
        TopicHealth {
            topic: topic.name().to_string(),
            records: sums.count(RECORDS),
            rejected,
            duplicates: sums.count(DUPLICATES),
            orphan_events: sums.count(ORPHANS),
        }
    })
}
