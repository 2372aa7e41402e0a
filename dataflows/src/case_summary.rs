//! What the case views know of one case: each case event becomes a [`CaseFact`], and a case's
//! facts, in event-time order, are summarised into its latest state, priority and department,
//! its SLA outcome and its closure ([`CaseSummary`]); the events of a case never created are
//! counted as orphans per topic.

use pulso_events::time::Granularity;
use pulso_events::{Body, CasoEvent, Event, Topic};
use serde::{Deserialize, Serialize};

use crate::event_id::EventId;
use crate::intern::{Interner, Name};
use crate::pack::{Pack, Packer, Unpacker};

/// What one event says about a case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum CaseChange {
    Created {
        numero_caso: String,
        dependencia_id: i64,
        prioridad: Option<Name>,
        fecha_creacion: i64,
    },
    Assigned {
        dependencia_id: i64,
        estado: Name,
    },
    Updated {
        estado: Option<Name>,
        prioridad: Option<Name>,
    },
    Closed {
        fecha_cierre: i64,
        hours: Option<i64>,
        satisfaction: Option<i64>,
    },
    Violated,
    Met,
}

impl CaseChange {
    fn topic(&self) -> Topic {
        match self {
            CaseChange::Created { .. } => Topic::CasosCreados,
            CaseChange::Assigned { .. } => Topic::CasosAsignados,
            CaseChange::Updated { .. } => Topic::CasosActualizados,
            CaseChange::Closed { .. } => Topic::CasosCerrados,
            CaseChange::Violated => Topic::SlaViolados,
            CaseChange::Met => Topic::SlaCumplidos,
        }
    }
}

impl Pack for CaseChange {
    fn pack(&self, out: &mut Packer<'_>) {
        match self {
            CaseChange::Created {
                numero_caso,
                dependencia_id,
                prioridad,
                fecha_creacion,
            } => {
                out.byte(0);
                numero_caso.pack(out);
                dependencia_id.pack(out);
                prioridad.pack(out);
                fecha_creacion.pack(out);
            }
            CaseChange::Assigned {
                dependencia_id,
                estado,
            } => {
                out.byte(1);
                dependencia_id.pack(out);
                estado.pack(out);
            }
            CaseChange::Updated { estado, prioridad } => {
                out.byte(2);
                estado.pack(out);
                prioridad.pack(out);
            }
            CaseChange::Closed {
                fecha_cierre,
                hours,
                satisfaction,
            } => {
                out.byte(3);
                fecha_cierre.pack(out);
                hours.pack(out);
                satisfaction.pack(out);
            }
            CaseChange::Violated => out.byte(4),
            CaseChange::Met => out.byte(5),
        }
    }

    fn unpack(input: &mut Unpacker<'_>) -> Self {
        match input.byte() {
            0 => {
                let (numero_caso, dependencia_id) = Pack::unpack(input);
                let (prioridad, fecha_creacion) = Pack::unpack(input);
                CaseChange::Created {
                    numero_caso,
                    dependencia_id,
                    prioridad,
                    fecha_creacion,
                }
            }
            1 => {
                let (dependencia_id, estado) = Pack::unpack(input);
                CaseChange::Assigned {
                    dependencia_id,
                    estado,
                }
            }
            2 => {
                let (estado, prioridad) = Pack::unpack(input);
                CaseChange::Updated { estado, prioridad }
            }
            3 => {
                let (fecha_cierre, hours, satisfaction) = Pack::unpack(input);
                CaseChange::Closed {
                    fecha_cierre,
                    hours,
                    satisfaction,
                }
            }
            4 => CaseChange::Violated,
            _ => CaseChange::Met,
        }
    }
}

/// `(timestamp, event_id, change)`: sorted, this is the case's history in event-time order.
pub(crate) type CaseFact = (i64, EventId, CaseChange);

/// The state of one existing case.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct CaseSummary {
    /// The department of the latest creation or assignment.
    pub(crate) dependencia_id: i64,
    /// The latest state.
    pub(crate) estado: Name,
    /// The latest priority given, if any.
    pub(crate) prioridad: Option<Name>,
    /// The earliest creation's case number.
    pub(crate) numero_caso: Name,
    /// The earliest creation's `fecha_creacion`.
    pub(crate) fecha_creacion: i64,
    /// `(violated, day of the earliest deciding event)`.
    pub(crate) outcome: Option<(bool, i64)>,
    /// `(day of fecha_cierre, hours, satisfaction)` of the latest closure.
    pub(crate) closure: Option<(i64, Option<i64>, Option<i64>)>,
}

/// The state of a closed case.
const CLOSED: &str = "CERRADO";

impl CaseSummary {
    /// Whether the case is still open (its latest state is not `CERRADO`).
    pub(crate) fn is_open(&self) -> bool {
        *self.estado != *CLOSED
    }
}

/// The states a case's facts give without naming them (`PENDIENTE` at creation, `CERRADO` at
/// closure), made once per operator: a summary shares its texts rather than copying them, as
/// each of the case views receives its own copy of every summary.
pub(crate) struct States {
    pending: Name,
    closed: Name,
}

impl Default for States {
    fn default() -> Self {
        States {
            pending: Name::from("PENDIENTE"),
            closed: Name::from(CLOSED),
        }
    }
}

