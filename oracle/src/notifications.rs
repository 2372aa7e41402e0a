//! `notification_rates` and `notification_bounces`: the send-time cohort of notifications.
//!
//! A notification is identified by `notification_id` alone. Its cohort (tenant, channel,
//! provider, window, cost, fallback) comes from its earliest send, a `NOTIFICATION_SENT` or a
//! Conecta360 `notificaciones.enviadas` (whose id is already `c360-<notificacion_id>`).
//! Webhooks count towards the cohort of the send whatever their own time, and only once the
//! send exists. Every column counts distinct notifications.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{NotificationBounces, NotificationRates};
use pulso_events::{Body, BounceType, CasoEvent, Event, NotificationEvent, Outcome, Send};

use crate::pick::{order, Earliest, EventOrder};

/// Everything known about one notification.
#[derive(Default)]
struct Notification<'a> {
    /// The earliest send and the event carrying it.
    first_send: Earliest<EventOrder<'a>, (&'a Event, &'a Send)>,
    delivered: bool,
    opened: bool,
    clicked: bool,
    converted: bool,
    failed: bool,
    /// Distinct `(bounce_type, reason)` it bounced with.
    bounces: BTreeSet<(BounceType, String)>,
}

/// Gathers every notification named by a send or a webhook.
fn notifications(winners: &[Event]) -> HashMap<&str, Notification<'_>> {
    let mut all: HashMap<&str, Notification<'_>> = HashMap::new();
    for e in winners {
        match &e.body {
            Body::Notification(NotificationEvent::Sent(send)) => {
                all.entry(&send.notification_id)
                    .or_default()
                    .first_send
                    .offer(order(e), (e, send));
            }
            Body::Caso(CasoEvent::NotificacionEnviada { send, failed, .. }) => {
                let n = all.entry(&send.notification_id).or_default();
                n.first_send.offer(order(e), (e, send));
                n.failed |= *failed;
            }
            Body::Notification(NotificationEvent::Webhook {
                notification_id,
                outcome,
            }) => {
                let n = all.entry(notification_id).or_default();
                match outcome {
                    Outcome::Delivered => n.delivered = true,
                    Outcome::Opened => n.opened = true,
                    Outcome::Clicked => n.clicked = true,
                    Outcome::Converted => n.converted = true,
                    Outcome::Failed { .. } => n.failed = true,
                    Outcome::Bounced {
                        bounce_type,
                        reason,
                    } => {
                        let reason = reason.clone().unwrap_or_else(|| "unspecified".to_string());
                        n.bounces.insert((*bounce_type, reason));
                    }
                }
            }
            _ => {}
        }
    }
    all
}

/// `notification_rates` at every granularity.
pub(crate) fn notification_rates(winners: &[Event]) -> Vec<NotificationRates> {
    type Key = (String, String, String, Granularity, Micros);
    let mut rows: BTreeMap<Key, NotificationRates> = BTreeMap::new();
    for n in notifications(winners).values() {
        let Some((event, send)) = n.first_send.value() else {
            continue; // webhooks of a notification never sent: orphans
        };
        for granularity in Granularity::ALL {
            let window_start = granularity.floor(event.timestamp);
            let key = (
                event.tenant_id.clone(),
                send.channel.as_str().to_string(),
                send.provider.clone(),
                granularity,
                window_start,
            );
            let row = rows.entry(key).or_insert_with(|| NotificationRates {
                tenant_id: event.tenant_id.clone(),
                channel: send.channel.as_str().to_string(),
                provider: send.provider.clone(),
                granularity,
                window_start,
                sent: 0,
                delivered: 0,
                opened: 0,
                clicked: 0,
                converted: 0,
                bounced: 0,
                hard_bounced: 0,
                failed: 0,
                fallback: 0,
                cost_total: 0,
            });
            row.sent += 1;
            row.delivered += i64::from(n.delivered);
            row.opened += i64::from(n.opened);
            row.clicked += i64::from(n.clicked);
            row.converted += i64::from(n.converted);
            row.bounced += i64::from(!n.bounces.is_empty());
            row.hard_bounced += i64::from(n.bounces.iter().any(|(t, _)| *t == BounceType::Hard));
            row.failed += i64::from(n.failed);
            row.fallback += i64::from(send.preferred_channel.is_some_and(|p| p != send.channel));
            row.cost_total += i128::from(send.cost.unwrap_or(0));
        }
    }
    rows.into_values().collect()
}

/// `notification_bounces`: distinct notifications per `(tenant, channel, day of the send,
/// bounce_type, reason)`.
pub(crate) fn notification_bounces(winners: &[Event]) -> Vec<NotificationBounces> {
    type Key = (String, String, Micros, String, String);
    let mut rows: BTreeMap<Key, i64> = BTreeMap::new();
    for n in notifications(winners).values() {
        let Some((event, send)) = n.first_send.value() else {
            continue;
        };
        let day = Granularity::Day.floor(event.timestamp);
        for (bounce_type, reason) in &n.bounces {
            let key = (
                event.tenant_id.clone(),
                send.channel.as_str().to_string(),
                day,
                bounce_type.as_str().to_string(),
                reason.clone(),
            );
            *rows.entry(key).or_default() += 1;
        }
    }
    rows.into_iter()
        .map(
            |((tenant_id, channel, day, bounce_type, reason), notifications)| NotificationBounces {
                tenant_id,
                channel,
                day,
                bounce_type,
                reason,
                notifications,
            },
        )
        .collect()
}
