//! What the workers of a replay collect (their view changes, consolidated as they grow, and
//! the rejected records), and how a batch is split into the workers' shares.

use std::fs::File;
use std::hash::Hash;

use hashbrown::hash_map::{Entry, HashMap};

use pulso_dataflows::consolidation::consolidate;
use pulso_events::time::Micros;
use pulso_events::views::*;
use pulso_events::{Rejection, SourceRecord};
use serde::de::DeserializeOwned;

use super::spill::{SpillConfig, TimelineSpill};
use super::view_spill::{merge_changes, MergeError, Part, Runs, ViewSpill};
use crate::cluster::ClusterConfig;
use crate::error::DataflowError;
use crate::joined;

/// Changes of one kind that a worker collected, summed per row as they come (a row whose
/// changes cancel leaves the table): the table holds the rows present, not the churn that led
/// to them, so a view whose rows are re-emitted at every epoch (a window's count) stays in
/// memory as long as its rows fit. Once the table holds more than half of
/// a buffer's greatest room, it is sorted and written out to the worker's spill file (see
/// [`ViewSpill`]): a worker holds a bounded table per view.
pub(super) struct Changes<T> {
    live: HashMap<T, isize>,
    /// The changes of `live` sorted by row, once [`Changes::consolidate`] took them.
    sorted: Vec<(T, isize)>,
    /// The runs of the view's changes written out.
    runs: Runs,
}

impl<T> Default for Changes<T> {
    fn default() -> Self {
        Changes {
            live: HashMap::new(),
            sorted: Vec::new(),
            runs: Runs::new(),
        }
    }
}

/// The greatest room of a worker's table of one view's changes, in bytes of its changes
/// (their texts apart); the table is written out at half of it. Room for a view's live rows
/// lets churn cancel in memory.
const MOST_BYTES: usize = 8 << 20;

/// The room of a buffer of changes: at most `most` changes (when its rows are more than half
/// of `most`, they are written out).
#[derive(Clone, Copy, Debug)]
struct Room {
    most: usize,
}

impl Room {
    /// The room of a table of `T` changes when the spill writes runs of `rows` changes.
    fn of<T>(rows: usize) -> Room {
        Room::within::<T>(MOST_BYTES, rows)
    }

    /// At most `bytes` of changes, and at most `changes` of them.
    fn within<T>(bytes: usize, changes: usize) -> Room {
        let most = (bytes / std::mem::size_of::<(T, isize)>().max(1)).clamp(1, changes.max(1));
        Room { most }
    }
}

impl<T: Ord + Hash> Changes<T> {
    /// Adds a change to its row's sum. When more than half of `room.most` rows are held, they
    /// are handed to `full`, sorted (which may take them out: what it leaves stays held).
    fn push_with(
        &mut self,
        row: T,
        diff: isize,
        room: Room,
        full: impl FnOnce(&mut Vec<(T, isize)>, &mut Runs),
    ) {
        match self.live.entry(row) {
            Entry::Occupied(mut sum) => {
                *sum.get_mut() += diff;
                if *sum.get() == 0 {
                    sum.remove();
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(diff);
            }
        }
        if self.live.len() > room.most / 2 {
            let mut changes = sorted(&mut self.live);
            full(&mut changes, &mut self.runs);
            self.live.extend(changes);
        }
    }

    #[cfg(test)]
    pub(super) fn push(&mut self, row: T, diff: isize) {
        self.push_with(row, diff, Room::of::<T>(usize::MAX), |_, _| ());
    }

    /// Sorts the changes held by row (a worker does it before handing them over, so that
    /// [`merge_changes`] merges sorted runs).
    pub(super) fn consolidate(&mut self) {
        self.sorted.extend(self.live.drain());
        consolidate(&mut self.sorted);
    }

    /// The changes of a worker's file that [`merge_changes`] takes: `file`, the runs written
    /// to it, and the changes still held, sorted.
    fn into_part(mut self, file: Option<&File>) -> Part<'_, T> {
        self.consolidate();
        (file, self.runs, self.sorted)
    }
}

