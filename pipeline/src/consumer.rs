//! The consumer of the engine's events: gathers each epoch's view changes (each worker's
//! already consolidated) and, when the epoch closes, merges them once
//! ([`EpochChanges::merge`]) and hands the same changes to the serving store's writer and
//! ClickHouse (all views together, so no reader sees half an epoch;
//! the writer applies them on a thread of its own and writes the Parquet snapshots, every
//! `snapshot_secs` — a large view less often: see `snapshot` — and the history from the
//! store, see `store_writer`), sends rejected records to the dead-letter topic (flushed when
//! their epoch closes, see [`crate::dead_letters`]) and `rejected.jsonl`, and keeps the live
//! status (lag, DLQ size, rates) current.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::epoch_loop::EngineEvent;
use pulso_dataflows::Epoch;
use pulso_events::views::{EpochChanges, Run, ViewRow};
use pulso_queries::{LiveStatus, ViewStore};
use pulso_sinks::clickhouse::WriterHandle;
use pulso_sinks::parquet::{HistoryWriter, HISTORY_DIR};

use crate::batch::rejected_record;
use crate::dead_letters::DeadLetters;
use crate::dlq_probe::{DlqProbe, DlqSize};
use crate::error::{PipelineError, Result};
use crate::positions::ConsumerPositions;
use crate::snapshot::Snapshots;
use crate::sources::ReadSignals;
use crate::store_writer::{Files, StoreWriter};

/// The live status is refreshed at least this often, epochs or not (the read-model lag grows
/// while an epoch is open).
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// The Kafka side of the outputs.
pub struct KafkaOutputs {
    /// The engine's dead-letter topic.
    pub dead_letters: DeadLetters,
    /// Measures the dead-letter topics.
    pub probe: DlqProbe,
}

/// The ClickHouse side of the outputs, with `--clickhouse`.
pub struct ClickHouseOutput {
    /// The writer thread's handle.
    pub writer: WriterHandle,
    /// The version of this run's epoch 0: above every version an earlier run wrote, so this
    /// run's rows replace them.
    pub base_version: u64,
}

/// Where the consumer delivers.
pub struct Outputs {
    /// The serving store behind the API.
    pub store: Arc<ViewStore>,
    /// The ClickHouse writer, with `--clickhouse`.
    pub clickhouse: Option<ClickHouseOutput>,
    /// The dead letters and the probe of the DLQ topics' size, with `--brokers`.
    pub kafka: Option<KafkaOutputs>,
    /// Consumer progress per partition, with `--brokers`.
    pub progress: Option<ConsumerPositions>,
    /// What the sources report of their reads (read-model lag, SLA violations).
    pub signals: ReadSignals,
    /// The output folder: `views/` snapshots and `rejected.jsonl`.
    pub out: PathBuf,
    /// Seconds between Parquet snapshots (the least; see [`Snapshots`]).
    pub snapshot_secs: u64,
    /// This process of the cluster: process 0 writes the view snapshots and
    /// `rejected.jsonl`, process `p` its own `rejected-p<p>.jsonl` (it rejects what its
    /// workers read).
    pub process_id: usize,
}

/// Records read in an epoch, from the change of the per-topic health counters.
fn records_in(changes: &[(ViewRow, isize)]) -> i64 {
    changes
        .iter()
        .map(|(row, diff)| match row {
            ViewRow::TopicHealth(h) => h.records * *diff as i64,
            _ => 0,
        })
        .sum()
}

