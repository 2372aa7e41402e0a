//! `pulso replay --input DIR --out DIR [--as-of RFC3339] [--workers N] [--epoch-records N]`:
//! one deterministic pass, views to `OUT/views/<view>.parquet`, rejects to `OUT/rejected.jsonl`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use pulso_connectors::jsonl;
use pulso_dataflows::{replay, ReplayConfig};
use pulso_events::time::parse_rfc3339;
use pulso_sinks::parquet::{clean_temp_files, write_rejected_jsonl, write_views, RejectedRecord};

use crate::interleave::into_epochs;
use crate::stats::peak_rss_bytes;

/// Flags of `pulso replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Folder of `<topic>.jsonl` files (file order is arrival order).
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder: `views/<view>.parquet` and `rejected.jsonl`.
    #[arg(long)]
    pub out: PathBuf,
    /// Grade open cases at this instant (RFC 3339); default: the greatest event time.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Records per epoch.
    #[arg(long, default_value_t = 50_000)]
    pub epoch_records: usize,
}

/// Runs the replay.
pub fn run(args: &ReplayArgs) -> Result<()> {
    let as_of = match &args.as_of {
        Some(text) => Some(
            parse_rfc3339(text)
                .ok_or_else(|| anyhow!("--as-of {text:?} is not RFC 3339 with a zone"))?,
        ),
        None => None,
    };
    let read_started = Instant::now();
    let records = jsonl::read_dir(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let total = records.len();
    let batches = Arc::new(into_epochs(records, args.epoch_records));
    let read_secs = read_started.elapsed().as_secs_f64();

    let started = Instant::now();
    let config = ReplayConfig {
        workers: args.workers,
        as_of,
    };
    let output = replay(batches, &config)?;
    let secs = started.elapsed().as_secs_f64();

    let views_dir = args.out.join("views");
    std::fs::create_dir_all(&views_dir)
        .with_context(|| format!("creating {}", views_dir.display()))?;
    clean_temp_files(&views_dir)?;
    clean_temp_files(&args.out)?;
    write_views(&views_dir, &output.views)?;
    let rejected: Vec<RejectedRecord> = output
        .rejected
        .iter()
        .map(|(record, rejection)| RejectedRecord {
            topic: record.topic,
            position: record.position,
            reason: rejection.reason,
            detail: rejection.detail.clone(),
            key: record.key.clone(),
            value: record.value.clone(),
        })
        .collect();
    write_rejected_jsonl(&args.out.join("rejected.jsonl"), &rejected)?;

    println!(
        "replayed {total} records ({} rejected) on {} worker(s) in {secs:.2}s: {:.0} events/s; read {read_secs:.2}s; {} view changes; peak RSS {:.1} MiB",
        rejected.len(),
        args.workers,
        total as f64 / secs.max(1e-9),
        output.changes,
        peak_rss_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0),
    );
    println!("views written to {}", views_dir.display());
    Ok(())
}
