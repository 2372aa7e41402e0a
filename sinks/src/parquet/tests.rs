//! Round trips of whole view sets, the Parquet schema of the files, atomic replacement and the
//! rejected-records JSON lines.

use std::fs::{self, File};
use std::path::Path;

use ::parquet::basic::{Compression, LogicalType, TimeUnit, Type as PhysicalType};
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use arrow::array::{Array, Float64Array};
use pulso_events::time::{Granularity, MICROS_PER_DAY};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TenantActivity, TimelineEntry,
    TopicHealth, TrackingActivity, ViewSet, VIEW_NAMES,
};
use pulso_events::RejectReason;

use super::*;

const T0: i64 = 1_705_314_600_000_000; // 2024-01-15T10:30:00Z

fn notification(granularity: Granularity, sent: i64, delivered: i64) -> NotificationRates {
    NotificationRates {
        tenant_id: "acme".into(),
        channel: "email".into(),
        provider: "sendgrid".into(),
        granularity,
        window_start: granularity.floor(T0),
        sent,
        delivered,
        opened: delivered / 2,
        clicked: 1.min(delivered),
        converted: 0,
        bounced: 1,
        hard_bounced: 1,
        failed: sent - delivered,
        fallback: 2,
        cost_total: 105_997,
    }
}

fn sample() -> ViewSet {
    let mut views = ViewSet {
        as_of: Some(T0 + 123_456),
        notification_rates: vec![
            notification(Granularity::Minute, 0, 0), // every rate null
            notification(Granularity::Hour, 10, 7),
            notification(Granularity::Day, 10, 7),
        ],
        notification_bounces: vec![
            NotificationBounces {
                tenant_id: "acme".into(),
                channel: "sms".into(),
                day: Granularity::Day.floor(T0),
                bounce_type: "HARD".into(),
                reason: "unspecified".into(),
                notifications: 3,
            },
            NotificationBounces {
                tenant_id: "conecta360".into(),
                channel: "email".into(),
                day: -MICROS_PER_DAY,
                bounce_type: "SOFT".into(),
                reason: "mailbox full".into(),
                notifications: 1,
            },
        ],
        order_metrics: vec![
            OrderMetrics {
                tenant_id: "acme".into(),
                currency: "EUR".into(),
                granularity: Granularity::Hour,
                window_start: Granularity::Hour.floor(T0),
                orders_created: 4,
                orders_confirmed: 2,
                orders_cancelled: 1,
                orders_pending: 1,
                revenue_confirmed_total: 211_994,
                revenue_lost_total: 5,
                revenue_pending_total: -100,
            },
            OrderMetrics {
                tenant_id: "acme".into(),
                currency: "EUR".into(),
                granularity: Granularity::Day,
                window_start: Granularity::Day.floor(T0),
                orders_created: 0,
                orders_confirmed: 0,
                orders_cancelled: 0,
                orders_pending: 0,
                revenue_confirmed_total: 10_i128.pow(38) - 1, // the largest DECIMAL(38, 2)
                revenue_lost_total: 0,
                revenue_pending_total: 0,
            },
        ],
        order_cancellations: vec![
            OrderCancellations {
                tenant_id: "acme".into(),
                reason: "customer_request".into(),
                orders: 1,
            },
            OrderCancellations {
                tenant_id: "acme".into(),
                reason: "fraud".into(),
                orders: 2,
            },
        ],
        inventory_levels: vec![
            InventoryLevels {
                tenant_id: "acme".into(),
                sku: "SKU-1".into(),
                on_hand: 5,
                reserved: 7,
                available: -2,
                insufficient_stock_events: 1,
            },
            InventoryLevels {
                tenant_id: "acme".into(),
                sku: "SKU-2".into(),
                on_hand: 0,
                reserved: 0,
                available: 0,
                insufficient_stock_events: 0,
            },
        ],
        case_backlog: vec![
            CaseBacklog {
                dependencia_id: 3,
                estado: "EN_PROCESO".into(),
                cases: 4,
            },
            CaseBacklog {
                dependencia_id: 3,
                estado: "PENDIENTE".into(),
                cases: 1,
            },
        ],
        sla_compliance: vec![
            SlaCompliance {
                dependencia_id: 3,
                prioridad: None,
                day: Granularity::Day.floor(T0),
                met: 1,
                violated: 0,
                ..SlaCompliance::default()
            },
            SlaCompliance {
                dependencia_id: 3,
                prioridad: Some("ALTA".into()),
                day: Granularity::Day.floor(T0),
                met: 2,
                violated: 1,
                closed: 3,
                resolution_micro_hours_sum: 100_333_333,
                resolution_count: 3,
                satisfaction_sum: 9,
                satisfaction_count: 2,
            },
        ],
        open_case_sla: vec![
            OpenCaseSla {
                dependencia_id: 3,
                prioridad: None,
                status: SlaStatus::OnTrack,
                cases: 1,
            },
            OpenCaseSla {
                dependencia_id: 3,
                prioridad: Some("ALTA".into()),
                status: SlaStatus::Breached,
                cases: 2,
            },
        ],
        open_cases: vec![
            OpenCase {
                dependencia_id: 3,
                prioridad: Some("ALTA".into()),
                status: SlaStatus::AtRisk,
                due_at: T0 + 7,
                caso_id: 17,
                numero_caso: "CRV-2024-00000017".into(),
            },
            OpenCase {
                dependencia_id: 3,
                prioridad: None,
                status: SlaStatus::Breached,
                due_at: T0 - 1,
                caso_id: 18,
                numero_caso: "CRV-2024-00000018".into(),
            },
        ],
        timelines: vec![
            TimelineEntry {
                entity_type: "order".into(),
                entity_id: "o-1".into(),
                timestamp: T0,
                event_id: "e-1".into(),
                topic: "orders.events".into(),
                event_type: "ORDER_CREATED".into(),
                summary: r#"{"total":"10.50"}"#.into(),
            },
            TimelineEntry {
                entity_type: "order".into(),
                entity_id: "o-1".into(),
                timestamp: T0 + 1,
                event_id: "e-2".into(),
                topic: "orders.events".into(),
                event_type: "ORDER_CANCELLED".into(),
                summary: "{}".into(),
            },
        ],
        pipeline_health: vec![
            TopicHealth {
                topic: "orders.events".into(),
                records: 100,
                rejected: [1, 2, 3, 4, 5, 6, 7, 8, 9],
                duplicates: 3,
                orphan_events: 2,
            },
            TopicHealth {
                topic: "sla.violados".into(),
                records: 1,
                ..TopicHealth::default()
            },
        ],
        tracking_activity: vec![TrackingActivity {
            tenant_id: "acme".into(),
            entity_type: "shipment".into(),
            event_type: "DELIVERED".into(),
            granularity: Granularity::Hour,
            window_start: Granularity::Hour.floor(T0),
            events: 4,
            entities: 3,
        }],
        tenant_activity: vec![TenantActivity {
            tenant_id: "conecta360".into(),
            topic: "casos.creados".into(),
            granularity: Granularity::Minute,
            window_start: Granularity::Minute.floor(T0),
            events: 2,
        }],
        ..ViewSet::default()
    };
    crate::test_rows::add_v2_rows(&mut views);
    views.sort();
    views
}

