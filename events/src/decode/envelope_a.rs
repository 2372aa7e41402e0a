//! Envelope A (flat events): `orders.events`, `inventory.events`, `notifications.events`,
//! `tracking.events`, and the notification service's `notifications.dlq`.

use serde_json::{Map, Value};

use super::fields::{self, as_bounded, as_int_in, Fields, Res};
use super::{as_version, check_version, unknown_event_type};
use crate::model::{
    Body, BounceType, Channel, Event, InventoryEvent, NotificationDlqRecord, NotificationEvent,
    OrderEvent, OrderItem, Outcome, Position, Reservation, Send, TrackingEvent,
};
use crate::money::MAX_EXACT_INTEGER;
use crate::topic::Topic;

const ORDER_TYPES: &[&str] = &["ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_CANCELLED"];
const INVENTORY_TYPES: &[&str] = &[
    "STOCK_SET",
    "STOCK_ADJUSTED",
    "INVENTORY_RESERVED",
    "INVENTORY_RELEASED",
    "INSUFFICIENT_STOCK",
];
const NOTIFICATION_TYPES: &[&str] = &[
    "NOTIFICATION_SENT",
    "NOTIFICATION_DELIVERED",
    "NOTIFICATION_OPENED",
    "NOTIFICATION_CLICKED",
    "NOTIFICATION_CONVERTED",
    "NOTIFICATION_BOUNCED",
    "NOTIFICATION_FAILED",
];
/// The notification channels.
pub(crate) const CHANNELS: &[&str] = &["EMAIL", "SMS", "PUSH", "WHATSAPP"];
/// The notification categories.
pub(crate) const CATEGORIES: &[&str] = &["TRANSACTIONAL", "MARKETING"];

/// The tenant when a record names none.
pub(crate) const DEFAULT_TENANT: &str = "default";

/// Decodes an envelope A record (the object `map`) of `topic`.
pub(super) fn decode(topic: Topic, map: &Map<String, Value>, position: Position) -> Res<Event> {
    check_version(map, "schema_version")?;
    let f = Fields::root(map);
    if topic == Topic::NotificationsDlq {
        return dlq(&f, position);
    }
    f.require(&["event_id", "event_type", "timestamp"])?;
    let event_id = f.req("event_id", |v, p| as_bounded(v, p, 1, 128))?;
    let event_type = f.string("event_type")?;
    let timestamp = f.time("timestamp")?;
    let tenant_id = f.opt("tenant_id", as_tenant)?.unwrap_or(DEFAULT_TENANT);
    f.opt("schema_version", as_version)?;
    let mut dedup_key = event_id;
    let body = match topic {
        Topic::Orders => Body::Order(order(&f, event_type)?),
        Topic::Inventory => Body::Inventory(inventory(&f, event_type)?),
        Topic::Notifications => Body::Notification(notification(&f, event_type)?),
        _ => {
            f.req("event_type", |v, p| as_bounded(v, p, 1, 64))?;
            f.require(&["entity_id", "entity_type"])?;
            if let Some(key) = f.opt_id("dedup_key")? {
                dedup_key = key;
            }
            Body::Tracking(tracking(&f, event_type)?)
        }
    };
    Ok(Event {
        timestamp,
        topic,
        event_id: event_id.to_string(),
        dedup_key: dedup_key.to_string(),
        tenant_id: tenant_id.to_string(),
        body,
    })
}

/// True for a tenant id: 1..64 characters of `[A-Za-z0-9_.-]`.
pub(crate) fn is_tenant(t: &str) -> bool {
    (1..=64).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// The value as a tenant id: 1..64 characters of `[A-Za-z0-9_.-]`.
fn as_tenant<'v>(value: &'v Value, path: &str) -> Res<&'v str> {
    match value.as_str() {
        Some(t) if is_tenant(t) => Ok(t),
        _ => Err(fields::invalid(
            path,
            "1 to 64 characters of [A-Za-z0-9_.-]",
        )),
    }
}

