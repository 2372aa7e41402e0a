//! What the workers of a replay collect (their view changes, consolidated as they grow, and
//! the rejected records), and how a batch is split into the workers' shares.

use differential_dataflow::consolidation::consolidate;
use pulso_events::views::{TimelineEntry, ViewRow};
use pulso_events::{Rejection, SourceRecord};

use crate::cluster::ClusterConfig;

/// Changes of one kind that a worker collected, consolidated as they grow (so that a worker
/// holds at most about twice its final rows).
pub(super) struct Changes<T> {
    changes: Vec<(T, isize)>,
    consolidated: usize,
}

impl<T: Ord> Default for Changes<T> {
    fn default() -> Self {
        Changes {
            changes: Vec::new(),
            consolidated: 0,
        }
    }
}

impl<T: Ord> Changes<T> {
    pub(super) fn push(&mut self, row: T, diff: isize) {
        self.changes.push((row, diff));
        if self.changes.len() > 2 * self.consolidated.max(1 << 16) {
            consolidate(&mut self.changes);
            self.consolidated = self.changes.len();
        }
    }

    /// Sorts and consolidates the changes (a worker does it before handing them over, so
    /// that the final [`Changes::into_rows`] of all workers' changes merges sorted runs).
    pub(super) fn consolidate(&mut self) {
        consolidate(&mut self.changes);
        self.consolidated = self.changes.len();
    }

    /// Appends `other`'s changes.
    pub(super) fn append(&mut self, mut other: Changes<T>) {
        if self.changes.is_empty() {
            self.changes = other.changes;
            return;
        }
        self.changes.append(&mut other.changes);
    }

    /// The rows present at the end, sorted; an error names a row present other than once.
    pub(super) fn into_rows(mut self) -> Result<Vec<T>, (T, isize)> {
        consolidate(&mut self.changes);
        if let Some(index) = self.changes.iter().position(|(_, count)| *count != 1) {
            return Err(self.changes.swap_remove(index));
        }
        // `(row, 1)` to `row` reuses the allocation: the rows are not held twice.
        Ok(self.changes.into_iter().map(|(row, _)| row).collect())
    }
}

/// What one worker collected: its view changes (timelines apart: they are most of the rows)
/// and, on worker 0, the rejected records.
#[derive(Default)]
pub(super) struct Collected {
    pub(super) timelines: Changes<TimelineEntry>,
    pub(super) others: Changes<ViewRow>,
    pub(super) emitted: u64,
    pub(super) rejected: Vec<(usize, usize, SourceRecord, Rejection)>,
}

impl Collected {
    /// Consolidates the view changes collected (see [`Changes::consolidate`]).
    pub(super) fn consolidate(&mut self) {
        self.timelines.consolidate();
        self.others.consolidate();
    }

    pub(super) fn change(&mut self, row: ViewRow, diff: isize) {
        self.emitted += 1;
        match row {
            ViewRow::Timeline(entry) => self.timelines.push(entry, diff),
            row => self.others.push(row, diff),
        }
    }
}

/// One worker's records: per epoch, `(index in the batch, record)`.
pub type Share = Vec<Vec<(usize, SourceRecord)>>;

/// Splits the batches into the shares of this process's workers: record `i` of a batch goes
/// to global worker `i % peers`; records of other processes' workers are dropped here.
pub fn shares(
    batches: Vec<Vec<SourceRecord>>,
    workers: usize,
    cluster: &ClusterConfig,
) -> Vec<Share> {
    let mut shares: Vec<Share> = (0..workers)
        .map(|_| Vec::with_capacity(batches.len()))
        .collect();
    for batch in batches {
        for (share, epoch) in shares.iter_mut().zip(split(batch, workers, cluster)) {
            share.push(epoch);
        }
    }
    shares
}

/// One batch split among this process's `workers`: record `i` goes to global worker
/// `i % peers` and keeps its index; records of other processes' workers are dropped.
pub(super) fn split(
    batch: Vec<SourceRecord>,
    workers: usize,
    cluster: &ClusterConfig,
) -> Vec<Vec<(usize, SourceRecord)>> {
    let peers = workers * cluster.processes;
    let first = cluster.process_id * workers;
    let mut split: Vec<Vec<(usize, SourceRecord)>> = (0..workers)
        .map(|_| Vec::with_capacity(batch.len() / peers + 1))
        .collect();
    for (i, record) in batch.into_iter().enumerate() {
        if let Some(local) = (i % peers).checked_sub(first).filter(|w| *w < workers) {
            split[local].push((i, record));
        }
    }
    split
}
