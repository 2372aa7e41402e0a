//! The store's tests: epochs applied whole, paging, the scan budget, tenant scoping.

use std::ops::Bound;
use std::sync::Arc;

use super::*;
use pulso_events::retention::{Horizon, Retention, WindowHorizons};
use pulso_events::views::{InventoryLevels, OrderMetrics, TimelineEntry};

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
fn removals_of_rows_an_insert_replaced_are_skipped() {
    let row = |sku: &str, on_hand| ViewRow::InventoryLevels(inventory(sku, on_hand));
    let tenant: Arc<str> = Arc::from("t1");
    let removed: Vec<(Arc<str>, ViewRow)> = [row("a", 1), row("b", 2), row("c", 3), row("e", 5)]
        .into_iter()
        .map(|r| (Arc::clone(&tenant), r))
        .collect();
    // `a` was replaced out of the rows' order: its removal is done as before (a no-op).
    let displaced = [row("b", 2), row("e", 5), row("a", 1), row("f", 6)];
    let kept: Vec<&ViewRow> = skip_displaced(&removed, &displaced)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(kept, vec![&row("a", 1), &row("c", 3)]);
    // Nothing displaced: every removal is done.
    assert_eq!(skip_displaced(&removed, &[]).count(), 4);

    // Through the store: an epoch of replaced, removed and new rows ends as before.
    let store = ViewStore::new();
    let epoch = |rows: &[(&str, i64, isize)]| -> Vec<(ViewRow, isize)> {
        rows.iter().map(|(s, n, d)| (row(s, *n), *d)).collect()
    };
    store.apply_epoch(
        0,
        epoch(&[("a", 1, 1), ("b", 2, 1), ("c", 3, 1), ("e", 5, 1)]),
    );
    store.apply_epoch(
        1,
        epoch(&[
            ("a", 1, -1),
            ("a", 7, 1),
            ("b", 2, -1),
            ("c", 3, -1),
            ("c", 0, 1),
        ]),
    );
    store.apply_epoch(2, epoch(&[("e", 5, -1), ("d", 4, 1), ("c", 0, -1)]));
    let set = store.snapshot();
    assert_eq!(
        set.inventory_levels,
        vec![inventory("a", 7), inventory("d", 4)]
    );
}

