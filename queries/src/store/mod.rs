//! The in-memory serving store: every view's current rows in ordered maps (one per tenant),
//! replaced one whole closed epoch at a time under a single write lock, so readers always see
//! the state at an epoch boundary. The engine thread writes; the HTTP handlers read through
//! short read locks.

mod expiry;
mod keys;
mod table;
mod tenants;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime};

use keys::TenantNames;
use pulso_events::registry::{View, VIEW_COUNT};
use pulso_events::retention::Retention;
use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{EpochChanges, SlaStatus, TimelineEntry, ViewRow, ViewSet};
use serde::{Deserialize, Serialize};

use crate::histogram::Histogram;

pub use keys::*;
pub use table::{Page, Table, SCAN_BUDGET};
pub use tenants::Tenants;

/// Generates [`Tables`] (one [`Table`] per view of the registry) and its per-view methods.
macro_rules! tables {
    ($($ty:ident $field:ident $variant:ident;)*) => {
        /// Every view's current rows and the epoch they reflect (read through
        /// [`ViewStore::read`]).
        #[derive(Debug)]
        pub struct Tables {
            /// The last epoch applied, `None` before the first.
            pub epoch: Option<u64>,
            /// The instant `open_case_sla` is graded at.
            pub as_of: Option<Micros>,
            /// The greatest accepted event time (VIEWS.md, "Retention"); `None` before any.
            pub watermark: Option<Micros>,
            /// The horizons past which rows leave the store.
            pub retention: Retention,
            /// When the last epoch was applied (the store's creation before the first).
            pub applied_at: SystemTime,
            $(
                #[doc = concat!("`", stringify!($field), "`, by its serving key.")]
                pub $field: Table<pulso_events::views::$ty>,
            )*
        }

        impl Tables {
            fn new(now: SystemTime, retention: Retention) -> Tables {
                Tables {
                    epoch: None,
                    as_of: None,
                    watermark: None,
                    retention,
                    applied_at: now,
                    $($field: Table::default(),)*
                }
            }

            fn remove(&mut self, tenant: &str, row: &ViewRow) {
                match row {
                    $(ViewRow::$variant(r) => self.$field.remove(tenant, r),)*
                    ViewRow::AsOf(t) => {
                        if self.as_of == Some(*t) {
                            self.as_of = None;
                        }
                    }
                    // The watermark only grows: its old value is replaced by the insert.
                    ViewRow::Watermark(_) => {}
                }
            }

            /// Inserts `row`, returning the row of its key it replaced; a row that expires is
            /// filed under its due instant.
            fn insert(&mut self, tenant: Arc<str>, row: ViewRow) -> Option<ViewRow> {
                let retention = self.retention;
                match row {
                    $(ViewRow::$variant(r) => self.$field.insert(tenant, r, |r| {
                        due(r, &retention)
                    }).map(ViewRow::$variant),)*
                    ViewRow::AsOf(t) => self.as_of.replace(t).map(ViewRow::AsOf),
                    ViewRow::Watermark(w) => {
                        self.watermark = self.watermark.max(Some(w));
                        None
                    }
                }
            }

            /// Removes the rows the watermark has expired (windowed rows, timeline entries)
            /// and returns them, for the sinks' history.
            fn expire(&mut self) -> Vec<ViewRow> {
                let Some(w) = self.watermark else {
                    return Vec::new();
                };
                let mut expired: Vec<ViewRow> = Vec::new();
                $(
                    if <pulso_events::views::$ty as View>::EXPIRES {
                        expired.extend(self.$field.expire(w).into_iter().map(ViewRow::$variant));
                    }
                )*
                expired
            }

            /// The number of rows each view holds, by view name (for `/metrics`).
            pub fn row_counts(&self) -> [(&'static str, usize); VIEW_COUNT] {
                [$((<pulso_events::views::$ty as View>::NAME, self.$field.len()),)*]
            }

            /// All current rows as a sorted [`ViewSet`].
            pub fn to_view_set(&self) -> ViewSet {
                let mut set = ViewSet {
                    as_of: self.as_of,
                    $($field: self.$field.rows().cloned().collect(),)*
                };
                set.sort();
                set
            }

            /// The table of view `V`.
            pub fn table<V: View>(&self) -> &Table<V> {
                $(
                    if let Some(table) = (&self.$field as &dyn Any).downcast_ref::<Table<V>>() {
                        return table;
                    }
                )*
                unreachable!("every view of the registry has a table")
            }
        }
    };
}

pulso_events::for_each_view!(tables);

impl Tables {
    /// Open cases `BREACHED` per department, from `open_case_sla` (departments with none
    /// left out).
    pub fn breached_by_department(&self) -> BTreeMap<i64, i64> {
        let mut breached = BTreeMap::new();
        for row in self.open_case_sla.rows() {
            if row.status == SlaStatus::Breached && row.cases > 0 {
                *breached.entry(row.dependencia_id).or_insert(0) += row.cases;
            }
        }
        breached
    }

    /// Seconds since the views last caught up (since the last applied epoch).
    pub fn freshness_seconds(&self, now: SystemTime) -> f64 {
        now.duration_since(self.applied_at)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
    }

    /// The earliest `window_start` of `granularity` rows still held (`None`: all are): a
    /// window is held while it ends after `W - windows.<granularity>`.
    pub fn retained_windows_from(&self, granularity: Granularity) -> Option<Micros> {
        let cutoff = self
            .retention
            .windows
            .of(granularity)
            .cutoff(self.watermark)?;
        let size = granularity.micros();
        Some(
            granularity
                .floor(cutoff.saturating_sub(size))
                .saturating_add(size),
        )
    }

    /// The earliest timeline entry time still held (`None`: all are).
    pub fn retained_timelines_from(&self) -> Option<Micros> {
        self.retention.timelines.cutoff(self.watermark)
    }
}

/// The removals of `removed` (sorted by row, as an epoch's consolidated changes are) that the
/// inserts before them did not already do: `displaced` holds the rows the inserts replaced, in
/// insertion order. For a view whose key fields come first in its row order (most views: a
/// window's key, then its totals) a replaced row comes in the order of the row that replaced
/// it, which is the order of `removed`, so one merge pass finds it; a displaced row met out of
/// order is passed over and its removal done as before (taking out only the row it names, a
/// removal of a replaced row changes nothing).
fn skip_displaced<'r, R: std::borrow::Borrow<ViewRow>>(
    removed: &'r [(Arc<str>, R)],
    displaced: &'r [ViewRow],
) -> impl Iterator<Item = (&'r str, &'r ViewRow)> {
    let mut displaced = displaced.iter().peekable();
    removed.iter().filter_map(move |(tenant, row)| {
        let row = row.borrow();
        while displaced.next_if(|old| *old < row).is_some() {}
        match displaced.next_if(|old| *old == row) {
            Some(_) => None,
            None => Some((&**tenant, row)),
        }
    })
}