/// The summed changes of `live`, taken out and sorted by row.
fn sorted<T: Ord + Hash>(live: &mut HashMap<T, isize>) -> Vec<(T, isize)> {
    let mut changes: Vec<(T, isize)> = live.drain().collect();
    changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    changes
}

/// The rows present at the end of the workers' changes of one kind, sorted, or why not:
/// `row` names a row present other than once.
fn rows_of<T: Ord + Hash + DeserializeOwned>(
    parts: Vec<Part<'_, T>>,
    row: impl FnOnce(T) -> ViewRow,
) -> Result<Vec<T>, DataflowError> {
    merge_changes(parts).map_err(|error| match error {
        MergeError::Spill(e) => DataflowError::Spill(e),
        MergeError::Multiplicity(t, n) => DataflowError::Multiplicity(Box::new(row(t)), n),
    })
}

/// Generates [`ViewChanges`] and [`into_views`] from the registry's list of views.
macro_rules! view_changes {
    ($($ty:ident $field:ident $variant:ident;)*) => {
        /// A worker's view changes, one buffer per view holding that view's own row type: a
        /// [`ViewRow`] takes the room of its largest variant (176 bytes), most rows far less.
        /// A table whose rows outgrow its room is written to the worker's spill file.
        pub(super) struct ViewChanges {
            $($field: Changes<$ty>,)*
            as_of: Changes<Micros>,
            watermark: Changes<Micros>,
            spill: ViewSpill,
            /// Changes in a spilled run, at most.
            rows: usize,
        }

        impl ViewChanges {
            /// No changes yet; full tables spill to `spill.dir`, and no table holds more than
            /// half of `spill.rows` rows.
            pub(super) fn new(spill: &SpillConfig) -> Self {
                ViewChanges {
                    $($field: Changes::default(),)*
                    as_of: Changes::default(),
                    watermark: Changes::default(),
                    spill: ViewSpill::new(spill.dir.clone()),
                    rows: spill.rows,
                }
            }

            pub(super) fn push(&mut self, row: ViewRow, diff: isize) {
                let (rows, spill) = (self.rows, &mut self.spill);
                match row {
                    $(ViewRow::$variant(row) => {
                        let room = Room::of::<$ty>(rows);
                        self.$field.push_with(row, diff, room, |changes, runs| {
                            spill.write(changes, runs)
                        })
                    })*
                    ViewRow::AsOf(t) => self.as_of.push_with(t, diff, Room::of::<Micros>(rows), |_, _| ()),
                    ViewRow::Watermark(t) => {
                        self.watermark.push_with(t, diff, Room::of::<Micros>(rows), |_, _| ())
                    }
                }
            }

            /// Sorts and consolidates every buffer (see [`Changes::consolidate`]).
            pub(super) fn consolidate(&mut self) {
                $(self.$field.consolidate();)*
                self.as_of.consolidate();
                self.watermark.consolidate();
            }
        }

        /// The views present at the end of the workers' consolidated changes and spilled
        /// runs, each view's rows sorted, and the watermark. A row present other than once is
        /// a [`DataflowError::Multiplicity`] (the first in the order of [`ViewRow`]); a spill
        /// file that failed, a [`DataflowError::Spill`].
        pub(super) fn into_views(
            mut runs: Vec<ViewChanges>,
        ) -> Result<(ViewSet, Option<Micros>), DataflowError> {
            if let Some(error) = runs.iter_mut().find_map(|run| run.spill.failure()) {
                return Err(error);
            }
            $(
                let $field: Vec<Changes<$ty>> =
                    runs.iter_mut().map(|run| std::mem::take(&mut run.$field)).collect();
            )*
            let files: Vec<Option<&File>> = runs.iter().map(|run| run.spill.file()).collect();
            let files = &files;
            // Each view's changes are merged on a thread of their own: the merges are
            // independent, and a replay's last serial step.
            let mut views = ViewSet::default();
            std::thread::scope(|scope| -> Result<(), DataflowError> {
                $(
                    let $field = scope.spawn(move || {
                        let parts = $field.into_iter().zip(files).map(|(c, f)| c.into_part(*f));
                        rows_of(parts.collect(), ViewRow::$variant)
                    });
                )*
                $(views.$field = joined($field)?;)*
                Ok(())
            })?;
            let as_of = runs.iter_mut().map(|run| std::mem::take(&mut run.as_of).into_part(None));
            views.as_of = rows_of(as_of.collect(), ViewRow::AsOf)?.pop();
            let watermark = runs
                .iter_mut()
                .map(|run| std::mem::take(&mut run.watermark).into_part(None));
            let watermark = rows_of(watermark.collect(), ViewRow::Watermark)?.first().copied();
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
    /// Nothing collected yet; timeline and view changes spill as `spill` says.
    pub(super) fn new(spill: SpillConfig) -> Self {
        Collected {
            others: ViewChanges::new(&spill),
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

    /// The rows of workers' buffers of `u32` changes, or the sum of a row present otherwise.
    fn rows(buffers: Vec<Changes<u32>>) -> Result<Vec<u32>, isize> {
        let parts = buffers.into_iter().map(|b| b.into_part(None)).collect();
        merge_changes(parts).map_err(|error| match error {
            MergeError::Multiplicity(_, n) => n,
            MergeError::Spill(e) => panic!("no file: {e}"),
        })
    }

    #[test]
    fn workers_runs_merge_into_the_rows_present() {
        // Row 2 leaves on one worker and comes back on the other; row 4 is retracted there.
        let first = run(&[(5, 1), (1, 1), (2, -1), (4, 1), (4, 1), (4, -1)]);
        let second = run(&[(3, 1), (2, 1), (2, 1), (4, -1), (6, 1)]);
        assert_eq!(rows(vec![first, second]), Ok(vec![1, 2, 3, 5, 6]));
        assert_eq!(rows(vec![]), Ok(vec![]));
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
        let mut first = ViewChanges::new(&SpillConfig::default());
        let mut second = ViewChanges::new(&SpillConfig::default());
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

        let mut twice = ViewChanges::new(&SpillConfig::default());
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
        assert_eq!(rows(vec![first, second]), Err(2));
    }

    #[test]
    fn buffers_that_stay_full_spill_and_merge_back_to_the_same_views() {
        // Backlog rows of 40 departments, each replaced a few times, some moved away.
        let mut changes = Vec::new();
        for round in 0..4 {
            for department in 0..40 {
                if round > 0 {
                    changes.push((backlog(department, round - 1), -1));
                }
                changes.push((backlog(department, round), 1));
            }
        }
        changes.extend((0..40).step_by(3).map(|d| (backlog(d, 3), -1)));
        let views = |rows: usize| {
            let spill = SpillConfig { dir: None, rows };
            let mut workers = [ViewChanges::new(&spill), ViewChanges::new(&spill)];
            for (i, (row, diff)) in changes.iter().enumerate() {
                workers[i % 2].push(row.clone(), *diff);
            }
            let spilled = workers.iter().all(|w| w.spill.file().is_some());
            workers.iter_mut().for_each(ViewChanges::consolidate);
            let (views, _) = into_views(workers.into()).expect("rows present once");
            (spilled, views.into_rows().collect::<Vec<_>>())
        };
        let (spilled, small) = views(4);
        assert!(spilled, "buffers of 4 changes spill");
        let (spilled, whole) = views(SpillConfig::default().rows);
        assert!(!spilled, "160 changes fit the default buffer");
        assert_eq!(small, whole);
        assert_eq!(whole.len(), 40 - 14);
    }
}
