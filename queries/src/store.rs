//! The in-memory serving store: every view's current rows in ordered maps, replaced one whole
//! closed epoch at a time under a single write lock, so readers always see the state at an
//! epoch boundary. The engine thread writes; the HTTP handlers read through short read locks.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime};

use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TimelineEntry, TopicHealth,
    ViewRow, ViewSet,
};
use serde::{Deserialize, Serialize};

/// Key of `notification_rates`: `(granularity, window_start, tenant_id, channel, provider)`,
/// so one granularity's time range is one contiguous range of the map.
pub type NotificationRatesKey = (Granularity, Micros, String, String, String);
/// Key of `notification_bounces`: `(tenant_id, channel, day, bounce_type, reason)`.
pub type NotificationBouncesKey = (String, String, Micros, String, String);
/// Key of `order_metrics`: `(granularity, window_start, tenant_id)`.
pub type OrderMetricsKey = (Granularity, Micros, String);
/// Key of `order_cancellations`: `(tenant_id, reason)`.
pub type OrderCancellationsKey = (String, String);
/// Key of `inventory_levels`: `(tenant_id, sku)`.
pub type InventoryLevelsKey = (String, String);
/// Key of `case_backlog`: `(dependencia_id, estado)`.
pub type CaseBacklogKey = (i64, String);
/// Key of `sla_compliance`: `(dependencia_id, prioridad, day)`.
pub type SlaComplianceKey = (i64, Option<String>, Micros);
/// Key of `open_case_sla`: `(dependencia_id, prioridad, status)`.
pub type OpenCaseSlaKey = (i64, Option<String>, SlaStatus);
/// Key of the open-case listing: `(status, due_at, caso_id)`, most overdue first per status.
pub type OpenCaseKey = (SlaStatus, Micros, i64);
/// Key of `timelines`: `(entity_type, entity_id, timestamp, event_id, topic)`.
pub type TimelineKey = (String, String, Micros, String, String);
/// Key of the per-topic `pipeline_health` rows: the topic.
pub type TopicHealthKey = String;

/// A row type kept in a [`Table`], and how its key is derived from it.
pub trait Keyed: Clone + PartialEq {
    /// The map key: unique per row of a consistent view.
    type Key: Ord + Clone + Serialize + for<'de> Deserialize<'de>;
    /// This row's key.
    fn key(&self) -> Self::Key;
}

impl Keyed for NotificationRates {
    type Key = NotificationRatesKey;
    fn key(&self) -> Self::Key {
        (
            self.granularity,
            self.window_start,
            self.tenant_id.clone(),
            self.channel.clone(),
            self.provider.clone(),
        )
    }
}

impl Keyed for NotificationBounces {
    type Key = NotificationBouncesKey;
    fn key(&self) -> Self::Key {
        (
            self.tenant_id.clone(),
            self.channel.clone(),
            self.day,
            self.bounce_type.clone(),
            self.reason.clone(),
        )
    }
}

impl Keyed for OrderMetrics {
    type Key = OrderMetricsKey;
    fn key(&self) -> Self::Key {
        (self.granularity, self.window_start, self.tenant_id.clone())
    }
}

impl Keyed for OrderCancellations {
    type Key = OrderCancellationsKey;
    fn key(&self) -> Self::Key {
        (self.tenant_id.clone(), self.reason.clone())
    }
}

impl Keyed for InventoryLevels {
    type Key = InventoryLevelsKey;
    fn key(&self) -> Self::Key {
        (self.tenant_id.clone(), self.sku.clone())
    }
}

impl Keyed for CaseBacklog {
    type Key = CaseBacklogKey;
    fn key(&self) -> Self::Key {
        (self.dependencia_id, self.estado.clone())
    }
}

impl Keyed for SlaCompliance {
    type Key = SlaComplianceKey;
    fn key(&self) -> Self::Key {
        (self.dependencia_id, self.prioridad.clone(), self.day)
    }
}

impl Keyed for OpenCaseSla {
    type Key = OpenCaseSlaKey;
    fn key(&self) -> Self::Key {
        (self.dependencia_id, self.prioridad.clone(), self.status)
    }
}

impl Keyed for OpenCase {
    type Key = OpenCaseKey;
    fn key(&self) -> Self::Key {
        (self.status, self.due_at, self.caso_id)
    }
}

impl Keyed for TimelineEntry {
    type Key = TimelineKey;
    fn key(&self) -> Self::Key {
        (
            self.entity_type.clone(),
            self.entity_id.clone(),
            self.timestamp,
            self.event_id.clone(),
            self.topic.clone(),
        )
    }
}

