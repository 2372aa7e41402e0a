//! The live engine loop: every timely worker polls its own record source, closes an epoch
//! every `epoch_ms` or `epoch_records` records, and the view changes of each closed epoch are
//! handed to the caller followed by an `EpochClosed` marker, so consumers apply whole epochs.
//! Open cases are graded against the wall clock, re-graded at least every `regrade_secs`.
//! In a cluster (see [`crate::cluster`]) the changes reach the first worker of every
//! process, which announces each epoch to its process's consumer.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::input::Input;
use pulso_dataflows::clock::EngineClock;
use pulso_dataflows::cluster::Collect;
use pulso_dataflows::engine::{routed_views, Routing};
use pulso_dataflows::pending::Pending;
use pulso_dataflows::retention::Retention;
use pulso_dataflows::watermark::{observe, Admission};
use pulso_dataflows::{ingest_ref, Epoch, Ingested};
use pulso_events::delivery_sla::DeliverySla;
use pulso_events::registry::ViewSelection;
use pulso_events::views::{consolidate_rows, Run, ViewRow};
use pulso_events::{Rejection, SourceRecord};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::dataflow::Stream;

use crate::cluster::ClusterConfig;
use crate::error::DataflowError;
use crate::record_source::{EpochRead, RecordSource, SourceFactory};

/// How open cases are graded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOfMode {
    /// The wall clock, re-graded at least every this many seconds.
    WallClock {
        /// Seconds between re-gradings when nothing else happens.
        regrade_secs: u64,
    },
    /// The greatest event time seen.
    MaxEventTime,
}

/// Settings of the live loop.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Timely worker threads of this process.
    pub workers: usize,
    /// The processes of the engine; every process receives every view change.
    pub cluster: ClusterConfig,
    /// Close an epoch after this long...
    pub epoch_ms: u64,
    /// ... or after this many records on a worker, whichever comes first.
    pub epoch_records: usize,
    /// How open cases are graded.
    pub as_of: AsOfMode,
    /// Retention horizons (VIEWS.md, "Retention").
    pub retention: Retention,
    /// Delivery targets of `notification_latency` (config `sla.delivery_seconds`).
    pub sla: DeliverySla,
    /// "Now" for live `as_of` and the future-tolerance check: the wall clock, or the
    /// generator's scaled clock.
    pub clock: EngineClock,
}

/// Messages the channel from the live loop to its consumer holds before the workers wait
/// (the consumer's backpressure): batches of view changes — timely's default 8 KiB buffers
/// hold 42 of the 192-byte changes, so typically ~340,000 changes (~64 MiB) in all — and
/// rejected records, one message each. That is room for the next epoch or two while the
/// consumer is busy with one (consolidating it, sending its dead letters): an epoch of 20,000
/// records per worker on 2 workers sends ~3,000 messages, and with room for 1,024 the workers
/// stopped at every epoch until the consumer had taken the one before (a catch-up from the
/// broker ran ~10% slower).
pub const EVENTS_IN_FLIGHT: usize = 8_192;

/// Epochs the views may still be working on while a worker reads the next one. The next
/// epoch is admitted once every worker's maxima of the one before it are in (its `W(e)`);
/// waiting for the views to finish it as well left each worker idle while the other finished
/// its share of the epoch, or while the store's thread took its core.
pub const EPOCHS_IN_VIEWS: Epoch = 2;

/// While its source is behind ([`RecordSource::behind`]: a Kafka source with more than
/// 10,000 records waiting in the broker), a worker keeps an epoch open up to this many times
/// `epoch_ms` and `epoch_records`. Records in a backlog are late already, and a longer epoch
/// carries fewer retractions and re-insertions of the same rows (a windowed row changes once
/// per epoch): a live catch-up of 1M records took 24–28 epochs instead of 42–54, ~9% less CPU
/// and ran ~8% faster (benches/RESULTS.md). The source is asked again after every poll, and
/// once it has caught up epochs close at `epoch_ms` again, so live latency is unchanged.
const CATCH_UP_EPOCH_FACTOR: u32 = 4;

/// The longest a worker waits for records while the views still work on earlier epochs: it
/// steps them between polls, and announces each as soon as it is complete.
const POLL_WHILE_BUSY: Duration = Duration::from_millis(2);

/// What the live loop tells its consumer.
#[derive(Debug)]
pub enum EngineEvent {
    /// View changes of `epoch`: one batch of the dataflow's output, sent as one message (a
    /// message per change cost each worker a wake-up of the consumer). Changes of later
    /// epochs may arrive before the epoch's `EpochClosed`.
    Changes {
        /// The epoch of the changes.
        epoch: Epoch,
        /// The rows and their diffs, consolidated ([`consolidate_rows`]).
        changes: Run,
    },
    /// Rejected records, in the order read (for the dead-letter topic and
    /// `rejected.jsonl`): one message per poll of a source, not per record.
    Rejected(Vec<(SourceRecord, Rejection)>),
    /// Every change of `epoch` has been sent (by all workers of the process).
    EpochClosed {
        /// The epoch.
        epoch: Epoch,
        /// When the epoch was opened.
        opened: Instant,
    },
    /// Every source is finished and every epoch closed.
    Finished,
}

