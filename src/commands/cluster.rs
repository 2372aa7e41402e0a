//! The cluster flags shared by `pulso run` and `pulso replay`: timely's `--processes`,
//! `--process-id` and `--hostfile` (with `--workers` threads per process).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use pulso_pipeline::ClusterConfig;

/// Timely cluster settings: every process runs the same command with its own `--process-id`.
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// Processes of the timely cluster (each runs `--workers` threads).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// This process's index, 0..processes (process 0 writes the outputs of a replay).
    #[arg(long, default_value_t = 0)]
    pub process_id: usize,
    /// File of one `host:port` per line, process 0 first (default: localhost:2101 + index).
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
}

impl ClusterArgs {
    /// The cluster these flags describe.
    pub(crate) fn config(&self) -> Result<ClusterConfig> {
        Ok(ClusterConfig::new(
            self.processes,
            self.process_id,
            self.hostfile.as_deref(),
        )?)
    }
}
