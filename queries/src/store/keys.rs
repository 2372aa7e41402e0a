//! The key of every view's rows in the serving store, and the tenant each row belongs to:
//! both declared by the view's registry entry ([`View::serve_key`], [`View::tenant`]).

use pulso_events::intern::Interner;
use pulso_events::registry::{RowVisitor, View};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, TimelineEntry, TopicHealth, ViewRow,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

pub use pulso_events::registry::summary_tenant;

/// Key of `notification_rates`: `(granularity, window_start, tenant_id, channel, provider)`,
/// so one granularity's time range is one contiguous range of the map.
pub type NotificationRatesKey = <NotificationRates as View>::ServeKey;
/// Key of `notification_bounces`: `(tenant_id, channel, day, bounce_type, reason)`.
pub type NotificationBouncesKey = <NotificationBounces as View>::ServeKey;
/// Key of `order_metrics`: `(granularity, window_start, tenant_id, currency)`.
pub type OrderMetricsKey = <OrderMetrics as View>::ServeKey;
/// Key of `order_cancellations`: `(tenant_id, reason)`.
pub type OrderCancellationsKey = <OrderCancellations as View>::ServeKey;
/// Key of `inventory_levels`: `(tenant_id, sku)`.
pub type InventoryLevelsKey = <InventoryLevels as View>::ServeKey;
/// Key of `case_backlog`: `(dependencia_id, estado)`.
pub type CaseBacklogKey = <CaseBacklog as View>::ServeKey;
/// Key of `sla_compliance`: `(dependencia_id, prioridad, day)`.
pub type SlaComplianceKey = <SlaCompliance as View>::ServeKey;
/// Key of `open_case_sla`: `(dependencia_id, prioridad, status)`.
pub type OpenCaseSlaKey = <OpenCaseSla as View>::ServeKey;
/// Key of the open-case listing: `(status, due_at, caso_id)`, most overdue first per status.
pub type OpenCaseKey = <OpenCase as View>::ServeKey;
/// Key of `timelines`: `(entity_type, entity_id, timestamp, event_id, topic)`.
pub type TimelineKey = <TimelineEntry as View>::ServeKey;
/// Key of the per-topic `pipeline_health` rows: the topic.
pub type TopicHealthKey = <TopicHealth as View>::ServeKey;

/// A row type kept in a [`super::Table`], and how its key is derived from it: every view of
/// the registry.
pub trait Keyed: Clone + PartialEq {
    /// The map key: unique per row of a consistent view.
    type Key: Ord + Clone + Serialize + for<'de> Deserialize<'de>;
    /// This row's key.
    fn key(&self) -> Self::Key;
}

impl<V: View> Keyed for V {
    type Key = V::ServeKey;
    fn key(&self) -> Self::Key {
        self.serve_key()
    }
}

/// Gives a row's tenant.
struct TenantOf;

impl<'a> RowVisitor<'a> for TenantOf {
    type Output = Cow<'a, str>;
    fn visit<V: View>(self, row: &'a V) -> Cow<'a, str> {
        row.tenant()
    }
}

/// The tenants of one epoch's rows, each allocated once (`""` for rows of views without one).
#[derive(Default)]
pub(crate) struct TenantNames {
    names: Interner,
    /// The last tenant given: neighbouring rows mostly share it, and comparing it is cheaper
    /// than hashing the text.
    last: Option<Arc<str>>,
}

impl TenantNames {
    /// The tenant `row` belongs to.
    pub(crate) fn of(&mut self, row: &ViewRow) -> Arc<str> {
        let tenant = row.visit(TenantOf).unwrap_or_default();
        match &self.last {
            Some(last) if **last == *tenant => Arc::clone(last),
            _ => Arc::clone(self.last.insert(self.names.name(&tenant))),
        }
    }
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
