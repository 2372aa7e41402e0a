//! `pulso generate --out DIR [--seed S] [--scale N] [--time-scale F [--rate R]]`: the built-in
//! generator's stream, written as one JSONL file per topic.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_connectors::jsonl;
use pulso_events::Topic;
use pulso_pipeline::generator::check_pace;

/// Flags of `pulso generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Folder to write `<topic>.jsonl` files into (created if missing; refused if it already
    /// holds one).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Roughly how many records in all.
    #[arg(long, default_value_t = 100_000)]
    pub scale: u64,
    /// Event time advances this many seconds per second of a reader going at `--rate`: the
    /// records span scale × F / rate seconds instead of 14 days (same start,
    /// 2024-01-15T00:00:00Z).
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// The nominal read rate (records/s) of `--time-scale`; alone it changes nothing.
    #[arg(long, default_value_t = 20_000.0)]
    pub rate: f64,
}

/// Generates the streams and writes them.
pub(crate) fn run(args: &GenerateArgs) -> Result<()> {
    check_pace(args.time_scale, args.rate)?;
    let started = Instant::now();
    let mut config = GeneratorConfig {
        seed: args.seed,
        scale: args.scale,
        ..GeneratorConfig::default()
    };
    if let Some(factor) = args.time_scale {
        config = config.time_scaled(factor, args.rate);
    }
    // The files are appended to: a second run into the same folder would double its records.
    let taken: Vec<String> = Topic::ALL
        .iter()
        .map(|&topic| jsonl::topic_path(&args.out, topic))
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !taken.is_empty() {
        bail!(
            "{} already holds generated topic files ({}): remove them or choose another --out",
            args.out.display(),
            taken.join(", ")
        );
    }
    let records = generate(&config);
    let count = records.len();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    jsonl::write_dir(&args.out, records)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "generated {count} records into {} in {:.1}s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
