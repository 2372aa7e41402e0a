//! The `datos` payload schemas of the Conecta360 topics (seed 004, AsyncAPI 2.6) as tables,
//! and their validation: required properties first, then each property's type, format, enum,
//! pattern and range.

use serde_json::Value;

use super::fields::{self, as_array, as_hours, as_int, as_int_in, as_money, as_str, as_time};
use super::fields::{Fields, Res};
use crate::reject::{RejectReason, Rejection};
use crate::topic::Topic;

/// The pattern of `numero_caso`.
pub(crate) const NUMERO_CASO_PATTERN: &str = "^CRV-\\d{4}-\\d{8}$";

/// What a property must hold.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// `type: integer`.
    Int,
    /// `type: integer` with `minimum`/`maximum`.
    IntIn(i64, i64),
    /// `type: string`.
    Str,
    /// `type: string` with an `enum`.
    Enum(&'static [&'static str]),
    /// `numero_caso`: a string matching [`NUMERO_CASO_PATTERN`].
    NumeroCaso,
    /// `type: string, format: date-time` (RFC 3339 with a zone).
    DateTime,
    /// `type: number`.
    Number,
    /// `type: number` held as exact micro-hours.
    Hours,
    /// `type: number` that is money (>= 0).
    Money,
    /// `type: object` with these properties.
    Object(&'static [Prop]),
    /// The `cambios` array of objects `{campo, valor_anterior, valor_nuevo}`.
    Cambios,
}

/// One property of a schema.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prop {
    /// The property name.
    pub(crate) name: &'static str,
    /// What it must hold.
    pub(crate) kind: Kind,
    /// Whether it is in the schema's `required` list.
    pub(crate) required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: false,
    }
}

/// `prioridad` of a case.
pub(crate) const PRIORIDADES: &[&str] = &["BAJA", "MEDIA", "ALTA", "URGENTE"];

const UBICACION: &[Prop] = &[
    opt("lat", Kind::Number),
    opt("lng", Kind::Number),
    opt("direccion", Kind::Str),
    opt("barrio", Kind::Str),
];

const CASO_CREADO: &[Prop] = &[
    req("caso_id", Kind::Int),
    req("numero_caso", Kind::NumeroCaso),
    req("ciudadano_id", Kind::Int),
    req("categoria_id", Kind::Int),
    req("dependencia_id", Kind::Int),
    opt("canal_atencion_id", Kind::Int),
    opt("titulo", Kind::Str),
    req("estado", Kind::Enum(&["PENDIENTE"])),
    opt("prioridad", Kind::Enum(PRIORIDADES)),
    req("fecha_creacion", Kind::DateTime),
    opt("ubicacion", Kind::Object(UBICACION)),
];

const CASO_ASIGNADO: &[Prop] = &[
    req("caso_id", Kind::Int),
    req("numero_caso", Kind::NumeroCaso),
    req("dependencia_id", Kind::Int),
    opt("dependencia_nombre", Kind::Str),
    opt("usuario_asignado_id", Kind::Int),
    opt("usuario_asignado_nombre", Kind::Str),
    req("fecha_asignacion", Kind::DateTime),
    opt("motivo_asignacion", Kind::Str),
    opt("estado_anterior", Kind::Str),
    req("estado_nuevo", Kind::Enum(&["ASIGNADO"])),
];

const CASO_ACTUALIZADO: &[Prop] = &[
    req("caso_id", Kind::Int),
    req("numero_caso", Kind::NumeroCaso),
    opt("cambios", Kind::Cambios),
    req("fecha_actualizacion", Kind::DateTime),
    opt("comentario", Kind::Str),
];

const CASO_CERRADO: &[Prop] = &[
    req("caso_id", Kind::Int),
    req("numero_caso", Kind::NumeroCaso),
    req(
        "motivo_cierre",
        Kind::Enum(&["RESUELTO", "CANCELADO", "DUPLICADO", "INVALIDO"]),
    ),
    req("estado_final", Kind::Enum(&["CERRADO"])),
    opt("fecha_resolucion", Kind::DateTime),
    req("fecha_cierre", Kind::DateTime),
    opt("tiempo_total_horas", Kind::Hours),
    opt("comentario_cierre", Kind::Str),
    opt("satisfaccion_ciudadano", Kind::IntIn(1, 5)),
];

/// `tipo` of a Conecta360 notification.
pub(crate) const TIPOS_NOTIFICACION: &[&str] =
    &["CREACION", "ASIGNACION", "ACTUALIZACION", "CIERRE"];

const NOTIFICACION_ENVIADA: &[Prop] = &[
    req("notificacion_id", Kind::Int),
    req("caso_id", Kind::Int),
    opt("numero_caso", Kind::NumeroCaso),
    req("tipo", Kind::Enum(TIPOS_NOTIFICACION)),
    req("canal", Kind::Enum(super::envelope_a::CHANNELS)),
    opt("destinatario", Kind::Str),
    req("estado", Kind::Enum(&["ENVIADO", "FALLIDO"])),
    req("fecha_envio", Kind::DateTime),
    opt("proveedor", Kind::Str),
    opt("costo_estimado", Kind::Money),
];

