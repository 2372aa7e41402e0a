//! One closed epoch's view changes, consolidated once and shared by every consumer of the
//! epoch (the serving store, ClickHouse), so none of them sorts, sums or copies them again.

use std::ops::Deref;
use std::sync::Arc;

use super::ViewRow;

/// The consolidated changes of one epoch: sorted by row, each row once, no zero diff. A clone
/// is another handle on the same changes.
///
/// # Contract
///
/// Built only by [`EpochChanges::consolidate`], so every holder may rely on the order and
/// the uniqueness of its rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochChanges(Arc<Vec<(ViewRow, isize)>>);

impl EpochChanges {
    /// Sorts `changes` by row and sums the diffs of equal rows, dropping those that cancel.
    pub fn consolidate(mut changes: Vec<(ViewRow, isize)>) -> EpochChanges {
        changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // In place: each row's changes summed into its first, then the rows that cancel out.
        changes.dedup_by(|(row, diff), (kept, sum)| {
            let same = row == kept;
            if same {
                *sum += *diff;
            }
            same
        });
        changes.retain(|(_, d)| *d != 0);
        EpochChanges(Arc::new(changes))
    }

    /// The changes themselves when this is their only handle (no copy), else `self` back.
    pub fn try_into_vec(self) -> Result<Vec<(ViewRow, isize)>, EpochChanges> {
        Arc::try_unwrap(self.0).map_err(EpochChanges)
    }
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
}
