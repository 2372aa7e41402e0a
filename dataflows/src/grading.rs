//! Grading open cases against their department's SLA and `as_of`, and counting them per
//! `(department, priority, status)`, in one operator that holds each department's open cases
//! and SLA.
//!
//! A case's `due_at` is `fecha_creacion + sla`, so a department's SLA change moves every one
//! of its open cases: the operator re-grades them from the cases it holds, where a join of
//! every open case with the department's SLA would first re-emit each case to be graded.
//!
//! A case's status is a step function of `as_of`: whether `as_of` has reached its AT_RISK
//! point (`due_at - 0.2 * sla`) and whether it has passed `due_at` (VIEWS.md). When `as_of`
//! moves from `a` to `b`, a case changes status only if one of its two points lies between
//! them. Both points are `fecha_creacion` plus an offset fixed by the SLA, so the cases
//! whose points lie in `(a, b]` are a range of the department's cases ordered by creation:
//! O(cases that change) per move, not O(open cases).
//!
//! `open_case_sla` is counted here too, from the graded rows the operator emits, so the
//! department's re-graded cases are not counted again downstream.
//!
//! A bounded run (a replay) needs only the final `open_cases`: given the end of its input, the
//! operator withholds the graded rows (still counting them every epoch) and emits each open
//! case once, graded, in the epoch that marks the end. Every SLA change re-grades its
//! department's open cases, so a replay that emitted them every epoch would ship a number of
//! rows that grows with epochs × open cases (30M of a 10M-record replay's 48M view changes).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::ops::Bound;

use crate::consolidation::consolidate;
use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::hashable::Hashable;
use hashbrown::HashMap;
use pulso_events::time::Micros;
use pulso_events::views::{due_at, OpenCase, OpenCaseSla, SlaStatus, DEFAULT_SLA_MICRO_HOURS};
use pulso_events::MicroHours;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::core::OkErr;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, InputCapability};

use crate::Epoch;

/// What grading needs of an open case besides its department.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpenCaseFacts {
    /// The case.
    pub caso_id: i64,
    /// `CRV-YYYY-NNNNNNNN`.
    pub numero_caso: String,
    /// Current priority.
    pub prioridad: Option<String>,
    /// When the case was created.
    pub fecha_creacion: Micros,
}

/// A change of what the cases are graded at, as the operator reads it: an `as_of` value, or
/// the end of a bounded input.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Clock {
    AsOf(Micros),
    End,
}

/// A change to one department, as the operator reads it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum DepartmentChange {
    Case(OpenCaseFacts),
    Sla(MicroHours),
}

/// A [`DepartmentChange`] with its case in the form the operator holds it.
enum HeldChange {
    Case(HeldCase),
    Sla(MicroHours),
}

/// The operator's two outputs, split after it.
enum Graded {
    Case(OpenCase),
    Count(OpenCaseSla),
}

/// The graded open cases and their counts.
pub struct GradedCases<'s> {
    /// `open_cases`: every open case graded at every `as_of` value.
    pub cases: VecCollection<'s, Epoch, OpenCase>,
    /// `open_case_sla`: the graded cases counted per department, priority and status.
    pub counts: VecCollection<'s, Epoch, OpenCaseSla>,
}

/// A case as the operator holds it: ordered by creation first, so the cases whose step
/// points fall in a range of `as_of` are a range of the map.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct HeldCase {
    fecha_creacion: Micros,
    caso_id: i64,
    numero_caso: String,
    /// Index into the operator's priority names.
    prioridad: u32,
}

impl HeldCase {
    /// The least case created at `fecha_creacion`, to bound a range.
    fn first_at(fecha_creacion: Micros) -> HeldCase {
        HeldCase {
            fecha_creacion,
            caso_id: i64::MIN,
            numero_caso: String::new(),
            prioridad: 0,
        }
    }
}

/// The SLA of a department that never configured one.
const DEFAULT_SLAS: [(MicroHours, isize); 1] = [(DEFAULT_SLA_MICRO_HOURS, 1)];

/// One department's open cases (with multiplicities) and SLA values.
#[derive(Default)]
struct Department {
    cases: BTreeMap<HeldCase, isize>,
    slas: Vec<(MicroHours, isize)>,
}

impl Department {
    /// The SLA values its cases are graded by: its own, or the default if it has none.
    fn graded_by(&self) -> &[(MicroHours, isize)] {
        if self.slas.is_empty() {
            &DEFAULT_SLAS
        } else {
            &self.slas
        }
    }

