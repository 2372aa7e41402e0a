//! `--time-scale F` of `pulso run` and `pulso generate`: the built-in generator's event time
//! advances `F` seconds per wall-clock second when its records are read at `--rate R`
//! records/s, so its `--scale` records span `scale × F / R` seconds of event time. A soak
//! run crosses many retention horizons in minutes this way (VIEWS.md, "Retention": the
//! scaled clock then stands in for the wall clock).

use anyhow::{bail, Result};
use pulso_connectors::generator::{GeneratorConfig, SPAN};
use pulso_dataflows::clock::EngineClock;

/// Refuses a time scale or a rate that is not a positive finite number.
pub fn check(time_scale: Option<f64>, rate: f64) -> Result<()> {
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

/// The generator of `pulso run` at wall instant `now` (UTC microseconds). Without a time
/// scale its 14 days end at `now` (as they always have); with one it starts at `now` and
/// spans `scale × time_scale / rate` seconds.
pub fn live_generator(
    seed: u64,
    scale: u64,
    time_scale: Option<f64>,
    rate: f64,
    now: i64,
) -> GeneratorConfig {
    match time_scale {
        None => GeneratorConfig {
            seed,
            scale,
            start: now - SPAN,
            span: SPAN,
        },
        Some(factor) => GeneratorConfig {
            seed,
            scale,
            start: now,
            span: SPAN,
        }
        .time_scaled(factor, rate),
    }
}

/// The engine clock of `pulso run`: the wall clock, or with a time scale a clock that reads
/// the generator's `start` now and runs `time_scale` times faster.
pub fn live_clock(time_scale: Option<f64>, start: i64) -> EngineClock {
    match time_scale {
        None => EngineClock::Wall,
        Some(factor) => EngineClock::scaled_from_now(start, factor),
    }
}

/// Wall seconds between re-gradings of open cases for `regrade_secs` of the engine clock:
/// `regrade_secs / time_scale`, at least 1.
pub fn regrade_secs(regrade_secs: u64, time_scale: Option<f64>) -> u64 {
    match time_scale {
        None => regrade_secs,
        Some(factor) => ((regrade_secs as f64 / factor).round() as u64).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000;

    #[test]
    fn without_a_time_scale_nothing_changes() {
        let config = live_generator(1, 1_000, None, 5_000.0, NOW);
        assert_eq!((config.start, config.span), (NOW - SPAN, SPAN));
        assert_eq!(live_clock(None, NOW), EngineClock::Wall);
    }

    #[test]
    fn a_time_scale_starts_now_and_spans_scale_times_factor_over_rate() {
        // 24M records at 20,000/s take 20 min; at time scale 600 they span 200 h.
        let config = live_generator(1, 24_000_000, Some(600.0), 20_000.0, NOW);
        assert_eq!(config.start, NOW);
        assert_eq!(config.span, 200 * 3_600 * 1_000_000);
        let clock = live_clock(Some(600.0), NOW);
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
    }

    #[test]
    fn regrades_in_scaled_time() {
        assert_eq!(regrade_secs(30, None), 30);
        assert_eq!(regrade_secs(30, Some(600.0)), 1);
        assert_eq!(regrade_secs(60, Some(2.0)), 30);
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
    }
}
