//! `pulso verify --archive DIR [--clickhouse URL] [--views DIR] [--api URL] [--config FILE]`:
//! recomputes every view from the raw archive (with the config file's retention horizons)
//! and diffs it against what the live run published (ClickHouse, its Parquet snapshots, its
//! HTTP API), printing each difference and exiting non-zero on any. Open cases are graded at the target's own `as_of`. `pipeline_health`
//! counts the archived (accepted) records plus the rejected ones of the archive's progress
//! record; the API's `/v1/pipeline_health` (live counters, lag) is not compared.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use pulso_dataflows::retention::Retention;
use pulso_dataflows::{replay, ReplayConfig};
use pulso_events::views::{ViewRow, ViewSet};
use pulso_events::{RejectReason, SourceRecord, Topic};
use pulso_sinks::changes::diff_views;
use pulso_sinks::clickhouse::ClickHouseSink;
use pulso_sinks::parquet::{read_archive, read_progress, read_whole_views, ArchiveRecord};

use crate::config::FileConfig;
use crate::live::recovery::restored_rejections;

/// Flags of `pulso verify`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["clickhouse", "views", "api"]))]
pub struct VerifyArgs {
    /// The raw archive root.
    #[arg(long)]
    pub archive: PathBuf,
    /// Check this ClickHouse server's views.
    #[arg(long)]
    pub clickhouse: Option<String>,
    /// ClickHouse database for `--clickhouse` (default: the config file's
    /// `clickhouse.database`, else `pulso`).
    #[arg(long)]
    pub clickhouse_database: Option<String>,
    /// Check the Parquet view snapshots in this folder (`OUT/views`).
    #[arg(long)]
    pub views: Option<PathBuf>,
    /// Check the live HTTP API at this base URL (e.g. `http://127.0.0.1:8080`). When the API
    /// has tokens, give one in the environment variable `PULSO_API_TOKEN` (an all-tenant
    /// token, so every row is compared).
    #[arg(long)]
    pub api: Option<String>,
    /// Timely worker threads for the recomputation.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// JSON config file, the format of `pulso run --config`: its `retention` section sets the
    /// horizons of the recomputation (give the live run's file), and with
    /// `--clickhouse` its `clickhouse` section the connection settings; other sections are ignored.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// What the archive holds: its accepted records and the rejected counts of its progress record.
struct Archive {
    /// The accepted records, in the live run's epochs.
    epochs: Vec<Vec<SourceRecord>>,
    rejected: Vec<(Topic, RejectReason, u64)>,
}

/// The whole views recomputed from the archive (rows expired by retention included), and the
/// watermark they end at.
fn recompute(
    archive: &Archive,
    workers: usize,
    retention: Retention,
    as_of: Option<i64>,
) -> Result<(ViewSet, Option<i64>)> {
    let epochs = archive.epochs.clone();
    let config = ReplayConfig {
        workers,
        as_of,
        restored_rejections: archive.rejected.clone(),
        retention,
        ..Default::default()
    };
    let output = replay(epochs, &config)?;
    Ok((output.views, output.watermark))
}

/// Prints the differences of `actual` from `expected`; returns how many there are.
fn report(target: &str, expected: &ViewSet, actual: &ViewSet) -> usize {
    let differences = diff_views(actual, expected);
    for (row, diff) in differences.iter().take(50) {
        let what = if *diff > 0 { "missing" } else { "unexpected" };
        println!("{target}: {what} {}", describe(row));
    }
    if differences.len() > 50 {
        println!(
            "{target}: ... and {} more differences",
            differences.len() - 50
        );
    }
    differences.len()
}

fn describe(row: &ViewRow) -> String {
    serde_json::to_string(row).unwrap_or_else(|_| format!("{row:?}"))
}

/// Runs the check.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let file = FileConfig::load(args.config.as_deref())?;
    let archive = Archive {
        epochs: ArchiveRecord::into_epochs(read_archive(&args.archive, None, None)?),
        rejected: restored_rejections(&read_progress(&args.archive)?),
    };
    let mut targets: Vec<(String, ViewSet)> = Vec::new();
    if let Some(url) = &args.clickhouse {
        let config = file.clickhouse_at(url, args.clickhouse_database.as_deref());
        targets.push((
            format!("clickhouse {url}"),
            ClickHouseSink::connect(config)?.read_views()?,
        ));
    }
    if let Some(dir) = &args.views {
        targets.push((format!("parquet {}", dir.display()), read_whole_views(dir)?));
    }
    let mut total = 0;
    for (target, actual) in &targets {
        let retention = file.retention.for_archive();
        let (expected, _) = recompute(&archive, args.workers, retention, actual.as_of)?;
        let n = report(target, &expected, actual);
        println!(
            "{target}: {n} differences from the {} archived records",
            archive.epochs.iter().map(Vec::len).sum::<usize>()
        );
        total += n;
    }
    if let Some(api) = &args.api {
        total += verify_api(api, &archive, args.workers, file.retention.for_archive())?;
    }
    if total > 0 {
        bail!("{total} differences between the archive and the published views");
    }
    println!("verify: batch equals stream");
    Ok(())
}

