//! Fault injection: conflicting duplicates and bad records of every DLQ reason, derived from
//! valid events so they look like what real producers get wrong.

use pulso_events::{RejectReason, Topic};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::format::{self, money, SEC};

/// The same event id with another timestamp or other content (a producer retry that
/// re-serialized the event, a replay from another system...).
pub(crate) fn conflicting(rng: &mut ChaCha8Rng, topic: Topic, value: &Value, ts: i64) -> Value {
    let mut v = value.clone();
    if rng.gen_bool(0.5) {
        let shifted = ts + rng.gen_range(1..=120) * SEC;
        let text = if topic.is_envelope_b() {
            format::ts_secs(shifted)
        } else {
            format::ts_millis(shifted)
        };
        v["timestamp"] = json!(text);
        return v;
    }
    match v.get("event_type").and_then(Value::as_str) {
        Some("ORDER_CREATED") => v["total"] = money(rng.gen_range(100..100_000)),
        Some("NOTIFICATION_SENT") => v["provider"] = json!("Backup-Relay"),
        _ if topic.is_envelope_b() => v["origen"] = json!("replay-service"),
        _ => v["producer_retry"] = json!(true),
    }
    v
}

/// A bad record of `kind` derived from `value` of `topic`, or `None` when that kind does not
/// apply to the topic (e.g. `topic_mismatch` needs an envelope B topic).
pub(crate) fn bad_record(
    rng: &mut ChaCha8Rng,
    kind: RejectReason,
    topic: Topic,
    value: &Value,
) -> Option<Vec<u8>> {
    let mut v = value.clone();
    let envelope_b = topic.is_envelope_b();
    let dlq = topic == Topic::NotificationsDlq;
    // A fresh id, so the bad record is not mistaken for a copy of its model.
    if v.get("event_id").is_some() {
        v["event_id"] = json!(format::uuid(rng));
    }
    if v.get("evento_id").is_some() {
        v["evento_id"] = json!(format!("evt_{}", format::uuid(rng).replace('-', "")));
    }
    match kind {
        RejectReason::MalformedJson => {
            let mut bytes = serde_json::to_vec(&v).ok()?;
            match rng.gen_range(0..10) {
                0 => {
                    // Invalid UTF-8 inside a string.
                    let at = bytes.iter().position(|b| *b == b':')? + 2;
                    bytes.insert(at.min(bytes.len() - 1), 0xFF);
                }
                1 => bytes.clear(), // an empty line
                _ => {
                    let cut = rng.gen_range(1..bytes.len() - 1);
                    bytes.truncate(cut);
                }
            }
            Some(bytes)
        }
        RejectReason::NotAnObject => {
            let text = match rng.gen_range(0..5) {
                0 => "[1,2]".to_string(),
                1 => "42".to_string(),
                2 => "null".to_string(),
                3 => format!("\"{}\"", topic.name()),
                _ => format!("[{}]", serde_json::to_string(&v).ok()?),
            };
            Some(text.into_bytes())
        }
        RejectReason::MissingField => {
            let map = v.as_object_mut()?;
            if dlq {
                map.remove(if rng.gen_bool(0.5) {
                    "original_notification"
                } else {
                    "failure_timestamp"
                });
            } else if envelope_b {
                if rng.gen_bool(0.3) {
                    map.remove(["evento_id", "timestamp", "origen", "datos"][rng.gen_range(0..4)]);
                } else {
                    let datos = map.get_mut("datos")?.as_object_mut()?;
                    let field = match topic {
                        Topic::NotificacionesEnviadas => "canal",
                        Topic::CiudadanosRegistrados => "documento_identidad",
                        Topic::DependenciasConfiguradas => "codigo",
                        Topic::CasosCerrados => "motivo_cierre",
                        _ => "caso_id",
                    };
                    datos.remove(field);
                }
            } else if rng.gen_bool(0.3) {
                map.remove(["event_id", "timestamp", "event_type"][rng.gen_range(0..3)]);
            } else {
                let field = match topic {
                    Topic::Orders => "order_id",
                    Topic::Notifications => "notification_id",
                    Topic::Tracking => "entity_id",
                    _ if map.contains_key("sku") => "sku",
                    _ => "order_id",
                };
                map.remove(field);
            }
            serde_json::to_vec(&v).ok()
        }
        RejectReason::InvalidField => {
            let event_type = v
                .get("event_type")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match (topic, event_type.as_deref()) {
                (Topic::Orders, Some("ORDER_CREATED")) => {
                    v["total"] = money(-rng.gen_range(1..50_000))
                }
                (Topic::Notifications, Some("NOTIFICATION_SENT")) => v["channel"] = json!("FAX"),
                (Topic::CasosCreados, _) => v["datos"]["numero_caso"] = json!("CRV-24-123"),
                (Topic::CasosCerrados, _) => v["datos"]["satisfaccion_ciudadano"] = json!(7),
                (Topic::NotificacionesEnviadas, _) => v["datos"]["canal"] = json!("TELEGRAM"),
                (Topic::NotificationsDlq, _) => v["failure_timestamp"] = json!("yesterday"),
                (Topic::Inventory, Some("STOCK_SET")) => v["on_hand"] = json!("12"),
                _ => v["timestamp"] = json!("2024-13-45T25:61:00Z"),
            }
            serde_json::to_vec(&v).ok()
        }
        RejectReason::UnknownEventType => {
            let unknown = match topic {
                Topic::Orders => "ORDER_SHIPPED",
                Topic::Inventory => "STOCK_MOVED",
                Topic::Notifications => "NOTIFICATION_QUEUED",
                _ => return None,
            };
            v["event_type"] = json!(unknown);
            serde_json::to_vec(&v).ok()
        }
        RejectReason::UnsupportedVersion => {
            if dlq {
                return None;
            }
            if envelope_b {
                v["evento_version"] = json!("2.1");
            } else {
                v["schema_version"] = json!("2.0");
            }
            serde_json::to_vec(&v).ok()
        }
        RejectReason::TopicMismatch => {
            if !envelope_b {
                return None;
            }
            let others: Vec<Topic> = Topic::ALL
                .into_iter()
                .filter(|t| t.is_envelope_b() && *t != topic)
                .collect();
            v["evento_tipo"] = json!(others[rng.gen_range(0..others.len())].name());
            serde_json::to_vec(&v).ok()
        }
        // Made elsewhere (`too_large`), or decided by retention rather than by the bytes.
        RejectReason::TooLarge | RejectReason::TooLate => None,
    }
}

