//! The in-memory serving store: every view's current rows in ordered maps (one per tenant),
//! replaced one whole closed epoch at a time under a single write lock, so readers always see
//! the state at an epoch boundary. The engine thread writes; the HTTP handlers read through
//! short read locks.

mod keys;
mod table;
mod tenants;

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime};

use pulso_events::retention::Retention;
use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TimelineEntry, TopicHealth,
    ViewRow, ViewSet,
};
use serde::{Deserialize, Serialize};

use crate::histogram::Histogram;

pub use keys::*;
pub use table::{Page, Table, SCAN_BUDGET};
pub use tenants::Tenants;

/// Every view's current rows and the epoch they reflect (read through [`ViewStore::read`]).
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
    /// `notification_rates`.
    pub notification_rates: Table<NotificationRates>,
    /// `notification_bounces`.
    pub notification_bounces: Table<NotificationBounces>,
    /// `order_metrics`.
    pub order_metrics: Table<OrderMetrics>,
    /// `order_cancellations`.
    pub order_cancellations: Table<OrderCancellations>,
    /// `inventory_levels`.
    pub inventory_levels: Table<InventoryLevels>,
    /// `case_backlog`.
    pub case_backlog: Table<CaseBacklog>,
    /// `sla_compliance`.
    pub sla_compliance: Table<SlaCompliance>,
    /// `open_case_sla`.
    pub open_case_sla: Table<OpenCaseSla>,
    /// The open cases, per status by ascending `due_at`.
    pub open_cases: Table<OpenCase>,
    /// `timelines`.
    pub timelines: Table<TimelineEntry>,
    /// Per-topic `pipeline_health` counters.
    pub pipeline_health: Table<TopicHealth>,
}

impl Tables {
    fn new(now: SystemTime, retention: Retention) -> Tables {
        Tables {
            epoch: None,
            as_of: None,
            watermark: None,
            retention,
            applied_at: now,
            notification_rates: Table::default(),
            notification_bounces: Table::default(),
            order_metrics: Table::default(),
            order_cancellations: Table::default(),
            inventory_levels: Table::default(),
            case_backlog: Table::default(),
            sla_compliance: Table::default(),
            open_case_sla: Table::default(),
            open_cases: Table::default(),
            timelines: Table::default(),
            pipeline_health: Table::default(),
        }
    }

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

    fn remove(&mut self, tenant: &str, row: &ViewRow) {
        match row {
            ViewRow::NotificationRates(r) => self.notification_rates.remove(tenant, r),
            ViewRow::NotificationBounces(r) => self.notification_bounces.remove(tenant, r),
            ViewRow::OrderMetrics(r) => self.order_metrics.remove(tenant, r),
            ViewRow::OrderCancellations(r) => self.order_cancellations.remove(tenant, r),
            ViewRow::InventoryLevels(r) => self.inventory_levels.remove(tenant, r),
            ViewRow::CaseBacklog(r) => self.case_backlog.remove(tenant, r),
            ViewRow::SlaCompliance(r) => self.sla_compliance.remove(tenant, r),
            ViewRow::OpenCaseSla(r) => self.open_case_sla.remove(tenant, r),
            ViewRow::OpenCase(r) => self.open_cases.remove(tenant, r),
            ViewRow::Timeline(r) => self.timelines.remove(tenant, r),
            ViewRow::TopicHealth(r) => self.pipeline_health.remove(tenant, r),
            ViewRow::AsOf(t) => {
                if self.as_of == Some(*t) {
                    self.as_of = None;
                }
            }
            // The watermark only grows: its old value is replaced by the insert.
            ViewRow::Watermark(_) => {}
        }
    }

