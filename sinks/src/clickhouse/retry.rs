//! Retrying a request with exponential backoff and full jitter: attempt `n` (from 0) that
//! fails with a retryable error is followed by a pause drawn uniformly from
//! `[0, min(max_ms, initial_ms * 2^n)]` milliseconds, until it succeeds, fails permanently, or
//! `max_elapsed` (when set) would be exceeded.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

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
        let mut rng = Jitter::new();
        let mut attempt = 0u32;
        loop {
            let error = match op() {
                Ok(value) => return Ok(value),
                Err(e) if e.is_permanent() => return Err(e),
                Err(e) => e,
            };
            let pause = rng.below(self.cap(attempt));
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

/// A small xorshift generator for the jitter, seeded from the process's random hasher keys.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(Instant::now().elapsed().as_nanos());
        Jitter(hasher.finish() | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A duration drawn uniformly from `[0, max]` (millisecond resolution).
    fn below(&mut self, max: Duration) -> Duration {
        let max_ms = max.as_millis() as u64;
        Duration::from_millis(self.next() % (max_ms + 1))
    }
}
