//! `tracking_activity` and `tenant_activity` (VIEWS.md v2), each built on its own: counts of
//! the deduplicated events per window, read from each event alone (no entity state).
//!
//! - `tenant_activity`: every deduplicated event adds 1 to `(tenant, topic, granularity,
//!   window)` at its own time; the decoded event already carries the tenant VIEWS.md names
//!   (envelope A `tenant_id` or `default`, the Conecta360 tenant, a DLQ record's
//!   `original_notification.tenant_id` with `failure_timestamp` as its time).
//! - `tracking_activity`: every deduplicated `tracking.events` record is a `(key, entity)`
//!   pair, the entity named by the 128-bit hash (XXH3) of its id; [`distinct_windows`] keeps
//!   one count per distinct entity of a window key and gives the `[events, entities]`
//!   contributions that [`sum_windows`] totals. Two ids of one window key with equal 128-bit
//!   hashes would count as one entity: as for [`crate::distinct_hashed`], a chance below
//!   10^-20 for a billion ids, against a shared copy of each id's text per window key.

use differential_dataflow::collection::VecCollection;
use pulso_events::time::Granularity;
use pulso_events::views::{TenantActivity, TrackingActivity};
use pulso_events::{Body, Topic};

use crate::by_kind::TenantEvent;
use crate::distinct::distinct_windows;
use crate::intern::{text_hash, Interner, Name};
use crate::retention::Retention;
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::windows::sum_windows;
use crate::{Epoch, SharedEvent};

/// A `tracking_activity` key: tenant, entity type, event type, granularity, window start.
type TrackingKey = (Name, Name, Name, Granularity, i64);

/// A `tenant_activity` key: tenant, topic, granularity, window start.
type TenantKey = (Name, Topic, Granularity, i64);

/// Builds `tenant_activity` from the tenant, topic and time of every deduplicated event.
pub(crate) fn tenant_activity<'s>(
    events: VecCollection<'s, Epoch, TenantEvent>,
    maxima: Maxima<'s>,
    retention: Retention,
) -> VecCollection<'s, Epoch, TenantActivity> {
    let tenant_counts = events.explode(move |(tenant, topic, timestamp)| {
        Granularity::ALL.map(|g| {
            let key: TenantKey = (tenant.clone(), topic, g, g.floor(timestamp));
            (key, Sums::<1>::of(&[1]))
        })
    });
    sum_windows(
        "TenantActivity",
        tenant_counts,
        |k| (k.2, k.3),
        maxima,
        retention.windows,
    )
    .map(
        |((tenant_id, topic, granularity, window_start), s)| TenantActivity {
            tenant_id: (*tenant_id).to_owned(),
            topic: topic.name().to_string(),
            granularity,
            window_start,
            events: s.count(0),
        },
    )
}

/// Builds `tracking_activity` from the deduplicated `tracking.events` records.
pub fn tracking_activity<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
    maxima: Maxima<'s>,
    retention: Retention,
) -> VecCollection<'s, Epoch, TrackingActivity> {
    let mut names = Interner::default();
    let tracked = events.flat_map(move |event| {
        let Body::Tracking(t) = &event.body else {
            return Vec::new();
        };
        let (tenant, entity_type, event_type) = (
            names.name(&event.tenant_id),
            names.name(&t.entity_type),
            names.name(&t.event_type),
        );
        let entity = text_hash(&t.entity_id);
        Granularity::ALL
            .iter()
            .map(|&g| {
                let key: TrackingKey = (
                    tenant.clone(),
                    entity_type.clone(),
                    event_type.clone(),
                    g,
                    g.floor(event.timestamp),
                );
                (key, entity)
            })
            .collect()
    });
    let window = |k: &TrackingKey| (k.3, k.4);
    let contributions = distinct_windows(
        "TrackingEntities",
        tracked,
        window,
        maxima.clone(),
        retention.windows,
    );
    sum_windows(
        "TrackingActivity",
        contributions,
        window,
        maxima,
        retention.windows,
    )
    .map(
        |((tenant_id, entity_type, event_type, granularity, window_start), s)| TrackingActivity {
            tenant_id: (*tenant_id).to_owned(),
            entity_type: (*entity_type).to_owned(),
            event_type: (*event_type).to_owned(),
            granularity,
            window_start,
            events: s.count(0),
            entities: s.count(1),
        },
    )
}
