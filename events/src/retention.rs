//! Retention (VIEWS.md, "Retention"): the horizons past which state leaves the engine, and
//! the `retention` section of the config file that sets them.
//!
//! A horizon is a duration such as `"36h"`, `"7d"`, `"90m"` or `"45s"`, or `"off"` to keep
//! everything. Every horizon must be at least `late_after`, so that no state a record within
//! `late_after` can still change has left.

use std::fmt;
use std::str::FromStr;

use crate::time::{Granularity, MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SECOND};
use serde::{Deserialize, Serialize};

use crate::registry::{visit_views, View, ViewVisitor};
use crate::views::ViewSet;

/// A retention horizon: how far behind the watermark state is kept (`None`: forever).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Horizon(Option<i64>);

impl Horizon {
    /// Keep everything.
    pub const OFF: Horizon = Horizon(None);

    /// A horizon of `micros` microseconds.
    pub fn micros(micros: i64) -> Horizon {
        Horizon(Some(micros.max(0)))
    }

    /// A horizon of `days` days.
    pub fn days(days: i64) -> Horizon {
        Horizon::micros(days * MICROS_PER_DAY)
    }

    /// The horizon in microseconds, `None` when off.
    pub fn as_micros(self) -> Option<i64> {
        self.0
    }

    /// The instant `watermark - horizon`: state earlier than it has expired (`None`: nothing
    /// has, because the horizon is off or there is no watermark yet).
    pub fn cutoff(self, watermark: Option<i64>) -> Option<i64> {
        Some(watermark?.saturating_sub(self.0?))
    }
}

/// Why a horizon does not parse.
#[derive(Debug, thiserror::Error)]
#[error("retention horizon {0:?}: expected \"off\" or a number with a unit s, m, h or d (e.g. \"36h\", \"7d\")")]
pub struct HorizonError(String);

impl FromStr for Horizon {
    type Err = HorizonError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(Horizon::OFF);
        }
        let bad = || HorizonError(text.to_string());
        let split = text.len().checked_sub(1).ok_or_else(bad)?;
        let (number, unit) = text.split_at(split);
        let number: i64 = number.trim().parse().map_err(|_| bad())?;
        let unit = match unit {
            "s" => MICROS_PER_SECOND,
            "m" => 60 * MICROS_PER_SECOND,
            "h" => MICROS_PER_HOUR,
            "d" => MICROS_PER_DAY,
            _ => return Err(bad()),
        };
        if number < 0 {
            return Err(bad());
        }
        number
            .checked_mul(unit)
            .map(Horizon::micros)
            .ok_or_else(bad)
    }
}

impl TryFrom<String> for Horizon {
    type Error = HorizonError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Horizon> for String {
    fn from(horizon: Horizon) -> String {
        horizon.to_string()
    }
}

impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(micros) = self.0 else {
            return f.write_str("off");
        };
        for (unit, size) in [
            ("d", MICROS_PER_DAY),
            ("h", MICROS_PER_HOUR),
            ("m", 60 * MICROS_PER_SECOND),
            ("s", MICROS_PER_SECOND),
        ] {
            if micros % size == 0 {
                return write!(f, "{}{unit}", micros / size);
            }
        }
        write!(f, "{}s", micros as f64 / MICROS_PER_SECOND as f64)
    }
}

/// How long windowed rows are kept, per granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowHorizons {
    /// Minute windows (default `7d`).
    pub minute: Horizon,
    /// Hour windows (default `90d`).
    pub hour: Horizon,
    /// Day windows (default `800d`).
    pub day: Horizon,
}

impl Default for WindowHorizons {
    fn default() -> Self {
        WindowHorizons {
            minute: Horizon::days(7),
            hour: Horizon::days(90),
            day: Horizon::days(800),
        }
    }
}

impl WindowHorizons {
    /// The horizon of `granularity`'s windows.
    pub fn of(&self, granularity: Granularity) -> Horizon {
        match granularity {
            Granularity::Minute => self.minute,
            Granularity::Hour => self.hour,
            Granularity::Day => self.day,
        }
    }
}

/// The `retention` section of the config file (VIEWS.md, "Retention").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Records earlier than the watermark minus this are rejected `too_late`, and dedup keys
    /// whose winner is earlier expire (default `7d`).
    pub late_after: Horizon,
    /// Windowed view rows (defaults `7d`, `90d`, `800d`).
    pub windows: WindowHorizons,
    /// Notifications, orders, reservations and closed cases (default `35d`).
    pub entities: Horizon,
    /// Timeline entries (default `35d`).
    pub timelines: Horizon,
    /// Records this far ahead of the (possibly scaled) clock are rejected (default `1d`).
    pub future_tolerance: Horizon,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            late_after: Horizon::days(7),
            windows: WindowHorizons::default(),
            entities: Horizon::days(35),
            timelines: Horizon::days(35),
            future_tolerance: Horizon::days(1),
        }
    }
}

/// A retention config that breaks VIEWS.md's rule "every horizon is at least `late_after`".
#[derive(Debug, thiserror::Error)]
#[error("retention.{name} ({horizon}) must be at least retention.late_after ({late_after})")]
pub struct RetentionError {
    name: &'static str,
    horizon: Horizon,
    late_after: Horizon,
}

