//! Decoding and validation of raw record values into [`Event`]s (placeholder, being written).

use crate::model::{Decoded, Position};
use crate::topic::Topic;

/// Records over this many bytes are rejected as `too_large` (1 MiB).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Decodes one record value of `topic` read at `position`.
pub fn decode(topic: Topic, value: &[u8], position: Position) -> Decoded {
    let _ = (topic, value, position);
    unimplemented!()
}
