//! The rows of every view of VIEWS.md, shared by the dataflows, the oracle and the sinks.
//!
//! Rows hold exact integers only (counts, cents, micro-hours); rates and averages are
//! derived by the methods here, so every producer of a row derives them the same way.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::MicroHours;
use crate::money::CentsTotal;
use crate::time::{Granularity, Micros};

/// A ratio as VIEWS.md defines rates: `None` when the denominator is 0.
pub fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator != 0).then(|| numerator as f64 / denominator as f64)
}

/// The names of the views, as used for files, tables and routes.
pub const VIEW_NAMES: [&str; 10] = [
    "notification_rates",
    "notification_bounces",
    "order_metrics",
    "order_cancellations",
    "inventory_levels",
    "case_backlog",
    "sla_compliance",
    "open_case_sla",
    "timelines",
    "pipeline_health",
];

/// `notification_rates`: the send-time cohort of notifications.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NotificationRates {
    /// Tenant of the earliest send.
    pub tenant_id: String,
    /// Channel of the earliest send.
    pub channel: String,
    /// Provider of the earliest send.
    pub provider: String,
    /// Window size.
    pub granularity: Granularity,
    /// Earliest send time floored to the granularity.
    pub window_start: Micros,
    /// Distinct notifications sent.
    pub sent: i64,
    /// ... delivered.
    pub delivered: i64,
    /// ... opened.
    pub opened: i64,
    /// ... clicked.
    pub clicked: i64,
    /// ... converted.
    pub converted: i64,
    /// ... bounced (any type).
    pub bounced: i64,
    /// ... hard-bounced.
    pub hard_bounced: i64,
    /// ... failed.
    pub failed: i64,
    /// ... whose earliest send used a channel other than the preferred one.
    pub fallback: i64,
    /// Sum of the cost of the earliest sends, in minor units.
    pub cost_total: CentsTotal,
}

impl NotificationRates {
    /// `delivered / sent`.
    pub fn delivery_rate(&self) -> Option<f64> {
        rate(self.delivered, self.sent)
    }
    /// `bounced / sent`.
    pub fn bounce_rate(&self) -> Option<f64> {
        rate(self.bounced, self.sent)
    }
    /// `failed / sent`.
    pub fn failure_rate(&self) -> Option<f64> {
        rate(self.failed, self.sent)
    }
    /// `opened / delivered`.
    pub fn open_rate(&self) -> Option<f64> {
        rate(self.opened, self.delivered)
    }
    /// `clicked / delivered`.
    pub fn click_rate(&self) -> Option<f64> {
        rate(self.clicked, self.delivered)
    }
    /// `converted / delivered`.
    pub fn conversion_rate(&self) -> Option<f64> {
        rate(self.converted, self.delivered)
    }
}

/// `notification_bounces`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NotificationBounces {
    /// Tenant of the send.
    pub tenant_id: String,
    /// Channel of the send.
    pub channel: String,
    /// Day of the earliest send.
    pub day: Micros,
    /// `HARD` or `SOFT`.
    pub bounce_type: String,
    /// Bounce reason, `unspecified` when absent.
    pub reason: String,
    /// Distinct notifications that bounced so.
    pub notifications: i64,
}

/// `order_metrics`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderMetrics {
    /// Tenant of the order's creation.
    pub tenant_id: String,
    /// Window size.
    pub granularity: Granularity,
    /// Creation time floored to the granularity.
    pub window_start: Micros,
    /// Orders created.
    pub orders_created: i64,
    /// ... now confirmed.
    pub orders_confirmed: i64,
    /// ... now cancelled.
    pub orders_cancelled: i64,
    /// ... neither.
    pub orders_pending: i64,
    /// Total of confirmed orders, minor units.
    pub revenue_confirmed_total: CentsTotal,
    /// Total of cancelled orders, minor units.
    pub revenue_lost_total: CentsTotal,
    /// Total of pending orders, minor units.
    pub revenue_pending_total: CentsTotal,
}

impl OrderMetrics {
    /// `orders_cancelled / orders_created`.
    pub fn cancellation_rate(&self) -> Option<f64> {
        rate(self.orders_cancelled, self.orders_created)
    }
}

/// `order_cancellations`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderCancellations {
    /// Tenant of the order.
    pub tenant_id: String,
    /// Reason of the order's latest cancel.
    pub reason: String,
    /// Orders currently cancelled with that reason.
    pub orders: i64,
}

/// `inventory_levels`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InventoryLevels {
    /// Tenant of the inventory events.
    pub tenant_id: String,
    /// Stock keeping unit.
    pub sku: String,
    /// Latest stock count plus later adjustments.
    pub on_hand: i64,
    /// Units reserved by orders not released.
    pub reserved: i64,
    /// `on_hand - reserved`.
    pub available: i64,
    /// `INSUFFICIENT_STOCK` events for the sku.
    pub insufficient_stock_events: i64,
}

