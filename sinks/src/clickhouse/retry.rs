//! Retrying a request with exponential backoff and full jitter: attempt `n` (from 0) that
//! fails with a retryable error is followed by a pause drawn uniformly from
//! `[0, min(max_ms, initial_ms * 2^n)]` milliseconds, until it succeeds, fails permanently, or
//! `max_elapsed` (when set) would be exceeded.

use std::time::{Duration, Instant};

use rand::Rng;

use serde::{Deserialize, Deserializer};

use super::error::ClickHouseError;
use super::metrics::SinkMetrics;

/// How retryable errors are retried.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// The first pause's upper bound, in milliseconds.
    pub initial_ms: u64,
    /// The largest pause's upper bound, in milliseconds.
    pub max_ms: u64,
    /// Give up (returning [`ClickHouseError::GaveUp`]) once retrying has lasted this long;
    /// `None` retries for ever. In configuration files: whole milliseconds.
    #[serde(deserialize_with = "millis")]
    pub max_elapsed: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 100 ms doubling up to 10 s, for ever.
    fn default() -> Self {
        RetryPolicy {
            initial_ms: 100,
            max_ms: 10_000,
            max_elapsed: None,
        }
    }
}

/// `max_elapsed` from an optional number of milliseconds.
fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
}

impl RetryPolicy {
    /// The upper bound of the pause after failed attempt `attempt` (from 0).
    pub fn cap(&self, attempt: u32) -> Duration {
        let factor = 1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX);
        Duration::from_millis(self.initial_ms.saturating_mul(factor).min(self.max_ms))
    }

    /// Runs `op` until it succeeds or fails permanently, pausing between retryable failures.
    /// Every retry is counted in `metrics` and logged with `what`.
    pub(crate) fn run<T>(
        &self,
        what: &str,
        metrics: &SinkMetrics,
        mut op: impl FnMut() -> Result<T, ClickHouseError>,
    ) -> Result<T, ClickHouseError> {
        let start = Instant::now();
        let mut rng = rand::thread_rng();
        let mut attempt = 0u32;
        loop {
            let error = match op() {
                Ok(value) => return Ok(value),
                Err(e) if e.is_permanent() => return Err(e),
                Err(e) => e,
            };
            let pause = full_jitter(&mut rng, self.cap(attempt));
            let elapsed = start.elapsed();
            if let Some(max) = self.max_elapsed {
                if elapsed + pause > max {
                    return Err(ClickHouseError::GaveUp {
                        attempts: attempt + 1,
                        elapsed,
                        last: Box::new(error),
                    });
                }
            }
            metrics.add_retry();
            tracing::warn!(
                "clickhouse: {what} failed (attempt {}), retrying in {pause:?}: {error}",
                attempt + 1
            );
            std::thread::sleep(pause);
            attempt = attempt.saturating_add(1);
        }
    }
}

/// A pause drawn uniformly from `[0, cap]` (millisecond resolution): "full jitter".
fn full_jitter(rng: &mut impl Rng, cap: Duration) -> Duration {
    let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.gen_range(0..=cap_ms))
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn full_jitter_stays_within_the_cap_and_spreads() {
        let mut rng = StdRng::seed_from_u64(7);
        let cap = Duration::from_millis(400);
        let pauses: Vec<Duration> = (0..1_000).map(|_| full_jitter(&mut rng, cap)).collect();
        assert!(pauses.iter().all(|p| *p <= cap));
        // Uniform over [0, 400] ms: both halves are drawn.
        assert!(pauses.iter().any(|p| p.as_millis() < 100));
        assert!(pauses.iter().any(|p| p.as_millis() > 300));
        assert_eq!(full_jitter(&mut rng, Duration::ZERO), Duration::ZERO);
    }
}
