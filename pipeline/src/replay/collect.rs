//! What the workers of a replay collect (their view changes, consolidated as they grow, and
//! the rejected records), and how a batch is split into the workers' shares.

use std::cmp::Ordering;

use differential_dataflow::consolidation::consolidate;
use pulso_dataflows::retention::Retention;
use pulso_events::time::Micros;
use pulso_events::views::*;
use pulso_events::{Rejection, SourceRecord};

use super::expired::{with_expired, ExpiredSpill, Runs};
use super::spill::{SpillConfig, TimelineSpill};
use crate::cluster::ClusterConfig;
use crate::error::DataflowError;

/// Changes of one kind that a worker collected, consolidated whenever their buffer is full
/// before it grows, and then only to twice what consolidation left: a worker holds at most
/// about twice its final rows. A view's rows that have expired leave the buffer for the
/// worker's spill file when it is consolidated (see [`ExpiredSpill`]).
pub(super) struct Changes<T> {
    changes: Vec<(T, isize)>,
    /// Where the view's expired rows went.
    expired: Runs,
}

impl<T> Default for Changes<T> {
    fn default() -> Self {
        Changes {
            changes: Vec::new(),
            expired: Runs::new(),
        }
    }
}

/// The least room of a worker's buffer of changes (each view has its own buffer, and most
/// views have a few hundred rows or fewer).
const LEAST_ROOM: usize = 1 << 10;

impl<T: Ord> Changes<T> {
    /// Adds a change; a full buffer is consolidated, handed to `full` (which may take rows
    /// out of it), and given room for at least `least_room` changes.
    fn push_with(
        &mut self,
        row: T,
        diff: isize,
        least_room: usize,
        full: impl FnOnce(&mut Vec<(T, isize)>, &mut Runs),
    ) {
        if self.changes.len() == self.changes.capacity() {
            consolidate(&mut self.changes);
            full(&mut self.changes, &mut self.expired);
            let room = (2 * self.changes.len()).max(least_room);
            if self.changes.capacity() > 2 * room {
                self.changes.shrink_to(room);
            }
            self.changes.reserve_exact(room - self.changes.len());
        }
        self.changes.push((row, diff));
    }

    #[cfg(test)]
    pub(super) fn push(&mut self, row: T, diff: isize) {
        self.push_with(row, diff, LEAST_ROOM, |_, _| ());
    }

    /// Sorts and consolidates the changes (a worker does it before handing them over, so
    /// that [`into_rows`] merges sorted runs).
    pub(super) fn consolidate(&mut self) {
        consolidate(&mut self.changes);
    }
}

/// The rows present at the end of the workers' consolidated changes ([`Changes::consolidate`]),
/// sorted; an error names a row present other than once. The workers' sorted runs are merged,
/// not sorted again.
fn into_rows<T: Ord>(runs: Vec<Changes<T>>) -> Result<Vec<T>, (T, isize)> {
    let mut changes = runs
        .into_iter()
        .map(|run| run.changes)
        .reduce(merge)
        .unwrap_or_default();
    if let Some(index) = changes.iter().position(|(_, count)| *count != 1) {
        return Err(changes.swap_remove(index));
    }
    // `(row, 1)` to `row` reuses the allocation: the rows are not held twice.
    Ok(changes.into_iter().map(|(row, _)| row).collect())
}

/// Two runs of changes, each sorted with distinct rows, merged into one: the diffs of a row in
/// both are added, and the row dropped if they cancel.
fn merge<T: Ord>(a: Vec<(T, isize)>, b: Vec<(T, isize)>) -> Vec<(T, isize)> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some((x, _)), Some((y, _))) = (a.peek(), b.peek()) {
        match x.cmp(y) {
            Ordering::Less => merged.extend(a.next()),
            Ordering::Greater => merged.extend(b.next()),
            Ordering::Equal => {
                let ((row, m), (_, n)) = (a.next().expect("peeked"), b.next().expect("peeked"));
                if m + n != 0 {
                    merged.push((row, m + n));
                }
            }
        }
    }
    merged.extend(a);
    merged.extend(b);
    merged
}

