//! `pulso backfill --archive DIR [--from T] [--to T] (--out DIR [--views VIEW,...] |
//! --clickhouse URL) [--config FILE]`: replays the raw Parquet archive through the same
//! dataflows (with the config file's retention horizons) and writes the views (all, or those
//! `--views` names). Outputs are written atomically (Parquet) or idempotently (ClickHouse),
//! so an interrupted backfill can simply be run again.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use pulso_events::time::Micros;
use pulso_pipeline::batch::{write_parquet, write_to_clickhouse, Archive};
use pulso_pipeline::progress::Progress;
use pulso_pipeline::replay::SpillConfig;
use pulso_pipeline::{replay_source, ReplayConfig};

use super::args::{rfc3339, ClickHouseArgs, ConfigArgs, ViewsArgs};

/// Flags of `pulso backfill`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["out", "clickhouse"]))]
pub(crate) struct BackfillArgs {
    /// The raw archive root (`OUT/archive` of `pulso run`).
    #[arg(long)]
    pub archive: PathBuf,
    /// Only events at or after this time (RFC 3339).
    #[arg(long, value_parser = rfc3339, value_name = "RFC3339")]
    pub(crate) from: Option<Micros>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_parser = rfc3339, value_name = "RFC3339")]
    pub(crate) to: Option<Micros>,
    /// Write the views to `OUT/views/<view>.parquet`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The views to compute and write (default: every view).
    #[command(flatten)]
    pub(crate) views: ViewsArgs,
    /// Write the views to ClickHouse.
    #[command(flatten)]
    pub(crate) clickhouse: ClickHouseArgs,
    /// Grade open cases at this instant (RFC 3339); default: the greatest event time.
    #[arg(long, value_parser = rfc3339, value_name = "RFC3339")]
    pub(crate) as_of: Option<Micros>,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Ignored: the archive's own epochs are replayed, so that the watermark, `too_late`
    /// and expiries are the live run's (kept so that older scripts still run).
    #[arg(long, default_value_t = 50_000, hide = true)]
    pub epoch_records: usize,
    /// The config file (retention horizons, ClickHouse connection settings).
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

/// Runs the backfill.
pub(crate) fn run(args: &BackfillArgs) -> Result<()> {
    let file = args.config.load()?;
    let (from, to) = (args.from, args.to);
    // The whole archive: the records rejected while it was written count too (the progress
    // record has them); a time range cannot place them, so it counts archived records only.
    let archive = Archive::read(&args.archive, from, to)?;
    let total = archive.records() as u64;

    let progress = Progress::start("backfill", total);
    let started = Instant::now();
    let clickhouse = args.clickhouse.config(&file);
    // Timeline entries spill to the output folder (the system's temporary folder without
    // one); unless ClickHouse needs the whole views, they are merged straight into their file.
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }
    let config = ReplayConfig {
        workers: args.workers,
        as_of: args.as_of,
        progress: Some(progress.counter()),
        retention: file.retention.for_archive(),
        sla: file.sla.delivery_seconds,
        spill: SpillConfig {
            dir: args.out.clone(),
            ..Default::default()
        },
        stream_timelines: args.out.is_some() && clickhouse.is_none(),
        views: args.views.views.clone(),
        ..Default::default()
    };
    // One poll per archived epoch; the progress record's rejected counts come with it.
    let output = replay_source(&mut archive.into_source(), usize::MAX, &config);
    progress.finish();
    let mut output = output?;
    let secs = started.elapsed().as_secs_f64();

    let written = if let Some(out) = &args.out {
        // The views are copied only when ClickHouse needs them afterwards.
        let views = match clickhouse {
            Some(_) => output.views.clone(),
            None => std::mem::take(&mut output.views),
        };
        let timelines = std::mem::take(&mut output.timelines);
        Some(write_parquet(
            out,
            views,
            timelines,
            output.watermark,
            &file.retention,
            "backfill",
            &args.views.views,
        )?)
    } else {
        None
    };
    if let Some(config) = clickhouse {
        let url = config.url.clone();
        let written = write_to_clickhouse(config, &output.views)?;
        println!("clickhouse: {written} row changes written to {url}");
    }
    println!(
        "backfilled {total} archived records on {} worker(s) in {secs:.2}s: {:.0} events/s",
        args.workers,
        total as f64 / secs.max(1e-9)
    );
    // The command ends here: the rows written go back to the system with the process.
    if let Some(written) = written {
        written.release_at_exit();
    }
    Ok(())
}
