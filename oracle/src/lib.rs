//! A plain, non-incremental reference implementation of every view of `VIEWS.md`, written
//! straight from the contract and `docs/SEMANTICS.md`.
//!
//! The oracle decodes every record, deduplicates, and then computes each view from scratch
//! over the whole set of winning events with ordinary maps. Property tests run it beside the
//! incremental differential-dataflow engine on the same input and compare the [`ViewSet`]s
//! with `==`. It favours being obviously right over being fast, but stays linear-ish
//! (maps, no loops over all events inside loops over all events) so that a million events
//! take seconds.
//!
//! Its only dependency is `pulso-events`; its tests need nothing else.

mod cases;
mod dedup;
mod health;
mod inventory;
mod notifications;
mod orders;
mod pick;
mod retention;
mod timelines;

#[cfg(test)]
mod tests;

use pulso_events::time::Micros;
use pulso_events::views::ViewSet;
use pulso_events::{Decoded, SourceRecord};

pub use retention::Horizons;

/// Computes every view over `records` from scratch.
///
/// Each record is decoded with [`pulso_events::decode`]. `as_of` grades `open_case_sla`;
/// when `None`, the greatest event time of the deduplicated events is used (and when there
/// are no events at all, `as_of` stays `None` and there are no open-case rows).
/// Every list of the result is sorted ([`ViewSet::sort`]).
pub fn compute(records: &[SourceRecord], as_of: Option<Micros>) -> ViewSet {
    let decoded = records
        .iter()
        .map(|r| {
            let d = pulso_events::decode(r.topic, &r.value, r.position);
            (r.clone(), d)
        })
        .collect();
    compute_from_decoded(decoded, as_of)
}

/// Like [`compute`], for records that are already decoded (each record with what the
/// decoder made of it). Lets tests build events directly, without JSON.
pub fn compute_from_decoded(
    decoded: Vec<(SourceRecord, Decoded)>,
    as_of: Option<Micros>,
) -> ViewSet {
    let deduped = dedup::dedup(&decoded);
    views_of(&decoded, &deduped, &deduped.winners, |_| 0, as_of)
}

/// Computes every view over `batches` (batch `e` is epoch `e`) with the retention rules of
/// VIEWS.md ("Retention"): the watermark per epoch, `too_late` and future rejections,
/// expiry of dedup keys and of entities (see [`Horizons`]). Windowed rows and timeline
/// entries are not expired here: the result is the whole view (what the engine's views and
/// their history hold together).
pub fn compute_retained(
    batches: &[Vec<SourceRecord>],
    as_of: Option<Micros>,
    horizons: &Horizons,
) -> ViewSet {
    let retained = retention::run_epochs(batches, horizons);
    let deduped = dedup::counted(&retained.decoded, retained.counted.clone());
    let (for_views, case_ids) = retained.for_views();
    let mut views = views_of(
        &retained.decoded,
        &deduped,
        &for_views,
        |i| retained.attribution_generation(i),
        as_of,
    );
    for case in &mut views.open_cases {
        if let Some(original) = case_ids.get(&case.caso_id) {
            case.caso_id = *original;
        }
    }
    views.sort();
    views
}

/// The views of the counted events: `winners` (with ids per generation) for the views,
/// `deduped.winners` (as they were) for the timelines, whose webhook entries are attributed
/// within their `attribution` generation.
fn views_of(
    decoded: &[(SourceRecord, Decoded)],
    deduped: &dedup::Deduped,
    winners: &[pulso_events::Event],
    attribution: impl Fn(usize) -> u32,
    as_of: Option<Micros>,
) -> ViewSet {
    let as_of = as_of.or_else(|| winners.iter().map(|e| e.timestamp).max());
    let cases = cases::Cases::build(winners);
    let (open_case_sla, open_cases) = match as_of {
        Some(t) => cases.open_case_sla(t),
        None => (Vec::new(), Vec::new()),
    };

    let mut views = ViewSet {
        as_of,
        notification_rates: notifications::notification_rates(winners),
        notification_bounces: notifications::notification_bounces(winners),
        order_metrics: orders::order_metrics(winners),
        order_cancellations: orders::order_cancellations(winners),
        inventory_levels: inventory::inventory_levels(winners),
        case_backlog: cases.case_backlog(),
        sla_compliance: cases.sla_compliance(),
        open_case_sla,
        open_cases,
        timelines: timelines::timelines(&deduped.winners, attribution),
        pipeline_health: health::pipeline_health(decoded, deduped, winners),
    };
    views.sort();
    views
}
