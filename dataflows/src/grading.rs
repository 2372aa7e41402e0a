//! Grading open cases against `as_of`, re-grading only the cases whose status changes when
//! `as_of` moves.
//!
//! A case's status is a step function of `as_of`: whether `as_of` has reached its AT_RISK
//! point (`due_at - 0.2 * sla`) and whether it has passed `due_at` (VIEWS.md). When `as_of`
//! moves from `a` to `b`, a case changes status only if one of its two points lies between
//! them. The operator keeps its worker's open cases indexed by those points and re-grades the
//! ones in the range. The plain way, a join of every open case with `as_of`, re-emits every
//! open case at each move: O(open cases) per epoch, where this is O(cases that change).

use hashbrown::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::consolidation::consolidate;
use differential_dataflow::hashable::Hashable;
use pulso_events::time::Micros;
use pulso_events::views::{due_at, OpenCase, SlaStatus};
use pulso_events::MicroHours;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, InputCapability};

use crate::Epoch;

/// An open case, with the SLA (micro-hours) it is graded by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ungraded {
    /// Department.
    pub dependencia_id: i64,
    /// The case.
    pub caso_id: i64,
    /// `CRV-YYYY-NNNNNNNN`.
    pub numero_caso: String,
    /// Current priority.
    pub prioridad: Option<String>,
    /// When the case was created.
    pub fecha_creacion: Micros,
    /// The department's SLA.
    pub sla: MicroHours,
}

impl Ungraded {
    /// The case graded at `as_of`.
    fn at(&self, as_of: Micros) -> OpenCase {
        let due = due_at(self.fecha_creacion, self.sla);
        OpenCase {
            dependencia_id: self.dependencia_id,
            prioridad: self.prioridad.clone(),
            status: SlaStatus::at(as_of, due, self.sla),
            due_at: due,
            caso_id: self.caso_id,
            numero_caso: self.numero_caso.clone(),
        }
    }

    /// The two instants where the status steps: the least `as_of` that is AT_RISK or worse
    /// by the `0.2 * sla` rule, and the least that is past `due_at`. Between two values of
    /// `as_of` with neither point in `(a, b]`, the status is the same (see [`SlaStatus::at`]).
    fn steps(&self) -> [Micros; 2] {
        let due = due_at(self.fecha_creacion, self.sla) as i128;
        let sla_us = self.sla as i128 * 3_600;
        // (due - a) * 5 <= sla_us  <=>  due - a <= floor(sla_us / 5)  <=>  a >= due - floor(..).
        let at_risk = due - sla_us.div_euclid(5);
        let breached = due + 1;
        [at_risk, breached].map(|t| t.clamp(Micros::MIN as i128, Micros::MAX as i128) as Micros)
    }
}

/// An epoch not yet complete: the capability to emit at it, its case and `as_of` changes.
struct PendingEpoch {
    capability: Capability<Epoch>,
    cases: Vec<(Ungraded, isize)>,
    as_of: Vec<(Micros, isize)>,
}

/// The epochs not yet complete.
type Pending = BTreeMap<Epoch, PendingEpoch>;

/// Epoch `time`'s entry in `pending`, created (holding a capability for it) on first use.
fn pending_at<'p>(
    pending: &'p mut Pending,
    capability: &InputCapability<Epoch>,
    time: Epoch,
) -> &'p mut PendingEpoch {
    pending.entry(time).or_insert_with(|| PendingEpoch {
        capability: capability.delayed(&time, 0),
        cases: Vec::new(),
        as_of: Vec::new(),
    })
}

/// One worker's open cases: each with an id, its multiplicity, and its step points indexed.
#[derive(Default)]
struct OpenCases {
    ids: HashMap<Rc<Ungraded>, u64>,
    cases: HashMap<u64, (Rc<Ungraded>, isize)>,
    by_step: BTreeSet<(Micros, u64)>,
    next_id: u64,
}

