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

mod activity;
mod cases;
mod dedup;
mod health;
mod inventory;
mod notifications;
mod notifications_v2;
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
/// Each record is decoded with [`SourceRecord::decode`] (a tombstone is `malformed_json`).
/// `as_of` grades `open_case_sla`; when `None`, the greatest event time of the deduplicated
/// events is used (and when there are no events at all, `as_of` stays `None` and there are
/// no open-case rows).
/// Every list of the result is sorted ([`ViewSet::sort`]).
pub fn compute(records: &[SourceRecord], as_of: Option<Micros>) -> ViewSet {
    let decoded = records
        .iter()
        .map(|r| {
            let d = r.decode();
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
/// expiry of dedup keys, entities and windows (see [`Horizons`]). The result is the whole
/// view: what the engine's retained views and their history hold together (timeline entries
/// and windowed rows are only split between the two, by the final watermark).
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
    freeze_windows(&mut views, &retained, horizons);
    views.sort();
    views
}

/// Windowed rows as retention leaves them: a row whose window expired at epoch `x` keeps its
/// value after epoch `x - 1` (changes after that are not applied), computed from the events
/// counted then.
fn freeze_windows(views: &mut ViewSet, retained: &retention::Retained, horizons: &Horizons) {
    let retention = pulso_events::retention::Retention {
        windows: horizons.windows,
        ..pulso_events::retention::Retention::OFF
    };
    let w = &retained.watermarks;
    let Some(last) = w.len().checked_sub(1) else {
        return;
    };
    let expired =
        |due: Option<i64>, wm: Option<i64>| matches!((due, wm), (Some(d), Some(w)) if d <= w);
    let rates_due = |r: &pulso_events::views::NotificationRates| {
        retention.window_due(r.granularity, r.window_start)
    };
    let bounces_due = |r: &pulso_events::views::NotificationBounces| {
        retention.window_due(pulso_events::time::Granularity::Day, r.day)
    };
    let latency_due = |r: &pulso_events::views::NotificationLatency| {
        retention.window_due(r.granularity, r.window_start)
    };
    let day_due = |day: i64| retention.window_due(pulso_events::time::Granularity::Day, day);
    let metrics_due =
        |r: &pulso_events::views::OrderMetrics| retention.window_due(r.granularity, r.window_start);
    let sla_due = |r: &pulso_events::views::SlaCompliance| {
        retention.window_due(pulso_events::time::Granularity::Day, r.day)
    };
    let tracking_due = |r: &pulso_events::views::TrackingActivity| {
        retention.window_due(r.granularity, r.window_start)
    };
    let tenants_due = |r: &pulso_events::views::TenantActivity| {
        retention.window_due(r.granularity, r.window_start)
    };
    let mut frozen = ViewSet::default();
    for x in 1..w.len() {
        if w[x] == w[x - 1] {
            continue;
        }
        let newly = |due: Option<i64>| expired(due, w[x]) && !expired(due, w[x - 1]);
        let events = retained.counted_after(x - 1);
        let before = ViewSet {
            notification_rates: notifications::notification_rates(&events),
            notification_bounces: notifications::notification_bounces(&events),
            notification_latency: notifications_v2::notification_latency(&events),
            notification_failures: notifications_v2::notification_failures(&events),
            notification_variants: notifications_v2::notification_variants(&events),
            order_metrics: orders::order_metrics(&events),
            sla_compliance: cases::Cases::build(&events).sla_compliance(),
            tracking_activity: activity::tracking_activity(&events),
            tenant_activity: activity::tenant_activity(&events),
            ..ViewSet::default()
        };
        let rates = before.notification_rates.into_iter();
        frozen
            .notification_rates
            .extend(rates.filter(|r| newly(rates_due(r))));
        let bounces = before.notification_bounces.into_iter();
        frozen
            .notification_bounces
            .extend(bounces.filter(|r| newly(bounces_due(r))));
        let latency = before.notification_latency.into_iter();
        frozen
            .notification_latency
            .extend(latency.filter(|r| newly(latency_due(r))));
        let failures = before.notification_failures.into_iter();
        frozen
            .notification_failures
            .extend(failures.filter(|r| newly(day_due(r.day))));
        let variants = before.notification_variants.into_iter();
        frozen
            .notification_variants
            .extend(variants.filter(|r| newly(day_due(r.day))));
        let metrics = before.order_metrics.into_iter();
        frozen
            .order_metrics
            .extend(metrics.filter(|r| newly(metrics_due(r))));
        let sla = before.sla_compliance.into_iter();
        frozen
            .sla_compliance
            .extend(sla.filter(|r| newly(sla_due(r))));
        let tracking = before.tracking_activity.into_iter();
        frozen
            .tracking_activity
            .extend(tracking.filter(|r| newly(tracking_due(r))));
        let tenants = before.tenant_activity.into_iter();
        frozen
            .tenant_activity
            .extend(tenants.filter(|r| newly(tenants_due(r))));
    }
    let wl = w[last];
    views
        .notification_rates
        .retain(|r| !expired(rates_due(r), wl));
    views.notification_rates.extend(frozen.notification_rates);
    views
        .notification_bounces
        .retain(|r| !expired(bounces_due(r), wl));
    views
        .notification_bounces
        .extend(frozen.notification_bounces);
    views
        .notification_latency
        .retain(|r| !expired(latency_due(r), wl));
    views
        .notification_latency
        .extend(frozen.notification_latency);
    views
        .notification_failures
        .retain(|r| !expired(day_due(r.day), wl));
    views
        .notification_failures
        .extend(frozen.notification_failures);
    views
        .notification_variants
        .retain(|r| !expired(day_due(r.day), wl));
    views
        .notification_variants
        .extend(frozen.notification_variants);
    views.order_metrics.retain(|r| !expired(metrics_due(r), wl));
    views.order_metrics.extend(frozen.order_metrics);
    views.sla_compliance.retain(|r| !expired(sla_due(r), wl));
    views.sla_compliance.extend(frozen.sla_compliance);
    views
        .tracking_activity
        .retain(|r| !expired(tracking_due(r), wl));
    views.tracking_activity.extend(frozen.tracking_activity);
    views
        .tenant_activity
        .retain(|r| !expired(tenants_due(r), wl));
    views.tenant_activity.extend(frozen.tenant_activity);
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
        notification_latency: notifications_v2::notification_latency(winners),
        notification_failures: notifications_v2::notification_failures(winners),
        notification_variants: notifications_v2::notification_variants(winners),
        order_metrics: orders::order_metrics(winners),
        order_cancellations: orders::order_cancellations(winners),
        inventory_levels: inventory::inventory_levels(winners),
        case_backlog: cases.case_backlog(),
        sla_compliance: cases.sla_compliance(),
        open_case_sla,
        open_cases,
        timelines: timelines::timelines(&deduped.winners, attribution),
        pipeline_health: health::pipeline_health(decoded, deduped, winners),
        tracking_activity: activity::tracking_activity(winners),
        tenant_activity: activity::tenant_activity(winners),
    };
    views.sort();
    views
}
