//! The background writer: a thread that owns a [`ClickHouseSink`] and writes the epochs it is
//! sent in order, behind a bounded queue so that a slow or unreachable server slows the
//! engine down (back-pressure) instead of growing memory.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use pulso_events::views::EpochChanges;

use super::error::ClickHouseError;
use super::metrics::SinkMetrics;
use super::sink::ClickHouseSink;
use super::ClickHouseConfig;

/// One closed epoch and its consolidated changes (shared with the serving store).
struct Job {
    epoch: u64,
    changes: EpochChanges,
}

/// The sending side of a background writer started by [`spawn_writer`].
///
/// Dropping it without [`WriterHandle::close`] lets the thread finish the queued epochs in
/// the background; `close` waits for them and reports the writer's error.
pub struct WriterHandle {
    sender: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<Result<(), ClickHouseError>>>,
    metrics: SinkMetrics,
}

/// Starts a thread that connects to ClickHouse (retrying while it is down) and writes every
/// epoch sent to the returned handle, in order. At most `capacity` epochs wait in the queue
/// (plus the one being written); `send` blocks while it is full. The thread stops at the first
/// error that retrying could not fix (a permanent one, or `max_elapsed` exceeded); `send` then
/// returns [`ClickHouseError::WriterStopped`] and `close` the error.
pub fn spawn_writer(config: ClickHouseConfig, capacity: usize) -> (WriterHandle, SinkMetrics) {
    let metrics = SinkMetrics::default();
    let (sender, receiver) = sync_channel::<Job>(capacity);
    let thread_metrics = metrics.clone();
    let thread = std::thread::Builder::new()
        .name("pulso-clickhouse-writer".into())
        .spawn(move || {
            let mut sink = ClickHouseSink::connect_with_metrics(config, thread_metrics.clone())
                .inspect_err(|e| tracing::error!("clickhouse writer: cannot connect: {e}"))?;
            for job in receiver {
                let result = sink.write_epoch(job.epoch, &job.changes);
                thread_metrics.remove_pending();
                if let Err(e) = result {
                    tracing::error!("clickhouse writer: epoch {} not written: {e}", job.epoch);
                    return Err(e);
                }
            }
            Ok(())
        })
        .expect("spawning the ClickHouse writer thread");
    let handle = WriterHandle {
        sender: Some(sender),
        thread: Some(thread),
        metrics: metrics.clone(),
    };
    (handle, metrics)
}

impl WriterHandle {
    /// Queues the changes of the closed epoch `epoch`, blocking while the queue is full: an
    /// [`EpochChanges`] is shared as it is (the live consumer's, consolidated once for every
    /// output), a `Vec` is consolidated first. Fails when the writer has stopped after an
    /// error.
    pub fn send(
        &self,
        epoch: u64,
        changes: impl Into<EpochChanges>,
    ) -> Result<(), ClickHouseError> {
        let changes = changes.into();
        let sender = self.sender.as_ref().ok_or(ClickHouseError::WriterStopped)?;
        self.metrics.add_pending();
        sender.send(Job { epoch, changes }).map_err(|_| {
            self.metrics.remove_pending();
            ClickHouseError::WriterStopped
        })
    }

    /// The writer's counters.
    pub fn metrics(&self) -> &SinkMetrics {
        &self.metrics
    }

    /// Closes the queue, waits until every queued epoch is written, and returns the error
    /// that stopped the writer, if any.
    pub fn close(mut self) -> Result<(), ClickHouseError> {
        self.sender = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ClickHouseError::WriterStopped),
            None => Ok(()),
        }
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        // Closing the queue lets the thread end once it has written what was queued.
        self.sender = None;
    }
}
