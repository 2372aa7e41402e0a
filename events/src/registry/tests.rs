//! Every registry entry is consistent: one cell per column, of the column's type, and a row
//! rebuilt from its read-back cells equals the row.

use super::*;
use crate::time::Granularity;
use crate::views::*;

/// One row of every view, with every nullable cell set (and one unset).
fn sample() -> ViewSet {
    let mut set = ViewSet {
        as_of: Some(7),
        ..ViewSet::default()
    };
    set.notification_rates.push(NotificationRates {
        tenant_id: "t".into(),
        channel: "EMAIL".into(),
        provider: "p".into(),
        granularity: Granularity::Hour,
        window_start: 3_600_000_000,
        sent: 4,
        delivered: 3,
        opened: 2,
        clicked: 1,
        converted: 1,
        bounced: 1,
        hard_bounced: 0,
        failed: 0,
        fallback: 1,
        cost_total: 1234,
    });
    set.notification_bounces.push(NotificationBounces {
        tenant_id: "t".into(),
        channel: "SMS".into(),
        day: 0,
        bounce_type: "HARD".into(),
        reason: "unspecified".into(),
        notifications: 2,
    });
    set.order_metrics.push(OrderMetrics {
        tenant_id: "t".into(),
        currency: "EUR".into(),
        granularity: Granularity::Day,
        window_start: 0,
        orders_created: 3,
        orders_confirmed: 1,
        orders_cancelled: 1,
        orders_pending: 1,
        revenue_confirmed_total: 100,
        revenue_lost_total: 200,
        revenue_pending_total: 300,
    });
    set.order_cancellations.push(OrderCancellations {
        tenant_id: "t".into(),
        reason: "PAYMENT_FAILED".into(),
        orders: 1,
    });
    set.inventory_levels.push(InventoryLevels {
        tenant_id: "t".into(),
        sku: "s".into(),
        on_hand: 5,
        reserved: 2,
        available: 3,
        insufficient_stock_events: 1,
    });
    set.case_backlog.push(CaseBacklog {
        dependencia_id: 1,
        estado: "ABIERTO".into(),
        cases: 2,
    });
    set.sla_compliance.push(SlaCompliance {
        dependencia_id: 1,
        prioridad: Some("ALTA".into()),
        day: 0,
        met: 1,
        violated: 1,
        closed: 1,
        resolution_micro_hours_sum: 2_500_000,
        resolution_count: 1,
        satisfaction_sum: 4,
        satisfaction_count: 1,
    });
    set.open_case_sla.push(OpenCaseSla {
        dependencia_id: 1,
        prioridad: None,
        status: SlaStatus::AtRisk,
        cases: 1,
    });
    set.open_cases.push(OpenCase {
        dependencia_id: 1,
        prioridad: None,
        status: SlaStatus::Breached,
        due_at: 9,
        caso_id: 42,
        numero_caso: "CRV-2024-00000042".into(),
    });
    set.timelines.push(TimelineEntry {
        entity_type: "order".into(),
        entity_id: "o-1".into(),
        timestamp: 5,
        event_id: "e".into(),
        topic: "orders.events".into(),
        event_type: "ORDER_CREATED".into(),
        summary: r#"{"tenant_id":"t"}"#.into(),
    });
    let mut health = TopicHealth {
        topic: "orders.events".into(),
        records: 9,
        ..TopicHealth::default()
    };
    health.rejected[1] = 2;
    set.pipeline_health.push(health);
    set.notification_latency.push(NotificationLatency {
        tenant_id: "t".into(),
        channel: "SMS".into(),
        provider: "p".into(),
        granularity: Granularity::Hour,
        window_start: 3_600_000_000,
        delivered: 3,
        latency_ms_sum: 12,
        latency_p50_ms: 4,
        latency_p95_ms: 5,
        latency_max_ms: 6,
        within_sla: 2,
    });
    set.notification_failures.push(NotificationFailures {
        tenant_id: "t".into(),
        channel: "UNKNOWN".into(),
        provider: "unknown".into(),
        day: 86_400_000_000,
        reason: "unspecified".into(),
        dead_lettered: 2,
        retries_total: 3,
        max_retry_count: 2,
    });
    set.notification_variants.push(NotificationVariants {
        tenant_id: "t".into(),
        channel: "EMAIL".into(),
        category: "MARKETING".into(),
        template: "promo_b".into(),
        day: 86_400_000_000,
        sent: 5,
        delivered: 4,
        opened: 3,
        clicked: 2,
        converted: 1,
    });
    set.tracking_activity.push(TrackingActivity {
        tenant_id: "t".into(),
        entity_type: "shipment".into(),
        event_type: "PICKED_UP".into(),
        granularity: Granularity::Minute,
        window_start: 60_000_000,
        events: 3,
        entities: 2,
    });
    set.tenant_activity.push(TenantActivity {
        tenant_id: "t".into(),
        topic: "tracking.events".into(),
        granularity: Granularity::Day,
        window_start: 0,
        events: 3,
    });
    set
}

