//! The key of every view's rows in the serving store, and the tenant each row belongs to.

use std::borrow::Cow;
use std::sync::Arc;

use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TimelineEntry, TopicHealth,
    ViewRow,
};
use serde::{Deserialize, Serialize};

/// Key of `notification_rates`: `(granularity, window_start, tenant_id, channel, provider)`,
/// so one granularity's time range is one contiguous range of the map.
pub type NotificationRatesKey = (Granularity, Micros, String, String, String);
/// Key of `notification_bounces`: `(tenant_id, channel, day, bounce_type, reason)`.
pub type NotificationBouncesKey = (String, String, Micros, String, String);
/// Key of `order_metrics`: `(granularity, window_start, tenant_id)`.
pub type OrderMetricsKey = (Granularity, Micros, String);
/// Key of `order_cancellations`: `(tenant_id, reason)`.
pub type OrderCancellationsKey = (String, String);
/// Key of `inventory_levels`: `(tenant_id, sku)`.
pub type InventoryLevelsKey = (String, String);
/// Key of `case_backlog`: `(dependencia_id, estado)`.
pub type CaseBacklogKey = (i64, String);
/// Key of `sla_compliance`: `(dependencia_id, prioridad, day)`.
pub type SlaComplianceKey = (i64, Option<String>, Micros);
/// Key of `open_case_sla`: `(dependencia_id, prioridad, status)`.
pub type OpenCaseSlaKey = (i64, Option<String>, SlaStatus);
/// Key of the open-case listing: `(status, due_at, caso_id)`, most overdue first per status.
pub type OpenCaseKey = (SlaStatus, Micros, i64);
/// Key of `timelines`: `(entity_type, entity_id, timestamp, event_id, topic)`.
pub type TimelineKey = (Arc<str>, Arc<str>, Micros, Arc<str>, Arc<str>);
/// Key of the per-topic `pipeline_health` rows: the topic.
pub type TopicHealthKey = String;

/// A row type kept in a [`Table`], and how its key is derived from it.
pub trait Keyed: Clone + PartialEq {
    /// The map key: unique per row of a consistent view.
    type Key: Ord + Clone + Serialize + for<'de> Deserialize<'de>;
    /// This row's key.
    fn key(&self) -> Self::Key;
    /// The tenant the row belongs to (its table keeps each tenant's rows apart); `""` for the
    /// views that have no tenant.
    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
}

impl Keyed for NotificationRates {
    type Key = NotificationRatesKey;
    fn key(&self) -> Self::Key {
        (
            self.granularity,
            self.window_start,
            self.tenant_id.clone(),
            self.channel.clone(),
            self.provider.clone(),
        )
    }
    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }
}

impl Keyed for NotificationBounces {
    type Key = NotificationBouncesKey;
    fn key(&self) -> Self::Key {
        (
            self.tenant_id.clone(),
            self.channel.clone(),
            self.day,
            self.bounce_type.clone(),
            self.reason.clone(),
        )
    }
    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }
}

impl Keyed for OrderMetrics {
    type Key = OrderMetricsKey;
    fn key(&self) -> Self::Key {
        (self.granularity, self.window_start, self.tenant_id.clone())
    }
    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }
}

impl Keyed for OrderCancellations {
    type Key = OrderCancellationsKey;
    fn key(&self) -> Self::Key {
        (self.tenant_id.clone(), self.reason.clone())
    }
    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }
}

impl Keyed for InventoryLevels {
    type Key = InventoryLevelsKey;
    fn key(&self) -> Self::Key {
        (self.tenant_id.clone(), self.sku.clone())
    }
    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }
}

impl Keyed for CaseBacklog {
    type Key = CaseBacklogKey;
    fn key(&self) -> Self::Key {
        (self.dependencia_id, self.estado.clone())
    }
}

impl Keyed for SlaCompliance {
    type Key = SlaComplianceKey;
    fn key(&self) -> Self::Key {
        (self.dependencia_id, self.prioridad.clone(), self.day)
    }
}

impl Keyed for OpenCaseSla {
    type Key = OpenCaseSlaKey;
    fn key(&self) -> Self::Key {
        (self.dependencia_id, self.prioridad.clone(), self.status)
    }
}

impl Keyed for OpenCase {
    type Key = OpenCaseKey;
    fn key(&self) -> Self::Key {
        (self.status, self.due_at, self.caso_id)
    }
}

impl Keyed for TimelineEntry {
    type Key = TimelineKey;
    fn key(&self) -> Self::Key {
        (
            self.entity_type.clone(),
            self.entity_id.clone(),
            self.timestamp,
            self.event_id.clone(),
            self.topic.clone(),
        )
    }
    fn tenant(&self) -> Cow<'_, str> {
        summary_tenant(&self.summary).unwrap_or(Cow::Borrowed(""))
    }
}

impl Keyed for TopicHealth {
    type Key = TopicHealthKey;
    fn key(&self) -> Self::Key {
        self.topic.clone()
    }
}

/// The `tenant_id` a timeline entry's summary names (`pulso_events::timeline_summary`).
pub fn summary_tenant(summary: &str) -> Option<Cow<'_, str>> {
    #[derive(Deserialize)]
    struct Tenant<'a> {
        #[serde(borrow)]
        tenant_id: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<Tenant<'_>>(summary)
        .ok()
        .and_then(|t| t.tenant_id)
}

/// The tenant a view row belongs to (`""` for rows of views without a tenant).
pub(crate) fn tenant_of(row: &ViewRow) -> String {
    let tenant = match row {
        ViewRow::NotificationRates(r) => r.tenant(),
        ViewRow::NotificationBounces(r) => r.tenant(),
        ViewRow::OrderMetrics(r) => r.tenant(),
        ViewRow::OrderCancellations(r) => r.tenant(),
        ViewRow::InventoryLevels(r) => r.tenant(),
        ViewRow::CaseBacklog(r) => r.tenant(),
        ViewRow::SlaCompliance(r) => r.tenant(),
        ViewRow::OpenCaseSla(r) => r.tenant(),
        ViewRow::OpenCase(r) => r.tenant(),
        ViewRow::Timeline(r) => r.tenant(),
        ViewRow::TopicHealth(r) => r.tenant(),
        ViewRow::AsOf(_) | ViewRow::Watermark(_) => Cow::Borrowed(""),
    };
    tenant.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_entries_belong_to_their_summary_tenant() {
        assert_eq!(
            summary_tenant(r#"{"event_type":"X","tenant_id":"acme"}"#).as_deref(),
            Some("acme")
        );
        assert_eq!(
            summary_tenant(r#"{"tenant_id":"a\"b"}"#).as_deref(),
            Some("a\"b")
        );
        assert_eq!(summary_tenant(r#"{"event_type":"X"}"#), None);
        assert_eq!(summary_tenant("not json"), None);
    }
}