fn file_list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn views_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let views = sample();
    write_views(dir.path(), &views).unwrap();
    assert_eq!(read_views(dir.path()).unwrap(), views);

    // Rewriting replaces the files; no `as_of` and empty views round-trip too.
    let empty = ViewSet::default();
    write_views(dir.path(), &empty).unwrap();
    assert_eq!(read_views(dir.path()).unwrap(), empty);
}

#[test]
fn writes_one_file_per_view_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    write_views(dir.path(), &sample()).unwrap();
    let mut expected: Vec<String> = file_names().map(|n| format!("{n}.parquet")).collect();
    expected.sort();
    assert_eq!(file_list(dir.path()), expected);
    for view in VIEW_NAMES {
        assert!(file_names().any(|n| n == view), "{view} has no file");
    }
}

#[test]
fn schema_follows_views_md() {
    let dir = tempfile::tempdir().unwrap();
    write_views(dir.path(), &sample()).unwrap();
    let path = view_path(dir.path(), "notification_rates");
    let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
    let metadata = reader.metadata();
    let schema = metadata.file_metadata().schema_descr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "tenant_id",
            "channel",
            "provider",
            "granularity",
            "window_start",
            "sent",
            "delivered",
            "opened",
            "clicked",
            "converted",
            "bounced",
            "hard_bounced",
            "failed",
            "fallback",
            "cost_total",
            "delivery_rate",
            "bounce_rate",
            "failure_rate",
            "open_rate",
            "click_rate",
            "conversion_rate",
        ]
    );
    let column = |name: &str| {
        schema
            .columns()
            .iter()
            .find(|c| c.name() == name)
            .unwrap()
            .clone()
    };

    let window = column("window_start");
    assert_eq!(window.physical_type(), PhysicalType::INT64);
    assert_eq!(
        window.logical_type_ref(),
        Some(&LogicalType::timestamp(true, TimeUnit::MICROS))
    );
    assert!(!window.self_type().is_optional());

    let cost = column("cost_total");
    assert_eq!(cost.logical_type_ref(), Some(&LogicalType::decimal(2, 38)));
    assert!(!cost.self_type().is_optional());

    let rate = column("delivery_rate");
    assert_eq!(rate.physical_type(), PhysicalType::DOUBLE);
    assert!(rate.self_type().is_optional());

    let granularity = column("granularity");
    assert_eq!(granularity.logical_type_ref(), Some(&LogicalType::String));
    assert_eq!(column("sent").physical_type(), PhysicalType::INT64);

    for group in metadata.row_groups() {
        for chunk in group.columns() {
            assert!(matches!(chunk.compression(), Compression::ZSTD(_)));
        }
    }

    // The first row (minute, nothing sent) has a null rate; the others have 7/10.
    let file = File::open(&path).unwrap();
    let batch = ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let rates = batch
        .column_by_name("delivery_rate")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert!(rates.is_null(0));
    assert_eq!(rates.value(1), 0.7);

    // `sla_compliance` keeps the VIEWS.md columns first, then the exact sums.
    let reader =
        SerializedFileReader::new(File::open(view_path(dir.path(), "sla_compliance")).unwrap())
            .unwrap();
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "dependencia_id",
            "prioridad",
            "day",
            "met",
            "violated",
            "compliance_rate",
            "closed",
            "avg_resolution_hours",
            "avg_satisfaction",
            "resolution_count",
            "satisfaction_count",
            "resolution_micro_hours_sum",
            "satisfaction_sum",
        ]
    );

    // `as_of` rides in the metadata of `open_case_sla`.
    let reader =
        SerializedFileReader::new(File::open(view_path(dir.path(), AS_OF_FILE)).unwrap()).unwrap();
    let kv = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap();
    let as_of = kv.iter().find(|e| e.key == AS_OF_KEY).unwrap();
    assert_eq!(as_of.value.as_deref(), Some("1705314600123456"));
}

