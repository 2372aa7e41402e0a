//! The open-case grading operator against plain grading: after every epoch, the graded cases
//! it has emitted equal every present case graded by every SLA value of its department (the
//! default if it has none) at every present `as_of` value, and its counts equal those rows
//! counted per department, priority and status; for random cases whose step points lie
//! around the `as_of` values, SLA values coming and going, and `as_of` moving forward,
//! backward, vanishing and holding two values. Given the end of a bounded input, the
//! operator emits no graded case before it, counts the same at every epoch, and emits the
//! graded cases once in the epoch that marks the end.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::Input;
use proptest::prelude::*;
use pulso_dataflows::grading::{grade_open_cases, OpenCaseFacts};
use pulso_dataflows::Epoch;
use pulso_events::views::{due_at, OpenCase, OpenCaseSla, SlaStatus, DEFAULT_SLA_MICRO_HOURS};

const HOUR: i64 = 3_600_000_000;

/// A case of the pool: its department and facts.
type PoolCase = (i64, OpenCaseFacts);

/// An SLA value of the pool: department and micro-hours.
type PoolSla = (i64, i64);

/// One epoch: case changes and SLA changes (index into the pools, diff) and the `as_of`
/// values to hold.
type Step = (Vec<(usize, isize)>, Vec<(usize, isize)>, Vec<i64>);

fn pools() -> impl Strategy<Value = (Vec<PoolCase>, Vec<PoolSla>)> {
    // Created within ±10 h of 0, SLAs of -2..20 h (a negative SLA is odd but representable):
    // the step points fall among the `as_of` values below.
    let cases = prop::collection::vec((-10i64..10, 0i64..60, 0i64..3), 1..12).prop_map(|cases| {
        cases
            .into_iter()
            .enumerate()
            .map(|(i, (hours, micros, dep))| {
                let facts = OpenCaseFacts {
                    caso_id: i as i64,
                    numero_caso: format!("CRV-2024-{i:08}"),
                    prioridad: (i % 2 == 0).then(|| "ALTA".to_string()),
                    fecha_creacion: hours * HOUR + micros,
                };
                (dep, facts)
            })
            .collect()
    });
    let slas = prop::collection::vec((0i64..3, -2i64..20), 0..5).prop_map(|slas| {
        slas.into_iter()
            .map(|(dep, hours)| (dep, hours * 1_000_000))
            .collect()
    });
    (cases, slas)
}

/// Pools and epochs over them.
fn pools_and_steps() -> impl Strategy<Value = ((Vec<PoolCase>, Vec<PoolSla>), Vec<Step>)> {
    pools().prop_flat_map(|(c, s)| {
        let steps = steps(&c, &s);
        (Just((c, s)), steps)
    })
}

/// Epochs over the pools; some `as_of` values sit exactly on, or one microsecond around, a
/// case's AT_RISK point or `due_at` under one of the SLA values.
fn steps(cases: &[PoolCase], slas: &[PoolSla]) -> impl Strategy<Value = Vec<Step>> {
    let sla_values: Vec<i64> = slas
        .iter()
        .map(|(_, sla)| *sla)
        .chain([DEFAULT_SLA_MICRO_HOURS])
        .collect();
    let edges: Vec<i64> = cases
        .iter()
        .flat_map(|(_, case)| {
            sla_values.iter().flat_map(|&sla| {
                let due = due_at(case.fecha_creacion, sla);
                // The least `as_of` with (due - as_of) * 5 <= sla in microseconds.
                [due, due - (sla * 3_600).div_euclid(5)]
            })
        })
        .flat_map(|edge| [edge - 1, edge, edge + 1])
        .collect();
    let as_of = prop_oneof![
        3 => (-12i64..200).prop_map(|h| vec![h * HOUR]),
        2 => (-12i64 * 60..30 * 60).prop_map(|m| vec![m * 60_000_000 + 1]),
        3 => prop::sample::select(edges).prop_map(|edge| vec![edge]),
        1 => Just(Vec::new()),
        1 => ((-12i64..30), (-12i64..30)).prop_map(|(a, b)| vec![a * HOUR, b * HOUR + 7]),
    ];
    let diff = || prop_oneof![3 => Just(1isize), 1 => Just(-1)];
    let case_changes = prop::collection::vec((0..cases.len(), diff()), 0..6);
    let sla_changes = if slas.is_empty() {
        Just(Vec::new()).boxed()
    } else {
        prop::collection::vec((0..slas.len(), diff()), 0..3).boxed()
    };
    prop::collection::vec((case_changes, sla_changes, as_of), 1..8)
}

