//! Property test: `decode` never panics, whatever the bytes, on every topic; accepted events
//! always have a summary and are consistent with the topic.

use proptest::prelude::*;
use proptest::sample::Index;
use pulso_events::{decode, summary, Position, Topic};
use serde_json::{json, Map, Value};

/// Field names the decoder looks at, so that random objects hit real code paths.
const KEYS: &[&str] = &[
    "event_id",
    "event_type",
    "timestamp",
    "tenant_id",
    "schema_version",
    "order_id",
    "customer_id",
    "items",
    "sku",
    "quantity",
    "unit_price",
    "total",
    "currency",
    "reason",
    "on_hand",
    "delta",
    "available",
    "requested",
    "notification_id",
    "channel",
    "provider",
    "category",
    "preferred_channel",
    "cost",
    "caso_id",
    "template",
    "bounce_type",
    "last_error",
    "retry_count",
    "entity_id",
    "entity_type",
    "dedup_key",
    "location",
    "source",
    "attributes",
    "original_notification",
    "failure_timestamp",
    "evento_id",
    "evento_tipo",
    "evento_version",
    "origen",
    "datos",
    "metadata",
    "numero_caso",
    "cambios",
    "campo",
    "valor_nuevo",
    "estado",
    "satisfaccion_ciudadano",
    "tiempo_total_horas",
    "costo_estimado",
    "notificacion_id",
    "x",
];

/// Strings the decoder treats specially.
const STRINGS: &[&str] = &[
    "",
    "1.0",
    "2.0",
    "01.5",
    "1",
    "ORDER_CREATED",
    "NOTIFICATION_SENT",
    "STOCK_SET",
    "INVENTORY_RESERVED",
    "casos.creados",
    "notificaciones.enviadas",
    "dependencias.configuradas",
    "2024-01-15T10:30:00Z",
    "2024-01-15T10:30:00",
    "9999-12-31T23:59:59.999999999+23:59",
    "CRV-2024-00012345",
    "CRV-2024-0001234५",
    "EMAIL",
    "HARD",
    "PENDIENTE",
    "FALLIDO",
    "configuracion.sla_tiempo_resolucion_horas",
    "120",
    "-1",
    "1e999999999",
    "0e2147483647",
    "é",
    "\u{0}",
];

/// Number texts, kept exactly thanks to `arbitrary_precision`.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "0.05",
    "1.005",
    "1e2",
    "1E-2",
    "0e2147483647",
    "1e2147483647",
    "-0.0e-2147483648",
    "123456789012345678901234567890",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1.5",
    "5.0",
    "88",
    "1e400",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(NUMBERS).prop_map(|n| serde_json::from_str::<Value>(n).unwrap()),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS).prop_map(String::from),
                        "[a-z_]{0,8}"
                    ],
                    inner
                ),
                0..8,
            )
            .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Valid records of every kind (mutated below).
fn valid_records() -> Vec<Value> {
    let a = |t: &str, f: Value| {
        let mut v = json!({"event_id": "e", "event_type": t, "timestamp": "2024-01-15T10:30:00Z"});
        for (k, x) in f.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let mut records = vec![
        a(
            "ORDER_CREATED",
            json!({"order_id": "o", "customer_id": "c", "total": 1.5,
            "items": [{"sku": "A", "quantity": 1, "unit_price": 1.5}]}),
        ),
        a("ORDER_CANCELLED", json!({"order_id": "o", "reason": "r"})),
        a(
            "INVENTORY_RESERVED",
            json!({"order_id": "o", "items": [{"sku": "A", "quantity": 1}]}),
        ),
        a(
            "INSUFFICIENT_STOCK",
            json!({"order_id": "o", "sku": "A", "available": 0, "requested": 1}),
        ),
        a("STOCK_SET", json!({"sku": "A", "on_hand": 3})),
        a(
            "NOTIFICATION_SENT",
            json!({"notification_id": "n", "channel": "SMS", "provider": "p",
            "cost": 0.01, "preferred_channel": "EMAIL", "caso_id": 1}),
        ),
        a(
            "NOTIFICATION_BOUNCED",
            json!({"notification_id": "n", "bounce_type": "SOFT"}),
        ),
        a(
            "NOTIFICATION_FAILED",
            json!({"notification_id": "n", "retry_count": 2}),
        ),
        a(
            "PICKED_UP",
            json!({"entity_id": "s", "entity_type": "bag", "dedup_key": "k",
            "attributes": {"a": 1}}),
        ),
        json!({"original_notification": {"notification_id": "n"}, "failure_timestamp":
            "2024-01-15T10:30:00Z", "retry_count": 5}),
    ];
    let seed: Vec<Value> =
        serde_json::from_str(include_str!("fixtures/seed004_examples.json")).unwrap();
    records.extend(seed.into_iter().map(|e| e["payload"].clone()));
    records
}

/// The paths of every node of `v` (object keys and array indexes).
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                prefix.push(Value::from(k.as_str()));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                prefix.push(Value::from(i));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Value::String(k) => &mut v[k.as_str()],
        _ => &mut v[seg.as_u64().unwrap() as usize],
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    Drop,
    Replace(Value),
    ChangeType,
    Null,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Drop),
        Just(Mutation::ChangeType),
        Just(Mutation::Null),
        json_value().prop_map(Mutation::Replace),
    ]
}

