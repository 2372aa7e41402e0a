//! The tables of every view: the columns of `VIEWS.md` in the order of the Parquet files, the
//! key columns of each view, the decoding of each view's rows, and the SQL that creates the
//! storage tables and the views over them.

use pulso_events::time::Micros;
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, TimelineEntry, TopicHealth, ViewRow, ViewSet,
};
use pulso_events::RejectReason;

use super::schema::{Table, STORE_SUFFIX};

/// The view holding the instant `open_case_sla` was graded at (`ViewSet::as_of`).
pub const AS_OF_VIEW: &str = "as_of";

/// The single row of the `as_of` view.
pub(crate) struct AsOfRow {
    as_of: Micros,
}

/// What the sink needs of a table whatever its row type.
pub(crate) trait AnyTable: Send + Sync {
    /// The view's name.
    fn name(&self) -> &'static str;
    /// `CREATE TABLE IF NOT EXISTS <db>.<view>_store ...`.
    fn create_store_sql(&self, db: &str) -> String;
    /// `CREATE VIEW IF NOT EXISTS <db>.<view> AS SELECT ... FINAL WHERE is_deleted = 0`.
    fn create_view_sql(&self, db: &str) -> String;
    /// `INSERT INTO <db>.<view>_store (...) FORMAT RowBinary`.
    fn insert_sql(&self, db: &str) -> String;
    /// The names of the view's columns, in order.
    fn view_column_names(&self) -> Vec<String>;
    /// The names of the storage table's columns, in order.
    fn store_column_names(&self) -> Vec<String>;
    /// Decodes the view's RowBinary answer into `views`.
    fn decode_into(&self, data: &[u8], views: &mut ViewSet) -> Result<(), super::ClickHouseError>;
}

impl<T: 'static> AnyTable for Table<T> {
    fn name(&self) -> &'static str {
        self.view()
    }

    fn create_store_sql(&self, db: &str) -> String {
        let columns: Vec<String> = self
            .store_columns()
            .into_iter()
            .map(|(name, ty)| format!("{name} {ty}"))
            .collect();
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.{}{STORE_SUFFIX} ({}) \
             ENGINE = ReplacingMergeTree(version) ORDER BY ({})",
            self.view(),
            columns.join(", "),
            self.order_by().join(", ")
        )
    }

    fn create_view_sql(&self, db: &str) -> String {
        let columns: Vec<String> = self
            .view_columns()
            .into_iter()
            .map(|(expr, name)| {
                if expr == name {
                    name
                } else {
                    format!("{expr} AS {name}")
                }
            })
            .collect();
        format!(
            "CREATE VIEW IF NOT EXISTS {db}.{v} AS SELECT {} FROM {db}.{v}{STORE_SUFFIX} FINAL \
             WHERE is_deleted = 0",
            columns.join(", "),
            v = self.view()
        )
    }

    fn insert_sql(&self, db: &str) -> String {
        let columns: Vec<String> = self.store_columns().into_iter().map(|(n, _)| n).collect();
        format!(
            "INSERT INTO {db}.{}{STORE_SUFFIX} ({}) FORMAT RowBinary",
            self.view(),
            columns.join(", ")
        )
    }

    fn view_column_names(&self) -> Vec<String> {
        self.view_columns().into_iter().map(|(_, n)| n).collect()
    }

    fn store_column_names(&self) -> Vec<String> {
        self.store_columns().into_iter().map(|(n, _)| n).collect()
    }

    fn decode_into(&self, data: &[u8], views: &mut ViewSet) -> Result<(), super::ClickHouseError> {
        Table::decode_into(self, data, views)
    }
}

/// Every view's table.
pub(crate) struct Tables {
    notification_rates: Table<NotificationRates>,
    notification_bounces: Table<NotificationBounces>,
    order_metrics: Table<OrderMetrics>,
    order_cancellations: Table<OrderCancellations>,
    inventory_levels: Table<InventoryLevels>,
    case_backlog: Table<CaseBacklog>,
    sla_compliance: Table<SlaCompliance>,
    open_case_sla: Table<OpenCaseSla>,
    open_cases: Table<OpenCase>,
    timelines: Table<TimelineEntry>,
    pipeline_health: Table<TopicHealth>,
    as_of: Table<AsOfRow>,
}

