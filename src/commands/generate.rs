//! `pulso generate --out DIR [--seed S] [--scale N]`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_connectors::jsonl;

/// Flags of `pulso generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write `<topic>.jsonl` files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Roughly how many records in all.
    #[arg(long, default_value_t = 100_000)]
    pub scale: u64,
}

/// Generates the streams and writes them.
pub fn run(args: &GenerateArgs) -> Result<()> {
    let started = Instant::now();
    let config = GeneratorConfig {
        seed: args.seed,
        scale: args.scale,
        ..GeneratorConfig::default()
    };
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