/// Generates [`ViewChanges`] and [`into_views`] from the registry's list of views.
macro_rules! view_changes {
    ($($ty:ident $field:ident $variant:ident;)*) => {
        /// A worker's view changes, one buffer per view holding that view's own row type: a
        /// [`ViewRow`] takes the room of its largest variant (176 bytes), most rows far less.
        /// Expired rows leave for the worker's spill file as the buffers fill.
        pub(super) struct ViewChanges {
            $($field: Changes<$ty>,)*
            as_of: Changes<Micros>,
            watermark: Changes<Micros>,
            expired: ExpiredSpill,
            least_room: usize,
        }

        impl ViewChanges {
            /// No changes yet; expired rows (as `retention` says) spill to `spill.dir`, and no
            /// buffer holds fewer than `spill.rows` changes (at most [`LEAST_ROOM`]) when it
            /// fills.
            pub(super) fn new(spill: &SpillConfig, retention: Retention) -> Self {
                ViewChanges {
                    $($field: Changes::default(),)*
                    as_of: Changes::default(),
                    watermark: Changes::default(),
                    expired: ExpiredSpill::new(spill.dir.clone(), retention),
                    least_room: spill.rows.clamp(1, LEAST_ROOM),
                }
            }

            pub(super) fn push(&mut self, row: ViewRow, diff: isize) {
                let (room, spill) = (self.least_room, &mut self.expired);
                match row {
                    $(ViewRow::$variant(row) => self.$field.push_with(row, diff, room, |changes, runs| {
                        spill.take(changes, runs)
                    }),)*
                    ViewRow::AsOf(t) => self.as_of.push_with(t, diff, room, |_, _| ()),
                    ViewRow::Watermark(t) => self.watermark.push_with(t, diff, room, |_, _| ()),
                }
            }

            /// The worker has completed the epoch of watermark `w` (see
            /// [`ExpiredSpill::advance`]).
            pub(super) fn advance(&mut self, w: Option<Micros>) {
                self.expired.advance(w);
            }

            /// Sorts and consolidates every buffer (see [`Changes::consolidate`]).
            pub(super) fn consolidate(&mut self) {
                $(self.$field.consolidate();)*
                self.as_of.consolidate();
                self.watermark.consolidate();
            }
        }

        /// The views present at the end of the workers' consolidated changes and spilled
        /// expired rows, each view's rows sorted, and the watermark. A row present other than
        /// once is a [`DataflowError::Multiplicity`] (the first in the order of [`ViewRow`]);
        /// a spill file that failed, a [`DataflowError::Spill`].
        pub(super) fn into_views(
            mut runs: Vec<ViewChanges>,
        ) -> Result<(ViewSet, Option<Micros>), DataflowError> {
            if let Some(error) = runs.iter_mut().find_map(|run| run.expired.failure()) {
                return Err(error);
            }
            let multiplicity = |row: ViewRow, n| DataflowError::Multiplicity(Box::new(row), n);
            let mut views = ViewSet::default();
            $(
                let mut expired = Vec::new();
                for run in &runs {
                    run.expired.read(&run.$field.expired, &mut expired)?;
                }
                let changes = runs.iter_mut().map(|run| std::mem::take(&mut run.$field));
                let rows = into_rows(changes.collect())
                    .map_err(|(row, n)| multiplicity(ViewRow::$variant(row), n))?;
                views.$field = with_expired(rows, expired)
                    .map_err(|(row, n)| multiplicity(ViewRow::$variant(row), n))?;
            )*
            let as_of = runs.iter_mut().map(|run| std::mem::take(&mut run.as_of));
            views.as_of = into_rows(as_of.collect())
                .map_err(|(t, n)| multiplicity(ViewRow::AsOf(t), n))?
                .pop();
            let watermark = runs.iter_mut().map(|run| std::mem::take(&mut run.watermark));
            let watermark = into_rows(watermark.collect())
                .map_err(|(t, n)| multiplicity(ViewRow::Watermark(t), n))?
                .first()
                .copied();
            Ok((views, watermark))
        }
    };
}

