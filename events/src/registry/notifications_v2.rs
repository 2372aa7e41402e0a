//! Registry entries of the notification views added in v2: `notification_latency`,
//! `notification_failures` and `notification_variants`.

use std::borrow::Cow;

use super::ColumnType::{Int, Rate, Text, Timestamp};
use super::{Cell, CellError, Column, Expiry, Record, View};
use crate::time::{Granularity, Micros};
use crate::views::{NotificationFailures, NotificationLatency, NotificationVariants};

impl View for NotificationLatency {
    const NAME: &'static str = "notification_latency";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `notification_latency` row.";
    /// `(granularity, window_start, tenant_id, channel, provider)`, as `notification_rates`.
    type ServeKey = (Granularity, Micros, String, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("channel", Text),
            Column::key("provider", Text),
            Column::key("granularity", Text),
            Column::key("window_start", Timestamp),
            Column::value("delivered", Int),
            Column::value("latency_ms_sum", Int),
            Column::value("latency_p50_ms", Int),
            Column::value("latency_p95_ms", Int),
            Column::value("latency_max_ms", Int),
            Column::value("within_sla", Int),
            Column::derived("sla_met_rate", Rate),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.channel),
            Cell::Text(&self.provider),
            Cell::Text(self.granularity.as_str()),
            Cell::Timestamp(self.window_start),
            Cell::Int(self.delivered),
            Cell::Int(self.latency_ms_sum),
            Cell::Int(self.latency_p50_ms),
            Cell::Int(self.latency_p95_ms),
            Cell::Int(self.latency_max_ms),
            Cell::Int(self.within_sla),
            Cell::Rate(self.sla_met_rate()),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(NotificationLatency {
            tenant_id: r.text("tenant_id")?,
            channel: r.text("channel")?,
            provider: r.text("provider")?,
            granularity: r.granularity("granularity")?,
            window_start: r.timestamp("window_start")?,
            delivered: r.int("delivered")?,
            latency_ms_sum: r.int("latency_ms_sum")?,
            latency_p50_ms: r.int("latency_p50_ms")?,
            latency_p95_ms: r.int("latency_p95_ms")?,
            latency_max_ms: r.int("latency_max_ms")?,
            within_sla: r.int("within_sla")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.granularity,
            self.window_start,
            self.tenant_id.clone(),
            self.channel.clone(),
            self.provider.clone(),
        )
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Window(self.granularity, self.window_start))
    }
}

impl View for NotificationFailures {
    const NAME: &'static str = "notification_failures";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `notification_failures` row.";
    /// `(day, tenant_id, channel, provider, reason)`, so a time range is one contiguous range.
    type ServeKey = (Micros, String, String, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("channel", Text),
            Column::key("provider", Text),
            Column::key("day", Timestamp),
            Column::key("reason", Text),
            Column::value("dead_lettered", Int),
            Column::value("retries_total", Int),
            Column::value("max_retry_count", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.channel),
            Cell::Text(&self.provider),
            Cell::Timestamp(self.day),
            Cell::Text(&self.reason),
            Cell::Int(self.dead_lettered),
            Cell::Int(self.retries_total),
            Cell::Int(self.max_retry_count),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(NotificationFailures {
            tenant_id: r.text("tenant_id")?,
            channel: r.text("channel")?,
            provider: r.text("provider")?,
            day: r.timestamp("day")?,
            reason: r.text("reason")?,
            dead_lettered: r.int("dead_lettered")?,
            retries_total: r.int("retries_total")?,
            max_retry_count: r.int("max_retry_count")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.day,
            self.tenant_id.clone(),
            self.channel.clone(),
            self.provider.clone(),
            self.reason.clone(),
        )
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Window(Granularity::Day, self.day))
    }
}

impl View for NotificationVariants {
    const NAME: &'static str = "notification_variants";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `notification_variants` row.";
    /// `(day, tenant_id, channel, category, template)`.
    type ServeKey = (Micros, String, String, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("channel", Text),
            Column::key("category", Text),
            Column::key("template", Text),
            Column::key("day", Timestamp),
            Column::value("sent", Int),
            Column::value("delivered", Int),
            Column::value("opened", Int),
            Column::value("clicked", Int),
            Column::value("converted", Int),
            Column::derived("open_rate", Rate),
            Column::derived("click_rate", Rate),
            Column::derived("conversion_rate", Rate),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.channel),
            Cell::Text(&self.category),
            Cell::Text(&self.template),
            Cell::Timestamp(self.day),
            Cell::Int(self.sent),
            Cell::Int(self.delivered),
            Cell::Int(self.opened),
            Cell::Int(self.clicked),
            Cell::Int(self.converted),
            Cell::Rate(self.open_rate()),
            Cell::Rate(self.click_rate()),
            Cell::Rate(self.conversion_rate()),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(NotificationVariants {
            tenant_id: r.text("tenant_id")?,
            channel: r.text("channel")?,
            category: r.text("category")?,
            template: r.text("template")?,
            day: r.timestamp("day")?,
            sent: r.int("sent")?,
            delivered: r.int("delivered")?,
            opened: r.int("opened")?,
            clicked: r.int("clicked")?,
            converted: r.int("converted")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.day,
            self.tenant_id.clone(),
            self.channel.clone(),
            self.category.clone(),
            self.template.clone(),
        )
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Window(Granularity::Day, self.day))
    }
}
