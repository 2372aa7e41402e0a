//! Consolidation that sorts in place: differential's `consolidate` sorts with a stable sort,
//! which takes a scratch buffer as large as half the vector (fresh pages for a large buffer of
//! changes) and moves every element through it. Equal rows are added up anyway, so their
//! order among themselves does not matter, and an unstable sort gives the same result.

use differential_dataflow::difference::Semigroup;

/// Sorts `changes` by row, adds up the changes of equal rows and drops those that add up to
/// zero: what `differential_dataflow::consolidation::consolidate` does, sorting in place.
pub fn consolidate<T: Ord, R: Semigroup>(changes: &mut Vec<(T, R)>) {
    changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    changes.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1.plus_equals(&next.1);
        }
        same
    });
    changes.retain(|(_, diff)| !diff.is_zero());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn consolidates_as_differential_does(
            changes in proptest::collection::vec((0u8..12, -2isize..3), 0..60),
        ) {
            let mut ours = changes.clone();
            consolidate(&mut ours);
            let mut theirs = changes;
            differential_dataflow::consolidation::consolidate(&mut theirs);
            prop_assert_eq!(ours, theirs);
        }
    }
}
