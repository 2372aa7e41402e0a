//! Runs the dataflows over recorded batches on 1..N timely workers in this process: one
//! deterministic pass where batch `e` is epoch `e`, collecting the final view rows and the
//! rejected records. Replay, backfill, verify, tests and benchmarks use it. The batches are
//! read as the replay goes ([`replay_stream`], or [`replay_source`] from a [`RecordSource`]
//! such as [`JsonlSource`] or [`ArchiveSource`]): each worker receives its share of an epoch
//! through a bounded channel, so only a few epochs of input are held at a time.

mod collect;
mod sources;
mod spill;
mod view_spill;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use differential_dataflow::input::Input;
use pulso_dataflows::clock::EngineClock;
use pulso_dataflows::cluster::Collect;
use pulso_dataflows::engine::{routed_views, Routing};
use pulso_dataflows::retention::Retention;
use pulso_dataflows::watermark::{observe, Admission};
use pulso_dataflows::{ingest, Epoch, Ingested};
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::registry::ViewSelection;
use pulso_events::views::ViewSet;
use pulso_events::{RejectReason, Rejection, SourceRecord, Topic};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::input::Input as _;
use timely::dataflow::operators::{Exchange, Probe};
use timely::dataflow::ProbeHandle;

use crate::cluster::ClusterConfig;
use crate::error::DataflowError;
use crate::record_source::RecordSource;
use collect::{into_views, split, Collected};

pub use collect::{shares, Share};
pub use sources::{ArchiveSource, JsonlSource};
pub use spill::{Merged, SpillConfig, TimelineRuns};

/// Epochs of input a worker may have waiting (beyond the one it ingests).
const EPOCHS_IN_FLIGHT: usize = 2;

/// Epochs the views may still be working on while a worker reads the next one.
const EPOCHS_IN_VIEWS: Epoch = 2;

/// How to run a replay.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// Timely workers (threads) in this process.
    pub workers: usize,
    /// The processes of the replay (one by default): each reads the same batches and ingests
    /// its workers' share; process 0 collects the views and the rejected records.
    pub cluster: ClusterConfig,
    /// The instant open cases are graded at; `None`: the greatest event time.
    pub as_of: Option<i64>,
    /// Counts the records processed so far (all workers), for progress reports.
    pub progress: Option<Arc<AtomicU64>>,
    /// Records rejected outside `batches`, per (topic, reason): counted in `pipeline_health`
    /// as if they had been read (a backfill takes them from the archive's progress record).
    pub restored_rejections: Vec<(Topic, RejectReason, u64)>,
    /// Retention horizons (VIEWS.md, "Retention"); the defaults as written there.
    pub retention: Retention,
    /// Delivery targets of `notification_latency` (config `sla.delivery_seconds`).
    pub sla: DeliverySla,
    /// The clock of the future-tolerance check.
    pub clock: EngineClock,
    /// Where and when workers spill their timeline entries (see [`SpillConfig`]).
    pub spill: SpillConfig,
    /// Leave the timeline entries in [`ReplayOutput::timelines`], as sorted runs a writer
    /// takes as they are merged, instead of in [`ReplayOutput::views`].
    pub stream_timelines: bool,
    /// The views computed (the others are neither built nor output: their lists stay empty).
    pub views: ViewSelection,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            workers: 1,
            cluster: ClusterConfig::default(),
            as_of: None,
            progress: None,
            restored_rejections: Vec::new(),
            retention: Retention::default(),
            sla: DeliverySla::default(),
            clock: EngineClock::Wall,
            spill: SpillConfig::default(),
            stream_timelines: false,
            views: ViewSelection::all(),
        }
    }
}

/// What a replay produced.
#[derive(Debug, Default)]
pub struct ReplayOutput {
    /// Every view after the last epoch: the whole views, rows expired by retention included
    /// (see [`pulso_events::retention::Retention::split`] for the retained part); without
    /// timeline entries when [`ReplayConfig::stream_timelines`] is set.
    pub views: ViewSet,
    /// The timeline entries when [`ReplayConfig::stream_timelines`] is set (empty otherwise).
    pub timelines: TimelineRuns,
    /// The greatest accepted event time (VIEWS.md, "Retention"), `None` without events.
    pub watermark: Option<i64>,
    /// Every rejected record with its reason, in input order.
    pub rejected: Vec<(SourceRecord, Rejection)>,
    /// View changes the dataflow emitted (all epochs, before accumulation).
    pub changes: u64,
}

