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
mod stamp;
mod time;

pub(crate) use stamp::event_time;

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
/// bytes at a time: each byte of `(word | 0x20..) ^ 0x7b..` that is zero is one of them,
/// marked as a 1 in that byte, summed bytewise over at most 31 words, then across bytes.
fn openers(value: &[u8]) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const CASE: u64 = 0x2020_2020_2020_2020;
    const BRACE: u64 = 0x7b7b_7b7b_7b7b_7b7b;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut count = 0;
    let mut blocks = value.chunks_exact(8 * 31);
    let sum_words = |block: &[u8]| {
        let mut sums = 0u64;
        for word in block.chunks_exact(8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            let t = (u64::from_le_bytes(bytes) | CASE) ^ BRACE;
            sums += (!(((t & LOW7) + LOW7) | t | LOW7)) >> 7;
        }
        (sums.wrapping_mul(ONES) >> 56) as usize
    };
    for block in &mut blocks {
        count += sum_words(block);
    }
    let rest = blocks.remainder();
    let whole = rest.len() / 8 * 8;
    count += sum_words(&rest[..whole]);
    count + rest[whole..].iter().filter(|&&b| b | 0x20 == b'{').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_openers_exactly() {
        let text: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for len in [0, 1, 7, 8, 9, 100, 247, 248, 249, 255, 256, 500, 1000] {
            let naive = text[..len]
                .iter()
                .filter(|&&b| b == b'{' || b == b'[')
                .count();
            assert_eq!(openers(&text[..len]), naive);
        }
        assert_eq!(openers(br#"{"a":[{"b":"[{{"}]}"#), 6);
    }
}