    /// The cases whose status under `sla` may differ between `as_of` values `low < high`:
    /// those with a step point in `(low, high]`, and those whose `due_at` saturates.
    fn stepping_between(
        &self,
        sla: MicroHours,
        low: Micros,
        high: Micros,
    ) -> Vec<(&HeldCase, isize)> {
        let span = sla.saturating_mul(3_600) as i128;
        let at_risk = span - (sla as i128 * 3_600).div_euclid(5);
        let (low, high) = (low as i128, high as i128);
        let mut ranges: Vec<(i128, i128)> = [at_risk, span + 1]
            .iter()
            .map(|offset| (low + 1 - offset, high - offset))
            .collect();
        let (min, max) = (Micros::MIN as i128, Micros::MAX as i128);
        if span > 0 {
            ranges.push((max - span + 1, max));
        } else if span < 0 {
            ranges.push((min, min - span - 1));
        }
        let mut cases: Vec<(&HeldCase, isize)> = Vec::new();
        for (from, to) in ranges {
            let (from, to) = (from.max(min), to.min(max));
            if from > to {
                continue;
            }
            let upper = if to == max {
                Bound::Unbounded
            } else {
                Bound::Excluded(HeldCase::first_at(to as Micros + 1))
            };
            let lower = Bound::Included(HeldCase::first_at(from as Micros));
            cases.extend(self.cases.range((lower, upper)).map(|(case, n)| (case, *n)));
        }
        cases.sort_unstable_by(|a, b| a.0.cmp(b.0));
        cases.dedup_by(|a, b| a.0 == b.0);
        cases
    }
}

/// One epoch's grading output, and its changes to the counts.
struct Emitter<'a> {
    priorities: &'a [Option<String>],
    /// Whether graded cases become rows (they are always counted).
    keep_rows: bool,
    rows: Vec<(Graded, Epoch, isize)>,
    deltas: HashMap<(i64, u32, SlaStatus), i64>,
    time: Epoch,
}

impl Emitter<'_> {
    /// Emits `case` of `department` graded by `sla` at `as_of`, `diff` times.
    fn grade(
        &mut self,
        department: i64,
        case: &HeldCase,
        sla: MicroHours,
        as_of: Micros,
        diff: isize,
    ) {
        let due = due_at(case.fecha_creacion, sla);
        let status = SlaStatus::at(as_of, due, sla);
        self.emit(department, case, due, status, diff);
    }

    fn emit(
        &mut self,
        department: i64,
        case: &HeldCase,
        due: Micros,
        status: SlaStatus,
        diff: isize,
    ) {
        if diff == 0 {
            return;
        }
        *self
            .deltas
            .entry((department, case.prioridad, status))
            .or_default() += diff as i64;
        if !self.keep_rows {
            return;
        }
        let row = OpenCase {
            dependencia_id: department,
            prioridad: self.priorities[case.prioridad as usize].clone(),
            status,
            due_at: due,
            caso_id: case.caso_id,
            numero_caso: case.numero_caso.clone(),
        };
        self.rows.push((Graded::Case(row), self.time, diff));
    }

    /// Emits `case` graded by every SLA in `slas` at every value in `as_of`, `n` times each.
    fn grade_all(
        &mut self,
        department: i64,
        case: &HeldCase,
        slas: &[(MicroHours, isize)],
        as_of: &[(Micros, isize)],
        n: isize,
    ) {
        for &(sla, m) in slas {
            for &(instant, k) in as_of {
                self.grade(department, case, sla, instant, n * m * k);
            }
        }
    }
}

/// An epoch not yet complete: the capability to emit at it, its department and `as_of`
/// changes, and whether it marks the end of the input.
struct PendingEpoch {
    capability: Capability<Epoch>,
    changes: Vec<((i64, DepartmentChange), isize)>,
    as_of: Vec<(Micros, isize)>,
    ends: bool,
}

/// Epoch `time`'s entry in `pending`, created (holding a capability for it) on first use.
fn pending_at<'p>(
    pending: &'p mut BTreeMap<Epoch, PendingEpoch>,
    capability: &InputCapability<Epoch>,
    time: Epoch,
) -> &'p mut PendingEpoch {
    pending.entry(time).or_insert_with(|| PendingEpoch {
        capability: capability.delayed(&time, 0),
        changes: Vec::new(),
        as_of: Vec::new(),
        ends: false,
    })
}

/// One worker's departments, the priority names its cases use, the `as_of` values and the
/// open-case counts it has emitted.
#[derive(Default)]
struct Grader {
    /// Graded cases are counted but not emitted as rows, until the end of a bounded input.
    withholding_rows: bool,
    departments: HashMap<i64, Department>,
    priorities: Vec<Option<String>>,
    priority_ids: HashMap<Option<String>, u32>,
    as_of: Vec<(Micros, isize)>,
    counts: HashMap<(i64, u32, SlaStatus), i64>,
}