#[test]
fn pipeline_health_has_a_column_per_reason() {
    let dir = tempfile::tempdir().unwrap();
    write_views(dir.path(), &sample()).unwrap();
    let reader =
        SerializedFileReader::new(File::open(view_path(dir.path(), "pipeline_health")).unwrap())
            .unwrap();
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let mut expected = vec!["topic".to_owned(), "records".into(), "rejected".into()];
    expected.extend(RejectReason::ALL.map(|r| format!("rejected_{}", r.as_str())));
    expected.extend(["duplicates".into(), "orphan_events".into()]);
    assert_eq!(names, expected);
}

#[test]
fn view_row_groups_hold_one_write_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |i: i64| TimelineEntry {
        entity_type: "sku".into(),
        entity_id: "SKU-1".into(),
        timestamp: T0 + i,
        event_id: format!("e-{i:07}").into(),
        topic: "inventory.events".into(),
        event_type: "STOCK_ADJUSTED".into(),
        summary: "{}".into(),
    };
    let views = ViewSet {
        timelines: (0..2 * WRITE_CHUNK_ROWS as i64 + 1).map(entry).collect(),
        ..ViewSet::default()
    };
    write_views(dir.path(), &views).unwrap();
    let reader =
        SerializedFileReader::new(File::open(view_path(dir.path(), "timelines")).unwrap()).unwrap();
    let sizes: Vec<i64> = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    let chunk = WRITE_CHUNK_ROWS as i64;
    assert_eq!(sizes, [chunk, chunk, 1]);
    // Columns of mostly distinct values are stored without a dictionary or statistics; the
    // others with both.
    assert_eq!(
        encodings(reader.metadata().row_group(0)),
        timeline_encodings()
    );
    assert_eq!(read_views(dir.path()).unwrap(), views);
}

