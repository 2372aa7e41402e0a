//! The live job behind `pulso run`: reads Kafka or the built-in generator through the live
//! epoch loop (one timely worker per source), keeps every view live in the serving store
//! behind the HTTP API, refreshes the Parquet snapshots, archives what it reads and, with a
//! ClickHouse output, keeps ClickHouse current; until SIGINT or SIGTERM, a fatal failure on
//! the durability path, a failed engine, or (when asked) the end of the generator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use crate::cluster::ClusterConfig;
use crate::epoch_loop::{run_live, AsOfMode, LiveConfig, EVENTS_IN_FLIGHT};
use pulso_connectors::kafka::KafkaConfig;
use pulso_dataflows::clock::EngineClock;
use pulso_dataflows::retention::Retention;
use pulso_events::delivery_sla::DeliverySla;
use pulso_queries::{ServeConfig, ViewStore};
use pulso_sinks::clickhouse::ClickHouseConfig;
use tokio::signal::unix::{signal, SignalKind};

use crate::assemble::{clickhouse_output, Wiring};
use crate::consumer::{consume, Outputs};
use crate::dead_letters::DlqDelivered;
use crate::durability::Durability;
use crate::error::{chain, PipelineError, Result};
use crate::generator::LiveGenerator;
use crate::positions::ConsumerPositions;
use crate::sources::ReadSignals;

/// The settings of a live run, resolved (flags over the config file over defaults).
#[derive(Debug)]
pub struct LiveRun {
    /// The Kafka source; without it, the built-in generator runs.
    pub kafka: Option<KafkaConfig>,
    /// Keep the views in ClickHouse (written by the cluster's leader).
    pub clickhouse: Option<ClickHouseConfig>,
    /// API tokens, limits and alert rules.
    pub serve: ServeConfig,
    /// Retention horizons.
    pub retention: Retention,
    /// Delivery targets of `notification_latency`.
    pub sla: DeliverySla,
    /// The built-in generator's settings (used without Kafka).
    pub generator: LiveGenerator,
    /// Output folder: `views/`, `history/`, `archive/`, `rejected.jsonl`.
    pub out: PathBuf,
    /// Address of the HTTP API and dashboard.
    pub http: SocketAddr,
    /// Seconds between Parquet view snapshots.
    pub snapshot_secs: u64,
    /// Timely worker threads of this process.
    pub workers: usize,
    /// The timely cluster.
    pub cluster: ClusterConfig,
    /// Close an epoch after this many milliseconds...
    pub epoch_ms: u64,
    /// ... or this many records per worker.
    pub epoch_records: usize,
    /// Re-grade open cases at least this often (seconds of the engine clock, at most 60).
    pub regrade_secs: u64,
    /// Stop when the sources are exhausted instead of serving until a signal.
    pub exit_when_done: bool,
}

