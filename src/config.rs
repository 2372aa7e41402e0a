//! The JSON config file of `--config`, one format for every command: `pulso run` reads all
//! of it (`generator` only when it runs the built-in generator); `replay`, `backfill` and `verify` read its `retention` section and, when they talk
//! to ClickHouse, its `clickhouse` section (the other sections are accepted and ignored, so
//! one file serves them all). Unknown sections and fields are refused.

use std::path::Path;

use anyhow::{Context, Result};
use pulso_connectors::kafka::KafkaConfig;
use pulso_events::delivery_sla::SlaConfig;
use pulso_events::retention::Retention;
use pulso_queries::{AlertsConfig, ApiConfig};
use pulso_sinks::clickhouse::ClickHouseConfig;
use serde::Deserialize;

/// The config file: `{"kafka": {...}, "clickhouse": {...}, "api": {...}, "alerts": {...},
/// "retention": {...}, "generator": {...}, "sla": {...}}`, every section optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    /// The Kafka source of `pulso run` (brokers, librdkafka properties, topics, DLQ topic).
    pub kafka: Option<KafkaConfig>,
    /// ClickHouse connection settings; `pulso run` writes there even without `--clickhouse`.
    pub clickhouse: Option<ClickHouseConfig>,
    /// API tokens and request limits of `pulso run`.
    #[serde(default)]
    pub api: ApiConfig,
    /// Alert rules and webhook of `pulso run`.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Retention horizons (VIEWS.md, "Retention"); the defaults when absent.
    #[serde(default)]
    pub retention: Retention,
    /// The built-in generator of `pulso run` (its flags win).
    #[serde(default)]
    pub generator: GeneratorSection,
    /// Delivery targets of `notification_latency` (`sla.delivery_seconds`); the defaults of
    /// VIEWS.md when absent.
    #[serde(default)]
    pub sla: SlaConfig,
}

/// The `generator` section: settings of `pulso run`'s built-in generator, each optional
/// (the flag of the same name wins; see `pulso run --help` for the defaults).
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeneratorSection {
    /// Records per second (`--rate`).
    pub rate: Option<f64>,
    /// Records in all (`--scale`).
    pub scale: Option<u64>,
    /// Random seed (`--seed`).
    pub seed: Option<u64>,
    /// Event seconds per wall second (`--time-scale`).
    pub time_scale: Option<f64>,
    /// Whether the generated records are archived under `OUT/archive` (`--no-archive`
    /// sets false).
    pub archive: Option<bool>,
}

impl GeneratorSection {
    /// Each setting of `self`, else of `other`.
    pub(crate) fn or(self, other: GeneratorSection) -> GeneratorSection {
        GeneratorSection {
            rate: self.rate.or(other.rate),
            scale: self.scale.or(other.scale),
            seed: self.seed.or(other.seed),
            time_scale: self.time_scale.or(other.time_scale),
            archive: self.archive.or(other.archive),
        }
    }
}

impl FileConfig {
    /// Reads and checks the file at `path` (the defaults without one). Refuses unreadable
    /// JSON, unknown fields and a `retention` section whose horizons are shorter than its
    /// `late_after`.
    pub(crate) fn load(path: Option<&Path>) -> Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: FileConfig =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        config
            .retention
            .validate()
            .with_context(|| format!("{}: invalid retention section", path.display()))?;
        Ok(config)
    }

    /// The ClickHouse settings of a command given `--clickhouse URL`: that URL with the rest
    /// of the file's `clickhouse` section (defaults without one), and `database` (a
    /// `--clickhouse-database` flag) over the section's database.
    pub(crate) fn clickhouse_at(&self, url: &str, database: Option<&str>) -> ClickHouseConfig {
        let mut config = self.clickhouse.clone().unwrap_or_default();
        config.url = url.to_string();
        if let Some(database) = database {
            config.database = database.to_string();
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<FileConfig> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("pulso.json");
        std::fs::write(&path, text)?;
        FileConfig::load(Some(&path))
    }

    #[test]
    fn no_file_is_the_defaults() {
        let config = FileConfig::load(None).unwrap();
        assert_eq!(config.retention, Retention::default());
        assert!(config.kafka.is_none() && config.clickhouse.is_none());
    }

    #[test]
    fn reads_the_retention_section() {
        let config = load_text(
            r#"{"retention": {"late_after": "1h", "windows": {"minute": "2h", "hour": "1d",
                "day": "7d"}, "entities": "6h", "timelines": "6h", "future_tolerance": "1d"}}"#,
        )
        .unwrap();
        let r = config.retention;
        assert_eq!(r.late_after, "1h".parse().unwrap());
        assert_eq!(r.windows.day, "7d".parse().unwrap());
        assert_eq!(r.entities, "6h".parse().unwrap());
    }

    #[test]
    fn refuses_bad_retention_and_unknown_fields() {
        let error =
            load_text(r#"{"retention": {"late_after": "2d", "timelines": "1d"}}"#).unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("invalid retention section"), "{message}");
        assert!(message.contains("retention.timelines"), "{message}");
        let error = load_text(r#"{"retention": {"late_after": "soon"}}"#).unwrap_err();
        assert!(
            format!("{error:#}").contains("retention horizon"),
            "{error:#}"
        );
        assert!(load_text(r#"{"retentoin": {}}"#).is_err());
        assert!(load_text(r#"{"retention": {"windows": {"week": "7d"}}}"#).is_err());
    }

    #[test]
    fn generator_section_under_the_flags() {
        let config = load_text(
            r#"{"generator": {"rate": 2000, "time_scale": 600, "scale": 1000000000000,
                "archive": false}}"#,
        )
        .unwrap();
        let file = config.generator;
        assert_eq!(file.scale, Some(1_000_000_000_000));
        let flags = GeneratorSection {
            rate: Some(50.0),
            ..Default::default()
        };
        let merged = flags.or(file);
        assert_eq!(merged.rate, Some(50.0));
        assert_eq!(merged.time_scale, Some(600.0));
        assert_eq!((merged.archive, merged.seed), (Some(false), None));
        assert!(load_text(r#"{"generator": {"speed": 2}}"#).is_err());
    }

    #[test]
    fn clickhouse_flags_over_the_file() {
        let config = load_text(
            r#"{"clickhouse": {"url": "http://file:8123", "database": "filedb", "user": "u"}}"#,
        )
        .unwrap();
        let c = config.clickhouse_at("http://flag:8123", None);
        assert_eq!(
            (c.url.as_str(), c.database.as_str(), c.user.as_deref()),
            ("http://flag:8123", "filedb", Some("u"))
        );
        assert_eq!(config.clickhouse_at("x", Some("other")).database, "other");
        let bare = FileConfig::default().clickhouse_at("http://h:8123", None);
        assert_eq!(bare, ClickHouseConfig::at("http://h:8123", "pulso"));
    }
}
