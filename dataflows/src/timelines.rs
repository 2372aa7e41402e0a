//! `timelines`: every deduplicated event becomes one entry in the timeline of each entity it
//! names (orders, skus, notifications, cases, citizens, tracked entities). Each entry's
//! summary names the tenant it belongs to, which the query API scopes timelines by.

use differential_dataflow::collection::{AsCollection, VecCollection};
use pulso_events::views::TimelineEntry;
use pulso_events::{
    write_timeline_summary, Body, CasoEvent, Event, InventoryEvent, NotificationEvent, OrderEvent,
    Outcome, Topic,
};

use std::borrow::Cow;
use std::sync::Arc;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::vec::Partition;
use timely::progress::operate::FrontierInterest;
use twox_hash::XxHash3_128;

use crate::attribution::{attribute_entries, Attribution};
use crate::distinct_hashed::distinct_hashed;
use crate::event_id::EventId;
use crate::intern::{EntityId, Interner};
use crate::retention::Retention;
use crate::watermark::Maxima;
use crate::{Batch, Epoch, SharedEvent};

/// The event type shown in a timeline: the wire name for envelope A, `evento_tipo` (the topic
/// name) for envelope B.
fn event_type(event: &Event) -> &str {
    match &event.body {
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
        Body::Tracking(tracking) => &tracking.event_type,
        Body::Caso(_) => event.topic.name(),
    }
}

/// The `(entity_type, entity_id)` pairs an event names.
fn entities(event: &Event) -> Vec<(&str, Cow<'_, str>)> {
    let mut out: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(2);
    match &event.body {
        Body::Order(order) => out.push(("order", Cow::Borrowed(order.order_id()))),
        Body::Inventory(inv) => match inv {
            InventoryEvent::StockSet { sku, .. } | InventoryEvent::StockAdjusted { sku, .. } => {
                out.push(("sku", Cow::Borrowed(sku.as_str())))
            }
            InventoryEvent::Reserved { order_id, .. } | InventoryEvent::Released { order_id } => {
                out.push(("order", Cow::Borrowed(order_id.as_str())))
            }
            InventoryEvent::InsufficientStock { order_id, sku, .. } => {
                out.push(("order", Cow::Borrowed(order_id.as_str())));
                out.push(("sku", Cow::Borrowed(sku.as_str())));
            }
        },
        Body::Notification(NotificationEvent::Sent(send)) => {
            out.push(("notification", Cow::Borrowed(send.notification_id.as_str())));
            if let Some(order_id) = &send.order_id {
                out.push(("order", Cow::Borrowed(order_id.as_str())));
            }
            if let Some(caso_id) = send.caso_id {
                out.push(("caso", Cow::Owned(caso_id.to_string())));
            }
        }
        Body::Notification(NotificationEvent::Webhook {
            notification_id, ..
        }) => out.push(("notification", Cow::Borrowed(notification_id.as_str()))),
        Body::NotificationDlq(record) => {
            if let Some(id) = &record.notification_id {
                out.push(("notification", Cow::Borrowed(id.as_str())));
            }
        }
        Body::Tracking(tracking) => {
            return vec![(
                tracking.entity_type.as_str(),
                Cow::Borrowed(tracking.entity_id.as_str()),
            )];
        }
        Body::Caso(caso) => {
            match caso {
                CasoEvent::NotificacionEnviada { send, .. } => {
                    out.push(("notification", Cow::Borrowed(send.notification_id.as_str())))
                }
                CasoEvent::Creado { ciudadano_id, .. } => {
                    out.push(("ciudadano", Cow::Owned(ciudadano_id.to_string())))
                }
                CasoEvent::CiudadanoRegistrado { ciudadano_id, .. } => {
                    out.push(("ciudadano", Cow::Owned(ciudadano_id.to_string())))
                }
                _ => {}
            }
            if let Some(caso_id) = caso.caso_id() {
                out.push(("caso", Cow::Owned(caso_id.to_string())));
            }
        }
    }
    out
}

/// The notification a provider webhook or a `notifications.dlq` record refers to: these
/// carry no tenant of their own (EVENTS.md), so their entries take the tenant of the
/// notification's send.
fn attributed_to(event: &Event) -> Option<&str> {
    match &event.body {
        Body::Notification(NotificationEvent::Webhook {
            notification_id, ..
        }) => Some(notification_id),
        Body::NotificationDlq(record) => record.notification_id.as_deref(),
        _ => None,
    }
}

/// The notification a send defines, keyed with `(timestamp, event_id, tenant_id)` so that the
/// least value is the earliest send's.
fn send_of(event: &Event, names: &mut Interner) -> Option<(EntityId, Attribution)> {
    let send = match &event.body {
        Body::Notification(NotificationEvent::Sent(send))
        | Body::Caso(CasoEvent::NotificacionEnviada { send, .. }) => send,
        _ => return None,
    };
    let value = Attribution::Send(
        event.timestamp,
        EventId::new(&event.event_id),
        names.name(&event.tenant_id),
    );
    Some((EntityId::from(send.notification_id.as_str()), value))
}

/// The 128-bit hash (XXH3) of an entry: each text with its length, then the timestamp.
pub(crate) fn entry_hash(entry: &TimelineEntry) -> u128 {
    let texts = entry.texts();
    let mut bytes = Vec::with_capacity(8 * 7 + texts.iter().map(|t| t.len()).sum::<usize>());
    for text in texts {
        bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
    }
    bytes.extend_from_slice(&entry.timestamp.to_le_bytes());
    XxHash3_128::oneshot(&bytes)
}

