//! Conecta360 citizen cases: `case_backlog`, `sla_compliance`, `open_case_sla` and the open
//! cases behind it.
//!
//! A case (by `caso_id`) exists once it has a `casos.creados`. Its attributes are the
//! latest (greatest `(timestamp, evento_id)`) of the events that set them:
//! - `estado`: `PENDIENTE` (creados), `estado_nuevo` (asignados), the `valor_nuevo` of the
//!   last `cambios` entry with `campo = "estado"` of an update (when that entry has a value),
//!   `CERRADO` (cerrados);
//! - `prioridad`: creados' (when present) and the last `campo = "prioridad"` entry of an
//!   update (when it has a value); `None` when nothing set it;
//! - `dependencia_id`: creados' and asignados'.

use std::collections::{BTreeMap, HashMap};

use pulso_events::model::MicroHours;
use pulso_events::money::saturate;
use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{
    due_at, CaseBacklog, OpenCase, OpenCaseSla, SlaCompliance, SlaStatus, DEFAULT_SLA_MICRO_HOURS,
};
use pulso_events::{Body, Cambio, CasoEvent, Event};

use crate::pick::{order, Earliest, EventOrder, Latest};

/// Closing data of a case's latest `casos.cerrados`.
#[derive(Clone, Copy)]
struct Closing {
    fecha_cierre: Micros,
    tiempo_total_horas: Option<MicroHours>,
    satisfaccion: Option<i64>,
}

/// Everything known about one case.
#[derive(Default)]
struct Case<'a> {
    /// The earliest creation: (numero_caso, fecha_creacion).
    creado: Earliest<EventOrder<'a>, (&'a str, Micros)>,
    estado: Latest<EventOrder<'a>, &'a str>,
    prioridad: Latest<EventOrder<'a>, &'a str>,
    dependencia: Latest<EventOrder<'a>, i64>,
    /// Time of the earliest `sla.violados`.
    violado: Earliest<EventOrder<'a>, Micros>,
    /// Time of the earliest `sla.cumplidos`.
    cumplido: Earliest<EventOrder<'a>, Micros>,
    /// The latest `casos.cerrados`.
    cerrado: Latest<EventOrder<'a>, Closing>,
}

/// An existing case, resolved.
struct Resolved<'a> {
    caso_id: i64,
    numero_caso: &'a str,
    fecha_creacion: Micros,
    estado: &'a str,
    prioridad: Option<&'a str>,
    dependencia_id: i64,
    /// `(violated, time of the earliest deciding event)`, when the case has an SLA outcome.
    sla_outcome: Option<(bool, Micros)>,
    cerrado: Option<Closing>,
}

/// The cases that exist and the departments' SLAs.
pub(crate) struct Cases<'a> {
    cases: Vec<Resolved<'a>>,
    /// Department -> its latest configured SLA.
    sla: HashMap<i64, MicroHours>,
}

/// The `valor_nuevo` of the last entry of `cambios` for `campo`, if that entry has one.
fn last_change<'a>(cambios: &'a [Cambio], campo: &str) -> Option<&'a str> {
    cambios
        .iter()
        .rev()
        .find(|c| c.campo == campo)
        .and_then(|c| c.valor_nuevo.as_deref())
}