/// Runs until the engine reports `Finished`.
pub fn consume(events: Receiver<EngineEvent>, mut outputs: Outputs) -> Result<()> {
    let rejected_path = outputs.out.join(match outputs.process_id {
        0 => "rejected.jsonl".to_string(),
        p => format!("rejected-p{p}.jsonl"),
    });
    // Process 0 writes the snapshots and the history.
    let leader = outputs.process_id == 0;
    let snapshot_interval = Duration::from_secs(outputs.snapshot_secs.max(1));
    let views_dir = outputs.out.join("views");
    let snapshots =
        Snapshots::new(&views_dir, snapshot_interval).map_err(PipelineError::sink(|| {
            format!("preparing {}", views_dir.display())
        }))?;
    let mut rejected = BufWriter::new(
        File::options()
            .create(true)
            .append(true)
            .open(&rejected_path)
            .map_err(PipelineError::io(|| {
                format!("opening {}", rejected_path.display())
            }))?,
    );
    // The changes of the epochs not closed yet, one consolidated run per worker and epoch: the
    // workers hand over later epochs' changes while the views complete earlier ones.
    let mut pending: BTreeMap<Epoch, Vec<Run>> = BTreeMap::new();
    // Rows retention expires from the store go to the history (process 0, as the snapshots).
    let files = leader.then(|| Files {
        history: HistoryWriter::new(&outputs.out.join(HISTORY_DIR)),
        snapshots,
    });
    let mut store = StoreWriter::start(
        Arc::clone(&outputs.store),
        outputs.signals.lag.clone(),
        files,
    )?;
    // Without Kafka there is no dead-letter topic: nothing is held in one.
    let dlq_size = outputs.kafka.as_ref().map(|k| k.probe.clone().spawn());
    let mut status = LiveStatus::default();
    let mut rate_window = (Instant::now(), 0i64);
    let mut refreshed = Instant::now();
    loop {
        let event = match events.recv_timeout(STATUS_EVERY.saturating_sub(refreshed.elapsed())) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if refreshed.elapsed() >= STATUS_EVERY {
            // No epoch closed for a while: the lag and the probes still move.
            refresh_status(&mut outputs, &mut status, dlq_size.as_ref());
            outputs.store.set_live(status.clone());
            refreshed = Instant::now();
        }
        let Some(event) = event else {
            continue;
        };
        match event {
            EngineEvent::Changes { epoch, changes } => {
                pending.entry(epoch).or_default().push(changes);
            }
            EngineEvent::Rejected(records) => {
                let mut dlq = outputs.kafka.as_mut().map(|kafka| &mut kafka.dead_letters);
                for (record, rejection) in records {
                    if let Some(dlq) = dlq.as_mut() {
                        // Retried; a failure that stays is fatal and stops the run.
                        dlq.reject(&record, &rejection)
                            .map_err(PipelineError::DeadLetters)?;
                    }
                    let line = rejected_record(record, rejection).to_json_line()?;
                    writeln!(rejected, "{line}")?;
                }
            }
            EngineEvent::EpochClosed { epoch, opened } => {
                // First the epoch's dead letters: the sources' progress records wait for them.
                if let Some(KafkaOutputs {
                    dead_letters: dlq, ..
                }) = &mut outputs.kafka
                {
                    dlq.epoch_closed(epoch)
                        .map_err(PipelineError::DeadLetters)?;
                }
                // The epoch's one merge: ClickHouse and the store share its changes.
                let changes = EpochChanges::merge(closed_changes(&mut pending, epoch));
                rate_window.1 += records_in(&changes);
                if let Some(clickhouse) = &outputs.clickhouse {
                    let version = clickhouse.base_version + epoch;
                    clickhouse.writer.send(version, changes.clone())?;
                }
                // Flushed before the store writer may snapshot the epoch.
                rejected.flush()?;
                store.apply(epoch, changes)?;
                let took = opened.elapsed().as_secs_f64();
                status.epoch_duration_ms = took * 1e3;
                status.epoch_durations.observe(took);
                let elapsed = rate_window.0.elapsed().as_secs_f64();
                if elapsed >= 1.0 {
                    status.events_per_second = rate_window.1 as f64 / elapsed;
                    rate_window = (Instant::now(), 0);
                }
                refresh_status(&mut outputs, &mut status, dlq_size.as_ref());
                outputs.store.set_live(status.clone());
                refreshed = Instant::now();
            }
            EngineEvent::Finished => break,
        }
    }
    rejected.flush()?;
    store.finish()?;
    if let Some(KafkaOutputs {
        dead_letters: dlq, ..
    }) = &mut outputs.kafka
    {
        dlq.finish().map_err(PipelineError::DeadLetters)?;
    }
    if let Some(clickhouse) = outputs.clickhouse.take() {
        clickhouse.writer.close()?;
    }
    Ok(())
}

/// Takes the runs of every epoch up to `closed` out of `pending` (the workers' consolidated
/// changes, for [`EpochChanges::merge`]).
pub fn closed_changes(pending: &mut BTreeMap<Epoch, Vec<Run>>, closed: Epoch) -> Vec<Run> {
    let later = pending.split_off(&(closed + 1));
    std::mem::replace(pending, later)
        .into_values()
        .flatten()
        .collect()
}

/// Updates lag, DLQ, read and sink figures of the live status.
fn refresh_status(outputs: &mut Outputs, status: &mut LiveStatus, dlq_size: Option<&DlqSize>) {
    let last_epoch = outputs.store.epoch();
    if let Some(progress) = &outputs.progress {
        status.partitions = progress.statuses();
    }
    status.dlq_size = dlq_size.map_or(Some(0), DlqSize::get);
    status.dlq_probe_failures = dlq_size.map_or(0, DlqSize::failures);
    status.read_model_lag_seconds = outputs.signals.lag.seconds();
    status.sla_violations = outputs.signals.violations.by_department();

    if let Some(clickhouse) = &outputs.clickhouse {
        let metrics = clickhouse.writer.metrics();
        status.sink_failures = metrics.failures();
        let written = metrics
            .last_written_epoch()
            .map(|v| v.saturating_sub(clickhouse.base_version));
        status.sink_lag_epochs = match (last_epoch, written) {
            (Some(applied), Some(written)) => applied.saturating_sub(written),
            (Some(applied), None) => applied + 1,
            _ => 0,
        };
    }
}
