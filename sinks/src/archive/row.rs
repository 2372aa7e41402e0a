//! What the archive writer reads of a record, in place: an [`ArchiveRecord`], or a live
//! run's accepted record with its event time, whose bytes are then encoded without a copy.

use pulso_events::time::Micros;
use pulso_events::{Position, RecordHeader, SourceRecord, Topic};

use super::write::ArchiveRecord;

/// A record as the archive writes it (its epoch is the writer's argument).
pub trait ArchiveRow: Sync {
    /// The topic.
    fn topic(&self) -> Topic;
    /// Partition and offset.
    fn position(&self) -> Position;
    /// The record key, when present.
    fn key(&self) -> Option<&[u8]>;
    /// The raw value bytes.
    fn value(&self) -> &[u8];
    /// Event time, UTC microseconds (decides the `date=` directory).
    fn timestamp(&self) -> Micros;
    /// The record's headers, in order.
    fn headers(&self) -> &[RecordHeader];
}

impl ArchiveRow for ArchiveRecord {
    fn topic(&self) -> Topic {
        self.topic
    }
    fn position(&self) -> Position {
        self.position
    }
    fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }
    fn value(&self) -> &[u8] {
        &self.value
    }
    fn timestamp(&self) -> Micros {
        self.timestamp
    }
    fn headers(&self) -> &[RecordHeader] {
        &self.headers
    }
}

/// An accepted record and its event time, as the live loop reads it.
impl ArchiveRow for (SourceRecord, Micros) {
    fn topic(&self) -> Topic {
        self.0.topic
    }
    fn position(&self) -> Position {
        self.0.position
    }
    fn key(&self) -> Option<&[u8]> {
        self.0.key.as_deref()
    }
    fn value(&self) -> &[u8] {
        &self.0.value
    }
    fn timestamp(&self) -> Micros {
        self.1
    }
    fn headers(&self) -> &[RecordHeader] {
        &self.0.headers
    }
}
