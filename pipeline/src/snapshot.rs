//! The live run's Parquet view snapshots, written straight from the serving store: each
//! view's rows are sorted by reference and encoded a chunk at a time under the store's read
//! lock, so a snapshot costs a pointer per row plus one chunk, never a copy of the views.
//! Only the consumer thread applies epochs, so the store cannot change while it writes.
//!
//! Each view keeps its own schedule: it is rewritten at most every snapshot interval, and a
//! view whose last write took `d` waits at least [`COST_FACTOR`]` × d` before the next one.
//! So small views stay as fresh as the interval while a large one (the retained timelines)
//! costs the consumer thread at most about 1/[`COST_FACTOR`] of its time; the last snapshot
//! of a run writes every view.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pulso_events::registry::{visit_views, View, ViewVisitor};
use pulso_events::time::Micros;
use pulso_queries::store::{Keyed, Table, Tables};
use pulso_queries::ViewStore;
use pulso_sinks::parquet::{prepare_views_dir, write_view, ViewRows};
use pulso_sinks::SinkError;

/// A view waits at least this many times its last write's duration before the next one.
pub const COST_FACTOR: u32 = 20;

/// The Parquet view snapshots of a live run, each view on its own schedule.
#[derive(Debug)]
pub struct Snapshots {
    dir: PathBuf,
    interval: Duration,
    /// When each view written so far is next due.
    due: HashMap<&'static str, Instant>,
}

impl Snapshots {
    /// Snapshots of `dir/<view>.parquet`, each view rewritten at most every `interval`:
    /// creates `dir` and removes what interrupted writes of an earlier run left in it.
    pub fn new(dir: &Path, interval: Duration) -> Result<Self, SinkError> {
        prepare_views_dir(dir)?;
        Ok(Snapshots {
            dir: dir.to_owned(),
            interval,
            due: HashMap::new(),
        })
    }

    /// The least time between two snapshots of a view.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Rewrites the views that are due (every view the first time).
    pub fn write_due(&mut self, store: &ViewStore) -> Result<(), SinkError> {
        self.write(store, false)
    }

    /// Rewrites every view (the last snapshot of a run).
    pub fn write_all(&mut self, store: &ViewStore) -> Result<(), SinkError> {
        self.write(store, true)
    }

    fn write(&mut self, store: &ViewStore, all: bool) -> Result<(), SinkError> {
        /// Writes each view of the registry in turn, stopping at the first failure.
        struct EachView<'a> {
            snapshots: &'a mut Snapshots,
            tables: &'a Tables,
            all: bool,
            result: Result<(), SinkError>,
        }
        impl ViewVisitor for EachView<'_> {
            fn visit<V: View>(&mut self) {
                if self.result.is_ok() {
                    let (table, as_of) = (self.tables.table::<V>(), self.tables.as_of);
                    self.result = self.snapshots.view(table, as_of, self.all);
                }
            }
        }
        let tables = store.read();
        let mut each = EachView {
            snapshots: self,
            tables: &tables,
            all,
            result: Ok(()),
        };
        visit_views(&mut each);
        each.result
    }

    /// Writes `table`'s rows in row order, replaced atomically, if it is due or `all`.
    fn view<R: Keyed + Ord + ViewRows>(
        &mut self,
        table: &Table<R>,
        as_of: Option<Micros>,
        all: bool,
    ) -> Result<(), SinkError> {
        let started = Instant::now();
        if !all && self.due.get(R::NAME).is_some_and(|due| started < *due) {
            return Ok(());
        }
        let mut rows: Vec<&R> = table.rows().collect();
        rows.sort_unstable();
        write_view::<R>(&self.dir, &rows, as_of)?;
        let wait = self.interval.max(started.elapsed() * COST_FACTOR);
        self.due.insert(R::NAME, started + wait);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulso_events::views::{TopicHealth, ViewRow};

    fn modified(dir: &Path, view: &str) -> std::time::SystemTime {
        std::fs::metadata(dir.join(format!("{view}.parquet")))
            .unwrap()
            .modified()
            .unwrap()
    }

    #[test]
    fn a_view_is_rewritten_when_due_and_every_view_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = ViewStore::new();
        let mut snapshots = Snapshots::new(dir.path(), Duration::from_secs(3600)).unwrap();
        snapshots.write_due(&store).unwrap();
        let first = modified(dir.path(), "pipeline_health");
        let row = TopicHealth {
            topic: "orders.events".into(),
            records: 1,
            ..TopicHealth::default()
        };
        store.apply_epoch(0, vec![(ViewRow::TopicHealth(row), 1)]);
        std::thread::sleep(Duration::from_millis(20));
        // Not due for an hour: the file keeps the empty view.
        snapshots.write_due(&store).unwrap();
        assert_eq!(modified(dir.path(), "pipeline_health"), first);
        let read = pulso_sinks::parquet::read_views(dir.path()).unwrap();
        assert!(read.pipeline_health.is_empty());
        // The last snapshot writes every view.
        snapshots.write_all(&store).unwrap();
        let read = pulso_sinks::parquet::read_views(dir.path()).unwrap();
        assert_eq!(read.pipeline_health.len(), 1);
    }
}
