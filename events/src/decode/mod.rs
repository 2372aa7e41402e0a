//! Decoding and validation of raw record values into [`Event`](crate::model::Event)s, following
//! the check order of `docs/SEMANTICS.md`: size, JSON, object, version, topic (envelope B),
//! required fields, field types, event type, then the domain fields of the event type.

mod envelope_a;
mod envelope_b;
mod fast;
mod fields;
mod schema_b;

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::model::{Decoded, Event, Position};
use crate::reject::{RejectReason, Rejection};
use crate::topic::Topic;

use fields::Res;

/// Records over this many bytes are rejected as `too_large` (1 MiB).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// The tenant of Conecta360 (envelope B) events unless configured otherwise.
pub const DEFAULT_CONECTA360_TENANT: &str = "conecta360";

/// Settings of the decoder.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DecodeOptions {
    /// The `tenant_id` given to every envelope B (Conecta360) event; default `"conecta360"`
    /// (borrowed: [`decode`] makes default options for every record).
    pub conecta360_tenant: Cow<'static, str>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            conecta360_tenant: Cow::Borrowed(DEFAULT_CONECTA360_TENANT),
        }
    }
}

/// The event time of a record value of `topic` (`timestamp`, or `failure_timestamp` for
/// `notifications.dlq`), read without decoding or validating the rest: for a source that
/// orders its reads by event time. `None` when the value has no such field that reads as
/// RFC 3339; whether the record is accepted is the decoder's answer alone.
pub fn event_time(topic: Topic, value: &[u8]) -> Option<crate::time::Micros> {
    fast::event_time(topic, value)
}

/// Decodes one record value of `topic` read at `position`, with the default options.
pub fn decode(topic: Topic, value: &[u8], position: Position) -> Decoded {
    decode_with(&DecodeOptions::default(), topic, value, position)
}

/// Decodes one record value of `topic` read at `position`: the event, or the first failing
/// check as a [`Rejection`] whose detail names the field. Never panics on any input.
///
/// Valid records take a typed, borrowing fast path; anything it does not fully accept goes
/// to the reference decoder ([`decode_reference`]), so results are those of the reference.
pub fn decode_with(
    options: &DecodeOptions,
    topic: Topic,
    value: &[u8],
    position: Position,
) -> Decoded {
    match decode_fast(options, topic, value, position) {
        Some(event) => Ok(event),
        None => decode_reference(options, topic, value, position),
    }
}

/// The fast path alone: the event of a record it fully accepts, else `None` ("not handled").
/// Whenever it answers, the event equals [`decode_reference`]'s. Exposed for tests and
/// benchmarks.
#[doc(hidden)]
pub fn decode_fast(
    options: &DecodeOptions,
    topic: Topic,
    value: &[u8],
    position: Position,
) -> Option<Event> {
    if value.len() > MAX_RECORD_BYTES {
        return None;
    }
    fast::decode(options, topic, value, position)
}

/// The reference decoder: parses the record into a `serde_json::Value`, then checks every
/// field in the order of `docs/SEMANTICS.md`. Exposed for tests and benchmarks.
#[doc(hidden)]
pub fn decode_reference(
    options: &DecodeOptions,
    topic: Topic,
    value: &[u8],
    position: Position,
) -> Decoded {
    if value.len() > MAX_RECORD_BYTES {
        return Err(Rejection::new(
            RejectReason::TooLarge,
            format!(
                "record value is {} bytes, over the limit of {MAX_RECORD_BYTES} bytes",
                value.len()
            ),
        ));
    }
    let json: Value = serde_json::from_slice(value).map_err(|e| {
        Rejection::new(
            RejectReason::MalformedJson,
            format!("record value is not UTF-8 JSON: {e}"),
        )
    })?;
    let map = match &json {
        Value::Object(map) => map,
        other => {
            return Err(Rejection::new(
                RejectReason::NotAnObject,
                format!("record value is a JSON {}, not an object", kind(other)),
            ))
        }
    };
    if topic.is_envelope_b() {
        envelope_b::decode(options, topic, map)
    } else {
        envelope_a::decode(topic, map, position)
    }
}

/// The JSON type name of a value, for details.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The major version of a version text matching `^\d+\.\d+$` (ASCII digits), without
/// leading zeros (`"0"` for zero); `None` when the text does not match.
fn version_major(text: &str) -> Option<&str> {
    let (major, minor) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) {
        return None;
    }
    let trimmed = major.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed })
}

/// `unsupported_version` when `field` is present, well-formed, and of a major other than 1.
fn check_version(map: &Map<String, Value>, field: &str) -> Res<()> {
    let Some(text) = map.get(field).and_then(Value::as_str) else {
        return Ok(());
    };
    match version_major(text) {
        Some(major) if major != "1" => Err(Rejection::new(
            RejectReason::UnsupportedVersion,
            format!(
                "field `{field}` has major version {}; only 1.x is supported",
                shorten(major)
            ),
        )),
        _ => Ok(()),
    }
}

/// The value as a version text matching `^\d+\.\d+$`.
fn as_version<'v>(value: &'v Value, path: &str) -> Res<&'v str> {
    match value.as_str() {
        Some(text) if version_major(text).is_some() => Ok(text),
        _ => Err(fields::invalid(path, "a version matching ^\\d+\\.\\d+$")),
    }
}

/// Untrusted text cut to at most 64 characters for a detail.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// An `unknown_event_type` rejection for `event_type` on `topic`.
fn unknown_event_type(topic: Topic, event_type: &str, known: &[&str]) -> Rejection {
    Rejection::new(
        RejectReason::UnknownEventType,
        format!(
            "field `event_type` is {:?}, not an event type of {topic} ({})",
            shorten(event_type),
            known.join("|")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_majors() {
        assert_eq!(version_major("1.0"), Some("1"));
        assert_eq!(version_major("01.7"), Some("1"));
        assert_eq!(version_major("0.9"), Some("0"));
        assert_eq!(version_major("2.0"), Some("2"));
        assert_eq!(version_major("1"), None);
        assert_eq!(version_major("1.0.0"), None);
        assert_eq!(version_major("v1.0"), None);
        assert_eq!(version_major("١.٠"), None);
    }

    #[test]
    fn shortens_long_text() {
        assert_eq!(shorten("abc"), "abc");
        assert_eq!(shorten(&"é".repeat(70)).chars().count(), 67);
    }
}