/// The range of the items of `items` that `pick` picks, which are one run (`0..0` if none).
fn run_of<T>(items: &[T], pick: impl Fn(&T) -> bool) -> std::ops::Range<usize> {
    match items.iter().position(&pick) {
        Some(start) => start..start + items[start..].iter().take_while(|i| pick(i)).count(),
        None => 0..0,
    }
}

/// When `row` leaves the store under `retention` (`None`: never).
fn due<V: View>(row: &V, retention: &Retention) -> Option<i64> {
    row.expiry().and_then(|e| e.due(retention))
}

/// Applies inserts, then the removals the inserts did not already do (`removed`: runs of the
/// epoch's sorted removals), then the expiry of the epoch's watermark, adding the expired rows
/// to `expired`.
fn apply_changes<R: std::borrow::Borrow<ViewRow>>(
    tables: &mut Tables,
    inserted: Vec<(Arc<str>, ViewRow)>,
    removed: &[&[(Arc<str>, R)]],
    expired: &mut Vec<ViewRow>,
) {
    // Inserts first: a row that replaces another of its key (a window's new totals) then
    // takes its place in one step, and the old row's removal is already done.
    let mut displaced = Vec::new();
    for (tenant, row) in inserted {
        displaced.extend(tables.insert(tenant, row));
    }
    for run in removed {
        for (tenant, row) in skip_displaced(run, &displaced) {
            tables.remove(tenant, row);
        }
    }
    expired.extend(tables.expire());
}

/// [`apply_changes`] of the timeline entries alone, on their table; returns the expired ones.
fn apply_timelines<R: std::borrow::Borrow<ViewRow>>(
    table: &mut Table<TimelineEntry>,
    inserted: Vec<(Arc<str>, ViewRow)>,
    removed: &[(Arc<str>, R)],
    (watermark, retention): (Option<Micros>, Retention),
) -> Vec<TimelineEntry> {
    for (tenant, row) in inserted {
        if let ViewRow::Timeline(entry) = row {
            // An entry that replaces one of its key (its tenant's attribution changed) leaves
            // the old one's removal below a no-op: a removal takes out only the row it names.
            table.insert(tenant, entry, |entry| due(entry, &retention));
        }
    }
    for (tenant, row) in removed {
        if let ViewRow::Timeline(entry) = row.borrow() {
            table.remove(tenant, entry);
        }
    }
    watermark.map_or_else(Vec::new, |w| table.expire(w))
}

