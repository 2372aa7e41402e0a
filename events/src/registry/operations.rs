//! Registry entries of the cross-domain views: `timelines` and the per-topic
//! `pipeline_health` counters.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use serde::Deserialize;

use super::ColumnType::{Int, Json, Text, Timestamp};
use super::{Cell, CellError, Column, Expiry, Record, View};
use crate::time::Micros;
use crate::views::{TimelineEntry, TopicHealth};
use crate::RejectReason;

impl View for TimelineEntry {
    const NAME: &'static str = "timelines";
    const EXPIRES: bool = true;
    const DESCRIPTION: &'static str = "A `timelines` entry, its summary as a parsed JSON object.";
    /// `(entity_type, entity_id, timestamp, event_id, topic)`.
    type ServeKey = (Arc<str>, Arc<str>, Micros, Arc<str>, Arc<str>);

    fn columns() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::key("entity_type", Text),
            Column::key("entity_id", Text),
            Column::key("timestamp", Timestamp),
            Column::key("event_id", Text).distinct(),
            Column::key("topic", Text),
            Column::value("event_type", Text),
            Column::value("summary", Json)
                .with_doc("The few fields a person reads first, and the entry's `tenant_id`.")
                .distinct(),
        ];
        COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.entity_type),
            Cell::Text(&self.entity_id),
            Cell::Timestamp(self.timestamp),
            Cell::Text(&self.event_id),
            Cell::Text(&self.topic),
            Cell::Text(&self.event_type),
            Cell::Text(&self.summary),
        ]);
    }

    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        Ok(TimelineEntry {
            entity_type: r.text("entity_type")?.into(),
            entity_id: r.text("entity_id")?.into(),
            timestamp: r.timestamp("timestamp")?,
            event_id: r.text("event_id")?.into(),
            topic: r.text("topic")?.into(),
            event_type: r.text("event_type")?.into(),
            summary: r.text("summary")?.into(),
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        (
            self.entity_type.clone(),
            self.entity_id.clone(),
            self.timestamp,
            self.event_id.clone(),
            self.topic.clone(),
        )
    }

    /// The tenant its summary names.
    fn tenant(&self) -> Cow<'_, str> {
        summary_tenant(&self.summary).unwrap_or(Cow::Borrowed(""))
    }

    fn expiry(&self) -> Option<Expiry> {
        Some(Expiry::Timeline(self.timestamp))
    }
}

/// The `tenant_id` a timeline entry's summary names (`crate::timeline_summary`).
///
/// Read in place when it holds no escape: the serving store asks this of every timeline entry
/// it takes in, and parsing the whole summary was a tenth of its work. Summaries are flat
/// objects with keys in ascending order whose only nested object, `cambios`, sorts before
/// `tenant_id`; inside a JSON string every `"` is escaped; so the last `"tenant_id":"` in the
/// text is the entry's own key. Anything else is parsed.
pub fn summary_tenant(summary: &str) -> Option<Cow<'_, str>> {
    const KEY: &[u8] = b"\"tenant_id\":\"";
    // The key's last occurrence, found from the quotes back (the key ends the text's last
    // few fields); `str::rfind` built a two-way searcher for every call.
    let bytes = summary.as_bytes();
    let last = (0..bytes.len())
        .rev()
        .filter(|&i| bytes[i] == b'"')
        .find(|&i| bytes[..=i].ends_with(KEY));
    if let Some(quote) = last {
        let value = &summary[quote + 1..];
        if let Some(end) = value.find(['"', '\\']) {
            if value.as_bytes()[end] == b'"' {
                return Some(Cow::Borrowed(&value[..end]));
            }
        }
    }
    #[derive(Deserialize)]
    struct Tenant<'a> {
        #[serde(borrow)]
        tenant_id: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<Tenant<'_>>(summary)
        .ok()
        .and_then(|t| t.tenant_id)
}

/// The name of the `pipeline_health` column counting rejections for `reason`.
pub fn rejected_column(reason: RejectReason) -> String {
    format!("rejected_{}", reason.as_str())
}

/// `topic, records, rejected` (all reasons), `rejected_<reason>` per DLQ reason, then
/// `duplicates, orphan_events`.
static TOPIC_HEALTH_COLUMNS: LazyLock<Vec<Column>> = LazyLock::new(|| {
    let mut columns = vec![
        Column::key("topic", Text),
        Column::value("records", Int),
        Column::derived("rejected", Int),
    ];
    columns.extend(RejectReason::ALL.into_iter().map(|reason| Column {
        name: rejected_column(reason).into(),
        ..Column::value("", Int)
    }));
    columns.push(Column::value("duplicates", Int));
    columns.push(Column::value("orphan_events", Int));
    columns
});

impl View for TopicHealth {
    const NAME: &'static str = "pipeline_health";
    const DESCRIPTION: &'static str = "Per-topic pipeline_health counters.";
    /// The topic.
    type ServeKey = String;

    fn columns() -> &'static [Column] {
        &TOPIC_HEALTH_COLUMNS
    }

    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.extend([
            Cell::Text(&self.topic),
            Cell::Int(self.records),
            Cell::Int(self.rejected_total()),
        ]);
        out.extend(self.rejected.iter().map(|&count| Cell::Int(count)));
        out.extend([Cell::Int(self.duplicates), Cell::Int(self.orphan_events)]);
    }

    /// From the per-reason columns (the `rejected` total is derived).
    fn from_record(r: &mut Record<'_>) -> Result<Self, CellError> {
        let mut rejected = [0; RejectReason::ALL.len()];
        for (count, reason) in rejected.iter_mut().zip(RejectReason::ALL) {
            *count = r.int(&rejected_column(reason))?;
        }
        Ok(TopicHealth {
            topic: r.text("topic")?,
            records: r.int("records")?,
            rejected,
            duplicates: r.int("duplicates")?,
            orphan_events: r.int("orphan_events")?,
        })
    }

    fn serve_key(&self) -> Self::ServeKey {
        self.topic.clone()
    }
}