/// Runs `$body` with `$table` the table of `$row` (a `&ViewRow`), `$r` the typed row and
/// `$index` the table's position in [`Tables::all`].
macro_rules! dispatch {
    ($tables:expr, $row:expr, |$table:ident, $r:ident, $index:ident| $body:expr) => {
        match $row {
            ViewRow::NotificationRates($r) => {
                let ($table, $index) = (&$tables.notification_rates, 0usize);
                $body
            }
            ViewRow::NotificationBounces($r) => {
                let ($table, $index) = (&$tables.notification_bounces, 1usize);
                $body
            }
            ViewRow::OrderMetrics($r) => {
                let ($table, $index) = (&$tables.order_metrics, 2usize);
                $body
            }
            ViewRow::OrderCancellations($r) => {
                let ($table, $index) = (&$tables.order_cancellations, 3usize);
                $body
            }
            ViewRow::InventoryLevels($r) => {
                let ($table, $index) = (&$tables.inventory_levels, 4usize);
                $body
            }
            ViewRow::CaseBacklog($r) => {
                let ($table, $index) = (&$tables.case_backlog, 5usize);
                $body
            }
            ViewRow::SlaCompliance($r) => {
                let ($table, $index) = (&$tables.sla_compliance, 6usize);
                $body
            }
            ViewRow::OpenCaseSla($r) => {
                let ($table, $index) = (&$tables.open_case_sla, 7usize);
                $body
            }
            ViewRow::OpenCase($r) => {
                let ($table, $index) = (&$tables.open_cases, 8usize);
                $body
            }
            ViewRow::Timeline($r) => {
                let ($table, $index) = (&$tables.timelines, 9usize);
                $body
            }
            ViewRow::TopicHealth($r) => {
                let ($table, $index) = (&$tables.pipeline_health, 10usize);
                $body
            }
            ViewRow::AsOf(t) => {
                let value = AsOfRow { as_of: *t };
                let ($table, $r, $index) = (&$tables.as_of, &value, 11usize);
                $body
            }
            ViewRow::Watermark(_) => {
                unreachable!("the sink filters the watermark out: no table stores it")
            }
        }
    };
}

impl Tables {
    /// How many tables there are.
    pub(crate) const COUNT: usize = 12;

    /// Every table, in `VIEWS.md` order (`open_cases` after `open_case_sla`), then `as_of`.
    pub(crate) fn all(&self) -> [&dyn AnyTable; Self::COUNT] {
        [
            &self.notification_rates,
            &self.notification_bounces,
            &self.order_metrics,
            &self.order_cancellations,
            &self.inventory_levels,
            &self.case_backlog,
            &self.sla_compliance,
            &self.open_case_sla,
            &self.open_cases,
            &self.timelines,
            &self.pipeline_health,
            &self.as_of,
        ]
    }

    /// The position of `row`'s table in [`Self::all`], and its key appended to `out`.
    pub(crate) fn encode_key(&self, row: &ViewRow, out: &mut Vec<u8>) -> usize {
        dispatch!(self, row, |table, r, index| {
            table.encode_key(r, out);
            index
        })
    }

    /// Appends `row` in RowBinary as a row of its storage table.
    pub(crate) fn encode_row(&self, row: &ViewRow, version: u64, deleted: bool, out: &mut Vec<u8>) {
        dispatch!(self, row, |table, r, _index| table
            .encode_row(r, version, deleted, out))
    }

    /// The tables of every view.
    pub(crate) fn new() -> Self {
        Tables {
            notification_rates: notification_rates(),
            notification_bounces: notification_bounces(),
            order_metrics: order_metrics(),
            order_cancellations: order_cancellations(),
            inventory_levels: inventory_levels(),
            case_backlog: case_backlog(),
            sla_compliance: sla_compliance(),
            open_case_sla: open_case_sla(),
            open_cases: open_cases(),
            timelines: timelines(),
            pipeline_health: pipeline_health(),
            as_of: as_of(),
        }
    }
}

