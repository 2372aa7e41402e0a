//! Decode throughput per topic on generator-like records, single thread: the reference
//! decoder (`serde_json::Value` + field checks) against `decode_with` (typed fast path with
//! fallback), and the share of records the fast path handles.
//! Run: `cargo run --release -p pulso-events --example decode_throughput`.

#[path = "../tests/common/records.rs"]
mod records;

use std::hint::black_box;
use std::time::{Duration, Instant};

use pulso_events::decode::{decode_fast, decode_reference};
use pulso_events::{decode_with, DecodeOptions, Position, Topic};

/// Records of some topics.
type Records = Vec<(Topic, Vec<u8>)>;

/// Records per second of `decode` over `records`, repeated for at least 0.5 s.
fn rate(records: &[(Topic, Vec<u8>)], decode: impl Fn(Topic, &[u8]) -> bool) -> f64 {
    let (mut n, start) = (0usize, Instant::now());
    while start.elapsed() < Duration::from_millis(500) {
        for (topic, value) in records {
            black_box(decode(*topic, black_box(value)));
        }
        n += records.len();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let options = DecodeOptions::default();
    let all = records::generator_like(2_000, 7);
    let position = Position::default();
    println!(
        "{:<28} {:>12} {:>12} {:>8} {:>10}",
        "topic", "reference/s", "decode/s", "speedup", "fast share"
    );
    let mut groups: Vec<(String, Records)> = Topic::ALL
        .iter()
        .map(|t| {
            let records = all.iter().filter(|(x, _)| x == t).cloned().collect();
            (t.name().to_string(), records)
        })
        .collect();
    groups.push(("all topics (equal mix)".to_string(), all.clone()));
    for (name, records) in groups {
        if std::env::args().any(|a| a == "--fast-only") {
            let fast = rate(&records, |t, v| {
                decode_with(&options, t, v, position).is_ok()
            });
            println!("{name:<28} {:>12} {fast:>12.0}", "-");
            continue;
        }
        let reference = rate(&records, |t, v| {
            decode_reference(&options, t, v, position).is_ok()
        });
        let fast = rate(&records, |t, v| {
            decode_with(&options, t, v, position).is_ok()
        });
        let handled = records
            .iter()
            .filter(|(t, v)| decode_fast(&options, *t, v, position).is_some())
            .count();
        println!(
            "{name:<28} {reference:>12.0} {fast:>12.0} {:>7.1}x {:>9.1}%",
            fast / reference,
            100.0 * handled as f64 / records.len() as f64
        );
    }
}
