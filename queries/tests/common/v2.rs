//! Fixture rows of the notification views added in v2 (`notification_latency`,
//! `notification_failures`, `notification_variants`) for tenants `acme` and `globex`.

use pulso_events::time::Granularity;
use pulso_events::views::{
    NotificationFailures, NotificationLatency, NotificationVariants, ViewRow,
};

use super::{t, DAYS};

/// The v2 rows of `tenant`: latency per channel (EMAIL, SMS) and day at hour and day
/// granularity, two DLQ reasons, an A/B pair of marketing templates.
pub(crate) fn v2_rows(tenant: &str) -> Vec<ViewRow> {
    let mut rows = Vec::new();
    for (channel, provider, p95) in [("EMAIL", "SES", 45_000), ("SMS", "Twilio", 9_000)] {
        for (i, day) in DAYS.iter().enumerate() {
            for granularity in [Granularity::Hour, Granularity::Day] {
                rows.push(ViewRow::NotificationLatency(NotificationLatency {
                    tenant_id: tenant.into(),
                    channel: channel.into(),
                    provider: provider.into(),
                    granularity,
                    window_start: t(day),
                    delivered: 4,
                    latency_ms_sum: 4_000 * (i as i64 + 1),
                    latency_p50_ms: 1_000 * (i as i64 + 1),
                    latency_p95_ms: p95,
                    latency_max_ms: p95,
                    within_sla: 3,
                }));
            }
        }
    }
    for (reason, n) in [("MAX_RETRIES_EXCEEDED", 3), ("INVALID_RECIPIENT", 1)] {
        rows.push(ViewRow::NotificationFailures(NotificationFailures {
            tenant_id: tenant.into(),
            channel: "EMAIL".into(),
            provider: "SES".into(),
            day: t(DAYS[1]),
            reason: reason.into(),
            dead_lettered: n,
            retries_total: 4 * n,
            max_retry_count: 5,
        }));
    }
    for (template, opened) in [("promo_a", 1), ("promo_b", 3)] {
        rows.push(ViewRow::NotificationVariants(NotificationVariants {
            tenant_id: tenant.into(),
            channel: "EMAIL".into(),
            category: "MARKETING".into(),
            template: template.into(),
            day: t(DAYS[0]),
            sent: 10,
            delivered: 8,
            opened,
            clicked: 1,
            converted: 0,
        }));
    }
    rows
}
