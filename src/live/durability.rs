//! Failures on the durability path (raw archive, progress records, the output consumer): a
//! write is retried with doubling back-off for a bounded time; while it fails the engine is
//! reported failing (`/health` 503, `pulso_durability_failing`), and once retries are spent
//! the failure is fatal: no progress record or offset commit goes past it, and `pulso run`
//! stops with a non-zero exit rather than run on with a hole in its recovery log.

use std::fmt::Display;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Attempts of a durable write: the first and five retries, 100 ms, 200 ms... 1.6 s apart
/// (3.1 s of waiting in all).
const ATTEMPTS: u32 = 6;
/// The first back-off.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The state of the durability path, shared by the archiving sources and the run loop.
#[derive(Clone, Debug, Default)]
pub struct Durability(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    /// The last failure, while writes fail (cleared by a success unless fatal).
    failure: Option<String>,
    /// Whether retries were spent: the engine must stop.
    fatal: bool,
}

impl Durability {
    /// Runs `write` until it succeeds, at most [`ATTEMPTS`] times with doubling back-off,
    /// reporting each failure (`what` names the write). After the last attempt the failure
    /// becomes fatal and the error is returned.
    pub fn write<T, E: Display>(
        &self,
        what: &str,
        mut write: impl FnMut() -> Result<T, E>,
    ) -> Result<T, E> {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1.. {
            match write() {
                Ok(value) => {
                    self.recovered();
                    return Ok(value);
                }
                Err(error) if attempt < ATTEMPTS => {
                    tracing::error!(%error, attempt, "{what} failed; retrying");
                    self.report(format!("{what} failed: {error}"), false);
                    std::thread::sleep(backoff);
                    backoff *= 2;
                }
                Err(error) => {
                    tracing::error!(%error, attempt, "{what} failed; giving up");
                    self.report(format!("{what} failed {ATTEMPTS} times: {error}"), true);
                    return Err(error);
                }
            }
        }
        unreachable!("the loop returns")
    }

    /// Records a failure; `fatal` ones stay.
    pub fn report(&self, reason: String, fatal: bool) {
        let mut state = self.lock();
        if !state.fatal {
            state.failure = Some(reason);
            state.fatal = fatal;
        }
    }

    /// Clears a failure that was not fatal.
    fn recovered(&self) {
        let mut state = self.lock();
        if !state.fatal {
            state.failure = None;
        }
    }

    /// The current failure, and whether it is fatal.
    pub fn failure(&self) -> Option<(String, bool)> {
        let state = self.lock();
        state.failure.clone().map(|f| (f, state.fatal))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_recovers_clears_the_failure() {
        let durability = Durability::default();
        let mut calls = 0;
        let result: Result<u32, String> = durability.write("the test write", || {
            calls += 1;
            if calls < 3 {
                Err(format!("failure {calls}"))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(result, Ok(3));
        assert_eq!(durability.failure(), None);
    }

    #[test]
    fn a_write_that_keeps_failing_is_fatal_and_stays_so() {
        let durability = Durability::default();
        let mut calls = 0;
        let result: Result<(), String> = durability.write("the test write", || {
            calls += 1;
            Err("disk full".into())
        });
        assert!(result.is_err());
        assert_eq!(calls, ATTEMPTS);
        let (reason, fatal) = durability.failure().unwrap();
        assert!(fatal && reason.contains("disk full"), "{reason}");
        // A later success does not hide it.
        let _: Result<(), String> = durability.write("another write", || Ok(()));
        assert!(durability.failure().unwrap().1);
    }
}
