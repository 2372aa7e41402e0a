//! The rows of every view of VIEWS.md, shared by the dataflows, the oracle and the sinks.
//!
//! Rows hold exact integers only (counts, cents, micro-hours); rates and averages are
//! derived by the methods here, so every producer of a row derives them the same way.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::MicroHours;
use crate::money::CentsTotal;
use crate::registry::{self, Member, RowVisitor};
use crate::time::{Granularity, Micros};

/// A ratio as VIEWS.md defines rates: `None` when the denominator is 0.
pub fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator != 0).then(|| numerator as f64 / denominator as f64)
}

pub mod changes;
mod notifications_v2;
mod timeline_order;

pub use changes::{consolidate_by, consolidate_rows, EpochChanges, Run};
pub use notifications_v2::{NotificationFailures, NotificationLatency, NotificationVariants};

/// The names of the views served at `/v1/views/{view}`, in registry order (every view but
/// `open_cases`), as used for files, tables and routes.
pub const VIEW_NAMES: [&str; registry::served_count()] = registry::served_names();

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
    /// Currency of the order's creation (`USD` when it names none).
    pub currency: String,
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
///
/// Entries are ordered (and compared) field by field, in the order below, by the texts'
/// bytes; two texts that are one shared allocation (interned names, an event's id and summary)
/// are equal without reading them.
#[derive(Clone, Debug, Serialize, Deserialize)]
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

impl TimelineEntry {
    /// Its six texts, in field order: entity type, entity id, event id, topic, event type and
    /// summary.
    pub fn texts(&self) -> [&str; 6] {
        [
            &self.entity_type,
            &self.entity_id,
            &self.event_id,
            &self.topic,
            &self.event_type,
            &self.summary,
        ]
    }
}

/// `tracking_activity`: the deduplicated `tracking.events` per entity and event type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrackingActivity {
    /// Tenant of the events (`default` when they name none).
    pub tenant_id: String,
    /// The tracked entities' type (`shipment`, `bag`...).
    pub entity_type: String,
    /// The events' type (`PICKED_UP`, `DELIVERED`...).
    pub event_type: String,
    /// Window size.
    pub granularity: Granularity,
    /// Event time floored to the granularity.
    pub window_start: Micros,
    /// Events.
    pub events: i64,
    /// Distinct `entity_id` among them.
    pub entities: i64,
}

/// `tenant_activity`: every deduplicated accepted event, per tenant and topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TenantActivity {
    /// The event's tenant: envelope A `tenant_id` (default `default`), the Conecta360 tenant
    /// for envelope B, the `original_notification`'s for `notifications.dlq`.
    pub tenant_id: String,
    /// Kafka topic name.
    pub topic: String,
    /// Window size.
    pub granularity: Granularity,
    /// Event time (`failure_timestamp` for `notifications.dlq`) floored to the granularity.
    pub window_start: Micros,
    /// Events.
    pub events: i64,
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

/// Generates [`ViewSet`], [`ViewRow`] and their conversions from the registry's list.
macro_rules! view_set {
    ($($ty:ident $field:ident $variant:ident;)*) => {
        /// Every view's rows at one point (each list sorted by its derived order), as produced
        /// by a replay, the oracle, or read back from the files.
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct ViewSet {
            /// The instant `open_case_sla` was graded at.
            pub as_of: Option<Micros>,
            $(
                #[doc = concat!("The rows of `", stringify!($field), "`.")]
                pub $field: Vec<$ty>,
            )*
        }

        /// One row of one view: the unit of the engine's view-change stream that every sink
        /// and the serving store consume as `(row, diff)` pairs.
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum ViewRow {
            $(
                #[doc = concat!("A `", stringify!($field), "` row.")]
                $variant($ty),
            )*
            /// The instant open cases are graded at.
            AsOf(Micros),
            /// The greatest accepted event time so far (VIEWS.md, "Retention"): windowed rows
            /// and timeline entries it has expired leave the served views for the sinks'
            /// history. Not a row of any view: [`ViewSet::from_rows`] skips it.
            Watermark(Micros),
        }

        $(
            impl Member for $ty {
                fn rows(set: &ViewSet) -> &Vec<Self> {
                    &set.$field
                }
                fn rows_mut(set: &mut ViewSet) -> &mut Vec<Self> {
                    &mut set.$field
                }
                fn into_row(self) -> ViewRow {
                    ViewRow::$variant(self)
                }
            }
        )*

        impl ViewSet {
            /// Sorts every list into its canonical order, so two sets compare with `==`.
            pub fn sort(&mut self) {
                $(self.$field.sort();)*
            }

            /// Builds a set from the rows present (the caller passes each row once).
            pub fn from_rows(rows: impl IntoIterator<Item = ViewRow>) -> ViewSet {
                let mut set = ViewSet::default();
                for row in rows {
                    match row {
                        $(ViewRow::$variant(r) => set.$field.push(r),)*
                        ViewRow::AsOf(t) => set.as_of = Some(t),
                        ViewRow::Watermark(_) => {}
                    }
                }
                set.sort();
                set
            }

            /// Every row of the set (and its `as_of`, when set) as a [`ViewRow`], view by view.
            pub fn rows(&self) -> impl Iterator<Item = ViewRow> + '_ {
                let rows = std::iter::empty();
                $(let rows = rows.chain(self.$field.iter().cloned().map(ViewRow::$variant));)*
                rows.chain(self.as_of.map(ViewRow::AsOf))
            }

            /// [`ViewSet::rows`], consuming the set.
            pub fn into_rows(self) -> impl Iterator<Item = ViewRow> {
                let rows = std::iter::empty();
                $(let rows = rows.chain(self.$field.into_iter().map(ViewRow::$variant));)*
                rows.chain(self.as_of.map(ViewRow::AsOf))
            }
        }

        impl ViewRow {
            /// Calls `visitor` with the row typed by its view; `None` for `AsOf` and
            /// `Watermark`, which are rows of no view.
            pub fn visit<'a, R: RowVisitor<'a>>(&'a self, visitor: R) -> Option<R::Output> {
                match self {
                    $(ViewRow::$variant(r) => Some(visitor.visit(r)),)*
                    ViewRow::AsOf(_) | ViewRow::Watermark(_) => None,
                }
            }
        }
    };
}

crate::for_each_view!(view_set);