const KEY: bool = true;
const VALUE: bool = false;

fn notification_rates() -> Table<NotificationRates> {
    Table::new(
        "notification_rates",
        |r| {
            Ok(NotificationRates {
                tenant_id: r.string("tenant_id")?,
                channel: r.string("channel")?,
                provider: r.string("provider")?,
                granularity: r.granularity("granularity")?,
                window_start: r.time("window_start")?,
                sent: r.int64("sent")?,
                delivered: r.int64("delivered")?,
                opened: r.int64("opened")?,
                clicked: r.int64("clicked")?,
                converted: r.int64("converted")?,
                bounced: r.int64("bounced")?,
                hard_bounced: r.int64("hard_bounced")?,
                failed: r.int64("failed")?,
                fallback: r.int64("fallback")?,
                cost_total: r.money("cost_total")?,
            })
        },
        |row, views| views.notification_rates.push(row),
    )
    .str("tenant_id", KEY, |r| &r.tenant_id)
    .str("channel", KEY, |r| &r.channel)
    .str("provider", KEY, |r| &r.provider)
    .str("granularity", KEY, |r| r.granularity.as_str())
    .time("window_start", KEY, |r| r.window_start)
    .int("sent", VALUE, |r| r.sent)
    .int("delivered", VALUE, |r| r.delivered)
    .int("opened", VALUE, |r| r.opened)
    .int("clicked", VALUE, |r| r.clicked)
    .int("converted", VALUE, |r| r.converted)
    .int("bounced", VALUE, |r| r.bounced)
    .int("hard_bounced", VALUE, |r| r.hard_bounced)
    .int("failed", VALUE, |r| r.failed)
    .int("fallback", VALUE, |r| r.fallback)
    .money("cost_total", |r| r.cost_total)
    .rate("delivery_rate", NotificationRates::delivery_rate)
    .rate("bounce_rate", NotificationRates::bounce_rate)
    .rate("failure_rate", NotificationRates::failure_rate)
    .rate("open_rate", NotificationRates::open_rate)
    .rate("click_rate", NotificationRates::click_rate)
    .rate("conversion_rate", NotificationRates::conversion_rate)
}

fn notification_bounces() -> Table<NotificationBounces> {
    Table::new(
        "notification_bounces",
        |r| {
            Ok(NotificationBounces {
                tenant_id: r.string("tenant_id")?,
                channel: r.string("channel")?,
                day: r.time("day")?,
                bounce_type: r.string("bounce_type")?,
                reason: r.string("reason")?,
                notifications: r.int64("notifications")?,
            })
        },
        |row, views| views.notification_bounces.push(row),
    )
    .str("tenant_id", KEY, |r| &r.tenant_id)
    .str("channel", KEY, |r| &r.channel)
    .time("day", KEY, |r| r.day)
    .str("bounce_type", KEY, |r| &r.bounce_type)
    .str("reason", KEY, |r| &r.reason)
    .int("notifications", VALUE, |r| r.notifications)
}

fn order_metrics() -> Table<OrderMetrics> {
    Table::new(
        "order_metrics",
        |r| {
            Ok(OrderMetrics {
                tenant_id: r.string("tenant_id")?,
                granularity: r.granularity("granularity")?,
                window_start: r.time("window_start")?,
                orders_created: r.int64("orders_created")?,
                orders_confirmed: r.int64("orders_confirmed")?,
                orders_cancelled: r.int64("orders_cancelled")?,
                orders_pending: r.int64("orders_pending")?,
                revenue_confirmed_total: r.money("revenue_confirmed_total")?,
                revenue_lost_total: r.money("revenue_lost_total")?,
                revenue_pending_total: r.money("revenue_pending_total")?,
            })
        },
        |row, views| views.order_metrics.push(row),
    )
    .str("tenant_id", KEY, |r| &r.tenant_id)
    .str("granularity", KEY, |r| r.granularity.as_str())
    .time("window_start", KEY, |r| r.window_start)
    .int("orders_created", VALUE, |r| r.orders_created)
    .int("orders_confirmed", VALUE, |r| r.orders_confirmed)
    .int("orders_cancelled", VALUE, |r| r.orders_cancelled)
    .int("orders_pending", VALUE, |r| r.orders_pending)
    .money("revenue_confirmed_total", |r| r.revenue_confirmed_total)
    .money("revenue_lost_total", |r| r.revenue_lost_total)
    .money("revenue_pending_total", |r| r.revenue_pending_total)
    .rate("cancellation_rate", OrderMetrics::cancellation_rate)
}