fn graded(dep: i64, case: &OpenCaseFacts, sla: i64, as_of: i64) -> OpenCase {
    let due = due_at(case.fecha_creacion, sla);
    OpenCase {
        dependencia_id: dep,
        prioridad: case.prioridad.clone(),
        status: SlaStatus::at(as_of, due, sla),
        due_at: due,
        caso_id: case.caso_id,
        numero_caso: case.numero_caso.clone(),
    }
}

/// The operator's output changes: graded cases and counts.
type Output = (
    Vec<(OpenCase, Epoch, isize)>,
    Vec<(OpenCaseSla, Epoch, isize)>,
);

/// Runs the operator over `steps` (step `e` is epoch `e`) and returns its output changes;
/// `bounded`: the input's end is marked at epoch `steps.len()`.
fn run(
    cases: Vec<PoolCase>,
    slas: Vec<PoolSla>,
    steps: Vec<Step>,
    workers: usize,
    bounded: bool,
) -> Output {
    let out = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let sink = Arc::clone(&out);
    let (cases, slas, steps) = (Arc::new(cases), Arc::new(slas), Arc::new(steps));
    timely::execute(timely::Config::process(workers), move |worker| {
        let (rows, counts) = (Arc::clone(&sink), Arc::clone(&sink));
        let dataflow = worker.dataflow::<Epoch, _, _>(|scope| {
            let (case_input, open) = scope.new_collection();
            let (sla_input, sla) = scope.new_collection();
            let (as_of_input, as_of) = scope.new_collection();
            let (end_input, end) = scope.new_collection::<(), isize>();
            let graded = grade_open_cases(open, sla, as_of, bounded.then_some(end));
            graded
                .cases
                .inspect(move |change| rows.lock().unwrap().0.push(change.clone()));
            graded
                .counts
                .inspect(move |change| counts.lock().unwrap().1.push(change.clone()));
            (case_input, sla_input, as_of_input, end_input)
        });
        let (mut case_input, mut sla_input, mut as_of, mut end) = dataflow;
        let mut held: Vec<i64> = Vec::new();
        for (epoch, (case_changes, sla_changes, values)) in steps.iter().enumerate() {
            if worker.index() == 0 {
                for &(i, diff) in case_changes {
                    case_input.update(cases[i].clone(), diff);
                }
                for &(i, diff) in sla_changes {
                    sla_input.update(slas[i], diff);
                }
                for old in held.drain(..) {
                    as_of.remove(old);
                }
                for &value in values {
                    as_of.insert(value);
                    held.push(value);
                }
            }
            case_input.advance_to(epoch as Epoch + 1);
            sla_input.advance_to(epoch as Epoch + 1);
            as_of.advance_to(epoch as Epoch + 1);
            end.advance_to(epoch as Epoch + 1);
        }
        // Every worker marks the end: one mark or several mean the same.
        end.insert(());
    })
    .unwrap();
    let changes = std::mem::take(&mut *out.lock().unwrap());
    changes
}

/// What `open_case_sla` counts by: department, priority, status.
type CountKey = (i64, Option<String>, SlaStatus);

/// What plain grading gives after each epoch: graded cases, and their counts.
type Expected = (Vec<(OpenCase, isize)>, Vec<(OpenCaseSla, isize)>);

