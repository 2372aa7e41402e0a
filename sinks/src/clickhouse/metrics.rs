//! The sink's counters, shared between the writer and whoever watches it (`/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
struct Counters {
    epochs_written: AtomicU64,
    rows_written: AtomicU64,
    failures: AtomicU64,
    retries: AtomicU64,
    /// The last epoch written plus one; 0 when none was.
    last_written_epoch: AtomicU64,
    pending_epochs: AtomicU64,
}

/// Counters of a ClickHouse sink; clones share the same counters.
#[derive(Clone, Debug, Default)]
pub struct SinkMetrics(Arc<Counters>);

impl SinkMetrics {
    /// Epochs written completely.
    pub fn epochs_written(&self) -> u64 {
        self.0.epochs_written.load(Ordering::Relaxed)
    }

    /// Rows inserted into the storage tables (current rows and tombstones, counting rows sent
    /// again by retries).
    pub fn rows_written(&self) -> u64 {
        self.0.rows_written.load(Ordering::Relaxed)
    }

    /// Operations (connecting, writing an epoch, reading) that failed for good: a permanent
    /// error, or retryable ones past the retry policy's `max_elapsed`.
    pub fn failures(&self) -> u64 {
        self.0.failures.load(Ordering::Relaxed)
    }

    /// Requests that failed with a retryable error and were sent again.
    pub fn retries(&self) -> u64 {
        self.0.retries.load(Ordering::Relaxed)
    }

    /// The last epoch written completely, if any.
    pub fn last_written_epoch(&self) -> Option<u64> {
        self.0
            .last_written_epoch
            .load(Ordering::Acquire)
            .checked_sub(1)
    }

    /// Epochs handed to the background writer and not written yet (the sink's lag).
    pub fn pending_epochs(&self) -> u64 {
        self.0.pending_epochs.load(Ordering::Relaxed)
    }

    pub(crate) fn add_rows(&self, rows: u64) {
        self.0.rows_written.fetch_add(rows, Ordering::Relaxed);
    }

    pub(crate) fn add_failure(&self) {
        self.0.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_retry(&self) {
        self.0.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn epoch_written(&self, epoch: u64) {
        self.0.epochs_written.fetch_add(1, Ordering::Relaxed);
        self.0
            .last_written_epoch
            .store(epoch.saturating_add(1), Ordering::Release);
    }

    pub(crate) fn add_pending(&self) {
        self.0.pending_epochs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn remove_pending(&self) {
        self.0.pending_epochs.fetch_sub(1, Ordering::Relaxed);
    }
}
