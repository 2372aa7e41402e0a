//! Mutations of valid records for the fast-path equivalence test: edits of a JSON value
//! (drop, null, numbers in unusual spellings, strings, containers, added and duplicated keys)
//! and a writer that spells the text in several ways (whitespace, escapes).

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

/// Marks a string that the writer emits as raw JSON text (numbers in unusual spellings).
pub(crate) const RAW: &str = "\u{1}RAW:";
/// Marks a key the writer emits without the mark: a duplicate key before the original
/// (`\u{1}`) or after it (`\u{7f}`).
pub(crate) const DUP_BEFORE: &str = "\u{1}DUP:";
pub(crate) const DUP_AFTER: &str = "\u{7f}DUP:";

pub(crate) const NUMS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "5",
    "5.0",
    "1e2",
    "1E2",
    "1E+2",
    "1e-2",
    "1.005",
    "0.001",
    "-0.0",
    "-0.01",
    "12.345",
    "99999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "0e10",
    "1.5E-3",
    "120",
    "88.5",
    "6",
    "0.05",
    "1059.97",
    "1e400",
    "-7",
];

pub(crate) const STRS: &[&str] = &[
    "",
    "x",
    "1.0",
    "1.2",
    "2.0",
    "01.5",
    "1",
    "v1.0",
    "ORDER_CREATED",
    "ORDER_CONFIRMED",
    "ORDER_CANCELLED",
    "STOCK_SET",
    "STOCK_ADJUSTED",
    "INVENTORY_RESERVED",
    "INSUFFICIENT_STOCK",
    "NOTIFICATION_SENT",
    "NOTIFICATION_BOUNCED",
    "NOTIFICATION_FAILED",
    "NOTIFICATION_OPENED",
    "EMAIL",
    "SMS",
    "PUSH",
    "FAX",
    "HARD",
    "SOFT",
    "TRANSACTIONAL",
    "MARKETING",
    "USD",
    "usd",
    "EURO",
    "US1",
    "acme",
    "bad tenant!",
    "default",
    "2024-01-15T10:30:00Z",
    "2024-01-15T10:30:00",
    "2024-01-15T10:30:00.1234567+02:00",
    "2024-02-30T10:00:00Z",
    "CRV-2024-00012345",
    "CRV-2024-0001234",
    "casos.creados",
    "casos.cerrados",
    "sla.violados",
    "PENDIENTE",
    "ASIGNADO",
    "CERRADO",
    "RESUELTO",
    "ENVIADO",
    "FALLIDO",
    "CREACION",
    "ALTA",
    "WEB",
    "configuracion.sla_tiempo_resolucion_horas",
    "120",
    "-1",
    "12.5",
    "abc",
    "1e2",
    "é漢字",
    "a/b",
    "quote\"d",
    "line\nbreak",
    "tab\t",
];

pub(crate) const KEYS: &[&str] = &[
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
    "valor_anterior",
    "estado",
    "satisfaccion_ciudadano",
    "tiempo_total_horas",
    "costo_estimado",
    "notificacion_id",
    "canal",
    "ubicacion",
    "lat",
    "unknown",
    "x",
];

/// One edit of a record.
#[derive(Clone, Debug)]
pub(crate) enum Edit {
    Drop(Index),
    Null(Index),
    Num(Index, Index),
    Str(Index, Index),
    Bool(Index, bool),
    Container(Index, Index),
    Add(Index, Index, Index),
    Dup(Index, Index, bool),
}

pub(crate) fn edit() -> impl Strategy<Value = Edit> {
    let i = any::<Index>;
    prop_oneof![
        3 => i().prop_map(Edit::Drop),
        2 => i().prop_map(Edit::Null),
        3 => (i(), i()).prop_map(|(a, b)| Edit::Num(a, b)),
        3 => (i(), i()).prop_map(|(a, b)| Edit::Str(a, b)),
        1 => (i(), any::<bool>()).prop_map(|(a, b)| Edit::Bool(a, b)),
        1 => (i(), i()).prop_map(|(a, b)| Edit::Container(a, b)),
        2 => (i(), i(), i()).prop_map(|(a, b, c)| Edit::Add(a, b, c)),
        2 => (i(), i(), any::<bool>()).prop_map(|(a, b, c)| Edit::Dup(a, b, c)),
    ]
}

/// JSON pointers of every node below the root (`nodes`) and of every object (`objects`).
pub(crate) fn pointers(v: &Value, at: String, nodes: &mut Vec<String>, objects: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            objects.push(at.clone());
            for (k, x) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                nodes.push(p.clone());
                pointers(x, p, nodes, objects);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                nodes.push(p.clone());
                pointers(x, p, nodes, objects);
            }
        }
        _ => {}
    }
}

pub(crate) fn a_value(pick: &Index) -> Value {
    let pool = pool();
    pool[pick.index(pool.len())].clone()
}

/// Values of every JSON type, for replacements and additions.
pub(crate) fn pool() -> Vec<Value> {
    vec![
        json!(null),
        json!([]),
        json!({}),
        json!([1]),
        json!({"a": 1}),
        json!([{"sku": "S", "quantity": 1, "unit_price": 1.5}]),
        json!("x"),
        json!(7),
        json!(true),
        json!("2024-01-15T10:30:00Z"),
    ]
}

