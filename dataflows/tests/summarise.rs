//! `summarise_by_key` against differential's `reduce` with the same logic: after every epoch
//! the accumulated outputs are equal, for random insertions and retractions of facts over a
//! few keys, random epochs, and 1 or 2 workers. The logic reads the order of the facts, their
//! counts, and may emit several or no summaries, so any difference in what it is given shows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::Input;
use proptest::prelude::*;
use pulso_dataflows::summarise::SummariseNamed;
use pulso_dataflows::Epoch;

/// A summary: key, least fact, greatest fact, total count (or -1: a fact seen twice).
type Summary = (u8, u16, u16, i64);

/// Per key: the least fact, the greatest, the total count, and one row per fact seen twice;
/// nothing for a key whose least fact is odd and greater than 6 (an empty output).
fn logic(key: &u8, facts: &[(&u16, isize)], output: &mut Vec<(Summary, isize)>) {
    let least = *facts[0].0;
    if least % 2 == 1 && least > 6 {
        return;
    }
    let greatest = *facts[facts.len() - 1].0;
    let total: i64 = facts.iter().map(|(_, n)| *n as i64).sum();
    output.push(((*key, least, greatest, total), 1));
    for (fact, n) in facts {
        if *n >= 2 {
            output.push(((*key, **fact, **fact, -1), 1));
        }
    }
}

/// One epoch: `(key, fact, diff)` changes.
type Step = Vec<(u8, u16, isize)>;

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let change = (
        0u8..4,
        0u16..12,
        prop_oneof![3 => Just(1isize), 1 => Just(-1)],
    );
    prop::collection::vec(prop::collection::vec(change, 0..8), 1..10)
}

type Row = (u8, (u8, u16, u16, i64));

/// Runs `summarise_named` or `reduce_named` over `steps`; the accumulated output per epoch.
fn run(steps: Vec<Step>, workers: usize, ours: bool) -> Vec<Vec<(Row, isize)>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&out);
    let epochs = steps.len();
    let steps = Arc::new(steps);
    timely::execute(timely::Config::process(workers), move |worker| {
        let sink = Arc::clone(&sink);
        let mut input = worker.dataflow::<Epoch, _, _>(|scope| {
            let (input, facts) = scope.new_collection::<(u8, u16), isize>();
            let summaries = if ours {
                facts.summarise_named("Ours", logic)
            } else {
                facts.reduce_named("Reference", logic)
            };
            summaries.inspect(move |change| sink.lock().unwrap().push(*change));
            input
        });
        for (epoch, step) in steps.iter().enumerate() {
            if worker.index() == 0 {
                for &(key, fact, diff) in step {
                    input.update((key, fact), diff);
                }
            }
            input.advance_to(epoch as Epoch + 1);
        }
    })
    .unwrap();
    let changes = std::mem::take(&mut *out.lock().unwrap());
    let mut by_epoch: BTreeMap<Epoch, Vec<(Row, isize)>> = BTreeMap::new();
    for (row, time, diff) in changes {
        by_epoch.entry(time).or_default().push((row, diff));
    }
    let mut accumulated = Vec::new();
    let mut result = Vec::new();
    for epoch in 0..epochs as Epoch {
        accumulated.extend(by_epoch.remove(&epoch).unwrap_or_default());
        consolidate(&mut accumulated);
        result.push(accumulated.clone());
    }
    result
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn summarise_equals_reduce_after_every_epoch(steps in steps(), workers in 1usize..3) {
        // Retractions below zero make `reduce` see negative counts; keep counts >= 0 per fact
        // as every Pulso input does (facts of accepted events are inserted, retracted once).
        let mut counts: BTreeMap<(u8, u16), isize> = BTreeMap::new();
        let steps: Vec<Step> = steps
            .into_iter()
            .map(|step| {
                step.into_iter()
                    .filter(|&(key, fact, diff)| {
                        let count = counts.entry((key, fact)).or_default();
                        if *count + diff < 0 {
                            return false;
                        }
                        *count += diff;
                        true
                    })
                    .collect()
            })
            .collect();
        let ours = run(steps.clone(), workers, true);
        let reference = run(steps, workers, false);
        prop_assert_eq!(ours, reference);
    }
}
