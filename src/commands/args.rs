//! Flags shared by several subcommands (`--config`, `--clickhouse` and
//! `--clickhouse-database`) and the clap value parsers of typed flags: RFC 3339 instants and
//! Kafka start positions are checked while the command line is parsed, so a bad value is a
//! usage error naming the flag, before anything runs.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use pulso_connectors::kafka::StartPosition;
use pulso_events::registry::ViewSelection;
use pulso_events::time::{parse_rfc3339, Micros};
use pulso_sinks::clickhouse::ClickHouseConfig;

use crate::config::FileConfig;

/// `--config FILE` of `replay`, `backfill` and `verify`.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct ConfigArgs {
    /// JSON config file, the format of `pulso run --config` (give the live run's file): its
    /// `retention` section sets the retention horizons, and with `--clickhouse` its
    /// `clickhouse` section the connection settings (user, password, database...); other
    /// sections are ignored.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

impl ConfigArgs {
    /// Reads and checks the file (the defaults without `--config`).
    pub(crate) fn load(&self) -> Result<FileConfig> {
        FileConfig::load(self.config.as_deref())
    }
}

/// `--views VIEW,...` of `replay` and `backfill`: the views a batch pass computes and writes.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct ViewsArgs {
    /// Compute and write these views only (comma-separated names, e.g.
    /// `notification_rates,order_metrics`); default: every view. The files of the other views
    /// in `--out` are left as they are. Not with `--clickhouse`, which is made to hold every
    /// view.
    #[arg(
        long,
        value_name = "VIEW,...",
        default_value_t,
        conflicts_with = "clickhouse"
    )]
    pub(crate) views: ViewSelection,
}

/// `--clickhouse URL [--clickhouse-database NAME]` of `run`, `replay`, `backfill` and
/// `verify`: the server the views are written to (`verify`: checked in).
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct ClickHouseArgs {
    /// ClickHouse HTTP URL (e.g. `http://127.0.0.1:8123`); user, password and the other
    /// connection settings come from the `clickhouse` section of `--config`.
    #[arg(long, value_name = "URL")]
    pub(crate) clickhouse: Option<String>,
    /// ClickHouse database for `--clickhouse` (default: the config file's
    /// `clickhouse.database`, else `pulso`).
    #[arg(long, value_name = "NAME", requires = "clickhouse")]
    pub(crate) clickhouse_database: Option<String>,
}

impl ClickHouseArgs {
    /// The settings of `--clickhouse` (none without it): its URL and database over the
    /// file's `clickhouse` section.
    pub(crate) fn config(&self, file: &FileConfig) -> Option<ClickHouseConfig> {
        let url = self.clickhouse.as_deref()?;
        Some(file.clickhouse_at(url, self.clickhouse_database.as_deref()))
    }

    /// The settings of `--clickhouse`, else the file's `clickhouse` section (`pulso run`
    /// writes there even without the flag).
    pub(crate) fn config_or_file(&self, file: &FileConfig) -> Option<ClickHouseConfig> {
        self.config(file).or_else(|| file.clickhouse.clone())
    }
}

/// Value parser of an RFC 3339 instant with a zone (e.g. `2024-01-29T00:00:00Z`), in UTC
/// microseconds.
pub(crate) fn rfc3339(text: &str) -> Result<Micros, String> {
    parse_rfc3339(text).ok_or_else(|| {
        format!("{text:?} is not an RFC 3339 time with a zone (e.g. 2024-01-29T00:00:00Z)")
    })
}

/// Value parser of a Kafka start position: `earliest`, `latest`, or an RFC 3339 time (the
/// first record at or after it; Kafka timestamps are milliseconds).
pub(crate) fn start_position(text: &str) -> Result<StartPosition, String> {
    match text {
        "earliest" => Ok(StartPosition::Earliest),
        "latest" => Ok(StartPosition::Latest),
        time => match parse_rfc3339(time) {
            Some(micros) => Ok(StartPosition::Timestamp(micros.div_euclid(1000))),
            None => Err(format!(
                "{time:?}: expected earliest, latest or an RFC 3339 time"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// A command line with every shared flag.
    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        clickhouse: ClickHouseArgs,
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        views: ViewsArgs,
        #[arg(long, value_parser = rfc3339)]
        as_of: Option<Micros>,
        #[arg(long, value_parser = start_position)]
        start: Option<StartPosition>,
    }

    fn parse(args: &[&str]) -> Result<Probe, clap::Error> {
        Probe::try_parse_from(std::iter::once("probe").chain(args.iter().copied()))
    }

    #[test]
    fn times_are_parsed_with_their_zone() {
        let probe = parse(&["--as-of", "2024-01-29T01:00:00+01:00"]).unwrap();
        assert_eq!(probe.as_of, parse_rfc3339("2024-01-29T00:00:00Z"));
        for bad in ["2024-01-29T00:00:00", "yesterday", ""] {
            let error = parse(&["--as-of", bad]).unwrap_err().to_string();
            assert!(error.contains("--as-of"), "{error}");
            assert!(error.contains("RFC 3339"), "{error}");
        }
    }

    #[test]
    fn start_positions_are_typed() {
        let start = |text: &str| parse(&["--start", text]).map(|p| p.start.unwrap());
        assert_eq!(start("earliest").unwrap(), StartPosition::Earliest);
        assert_eq!(start("latest").unwrap(), StartPosition::Latest);
        assert_eq!(
            start("1970-01-01T00:00:01.5Z").unwrap(),
            StartPosition::Timestamp(1_500)
        );
        let error = start("oldest").unwrap_err().to_string();
        assert!(error.contains("--start"), "{error}");
        assert!(error.contains("expected earliest, latest"), "{error}");
    }

    #[test]
    fn views_are_named_and_not_with_clickhouse() {
        assert!(parse(&[]).unwrap().views.views.is_all());
        let some = parse(&["--views", "order_metrics,timelines"])
            .unwrap()
            .views
            .views;
        assert!(some.contains("order_metrics") && some.contains("timelines"));
        assert!(!some.contains("notification_rates"));
        let error = parse(&["--views", "orders"]).unwrap_err().to_string();
        assert!(error.contains("unknown view \"orders\""), "{error}");
        let error = parse(&[
            "--views",
            "timelines",
            "--clickhouse",
            "http://127.0.0.1:8123",
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("cannot be used with"), "{error}");
    }

    #[test]
    fn clickhouse_flags_lie_over_the_file() {
        let file: FileConfig = serde_json::from_str(
            r#"{"clickhouse": {"url": "http://file:8123", "database": "from_file", "user": "u"}}"#,
        )
        .unwrap();
        let none = parse(&[]).unwrap().clickhouse;
        assert!(none.config(&file).is_none());
        assert_eq!(none.config_or_file(&file).unwrap().url, "http://file:8123");

        let flags = parse(&["--clickhouse", "http://flag:8123"])
            .unwrap()
            .clickhouse;
        let config = flags.config(&file).unwrap();
        assert_eq!(
            (config.url.as_str(), config.database.as_str()),
            ("http://flag:8123", "from_file")
        );
        assert_eq!(config.user.as_deref(), Some("u"));

        let args = [
            "--clickhouse",
            "http://flag:8123",
            "--clickhouse-database",
            "d",
        ];
        let config = parse(&args).unwrap().clickhouse.config(&file).unwrap();
        assert_eq!(config.database, "d");
        // A database without a server is a usage error.
        assert!(parse(&["--clickhouse-database", "d"]).is_err());
    }
}
