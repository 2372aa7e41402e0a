//! [`RowTotals`]: how `sum_windows` holds a windowed row's totals between its changes.
//!
//! A [`Sums<N>`] is `16 × N` bytes: 160 for a `notification_rates` row, whose totals are
//! mostly small counts. Rows of narrow views (one to three totals) hold their `Sums` as it
//! is; rows of wider views hold them packed (each total a zigzag varint, one to three bytes
//! for a count) in a byte string of their exact length, unpacked when the row changes. At
//! the default horizons a run holds hundreds of thousands of such rows (a week of minute
//! windows), so this is most of what the aggregate rows take.

use crate::pack::{put_varint, take_varint, unzigzag, zigzag};
use crate::sums::Sums;

/// The form in which a row's `Sums<N>` is held.
pub trait RowTotals: Sized {
    /// The held form (its default stands for all-zero totals).
    type Held: Default;
    /// The held form of `self`.
    fn hold(&self) -> Self::Held;
    /// The totals `held` stands for.
    fn from_held(held: &Self::Held) -> Self;
}

/// Narrow totals are held as they are.
macro_rules! inline {
    ($($n:literal),*) => {$(
        impl RowTotals for Sums<$n> {
            type Held = Sums<$n>;
            fn hold(&self) -> Sums<$n> {
                *self
            }
            fn from_held(held: &Sums<$n>) -> Self {
                *held
            }
        }
    )*};
}

/// Wide totals are held packed.
macro_rules! packed {
    ($($n:literal),*) => {$(
        impl RowTotals for Sums<$n> {
            type Held = Box<[u8]>;
            fn hold(&self) -> Box<[u8]> {
                pack(&self.0)
            }
            fn from_held(held: &Box<[u8]>) -> Self {
                Sums(unpack(held))
            }
        }
    )*};
}

inline!(1, 2, 3);
packed!(4, 5, 6, 7, 8, 9, 10, 11, 12);

/// The totals as zigzag varints (none at all when every total is zero).
fn pack<const N: usize>(totals: &[i128; N]) -> Box<[u8]> {
    if totals.iter().all(|t| *t == 0) {
        return Box::default();
    }
    let mut out = Vec::with_capacity(N * 2);
    for total in totals {
        put_varint(&mut out, zigzag(*total));
    }
    out.into_boxed_slice()
}

/// The totals [`pack`] packed.
fn unpack<const N: usize>(mut bytes: &[u8]) -> [i128; N] {
    let mut totals = [0i128; N];
    if !bytes.is_empty() {
        for total in totals.iter_mut() {
            *total = unzigzag(take_varint(&mut bytes));
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zero_totals_take_no_bytes_and_counts_one_each() {
        let zero = Sums::<10>::default();
        assert!(zero.hold().is_empty());
        assert_eq!(Sums::<10>::from_held(&Box::default()), zero);
        let counts = Sums::<10>::of(&[1, 1, 0, 0, 0, 0, 0, 0, 0, 42]);
        assert_eq!(counts.hold().len(), 10);
        assert_eq!(Sums::<10>::from_held(&counts.hold()), counts);
    }

    proptest! {
        #[test]
        fn wide_totals_unpack_as_they_were(totals in proptest::array::uniform7(any::<i128>())) {
            let sums = Sums(totals);
            prop_assert_eq!(Sums::<7>::from_held(&sums.hold()), sums);
        }

        #[test]
        fn small_totals_unpack_as_they_were(totals in proptest::array::uniform12(-300i128..300)) {
            let sums = Sums(totals);
            prop_assert_eq!(Sums::<12>::from_held(&sums.hold()), sums);
        }
    }
}