/// Replays `batches` (batch `e` becomes epoch `e`) through every view and returns the final
/// views. Within a batch, record `i` goes to worker `i % workers`; the results do not depend
/// on it, nor on the batch boundaries. The records move into the dataflow (each worker drops
/// an epoch's records once it has ingested them), so the input is not held twice.
pub fn replay(
    batches: Vec<Vec<SourceRecord>>,
    config: &ReplayConfig,
) -> Result<ReplayOutput, DataflowError> {
    run(batches.into_iter().map(Ok), config)
}

/// Like [`replay`], with the batches read as the replay goes: the calling thread pulls batch
/// `e` from `batches`, splits it into its workers' shares (record `i` to global worker
/// `i % peers`) and hands each share to its worker through a bounded channel, so that only a
/// few epochs of input are held at a time. An `Err` batch stops the replay with
/// [`DataflowError::Input`].
pub fn replay_stream<I, E>(batches: I, config: &ReplayConfig) -> Result<ReplayOutput, DataflowError>
where
    I: IntoIterator<Item = Result<Vec<SourceRecord>, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let input = |e: E| DataflowError::Input(Box::new(e));
    run(batches.into_iter().map(|b| b.map_err(input)), config)
}

/// Like [`replay_stream`], reading `source` on the calling thread: each poll of at most
/// `per_epoch` records is one epoch, until the source ends; a source that ends on a failure
/// ([`RecordSource::failure`]) stops the replay with [`DataflowError::Input`]. The source's
/// restored rejections count with `config.restored_rejections`.
pub fn replay_source(
    source: &mut dyn RecordSource,
    per_epoch: usize,
    config: &ReplayConfig,
) -> Result<ReplayOutput, DataflowError> {
    let mut config = config.clone();
    config
        .restored_rejections
        .extend(source.restored_rejections());
    let batches = std::iter::from_fn(|| match source.poll(per_epoch, Duration::ZERO) {
        Some(batch) => Some(Ok(batch)),
        None => source.failure().map(|e| Err(DataflowError::Input(e))),
    });
    run(batches, &config)
}