const SLA_VIOLADO: &[Prop] = &[
    req("sla_id", Kind::Int),
    req("caso_id", Kind::Int),
    req("numero_caso", Kind::NumeroCaso),
    opt("configuracion_sla_id", Kind::Int),
    req("tiempo_resolucion_horas", Kind::Int),
    req("tiempo_transcurrido_horas", Kind::Number),
    opt("fecha_vencimiento", Kind::DateTime),
    req("fecha_violacion", Kind::DateTime),
    opt("dependencia_id", Kind::Int),
    opt("prioridad", Kind::Str),
    opt("accion_requerida", Kind::Str),
];

const SLA_CUMPLIDO: &[Prop] = &[
    req("sla_id", Kind::Int),
    req("caso_id", Kind::Int),
    req("numero_caso", Kind::NumeroCaso),
    opt("configuracion_sla_id", Kind::Int),
    req("tiempo_resolucion_horas", Kind::Int),
    req("tiempo_real_horas", Kind::Number),
    req("fecha_resolucion", Kind::DateTime),
    opt("cumplimiento_porcentaje", Kind::Number),
];

/// `canal_registro` of a citizen.
pub(crate) const CANALES_REGISTRO: &[&str] = &["WEB", "MOVIL", "CALL_CENTER", "VENTANILLA"];

const CIUDADANO_REGISTRADO: &[Prop] = &[
    req("ciudadano_id", Kind::Int),
    req("documento_identidad", Kind::Str),
    opt("email", Kind::Str),
    req("fecha_registro", Kind::DateTime),
    opt("canal_registro", Kind::Enum(CANALES_REGISTRO)),
];

const DEPENDENCIA_CONFIGURADA: &[Prop] = &[
    req("dependencia_id", Kind::Int),
    req("codigo", Kind::Str),
    opt("cambios", Kind::Cambios),
    req("fecha_actualizacion", Kind::DateTime),
];

/// The `datos` schema of an envelope B topic (empty for envelope A topics).
pub(crate) fn datos_schema(topic: Topic) -> &'static [Prop] {
    match topic {
        Topic::CasosCreados => CASO_CREADO,
        Topic::CasosAsignados => CASO_ASIGNADO,
        Topic::CasosActualizados => CASO_ACTUALIZADO,
        Topic::CasosCerrados => CASO_CERRADO,
        Topic::NotificacionesEnviadas => NOTIFICACION_ENVIADA,
        Topic::SlaViolados => SLA_VIOLADO,
        Topic::SlaCumplidos => SLA_CUMPLIDO,
        Topic::CiudadanosRegistrados => CIUDADANO_REGISTRADO,
        Topic::DependenciasConfiguradas => DEPENDENCIA_CONFIGURADA,
        _ => &[],
    }
}

/// Validates an object against `props`: every required property present (`missing_field`),
/// then every present property well-typed (`invalid_field`), in schema order. Properties not
/// in the schema are ignored.
pub(crate) fn validate(f: &Fields<'_>, props: &[Prop]) -> Res<()> {
    for prop in props.iter().filter(|p| p.required) {
        f.require(&[prop.name])?;
    }
    for prop in props {
        let Some(value) = f.get(prop.name) else {
            continue;
        };
        let path = f.path(prop.name);
        match prop.kind {
            Kind::Int => as_int(value, &path).map(drop)?,
            Kind::IntIn(min, max) => as_int_in(value, &path, min, max).map(drop)?,
            Kind::Str => as_str(value, &path).map(drop)?,
            Kind::Enum(allowed) => fields::as_enum(value, &path, allowed).map(drop)?,
            Kind::NumeroCaso => as_numero_caso(value, &path).map(drop)?,
            Kind::DateTime => as_time(value, &path).map(drop)?,
            Kind::Number => fields::as_number_text(value, &path).map(drop)?,
            Kind::Hours => as_hours(value, &path).map(drop)?,
            Kind::Money => as_money(value, &path).map(drop)?,
            Kind::Object(inner) => {
                if let Some(nested) = f.opt_nested(prop.name)? {
                    validate(&nested, inner)?;
                }
            }
            Kind::Cambios => {
                let entries = as_array(value, &path)?;
                for entry in f.items(entries, prop.name)? {
                    validate_cambio(&entry)?;
                }
            }
        }
    }
    Ok(())
}

/// One `cambios` entry: `campo` (required string), `valor_anterior` and `valor_nuevo`
/// (string or number, `null` as absent).
fn validate_cambio(entry: &Fields<'_>) -> Res<()> {
    entry.string("campo")?;
    for name in ["valor_anterior", "valor_nuevo"] {
        entry.opt(name, as_scalar_text)?;
    }
    Ok(())
}

/// A string or number value as text (a number keeps its decimal text).
pub(crate) fn as_scalar_text(value: &Value, path: &str) -> Res<String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(fields::invalid(path, "a string or a number")),
    }
}

/// True for a case number matching `^CRV-\d{4}-\d{8}$` (ASCII digits).
pub(crate) fn is_numero_caso(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 17
        && b.starts_with(b"CRV-")
        && b[8] == b'-'
        && b[4..8].iter().chain(&b[9..]).all(u8::is_ascii_digit)
}

/// The value as a case number matching `^CRV-\d{4}-\d{8}$` (ASCII digits).
pub(crate) fn as_numero_caso<'v>(value: &'v Value, path: &str) -> Res<&'v str> {
    match value.as_str() {
        Some(text) if is_numero_caso(text) => Ok(text),
        _ => Err(Rejection::new(
            RejectReason::InvalidField,
            format!("field `{path}` must match {NUMERO_CASO_PATTERN}"),
        )),
    }
}
