//! Fixture rows of the activity views (`tracking_activity`, `tenant_activity`).

use pulso_events::time::Granularity;
use pulso_events::views::{TenantActivity, TrackingActivity};

use super::t;

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