impl Keyed for TopicHealth {
    type Key = TopicHealthKey;
    fn key(&self) -> Self::Key {
        self.topic.clone()
    }
}

/// The most rows one page scan examines (matching or not) before it returns.
pub const SCAN_BUDGET: usize = 100_000;

/// One page of a [`Table`] scan.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<K, R> {
    /// The rows of the page, in key order.
    pub rows: Vec<R>,
    /// The key of the last row when more matching rows follow (resume after it).
    pub next: Option<K>,
}

/// The rows of one view, ordered by key.
#[derive(Clone, Debug)]
pub struct Table<R: Keyed> {
    rows: BTreeMap<R::Key, R>,
}

impl<R: Keyed> Default for Table<R> {
    fn default() -> Self {
        Table {
            rows: BTreeMap::new(),
        }
    }
}

impl<R: Keyed> Table<R> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every row in key order.
    pub fn rows(&self) -> impl Iterator<Item = &R> {
        self.rows.values()
    }

    /// The row with `key`, if any.
    pub fn get(&self, key: &R::Key) -> Option<&R> {
        self.rows.get(key)
    }

    /// Scans rows in key order from `start`, stopping at the first key for which `within`
    /// is false, keeping the rows that pass `filter`, at most `limit` of them, and examining
    /// at most [`SCAN_BUDGET`] rows (so a reader never holds the lock for long). The page's
    /// `next` is set when matching rows may follow the page.
    pub fn page(
        &self,
        start: Bound<&R::Key>,
        within: impl Fn(&R::Key) -> bool,
        filter: impl Fn(&R) -> bool,
        limit: usize,
    ) -> Page<R::Key, R> {
        self.page_within_budget(start, within, filter, limit, SCAN_BUDGET)
    }

    /// [`Table::page`] examining at most `budget` rows: when the budget runs out first, the
    /// page may hold fewer than `limit` rows and `next` is the last key examined.
    pub fn page_within_budget(
        &self,
        start: Bound<&R::Key>,
        within: impl Fn(&R::Key) -> bool,
        filter: impl Fn(&R) -> bool,
        limit: usize,
        budget: usize,
    ) -> Page<R::Key, R> {
        let mut rows = Vec::new();
        let mut last_returned: Option<&R::Key> = None;
        let scan = self
            .rows
            .range::<R::Key, _>((start, Bound::Unbounded))
            .take_while(|(k, _)| within(k));
        for (examined, (key, row)) in scan.enumerate() {
            if examined == budget.max(1) {
                // Out of budget: resume after the last row examined.
                let last_examined = self
                    .rows
                    .range::<R::Key, _>((Bound::Unbounded, Bound::Excluded(key)))
                    .next_back()
                    .map(|(k, _)| k.clone());
                return Page {
                    rows,
                    next: last_examined,
                };
            }
            if !filter(row) {
                continue;
            }
            if rows.len() == limit {
                return Page {
                    rows,
                    next: last_returned.cloned(),
                };
            }
            rows.push(row.clone());
            last_returned = Some(key);
        }
        Page { rows, next: None }
    }

    fn remove(&mut self, row: &R) {
        let key = row.key();
        if self.rows.get(&key) == Some(row) {
            self.rows.remove(&key);
        }
    }

    fn insert(&mut self, row: R) {
        self.rows.insert(row.key(), row);
    }
}