proptest::proptest! {
    /// Epochs of consistent changes (a row of a key inserted, replaced as `-old +new`,
    /// removed, or inserted and retracted at once), in any order within the epoch, leave the
    /// store holding what a plain map of the rows holds.
    #[test]
    fn epochs_of_replacements_leave_the_rows_a_map_holds(
        epochs in proptest::collection::vec(
            proptest::collection::vec((0u8..6, 0i64..4, 0u8..4), 0..12),
            1..12,
        ),
        seed in proptest::prelude::any::<u64>(),
    ) {
        let store = ViewStore::new();
        let mut model: BTreeMap<String, i64> = BTreeMap::new();
        let row = |sku: &str, on_hand| ViewRow::InventoryLevels(inventory(sku, on_hand));
        for (e, ops) in epochs.into_iter().enumerate() {
            let mut changes = Vec::new();
            let mut touched = std::collections::BTreeSet::new();
            for (key, value, op) in ops {
                let sku = format!("s{key}");
                if !touched.insert(sku.clone()) {
                    continue;
                }
                match (model.get(&sku).copied(), op) {
                    // A key not held: inserted, or inserted and retracted in the epoch.
                    (None, 0) => {
                        changes.push((row(&sku, value + 10), 1));
                        changes.push((row(&sku, value + 10), -1));
                    }
                    (None, _) => {
                        changes.push((row(&sku, value), 1));
                        model.insert(sku, value);
                    }
                    // A key held: removed, or replaced by a different row.
                    (Some(old), 0) => {
                        changes.push((row(&sku, old), -1));
                        model.remove(&sku);
                    }
                    (Some(old), _) => {
                        let new = if value == old { old + 1 } else { value };
                        changes.push((row(&sku, old), -1));
                        changes.push((row(&sku, new), 1));
                        model.insert(sku, new);
                    }
                }
            }
            // Any order within the epoch (consolidation sorts them).
            let n = changes.len().max(1);
            changes.rotate_left((seed as usize + e) % n);
            store.apply_epoch(e as u64, changes);
            let held: Vec<InventoryLevels> = model
                .iter()
                .map(|(sku, on_hand)| inventory(sku, *on_hand))
                .collect();
            proptest::prop_assert_eq!(store.snapshot().inventory_levels, held);
            proptest::prop_assert_eq!(store.read().inventory_levels.len(), model.len());
        }
    }
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
        let page = tables
            .inventory_levels
            .page(&Tenants::All, start, |_| true, |_| true, 3);
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
        let page = table.page_within_budget(&Tenants::All, start, |_| true, matches, 10, 4);
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
fn scans_see_only_their_tenants_in_key_order() {
    let store = ViewStore::new();
    let row = |tenant: &str, sku: &str| InventoryLevels {
        tenant_id: tenant.into(),
        ..inventory(sku, 1)
    };
    let rows = ["a", "b", "c"]
        .iter()
        .flat_map(|t| (0..5).map(move |i| (ViewRow::InventoryLevels(row(t, &format!("s{i}"))), 1)))
        .collect();
    store.apply_epoch(0, rows);
    let tables = store.read();
    let table = &tables.inventory_levels;
    assert_eq!(table.len(), 15);
    let all: Vec<_> = table.rows().map(|r| r.key()).collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "rows() is in key order across tenants");
    // A budget of 1 makes every page end on the last key examined: never another tenant's.
    let scope = Tenants::only(["a", "c"]);
    let mut cursor: Option<InventoryLevelsKey> = None;
    let mut seen = Vec::new();
    loop {
        let start = cursor.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
        let page = table.page_within_budget(&scope, start, |_| true, |_| true, 3, 1);
        seen.extend(page.rows.iter().map(|r| r.tenant_id.clone()));
        match page.next {
            Some(next) => {
                assert_ne!(next.0, "b");
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 10);
    assert!(seen.iter().all(|t| t != "b"));
    let none = table.page(&Tenants::none(), Bound::Unbounded, |_| true, |_| true, 10);
    assert!(none.rows.is_empty() && none.next.is_none());
    // A start key of another tenant only positions the scan.
    let foreign = ("b".to_string(), "s2".to_string());
    let page = table.page(&scope, Bound::Excluded(&foreign), |_| true, |_| true, 100);
    assert!(page.rows.iter().all(|r| r.tenant_id == "c"));
    assert_eq!(page.rows.len(), 5);
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
                        changes.push((ViewRow::InventoryLevels(inventory(&sku, epoch - 1)), -1));
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
        dlq_size: Some(3),
        ..LiveStatus::default()
    };
    store.set_live(status.clone());
    assert_eq!(store.live(), status);
    assert!(store.freshness_seconds() >= 0.0);
}

fn order_metrics(granularity: Granularity, window_start: i64, created: i64) -> OrderMetrics {
    OrderMetrics {
        tenant_id: "t1".into(),
        currency: "USD".into(),
        granularity,
        window_start,
        orders_created: created,
        orders_confirmed: 0,
        orders_cancelled: 0,
        orders_pending: created,
        revenue_confirmed_total: 0,
        revenue_lost_total: 0,
        revenue_pending_total: 0,
    }
}

fn entry(timestamp: i64) -> TimelineEntry {
    TimelineEntry {
        entity_type: "order".into(),
        entity_id: "o1".into(),
        timestamp,
        event_id: format!("e{timestamp}").into(),
        topic: "orders.events".into(),
        event_type: "ORDER_CREATED".into(),
        summary: "{\"tenant_id\":\"t1\"}".into(),
    }
}

const MIN: i64 = 60_000_000;

/// Retention of 10 minutes for minute windows (and lateness), `hour` for hour windows and
/// `timelines` for timeline entries, none for day windows.
fn retention(hour: Horizon, timelines: Horizon) -> Retention {
    Retention {
        late_after: Horizon::micros(10 * MIN),
        windows: WindowHorizons {
            minute: Horizon::micros(10 * MIN),
            hour,
            day: Horizon::OFF,
        },
        entities: Horizon::micros(10 * MIN),
        timelines,
        future_tolerance: Horizon::OFF,
    }
}

#[test]
fn the_watermark_expires_windows_and_timeline_entries_once() {
    let retention = retention(Horizon::micros(120 * MIN), Horizon::micros(30 * MIN));
    let store = ViewStore::with_retention(retention);
    let expired = store.apply_epoch(
        0,
        vec![
            (
                ViewRow::OrderMetrics(order_metrics(Granularity::Minute, 0, 1)),
                1,
            ),
            (
                ViewRow::OrderMetrics(order_metrics(Granularity::Minute, MIN, 1)),
                1,
            ),
            (
                ViewRow::OrderMetrics(order_metrics(Granularity::Hour, 0, 2)),
                1,
            ),
            (ViewRow::Timeline(entry(0)), 1),
            (ViewRow::Timeline(entry(5 * MIN)), 1),
            (ViewRow::Watermark(10 * MIN), 1),
        ],
    );
    assert!(expired.is_empty(), "nothing is old enough yet: {expired:?}");
    let tables = store.read();
    assert_eq!(tables.retained_windows_from(Granularity::Minute), Some(0));
    assert_eq!(tables.retained_timelines_from(), Some(-20 * MIN));
    drop(tables);
    // W = 11 min: the minute window [0, 1 min) ends at or before W - 10 min.
    let expired = store.apply_epoch(
        1,
        vec![
            (
                ViewRow::OrderMetrics(order_metrics(Granularity::Minute, MIN, 1)),
                -1,
            ),
            (
                ViewRow::OrderMetrics(order_metrics(Granularity::Minute, MIN, 3)),
                1,
            ),
            (ViewRow::Watermark(10 * MIN), -1),
            (ViewRow::Watermark(11 * MIN), 1),
        ],
    );
    assert_eq!(
        expired,
        vec![ViewRow::OrderMetrics(order_metrics(
            Granularity::Minute,
            0,
            1
        ))]
    );
    // W = 31 min: the second minute row, and the entry at 0 (earlier than W - 30 min), go;
    // the hour row and the entry at 5 min stay.
    let expired = store.apply_epoch(
        2,
        vec![
            (ViewRow::Watermark(11 * MIN), -1),
            (ViewRow::Watermark(31 * MIN), 1),
        ],
    );
    assert_eq!(
        expired,
        vec![
            ViewRow::OrderMetrics(order_metrics(Granularity::Minute, MIN, 3)),
            ViewRow::Timeline(entry(0)),
        ]
    );
    let set = store.snapshot();
    assert_eq!(
        set.order_metrics,
        vec![order_metrics(Granularity::Hour, 0, 2)]
    );
    assert_eq!(set.timelines, vec![entry(5 * MIN)]);
    // A late retraction of an expired row changes nothing.
    let expired = store.apply_epoch(3, vec![(ViewRow::Timeline(entry(0)), -1)]);
    assert!(expired.is_empty());
    assert_eq!(store.snapshot().timelines, vec![entry(5 * MIN)]);
}

#[test]
fn a_row_removed_and_inserted_again_expires_once() {
    let store = ViewStore::with_retention(retention(Horizon::OFF, Horizon::OFF));
    let row = |created| ViewRow::OrderMetrics(order_metrics(Granularity::Minute, 0, created));
    assert!(store.apply_epoch(0, vec![(row(1), 1)]).is_empty());
    assert!(store.apply_epoch(1, vec![(row(1), -1)]).is_empty());
    assert!(store.apply_epoch(2, vec![(row(2), 1)]).is_empty());
    // Filed twice (inserted, removed, inserted again): it expires once, as its last row.
    let expired = store.apply_epoch(3, vec![(ViewRow::Watermark(11 * MIN), 1)]);
    assert_eq!(expired, vec![row(2)]);
    assert!(store.snapshot().order_metrics.is_empty());
    let expired = store.apply_epoch(4, vec![(ViewRow::Watermark(12 * MIN), 1)]);
    assert!(expired.is_empty());
    assert_eq!(store.read().order_metrics.len(), 0);
}