/// `case_backlog`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CaseBacklog {
    /// Department.
    pub dependencia_id: i64,
    /// Current state.
    pub estado: String,
    /// Cases.
    pub cases: i64,
}

/// `sla_compliance`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlaCompliance {
    /// Case's current department.
    pub dependencia_id: i64,
    /// Case's current priority (`None` when the case never had one).
    pub prioridad: Option<String>,
    /// Day of the deciding SLA event, or of `fecha_cierre` for the closed columns.
    pub day: Micros,
    /// Cases whose SLA was met.
    pub met: i64,
    /// Cases whose SLA was violated.
    pub violated: i64,
    /// Cases closed that day.
    pub closed: i64,
    /// Sum of `tiempo_total_horas` of the closed cases that have it, in micro-hours.
    pub resolution_micro_hours_sum: MicroHours,
    /// How many closed cases have `tiempo_total_horas`.
    pub resolution_count: i64,
    /// Sum of `satisfaccion_ciudadano` of the closed cases that have it.
    pub satisfaction_sum: i64,
    /// How many closed cases have `satisfaccion_ciudadano`.
    pub satisfaction_count: i64,
}

impl SlaCompliance {
    /// `met / (met + violated)`.
    pub fn compliance_rate(&self) -> Option<f64> {
        rate(self.met, self.met + self.violated)
    }
    /// Mean `tiempo_total_horas` of the closed cases that have it.
    pub fn avg_resolution_hours(&self) -> Option<f64> {
        (self.resolution_count != 0)
            .then(|| self.resolution_micro_hours_sum as f64 / 1e6 / self.resolution_count as f64)
    }
    /// Mean `satisfaccion_ciudadano` of the closed cases that have it.
    pub fn avg_satisfaction(&self) -> Option<f64> {
        rate(self.satisfaction_sum, self.satisfaction_count)
    }
}

/// SLA clock status of an open case at `as_of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlaStatus {
    /// `as_of > due_at`.
    Breached,
    /// `due_at - as_of <= 0.2 * sla_hours`.
    AtRisk,
    /// Otherwise.
    OnTrack,
}

impl SlaStatus {
    /// The status at `as_of` of a case due at `due_at` with an SLA of `sla` micro-hours.
    pub fn at(as_of: Micros, due_at: Micros, sla: MicroHours) -> SlaStatus {
        // 0.2 * sla_hours, in microseconds, compared exactly: (due - as_of) * 5 <= sla_us.
        let sla_us = sla as i128 * 3_600;
        if as_of > due_at {
            SlaStatus::Breached
        } else if (due_at as i128 - as_of as i128) * 5 <= sla_us {
            SlaStatus::AtRisk
        } else {
            SlaStatus::OnTrack
        }
    }

    /// `BREACHED`, `AT_RISK` or `ON_TRACK`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaStatus::Breached => "BREACHED",
            SlaStatus::AtRisk => "AT_RISK",
            SlaStatus::OnTrack => "ON_TRACK",
        }
    }
}

/// The due time of a case created at `fecha_creacion` with an SLA of `sla` micro-hours.
pub fn due_at(fecha_creacion: Micros, sla: MicroHours) -> Micros {
    fecha_creacion.saturating_add(sla.saturating_mul(3_600))
}

/// The default SLA: 168 hours.
pub const DEFAULT_SLA_MICRO_HOURS: MicroHours = 168_000_000;

/// `open_case_sla`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpenCaseSla {
    /// Department.
    pub dependencia_id: i64,
    /// Current priority.
    pub prioridad: Option<String>,
    /// Clock status at `as_of`.
    pub status: SlaStatus,
    /// Open cases.
    pub cases: i64,
}

/// One open case and its SLA clock (the API's per-status listing).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpenCase {
    /// Department.
    pub dependencia_id: i64,
    /// Current priority.
    pub prioridad: Option<String>,
    /// Clock status at `as_of`.
    pub status: SlaStatus,
    /// When the SLA runs out.
    pub due_at: Micros,
    /// The case.
    pub caso_id: i64,
    /// `CRV-YYYY-NNNNNNNN`.
    pub numero_caso: String,
}

/// One entry of an entity's timeline.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// `order`, `sku`, `notification`, `caso`, `ciudadano`, or a tracking entity type.
    pub entity_type: Arc<str>,
    /// The entity.
    pub entity_id: Arc<str>,
    /// Event time.
    pub timestamp: Micros,
    /// The event's id.
    pub event_id: Arc<str>,
    /// The topic it came from.
    pub topic: Arc<str>,
    /// Its type (`evento_tipo` for envelope B).
    pub event_type: Arc<str>,
    /// JSON text of the few fields a person reads first.
    pub summary: Arc<str>,
}

