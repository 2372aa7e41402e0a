//! `pipeline_health`: per-topic records, rejections by DLQ reason, duplicates and orphans.
//!
//! Orphans (SEMANTICS.md), counted once per deduplicated event on the orphan's own topic:
//! webhooks whose notification has no send (`NOTIFICATION_SENT` or a Conecta360
//! `notificaciones.enviadas`), `ORDER_CONFIRMED`/`ORDER_CANCELLED` whose order has no
//! `ORDER_CREATED`, and `casos.asignados|actualizados|cerrados`, `sla.violados|cumplidos`
//! whose case has no `casos.creados`.

use std::collections::{BTreeMap, HashSet};

use pulso_events::views::TopicHealth;
use pulso_events::{
    Body, CasoEvent, Decoded, Event, NotificationEvent, OrderEvent, RejectReason, SourceRecord,
    Topic,
};

use crate::dedup::Deduped;

/// One [`TopicHealth`] per topic with at least one record.
pub(crate) fn pipeline_health(
    decoded: &[(SourceRecord, Decoded)],
    deduped: &Deduped,
    winners: &[Event],
) -> Vec<TopicHealth> {
    let mut topics: BTreeMap<Topic, TopicHealth> = BTreeMap::new();
    for (record, result) in decoded {
        let health = topics.entry(record.topic).or_insert_with(|| TopicHealth {
            topic: record.topic.name().to_string(),
            ..TopicHealth::default()
        });
        health.records += 1;
        if let Err(rejection) = result {
            let index = RejectReason::ALL
                .iter()
                .position(|r| *r == rejection.reason)
                .expect("every reason is in RejectReason::ALL");
            health.rejected[index] += 1;
        }
    }
    for (topic, health) in topics.iter_mut() {
        let accepted = deduped.accepted.get(topic).copied().unwrap_or(0);
        let distinct = deduped.distinct_keys.get(topic).copied().unwrap_or(0);
        health.duplicates = accepted - distinct;
    }
    for (topic, count) in orphans(winners) {
        if let Some(health) = topics.get_mut(&topic) {
            health.orphan_events += count;
        }
    }
    topics.into_values().collect()
}

/// Orphan events per topic among the deduplicated events.
fn orphans(winners: &[Event]) -> BTreeMap<Topic, i64> {
    let mut sent: HashSet<&str> = HashSet::new();
    let mut created_orders: HashSet<&str> = HashSet::new();
    let mut created_cases: HashSet<i64> = HashSet::new();
    for e in winners {
        match &e.body {
            Body::Notification(NotificationEvent::Sent(send))
            | Body::Caso(CasoEvent::NotificacionEnviada { send, .. }) => {
                sent.insert(&send.notification_id);
            }
            Body::Order(OrderEvent::Created { order_id, .. }) => {
                created_orders.insert(order_id);
            }
            Body::Caso(CasoEvent::Creado { caso_id, .. }) => {
                created_cases.insert(*caso_id);
            }
            _ => {}
        }
    }

    let mut counts: BTreeMap<Topic, i64> = BTreeMap::new();
    for e in winners {
        let orphan = match &e.body {
            Body::Notification(NotificationEvent::Webhook {
                notification_id, ..
            }) => !sent.contains(notification_id.as_str()),
            Body::Order(
                OrderEvent::Confirmed { order_id } | OrderEvent::Cancelled { order_id, .. },
            ) => !created_orders.contains(order_id.as_str()),
            Body::Caso(
                CasoEvent::Asignado { caso_id, .. }
                | CasoEvent::Actualizado { caso_id, .. }
                | CasoEvent::Cerrado { caso_id, .. }
                | CasoEvent::SlaViolado { caso_id, .. }
                | CasoEvent::SlaCumplido { caso_id, .. },
            ) => !created_cases.contains(caso_id),
            _ => false,
        };
        if orphan {
            *counts.entry(e.topic).or_default() += 1;
        }
    }
    counts
}
