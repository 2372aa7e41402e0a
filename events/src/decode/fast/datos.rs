//! The `datos` of envelope B records for the fast path: one borrowing struct per topic of
//! the properties of its schema (strings read once as borrowed text, other values raw),
//! looked up by name like the schema tables of `schema_b`.

use std::borrow::Cow;

use serde::Deserialize;

use super::raw::{string, Json, Raw, RawObj, Text};

/// A property value: a JSON string read as text, or any value raw.
#[derive(Clone, Copy)]
pub(super) enum Val<'v, 'a> {
    /// A JSON string.
    Text(&'v Text<'a>),
    /// Any JSON value.
    Raw(Raw<'a>),
}

impl<'v> Json<'v> for Val<'v, '_> {
    fn text(self) -> Option<Cow<'v, str>> {
        match self {
            Val::Text(text) => text.text(),
            Val::Raw(raw) => string(raw),
        }
    }
}

impl<'a> Val<'_, 'a> {
    /// The raw value; `None` for a [`Val::Text`] (a JSON string, which no kind but the string
    /// kinds accepts).
    pub(super) fn raw(self) -> Option<Raw<'a>> {
        match self {
            Val::Text(_) => None,
            Val::Raw(raw) => Some(raw),
        }
    }
}

/// An object whose properties can be looked up by name.
pub(super) trait Props<'a> {
    /// The value of property `name` (`null` counts as absent); `None` for names not read.
    fn prop(&self, name: &str) -> Option<Val<'_, 'a>>;
}

impl<'a> Props<'a> for RawObj<'a> {
    fn prop(&self, name: &str) -> Option<Val<'_, 'a>> {
        self.get(name).map(Val::Raw)
    }
}

/// A field of a `datos` struct as a [`Val`].
trait AsVal<'a> {
    /// The value, `None` when absent or `null`.
    fn val(&self) -> Option<Val<'_, 'a>>;
}

impl<'a> AsVal<'a> for Option<Text<'a>> {
    fn val(&self) -> Option<Val<'_, 'a>> {
        self.as_ref().map(Val::Text)
    }
}

impl<'a> AsVal<'a> for Option<Raw<'a>> {
    fn val(&self) -> Option<Val<'_, 'a>> {
        self.map(Val::Raw)
    }
}

/// Declares the `datos` struct of one topic, with [`Props`] by field name.
macro_rules! datos {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ident,)* }) => {
        $(#[$doc])*
        #[derive(Deserialize)]
        pub(super) struct $name<'a> {
            $(
                #[serde(borrow)]
                $field: Option<$ty<'a>>,
            )*
        }

        impl<'a> Props<'a> for $name<'a> {
            fn prop(&self, name: &str) -> Option<Val<'_, 'a>> {
                match name {
                    $(stringify!($field) => self.$field.val(),)*
                    _ => None,
                }
            }
        }
    };
}

datos! {
    /// The `datos` of `caso_creado`.
    CasoCreado {
        caso_id: Raw,
        numero_caso: Text,
        ciudadano_id: Raw,
        categoria_id: Raw,
        dependencia_id: Raw,
        canal_atencion_id: Raw,
        titulo: Text,
        estado: Text,
        prioridad: Text,
        fecha_creacion: Text,
        ubicacion: Raw,
    }
}

datos! {
    /// The `datos` of `caso_asignado`.
    CasoAsignado {
        caso_id: Raw,
        numero_caso: Text,
        dependencia_id: Raw,
        dependencia_nombre: Text,
        usuario_asignado_id: Raw,
        usuario_asignado_nombre: Text,
        fecha_asignacion: Text,
        motivo_asignacion: Text,
        estado_anterior: Text,
        estado_nuevo: Text,
    }
}

datos! {
    /// The `datos` of `caso_actualizado`.
    CasoActualizado {
        caso_id: Raw,
        numero_caso: Text,
        cambios: Raw,
        fecha_actualizacion: Text,
        comentario: Text,
    }
}

datos! {
    /// The `datos` of `caso_cerrado`.
    CasoCerrado {
        caso_id: Raw,
        numero_caso: Text,
        motivo_cierre: Text,
        estado_final: Text,
        fecha_resolucion: Text,
        fecha_cierre: Text,
        tiempo_total_horas: Raw,
        comentario_cierre: Text,
        satisfaccion_ciudadano: Raw,
    }
}

datos! {
    /// The `datos` of `notificacion_enviada`.
    NotificacionEnviada {
        notificacion_id: Raw,
        caso_id: Raw,
        numero_caso: Text,
        tipo: Text,
        canal: Text,
        destinatario: Text,
        estado: Text,
        fecha_envio: Text,
        proveedor: Text,
        costo_estimado: Raw,
    }
}

datos! {
    /// The `datos` of `sla_violado`.
    SlaViolado {
        sla_id: Raw,
        caso_id: Raw,
        numero_caso: Text,
        configuracion_sla_id: Raw,
        tiempo_resolucion_horas: Raw,
        tiempo_transcurrido_horas: Raw,
        fecha_vencimiento: Text,
        fecha_violacion: Text,
        dependencia_id: Raw,
        prioridad: Text,
        accion_requerida: Text,
    }
}

datos! {
    /// The `datos` of `sla_cumplido`.
    SlaCumplido {
        sla_id: Raw,
        caso_id: Raw,
        numero_caso: Text,
        configuracion_sla_id: Raw,
        tiempo_resolucion_horas: Raw,
        tiempo_real_horas: Raw,
        fecha_resolucion: Text,
        cumplimiento_porcentaje: Raw,
    }
}

datos! {
    /// The `datos` of `ciudadano_registrado`.
    CiudadanoRegistrado {
        ciudadano_id: Raw,
        documento_identidad: Text,
        email: Text,
        fecha_registro: Text,
        canal_registro: Text,
    }
}

datos! {
    /// The `datos` of `dependencia_configurada`.
    DependenciaConfigurada {
        dependencia_id: Raw,
        codigo: Text,
        cambios: Raw,
        fecha_actualizacion: Text,
    }
}
