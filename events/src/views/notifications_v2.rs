//! The rows of the notification views added in v2 (VIEWS.md, "Views and signals added in
//! v2"): `notification_latency`, `notification_failures` and `notification_variants`.

use serde::{Deserialize, Serialize};

use super::rate;
use crate::time::{Granularity, Micros};

/// `notification_latency`: delivery latency of the send-time cohort.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NotificationLatency {
    /// Tenant of the earliest send.
    pub tenant_id: String,
    /// Channel of the earliest send.
    pub channel: String,
    /// Provider of the earliest send.
    pub provider: String,
    /// Window size.
    pub granularity: Granularity,
    /// Earliest send time floored to the granularity.
    pub window_start: Micros,
    /// Distinct notifications of the cohort with a `NOTIFICATION_DELIVERED`.
    pub delivered: i64,
    /// Sum of their latencies (earliest delivery − earliest send), milliseconds.
    pub latency_ms_sum: i64,
    /// Nearest-rank median latency, milliseconds.
    pub latency_p50_ms: i64,
    /// Nearest-rank 95th percentile latency, milliseconds.
    pub latency_p95_ms: i64,
    /// Greatest latency, milliseconds.
    pub latency_max_ms: i64,
    /// Those delivered within the channel's target (`sla.delivery_seconds`).
    pub within_sla: i64,
}

impl NotificationLatency {
    /// `within_sla / delivered`.
    pub fn sla_met_rate(&self) -> Option<f64> {
        rate(self.within_sla, self.delivered)
    }
}

/// `notification_failures`: records of `notifications.dlq`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NotificationFailures {
    /// Tenant of `original_notification` (default `default`).
    pub tenant_id: String,
    /// Channel of `original_notification` (`UNKNOWN` when absent or not a channel).
    pub channel: String,
    /// Provider of `original_notification` (default `unknown`).
    pub provider: String,
    /// Day of `failure_timestamp`.
    pub day: Micros,
    /// `reason` (default `unspecified`).
    pub reason: String,
    /// Dead-lettered records.
    pub dead_lettered: i64,
    /// Sum of their `retry_count` (missing = 0).
    pub retries_total: i64,
    /// Greatest `retry_count` (missing = 0).
    pub max_retry_count: i64,
}

/// `notification_variants`: the day cohort of sends by category and template.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NotificationVariants {
    /// Tenant of the earliest send.
    pub tenant_id: String,
    /// Channel of the earliest send.
    pub channel: String,
    /// Category of the earliest send (`TRANSACTIONAL` for Conecta360).
    pub category: String,
    /// Template of the earliest send (`none` when absent; Conecta360: `tipo`).
    pub template: String,
    /// Day of the earliest send.
    pub day: Micros,
    /// Distinct notifications sent.
    pub sent: i64,
    /// ... delivered.
    pub delivered: i64,
    /// ... opened.
    pub opened: i64,
    /// ... clicked.
    pub clicked: i64,
    /// ... converted.
    pub converted: i64,
}

impl NotificationVariants {
    /// `opened / delivered`.
    pub fn open_rate(&self) -> Option<f64> {
        rate(self.opened, self.delivered)
    }
    /// `clicked / delivered`.
    pub fn click_rate(&self) -> Option<f64> {
        rate(self.clicked, self.delivered)
    }
    /// `converted / delivered`.
    pub fn conversion_rate(&self) -> Option<f64> {
        rate(self.converted, self.delivered)
    }
}
