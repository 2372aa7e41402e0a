//! Valid envelope A records of every event type decode to the expected typed events.

use pulso_events::time::parse_rfc3339;
use pulso_events::{
    decode, summary, timeline_summary, Body, BounceType, Channel, Event, InventoryEvent,
    NotificationDlqRecord, NotificationEvent, OrderEvent, OrderItem, Outcome, Position,
    Reservation, Send, Topic, TrackingEvent,
};
use serde_json::{json, Value};

fn record(event_type: &str, fields: Value) -> Value {
    let mut v = json!({
        "event_id": format!("e-{event_type}"),
        "event_type": event_type,
        "timestamp": "2024-01-15T05:30:00-05:00",
    });
    for (k, x) in fields.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn ok(topic: Topic, v: &Value) -> Event {
    let event = decode(topic, v.to_string().as_bytes(), Position::default())
        .unwrap_or_else(|r| panic!("{v}: {r}"));
    assert_eq!(
        event.timestamp,
        parse_rfc3339("2024-01-15T10:30:00Z").unwrap()
    );
    assert_eq!(summary(&event), summary(&event));
    event
}

#[test]
fn orders() {
    let created = ok(
        Topic::Orders,
        &record(
            "ORDER_CREATED",
            json!({"order_id": "o1", "customer_id": "c1", "tenant_id": "acme.eu-1",
                   "schema_version": "1.3", "extra": {"ignored": true},
                   "items": [{"sku": "A", "quantity": 2, "unit_price": 10.005},
                             {"sku": "B", "quantity": 1, "unit_price": 0}],
                   "total": 1059.97}),
        ),
    );
    assert_eq!(created.tenant_id, "acme.eu-1");
    assert_eq!(created.event_id, "e-ORDER_CREATED");
    assert_eq!(created.dedup_key, "e-ORDER_CREATED");
    assert_eq!(
        created.body,
        Body::Order(OrderEvent::Created {
            order_id: "o1".into(),
            customer_id: "c1".into(),
            items: vec![
                OrderItem {
                    sku: "A".into(),
                    quantity: 2,
                    unit_price: 1001
                },
                OrderItem {
                    sku: "B".into(),
                    quantity: 1,
                    unit_price: 0
                },
            ],
            total: 105_997,
            currency: "USD".into(),
        })
    );
    let summary: Value = serde_json::from_str(&summary(&created)).unwrap();
    assert_eq!(summary["total"], "1059.97");
    assert_eq!(summary["currency"], "USD");
    assert!(summary.get("tenant_id").is_none());
    // A timeline entry's summary adds the tenant the entry belongs to.
    let entry: Value = serde_json::from_str(&timeline_summary(&created, "acme.eu-1")).unwrap();
    assert_eq!(entry["tenant_id"], "acme.eu-1");
    assert_eq!(entry["total"], "1059.97");

    let confirmed = ok(
        Topic::Orders,
        &record("ORDER_CONFIRMED", json!({"order_id": "o1"})),
    );
    assert_eq!(confirmed.tenant_id, "default");
    assert_eq!(
        confirmed.body,
        Body::Order(OrderEvent::Confirmed {
            order_id: "o1".into()
        })
    );
    let cancelled = ok(
        Topic::Orders,
        &record(
            "ORDER_CANCELLED",
            json!({"order_id": "o1", "reason": "PAYMENT_FAILED", "currency": "EUR"}),
        ),
    );
    assert_eq!(
        cancelled.body,
        Body::Order(OrderEvent::Cancelled {
            order_id: "o1".into(),
            reason: "PAYMENT_FAILED".into()
        })
    );
}

#[test]
fn currency_is_kept() {
    let e = ok(
        Topic::Orders,
        &record(
            "ORDER_CREATED",
            json!({"order_id": "o", "customer_id": "c", "currency": "EUR",
            "items": [{"sku": "A", "quantity": 1, "unit_price": 1}], "total": 1}),
        ),
    );
    assert!(
        matches!(e.body, Body::Order(OrderEvent::Created { ref currency, .. }) if currency == "EUR")
    );
}

#[test]
fn inventory() {
    let inv = |t: &str, f: Value| match ok(Topic::Inventory, &record(t, f)).body {
        Body::Inventory(i) => i,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        inv("STOCK_SET", json!({"sku": "A", "on_hand": 0})),
        InventoryEvent::StockSet {
            sku: "A".into(),
            on_hand: 0
        }
    );
    assert_eq!(
        inv("STOCK_ADJUSTED", json!({"sku": "A", "delta": -3})),
        InventoryEvent::StockAdjusted {
            sku: "A".into(),
            delta: -3
        }
    );
    assert_eq!(
        inv(
            "INVENTORY_RESERVED",
            json!({"order_id": "o", "items": [{"sku": "A", "quantity": 2}]})
        ),
        InventoryEvent::Reserved {
            order_id: "o".into(),
            items: vec![Reservation {
                sku: "A".into(),
                quantity: 2
            }]
        }
    );
    assert_eq!(
        inv("INVENTORY_RELEASED", json!({"order_id": "o"})),
        InventoryEvent::Released {
            order_id: "o".into()
        }
    );
    assert_eq!(
        inv(
            "INSUFFICIENT_STOCK",
            json!({"order_id": "o", "sku": "A", "available": 1, "requested": 5})
        ),
        InventoryEvent::InsufficientStock {
            order_id: "o".into(),
            sku: "A".into(),
            available: 1,
            requested: 5
        }
    );
}

#[test]
fn notifications() {
    let n = |t: &str, f: Value| match ok(Topic::Notifications, &record(t, f)).body {
        Body::Notification(n) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        n(
            "NOTIFICATION_SENT",
            json!({"notification_id": "n1", "channel": "SMS", "provider": "Twilio",
            "preferred_channel": "WHATSAPP", "cost": 0.0075, "order_id": "o1", "caso_id": 9,
            "template": "t", "category": "MARKETING"})
        ),
        NotificationEvent::Sent(Send {
            notification_id: "n1".into(),
            channel: Channel::Sms,
            provider: "Twilio".into(),
            category: "MARKETING".into(),
            preferred_channel: Some(Channel::Whatsapp),
            cost: Some(1),
            order_id: Some("o1".into()),
            caso_id: Some(9),
            template: Some("t".into()),
        })
    );
    assert_eq!(
        n(
            "NOTIFICATION_SENT",
            json!({"notification_id": "n1", "channel": "EMAIL", "provider": "SES",
            "cost": null})
        ),
        NotificationEvent::Sent(Send {
            notification_id: "n1".into(),
            channel: Channel::Email,
            provider: "SES".into(),
            category: "TRANSACTIONAL".into(),
            preferred_channel: None,
            cost: None,
            order_id: None,
            caso_id: None,
            template: None,
        })
    );
    let webhook = |outcome| NotificationEvent::Webhook {
        notification_id: "n1".into(),
        outcome,
    };
    let id = json!({"notification_id": "n1"});
    assert_eq!(
        n("NOTIFICATION_DELIVERED", id.clone()),
        webhook(Outcome::Delivered)
    );
    assert_eq!(
        n("NOTIFICATION_OPENED", id.clone()),
        webhook(Outcome::Opened)
    );
    assert_eq!(
        n("NOTIFICATION_CLICKED", id.clone()),
        webhook(Outcome::Clicked)
    );
    assert_eq!(n("NOTIFICATION_CONVERTED", id), webhook(Outcome::Converted));
    assert_eq!(
        n(
            "NOTIFICATION_BOUNCED",
            json!({"notification_id": "n1", "bounce_type": "HARD", "reason": "no mailbox"})
        ),
        webhook(Outcome::Bounced {
            bounce_type: BounceType::Hard,
            reason: Some("no mailbox".into())
        })
    );
    assert_eq!(
        n(
            "NOTIFICATION_FAILED",
            json!({"notification_id": "n1", "last_error": "timeout", "retry_count": 3})
        ),
        webhook(Outcome::Failed {
            last_error: Some("timeout".into()),
            retry_count: Some(3)
        })
    );
}

#[test]
fn tracking_with_and_without_dedup_key() {
    let v = record(
        "ARRIVED_HUB",
        json!({"entity_id": "s1", "entity_type": "shipment", "location": "MAD", "source": "scanner",
               "dedup_key": "s1/hub", "attributes": {"weight": 1.5, "fragile": true, "note": "x"}}),
    );
    let e = ok(Topic::Tracking, &v);
    assert_eq!(e.event_id, "e-ARRIVED_HUB");
    assert_eq!(e.dedup_key, "s1/hub");
    assert_eq!(
        e.body,
        Body::Tracking(TrackingEvent {
            event_type: "ARRIVED_HUB".into(),
            entity_type: "shipment".into(),
            entity_id: "s1".into(),
            location: Some("MAD".into()),
            source: Some("scanner".into()),
        })
    );
    let plain = ok(
        Topic::Tracking,
        &record("picked up", json!({"entity_id": "b", "entity_type": "bag"})),
    );
    assert_eq!(plain.dedup_key, plain.event_id);
}

#[test]
fn notifications_dlq() {
    let v = json!({"original_notification": {"notification_id": "n1", "tenant_id": "acme",
                                             "channel": "SMS", "provider": "Twilio"},
                   "failure_timestamp": "2024-01-15T10:30:00Z", "retry_count": 5,
                   "reason": "MAX_RETRIES", "last_error": "503"});
    let e = decode(
        Topic::NotificationsDlq,
        v.to_string().as_bytes(),
        Position {
            partition: 2,
            offset: 41,
        },
    )
    .unwrap();
    assert_eq!(e.event_id, "notifications.dlq/2/41");
    assert_eq!(e.dedup_key, e.event_id);
    assert_eq!(e.tenant_id, "acme");
    assert_eq!(e.timestamp, parse_rfc3339("2024-01-15T10:30:00Z").unwrap());
    assert_eq!(
        e.body,
        Body::NotificationDlq(NotificationDlqRecord {
            notification_id: Some("n1".into()),
            channel: Some(Channel::Sms),
            provider: Some("Twilio".into()),
            reason: Some("MAX_RETRIES".into()),
            last_error: Some("503".into()),
            retry_count: Some(5),
        })
    );
    let bare = json!({"original_notification": {"notification_id": 7, "tenant_id": "bad tenant!",
                                                "channel": "FAX", "provider": ""},
                      "failure_timestamp": "2024-01-15T10:30:00Z"});
    let e = decode(
        Topic::NotificationsDlq,
        bare.to_string().as_bytes(),
        Position::default(),
    )
    .unwrap();
    assert_eq!(e.tenant_id, "default");
    assert_eq!(
        e.body,
        Body::NotificationDlq(NotificationDlqRecord {
            notification_id: None,
            channel: None,
            provider: None,
            reason: None,
            last_error: None,
            retry_count: None
        })
    );
}
