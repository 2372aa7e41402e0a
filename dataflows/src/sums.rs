//! `Sums`: a vector of integer totals used as a differential *difference* type, so that an
//! aggregate view is maintained by adding and retracting contributions, never by rescanning.

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
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
pub struct Sums(pub [i64; WIDTH]);

impl Sums {
    /// Totals with the given leading values and zeros after them.
    pub fn of(values: &[i64]) -> Sums {
        let mut sums = [0; WIDTH];
        sums[..values.len()].copy_from_slice(values);
        Sums(sums)
    }

    /// Total number `i`.
    pub fn get(&self, i: usize) -> i64 {
        self.0[i]
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
            *a *= *rhs as i64;
        }
        self
    }
}
