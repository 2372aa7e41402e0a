//! The engine's clock: the wall clock, or the built-in generator's scaled clock when it runs
//! with `--time-scale F` (VIEWS.md, "Retention": the scaled clock stands in for the wall clock
//! in the future-tolerance check, live `as_of` and freshness).

use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from, in UTC microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum EngineClock {
    /// The wall clock.
    #[default]
    Wall,
    /// Event time that advances `factor` times faster than the wall clock: at wall instant
    /// `wall_origin` it reads `event_origin`.
    Scaled {
        /// A wall-clock instant (UTC microseconds).
        wall_origin: i64,
        /// The clock's reading at `wall_origin`.
        event_origin: i64,
        /// How many event-time seconds pass per wall-clock second.
        factor: f64,
    },
}

/// The wall clock in UTC microseconds.
pub fn wall_clock_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl EngineClock {
    /// A clock reading `event_origin` now and running `factor` times faster than the wall.
    pub fn scaled_from_now(event_origin: i64, factor: f64) -> EngineClock {
        EngineClock::Scaled {
            wall_origin: wall_clock_micros(),
            event_origin,
            factor,
        }
    }

    /// Now, in UTC microseconds.
    pub fn now_micros(&self) -> i64 {
        self.at(wall_clock_micros())
    }

    /// The clock's reading at wall instant `wall` (UTC microseconds).
    pub fn at(&self, wall: i64) -> i64 {
        match *self {
            EngineClock::Wall => wall,
            EngineClock::Scaled {
                wall_origin,
                event_origin,
                factor,
            } => event_origin.saturating_add(((wall - wall_origin) as f64 * factor) as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EngineClock;

    #[test]
    fn scaled_clock_runs_faster() {
        let clock = EngineClock::Scaled {
            wall_origin: 1_000,
            event_origin: 50_000,
            factor: 600.0,
        };
        assert_eq!(clock.at(1_000), 50_000);
        assert_eq!(clock.at(2_000), 50_000 + 600_000);
        assert_eq!(EngineClock::Wall.at(7), 7);
    }
}
