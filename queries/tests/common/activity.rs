//! Fixture rows of the activity views (`tracking_activity`, `tenant_activity`).

use pulso_events::time::Granularity;
use pulso_events::views::{TenantActivity, TrackingActivity, ViewRow};

use super::{t, DAYS};

/// A `tracking_activity` row.
pub(crate) fn tracking(
    tenant: &str,
    entity_type: &str,
    event_type: &str,
    g: Granularity,
    start: &str,
) -> TrackingActivity {
    TrackingActivity {
        tenant_id: tenant.into(),
        entity_type: entity_type.into(),
        event_type: event_type.into(),
        granularity: g,
        window_start: t(start),
        events: 5,
        entities: 3,
    }
}

/// A `tenant_activity` row.
pub(crate) fn activity(tenant: &str, topic: &str, g: Granularity, start: &str) -> TenantActivity {
    TenantActivity {
        tenant_id: tenant.into(),
        topic: topic.into(),
        granularity: g,
        window_start: t(start),
        events: 12,
    }
}

/// The activity rows of `tenant`: two entity types and two topics, by day and by hour, on
/// every day of the fixture.
pub(crate) fn activity_rows(tenant: &str) -> Vec<ViewRow> {
    let mut rows = Vec::new();
    for day in DAYS {
        for g in [Granularity::Day, Granularity::Hour] {
            for (entity_type, event_type) in [("shipment", "PICKED_UP"), ("bag", "LOADED")] {
                let row = tracking(tenant, entity_type, event_type, g, day);
                rows.push(ViewRow::TrackingActivity(row));
            }
            for topic in ["orders.events", "tracking.events"] {
                rows.push(ViewRow::TenantActivity(activity(tenant, topic, g, day)));
            }
        }
    }
    rows
}

/// The Conecta360 tenant's one activity row.
pub(crate) fn conecta360_activity() -> TenantActivity {
    activity("conecta360", "casos.creados", Granularity::Day, DAYS[0])
}
