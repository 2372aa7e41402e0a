//! Every AsyncAPI `examples` payload of seed 004 decodes on its topic with the expected values.

use pulso_events::time::parse_rfc3339;
use pulso_events::{
    decode, decode_with, summary, Body, Cambio, CasoEvent, Channel, DecodeOptions, Event, Position,
    Send, Topic,
};
use serde_json::Value;

/// The fixture: `[{topic, payload}]`, copied from the seed's `examples`.
fn examples() -> Vec<(Topic, Vec<u8>)> {
    let text = include_str!("fixtures/seed004_examples.json");
    let list: Vec<Value> = serde_json::from_str(text).unwrap();
    list.iter()
        .map(|e| {
            let topic = Topic::from_name(e["topic"].as_str().unwrap()).unwrap();
            (topic, serde_json::to_vec(&e["payload"]).unwrap())
        })
        .collect()
}

fn decoded(topic: Topic) -> Event {
    let (_, bytes) = examples().into_iter().find(|(t, _)| *t == topic).unwrap();
    decode(topic, &bytes, Position::default()).unwrap()
}

fn caso(topic: Topic) -> CasoEvent {
    match decoded(topic).body {
        Body::Caso(c) => c,
        other => panic!("not a caso: {other:?}"),
    }
}

fn t(text: &str) -> i64 {
    parse_rfc3339(text).unwrap()
}

#[test]
fn all_nine_examples_decode_on_their_topic() {
    let examples = examples();
    assert_eq!(examples.len(), 9);
    let mut topics: Vec<Topic> = examples.iter().map(|(t, _)| *t).collect();
    topics.sort();
    topics.dedup();
    assert_eq!(topics.len(), 9);
    for (topic, bytes) in &examples {
        assert!(topic.is_envelope_b());
        let event =
            decode(*topic, bytes, Position::default()).unwrap_or_else(|r| panic!("{topic}: {r}"));
        assert_eq!(event.topic, *topic);
        assert_eq!(event.tenant_id, "conecta360");
        assert_eq!(event.dedup_key, event.event_id);
        assert!(event.event_id.starts_with("evt_1234567"));
        assert!(!summary(&event).is_empty());
    }
}

#[test]
fn envelope_fields() {
    let event = decoded(Topic::CasosCreados);
    assert_eq!(event.event_id, "evt_123456789");
    assert_eq!(event.timestamp, t("2024-01-15T10:30:00Z"));
    assert_eq!(event.timestamp, 1_705_314_600_000_000);
}

#[test]
fn tenant_is_configurable() {
    let (topic, bytes) = examples().remove(0);
    let options = DecodeOptions {
        conecta360_tenant: "costa-verde".into(),
    };
    let event = decode_with(&options, topic, &bytes, Position::default()).unwrap();
    assert_eq!(event.tenant_id, "costa-verde");
    assert_eq!(DecodeOptions::default().conecta360_tenant, "conecta360");
}

#[test]
fn caso_creado() {
    assert_eq!(
        caso(Topic::CasosCreados),
        CasoEvent::Creado {
            caso_id: 12345,
            numero_caso: "CRV-2024-00012345".into(),
            ciudadano_id: 5432,
            categoria_id: 5,
            dependencia_id: 1,
            prioridad: Some("ALTA".into()),
            fecha_creacion: t("2024-01-15T10:30:00Z"),
        }
    );
}

#[test]
fn caso_asignado() {
    assert_eq!(
        caso(Topic::CasosAsignados),
        CasoEvent::Asignado {
            caso_id: 12345,
            dependencia_id: 1,
            estado_nuevo: "ASIGNADO".into(),
            fecha_asignacion: t("2024-01-15T10:35:00Z"),
        }
    );
}

#[test]
fn caso_actualizado() {
    let cambio = |campo: &str, valor: &str| Cambio {
        campo: campo.into(),
        valor_nuevo: Some(valor.into()),
    };
    assert_eq!(
        caso(Topic::CasosActualizados),
        CasoEvent::Actualizado {
            caso_id: 12345,
            cambios: vec![
                cambio("estado", "EN_PROCESO"),
                cambio("prioridad", "URGENTE")
            ],
        }
    );
}

#[test]
fn caso_cerrado() {
    assert_eq!(
        caso(Topic::CasosCerrados),
        CasoEvent::Cerrado {
            caso_id: 12345,
            motivo_cierre: "RESUELTO".into(),
            fecha_cierre: t("2024-01-18T14:30:00Z"),
            tiempo_total_horas: Some(88_000_000),
            satisfaccion_ciudadano: Some(5),
        }
    );
}

#[test]
fn notificacion_enviada() {
    assert_eq!(
        caso(Topic::NotificacionesEnviadas),
        CasoEvent::NotificacionEnviada {
            send: Send {
                notification_id: "c360-7890".into(),
                channel: Channel::Sms,
                provider: "Twilio".into(),
                category: "TRANSACTIONAL".into(),
                preferred_channel: None,
                cost: Some(5),
                order_id: None,
                caso_id: Some(12345),
                template: None,
            },
            failed: false,
            tipo: "ASIGNACION".into(),
        }
    );
}

#[test]
fn slas() {
    assert_eq!(
        caso(Topic::SlaViolados),
        CasoEvent::SlaViolado {
            sla_id: 567,
            caso_id: 12345
        }
    );
    assert_eq!(
        caso(Topic::SlaCumplidos),
        CasoEvent::SlaCumplido {
            sla_id: 567,
            caso_id: 12345
        }
    );
}

#[test]
fn ciudadano_registrado() {
    assert_eq!(
        caso(Topic::CiudadanosRegistrados),
        CasoEvent::CiudadanoRegistrado {
            ciudadano_id: 5432,
            canal_registro: Some("WEB".into()),
        }
    );
}

#[test]
fn dependencia_configurada_sla_from_number() {
    assert_eq!(
        caso(Topic::DependenciasConfiguradas),
        CasoEvent::DependenciaConfigurada {
            dependencia_id: 1,
            codigo: "MIN-OBRAS".into(),
            sla_horas: Some(120_000_000),
        }
    );
}

#[test]
fn summaries_are_deterministic() {
    let event = decoded(Topic::NotificacionesEnviadas);
    let text = summary(&event);
    assert_eq!(text, summary(&event.clone()));
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["cost"], "0.05");
    assert_eq!(json["provider"], "Twilio");
    assert_eq!(json["estado"], "ENVIADO");
    let closed: Value = serde_json::from_str(&summary(&decoded(Topic::CasosCerrados))).unwrap();
    assert_eq!(closed["tiempo_total_horas"], "88");
    assert_eq!(closed["motivo_cierre"], "RESUELTO");
}
