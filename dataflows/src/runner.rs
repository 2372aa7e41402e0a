//! Runs the dataflows over recorded batches on 1..N timely workers in this process: one
//! deterministic pass where batch `e` is epoch `e`, collecting the final view rows and the
//! rejected records. Replay, tests and benchmarks use it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use differential_dataflow::input::Input;
use pulso_events::views::{ViewRow, ViewSet};
use pulso_events::{RejectReason, Rejection, SourceRecord, Topic};

use timely::dataflow::operators::vec::input::Input as _;
use timely::dataflow::operators::{Exchange, Inspect, Probe};

use crate::cluster::{route_changes, ClusterConfig, Collect};
use crate::{build_views, ingest, Epoch, Ingested};

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
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            workers: 1,
            cluster: ClusterConfig::default(),
            as_of: None,
            progress: None,
            restored_rejections: Vec::new(),
        }
    }
}

/// What a replay produced.
#[derive(Debug, Default)]
pub struct ReplayOutput {
    /// Every view after the last epoch.
    pub views: ViewSet,
    /// Every rejected record with its reason, in input order.
    pub rejected: Vec<(SourceRecord, Rejection)>,
    /// View changes the dataflow emitted (all epochs, before accumulation).
    pub changes: u64,
}

/// Errors of a dataflow run.
#[derive(Debug, thiserror::Error)]
pub enum DataflowError {
    /// Timely could not start its workers.
    #[error("timely could not start: {0}")]
    Start(String),
    /// A worker thread panicked.
    #[error("a dataflow worker failed: {0}")]
    Worker(String),
    /// A view row ended with a multiplicity other than 0 or 1 (a bug in a view).
    #[error("view row with multiplicity {1}: {0:?}")]
    Multiplicity(Box<ViewRow>, isize),
}

enum Message {
    Change(ViewRow, isize),
    Rejected(usize, usize, Rejection),
}

/// Replays `batches` (batch `e` becomes epoch `e`) through every view and returns the final
/// views. Within a batch, record `i` goes to worker `i % workers`; the results do not depend
/// on it, nor on the batch boundaries.
pub fn replay(
    batches: Arc<Vec<Vec<SourceRecord>>>,
    config: &ReplayConfig,
) -> Result<ReplayOutput, DataflowError> {
    let workers = config.workers.max(1);
    let fixed_as_of = config.as_of;
    let progress = config.progress.clone();
    let restored = Arc::new(config.restored_rejections.clone());
    let (sender, receiver) = mpsc::channel::<Message>();
    let shared = Arc::clone(&batches);
    let processes = config.cluster.processes;
    let guards = timely::execute(config.cluster.timely(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let sender = sender.clone();
        let (mut input, mut as_of_input, mut rejected_input, probe) = worker
            .dataflow::<Epoch, _, _>(|scope| {
                let (input, records) = scope.new_collection();
                let (as_of_input, as_of) = scope.new_collection();
                let as_of = fixed_as_of.map(|_| as_of);
                let output = sender.clone();
                let views = build_views(records, as_of);
                let (probe, _) = route_changes(views, workers, processes, Collect::Leader)
                    .inspect(move |(row, _time, diff)| {
                        let _ = output.send(Message::Change(row.clone(), *diff));
                    })
                    .probe();
                // Rejections travel to worker 0, where the rejected records are listed.
                let (rejected_input, rejected) = scope.new_input::<(usize, usize, Rejection)>();
                let output = sender.clone();
                rejected
                    .exchange(|_| 0)
                    .inspect(move |(epoch, i, rejection)| {
                        let _ = output.send(Message::Rejected(*epoch, *i, rejection.clone()));
                    })
                    .probe_with(&probe);
                (input, as_of_input, rejected_input, probe)
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
        for (epoch, batch) in shared.iter().enumerate() {
            for (i, record) in batch.iter().enumerate().skip(index).step_by(peers) {
                let (ingested, rejection) = ingest(record);
                if let Some(rejection) = rejection {
                    rejected_input.send((epoch, i, rejection));
                }
                input.insert(ingested);
            }
            if let Some(progress) = &progress {
                progress.fetch_add(batch.len().div_ceil(peers) as u64, Ordering::Relaxed);
            }
            input.advance_to(epoch as Epoch + 1);
            input.flush();
            rejected_input.advance_to(epoch as Epoch + 1);
            worker.step_while(|| probe.less_than(input.time()));
        }
        input.close();
        drop(rejected_input);
        while worker.step() {}
    })
    .map_err(DataflowError::Start)?;

    let mut rows: HashMap<ViewRow, isize> = HashMap::new();
    let mut rejected = Vec::new();
    let mut changes = 0u64;
    for message in receiver {
        match message {
            Message::Change(row, diff) => {
                changes += 1;
                *rows.entry(row).or_insert(0) += diff;
            }
            Message::Rejected(epoch, i, rejection) => rejected.push((epoch, i, rejection)),
        }
    }
    for result in guards.join() {
        result.map_err(DataflowError::Worker)?;
    }
    rejected.sort_by_key(|(epoch, i, _)| (*epoch, *i));
    let rejected = rejected
        .into_iter()
        .map(|(epoch, i, rejection)| (batches[epoch][i].clone(), rejection))
        .collect();
    let mut present = Vec::with_capacity(rows.len());
    for (row, count) in rows {
        match count {
            0 => {}
            1 => present.push(row),
            n => return Err(DataflowError::Multiplicity(Box::new(row), n)),
        }
    }
    Ok(ReplayOutput {
        views: ViewSet::from_rows(present),
        rejected,
        changes,
    })
}
