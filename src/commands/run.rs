//! `pulso run`: the live job. Reads Kafka (`--brokers`) or, by default, the built-in
//! generator; keeps every view live in the serving store behind the HTTP API, refreshes
//! `OUT/views/<view>.parquet` every `--snapshot-secs`, archives the records it reads under
//! `OUT/archive/` (the generator's unless `--no-archive`), and with `--clickhouse` keeps
//! ClickHouse current.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use pulso_connectors::kafka::{DlqProducer, KafkaConfig, StartPosition};
use pulso_dataflows::clock::EngineClock;
use pulso_dataflows::live::{run_live, AsOfMode, LiveConfig, RecordSource, SourceFactory};
use pulso_dataflows::retention::Retention;
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::views::ViewSet;
use pulso_queries::{ServeConfig, ViewStore};
use pulso_sinks::archive::{read_progress, ArchiveWriter};
use pulso_sinks::clickhouse::{spawn_writer, ClickHouseConfig, ClickHouseSink};
use tokio::signal::unix::{signal, SignalKind};

use super::args::{start_position, ClickHouseArgs};
use super::cluster::ClusterArgs;
use super::generator::LiveGenerator;
use super::replay::write_to_clickhouse;
use crate::config::{FileConfig, GeneratorSection};
use crate::live::consumer::{consume, ClickHouseOutput, KafkaOutputs, Outputs};
use crate::live::dead_letters::{DeadLetters, DlqDelivered};
use crate::live::dlq_probe::DlqProbe;
use crate::live::durability::Durability;
use crate::live::positions::ConsumerPositions;
use crate::live::recovery::{recover, RecoveringSource};
use crate::live::sources::{
    ArchivingSource, GeneratorSource, KafkaRecordSource, NoSource, ReadSignals,
};

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

/// The run's configuration: flags over the config file over defaults.
struct Loaded {
    kafka: Option<KafkaConfig>,
    clickhouse: Option<ClickHouseConfig>,
    serve: ServeConfig,
    retention: Retention,
    sla: DeliverySla,
    generator: LiveGenerator,
}

fn load_config(args: &RunArgs) -> Result<Loaded> {
    let file = FileConfig::load(args.config.as_deref())?;
    let flags = GeneratorSection {
        rate: args.rate,
        scale: args.scale,
        seed: args.seed,
        time_scale: args.time_scale,
        archive: args.no_archive.then_some(false),
    };
    let generator = LiveGenerator::resolve(flags, file.generator)?;
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
    Ok(Loaded {
        kafka,
        clickhouse,
        serve,
        retention: file.retention,
        sla: file.sla.delivery_seconds,
        generator,
    })
}