/// Hands each epoch's `changes` to `send` as their rows and diffs (moved, not cloned as an
/// `inspect` would), in one call per epoch once the epoch is complete here, and returns a
/// probe that passes an epoch once its changes have been handed over: the operator holds a
/// capability for each epoch it buffers until it has sent it.
///
/// One call per epoch, not per batch: each send wakes the consumer's thread, and an epoch's
/// changes come in batches of a few dozen rows (a thousand wake-ups per epoch, each a context
/// switch on a machine with fewer cores than threads). The consumer applies an epoch only
/// once it is closed, so holding its changes until then delays nothing.
///
/// The changes are consolidated here ([`consolidate_rows`]: sorted by row, each row once), on
/// the worker, so the consumer only merges the workers' runs
/// ([`pulso_events::views::EpochChanges::merge`]) instead of sorting them all on its one
/// thread: the sort was half of what that thread did.
pub fn hand_off<'s>(
    changes: Stream<'s, Epoch, Vec<(ViewRow, Epoch, isize)>>,
    mut send: impl FnMut(Epoch, Run) + 'static,
) -> ProbeHandle<Epoch> {
    let handed = changes.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        "HandOff",
        move |_, _| {
            let mut pending = Pending::<ViewRow>::default();
            move |(input, frontier), _| {
                input.for_each(|capability, batch| pending.hold(&capability, batch));
                while let Some((epoch, _capability, mut changes)) = pending.next_passed(frontier) {
                    consolidate_rows(&mut changes);
                    // The capability goes after the send: the probe passes the epoch then.
                    send(epoch, changes);
                }
            }
        },
    );
    handed.probe().0
}

