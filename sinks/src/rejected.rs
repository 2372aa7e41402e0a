//! Rejected records as JSON lines: one object per record with where it was read, why it was
//! rejected, and its original bytes (as text, plus base64 when they are not UTF-8; `null` for
//! a Kafka tombstone, whose value was null).

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::Path;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use pulso_events::{Position, RejectReason, Topic};
use serde::Serialize;

use crate::parquet::atomic::write_atomically;
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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn rejected_records_are_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejected.jsonl");
        let records = [
            RejectedRecord {
                topic: Topic::Orders,
                position: Position {
                    partition: 2,
                    offset: 41,
                },
                reason: RejectReason::MissingField,
                detail: "field `order_id` is missing".into(),
                key: Some(b"o-1".to_vec()),
                value: br#"{"event_type":"ORDER_CREATED"}"#.to_vec(),
                tombstone: false,
            },
            RejectedRecord {
                topic: Topic::CasosCreados,
                position: Position::default(),
                reason: RejectReason::MalformedJson,
                detail: "not UTF-8".into(),
                key: None,
                value: vec![0xff, b'a', 0xfe],
                tombstone: false,
            },
            RejectedRecord {
                topic: Topic::Inventory,
                position: Position::default(),
                reason: RejectReason::MalformedJson,
                detail: pulso_events::TOMBSTONE_DETAIL.into(),
                key: Some(b"sku-1".to_vec()),
                value: Vec::new(),
                tombstone: true,
            },
        ];
        write_rejected_jsonl(&path, &records).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["rejected.jsonl"]);

        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "topic": "orders.events", "partition": 2, "offset": 41,
                "reason": "missing_field", "detail": "field `order_id` is missing",
                "key": "o-1", "value": "{\"event_type\":\"ORDER_CREATED\"}",
            })
        );
        assert_eq!(lines[1]["topic"], "casos.creados");
        assert_eq!(lines[1]["key"], serde_json::Value::Null);
        assert_eq!(lines[1]["value"], "\u{fffd}a\u{fffd}");
        assert_eq!(lines[1]["value_base64"], "/2H+");
        // A tombstone's value is null, not an empty string.
        assert_eq!(lines[2]["value"], serde_json::Value::Null);
        assert_eq!(lines[2]["detail"], "null value (Kafka tombstone)");
        assert!(lines[2].get("value_base64").is_none());
        assert!(text.starts_with(r#"{"topic":"orders.events","partition":2,"offset":41,"#));
    }
}