/// The timeline entries of one event, belonging to `tenant_id`.
///
/// The texts an event's entries share (event id, summary) are one allocation; entity types,
/// topics and event types are interned. The summary is written in `scratch` first (a buffer
/// the caller reuses from event to event).
fn entries(
    event: &Event,
    tenant_id: &str,
    names: &mut Interner,
    scratch: &mut String,
) -> Vec<TimelineEntry> {
    let named = entities(event);
    if named.is_empty() {
        return Vec::new();
    }
    let event_type = names.name(event_type(event));
    let topic = names.name(event.topic.name());
    write_timeline_summary(event, tenant_id, scratch);
    let summary: Arc<str> = Arc::from(scratch.as_str());
    let event_id: Arc<str> = Arc::from(event.event_id.as_str());
    named
        .into_iter()
        .map(|(entity_type, entity_id)| TimelineEntry {
            entity_type: names.name(entity_type),
            entity_id: Arc::from(&*entity_id),
            timestamp: event.timestamp,
            event_id: Arc::clone(&event_id),
            topic: Arc::clone(&topic),
            event_type: Arc::clone(&event_type),
            summary: Arc::clone(&summary),
        })
        .collect()
}

/// One pass over the events: the entries of those that carry their own tenant, and the
/// attribution facts (each send's notification, and the entries of the webhooks and
/// `notifications.dlq` records that take their send's tenant).
fn entries_and_facts<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
) -> (VecCollection<'s, Epoch, TimelineEntry>, Facts<'s>) {
    let mut builder = OperatorBuilder::new("TimelineEntriesAndFacts".to_owned(), events.scope());
    let mut input = builder.new_input(events.inner, Pipeline);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (mut entry_output, entries_stream) = builder.new_output::<Batch<TimelineEntry>>();
    let (mut fact_output, facts_stream) = builder.new_output::<Batch<(EntityId, Attribution)>>();
    builder.build(move |_initial| {
        let (mut names, mut summary) = (Interner::default(), String::new());
        let (mut own, mut facts) = (Vec::new(), Vec::new());
        move |_frontiers| {
            let mut entry_handle = entry_output.activate();
            let mut fact_handle = fact_output.activate();
            input.for_each_stamp(|capability, containers| {
                for data in containers {
                    for (event, time, diff) in data.drain(..) {
                        if let Some(fact) = send_of(&event, &mut names) {
                            facts.push((fact, time, diff));
                        }
                        let tenant = &event.tenant_id;
                        match attributed_to(&event).map(EntityId::from) {
                            None => own.extend(
                                entries(&event, tenant, &mut names, &mut summary)
                                    .into_iter()
                                    .map(|entry| (entry, time, diff)),
                            ),
                            Some(id) => {
                                let name = names.name(tenant);
                                let made = entries(&event, tenant, &mut names, &mut summary);
                                facts.extend(made.into_iter().map(|entry| {
                                    let fact = Attribution::Entry(Arc::clone(&name), entry);
                                    ((id.clone(), fact), time, diff)
                                }));
                            }
                        }
                    }
                }
                entry_handle.give(&capability, &mut own);
                fact_handle.give(&capability, &mut facts);
                own.clear();
                facts.clear();
            });
        }
    });
    (entries_stream.as_collection(), facts_stream.as_collection())
}

/// The facts [`attribute_entries`] reads: per notification, its sends and attributed entries.
type Facts<'s> = VecCollection<'s, Epoch, (EntityId, Attribution)>;

/// Builds `timelines`: one entry per (entity, event), without duplicates. Each entry's summary
/// names the tenant it belongs to: the event's `tenant_id`, except for provider webhooks and
/// `notifications.dlq` records, which take the tenant of the notification's earliest send
/// (their own until that send arrives).
///
/// # Contract
/// Deduplicated events are unique per `(topic, event_id)` except on `tracking.events`, whose
/// idempotency key is `dedup_key`: only those entries need (and pay for) a `distinct`.
///
/// The attribution of a notification leaves the state like the notification does (latest
/// event earlier than `W(e) - entities`); a webhook arriving after it takes its own tenant.
/// The entries themselves are not held in memory here (the serving store holds them, and
/// drops those earlier than `W(e) - timelines`): the attribution keeps its entries in a log on
/// disk and a compact handle each ([`attribute_entries`]), and the `distinct` of the
/// `tracking.events` entries holds each entry's 128-bit hash ([`distinct_hashed`]), until past
/// the same horizon.
pub fn timelines<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
    maxima: Maxima<'s>,
    retention: Retention,
) -> VecCollection<'s, Epoch, TimelineEntry> {
    let tracking = Topic::Tracking.name();
    let (own, facts) = entries_and_facts(events);
    let attributed = attribute_entries(
        "AttributedToEarliestSend",
        facts,
        maxima.clone(),
        retention.entities,
    );
    // One pass splits the entries (a clone and two filters would copy every entry first).
    let mut parts = own
        .concat(attributed)
        .inner
        .partition(2, move |(entry, time, diff)| {
            (u64::from(&*entry.topic == tracking), (entry, time, diff))
        });
    let tracked = parts.pop().expect("the second part").as_collection();
    let others = parts.pop().expect("the first part").as_collection();
    let deduplicated = distinct_hashed(
        "DistinctTrackingEntries",
        tracked,
        entry_hash,
        |entry| entry.timestamp,
        maxima,
        retention.timelines,
    );
    others.concat(deduplicated)
}
