//! Equivalence of the fast path and the reference decoder: on generator-like records, the
//! seed 004 examples, hand-written edge cases and mutated records, `decode_fast` is either
//! "not handled" or exactly the reference's event, and `decode_with` always equals
//! `decode_reference`.

#[path = "common/mutate.rs"]
mod mutate;
#[path = "common/records.rs"]
mod records;

use mutate::{apply, drop_at, edit, pointers, raw_num, replacements, style, write, Style};
use mutate::{DUP_AFTER, DUP_BEFORE, KEYS};

use proptest::prelude::*;
use proptest::sample::Index;
use pulso_events::decode::{decode_fast, decode_reference};
use pulso_events::{decode_with, DecodeOptions, Position, Topic};
use serde_json::{json, Map, Value};

const POSITION: Position = Position {
    partition: 3,
    offset: 42,
};

/// Asserts the equivalence on one record; true when the fast path handled it.
fn check(topic: Topic, value: &[u8]) -> bool {
    let options = DecodeOptions {
        conecta360_tenant: "muni".into(),
    };
    let reference = decode_reference(&options, topic, value, POSITION);
    let fast = decode_fast(&options, topic, value, POSITION);
    let text = String::from_utf8_lossy(value);
    if let Some(event) = &fast {
        assert_eq!(
            Ok(event),
            reference.as_ref(),
            "fast path differs on {topic}: {text}"
        );
    }
    assert_eq!(
        decode_with(&options, topic, value, POSITION),
        reference,
        "decode_with differs on {topic}: {text}"
    );
    fast.is_some()
}

#[test]
fn generator_like_records_all_take_the_fast_path() {
    for (topic, value) in records::generator_like(3_000, 11) {
        assert!(
            check(topic, &value),
            "not handled on {topic}: {}",
            String::from_utf8_lossy(&value)
        );
    }
}

#[test]
fn seed004_examples_take_the_fast_path() {
    let examples: Vec<Value> =
        serde_json::from_str(include_str!("fixtures/seed004_examples.json")).unwrap();
    assert_eq!(examples.len(), 9);
    for example in examples {
        let topic = Topic::from_name(example["topic"].as_str().unwrap()).unwrap();
        let value = example["payload"].to_string();
        assert!(check(topic, value.as_bytes()), "not handled: {value}");
        // Pretty-printed, with escaped slashes: still handled, same event.
        let pretty = serde_json::to_string_pretty(&example["payload"]).unwrap();
        assert!(check(topic, pretty.as_bytes()));
    }
}