fn mutate(mut v: Value, at: Index, m: &Mutation) -> Value {
    let mut all = Vec::new();
    paths(&v, &mut Vec::new(), &mut all);
    let path = at.get(&all).clone();
    let target = node(&mut v, &path);
    let changed = match m {
        Mutation::Replace(x) => x.clone(),
        Mutation::Null => Value::Null,
        Mutation::ChangeType => match target.take() {
            Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::Bool(true)),
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::from(b as i64),
            Value::Null => Value::from("null"),
            Value::Array(items) => Value::Object(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| (i.to_string(), x))
                    .collect(),
            ),
            Value::Object(map) => Value::Array(map.into_iter().map(|(_, x)| x).collect()),
        },
        Mutation::Drop => {
            if let Some((last, parent)) = path.split_last() {
                match (node(&mut v, parent), last) {
                    (Value::Object(map), Value::String(k)) => {
                        map.remove(k);
                    }
                    (Value::Array(items), i) => {
                        items.remove(i.as_u64().unwrap() as usize);
                    }
                    _ => {}
                }
            }
            return v;
        }
    };
    *node(&mut v, &path) = changed;
    v
}

fn check_all_topics(bytes: &[u8]) {
    for (i, topic) in Topic::ALL.into_iter().enumerate() {
        let position = Position {
            partition: i as i32,
            offset: bytes.len() as i64,
        };
        if let Ok(event) = decode(topic, bytes, position) {
            assert_eq!(event.topic, topic);
            assert!(!event.event_id.is_empty() && !event.dedup_key.is_empty());
            assert!(!summary(&event).is_empty());
            assert_eq!(decode(topic, bytes, position), Ok(event));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all_topics(&bytes);
    }

    #[test]
    fn arbitrary_json(v in json_value()) {
        check_all_topics(v.to_string().as_bytes());
    }

    #[test]
    fn mutated_valid_records(
        which in any::<Index>(),
        mutations in prop::collection::vec((any::<Index>(), mutation()), 1..4),
    ) {
        let records = valid_records();
        let mut v = which.get(&records).clone();
        for (at, m) in &mutations {
            v = mutate(v, *at, m);
        }
        check_all_topics(v.to_string().as_bytes());
    }

    #[test]
    fn truncated_valid_records(which in any::<Index>(), cut in any::<Index>()) {
        let records = valid_records();
        let text = which.get(&records).to_string().into_bytes();
        check_all_topics(&text[..cut.index(text.len() + 1)]);
    }
}

#[test]
fn valid_records_decode_on_their_topic() {
    let topics = [
        Topic::Orders,
        Topic::Orders,
        Topic::Inventory,
        Topic::Inventory,
        Topic::Inventory,
        Topic::Notifications,
        Topic::Notifications,
        Topic::Notifications,
        Topic::Tracking,
        Topic::NotificationsDlq,
    ];
    let records = valid_records();
    for (record, topic) in records.iter().zip(topics) {
        let bytes = record.to_string();
        assert!(
            decode(topic, bytes.as_bytes(), Position::default()).is_ok(),
            "{bytes}"
        );
    }
    for record in &records[topics.len()..] {
        let topic = Topic::from_name(record["evento_tipo"].as_str().unwrap()).unwrap();
        assert!(decode(topic, record.to_string().as_bytes(), Position::default()).is_ok());
    }
}
