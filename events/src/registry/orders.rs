//! Registry entries of the order and inventory views: `order_metrics`,
//! `order_cancellations` and `inventory_levels`.

use std::borrow::Cow;

use super::ColumnType::{Int, Money, Rate, Text, Timestamp};
use super::{Cell, CellError, Column, Expiry, Record, View};
use crate::time::{Granularity, Micros};
use crate::views::{InventoryLevels, OrderCancellations, OrderMetrics};

impl View for OrderMetrics {
    const NAME: &'static str = "order_metrics";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "An `order_metrics` row.";
    /// `(granularity, window_start, tenant_id, currency)`.
    type ServeKey = (Granularity, Micros, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("currency", Text),
            Column::key("granularity", Text),
            Column::key("window_start", Timestamp),
            Column::value("orders_created", Int),
            Column::value("orders_confirmed", Int),
            Column::value("orders_cancelled", Int),
            Column::value("orders_pending", Int),
            Column::value("revenue_confirmed_total", Money),
            Column::value("revenue_lost_total", Money),
            Column::value("revenue_pending_total", Money),
            Column::derived("cancellation_rate", Rate),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.currency),
            Cell::Text(self.granularity.as_str()),
            Cell::Timestamp(self.window_start),
            Cell::Int(self.orders_created),
            Cell::Int(self.orders_confirmed),
            Cell::Int(self.orders_cancelled),
            Cell::Int(self.orders_pending),
            Cell::Money(self.revenue_confirmed_total),
            Cell::Money(self.revenue_lost_total),
            Cell::Money(self.revenue_pending_total),
            Cell::Rate(self.cancellation_rate()),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(OrderMetrics {
            tenant_id: r.text("tenant_id")?,
            currency: r.text("currency")?,
            granularity: r.granularity("granularity")?,
            window_start: r.timestamp("window_start")?,
            orders_created: r.int("orders_created")?,
            orders_confirmed: r.int("orders_confirmed")?,
            orders_cancelled: r.int("orders_cancelled")?,
            orders_pending: r.int("orders_pending")?,
            revenue_confirmed_total: r.money("revenue_confirmed_total")?,
            revenue_lost_total: r.money("revenue_lost_total")?,
            revenue_pending_total: r.money("revenue_pending_total")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.granularity,
            self.window_start,
            self.tenant_id.clone(),
            self.currency.clone(),
        )
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Window(self.granularity, self.window_start))
    }
}

impl View for OrderCancellations {
    const NAME: &'static str = "order_cancellations";
    const DESCRIPTION: &'static str = "An `order_cancellations` row.";
    /// `(tenant_id, reason)`.
    type ServeKey = (String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("reason", Text),
            Column::value("orders", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.reason),
            Cell::Int(self.orders),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(OrderCancellations {
            tenant_id: r.text("tenant_id")?,
            reason: r.text("reason")?,
            orders: r.int("orders")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (self.tenant_id.clone(), self.reason.clone())
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }
}

impl View for InventoryLevels {
    const NAME: &'static str = "inventory_levels";
    const DESCRIPTION: &'static str = "An `inventory_levels` row.";
    /// `(tenant_id, sku)`.
    type ServeKey = (String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("sku", Text),
            Column::value("on_hand", Int),
            Column::value("reserved", Int),
            Column::value("available", Int),
            Column::value("insufficient_stock_events", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.sku),
            Cell::Int(self.on_hand),
            Cell::Int(self.reserved),
            Cell::Int(self.available),
            Cell::Int(self.insufficient_stock_events),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(InventoryLevels {
            tenant_id: r.text("tenant_id")?,
            sku: r.text("sku")?,
            on_hand: r.int("on_hand")?,
            reserved: r.int("reserved")?,
            available: r.int("available")?,
            insufficient_stock_events: r.int("insufficient_stock_events")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (self.tenant_id.clone(), self.sku.clone())
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }
}
