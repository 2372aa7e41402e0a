//! Fast path of envelope A (`orders.events`, `inventory.events`, `notifications.events`,
//! `tracking.events`, `notifications.dlq`): one borrowing struct per topic of the fields it
//! reads, then the reference decoder's rules per topic and event type.

use std::borrow::Cow;

use serde::Deserialize;

use super::raw::{
    bounded, id, int, int_in, is_scalar, money, one_of, opt, text, time, version_1, Json, Obj, Raw,
    RawObj, Text,
};
use crate::decode::envelope_a::{
    channel, dlq_event_id, is_currency, is_tenant, CATEGORIES, CHANNELS, DEFAULT_TENANT,
};
use crate::model::{
    Body, BounceType, Event, InventoryEvent, NotificationDlqRecord, NotificationEvent, OrderEvent,
    OrderItem, Outcome, Position, Reservation, Send, TrackingEvent,
};
use crate::money::MAX_EXACT_INTEGER;
use crate::time::Micros;
use crate::topic::Topic;

/// Declares the record struct of one topic: the envelope fields plus `$field`s; fields it
/// does not name are ignored.
macro_rules! record {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Deserialize)]
        struct $name<'a> {
            #[serde(borrow)]
            event_id: Option<Text<'a>>,
            #[serde(borrow)]
            event_type: Option<Text<'a>>,
            #[serde(borrow)]
            timestamp: Option<Text<'a>>,
            #[serde(borrow)]
            tenant_id: Option<Text<'a>>,
            #[serde(borrow)]
            schema_version: Option<Text<'a>>,
            $(
                #[serde(borrow)]
                $field: Option<$ty>,
            )*
        }

        impl<'a> $name<'a> {
            /// The envelope fields.
            fn envelope(&self) -> Envelope<'_, 'a> {
                Envelope {
                    event_id: self.event_id.as_ref(),
                    event_type: self.event_type.as_ref(),
                    timestamp: self.timestamp.as_ref(),
                    tenant_id: self.tenant_id.as_ref(),
                    schema_version: self.schema_version.as_ref(),
                }
            }
        }
    };
}

record! {
    /// An `orders.events` record.
    OrderRecord {
        order_id: Text<'a>,
        customer_id: Text<'a>,
        items: Vec<Obj<Item<'a>>>,
        total: Raw<'a>,
        currency: Text<'a>,
        reason: Text<'a>,
    }
}

record! {
    /// An `inventory.events` record.
    InventoryRecord {
        order_id: Text<'a>,
        items: Vec<Obj<Item<'a>>>,
        sku: Text<'a>,
        on_hand: Raw<'a>,
        delta: Raw<'a>,
        available: Raw<'a>,
        requested: Raw<'a>,
    }
}

record! {
    /// A `notifications.events` record.
    NotificationRecord {
        notification_id: Text<'a>,
        channel: Text<'a>,
        provider: Text<'a>,
        category: Text<'a>,
        preferred_channel: Text<'a>,
        cost: Raw<'a>,
        order_id: Text<'a>,
        caso_id: Raw<'a>,
        template: Text<'a>,
        bounce_type: Text<'a>,
        reason: Text<'a>,
        last_error: Text<'a>,
        retry_count: Raw<'a>,
    }
}

record! {
    /// A `tracking.events` record.
    TrackingRecord {
        entity_id: Text<'a>,
        entity_type: Text<'a>,
        dedup_key: Text<'a>,
        location: Text<'a>,
        source: Text<'a>,
        attributes: RawObj<'a>,
    }
}

/// A `notifications.dlq` record (no envelope).
#[derive(Deserialize)]
struct DlqRecord<'a> {
    #[serde(borrow)]
    schema_version: Option<Text<'a>>,
    #[serde(borrow)]
    original_notification: Option<Obj<Original<'a>>>,
    #[serde(borrow)]
    failure_timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    reason: Option<Text<'a>>,
    #[serde(borrow)]
    last_error: Option<Text<'a>>,
    #[serde(borrow)]
    retry_count: Option<Raw<'a>>,
}

