//! Tests of the streamed history writer: nothing is visible before `publish`, everything
//! given is visible after it, once, in parts per view and day.

use pulso_events::time::{Granularity, MICROS_PER_DAY};
use pulso_events::views::{NotificationRates, TimelineEntry, ViewRow, ViewSet};

use ::parquet::file::reader::{FileReader, SerializedFileReader};

use super::*;
use crate::archive::{day_of, format_day};

const T0: i64 = 1_705_314_600_000_000; // 2024-01-15T10:30:00Z

fn entry(i: i64) -> ViewRow {
    ViewRow::Timeline(TimelineEntry {
        entity_type: "order".into(),
        entity_id: format!("O-{}", i % 97).into(),
        timestamp: T0 + (i % 2) * MICROS_PER_DAY + i,
        event_id: format!("e-{i:07}").into(),
        topic: "orders.events".into(),
        event_type: "ORDER_CREATED".into(),
        summary: "{}".into(),
    })
}

fn rate(i: i64) -> ViewRow {
    ViewRow::NotificationRates(NotificationRates {
        tenant_id: "acme".into(),
        channel: "email".into(),
        provider: "sendgrid".into(),
        granularity: Granularity::Minute,
        window_start: Granularity::Minute.floor(T0) + i * 60_000_000,
        sent: 2,
        delivered: 1,
        opened: 1,
        clicked: 0,
        converted: 0,
        bounced: 0,
        hard_bounced: 0,
        failed: 1,
        fallback: 0,
        cost_total: 10,
    })
}

fn parts(root: &std::path::Path, view: &str) -> usize {
    walk(&root.join(view))
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == EXTENSION))
            }
        })
        .sum()
}

#[test]
fn rows_are_streamed_into_parts_and_published_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(HISTORY_DIR);
    let mut writer = HistoryWriter::new(&root);
    let total = WRITE_CHUNK_ROWS as i64 + 10;
    let mut given = Vec::new();
    for (epoch, range) in [(1, 0..10), (2, 10..total), (3, total..total + 5)] {
        let rows: Vec<ViewRow> = range.flat_map(|i| [entry(i), rate(i % 50)]).collect();
        given.extend(rows.iter().cloned());
        writer.extend(rows, epoch).unwrap();
    }
    // A chunk was encoded, but nothing is visible before `publish`.
    assert_eq!(read_history(&root).unwrap(), ViewSet::default());
    writer.publish(3).unwrap();
    let mut expected = ViewSet::from_rows(given.iter().cloned());
    expected.sort();
    assert_eq!(read_history(&root).unwrap(), expected);
    // Two days of timelines, one part each; the rates all fall on the first day.
    assert_eq!(parts(&root, "timelines"), 2);
    assert_eq!(parts(&root, "notification_rates"), 1);

    // Later rows of the same day go to a new part; the published ones stay.
    let later: Vec<ViewRow> = (total + 5..total + 8).map(entry).collect();
    given.extend(later.iter().cloned());
    writer.extend(later, 4).unwrap();
    writer.publish(4).unwrap();
    let mut expected = ViewSet::from_rows(given);
    expected.sort();
    assert_eq!(read_history(&root).unwrap(), expected);
    assert_eq!(parts(&root, "timelines"), 4);
    // Publishing with nothing pending writes nothing.
    writer.publish(5).unwrap();
    assert_eq!(parts(&root, "timelines"), 4);
    // Parts are written as the view files are (no dictionary or statistics of event ids).
    let day = format!("date={}", format_day(day_of(T0)).unwrap());
    let day = root.join("timelines").join(day);
    let part = std::fs::read_dir(day)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let reader = SerializedFileReader::new(std::fs::File::open(part).unwrap()).unwrap();
    let group = reader.metadata().row_group(0);
    assert_eq!(
        super::tests::encodings(group),
        super::tests::timeline_encodings()
    );
}
