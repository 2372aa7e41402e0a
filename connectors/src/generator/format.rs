//! Wire formatting helpers: RFC 3339 timestamps (with `Z` or an offset), money with two
//! decimals, and random identifiers.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Number, Value};

/// Microseconds per second.
pub(crate) const SEC: i64 = 1_000_000;
/// Microseconds per minute.
pub(crate) const MIN: i64 = 60 * SEC;
/// Microseconds per hour.
pub(crate) const HOUR: i64 = 60 * MIN;
/// Microseconds per day.
pub(crate) const DAY: i64 = 24 * HOUR;

fn utc(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// `2024-01-15T10:30:00Z` (seconds precision, as in the Conecta360 examples).
pub(crate) fn ts_secs(micros: i64) -> String {
    utc(micros).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2024-01-15T10:30:00.123Z`.
pub(crate) fn ts_millis(micros: i64) -> String {
    utc(micros).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The same instant written in a local zone, e.g. `2024-01-15T05:30:00.123-05:00`.
pub(crate) fn ts_offset(micros: i64, offset_hours: i32) -> String {
    let zone =
        FixedOffset::east_opt(offset_hours * 3600).unwrap_or(FixedOffset::east_opt(0).unwrap());
    utc(micros)
        .with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// An envelope A timestamp: mostly `Z` with milliseconds, sometimes whole seconds, sometimes
/// a producer's local offset (`-05:00`, `-03:00`, `+01:00`...).
pub(crate) fn ts_a(rng: &mut ChaCha8Rng, micros: i64) -> String {
    let roll: f64 = rng.gen();
    if roll < 0.08 {
        const OFFSETS: [i32; 4] = [-5, -3, 1, -6];
        ts_offset(micros, OFFSETS[rng.gen_range(0..OFFSETS.len())])
    } else if roll < 0.20 {
        ts_secs(micros)
    } else {
        ts_millis(micros)
    }
}

/// A JSON number with exactly two decimals for `cents` minor units (`1059.97`, `0.05`).
pub(crate) fn money(cents: i64) -> Value {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    number(&format!("{sign}{}.{:02}", abs / 100, abs % 100))
}

/// Hours with at most one decimal from tenths of an hour (`88`, `88.5`).
pub(crate) fn tenths(value: i64) -> Value {
    if value % 10 == 0 {
        number(&(value / 10).to_string())
    } else {
        number(&format!("{}.{}", value / 10, value % 10))
    }
}

/// A JSON number from its decimal text (kept verbatim: serde_json has `arbitrary_precision`).
pub(crate) fn number(text: &str) -> Value {
    Value::Number(
        text.parse::<Number>()
            .expect("generator builds valid number text"),
    )
}

/// A random UUID-shaped identifier (version 4 layout), deterministic for the generator's seed.
pub(crate) fn uuid(rng: &mut ChaCha8Rng) -> String {
    let a: u128 = rng.gen();
    let hex = format!("{a:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The calendar year of an instant (for `numero_caso`).
pub(crate) fn year(micros: i64) -> i32 {
    use chrono::Datelike;
    utc(micros).year()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = 1_705_314_600_000_000; // 2024-01-15T10:30:00Z
        assert_eq!(ts_secs(t), "2024-01-15T10:30:00Z");
        assert_eq!(ts_millis(t + 5_000), "2024-01-15T10:30:00.005Z");
        assert_eq!(ts_offset(t, -5), "2024-01-15T05:30:00.000-05:00");
        assert_eq!(money(105_997).to_string(), "1059.97");
        assert_eq!(money(5).to_string(), "0.05");
        assert_eq!(money(-1250).to_string(), "-12.50");
        assert_eq!(tenths(885).to_string(), "88.5");
        assert_eq!(tenths(880).to_string(), "88");
        assert_eq!(year(t), 2024);
    }
}
