//! The decoder fuzzer (fault F5): generator-like records of every topic, mutated at the byte
//! level (flips, deletions, insertions of JSON tokens and extreme numbers, duplicated
//! ranges, truncations, splices of two records), fed to `decode_with` under
//! `catch_unwind`. Shared by the `fuzz_decode` example (long runs) and the smoke test.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pulso_events::{decode_with, DecodeOptions, Position, Topic};

use super::records::{generator_like, Rng};

/// Tokens worth inserting: structure, escapes, extreme and malformed numbers, other types.
const TOKENS: [&str; 24] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "1e400",
    "-0",
    "NaN",
    "99999999999999999999",
    "-9223372036854775809",
    "0.000000000000000000001",
    "\"\"",
    "[]",
    "{}",
    "\u{feff}",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
];

/// What a fuzz run saw.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Inputs decoded.
    pub inputs: u64,
    /// Inputs accepted as events.
    pub accepted: u64,
    /// Rejections per reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Inputs on which the decoder panicked (each a bug), with their topic.
    pub panics: Vec<(Topic, Vec<u8>)>,
}

/// Whether `topic` uses envelope B (the Conecta360 `EventoBase`).
pub(crate) fn envelope_b(topic: Topic) -> bool {
    topic.is_envelope_b()
}

/// Mutates `value` 1–4 times; `other` is another record for splices.
pub(crate) fn mutate(rng: &mut Rng, value: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = value.to_vec();
    for _ in 0..rng.between(1, 5) {
        let len = out.len().max(1) as i64;
        let at = rng.between(0, len) as usize;
        match rng.between(0, 7) {
            0 if !out.is_empty() => {
                let at = at.min(out.len() - 1);
                out[at] = rng.next() as u8;
            }
            1 if !out.is_empty() => {
                let end = (at + rng.between(1, 16) as usize).min(out.len());
                out.drain(at.min(end)..end);
            }
            2 => {
                let token = TOKENS[rng.between(0, TOKENS.len() as i64) as usize];
                let at = at.min(out.len());
                out.splice(at..at, token.bytes());
            }
            3 if !out.is_empty() => {
                let start = at.min(out.len() - 1);
                let end = (start + rng.between(1, 64) as usize).min(out.len());
                let copy = out[start..end].to_vec();
                out.splice(end..end, copy);
            }
            4 => out.truncate(at.min(out.len())),
            5 => {
                let cut = rng.between(0, other.len().max(1) as i64) as usize;
                out.truncate(at.min(out.len()));
                out.extend_from_slice(&other[cut.min(other.len())..]);
            }
            _ => {
                let at = at.min(out.len());
                let byte =
                    [b'"', b'{', b'}', b'[', b']', b'\\', b'\n', 0xff][rng.between(0, 8) as usize];
                out.insert(at, byte);
            }
        }
    }
    out
}

/// Decodes `inputs` mutated records of the topics `envelope` selects (false: envelope A,
/// true: envelope B), seeded with `seed`.
pub(crate) fn run(inputs: u64, envelope: bool, seed: u64) -> Report {
    let options = DecodeOptions::default();
    let seeds: Vec<(Topic, Vec<u8>)> = generator_like(200, seed)
        .into_iter()
        .filter(|(topic, _)| envelope_b(*topic) == envelope)
        .collect();
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut report = Report::default();
    let position = Position {
        partition: 0,
        offset: 0,
    };
    for _ in 0..inputs {
        let (topic, value) = &seeds[rng.between(0, seeds.len() as i64) as usize];
        let other = &seeds[rng.between(0, seeds.len() as i64) as usize].1;
        let input = mutate(&mut rng, value, other);
        report.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| {
            decode_with(&options, *topic, &input, position)
        })) {
            Ok(Ok(_)) => report.accepted += 1,
            Ok(Err(rejection)) => {
                *report
                    .rejected
                    .entry(rejection.reason.as_str())
                    .or_default() += 1
            }
            Err(_) => report.panics.push((*topic, input)),
        }
    }
    report
}
