//! `timelines`: one entry per (deduplicated event, entity it names).
//!
//! Entities: `order` (orders, inventory reservations/releases/insufficient stock, sends with
//! an `order_id`), `sku` (`STOCK_SET`, `STOCK_ADJUSTED`, `INSUFFICIENT_STOCK`),
//! `notification` (sends, webhooks, `notifications.dlq` records naming one), `caso`
//! (`casos.*`, `sla.*`, sends with a `caso_id`), `ciudadano` (`ciudadanos.registrados`,
//! `casos.creados`), and for `tracking.events` their own `entity_type`/`entity_id`.
//! The `event_type` is the envelope's type string: the wire name for envelope A (free text
//! for tracking), the topic name (`evento_tipo`) for envelope B, and
//! `NOTIFICATION_DEAD_LETTERED` for `notifications.dlq`. The mapping is kept here on purpose,
//! independent of the engine's. The summary is `pulso_events::timeline_summary`: the event's
//! summary plus the entry's `tenant_id` (the event's, or for webhooks and `notifications.dlq`
//! records the tenant of the notification's earliest send, when there is one).

use std::collections::{BTreeMap, BTreeSet};

use pulso_events::views::TimelineEntry;
use pulso_events::{
    Body, CasoEvent, Event, InventoryEvent, NotificationEvent, OrderEvent, Outcome,
};

/// Every timeline entry of the deduplicated events, without duplicates.
/// Webhook and DLQ entries take the tenant of the earliest send of their notification within
/// the same `attribution` generation (retention; always 0 without it).
pub(crate) fn timelines(
    winners: &[Event],
    attribution: impl Fn(usize) -> u32,
) -> Vec<TimelineEntry> {
    // The tenant of each notification's earliest send (least `(timestamp, event_id)`).
    let mut sends: BTreeMap<(&str, u32), (i64, &str, &str)> = BTreeMap::new();
    for (i, e) in winners.iter().enumerate() {
        if let Body::Notification(NotificationEvent::Sent(send))
        | Body::Caso(CasoEvent::NotificacionEnviada { send, .. }) = &e.body
        {
            let candidate = (e.timestamp, e.event_id.as_str(), e.tenant_id.as_str());
            let key = (send.notification_id.as_str(), attribution(i));
            let earliest = sends.entry(key).or_insert(candidate);
            *earliest = (*earliest).min(candidate);
        }
    }
    let mut entries: BTreeSet<TimelineEntry> = BTreeSet::new();
    for (i, e) in winners.iter().enumerate() {
        let event_type = event_type(e);
        // Webhooks and notifications.dlq records carry no tenant: they belong to the send's.
        let referred = match &e.body {
            Body::Notification(NotificationEvent::Webhook {
                notification_id, ..
            }) => Some(notification_id.as_str()),
            Body::NotificationDlq(d) => d.notification_id.as_deref(),
            _ => None,
        };
        let tenant = referred
            .and_then(|id| sends.get(&(id, attribution(i))))
            .map_or(e.tenant_id.as_str(), |(_, _, tenant)| tenant);
        let summary = pulso_events::timeline_summary(e, tenant);
        for (entity_type, entity_id) in entities(e) {
            entries.insert(TimelineEntry {
                entity_type: entity_type.into(),
                entity_id: entity_id.into(),
                timestamp: e.timestamp,
                event_id: e.event_id.as_str().into(),
                topic: e.topic.name().into(),
                event_type: event_type.as_str().into(),
                summary: summary.as_str().into(),
            });
        }
    }
    entries.into_iter().collect()
}

/// The envelope's type string.
fn event_type(e: &Event) -> String {
    let name = match &e.body {
        Body::Order(OrderEvent::Created { .. }) => "ORDER_CREATED",
        Body::Order(OrderEvent::Confirmed { .. }) => "ORDER_CONFIRMED",
        Body::Order(OrderEvent::Cancelled { .. }) => "ORDER_CANCELLED",
        Body::Inventory(InventoryEvent::StockSet { .. }) => "STOCK_SET",
        Body::Inventory(InventoryEvent::StockAdjusted { .. }) => "STOCK_ADJUSTED",
        Body::Inventory(InventoryEvent::Reserved { .. }) => "INVENTORY_RESERVED",
        Body::Inventory(InventoryEvent::Released { .. }) => "INVENTORY_RELEASED",
        Body::Inventory(InventoryEvent::InsufficientStock { .. }) => "INSUFFICIENT_STOCK",
        Body::Notification(NotificationEvent::Sent(_)) => "NOTIFICATION_SENT",
        Body::Notification(NotificationEvent::Webhook { outcome, .. }) => match outcome {
            Outcome::Delivered => "NOTIFICATION_DELIVERED",
            Outcome::Opened => "NOTIFICATION_OPENED",
            Outcome::Clicked => "NOTIFICATION_CLICKED",
            Outcome::Converted => "NOTIFICATION_CONVERTED",
            Outcome::Bounced { .. } => "NOTIFICATION_BOUNCED",
            Outcome::Failed { .. } => "NOTIFICATION_FAILED",
        },
        Body::NotificationDlq(_) => "NOTIFICATION_DEAD_LETTERED",
        Body::Tracking(t) => t.event_type.as_str(),
        Body::Caso(_) => e.topic.name(),
    };
    name.to_string()
}

/// The `(entity_type, entity_id)` pairs an event names.
fn entities(e: &Event) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |entity_type: &str, id: &str| out.push((entity_type.to_string(), id.to_string()));
    match &e.body {
        Body::Order(o) => add("order", o.order_id()),
        Body::Inventory(i) => {
            match i {
                InventoryEvent::StockSet { sku, .. }
                | InventoryEvent::StockAdjusted { sku, .. } => add("sku", sku),
                InventoryEvent::Reserved { order_id, .. }
                | InventoryEvent::Released { order_id } => add("order", order_id),
                InventoryEvent::InsufficientStock { order_id, sku, .. } => {
                    add("order", order_id);
                    add("sku", sku);
                }
            }
        }
        Body::Notification(NotificationEvent::Sent(send))
        | Body::Caso(CasoEvent::NotificacionEnviada { send, .. }) => {
            add("notification", &send.notification_id);
            if let Some(order_id) = &send.order_id {
                add("order", order_id);
            }
            if let Some(caso_id) = send.caso_id {
                add("caso", &caso_id.to_string());
            }
        }
        Body::Notification(NotificationEvent::Webhook {
            notification_id, ..
        }) => add("notification", notification_id),
        Body::NotificationDlq(d) => {
            if let Some(notification_id) = &d.notification_id {
                add("notification", notification_id);
            }
        }
        Body::Tracking(t) => add(&t.entity_type, &t.entity_id),
        Body::Caso(c) => match c {
            CasoEvent::Creado {
                caso_id,
                ciudadano_id,
                ..
            } => {
                add("caso", &caso_id.to_string());
                add("ciudadano", &ciudadano_id.to_string());
            }
            CasoEvent::Asignado { caso_id, .. }
            | CasoEvent::Actualizado { caso_id, .. }
            | CasoEvent::Cerrado { caso_id, .. }
            | CasoEvent::SlaViolado { caso_id, .. }
            | CasoEvent::SlaCumplido { caso_id, .. } => add("caso", &caso_id.to_string()),
            CasoEvent::CiudadanoRegistrado { ciudadano_id, .. } => {
                add("ciudadano", &ciudadano_id.to_string())
            }
            CasoEvent::NotificacionEnviada { .. } | CasoEvent::DependenciaConfigurada { .. } => {}
        },
    }
    out
}