impl Grader {
    /// The case as held, its priority numbered (a name first seen gets the next number).
    fn held(&mut self, facts: OpenCaseFacts) -> HeldCase {
        let prioridad = match self.priority_ids.get(&facts.prioridad) {
            Some(&id) => id,
            None => {
                let id = self.priorities.len() as u32;
                self.priority_ids.insert(facts.prioridad.clone(), id);
                self.priorities.push(facts.prioridad);
                id
            }
        };
        HeldCase {
            fecha_creacion: facts.fecha_creacion,
            caso_id: facts.caso_id,
            numero_caso: facts.numero_caso,
            prioridad,
        }
    }

    /// Applies one complete epoch and returns what it changes, at `time`; `ends`: the input
    /// ends at this epoch.
    fn epoch(
        &mut self,
        time: Epoch,
        mut changes: Vec<((i64, DepartmentChange), isize)>,
        as_of_changes: Vec<(Micros, isize)>,
        ends: bool,
    ) -> Vec<(Graded, Epoch, isize)> {
        consolidate(&mut changes);
        let held: Vec<(i64, HeldChange, isize)> = changes
            .into_iter()
            .map(|((department, change), diff)| match change {
                DepartmentChange::Case(facts) => {
                    (department, HeldChange::Case(self.held(facts)), diff)
                }
                DepartmentChange::Sla(sla) => (department, HeldChange::Sla(sla), diff),
            })
            .collect();
        let mut next = self.as_of.clone();
        next.extend(as_of_changes);
        consolidate(&mut next);

        let mut out = Emitter {
            priorities: &self.priorities,
            keep_rows: !self.withholding_rows,
            rows: Vec::new(),
            deltas: HashMap::new(),
            time,
        };
        // Case changes at the old SLA and `as_of`, then each SLA change re-grades its
        // department's cases, then every case moves to the new `as_of`.
        let mut sla_changed: Vec<(i64, Vec<(MicroHours, isize)>)> = Vec::new();
        for (id, change, diff) in held {
            let department = self.departments.entry(id).or_default();
            match change {
                HeldChange::Case(case) => {
                    out.grade_all(id, &case, department.graded_by(), &self.as_of, diff);
                    match department.cases.entry(case) {
                        Entry::Occupied(mut held) => {
                            *held.get_mut() += diff;
                            if *held.get() == 0 {
                                held.remove();
                            }
                        }
                        Entry::Vacant(held) => {
                            held.insert(diff);
                        }
                    }
                }
                HeldChange::Sla(sla) => {
                    if sla_changed.last().map(|(d, _)| *d) != Some(id) {
                        sla_changed.push((id, department.graded_by().to_vec()));
                    }
                    department.slas.push((sla, diff));
                    consolidate(&mut department.slas);
                }
            }
        }
        for (id, old) in sla_changed {
            let department = &self.departments[&id];
            if department.graded_by() == old {
                continue;
            }
            for (case, &n) in &department.cases {
                out.grade_all(id, case, &old, &self.as_of, -n);
                out.grade_all(id, case, department.graded_by(), &self.as_of, n);
            }
        }
        if next != self.as_of {
            for (&id, department) in &self.departments {
                regrade(&mut out, id, department, &self.as_of, &next);
            }
            self.as_of = next;
        }
        self.departments
            .retain(|_, d| !d.cases.is_empty() || !d.slas.is_empty());

        let Emitter {
            mut rows, deltas, ..
        } = out;
        self.count(deltas, time, &mut rows);
        if ends && self.withholding_rows {
            self.withholding_rows = false;
            rows.extend(self.every_case(time));
        }
        rows
    }

    /// Every held case graded at the present SLA values and `as_of`, as rows at `time` (the
    /// counts already hold them).
    fn every_case(&self, time: Epoch) -> Vec<(Graded, Epoch, isize)> {
        let mut out = Emitter {
            priorities: &self.priorities,
            keep_rows: true,
            rows: Vec::new(),
            deltas: HashMap::new(),
            time,
        };
        for (&id, department) in &self.departments {
            for (case, &n) in &department.cases {
                out.grade_all(id, case, department.graded_by(), &self.as_of, n);
            }
        }
        out.rows
    }

