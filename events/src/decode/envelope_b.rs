//! Envelope B (`EventoBase`, Conecta360 topics of seed 004): the envelope checks, then the
//! `datos` schema of the topic, then the typed [`CasoEvent`].

use serde_json::{Map, Value};

use super::fields::{self, as_bounded, non_negative_scaled, Fields, Res};
use super::schema_b::{as_scalar_text, datos_schema, validate};
use super::{as_version, check_version, DecodeOptions};
use crate::model::{Body, Cambio, CasoEvent, Event, MicroHours, Send};
use crate::reject::{RejectReason, Rejection};
use crate::topic::Topic;

/// The `campo` of a `dependencias.configuradas` change that sets the department's SLA.
pub(crate) const SLA_CAMPO: &str = "configuracion.sla_tiempo_resolucion_horas";

/// Decodes an envelope B record (the object `map`) of `topic`.
pub(super) fn decode(
    options: &DecodeOptions,
    topic: Topic,
    map: &Map<String, Value>,
) -> Res<Event> {
    check_version(map, "evento_version")?;
    if let Some(tipo) = map.get("evento_tipo").and_then(Value::as_str) {
        if tipo != topic.name() {
            return Err(Rejection::new(
                RejectReason::TopicMismatch,
                format!(
                    "field `evento_tipo` is {:?}, but the record is on topic {topic}",
                    super::shorten(tipo)
                ),
            ));
        }
    }
    let f = Fields::root(map);
    f.require(&[
        "evento_id",
        "evento_tipo",
        "evento_version",
        "timestamp",
        "origen",
        "datos",
    ])?;
    let evento_id = f.req("evento_id", |v, p| as_bounded(v, p, 1, 128))?;
    f.string("evento_tipo")?;
    f.req("evento_version", as_version)?;
    let timestamp = f.time("timestamp")?;
    f.string("origen")?;
    let datos = f.nested("datos")?;
    f.opt_nested("metadata")?;
    validate(&datos, datos_schema(topic))?;
    Ok(Event {
        timestamp,
        topic,
        event_id: evento_id.to_string(),
        dedup_key: evento_id.to_string(),
        tenant_id: options.conecta360_tenant.to_string(),
        body: Body::Caso(caso(topic, &datos)?),
    })
}

/// The typed event of validated `datos` of `topic`.
fn caso(topic: Topic, d: &Fields<'_>) -> Res<CasoEvent> {
    let text = |name: &str| d.string(name).map(str::to_string);
    Ok(match topic {
        Topic::CasosCreados => CasoEvent::Creado {
            caso_id: d.int("caso_id")?,
            numero_caso: text("numero_caso")?,
            ciudadano_id: d.int("ciudadano_id")?,
            categoria_id: d.int("categoria_id")?,
            dependencia_id: d.int("dependencia_id")?,
            prioridad: d.opt_string("prioridad")?.map(str::to_string),
            fecha_creacion: d.time("fecha_creacion")?,
        },
        Topic::CasosAsignados => CasoEvent::Asignado {
            caso_id: d.int("caso_id")?,
            dependencia_id: d.int("dependencia_id")?,
            estado_nuevo: text("estado_nuevo")?,
            fecha_asignacion: d.time("fecha_asignacion")?,
        },
        Topic::CasosActualizados => CasoEvent::Actualizado {
            caso_id: d.int("caso_id")?,
            cambios: cambios(d)?,
        },
        Topic::CasosCerrados => CasoEvent::Cerrado {
            caso_id: d.int("caso_id")?,
            motivo_cierre: text("motivo_cierre")?,
            fecha_cierre: d.time("fecha_cierre")?,
            tiempo_total_horas: d.opt("tiempo_total_horas", fields::as_hours)?,
            satisfaccion_ciudadano: d.opt_int("satisfaccion_ciudadano")?,
        },
        Topic::NotificacionesEnviadas => {
            let caso_id = d.int("caso_id")?;
            CasoEvent::NotificacionEnviada {
                send: Send {
                    notification_id: format!("c360-{}", d.int("notificacion_id")?),
                    channel: super::envelope_a::channel(d.string("canal")?),
                    provider: d.opt_string("proveedor")?.unwrap_or("unknown").to_string(),
                    category: "TRANSACTIONAL".to_string(),
                    preferred_channel: None,
                    cost: d.opt_money("costo_estimado")?,
                    order_id: None,
                    caso_id: Some(caso_id),
                    template: None,
                },
                failed: d.string("estado")? == "FALLIDO",
                tipo: text("tipo")?,
            }
        }
        Topic::SlaViolados => CasoEvent::SlaViolado {
            sla_id: d.int("sla_id")?,
            caso_id: d.int("caso_id")?,
        },
        Topic::SlaCumplidos => CasoEvent::SlaCumplido {
            sla_id: d.int("sla_id")?,
            caso_id: d.int("caso_id")?,
        },
        Topic::CiudadanosRegistrados => CasoEvent::CiudadanoRegistrado {
            ciudadano_id: d.int("ciudadano_id")?,
            canal_registro: d.opt_string("canal_registro")?.map(str::to_string),
        },
        _ => CasoEvent::DependenciaConfigurada {
            dependencia_id: d.int("dependencia_id")?,
            codigo: text("codigo")?,
            sla_horas: sla_horas(d)?,
        },
    })
}

/// The `cambios` entries in message order (absent is empty).
fn cambios(d: &Fields<'_>) -> Res<Vec<Cambio>> {
    let Some(entries) = d.opt_array("cambios")? else {
        return Ok(Vec::new());
    };
    d.items(entries, "cambios")?
        .iter()
        .map(|entry| {
            Ok(Cambio {
                campo: entry.string("campo")?.to_string(),
                valor_nuevo: entry.opt("valor_nuevo", as_scalar_text)?,
            })
        })
        .collect()
}

/// The SLA hours set by the last `cambios` entry for [`SLA_CAMPO`], in micro-hours; its
/// `valor_nuevo` must be a number >= 0 or a string holding one.
fn sla_horas(d: &Fields<'_>) -> Res<Option<MicroHours>> {
    let Some(entries) = d.opt_array("cambios")? else {
        return Ok(None);
    };
    let mut hours = None;
    for entry in d.items(entries, "cambios")? {
        if entry.string("campo")? != SLA_CAMPO {
            continue;
        }
        let path = entry.path("valor_nuevo");
        let text = match entry.get("valor_nuevo") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let value = non_negative_scaled(&text, 6).ok_or_else(|| {
            fields::invalid(&path, "a number of hours >= 0 (or a string holding one)")
        })?;
        hours = Some(value);
    }
    Ok(hours)
}