/// The envelope fields of a record.
struct Envelope<'r, 'a> {
    event_id: Option<&'r Text<'a>>,
    event_type: Option<&'r Text<'a>>,
    timestamp: Option<&'r Text<'a>>,
    tenant_id: Option<&'r Text<'a>>,
    schema_version: Option<&'r Text<'a>>,
}

/// The checked envelope of a record.
struct Head<'r> {
    event_id: Cow<'r, str>,
    event_type: Cow<'r, str>,
    timestamp: Micros,
    tenant_id: String,
}

impl<'r> Envelope<'r, '_> {
    /// The envelope checks: `event_id` of 1..128 characters, `event_type` a string,
    /// `timestamp` RFC 3339, `tenant_id` well-formed, `schema_version` 1.x.
    fn check(&self) -> Option<Head<'r>> {
        opt(self.schema_version, version_1)?;
        Some(Head {
            event_id: bounded(self.event_id?, 1, 128)?,
            event_type: text(self.event_type?)?,
            timestamp: time(self.timestamp?)?,
            tenant_id: match self.tenant_id {
                Some(t) => text(t).filter(|t| is_tenant(t))?.into_owned(),
                None => DEFAULT_TENANT.to_string(),
            },
        })
    }
}

impl Head<'_> {
    /// The event of `topic` with `body` (and the idempotency key `dedup_key` if any).
    fn event(self, topic: Topic, body: Body, dedup_key: Option<Cow<'_, str>>) -> Event {
        let event_id = self.event_id.into_owned();
        Event {
            timestamp: self.timestamp,
            topic,
            dedup_key: dedup_key.map_or_else(|| event_id.clone(), Cow::into_owned),
            event_id,
            tenant_id: self.tenant_id,
            body,
        }
    }
}

/// An element of `items` (orders and reservations).
#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow)]
    sku: Option<Text<'a>>,
    #[serde(borrow)]
    quantity: Option<Raw<'a>>,
    #[serde(borrow)]
    unit_price: Option<Raw<'a>>,
}

/// The fields of a dead letter's `original_notification` that are read.
#[derive(Deserialize)]
struct Original<'a> {
    #[serde(borrow)]
    notification_id: Option<Raw<'a>>,
    #[serde(borrow)]
    channel: Option<Raw<'a>>,
    #[serde(borrow)]
    provider: Option<Raw<'a>>,
    #[serde(borrow)]
    tenant_id: Option<Raw<'a>>,
}

/// The event of a valid envelope A record of `topic`, else `None`.
pub(super) fn decode(topic: Topic, json: &str, position: Position) -> Option<Event> {
    match topic {
        Topic::Orders => {
            let Obj(r) = serde_json::from_str::<Obj<OrderRecord<'_>>>(json).ok()?;
            let head = r.envelope().check()?;
            let body = Body::Order(order(&r, &head.event_type)?);
            Some(head.event(topic, body, None))
        }
        Topic::Inventory => {
            let Obj(r) = serde_json::from_str::<Obj<InventoryRecord<'_>>>(json).ok()?;
            let head = r.envelope().check()?;
            let body = Body::Inventory(inventory(&r, &head.event_type)?);
            Some(head.event(topic, body, None))
        }
        Topic::Notifications => {
            let Obj(r) = serde_json::from_str::<Obj<NotificationRecord<'_>>>(json).ok()?;
            let head = r.envelope().check()?;
            let body = Body::Notification(notification(&r, &head.event_type)?);
            Some(head.event(topic, body, None))
        }
        Topic::Tracking => {
            let Obj(r) = serde_json::from_str::<Obj<TrackingRecord<'_>>>(json).ok()?;
            let head = r.envelope().check()?;
            bounded(r.event_type.as_ref()?, 1, 64)?;
            let dedup_key = opt(r.dedup_key.as_ref(), id)?;
            let body = Body::Tracking(tracking(&r, &head.event_type)?);
            Some(head.event(topic, body, dedup_key))
        }
        Topic::NotificationsDlq => {
            let Obj(r) = serde_json::from_str::<Obj<DlqRecord<'_>>>(json).ok()?;
            opt(r.schema_version.as_ref(), version_1)?;
            dlq(&r, position)
        }
        _ => None,
    }
}

