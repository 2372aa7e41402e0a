//! `pulso backfill --archive DIR [--from T] [--to T] (--out DIR | --clickhouse URL)
//! [--config FILE]`: replays the raw Parquet archive through the same dataflows (with the
//! config file's retention horizons) and writes the views. Outputs are written atomically
//! (Parquet) or idempotently (ClickHouse), so an interrupted backfill can simply be run again.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::Args;
use pulso_dataflows::{replay, ReplayConfig};
use pulso_events::time::parse_rfc3339;
use pulso_sinks::parquet::{
    read_archive, read_progress, write_history, write_views, ArchiveRecord, HISTORY_DIR,
};

use super::replay::write_to_clickhouse;
use crate::config::FileConfig;
use crate::live::recovery::restored_rejections;

/// Flags of `pulso backfill`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["out", "clickhouse"]))]
pub struct BackfillArgs {
    /// The raw archive root (`OUT/archive` of `pulso run`).
    #[arg(long)]
    pub archive: PathBuf,
    /// Only events at or after this time (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
    /// Write the views to `OUT/views/<view>.parquet`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the views to this ClickHouse server.
    #[arg(long)]
    pub clickhouse: Option<String>,
    /// ClickHouse database for `--clickhouse` (default: the config file's
    /// `clickhouse.database`, else `pulso`).
    #[arg(long)]
    pub clickhouse_database: Option<String>,
    /// Grade open cases at this instant (RFC 3339); default: the greatest event time.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Ignored: the archive's own epochs are replayed, so that the watermark, `too_late`
    /// and expiries are the live run's (kept so that older scripts still run).
    #[arg(long, default_value_t = 50_000, hide = true)]
    pub epoch_records: usize,
    /// JSON config file, the format of `pulso run --config`: its `retention` section sets the
    /// horizons, and with `--clickhouse` its `clickhouse`
    /// section the connection settings (user, password, database...); other sections are ignored.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

fn time_flag(name: &str, value: &Option<String>) -> Result<Option<i64>> {
    value
        .as_deref()
        .map(|text| {
            parse_rfc3339(text)
                .ok_or_else(|| anyhow!("--{name} {text:?} is not RFC 3339 with a zone"))
        })
        .transpose()
}

/// Reports progress every second: a bar with rate and ETA on a terminal, log lines otherwise.
fn spawn_progress(
    done: Arc<AtomicU64>,
    total: u64,
    finished: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let terminal = std::io::stderr().is_terminal();
        let mut last_line = Instant::now();
        while !finished.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(250));
            let n = done.load(Ordering::Relaxed).min(total);
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            let rate = n as f64 / secs;
            let eta = if rate > 0.0 {
                (total - n) as f64 / rate
            } else {
                f64::INFINITY
            };
            let pct = if total == 0 {
                100.0
            } else {
                100.0 * n as f64 / total as f64
            };
            if terminal {
                let filled = (pct / 5.0) as usize;
                eprint!(
                    "\r[{:<20}] {pct:5.1}% {n}/{total} {rate:.0} events/s ETA {eta:.0}s ",
                    "#".repeat(filled)
                );
            } else if last_line.elapsed() >= Duration::from_secs(5) {
                eprintln!(
                    "backfill: {n}/{total} records ({pct:.1}%), {rate:.0} events/s, ETA {eta:.0}s"
                );
                last_line = Instant::now();
            }
        }
        if terminal {
            eprintln!();
        }
    })
}

/// Runs the backfill.
pub fn run(args: &BackfillArgs) -> Result<()> {
    let file = FileConfig::load(args.config.as_deref())?;
    let (from, to) = (time_flag("from", &args.from)?, time_flag("to", &args.to)?);
    let as_of = time_flag("as-of", &args.as_of)?;
    let archived = read_archive(&args.archive, from, to)?;
    let total = archived.len() as u64;
    let epochs = ArchiveRecord::into_epochs(archived);

    let done = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let reporter = spawn_progress(Arc::clone(&done), total, Arc::clone(&finished));
    let started = Instant::now();
    // The whole archive: the records rejected while it was written count too (the progress
    // record has them); a time range cannot place them, so it counts archived records only.
    let restored_rejections = match (from, to) {
        (None, None) => restored_rejections(&read_progress(&args.archive)?),
        _ => Vec::new(),
    };
    let config = ReplayConfig {
        workers: args.workers,
        as_of,
        progress: Some(done),
        restored_rejections,
        retention: file.retention.for_archive(),
        ..Default::default()
    };
    let output = replay(epochs, &config);
    finished.store(true, Ordering::Relaxed);
    let _ = reporter.join();
    let output = output?;
    let secs = started.elapsed().as_secs_f64();

    if let Some(out) = &args.out {
        let (retained, expired) = file.retention.split(output.views.clone(), output.watermark);
        write_views(&out.join("views"), &retained)?;
        write_history(&out.join(HISTORY_DIR), &expired, "backfill")?;
    }
    if let Some(url) = &args.clickhouse {
        let config = file.clickhouse_at(url, args.clickhouse_database.as_deref());
        let written = write_to_clickhouse(config, &output.views)?;
        println!("clickhouse: {written} row changes written to {url}");
    }
    println!(
        "backfilled {total} archived records on {} worker(s) in {secs:.2}s: {:.0} events/s",
        args.workers,
        total as f64 / secs.max(1e-9)
    );
    Ok(())
}
