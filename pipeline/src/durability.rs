//! Failures on the durability path (raw archive, progress records, the output consumer): a
//! write is retried with doubling back-off for a bounded time; while it fails the engine is
//! reported failing (`/health` 503, `pulso_durability_failing`), and once retries are spent
//! the failure is fatal: no progress record or offset commit goes past it, and `pulso run`
//! stops with a non-zero exit rather than run on with a hole in its recovery log.

use std::fmt::Display;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pulso_queries::ViewStore;

/// Attempts of a durable write: the first and five retries, 100 ms, 200 ms... 1.6 s apart
/// (3.1 s of waiting in all).
const ATTEMPTS: u32 = 6;
/// The first back-off.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The state of the durability path, shared by the archiving sources, the output consumer
/// and the run loop. The current failure lives in the serving store (which `/health` and
/// `/metrics` read); this adds whether it is fatal.
#[derive(Clone, Debug)]
pub struct Durability {
    store: Arc<ViewStore>,
    /// Whether retries were spent: the engine must stop. Guards the store's failure too, so a
    /// fatal failure is never replaced.
    fatal: Arc<Mutex<bool>>,
}

impl Durability {
    /// The durability path of the run serving `store`.
    pub fn new(store: Arc<ViewStore>) -> Self {
        Durability {
            store,
            fatal: Arc::default(),
        }
    }

    /// Runs `write` until it succeeds, at most [`ATTEMPTS`] times with doubling back-off,
    /// reporting each failure (`what` names the write; it is only called on failure). After
    /// the last attempt the failure becomes fatal and the error is returned.
    pub fn write<T, E: Display>(
        &self,
        what: impl Fn() -> String,
        mut write: impl FnMut() -> Result<T, E>,
    ) -> Result<T, E> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match write() {
                Ok(value) => {
                    if attempt > 1 {
                        self.recovered();
                    }
                    return Ok(value);
                }
                Err(error) if attempt < ATTEMPTS => {
                    let what = what();
                    tracing::error!(%error, attempt, "{what} failed; retrying");
                    self.report(format!("{what} failed: {error}"), false);
                    std::thread::sleep(backoff);
                    backoff *= 2;
                    attempt += 1;
                }
                Err(error) => {
                    let what = what();
                    tracing::error!(%error, attempt, "{what} failed; giving up");
                    self.report(format!("{what} failed {ATTEMPTS} times: {error}"), true);
                    return Err(error);
                }
            }
        }
    }

    /// Records a failure; `fatal` ones stay.
    pub fn report(&self, reason: String, fatal: bool) {
        let mut is_fatal = self.lock();
        if !*is_fatal {
            self.store.set_failure(Some(reason));
            *is_fatal = fatal;
        }
    }

    /// Clears a failure that was not fatal.
    fn recovered(&self) {
        if !*self.lock() {
            self.store.set_failure(None);
        }
    }

    /// Whether a failure was fatal: the run must stop.
    pub fn is_fatal(&self) -> bool {
        *self.lock()
    }

    /// The current failure, and whether it is fatal.
    pub fn failure(&self) -> Option<(String, bool)> {
        let fatal = self.lock();
        self.store.failure().map(|f| (f, *fatal))
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        self.fatal.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_recovers_clears_the_failure() {
        let durability = Durability::new(Arc::new(ViewStore::new()));
        let mut calls = 0;
        let result: Result<u32, String> = durability.write(
            || "the test write".into(),
            || {
                calls += 1;
                if calls < 3 {
                    Err(format!("failure {calls}"))
                } else {
                    Ok(calls)
                }
            },
        );
        assert_eq!(result, Ok(3));
        assert_eq!(durability.failure(), None);
    }

    #[test]
    fn a_write_that_keeps_failing_is_fatal_and_stays_so() {
        let durability = Durability::new(Arc::new(ViewStore::new()));
        let mut calls = 0;
        let result: Result<(), String> = durability.write(
            || "the test write".into(),
            || {
                calls += 1;
                Err("disk full".into())
            },
        );
        assert!(result.is_err());
        assert_eq!(calls, ATTEMPTS);
        let (reason, fatal) = durability.failure().unwrap();
        assert!(fatal && reason.contains("disk full"), "{reason}");
        // A later success does not hide it.
        let _: Result<(), String> = durability.write(|| "another write".into(), || Ok(()));
        assert!(durability.failure().unwrap().1);
    }
}
