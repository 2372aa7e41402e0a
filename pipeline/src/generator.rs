//! The built-in generator of `pulso run`, resolved: its stream at a wall instant, and
//! `time_scale F`: the generator's event time advances `F` seconds per wall-clock second when
//! its records are read at `rate` records/s, so its `scale` records span `scale × F / rate`
//! seconds of event time. A soak run crosses many retention horizons in minutes this way
//! (VIEWS.md, "Retention": the scaled clock then stands in for the wall clock).

use pulso_connectors::generator::{GeneratorConfig, SPAN};
use pulso_dataflows::clock::EngineClock;

/// A generator setting refused.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum GeneratorError {
    /// The rate is not a positive finite number.
    #[error("--rate {0}: expected a positive number of records per second")]
    Rate(f64),
    /// The time scale is not a positive finite number.
    #[error("--time-scale {0}: expected a positive number (event seconds per wall second)")]
    TimeScale(f64),
}

/// Refuses a time scale or a rate that is not a positive finite number.
pub fn check_pace(time_scale: Option<f64>, rate: f64) -> Result<(), GeneratorError> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(GeneratorError::Rate(rate));
    }
    match time_scale {
        Some(factor) if !(factor.is_finite() && factor > 0.0) => {
            Err(GeneratorError::TimeScale(factor))
        }
        _ => Ok(()),
    }
}

/// The generator settings of `pulso run`, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveGenerator {
    /// Records per second.
    pub rate: f64,
    /// Records in all.
    pub scale: u64,
    /// Random seed.
    pub seed: u64,
    /// Event seconds per wall second, if the clock is compressed.
    pub time_scale: Option<f64>,
    /// Whether the records are archived under `OUT/archive`.
    pub archive: bool,
}

impl LiveGenerator {
    /// Records per second by default.
    pub const DEFAULT_RATE: f64 = 5_000.0;
    /// Records in all by default.
    pub const DEFAULT_SCALE: u64 = 10_000_000;
    /// Random seed by default.
    pub const DEFAULT_SEED: u64 = 1;

    /// The generator of the settings given (flags over the config file's `generator`
    /// section, merged by the caller), the defaults for the others; refuses a rate or time
    /// scale that is not positive.
    pub fn resolve(
        rate: Option<f64>,
        scale: Option<u64>,
        seed: Option<u64>,
        time_scale: Option<f64>,
        archive: Option<bool>,
    ) -> Result<LiveGenerator, GeneratorError> {
        let generator = LiveGenerator {
            rate: rate.unwrap_or(Self::DEFAULT_RATE),
            scale: scale.unwrap_or(Self::DEFAULT_SCALE),
            seed: seed.unwrap_or(Self::DEFAULT_SEED),
            time_scale,
            archive: archive.unwrap_or(true),
        };
        check_pace(generator.time_scale, generator.rate)?;
        Ok(generator)
    }

    /// The stream at wall instant `now` (UTC microseconds). Without a time scale its 14
    /// days end at `now` (as they always have); with one it starts at `now` and spans
    /// `scale × time_scale / rate` seconds.
    pub fn config(&self, now: i64) -> GeneratorConfig {
        let config = GeneratorConfig {
            seed: self.seed,
            scale: self.scale,
            start: now - SPAN,
            span: SPAN,
            steady_cases: false,
        };
        match self.time_scale {
            None => config,
            Some(factor) => GeneratorConfig {
                start: now,
                ..config
            }
            .time_scaled(factor, self.rate),
        }
    }

    /// The engine clock: the wall clock, or with a time scale a clock that reads the
    /// stream's `start` now and runs `time_scale` times faster.
    pub fn clock(&self, start: i64) -> EngineClock {
        match self.time_scale {
            None => EngineClock::Wall,
            Some(factor) => EngineClock::scaled_from_now(start, factor),
        }
    }

    /// Wall seconds between re-gradings of open cases for `regrade_secs` of the engine
    /// clock: `regrade_secs / time_scale`, at least 1.
    pub fn regrade_secs(&self, regrade_secs: u64) -> u64 {
        match self.time_scale {
            None => regrade_secs,
            Some(factor) => ((regrade_secs as f64 / factor).round() as u64).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000;

    fn generator(time_scale: Option<f64>, rate: f64, scale: u64) -> LiveGenerator {
        LiveGenerator {
            rate,
            scale,
            seed: 1,
            time_scale,
            archive: true,
        }
    }

    #[test]
    fn defaults_for_what_is_not_given() {
        let defaults = LiveGenerator::resolve(None, None, None, None, None).unwrap();
        assert_eq!(
            defaults,
            LiveGenerator {
                rate: LiveGenerator::DEFAULT_RATE,
                scale: LiveGenerator::DEFAULT_SCALE,
                seed: LiveGenerator::DEFAULT_SEED,
                time_scale: None,
                archive: true,
            }
        );
        let given = LiveGenerator::resolve(Some(100.0), None, None, Some(600.0), Some(false));
        let given = given.unwrap();
        assert_eq!(given.rate, 100.0);
        assert_eq!((given.time_scale, given.archive), (Some(600.0), false));
    }

    #[test]
    fn refuses_bad_numbers() {
        assert!(check_pace(Some(600.0), 20_000.0).is_ok());
        assert!(check_pace(None, 1.0).is_ok());
        for (scale, rate) in [(Some(0.0), 1.0), (Some(-1.0), 1.0), (Some(f64::NAN), 1.0)] {
            assert!(check_pace(scale, rate).is_err());
        }
        assert!(check_pace(None, 0.0).is_err());
        assert!(check_pace(Some(1.0), f64::INFINITY).is_err());
        assert!(LiveGenerator::resolve(None, None, None, Some(0.0), None).is_err());
    }

    #[test]
    fn without_a_time_scale_nothing_changes() {
        let g = generator(None, 5_000.0, 1_000);
        let config = g.config(NOW);
        assert_eq!((config.start, config.span), (NOW - SPAN, SPAN));
        assert_eq!(g.clock(NOW), EngineClock::Wall);
        assert_eq!(g.regrade_secs(30), 30);
    }

    #[test]
    fn a_time_scale_starts_now_and_spans_scale_times_factor_over_rate() {
        // 24M records at 20,000/s take 20 min; at time scale 600 they span 200 h.
        let g = generator(Some(600.0), 20_000.0, 24_000_000);
        let config = g.config(NOW);
        assert_eq!(config.start, NOW);
        assert_eq!(config.span, 200 * 3_600 * 1_000_000);
        let clock = g.clock(NOW);
        let EngineClock::Scaled {
            wall_origin,
            event_origin,
            factor,
        } = clock
        else {
            panic!("{clock:?}");
        };
        assert_eq!((event_origin, factor), (NOW, 600.0));
        assert_eq!(clock.at(wall_origin + 1_000_000), NOW + 600_000_000);
        // Open cases are re-graded every 30 s of scaled time, at least every wall second.
        assert_eq!(g.regrade_secs(30), 1);
        assert_eq!(generator(Some(2.0), 1.0, 1).regrade_secs(60), 30);
    }
}
