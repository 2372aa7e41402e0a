//! The JSON shape of every row, with exactly the column names of VIEWS.md: money `*_total`
//! as numbers with two decimals, `window_start`/`day`/`due_at`/`timestamp` as RFC 3339,
//! rates and averages as numbers or `null`.

use pulso_events::money::{format_cents, CentsTotal};
use pulso_events::time::{format_rfc3339, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, TimelineEntry, TopicHealth,
};
use pulso_events::RejectReason;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Number, Value};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Money in minor units, serialized as a JSON number with exactly two decimals.
pub(crate) struct Money(pub(crate) CentsTotal);

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `arbitrary_precision` keeps the decimal text verbatim.
        match format_cents(self.0).parse::<Number>() {
            Ok(n) => n.serialize(s),
            Err(_) => s.serialize_f64(self.0 as f64 / 100.0),
        }
    }
}

/// A UTC instant, serialized as RFC 3339.
pub(crate) struct Time(pub(crate) Micros);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339(self.0))
    }
}

/// A `notification_rates` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct NotificationRatesJson<'a> {
    tenant_id: &'a str,
    channel: &'a str,
    provider: &'a str,
    granularity: &'static str,
    #[schema(value_type = String, format = DateTime)]
    window_start: Time,
    sent: i64,
    delivered: i64,
    opened: i64,
    clicked: i64,
    converted: i64,
    bounced: i64,
    hard_bounced: i64,
    failed: i64,
    fallback: i64,
    #[schema(value_type = f64)]
    cost_total: Money,
    delivery_rate: Option<f64>,
    bounce_rate: Option<f64>,
    failure_rate: Option<f64>,
    open_rate: Option<f64>,
    click_rate: Option<f64>,
    conversion_rate: Option<f64>,
}

impl<'a> From<&'a NotificationRates> for NotificationRatesJson<'a> {
    fn from(r: &'a NotificationRates) -> Self {
        NotificationRatesJson {
            tenant_id: &r.tenant_id,
            channel: &r.channel,
            provider: &r.provider,
            granularity: r.granularity.as_str(),
            window_start: Time(r.window_start),
            sent: r.sent,
            delivered: r.delivered,
            opened: r.opened,
            clicked: r.clicked,
            converted: r.converted,
            bounced: r.bounced,
            hard_bounced: r.hard_bounced,
            failed: r.failed,
            fallback: r.fallback,
            cost_total: Money(r.cost_total),
            delivery_rate: r.delivery_rate(),
            bounce_rate: r.bounce_rate(),
            failure_rate: r.failure_rate(),
            open_rate: r.open_rate(),
            click_rate: r.click_rate(),
            conversion_rate: r.conversion_rate(),
        }
    }
}

/// A `notification_bounces` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct NotificationBouncesJson<'a> {
    tenant_id: &'a str,
    channel: &'a str,
    #[schema(value_type = String, format = DateTime)]
    day: Time,
    bounce_type: &'a str,
    reason: &'a str,
    notifications: i64,
}

impl<'a> From<&'a NotificationBounces> for NotificationBouncesJson<'a> {
    fn from(r: &'a NotificationBounces) -> Self {
        NotificationBouncesJson {
            tenant_id: &r.tenant_id,
            channel: &r.channel,
            day: Time(r.day),
            bounce_type: &r.bounce_type,
            reason: &r.reason,
            notifications: r.notifications,
        }
    }
}

/// An `order_metrics` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct OrderMetricsJson<'a> {
    tenant_id: &'a str,
    granularity: &'static str,
    #[schema(value_type = String, format = DateTime)]
    window_start: Time,
    orders_created: i64,
    orders_confirmed: i64,
    orders_cancelled: i64,
    orders_pending: i64,
    #[schema(value_type = f64)]
    revenue_confirmed_total: Money,
    #[schema(value_type = f64)]
    revenue_lost_total: Money,
    #[schema(value_type = f64)]
    revenue_pending_total: Money,
    cancellation_rate: Option<f64>,
}

impl<'a> From<&'a OrderMetrics> for OrderMetricsJson<'a> {
    fn from(r: &'a OrderMetrics) -> Self {
        OrderMetricsJson {
            tenant_id: &r.tenant_id,
            granularity: r.granularity.as_str(),
            window_start: Time(r.window_start),
            orders_created: r.orders_created,
            orders_confirmed: r.orders_confirmed,
            orders_cancelled: r.orders_cancelled,
            orders_pending: r.orders_pending,
            revenue_confirmed_total: Money(r.revenue_confirmed_total),
            revenue_lost_total: Money(r.revenue_lost_total),
            revenue_pending_total: Money(r.revenue_pending_total),
            cancellation_rate: r.cancellation_rate(),
        }
    }
}