/// What a case's facts come to: the case, or (never created) its events counted per topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum CaseOutput {
    Case(CaseSummary),
    Orphans(Topic, i64),
}

/// The case an event is about and what it says of it; `None` for other events.
pub(crate) fn fact(event: &Event, names: &mut Interner) -> Option<(i64, CaseFact)> {
    let Body::Caso(caso) = &event.body else {
        return None;
    };
    let change = match caso {
        CasoEvent::Creado {
            numero_caso,
            dependencia_id,
            prioridad,
            fecha_creacion,
            ..
        } => CaseChange::Created {
            numero_caso: numero_caso.clone(),
            dependencia_id: *dependencia_id,
            prioridad: prioridad.as_deref().map(|p| names.name(p)),
            fecha_creacion: *fecha_creacion,
        },
        CasoEvent::Asignado {
            dependencia_id,
            estado_nuevo,
            ..
        } => CaseChange::Assigned {
            dependencia_id: *dependencia_id,
            estado: names.name(estado_nuevo),
        },
        CasoEvent::Actualizado { cambios, .. } => {
            let mut last = |campo: &str| {
                cambios
                    .iter()
                    .rev()
                    .find(|c| c.campo == campo)
                    .and_then(|c| c.valor_nuevo.as_deref())
                    .map(|v| names.name(v))
            };
            CaseChange::Updated {
                estado: last("estado"),
                prioridad: last("prioridad"),
            }
        }
        CasoEvent::Cerrado {
            fecha_cierre,
            tiempo_total_horas,
            satisfaccion_ciudadano,
            ..
        } => CaseChange::Closed {
            fecha_cierre: *fecha_cierre,
            hours: *tiempo_total_horas,
            satisfaction: *satisfaccion_ciudadano,
        },
        CasoEvent::SlaViolado { .. } => CaseChange::Violated,
        CasoEvent::SlaCumplido { .. } => CaseChange::Met,
        _ => return None,
    };
    Some((
        caso.caso_id()?,
        (event.timestamp, EventId::new(&event.event_id), change),
    ))
}

/// Summarises one case's facts (sorted: its history in event-time order) into `output`.
pub(crate) fn summarise(
    facts: &[(&CaseFact, isize)],
    states: &States,
    output: &mut Vec<(CaseOutput, isize)>,
) {
    let mut case: Option<CaseSummary> = None;
    let (mut violated_at, mut met_at) = (None, None);
    let mut closure = None;
    let mut estado = None;
    let mut prioridad = None;
    let mut dependencia = None;
    for ((timestamp, _, change), _) in facts {
        match change {
            CaseChange::Created {
                numero_caso,
                dependencia_id,
                prioridad: p,
                fecha_creacion,
            } => {
                if case.is_none() {
                    case = Some(CaseSummary {
                        numero_caso: Name::from(numero_caso.as_str()),
                        fecha_creacion: *fecha_creacion,
                        ..CaseSummary::default()
                    });
                }
                estado = Some(&states.pending);
                dependencia = Some(*dependencia_id);
                if p.is_some() {
                    prioridad = p.as_ref();
                }
            }
            CaseChange::Assigned {
                dependencia_id,
                estado: e,
            } => {
                dependencia = Some(*dependencia_id);
                estado = Some(e);
            }
            CaseChange::Updated {
                estado: e,
                prioridad: p,
            } => {
                if e.is_some() {
                    estado = e.as_ref();
                }
                if p.is_some() {
                    prioridad = p.as_ref();
                }
            }
            CaseChange::Closed {
                fecha_cierre,
                hours,
                satisfaction,
            } => {
                estado = Some(&states.closed);
                closure = Some((Granularity::Day.floor(*fecha_cierre), *hours, *satisfaction));
            }
            CaseChange::Violated => {
                violated_at.get_or_insert(*timestamp);
            }
            CaseChange::Met => {
                met_at.get_or_insert(*timestamp);
            }
        }
    }
    let Some(mut case) = case else {
        let mut per_topic: Vec<(Topic, i64)> = Vec::new();
        for ((_, _, change), n) in facts {
            match per_topic.iter_mut().find(|(t, _)| *t == change.topic()) {
                Some((_, count)) => *count += *n as i64,
                None => per_topic.push((change.topic(), *n as i64)),
            }
        }
        output.extend(
            per_topic
                .into_iter()
                .map(|(t, n)| (CaseOutput::Orphans(t, n), 1)),
        );
        return;
    };
    case.estado = estado.cloned().unwrap_or_default();
    case.prioridad = prioridad.cloned();
    case.dependencia_id = dependencia.unwrap_or_default();
    case.outcome = match (violated_at, met_at) {
        (Some(t), _) => Some((true, Granularity::Day.floor(t))),
        (None, Some(t)) => Some((false, Granularity::Day.floor(t))),
        (None, None) => None,
    };
    case.closure = closure;
    output.push((CaseOutput::Case(case), 1));
}

/// Whether the case of `facts` exists and is not `CERRADO`: it never expires.
pub(crate) fn is_open(facts: &[(&CaseFact, isize)]) -> bool {
    let mut outputs = Vec::new();
    summarise(facts, &States::default(), &mut outputs);
    outputs
        .iter()
        .any(|(output, _)| matches!(output, CaseOutput::Case(case) if case.is_open()))
}