/// The replay of [`replay_stream`], its input errors already [`DataflowError`]s.
fn run<I>(batches: I, config: &ReplayConfig) -> Result<ReplayOutput, DataflowError>
where
    I: Iterator<Item = Result<Vec<SourceRecord>, DataflowError>>,
{
    let workers = config.workers.max(1);
    let first = config.cluster.process_id * workers;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| {
            let (sender, receiver) = sync_channel::<Vec<(usize, SourceRecord)>>(EPOCHS_IN_FLIGHT);
            (sender, Mutex::new(Some(receiver)))
        })
        .unzip();
    let receivers = Arc::new(receivers);
    let fixed_as_of = config.as_of;
    let progress = config.progress.clone();
    let restored = Arc::new(config.restored_rejections.clone());
    let processes = config.cluster.processes;
    let (retention, clock, sla) = (config.retention, config.clock, config.sla);
    let spill = config.spill.clone();
    let views = config.views.clone();
    let guards = timely::execute(config.cluster.timely(workers), move |worker| {
        let index = worker.index();
        let collected = Rc::new(RefCell::new(Collected::new(spill.clone())));
        let maxima_probe = ProbeHandle::new();
        let (mut input, mut as_of_input, mut end_input, mut rejected_input, probe, watermark) =
            worker.dataflow::<Epoch, _, _>(|scope| {
                let (input, records) = scope.new_collection();
                let (as_of_input, as_of) = scope.new_collection();
                let as_of = fixed_as_of.map(|_| as_of);
                // The input is bounded: churning views are emitted once, at its end.
                let (end_input, end) = scope.new_collection();
                let routing = Routing {
                    workers,
                    processes,
                    collect: Collect::Leader,
                    views: views.clone(),
                };
                let (changes, maxima) =
                    routed_views(records, as_of, Some(end), &retention, sla, &routing);
                let (probe, changes) = changes.probe();
                let watermark = observe(maxima, &maxima_probe);
                let into = Rc::clone(&collected);
                changes.sink(Pipeline, "CollectChanges", move |(input, _)| {
                    input.for_each(|_, data| {
                        let mut into = into.borrow_mut();
                        for (row, _time, diff) in data.drain(..) {
                            into.change(row, diff);
                        }
                    })
                });
                // Rejections travel to worker 0, where the rejected records are listed.
                let (rejected_input, rejected) =
                    scope.new_input::<(usize, usize, SourceRecord, Rejection)>();
                let into = Rc::clone(&collected);
                let rejected = rejected.exchange(|_| 0).probe_with(&probe);
                rejected.sink(Pipeline, "CollectRejected", move |(input, _)| {
                    input.for_each(|_, data| into.borrow_mut().rejected.append(data))
                });
                (
                    input,
                    as_of_input,
                    end_input,
                    rejected_input,
                    probe,
                    watermark,
                )
            });
        if let (Some(t), 0) = (fixed_as_of, index) {
            as_of_input.insert(t);
        }
        as_of_input.close();
        if index == 0 {
            for &(topic, reason, n) in restored.iter() {
                input.update(Ingested::Rejected { topic, reason }, n as isize);
            }
        }
        let share = receivers[index - first]
            .lock()
            .expect("share lock")
            .take()
            .expect("one receiver per worker");
        for (epoch, batch) in share.into_iter().enumerate() {
            let read = batch.len() as u64;
            let admission = Admission {
                watermark: watermark.borrow_mut().at(epoch as Epoch),
                retention,
                now: clock.now_micros(),
            };
            for (i, record) in batch {
                let (ingested, rejected) = ingest(record, &admission);
                if let Some((record, rejection)) = rejected {
                    rejected_input.send((epoch, i, record, rejection));
                }
                input.insert(ingested);
            }
            if let Some(progress) = &progress {
                progress.fetch_add(read, Ordering::Relaxed);
            }
            input.advance_to(epoch as Epoch + 1);
            input.flush();
            end_input.advance_to(epoch as Epoch + 1);
            end_input.flush();
            rejected_input.advance_to(epoch as Epoch + 1);
            // Epoch `e + 1` is admitted against `W(e + 1)`, which needs every worker's maxima
            // of epoch `e` only: the views may still be working on the epochs before it, so a
            // worker that has read its share goes on with them instead of waiting for the
            // slowest worker to finish the epoch. A worker with nothing to do parks until a
            // message or an activation wakes it (`step_while` would poll every channel in a
            // loop, taking a core from the other worker and the thread reading the input).
            let next = *input.time();
            let done = next.saturating_sub(EPOCHS_IN_VIEWS);
            worker.step_or_park_while(None, || {
                maxima_probe.less_than(&next) || probe.less_than(&done)
            });
        }
        // The end of the input is an epoch of its own, after the last batch.
        if index == 0 {
            end_input.insert(());
        }
        end_input.close();
        input.close();
        drop(rejected_input);
        while worker.step_or_park(None) {}
        let Collected {
            timelines,
            mut others,
            emitted,
            rejected,
        } = collected.replace(Collected::new(spill.clone()));
        others.consolidate();
        (timelines.finish(), others, emitted, rejected)
    })
    .map_err(DataflowError::Start)?;

    // Feed the workers; a closed channel means its worker failed (`join` tells why).
    let mut input_error = None;
    'feed: for batch in batches {
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                input_error = Some(e);
                break;
            }
        };
        for (sender, share) in senders.iter().zip(split(batch, workers, &config.cluster)) {
            if sender.send(share).is_err() {
                break 'feed;
            }
        }
    }
    drop(senders);

    let (mut timelines, mut others, mut rejected, mut emitted) = (vec![], vec![], vec![], 0);
    for result in guards.join() {
        let (runs, changes, count, records) = result.map_err(DataflowError::Worker)?;
        emitted += count;
        timelines.push(runs?);
        others.push(changes);
        rejected.extend(records);
    }
    if let Some(error) = input_error {
        return Err(error);
    }
    let timelines = TimelineRuns::join(timelines);
    let (mut views, watermark) = into_views(others)?;
    let timelines = if config.stream_timelines {
        timelines
    } else {
        views.timelines = timelines.into_vec()?;
        TimelineRuns::default()
    };
    rejected.sort_by_key(|(epoch, i, _, _)| (*epoch, *i));
    let rejected = rejected
        .into_iter()
        .map(|(_, _, record, rejection)| (record, rejection))
        .collect();
    Ok(ReplayOutput {
        views,
        timelines,
        watermark,
        rejected,
        changes: emitted,
    })
}
