//! The raw archive written beside a live worker: each epoch's accepted records go to a thread
//! of the worker's own, which encodes, compresses and fsyncs them while the worker goes on
//! with the views. Written inline, an epoch's files held the worker for their encoding and
//! two rounds of fsyncs (files, then folders) every epoch, time the views then waited.
//!
//! Epochs are written in the order they are queued; [`ArchiveThread::wait_for`] tells when an
//! epoch's files are durable (an epoch's progress record is written only then). Failed writes
//! are retried and reported through the run's [`Durability`]; after one fails for good the
//! thread writes nothing more.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use pulso_events::SourceRecord;
use pulso_sinks::archive::ArchiveWriter;

use crate::durability::Durability;

/// Epochs queued for the thread before the worker waits for it to catch up: the records of a
/// queued epoch are held in memory.
pub const ARCHIVE_EPOCHS_QUEUED: usize = 2;

/// One epoch to archive: its archive number and accepted records with their event times.
type Job = (u64, Vec<(SourceRecord, i64)>);

/// How far the thread has written.
#[derive(Debug, Default)]
struct Written {
    /// The last archive epoch whose files are durable.
    through: Option<u64>,
    /// Whether a write failed for good.
    failed: bool,
}

/// A worker's archive-writing thread (joined on drop, after the epochs queued are written).
#[derive(Debug)]
pub struct ArchiveThread {
    jobs: Option<SyncSender<Job>>,
    written: Arc<(Mutex<Written>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl ArchiveThread {
    /// Starts the thread that writes with `writer`, retrying through `durability`.
    pub fn spawn(mut writer: ArchiveWriter, durability: Durability) -> std::io::Result<Self> {
        let (jobs, queue) = sync_channel::<Job>(ARCHIVE_EPOCHS_QUEUED);
        let written = Arc::new((Mutex::new(Written::default()), Condvar::new()));
        let shared = Arc::clone(&written);
        let handle = std::thread::Builder::new()
            .name(format!("archive-{}", writer.worker()))
            .spawn(move || {
                for (epoch, accepted) in queue {
                    let what = || format!("writing epoch {epoch} of the raw archive");
                    // The accepted records are encoded in place, their bytes not copied.
                    let ok = durability
                        .write(what, || writer.write_accepted(epoch, &accepted))
                        .is_ok();
                    let (lock, changed) = &*shared;
                    let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    match ok {
                        true => state.through = Some(epoch),
                        false => state.failed = true,
                    }
                    changed.notify_all();
                    if !ok {
                        break;
                    }
                }
            })?;
        Ok(ArchiveThread {
            jobs: Some(jobs),
            written,
            handle: Some(handle),
        })
    }

    /// Queues archive epoch `epoch` (epochs in increasing order, every one queued, empty or
    /// not), waiting while [`ARCHIVE_EPOCHS_QUEUED`] are. False once a write has failed.
    pub fn write(&self, epoch: u64, accepted: Vec<(SourceRecord, i64)>) -> bool {
        self.jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send((epoch, accepted)).is_ok())
    }

    /// Waits until archive epoch `epoch` (queued) is durable: true, or false if a write failed.
    pub fn wait_for(&self, epoch: u64) -> bool {
        let (lock, changed) = &*self.written;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while !state.failed && state.through.is_none_or(|through| through < epoch) {
            state = changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        !state.failed
    }
}

impl Drop for ArchiveThread {
    fn drop(&mut self) {
        // Closing the queue ends the thread once the epochs queued are written.
        self.jobs.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