/// An `order_cancellations` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct OrderCancellationsJson<'a> {
    tenant_id: &'a str,
    reason: &'a str,
    orders: i64,
}

impl<'a> From<&'a OrderCancellations> for OrderCancellationsJson<'a> {
    fn from(r: &'a OrderCancellations) -> Self {
        OrderCancellationsJson {
            tenant_id: &r.tenant_id,
            reason: &r.reason,
            orders: r.orders,
        }
    }
}

/// An `inventory_levels` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct InventoryLevelsJson<'a> {
    tenant_id: &'a str,
    sku: &'a str,
    on_hand: i64,
    reserved: i64,
    available: i64,
    insufficient_stock_events: i64,
}

impl<'a> From<&'a InventoryLevels> for InventoryLevelsJson<'a> {
    fn from(r: &'a InventoryLevels) -> Self {
        InventoryLevelsJson {
            tenant_id: &r.tenant_id,
            sku: &r.sku,
            on_hand: r.on_hand,
            reserved: r.reserved,
            available: r.available,
            insufficient_stock_events: r.insufficient_stock_events,
        }
    }
}

/// A `case_backlog` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct CaseBacklogJson<'a> {
    dependencia_id: i64,
    estado: &'a str,
    cases: i64,
}

impl<'a> From<&'a CaseBacklog> for CaseBacklogJson<'a> {
    fn from(r: &'a CaseBacklog) -> Self {
        CaseBacklogJson {
            dependencia_id: r.dependencia_id,
            estado: &r.estado,
            cases: r.cases,
        }
    }
}

/// A `sla_compliance` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct SlaComplianceJson<'a> {
    dependencia_id: i64,
    prioridad: Option<&'a str>,
    #[schema(value_type = String, format = DateTime)]
    day: Time,
    met: i64,
    violated: i64,
    compliance_rate: Option<f64>,
    closed: i64,
    avg_resolution_hours: Option<f64>,
    avg_satisfaction: Option<f64>,
}

impl<'a> From<&'a SlaCompliance> for SlaComplianceJson<'a> {
    fn from(r: &'a SlaCompliance) -> Self {
        SlaComplianceJson {
            dependencia_id: r.dependencia_id,
            prioridad: r.prioridad.as_deref(),
            day: Time(r.day),
            met: r.met,
            violated: r.violated,
            compliance_rate: r.compliance_rate(),
            closed: r.closed,
            avg_resolution_hours: r.avg_resolution_hours(),
            avg_satisfaction: r.avg_satisfaction(),
        }
    }
}

/// An `open_case_sla` row.
#[derive(Serialize, ToSchema)]
pub(crate) struct OpenCaseSlaJson<'a> {
    dependencia_id: i64,
    prioridad: Option<&'a str>,
    status: &'static str,
    cases: i64,
}

impl<'a> From<&'a OpenCaseSla> for OpenCaseSlaJson<'a> {
    fn from(r: &'a OpenCaseSla) -> Self {
        OpenCaseSlaJson {
            dependencia_id: r.dependencia_id,
            prioridad: r.prioridad.as_deref(),
            status: r.status.as_str(),
            cases: r.cases,
        }
    }
}

/// One open case of `/v1/open_cases`.
#[derive(Serialize, ToSchema)]
pub(crate) struct OpenCaseJson<'a> {
    caso_id: i64,
    numero_caso: &'a str,
    #[schema(value_type = String, format = DateTime)]
    due_at: Time,
    dependencia_id: i64,
    prioridad: Option<&'a str>,
    status: &'static str,
}

impl<'a> From<&'a OpenCase> for OpenCaseJson<'a> {
    fn from(r: &'a OpenCase) -> Self {
        OpenCaseJson {
            caso_id: r.caso_id,
            numero_caso: &r.numero_caso,
            due_at: Time(r.due_at),
            dependencia_id: r.dependencia_id,
            prioridad: r.prioridad.as_deref(),
            status: r.status.as_str(),
        }
    }
}

/// A `timelines` entry, its summary as a parsed JSON object.
#[derive(Serialize, ToSchema)]
pub(crate) struct TimelineJson<'a> {
    entity_type: &'a str,
    entity_id: &'a str,
    #[schema(value_type = String, format = DateTime)]
    timestamp: Time,
    event_id: &'a str,
    topic: &'a str,
    event_type: &'a str,
    /// The few fields a person reads first, and the entry's `tenant_id`.
    #[schema(value_type = Object)]
    summary: Value,
}