/// Removes the node at pointer `p`.
pub(crate) fn drop_at(v: &mut Value, p: &str) {
    let (parent, last) = p.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(m) => {
            m.remove(&last.replace("~1", "/").replace("~0", "~"));
        }
        Value::Array(a) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        _ => {}
    }
}

/// A number in an unusual spelling, emitted verbatim by the writer.
pub(crate) fn raw_num(text: &str) -> Value {
    json!(format!("{RAW}{text}"))
}

/// Every replacement value a single edit may put in place of a node.
pub(crate) fn replacements() -> Vec<Value> {
    let mut out: Vec<Value> = NUMS.iter().map(|n| raw_num(n)).collect();
    out.extend(STRS.iter().map(|s| json!(s)));
    out.extend(pool());
    out.push(json!(false));
    out
}

pub(crate) fn apply(v: &mut Value, e: &Edit) {
    let (mut nodes, mut objects) = (Vec::new(), Vec::new());
    pointers(v, String::new(), &mut nodes, &mut objects);
    let node = |i: &Index| (!nodes.is_empty()).then(|| nodes[i.index(nodes.len())].clone());
    let set = |v: &mut Value, i: &Index, x: Value| {
        if let Some(p) = node(i) {
            *v.pointer_mut(&p).unwrap() = x;
        }
    };
    match e {
        Edit::Drop(i) => {
            if let Some(p) = node(i) {
                drop_at(v, &p);
            }
        }
        Edit::Null(i) => set(v, i, Value::Null),
        // Numbers replace numbers and strings replace strings, so that most edits keep
        // the record close to valid.
        Edit::Num(i, n) => {
            let numbers: Vec<&String> = nodes
                .iter()
                .filter(|p| v.pointer(p).is_some_and(Value::is_number))
                .collect();
            if !numbers.is_empty() {
                let p = numbers[i.index(numbers.len())].clone();
                *v.pointer_mut(&p).unwrap() = raw_num(NUMS[n.index(NUMS.len())]);
            }
        }
        Edit::Str(i, s) => {
            let strings: Vec<&String> = nodes
                .iter()
                .filter(|p| v.pointer(p).is_some_and(Value::is_string))
                .collect();
            if !strings.is_empty() {
                let p = strings[i.index(strings.len())].clone();
                *v.pointer_mut(&p).unwrap() = json!(STRS[s.index(STRS.len())]);
            }
        }
        Edit::Bool(i, b) => set(v, i, json!(b)),
        Edit::Container(i, x) => set(v, i, a_value(x)),
        Edit::Add(o, k, x) => {
            let p = objects[o.index(objects.len())].clone();
            let value = match x.index(3) {
                0 => json!(STRS[x.index(STRS.len())]),
                1 => raw_num(NUMS[x.index(NUMS.len())]),
                _ => a_value(x),
            };
            if let Some(Value::Object(m)) = v.pointer_mut(&p) {
                m.insert(KEYS[k.index(KEYS.len())].to_string(), value);
            }
        }
        Edit::Dup(o, x, before) => {
            let p = objects[o.index(objects.len())].clone();
            if let Some(Value::Object(m)) = v.pointer_mut(&p) {
                if let Some(key) = m.keys().next().cloned() {
                    let mark = if *before { DUP_BEFORE } else { DUP_AFTER };
                    m.insert(format!("{mark}{key}"), a_value(x));
                }
            }
        }
    }
}

/// How the writer spells the JSON text.
#[derive(Clone, Debug)]
pub(crate) struct Style {
    /// Whitespace after `{`, `:` and `,`.
    pub ws: &'static str,
    /// `/` written as `\\/`.
    pub escape_slash: bool,
    /// `e` written as `\\u0065`.
    pub unicode_e: bool,
}

pub(crate) fn write_str(s: &str, out: &mut String, st: &Style) {
    let mut text = serde_json::to_string(s).unwrap();
    if st.escape_slash {
        text = text.replace('/', "\\/");
    }
    if st.unicode_e {
        text = text.replace('e', "\\u0065");
    }
    out.push_str(&text);
}

pub(crate) fn write(v: &Value, out: &mut String, st: &Style) {
    match v {
        Value::String(s) if s.starts_with(RAW) => out.push_str(&s[RAW.len()..]),
        Value::String(s) => write_str(s, out, st),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(st.ws);
                }
                write(x, out, st);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            out.push_str(st.ws);
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    out.push_str(st.ws);
                }
                let key = k
                    .strip_prefix(DUP_BEFORE)
                    .or_else(|| k.strip_prefix(DUP_AFTER))
                    .unwrap_or(k);
                write_str(key, out, st);
                out.push(':');
                out.push_str(st.ws);
                write(x, out, st);
            }
            out.push_str(st.ws);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

pub(crate) fn style() -> impl Strategy<Value = Style> {
    (
        prop::sample::select(vec!["", "", "", " ", "\n  ", "\t", "\r\n"]),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(ws, escape_slash, unicode_e)| Style {
            ws,
            escape_slash,
            unicode_e,
        })
}