/// Runs the live loop until every source is finished or `stop` is set. Blocks; the
/// consumer's bounded channel slows the sources down when it falls behind.
pub fn run_live(
    config: &LiveConfig,
    sources: SourceFactory,
    events: SyncSender<EngineEvent>,
    stop: Arc<AtomicBool>,
) -> Result<(), DataflowError> {
    let config = config.clone();
    let finish = events.clone();
    let (workers, processes) = (config.workers.max(1), config.cluster.processes);
    // The greatest epoch of a change handed to this process's consumer (by any local worker).
    let last_change = Arc::new(AtomicU64::new(0));
    let guards = timely::execute(config.cluster.timely(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mut source = sources(index, peers);
        let sender = events.clone();
        let wall_clock = matches!(config.as_of, AsOfMode::WallClock { .. });
        let seen = Arc::clone(&last_change);
        let maxima_probe = ProbeHandle::new();
        let (mut input, mut as_of_input, probe, watermark) =
            worker.dataflow::<Epoch, _, _>(|scope| {
                let (input, records) = scope.new_collection();
                let (as_of_input, as_of) = scope.new_collection();
                let output = sender.clone();
                let routing = Routing {
                    workers,
                    processes,
                    collect: Collect::Everywhere,
                    views: ViewSelection::all(),
                };
                let (changes, maxima) = routed_views(
                    records,
                    wall_clock.then_some(as_of),
                    None,
                    &config.retention,
                    config.sla,
                    &routing,
                );
                let probe = hand_off(changes, move |epoch, changes| {
                    seen.fetch_max(epoch, Ordering::Relaxed);
                    let _ = output.send(EngineEvent::Changes { epoch, changes });
                });
                let watermark = observe(maxima, &maxima_probe);
                (input, as_of_input, probe, watermark)
            });
        let regrade = match config.as_of {
            AsOfMode::WallClock { regrade_secs } => Duration::from_secs(regrade_secs.max(1)),
            AsOfMode::MaxEventTime => Duration::MAX,
        };
        let mut as_of = None;
        let mut last_regrade = Instant::now();
        let mut finished = false;
        let mut epoch: Epoch = 0;
        // Epochs closed whose views are not complete yet, oldest first, and when each opened.
        let mut in_views: VecDeque<(Epoch, Instant)> = VecDeque::new();
        // Announces each epoch the views have completed to the consumer (from the first worker
        // of each process) and to the source, in order.
        let complete = |in_views: &mut VecDeque<(Epoch, Instant)>,
                        source: &mut Box<dyn RecordSource>| {
            while let Some(&(closed, opened)) = in_views.front() {
                if probe.less_equal(&closed) {
                    break;
                }
                in_views.pop_front();
                // Sent before the source hears the epoch is processed, which may wait for the
                // consumer.
                if index % workers == 0 {
                    let _ = sender.send(EngineEvent::EpochClosed {
                        epoch: closed,
                        opened,
                    });
                }
                source.epoch_processed(closed);
            }
        };
        for (topic, reason, n) in source.restored_rejections() {
            input.update(Ingested::Rejected { topic, reason }, n as isize);
        }
        // An epoch's limits, and the larger ones while the source is behind.
        let length = Duration::from_millis(config.epoch_ms.max(1));
        let (catch_up_length, most) = (
            length * CATCH_UP_EPOCH_FACTOR,
            config.epoch_records * CATCH_UP_EPOCH_FACTOR as usize,
        );
        while !finished {
            let opened = Instant::now();
            if wall_clock && index == 0 && (as_of.is_none() || last_regrade.elapsed() >= regrade) {
                if let Some(old) = as_of.take() {
                    as_of_input.remove(old);
                }
                let now = config.clock.now_micros();
                as_of_input.insert(now);
                as_of = Some(now);
                last_regrade = Instant::now();
            }
            let (deadline, longest) = (opened + length, opened + catch_up_length);
            // Whether the source had a backlog at the last poll.
            let mut behind = false;
            let mut read = 0;
            let mut read_now = EpochRead::default();
            let mut admission = Admission {
                watermark: watermark.borrow_mut().at(epoch),
                retention: config.retention,
                now: config.clock.now_micros(),
            };
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                let (closes, limit) = match behind {
                    true => (longest, most),
                    false => (deadline, config.epoch_records),
                };
                if now >= closes || read >= limit {
                    break;
                }
                let wanted = (limit - read).min(10_000);
                let timeout = match in_views.is_empty() {
                    true => closes - now,
                    false => (closes - now).min(POLL_WHILE_BUSY),
                };
                match source.poll(wanted, timeout) {
                    Some(records) => {
                        behind = source.behind();
                        read += records.len();
                        admission.now = config.clock.now_micros();
                        let mut rejections = Vec::new();
                        for record in records {
                            // Read in place: the record moves on to the archive or the DLQ.
                            let (ingested, rejected) = ingest_ref(&record, &admission);
                            match (&ingested, rejected) {
                                (_, Some(rejection)) => {
                                    read_now.rejected.push((
                                        record.topic,
                                        record.position,
                                        rejection.reason,
                                    ));
                                    rejections.push((record, rejection));
                                }
                                (Ingested::Accepted { event, .. }, None) => {
                                    read_now.accepted.push((record, event.timestamp));
                                }
                                (Ingested::Rejected { .. }, None) => {}
                            }
                            input.insert(ingested);
                        }
                        if !rejections.is_empty() {
                            let _ = sender.send(EngineEvent::Rejected(rejections));
                        }
                    }
                    None => {
                        finished = true;
                        break;
                    }
                }
                worker.step();
                complete(&mut in_views, &mut source);
            }
            if stop.load(Ordering::Relaxed) {
                finished = true;
            }
            epoch += 1;
            input.advance_to(epoch);
            as_of_input.advance_to(epoch);
            input.flush();
            as_of_input.flush();
            source.epoch_read(epoch - 1, &mut read_now);
            in_views.push_back((epoch - 1, opened));
            // The next epoch is admitted against `W(epoch)`: every worker's maxima of this one
            // must be in. The views may go on with the last `EPOCHS_IN_VIEWS` epochs meanwhile
            // (all of them once the sources are done). Parked, not polling, while waiting: on a
            // machine with as many cores as workers, a polling worker takes the core of a busy
            // one, of the source or of the consumer (with the latency benchmark's 1k-record
            // epochs, polling was about a third of the workers' CPU).
            let done = match finished {
                true => epoch,
                false => epoch.saturating_sub(EPOCHS_IN_VIEWS),
            };
            // Epochs are announced as they complete, also while waiting: another worker's
            // source may wait for an epoch's dead letters, which the consumer delivers once
            // the first worker announces the epoch.
            while maxima_probe.less_than(&epoch) || probe.less_than(&done) {
                worker.step_or_park(None);
                complete(&mut in_views, &mut source);
            }
        }
        // Sources finish independently; keep stepping until every worker is done. The
        // first worker of each process goes on closing the epochs the others close, for
        // its process's consumer (a process whose sources are done still serves).
        input.close();
        as_of_input.close();
        let mut announced = epoch;
        loop {
            let running = worker.step_or_park(Some(Duration::from_millis(20)));
            if index % workers == 0 {
                let frontier = probe.with_frontier(|f| f.first().copied());
                let complete = frontier.unwrap_or(last_change.load(Ordering::Relaxed) + 1);
                if complete > announced {
                    announced = complete;
                    let _ = sender.send(EngineEvent::EpochClosed {
                        epoch: complete - 1,
                        opened: Instant::now(),
                    });
                }
            }
            if !running {
                break;
            }
        }
    })
    .map_err(DataflowError::Start)?;
    for result in guards.join() {
        result.map_err(DataflowError::Worker)?;
    }
    let _ = finish.send(EngineEvent::Finished);
    Ok(())
}