/// Consumer progress of one Kafka partition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionStatus {
    /// Topic.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
    /// The next offset the engine will read.
    pub next_offset: i64,
    /// The partition's high watermark.
    pub high_watermark: i64,
    /// `max(0, high_watermark - next_offset)`.
    pub lag: i64,
}

/// What the engine reports about itself, beyond the views (set by the engine thread).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveStatus {
    /// Per-partition consumer progress.
    pub partitions: Vec<PartitionStatus>,
    /// Records held in the engine's DLQ topic and in `notifications.dlq`; `None` while the
    /// probe cannot tell (it failed: never reported as 0).
    pub dlq_size: Option<i64>,
    /// Dead-letter size probes that failed since start.
    pub dlq_probe_failures: u64,
    /// Events read per second, recently.
    pub events_per_second: f64,
    /// Duration of the last epoch, in milliseconds.
    pub epoch_duration_ms: f64,
    /// Epochs applied here but not yet written by the slowest sink.
    pub sink_lag_epochs: u64,
    /// Sink write failures since start.
    pub sink_failures: u64,
    /// How old the oldest record not yet reflected in a published epoch is, in seconds; 0
    /// when caught up (VIEWS.md, "Read-model lag").
    pub read_model_lag_seconds: f64,
    /// The processing time of every epoch since start (open to published).
    pub epoch_durations: Histogram,
    /// `sla.violados` read since start, per department (`dependencia_id`).
    pub sla_violations: BTreeMap<String, u64>,
}

/// The serving store, shared as `Arc<ViewStore>` by the engine (writer) and the API (readers).
#[derive(Debug)]
pub struct ViewStore {
    tables: RwLock<Tables>,
    live: RwLock<LiveStatus>,
    /// Why the engine cannot make progress durably, while it is so (`/health` answers 503).
    failure: RwLock<Option<String>>,
}

impl Default for ViewStore {
    fn default() -> Self {
        ViewStore::new()
    }
}

impl ViewStore {
    /// An empty store (no epoch applied yet) that keeps every row.
    pub fn new() -> ViewStore {
        ViewStore::with_retention(Retention::OFF)
    }

    /// An empty store whose windowed rows and timeline entries expire as `retention` says.
    pub fn with_retention(retention: Retention) -> ViewStore {
        ViewStore {
            tables: RwLock::new(Tables::new(SystemTime::now(), retention)),
            live: RwLock::new(LiveStatus::default()),
            failure: RwLock::new(None),
        }
    }

    /// Applies every change of one closed epoch at once: changes are consolidated per row,
    /// then rows with a negative net diff are removed and rows with a positive one inserted,
    /// all under one write lock, so readers see the state before or after, never between.
    /// Returns the rows that the epoch's watermark expired (retention), which leave the store.
    pub fn apply_epoch(&self, epoch: u64, changes: Vec<(ViewRow, isize)>) -> Vec<ViewRow> {
        self.apply_epoch_at(epoch, changes, SystemTime::now())
    }

    /// [`ViewStore::apply_epoch`] recording `now` as the time the views caught up.
    pub fn apply_epoch_at(
        &self,
        epoch: u64,
        changes: Vec<(ViewRow, isize)>,
        now: SystemTime,
    ) -> Vec<ViewRow> {
        // Consolidate outside the lock: the write lock is held only for the map updates.
        self.apply_changes_at(epoch, EpochChanges::consolidate(changes), now)
    }

    /// [`ViewStore::apply_epoch`] of changes already consolidated (the live consumer's, shared
    /// with ClickHouse): nothing is sorted again. The rows move into the store when this is
    /// the changes' only handle; otherwise the inserted rows are cloned (the removed ones only
    /// looked up).
    pub fn apply_changes(&self, epoch: u64, changes: EpochChanges) -> Vec<ViewRow> {
        self.apply_changes_at(epoch, changes, SystemTime::now())
    }

