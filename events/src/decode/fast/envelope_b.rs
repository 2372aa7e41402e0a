//! Fast path of envelope B (`EventoBase`, the Conecta360 topics): a borrowing struct of the
//! envelope with the `datos` struct of the topic, validated against the same schema tables as
//! the reference decoder (`schema_b`), then the typed [`CasoEvent`].

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::datos::{
    CasoActualizado, CasoAsignado, CasoCerrado, CasoCreado, CiudadanoRegistrado,
    DependenciaConfigurada, NotificacionEnviada, Props, SlaCumplido, SlaViolado,
};
use super::raw::{
    bounded, hours, int, int_in, is_number, is_object, money, one_of, opt, scalar_text, string,
    text, time, version_1, Json, Obj, RawObj, Text,
};
use crate::decode::envelope_a::channel;
use crate::decode::envelope_b::SLA_CAMPO;
use crate::decode::fields::non_negative_scaled;
use crate::decode::schema_b::{datos_schema, is_numero_caso, Kind, Prop};
use crate::decode::DecodeOptions;
use crate::model::{Body, Cambio, CasoEvent, Event, MicroHours, Send};
use crate::topic::Topic;

/// The envelope fields of an envelope B record with the `datos` struct `D`; others are
/// ignored.
#[derive(Deserialize)]
struct Record<'a, D> {
    #[serde(borrow)]
    evento_id: Option<Text<'a>>,
    #[serde(borrow)]
    evento_tipo: Option<Text<'a>>,
    #[serde(borrow)]
    evento_version: Option<Text<'a>>,
    #[serde(borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    origen: Option<Text<'a>>,
    datos: Option<Obj<D>>,
    #[serde(rename = "metadata")]
    _metadata: Option<Obj<IgnoredAny>>,
}

/// The event of a valid envelope B record of `topic`, else `None`.
pub(super) fn decode(options: &DecodeOptions, topic: Topic, json: &str) -> Option<Event> {
    match topic {
        Topic::CasosCreados => decode_as::<CasoCreado<'_>>(options, topic, json),
        Topic::CasosAsignados => decode_as::<CasoAsignado<'_>>(options, topic, json),
        Topic::CasosActualizados => decode_as::<CasoActualizado<'_>>(options, topic, json),
        Topic::CasosCerrados => decode_as::<CasoCerrado<'_>>(options, topic, json),
        Topic::NotificacionesEnviadas => decode_as::<NotificacionEnviada<'_>>(options, topic, json),
        Topic::SlaViolados => decode_as::<SlaViolado<'_>>(options, topic, json),
        Topic::SlaCumplidos => decode_as::<SlaCumplido<'_>>(options, topic, json),
        Topic::CiudadanosRegistrados => decode_as::<CiudadanoRegistrado<'_>>(options, topic, json),
        Topic::DependenciasConfiguradas => {
            decode_as::<DependenciaConfigurada<'_>>(options, topic, json)
        }
        _ => None,
    }
}

/// [`decode`] with the `datos` struct `D` of `topic`.
fn decode_as<'a, D>(options: &DecodeOptions, topic: Topic, json: &'a str) -> Option<Event>
where
    D: Props<'a> + Deserialize<'a>,
{
    let Obj(r) = serde_json::from_str::<Obj<Record<'a, D>>>(json).ok()?;
    version_1(r.evento_version.as_ref()?)?;
    if text(r.evento_tipo.as_ref()?)? != topic.name() {
        return None;
    }
    let evento_id = bounded(r.evento_id.as_ref()?, 1, 128)?;
    let timestamp = time(r.timestamp.as_ref()?)?;
    text(r.origen.as_ref()?)?;
    let Obj(datos) = r.datos.as_ref()?;
    let cambios = validate(datos, datos_schema(topic))?;
    let evento_id = evento_id.into_owned();
    Some(Event {
        timestamp,
        topic,
        dedup_key: evento_id.clone(),
        event_id: evento_id,
        tenant_id: options.conecta360_tenant.to_string(),
        body: Body::Caso(caso(topic, datos, cambios)?),
    })
}

/// Checks `object` against `props` like `schema_b::validate`; returns the parsed `cambios`
/// entries when the schema has them (empty when absent).
fn validate<'a>(object: &impl Props<'a>, props: &[Prop]) -> Option<Vec<RawObj<'a>>> {
    let mut cambios = Vec::new();
    for prop in props {
        let Some(v) = object.prop(prop.name) else {
            if prop.required {
                return None;
            }
            continue;
        };
        let ok = match prop.kind {
            Kind::Int => v.raw().and_then(int).is_some(),
            Kind::IntIn(min, max) => v.raw().and_then(|r| int_in(r, min, max)).is_some(),
            Kind::Str => v.text().is_some(),
            Kind::Enum(allowed) => one_of(v, allowed).is_some(),
            Kind::NumeroCaso => v.text().is_some_and(|t| is_numero_caso(&t)),
            Kind::DateTime => time(v).is_some(),
            Kind::Number => v.raw().is_some_and(is_number),
            Kind::Hours => v.raw().and_then(hours).is_some(),
            Kind::Money => v.raw().and_then(money).is_some(),
            Kind::Object(inner) => {
                let raw = v.raw()?;
                is_object(raw) && {
                    let nested = serde_json::from_str::<RawObj<'_>>(raw.get()).ok()?;
                    validate(&nested, inner).is_some()
                }
            }
            Kind::Cambios => {
                cambios = serde_json::from_str::<Vec<RawObj<'a>>>(v.raw()?.get()).ok()?;
                cambios.iter().all(valid_cambio)
            }
        };
        if !ok {
            return None;
        }
    }
    Some(cambios)
}

