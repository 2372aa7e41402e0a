//! The one trait every record source of the live loop implements (Kafka, the generator, the
//! in-memory source, the archiving and recovering wrappers) and the replay reads through (a
//! JSONL folder, the raw archive), with what a worker read in an epoch.

use std::sync::Arc;
use std::time::Duration;

use pulso_dataflows::Epoch;
use pulso_events::{Position, RejectReason, SourceRecord, Topic};

/// A source of records for one worker (a Kafka consumer of its partitions, a generator...).
pub trait RecordSource {
    /// Returns up to `max` records, waiting at most `timeout`; `None` when the source is
    /// finished for good.
    fn poll(&mut self, max: usize, timeout: Duration) -> Option<Vec<SourceRecord>>;

    /// Records rejected before a restart, counted per (topic, reason): the live loop feeds
    /// them to the views once, at start (the records themselves are in the dead-letter topic).
    fn restored_rejections(&mut self) -> Vec<(Topic, RejectReason, u64)> {
        Vec::new()
    }

    /// Whether the source has a backlog: records waiting to be read beyond what one poll
    /// takes. The live loop keeps an epoch open longer while it does. Sources that cannot
    /// tell say no.
    fn behind(&self) -> bool {
        false
    }

    /// Called when `epoch` is closed, with what was read in it: the accepted records with their
    /// event times and where each rejected record was, before its views are computed (e.g.
    /// archive them durably). A source may take what it keeps (the archiving wrapper takes
    /// the accepted records), so a wrapper hands `read` to its inner source first.
    fn epoch_read(&mut self, _epoch: Epoch, _read: &mut EpochRead) {}

    /// Called once an epoch's views are complete, epochs in order: the records read up to its
    /// end are processed (e.g. commit consumer-group offsets). Later epochs may have been read
    /// already (the live loop reads the next epochs while the views work on this one), so a
    /// source keeps its positions as of each [`RecordSource::epoch_read`]. The epoch's
    /// `EpochClosed` is already on its way to the consumer, so this may wait for the consumer
    /// to have handled it (every event of the epoch, its rejections included, is sent before
    /// it).
    fn epoch_processed(&mut self, _epoch: Epoch) {}

    /// Why the source ended, when `poll` returned `None` on a failure rather than at the end
    /// of its records (a batch source's read error, which fails a replay). Live sources
    /// report their failures otherwise and keep polling.
    fn failure(&mut self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        None
    }
}

/// What one worker read in an epoch.
#[derive(Debug, Default)]
pub struct EpochRead {
    /// The accepted records and their event times, in reading order.
    pub accepted: Vec<(SourceRecord, i64)>,
    /// The topic, position and reason of every rejected record.
    pub rejected: Vec<(Topic, Position, RejectReason)>,
}

/// Builds worker `index` of `peers`'s source.
pub type SourceFactory = Arc<dyn Fn(usize, usize) -> Box<dyn RecordSource> + Send + Sync>;