/// A required non-empty string, owned.
fn id_of<'a>(value: Option<impl Json<'a>>) -> Option<String> {
    Some(id(value?)?.into_owned())
}

/// An optional string, owned.
fn opt_text<'a>(value: Option<impl Json<'a>>) -> Option<Option<String>> {
    opt(value, |v| text(v).map(|s| s.into_owned()))
}

/// The non-empty `items`.
fn items<'r, 'a>(items: &'r Option<Vec<Obj<Item<'a>>>>) -> Option<&'r [Obj<Item<'a>>]> {
    items.as_deref().filter(|items| !items.is_empty())
}

/// `orders.events`.
fn order(r: &OrderRecord<'_>, event_type: &str) -> Option<OrderEvent> {
    match event_type {
        "ORDER_CREATED" => {
            let order_id = id_of(r.order_id.as_ref())?;
            let customer_id = id_of(r.customer_id.as_ref())?;
            let items = items(&r.items)?
                .iter()
                .map(|Obj(item)| {
                    Some(OrderItem {
                        sku: id_of(item.sku.as_ref())?,
                        quantity: int_in(item.quantity?, 1, MAX_EXACT_INTEGER)?,
                        unit_price: money(item.unit_price?)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            let total = money(r.total?)?;
            let currency = match r.currency.as_ref() {
                Some(raw) => text(raw).filter(|c| is_currency(c))?.into_owned(),
                None => "USD".to_string(),
            };
            Some(OrderEvent::Created {
                order_id,
                customer_id,
                items,
                total,
                currency,
            })
        }
        "ORDER_CONFIRMED" => Some(OrderEvent::Confirmed {
            order_id: id_of(r.order_id.as_ref())?,
        }),
        "ORDER_CANCELLED" => Some(OrderEvent::Cancelled {
            order_id: id_of(r.order_id.as_ref())?,
            reason: text(r.reason.as_ref()?)?.into_owned(),
        }),
        _ => None,
    }
}

/// `inventory.events`.
fn inventory(r: &InventoryRecord<'_>, event_type: &str) -> Option<InventoryEvent> {
    match event_type {
        "STOCK_SET" => Some(InventoryEvent::StockSet {
            sku: id_of(r.sku.as_ref())?,
            on_hand: int_in(r.on_hand?, 0, MAX_EXACT_INTEGER)?,
        }),
        "STOCK_ADJUSTED" => Some(InventoryEvent::StockAdjusted {
            sku: id_of(r.sku.as_ref())?,
            delta: int_in(r.delta?, -MAX_EXACT_INTEGER, MAX_EXACT_INTEGER)?,
        }),
        "INVENTORY_RESERVED" => {
            let order_id = id_of(r.order_id.as_ref())?;
            let items = items(&r.items)?
                .iter()
                .map(|Obj(item)| {
                    Some(Reservation {
                        sku: id_of(item.sku.as_ref())?,
                        quantity: int_in(item.quantity?, 1, MAX_EXACT_INTEGER)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(InventoryEvent::Reserved { order_id, items })
        }
        "INVENTORY_RELEASED" => Some(InventoryEvent::Released {
            order_id: id_of(r.order_id.as_ref())?,
        }),
        "INSUFFICIENT_STOCK" => Some(InventoryEvent::InsufficientStock {
            order_id: id_of(r.order_id.as_ref())?,
            sku: id_of(r.sku.as_ref())?,
            available: int(r.available?)?,
            requested: int(r.requested?)?,
        }),
        _ => None,
    }
}

/// `notifications.events`.
fn notification(r: &NotificationRecord<'_>, event_type: &str) -> Option<NotificationEvent> {
    let notification_id = id_of(r.notification_id.as_ref())?;
    let outcome = match event_type {
        "NOTIFICATION_SENT" => {
            return Some(NotificationEvent::Sent(Send {
                notification_id,
                channel: channel(one_of(r.channel.as_ref()?, CHANNELS)?),
                provider: text(r.provider.as_ref()?)?.into_owned(),
                category: opt(r.category.as_ref(), |c| one_of(c, CATEGORIES))?
                    .unwrap_or("TRANSACTIONAL")
                    .to_string(),
                preferred_channel: opt(r.preferred_channel.as_ref(), |c| one_of(c, CHANNELS))?
                    .map(channel),
                cost: opt(r.cost, money)?,
                order_id: opt(r.order_id.as_ref(), |o| id(o).map(|s| s.into_owned()))?,
                caso_id: opt(r.caso_id, int)?,
                template: opt_text(r.template.as_ref())?,
            }));
        }
        "NOTIFICATION_DELIVERED" => Outcome::Delivered,
        "NOTIFICATION_OPENED" => Outcome::Opened,
        "NOTIFICATION_CLICKED" => Outcome::Clicked,
        "NOTIFICATION_CONVERTED" => Outcome::Converted,
        "NOTIFICATION_BOUNCED" => Outcome::Bounced {
            bounce_type: match one_of(r.bounce_type.as_ref()?, &["HARD", "SOFT"])? {
                "HARD" => BounceType::Hard,
                _ => BounceType::Soft,
            },
            reason: opt_text(r.reason.as_ref())?,
        },
        "NOTIFICATION_FAILED" => Outcome::Failed {
            last_error: opt_text(r.last_error.as_ref())?,
            retry_count: opt(r.retry_count, int)?,
        },
        _ => return None,
    };
    Some(NotificationEvent::Webhook {
        notification_id,
        outcome,
    })
}

/// `tracking.events` (free-text event type).
fn tracking(r: &TrackingRecord<'_>, event_type: &str) -> Option<TrackingEvent> {
    let entity_id = id_of(r.entity_id.as_ref())?;
    let entity_type = id_of(r.entity_type.as_ref())?;
    let location = opt_text(r.location.as_ref())?;
    let source = opt_text(r.source.as_ref())?;
    if let Some(attributes) = &r.attributes {
        if !attributes.members().all(is_scalar) {
            return None;
        }
    }
    Some(TrackingEvent {
        event_type: event_type.to_string(),
        entity_type,
        entity_id,
        location,
        source,
    })
}

/// `notifications.dlq`: identified by its position, timed by `failure_timestamp`.
fn dlq(r: &DlqRecord<'_>, position: Position) -> Option<Event> {
    let Obj(original) = r.original_notification.as_ref()?;
    let timestamp = time(r.failure_timestamp.as_ref()?)?;
    let record = NotificationDlqRecord {
        notification_id: original
            .notification_id
            .and_then(id)
            .map(|s| s.into_owned()),
        channel: original
            .channel
            .and_then(|c| one_of(c, CHANNELS))
            .map(channel),
        provider: original.provider.and_then(id).map(|s| s.into_owned()),
        reason: opt_text(r.reason.as_ref())?,
        last_error: opt_text(r.last_error.as_ref())?,
        retry_count: opt(r.retry_count, int)?,
    };
    let tenant_id = original
        .tenant_id
        .and_then(text)
        .filter(|t| is_tenant(t))
        .map_or_else(|| DEFAULT_TENANT.to_string(), |t| t.into_owned());
    let event_id = dlq_event_id(position);
    Some(Event {
        timestamp,
        topic: Topic::NotificationsDlq,
        dedup_key: event_id.clone(),
        event_id,
        tenant_id,
        body: Body::NotificationDlq(record),
    })
}
