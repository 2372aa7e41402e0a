//! The serving store's writer: a thread of its own that applies each closed epoch's
//! consolidated changes to the store, and on process 0 files the rows retention expires in the
//! history and writes the Parquet view snapshots when they are due.
//!
//! The output consumer hands it the epochs and goes on draining the live loop's channel
//! meanwhile: applying an epoch is most of the consumer's work, and while one thread did both
//! the workers waited for the channel to empty again.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use pulso_events::views::EpochChanges;
use pulso_queries::ViewStore;
use pulso_sinks::parquet::HistoryWriter;

use crate::error::{PipelineError, Result};
use crate::read_lag::ReadLag;
use crate::snapshot::Snapshots;

/// Closed epochs waiting for the writer before the consumer waits (its backpressure).
const EPOCHS_WAITING: usize = 2;

/// What the writer files besides the store: process 0's history and snapshots.
pub(crate) struct Files {
    /// The rows retention expires from the store.
    pub history: HistoryWriter,
    /// The Parquet view snapshots.
    pub snapshots: Snapshots,
}

/// The sending side of a running writer.
pub(crate) struct StoreWriter {
    epochs: Option<SyncSender<(u64, EpochChanges)>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl StoreWriter {
    /// Starts the writer of `store`: each applied epoch is published to `lag`; `files` on
    /// process 0.
    pub(crate) fn start(store: Arc<ViewStore>, lag: ReadLag, files: Option<Files>) -> Result<Self> {
        let (epochs, receiver) = sync_channel::<(u64, EpochChanges)>(EPOCHS_WAITING);
        let thread = std::thread::Builder::new()
            .name("pulso-store".into())
            .spawn(move || {
                let mut files = files;
                let mut last_snapshot = Instant::now();
                for (epoch, changes) in receiver {
                    let expired = store.apply_changes(epoch, changes);
                    lag.published(epoch);
                    let Some(files) = &mut files else {
                        continue;
                    };
                    files.history.extend(expired, epoch)?;
                    if last_snapshot.elapsed() >= files.snapshots.interval() {
                        // History first: a reader of snapshot and history never misses a row.
                        files.history.publish(epoch)?;
                        files.snapshots.write_due(&store)?;
                        last_snapshot = Instant::now();
                    }
                }
                if let Some(files) = &mut files {
                    files.history.publish(store.epoch().map_or(0, |e| e + 1))?;
                    files.snapshots.write_all(&store)?;
                }
                Ok(())
            })
            .map_err(PipelineError::io(|| {
                "starting the store writer".to_string()
            }))?;
        Ok(StoreWriter {
            epochs: Some(epochs),
            thread: Some(thread),
        })
    }

    /// Hands `changes` of `epoch` to the writer; waits while it has [`EPOCHS_WAITING`] epochs
    /// to apply. Fails with the writer's error if it stopped.
    pub(crate) fn apply(&mut self, epoch: u64, changes: EpochChanges) -> Result<()> {
        if let Some(epochs) = &self.epochs {
            if epochs.send((epoch, changes)).is_ok() {
                return Ok(());
            }
        }
        // Only a failure stops the writer while epochs can still come.
        self.finish()
            .and(Err(PipelineError::ThreadPanicked("store writer")))
    }

    /// Applies what is left, writes the last history and snapshots, and stops the writer.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.epochs = None;
        match self.thread.take() {
            None => Ok(()),
            Some(thread) => thread
                .join()
                .unwrap_or(Err(PipelineError::ThreadPanicked("store writer"))),
        }
    }
}

impl Drop for StoreWriter {
    /// A consumer that stops early still waits for the epochs it handed over.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