/// Every view's current rows and the epoch they reflect (read through [`ViewStore::read`]).
#[derive(Debug)]
pub struct Tables {
    /// The last epoch applied, `None` before the first.
    pub epoch: Option<u64>,
    /// The instant `open_case_sla` is graded at.
    pub as_of: Option<Micros>,
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
    fn new(now: SystemTime) -> Tables {
        Tables {
            epoch: None,
            as_of: None,
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

    /// Seconds since the views last caught up (since the last applied epoch).
    pub fn freshness_seconds(&self, now: SystemTime) -> f64 {
        now.duration_since(self.applied_at)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
    }

    fn remove(&mut self, row: &ViewRow) {
        match row {
            ViewRow::NotificationRates(r) => self.notification_rates.remove(r),
            ViewRow::NotificationBounces(r) => self.notification_bounces.remove(r),
            ViewRow::OrderMetrics(r) => self.order_metrics.remove(r),
            ViewRow::OrderCancellations(r) => self.order_cancellations.remove(r),
            ViewRow::InventoryLevels(r) => self.inventory_levels.remove(r),
            ViewRow::CaseBacklog(r) => self.case_backlog.remove(r),
            ViewRow::SlaCompliance(r) => self.sla_compliance.remove(r),
            ViewRow::OpenCaseSla(r) => self.open_case_sla.remove(r),
            ViewRow::OpenCase(r) => self.open_cases.remove(r),
            ViewRow::Timeline(r) => self.timelines.remove(r),
            ViewRow::TopicHealth(r) => self.pipeline_health.remove(r),
            ViewRow::AsOf(t) => {
                if self.as_of == Some(*t) {
                    self.as_of = None;
                }
            }
        }
    }

    fn insert(&mut self, row: ViewRow) {
        match row {
            ViewRow::NotificationRates(r) => self.notification_rates.insert(r),
            ViewRow::NotificationBounces(r) => self.notification_bounces.insert(r),
            ViewRow::OrderMetrics(r) => self.order_metrics.insert(r),
            ViewRow::OrderCancellations(r) => self.order_cancellations.insert(r),
            ViewRow::InventoryLevels(r) => self.inventory_levels.insert(r),
            ViewRow::CaseBacklog(r) => self.case_backlog.insert(r),
            ViewRow::SlaCompliance(r) => self.sla_compliance.insert(r),
            ViewRow::OpenCaseSla(r) => self.open_case_sla.insert(r),
            ViewRow::OpenCase(r) => self.open_cases.insert(r),
            ViewRow::Timeline(r) => self.timelines.insert(r),
            ViewRow::TopicHealth(r) => self.pipeline_health.insert(r),
            ViewRow::AsOf(t) => self.as_of = Some(t),
        }
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
    /// Records held in the engine's DLQ topic and in `notifications.dlq`.
    pub dlq_size: i64,
    /// Events read per second, recently.
    pub events_per_second: f64,
    /// Duration of the last epoch, in milliseconds.
    pub epoch_duration_ms: f64,
    /// Epochs applied here but not yet written by the slowest sink.
    pub sink_lag_epochs: u64,
    /// Sink write failures since start.
    pub sink_failures: u64,
}

/// The serving store, shared as `Arc<ViewStore>` by the engine (writer) and the API (readers).
#[derive(Debug)]
pub struct ViewStore {
    tables: RwLock<Tables>,
    live: RwLock<LiveStatus>,
}

impl Default for ViewStore {
    fn default() -> Self {
        ViewStore::new()
    }
}

impl ViewStore {
    /// An empty store (no epoch applied yet).
    pub fn new() -> ViewStore {
        ViewStore {
            tables: RwLock::new(Tables::new(SystemTime::now())),
            live: RwLock::new(LiveStatus::default()),
        }
    }

    /// Applies every change of one closed epoch at once: changes are consolidated per row,
    /// then rows with a negative net diff are removed and rows with a positive one inserted,
    /// all under one write lock, so readers see the state before or after, never between.
    pub fn apply_epoch(&self, epoch: u64, changes: Vec<(ViewRow, isize)>) {
        self.apply_epoch_at(epoch, changes, SystemTime::now());
    }

    /// [`ViewStore::apply_epoch`] recording `now` as the time the views caught up.
    pub fn apply_epoch_at(&self, epoch: u64, mut changes: Vec<(ViewRow, isize)>, now: SystemTime) {
        // Consolidate outside the lock: the write lock is held only for the map updates.
        changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut removed = Vec::new();
        let mut inserted = Vec::new();
        let mut iter = changes.into_iter().peekable();
        while let Some((row, mut diff)) = iter.next() {
            while let Some((_, d)) = iter.next_if(|(next, _)| *next == row) {
                diff += d;
            }
            match diff {
                0 => {}
                d if d > 0 => inserted.push(row),
                _ => removed.push(row),
            }
        }
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        for row in &removed {
            tables.remove(row);
        }
        for row in inserted {
            tables.insert(row);
        }
        tables.epoch = Some(epoch);
        tables.applied_at = now;
        drop(tables);
        tracing::trace!(epoch, removed = removed.len(), "applied epoch to the store");
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
mod tests {
    use std::sync::Arc;

    use super::*;

    fn inventory(sku: &str, on_hand: i64) -> InventoryLevels {
        InventoryLevels {
            tenant_id: "t1".into(),
            sku: sku.into(),
            on_hand,
            reserved: 0,
            available: on_hand,
            insufficient_stock_events: 0,
        }
    }

    #[test]
    fn applies_inserts_updates_and_removals() {
        let store = ViewStore::new();
        assert_eq!(store.epoch(), None);
        store.apply_epoch(
            0,
            vec![
                (ViewRow::InventoryLevels(inventory("a", 1)), 1),
                (ViewRow::InventoryLevels(inventory("b", 2)), 1),
                (ViewRow::AsOf(10), 1),
            ],
        );
        assert_eq!(store.epoch(), Some(0));
        assert_eq!(store.as_of(), Some(10));
        // An update arrives as -old +new, in any order; a row inserted and retracted in the
        // same epoch never shows.
        store.apply_epoch(
            1,
            vec![
                (ViewRow::InventoryLevels(inventory("a", 5)), 1),
                (ViewRow::InventoryLevels(inventory("a", 1)), -1),
                (ViewRow::InventoryLevels(inventory("b", 2)), -1),
                (ViewRow::InventoryLevels(inventory("c", 3)), 1),
                (ViewRow::InventoryLevels(inventory("c", 3)), -1),
                (ViewRow::AsOf(20), 1),
                (ViewRow::AsOf(10), -1),
            ],
        );
        let set = store.snapshot();
        assert_eq!(set.inventory_levels, vec![inventory("a", 5)]);
        assert_eq!(set.as_of, Some(20));
        assert_eq!(store.epoch(), Some(1));
    }

    #[test]
    fn pages_resume_after_the_last_key() {
        let store = ViewStore::new();
        let rows = (0..10)
            .map(|i| (ViewRow::InventoryLevels(inventory(&format!("s{i}"), i)), 1))
            .collect();
        store.apply_epoch(0, rows);
        let tables = store.read();
        let mut seen = Vec::new();
        let mut cursor: Option<InventoryLevelsKey> = None;
        loop {
            let start = cursor.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            let page = tables.inventory_levels.page(start, |_| true, |_| true, 3);
            seen.extend(page.rows.iter().map(|r| r.sku.clone()));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let expected: Vec<String> = tables
            .inventory_levels
            .rows()
            .map(|r| r.sku.clone())
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(seen.len(), 10);
    }

    #[test]
    fn scans_stop_at_the_budget_and_resume() {
        let store = ViewStore::new();
        let rows = (0..20)
            .map(|i| {
                (
                    ViewRow::InventoryLevels(inventory(&format!("s{i:02}"), i)),
                    1,
                )
            })
            .collect();
        store.apply_epoch(0, rows);
        let tables = store.read();
        let table = &tables.inventory_levels;
        // Only every fifth row matches; a budget of 4 examines 4 rows per page.
        let matches = |r: &InventoryLevels| r.on_hand % 5 == 0;
        let mut seen = Vec::new();
        let mut cursor: Option<InventoryLevelsKey> = None;
        let mut pages = 0;
        loop {
            let start = cursor.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            let page = table.page_within_budget(start, |_| true, matches, 10, 4);
            assert!(page.rows.len() <= 1);
            seen.extend(page.rows.iter().map(|r| r.on_hand));
            pages += 1;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, vec![0, 5, 10, 15]);
        assert_eq!(pages, 5);
    }

    #[test]
    fn readers_see_whole_epochs_only() {
        let store = Arc::new(ViewStore::new());
        const SKUS: i64 = 200;
        const EPOCHS: i64 = 200;
        let writer = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for epoch in 0..EPOCHS {
                    let mut changes = Vec::new();
                    for s in 0..SKUS {
                        let sku = format!("sku-{s:03}");
                        if epoch > 0 {
                            changes
                                .push((ViewRow::InventoryLevels(inventory(&sku, epoch - 1)), -1));
                        }
                        changes.push((ViewRow::InventoryLevels(inventory(&sku, epoch)), 1));
                    }
                    store.apply_epoch(epoch as u64, changes);
                }
            })
        };
        let mut observed = 0;
        while !writer.is_finished() || observed == 0 {
            let (set, epoch) = {
                let tables = store.read();
                (tables.to_view_set(), tables.epoch)
            };
            if set.inventory_levels.is_empty() {
                continue;
            }
            observed += 1;
            assert_eq!(set.inventory_levels.len() as i64, SKUS);
            let first = set.inventory_levels[0].on_hand;
            assert!(set.inventory_levels.iter().all(|r| r.on_hand == first));
            assert_eq!(epoch, Some(first as u64));
        }
        writer.join().unwrap();
        let set = store.snapshot();
        assert!(set.inventory_levels.iter().all(|r| r.on_hand == EPOCHS - 1));
    }

    #[test]
    fn live_status_round_trips() {
        let store = ViewStore::new();
        let status = LiveStatus {
            partitions: vec![PartitionStatus {
                topic: "orders.events".into(),
                partition: 0,
                next_offset: 5,
                high_watermark: 9,
                lag: 4,
            }],
            dlq_size: 3,
            ..LiveStatus::default()
        };
        store.set_live(status.clone());
        assert_eq!(store.live(), status);
        assert!(store.freshness_seconds() >= 0.0);
    }
}
