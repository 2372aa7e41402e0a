//! The notification views added in v2, from VIEWS.md ("Views and signals added in v2"):
//! `notification_latency`, `notification_failures` and `notification_variants`.
//!
//! Like `notification_rates`, a notification's cohort is its earliest send (least
//! `(timestamp, event_id)`), and webhooks count only once that send exists. The latency of a
//! delivered notification is its earliest `NOTIFICATION_DELIVERED` time minus its earliest
//! send time, in whole milliseconds (floor, negative → 0); percentiles are nearest rank over
//! the sorted list of a window's latencies. Each `notifications.dlq` record is one failure.

use std::collections::{BTreeMap, HashMap};

use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{NotificationFailures, NotificationLatency, NotificationVariants};
use pulso_events::{Body, CasoEvent, Channel, Event, NotificationEvent, Outcome, Send};

use crate::pick::{order, Earliest, EventOrder};

/// The delivery targets of VIEWS.md, in seconds (the defaults of `sla.delivery_seconds`).
fn target_seconds(channel: &str) -> i64 {
    match channel {
        "EMAIL" => 30,
        "SMS" => 10,
        "PUSH" => 5,
        _ => 10, // WHATSAPP
    }
}

/// What the v2 views read of one notification.
#[derive(Default)]
struct Notification<'a> {
    /// The earliest send, its event and its template (Conecta360: `tipo`).
    first_send: Earliest<EventOrder<'a>, (&'a Event, &'a Send, Option<&'a str>)>,
    /// The earliest `NOTIFICATION_DELIVERED` time.
    delivered_at: Option<Micros>,
    opened: bool,
    clicked: bool,
    converted: bool,
}

fn notifications(winners: &[Event]) -> HashMap<&str, Notification<'_>> {
    let mut all: HashMap<&str, Notification<'_>> = HashMap::new();
    for e in winners {
        match &e.body {
            Body::Notification(NotificationEvent::Sent(send)) => {
                let n = all.entry(&send.notification_id).or_default();
                n.first_send
                    .offer(order(e), (e, send, send.template.as_deref()));
            }
            Body::Caso(CasoEvent::NotificacionEnviada { send, tipo, .. }) => {
                let n = all.entry(&send.notification_id).or_default();
                n.first_send.offer(order(e), (e, send, Some(tipo.as_str())));
            }
            Body::Notification(NotificationEvent::Webhook {
                notification_id,
                outcome,
            }) => {
                let n = all.entry(notification_id).or_default();
                match outcome {
                    Outcome::Delivered => {
                        n.delivered_at = Some(match n.delivered_at {
                            Some(t) => t.min(e.timestamp),
                            None => e.timestamp,
                        });
                    }
                    Outcome::Opened => n.opened = true,
                    Outcome::Clicked => n.clicked = true,
                    Outcome::Converted => n.converted = true,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    all
}

/// `notification_latency` at every granularity, with the default delivery targets.
pub(crate) fn notification_latency(winners: &[Event]) -> Vec<NotificationLatency> {
    type Key = (String, String, String, Granularity, Micros);
    let mut latencies: BTreeMap<Key, Vec<i64>> = BTreeMap::new();
    for n in notifications(winners).values() {
        let (Some((event, send, _)), Some(delivered_at)) = (n.first_send.value(), n.delivered_at)
        else {
            continue;
        };
        let micros = delivered_at - event.timestamp;
        let latency = if micros < 0 { 0 } else { micros / 1000 };
        for granularity in Granularity::ALL {
            let key = (
                event.tenant_id.clone(),
                send.channel.as_str().to_string(),
                send.provider.clone(),
                granularity,
                granularity.floor(event.timestamp),
            );
            latencies.entry(key).or_default().push(latency);
        }
    }
    latencies
        .into_iter()
        .map(
            |((tenant_id, channel, provider, granularity, window_start), mut l)| {
                l.sort_unstable();
                let n = l.len();
                // Nearest rank: the ⌈p/100 × n⌉-th smallest (1-based).
                let rank = |p: usize| l[(p * n).div_ceil(100).max(1) - 1];
                let target_ms = target_seconds(&channel) * 1000;
                NotificationLatency {
                    delivered: n as i64,
                    latency_ms_sum: l.iter().sum(),
                    latency_p50_ms: rank(50),
                    latency_p95_ms: rank(95),
                    latency_max_ms: l[n - 1],
                    within_sla: l.iter().filter(|x| **x <= target_ms).count() as i64,
                    tenant_id,
                    channel,
                    provider,
                    granularity,
                    window_start,
                }
            },
        )
        .collect()
}

/// `notification_variants`: per tenant, channel, category, template and day of the send.
pub(crate) fn notification_variants(winners: &[Event]) -> Vec<NotificationVariants> {
    type Key = (String, String, String, String, Micros);
    let mut rows: BTreeMap<Key, [i64; 5]> = BTreeMap::new();
    for n in notifications(winners).values() {
        let Some((event, send, template)) = n.first_send.value() else {
            continue;
        };
        let key = (
            event.tenant_id.clone(),
            send.channel.as_str().to_string(),
            send.category.clone(),
            template.unwrap_or("none").to_string(),
            Granularity::Day.floor(event.timestamp),
        );
        let row = rows.entry(key).or_default();
        row[0] += 1;
        row[1] += i64::from(n.delivered_at.is_some());
        row[2] += i64::from(n.opened);
        row[3] += i64::from(n.clicked);
        row[4] += i64::from(n.converted);
    }
    rows.into_iter()
        .map(
            |((tenant_id, channel, category, template, day), c)| NotificationVariants {
                tenant_id,
                channel,
                category,
                template,
                day,
                sent: c[0],
                delivered: c[1],
                opened: c[2],
                clicked: c[3],
                converted: c[4],
            },
        )
        .collect()
}

/// `notification_failures`: every `notifications.dlq` record once.
pub(crate) fn notification_failures(winners: &[Event]) -> Vec<NotificationFailures> {
    type Key = (String, String, String, Micros, String);
    let mut rows: BTreeMap<Key, (i64, i128, i64)> = BTreeMap::new();
    for e in winners {
        let Body::NotificationDlq(d) = &e.body else {
            continue;
        };
        let key = (
            e.tenant_id.clone(),
            d.channel.map_or("UNKNOWN", Channel::as_str).to_string(),
            d.provider.clone().unwrap_or_else(|| "unknown".to_string()),
            Granularity::Day.floor(e.timestamp),
            d.reason
                .clone()
                .unwrap_or_else(|| "unspecified".to_string()),
        );
        let retries = d.retry_count.unwrap_or(0);
        let row = rows.entry(key).or_insert((0, 0, i64::MIN));
        row.0 += 1;
        row.1 += i128::from(retries);
        row.2 = row.2.max(retries);
    }
    rows.into_iter()
        .map(
            |((tenant_id, channel, provider, day, reason), (n, total, max))| NotificationFailures {
                tenant_id,
                channel,
                provider,
                day,
                reason,
                dead_lettered: n,
                retries_total: i64::try_from(total).unwrap_or(if total < 0 {
                    i64::MIN
                } else {
                    i64::MAX
                }),
                max_retry_count: max,
            },
        )
        .collect()
}