/// A record over 1 MiB (a runaway producer attaching a document), on a rotating topic.
pub(crate) fn too_large(rng: &mut ChaCha8Rng, ts: i64) -> (Topic, Vec<u8>) {
    let blob = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=".repeat(33_000); // ~1.2 MB
    match rng.gen_range(0..3) {
        0 => {
            let v = json!({
                "event_id": format::uuid(rng),
                "event_type": "ORDER_CREATED",
                "timestamp": format::ts_millis(ts),
                "order_id": format!("ord-8{:07}", rng.gen_range(0..10_000_000)),
                "customer_id": "cus-000001",
                "items": [{ "sku": "SKU-01000", "quantity": 1, "unit_price": money(999) }],
                "total": money(999),
                "gift_message_attachment": blob,
            });
            (Topic::Orders, serde_json::to_vec(&v).expect("serializes"))
        }
        1 => {
            let v = json!({
                "event_id": format::uuid(rng),
                "event_type": "NOTIFICATION_SENT",
                "timestamp": format::ts_millis(ts),
                "notification_id": format!("ntf-8{:08}", rng.gen_range(0..100_000_000)),
                "channel": "EMAIL",
                "provider": "SendGrid",
                "rendered_body": blob,
            });
            (
                Topic::Notifications,
                serde_json::to_vec(&v).expect("serializes"),
            )
        }
        _ => {
            let v = json!({
                "evento_id": format!("evt_{}", format::uuid(rng).replace('-', "")),
                "evento_tipo": "casos.actualizados",
                "evento_version": "1.0",
                "timestamp": format::ts_secs(ts),
                "origen": "microservicio-casos",
                "datos": {
                    "caso_id": 800_000_000 + rng.gen_range(0..1_000_000),
                    "numero_caso": "CRV-2024-80000000",
                    "fecha_actualizacion": format::ts_secs(ts),
                    "adjunto_base64": blob,
                },
            });
            (
                Topic::CasosActualizados,
                serde_json::to_vec(&v).expect("serializes"),
            )
        }
    }
}
