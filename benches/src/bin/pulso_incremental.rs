//! `pulso-incremental`: Pulso's dataflows (every view, or those `--views` names) driven epoch
//! by epoch in this process, to measure what the peer harness (`benches/peers/`) compares
//! against other engines:
//!
//! - `latency`: records fed at `--rate` records/s in epochs of `--epoch-records`; for each
//!   epoch, the time from its due instant (when its last record was due to arrive) to the
//!   moment the serving store has applied it (what the API then serves). Late epochs are
//!   not skipped, so a rate the engine cannot sustain shows as growing latency. A first
//!   warm-up epoch is fed at once; the schedule starts when it is done.
//! - `update`: the first `--preload` records in epochs of 50k, then `--repeat` epochs of each
//!   `--batches` size of the records that follow; the time each such epoch takes, from its
//!   insertion (once the store has applied every epoch before it) to the store applying it.
//! - `store`: the serving store's work alone. The records run through the views in epochs of
//!   `--epoch-records` (unpaced) and each epoch's changes are kept; then they are applied,
//!   epoch by epoch as `pulso run`'s consumer does, to a new store `--repeat` times, each pass
//!   timed (the CPU seconds of the applying thread, and the wall time). Nothing else runs
//!   meanwhile, so a change in the store measures far more steadily than in `latency`.
//!
//! Records come from a `pulso generate` folder, interleaved like `pulso replay` orders them.
//! The view changes go as in `pulso run`: from the workers over a bounded channel to a
//! consumer thread that applies each closed epoch to the serving store (`ViewStore`); the
//! CPU seconds that thread ran are printed as `store_cpu_s`.
//! Prints one JSON object on stdout.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::{Parser, Subcommand};
use differential_dataflow::input::Input;
use pulso_connectors::jsonl;
use pulso_dataflows::clock::wall_clock_micros;
use pulso_dataflows::ingest::split;
use pulso_dataflows::retention::Retention;
use pulso_dataflows::watermark::{epoch_maxima, observe, Admission};
use pulso_dataflows::{build_views, ingest, Epoch};
use pulso_events::registry::ViewSelection;
use pulso_events::views::{EpochChanges, Run};
use pulso_events::SourceRecord;
use pulso_pipeline::consumer::closed_changes;
use pulso_pipeline::epoch_loop::{hand_off, EPOCHS_IN_VIEWS, EVENTS_IN_FLIGHT};
use pulso_pipeline::replay::{shares, Share};
use pulso_pipeline::ClusterConfig;
use pulso_queries::ViewStore;
use timely::dataflow::ProbeHandle;

/// jemalloc, as `pulso` itself runs on by default (its figures are the product's: glibc
/// malloc's free lists and page clearing took a fifth of this binary's time).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(about = "Pulso's dataflows driven epoch by epoch: latency and update cost")]
struct Cli {
    /// Folder of `<topic>.jsonl` files (`pulso generate`).
    #[arg(long, global = true, default_value = "data")]
    input: PathBuf,
    /// Timely worker threads.
    #[arg(long, global = true, default_value_t = 1)]
    workers: usize,
    /// The views maintained (comma-separated names, as `pulso replay --views`); default: all.
    #[arg(long, global = true, default_value_t)]
    views: ViewSelection,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Paced input: p50/p99 from an epoch's due time to its views being updated.
    Latency {
        /// Records per second.
        #[arg(long)]
        rate: f64,
        /// Records per epoch.
        #[arg(long, default_value_t = 1000)]
        epoch_records: usize,
        /// Seconds of input (at most the folder's records).
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The serving store's cost alone: each epoch's changes, kept, applied to a new store.
    Store {
        /// Records per epoch.
        #[arg(long, default_value_t = 1000)]
        epoch_records: usize,
        /// Records (at most the folder's).
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        /// Passes over the kept changes.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Time to apply batches of new records once `--preload` records are in.
    Update {
        /// Records loaded first (epochs of 50k).
        #[arg(long)]
        preload: usize,
        /// Batch sizes, comma-separated.
        #[arg(long, default_value = "1000,10000")]
        batches: String,
        /// Batches of each size.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
}

/// The folder's records in `pulso replay`'s order: topics interleaved by relative position.
fn interleaved(records: Vec<SourceRecord>) -> Vec<SourceRecord> {
    let mut lengths: HashMap<_, u64> = HashMap::new();
    for r in &records {
        *lengths.entry(r.topic).or_insert(0) += 1;
    }
    let mut keyed: Vec<(u128, usize, SourceRecord)> = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let len = lengths[&r.topic].max(1) as u128;
            (((r.position.offset as u128) << 64) / len, i, r)
        })
        .collect();
    keyed.sort_by_key(|(f, i, _)| (*f, *i));
    keyed.into_iter().map(|(_, _, r)| r).collect()
}

/// When epochs are due: `None` (each right after the previous one), or paced at `rate`
/// records/s, epoch 0 being a warm-up fed at once and the schedule starting when it is done.
type Pace = Option<f64>;

/// From which epoch on each epoch is inserted only once the store has applied every epoch
/// before it (`None`: never waited for). The `update` mode measures each batch alone: the
/// store, a thread of its own, may still be applying the preload's last epochs (or the
/// previous batch) when the workers are done with them, and a batch timed from then would
/// count that backlog (the batches of a run then looked slower the earlier they came).
type Settle = Option<usize>;

/// What the workers tell the consumer thread, as `pulso run`'s workers tell theirs.
enum Event {
    /// One worker's consolidated view changes of epoch `.0`.
    Changes(Epoch, Run),
    /// Every change of epoch `.0` has been sent; `.1` is when the epoch was due or started.
    Closed(Epoch, Instant),
}

/// What a driven run reports: each epoch's due and applied instants, the rows the store
/// holds at the end, and the CPU seconds of the consumer thread (the store's work).
struct Driven {
    marks: Vec<(Instant, Instant)>,
    rows: u64,
    store_cpu_s: f64,
    /// Each epoch's changes (the workers' consolidated runs), when they were kept instead of
    /// applied.
    kept: Vec<(Epoch, Vec<Run>)>,
}

/// The rows `store` holds, over every view.
fn row_count(store: &ViewStore) -> usize {
    store.read().row_counts().iter().map(|(_, n)| n).sum()
}

/// Whether the consumer applies each epoch's changes to the store or keeps them (`store`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Consume {
    Apply,
    Keep,
}

