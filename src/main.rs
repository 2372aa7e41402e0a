//! `pulso`: the command-line entry point — generate synthetic streams, replay a folder of
//! JSONL topics through every view, and write the views to Parquet.

mod commands;
mod config;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// jemalloc: the dataflows allocate and free many small records (glibc malloc spent a third
/// of replay time in its free lists), and a run that lasts months needs freed memory back:
/// jemalloc's decay returns it to the kernel within seconds, so RSS follows the live state
/// (benches/RESULTS.md, "Allocator"). Feature `jemalloc`, on by default; without it the
/// system allocator, which heap profilers such as heaptrack see.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Pulso: live operational analytics over event streams, maintained incrementally.
#[derive(Debug, Parser)]
#[command(name = "pulso", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write realistic synthetic streams, one `DIR/<topic>.jsonl` per topic.
    Generate(commands::generate::GenerateArgs),
    /// One deterministic pass over `DIR/<topic>.jsonl` through every view.
    Replay(commands::replay::ReplayArgs),
    /// The live job: Kafka or the built-in generator in; API, Parquet and ClickHouse out.
    Run(commands::run::RunArgs),
    /// Replay the raw Parquet archive through the same dataflows.
    Backfill(commands::backfill::BackfillArgs),
    /// Recompute the views from the archive and report every difference from the live results.
    Verify(commands::verify::VerifyArgs),
}

/// Turns transparent huge pages off for this process. Where they are on (the host's setting,
/// or an allocator that asks for them, as mimalloc did), every fresh 2 MiB page is zeroed
/// whole when first touched: a 1M-record replay spent a quarter of its time in the kernel's
/// `clear_page_erms` (sys time 5.5 s with them, 1.9 s without; benches/RESULTS.md,
/// "Transparent huge pages"). Best effort: a kernel without the setting keeps its default.
fn disable_transparent_huge_pages() {
    if let Err(error) = nix::sys::prctl::set_thp_disable(true) {
        tracing::debug!(%error, "transparent huge pages stay as the kernel sets them");
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    disable_transparent_huge_pages();
    match Cli::parse().command {
        Command::Generate(args) => commands::generate::run(&args),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Backfill(args) => commands::backfill::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
    }
}
