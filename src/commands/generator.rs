//! The built-in generator's settings of `pulso run` and `pulso generate`: flags over the
//! config file's `generator` section over defaults, and the checks of `--rate` and
//! `--time-scale` (what a time scale does: `pulso_pipeline::generator`).

use anyhow::{bail, Result};
use pulso_pipeline::generator::LiveGenerator;

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

/// The settings of `flags`, else of the config file's section `file`, else the defaults;
/// refuses a rate or time scale that is not positive.
pub(crate) fn resolve(flags: GeneratorSection, file: GeneratorSection) -> Result<LiveGenerator> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_the_file_under_the_flags() {
        let none = GeneratorSection::default();
        let defaults = resolve(none, none).unwrap();
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
        let resolved = resolve(flags, file).unwrap();
        assert_eq!(resolved.rate, 100.0);
        assert_eq!(
            (resolved.time_scale, resolved.archive),
            (Some(600.0), false)
        );
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
        assert!(resolve(GeneratorSection::default(), bad).is_err());
    }
}
