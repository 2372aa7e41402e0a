//! The record sources of the batch commands: a JSONL folder read as the replay goes
//! (`pulso replay`) and the raw archive in its live run's epochs (`pulso backfill`,
//! `pulso verify`). Both are read on the replay's calling thread, one poll per epoch.

use std::time::Duration;

use pulso_connectors::jsonl::{JsonlStream, SourceError};
use pulso_events::{RejectReason, SourceRecord, Topic};

use crate::record_source::RecordSource;

/// A JSONL folder's records in `pulso replay`'s interleaved order
/// ([`pulso_connectors::jsonl::stream_dir`]); a poll of `max` returns the next `max` records
/// (fewer at the end only). A read error ends the source; [`RecordSource::failure`] has it.
#[derive(Debug)]
pub struct JsonlSource {
    stream: JsonlStream,
    failure: Option<SourceError>,
}

impl JsonlSource {
    /// The records of `stream`.
    pub fn new(stream: JsonlStream) -> Self {
        JsonlSource {
            stream,
            failure: None,
        }
    }

    /// Records of every topic file, read or not.
    pub fn total(&self) -> u64 {
        self.stream.total()
    }
}

impl RecordSource for JsonlSource {
    fn poll(&mut self, max: usize, _timeout: Duration) -> Option<Vec<SourceRecord>> {
        if self.failure.is_some() {
            return None;
        }
        let max = max.max(1);
        let mut epoch = Vec::new();
        while epoch.len() < max {
            match self.stream.next() {
                Some(Ok(record)) => {
                    if epoch.is_empty() {
                        let total = usize::try_from(self.stream.total()).unwrap_or(usize::MAX);
                        epoch.reserve_exact(max.min(total));
                    }
                    epoch.push(record);
                }
                Some(Err(e)) => {
                    self.failure = Some(e);
                    return None;
                }
                None => break,
            }
        }
        (!epoch.is_empty()).then_some(epoch)
    }

    fn failure(&mut self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.failure
            .take()
            .map(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
    }
}

/// The raw archive's accepted records in the live run's epochs: a poll returns the rest of
/// the current epoch, at most `max` records of it (so a poll of `usize::MAX` is one archived
/// epoch), and the rejected counts of the archive's progress record are its restored
/// rejections.
#[derive(Debug)]
pub struct ArchiveSource {
    epochs: std::vec::IntoIter<Vec<SourceRecord>>,
    /// The rest of an epoch a poll of fewer records left.
    rest: Vec<SourceRecord>,
    rejected: Vec<(Topic, RejectReason, u64)>,
}

impl ArchiveSource {
    /// The archived `epochs` and the rejected counts of the progress record.
    pub fn new(epochs: Vec<Vec<SourceRecord>>, rejected: Vec<(Topic, RejectReason, u64)>) -> Self {
        ArchiveSource {
            epochs: epochs.into_iter(),
            rest: Vec::new(),
            rejected,
        }
    }
}

impl RecordSource for ArchiveSource {
    fn poll(&mut self, max: usize, _timeout: Duration) -> Option<Vec<SourceRecord>> {
        let mut epoch = match self.rest.is_empty() {
            true => self.epochs.next()?,
            false => std::mem::take(&mut self.rest),
        };
        if epoch.len() > max.max(1) {
            self.rest = epoch.split_off(max.max(1));
        }
        Some(epoch)
    }

    fn restored_rejections(&mut self) -> Vec<(Topic, RejectReason, u64)> {
        std::mem::take(&mut self.rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulso_events::Position;

    fn record(offset: i64) -> SourceRecord {
        let position = Position {
            partition: 0,
            offset,
        };
        SourceRecord::new(Topic::Orders, position, None, b"{}".to_vec())
    }

    #[test]
    fn the_archive_is_polled_in_its_epochs() {
        let epochs = vec![vec![record(0), record(1), record(2)], vec![record(3)]];
        let rejected = vec![(Topic::Orders, RejectReason::MalformedJson, 2)];
        let mut source = ArchiveSource::new(epochs, rejected.clone());
        assert_eq!(source.restored_rejections(), rejected);
        let offsets = |batch: Option<Vec<SourceRecord>>| -> Vec<i64> {
            batch.unwrap().iter().map(|r| r.position.offset).collect()
        };
        assert_eq!(offsets(source.poll(2, Duration::ZERO)), [0, 1]);
        assert_eq!(offsets(source.poll(usize::MAX, Duration::ZERO)), [2]);
        assert_eq!(offsets(source.poll(usize::MAX, Duration::ZERO)), [3]);
        assert!(source.poll(usize::MAX, Duration::ZERO).is_none());
        assert!(source.failure().is_none());
    }
}
