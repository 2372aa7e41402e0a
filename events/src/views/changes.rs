//! One closed epoch's view changes, consolidated once and shared by every consumer of the
//! epoch (the serving store, ClickHouse), so none of them sorts, sums or copies them again.

use std::cmp::Ordering;
use std::ops::Deref;
use std::sync::Arc;

use super::ViewRow;

/// Changes consolidated on their own ([`consolidate_rows`]): one worker's of an epoch.
pub type Run = Vec<(ViewRow, isize)>;

/// The consolidated changes of one epoch: sorted by row, each row once, no zero diff. A clone
/// is another handle on the same changes.
///
/// # Contract
///
/// Built only by [`EpochChanges::consolidate`] and [`EpochChanges::merge`] (of runs
/// [`consolidate_rows`] made), so every holder may rely on the order and the uniqueness of its
/// rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochChanges(Arc<Vec<(ViewRow, isize)>>);

impl EpochChanges {
    /// Sorts `changes` by row and sums the diffs of equal rows, dropping those that cancel.
    pub fn consolidate(mut changes: Vec<(ViewRow, isize)>) -> EpochChanges {
        consolidate_rows(&mut changes);
        EpochChanges(Arc::new(changes))
    }

    /// The changes of `runs`, each already consolidated ([`consolidate_rows`]), merged into
    /// one: equal rows of different runs are summed and dropped when they cancel. Merging
    /// compares each row about once, where sorting the runs' rows together compares each
    /// about `log2 n` times: the workers consolidate their own changes, in parallel, and the
    /// one thread that takes every worker's changes only merges them.
    pub fn merge(runs: Vec<Run>) -> EpochChanges {
        debug_assert!(
            runs.iter()
                .all(|run| run.windows(2).all(|w| w[0].0 < w[1].0)),
            "every run is consolidated"
        );
        let mut runs = runs.into_iter().filter(|run| !run.is_empty());
        let mut merged = runs.next().unwrap_or_default();
        for run in runs {
            merged = merge_two(merged, run);
        }
        EpochChanges(Arc::new(merged))
    }

    /// The changes themselves when this is their only handle (no copy), else `self` back.
    pub fn try_into_vec(self) -> Result<Vec<(ViewRow, isize)>, EpochChanges> {
        Arc::try_unwrap(self.0).map_err(EpochChanges)
    }
}

/// Sorts `changes` by row and sums the diffs of equal rows, dropping those that cancel: what
/// [`EpochChanges::merge`] expects of each run.
pub fn consolidate_rows(changes: &mut Run) {
    consolidate_by(changes, |sum, diff| *sum += *diff, |sum| *sum == 0);
}

/// Sorts `changes` by row, adds the diffs of equal rows into the first of them (`add`) and
/// drops the rows whose sum `is_zero`: differential's `consolidate`, sorting in place. Its
/// stable sort takes a scratch buffer half the vector's size and moves every element through
/// it; equal rows are summed anyway, so their order among themselves does not matter. The one
/// consolidation of the workspace: the dataflows' operators call it with differential's
/// `Semigroup`.
pub fn consolidate_by<T: Ord, R>(
    changes: &mut Vec<(T, R)>,
    mut add: impl FnMut(&mut R, &R),
    mut is_zero: impl FnMut(&R) -> bool,
) {
    changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    changes.dedup_by(|(row, diff), (kept, sum)| {
        let same = row == kept;
        if same {
            add(sum, diff);
        }
        same
    });
    changes.retain(|(_, sum)| !is_zero(sum));
}

/// Two consolidated runs merged into one consolidated run.
fn merge_two(a: Run, b: Run) -> Run {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some((x, _)), Some((y, _))) = (a.peek(), b.peek()) {
        match x.cmp(y) {
            Ordering::Less => merged.extend(a.next()),
            Ordering::Greater => merged.extend(b.next()),
            Ordering::Equal => {
                let (Some((row, m)), Some((_, n))) = (a.next(), b.next()) else {
                    unreachable!("both peeked");
                };
                if m + n != 0 {
                    merged.push((row, m + n));
                }
            }
        }
    }
    merged.extend(a);
    merged.extend(b);
    merged
}

impl From<Vec<(ViewRow, isize)>> for EpochChanges {
    /// [`EpochChanges::consolidate`].
    fn from(changes: Vec<(ViewRow, isize)>) -> Self {
        EpochChanges::consolidate(changes)
    }
}

impl Deref for EpochChanges {
    type Target = [(ViewRow, isize)];

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rows_are_sorted_once_each_and_cancelled_rows_dropped() {
        let row = |t: i64| ViewRow::AsOf(t);
        let changes = vec![
            (row(3), 1),
            (row(1), 1),
            (row(2), 1),
            (row(3), -1),
            (row(1), 1),
            (row(2), -2),
        ];
        let consolidated = EpochChanges::consolidate(changes);
        assert_eq!(&consolidated[..], &[(row(1), 2), (row(2), -1)]);
        let shared = consolidated.clone();
        assert!(std::ptr::eq(shared.as_ptr(), consolidated.as_ptr()));
        let consolidated = consolidated.try_into_vec().unwrap_err();
        drop(shared);
        assert_eq!(consolidated.try_into_vec().unwrap().len(), 2);
    }

    proptest! {
        /// Runs consolidated apart and merged give what consolidating them together gives.
        #[test]
        fn merged_runs_are_consolidated_together(
            runs in proptest::collection::vec(
                proptest::collection::vec((0i64..30, -2isize..3), 0..60),
                0..4,
            ),
        ) {
            let rows = |run: &Vec<(i64, isize)>| -> Vec<(ViewRow, isize)> {
                run.iter().map(|(t, d)| (ViewRow::AsOf(*t), *d)).collect()
            };
            let together = EpochChanges::consolidate(runs.iter().flat_map(rows).collect());
            let apart = runs
                .iter()
                .map(|run| {
                    let mut run = rows(run);
                    consolidate_rows(&mut run);
                    run
                })
                .collect();
            prop_assert_eq!(EpochChanges::merge(apart), together);
        }
    }
}