/// Runs the live job until Ctrl-C (or, with `--exit-when-done`, until the generator ends).
pub(crate) fn run(args: &RunArgs) -> Result<()> {
    let Loaded {
        kafka,
        clickhouse,
        serve,
        retention,
        sla,
        generator,
    } = load_config(args)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let store = Arc::new(ViewStore::with_retention(retention));
    let stop = Arc::new(AtomicBool::new(false));
    let workers = args.workers.max(1);
    let cluster = args.cluster.config()?;
    // Global worker indices of this process, and of the whole cluster.
    let first = cluster.process_id * workers;
    let local = first..first + workers;
    let peers = workers * cluster.processes;

    let progress = kafka.as_ref().map(|_| ConsumerPositions::default());
    // The sources' reports for the read-model lag and the SLA violation counts.
    let signals = ReadSignals::default();
    // Every worker's archive writer is made here, before any epoch is written (none when the
    // generator runs with `--no-archive`).
    let archive = args.out.join("archive");
    let archiving = kafka.is_some() || generator.archive;
    let writers: Vec<Option<ArchiveWriter>> = local
        .clone()
        .map(|w| match archiving {
            true => ArchiveWriter::new(&archive, w).map(Some),
            false => Ok(None),
        })
        .collect::<Result<_, _>>()?;
    let writers = Arc::new(Mutex::new(writers));
    let stream = generator.config(chrono::Utc::now().timestamp_micros());
    if let (Some(factor), None) = (generator.time_scale, &kafka) {
        println!(
            "pulso: generator time scale {factor}: event time starts now and advances {factor} s per wall second at {} records/s; {} records span {:.1} h",
            generator.rate,
            generator.scale,
            stream.span as f64 / 3.6e9
        );
    }
    let durability = Durability::new(Arc::clone(&store));
    // How far the output consumer has delivered the dead letters (progress records wait).
    let delivered = DlqDelivered::default();
    let sources: SourceFactory = match &kafka {
        Some(config) => {
            let durability = durability.clone();
            let delivered = delivered.clone();
            let started = std::time::Instant::now();
            let recovered = recover(&archive, local.clone(), peers, &config.topic_prefix)?;
            let archived: usize = recovered.backlog.iter().map(Vec::len).sum();
            if archived > 0 {
                println!(
                    "pulso: recovering from {archived} archived records (read in {:.1}s); resuming Kafka after the archived offsets",
                    started.elapsed().as_secs_f64()
                );
            }
            let backlogs = Arc::new(Mutex::new(recovered.backlog));
            let restored = Arc::new(Mutex::new(recovered.rejected));
            let (resume, epoch_base) = (recovered.resume, recovered.epoch_base);
            let (tail, partitions) = (recovered.tail, recovered.progress);
            let (config, progress) = (config.clone(), progress.clone().unwrap_or_default());
            let signals = signals.clone();
            Arc::new(move |index, peers| -> Box<dyn RecordSource> {
                let at = index - first;
                let writer = writers.lock().unwrap_or_else(|e| e.into_inner())[at].take();
                let backlog =
                    std::mem::take(&mut backlogs.lock().unwrap_or_else(|e| e.into_inner())[at]);
                // Earlier runs' rejected counts enter the views once, by their partitions' owner.
                let rejected =
                    std::mem::take(&mut restored.lock().unwrap_or_else(|e| e.into_inner())[at]);
                let source = KafkaRecordSource::new(
                    config.clone(),
                    index,
                    peers,
                    resume.clone(),
                    progress.clone(),
                    signals.clone(),
                );
                match (source, writer) {
                    (Ok(source), Some(writer)) => Box::new(RecoveringSource::new(
                        backlog,
                        tail.clone(),
                        rejected,
                        ArchivingSource::new(
                            source,
                            writer,
                            epoch_base,
                            &config.topic_prefix,
                            &partitions,
                            durability.clone(),
                        )
                        .with_dead_letters(delivered.clone()),
                    )),
                    (Err(error), _) => {
                        tracing::error!(%error, index, "cannot create the Kafka consumer");
                        Box::new(NoSource)
                    }
                    (Ok(_), None) => Box::new(NoSource),
                }
            })
        }
        None => {
            // The generator starts afresh; its archive epochs follow an earlier run's.
            let epoch_base = match archiving {
                true => read_progress(&archive)?.last_epoch().map_or(0, |e| e + 1),
                false => 0,
            };
            let rate = generator.rate;
            let durability = durability.clone();
            let signals = signals.clone();
            Arc::new(move |index, _peers| -> Box<dyn RecordSource> {
                let writer =
                    writers.lock().unwrap_or_else(|e| e.into_inner())[index - first].take();
                match (index, writer) {
                    (0, Some(writer)) => Box::new(ArchivingSource::new(
                        GeneratorSource::new(&stream, rate).with_signals(signals.clone()),
                        writer,
                        epoch_base,
                        "",
                        &Default::default(),
                        durability.clone(),
                    )),
                    (0, None) => {
                        Box::new(GeneratorSource::new(&stream, rate).with_signals(signals.clone()))
                    }
                    _ => Box::new(NoSource),
                }
            })
        }
    };

    let clickhouse = match clickhouse.filter(|_| cluster.is_leader()) {
        Some(config) => {
            // A restart rebuilds the views from scratch: clear what an earlier run left, then
            // write this run's epochs above every version already there.
            write_to_clickhouse(config.clone(), &ViewSet::default())?;
            let base = ClickHouseSink::connect(config.clone())?
                .max_version()?
                .map_or(0, |v| v + 1);
            Some(ClickHouseOutput {
                writer: spawn_writer(config, 8).0,
                base_version: base,
            })
        }
        None => None,
    };
    let kafka_outputs = match &kafka {
        Some(config) => {
            let producer = DlqProducer::new(config)?;
            let dead_letters = DeadLetters::new(Box::new(producer), durability.clone(), delivered);
            Some(KafkaOutputs {
                dead_letters,
                probe: DlqProbe::new(config),
            })
        }
        None => None,
    };
    let outputs = Outputs {
        store: Arc::clone(&store),
        clickhouse,
        kafka: kafka_outputs,
        progress,
        signals,
        out: args.out.clone(),
        snapshot_secs: args.snapshot_secs,
        process_id: cluster.process_id,
    };

    let (sender, receiver) = mpsc::sync_channel(100_000);
    let consumer_durability = durability.clone();
    let consumer = std::thread::Builder::new()
        .name("pulso-consumer".into())
        .spawn(move || {
            // The consumer writes the views, the DLQ and the snapshots: if it stops, the run
            // must stop too rather than serve views that no longer move.
            let result = consume(receiver, outputs);
            if let Err(error) = &result {
                consumer_durability.report(format!("the output consumer stopped: {error:#}"), true);
            }
            result
        })?;
    let live = LiveConfig {
        workers,
        cluster,
        epoch_ms: args.epoch_ms,
        epoch_records: args.epoch_records,
        as_of: AsOfMode::WallClock {
            regrade_secs: generator.regrade_secs(args.regrade_secs.min(60)),
        },
        retention,
        sla,
        clock: match &kafka {
            Some(_) => EngineClock::Wall,
            None => generator.clock(stream.start),
        },
    };
    let engine_stop = Arc::clone(&stop);
    let done = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(false));
    let (engine_done, engine_failed) = (Arc::clone(&done), Arc::clone(&failed));
    let engine = std::thread::Builder::new()
        .name("pulso-engine".into())
        .spawn(move || -> Result<()> {
            // A failed engine (e.g. a cluster peer died) stops the process, non-zero, so that
            // its supervisor restarts it and it recovers from the archive.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_live(&live, sources, sender, engine_stop)
            }));
            engine_failed.store(!matches!(result, Ok(Ok(()))), Ordering::Relaxed);
            engine_done.store(true, Ordering::Relaxed);
            match result {
                Ok(result) => Ok(result?),
                Err(_) => Err(anyhow!("the engine panicked (did a cluster peer die?)")),
            }
        })?;

    let runtime = tokio::runtime::Runtime::new()?;
    let exit_when_done = args.exit_when_done;
    let addr = args.http;
    println!("pulso: serving the API and dashboard on http://{addr}/ (Ctrl-C stops)");
    if serve.api.requires_tokens() {
        println!(
            "pulso: {} API token(s) configured; open the dashboard at http://{addr}/#token=<token>",
            serve.api.tokens.len()
        );
    } else {
        eprintln!(
            "pulso: warning: no api.tokens in --config: the API is open (every tenant) to anyone who can reach {addr}"
        );
    }
    runtime.block_on(async {
        let server_stop = Arc::clone(&stop);
        let durability = durability.clone();
        // Both listeners live for the whole run: a `ctrl_c()` future made anew in each turn of
        // the loop missed a SIGINT that arrived while the 200 ms tick won the `select!` (a
        // loaded machine wakes this thread late, with both ready), and the run went on.
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let shutdown = async move {
            loop {
                tokio::select! {
                    _ = interrupt.recv() => break,
                    _ = terminate.recv() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                        if server_stop.load(Ordering::Relaxed) { break; }
                        if durability.is_fatal() { break; }
                        if exit_when_done && done.load(Ordering::Relaxed) { break; }
                        if failed.load(Ordering::Relaxed) { break; }
                    }
                }
            }
            server_stop.store(true, Ordering::Relaxed);
        };
        pulso_queries::serve(addr, Arc::clone(&store), serve, shutdown).await
    })?;
    stop.store(true, Ordering::Relaxed);
    let engine = engine
        .join()
        .map_err(|_| anyhow!("the engine thread panicked"))?;
    let consumed = consumer
        .join()
        .map_err(|_| anyhow!("the consumer thread panicked"))?;
    // A fatal durability failure first: it names the write that failed.
    if let Some((reason, true)) = durability.failure() {
        bail!("stopped: {reason}");
    }
    consumed?;
    engine?;
    println!(
        "pulso: stopped; views in {}",
        args.out.join("views").display()
    );
    Ok(())
}
