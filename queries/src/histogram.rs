//! A fixed-bucket histogram of durations, as Prometheus histograms are: the engine records
//! each epoch's processing time in one (`pulso_epoch_duration_seconds`), and the alert
//! evaluator estimates a quantile over a window from two of its snapshots, the way
//! `histogram_quantile(q, rate(..._bucket[w]))` does.

use serde::{Deserialize, Serialize};

/// Upper bounds (seconds) of the epoch-duration buckets (`+Inf` follows).
pub const EPOCH_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Counts of observed durations per bucket of [`EPOCH_BUCKETS`], since start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    pub counts: Vec<u64>,
    /// Sum of the observed durations, in seconds.
    pub sum: f64,
    /// Observations.
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; EPOCH_BUCKETS.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    /// Records one duration of `seconds`.
    pub fn observe(&mut self, seconds: f64) {
        let slot = EPOCH_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(EPOCH_BUCKETS.len());
        if let Some(count) = self.counts.get_mut(slot) {
            *count += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    /// Cumulative counts per bucket (`le` of each bound, then `+Inf`), as exported.
    pub fn cumulative(&self) -> Vec<u64> {
        self.counts
            .iter()
            .scan(0, |total, c| {
                *total += c;
                Some(*total)
            })
            .collect()
    }

    /// The `q` quantile (0..=1) of the durations observed since `earlier` (a snapshot of this
    /// histogram), interpolated linearly within its bucket as Prometheus'
    /// `histogram_quantile` does; `None` without observations. Observations in `+Inf` give
    /// the last finite bound.
    pub fn quantile_since(&self, earlier: &Histogram, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .zip(earlier.counts.iter().chain(std::iter::repeat(&0)))
            .map(|(now, then)| now.saturating_sub(*then))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, count) in counts.iter().enumerate() {
            let upto = below + count;
            if (upto as f64) >= rank && *count > 0 {
                let Some(&upper) = EPOCH_BUCKETS.get(i) else {
                    return EPOCH_BUCKETS.last().copied();
                };
                let lower = if i == 0 { 0.0 } else { EPOCH_BUCKETS[i - 1] };
                let within = (rank - below as f64) / *count as f64;
                return Some(lower + (upper - lower) * within);
            }
            below = upto;
        }
        EPOCH_BUCKETS.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cumulate_and_quantiles_interpolate() {
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.observe(0.02);
        }
        h.observe(0.7);
        assert_eq!(h.count, 100);
        let cumulative = h.cumulative();
        assert_eq!(cumulative[2], 99);
        assert_eq!(*cumulative.last().unwrap(), 100);
        let empty = Histogram::default();
        // p99 falls in the 0.01..0.025 bucket, p100 in 0.5..1.
        let p99 = h.quantile_since(&empty, 0.99).unwrap();
        assert!(p99 > 0.01 && p99 <= 0.025, "{p99}");
        assert_eq!(h.quantile_since(&empty, 1.0), Some(1.0));
        // Only what was observed since the snapshot counts.
        let snapshot = h.clone();
        assert_eq!(h.quantile_since(&snapshot, 0.99), None);
        h.observe(60.0);
        assert_eq!(h.quantile_since(&snapshot, 0.99), Some(30.0));
    }
}