/// Runs `epochs` through the views of `views` on `workers` threads. Epoch `e` is inserted when
/// due (see [`Pace`]) and once every worker's maxima of epoch `e - 1` are in, the views still
/// working on at most [`EPOCHS_IN_VIEWS`] epochs before it. As in `pulso run`, the workers send their view changes, a batch at a time, over a bounded channel to a
/// consumer thread, which applies each closed epoch at once to the serving store
/// (`ViewStore`, the API's tables). Returns for each epoch (the instant it was due or its
/// insertion started, the instant the store had applied it) and the number of view rows at
/// the end.
fn drive(
    epochs: Vec<Vec<SourceRecord>>,
    workers: usize,
    views: ViewSelection,
    (pace, settle): (Pace, Settle),
    consume: Consume,
) -> Result<Driven> {
    let workers = workers.max(1);
    // Epochs the store has applied (for `settle`).
    let applied = Arc::new(AtomicUsize::new(0));
    let applied_by_store = Arc::clone(&applied);
    let sizes: Arc<Vec<usize>> = Arc::new(epochs.iter().map(Vec::len).collect());
    // Each worker takes its share, as `pulso replay` splits records, and drops an epoch's
    // records once ingested: the input is not held next to the dataflow's state.
    let shares: Arc<Vec<Mutex<Share>>> = Arc::new(
        shares(epochs, workers, &ClusterConfig::default())
            .into_iter()
            .map(Mutex::new)
            .collect(),
    );
    let (sender, events) = mpsc::sync_channel::<Event>(EVENTS_IN_FLIGHT);
    let consumer = std::thread::spawn(move || {
        // The retention the dataflows run with, as `pulso run` gives its store.
        let store = ViewStore::with_retention(Retention::default());
        // Changes per epoch: the workers hand over later epochs' while earlier ones complete.
        let mut pending: BTreeMap<Epoch, Vec<Run>> = BTreeMap::new();
        let mut marks = Vec::new();
        let mut kept = Vec::new();
        for event in events {
            match event {
                Event::Changes(epoch, changes) => pending.entry(epoch).or_default().push(changes),
                Event::Closed(epoch, started) => {
                    // As `pulso run`'s consumer: the workers' runs merged, then applied.
                    let runs = closed_changes(&mut pending, epoch);
                    match consume {
                        Consume::Apply => {
                            drop(store.apply_changes(epoch, EpochChanges::merge(runs)))
                        }
                        Consume::Keep => kept.push((epoch, runs)),
                    }
                    marks.push((started, Instant::now()));
                    applied_by_store.fetch_add(1, Ordering::Release);
                }
            }
        }
        let rows = row_count(&store);
        Driven {
            marks,
            rows: rows as u64,
            store_cpu_s: thread_cpu_seconds(),
            kept,
        }
    });
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        let share = std::mem::take(&mut *shares[index].lock().unwrap());
        let retention = Retention::default();
        let changes = sender.clone();
        let maxima_probe = ProbeHandle::new();
        let (mut input, probe, watermark) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (input, records) = scope.new_collection();
            let ingested = split(records, &views);
            let maxima = epoch_maxima(&ingested.times);
            let changes_stream = build_views(
                ingested,
                None,
                None,
                maxima.clone(),
                &retention,
                Default::default(),
                &views,
            )
            .inner;
            let probe = hand_off(changes_stream, move |epoch, batch| {
                let _ = changes.send(Event::Changes(epoch, batch));
            });
            let watermark = observe(maxima, &maxima_probe);
            (input, probe, watermark)
        });
        let mut schedule_start = Instant::now();
        let mut fed = 0usize;
        // Epochs inserted whose views are not complete yet, and when each was due.
        let mut in_views: VecDeque<(Epoch, Instant)> = VecDeque::new();
        // The first worker tells the consumer of each epoch the views have completed.
        let complete = |probe: &ProbeHandle<Epoch>, in_views: &mut VecDeque<(Epoch, Instant)>| {
            while let Some(&(epoch, started)) = in_views.front() {
                if probe.less_equal(&epoch) {
                    break;
                }
                in_views.pop_front();
                if index == 0 {
                    let _ = sender.send(Event::Closed(epoch, started));
                }
            }
        };
        for (epoch, batch) in share.into_iter().enumerate() {
            fed += sizes[epoch];
            // While waiting (for the store, for the epoch's due instant) the views go on with
            // the epochs before, each announced as it completes.
            if settle.is_some_and(|from| epoch >= from) {
                while applied.load(Ordering::Acquire) < epoch {
                    worker.step_or_park(Some(Duration::from_micros(100)));
                    complete(&probe, &mut in_views);
                }
            }
            let mut started = Instant::now();
            if let (Some(rate), true) = (pace, epoch > 0) {
                let due = schedule_start + Duration::from_secs_f64((fed - sizes[0]) as f64 / rate);
                while let Some(left) = due.checked_duration_since(Instant::now()) {
                    if left.is_zero() {
                        break;
                    }
                    worker.step_or_park(Some(left));
                    complete(&probe, &mut in_views);
                }
                started = due;
            }
            let admission = Admission {
                watermark: watermark.borrow_mut().at(epoch as Epoch),
                retention,
                now: wall_clock_micros(),
            };
            for (_, record) in batch {
                input.insert(ingest(record, &admission).0);
            }
            input.advance_to(epoch as Epoch + 1);
            input.flush();
            in_views.push_back((epoch as Epoch, started));
            // As in `pulso run`: the next epoch waits for this one's maxima (its `W(e)`), and
            // the views may go on with the last `EPOCHS_IN_VIEWS` epochs meanwhile; the warm-up
            // epoch is completed first. Parked while waiting.
            let next = *input.time();
            let done = match epoch {
                0 => next,
                _ => next.saturating_sub(EPOCHS_IN_VIEWS),
            };
            while maxima_probe.less_than(&next) || probe.less_than(&done) {
                worker.step_or_park(None);
                complete(&probe, &mut in_views);
            }
            if epoch == 0 {
                schedule_start = Instant::now();
            }
        }
        input.close();
        while worker.step_or_park(None) {
            complete(&probe, &mut in_views);
        }
        complete(&probe, &mut in_views);
    })
    .map_err(|e| anyhow!("timely: {e}"))?;
    for r in guards.join() {
        r.map_err(|e| anyhow!("worker: {e}"))?;
    }
    consumer
        .join()
        .map_err(|_| anyhow!("the consumer thread panicked"))
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[((values.len() as f64 * q) as usize).min(values.len() - 1)]
}

