//! The built-in generator of `pulso run` and `pulso generate`: the run's settings (flags over
//! the config file's `generator` section over defaults), and `--time-scale F`: the
//! generator's event time advances `F` seconds per wall-clock second when its records are
//! read at `--rate R` records/s, so its `--scale` records span `scale × F / R` seconds of
//! event time. A soak run crosses many retention horizons in minutes this way (VIEWS.md,
//! "Retention": the scaled clock then stands in for the wall clock).

use anyhow::{bail, Result};
use pulso_connectors::generator::{GeneratorConfig, SPAN};
use pulso_dataflows::clock::EngineClock;

use crate::config::GeneratorSection;

/// Records per second of `pulso run`'s generator by default.
pub(crate) const DEFAULT_RATE: f64 = 5_000.0;
/// Records in all of `pulso run`'s generator by default.
pub(crate) const DEFAULT_SCALE: u64 = 10_000_000;
/// Random seed of `pulso run`'s generator by default.
pub(crate) const DEFAULT_SEED: u64 = 1;

/// Refuses a time scale or a rate that is not a positive finite number.
pub(crate) fn check(time_scale: Option<f64>, rate: f64) -> Result<()> {
    if !(rate.is_finite() && rate > 0.0) {
        bail!("--rate {rate}: expected a positive number of records per second");
    }
    if let Some(factor) = time_scale {
        if !(factor.is_finite() && factor > 0.0) {
            bail!(
                "--time-scale {factor}: expected a positive number (event seconds per wall second)"
            );
        }
    }
    Ok(())
}

/// The generator settings of `pulso run`, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LiveGenerator {
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
    /// The settings of `flags`, else of the config file's section `file`, else the
    /// defaults; refuses a rate or time scale that is not positive.
    pub(crate) fn resolve(
        flags: GeneratorSection,
        file: GeneratorSection,
    ) -> Result<LiveGenerator> {
        let settings = flags.or(file);
        let generator = LiveGenerator {
            rate: settings.rate.unwrap_or(DEFAULT_RATE),
            scale: settings.scale.unwrap_or(DEFAULT_SCALE),
            seed: settings.seed.unwrap_or(DEFAULT_SEED),
            time_scale: settings.time_scale,
            archive: settings.archive.unwrap_or(true),
        };
        check(generator.time_scale, generator.rate)?;
        Ok(generator)
    }

    /// The stream at wall instant `now` (UTC microseconds). Without a time scale its 14
    /// days end at `now` (as they always have); with one it starts at `now` and spans
    /// `scale × time_scale / rate` seconds.
    pub(crate) fn config(&self, now: i64) -> GeneratorConfig {
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
    pub(crate) fn clock(&self, start: i64) -> EngineClock {
        match self.time_scale {
            None => EngineClock::Wall,
            Some(factor) => EngineClock::scaled_from_now(start, factor),
        }
    }

    /// Wall seconds between re-gradings of open cases for `regrade_secs` of the engine
    /// clock: `regrade_secs / time_scale`, at least 1.
    pub(crate) fn regrade_secs(&self, regrade_secs: u64) -> u64 {
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
        let flags = GeneratorSection {
            rate: Some(rate),
            scale: Some(scale),
            time_scale,
            ..Default::default()
        };
        LiveGenerator::resolve(flags, GeneratorSection::default()).unwrap()
    }

    #[test]
    fn defaults_and_the_file_under_the_flags() {
        let none = GeneratorSection::default();
        let defaults = LiveGenerator::resolve(none, none).unwrap();
        assert_eq!(
            defaults,
            LiveGenerator {
                rate: DEFAULT_RATE,
                scale: DEFAULT_SCALE,
                seed: DEFAULT_SEED,
                time_scale: None,
                archive: true,
            }
        );
        let file = GeneratorSection {
            rate: Some(2_000.0),
            time_scale: Some(600.0),
            archive: Some(false),
            ..none
        };
        let flags = GeneratorSection {
            rate: Some(100.0),
            ..none
        };
        let resolved = LiveGenerator::resolve(flags, file).unwrap();
        assert_eq!(resolved.rate, 100.0);
        assert_eq!(
            (resolved.time_scale, resolved.archive),
            (Some(600.0), false)
        );
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

    #[test]
    fn refuses_bad_numbers() {
        assert!(check(Some(600.0), 20_000.0).is_ok());
        assert!(check(None, 1.0).is_ok());
        for (scale, rate) in [(Some(0.0), 1.0), (Some(-1.0), 1.0), (Some(f64::NAN), 1.0)] {
            assert!(check(scale, rate).is_err());
        }
        assert!(check(None, 0.0).is_err());
        assert!(check(Some(1.0), f64::INFINITY).is_err());
        let bad = GeneratorSection {
            time_scale: Some(0.0),
            ..Default::default()
        };
        assert!(LiveGenerator::resolve(GeneratorSection::default(), bad).is_err());
    }
}