/// Per-topic counters of `pipeline_health` that a replay knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicHealth {
    /// Kafka topic name.
    pub topic: String,
    /// Records read.
    pub records: i64,
    /// Records rejected, per reason in the order of [`crate::RejectReason::ALL`].
    pub rejected: [i64; crate::RejectReason::ALL.len()],
    /// Accepted records whose idempotency key had already been seen.
    pub duplicates: i64,
    /// Events whose defining event is missing (not counted in the views yet).
    pub orphan_events: i64,
}

impl TopicHealth {
    /// All rejected records of the topic.
    pub fn rejected_total(&self) -> i64 {
        self.rejected.iter().sum()
    }
}

/// Every view's rows at one point (each list sorted by its derived order), as produced by a
/// replay, the oracle, or read back from the files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSet {
    /// The instant `open_case_sla` was graded at.
    pub as_of: Option<Micros>,
    /// `notification_rates`, all three granularities.
    pub notification_rates: Vec<NotificationRates>,
    /// `notification_bounces`.
    pub notification_bounces: Vec<NotificationBounces>,
    /// `order_metrics`, all three granularities.
    pub order_metrics: Vec<OrderMetrics>,
    /// `order_cancellations`.
    pub order_cancellations: Vec<OrderCancellations>,
    /// `inventory_levels`.
    pub inventory_levels: Vec<InventoryLevels>,
    /// `case_backlog`.
    pub case_backlog: Vec<CaseBacklog>,
    /// `sla_compliance`.
    pub sla_compliance: Vec<SlaCompliance>,
    /// `open_case_sla`.
    pub open_case_sla: Vec<OpenCaseSla>,
    /// The open cases behind `open_case_sla`.
    pub open_cases: Vec<OpenCase>,
    /// `timelines`.
    pub timelines: Vec<TimelineEntry>,
    /// Per-topic counters of `pipeline_health` (every topic with at least one record).
    pub pipeline_health: Vec<TopicHealth>,
}

impl ViewSet {
    /// Sorts every list into its canonical order, so two sets compare with `==`.
    pub fn sort(&mut self) {
        self.notification_rates.sort();
        self.notification_bounces.sort();
        self.order_metrics.sort();
        self.order_cancellations.sort();
        self.inventory_levels.sort();
        self.case_backlog.sort();
        self.sla_compliance.sort();
        self.open_case_sla.sort();
        self.open_cases.sort();
        self.timelines.sort();
        self.pipeline_health.sort();
    }
}

/// One row of one view: the unit of the engine's view-change stream that every sink and the
/// serving store consume as `(row, diff)` pairs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ViewRow {
    /// A `notification_rates` row.
    NotificationRates(NotificationRates),
    /// A `notification_bounces` row.
    NotificationBounces(NotificationBounces),
    /// An `order_metrics` row.
    OrderMetrics(OrderMetrics),
    /// An `order_cancellations` row.
    OrderCancellations(OrderCancellations),
    /// An `inventory_levels` row.
    InventoryLevels(InventoryLevels),
    /// A `case_backlog` row.
    CaseBacklog(CaseBacklog),
    /// A `sla_compliance` row.
    SlaCompliance(SlaCompliance),
    /// An `open_case_sla` row.
    OpenCaseSla(OpenCaseSla),
    /// One graded open case.
    OpenCase(OpenCase),
    /// A `timelines` entry.
    Timeline(TimelineEntry),
    /// A per-topic `pipeline_health` row.
    TopicHealth(TopicHealth),
    /// The instant open cases are graded at.
    AsOf(Micros),
    /// The greatest accepted event time so far (VIEWS.md, "Retention"): windowed rows and
    /// timeline entries it has expired leave the served views for the sinks' history. Not a
    /// row of any view: [`ViewSet::from_rows`] skips it.
    Watermark(Micros),
}

impl ViewSet {
    /// Builds a set from the rows present (the caller passes each row once).
    pub fn from_rows(rows: impl IntoIterator<Item = ViewRow>) -> ViewSet {
        let mut set = ViewSet::default();
        for row in rows {
            match row {
                ViewRow::NotificationRates(r) => set.notification_rates.push(r),
                ViewRow::NotificationBounces(r) => set.notification_bounces.push(r),
                ViewRow::OrderMetrics(r) => set.order_metrics.push(r),
                ViewRow::OrderCancellations(r) => set.order_cancellations.push(r),
                ViewRow::InventoryLevels(r) => set.inventory_levels.push(r),
                ViewRow::CaseBacklog(r) => set.case_backlog.push(r),
                ViewRow::SlaCompliance(r) => set.sla_compliance.push(r),
                ViewRow::OpenCaseSla(r) => set.open_case_sla.push(r),
                ViewRow::OpenCase(r) => set.open_cases.push(r),
                ViewRow::Timeline(r) => set.timelines.push(r),
                ViewRow::TopicHealth(r) => set.pipeline_health.push(r),
                ViewRow::AsOf(t) => set.as_of = Some(t),
                ViewRow::Watermark(_) => {}
            }
        }
        set.sort();
        set
    }
}
