//! `pulso replay --input DIR --out DIR [--as-of RFC3339] [--workers N] [--epoch-records N]
//! [--views VIEW,...] [--clickhouse URL [--clickhouse-database NAME]] [--config FILE]`: one
//! deterministic pass, views (all, or those `--views` names) to `OUT/views/<view>.parquet`,
//! rejects to `OUT/rejected.jsonl`; the config file's
//! `retention` section sets the horizons. A progress bar (log lines when stderr is not a
//! terminal) follows the pass.
//! With `--processes P --process-id I [--hostfile F]` it is one process of a timely cluster.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use pulso_connectors::jsonl;
use pulso_events::time::Micros;
use pulso_pipeline::batch::{write_replay_files, write_to_clickhouse};
use pulso_pipeline::progress::{peak_rss_bytes, Progress};
use pulso_pipeline::replay::{JsonlSource, SpillConfig};
use pulso_pipeline::{replay_source, ReplayConfig};

use super::args::{rfc3339, ClickHouseArgs, ConfigArgs, ViewsArgs};
use super::cluster::ClusterArgs;

/// Flags of `pulso replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// Folder of `<topic>.jsonl` files (file order is arrival order).
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder: `views/<view>.parquet` and `rejected.jsonl` (while the replay runs it
    /// also holds its anonymous spill files of timeline entries, ~0.3 GB per million records).
    #[arg(long)]
    pub out: PathBuf,
    /// Grade open cases at this instant (RFC 3339); default: the greatest event time.
    #[arg(long, value_parser = rfc3339, value_name = "RFC3339")]
    pub(crate) as_of: Option<Micros>,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub(crate) workers: usize,
    /// Records per epoch.
    #[arg(long, default_value_t = 50_000)]
    pub(crate) epoch_records: usize,
    /// The views to compute and write (default: every view).
    #[command(flatten)]
    pub(crate) views: ViewsArgs,
    /// Also write the views to ClickHouse.
    #[command(flatten)]
    pub(crate) clickhouse: ClickHouseArgs,
    /// The config file (retention horizons, ClickHouse connection settings).
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// Timely cluster settings: every process reads `--input` and ingests its workers' share;
    /// process 0 writes the outputs.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Runs the replay.
pub(crate) fn run(args: &ReplayArgs) -> Result<()> {
    let file = args.config.load()?;
    // The first pass (opening and counting the lines of every topic file); the records are
    // read as the replay goes, in `stream_dir`'s order.
    let read_started = Instant::now();
    let mut source = jsonl::stream_dir(&args.input)
        .map(JsonlSource::new)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let total = source.total();
    if total == 0 && jsonl::topic_files(&args.input).is_empty() {
        eprintln!("{}", no_topic_files_warning(&args.input));
    }
    let read_secs = read_started.elapsed().as_secs_f64();

    let started = Instant::now();
    let cluster = args.cluster.config()?;
    // A cluster process ingests only its share: the bar is for a lone process.
    let progress = (cluster.processes == 1).then(|| Progress::start("replay", total));
    let clickhouse = args.clickhouse.config(&file);
    // Timeline entries spill to the output folder; unless ClickHouse needs the whole views,
    // they are merged straight into their file.
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let config = ReplayConfig {
        workers: args.workers,
        cluster: cluster.clone(),
        as_of: args.as_of,
        retention: file.retention,
        sla: file.sla.delivery_seconds,
        progress: progress.as_ref().map(Progress::counter),
        spill: SpillConfig {
            dir: Some(args.out.clone()),
            ..Default::default()
        },
        stream_timelines: clickhouse.is_none(),
        views: args.views.views.clone(),
        ..Default::default()
    };
    let output = replay_source(&mut source, args.epoch_records, &config);
    drop(progress);
    let output = output.with_context(|| format!("replaying {}", args.input.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let workers = format!(
        "{} process(es) x {} worker(s)",
        cluster.processes, args.workers
    );
    if !cluster.is_leader() {
        println!(
            "process {} replayed its share of {total} records on {workers} in {secs:.2}s; \
             process 0 writes the outputs",
            cluster.process_id
        );
        return Ok(());
    }

    // The views are copied only when ClickHouse needs them after the files are written.
    let clickhouse = clickhouse.map(|config| (config, output.views.clone()));
    let changes = output.changes;
    let writing = Instant::now();
    let (rejected, written) =
        write_replay_files(&args.out, output, &file.retention, &args.views.views)?;
    let write_secs = writing.elapsed().as_secs_f64();
    if let Some((config, views)) = clickhouse {
        let url = config.url.clone();
        let written = write_to_clickhouse(config, &views)?;
        println!("clickhouse: {written} row changes written to {url}");
    }

    println!(
        "replayed {total} records ({rejected} rejected) on {workers} in {secs:.2}s: {:.0} events/s; read {read_secs:.2}s; {} view changes; peak RSS {:.1} MiB",
        total as f64 / secs.max(1e-9),
        changes,
        peak_rss_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0),
    );
    println!(
        "views written to {} in {write_secs:.2}s",
        args.out.join("views").display()
    );
    // The command ends here: the rows written go back to the system with the process.
    written.release_at_exit();
    Ok(())
}

/// The warning for an input folder without topic files, naming its subfolders that hold
/// some: the benchmark harness keeps a data set's records in `all/`, and a replay of the
/// folder above it would otherwise finish at once with empty views.
fn no_topic_files_warning(dir: &Path) -> String {
    let mut folders: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() && !jsonl::topic_files(path).is_empty())
        .map(|path| path.display().to_string())
        .collect();
    folders.sort();
    let mut warning = format!(
        "warning: {} holds no topic files (<topic>.jsonl): there are no records to replay",
        dir.display()
    );
    if !folders.is_empty() {
        warning.push_str(&format!("; topic files are in {}", folders.join(", ")));
    }
    warning
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulso_events::Topic;

    #[test]
    fn an_empty_input_names_the_subfolders_with_topic_files() {
        let dir = tempfile::tempdir().unwrap();
        let bare = no_topic_files_warning(dir.path());
        assert!(bare.contains("no records to replay"), "{bare}");
        assert!(!bare.contains("topic files are in"), "{bare}");

        for sub in ["all", "notes"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(
            jsonl::topic_path(&dir.path().join("all"), Topic::Orders),
            "",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes").join("readme.txt"), "").unwrap();
        let hinted = no_topic_files_warning(dir.path());
        let all = dir.path().join("all").display().to_string();
        assert!(
            hinted.ends_with(&format!("topic files are in {all}")),
            "{hinted}"
        );
        assert!(!hinted.contains("notes"), "{hinted}");
    }
}