impl OpenCases {
    fn update(&mut self, case: Ungraded, diff: isize) {
        if let Some(&id) = self.ids.get(&case) {
            let entry = self.cases.get_mut(&id).expect("an id names a case");
            entry.1 += diff;
            if entry.1 == 0 {
                let (case, _) = self.cases.remove(&id).expect("present");
                for step in case.steps() {
                    self.by_step.remove(&(step, id));
                }
                self.ids.remove(&case);
            }
        } else if diff != 0 {
            let id = self.next_id;
            self.next_id += 1;
            for step in case.steps() {
                self.by_step.insert((step, id));
            }
            let case = Rc::new(case);
            self.ids.insert(Rc::clone(&case), id);
            self.cases.insert(id, (case, diff));
        }
    }

    /// The cases with a step point in `(from, to]` (or `(to, from]`), each once.
    fn stepping_between(&self, a: Micros, b: Micros) -> Vec<&(Rc<Ungraded>, isize)> {
        let (low, high) = (a.min(b), a.max(b));
        if low == high {
            return Vec::new();
        }
        let mut ids: Vec<u64> = self
            .by_step
            .range((low + 1, 0)..=(high, u64::MAX))
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.iter().map(|id| &self.cases[id]).collect()
    }
}

/// Grades every open case at `as_of` (one value in practice; any collection is handled): the
/// output holds, for each case and each `as_of` value, the case graded at that value.
pub fn grade_open_cases<'s>(
    cases: VecCollection<'s, Epoch, Ungraded>,
    as_of: VecCollection<'s, Epoch, Micros>,
) -> VecCollection<'s, Epoch, OpenCase> {
    let by_case = Exchange::new(|(case, _, _): &(Ungraded, Epoch, isize)| case.caso_id.hashed());
    cases
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(OpenCase, Epoch, isize)>>, _, _, _, _>(
            as_of.inner.broadcast(),
            by_case,
            Pipeline,
            "GradeOpenCases",
            |_capability, _info| {
                let mut pending = Pending::new();
                let mut open = OpenCases::default();
                let mut current: Vec<(Micros, isize)> = Vec::new();
                move |(cases_in, cases_frontier), (as_of_in, as_of_frontier), output| {
                    cases_in.for_each(|capability, data| {
                        for (case, time, diff) in data.drain(..) {
                            pending_at(&mut pending, &capability, time)
                                .cases
                                .push((case, diff));
                        }
                    });
                    as_of_in.for_each(|capability, data| {
                        for (instant, time, diff) in data.drain(..) {
                            pending_at(&mut pending, &capability, time)
                                .as_of
                                .push((instant, diff));
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        let time = *entry.key();
                        if cases_frontier.less_equal(&time) || as_of_frontier.less_equal(&time) {
                            break;
                        }
                        let PendingEpoch {
                            capability,
                            cases: mut changes,
                            as_of: as_of_changes,
                        } = entry.remove();
                        let mut session = output.session(&capability);
                        // The case changes, graded at the `as_of` values they met.
                        consolidate(&mut changes);
                        for (case, diff) in changes {
                            for &(instant, n) in &current {
                                session.give((case.at(instant), time, diff * n));
                            }
                            open.update(case, diff);
                        }
                        // Then every case moves from the old `as_of` to the new one.
                        let mut next = current.clone();
                        next.extend(as_of_changes);
                        consolidate(&mut next);
                        if next == current {
                            continue;
                        }
                        if let ([(a, 1)], [(b, 1)]) = (&current[..], &next[..]) {
                            for (case, n) in open.stepping_between(*a, *b) {
                                let (old, new) = (case.at(*a), case.at(*b));
                                if old != new {
                                    session.give((old, time, -n));
                                    session.give((new, time, *n));
                                }
                            }
                        } else {
                            for (case, n) in open.cases.values() {
                                for &(instant, m) in &current {
                                    session.give((case.at(instant), time, -n * m));
                                }
                                for &(instant, m) in &next {
                                    session.give((case.at(instant), time, n * m));
                                }
                            }
                        }
                        current = next;
                    }
                }
            },
        )
        .as_collection()
}
