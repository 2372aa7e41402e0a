//! Generator configuration.

use super::format::{DAY, SEC};

/// The default simulated time span of a generated stream: scenarios start uniformly over it,
/// and no event has an event time after `start + span` (14 days, long enough for open cases
/// to be `BREACHED`, `AT_RISK` and `ON_TRACK` against the greatest event time).
pub const SPAN: i64 = 14 * DAY;

/// `2024-01-15T00:00:00Z` in UTC microseconds.
pub const DEFAULT_START: i64 = 1_705_276_800_000_000;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Seed of the `ChaCha8Rng`: the same config gives the same bytes.
    pub seed: u64,
    /// Roughly the total number of records (all kinds, duplicates and bad ones included).
    pub scale: u64,
    /// UTC microseconds of the first event (default `2024-01-15T00:00:00Z`).
    pub start: i64,
    /// Simulated time the `scale` records span, in microseconds (default [`SPAN`], 14 days):
    /// the stream's clock advances `span / scale` per record.
    pub span: i64,
    /// A stream that can run for ever with bounded live state: departments' SLAs are a
    /// twelfth of the defaults (2 to 20 hours) and every case closes, the ones that would
    /// stay open within one to two SLAs (set by [`GeneratorConfig::time_scaled`]). Open
    /// cases are live state that no retention horizon may expire (VIEWS.md).
    pub steady_cases: bool,
}

impl GeneratorConfig {
    /// A config with this seed and scale, starting at [`DEFAULT_START`] and spanning [`SPAN`].
    pub fn new(seed: u64, scale: u64) -> GeneratorConfig {
        GeneratorConfig {
            seed,
            scale,
            start: DEFAULT_START,
            span: SPAN,
            steady_cases: false,
        }
    }

    /// This config with its span set so that, read at `rate` records per second, its event
    /// time advances `time_scale` seconds per wall-clock second: `span = scale × time_scale /
    /// rate` seconds (at least one second).
    pub fn time_scaled(self, time_scale: f64, rate: f64) -> GeneratorConfig {
        let seconds = self.scale.max(1) as f64 * time_scale / rate;
        let span = (seconds * SEC as f64).clamp(SEC as f64, i64::MAX as f64 / 4.0);
        GeneratorConfig {
            span: span as i64,
            steady_cases: true,
            ..self
        }
    }
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig::new(42, 100_000)
    }
}
