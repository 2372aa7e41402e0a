//! One test per rejection reason (and the check order), each with a detail naming the field.

use pulso_events::{decode, Position, RejectReason, Rejection, Topic, MAX_RECORD_BYTES};
use serde_json::{json, Value};

fn run(topic: Topic, bytes: &[u8]) -> Rejection {
    decode(topic, bytes, Position::default()).unwrap_err()
}

fn run_json(topic: Topic, v: &Value) -> Rejection {
    run(topic, v.to_string().as_bytes())
}

fn order() -> Value {
    json!({"event_id": "e1", "event_type": "ORDER_CREATED", "timestamp": "2024-01-15T10:30:00Z",
           "order_id": "o1", "customer_id": "c1",
           "items": [{"sku": "A", "quantity": 1, "unit_price": 1.5}], "total": 1.5})
}

fn caso() -> Value {
    json!({"evento_id": "evt", "evento_tipo": "casos.asignados", "evento_version": "1.0",
           "timestamp": "2024-01-15T10:35:00Z", "origen": "x",
           "datos": {"caso_id": 1, "numero_caso": "CRV-2024-00012345", "dependencia_id": 1,
                     "fecha_asignacion": "2024-01-15T10:35:00Z", "estado_nuevo": "ASIGNADO"}})
}

fn with(mut v: Value, path: &[&str], value: Option<Value>) -> Value {
    let (last, parents) = path.split_last().unwrap();
    let mut target = &mut v;
    for p in parents {
        target = match p.parse::<usize>() {
            Ok(i) => &mut target[i],
            Err(_) => &mut target[*p],
        };
    }
    match value {
        Some(x) => target[*last] = x,
        None => {
            target.as_object_mut().unwrap().remove(*last);
        }
    }
    v
}

#[test]
fn baselines_are_valid() {
    assert!(decode(
        Topic::Orders,
        order().to_string().as_bytes(),
        Position::default()
    )
    .is_ok());
    assert!(decode(
        Topic::CasosAsignados,
        caso().to_string().as_bytes(),
        Position::default()
    )
    .is_ok());
}

#[test]
fn too_large() {
    let mut bytes = order().to_string().into_bytes();
    bytes.pop();
    bytes.extend(format!(",\"pad\":\"{}\"}}", " ".repeat(MAX_RECORD_BYTES)).bytes());
    let r = run(Topic::Orders, &bytes);
    assert_eq!(r.reason, RejectReason::TooLarge);
    assert!(r.detail.contains("bytes"));
    // Exactly the limit is not too large (it is malformed here, which is checked next).
    let r = run(Topic::Orders, &vec![b' '; MAX_RECORD_BYTES]);
    assert_eq!(r.reason, RejectReason::MalformedJson);
}

#[test]
fn malformed_json() {
    for bytes in [
        &b"{\"event_id\": "[..],
        b"",
        b"\xff\xfe",
        b"{\"a\": \"\xc3\x28\"}",
        b"{} {}",
    ] {
        let r = run(Topic::Orders, bytes);
        assert_eq!(r.reason, RejectReason::MalformedJson, "{bytes:?}");
    }
}

#[test]
fn not_an_object() {
    for text in ["[]", "1", "\"x\"", "null", "true"] {
        let r = run(Topic::CasosCreados, text.as_bytes());
        assert_eq!(r.reason, RejectReason::NotAnObject, "{text}");
        assert!(r.detail.contains("not an object"));
    }
}

#[test]
fn unsupported_version() {
    let r = run_json(
        Topic::Orders,
        &with(order(), &["schema_version"], Some(json!("2.0"))),
    );
    assert_eq!(r.reason, RejectReason::UnsupportedVersion);
    assert!(r.detail.contains("`schema_version`"), "{}", r.detail);
    // Checked before required fields and before the topic.
    let v = json!({"schema_version": "3.1"});
    assert_eq!(
        run_json(Topic::Inventory, &v).reason,
        RejectReason::UnsupportedVersion
    );
    let v = with(caso(), &["evento_version"], Some(json!("2.0")));
    let v = with(v, &["evento_tipo"], Some(json!("casos.creados")));
    let r = run_json(Topic::CasosAsignados, &v);
    assert_eq!(r.reason, RejectReason::UnsupportedVersion);
    assert!(r.detail.contains("`evento_version`"), "{}", r.detail);
}

#[test]
fn topic_mismatch() {
    let v = with(caso(), &["evento_tipo"], Some(json!("casos.creados")));
    let v = with(v, &["datos"], None);
    let r = run_json(Topic::CasosAsignados, &v);
    assert_eq!(r.reason, RejectReason::TopicMismatch);
    assert!(r.detail.contains("`evento_tipo`"), "{}", r.detail);
}