impl<'a> From<&'a TimelineEntry> for TimelineJson<'a> {
    fn from(r: &'a TimelineEntry) -> Self {
        TimelineJson {
            entity_type: &r.entity_type,
            entity_id: &r.entity_id,
            timestamp: Time(r.timestamp),
            event_id: &r.event_id,
            topic: &r.topic,
            event_type: &r.event_type,
            summary: serde_json::from_str(&r.summary)
                .unwrap_or_else(|_| Value::String(r.summary.to_string())),
        }
    }
}

/// A per-topic `pipeline_health` row: `topic, records, rejected` (all reasons),
/// `rejected_<reason>` per DLQ reason, `duplicates, orphan_events`, as in the Parquet file.
pub(crate) struct TopicHealthJson<'a>(pub(crate) &'a TopicHealth);

impl<'a> From<&'a TopicHealth> for TopicHealthJson<'a> {
    fn from(r: &'a TopicHealth) -> Self {
        TopicHealthJson(r)
    }
}

impl PartialSchema for TopicHealthJson<'_> {
    fn schema() -> RefOr<Schema> {
        let int = || ObjectBuilder::new().schema_type(SchemaType::Type(Type::Integer));
        let mut object = ObjectBuilder::new()
            .description(Some("Per-topic pipeline_health counters."))
            .property(
                "topic",
                ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)),
            )
            .property("records", int())
            .property("rejected", int());
        for reason in RejectReason::ALL {
            object = object.property(format!("rejected_{}", reason.as_str()), int());
        }
        object
            .property("duplicates", int())
            .property("orphan_events", int())
            .into()
    }
}

impl ToSchema for TopicHealthJson<'_> {
    fn name() -> std::borrow::Cow<'static, str> {
        "TopicHealthJson".into()
    }
}

impl Serialize for TopicHealthJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = s.serialize_map(Some(5 + RejectReason::ALL.len()))?;
        map.serialize_entry("topic", &r.topic)?;
        map.serialize_entry("records", &r.records)?;
        map.serialize_entry("rejected", &r.rejected_total())?;
        for (reason, count) in RejectReason::ALL.iter().zip(r.rejected) {
            map.serialize_entry(&format!("rejected_{}", reason.as_str()), &count)?;
        }
        map.serialize_entry("duplicates", &r.duplicates)?;
        map.serialize_entry("orphan_events", &r.orphan_events)?;
        map.end()
    }
}

/// The view a row belongs to and its JSON as the API serves it in `/v1/views/{view}`
/// (`None` for rows not served there: open cases and `as_of`). Used by `pulso verify --api`.
pub fn row_json(row: &pulso_events::views::ViewRow) -> Option<(&'static str, Value)> {
    use pulso_events::views::ViewRow;
    let json = |v: Result<Value, serde_json::Error>| v.ok();
    let (view, value) = match row {
        ViewRow::NotificationRates(r) => (
            "notification_rates",
            json(serde_json::to_value(NotificationRatesJson::from(r))),
        ),
        ViewRow::NotificationBounces(r) => (
            "notification_bounces",
            json(serde_json::to_value(NotificationBouncesJson::from(r))),
        ),
        ViewRow::OrderMetrics(r) => (
            "order_metrics",
            json(serde_json::to_value(OrderMetricsJson::from(r))),
        ),
        ViewRow::OrderCancellations(r) => (
            "order_cancellations",
            json(serde_json::to_value(OrderCancellationsJson::from(r))),
        ),
        ViewRow::InventoryLevels(r) => (
            "inventory_levels",
            json(serde_json::to_value(InventoryLevelsJson::from(r))),
        ),
        ViewRow::CaseBacklog(r) => (
            "case_backlog",
            json(serde_json::to_value(CaseBacklogJson::from(r))),
        ),
        ViewRow::SlaCompliance(r) => (
            "sla_compliance",
            json(serde_json::to_value(SlaComplianceJson::from(r))),
        ),
        ViewRow::OpenCaseSla(r) => (
            "open_case_sla",
            json(serde_json::to_value(OpenCaseSlaJson::from(r))),
        ),
        ViewRow::Timeline(r) => (
            "timelines",
            json(serde_json::to_value(TimelineJson::from(r))),
        ),
        ViewRow::TopicHealth(r) => (
            "pipeline_health",
            json(serde_json::to_value(TopicHealthJson::from(r))),
        ),
        ViewRow::OpenCase(_) | ViewRow::AsOf(_) | ViewRow::Watermark(_) => return None,
    };
    value.map(|v| (view, v))
}