    fn insert(&mut self, tenant: String, row: ViewRow) {
        let retention = self.retention;
        match row {
            ViewRow::NotificationRates(r) => {
                let due = retention.window_due(r.granularity, r.window_start);
                self.notification_rates.insert_expiring(tenant, r, due)
            }
            ViewRow::NotificationBounces(r) => {
                let due = retention.window_due(Granularity::Day, r.day);
                self.notification_bounces.insert_expiring(tenant, r, due)
            }
            ViewRow::OrderMetrics(r) => {
                let due = retention.window_due(r.granularity, r.window_start);
                self.order_metrics.insert_expiring(tenant, r, due)
            }
            ViewRow::OrderCancellations(r) => self.order_cancellations.insert(tenant, r),
            ViewRow::InventoryLevels(r) => self.inventory_levels.insert(tenant, r),
            ViewRow::CaseBacklog(r) => self.case_backlog.insert(tenant, r),
            ViewRow::SlaCompliance(r) => {
                let due = retention.window_due(Granularity::Day, r.day);
                self.sla_compliance.insert_expiring(tenant, r, due)
            }
            ViewRow::OpenCaseSla(r) => self.open_case_sla.insert(tenant, r),
            ViewRow::OpenCase(r) => self.open_cases.insert(tenant, r),
            ViewRow::Timeline(r) => {
                let due = retention.timeline_due(r.timestamp);
                self.timelines.insert_expiring(tenant, r, due)
            }
            ViewRow::TopicHealth(r) => self.pipeline_health.insert(tenant, r),
            ViewRow::AsOf(t) => self.as_of = Some(t),
            ViewRow::Watermark(w) => self.watermark = self.watermark.max(Some(w)),
        }
    }

    /// Removes the rows the watermark has expired (windowed rows, timeline entries) and
    /// returns them, for the sinks' history.
    fn expire(&mut self) -> Vec<ViewRow> {
        let Some(w) = self.watermark else {
            return Vec::new();
        };
        let mut expired: Vec<ViewRow> = Vec::new();
        expired.extend(
            self.notification_rates
                .expire(w)
                .into_iter()
                .map(ViewRow::NotificationRates),
        );
        expired.extend(
            self.notification_bounces
                .expire(w)
                .into_iter()
                .map(ViewRow::NotificationBounces),
        );
        expired.extend(
            self.order_metrics
                .expire(w)
                .into_iter()
                .map(ViewRow::OrderMetrics),
        );
        expired.extend(
            self.sla_compliance
                .expire(w)
                .into_iter()
                .map(ViewRow::SlaCompliance),
        );
        expired.extend(self.timelines.expire(w).into_iter().map(ViewRow::Timeline));
        expired
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

    /// The number of rows each view holds, by view name (for `/metrics`).
    pub fn row_counts(&self) -> [(&'static str, usize); 11] {
        [
            ("notification_rates", self.notification_rates.len()),
            ("notification_bounces", self.notification_bounces.len()),
            ("order_metrics", self.order_metrics.len()),
            ("order_cancellations", self.order_cancellations.len()),
            ("inventory_levels", self.inventory_levels.len()),
            ("case_backlog", self.case_backlog.len()),
            ("sla_compliance", self.sla_compliance.len()),
            ("open_case_sla", self.open_case_sla.len()),
            ("open_cases", self.open_cases.len()),
            ("timelines", self.timelines.len()),
            ("pipeline_health", self.pipeline_health.len()),
        ]
    }

    /// All current rows as a sorted [`ViewSet`].
    pub fn to_view_set(&self) -> ViewSet {
        fn all<R: Keyed>(t: &Table<R>) -> Vec<R> {
            t.rows().cloned().collect()
        }
        let mut set = ViewSet {
            as_of: self.as_of,
            notification_rates: all(&self.notification_rates),
            notification_bounces: all(&self.notification_bounces),
            order_metrics: all(&self.order_metrics),
            order_cancellations: all(&self.order_cancellations),
            inventory_levels: all(&self.inventory_levels),
            case_backlog: all(&self.case_backlog),
            sla_compliance: all(&self.sla_compliance),
            open_case_sla: all(&self.open_case_sla),
            open_cases: all(&self.open_cases),
            timelines: all(&self.timelines),
            pipeline_health: all(&self.pipeline_health),
        };
        set.sort();
        set
    }
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
        mut changes: Vec<(ViewRow, isize)>,
        now: SystemTime,
    ) -> Vec<ViewRow> {
        // Consolidate outside the lock: the write lock is held only for the map updates.
        changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut removed = Vec::new();
        let mut inserted = Vec::new();
        let mut iter = changes.into_iter().peekable();
        while let Some((row, mut diff)) = iter.next() {
            while let Some((_, d)) = iter.next_if(|(next, _)| *next == row) {
                diff += d;
            }
            // Each row's tenant is worked out here, outside the lock.
            match diff {
                0 => {}
                d if d > 0 => inserted.push((tenant_of(&row), row)),
                _ => removed.push((tenant_of(&row), row)),
            }
        }
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        for (tenant, row) in &removed {
            tables.remove(tenant, row);
        }
        for (tenant, row) in inserted {
            tables.insert(tenant, row);
        }
        let expired = tables.expire();
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
