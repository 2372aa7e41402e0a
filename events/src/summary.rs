//! A compact, deterministic one-line JSON summary of an event: the few fields a person reads
//! first (for timelines, logs and the dead-letter inspector).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{
    Body, CasoEvent, Event, InventoryEvent, NotificationEvent, OrderEvent, Outcome, Send,
};
use crate::money::format_cents;

/// One field's value, borrowed from the event where it can be (no `serde_json::Value`, no
/// `String` per text field).
enum Field<'a> {
    /// A JSON string: the event's text, or one made for the summary (money, hours).
    Text(Cow<'a, str>),
    /// A JSON number.
    Int(i64),
    /// An object of changed fields (`campo` → `valor_nuevo`, null when absent), keys in
    /// ascending order, a later value for a key replacing an earlier one.
    Changes(BTreeMap<&'a str, Option<&'a str>>),
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(text: &'a str) -> Self {
        Field::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Field<'_> {
    fn from(text: String) -> Self {
        Field::Text(Cow::Owned(text))
    }
}

impl From<i64> for Field<'_> {
    fn from(n: i64) -> Self {
        Field::Int(n)
    }
}

impl From<usize> for Field<'_> {
    fn from(n: usize) -> Self {
        Field::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl Field<'_> {
    /// Appends the value as compact JSON, as `serde_json` writes the same value.
    fn write(&self, out: &mut String) {
        match self {
            Field::Text(text) => write_str(out, text),
            Field::Int(n) => out.push_str(itoa::Buffer::new().format(*n)),
            // A map of texts always serialises.
            Field::Changes(changes) => {
                out.push_str(&serde_json::to_string(changes).unwrap_or_default())
            }
        }
    }

    /// The value as a `serde_json::Value` (for the tests that compare the two).
    #[cfg(test)]
    fn to_value(&self) -> Value {
        match self {
            Field::Text(text) => Value::from(text.as_ref()),
            Field::Int(n) => Value::from(*n),
            Field::Changes(changes) => serde_json::to_value(changes).unwrap_or(Value::Null),
        }
    }
}

/// Appends `text` as a JSON string, as `serde_json` writes it: copied as it is when nothing in
/// it needs escaping (no `"`, `\\` or control character below U+0020), the common case. The
/// check reads every byte without stopping early, which the compiler turns into vector code.
fn write_str(out: &mut String, text: &str) {
    let needs_escape = text.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        // A text always serialises.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

/// The order of two field names: that of `str`, deciding on the first byte where it can
/// (most of an object's names differ there) without a `memcmp` call.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.as_bytes()
        .first()
        .cmp(&b.as_bytes().first())
        .then_with(|| a.cmp(b))
}

/// Builds a JSON object field by field, skipping absent values. The fields are kept in a small
/// vector and written in key order (as a `serde_json::Map` orders them), without a map node or
/// a key string allocated per field; a second value for a key replaces the first.
struct Summary<'a>(Vec<(&'static str, Field<'a>)>);

impl<'a> Summary<'a> {
    fn new(event_type: &'a str) -> Self {
        let mut fields = Vec::with_capacity(12);
        fields.push(("event_type", Field::from(event_type)));
        Summary(fields)
    }

    fn put(mut self, name: &'static str, value: impl Into<Field<'a>>) -> Self {
        let value = value.into();
        match self.0.iter_mut().find(|(key, _)| *key == name) {
            Some((_, old)) => *old = value,
            None => self.0.push((name, value)),
        }
        self
    }

    /// Appends the object to `out` as compact JSON text, keys in ascending order.
    fn write_json(mut self, out: &mut String) {
        self.0.sort_unstable_by(|(a, _), (b, _)| key_order(a, b));
        out.push('{');
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Keys are plain ASCII names of this module: no escaping needed.
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
            value.write(out);
        }
        out.push('}');
    }

    /// The object as compact JSON text, keys in ascending order.
    fn into_json(self) -> String {
        let mut out = String::with_capacity(256);
        self.write_json(&mut out);
        out
    }

    fn put_opt<T: Into<Field<'a>>>(self, name: &'static str, value: Option<T>) -> Self {
        match value {
            Some(value) => self.put(name, value),
            None => self,
        }
    }

    fn send(self, send: &'a Send) -> Self {
        self.put("notification_id", send.notification_id.as_str())
            .put("channel", send.channel.as_str())
            .put("provider", send.provider.as_str())
            .put("category", send.category.as_str())
            .put_opt(
                "preferred_channel",
                send.preferred_channel.map(|c| c.as_str()),
            )
            .put_opt("cost", send.cost.map(format_cents))
            .put_opt("order_id", send.order_id.as_deref())
            .put_opt("caso_id", send.caso_id)
            .put_opt("template", send.template.as_deref())
    }
}

