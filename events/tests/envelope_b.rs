//! Envelope B details beyond the seed's examples: SLA hours from strings, last entry wins,
//! failed sends, defaults, and the schema's enums, patterns and ranges.

use pulso_events::{decode, Body, CasoEvent, Event, Position, RejectReason, Rejection, Topic};
use serde_json::{json, Value};

fn base(topic: Topic, datos: Value) -> Value {
    json!({
        "evento_id": "evt_1",
        "evento_tipo": topic.name(),
        "evento_version": "1.0",
        "timestamp": "2024-01-15T09:00:00-05:00",
        "origen": "test",
        "datos": datos,
    })
}

fn run(topic: Topic, record: &Value) -> Result<Event, Rejection> {
    decode(topic, record.to_string().as_bytes(), Position::default())
}

fn caso(topic: Topic, datos: Value) -> CasoEvent {
    match run(topic, &base(topic, datos)).unwrap().body {
        Body::Caso(c) => c,
        other => panic!("{other:?}"),
    }
}

fn reject(topic: Topic, datos: Value) -> Rejection {
    run(topic, &base(topic, datos)).unwrap_err()
}

fn dependencia(cambios: Value) -> Value {
    json!({"dependencia_id": 7, "codigo": "X", "fecha_actualizacion": "2024-01-15T09:00:00Z",
           "cambios": cambios})
}

const SLA: &str = "configuracion.sla_tiempo_resolucion_horas";

#[test]
fn sla_hours_from_strings_last_entry_wins() {
    let got = caso(
        Topic::DependenciasConfiguradas,
        dependencia(json!([
            {"campo": SLA, "valor_nuevo": 100},
            {"campo": "nombre", "valor_nuevo": "Obras"},
            {"campo": SLA, "valor_nuevo": "72.5"},
        ])),
    );
    match got {
        CasoEvent::DependenciaConfigurada { sla_horas, .. } => {
            assert_eq!(sla_horas, Some(72_500_000))
        }
        other => panic!("{other:?}"),
    }
    let none = caso(Topic::DependenciasConfiguradas, dependencia(json!([])));
    assert!(matches!(
        none,
        CasoEvent::DependenciaConfigurada {
            sla_horas: None,
            ..
        }
    ));
}

#[test]
fn sla_hours_must_be_non_negative_numbers() {
    for bad in [
        json!(-1),
        json!("abc"),
        json!("-2"),
        json!(null),
        json!(true),
        json!(" 5"),
    ] {
        let r = reject(
            Topic::DependenciasConfiguradas,
            dependencia(json!([{"campo": SLA, "valor_nuevo": bad}])),
        );
        assert_eq!(r.reason, RejectReason::InvalidField, "{bad}");
        assert!(
            r.detail.contains("`datos.cambios[0].valor_nuevo`"),
            "{}",
            r.detail
        );
    }
}

