//! `Sums`: a vector of integer totals used as a differential *difference* type, so that an
//! aggregate view is maintained by adding and retracting contributions, never by rescanning.
//! The totals are 128-bit: no sum of accepted values overflows (EVENTS.md limits each value;
//! see `pulso_events::money`).

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use pulso_events::money::saturate;
use serde::{Deserialize, Serialize};

/// How many totals a [`Sums`] holds (the widest view needs 11).
pub const WIDTH: usize = 12;

/// Integer totals that add element-wise; the difference type of the aggregate views.
///
/// # Contract
/// A row of an aggregate view is present exactly when its totals are not all zero, so every
/// view keeps one total that is positive for every present row (e.g. `sent`, `mentions`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Sums(pub [i128; WIDTH]);

impl Sums {
    /// Totals with the given leading values and zeros after them.
    pub fn of(values: &[i64]) -> Sums {
        let mut sums = [0; WIDTH];
        for (sum, value) in sums.iter_mut().zip(values) {
            *sum = i128::from(*value);
        }
        Sums(sums)
    }

    /// Total number `i`, exact.
    pub fn get(&self, i: usize) -> i128 {
        self.0[i]
    }

    /// Total number `i` as a count or level column (see [`saturate`]).
    pub fn count(&self, i: usize) -> i64 {
        saturate(self.0[i], "a total")
    }
}

impl IsZero for Sums {
    fn is_zero(&self) -> bool {
        self.0.iter().all(|x| *x == 0)
    }
}

impl Semigroup for Sums {
    fn plus_equals(&mut self, rhs: &Self) {
        for (a, b) in self.0.iter_mut().zip(rhs.0.iter()) {
            *a += *b;
        }
    }
}

impl Monoid for Sums {
    fn zero() -> Self {
        Sums::default()
    }
}

impl Abelian for Sums {
    fn negate(&mut self) {
        for a in self.0.iter_mut() {
            *a = -*a;
        }
    }
}

impl Multiply<isize> for Sums {
    type Output = Sums;
    fn multiply(mut self, rhs: &isize) -> Sums {
        for a in self.0.iter_mut() {
            *a *= *rhs as i128;
        }
        self
    }
}