    /// [`ViewStore::apply_changes`] recording `now` as the time the views caught up.
    pub fn apply_changes_at(
        &self,
        epoch: u64,
        changes: EpochChanges,
        now: SystemTime,
    ) -> Vec<ViewRow> {
        // Each row's tenant is worked out here, outside the lock, and shared by the rows of
        // the epoch that name it.
        let (mut names, mut inserted) = (TenantNames::default(), Vec::with_capacity(changes.len()));
        match changes.try_into_vec() {
            Ok(owned) => {
                let mut removed = Vec::new();
                for (row, diff) in owned {
                    match diff > 0 {
                        true => inserted.push((names.of(&row), row)),
                        false => removed.push((names.of(&row), row)),
                    }
                }
                self.apply_rows(epoch, &removed, inserted, now)
            }
            Err(shared) => {
                let mut removed = Vec::new();
                for (row, diff) in shared.iter() {
                    match *diff > 0 {
                        true => inserted.push((names.of(row), row.clone())),
                        false => removed.push((names.of(row), row)),
                    }
                }
                self.apply_rows(epoch, &removed, inserted, now)
            }
        }
    }

    /// Inserts `inserted` and removes `removed` under one write lock, then expires what the
    /// epoch's watermark expires; returns the expired rows.
    fn apply_rows<R: std::borrow::Borrow<ViewRow> + Sync>(
        &self,
        epoch: u64,
        removed: &[(Arc<str>, R)],
        inserted: Vec<(Arc<str>, ViewRow)>,
        now: SystemTime,
    ) -> Vec<ViewRow> {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        // The timeline entries (a third of the work: each insert descends the largest table
        // at a random key) are applied on a thread of their own while this one applies the
        // other views: the tables are independent. Rows are sorted by view, so each view's
        // rows are one run of `inserted` and of `removed`.
        let is_timeline = |row: &ViewRow| matches!(row, ViewRow::Timeline(_));
        let entries = run_of(&inserted, |(_, row)| is_timeline(row));
        let removed_entries = run_of(removed, |(_, row)| is_timeline(row.borrow()));
        let mut expired = Vec::new();
        if entries.is_empty() && removed_entries.is_empty() {
            apply_changes(&mut tables, inserted, &[removed], &mut expired);
        } else {
            let mut inserted = inserted;
            let timeline_inserts: Vec<_> = inserted.drain(entries).collect();
            let (before, after) = (
                &removed[..removed_entries.start],
                &removed[removed_entries.end..],
            );
            let removed_entries = &removed[removed_entries];
            // The timelines expire against the epoch's watermark, which its rows may raise.
            let watermark = inserted
                .iter()
                .filter_map(|(_, row)| match row {
                    ViewRow::Watermark(w) => Some(*w),
                    _ => None,
                })
                .max()
                .max(tables.watermark);
            let retention = tables.retention;
            let mut timelines = std::mem::take(&mut tables.timelines);
            let expired_entries = std::thread::scope(|scope| {
                let entries = scope.spawn(|| {
                    apply_timelines(
                        &mut timelines,
                        timeline_inserts,
                        removed_entries,
                        (watermark, retention),
                    )
                });
                apply_changes(&mut tables, inserted, &[before, after], &mut expired);
                entries
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            tables.timelines = timelines;
            expired.extend(expired_entries.into_iter().map(ViewRow::Timeline));
        }
        tables.epoch = Some(epoch);
        tables.applied_at = now;
        drop(tables);
        tracing::trace!(
            epoch,
            removed = removed.len(),
            expired = expired.len(),
            "applied epoch to the store"
        );
        expired
    }

    /// A read lock on the current tables: hold it only while copying out a page.
    pub fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every current row, sorted (for Parquet snapshots and tests).
    pub fn snapshot(&self) -> ViewSet {
        self.read().to_view_set()
    }

    /// The last epoch applied.
    pub fn epoch(&self) -> Option<u64> {
        self.read().epoch
    }

    /// The instant open cases are currently graded at.
    pub fn as_of(&self) -> Option<Micros> {
        self.read().as_of
    }

    /// Seconds since the last applied epoch (since creation before the first).
    pub fn freshness_seconds(&self) -> f64 {
        self.read().freshness_seconds(SystemTime::now())
    }

    /// Sets (or, with `None`, clears) why the engine cannot make progress durably.
    pub fn set_failure(&self, failure: Option<String>) {
        *self.failure.write().unwrap_or_else(PoisonError::into_inner) = failure;
    }

    /// Why the engine cannot make progress durably, if it cannot.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the engine's live status.
    pub fn set_live(&self, status: LiveStatus) {
        *self.live.write().unwrap_or_else(PoisonError::into_inner) = status;
    }

    /// The engine's live status.
    pub fn live(&self) -> LiveStatus {
        self.live
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests;
