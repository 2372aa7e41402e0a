//! Sample rows of the v2 notification views for the sinks' tests (an empty-string key, a
//! null rate, a day before 1970 included).

use pulso_events::time::{Granularity, MICROS_PER_DAY};
use pulso_events::views::{
    NotificationFailures, NotificationLatency, NotificationVariants, ViewSet,
};

const T0: i64 = 1_705_314_600_000_000; // 2024-01-15T10:30:00Z

/// Fills the v2 notification views of `set` with a few rows.
pub(crate) fn add_v2_rows(set: &mut ViewSet) {
    set.notification_latency = Granularity::ALL
        .into_iter()
        .map(|granularity| NotificationLatency {
            tenant_id: "acme".into(),
            channel: "SMS".into(),
            provider: "Twilio".into(),
            granularity,
            window_start: granularity.floor(T0),
            delivered: 3,
            latency_ms_sum: 31_500,
            latency_p50_ms: 9_000,
            latency_p95_ms: 20_000,
            latency_max_ms: 20_000,
            within_sla: 2,
        })
        .collect();
    set.notification_failures = vec![
        NotificationFailures {
            tenant_id: "acme".into(),
            channel: "EMAIL".into(),
            provider: "SES".into(),
            day: Granularity::Day.floor(T0),
            reason: "MAX_RETRIES".into(),
            dead_lettered: 2,
            retries_total: 7,
            max_retry_count: 5,
        },
        NotificationFailures {
            tenant_id: "default".into(),
            channel: "UNKNOWN".into(),
            provider: "unknown".into(),
            day: -MICROS_PER_DAY,
            reason: "".into(),
            dead_lettered: 1,
            retries_total: 0,
            max_retry_count: 0,
        },
    ];
    set.notification_variants = vec![
        NotificationVariants {
            tenant_id: "acme".into(),
            channel: "EMAIL".into(),
            category: "MARKETING".into(),
            template: "promo_b".into(),
            day: Granularity::Day.floor(T0),
            sent: 4,
            delivered: 0, // every rate null
            opened: 0,
            clicked: 0,
            converted: 0,
        },
        NotificationVariants {
            tenant_id: "conecta360".into(),
            channel: "SMS".into(),
            category: "TRANSACTIONAL".into(),
            template: "CREACION".into(),
            day: Granularity::Day.floor(T0),
            sent: 10,
            delivered: 8,
            opened: 4,
            clicked: 2,
            converted: 1,
        },
    ];
}
