//! The event time of a record read without decoding it: the one field a source needs to hand
//! out the records of several partitions in event-time order (see the Kafka source's
//! alignment). Nothing is validated; the decoder alone decides what a record is.

use serde::Deserialize;

use super::raw::{time, Text};
use crate::time::Micros;
use crate::topic::Topic;

/// The fields that time a record: `timestamp` (both envelopes), or `failure_timestamp`
/// (`notifications.dlq`).
#[derive(Deserialize)]
struct Stamps<'a> {
    #[serde(borrow, default)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow, default)]
    failure_timestamp: Option<Text<'a>>,
}

/// The event time of a record of `topic` as the decoder would read it, if the record is a
/// JSON object with that field as an RFC 3339 text; `None` otherwise.
pub(crate) fn event_time(topic: Topic, value: &[u8]) -> Option<Micros> {
    let stamps: Stamps<'_> = serde_json::from_slice(value).ok()?;
    let field = match topic {
        Topic::NotificationsDlq => stamps.failure_timestamp,
        _ => stamps.timestamp,
    };
    time(field.as_ref()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_field_that_times_each_topic() {
        let a =
            br#"{"event_id":"e","timestamp":"2024-01-15T00:00:01Z","payload":{"timestamp":"x"}}"#;
        assert_eq!(event_time(Topic::Orders, a), Some(1_705_276_801_000_000));
        let dlq =
            br#"{"failure_timestamp":"2024-01-15T00:00:02.5Z","timestamp":"2030-01-01T00:00:00Z"}"#;
        assert_eq!(
            event_time(Topic::NotificationsDlq, dlq),
            Some(1_705_276_802_500_000)
        );
        let b = br#"{"datos":{"timestamp":1},"timestamp":"2024-01-15T01:00:00+01:00"}"#;
        assert_eq!(
            event_time(Topic::CasosCreados, b),
            Some(1_705_276_800_000_000)
        );
    }

    #[test]
    fn answers_none_for_what_it_cannot_read() {
        for value in [
            &b"not json"[..],
            b"[1,2]",
            br#"{"timestamp":17}"#,
            br#"{"timestamp":"yesterday"}"#,
            br#"{"event_id":"e"}"#,
            b"",
        ] {
            assert_eq!(event_time(Topic::Tracking, value), None);
        }
    }
}
