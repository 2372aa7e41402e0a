//! Rejected records as JSON lines: one object per record with where it was read, why it was
//! rejected, and its original bytes (as text, plus base64 when they are not UTF-8; `null` for
//! a Kafka tombstone, whose value was null).

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::Path;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use pulso_events::{Position, RejectReason, Topic};
use serde::Serialize;

use super::atomic::write_atomically;
use crate::SinkError;

/// A record the engine rejected, with its original key and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRecord {
    /// The topic it was read from.
    pub topic: Topic,
    /// Where it was read.
    pub position: Position,
    /// Why it was rejected.
    pub reason: RejectReason,
    /// Human text naming the offending field.
    pub detail: String,
    /// The record's key, if it had one.
    pub key: Option<Vec<u8>>,
    /// The record's value, as read (empty for a tombstone).
    pub value: Vec<u8>,
    /// Whether the value was null (a Kafka tombstone): the line's `value` is then `null`.
    pub tombstone: bool,
}

/// One JSON line of [`write_rejected_jsonl`].
#[derive(Serialize)]
struct Line<'a> {
    topic: &'static str,
    partition: i32,
    offset: i64,
    reason: &'static str,
    detail: &'a str,
    key: Option<Cow<'a, str>>,
    value: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_base64: Option<String>,
}

impl RejectedRecord {
    fn line(&self) -> Line<'_> {
        let utf8 = std::str::from_utf8(&self.value).is_ok();
        Line {
            topic: self.topic.name(),
            partition: self.position.partition,
            offset: self.position.offset,
            reason: self.reason.as_str(),
            detail: &self.detail,
            key: self.key.as_deref().map(String::from_utf8_lossy),
            value: (!self.tombstone).then(|| String::from_utf8_lossy(&self.value)),
            value_base64: (!utf8).then(|| BASE64_STANDARD.encode(&self.value)),
        }
    }

    /// The record as one JSON object: `topic`, `partition`, `offset`, `reason`, `detail`,
    /// `key` (lossy UTF-8, or null), `value` (lossy UTF-8, or null for a tombstone) and, only
    /// when the value is not valid UTF-8, `value_base64` holding its exact bytes.
    pub fn to_json_line(&self) -> Result<String, SinkError> {
        Ok(serde_json::to_string(&self.line())?)
    }
}

/// Writes `rejected` to `path` as JSON lines (see [`RejectedRecord::to_json_line`]),
/// atomically: the file is replaced whole or not at all.
pub fn write_rejected_jsonl(path: &Path, rejected: &[RejectedRecord]) -> Result<(), SinkError> {
    write_atomically(path, |file| {
        let mut out = BufWriter::new(file);
        for record in rejected {
            serde_json::to_writer(&mut out, &record.line())?;
            out.write_all(b"\n").map_err(SinkError::io(path))?;
        }
        out.into_inner()
            .map_err(|e| SinkError::io(path)(e.into_error()))
    })
}
