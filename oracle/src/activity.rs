//! `tracking_activity` and `tenant_activity` (VIEWS.md, "Views and signals added in v2"),
//! computed from scratch over the deduplicated events.
//!
//! `tenant_activity` counts every deduplicated accepted event in the windows of its own time,
//! under its own tenant: envelope A `tenant_id` (default `default`), the Conecta360 tenant of
//! envelope B, a `notifications.dlq` record's `original_notification.tenant_id` (default
//! `default`) at its `failure_timestamp`. `tracking_activity` counts the `tracking.events`
//! per tenant, entity type, event type and window, with the distinct `entity_id`s among them.

use std::collections::{BTreeMap, BTreeSet};

use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{TenantActivity, TrackingActivity};
use pulso_events::{Body, Event};

/// The tenant `tenant_activity` files `e` under. The decoder gives every event the tenant
/// VIEWS.md names for it, defaults applied: envelope A `tenant_id` (or `default`), the
/// Conecta360 tenant (`conecta360` unless configured otherwise) for envelope B, and
/// `original_notification.tenant_id` (or `default`) for a `notifications.dlq` record, whose
/// time is its `failure_timestamp`.
fn tenant_of(e: &Event) -> &str {
    &e.tenant_id
}

/// `tenant_activity` at every granularity.
pub(crate) fn tenant_activity(winners: &[Event]) -> Vec<TenantActivity> {
    let mut rows: BTreeMap<(String, &str, Granularity, Micros), i64> = BTreeMap::new();
    for e in winners {
        for granularity in Granularity::ALL {
            let key = (
                tenant_of(e).to_string(),
                e.topic.name(),
                granularity,
                granularity.floor(e.timestamp),
            );
            *rows.entry(key).or_default() += 1;
        }
    }
    rows.into_iter()
        .map(
            |((tenant_id, topic, granularity, window_start), events)| TenantActivity {
                tenant_id,
                topic: topic.to_string(),
                granularity,
                window_start,
                events,
            },
        )
        .collect()
}

/// `tracking_activity` at every granularity.
pub(crate) fn tracking_activity(winners: &[Event]) -> Vec<TrackingActivity> {
    type Key<'a> = (&'a str, &'a str, &'a str, Granularity, Micros);
    let mut rows: BTreeMap<Key<'_>, (i64, BTreeSet<&str>)> = BTreeMap::new();
    for e in winners {
        let Body::Tracking(t) = &e.body else { continue };
        for granularity in Granularity::ALL {
            let key = (
                e.tenant_id.as_str(),
                t.entity_type.as_str(),
                t.event_type.as_str(),
                granularity,
                granularity.floor(e.timestamp),
            );
            let (events, entities) = rows.entry(key).or_default();
            *events += 1;
            entities.insert(&t.entity_id);
        }
    }
    rows.into_iter()
        .map(
            |((tenant_id, entity_type, event_type, granularity, window_start), (events, ids))| {
                TrackingActivity {
                    tenant_id: tenant_id.to_string(),
                    entity_type: entity_type.to_string(),
                    event_type: event_type.to_string(),
                    granularity,
                    window_start,
                    events,
                    entities: ids.len() as i64,
                }
            },
        )
        .collect()
}