impl Retention {
    /// Keeps everything and rejects nothing as late or early: the engine as before retention.
    pub const OFF: Retention = Retention {
        late_after: Horizon::OFF,
        windows: WindowHorizons {
            minute: Horizon::OFF,
            hour: Horizon::OFF,
            day: Horizon::OFF,
        },
        entities: Horizon::OFF,
        timelines: Horizon::OFF,
        future_tolerance: Horizon::OFF,
    };

    /// Refuses a config in which a horizon is shorter than `late_after` (`off` is the longest).
    pub fn validate(&self) -> Result<(), RetentionError> {
        let longest = |h: Horizon| h.as_micros().unwrap_or(i64::MAX);
        let checks = [
            ("windows.minute", self.windows.minute),
            ("windows.hour", self.windows.hour),
            ("windows.day", self.windows.day),
            ("entities", self.entities),
            ("timelines", self.timelines),
        ];
        for (name, horizon) in checks {
            if longest(horizon) < longest(self.late_after) {
                return Err(RetentionError {
                    name,
                    horizon,
                    late_after: self.late_after,
                });
            }
        }
        Ok(())
    }
}

impl Retention {
    /// These horizons for records read back from the archive: they passed the
    /// future-tolerance check when the live run read them (against its clock, maybe a scaled
    /// one), so a backfill does not check them again against today's wall clock.
    pub fn for_archive(self) -> Retention {
        Retention {
            future_tolerance: Horizon::OFF,
            ..self
        }
    }

    /// The instant at which a row of the window `(granularity, start)` expires: when the
    /// watermark reaches it, the window ends at or before `W - windows.<granularity>`
    /// (`None`: never).
    pub fn window_due(&self, granularity: Granularity, start: i64) -> Option<i64> {
        let end = start.saturating_add(granularity.micros());
        Some(end.saturating_add(self.windows.of(granularity).as_micros()?))
    }

    /// The instant at which a timeline entry of event time `timestamp` expires: when the
    /// watermark reaches it, the entry is earlier than `W - timelines` (`None`: never).
    pub fn timeline_due(&self, timestamp: i64) -> Option<i64> {
        Some(
            timestamp
                .saturating_add(self.timelines.as_micros()?)
                .saturating_add(1),
        )
    }
}

impl Retention {
    /// Whether `row` has expired once the watermark is `watermark` (its horizon is on and its
    /// due time is at or before the watermark).
    pub fn has_expired<V: View>(&self, row: &V, watermark: i64) -> bool {
        row.expiry()
            .and_then(|e| e.due(self))
            .is_some_and(|due| due <= watermark)
    }

    /// Splits whole views (every row a replay computed) into the rows still retained at
    /// `watermark` and the rows it has expired (windowed rows, timeline entries).
    pub fn split(&self, mut views: ViewSet, watermark: Option<i64>) -> (ViewSet, ViewSet) {
        let mut expired = ViewSet::default();
        let Some(w) = watermark else {
            return (views, expired);
        };
        struct Split<'a> {
            retention: &'a Retention,
            watermark: i64,
            views: &'a mut ViewSet,
            expired: &'a mut ViewSet,
        }
        impl ViewVisitor for Split<'_> {
            fn visit<V: View>(&mut self) {
                if !V::EXPIRES {
                    return;
                }
                let (retention, w) = (self.retention, self.watermark);
                let expired = |r: &V| retention.has_expired(r, w);
                // Most rows are usually retained: they stay where they are.
                let rows = V::rows_mut(self.views);
                let Some(first) = rows.iter().position(expired) else {
                    return;
                };
                let (old, kept): (Vec<V>, Vec<V>) = rows.drain(first..).partition(|r| expired(r));
                rows.extend(kept);
                *V::rows_mut(self.expired) = old;
            }
        }
        visit_views(&mut Split {
            retention: self,
            watermark: w,
            views: &mut views,
            expired: &mut expired,
        });
        (views, expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_parse_and_print() {
        assert_eq!("7d".parse::<Horizon>().unwrap(), Horizon::days(7));
        assert_eq!(
            "36h".parse::<Horizon>().unwrap(),
            Horizon::micros(36 * MICROS_PER_HOUR)
        );
        assert_eq!("off".parse::<Horizon>().unwrap(), Horizon::OFF);
        assert_eq!(
            Horizon::micros(90 * 60 * MICROS_PER_SECOND).to_string(),
            "90m"
        );
        for bad in ["", "7", "d", "-1d", "7w", "1.5h"] {
            assert!(bad.parse::<Horizon>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn config_section_reads_with_defaults_and_is_validated() {
        let r: Retention = serde_json::from_str(
            r#"{"late_after":"1h","windows":{"minute":"2h"},"entities":"6h"}"#,
        )
        .unwrap();
        assert_eq!(r.late_after, "1h".parse().unwrap());
        assert_eq!(r.windows.minute, "2h".parse().unwrap());
        assert_eq!(r.windows.hour, Horizon::days(90));
        assert_eq!(r.timelines, Horizon::days(35));
        r.validate().unwrap();
        let bad: Retention =
            serde_json::from_str(r#"{"late_after":"2d","timelines":"1d"}"#).unwrap();
        assert!(bad.validate().is_err());
        assert!(Retention::default().validate().is_ok());
        assert!(Retention::OFF.validate().is_ok());
        assert_eq!(
            Horizon::days(1).cutoff(Some(5 * MICROS_PER_DAY)),
            Some(4 * MICROS_PER_DAY)
        );
        assert_eq!(Horizon::OFF.cutoff(Some(5)), None);
    }
}