/// Runs the live job until SIGINT/SIGTERM (or, with `exit_when_done`, until the generator
/// ends). A fatal durability failure, a failed consumer or a failed engine is an error.
pub fn run_live_job(run: LiveRun) -> Result<()> {
    std::fs::create_dir_all(&run.out).map_err(PipelineError::io(|| {
        format!("creating {}", run.out.display())
    }))?;
    let store = Arc::new(ViewStore::with_retention(run.retention));
    let stop = Arc::new(AtomicBool::new(false));
    let workers = run.workers.max(1);
    let cluster = run.cluster.clone();
    // Global worker indices of this process, and of the whole cluster.
    let first = cluster.process_id * workers;
    let local = first..first + workers;
    let archive = run.out.join("archive");
    let archiving = run.kafka.is_some() || run.generator.archive;
    let wiring = Wiring {
        writers: Wiring::writers(&archive, local.clone(), archiving)?,
        archive,
        local,
        peers: workers * cluster.processes,
        durability: Durability::new(Arc::clone(&store)),
        delivered: DlqDelivered::default(),
        signals: ReadSignals::default(),
        progress: run.kafka.as_ref().map(|_| ConsumerPositions::default()),
    };
    let generator = run.generator;
    let stream = generator.config(chrono::Utc::now().timestamp_micros());
    if let (Some(factor), None) = (generator.time_scale, &run.kafka) {
        println!(
            "pulso: generator time scale {factor}: event time starts now and advances {factor} s per wall second at {} records/s; {} records span {:.1} h",
            generator.rate,
            generator.scale,
            stream.span as f64 / 3.6e9
        );
    }
    let sources = match &run.kafka {
        Some(config) => wiring.kafka_sources(config, run.retention.late_after)?,
        None => wiring.generator_sources(stream, generator.rate, archiving)?,
    };
    let clickhouse = match run.clickhouse.clone().filter(|_| cluster.is_leader()) {
        Some(config) => Some(clickhouse_output(config)?),
        None => None,
    };
    let kafka = match &run.kafka {
        Some(config) => Some(wiring.kafka_outputs(config, &stop)?),
        None => None,
    };
    let durability = wiring.durability.clone();
    let outputs = Outputs {
        store: Arc::clone(&store),
        clickhouse,
        kafka,
        progress: wiring.progress,
        signals: wiring.signals,
        out: run.out.clone(),
        snapshot_secs: run.snapshot_secs,
        process_id: cluster.process_id,
    };

    let (sender, receiver) = mpsc::sync_channel(EVENTS_IN_FLIGHT);
    let consumer_durability = durability.clone();
    let consumer = std::thread::Builder::new()
        .name("pulso-consumer".into())
        .spawn(move || {
            // The consumer writes the views, the DLQ and the snapshots: if it stops, the run
            // must stop too rather than serve views that no longer move.
            let result = consume(receiver, outputs);
            if let Err(error) = &result {
                let reason = format!("the output consumer stopped: {}", chain(error));
                consumer_durability.report(reason, true);
            }
            result
        })
        .map_err(PipelineError::io(|| "starting the consumer thread".into()))?;
    let live = LiveConfig {
        workers,
        cluster,
        epoch_ms: run.epoch_ms,
        epoch_records: run.epoch_records,
        as_of: AsOfMode::WallClock {
            regrade_secs: generator.regrade_secs(run.regrade_secs.min(60)),
        },
        retention: run.retention,
        sla: run.sla,
        clock: match &run.kafka {
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
                Err(_) => Err(PipelineError::EnginePanicked),
            }
        })
        .map_err(PipelineError::io(|| "starting the engine thread".into()))?;

    let watch = Watch {
        stop: Arc::clone(&stop),
        durability: durability.clone(),
        done: run.exit_when_done.then_some(done),
        failed,
    };
    serve_until_stopped(run.http, store, run.serve, watch)?;
    stop.store(true, Ordering::Relaxed);
    let engine = engine
        .join()
        .map_err(|_| PipelineError::ThreadPanicked("engine"))?;
    let consumed = consumer
        .join()
        .map_err(|_| PipelineError::ThreadPanicked("consumer"))?;
    // A fatal durability failure first: it names the write that failed.
    if let Some((reason, true)) = durability.failure() {
        return Err(PipelineError::Stopped(reason));
    }
    consumed?;
    engine?;
    println!(
        "pulso: stopped; views in {}",
        run.out.join("views").display()
    );
    Ok(())
}

/// What ends the serving of a run, besides a signal.
struct Watch {
    /// Set by the run (and set here once serving ends).
    stop: Arc<AtomicBool>,
    /// A fatal durability failure stops the run.
    durability: Durability,
    /// With `exit_when_done`: set when the engine has finished.
    done: Option<Arc<AtomicBool>>,
    /// Set when the engine failed.
    failed: Arc<AtomicBool>,
}

impl Watch {
    /// Whether the run must stop now.
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
            || self.durability.is_fatal()
            || self
                .done
                .as_ref()
                .is_some_and(|d| d.load(Ordering::Relaxed))
            || self.failed.load(Ordering::Relaxed)
    }
}

/// Serves the API and dashboard on `addr` until SIGINT, SIGTERM or `watch` says stop.
fn serve_until_stopped(
    addr: SocketAddr,
    store: Arc<ViewStore>,
    serve: ServeConfig,
    watch: Watch,
) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(PipelineError::io(|| "starting the API runtime".into()))?;
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
        // Both listeners live for the whole run: a `ctrl_c()` future made anew in each turn of
        // the loop missed a SIGINT that arrived while the 200 ms tick won the `select!` (a
        // loaded machine wakes this thread late, with both ready), and the run went on.
        let listen =
            |kind| signal(kind).map_err(PipelineError::io(|| "listening for signals".into()));
        let mut terminate = listen(SignalKind::terminate())?;
        let mut interrupt = listen(SignalKind::interrupt())?;
        let shutdown = async move {
            loop {
                tokio::select! {
                    _ = interrupt.recv() => break,
                    _ = terminate.recv() => break,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {
                        if watch.stopping() { break; }
                    }
                }
            }
            watch.stop.store(true, Ordering::Relaxed);
        };
        pulso_queries::serve(addr, store, serve, shutdown).await?;
        Ok(())
    })
}