/// A GET of the API with the token of `PULSO_API_TOKEN`, if set, waiting out rate limits.
fn api_get(url: &str) -> Result<String> {
    loop {
        let mut request = ureq::get(url);
        if let Ok(token) = std::env::var("PULSO_API_TOKEN") {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        match request.call() {
            Ok(response) => return Ok(response.into_string()?),
            Err(ureq::Error::Status(429, response)) => {
                let wait = response
                    .header("Retry-After")
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(1);
                std::thread::sleep(std::time::Duration::from_secs(wait));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One view's rows as the API serves them, following the cursor, with the `as_of` they reflect.
fn api_rows(api: &str, view: &str) -> Result<(Vec<serde_json::Value>, Option<String>)> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let mut as_of = None;
    loop {
        let mut url = format!("{api}/v1/views/{view}?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let text = api_get(&url)?;
        let body: serde_json::Value = serde_json::from_str(&text)?;
        as_of = body["as_of"].as_str().map(str::to_string).or(as_of);
        rows.extend(body["rows"].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok((rows, as_of)),
        }
    }
}

/// Compares every view the API serves (but `pipeline_health`) with the recomputation, graded
/// at the API's `as_of`; returns the number of differences.
fn verify_api(api: &str, archive: &Archive, workers: usize, retention: Retention) -> Result<usize> {
    let mut served = Vec::new();
    let mut as_of = None;
    for view in pulso_events::views::VIEW_NAMES
        .iter()
        .filter(|v| **v != "pipeline_health")
    {
        let (rows, view_as_of) = api_rows(api, view)?;
        as_of = as_of.or(view_as_of);
        served.extend(
            rows.into_iter()
                .map(|row| (view.to_string(), row.to_string())),
        );
    }
    let as_of = as_of.as_deref().and_then(pulso_events::time::parse_rfc3339);
    // The API serves the retained rows only.
    let (whole, watermark) = recompute(archive, workers, retention, as_of)?;
    let (expected, _) = retention.split(whole, watermark);
    let mut wanted: Vec<(String, String)> = pulso_sinks::changes::view_rows(&expected)
        .filter_map(|row| pulso_queries::api::render::row_json(&row))
        .filter(|(view, _)| *view != "pipeline_health")
        .map(|(view, json)| (view.to_string(), json.to_string()))
        .collect();
    wanted.sort();
    served.sort();
    let missing: Vec<_> = wanted
        .iter()
        .filter(|r| served.binary_search(r).is_err())
        .collect();
    let unexpected: Vec<_> = served
        .iter()
        .filter(|r| wanted.binary_search(r).is_err())
        .collect();
    for (view, row) in missing.iter().take(25) {
        println!("api {api}: missing {view} {row}");
    }
    for (view, row) in unexpected.iter().take(25) {
        println!("api {api}: unexpected {view} {row}");
    }
    let n = missing.len() + unexpected.len();
    println!(
        "api {api}: {n} differences from the {} archived records",
        archive.epochs.iter().map(Vec::len).sum::<usize>()
    );
    Ok(n)
}