/// A `cambios` entry: `campo` a string, `valor_anterior`/`valor_nuevo` strings or numbers.
fn valid_cambio(entry: &RawObj<'_>) -> bool {
    entry.get("campo").and_then(string).is_some()
        && ["valor_anterior", "valor_nuevo"]
            .iter()
            .all(|name| opt(entry.get(name), scalar_text).is_some())
}

/// The typed event of validated `datos` of `topic`.
fn caso<'a>(topic: Topic, d: &impl Props<'a>, cambios: Vec<RawObj<'_>>) -> Option<CasoEvent> {
    let int_of = |name: &str| int(d.prop(name)?.raw()?);
    let text = |name: &str| Some(d.prop(name)?.text()?.into_owned());
    let opt_text = |name: &str| opt(d.prop(name), |v| v.text().map(|s| s.into_owned()));
    Some(match topic {
        Topic::CasosCreados => CasoEvent::Creado {
            caso_id: int_of("caso_id")?,
            numero_caso: text("numero_caso")?,
            ciudadano_id: int_of("ciudadano_id")?,
            categoria_id: int_of("categoria_id")?,
            dependencia_id: int_of("dependencia_id")?,
            prioridad: opt_text("prioridad")?,
            fecha_creacion: time(d.prop("fecha_creacion")?)?,
        },
        Topic::CasosAsignados => CasoEvent::Asignado {
            caso_id: int_of("caso_id")?,
            dependencia_id: int_of("dependencia_id")?,
            estado_nuevo: text("estado_nuevo")?,
            fecha_asignacion: time(d.prop("fecha_asignacion")?)?,
        },
        Topic::CasosActualizados => CasoEvent::Actualizado {
            caso_id: int_of("caso_id")?,
            cambios: cambios
                .iter()
                .map(|entry| {
                    Some(Cambio {
                        campo: string(entry.get("campo")?)?.into_owned(),
                        valor_nuevo: opt(entry.get("valor_nuevo"), scalar_text)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        },
        Topic::CasosCerrados => CasoEvent::Cerrado {
            caso_id: int_of("caso_id")?,
            motivo_cierre: text("motivo_cierre")?,
            fecha_cierre: time(d.prop("fecha_cierre")?)?,
            tiempo_total_horas: opt(d.prop("tiempo_total_horas"), |v| hours(v.raw()?))?,
            satisfaccion_ciudadano: opt(d.prop("satisfaccion_ciudadano"), |v| int(v.raw()?))?,
        },
        Topic::NotificacionesEnviadas => CasoEvent::NotificacionEnviada {
            send: Send {
                notification_id: format!("c360-{}", int_of("notificacion_id")?),
                channel: channel(&d.prop("canal")?.text()?),
                provider: opt_text("proveedor")?.unwrap_or_else(|| "unknown".to_string()),
                category: "TRANSACTIONAL".to_string(),
                preferred_channel: None,
                cost: opt(d.prop("costo_estimado"), |v| money(v.raw()?))?,
                order_id: None,
                caso_id: Some(int_of("caso_id")?),
                template: None,
            },
            failed: d.prop("estado")?.text()? == "FALLIDO",
            tipo: text("tipo")?,
        },
        Topic::SlaViolados => CasoEvent::SlaViolado {
            sla_id: int_of("sla_id")?,
            caso_id: int_of("caso_id")?,
        },
        Topic::SlaCumplidos => CasoEvent::SlaCumplido {
            sla_id: int_of("sla_id")?,
            caso_id: int_of("caso_id")?,
        },
        Topic::CiudadanosRegistrados => CasoEvent::CiudadanoRegistrado {
            ciudadano_id: int_of("ciudadano_id")?,
            canal_registro: opt_text("canal_registro")?,
        },
        Topic::DependenciasConfiguradas => CasoEvent::DependenciaConfigurada {
            dependencia_id: int_of("dependencia_id")?,
            codigo: text("codigo")?,
            sla_horas: sla_horas(d, &cambios)?,
        },
        _ => return None,
    })
}

/// The SLA hours set by the last `cambios` entry for [`SLA_CAMPO`] (a number >= 0 or a
/// string holding one), in micro-hours; `Some(None)` when no entry sets them.
fn sla_horas<'a>(d: &impl Props<'a>, cambios: &[RawObj<'_>]) -> Option<Option<MicroHours>> {
    if d.prop("cambios").is_none() {
        return Some(None);
    }
    let mut hours = None;
    for entry in cambios {
        if string(entry.get("campo")?)? != SLA_CAMPO {
            continue;
        }
        let text = scalar_text(entry.get("valor_nuevo")?)?;
        hours = Some(non_negative_scaled(&text, 6)?);
    }
    Some(hours)
}