impl<'a> Cases<'a> {
    /// Gathers every case and department SLA of the deduplicated events.
    pub(crate) fn build(winners: &'a [Event]) -> Cases<'a> {
        let mut all: HashMap<i64, Case<'a>> = HashMap::new();
        let mut sla: HashMap<i64, Latest<EventOrder<'a>, MicroHours>> = HashMap::new();
        for e in winners {
            let Body::Caso(c) = &e.body else { continue };
            let at = order(e);
            match c {
                CasoEvent::Creado {
                    caso_id,
                    numero_caso,
                    dependencia_id,
                    prioridad,
                    fecha_creacion,
                    ..
                } => {
                    let case = all.entry(*caso_id).or_default();
                    case.creado.offer(at, (numero_caso, *fecha_creacion));
                    case.estado.offer(at, "PENDIENTE");
                    if let Some(p) = prioridad {
                        case.prioridad.offer(at, p);
                    }
                    case.dependencia.offer(at, *dependencia_id);
                }
                CasoEvent::Asignado {
                    caso_id,
                    dependencia_id,
                    estado_nuevo,
                    ..
                } => {
                    let case = all.entry(*caso_id).or_default();
                    case.estado.offer(at, estado_nuevo);
                    case.dependencia.offer(at, *dependencia_id);
                }
                CasoEvent::Actualizado { caso_id, cambios } => {
                    let case = all.entry(*caso_id).or_default();
                    if let Some(estado) = last_change(cambios, "estado") {
                        case.estado.offer(at, estado);
                    }
                    if let Some(prioridad) = last_change(cambios, "prioridad") {
                        case.prioridad.offer(at, prioridad);
                    }
                }
                CasoEvent::Cerrado {
                    caso_id,
                    fecha_cierre,
                    tiempo_total_horas,
                    satisfaccion_ciudadano,
                    ..
                } => {
                    let case = all.entry(*caso_id).or_default();
                    case.estado.offer(at, "CERRADO");
                    let closing = Closing {
                        fecha_cierre: *fecha_cierre,
                        tiempo_total_horas: *tiempo_total_horas,
                        satisfaccion: *satisfaccion_ciudadano,
                    };
                    case.cerrado.offer(at, closing);
                }
                CasoEvent::SlaViolado { caso_id, .. } => {
                    all.entry(*caso_id)
                        .or_default()
                        .violado
                        .offer(at, e.timestamp);
                }
                CasoEvent::SlaCumplido { caso_id, .. } => {
                    all.entry(*caso_id)
                        .or_default()
                        .cumplido
                        .offer(at, e.timestamp);
                }
                CasoEvent::DependenciaConfigurada {
                    dependencia_id,
                    sla_horas: Some(hours),
                    ..
                } => sla.entry(*dependencia_id).or_default().offer(at, *hours),
                CasoEvent::DependenciaConfigurada {
                    sla_horas: None, ..
                }
                | CasoEvent::NotificacionEnviada { .. }
                | CasoEvent::CiudadanoRegistrado { .. } => {}
            }
        }

        let cases = all
            .into_iter()
            .filter_map(|(caso_id, case)| {
                let (numero_caso, fecha_creacion) = *case.creado.value()?;
                let sla_outcome = match (case.violado.value(), case.cumplido.value()) {
                    (Some(t), _) => Some((true, *t)),
                    (None, Some(t)) => Some((false, *t)),
                    (None, None) => None,
                };
                Some(Resolved {
                    caso_id,
                    numero_caso,
                    fecha_creacion,
                    // A creation always offers an estado and a dependencia.
                    estado: case.estado.value().copied().unwrap_or("PENDIENTE"),
                    prioridad: case.prioridad.value().copied(),
                    dependencia_id: case.dependencia.value().copied().unwrap_or_default(),
                    sla_outcome,
                    cerrado: case.cerrado.value().copied(),
                })
            })
            .collect();
        let sla = sla
            .into_iter()
            .filter_map(|(dep, latest)| Some((dep, *latest.value()?)))
            .collect();
        Cases { cases, sla }
    }

    /// `case_backlog`: cases per `(dependencia_id, estado)`.
    pub(crate) fn case_backlog(&self) -> Vec<CaseBacklog> {
        let mut rows: BTreeMap<(i64, &str), i64> = BTreeMap::new();
        for c in &self.cases {
            *rows.entry((c.dependencia_id, c.estado)).or_default() += 1;
        }
        rows.into_iter()
            .map(|((dependencia_id, estado), cases)| CaseBacklog {
                dependencia_id,
                estado: estado.to_string(),
                cases,
            })
            .collect()
    }

    /// `sla_compliance`: SLA outcomes by the day of the earliest deciding event, and closed
    /// cases (latest `casos.cerrados`) by the day of `fecha_cierre`, per the case's current
    /// `(dependencia_id, prioridad)`.
    pub(crate) fn sla_compliance(&self) -> Vec<SlaCompliance> {
        let mut rows: BTreeMap<(i64, Option<&str>, Micros), SlaCompliance> = BTreeMap::new();
        fn row<'r, 'a>(
            rows: &'r mut BTreeMap<(i64, Option<&'a str>, Micros), SlaCompliance>,
            c: &Resolved<'a>,
            day: Micros,
        ) -> &'r mut SlaCompliance {
            rows.entry((c.dependencia_id, c.prioridad, day))
                .or_insert_with(|| SlaCompliance {
                    dependencia_id: c.dependencia_id,
                    prioridad: c.prioridad.map(str::to_string),
                    day,
                    ..SlaCompliance::default()
                })
        }
        // Exact sums of hours, published saturated as the engine does.
        let mut hours_sums: BTreeMap<(i64, Option<&str>, Micros), i128> = BTreeMap::new();
        for c in &self.cases {
            if let Some((violated, at)) = c.sla_outcome {
                let r = row(&mut rows, c, Granularity::Day.floor(at));
                if violated {
                    r.violated += 1;
                } else {
                    r.met += 1;
                }
            }
            if let Some(closing) = c.cerrado {
                let day = Granularity::Day.floor(closing.fecha_cierre);
                let r = row(&mut rows, c, day);
                r.closed += 1;
                if let Some(hours) = closing.tiempo_total_horas {
                    *hours_sums
                        .entry((c.dependencia_id, c.prioridad, day))
                        .or_default() += i128::from(hours);
                    r.resolution_count += 1;
                }
                if let Some(s) = closing.satisfaccion {
                    r.satisfaction_sum += s;
                    r.satisfaction_count += 1;
                }
            }
        }
        for (key, sum) in hours_sums {
            if let Some(r) = rows.get_mut(&key) {
                r.resolution_micro_hours_sum = saturate(sum, "resolution_micro_hours_sum");
            }
        }
        rows.into_values().collect()
    }

    /// `open_case_sla` and its open cases, graded at `as_of`.
    pub(crate) fn open_case_sla(&self, as_of: Micros) -> (Vec<OpenCaseSla>, Vec<OpenCase>) {
        let mut open = Vec::new();
        let mut rows: BTreeMap<(i64, Option<&str>, SlaStatus), i64> = BTreeMap::new();
        for c in self.cases.iter().filter(|c| c.estado != "CERRADO") {
            let sla = self
                .sla
                .get(&c.dependencia_id)
                .copied()
                .unwrap_or(DEFAULT_SLA_MICRO_HOURS);
            let due = due_at(c.fecha_creacion, sla);
            let status = SlaStatus::at(as_of, due, sla);
            *rows
                .entry((c.dependencia_id, c.prioridad, status))
                .or_default() += 1;
            open.push(OpenCase {
                dependencia_id: c.dependencia_id,
                prioridad: c.prioridad.map(str::to_string),
                status,
                due_at: due,
                caso_id: c.caso_id,
                numero_caso: c.numero_caso.to_string(),
            });
        }
        let rows = rows
            .into_iter()
            .map(|((dependencia_id, prioridad, status), cases)| OpenCaseSla {
                dependencia_id,
                prioridad: prioridad.map(str::to_string),
                status,
                cases,
            })
            .collect();
        (rows, open)
    }
}
