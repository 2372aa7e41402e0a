//! Tests of the ClickHouse sink. The ones that need a server run against
//! `PULSO_CLICKHOUSE_URL` (e.g. `http://127.0.0.1:8123`, started by `scripts/clickhouse.sh
//! start`) and are skipped, saying so, when it is unset; each uses its own database.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pulso_events::time::{Granularity, MICROS_PER_DAY};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TenantActivity, TimelineEntry,
    TopicHealth, TrackingActivity, ViewRow, ViewSet,
};

use super::error::parse_error_code;
use super::rowbinary::{self as rb, Reader};
use super::*;
use crate::changes::{diff_views, view_rows};

const T0: i64 = 1_705_314_600_000_000; // 2024-01-15T10:30:00Z

/// Says that a test is skipped, on the real stderr (not captured by the test harness).
fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipping ClickHouse test {why}");
}

/// A config for a fresh database named after `test`, or `None` (with a message) when
/// `PULSO_CLICKHOUSE_URL` is unset.
fn config(test: &str) -> Option<ClickHouseConfig> {
    let Ok(url) = std::env::var("PULSO_CLICKHOUSE_URL") else {
        skip(&format!(
            "{test}: PULSO_CLICKHOUSE_URL is not set (scripts/clickhouse.sh start)"
        ));
        return None;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Some(ClickHouseConfig {
        url,
        database: format!("pulso_test_{test}_{}_{nanos}", std::process::id()),
        retry: RetryPolicy {
            initial_ms: 50,
            max_ms: 2_000,
            max_elapsed: Some(Duration::from_secs(120)),
        },
        ..ClickHouseConfig::default()
    })
}

fn rates(tenant: &str, granularity: Granularity, sent: i64, delivered: i64) -> NotificationRates {
    NotificationRates {
        tenant_id: tenant.into(),
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

fn timeline(entity: &str, t: i64, event: &str, summary: &str) -> TimelineEntry {
    TimelineEntry {
        entity_type: "order".into(),
        entity_id: entity.into(),
        timestamp: t,
        event_id: event.into(),
        topic: "orders.events".into(),
        event_type: "ORDER_CREATED".into(),
        summary: summary.into(),
    }
}

fn sla(prioridad: Option<&str>, met: i64, closed: i64) -> SlaCompliance {
    SlaCompliance {
        dependencia_id: 7,
        prioridad: prioridad.map(Into::into),
        day: Granularity::Day.floor(T0),
        met,
        violated: 1,
        closed,
        resolution_micro_hours_sum: 12_345_678,
        resolution_count: closed,
        satisfaction_sum: 9,
        satisfaction_count: closed,
    }
}

fn open_case(caso_id: i64, prioridad: Option<&str>, status: SlaStatus) -> OpenCase {
    OpenCase {
        dependencia_id: 7,
        prioridad: prioridad.map(Into::into),
        status,
        due_at: T0 + 168 * 3_600_000_000 + 123_457, // not whole seconds
        caso_id,
        numero_caso: format!("CRV-2024-{caso_id:08}"),
    }
}

fn health(topic: &str, records: i64) -> TopicHealth {
    TopicHealth {
        topic: topic.into(),
        records,
        rejected: [1, 0, 2, 0, 0, 0, 0, 3, 0],
        duplicates: 4,
        orphan_events: 5,
    }
}

/// The first set: one or more rows in every view, nulls and empty strings included.
fn set_a() -> ViewSet {
    let mut v = ViewSet {
        as_of: Some(T0 + 123_456),
        notification_rates: vec![
            rates("acme", Granularity::Minute, 0, 0), // every rate null
            rates("acme", Granularity::Hour, 10, 7),
            rates("acme", Granularity::Day, 10, 7),
        ],
        notification_bounces: vec![NotificationBounces {
            tenant_id: "acme".into(),
            channel: "sms".into(),
            day: Granularity::Day.floor(T0),
            bounce_type: "HARD".into(),
            reason: "unspecified".into(),
            notifications: 3,
        }],
        order_metrics: vec![OrderMetrics {
            tenant_id: "acme".into(),
            currency: "EUR".into(),
            granularity: Granularity::Hour,
            window_start: Granularity::Hour.floor(T0),
            orders_created: 3,
            orders_confirmed: 1,
            orders_cancelled: 1,
            orders_pending: 1,
            revenue_confirmed_total: 1_000,
            revenue_lost_total: 250,
            revenue_pending_total: 99_999_999_999,
        }],
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
        inventory_levels: vec![InventoryLevels {
            tenant_id: "acme".into(),
            sku: "SKU-1".into(),
            on_hand: 5,
            reserved: 7,
            available: -2,
            insufficient_stock_events: 1,
        }],
        case_backlog: vec![CaseBacklog {
            dependencia_id: 7,
            estado: "PENDIENTE".into(),
            cases: 2,
        }],
        sla_compliance: vec![
            sla(None, 1, 0),
            sla(Some("ALTA"), 2, 1),
            sla(Some(""), 3, 0),
        ],
        open_case_sla: vec![
            OpenCaseSla {
                dependencia_id: 7,
                prioridad: None,
                status: SlaStatus::OnTrack,
                cases: 1,
            },
            OpenCaseSla {
                dependencia_id: 7,
                prioridad: Some("ALTA".into()),
                status: SlaStatus::AtRisk,
                cases: 1,
            },
        ],
        open_cases: vec![
            open_case(1, None, SlaStatus::OnTrack),
            open_case(2, Some("ALTA"), SlaStatus::AtRisk),
        ],
        timelines: vec![
            timeline("o-1", T0 + 1, "e1", r#"{"total":"10.00"}"#),
            timeline("o-1", T0 + 2, "e2", "multi\tline\nsummary ñ"),
            timeline("o-2", -5_000_001, "e3", ""), // before 1970
        ],
        pipeline_health: vec![health("orders.events", 10), health("casos.creados", 3)],
        tracking_activity: vec![TrackingActivity {
            tenant_id: "acme".into(),
            entity_type: "shipment".into(),
            event_type: "PICKED_UP".into(),
            granularity: Granularity::Minute,
            window_start: Granularity::Minute.floor(T0),
            events: 3,
            entities: 2,
        }],
        tenant_activity: vec![
            TenantActivity {
                tenant_id: "acme".into(),
                topic: "tracking.events".into(),
                granularity: Granularity::Hour,
                window_start: Granularity::Hour.floor(T0),
                events: 3,
            },
            TenantActivity {
                tenant_id: "conecta360".into(),
                topic: "casos.creados".into(),
                granularity: Granularity::Day,
                window_start: Granularity::Day.floor(T0),
                events: 1,
            },
        ],
        ..ViewSet::default()
    };
    crate::test_rows::add_v2_rows(&mut v);
    // Money sums beyond 64 bits: the largest DECIMAL(38, 2).
    v.notification_rates[2].cost_total = 10_i128.pow(38) - 1;
    v.sort();
    v
}

/// The second set: rows changed, rows gone (a key leaving its view), rows added.
fn set_b() -> ViewSet {
    let mut v = set_a();
    v.as_of = Some(T0 + 999);
    v.notification_rates[1].delivered = 9; // changed
    v.notification_bounces.clear(); // gone
    v.notification_latency[1].latency_p95_ms = 30_000; // a percentile changes
    v.notification_failures.pop(); // gone
    v.notification_variants[0].delivered = 3; // its rates are no longer null
    v.order_cancellations.retain(|r| r.reason != "fraud"); // a key leaves
    v.inventory_levels[0].reserved = 0;
    v.case_backlog.push(CaseBacklog {
        dependencia_id: 7,
        estado: "CERRADO".into(),
        cases: 1,
    });
    v.sla_compliance.retain(|r| r.prioridad.is_some()); // the null-prioridad row leaves
    v.open_case_sla[0].status = SlaStatus::Breached; // a key change: old key leaves
    v.open_cases[0].status = SlaStatus::Breached; // same key (caso_id), new values
    v.open_cases.retain(|c| c.caso_id != 2);
    v.timelines.push(timeline("o-3", T0 + 3, "e4", "new"));
    v.timelines[0].summary = "edited".into();
    v.pipeline_health[0].records = 11;
    v.tracking_activity[0].entities = 3; // changed
    v.tenant_activity.retain(|r| r.tenant_id != "conecta360"); // a key leaves
    v.sort();
    v
}

/// The third set: a key that left comes back, `as_of` unset.
fn set_c() -> ViewSet {
    let mut v = set_b();
    v.as_of = None;
    v.order_cancellations.push(OrderCancellations {
        tenant_id: "acme".into(),
        reason: "fraud".into(),
        orders: 5,
    });
    v.sla_compliance.push(sla(None, 4, 2));
    v.open_cases
        .push(open_case(3, Some("BAJA"), SlaStatus::OnTrack));
    v.timelines.retain(|t| &*t.entity_id != "o-2");
    v.sort();
    v
}

/// The epochs `(epoch, changes)` from nothing through `sets`, starting at epoch 1.
fn epochs(sets: &[ViewSet]) -> Vec<(u64, Vec<(ViewRow, isize)>)> {
    let mut previous = ViewSet::default();
    let mut out = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        out.push((i as u64 + 1, diff_views(&previous, set)));
        previous = set.clone();
    }
    out
}

fn query_text(sink: &ClickHouseSink, sql: &str) -> String {
    String::from_utf8(sink.execute(sql).unwrap()).unwrap()
}

/// Every row of every storage table (FINAL, tombstones included), as text: two databases
/// with equal dumps hold the same data.
fn dump(sink: &ClickHouseSink) -> String {
    let db = &sink.config().database;
    let mut out = String::new();
    for view in view_names() {
        let sql =
            format!("SELECT * FROM {db}.{view}{STORE_SUFFIX} FINAL ORDER BY tuple(*) FORMAT TSV");
        out += &format!("== {view}\n{}", query_text(sink, &sql));
    }
    out
}

#[test]
fn writes_epochs_and_reads_the_latest_set() {
    let Some(config) = config("latest") else {
        return;
    };
    let mut sink = ClickHouseSink::connect(config).unwrap();
    let db = sink.config().database.clone();
    assert_eq!(sink.read_views().unwrap(), ViewSet::default());
    let sets = [set_a(), set_b(), set_c(), ViewSet::default()];
    for ((epoch, changes), set) in epochs(&sets).into_iter().zip(&sets) {
        sink.write_epoch(epoch, &changes).unwrap();
        assert_eq!(&sink.read_views().unwrap(), set, "after epoch {epoch}");
        if epoch == 2 {
            // The fraud row left order_cancellations; the null-prioridad row left
            // sla_compliance: plain SQL no longer returns them.
            let sql =
                format!("SELECT count() FROM {db}.order_cancellations WHERE reason = 'fraud'");
            assert_eq!(query_text(&sink, &sql).trim(), "0");
            let sql = format!("SELECT count() FROM {db}.sla_compliance WHERE prioridad IS NULL");
            assert_eq!(query_text(&sink, &sql).trim(), "0");
            let sql = format!("SELECT count() FROM {db}.notification_bounces");
            assert_eq!(query_text(&sink, &sql).trim(), "0");
        }
        if epoch == 3 {
            let sql = format!(
                "SELECT reason, orders FROM {db}.order_cancellations ORDER BY reason FORMAT TSV"
            );
            assert_eq!(query_text(&sink, &sql), "customer_request\t1\nfraud\t5\n");
            let sql = format!(
                "SELECT prioridad, met, compliance_rate, avg_resolution_hours FROM \
                 {db}.sla_compliance ORDER BY met FORMAT TSV"
            );
            assert_eq!(
                query_text(&sink, &sql),
                "ALTA\t2\t0.6666666666666666\t12.345678\n\t3\t0.75\t\\N\n\\N\t4\t0.8\t6.172839\n"
            );
            let sql = format!(
                "SELECT window_start, cost_total, delivery_rate, open_rate FROM \
                 {db}.notification_rates WHERE granularity = 'minute' FORMAT TSV"
            );
            assert_eq!(
                query_text(&sink, &sql),
                "2024-01-15 10:30:00\t1059.97\t\\N\t\\N\n"
            );
        }
    }
    assert_eq!(sink.metrics().epochs_written(), 4);
    assert_eq!(sink.metrics().last_written_epoch(), Some(4));
    sink.drop_database().unwrap();
}

#[test]
fn an_order_metrics_table_without_currency_is_set_aside_and_replaced() {
    let Some(config) = config("currency") else {
        return;
    };
    let db = config.database.clone();
    let sink = ClickHouseSink::connect(config.clone()).unwrap();
    // The order_metrics of an older Pulso: no currency in its key, one row in it.
    let store = format!("{db}.order_metrics{STORE_SUFFIX}");
    query_text(&sink, &format!("DROP TABLE {db}.order_metrics"));
    query_text(&sink, &format!("DROP TABLE {store}"));
    query_text(
        &sink,
        &format!(
            "CREATE TABLE {store} (tenant_id String, granularity String, \
             window_start DateTime('UTC'), window_start_us Int64, orders_created Int64, \
             orders_confirmed Int64, orders_cancelled Int64, orders_pending Int64, \
             revenue_confirmed_total Decimal(38, 2), revenue_lost_total Decimal(38, 2), \
             revenue_pending_total Decimal(38, 2), cancellation_rate Nullable(Float64), \
             version UInt64, is_deleted UInt8) ENGINE = ReplacingMergeTree(version) \
             ORDER BY (tenant_id, granularity, window_start_us)"
        ),
    );
    query_text(
        &sink,
        &format!(
            "INSERT INTO {store} (tenant_id, granularity, window_start, window_start_us, \
             orders_created, orders_confirmed, orders_cancelled, orders_pending, \
             revenue_confirmed_total, revenue_lost_total, revenue_pending_total, version, \
             is_deleted) VALUES ('acme', 'day', 0, 0, 1, 0, 1, 0, 0, 12.34, 0, 1, 0)"
        ),
    );
    // Connecting again sets the old table aside (rows kept) and creates the new layout.
    let mut sink = ClickHouseSink::connect(config.clone()).unwrap();
    let aside =
        format!("SELECT tenant_id, revenue_lost_total FROM {store}_before_currency FORMAT TSV");
    assert_eq!(query_text(&sink, &aside), "acme\t12.34\n");
    let create = query_text(&sink, &format!("SHOW CREATE TABLE {store} FORMAT TSVRaw"));
    assert!(
        create.contains("ORDER BY (tenant_id, currency, granularity, window_start_us)"),
        "{create}"
    );
    assert!(sink.read_views().unwrap().order_metrics.is_empty());
    let sets = [set_a()];
    let (epoch, changes) = epochs(&sets).remove(0);
    sink.write_epoch(epoch, &changes).unwrap();
    assert_eq!(
        sink.read_views().unwrap().order_metrics,
        set_a().order_metrics
    );
    // A later connect finds the new layout and leaves it alone.
    let sink = ClickHouseSink::connect(config).unwrap();
    assert_eq!(
        sink.read_views().unwrap().order_metrics,
        set_a().order_metrics
    );
    sink.drop_database().unwrap();
}

#[test]
fn money_columns_of_an_older_schema_are_widened_keeping_their_rows() {
    let Some(config) = config("widen") else {
        return;
    };
    let db = config.database.clone();
    let sink = ClickHouseSink::connect(config.clone()).unwrap();
    // The schema of an older Pulso: money as Decimal(18, 2), with a row in it.
    let store = format!("{db}.order_metrics{STORE_SUFFIX}");
    query_text(
        &sink,
        &format!("ALTER TABLE {store} MODIFY COLUMN revenue_lost_total Decimal(18, 2)"),
    );
    query_text(
        &sink,
        &format!(
            "INSERT INTO {store} (tenant_id, granularity, window_start, window_start_us, \
             orders_created, orders_confirmed, orders_cancelled, orders_pending, \
             revenue_confirmed_total, revenue_lost_total, revenue_pending_total, version, \
             is_deleted) VALUES ('acme', 'day', 0, 0, 1, 0, 1, 0, 0, 12.34, 0, 1, 0)"
        ),
    );
    let mut sink = ClickHouseSink::connect(config).unwrap();
    let sql = format!("SELECT type FROM system.columns WHERE database = '{db}' AND table = 'order_metrics{STORE_SUFFIX}' AND name = 'revenue_lost_total'");
    assert_eq!(query_text(&sink, &sql).trim(), "Decimal(38, 2)");
    let sql = format!("SELECT revenue_lost_total FROM {db}.order_metrics FORMAT TSV");
    assert_eq!(query_text(&sink, &sql), "12.34\n");
    let views = sink.read_views().unwrap();
    assert_eq!(views.order_metrics[0].revenue_lost_total, 1_234);
    let sets = [set_a()];
    let (epoch, changes) = epochs(&sets).remove(0);
    sink.write_epoch(epoch + 1, &changes).unwrap();
    sink.drop_database().unwrap();
}

#[test]
fn writing_the_same_epochs_twice_gives_the_same_tables() {
    let Some(config) = config("twice") else {
        return;
    };
    let Some(reference_config) = self::config("twice_ref") else {
        return;
    };
    let mut sink = ClickHouseSink::connect(config).unwrap();
    let mut reference = ClickHouseSink::connect(reference_config).unwrap();
    let sets = [set_a(), set_b(), set_c()];
    let all = epochs(&sets);
    for (epoch, changes) in &all {
        reference.write_epoch(*epoch, changes).unwrap();
        sink.write_epoch(*epoch, changes).unwrap();
        sink.write_epoch(*epoch, changes).unwrap(); // an immediate retry
    }
    // A replay of every epoch after the last, as after a restart from the beginning.
    for (epoch, changes) in &all {
        sink.write_epoch(*epoch, changes).unwrap();
    }
    assert_eq!(sink.read_views().unwrap(), sets[2]);
    assert_eq!(dump(&sink), dump(&reference));
    // Merged, the storage tables hold one row per key.
    let db = &sink.config().database;
    let sql = format!("OPTIMIZE TABLE {db}.timelines{STORE_SUFFIX} FINAL");
    sink.execute(&sql).unwrap();
    let sql = format!("SELECT count() FROM {db}.timelines{STORE_SUFFIX}");
    assert_eq!(query_text(&sink, &sql).trim(), "4"); // 3 current + 1 tombstone (o-2)
    let sql = format!("SELECT count() FROM {db}.timelines");
    assert_eq!(query_text(&sink, &sql).trim(), "3");
    sink.drop_database().unwrap();
    reference.drop_database().unwrap();
}

#[test]
fn replaying_after_a_kill_mid_epoch_gives_the_same_tables() {
    let Some(mut config) = config("kill") else {
        return;
    };
    let Some(mut reference_config) = self::config("kill_ref") else {
        return;
    };
    config.batch_rows = 2;
    reference_config.batch_rows = 2;
    let sets = [set_a(), set_b(), set_c()];
    let all = epochs(&sets);
    let mut reference = ClickHouseSink::connect(reference_config).unwrap();
    for (epoch, changes) in &all {
        reference.write_epoch(*epoch, changes).unwrap();
    }
    for killed_after in [1, 3, 5] {
        let mut config = config.clone();
        config.database = format!("{}_{killed_after}", config.database);
        let mut sink = ClickHouseSink::connect(config.clone()).unwrap();
        sink.write_epoch(1, &all[0].1).unwrap();
        // The process dies after `killed_after` inserts of epoch 2.
        let made = sink
            .write_epoch_batches(2, &all[1].1, Some(killed_after))
            .unwrap();
        assert_eq!(made, killed_after);
        assert_eq!(sink.metrics().last_written_epoch(), Some(1));
        drop(sink);
        // Restart: a new sink, the engine replays from its checkpoint (epoch 1 here).
        let mut sink = ClickHouseSink::connect(config).unwrap();
        for (epoch, changes) in &all {
            sink.write_epoch(*epoch, changes).unwrap();
        }
        assert_eq!(sink.read_views().unwrap(), sets[2]);
        assert_eq!(
            dump(&sink),
            dump(&reference),
            "killed after {killed_after} inserts"
        );
        sink.drop_database().unwrap();
    }
    reference.drop_database().unwrap();
}

/// Sets that grow: epoch `i` adds 50 timeline entries and changes an aggregate row.
fn growing_sets(epochs: usize) -> Vec<ViewSet> {
    let mut set = set_a();
    let mut out = Vec::new();
    for i in 0..epochs {
        for j in 0..50 {
            set.timelines
                .push(timeline(&format!("g-{i}"), T0 + j, &format!("e{j}"), "x"));
        }
        set.pipeline_health[0].records += 1;
        set.order_metrics[0].orders_created += 1;
        if i % 3 == 0 {
            set.order_cancellations.pop();
        } else {
            set.order_cancellations.push(OrderCancellations {
                tenant_id: "acme".into(),
                reason: format!("r{i}"),
                orders: i as i64,
            });
        }
        set.sort();
        out.push(set.clone());
    }
    out
}

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/clickhouse.sh")
}

/// Stops the server for 30 s in the middle of a run of the background writer: it retries,
/// and the tables end up exactly as if nothing had happened. Runs only with
/// `PULSO_CLICKHOUSE_RESTART_TEST=1` (it stops the shared server).
#[test]
fn writer_survives_a_server_restart() {
    if std::env::var("PULSO_CLICKHOUSE_RESTART_TEST").as_deref() != Ok("1") {
        skip("writer_survives_a_server_restart: set PULSO_CLICKHOUSE_RESTART_TEST=1 to run it");
        return;
    }
    let Some(mut config) = config("restart") else {
        return;
    };
    config.batch_rows = 100;
    config.retry = RetryPolicy {
        initial_ms: 100,
        max_ms: 2_000,
        max_elapsed: Some(Duration::from_secs(180)),
    };
    let sets = growing_sets(40);
    let all = epochs(&sets);
    let (writer, metrics) = spawn_writer(config.clone(), 2);
    let mut restarter = None;
    for (epoch, changes) in all {
        if epoch == 10 {
            // Wait for the first epochs, then take the server away for 30 s.
            while metrics.last_written_epoch() < Some(9) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let status = Command::new(script()).arg("stop").status().unwrap();
            assert!(status.success());
            restarter = Some(std::thread::spawn(|| {
                std::thread::sleep(Duration::from_secs(30));
                let status = Command::new(script()).arg("start").status().unwrap();
                assert!(status.success());
            }));
        }
        let start = Instant::now();
        writer.send(epoch, changes).unwrap();
        if start.elapsed() > Duration::from_secs(1) {
            eprintln!(
                "epoch {epoch}: send blocked {:?} (back-pressure)",
                start.elapsed()
            );
        }
        assert!(metrics.pending_epochs() <= 3 + 1);
    }
    writer.close().unwrap();
    restarter.unwrap().join().unwrap();
    eprintln!(
        "restart test: {} epochs, {} rows, {} retries, {} failures",
        metrics.epochs_written(),
        metrics.rows_written(),
        metrics.retries(),
        metrics.failures()
    );
    assert!(metrics.retries() > 0);
    assert_eq!(metrics.failures(), 0);
    assert_eq!(metrics.epochs_written(), 40);
    assert_eq!(metrics.last_written_epoch(), Some(40));
    assert_eq!(metrics.pending_epochs(), 0);
    let sink = ClickHouseSink::connect(config).unwrap();
    assert_eq!(sink.read_views().unwrap(), sets[39]);
    sink.drop_database().unwrap();
}

#[test]
fn the_writer_writes_every_epoch_sent() {
    let Some(config) = config("writer") else {
        return;
    };
    let sets = growing_sets(12);
    let (writer, metrics) = spawn_writer(config.clone(), 1);
    for (epoch, changes) in epochs(&sets) {
        writer.send(epoch, changes).unwrap();
    }
    writer.close().unwrap();
    assert_eq!(metrics.epochs_written(), 12);
    assert_eq!(metrics.pending_epochs(), 0);
    let sink = ClickHouseSink::connect(config).unwrap();
    assert_eq!(sink.read_views().unwrap(), sets[11]);
    sink.drop_database().unwrap();
}

#[test]
fn a_permanent_error_stops_the_writer_and_is_reported() {
    let Some(config) = config("permanent") else {
        return;
    };
    let sink = ClickHouseSink::connect(config.clone()).unwrap();
    // Someone drops the tables under the sink: inserting is a permanent error.
    sink.drop_database().unwrap();
    let mut sink = sink;
    let changes = diff_views(&ViewSet::default(), &set_a());
    let error = sink.write_epoch(1, &changes).unwrap_err();
    assert!(error.is_permanent(), "{error}");
    assert_eq!(sink.metrics().failures(), 1);
    assert_eq!(sink.metrics().last_written_epoch(), None);
}

#[test]
fn an_unreachable_server_is_retried_then_given_up() {
    // Nothing listens on port 1: connection refused, retried until max_elapsed.
    let config = ClickHouseConfig {
        url: "http://127.0.0.1:1".into(),
        retry: RetryPolicy {
            initial_ms: 10,
            max_ms: 50,
            max_elapsed: Some(Duration::from_millis(300)),
        },
        ..ClickHouseConfig::default()
    };
    let start = Instant::now();
    let Err(error) = ClickHouseSink::connect(config) else {
        panic!("connected to nothing")
    };
    assert!(start.elapsed() < Duration::from_secs(5));
    match &error {
        ClickHouseError::GaveUp { attempts, last, .. } => {
            assert!(*attempts > 1);
            assert!(last.is_retryable(), "{last}");
        }
        other => panic!("unexpected {other}"),
    }
}

/// Write throughput: ~1M timeline rows in one epoch, printed as rows/s.
/// `cargo test --release -p pulso-sinks clickhouse_throughput -- --ignored --nocapture`
#[test]
#[ignore = "measures throughput; needs PULSO_CLICKHOUSE_URL"]
fn clickhouse_throughput() {
    let Some(config) = config("throughput") else {
        return;
    };
    let mut sink = ClickHouseSink::connect(config).unwrap();
    let n = 1_000_000;
    let changes: Vec<(ViewRow, isize)> = (0..n)
        .map(|i| {
            let entry = TimelineEntry {
                entity_type: "order".into(),
                entity_id: format!("ORD-{:07}", i / 10).into(),
                timestamp: T0 + i * 1_000,
                event_id: format!("evt-{i:09}").into(),
                topic: "orders.events".into(),
                event_type: "ORDER_CONFIRMED".into(),
                summary: format!(
                    r#"{{"status":"CONFIRMED","total":"{}.{:02}"}}"#,
                    i % 1000,
                    i % 100
                )
                .into(),
            };
            (ViewRow::Timeline(entry), 1)
        })
        .collect();
    let start = Instant::now();
    sink.write_epoch(1, &changes).unwrap();
    let write = start.elapsed();
    let start = Instant::now();
    let views = sink.read_views().unwrap();
    let read = start.elapsed();
    assert_eq!(views.timelines.len(), n as usize);
    println!(
        "clickhouse sink: wrote {n} timeline rows in {write:?} ({:.0} rows/s), read back in {read:?} ({:.0} rows/s)",
        n as f64 / write.as_secs_f64(),
        n as f64 / read.as_secs_f64()
    );
    // A second epoch that changes 10% of the rows and retracts 10%.
    let mut second = Vec::new();
    for (i, (row, _)) in changes.iter().enumerate().take(200_000) {
        let ViewRow::Timeline(entry) = row else {
            unreachable!()
        };
        second.push((row.clone(), -1));
        if i % 2 == 0 {
            let mut changed = entry.clone();
            changed.summary = "changed".into();
            second.push((ViewRow::Timeline(changed), 1));
        }
    }
    let start = Instant::now();
    sink.write_epoch(2, &second).unwrap();
    println!(
        "clickhouse sink: epoch of {} changes ({} keys) in {:?}",
        second.len(),
        200_000,
        start.elapsed()
    );
    let views = sink.read_views().unwrap();
    assert_eq!(views.timelines.len(), n as usize - 100_000);
    sink.drop_database().unwrap();
}

#[test]
fn diff_views_gives_the_changes_between_sets() {
    let (a, b) = (set_a(), set_b());
    assert!(diff_views(&a, &a).is_empty());
    let changes = diff_views(&a, &b);
    assert!(changes.contains(&(ViewRow::AsOf(T0 + 123_456), -1)));
    assert!(changes.contains(&(ViewRow::AsOf(T0 + 999), 1)));
    // Applying the changes to a's rows gives b's rows.
    let mut rows: Vec<ViewRow> = view_rows(&a).collect();
    for (row, diff) in &changes {
        if *diff > 0 {
            rows.push(row.clone());
        } else {
            let at = rows.iter().position(|r| r == row).unwrap();
            rows.remove(at);
        }
    }
    assert_eq!(ViewSet::from_rows(rows), b);
    assert_eq!(view_rows(&a).count(), 32);
}

#[test]
fn key_states_pick_the_new_row_or_a_tombstone() {
    let tables = tables::Tables::new();
    let mut key_a = Vec::new();
    let mut key_b = Vec::new();
    let old = ViewRow::OpenCase(open_case(1, None, SlaStatus::OnTrack));
    let new = ViewRow::OpenCase(open_case(1, Some("ALTA"), SlaStatus::Breached));
    assert_eq!(
        tables.encode_key(&old, &mut key_a),
        tables.encode_key(&new, &mut key_b)
    );
    assert_eq!(key_a, key_b, "open_cases is keyed by caso_id alone");
    let other = ViewRow::OpenCase(open_case(2, None, SlaStatus::OnTrack));
    let mut key_c = Vec::new();
    tables.encode_key(&other, &mut key_c);
    assert_ne!(key_a, key_c);
    // A null prioridad and an empty one are different keys.
    let (mut k1, mut k2) = (Vec::new(), Vec::new());
    tables.encode_key(&ViewRow::SlaCompliance(sla(None, 1, 0)), &mut k1);
    tables.encode_key(&ViewRow::SlaCompliance(sla(Some(""), 1, 0)), &mut k2);
    assert_ne!(k1, k2);
}

#[test]
fn schema_sql_uses_only_portable_statements() {
    let sql = schema_sql("pulso");
    assert_eq!(sql[0], "CREATE DATABASE IF NOT EXISTS pulso");
    assert_eq!(sql.len(), 1 + 2 * 17);
    let rates = &sql[1];
    assert!(rates.starts_with("CREATE TABLE IF NOT EXISTS pulso.notification_rates_store ("));
    assert!(rates.ends_with(
        "ENGINE = ReplacingMergeTree(version) ORDER BY (tenant_id, channel, provider, \
         granularity, window_start_us)"
    ));
    assert!(rates.contains("cost_total Decimal(38, 2)"));
    assert!(rates.contains("delivery_rate Nullable(Float64)"));
    assert!(rates.contains("window_start DateTime('UTC'), window_start_us Int64"));
    assert!(rates.contains("version UInt64, is_deleted UInt8"));
    let sla_view = sql
        .iter()
        .find(|s| s.contains("VIEW IF NOT EXISTS pulso.sla_compliance "))
        .unwrap();
    assert_eq!(
        sla_view,
        "CREATE VIEW IF NOT EXISTS pulso.sla_compliance AS SELECT dependencia_id, \
         if(prioridad_is_null = 1, NULL, prioridad_value) AS prioridad, day, met, violated, \
         compliance_rate, closed, avg_resolution_hours, avg_satisfaction, resolution_count, \
         satisfaction_count, resolution_micro_hours_sum, satisfaction_sum, day_us \
         FROM pulso.sla_compliance_store FINAL WHERE is_deleted = 0"
    );
    let keys: Vec<&str> = sql
        .iter()
        .filter_map(|s| s.split(" ORDER BY ").nth(1))
        .collect();
    assert_eq!(
        keys,
        [
            "(tenant_id, channel, provider, granularity, window_start_us)",
            "(tenant_id, channel, day_us, bounce_type, reason)",
            "(tenant_id, channel, provider, granularity, window_start_us)",
            "(tenant_id, channel, provider, day_us, reason)",
            "(tenant_id, channel, category, template, day_us)",
            "(tenant_id, currency, granularity, window_start_us)",
            "(tenant_id, reason)",
            "(tenant_id, sku)",
            "(dependencia_id, estado)",
            "(dependencia_id, prioridad_value, prioridad_is_null, day_us)",
            "(dependencia_id, prioridad_value, prioridad_is_null, status)",
            "(caso_id)",
            "(entity_type, entity_id, timestamp_us, event_id, topic)",
            "(topic)",
            "(tenant_id, entity_type, event_type, granularity, window_start_us)",
            "(tenant_id, topic, granularity, window_start_us)",
            "(view)",
        ]
    );
    assert_eq!(
        view_names(),
        [
            "notification_rates",
            "notification_bounces",
            "notification_latency",
            "notification_failures",
            "notification_variants",
            "order_metrics",
            "order_cancellations",
            "inventory_levels",
            "case_backlog",
            "sla_compliance",
            "open_case_sla",
            "open_cases",
            "timelines",
            "pipeline_health",
            "tracking_activity",
            "tenant_activity",
            "as_of",
        ]
    );
}

#[test]
fn errors_are_classified() {
    let body = "Code: 62, e.displayText() = DB::Exception: Syntax error";
    assert_eq!(parse_error_code(body), Some(62));
    assert_eq!(
        parse_error_code("Code: 252. DB::Exception: Too many parts"),
        Some(252)
    );
    assert_eq!(parse_error_code("Bad Gateway"), None);
    let server = |status, code| ClickHouseError::Server {
        status,
        code,
        message: String::new(),
    };
    assert!(server(500, Some(62)).is_permanent()); // 18.16 answers SQL errors with 500
    assert!(server(500, Some(252)).is_retryable());
    assert!(server(400, Some(159)).is_retryable());
    assert!(server(503, None).is_retryable());
    assert!(server(500, Some(999)).is_retryable());
    assert!(server(404, Some(60)).is_permanent());
    assert!(server(401, None).is_permanent());
    assert!(server(429, None).is_retryable());
    assert!(ClickHouseError::Config("x".into()).is_permanent());
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let policy = RetryPolicy {
        initial_ms: 100,
        max_ms: 1_000,
        max_elapsed: None,
    };
    let caps: Vec<u64> = (0..6).map(|a| policy.cap(a).as_millis() as u64).collect();
    assert_eq!(caps, [100, 200, 400, 800, 1_000, 1_000]);
    assert_eq!(policy.cap(200).as_millis(), 1_000);
}

#[test]
fn config_deserializes_with_defaults() {
    let config: ClickHouseConfig = serde_json::from_str(
        r#"{"database": "views", "batch_rows": 5000, "retry": {"max_elapsed": 60000}}"#,
    )
    .unwrap();
    assert_eq!(config.database, "views");
    assert_eq!(config.batch_rows, 5000);
    assert_eq!(config.url, "http://127.0.0.1:8123");
    assert_eq!(config.retry.initial_ms, 100);
    assert_eq!(config.retry.max_elapsed, Some(Duration::from_secs(60)));
    assert!(config.validate().is_ok());
    let bad = ClickHouseConfig {
        database: "drop table; --".into(),
        ..ClickHouseConfig::default()
    };
    assert!(matches!(bad.validate(), Err(ClickHouseError::Config(_))));
}

#[test]
fn rowbinary_round_trips() {
    let mut out = Vec::new();
    let long = "x".repeat(300);
    rb::put_str(&mut out, &long);
    rb::put_str(&mut out, "ñ");
    rb::put_i64(&mut out, -MICROS_PER_DAY);
    rb::put_opt_f64(&mut out, None);
    rb::put_opt_f64(&mut out, Some(0.25));
    rb::put_u32(&mut out, 7);
    rb::put_u8(&mut out, 1);
    assert_eq!(&out[..2], &[0xac, 0x02]); // 300 as LEB128
    let mut r = Reader::new(&out);
    assert_eq!(r.string().unwrap(), long);
    assert_eq!(r.string().unwrap(), "ñ");
    assert_eq!(r.i64().unwrap(), -MICROS_PER_DAY);
    assert_eq!(r.opt_f64().unwrap(), None);
    assert_eq!(r.opt_f64().unwrap(), Some(0.25));
    assert_eq!(r.u32().unwrap(), 7);
    assert_eq!(r.u8().unwrap(), 1);
    assert!(r.is_empty());
    assert!(r.u8().is_err());
}

/// Prints the schema statements (for docs/CLICKHOUSE.md and for trying them on other
/// ClickHouse versions): `cargo test -p pulso-sinks print_schema_sql -- --ignored --nocapture`.
#[test]
#[ignore = "prints the DDL"]
fn print_schema_sql() {
    for sql in schema_sql("pulso") {
        println!("{sql};");
    }
}
