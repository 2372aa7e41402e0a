//! `pulso run`: the live job. Reads Kafka (`--brokers`) or, by default, the built-in
//! generator; keeps every view live in the serving store behind the HTTP API, refreshes
//! `OUT/views/<view>.parquet` every `--snapshot-secs`, archives the records it reads under
//! `OUT/archive/` (the generator's unless `--no-archive`), and with `--clickhouse` keeps
//! ClickHouse current. The flags and the config file are resolved here; the run itself is
//! `pulso_pipeline::run_live_job`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use pulso_connectors::kafka::{KafkaConfig, StartPosition};
use pulso_pipeline::generator::LiveGenerator;
use pulso_pipeline::{run_live_job, LiveRun};
use pulso_queries::ServeConfig;

use super::args::{start_position, ClickHouseArgs};
use super::cluster::ClusterArgs;
use crate::config::{FileConfig, GeneratorSection};

/// Flags of `pulso run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Kafka bootstrap servers (HOST:PORT,...); without it, the built-in generator runs.
    #[arg(long)]
    pub brokers: Option<String>,
    /// Output folder: `views/`, `archive/`, `rejected.jsonl`.
    #[arg(long, default_value = "pulso-out")]
    pub out: PathBuf,
    /// Address of the HTTP API and dashboard.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Seconds between Parquet view snapshots.
    #[arg(long, default_value_t = 10)]
    pub snapshot_secs: u64,
    /// Keep the views in ClickHouse (also without the flag when `--config` has a
    /// `clickhouse` section).
    #[command(flatten)]
    pub(crate) clickhouse: ClickHouseArgs,
    /// Timely worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// JSON config file: `{"kafka": {...}, "clickhouse": {...}, "api": {...}, "alerts":
    /// {...}, "retention": {...}, "generator": {...}}` (flags win). `api`: bearer tokens
    /// scoped to tenants and request limits; `alerts`: alert rules and webhook;
    /// `retention`: the horizons past which state leaves the engine; `generator`: `rate`,
    /// `scale`, `seed`, `time_scale`, `archive` of the built-in generator (see the README).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Close an epoch after this many milliseconds...
    #[arg(long, default_value_t = 100)]
    pub epoch_ms: u64,
    /// ... or this many records per worker.
    #[arg(long, default_value_t = 20_000)]
    pub epoch_records: usize,
    /// Generator: records per second (default 5000, or `generator.rate` of `--config`).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Generator: records in all (default 10,000,000, or `generator.scale`).
    #[arg(long)]
    pub scale: Option<u64>,
    /// Generator: random seed (default 1, or `generator.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Generator: event time advances this many seconds per wall second (e.g. 600: ten
    /// hours of events per wall minute; or `generator.time_scale`). The stream starts now
    /// and its `--scale` records span scale × F / rate seconds; this scaled clock is the
    /// engine's "now" (live `as_of`, the future-tolerance check). Without it the 14 days
    /// end now and "now" is the wall clock.
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// Generator: do not archive the generated records under `OUT/archive` (or
    /// `generator.archive: false`); the archive grows with every record read.
    #[arg(long)]
    pub no_archive: bool,
    /// Kafka: where to start: `earliest` (default), `latest`, or an RFC 3339 time (the
    /// first record at or after it). Overrides `kafka.start` of `--config`.
    #[arg(long, value_parser = start_position, value_name = "POSITION")]
    pub(crate) start: Option<StartPosition>,
    /// Kafka: prefix of every topic name (e.g. `staging.`).
    #[arg(long, default_value = "")]
    pub topic_prefix: String,
    /// Kafka: the engine's dead-letter topic (default `pulso.dlq`, or the config file's
    /// `dlq_topic`). Not prefixed by `--topic-prefix`.
    #[arg(long)]
    pub dlq_topic: Option<String>,
    /// Re-grade open cases against the wall clock at least this often (seconds; with
    /// `--time-scale F`, this many seconds of the scaled clock, at least every wall second).
    #[arg(long, default_value_t = 30)]
    pub regrade_secs: u64,
    /// Stop when the sources are exhausted (generator) instead of serving until Ctrl-C.
    #[arg(long)]
    pub exit_when_done: bool,
    /// Timely cluster settings: Kafka partitions spread over the workers of every process;
    /// every process serves the whole API; process 0 writes the Parquet snapshots and
    /// ClickHouse.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The run's settings: flags over the config file over defaults. Refuses a bad `api` or
/// `alerts` section, or an open API on the network, before anything starts.
fn load_config(args: &RunArgs) -> Result<LiveRun> {
    let file = FileConfig::load(args.config.as_deref())?;
    let flags = GeneratorSection {
        rate: args.rate,
        scale: args.scale,
        seed: args.seed,
        time_scale: args.time_scale,
        archive: args.no_archive.then_some(false),
    };
    let s = flags.or(file.generator);
    let generator = LiveGenerator::resolve(s.rate, s.scale, s.seed, s.time_scale, s.archive)?;
    if generator.time_scale.is_some() && (args.brokers.is_some() || file.kafka.is_some()) {
        bail!("--time-scale (generator.time_scale) applies to the built-in generator only, not to a Kafka source");
    }
    let clickhouse = args.clickhouse.config_or_file(&file);
    let kafka = match (&args.brokers, file.kafka) {
        (Some(brokers), Some(mut k)) => {
            k.brokers = brokers.clone();
            Some(k)
        }
        (Some(brokers), None) => Some(KafkaConfig::new(brokers.clone())),
        (None, k) => k,
    }
    .map(|mut k| {
        if !args.topic_prefix.is_empty() {
            k.topic_prefix = args.topic_prefix.clone();
        }
        if let Some(dlq_topic) = &args.dlq_topic {
            k.dlq_topic = dlq_topic.clone();
        }
        if let Some(start) = args.start {
            k.start = start;
        }
        k
    });
    let serve = ServeConfig {
        api: file.api,
        alerts: file.alerts,
    };
    // Refuse a bad `api`/`alerts` section, or an open API on the network, before starting.
    serve.api.validate()?;
    serve.alerts.validate()?;
    serve.api.check_bind(args.http)?;
    Ok(LiveRun {
        kafka,
        clickhouse,
        serve,
        retention: file.retention,
        sla: file.sla.delivery_seconds,
        generator,
        out: args.out.clone(),
        http: args.http,
        snapshot_secs: args.snapshot_secs,
        workers: args.workers,
        cluster: args.cluster.config()?,
        epoch_ms: args.epoch_ms,
        epoch_records: args.epoch_records,
        regrade_secs: args.regrade_secs,
        exit_when_done: args.exit_when_done,
    })
}

/// Runs the live job until Ctrl-C (or, with `--exit-when-done`, until the generator ends).
pub(crate) fn run(args: &RunArgs) -> Result<()> {
    Ok(run_live_job(load_config(args)?)?)
}