/// Checks every row of `V` in `set`.
struct Check<'a>(&'a ViewSet, usize);

impl ViewVisitor for Check<'_> {
    fn visit<V: View>(&mut self) {
        let columns = V::columns();
        assert!(!V::rows(self.0).is_empty(), "{}: no sample row", V::NAME);
        for row in V::rows(self.0) {
            let mut cells = Vec::new();
            row.cells(&mut cells);
            assert_eq!(cells.len(), columns.len(), "{}", V::NAME);
            let mut values: Vec<Option<Value>> = Vec::new();
            for (cell, column) in cells.iter().zip(columns) {
                let value = match (column.ty, *cell) {
                    (ColumnType::Text | ColumnType::Json, Cell::Text(s)) => Value::Text(s.into()),
                    (ColumnType::OptText, Cell::OptText(s)) => Value::OptText(s.map(Into::into)),
                    (ColumnType::Int, Cell::Int(v)) => Value::Int(v),
                    (ColumnType::Timestamp, Cell::Timestamp(v)) => Value::Timestamp(v),
                    (ColumnType::Money, Cell::Money(v)) => Value::Money(v),
                    (ColumnType::Rate, Cell::Rate(_)) => Value::Int(-1),
                    (ty, cell) => panic!("{}.{}: {ty:?} holds {cell:?}", V::NAME, column.name),
                };
                values.push(column.is_read_back().then_some(value));
            }
            let back = V::from_record(&mut Record::new(columns, &mut values)).unwrap();
            assert_eq!(&back, row, "{}", V::NAME);
            assert_eq!(row.expiry().is_some(), V::EXPIRES, "{}", V::NAME);
        }
        // Sinks never read a rate back: every rate is derived.
        for c in columns.iter().filter(|c| c.ty == ColumnType::Rate) {
            assert_eq!(c.role, Role::Derived, "{}.{}", V::NAME, c.name);
        }
        let names: Vec<_> = columns.iter().map(|c| &c.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{}: duplicate columns", V::NAME);
        self.1 += 1;
    }
}

#[test]
fn every_entry_gives_one_typed_cell_per_column_and_reads_back() {
    let set = sample();
    let mut check = Check(&set, 0);
    visit_views(&mut check);
    assert_eq!(check.1, 16);
}

#[test]
fn the_names_follow_the_view_set() {
    assert_eq!(
        view_names(),
        [
            "notification_rates",
            "notification_bounces",
            "notification_latency",
            "notification_failures",
            "notification_variants",
            "order_metrics",
            "order_cancellations",
            "inventory_levels",
            "case_backlog",
            "sla_compliance",
            "open_case_sla",
            "open_cases",
            "timelines",
            "pipeline_health",
            "tracking_activity",
            "tenant_activity",
        ]
    );
    let served: Vec<_> = view_names()
        .into_iter()
        .filter(|n| *n != "open_cases")
        .collect();
    assert_eq!(VIEW_NAMES.to_vec(), served);
    let set = sample();
    assert_eq!(ViewSet::from_rows(set.rows()), set);
    assert_eq!(set.rows().count(), 17);
}

#[test]
fn a_bad_cell_is_named() {
    let columns = OrderCancellations::columns();
    let mut values = vec![Some(Value::Text("t".into())), None, Some(Value::Int(1))];
    let err = OrderCancellations::from_record(&mut Record::new(columns, &mut values));
    assert_eq!(err, Err(CellError::Missing("reason".into())));
}
