//! Conecta360 case views: `case_backlog`, `sla_compliance`, `open_case_sla` and the open-case
//! list. Each case is summarised from all its events ([`crate::case_summary`]: latest state,
//! priority and department; SLA outcome; closure), then counted per key; open cases are graded
//! against `as_of` and their department's latest SLA, so an SLA change re-grades the
//! department's cases at once, and a move of `as_of` re-grades the cases whose status it
//! changes ([`crate::grading`]).

use differential_dataflow::collection::VecCollection;
use differential_dataflow::operators::CountTotal;
use pulso_events::registry::{View, ViewSelection};
use pulso_events::time::Granularity;
use pulso_events::views::{CaseBacklog, OpenCase, OpenCaseSla, SlaCompliance};
use pulso_events::{Body, CasoEvent, Topic};

use crate::aggregate::latest_by_key;
use crate::case_summary::{fact, is_open, summarise, CaseOutput, CaseSummary, States};
use crate::grading::{grade_open_cases, GradedCases, OpenCaseFacts};
use crate::health;
use crate::intern::Interner;
use crate::retention::{Retention, WindowHorizons};
use crate::summarise::{summarise_expiring, Expiry};
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::windows::sum_windows;
use crate::{Epoch, SharedEvent};

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
    let states = States::default();
    let outputs = summarise_expiring("CaseSummary", facts, expiry, move |_id, facts, output| {
        summarise(facts, &states, output)
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
            estado: (*estado).to_owned(),
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
        prioridad: prioridad.map(|p| (*p).to_owned()),
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
        .filter(|(_, case)| case.is_open())
        .map(|(caso_id, case)| {
            let facts = OpenCaseFacts {
                caso_id,
                numero_caso: (*case.numero_caso).to_owned(),
                prioridad: case.prioridad.map(|p| (*p).to_owned()),
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
