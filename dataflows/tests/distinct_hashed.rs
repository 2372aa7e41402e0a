//! `distinct_hashed` against differential's distinct (`threshold_named`): after every epoch the accumulated
//! outputs are equal, for random insertions and retractions over a few rows, random epochs
//! and 1 or 2 workers; and rows expire past their horizon without a retraction.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::Input;
use proptest::prelude::*;
use pulso_dataflows::distinct_hashed::distinct_hashed;
use pulso_dataflows::retention::Horizon;
use pulso_dataflows::Epoch;
use timely::dataflow::operators::vec::input::Input as _;

/// A minute, in microseconds.
const MINUTE: i64 = 60_000_000;

/// One epoch: `(row, diff)` changes, and the greatest event time it accepted.
type Step = (Vec<(u16, isize)>, i64);

/// A row's event time: its value in minutes.
fn time(row: &u16) -> i64 {
    i64::from(*row) * MINUTE
}

/// A deliberately plain hash (distinct rows, distinct hashes).
fn hash(row: &u16) -> u128 {
    u128::from(*row) * 0x9E37_79B9_7F4A_7C15
}

/// Runs `distinct_hashed` (or `distinct`) over `steps`; the accumulated output per epoch.
fn run(steps: Vec<Step>, workers: usize, horizon: Option<Horizon>) -> Vec<Vec<(u16, isize)>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&out);
    let epochs = steps.len();
    let steps = Arc::new(steps);
    timely::execute(timely::Config::process(workers), move |worker| {
        let sink = Arc::clone(&sink);
        let (mut input, mut maxima) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (input, rows) = scope.new_collection::<u16, isize>();
            let (maxima_input, maxima) = scope.new_input::<(Epoch, i64)>();
            let distinct = match horizon {
                Some(horizon) => distinct_hashed("Ours", rows, hash, time, maxima, horizon),
                None => rows.threshold_named("Reference", |_, _| 1),
            };
            distinct.inspect(move |change| sink.lock().unwrap().push(*change));
            (input, maxima_input)
        });
        for (epoch, (changes, max)) in steps.iter().enumerate() {
            if worker.index() == 0 {
                for &(row, diff) in changes {
                    input.update(row, diff);
                }
            }
            // Every worker's operator reads the epoch's maximum (as broadcast maxima are).
            maxima.send((epoch as Epoch, *max));
            input.advance_to(epoch as Epoch + 1);
            maxima.advance_to(epoch as Epoch + 1);
        }
    })
    .unwrap();
    let changes = std::mem::take(&mut *out.lock().unwrap());
    let mut by_epoch: BTreeMap<Epoch, Vec<(u16, isize)>> = BTreeMap::new();
    for (row, time, diff) in changes {
        by_epoch.entry(time).or_default().push((row, diff));
    }
    let mut accumulated = Vec::new();
    (0..epochs as Epoch)
        .map(|epoch| {
            accumulated.extend(by_epoch.remove(&epoch).unwrap_or_default());
            consolidate(&mut accumulated);
            accumulated.clone()
        })
        .collect()
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let change = (0u16..10, prop_oneof![3 => Just(1isize), 2 => Just(-1)]);
    prop::collection::vec((prop::collection::vec(change, 0..8), Just(0)), 1..10)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn without_expiry_it_equals_distinct_after_every_epoch(
        steps in steps(),
        workers in 1usize..3,
    ) {
        // Counts stay >= 0 per row, as every Pulso input keeps them.
        let mut counts: BTreeMap<u16, isize> = BTreeMap::new();
        let steps: Vec<Step> = steps
            .into_iter()
            .map(|(changes, max)| {
                let changes = changes
                    .into_iter()
                    .filter(|&(row, diff)| {
                        let count = counts.entry(row).or_default();
                        if *count + diff < 0 {
                            return false;
                        }
                        *count += diff;
                        true
                    })
                    .collect();
                (changes, max)
            })
            .collect();
        let ours = run(steps.clone(), workers, Some(Horizon::OFF));
        let reference = run(steps, workers, None);
        prop_assert_eq!(ours, reference);
    }
}

#[test]
fn rows_expire_past_the_horizon_without_a_retraction() {
    let steps = vec![
        // Row 1 (minute 1) arrives twice; W is minute 1 after this epoch.
        (vec![(1, 1), (1, 1)], MINUTE),
        // Row 30 (minute 30) arrives; W becomes minute 30.
        (vec![(30, 1)], 30 * MINUTE),
        // At W = 30 min with a 10-minute horizon, row 1 has left the state: it stays in the
        // output, and a new change of it starts afresh. Row 30 is retracted as usual.
        (vec![(1, 1), (30, -1)], 30 * MINUTE),
    ];
    let output = run(steps, 2, Some(Horizon::micros(10 * MINUTE)));
    assert_eq!(output[0], vec![(1, 1)]);
    assert_eq!(output[1], vec![(1, 1), (30, 1)]);
    assert_eq!(output[2], vec![(1, 2)]);
}