/// `orders.events`.
fn order(f: &Fields<'_>, event_type: &str) -> Res<OrderEvent> {
    match event_type {
        "ORDER_CREATED" => {
            f.require(&["order_id", "customer_id", "items", "total"])?;
            let order_id = f.id("order_id")?.to_string();
            let customer_id = f.id("customer_id")?.to_string();
            let items = f.array("items")?;
            if items.is_empty() {
                return Err(fields::invalid(&f.path("items"), "a non-empty array"));
            }
            let items = f
                .items(items, "items")?
                .iter()
                .map(|item| {
                    item.require(&["sku", "quantity", "unit_price"])?;
                    Ok(OrderItem {
                        sku: item.id("sku")?.to_string(),
                        quantity: item
                            .req("quantity", |v, p| as_int_in(v, p, 1, MAX_EXACT_INTEGER))?,
                        unit_price: item.money("unit_price")?,
                    })
                })
                .collect::<Res<Vec<_>>>()?;
            let total = f.money("total")?;
            let currency = f.opt("currency", as_currency)?.unwrap_or("USD").to_string();
            Ok(OrderEvent::Created {
                order_id,
                customer_id,
                items,
                total,
                currency,
            })
        }
        "ORDER_CONFIRMED" => Ok(OrderEvent::Confirmed {
            order_id: f.id("order_id")?.to_string(),
        }),
        "ORDER_CANCELLED" => {
            f.require(&["order_id", "reason"])?;
            Ok(OrderEvent::Cancelled {
                order_id: f.id("order_id")?.to_string(),
                reason: f.string("reason")?.to_string(),
            })
        }
        other => Err(unknown_event_type(Topic::Orders, other, ORDER_TYPES)),
    }
}

/// True for a currency code: 3 ASCII letters.
pub(crate) fn is_currency(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic())
}

/// The value as a currency code: 3 ASCII letters.
fn as_currency<'v>(value: &'v Value, path: &str) -> Res<&'v str> {
    match value.as_str() {
        Some(c) if is_currency(c) => Ok(c),
        _ => Err(fields::invalid(path, "a currency code of 3 letters")),
    }
}

/// `inventory.events`.
fn inventory(f: &Fields<'_>, event_type: &str) -> Res<InventoryEvent> {
    match event_type {
        "STOCK_SET" => {
            f.require(&["sku", "on_hand"])?;
            Ok(InventoryEvent::StockSet {
                sku: f.id("sku")?.to_string(),
                on_hand: f.req("on_hand", |v, p| as_int_in(v, p, 0, MAX_EXACT_INTEGER))?,
            })
        }
        "STOCK_ADJUSTED" => {
            f.require(&["sku", "delta"])?;
            Ok(InventoryEvent::StockAdjusted {
                sku: f.id("sku")?.to_string(),
                delta: f.req("delta", |v, p| {
                    as_int_in(v, p, -MAX_EXACT_INTEGER, MAX_EXACT_INTEGER)
                })?,
            })
        }
        "INVENTORY_RESERVED" => {
            f.require(&["order_id", "items"])?;
            let order_id = f.id("order_id")?.to_string();
            let items = f.array("items")?;
            if items.is_empty() {
                return Err(fields::invalid(&f.path("items"), "a non-empty array"));
            }
            let items = f
                .items(items, "items")?
                .iter()
                .map(|item| {
                    item.require(&["sku", "quantity"])?;
                    Ok(Reservation {
                        sku: item.id("sku")?.to_string(),
                        quantity: item
                            .req("quantity", |v, p| as_int_in(v, p, 1, MAX_EXACT_INTEGER))?,
                    })
                })
                .collect::<Res<Vec<_>>>()?;
            Ok(InventoryEvent::Reserved { order_id, items })
        }
        "INVENTORY_RELEASED" => Ok(InventoryEvent::Released {
            order_id: f.id("order_id")?.to_string(),
        }),
        "INSUFFICIENT_STOCK" => {
            f.require(&["order_id", "sku", "available", "requested"])?;
            Ok(InventoryEvent::InsufficientStock {
                order_id: f.id("order_id")?.to_string(),
                sku: f.id("sku")?.to_string(),
                available: f.int("available")?,
                requested: f.int("requested")?,
            })
        }
        other => Err(unknown_event_type(Topic::Inventory, other, INVENTORY_TYPES)),
    }
}

/// A wire channel name as a [`Channel`].
pub(crate) fn channel(name: &str) -> Channel {
    Channel::parse(name).unwrap_or(Channel::Email)
}

