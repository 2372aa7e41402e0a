//! `pulso verify --archive DIR [--clickhouse URL] [--views DIR] [--api URL] [--config FILE]`:
//! recomputes every view from the raw archive (with the config file's retention horizons)
//! and diffs it against what the live run published (ClickHouse, its Parquet snapshots, its
//! HTTP API), printing each difference and exiting non-zero on any. Open cases are graded at
//! the target's own `as_of`. `pipeline_health` counts the archived (accepted) records plus
//! the rejected ones of the archive's progress record; the API's `/v1/pipeline_health` (live
//! counters, lag) is not compared. An API that answers 429 (rate limited) is retried a
//! bounded number of times, then reported (the checks themselves: `pulso_pipeline::verify`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use pulso_pipeline::batch::Archive;
use pulso_pipeline::verify::{verify_api, verify_stores};

use super::args::{ClickHouseArgs, ConfigArgs};

/// Flags of `pulso verify`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["clickhouse", "views", "api"]))]
pub(crate) struct VerifyArgs {
    /// The raw archive root.
    #[arg(long)]
    pub archive: PathBuf,
    /// Check the views of this ClickHouse server.
    #[command(flatten)]
    pub(crate) clickhouse: ClickHouseArgs,
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
    /// The config file (retention horizons, ClickHouse connection settings): give the live
    /// run's.
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

/// Runs the check.
pub(crate) fn run(args: &VerifyArgs) -> Result<()> {
    let file = args.config.load()?;
    let archive = Archive::read(&args.archive, None, None)?;
    let settings = (file.retention, file.sla.delivery_seconds);
    let clickhouse = args.clickhouse.config(&file);
    let views = args.views.as_deref();
    let mut total = verify_stores(&archive, clickhouse, views, args.workers, settings)?;
    if let Some(api) = &args.api {
        let settings = (file.retention.for_archive(), file.sla.delivery_seconds);
        total += verify_api(api, &archive, args.workers, settings)?;
    }
    if total > 0 {
        bail!("{total} differences between the archive and the published views");
    }
    println!("verify: batch equals stream");
    Ok(())
}
