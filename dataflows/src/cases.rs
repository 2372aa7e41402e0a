//! Conecta360 case views: `case_backlog`, `sla_compliance`, `open_case_sla` and the open-case
//! list. Each case is summarised from all its events (latest state, priority and department;
//! SLA outcome; closure), then counted per key; open cases are graded against `as_of` and
//! their department's latest SLA, so an SLA change re-grades the department's cases at once,
//! and a move of `as_of` re-grades the cases whose status it changes ([`crate::grading`]).

use differential_dataflow::collection::VecCollection;
use differential_dataflow::operators::CountTotal;
use pulso_events::registry::{View, ViewSelection};
use pulso_events::time::Granularity;
use pulso_events::views::{CaseBacklog, OpenCase, OpenCaseSla, SlaCompliance};
use pulso_events::{Body, CasoEvent, Event, Topic};
use serde::{Deserialize, Serialize};

use crate::aggregate::latest_by_key;
use crate::event_id::EventId;
use crate::grading::{grade_open_cases, GradedCases, OpenCaseFacts};
use crate::health;
use crate::intern::{Interner, Name};
use crate::pack::{Pack, Packer, Unpacker};
use crate::retention::{Retention, WindowHorizons};
use crate::summarise::{summarise_expiring, Expiry};
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::windows::sum_windows;
use crate::{Epoch, SharedEvent};

/// What one event says about a case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum CaseChange {
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
type CaseFact = (i64, EventId, CaseChange);

/// The state of one existing case.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct CaseSummary {
    dependencia_id: i64,
    estado: String,
    prioridad: Option<String>,
    numero_caso: String,
    fecha_creacion: i64,
    /// `(violated, day of the earliest deciding event)`.
    outcome: Option<(bool, i64)>,
    /// `(day of fecha_cierre, hours, satisfaction)` of the latest closure.
    closure: Option<(i64, Option<i64>, Option<i64>)>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum CaseOutput {
    Case(CaseSummary),
    Orphans(Topic, i64),
}

fn fact(event: &Event, names: &mut Interner) -> Option<(i64, CaseFact)> {
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

fn summarise(facts: &[(&CaseFact, isize)], output: &mut Vec<(CaseOutput, isize)>) {
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
                        numero_caso: numero_caso.clone(),
                        fecha_creacion: *fecha_creacion,
                        ..CaseSummary::default()
                    });
                }
                estado = Some("PENDIENTE");
                dependencia = Some(*dependencia_id);
                if p.is_some() {
                    prioridad = p.as_deref();
                }
            }
            CaseChange::Assigned {
                dependencia_id,
                estado: e,
            } => {
                dependencia = Some(*dependencia_id);
                estado = Some(&**e);
            }
            CaseChange::Updated {
                estado: e,
                prioridad: p,
            } => {
                if e.is_some() {
                    estado = e.as_deref();
                }
                if p.is_some() {
                    prioridad = p.as_deref();
                }
            }
            CaseChange::Closed {
                fecha_cierre,
                hours,
                satisfaction,
            } => {
                estado = Some("CERRADO");
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
    case.estado = estado.unwrap_or_default().to_string();
    case.prioridad = prioridad.map(str::to_string);
    case.dependencia_id = dependencia.unwrap_or_default();
    case.outcome = match (violated_at, met_at) {
        (Some(t), _) => Some((true, Granularity::Day.floor(t))),
        (None, Some(t)) => Some((false, Granularity::Day.floor(t))),
        (None, None) => None,
    };
    case.closure = closure;
    output.push((CaseOutput::Case(case), 1));
}

/// The case views selected (`None`: not built) and the orphan case events.
pub struct CaseViews<'s> {
    /// `case_backlog` rows.
    pub backlog: Option<VecCollection<'s, Epoch, CaseBacklog>>,
    /// `sla_compliance` rows.
    pub compliance: Option<VecCollection<'s, Epoch, SlaCompliance>>,
    /// `open_case_sla` rows.
    pub open_sla: Option<VecCollection<'s, Epoch, OpenCaseSla>>,
    /// The open cases, graded.
    pub open_cases: Option<VecCollection<'s, Epoch, OpenCase>>,
    /// Orphan contributions to `pipeline_health`.
    pub orphans: VecCollection<'s, Epoch, (Topic, Sums)>,
}

/// Whether the case of `facts` exists and is not `CERRADO`: it never expires.
fn is_open(facts: &[(&CaseFact, isize)]) -> bool {
    let mut outputs = Vec::new();
    summarise(facts, &mut outputs);
    outputs
        .iter()
        .any(|(output, _)| matches!(output, CaseOutput::Case(case) if case.estado != "CERRADO"))
}

