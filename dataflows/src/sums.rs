//! `Sums`: a vector of integer totals used as a differential *difference* type, so that an
//! aggregate view is maintained by adding and retracting contributions, never by rescanning.
//! The totals are 128-bit: no sum of accepted values overflows (EVENTS.md limits each value;
//! see `pulso_events::money`).

use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use pulso_events::money::saturate;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How many totals a [`Sums`] holds unless its view says otherwise (the widest view,
/// `pipeline_health`, needs 12).
pub const WIDTH: usize = 12;

/// `N` integer totals that add element-wise; the difference type of the aggregate views. Each
/// view picks its own `N` (a count view carries one total: 16 bytes per contribution, where
/// the widest needs 192), since every contribution of every event travels and is summed
/// with its whole width.
///
/// # Contract
/// A row of an aggregate view is present exactly when its totals are not all zero, so every
/// view keeps one total that is positive for every present row (e.g. `sent`, `mentions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sums<const N: usize = WIDTH>(pub [i128; N]);

impl<const N: usize> Default for Sums<N> {
    fn default() -> Self {
        Sums([0; N])
    }
}

/// Serialized as a tuple of `N` totals, like the array it wraps (no length prefix, no
/// allocation when read back).
impl<const N: usize> Serialize for Sums<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for total in &self.0 {
            tuple.serialize_element(total)?;
        }
        tuple.end()
    }
}

impl<'de, const N: usize> Deserialize<'de> for Sums<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Totals<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for Totals<N> {
            type Value = Sums<N>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "{N} totals")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sums<N>, A::Error> {
                let mut totals = [0; N];
                for (i, total) in totals.iter_mut().enumerate() {
                    *total = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(i, &self))?;
                }
                Ok(Sums(totals))
            }
        }
        deserializer.deserialize_tuple(N, Totals::<N>)
    }
}

impl<const N: usize> Sums<N> {
    /// Totals with the given leading values and zeros after them.
    pub fn of(values: &[i64]) -> Self {
        debug_assert!(values.len() <= N, "more values than totals");
        let mut sums = [0; N];
        for (sum, value) in sums.iter_mut().zip(values) {
            *sum = i128::from(*value);
        }
        Sums(sums)
    }

    /// Totals that are all zero but total number `index`, which is `value`.
    pub fn one_at(index: usize, value: i128) -> Self {
        let mut sums = Sums::default();
        sums.0[index] = value;
        sums
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

impl<const N: usize> IsZero for Sums<N> {
    fn is_zero(&self) -> bool {
        self.0.iter().all(|x| *x == 0)
    }
}

impl<const N: usize> Semigroup for Sums<N> {
    fn plus_equals(&mut self, rhs: &Self) {
        for (a, b) in self.0.iter_mut().zip(rhs.0.iter()) {
            *a += *b;
        }
    }
}

impl<const N: usize> Monoid for Sums<N> {
    fn zero() -> Self {
        Sums::default()
    }
}

impl<const N: usize> Abelian for Sums<N> {
    fn negate(&mut self) {
        for a in self.0.iter_mut() {
            *a = -*a;
        }
    }
}

impl<const N: usize> Multiply<isize> for Sums<N> {
    type Output = Sums<N>;
    fn multiply(mut self, rhs: &isize) -> Sums<N> {
        for a in self.0.iter_mut() {
            *a *= *rhs as i128;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_round_trip_through_serde() {
        let sums = Sums::<3>::of(&[7, -2, i64::MAX]);
        let json = serde_json::to_string(&sums).unwrap();
        assert_eq!(json, format!("[7,-2,{}]", i64::MAX));
        assert_eq!(serde_json::from_str::<Sums<3>>(&json).unwrap(), sums);
        assert!(serde_json::from_str::<Sums<3>>("[1,2]").is_err());
    }
}