#[test]
fn fallido_send_without_provider_or_cost() {
    let got = caso(
        Topic::NotificacionesEnviadas,
        json!({"notificacion_id": 1, "caso_id": 2, "tipo": "CIERRE", "canal": "EMAIL",
               "estado": "FALLIDO", "fecha_envio": "2024-01-15T10:35:30Z"}),
    );
    match got {
        CasoEvent::NotificacionEnviada { send, failed, tipo } => {
            assert!(failed);
            assert_eq!(tipo, "CIERRE");
            assert_eq!(send.notification_id, "c360-1");
            assert_eq!(send.provider, "unknown");
            assert_eq!(send.cost, None);
            assert_eq!(send.caso_id, Some(2));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cambios_numbers_keep_their_text_and_null_is_none() {
    let got = caso(
        Topic::CasosActualizados,
        json!({"caso_id": 1, "numero_caso": "CRV-2024-00000001",
               "fecha_actualizacion": "2024-01-15T11:00:00Z",
               "cambios": [{"campo": "x", "valor_nuevo": serde_json::from_str::<Value>("1.50").unwrap()}, {"campo": "y", "valor_nuevo": null},
                           {"campo": "z"}]}),
    );
    match got {
        CasoEvent::Actualizado { cambios, .. } => {
            let values: Vec<_> = cambios.iter().map(|c| c.valor_nuevo.as_deref()).collect();
            assert_eq!(values, [Some("1.50"), None, None]);
        }
        other => panic!("{other:?}"),
    }
}

fn creado() -> Value {
    json!({"caso_id": 1, "numero_caso": "CRV-2024-00000001", "ciudadano_id": 2,
           "categoria_id": 3, "dependencia_id": 4, "estado": "PENDIENTE",
           "fecha_creacion": "2024-01-15T10:30:00Z"})
}

#[test]
fn creado_without_prioridad() {
    match caso(Topic::CasosCreados, creado()) {
        CasoEvent::Creado { prioridad, .. } => assert_eq!(prioridad, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schema_violations_name_the_field() {
    let cases: Vec<(Topic, Value, RejectReason, &str)> = vec![
        (
            Topic::CasosCreados,
            json!({"numero_caso": "CRV-24-1"}),
            RejectReason::InvalidField,
            "field `datos.numero_caso` must match ^CRV-\\d{4}-\\d{8}$",
        ),
        (
            Topic::CasosCreados,
            json!({"estado": "ABIERTO"}),
            RejectReason::InvalidField,
            "`datos.estado`",
        ),
        (
            Topic::CasosCreados,
            json!({"prioridad": "CRITICA"}),
            RejectReason::InvalidField,
            "`datos.prioridad`",
        ),
        (
            Topic::CasosCreados,
            json!({"caso_id": 1.0}),
            RejectReason::InvalidField,
            "`datos.caso_id`",
        ),
        (
            Topic::CasosCreados,
            json!({"caso_id": "1"}),
            RejectReason::InvalidField,
            "`datos.caso_id`",
        ),
        (
            Topic::CasosCreados,
            json!({"fecha_creacion": "2024-01-15T10:30:00"}),
            RejectReason::InvalidField,
            "`datos.fecha_creacion`",
        ),
        (
            Topic::CasosCreados,
            json!({"ubicacion": {"lat": "x"}}),
            RejectReason::InvalidField,
            "`datos.ubicacion.lat`",
        ),
        (
            Topic::CasosCreados,
            json!({"ciudadano_id": null}),
            RejectReason::MissingField,
            "missing field `datos.ciudadano_id`",
        ),
    ];
    for (topic, patch, reason, detail) in cases {
        let mut datos = creado();
        for (k, v) in patch.as_object().unwrap() {
            datos[k] = v.clone();
        }
        let r = reject(topic, datos);
        assert_eq!(r.reason, reason, "{patch}: {r}");
        assert!(r.detail.contains(detail), "{patch}: {}", r.detail);
    }
}

#[test]
fn cerrado_ranges_and_enums() {
    let cerrado = |patch: Value| {
        let mut d = json!({"caso_id": 1, "numero_caso": "CRV-2024-00000001",
            "motivo_cierre": "RESUELTO", "estado_final": "CERRADO",
            "fecha_cierre": "2024-01-18T14:30:00Z"});
        for (k, v) in patch.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    for (patch, field) in [
        (
            json!({"satisfaccion_ciudadano": 6}),
            "datos.satisfaccion_ciudadano",
        ),
        (
            json!({"satisfaccion_ciudadano": 0}),
            "datos.satisfaccion_ciudadano",
        ),
        (json!({"motivo_cierre": "OTRO"}), "datos.motivo_cierre"),
        (json!({"estado_final": "ABIERTO"}), "datos.estado_final"),
        (
            json!({"tiempo_total_horas": "88"}),
            "datos.tiempo_total_horas",
        ),
    ] {
        let r = reject(Topic::CasosCerrados, cerrado(patch.clone()));
        assert_eq!(r.reason, RejectReason::InvalidField, "{patch}");
        assert!(r.detail.contains(&format!("`{field}`")), "{}", r.detail);
    }
    match caso(
        Topic::CasosCerrados,
        cerrado(json!({"tiempo_total_horas": 88.5})),
    ) {
        CasoEvent::Cerrado {
            tiempo_total_horas, ..
        } => {
            assert_eq!(tiempo_total_horas, Some(88_500_000))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn negative_cost_is_invalid() {
    let r = reject(
        Topic::NotificacionesEnviadas,
        json!({"notificacion_id": 1, "caso_id": 2, "tipo": "CIERRE", "canal": "EMAIL",
               "estado": "ENVIADO", "fecha_envio": "2024-01-15T10:35:30Z", "costo_estimado": -0.01}),
    );
    assert_eq!(r.reason, RejectReason::InvalidField);
    assert!(r.detail.contains("`datos.costo_estimado`"));
}