fn order_cancellations() -> Table<OrderCancellations> {
    Table::new(
        "order_cancellations",
        |r| {
            Ok(OrderCancellations {
                tenant_id: r.string("tenant_id")?,
                reason: r.string("reason")?,
                orders: r.int64("orders")?,
            })
        },
        |row, views| views.order_cancellations.push(row),
    )
    .str("tenant_id", KEY, |r| &r.tenant_id)
    .str("reason", KEY, |r| &r.reason)
    .int("orders", VALUE, |r| r.orders)
}

fn inventory_levels() -> Table<InventoryLevels> {
    Table::new(
        "inventory_levels",
        |r| {
            Ok(InventoryLevels {
                tenant_id: r.string("tenant_id")?,
                sku: r.string("sku")?,
                on_hand: r.int64("on_hand")?,
                reserved: r.int64("reserved")?,
                available: r.int64("available")?,
                insufficient_stock_events: r.int64("insufficient_stock_events")?,
            })
        },
        |row, views| views.inventory_levels.push(row),
    )
    .str("tenant_id", KEY, |r| &r.tenant_id)
    .str("sku", KEY, |r| &r.sku)
    .int("on_hand", VALUE, |r| r.on_hand)
    .int("reserved", VALUE, |r| r.reserved)
    .int("available", VALUE, |r| r.available)
    .int("insufficient_stock_events", VALUE, |r| {
        r.insufficient_stock_events
    })
}

fn case_backlog() -> Table<CaseBacklog> {
    Table::new(
        "case_backlog",
        |r| {
            Ok(CaseBacklog {
                dependencia_id: r.int64("dependencia_id")?,
                estado: r.string("estado")?,
                cases: r.int64("cases")?,
            })
        },
        |row, views| views.case_backlog.push(row),
    )
    .int("dependencia_id", KEY, |r| r.dependencia_id)
    .str("estado", KEY, |r| &r.estado)
    .int("cases", VALUE, |r| r.cases)
}

fn sla_compliance() -> Table<SlaCompliance> {
    Table::new(
        "sla_compliance",
        |r| {
            Ok(SlaCompliance {
                dependencia_id: r.int64("dependencia_id")?,
                prioridad: r.opt_string("prioridad")?,
                day: r.time("day")?,
                met: r.int64("met")?,
                violated: r.int64("violated")?,
                closed: r.int64("closed")?,
                resolution_micro_hours_sum: r.int64("resolution_micro_hours_sum")?,
                resolution_count: r.int64("resolution_count")?,
                satisfaction_sum: r.int64("satisfaction_sum")?,
                satisfaction_count: r.int64("satisfaction_count")?,
            })
        },
        |row, views| views.sla_compliance.push(row),
    )
    .int("dependencia_id", KEY, |r| r.dependencia_id)
    .opt_str("prioridad", KEY, |r| r.prioridad.as_deref())
    .time("day", KEY, |r| r.day)
    .int("met", VALUE, |r| r.met)
    .int("violated", VALUE, |r| r.violated)
    .rate("compliance_rate", SlaCompliance::compliance_rate)
    .int("closed", VALUE, |r| r.closed)
    .rate("avg_resolution_hours", SlaCompliance::avg_resolution_hours)
    .rate("avg_satisfaction", SlaCompliance::avg_satisfaction)
    // The exact sums and counts behind the averages, after the VIEWS.md columns (as in the
    // Parquet file), so the rows read back unchanged.
    .int("resolution_count", VALUE, |r| r.resolution_count)
    .int("satisfaction_count", VALUE, |r| r.satisfaction_count)
    .int("resolution_micro_hours_sum", VALUE, |r| {
        r.resolution_micro_hours_sum
    })
    .int("satisfaction_sum", VALUE, |r| r.satisfaction_sum)
}