/// Valid but unusual records, and records the reference rejects, from the existing tests.
#[test]
fn edge_cases_match_the_reference() {
    let a = |extra: Value| {
        let mut v = json!({"event_id": "e1", "event_type": "ORDER_CREATED",
            "timestamp": "2024-01-15T05:30:00-05:00", "order_id": "o1", "customer_id": "c1",
            "items": [{"sku": "A", "quantity": 2, "unit_price": 10.005}], "total": 20.01});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v.to_string()
    };
    let cases: Vec<(Topic, String)> = vec![
        (Topic::Orders, a(json!({}))),
        (Topic::Orders, a(json!({"currency": "eur", "tenant_id": "acme.eu-1"}))),
        (Topic::Orders, a(json!({"currency": null, "schema_version": "01.9"}))),
        (Topic::Orders, a(json!({"schema_version": "2.0"}))),
        (Topic::Orders, a(json!({"total": -0.0}))),
        (Topic::Orders, a(json!({"total": -0.01}))),
        (Topic::Orders, a(json!({"items": []}))),
        (Topic::Orders, a(json!({"items": [[1, 2, 3]]}))),
        (Topic::Orders, a(json!({"event_type": "ORDER_SHIPPED"}))),
        (Topic::Orders, a(json!({"tenant_id": "no spaces"}))),
        (Topic::Orders, r#"{"event_id":"e1","event_id":"e2","event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:30:00Z","order_id":"o"}"#.into()),
        (Topic::Orders, r#"{"event_id":"e\/1","event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:30:00Z","order_id":"o\"q"}"#.into()),
        (Topic::Orders, r#"{"event_id":"\u00e91","event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:30:00Z","order_id":"o"}"#.into()),
        (Topic::Orders, r#"{"event_id":"e1","event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:30:00Z","order_id":"o","x":"\ud800"}"#.into()),
        (Topic::Orders, format!(r#"{{"event_id":"e1","event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:30:00Z","order_id":"o","x":{}1{}}}"#, "[".repeat(200), "]".repeat(200))),
        (Topic::Orders, "[1,2]".into()),
        (Topic::Orders, "{} x".into()),
        (Topic::Inventory, r#"{"event_id":"e","event_type":"STOCK_ADJUSTED","timestamp":"2024-01-15T10:30:00Z","sku":"s","delta":-0}"#.into()),
        (Topic::Inventory, r#"{"event_id":"e","event_type":"STOCK_SET","timestamp":"2024-01-15T10:30:00Z","sku":"s","on_hand":1E2}"#.into()),
        (Topic::Tracking, r#"{"event_id":"e","event_type":"X","timestamp":"2024-01-15T10:30:00Z","entity_id":"p","entity_type":"t","attributes":{"a":1,"a":"b"},"dedup_key":"k"}"#.into()),
        (Topic::Tracking, r#"{"event_id":"e","event_type":"X","timestamp":"2024-01-15T10:30:00Z","entity_id":"p","entity_type":"t","attributes":{"a":null}}"#.into()),
        (Topic::Tracking, r#"{"event_id":"e","event_type":"X","timestamp":"2024-01-15T10:30:00Z","entity_id":"p","entity_type":"t","dedup_key":""}"#.into()),
        (Topic::NotificationsDlq, r#"{"original_notification":{"notification_id":5,"tenant_id":"bad tenant"},"failure_timestamp":"2024-01-15T10:30:00Z"}"#.into()),
        (Topic::NotificationsDlq, r#"{"original_notification":[],"failure_timestamp":"2024-01-15T10:30:00Z"}"#.into()),
        (Topic::CasosCreados, r#"{"evento_id":"e","evento_tipo":"casos.cerrados","evento_version":"1.0","timestamp":"2024-01-15T10:30:00Z","origen":"o","datos":{}}"#.into()),
        (Topic::CasosCerrados, r#"{"evento_id":"e","evento_tipo":"casos.cerrados","evento_version":"1.0","timestamp":"2024-01-15T10:30:00Z","origen":"o","datos":{"caso_id":1,"numero_caso":"CRV-2024-00000001","motivo_cierre":"RESUELTO","estado_final":"CERRADO","fecha_cierre":"2024-01-15T10:30:00Z","tiempo_total_horas":-1.5E1}}"#.into()),
        (Topic::CasosActualizados, r#"{"evento_id":"e","evento_tipo":"casos.actualizados","evento_version":"1.0","timestamp":"2024-01-15T10:30:00Z","origen":"o","datos":{"caso_id":1,"numero_caso":"CRV-2024-00000001","fecha_actualizacion":"2024-01-15T10:30:00Z","cambios":[{"campo":"x","valor_nuevo":1E3},{"campo":"y","valor_nuevo":null}]}}"#.into()),
        (Topic::DependenciasConfiguradas, r#"{"evento_id":"e","evento_tipo":"dependencias.configuradas","evento_version":"1.0","timestamp":"2024-01-15T10:30:00Z","origen":"o","datos":{"dependencia_id":1,"codigo":"c","fecha_actualizacion":"2024-01-15T10:30:00Z","cambios":[{"campo":"configuracion.sla_tiempo_resolucion_horas","valor_nuevo":"1.5e1"},{"campo":"configuracion.sla_tiempo_resolucion_horas","valor_nuevo":" 3"}]}}"#.into()),
        (Topic::DependenciasConfiguradas, r#"{"evento_id":"e","evento_tipo":"dependencias.configuradas","evento_version":"1.0","timestamp":"2024-01-15T10:30:00Z","origen":"o","datos":{"dependencia_id":1,"codigo":"c","fecha_actualizacion":"2024-01-15T10:30:00Z","cambios":[{"campo":"configuracion.sla_tiempo_resolucion_horas","valor_nuevo":"24"},{"campo":"nombre","valor_nuevo":null},{"campo":"configuracion.sla_tiempo_resolucion_horas","valor_nuevo":48.5}]}}"#.into()),
    ];
    for (topic, value) in cases {
        check(topic, value.as_bytes());
    }
}

/// The base records (built once).
fn bases() -> &'static [(Topic, Value)] {
    static BASES: std::sync::OnceLock<Vec<(Topic, Value)>> = std::sync::OnceLock::new();
    BASES.get_or_init(build_bases)
}

/// The base records: generator-like ones of every topic, then the seed 004 examples.
fn build_bases() -> Vec<(Topic, Value)> {
    let mut rng = records::Rng::new(5);
    let mut out: Vec<(Topic, Value)> = Topic::ALL
        .iter()
        .flat_map(|&t| (0..12).map(move |_| t))
        .map(|t| (t, records::record(&mut rng, t)))
        .collect();
    let examples: Vec<Map<String, Value>> =
        serde_json::from_str(include_str!("fixtures/seed004_examples.json")).unwrap();
    for e in examples {
        let topic = Topic::from_name(e["topic"].as_str().unwrap()).unwrap();
        out.push((topic, e["payload"].clone()));
    }
    out
}

/// Every single edit of every base record: drop or replace any node (by null, numbers in
/// many spellings, strings, containers), add any known key to any object, duplicate keys.
#[test]
fn every_single_edit_matches_the_reference() {
    let replacements = replacements();
    let (mut handled, mut total) = (0usize, 0usize);
    let mut run = |topic: Topic, v: &Value| {
        let mut text = String::new();
        write(
            v,
            &mut text,
            &Style {
                ws: "",
                escape_slash: false,
                unicode_e: false,
            },
        );
        total += 1;
        handled += usize::from(check(topic, text.as_bytes()));
    };
    for (topic, base) in bases().iter().step_by(3) {
        let (mut nodes, mut objects) = (Vec::new(), Vec::new());
        pointers(base, String::new(), &mut nodes, &mut objects);
        for p in &nodes {
            let mut v = base.clone();
            drop_at(&mut v, p);
            run(*topic, &v);
            for x in &replacements {
                let mut v = base.clone();
                *v.pointer_mut(p).unwrap() = x.clone();
                run(*topic, &v);
            }
        }
        for p in &objects {
            for key in KEYS {
                for x in [json!("x"), raw_num("-1"), json!({})] {
                    let mut v = base.clone();
                    if let Some(Value::Object(m)) = v.pointer_mut(p) {
                        m.insert(key.to_string(), x);
                    }
                    run(*topic, &v);
                }
            }
            let keys: Vec<String> = base
                .pointer(p)
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            for key in keys {
                for mark in [DUP_BEFORE, DUP_AFTER] {
                    let mut v = base.clone();
                    let original = v.pointer(p).unwrap()[&key].clone();
                    if let Some(Value::Object(m)) = v.pointer_mut(p) {
                        m.insert(format!("{mark}{key}"), original);
                    }
                    run(*topic, &v);
                }
            }
        }
    }
    // The sweep reaches both sides: edits the fast path accepts and edits it hands over.
    assert!(
        handled > total / 10 && handled < total,
        "{handled} of {total}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    /// Mutated valid records: the fast path never answers differently from the reference.
    #[test]
    fn mutated_records_match_the_reference(
        base in any::<Index>(),
        edits in prop::collection::vec(edit(), 0..4),
        st in style(),
        other_topic in prop::option::weighted(0.05, any::<Index>()),
    ) {
        let bases = bases();
        let (mut topic, mut v) = bases[base.index(bases.len())].clone();
        for e in &edits {
            apply(&mut v, e);
        }
        if let Some(t) = other_topic {
            topic = Topic::ALL[t.index(Topic::ALL.len())];
        }
        let mut text = String::new();
        write(&v, &mut text, &st);
        check(topic, text.as_bytes());
    }
}
