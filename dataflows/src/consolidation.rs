//! Consolidation of an operator's changes: `pulso_events`' one consolidation
//! ([`consolidate_by`]), summing with differential's [`Semigroup`].

use differential_dataflow::difference::Semigroup;
use pulso_events::views::consolidate_by;

/// Sorts `changes` by row, adds up the changes of equal rows and drops those that add up to
/// zero: what `differential_dataflow::consolidation::consolidate` does, sorting in place.
#[inline]
pub fn consolidate<T: Ord, R: Semigroup>(changes: &mut Vec<(T, R)>) {
    consolidate_by(changes, R::plus_equals, R::is_zero);
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