    /// Applies the changes of `open_case_sla` counts, `deltas`, as retractions of the old rows
    /// and insertions of the new ones into `rows`, at `time`.
    fn count(
        &mut self,
        deltas: HashMap<(i64, u32, SlaStatus), i64>,
        time: Epoch,
        rows: &mut Vec<(Graded, Epoch, isize)>,
    ) {
        for (key, delta) in deltas {
            if delta == 0 {
                continue;
            }
            let old = self.counts.get(&key).copied().unwrap_or(0);
            let new = old + delta;
            let (department, prioridad, status) = key;
            let row = |cases| OpenCaseSla {
                dependencia_id: department,
                prioridad: self.priorities[prioridad as usize].clone(),
                status,
                cases,
            };
            if old != 0 {
                rows.push((Graded::Count(row(old)), time, -1));
            }
            if new != 0 {
                rows.push((Graded::Count(row(new)), time, 1));
                self.counts.insert(key, new);
            } else {
                self.counts.remove(&key);
            }
        }
    }
}

/// Moves `department`'s cases from `as_of` values `old` to `new`: only the cases whose
/// status changes when `as_of` moves from one value to another, else all of them.
fn regrade(
    out: &mut Emitter<'_>,
    id: i64,
    department: &Department,
    old: &[(Micros, isize)],
    new: &[(Micros, isize)],
) {
    if let ([(a, 1)], [(b, 1)]) = (old, new) {
        for &(sla, m) in department.graded_by() {
            for (case, n) in department.stepping_between(sla, *a.min(b), *a.max(b)) {
                let due = due_at(case.fecha_creacion, sla);
                let (before, after) = (SlaStatus::at(*a, due, sla), SlaStatus::at(*b, due, sla));
                if before != after {
                    out.emit(id, case, due, before, -n * m);
                    out.emit(id, case, due, after, n * m);
                }
            }
        }
    } else {
        for (case, &n) in &department.cases {
            out.grade_all(id, case, department.graded_by(), old, -n);
            out.grade_all(id, case, department.graded_by(), new, n);
        }
    }
}

/// Grades every open case (keyed by department) by its department's SLA values (the
/// default if it has none) at every `as_of` value (one value in practice; any collection is
/// handled), and counts the graded cases per department, priority and status.
///
/// `end`, for a bounded input: the graded cases are emitted once, in the first epoch where
/// `end` holds a record (any worker's), and as changes after it; before it, `cases` stays
/// empty while `counts` is complete at every epoch. `None`: cases are emitted every epoch.
pub fn grade_open_cases<'s>(
    cases: VecCollection<'s, Epoch, (i64, OpenCaseFacts)>,
    slas: VecCollection<'s, Epoch, (i64, MicroHours)>,
    as_of: VecCollection<'s, Epoch, Micros>,
    end: Option<VecCollection<'s, Epoch, ()>>,
) -> GradedCases<'s> {
    let bounded = end.is_some();
    let mut clock = as_of.map(Clock::AsOf);
    if let Some(end) = end {
        clock = clock.concat(end.map(|()| Clock::End));
    }
    let changes = cases
        .map(|(department, case)| (department, DepartmentChange::Case(case)))
        .concat(slas.map(|(department, sla)| (department, DepartmentChange::Sla(sla))));
    type Change = ((i64, DepartmentChange), Epoch, isize);
    let by_department = Exchange::new(|((department, _), _, _): &Change| department.hashed());
    let graded = changes
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(Graded, Epoch, isize)>>, _, _, _, _>(
            clock.inner.broadcast(),
            by_department,
            Pipeline,
            "GradeOpenCases",
            |_capability, _info| {
                let mut pending: BTreeMap<Epoch, PendingEpoch> = BTreeMap::new();
                let mut grader = Grader {
                    withholding_rows: bounded,
                    ..Grader::default()
                };
                move |(changes_in, changes_frontier), (clock_in, clock_frontier), output| {
                    changes_in.for_each(|capability, data| {
                        for (change, time, diff) in data.drain(..) {
                            let epoch = pending_at(&mut pending, &capability, time);
                            epoch.changes.push((change, diff));
                        }
                    });
                    clock_in.for_each(|capability, data| {
                        for (change, time, diff) in data.drain(..) {
                            let epoch = pending_at(&mut pending, &capability, time);
                            match change {
                                Clock::AsOf(instant) => epoch.as_of.push((instant, diff)),
                                Clock::End => epoch.ends |= diff > 0,
                            }
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        let time = *entry.key();
                        if changes_frontier.less_equal(&time) || clock_frontier.less_equal(&time) {
                            break;
                        }
                        let epoch = entry.remove();
                        let mut rows = grader.epoch(time, epoch.changes, epoch.as_of, epoch.ends);
                        if !rows.is_empty() {
                            output.session(&epoch.capability).give_container(&mut rows);
                        }
                    }
                }
            },
        );
    let (cases, counts) = graded.ok_err(|(graded, time, diff)| match graded {
        Graded::Case(case) => Ok((case, time, diff)),
        Graded::Count(count) => Err((count, time, diff)),
    });
    GradedCases {
        cases: cases.as_collection(),
        counts: counts.as_collection(),
    }
}