/// Builds the case views `views` selects; `as_of` holds the one instant open cases are graded
/// at, and `end` the end of a bounded input ([`grade_open_cases`]). A closed case (or the
/// events of a case never created) whose latest event is earlier than `W(e) - entities` leaves
/// the state; open cases stay until they close.
pub fn case_views<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
    as_of: VecCollection<'s, Epoch, i64>,
    end: Option<VecCollection<'s, Epoch, ()>>,
    maxima: Maxima<'s>,
    retention: Retention,
    views: &ViewSelection,
) -> CaseViews<'s> {
    let mut names = Interner::default();
    let facts = events.clone().flat_map(move |event| {
        fact(&event, &mut names).map(|(id, fact)| {
            let at = fact.0;
            (id, (fact, at))
        })
    });
    let expiry = Expiry::after(maxima.clone(), retention.entities, is_open);
    let outputs = summarise_expiring("CaseSummary", facts, expiry, |_id, facts, output| {
        summarise(facts, output)
    });

    let orphans = outputs.clone().flat_map(|(_, output)| match output {
        CaseOutput::Orphans(topic, n) => Some(health::orphans(topic, n)),
        CaseOutput::Case(_) => None,
    });
    let cases = outputs.flat_map(|(caso_id, output)| match output {
        CaseOutput::Case(case) => Some((caso_id, case)),
        CaseOutput::Orphans(..) => None,
    });

    let backlog = views.contains(CaseBacklog::NAME).then(|| backlog(&cases));
    let compliance = views
        .contains(SlaCompliance::NAME)
        .then(|| compliance(&cases, maxima.clone(), retention.windows));
    // `open_case_sla` and the open cases are graded together.
    let (open_sla, open_cases) = if views.any(&[OpenCaseSla::NAME, OpenCase::NAME]) {
        let graded = graded(cases, events, as_of, end, maxima, retention);
        (
            views.contains(OpenCaseSla::NAME).then_some(graded.counts),
            views.contains(OpenCase::NAME).then_some(graded.cases),
        )
    } else {
        (None, None)
    };

    CaseViews {
        backlog,
        compliance,
        open_sla,
        open_cases,
        orphans,
    }
}

/// `case_backlog`: the cases per department and state.
fn backlog<'s>(
    cases: &VecCollection<'s, Epoch, (i64, CaseSummary)>,
) -> VecCollection<'s, Epoch, CaseBacklog> {
    cases
        .clone()
        .map(|(_, case)| (case.dependencia_id, case.estado))
        .count_total()
        .map(|((dependencia_id, estado), n)| CaseBacklog {
            dependencia_id,
            estado,
            cases: n as i64,
        })
}

/// `sla_compliance`: the SLA outcomes and closures per department, priority and day.
fn compliance<'s>(
    cases: &VecCollection<'s, Epoch, (i64, CaseSummary)>,
    maxima: Maxima<'s>,
    windows: WindowHorizons,
) -> VecCollection<'s, Epoch, SlaCompliance> {
    sum_windows(
        "SlaCompliance",
        cases.clone().explode(|(_, case)| {
            let mut out = Vec::new();
            if let Some((violated, day)) = case.outcome {
                let key = (case.dependencia_id, case.prioridad.clone(), day);
                out.push((
                    key,
                    Sums::<7>::of(&[i64::from(!violated), i64::from(violated)]),
                ));
            }
            if let Some((day, hours, satisfaction)) = case.closure {
                let key = (case.dependencia_id, case.prioridad.clone(), day);
                let totals = [
                    0,
                    0,
                    1,
                    hours.unwrap_or(0),
                    i64::from(hours.is_some()),
                    satisfaction.unwrap_or(0),
                    i64::from(satisfaction.is_some()),
                ];
                out.push((key, Sums::<7>::of(&totals)));
            }
            out
        }),
        |k| (Granularity::Day, k.2),
        maxima,
        windows,
    )
    .map(|((dependencia_id, prioridad, day), s)| SlaCompliance {
        dependencia_id,
        prioridad,
        day,
        met: s.count(0),
        violated: s.count(1),
        closed: s.count(2),
        resolution_micro_hours_sum: s.count(3),
        resolution_count: s.count(4),
        satisfaction_sum: s.count(5),
        satisfaction_count: s.count(6),
    })
}

/// The open cases graded against their department's latest SLA.
fn graded<'s>(
    cases: VecCollection<'s, Epoch, (i64, CaseSummary)>,
    events: VecCollection<'s, Epoch, SharedEvent>,
    as_of: VecCollection<'s, Epoch, i64>,
    end: Option<VecCollection<'s, Epoch, ()>>,
    maxima: Maxima<'s>,
    retention: Retention,
) -> GradedCases<'s> {
    let open = cases
        .filter(|(_, case)| case.estado != "CERRADO")
        .map(|(caso_id, case)| {
            let facts = OpenCaseFacts {
                caso_id,
                numero_caso: case.numero_caso,
                prioridad: case.prioridad,
                fecha_creacion: case.fecha_creacion,
            };
            (case.dependencia_id, facts)
        });
    let slas = latest_by_key(
        "DepartmentLatestSla",
        events.flat_map(|event| match &event.body {
            Body::Caso(CasoEvent::DependenciaConfigurada {
                dependencia_id,
                sla_horas: Some(sla),
                ..
            }) => Some((
                *dependencia_id,
                (
                    (event.timestamp, event.event_id.clone(), *sla),
                    event.timestamp,
                ),
            )),
            _ => None,
        }),
        maxima,
        retention.late_after,
    )
    .map(|(dependencia_id, (_, _, sla))| (dependencia_id, sla));
    grade_open_cases(open, slas, as_of, end)
}