fn open_case_sla() -> Table<OpenCaseSla> {
    Table::new(
        "open_case_sla",
        |r| {
            Ok(OpenCaseSla {
                dependencia_id: r.int64("dependencia_id")?,
                prioridad: r.opt_string("prioridad")?,
                status: r.status("status")?,
                cases: r.int64("cases")?,
            })
        },
        |row, views| views.open_case_sla.push(row),
    )
    .int("dependencia_id", KEY, |r| r.dependencia_id)
    .opt_str("prioridad", KEY, |r| r.prioridad.as_deref())
    .str("status", KEY, |r| r.status.as_str())
    .int("cases", VALUE, |r| r.cases)
}

fn open_cases() -> Table<OpenCase> {
    Table::new(
        "open_cases",
        |r| {
            Ok(OpenCase {
                dependencia_id: r.int64("dependencia_id")?,
                prioridad: r.opt_string("prioridad")?,
                status: r.status("status")?,
                due_at: r.time("due_at")?,
                caso_id: r.int64("caso_id")?,
                numero_caso: r.string("numero_caso")?,
            })
        },
        |row, views| views.open_cases.push(row),
    )
    .int("dependencia_id", VALUE, |r| r.dependencia_id)
    .opt_str("prioridad", VALUE, |r| r.prioridad.as_deref())
    .str("status", VALUE, |r| r.status.as_str())
    .time("due_at", VALUE, |r| r.due_at)
    .int("caso_id", KEY, |r| r.caso_id)
    .str("numero_caso", VALUE, |r| &r.numero_caso)
}

fn timelines() -> Table<TimelineEntry> {
    Table::new(
        "timelines",
        |r| {
            Ok(TimelineEntry {
                entity_type: r.string("entity_type")?.into(),
                entity_id: r.string("entity_id")?.into(),
                timestamp: r.time("timestamp")?,
                event_id: r.string("event_id")?.into(),
                topic: r.string("topic")?.into(),
                event_type: r.string("event_type")?.into(),
                summary: r.string("summary")?.into(),
            })
        },
        |row, views| views.timelines.push(row),
    )
    .str("entity_type", KEY, |r| &r.entity_type)
    .str("entity_id", KEY, |r| &r.entity_id)
    .time("timestamp", KEY, |r| r.timestamp)
    .str("event_id", KEY, |r| &r.event_id)
    .str("topic", KEY, |r| &r.topic)
    .str("event_type", VALUE, |r| &r.event_type)
    .str("summary", VALUE, |r| &r.summary)
}

/// The name of the `pipeline_health` column counting rejections for `reason` (as in the
/// Parquet file).
fn rejected_column(reason: RejectReason) -> String {
    format!("rejected_{}", reason.as_str())
}

fn pipeline_health() -> Table<TopicHealth> {
    let mut table = Table::new(
        "pipeline_health",
        |r| {
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
        },
        |row, views| views.pipeline_health.push(row),
    )
    .str("topic", KEY, |r| &r.topic)
    .int("records", VALUE, |r| r.records)
    .int("rejected", VALUE, TopicHealth::rejected_total);
    for (i, reason) in RejectReason::ALL.into_iter().enumerate() {
        table = table.int(&rejected_column(reason), VALUE, move |r| r.rejected[i]);
    }
    table
        .int("duplicates", VALUE, |r| r.duplicates)
        .int("orphan_events", VALUE, |r| r.orphan_events)
}

fn as_of() -> Table<AsOfRow> {
    Table::new(
        AS_OF_VIEW,
        |r| {
            Ok(AsOfRow {
                as_of: r.time("as_of")?,
            })
        },
        |row, views| views.as_of = Some(row.as_of),
    )
    .str("view", KEY, |_| "open_case_sla")
    .time("as_of", VALUE, |r| r.as_of)
}