fn expected(cases: &[PoolCase], slas: &[PoolSla], steps: &[Step]) -> Vec<Expected> {
    let mut present: BTreeMap<usize, isize> = BTreeMap::new();
    let mut present_slas: BTreeMap<usize, isize> = BTreeMap::new();
    let mut out = Vec::new();
    for (case_changes, sla_changes, values) in steps {
        for &(i, diff) in case_changes {
            *present.entry(i).or_default() += diff;
        }
        for &(i, diff) in sla_changes {
            *present_slas.entry(i).or_default() += diff;
        }
        let graded_by = |dep: i64| {
            let mut by: Vec<(i64, isize)> = present_slas
                .iter()
                .filter(|(i, _)| slas[**i].0 == dep)
                .map(|(i, n)| (slas[*i].1, *n))
                .collect();
            consolidate(&mut by);
            if by.is_empty() {
                by.push((DEFAULT_SLA_MICRO_HOURS, 1));
            }
            by
        };
        let mut rows: Vec<(OpenCase, isize)> = Vec::new();
        for (&i, &n) in &present {
            let (dep, case) = &cases[i];
            for (sla, m) in graded_by(*dep) {
                for &a in values {
                    rows.push((graded(*dep, case, sla, a), n * m));
                }
            }
        }
        consolidate(&mut rows);
        let mut counted: Vec<(CountKey, isize)> = rows
            .iter()
            .map(|(row, n)| ((row.dependencia_id, row.prioridad.clone(), row.status), *n))
            .collect();
        consolidate(&mut counted);
        let mut counts: Vec<(OpenCaseSla, isize)> = counted
            .into_iter()
            .map(|((dependencia_id, prioridad, status), n)| {
                let row = OpenCaseSla {
                    dependencia_id,
                    prioridad,
                    status,
                    cases: n as i64,
                };
                (row, 1)
            })
            .collect();
        consolidate(&mut counts);
        out.push((rows, counts));
    }
    out
}

/// The changes at or before `epoch`, consolidated.
fn at<T: Ord + Clone>(changes: &[(T, Epoch, isize)], epoch: usize) -> Vec<(T, isize)> {
    let mut got: Vec<(T, isize)> = changes
        .iter()
        .filter(|(_, time, _)| *time <= epoch as Epoch)
        .map(|(row, _, diff)| (row.clone(), *diff))
        .collect();
    consolidate(&mut got);
    got
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn grading_matches_plain_grading_after_every_epoch(
        ((cases, slas), steps) in pools_and_steps(),
        workers in 1usize..3,
    ) {
        let (rows, counts) = run(cases.clone(), slas.clone(), steps.clone(), workers, false);
        for (epoch, (want_rows, want_counts)) in
            expected(&cases, &slas, &steps).into_iter().enumerate()
        {
            prop_assert_eq!(at(&rows, epoch), want_rows, "cases, epoch {}", epoch);
            prop_assert_eq!(at(&counts, epoch), want_counts, "counts, epoch {}", epoch);
        }
    }

    #[test]
    fn a_bounded_input_gets_its_graded_cases_once_at_its_end(
        ((cases, slas), steps) in pools_and_steps(),
        workers in 1usize..3,
    ) {
        let (rows, counts) = run(cases.clone(), slas.clone(), steps.clone(), workers, true);
        let expected = expected(&cases, &slas, &steps);
        for (epoch, (_, want_counts)) in expected.iter().enumerate() {
            prop_assert_eq!(at(&rows, epoch), vec![], "cases, epoch {}", epoch);
            prop_assert_eq!(&at(&counts, epoch), want_counts, "counts, epoch {}", epoch);
        }
        let (want_rows, want_counts) = expected.last().expect("at least one step");
        prop_assert_eq!(&at(&rows, steps.len()), want_rows, "cases at the end");
        prop_assert_eq!(&at(&counts, steps.len()), want_counts, "counts at the end");
    }
}
