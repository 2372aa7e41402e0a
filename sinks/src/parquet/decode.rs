//! Each view's rows from its file's batches: the exact integer fields are read back and the
//! derived rates and averages are skipped.

use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, TimelineEntry, TopicHealth,
};
use pulso_events::RejectReason;

use super::cells::Row;
use super::encode::rejected_column;
use crate::SinkError;

/// `notification_rates`.
pub(crate) fn notification_rates(r: &Row) -> Result<NotificationRates, SinkError> {
    Ok(NotificationRates {
        tenant_id: r.string("tenant_id")?,
        channel: r.string("channel")?,
        provider: r.string("provider")?,
        granularity: r.granularity("granularity")?,
        window_start: r.timestamp("window_start")?,
        sent: r.int64("sent")?,
        delivered: r.int64("delivered")?,
        opened: r.int64("opened")?,
        clicked: r.int64("clicked")?,
        converted: r.int64("converted")?,
        bounced: r.int64("bounced")?,
        hard_bounced: r.int64("hard_bounced")?,
        failed: r.int64("failed")?,
        fallback: r.int64("fallback")?,
        cost_total: r.cents("cost_total")?,
    })
}

/// `notification_bounces`.
pub(crate) fn notification_bounces(r: &Row) -> Result<NotificationBounces, SinkError> {
    Ok(NotificationBounces {
        tenant_id: r.string("tenant_id")?,
        channel: r.string("channel")?,
        day: r.timestamp("day")?,
        bounce_type: r.string("bounce_type")?,
        reason: r.string("reason")?,
        notifications: r.int64("notifications")?,
    })
}

/// `order_metrics`.
pub(crate) fn order_metrics(r: &Row) -> Result<OrderMetrics, SinkError> {
    Ok(OrderMetrics {
        tenant_id: r.string("tenant_id")?,
        granularity: r.granularity("granularity")?,
        window_start: r.timestamp("window_start")?,
        orders_created: r.int64("orders_created")?,
        orders_confirmed: r.int64("orders_confirmed")?,
        orders_cancelled: r.int64("orders_cancelled")?,
        orders_pending: r.int64("orders_pending")?,
        revenue_confirmed_total: r.cents("revenue_confirmed_total")?,
        revenue_lost_total: r.cents("revenue_lost_total")?,
        revenue_pending_total: r.cents("revenue_pending_total")?,
    })
}

/// `order_cancellations`.
pub(crate) fn order_cancellations(r: &Row) -> Result<OrderCancellations, SinkError> {
    Ok(OrderCancellations {
        tenant_id: r.string("tenant_id")?,
        reason: r.string("reason")?,
        orders: r.int64("orders")?,
    })
}

/// `inventory_levels`.
pub(crate) fn inventory_levels(r: &Row) -> Result<InventoryLevels, SinkError> {
    Ok(InventoryLevels {
        tenant_id: r.string("tenant_id")?,
        sku: r.string("sku")?,
        on_hand: r.int64("on_hand")?,
        reserved: r.int64("reserved")?,
        available: r.int64("available")?,
        insufficient_stock_events: r.int64("insufficient_stock_events")?,
    })
}

/// `case_backlog`.
pub(crate) fn case_backlog(r: &Row) -> Result<CaseBacklog, SinkError> {
    Ok(CaseBacklog {
        dependencia_id: r.int64("dependencia_id")?,
        estado: r.string("estado")?,
        cases: r.int64("cases")?,
    })
}

/// `sla_compliance`, from the exact sums and counts written after the `VIEWS.md` columns.
pub(crate) fn sla_compliance(r: &Row) -> Result<SlaCompliance, SinkError> {
    Ok(SlaCompliance {
        dependencia_id: r.int64("dependencia_id")?,
        prioridad: r.opt_string("prioridad")?,
        day: r.timestamp("day")?,
        met: r.int64("met")?,
        violated: r.int64("violated")?,
        closed: r.int64("closed")?,
        resolution_micro_hours_sum: r.int64("resolution_micro_hours_sum")?,
        resolution_count: r.int64("resolution_count")?,
        satisfaction_sum: r.int64("satisfaction_sum")?,
        satisfaction_count: r.int64("satisfaction_count")?,
    })
}

/// `open_case_sla`.
pub(crate) fn open_case_sla(r: &Row) -> Result<OpenCaseSla, SinkError> {
    Ok(OpenCaseSla {
        dependencia_id: r.int64("dependencia_id")?,
        prioridad: r.opt_string("prioridad")?,
        status: r.status("status")?,
        cases: r.int64("cases")?,
    })
}

/// The open cases behind `open_case_sla`.
pub(crate) fn open_cases(r: &Row) -> Result<OpenCase, SinkError> {
    Ok(OpenCase {
        dependencia_id: r.int64("dependencia_id")?,
        prioridad: r.opt_string("prioridad")?,
        status: r.status("status")?,
        due_at: r.timestamp("due_at")?,
        caso_id: r.int64("caso_id")?,
        numero_caso: r.string("numero_caso")?,
    })
}

/// `timelines`.
pub(crate) fn timelines(r: &Row) -> Result<TimelineEntry, SinkError> {
    Ok(TimelineEntry {
        entity_type: r.string("entity_type")?.into(),
        entity_id: r.string("entity_id")?.into(),
        timestamp: r.timestamp("timestamp")?,
        event_id: r.string("event_id")?.into(),
        topic: r.string("topic")?.into(),
        event_type: r.string("event_type")?.into(),
        summary: r.string("summary")?.into(),
    })
}

/// `pipeline_health`, from the per-reason columns (the `rejected` total is derived).
pub(crate) fn pipeline_health(r: &Row) -> Result<TopicHealth, SinkError> {
    let mut rejected = [0; RejectReason::ALL.len()];
    for (count, reason) in rejected.iter_mut().zip(RejectReason::ALL) {
        *count = r.int64(&rejected_column(reason))?;
    }
    Ok(TopicHealth {
        topic: r.string("topic")?,
        records: r.int64("records")?,
        rejected,
        duplicates: r.int64("duplicates")?,
        orphan_events: r.int64("orphan_events")?,
    })
}