#[test]
fn missing_field() {
    let cases: Vec<(Topic, Value, &str)> = vec![
        (
            Topic::Orders,
            with(order(), &["event_id"], None),
            "`event_id`",
        ),
        (
            Topic::Orders,
            with(order(), &["timestamp"], Some(Value::Null)),
            "`timestamp`",
        ),
        (
            Topic::Orders,
            with(order(), &["items", "0", "sku"], None),
            "missing field `items[0].sku`",
        ),
        (Topic::Orders, with(order(), &["total"], None), "`total`"),
        (
            Topic::CasosAsignados,
            with(caso(), &["origen"], None),
            "`origen`",
        ),
        (
            Topic::CasosAsignados,
            with(caso(), &["datos", "estado_nuevo"], None),
            "`datos.estado_nuevo`",
        ),
    ];
    for (topic, v, detail) in cases {
        let r = run_json(topic, &v);
        assert_eq!(r.reason, RejectReason::MissingField, "{v}: {r}");
        assert!(r.detail.contains(detail), "{}", r.detail);
    }
}

#[test]
fn invalid_field() {
    let cases: Vec<(Topic, Value, &str)> = vec![
        (
            Topic::Orders,
            with(order(), &["event_id"], Some(json!(""))),
            "`event_id`",
        ),
        (
            Topic::Orders,
            with(order(), &["event_id"], Some(json!("x".repeat(129)))),
            "`event_id`",
        ),
        (
            Topic::Orders,
            with(order(), &["event_type"], Some(json!(5))),
            "`event_type`",
        ),
        (
            Topic::Orders,
            with(order(), &["timestamp"], Some(json!("2024-01-15"))),
            "`timestamp`",
        ),
        (
            Topic::Orders,
            with(order(), &["tenant_id"], Some(json!("a b"))),
            "`tenant_id`",
        ),
        (
            Topic::Orders,
            with(order(), &["schema_version"], Some(json!("1"))),
            "`schema_version`",
        ),
        (
            Topic::Orders,
            with(order(), &["items", "0", "quantity"], Some(json!(0))),
            "`items[0].quantity`",
        ),
        (
            Topic::Orders,
            with(order(), &["items", "0", "quantity"], Some(json!(1.0))),
            "`items[0].quantity`",
        ),
        (
            Topic::Orders,
            with(order(), &["items", "0", "unit_price"], Some(json!(-1))),
            "`items[0].unit_price`",
        ),
        (
            Topic::Orders,
            with(order(), &["items"], Some(json!([]))),
            "`items`",
        ),
        (
            Topic::Orders,
            with(order(), &["items"], Some(json!([5]))),
            "`items[0]`",
        ),
        (
            Topic::Orders,
            with(order(), &["total"], Some(json!("1.5"))),
            "`total`",
        ),
        (
            Topic::Orders,
            with(order(), &["currency"], Some(json!("EURO"))),
            "`currency`",
        ),
        (
            Topic::Orders,
            with(order(), &["order_id"], Some(json!(""))),
            "`order_id`",
        ),
        (
            Topic::CasosAsignados,
            with(caso(), &["datos"], Some(json!([]))),
            "`datos`",
        ),
        (
            Topic::CasosAsignados,
            with(caso(), &["metadata"], Some(json!("m"))),
            "`metadata`",
        ),
        (
            Topic::CasosAsignados,
            with(caso(), &["evento_version"], Some(json!("1.0.0"))),
            "`evento_version`",
        ),
        (
            Topic::CasosAsignados,
            with(caso(), &["datos", "numero_caso"], Some(json!("CRV-2024-1"))),
            "field `datos.numero_caso` must match ^CRV-\\d{4}-\\d{8}$",
        ),
        (
            Topic::CasosAsignados,
            with(caso(), &["datos", "estado_nuevo"], Some(json!("PENDIENTE"))),
            "`datos.estado_nuevo`",
        ),
    ];
    for (topic, v, detail) in cases {
        let r = run_json(topic, &v);
        assert_eq!(r.reason, RejectReason::InvalidField, "{v}: {r}");
        assert!(r.detail.contains(detail), "{}", r.detail);
    }
}

#[test]
fn unknown_event_type() {
    let r = run_json(
        Topic::Orders,
        &with(order(), &["event_type"], Some(json!("ORDER_SHIPPED"))),
    );
    assert_eq!(r.reason, RejectReason::UnknownEventType);
    assert!(
        r.detail.contains("`event_type`") && r.detail.contains("ORDER_SHIPPED"),
        "{}",
        r.detail
    );
    // Inventory events are not order events.
    let v = with(order(), &["event_type"], Some(json!("STOCK_SET")));
    assert_eq!(
        run_json(Topic::Orders, &v).reason,
        RejectReason::UnknownEventType
    );
    // Unknown event type wins over missing domain fields, but not over envelope fields.
    let v = json!({"event_id": "e", "event_type": "X", "timestamp": "2024-01-15T10:30:00Z"});
    assert_eq!(
        run_json(Topic::Notifications, &v).reason,
        RejectReason::UnknownEventType
    );
    let v = json!({"event_id": "e", "event_type": "X", "timestamp": "nope"});
    assert_eq!(
        run_json(Topic::Notifications, &v).reason,
        RejectReason::InvalidField
    );
    // Tracking has free-text types, bounded to 64 characters.
    let v = json!({"event_id": "e", "event_type": "x".repeat(65), "timestamp": "2024-01-15T10:30:00Z",
                   "entity_id": "a", "entity_type": "b"});
    assert_eq!(
        run_json(Topic::Tracking, &v).reason,
        RejectReason::InvalidField
    );
}

