//! The open-case grading operator against plain grading: after every epoch, the graded cases
//! it has emitted equal every present case graded at every present `as_of` value, for random
//! cases whose step points lie around the `as_of` values, and `as_of` moving forward,
//! backward, vanishing and holding two values.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::Input;
use proptest::prelude::*;
use pulso_dataflows::grading::{grade_open_cases, Ungraded};
use pulso_dataflows::Epoch;
use pulso_events::views::{due_at, OpenCase, SlaStatus};

const HOUR: i64 = 3_600_000_000;

/// One epoch: case changes (index into the case pool, diff) and the `as_of` values to hold.
type Step = (Vec<(usize, isize)>, Vec<i64>);

fn pool() -> impl Strategy<Value = Vec<Ungraded>> {
    // Created within ±10 h of 0, SLAs of -2..20 h (a negative SLA is odd but representable):
    // the step points fall among the `as_of` values below.
    prop::collection::vec((-10i64..10, 0i64..60, -2i64..20, 0i64..3), 1..12).prop_map(|cases| {
        cases
            .into_iter()
            .enumerate()
            .map(|(i, (hours, micros, sla, dep))| Ungraded {
                dependencia_id: dep,
                caso_id: i as i64,
                numero_caso: format!("CRV-2024-{i:08}"),
                prioridad: (i % 2 == 0).then(|| "ALTA".to_string()),
                fecha_creacion: hours * HOUR + micros,
                sla: sla * 1_000_000,
            })
            .collect()
    })
}

/// Epochs over `pool`; some `as_of` values sit exactly on, or one microsecond around, a
/// case's AT_RISK point or `due_at`.
fn steps(pool: &[Ungraded]) -> impl Strategy<Value = Vec<Step>> {
    let edges: Vec<i64> = pool
        .iter()
        .flat_map(|case| {
            let due = due_at(case.fecha_creacion, case.sla);
            // The least `as_of` with (due - as_of) * 5 <= sla in microseconds.
            [due, due - (case.sla * 3_600).div_euclid(5)]
        })
        .flat_map(|edge| [edge - 1, edge, edge + 1])
        .collect();
    let as_of = prop_oneof![
        3 => (-12i64..30).prop_map(|h| vec![h * HOUR]),
        2 => (-12i64 * 60..30 * 60).prop_map(|m| vec![m * 60_000_000 + 1]),
        3 => prop::sample::select(edges).prop_map(|edge| vec![edge]),
        1 => Just(Vec::new()),
        1 => ((-12i64..30), (-12i64..30)).prop_map(|(a, b)| vec![a * HOUR, b * HOUR + 7]),
    ];
    let changes = prop::collection::vec(
        (0..pool.len(), prop_oneof![3 => Just(1isize), 1 => Just(-1)]),
        0..6,
    );
    prop::collection::vec((changes, as_of), 1..8)
}

fn graded(case: &Ungraded, as_of: i64) -> OpenCase {
    let due = due_at(case.fecha_creacion, case.sla);
    OpenCase {
        dependencia_id: case.dependencia_id,
        prioridad: case.prioridad.clone(),
        status: SlaStatus::at(as_of, due, case.sla),
        due_at: due,
        caso_id: case.caso_id,
        numero_caso: case.numero_caso.clone(),
    }
}

/// Runs the operator over `steps` (step `e` is epoch `e`) and returns its output changes.
fn run(pool: Vec<Ungraded>, steps: Vec<Step>, workers: usize) -> Vec<(OpenCase, Epoch, isize)> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&out);
    let (pool, steps) = (Arc::new(pool), Arc::new(steps));
    timely::execute(timely::Config::process(workers), move |worker| {
        let sink = Arc::clone(&sink);
        let (mut cases, mut as_of) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (cases_input, cases) = scope.new_collection();
            let (as_of_input, as_of) = scope.new_collection();
            grade_open_cases(cases, as_of)
                .inspect(move |change| sink.lock().unwrap().push(change.clone()));
            (cases_input, as_of_input)
        });
        let mut held: Vec<i64> = Vec::new();
        for (epoch, (changes, values)) in steps.iter().enumerate() {
            if worker.index() == 0 {
                for &(i, diff) in changes {
                    cases.update(pool[i].clone(), diff);
                }
                for old in held.drain(..) {
                    as_of.remove(old);
                }
                for &value in values {
                    as_of.insert(value);
                    held.push(value);
                }
            }
            cases.advance_to(epoch as Epoch + 1);
            as_of.advance_to(epoch as Epoch + 1);
        }
    })
    .unwrap();
    let changes = std::mem::take(&mut *out.lock().unwrap());
    changes
}

/// What plain grading gives after each epoch.
fn expected(pool: &[Ungraded], steps: &[Step]) -> Vec<Vec<(OpenCase, isize)>> {
    let mut present: BTreeMap<usize, isize> = BTreeMap::new();
    let mut out = Vec::new();
    for (changes, values) in steps {
        for &(i, diff) in changes {
            *present.entry(i).or_default() += diff;
        }
        let mut rows: Vec<(OpenCase, isize)> = present
            .iter()
            .filter(|(_, n)| **n != 0)
            .flat_map(|(&i, &n)| values.iter().map(move |&a| (graded(&pool[i], a), n)))
            .collect();
        consolidate(&mut rows);
        out.push(rows);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn grading_matches_plain_grading_after_every_epoch(
        (pool, steps) in pool().prop_flat_map(|p| { let s = steps(&p); (Just(p), s) }),
        workers in 1usize..3,
    ) {
        let changes = run(pool.clone(), steps.clone(), workers);
        for (epoch, want) in expected(&pool, &steps).into_iter().enumerate() {
            let mut got: Vec<(OpenCase, isize)> = changes
                .iter()
                .filter(|(_, time, _)| *time <= epoch as Epoch)
                .map(|(row, _, diff)| (row.clone(), *diff))
                .collect();
            consolidate(&mut got);
            prop_assert_eq!(got, want, "epoch {}", epoch);
        }
    }
}
