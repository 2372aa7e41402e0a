//! The fast path of decoding: typed, borrowing serde structs that turn a *valid* record
//! straight into its [`Event`] without building a `serde_json::Value`. It applies every check
//! of the reference decoder; whenever it meets anything it does not fully accept (a serde
//! error, a duplicate key, an unexpected type, a failed check, a `\u` escape, deep nesting),
//! it answers `None` and the caller falls back to the reference decoder, which then produces
//! the exact rejection (or the event). So rejections are those of the reference decoder by
//! construction.

mod datos;
mod envelope_a;
mod envelope_b;
mod raw;
mod time;

use super::DecodeOptions;
use crate::model::{Event, Position};
use crate::topic::Topic;

/// More `{`/`[` bytes than this (in the whole record) go to the reference decoder, which
/// enforces serde_json's nesting limit (128) that skipped values do not.
const MAX_OPENERS: usize = 100;

/// The event of a record the fast path fully accepts, else `None` (the caller falls back to
/// the reference decoder). The size limit is checked by the caller.
pub(crate) fn decode(
    options: &DecodeOptions,
    topic: Topic,
    value: &[u8],
    position: Position,
) -> Option<Event> {
    // Skipped values are not checked for UTF-8 by serde_json's slice reader: check it all.
    let text = std::str::from_utf8(value).ok()?;
    if !plain(value) {
        return None;
    }
    if topic.is_envelope_b() {
        envelope_b::decode(options, topic, text)
    } else {
        envelope_a::decode(topic, text, position)
    }
}

/// True when the record has no `\u` escape (skipped values do not get their surrogates
/// checked) and little nesting.
fn plain(value: &[u8]) -> bool {
    if openers(value) > MAX_OPENERS {
        return false;
    }
    !value.contains(&b'\\') || !value.windows(2).any(|w| w == b"\\u")
}

/// The number of `{` and `[` bytes (`b | 0x20 == b'{'` holds for exactly these two), eight
/// bytes at a time (exact zero-byte count of `(word | 0x20..) ^ 0x7b..`).
fn openers(value: &[u8]) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const CASE: u64 = 0x2020_2020_2020_2020;
    const BRACE: u64 = 0x7b7b_7b7b_7b7b_7b7b;
    let mut words = value.chunks_exact(8);
    let mut count = 0;
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let t = (u64::from_le_bytes(bytes) | CASE) ^ BRACE;
        count += (!(((t & LOW7) + LOW7) | t | LOW7)).count_ones() as usize;
    }
    count
        + words
            .remainder()
            .iter()
            .filter(|&&b| b | 0x20 == b'{')
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_openers_exactly() {
        let text: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for len in [0, 1, 7, 8, 9, 100, 1000] {
            let naive = text[..len]
                .iter()
                .filter(|&&b| b == b'{' || b == b'[')
                .count();
            assert_eq!(openers(&text[..len]), naive);
        }
        assert_eq!(openers(br#"{"a":[{"b":"[{{"}]}"#), 6);
    }
}
