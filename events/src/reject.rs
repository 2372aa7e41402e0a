//! Why a record was rejected: the `dlq.reason` values of EVENTS.md and a detail naming the field.

use serde::{Deserialize, Serialize};

/// A `dlq.reason` of EVENTS.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The bytes are not JSON (or not UTF-8).
    MalformedJson,
    /// The JSON value is not an object.
    NotAnObject,
    /// A required field is absent (or `null`).
    MissingField,
    /// A field has the wrong type, format, range or enum value.
    InvalidField,
    /// `event_type` is not one of the topic's types.
    UnknownEventType,
    /// `schema_version` / `evento_version` has a major version other than 1.
    UnsupportedVersion,
    /// The record is over 1 MiB.
    TooLarge,
    /// `evento_tipo` differs from the topic name.
    TopicMismatch,
    /// The event time is earlier than the watermark minus `retention.late_after`
    /// (VIEWS.md, "Retention").
    TooLate,
}

impl RejectReason {
    /// Every reason, in a fixed order.
    pub const ALL: [RejectReason; 9] = [
        RejectReason::MalformedJson,
        RejectReason::NotAnObject,
        RejectReason::MissingField,
        RejectReason::InvalidField,
        RejectReason::UnknownEventType,
        RejectReason::UnsupportedVersion,
        RejectReason::TooLarge,
        RejectReason::TopicMismatch,
        RejectReason::TooLate,
    ];

    /// The `dlq.reason` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::UnknownEventType => "unknown_event_type",
            RejectReason::UnsupportedVersion => "unsupported_version",
            RejectReason::TooLarge => "too_large",
            RejectReason::TopicMismatch => "topic_mismatch",
            RejectReason::TooLate => "too_late",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected record's reason and human-readable detail (the `dlq.detail` header), which names
/// the offending field.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, thiserror::Error,
)]
#[error("{reason}: {detail}")]
pub struct Rejection {
    /// The DLQ reason.
    pub reason: RejectReason,
    /// Human text naming the field, e.g. ``field `items[0].quantity` must be an integer >= 1``.
    pub detail: String,
}

impl Rejection {
    /// A rejection with this reason and detail.
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}