/// `notifications.events`.
fn notification(f: &Fields<'_>, event_type: &str) -> Res<NotificationEvent> {
    let outcome = match event_type {
        "NOTIFICATION_SENT" => {
            f.require(&["notification_id", "channel", "provider"])?;
            return Ok(NotificationEvent::Sent(Send {
                notification_id: f.id("notification_id")?.to_string(),
                channel: channel(f.one_of("channel", CHANNELS)?),
                provider: f.string("provider")?.to_string(),
                category: f
                    .opt_one_of("category", CATEGORIES)?
                    .unwrap_or("TRANSACTIONAL")
                    .to_string(),
                preferred_channel: f.opt_one_of("preferred_channel", CHANNELS)?.map(channel),
                cost: f.opt_money("cost")?,
                order_id: f.opt_id("order_id")?.map(str::to_string),
                caso_id: f.opt_int("caso_id")?,
                template: f.opt_string("template")?.map(str::to_string),
            }));
        }
        "NOTIFICATION_DELIVERED" => Outcome::Delivered,
        "NOTIFICATION_OPENED" => Outcome::Opened,
        "NOTIFICATION_CLICKED" => Outcome::Clicked,
        "NOTIFICATION_CONVERTED" => Outcome::Converted,
        "NOTIFICATION_BOUNCED" => {
            f.require(&["notification_id", "bounce_type"])?;
            f.id("notification_id")?;
            let bounce_type = match f.one_of("bounce_type", &["HARD", "SOFT"])? {
                "HARD" => BounceType::Hard,
                _ => BounceType::Soft,
            };
            Outcome::Bounced {
                bounce_type,
                reason: f.opt_string("reason")?.map(str::to_string),
            }
        }
        "NOTIFICATION_FAILED" => {
            f.id("notification_id")?;
            Outcome::Failed {
                last_error: f.opt_string("last_error")?.map(str::to_string),
                retry_count: f.opt_int("retry_count")?,
            }
        }
        other => {
            return Err(unknown_event_type(
                Topic::Notifications,
                other,
                NOTIFICATION_TYPES,
            ))
        }
    };
    Ok(NotificationEvent::Webhook {
        notification_id: f.id("notification_id")?.to_string(),
        outcome,
    })
}

/// `tracking.events` (free-text event type, already checked).
fn tracking(f: &Fields<'_>, event_type: &str) -> Res<TrackingEvent> {
    let entity_id = f.id("entity_id")?.to_string();
    let entity_type = f.id("entity_type")?.to_string();
    let location = f.opt_string("location")?.map(str::to_string);
    let source = f.opt_string("source")?.map(str::to_string);
    if let Some(attributes) = f.opt_nested("attributes")? {
        for (name, value) in attributes.entries() {
            if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                return Err(fields::invalid(
                    &attributes.path(name),
                    "a string, number or boolean",
                ));
            }
        }
    }
    Ok(TrackingEvent {
        event_type: event_type.to_string(),
        entity_type,
        entity_id,
        location,
        source,
    })
}

/// `notifications.dlq`: identified by its position, timed by `failure_timestamp`.
/// The event id of a `notifications.dlq` record, which has none of its own:
/// `notifications.dlq/<partition>/<offset>`.
pub(crate) fn dlq_event_id(position: Position) -> String {
    format!(
        "{}/{}/{}",
        Topic::NotificationsDlq.name(),
        position.partition,
        position.offset
    )
}

fn dlq(f: &Fields<'_>, position: Position) -> Res<Event> {
    f.require(&["original_notification", "failure_timestamp"])?;
    let original = f.nested("original_notification")?;
    let timestamp = f.time("failure_timestamp")?;
    f.opt("schema_version", as_version)?;
    let record = NotificationDlqRecord {
        notification_id: original
            .get("notification_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        channel: original
            .get("channel")
            .and_then(Value::as_str)
            .and_then(Channel::parse),
        provider: original
            .get("provider")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        reason: f.opt_string("reason")?.map(str::to_string),
        last_error: f.opt_string("last_error")?.map(str::to_string),
        retry_count: f.opt_int("retry_count")?,
    };
    let tenant_id = original
        .get("tenant_id")
        .and_then(|v| as_tenant(v, "").ok())
        .unwrap_or(DEFAULT_TENANT);
    let event_id = dlq_event_id(position);
    Ok(Event {
        timestamp,
        topic: Topic::NotificationsDlq,
        dedup_key: event_id.clone(),
        event_id,
        tenant_id: tenant_id.to_string(),
        body: Body::NotificationDlq(record),
    })
}