#[test]
fn every_reason_is_covered() {
    // Keep this list in step with the tests above.
    let covered = [
        RejectReason::MalformedJson,
        RejectReason::NotAnObject,
        RejectReason::MissingField,
        RejectReason::InvalidField,
        RejectReason::UnknownEventType,
        RejectReason::UnsupportedVersion,
        RejectReason::TooLarge,
        RejectReason::TopicMismatch,
    ];
    // `too_late` is decided by retention against the watermark, not by decoding (tested in
    // the dataflows).
    assert!(RejectReason::ALL
        .iter()
        .filter(|r| **r != RejectReason::TooLate)
        .all(|r| covered.contains(r)));
}

#[test]
fn notifications_dlq_rejections() {
    let r = run_json(
        Topic::NotificationsDlq,
        &json!({"failure_timestamp": "2024-01-15T10:30:00Z"}),
    );
    assert_eq!(r.reason, RejectReason::MissingField);
    assert!(r.detail.contains("`original_notification`"));
    let r = run_json(
        Topic::NotificationsDlq,
        &json!({"original_notification": 1, "failure_timestamp": "2024-01-15T10:30:00Z"}),
    );
    assert_eq!(r.reason, RejectReason::InvalidField);
    let r = run_json(
        Topic::NotificationsDlq,
        &json!({"original_notification": {}, "failure_timestamp": "2024-01-15T10:30:00Z", "retry_count": "3"}),
    );
    assert_eq!(r.reason, RejectReason::InvalidField);
    assert!(r.detail.contains("`retry_count`"));
}

/// A flat event of `topic` with `fields` (raw JSON text, so numbers keep their digits).
fn flat(event_type: &str, fields: &str) -> String {
    format!(
        r#"{{"event_id":"e1","event_type":"{event_type}","timestamp":"2024-01-15T10:30:00Z",{fields}}}"#
    )
}

#[test]
fn amounts_and_counts_beyond_the_limits_are_invalid_fields_naming_the_limit() {
    let order = |total: &str, quantity: &str, price: &str| {
        flat(
            "ORDER_CREATED",
            &format!(
                r#""order_id":"o1","customer_id":"c","items":[{{"sku":"A","quantity":{quantity},"unit_price":{price}}}],"total":{total}"#
            ),
        )
    };
    let accepted = [
        (
            Topic::Orders,
            order("9999999999999999.99", "9007199254740991", "0"),
        ),
        (
            Topic::Orders,
            order("9999999999999999.994", "1", "9999999999999999.99"),
        ),
        (
            Topic::Inventory,
            flat("STOCK_SET", r#""sku":"A","on_hand":9007199254740991"#),
        ),
        (
            Topic::Inventory,
            flat("STOCK_ADJUSTED", r#""sku":"A","delta":-9007199254740991"#),
        ),
    ];
    for (topic, text) in accepted {
        let decoded = decode(topic, text.as_bytes(), Position::default());
        assert!(decoded.is_ok(), "{text}: {decoded:?}");
    }
    let amount = "at most 9999999999999999.99, the largest amount a DECIMAL(18, 2) column holds";
    let rejected = [
        (
            Topic::Orders,
            order("12345678901234567.89", "1", "1"),
            "`total` must be at most 9999999999999999.99",
        ),
        (
            Topic::Orders,
            order("92233720368547758.07", "1", "1"),
            amount,
        ),
        (
            Topic::Orders,
            order("9999999999999999.995", "1", "1"),
            amount,
        ),
        (Topic::Orders, order("1e400", "1", "1"), amount),
        (
            Topic::Orders,
            order("1", "1", "10000000000000000"),
            "`items[0].unit_price`",
        ),
        (
            Topic::Orders,
            order("1", "9007199254740992", "1"),
            "`items[0].quantity` must be an integer from 1 to 9007199254740991",
        ),
        (
            Topic::Inventory,
            flat("STOCK_SET", r#""sku":"A","on_hand":9223372036854775807"#),
            "`on_hand` must be an integer from 0 to 9007199254740991",
        ),
        (
            Topic::Inventory,
            flat("STOCK_ADJUSTED", r#""sku":"A","delta":-9007199254740992"#),
            "`delta` must be an integer from -9007199254740991 to 9007199254740991",
        ),
        (
            Topic::Inventory,
            flat(
                "INVENTORY_RESERVED",
                r#""order_id":"o1","items":[{"sku":"A","quantity":9223372036854775807}]"#,
            ),
            "`items[0].quantity` must be an integer from 1",
        ),
        (
            Topic::Notifications,
            flat(
                "NOTIFICATION_SENT",
                r#""notification_id":"n1","channel":"SMS","provider":"T","cost":10000000000000000"#,
            ),
            "`cost` must be at most 9999999999999999.99",
        ),
    ];
    for (topic, text, detail) in rejected {
        let r = run(topic, text.as_bytes());
        assert_eq!(r.reason, RejectReason::InvalidField, "{text}: {r}");
        assert!(r.detail.contains(detail), "{text}: {}", r.detail);
    }
}
