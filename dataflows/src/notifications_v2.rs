//! The notification views added in v2: `notification_latency` and `notification_variants`
//! (from the per-notification summaries of [`crate::notifications`], no event state), and
//! `notification_failures` (from the records of `notifications.dlq`, each counted once).
//!
//! Latency percentiles are exact: per cohort window, a multiset of the latencies of its
//! delivered notifications (one entry per distinct millisecond value) in
//! [`reduce_windows`]; DLQ retry counts likewise per failure row. Variants are plain sums.

use differential_dataflow::collection::VecCollection;
use pulso_events::delivery_sla::{latency_ms, nearest_rank, DeliverySla};
use pulso_events::money::saturate;
use pulso_events::time::Granularity;
use pulso_events::views::{NotificationFailures, NotificationLatency, NotificationVariants};
use pulso_events::{Body, Channel};

use crate::intern::{Interner, Name};
use crate::notifications::NotificationSummary;
use crate::reduce_windows::{reduce_windows, Multiset};
use crate::retention::WindowHorizons;
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::windows::sum_windows;
use crate::{Epoch, SharedEvent};

/// `(tenant_id, channel, provider, granularity, window_start)` of a send cohort.
type CohortKey = (Name, Channel, Name, Granularity, i64);

/// `notification_latency`: each delivered notification's latency in its send cohort's
/// windows, reduced to counts, sum, nearest-rank percentiles and SLA share per window.
pub(crate) fn notification_latency<'s>(
    summaries: VecCollection<'s, Epoch, NotificationSummary>,
    maxima: Maxima<'s>,
    horizons: WindowHorizons,
    sla: DeliverySla,
) -> VecCollection<'s, Epoch, NotificationLatency> {
    let latencies = summaries.flat_map(|summary| {
        let mut out: Vec<(CohortKey, i64)> = Vec::new();
        if let NotificationSummary::Cohort {
            tenant_id,
            channel,
            provider,
            sent_at,
            delivered_at: Some(delivered_at),
            ..
        } = summary
        {
            let latency = latency_ms(sent_at, delivered_at);
            for granularity in Granularity::ALL {
                let window = granularity.floor(sent_at);
                let key = (
                    tenant_id.clone(),
                    channel,
                    provider.clone(),
                    granularity,
                    window,
                );
                out.push((key, latency));
            }
        }
        out
    });
    reduce_windows(
        "NotificationLatency",
        latencies,
        |k| (k.3, k.4),
        move |k: &CohortKey, values: &Multiset<i64>| latency_totals(k.1, values, &sla),
        maxima,
        horizons,
    )
    .map(
        |((tenant_id, channel, provider, granularity, window_start), t)| NotificationLatency {
            tenant_id: (*tenant_id).to_owned(),
            channel: channel.as_str().to_string(),
            provider: (*provider).to_owned(),
            granularity,
            window_start,
            delivered: t[0],
            latency_ms_sum: t[1],
            latency_p50_ms: t[2],
            latency_p95_ms: t[3],
            latency_max_ms: t[4],
            within_sla: t[5],
        },
    )
}

/// `[delivered, latency_ms_sum, p50, p95, max, within_sla]` of one window's latencies.
fn latency_totals(channel: Channel, values: &Multiset<i64>, sla: &DeliverySla) -> [i64; 6] {
    let sorted: Vec<(i64, i64)> = values.iter().map(|(v, c)| (*v, *c)).collect();
    let delivered: i64 = sorted.iter().map(|(_, c)| c).sum();
    let sum: i128 = sorted
        .iter()
        .map(|(v, c)| i128::from(*v) * i128::from(*c))
        .sum();
    let within: i64 = sorted
        .iter()
        .filter(|(v, _)| sla.met(channel, *v))
        .map(|(_, c)| c)
        .sum();
    let max = sorted.last().map_or(0, |(v, _)| *v);
    [
        delivered,
        saturate(sum, "latency_ms_sum"),
        nearest_rank(&sorted, 50),
        nearest_rank(&sorted, 95),
        max,
        within,
    ]
}

/// `(tenant_id, channel, category, template, day)` of a send.
type VariantKey = (Name, Channel, Name, Name, i64);

/// `notification_variants`: the cohort's counts per category and template of the earliest
/// send, by day.
pub(crate) fn notification_variants<'s>(
    summaries: VecCollection<'s, Epoch, NotificationSummary>,
    maxima: Maxima<'s>,
    horizons: WindowHorizons,
) -> VecCollection<'s, Epoch, NotificationVariants> {
    let contributions = summaries.explode(|summary| {
        let NotificationSummary::Cohort {
            tenant_id,
            channel,
            sent_at,
            totals,
            variant: (category, template),
            ..
        } = summary
        else {
            return None;
        };
        let key: VariantKey = (
            tenant_id,
            channel,
            category,
            template,
            Granularity::Day.floor(sent_at),
        );
        // sent, delivered, opened, clicked, converted.
        Some((key, Sums::<5>::of(&totals[..5])))
    });
    sum_windows(
        "NotificationVariants",
        contributions,
        |k| (Granularity::Day, k.4),
        maxima,
        horizons,
    )
    .map(
        |((tenant_id, channel, category, template, day), s)| NotificationVariants {
            tenant_id: (*tenant_id).to_owned(),
            channel: channel.as_str().to_string(),
            category: (*category).to_owned(),
            template: (*template).to_owned(),
            day,
            sent: s.count(0),
            delivered: s.count(1),
            opened: s.count(2),
            clicked: s.count(3),
            converted: s.count(4),
        },
    )
}

/// `(tenant_id, channel, provider, day, reason)` of a dead-lettered notification.
type FailureKey = (Name, Name, Name, i64, Name);

/// `notification_failures`: the records of `notifications.dlq` (each deduplicated record is
/// one: its idempotency key is its position) per original channel, provider, day of failure
/// and reason, with their retry counts.
pub(crate) fn notification_failures<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
    maxima: Maxima<'s>,
    horizons: WindowHorizons,
) -> VecCollection<'s, Epoch, NotificationFailures> {
    let mut names = Interner::default();
    let records = events.flat_map(move |event| {
        let Body::NotificationDlq(record) = &event.body else {
            return None;
        };
        let channel = record.channel.map_or("UNKNOWN", Channel::as_str);
        let key: FailureKey = (
            names.name(&event.tenant_id),
            names.name(channel),
            names.name(record.provider.as_deref().unwrap_or("unknown")),
            Granularity::Day.floor(event.timestamp),
            names.name(record.reason.as_deref().unwrap_or("unspecified")),
        );
        Some((key, record.retry_count.unwrap_or(0)))
    });
    reduce_windows(
        "NotificationFailures",
        records,
        |k| (Granularity::Day, k.3),
        |_k: &FailureKey, values: &Multiset<i64>| {
            let count: i64 = values.values().sum();
            let total: i128 = values
                .iter()
                .map(|(v, c)| i128::from(*v) * i128::from(*c))
                .sum();
            let max = values.keys().next_back().copied().unwrap_or(0);
            (count, saturate(total, "retries_total"), max)
        },
        maxima,
        horizons,
    )
    .map(
        |((tenant_id, channel, provider, day, reason), (dead_lettered, retries, max))| {
            NotificationFailures {
                tenant_id: (*tenant_id).to_owned(),
                channel: (*channel).to_owned(),
                provider: (*provider).to_owned(),
                day,
                reason: (*reason).to_owned(),
                dead_lettered,
                retries_total: retries,
                max_retry_count: max,
            }
        },
    )
}
