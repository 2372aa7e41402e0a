//! Registry entries of the notification views: `notification_rates` and
//! `notification_bounces`.

use std::borrow::Cow;

use super::ColumnType::{Int, Money, Rate, Text, Timestamp};
use super::{Cell, CellError, Column, Expiry, Record, View};
use crate::time::{Granularity, Micros};
use crate::views::{NotificationBounces, NotificationRates};

impl View for NotificationRates {
    const NAME: &'static str = "notification_rates";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `notification_rates` row.";
    /// `(granularity, window_start, tenant_id, channel, provider)`, so one granularity's time
    /// range is one contiguous range of the map.
    type ServeKey = (Granularity, Micros, String, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("channel", Text),
            Column::key("provider", Text),
            Column::key("granularity", Text),
            Column::key("window_start", Timestamp),
            Column::value("sent", Int),
            Column::value("delivered", Int),
            Column::value("opened", Int),
            Column::value("clicked", Int),
            Column::value("converted", Int),
            Column::value("bounced", Int),
            Column::value("hard_bounced", Int),
            Column::value("failed", Int),
            Column::value("fallback", Int),
            Column::value("cost_total", Money),
            Column::derived("delivery_rate", Rate),
            Column::derived("bounce_rate", Rate),
            Column::derived("failure_rate", Rate),
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
            Cell::Text(&self.provider),
            Cell::Text(self.granularity.as_str()),
            Cell::Timestamp(self.window_start),
            Cell::Int(self.sent),
            Cell::Int(self.delivered),
            Cell::Int(self.opened),
            Cell::Int(self.clicked),
            Cell::Int(self.converted),
            Cell::Int(self.bounced),
            Cell::Int(self.hard_bounced),
            Cell::Int(self.failed),
            Cell::Int(self.fallback),
            Cell::Money(self.cost_total),
            Cell::Rate(self.delivery_rate()),
            Cell::Rate(self.bounce_rate()),
            Cell::Rate(self.failure_rate()),
            Cell::Rate(self.open_rate()),
            Cell::Rate(self.click_rate()),
            Cell::Rate(self.conversion_rate()),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(NotificationRates {
            tenant_id: r.text("tenant_id")?,
            channel: r.text("channel")?,
            provider: r.text("provider")?,
            granularity: r.granularity("granularity")?,
            window_start: r.timestamp("window_start")?,
            sent: r.int("sent")?,
            delivered: r.int("delivered")?,
            opened: r.int("opened")?,
            clicked: r.int("clicked")?,
            converted: r.int("converted")?,
            bounced: r.int("bounced")?,
            hard_bounced: r.int("hard_bounced")?,
            failed: r.int("failed")?,
            fallback: r.int("fallback")?,
            cost_total: r.money("cost_total")?,
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

impl View for NotificationBounces {
    const NAME: &'static str = "notification_bounces";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `notification_bounces` row.";
    /// `(tenant_id, channel, day, bounce_type, reason)`.
    type ServeKey = (String, String, Micros, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("channel", Text),
            Column::key("day", Timestamp),
            Column::key("bounce_type", Text),
            Column::key("reason", Text),
            Column::value("notifications", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.channel),
            Cell::Timestamp(self.day),
            Cell::Text(&self.bounce_type),
            Cell::Text(&self.reason),
            Cell::Int(self.notifications),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(NotificationBounces {
            tenant_id: r.text("tenant_id")?,
            channel: r.text("channel")?,
            day: r.timestamp("day")?,
            bounce_type: r.text("bounce_type")?,
            reason: r.text("reason")?,
            notifications: r.int("notifications")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.tenant_id.clone(),
            self.channel.clone(),
            self.day,
            self.bounce_type.clone(),
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