/// Each column of `group`: its name, whether it has a dictionary, whether it has statistics.
pub(super) fn encodings(
    group: &::parquet::file::metadata::RowGroupMetaData,
) -> Vec<(String, bool, bool)> {
    group
        .columns()
        .iter()
        .map(|c| {
            let name = c.column_path().string();
            (
                name,
                c.dictionary_page_offset().is_some(),
                c.statistics().is_some(),
            )
        })
        .collect()
}

/// What [`encodings`] gives for a `timelines` file: the event ids and summaries (mostly
/// distinct) have neither a dictionary nor statistics.
pub(super) fn timeline_encodings() -> Vec<(String, bool, bool)> {
    [
        ("entity_type", true),
        ("entity_id", true),
        ("timestamp", true),
        ("event_id", false),
        ("topic", true),
        ("event_type", true),
        ("summary", false),
    ]
    .map(|(name, common)| (name.to_owned(), common, common))
    .into()
}

#[test]
fn writes_leave_no_temp_files_and_stale_ones_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    write_views(dir.path(), &sample()).unwrap();
    assert!(file_list(dir.path()).iter().all(|n| !n.ends_with(".tmp")));

    let stale = temp_path(&view_path(dir.path(), "timelines"));
    fs::write(&stale, b"half a file").unwrap();
    let keep = dir.path().join("notes.txt");
    fs::write(&keep, b"not temporary").unwrap();
    assert_eq!(clean_temp_files(dir.path()).unwrap(), 1);
    assert!(!stale.exists());
    assert!(keep.exists());
    assert_eq!(clean_temp_files(&dir.path().join("missing")).unwrap(), 0);

    // `write_views` cleans up too, and a stale temp file never shadows the real one.
    fs::write(&stale, b"half a file").unwrap();
    write_views(dir.path(), &sample()).unwrap();
    assert!(!stale.exists());
    assert_eq!(read_views(dir.path()).unwrap(), sample());
}

#[test]
fn reading_a_missing_or_foreign_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        read_views(dir.path()),
        Err(crate::SinkError::Io { .. })
    ));
    write_views(dir.path(), &sample()).unwrap();
    // Put the timelines file where case_backlog belongs: its columns are missing.
    fs::copy(
        view_path(dir.path(), "timelines"),
        view_path(dir.path(), "case_backlog"),
    )
    .unwrap();
    let error = read_views(dir.path()).unwrap_err();
    assert!(
        matches!(&error, crate::SinkError::Schema { file, .. } if file == "case_backlog"),
        "{error}"
    );
}
