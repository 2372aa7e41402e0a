//! Each view's rows as an Arrow batch, with the columns of `VIEWS.md` in its order (plus the
//! exact sums `sla_compliance` needs to be read back).

use arrow::record_batch::RecordBatch;
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, TimelineEntry, TopicHealth,
};
use pulso_events::RejectReason;

use super::columns::Columns;
use crate::SinkError;

type Batch = Result<RecordBatch, SinkError>;

/// `notification_rates`.
pub(crate) fn notification_rates(rows: &[NotificationRates]) -> Batch {
    Columns::new(rows)
        .utf8("tenant_id", |r| &r.tenant_id)
        .utf8("channel", |r| &r.channel)
        .utf8("provider", |r| &r.provider)
        .utf8("granularity", |r| r.granularity.as_str())
        .timestamp("window_start", |r| r.window_start)
        .int64("sent", |r| r.sent)
        .int64("delivered", |r| r.delivered)
        .int64("opened", |r| r.opened)
        .int64("clicked", |r| r.clicked)
        .int64("converted", |r| r.converted)
        .int64("bounced", |r| r.bounced)
        .int64("hard_bounced", |r| r.hard_bounced)
        .int64("failed", |r| r.failed)
        .int64("fallback", |r| r.fallback)
        .money("cost_total", |r| r.cost_total)
        .rate("delivery_rate", NotificationRates::delivery_rate)
        .rate("bounce_rate", NotificationRates::bounce_rate)
        .rate("failure_rate", NotificationRates::failure_rate)
        .rate("open_rate", NotificationRates::open_rate)
        .rate("click_rate", NotificationRates::click_rate)
        .rate("conversion_rate", NotificationRates::conversion_rate)
        .finish()
}

/// `notification_bounces`.
pub(crate) fn notification_bounces(rows: &[NotificationBounces]) -> Batch {
    Columns::new(rows)
        .utf8("tenant_id", |r| &r.tenant_id)
        .utf8("channel", |r| &r.channel)
        .timestamp("day", |r| r.day)
        .utf8("bounce_type", |r| &r.bounce_type)
        .utf8("reason", |r| &r.reason)
        .int64("notifications", |r| r.notifications)
        .finish()
}

/// `order_metrics`.
pub(crate) fn order_metrics(rows: &[OrderMetrics]) -> Batch {
    Columns::new(rows)
        .utf8("tenant_id", |r| &r.tenant_id)
        .utf8("granularity", |r| r.granularity.as_str())
        .timestamp("window_start", |r| r.window_start)
        .int64("orders_created", |r| r.orders_created)
        .int64("orders_confirmed", |r| r.orders_confirmed)
        .int64("orders_cancelled", |r| r.orders_cancelled)
        .int64("orders_pending", |r| r.orders_pending)
        .money("revenue_confirmed_total", |r| r.revenue_confirmed_total)
        .money("revenue_lost_total", |r| r.revenue_lost_total)
        .money("revenue_pending_total", |r| r.revenue_pending_total)
        .rate("cancellation_rate", OrderMetrics::cancellation_rate)
        .finish()
}

/// `order_cancellations`.
pub(crate) fn order_cancellations(rows: &[OrderCancellations]) -> Batch {
    Columns::new(rows)
        .utf8("tenant_id", |r| &r.tenant_id)
        .utf8("reason", |r| &r.reason)
        .int64("orders", |r| r.orders)
        .finish()
}

/// `inventory_levels`.
pub(crate) fn inventory_levels(rows: &[InventoryLevels]) -> Batch {
    Columns::new(rows)
        .utf8("tenant_id", |r| &r.tenant_id)
        .utf8("sku", |r| &r.sku)
        .int64("on_hand", |r| r.on_hand)
        .int64("reserved", |r| r.reserved)
        .int64("available", |r| r.available)
        .int64("insufficient_stock_events", |r| r.insufficient_stock_events)
        .finish()
}

/// `case_backlog`.
pub(crate) fn case_backlog(rows: &[CaseBacklog]) -> Batch {
    Columns::new(rows)
        .int64("dependencia_id", |r| r.dependencia_id)
        .utf8("estado", |r| &r.estado)
        .int64("cases", |r| r.cases)
        .finish()
}

/// `sla_compliance`: the columns of `VIEWS.md`, then the exact sums and counts behind the
/// averages so the row reads back unchanged.
pub(crate) fn sla_compliance(rows: &[SlaCompliance]) -> Batch {
    Columns::new(rows)
        .int64("dependencia_id", |r| r.dependencia_id)
        .opt_utf8("prioridad", |r| r.prioridad.as_deref())
        .timestamp("day", |r| r.day)
        .int64("met", |r| r.met)
        .int64("violated", |r| r.violated)
        .rate("compliance_rate", SlaCompliance::compliance_rate)
        .int64("closed", |r| r.closed)
        .rate("avg_resolution_hours", SlaCompliance::avg_resolution_hours)
        .rate("avg_satisfaction", SlaCompliance::avg_satisfaction)
        .int64("resolution_count", |r| r.resolution_count)
        .int64("satisfaction_count", |r| r.satisfaction_count)
        .int64("resolution_micro_hours_sum", |r| {
            r.resolution_micro_hours_sum
        })
        .int64("satisfaction_sum", |r| r.satisfaction_sum)
        .finish()
}

/// `open_case_sla`.
pub(crate) fn open_case_sla(rows: &[OpenCaseSla]) -> Batch {
    Columns::new(rows)
        .int64("dependencia_id", |r| r.dependencia_id)
        .opt_utf8("prioridad", |r| r.prioridad.as_deref())
        .utf8("status", |r| r.status.as_str())
        .int64("cases", |r| r.cases)
        .finish()
}

/// The open cases behind `open_case_sla`.
pub(crate) fn open_cases(rows: &[OpenCase]) -> Batch {
    Columns::new(rows)
        .int64("dependencia_id", |r| r.dependencia_id)
        .opt_utf8("prioridad", |r| r.prioridad.as_deref())
        .utf8("status", |r| r.status.as_str())
        .timestamp("due_at", |r| r.due_at)
        .int64("caso_id", |r| r.caso_id)
        .utf8("numero_caso", |r| &r.numero_caso)
        .finish()
}

/// `timelines`.
pub(crate) fn timelines(rows: &[TimelineEntry]) -> Batch {
    Columns::new(rows)
        .utf8("entity_type", |r| &r.entity_type)
        .utf8("entity_id", |r| &r.entity_id)
        .timestamp("timestamp", |r| r.timestamp)
        .utf8("event_id", |r| &r.event_id)
        .utf8("topic", |r| &r.topic)
        .utf8("event_type", |r| &r.event_type)
        .utf8("summary", |r| &r.summary)
        .finish()
}

/// The name of the `pipeline_health` column counting rejections for `reason`.
pub(crate) fn rejected_column(reason: RejectReason) -> String {
    format!("rejected_{}", reason.as_str())
}

/// `pipeline_health`: the per-topic counters, with one `rejected_<reason>` column per reason.
pub(crate) fn pipeline_health(rows: &[TopicHealth]) -> Batch {
    let mut columns = Columns::new(rows)
        .utf8("topic", |r| &r.topic)
        .int64("records", |r| r.records)
        .int64("rejected", TopicHealth::rejected_total);
    for (i, reason) in RejectReason::ALL.into_iter().enumerate() {
        columns = columns.int64(&rejected_column(reason), move |r| r.rejected[i]);
    }
    columns
        .int64("duplicates", |r| r.duplicates)
        .int64("orphan_events", |r| r.orphan_events)
        .finish()
}
