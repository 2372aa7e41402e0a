//! Registry entries of the activity views of VIEWS.md v2: `tracking_activity` (the
//! deduplicated `tracking.events` per entity and event type) and `tenant_activity` (every
//! deduplicated accepted event per tenant and topic). Both are windowed and expire under
//! retention like every windowed view.

use std::borrow::Cow;

use super::ColumnType::{Int, Text, Timestamp};
use super::{Cell, CellError, Column, Expiry, Record, View};
use crate::time::{Granularity, Micros};
use crate::views::{TenantActivity, TrackingActivity};

impl View for TrackingActivity {
    const NAME: &'static str = "tracking_activity";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `tracking_activity` row.";
    /// `(granularity, window_start, tenant_id, entity_type, event_type)`, so one granularity's
    /// time range is one contiguous range of the map.
    type ServeKey = (Granularity, Micros, String, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("entity_type", Text),
            Column::key("event_type", Text),
            Column::key("granularity", Text),
            Column::key("window_start", Timestamp),
            Column::value("events", Int),
            Column::value("entities", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.entity_type),
            Cell::Text(&self.event_type),
            Cell::Text(self.granularity.as_str()),
            Cell::Timestamp(self.window_start),
            Cell::Int(self.events),
            Cell::Int(self.entities),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(TrackingActivity {
            tenant_id: r.text("tenant_id")?,
            entity_type: r.text("entity_type")?,
            event_type: r.text("event_type")?,
            granularity: r.granularity("granularity")?,
            window_start: r.timestamp("window_start")?,
            events: r.int("events")?,
            entities: r.int("entities")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.granularity,
            self.window_start,
            self.tenant_id.clone(),
            self.entity_type.clone(),
            self.event_type.clone(),
        )
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Window(self.granularity, self.window_start))
    }
}

impl View for TenantActivity {
    const NAME: &'static str = "tenant_activity";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `tenant_activity` row.";
    /// `(granularity, window_start, tenant_id, topic)`.
    type ServeKey = (Granularity, Micros, String, String);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("tenant_id", Text),
            Column::key("topic", Text),
            Column::key("granularity", Text),
            Column::key("window_start", Timestamp),
            Column::value("events", Int),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.tenant_id),
            Cell::Text(&self.topic),
            Cell::Text(self.granularity.as_str()),
            Cell::Timestamp(self.window_start),
            Cell::Int(self.events),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(TenantActivity {
            tenant_id: r.text("tenant_id")?,
            topic: r.text("topic")?,
            granularity: r.granularity("granularity")?,
            window_start: r.timestamp("window_start")?,
            events: r.int("events")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.granularity,
            self.window_start,
            self.tenant_id.clone(),
            self.topic.clone(),
        )
    }

    fn tenant(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.tenant_id)
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Window(self.granularity, self.window_start))
    }
}