pulso_events::for_each_view!(view_changes);

/// What one worker collected: its view changes (timelines apart, spilled as they come: they
/// are most of the rows) and, on worker 0, the rejected records.
pub(super) struct Collected {
    pub(super) timelines: TimelineSpill,
    pub(super) others: ViewChanges,
    pub(super) emitted: u64,
    pub(super) rejected: Vec<(usize, usize, SourceRecord, Rejection)>,
}

impl Collected {
    /// Nothing collected yet; timeline changes and expired rows (as `retention` says)
    /// spill as `spill` says.
    pub(super) fn new(spill: SpillConfig, retention: Retention) -> Self {
        Collected {
            others: ViewChanges::new(&spill, retention),
            timelines: TimelineSpill::new(spill),
            emitted: 0,
            rejected: Vec::new(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(changes: &[(u32, isize)]) -> Changes<u32> {
        let mut run = Changes::default();
        for &(row, diff) in changes {
            run.push(row, diff);
        }
        run.consolidate();
        run
    }

    #[test]
    fn workers_runs_merge_into_the_rows_present() {
        // Row 2 leaves on one worker and comes back on the other; row 4 is retracted there.
        let first = run(&[(5, 1), (1, 1), (2, -1), (4, 1), (4, 1), (4, -1)]);
        let second = run(&[(3, 1), (2, 1), (2, 1), (4, -1), (6, 1)]);
        assert_eq!(into_rows(vec![first, second]), Ok(vec![1, 2, 3, 5, 6]));
        assert_eq!(into_rows::<u32>(vec![]), Ok(vec![]));
    }

    fn backlog(dependencia_id: i64, cases: i64) -> ViewRow {
        ViewRow::CaseBacklog(CaseBacklog {
            dependencia_id,
            estado: "ABIERTO".into(),
            cases,
        })
    }

    #[test]
    fn workers_view_changes_become_sorted_views_and_the_watermark() {
        let mut first = ViewChanges::new(&SpillConfig::default(), Retention::OFF);
        let mut second = ViewChanges::new(&SpillConfig::default(), Retention::OFF);
        // A backlog row replaced on one worker, another row moved between workers.
        for (row, diff) in [(backlog(2, 1), 1), (backlog(2, 1), -1), (backlog(2, 3), 1)] {
            first.push(row, diff);
        }
        first.push(backlog(1, 5), -1);
        second.push(backlog(1, 5), 1);
        second.push(backlog(1, 4), 1);
        first.push(ViewRow::Watermark(10), 1);
        first.push(ViewRow::Watermark(10), -1);
        first.push(ViewRow::Watermark(20), 1);
        second.push(ViewRow::AsOf(7), 1);
        first.consolidate();
        second.consolidate();
        let (views, watermark) = into_views(vec![first, second]).expect("rows present once");
        assert_eq!(watermark, Some(20));
        assert_eq!(views.as_of, Some(7));
        let rows: Vec<ViewRow> = views.into_rows().collect();
        assert_eq!(rows, vec![backlog(1, 4), backlog(2, 3), ViewRow::AsOf(7)]);

        let mut twice = ViewChanges::new(&SpillConfig::default(), Retention::OFF);
        twice.push(backlog(1, 4), 2);
        twice.consolidate();
        let error = into_views(vec![twice]).map(|_| ()).unwrap_err();
        assert!(
            matches!(error, DataflowError::Multiplicity(ref row, 2) if **row == backlog(1, 4)),
            "{error:?}"
        );
    }

    #[test]
    fn a_row_present_twice_is_an_error() {
        let first = run(&[(1, 1), (2, 1)]);
        let second = run(&[(2, 1), (3, 1)]);
        assert_eq!(into_rows(vec![first, second]), Err((2, 2)));
    }
}