/// CPU seconds the calling thread has run (`/proc/thread-self/schedstat`; NaN if unreadable).
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// The next `n` records of `records`, moved into epochs of `epoch_records`.
fn into_epochs(
    records: &mut impl Iterator<Item = SourceRecord>,
    n: usize,
    epoch_records: usize,
) -> Vec<Vec<SourceRecord>> {
    let mut epochs = Vec::new();
    let mut left = n;
    while left > 0 {
        let take = left.min(epoch_records.max(1));
        epochs.push(records.by_ref().take(take).collect());
        left -= take;
    }
    epochs
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let records = interleaved(jsonl::read_dir(&cli.input)?);
    let json = match cli.mode {
        Mode::Latency {
            rate,
            epoch_records,
            seconds,
        } => {
            // One warm-up epoch, then `seconds` of paced input.
            let n = records.len().min((rate * seconds) as usize + epoch_records);
            let epochs = into_epochs(&mut records.into_iter(), n, epoch_records);
            let Driven {
                marks,
                rows,
                store_cpu_s,
                ..
            } = drive(
                epochs,
                cli.workers,
                cli.views.clone(),
                (Some(rate), None),
                Consume::Apply,
            )?;
            let measured = &marks[1.min(marks.len())..];
            let mut lat: Vec<f64> = measured
                .iter()
                .map(|(due, done)| done.saturating_duration_since(*due).as_secs_f64())
                .collect();
            let n = n.saturating_sub(epoch_records);
            let elapsed = match (marks.first(), marks.last()) {
                (Some((_, warm)), Some((_, done))) => done.duration_since(*warm).as_secs_f64(),
                _ => 0.0,
            };
            serde_json::json!({
                "mode": "latency", "workers": cli.workers, "views": cli.views.to_string(),
                "rate": rate,
                "epoch_records": epoch_records, "records": n, "epochs": measured.len(),
                "p50_s": percentile(&mut lat, 0.5), "p99_s": percentile(&mut lat, 0.99),
                "max_s": percentile(&mut lat, 1.0),
                "achieved_rate": n as f64 / elapsed.max(1e-9),
                "view_rows": rows, "store_cpu_s": store_cpu_s, "peak_rss_bytes": peak_rss_bytes(),
            })
        }
        Mode::Update {
            preload,
            batches,
            repeat,
        } => {
            let sizes: Vec<usize> = batches
                .split(',')
                .map(|s| s.trim().parse())
                .collect::<Result<_, _>>()?;
            let needed: usize = sizes.iter().sum::<usize>() * repeat;
            let preload = preload.min(records.len().saturating_sub(needed));
            let mut rest = records.into_iter();
            let mut epochs = into_epochs(&mut rest, preload, 50_000);
            let preload_epochs = epochs.len();
            let mut plan = Vec::new();
            for &size in &sizes {
                for _ in 0..repeat {
                    epochs.push(rest.by_ref().take(size).collect());
                    plan.push(size);
                }
            }
            drop(rest);
            let Driven {
                marks,
                rows,
                store_cpu_s,
                ..
            } = drive(
                epochs,
                cli.workers,
                cli.views.clone(),
                (None, Some(preload_epochs)),
                Consume::Apply,
            )?;
            let preload_s = match (marks.first(), marks.get(preload_epochs.max(1) - 1)) {
                (Some((start, _)), Some((_, done))) if preload_epochs > 0 => {
                    done.duration_since(*start).as_secs_f64()
                }
                _ => 0.0,
            };
            let mut by_size: HashMap<String, Vec<f64>> = HashMap::new();
            for (size, (start, done)) in plan.iter().zip(&marks[preload_epochs..]) {
                by_size
                    .entry(size.to_string())
                    .or_default()
                    .push(done.duration_since(*start).as_secs_f64());
            }
            serde_json::json!({
                "mode": "update", "workers": cli.workers, "views": cli.views.to_string(),
                "preloaded": preload,
                "preload_s": preload_s, "batches": by_size, "view_rows": rows, "store_cpu_s": store_cpu_s,
                "peak_rss_bytes": peak_rss_bytes(),
            })
        }
        Mode::Store {
            epoch_records,
            records: n,
            repeat,
        } => {
            let n = records.len().min(n);
            let epochs = into_epochs(&mut records.into_iter(), n, epoch_records);
            let kept = drive(
                epochs,
                cli.workers,
                cli.views.clone(),
                (None, None),
                Consume::Keep,
            )?
            .kept;
            let changes: usize = kept.iter().flat_map(|(_, runs)| runs).map(Vec::len).sum();
            let passes: Vec<serde_json::Value> = (0..repeat.max(1))
                .map(|_| {
                    let epochs = kept.clone();
                    let store = ViewStore::with_retention(Retention::default());
                    let (cpu, wall) = (thread_cpu_seconds(), Instant::now());
                    for (epoch, runs) in epochs {
                        drop(store.apply_changes(epoch, EpochChanges::merge(runs)));
                    }
                    let (cpu, wall) = (thread_cpu_seconds() - cpu, wall.elapsed().as_secs_f64());
                    let rows = row_count(&store);
                    serde_json::json!({"cpu_s": cpu, "wall_s": wall, "view_rows": rows})
                })
                .collect();
            serde_json::json!({
                "mode": "store", "workers": cli.workers, "views": cli.views.to_string(),
                "records": n, "epoch_records": epoch_records, "epochs": kept.len(),
                "changes": changes, "passes": passes, "peak_rss_bytes": peak_rss_bytes(),
            })
        }
    };
    println!("{json}");
    Ok(())
}