/// Formats micro-hours as a decimal number of hours without trailing zeros (`88`, `88.5`).
pub fn format_micro_hours(micro_hours: i64) -> String {
    let sign = if micro_hours < 0 { "-" } else { "" };
    let abs = micro_hours.unsigned_abs();
    let (whole, frac) = (abs / 1_000_000, abs % 1_000_000);
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let frac = format!("{frac:06}");
        format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
    }
}

/// The event's summary as compact JSON text, e.g.
/// `{"currency":"USD","event_type":"ORDER_CREATED","items":2,"order_id":"o-1","total":"1059.97"}`.
/// The same event always gives the same text; money is formatted with two decimals and hours
/// exactly, as strings.
pub fn summary(event: &Event) -> String {
    fields(event).into_json()
}

/// The summary of a timeline entry: [`summary`] plus `tenant_id`, the tenant the entry belongs
/// to (the event's own, or for a provider webhook the tenant of the notification's send). The
/// query API scopes timeline entries to tenants by this field.
pub fn timeline_summary(event: &Event, tenant_id: &str) -> String {
    let mut out = String::with_capacity(256);
    write_timeline_summary(event, tenant_id, &mut out);
    out
}

/// [`timeline_summary`] written to `out` (cleared first): a caller that makes many reuses one
/// buffer instead of allocating a text per event.
pub fn write_timeline_summary(event: &Event, tenant_id: &str, out: &mut String) {
    out.clear();
    fields(event).put("tenant_id", tenant_id).write_json(out);
}

/// A [`timeline_summary`] made for tenant `from`, made for tenant `to` instead: the same text
/// `timeline_summary(event, to)` gives. Returns `None` if `summary` does not name `from`.
///
/// Summaries are flat JSON objects built by this module with one top-level `tenant_id` key
/// and keys in ascending order; inside a JSON string every `"` is escaped; the only nested
/// object, `cambios` (which may name a field `tenant_id`), sorts before `tenant_id`. So the
/// key's last unescaped occurrence is the top-level key.
pub fn with_tenant(summary: &str, from: &str, to: &str) -> Option<String> {
    let quoted = |tenant: &str| Value::from(tenant).to_string();
    let needle = format!("\"tenant_id\":{}", quoted(from));
    let at = summary.rfind(&needle)?;
    let mut out = String::with_capacity(summary.len() + to.len());
    out.push_str(&summary[..at]);
    out.push_str("\"tenant_id\":");
    out.push_str(&quoted(to));
    out.push_str(&summary[at + needle.len()..]);
    Some(out)
}

/// The summary's fields.
fn fields(event: &Event) -> Summary<'_> {
    match &event.body {
        Body::Order(order) => match order {
            OrderEvent::Created {
                order_id,
                customer_id,
                items,
                total,
                currency,
            } => Summary::new("ORDER_CREATED")
                .put("order_id", order_id.as_str())
                .put("customer_id", customer_id.as_str())
                .put("items", items.len())
                .put("total", format_cents(*total))
                .put("currency", currency.as_str()),
            OrderEvent::Confirmed { order_id } => {
                Summary::new("ORDER_CONFIRMED").put("order_id", order_id.as_str())
            }
            OrderEvent::Cancelled { order_id, reason } => Summary::new("ORDER_CANCELLED")
                .put("order_id", order_id.as_str())
                .put("reason", reason.as_str()),
        },
        Body::Inventory(inventory) => match inventory {
            InventoryEvent::StockSet { sku, on_hand } => Summary::new("STOCK_SET")
                .put("sku", sku.as_str())
                .put("on_hand", *on_hand),
            InventoryEvent::StockAdjusted { sku, delta } => Summary::new("STOCK_ADJUSTED")
                .put("sku", sku.as_str())
                .put("delta", *delta),
            InventoryEvent::Reserved { order_id, items } => Summary::new("INVENTORY_RESERVED")
                .put("order_id", order_id.as_str())
                .put("items", items.len())
                .put(
                    "quantity",
                    items.iter().fold(0i64, |a, i| a.saturating_add(i.quantity)),
                ),
            InventoryEvent::Released { order_id } => {
                Summary::new("INVENTORY_RELEASED").put("order_id", order_id.as_str())
            }
            InventoryEvent::InsufficientStock {
                order_id,
                sku,
                available,
                requested,
            } => Summary::new("INSUFFICIENT_STOCK")
                .put("order_id", order_id.as_str())
                .put("sku", sku.as_str())
                .put("available", *available)
                .put("requested", *requested),
        },
        Body::Notification(NotificationEvent::Sent(send)) => {
            Summary::new("NOTIFICATION_SENT").send(send)
        }
        Body::Notification(NotificationEvent::Webhook {
            notification_id,
            outcome,
        }) => {
            let (event_type, s) = match outcome {
                Outcome::Delivered => ("NOTIFICATION_DELIVERED", None),
                Outcome::Opened => ("NOTIFICATION_OPENED", None),
                Outcome::Clicked => ("NOTIFICATION_CLICKED", None),
                Outcome::Converted => ("NOTIFICATION_CONVERTED", None),
                Outcome::Bounced {
                    bounce_type,
                    reason,
                } => ("NOTIFICATION_BOUNCED", Some((bounce_type, reason))),
                Outcome::Failed { .. } => ("NOTIFICATION_FAILED", None),
            };
            let mut summary =
                Summary::new(event_type).put("notification_id", notification_id.as_str());
            if let Some((bounce_type, reason)) = s {
                summary = summary
                    .put("bounce_type", bounce_type.as_str())
                    .put_opt("reason", reason.as_deref());
            }
            if let Outcome::Failed {
                last_error,
                retry_count,
            } = outcome
            {
                summary = summary
                    .put_opt("last_error", last_error.as_deref())
                    .put_opt("retry_count", *retry_count);
            }
            summary
        }
        Body::NotificationDlq(record) => Summary::new("NOTIFICATION_DEAD_LETTERED")
            .put_opt("notification_id", record.notification_id.as_deref())
            .put_opt("reason", record.reason.as_deref())
            .put_opt("last_error", record.last_error.as_deref())
            .put_opt("retry_count", record.retry_count),
        Body::Tracking(t) => Summary::new(&t.event_type)
            .put("entity_type", t.entity_type.as_str())
            .put("entity_id", t.entity_id.as_str())
            .put_opt("location", t.location.as_deref())
            .put_opt("source", t.source.as_deref()),
        Body::Caso(caso) => caso_summary(Summary::new(event.topic.name()), caso),
    }
}

