//! Event time: UTC microseconds since the Unix epoch, parsed from RFC 3339, and window flooring.

use serde::{Deserialize, Serialize};

/// UTC microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Microseconds in one second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
/// Microseconds in one hour.
pub const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;
/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Parses an RFC 3339 timestamp with a zone into UTC microseconds (sub-microsecond digits are
/// truncated). Returns `None` when the text is not RFC 3339 or lacks a zone.
pub fn parse_rfc3339(text: &str) -> Option<Micros> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(parsed.timestamp_micros())
}

/// Formats UTC microseconds as RFC 3339 with a `Z` zone and microsecond precision.
pub fn format_rfc3339(micros: Micros) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => micros.to_string(),
    }
}

/// A tumbling UTC window size of VIEWS.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl Granularity {
    /// The three granularities every windowed view exists at.
    pub const ALL: [Granularity; 3] = [Granularity::Minute, Granularity::Hour, Granularity::Day];

    /// The window length in microseconds.
    pub fn micros(self) -> i64 {
        match self {
            Granularity::Minute => 60 * MICROS_PER_SECOND,
            Granularity::Hour => MICROS_PER_HOUR,
            Granularity::Day => MICROS_PER_DAY,
        }
    }

    /// The start of the window holding `t` (floored, also for times before 1970).
    pub fn floor(self, t: Micros) -> Micros {
        t.div_euclid(self.micros()) * self.micros()
    }

    /// The name used in the API and in the files: `minute`, `hour`, `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Minute => "minute",
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zones_to_utc() {
        let a = parse_rfc3339("2024-01-15T10:30:00Z").unwrap();
        let b = parse_rfc3339("2024-01-15T05:30:00-05:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, 1_705_314_600_000_000);
        assert_eq!(parse_rfc3339("2024-01-15T10:30:00"), None);
        assert_eq!(
            parse_rfc3339("2024-01-15T10:30:00.1234567Z"),
            Some(a + 123_456)
        );
    }

    #[test]
    fn floors_windows() {
        let t = parse_rfc3339("2024-01-15T10:30:59.9Z").unwrap();
        assert_eq!(
            Granularity::Minute.floor(t),
            parse_rfc3339("2024-01-15T10:30:00Z").unwrap()
        );
        assert_eq!(
            Granularity::Hour.floor(t),
            parse_rfc3339("2024-01-15T10:00:00Z").unwrap()
        );
        assert_eq!(
            Granularity::Day.floor(t),
            parse_rfc3339("2024-01-15T00:00:00Z").unwrap()
        );
        assert_eq!(Granularity::Day.floor(-1), -MICROS_PER_DAY);
    }
}