/// The fields of a Conecta360 event.
fn caso_summary<'a>(s: Summary<'a>, caso: &'a CasoEvent) -> Summary<'a> {
    match caso {
        CasoEvent::Creado {
            caso_id,
            numero_caso,
            dependencia_id,
            prioridad,
            ..
        } => s
            .put("caso_id", *caso_id)
            .put("numero_caso", numero_caso.as_str())
            .put("estado", "PENDIENTE")
            .put("dependencia_id", *dependencia_id)
            .put_opt("prioridad", prioridad.as_deref()),
        CasoEvent::Asignado {
            caso_id,
            dependencia_id,
            estado_nuevo,
            ..
        } => s
            .put("caso_id", *caso_id)
            .put("estado", estado_nuevo.as_str())
            .put("dependencia_id", *dependencia_id),
        CasoEvent::Actualizado { caso_id, cambios } => {
            let changes = cambios
                .iter()
                .map(|c| (c.campo.as_str(), c.valor_nuevo.as_deref()))
                .collect();
            s.put("caso_id", *caso_id)
                .put("cambios", Field::Changes(changes))
        }
        CasoEvent::Cerrado {
            caso_id,
            motivo_cierre,
            tiempo_total_horas,
            satisfaccion_ciudadano,
            ..
        } => s
            .put("caso_id", *caso_id)
            .put("estado", "CERRADO")
            .put("motivo_cierre", motivo_cierre.as_str())
            .put_opt(
                "tiempo_total_horas",
                tiempo_total_horas.map(format_micro_hours),
            )
            .put_opt("satisfaccion_ciudadano", *satisfaccion_ciudadano),
        CasoEvent::NotificacionEnviada { send, failed, tipo } => s
            .send(send)
            .put("tipo", tipo.as_str())
            .put("estado", if *failed { "FALLIDO" } else { "ENVIADO" }),
        CasoEvent::SlaViolado { sla_id, caso_id } | CasoEvent::SlaCumplido { sla_id, caso_id } => {
            s.put("sla_id", *sla_id).put("caso_id", *caso_id)
        }
        CasoEvent::CiudadanoRegistrado {
            ciudadano_id,
            canal_registro,
        } => s
            .put("ciudadano_id", *ciudadano_id)
            .put_opt("canal_registro", canal_registro.as_deref()),
        CasoEvent::DependenciaConfigurada {
            dependencia_id,
            codigo,
            sla_horas,
        } => s
            .put("dependencia_id", *dependencia_id)
            .put("codigo", codigo.as_str())
            .put_opt("sla_horas", sla_horas.map(format_micro_hours)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_what_a_json_map_of_the_fields_gives() {
        let summary = Summary::new("X")
            .put("zeta", "last \"quoted\" \u{e9}\n\u{1}")
            .put("plain", "caf\u{e9} \u{7f} ~")
            .put("alpha", 1i64)
            .put("beta", -7i64)
            .put("gamma", 3usize)
            .put("money", format_cents(-105_997i64))
            .put("event_type", "REPLACED")
            .put(
                "cambios",
                Field::Changes(BTreeMap::from([("b", None), ("a\"", Some("x\\"))])),
            )
            .put("channel", "push")
            .put("caso_id", i64::MIN)
            .put("category", "TRANSACTIONAL")
            .put_opt("absent", None::<i64>);
        let map: serde_json::Map<String, Value> = summary
            .0
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_value()))
            .collect();
        assert_eq!(summary.into_json(), Value::Object(map).to_string());
    }

    #[test]
    fn names_are_ordered_as_texts_are() {
        let names = [
            "caso_id",
            "cambios",
            "category",
            "channel",
            "c",
            "ca",
            "",
            "tenant_id",
            "tipo",
            "total",
            "tiempo_total_horas",
            "\u{e9}",
            "z",
        ];
        for a in names {
            for b in names {
                assert_eq!(key_order(a, b), a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn formats_micro_hours_exactly() {
        assert_eq!(format_micro_hours(88_000_000), "88");
        assert_eq!(format_micro_hours(88_500_000), "88.5");
        assert_eq!(format_micro_hours(1), "0.000001");
        assert_eq!(format_micro_hours(-1_250_000), "-1.25");
    }

    #[test]
    fn summary_tenant_is_the_top_level_tenant_id() {
        let parsed = |json: &str| {
            serde_json::from_str::<Value>(json).unwrap()["tenant_id"]
                .as_str()
                .map(str::to_string)
        };
        for tenant in ["acme", "", "x\"y", "a\\b", "caf\u{e9}", "tenant_id"] {
            for nested in [None, Some("acme"), Some("other\"")] {
                let mut changes = BTreeMap::from([("estado", Some("ABIERTO"))]);
                if let Some(value) = nested {
                    changes.insert("tenant_id", Some(value));
                }
                let json = Summary::new("CASO_ACTUALIZADO")
                    .put("cambios", Field::Changes(changes))
                    .put("tenant_id", tenant)
                    .put("zeta", "\"tenant_id\":\"no\"")
                    .into_json();
                let read = crate::registry::summary_tenant(&json).map(|t| t.into_owned());
                assert_eq!(read, parsed(&json), "{json}");
                assert_eq!(read.as_deref(), Some(tenant));
                let moved = with_tenant(&json, tenant, "to").unwrap();
                assert_eq!(parsed(&moved).as_deref(), Some("to"), "{moved}");
                let nested_after =
                    serde_json::from_str::<Value>(&moved).unwrap()["cambios"].clone();
                let nested_before =
                    serde_json::from_str::<Value>(&json).unwrap()["cambios"].clone();
                assert_eq!(nested_after, nested_before);
            }
        }
        let without = Summary::new("X").put("order_id", "o-1").into_json();
        assert_eq!(crate::registry::summary_tenant(&without), None);
    }

    #[test]
    fn with_tenant_is_the_summary_made_for_the_other_tenant() {
        use crate::model::{BounceType, Event, NotificationDlqRecord, NotificationEvent, Outcome};
        use crate::topic::Topic;
        let hook = |reason: &str| Event {
            timestamp: 0,
            topic: Topic::Notifications,
            event_id: "e-1".to_string(),
            dedup_key: "e-1".to_string(),
            tenant_id: "default".to_string(),
            body: Body::Notification(NotificationEvent::Webhook {
                notification_id: "n-\"tenant_id\":\"default\"".to_string(),
                outcome: Outcome::Bounced {
                    bounce_type: BounceType::Hard,
                    reason: Some(reason.to_string()),
                },
            }),
        };
        let dlq = Event {
            topic: Topic::NotificationsDlq,
            tenant_id: "we\"ird\\".to_string(),
            body: Body::NotificationDlq(NotificationDlqRecord {
                notification_id: Some("n-1".to_string()),
                channel: None,
                provider: None,
                reason: Some("\"tenant_id\":\"we\"ird\\\"".to_string()),
                last_error: None,
                retry_count: Some(3),
            }),
            ..hook("x")
        };
        for event in [hook("mailbox full"), hook("\"tenant_id\":\"default\""), dlq] {
            let own = timeline_summary(&event, &event.tenant_id);
            for to in ["acme", "conecta360", "x\"y", "default"] {
                assert_eq!(
                    with_tenant(&own, &event.tenant_id, to).as_deref(),
                    Some(timeline_summary(&event, to).as_str())
                );
            }
        }
        assert_eq!(with_tenant("{\"event_type\":\"X\"}", "a", "b"), None);
    }
}
