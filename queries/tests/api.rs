//! The HTTP API end to end, without a server: every route through `tower::ServiceExt::oneshot`
//! over a store filled with a small fixture.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use pulso_events::time::{parse_rfc3339, Granularity, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TimelineEntry, TopicHealth,
    ViewRow, VIEW_NAMES,
};
use pulso_queries::{app, LiveStatus, PartitionStatus, ViewStore};
use serde_json::Value;
use tower::ServiceExt;

fn t(text: &str) -> Micros {
    parse_rfc3339(text).unwrap()
}

const DAYS: [&str; 3] = [
    "2024-01-15T00:00:00Z",
    "2024-01-16T00:00:00Z",
    "2024-01-17T00:00:00Z",
];

fn rates(tenant: &str, channel: &str, g: Granularity, start: &str, sent: i64) -> NotificationRates {
    NotificationRates {
        tenant_id: tenant.into(),
        channel: channel.into(),
        provider: "twilio".into(),
        granularity: g,
        window_start: t(start),
        sent,
        delivered: sent / 2,
        opened: 0,
        clicked: 0,
        converted: 0,
        bounced: 1,
        hard_bounced: 0,
        failed: 0,
        fallback: 0,
        cost_total: 1230,
    }
}

fn orders(tenant: &str, g: Granularity, start: &str) -> OrderMetrics {
    OrderMetrics {
        tenant_id: tenant.into(),
        granularity: g,
        window_start: t(start),
        orders_created: 4,
        orders_confirmed: 2,
        orders_cancelled: 1,
        orders_pending: 1,
        revenue_confirmed_total: 105_997,
        revenue_lost_total: 500,
        revenue_pending_total: 7,
    }
}

fn timeline(entity: &str, ts: &str, event_id: &str) -> TimelineEntry {
    TimelineEntry {
        entity_type: "order".into(),
        entity_id: entity.into(),
        timestamp: t(ts),
        event_id: event_id.into(),
        topic: "orders.events".into(),
        event_type: "ORDER_CREATED".into(),
        summary: r#"{"status":"CREATED","total":12.5}"#.into(),
    }
}

fn open_case(caso_id: i64, dep: i64, status: SlaStatus, due: &str) -> OpenCase {
    OpenCase {
        dependencia_id: dep,
        prioridad: Some("ALTA".into()),
        status,
        due_at: t(due),
        caso_id,
        numero_caso: format!("CRV-2024-{caso_id:08}"),
    }
}

/// Every row of the fixture.
fn fixture() -> Vec<ViewRow> {
    let mut rows = vec![ViewRow::AsOf(t("2024-01-20T12:00:00Z"))];
    for tenant in ["acme", "globex"] {
        for channel in ["email", "sms"] {
            for (i, day) in DAYS.iter().enumerate() {
                let sent = 2 * (i as i64 + 1);
                rows.push(ViewRow::NotificationRates(rates(
                    tenant,
                    channel,
                    Granularity::Day,
                    day,
                    sent,
                )));
                rows.push(ViewRow::NotificationRates(rates(
                    tenant,
                    channel,
                    Granularity::Hour,
                    day,
                    sent,
                )));
            }
            rows.push(ViewRow::NotificationBounces(NotificationBounces {
                tenant_id: tenant.into(),
                channel: channel.into(),
                day: t(DAYS[0]),
                bounce_type: "HARD".into(),
                reason: "unspecified".into(),
                notifications: 1,
            }));
        }
        for day in DAYS {
            rows.push(ViewRow::OrderMetrics(orders(tenant, Granularity::Day, day)));
            rows.push(ViewRow::OrderMetrics(orders(
                tenant,
                Granularity::Minute,
                day,
            )));
        }
        rows.push(ViewRow::OrderCancellations(OrderCancellations {
            tenant_id: tenant.into(),
            reason: "customer_request".into(),
            orders: 3,
        }));
        for sku in ["SKU-1", "SKU-2", "SKU-3"] {
            rows.push(ViewRow::InventoryLevels(InventoryLevels {
                tenant_id: tenant.into(),
                sku: sku.into(),
                on_hand: 10,
                reserved: 12,
                available: -2,
                insufficient_stock_events: 1,
            }));
        }
    }
    for dep in [1, 2] {
        for estado in ["PENDIENTE", "ASIGNADO"] {
            rows.push(ViewRow::CaseBacklog(CaseBacklog {
                dependencia_id: dep,
                estado: estado.into(),
                cases: 5,
            }));
        }
        for (prioridad, day) in [
            (Some("ALTA"), DAYS[0]),
            (None, DAYS[1]),
            (Some("BAJA"), DAYS[2]),
        ] {
            rows.push(ViewRow::SlaCompliance(SlaCompliance {
                dependencia_id: dep,
                prioridad: prioridad.map(String::from),
                day: t(day),
                met: 3,
                violated: 1,
                closed: 2,
                resolution_micro_hours_sum: 5_000_000,
                resolution_count: 2,
                satisfaction_sum: 0,
                satisfaction_count: 0,
            }));
        }
        for status in [SlaStatus::Breached, SlaStatus::AtRisk, SlaStatus::OnTrack] {
            rows.push(ViewRow::OpenCaseSla(OpenCaseSla {
                dependencia_id: dep,
                prioridad: Some("ALTA".into()),
                status,
                cases: 2,
            }));
        }
    }
    rows.push(ViewRow::OpenCase(open_case(
        7,
        1,
        SlaStatus::Breached,
        "2024-01-18T00:00:00Z",
    )));
    rows.push(ViewRow::OpenCase(open_case(
        8,
        2,
        SlaStatus::Breached,
        "2024-01-10T00:00:00Z",
    )));
    rows.push(ViewRow::OpenCase(open_case(
        9,
        1,
        SlaStatus::Breached,
        "2024-01-12T00:00:00Z",
    )));
    rows.push(ViewRow::OpenCase(open_case(
        10,
        1,
        SlaStatus::AtRisk,
        "2024-01-21T00:00:00Z",
    )));
    rows.push(ViewRow::OpenCase(open_case(
        11,
        2,
        SlaStatus::OnTrack,
        "2024-01-25T00:00:00Z",
    )));
    // Same timestamp twice: the event id breaks the tie.
    rows.push(ViewRow::Timeline(timeline(
        "o-1",
        "2024-01-15T10:00:00Z",
        "e-3",
    )));
    rows.push(ViewRow::Timeline(timeline(
        "o-1",
        "2024-01-15T09:00:00Z",
        "e-9",
    )));
    rows.push(ViewRow::Timeline(timeline(
        "o-1",
        "2024-01-15T10:00:00Z",
        "e-2",
    )));
    rows.push(ViewRow::Timeline(timeline(
        "o-1",
        "2024-01-16T00:00:00Z",
        "e-1",
    )));
    rows.push(ViewRow::Timeline(timeline(
        "o-1",
        "2024-01-17T00:00:00Z",
        "e-5",
    )));
    rows.push(ViewRow::Timeline(timeline(
        "o-2",
        "2024-01-15T00:00:00Z",
        "e-7",
    )));
    for (topic, records) in [("orders.events", 100), ("casos.creados", 7)] {
        let mut rejected = [0; 8];
        rejected[0] = 2;
        rejected[3] = 1;
        rows.push(ViewRow::TopicHealth(TopicHealth {
            topic: topic.into(),
            records,
            rejected,
            duplicates: 4,
            orphan_events: 1,
        }));
    }
    rows
}

fn store() -> Arc<ViewStore> {
    let store = Arc::new(ViewStore::new());
    store.apply_epoch(7, fixture().into_iter().map(|r| (r, 1)).collect());
    store.set_live(LiveStatus {
        partitions: vec![
            PartitionStatus {
                topic: "orders.events".into(),
                partition: 0,
                next_offset: 90,
                high_watermark: 100,
                lag: 10,
            },
            PartitionStatus {
                topic: "orders.events".into(),
                partition: 1,
                next_offset: 50,
                high_watermark: 50,
                lag: 0,
            },
        ],
        dlq_size: 3,
        events_per_second: 1250.5,
        epoch_duration_ms: 12.0,
        sink_lag_epochs: 1,
        sink_failures: 2,
    });
    store
}

async fn call(app: &Router, method: Method, uri: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
    let (status, body) = call(app, Method::GET, uri).await;
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}"));
    (status, value)
}

/// A 200 listing's rows.
async fn rows(app: &Router, uri: &str) -> Vec<Value> {
    let (status, body) = get_json(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body["rows"].as_array().unwrap().clone()
}

/// Every row of a listing, walking `next_cursor` with pages of `limit`.
async fn walk(app: &Router, uri: &str, limit: usize) -> Vec<Value> {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let page_uri = match &cursor {
            Some(c) => format!("{uri}{sep}limit={limit}&cursor={c}"),
            None => format!("{uri}{sep}limit={limit}"),
        };
        let (status, body) = get_json(app, &page_uri).await;
        assert_eq!(status, StatusCode::OK, "{page_uri}: {body}");
        let page = body["rows"].as_array().unwrap();
        assert!(page.len() <= limit);
        all.extend(page.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => {
                // (Small tables never exhaust the scan budget, so pages are full.)
                assert_eq!(page.len(), limit, "only full pages have a next cursor");
                cursor = Some(c.to_string());
            }
            None => return all,
        }
    }
    panic!("{uri}: paging does not end");
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, parameter: Option<&str>) {
    assert_eq!(status, expected, "{body}");
    let error = &body["error"];
    assert!(error["code"].is_string(), "{body}");
    assert!(error["message"].is_string(), "{body}");
    assert_eq!(error["parameter"].as_str(), parameter, "{body}");
}

#[tokio::test]
async fn health_reports_the_epoch() {
    let app = app(store());
    let (status, body) = get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["epoch"], 7);
    assert_eq!(body["as_of"], "2024-01-20T12:00:00Z");

    let empty = pulso_queries::app(Arc::new(ViewStore::new()));
    let (status, body) = get_json(&empty, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["epoch"].is_null());
}

#[tokio::test]
async fn every_view_has_the_envelope() {
    let app = app(store());
    for view in VIEW_NAMES {
        let (status, body) = get_json(&app, &format!("/v1/views/{view}")).await;
        assert_eq!(status, StatusCode::OK, "{view}: {body}");
        assert_eq!(
            keys(&body),
            set(&[
                "view",
                "epoch",
                "as_of",
                "freshness_seconds",
                "rows",
                "next_cursor"
            ]),
            "{view}"
        );
        assert_eq!(body["view"], view);
        assert_eq!(body["epoch"], 7);
        assert_eq!(body["as_of"], "2024-01-20T12:00:00Z");
        let freshness = body["freshness_seconds"].as_f64().unwrap();
        assert!((0.0..60.0).contains(&freshness));
        assert!(!body["rows"].as_array().unwrap().is_empty(), "{view}");
        assert!(body["next_cursor"].is_null());
    }
}

#[tokio::test]
async fn notification_rates_columns_and_filters() {
    let app = app(store());
    let all = rows(&app, "/v1/views/notification_rates").await;
    assert_eq!(all.len(), 2 * 2 * 3 * 2);
    assert_eq!(
        keys(&all[0]),
        set(&[
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
        ])
    );
    let day = rows(&app, "/v1/views/notification_rates?granularity=day").await;
    assert_eq!(day.len(), 12);
    assert!(day.iter().all(|r| r["granularity"] == "day"));
    // Ordered by window_start within a granularity.
    let starts: Vec<&str> = day
        .iter()
        .map(|r| r["window_start"].as_str().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));

    let (_, raw) = call(
        &app,
        Method::GET,
        "/v1/views/notification_rates?granularity=day&tenant_id=acme&channel=sms&provider=twilio\
         &from=2024-01-16T00:00:00Z&to=2024-01-17T00:00:00Z",
    )
    .await;
    assert!(raw.contains("\"cost_total\":12.30"), "{raw}");
    let body: Value = serde_json::from_str(&raw).unwrap();
    let one = body["rows"].as_array().unwrap();
    assert_eq!(one.len(), 1, "{body}");
    let r = &one[0];
    assert_eq!(r["tenant_id"], "acme");
    assert_eq!(r["channel"], "sms");
    assert_eq!(r["window_start"], "2024-01-16T00:00:00Z");
    assert_eq!(r["sent"], 4);
    assert_eq!(r["delivery_rate"].as_f64(), Some(0.5));
    assert_eq!(r["bounce_rate"].as_f64(), Some(0.25));
    assert_eq!(r["open_rate"].as_f64(), Some(0.0));

    // from/to without granularity filters all granularities.
    let later = rows(
        &app,
        "/v1/views/notification_rates?from=2024-01-17T00:00:00Z",
    )
    .await;
    assert_eq!(later.len(), 8);
    let provider = rows(&app, "/v1/views/notification_rates?provider=other").await;
    assert!(provider.is_empty());
    let tenant = rows(
        &app,
        "/v1/views/notification_rates?tenant_id=globex&granularity=hour",
    )
    .await;
    assert_eq!(tenant.len(), 6);
}

#[tokio::test]
async fn order_views() {
    let app = app(store());
    let (_, raw) = call(
        &app,
        Method::GET,
        "/v1/views/order_metrics?granularity=day&tenant_id=acme",
    )
    .await;
    assert!(raw.contains("\"revenue_confirmed_total\":1059.97"), "{raw}");
    assert!(raw.contains("\"revenue_lost_total\":5.00"), "{raw}");
    assert!(raw.contains("\"revenue_pending_total\":0.07"), "{raw}");
    let body: Value = serde_json::from_str(&raw).unwrap();
    let r = body["rows"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        keys(&r[0]),
        set(&[
            "tenant_id",
            "granularity",
            "window_start",
            "orders_created",
            "orders_confirmed",
            "orders_cancelled",
            "orders_pending",
            "revenue_confirmed_total",
            "revenue_lost_total",
            "revenue_pending_total",
            "cancellation_rate",
        ])
    );
    assert_eq!(r[0]["cancellation_rate"].as_f64(), Some(0.25));
    let ranged = rows(
        &app,
        "/v1/views/order_metrics?granularity=minute&from=2024-01-16T00:00:00Z&to=2024-01-17T00:00:00Z",
    )
    .await;
    assert_eq!(ranged.len(), 2);

    let c = rows(&app, "/v1/views/order_cancellations?tenant_id=globex").await;
    assert_eq!(c.len(), 1);
    assert_eq!(keys(&c[0]), set(&["tenant_id", "reason", "orders"]));
    assert_eq!(c[0]["orders"], 3);

    let inv = rows(&app, "/v1/views/inventory_levels?tenant_id=acme&sku=SKU-2").await;
    assert_eq!(inv.len(), 1);
    assert_eq!(
        keys(&inv[0]),
        set(&[
            "tenant_id",
            "sku",
            "on_hand",
            "reserved",
            "available",
            "insufficient_stock_events"
        ])
    );
    assert_eq!(inv[0]["available"], -2);
    assert_eq!(
        rows(&app, "/v1/views/inventory_levels?sku=SKU-3")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn notification_bounces_filters() {
    let app = app(store());
    let all = rows(&app, "/v1/views/notification_bounces").await;
    assert_eq!(all.len(), 4);
    assert_eq!(
        keys(&all[0]),
        set(&[
            "tenant_id",
            "channel",
            "day",
            "bounce_type",
            "reason",
            "notifications"
        ])
    );
    assert_eq!(all[0]["day"], "2024-01-15T00:00:00Z");
    assert_eq!(
        rows(&app, "/v1/views/notification_bounces?tenant_id=acme")
            .await
            .len(),
        2
    );
    assert_eq!(
        rows(&app, "/v1/views/notification_bounces?channel=sms")
            .await
            .len(),
        2
    );
    let both = rows(
        &app,
        "/v1/views/notification_bounces?tenant_id=acme&channel=sms",
    )
    .await;
    assert_eq!(both.len(), 1);
    assert_eq!(both[0]["channel"], "sms");
}

#[tokio::test]
async fn case_views() {
    let app = app(store());
    let backlog = rows(&app, "/v1/views/case_backlog?dependencia_id=2").await;
    assert_eq!(backlog.len(), 2);
    assert_eq!(
        keys(&backlog[0]),
        set(&["dependencia_id", "estado", "cases"])
    );
    assert!(backlog.iter().all(|r| r["dependencia_id"] == 2));

    let sla = rows(&app, "/v1/views/sla_compliance").await;
    assert_eq!(sla.len(), 6);
    assert_eq!(
        keys(&sla[0]),
        set(&[
            "dependencia_id",
            "prioridad",
            "day",
            "met",
            "violated",
            "compliance_rate",
            "closed",
            "avg_resolution_hours",
            "avg_satisfaction",
        ])
    );
    let alta = rows(
        &app,
        "/v1/views/sla_compliance?dependencia_id=1&prioridad=ALTA",
    )
    .await;
    assert_eq!(alta.len(), 1);
    assert_eq!(alta[0]["compliance_rate"].as_f64(), Some(0.75));
    assert_eq!(alta[0]["avg_resolution_hours"].as_f64(), Some(2.5));
    assert!(alta[0]["avg_satisfaction"].is_null());
    let ranged = rows(
        &app,
        "/v1/views/sla_compliance?from=2024-01-16T00:00:00Z&to=2024-01-17T00:00:00Z",
    )
    .await;
    assert_eq!(ranged.len(), 2);
    assert!(ranged.iter().all(|r| r["prioridad"].is_null()));

    let open = rows(&app, "/v1/views/open_case_sla?status=AT_RISK").await;
    assert_eq!(open.len(), 2);
    assert_eq!(
        keys(&open[0]),
        set(&["dependencia_id", "prioridad", "status", "cases"])
    );
    let dep = rows(
        &app,
        "/v1/views/open_case_sla?dependencia_id=2&prioridad=ALTA",
    )
    .await;
    assert_eq!(dep.len(), 3);
}

#[tokio::test]
async fn open_cases_most_overdue_first() {
    let app = app(store());
    let breached = rows(&app, "/v1/open_cases?status=BREACHED").await;
    let ids: Vec<i64> = breached
        .iter()
        .map(|r| r["caso_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![8, 9, 7]);
    assert_eq!(
        keys(&breached[0]),
        set(&[
            "caso_id",
            "numero_caso",
            "due_at",
            "dependencia_id",
            "prioridad",
            "status"
        ])
    );
    assert_eq!(breached[0]["due_at"], "2024-01-10T00:00:00Z");
    assert_eq!(breached[0]["numero_caso"], "CRV-2024-00000008");
    let dep1 = rows(&app, "/v1/open_cases?status=BREACHED&dependencia_id=1").await;
    let ids: Vec<i64> = dep1
        .iter()
        .map(|r| r["caso_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![9, 7]);
    assert_eq!(rows(&app, "/v1/open_cases").await.len(), 5);
    assert_eq!(rows(&app, "/v1/open_cases?status=on_track").await.len(), 1);
    let paged = walk(&app, "/v1/open_cases", 2).await;
    let ids: Vec<i64> = paged
        .iter()
        .map(|r| r["caso_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![8, 9, 7, 10, 11]);
}

#[tokio::test]
async fn timelines_in_order_with_parsed_summaries() {
    let app = app(store());
    let entries = rows(&app, "/v1/timelines/order/o-1").await;
    let ids: Vec<&str> = entries
        .iter()
        .map(|r| r["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["e-9", "e-2", "e-3", "e-1", "e-5"]);
    assert_eq!(
        keys(&entries[0]),
        set(&[
            "entity_type",
            "entity_id",
            "timestamp",
            "event_id",
            "topic",
            "event_type",
            "summary"
        ])
    );
    assert_eq!(entries[0]["timestamp"], "2024-01-15T09:00:00Z");
    assert_eq!(entries[0]["summary"]["status"], "CREATED");
    assert_eq!(entries[0]["summary"]["total"].as_f64(), Some(12.5));
    let paged = walk(&app, "/v1/timelines/order/o-1", 2).await;
    assert_eq!(paged, entries);
    assert!(rows(&app, "/v1/timelines/order/missing").await.is_empty());
    assert!(rows(&app, "/v1/timelines/sku/o-1").await.is_empty());
    let (_, body) = get_json(&app, "/v1/timelines/order/o-2").await;
    assert_eq!(body["view"], "timelines");
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    // The timelines view can also filter by entity.
    let view = rows(&app, "/v1/views/timelines?entity_type=order&entity_id=o-1").await;
    assert_eq!(view, entries);
    assert_eq!(
        rows(&app, "/v1/views/timelines?entity_id=o-2").await.len(),
        1
    );
}

#[tokio::test]
async fn cursors_walk_every_row_exactly_once() {
    let app = app(store());
    let listings = [
        "/v1/views/notification_rates",
        "/v1/views/notification_rates?granularity=day",
        "/v1/views/notification_rates?granularity=hour&tenant_id=acme&from=2024-01-16T00:00:00Z",
        "/v1/views/notification_bounces",
        "/v1/views/order_metrics",
        "/v1/views/order_metrics?granularity=minute&tenant_id=globex",
        "/v1/views/order_cancellations",
        "/v1/views/inventory_levels",
        "/v1/views/inventory_levels?tenant_id=globex",
        "/v1/views/case_backlog",
        "/v1/views/sla_compliance",
        "/v1/views/sla_compliance?dependencia_id=2",
        "/v1/views/open_case_sla",
        "/v1/views/timelines",
        "/v1/views/pipeline_health",
        "/v1/open_cases?status=BREACHED",
        "/v1/timelines/order/o-1",
    ];
    for uri in listings {
        let sep = if uri.contains('?') { '&' } else { '?' };
        let all = rows(&app, &format!("{uri}{sep}limit=1000")).await;
        assert!(!all.is_empty(), "{uri}");
        for limit in [1, 2, 3, 7] {
            let paged = walk(&app, uri, limit).await;
            assert_eq!(paged, all, "{uri} with limit {limit}");
        }
    }
}

#[tokio::test]
async fn pipeline_health_route() {
    let app = app(store());
    let (status, body) = get_json(&app, "/v1/pipeline_health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["view"], "pipeline_health");
    assert_eq!(body["epoch"], 7);
    assert_eq!(body["dlq_size"], 3);
    assert!(body["freshness_seconds"].as_f64().unwrap() >= 0.0);
    let topics = body["rows"].as_array().unwrap();
    assert_eq!(topics.len(), 2);
    let orders = topics
        .iter()
        .find(|t| t["topic"] == "orders.events")
        .unwrap();
    assert_eq!(orders["records"], 100);
    assert_eq!(orders["rejected"], 3);
    assert_eq!(orders["rejected_malformed_json"], 2);
    assert_eq!(orders["rejected_invalid_field"], 1);
    assert_eq!(orders["rejected_topic_mismatch"], 0);
    assert_eq!(orders["duplicates"], 4);
    assert_eq!(orders["orphan_events"], 1);
    let partitions = body["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2);
    assert_eq!(partitions[0]["lag"], 10);
    assert_eq!(partitions[0]["next_offset"], 90);
    assert_eq!(partitions[0]["high_watermark"], 100);
    assert_eq!(body["events_per_second"].as_f64(), Some(1250.5));
    assert_eq!(body["sink_failures"], 2);
}

/// Parses one sample line `name{labels} value` into its parts.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let (series, value) = line
        .rsplit_once(' ')
        .unwrap_or_else(|| panic!("no value: {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value: {line}")),
    };
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => {
            let body = rest
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("unclosed: {line}"));
            let mut labels = Vec::new();
            let mut rest = body;
            while !rest.is_empty() {
                let (key, after) = rest
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("label: {line}"));
                let mut value = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((_, '\\')) => {
                            let (_, c) = chars.next().unwrap();
                            value.push(if c == 'n' { '\n' } else { c });
                        }
                        Some((i, '"')) => break i,
                        Some((_, c)) => value.push(c),
                        None => panic!("unterminated label: {line}"),
                    }
                };
                labels.push((key.to_string(), value));
                rest = after[end + 1..]
                    .strip_prefix(',')
                    .unwrap_or(&after[end + 1..]);
            }
            (name.to_string(), labels)
        }
        None => (series.to_string(), Vec::new()),
    };
    let valid_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    assert!(valid_name(&name), "bad metric name: {line}");
    assert!(
        labels.iter().all(|(k, _)| valid_name(k)),
        "bad label name: {line}"
    );
    (name, labels, value)
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = app(store());
    // A request first, so the latency histogram has a route.
    rows(&app, "/v1/views/case_backlog").await;
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();

    let mut samples = Vec::new();
    let mut typed = BTreeSet::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().unwrap();
            assert!(kind == "HELP" || kind == "TYPE", "{line}");
            if kind == "TYPE" {
                let t = parts.next().unwrap();
                assert!(["gauge", "counter", "histogram"].contains(&t), "{line}");
                assert!(
                    typed.insert(name.to_string()),
                    "type declared twice: {line}"
                );
            }
            continue;
        }
        assert!(!line.is_empty(), "empty line in metrics");
        let sample = parse_sample(line);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| sample.0.strip_suffix(s).filter(|f| typed.contains(*f)))
            .unwrap_or(&sample.0)
            .to_string();
        assert!(typed.contains(&family), "sample before its TYPE: {line}");
        samples.push(sample);
    }
    let find = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .unwrap_or_else(|| panic!("missing {name} {labels:?}\n{text}"))
            .2
    };
    assert_eq!(
        find(
            "pulso_consumer_lag",
            &[("topic", "orders.events"), ("partition", "0")]
        ),
        10.0
    );
    assert_eq!(find("pulso_dlq_size", &[]), 3.0);
    assert_eq!(
        find(
            "pulso_rejected_total",
            &[("topic", "orders.events"), ("reason", "malformed_json")]
        ),
        2.0
    );
    assert_eq!(
        find(
            "pulso_rejected_total",
            &[("topic", "casos.creados"), ("reason", "too_large")]
        ),
        0.0
    );
    assert_eq!(
        find("pulso_duplicates_total", &[("topic", "orders.events")]),
        4.0
    );
    assert_eq!(
        find("pulso_orphan_events", &[("topic", "casos.creados")]),
        1.0
    );
    assert_eq!(
        find("pulso_records_total", &[("topic", "casos.creados")]),
        7.0
    );
    assert!(find("pulso_freshness_seconds", &[]) >= 0.0);
    assert_eq!(find("pulso_events_per_second", &[]), 1250.5);
    assert_eq!(find("pulso_epoch_duration_ms", &[]), 12.0);
    assert_eq!(find("pulso_sink_lag_epochs", &[]), 1.0);
    assert_eq!(find("pulso_sink_failures_total", &[]), 2.0);
    let route = [("route", "/v1/views/{view}")];
    assert_eq!(
        find("pulso_http_request_duration_seconds_count", &route),
        1.0
    );
    assert_eq!(
        find(
            "pulso_http_request_duration_seconds_bucket",
            &[("route", "/v1/views/{view}"), ("le", "+Inf")]
        ),
        1.0
    );
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_parameter() {
    let app = app(store());
    let cases = [
        ("/v1/views/notification_rates?limit=0", "limit"),
        ("/v1/views/notification_rates?limit=1001", "limit"),
        ("/v1/views/notification_rates?limit=ten", "limit"),
        ("/v1/views/notification_rates?limit=-1", "limit"),
        (
            "/v1/views/notification_rates?granularity=week",
            "granularity",
        ),
        ("/v1/views/order_metrics?granularity=DAY", "granularity"),
        ("/v1/views/notification_rates?from=yesterday", "from"),
        ("/v1/views/sla_compliance?to=2024-01-15T00:00:00", "to"),
        (
            "/v1/views/order_metrics?from=2024-01-16T00:00:00Z&to=2024-01-15T00:00:00Z",
            "to",
        ),
        ("/v1/views/notification_rates?cursor=zz", "cursor"),
        ("/v1/views/notification_rates?cursor=abc", "cursor"),
        ("/v1/views/notification_rates?cursor=7b7d", "cursor"),
        (
            "/v1/views/case_backlog?dependencia_id=uno",
            "dependencia_id",
        ),
        ("/v1/views/open_case_sla?status=LATE", "status"),
        ("/v1/views/inventory_levels?tenant=acme", "tenant"),
        (
            "/v1/views/inventory_levels?tenant_id=a&tenant_id=b",
            "tenant_id",
        ),
        ("/v1/open_cases?status=LATE", "status"),
        ("/v1/open_cases?limit=5000", "limit"),
        ("/v1/timelines/order/o-1?limit=1001", "limit"),
        ("/v1/timelines/order/o-1?cursor=00", "cursor"),
        ("/v1/pipeline_health?limit=5", "limit"),
        ("/health?verbose=1", "verbose"),
    ];
    for (uri, parameter) in cases {
        let (status, body) = get_json(&app, uri).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some(parameter));
    }
    // A cursor of one listing is refused by another.
    let (_, body) = get_json(&app, "/v1/views/order_cancellations?limit=1").await;
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    let (status, body) =
        get_json(&app, &format!("/v1/views/inventory_levels?cursor={cursor}")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("cursor"));
    let (status, body) = get_json(&app, &format!("/v1/timelines/order/o-1?cursor={cursor}")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("cursor"));
}

#[tokio::test]
async fn unknown_views_and_routes_are_404() {
    let app = app(store());
    let (status, body) = get_json(&app, "/v1/views/nope").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, Some("view"));
    assert_eq!(body["error"]["code"], "unknown_view");
    for uri in [
        "/v2/views/case_backlog",
        "/v1/views",
        "/v1/timelines/order",
        "/nope",
    ] {
        let (status, body) = get_json(&app, uri).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, None);
    }
    let (status, body) = call(&app, Method::POST, "/v1/views/case_backlog").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn dashboard_page_polls_the_api() {
    let app = app(store());
    let (status, html) = call(&app, Method::GET, "/").await;
    assert_eq!(status, StatusCode::OK);
    for url in [
        "/v1/views/notification_rates?granularity=day",
        "/v1/views/order_metrics?granularity=day",
        "/v1/views/open_case_sla",
        "/v1/pipeline_health",
    ] {
        assert!(html.contains(url), "{url}");
    }
    assert!(html.contains("setInterval(refresh, 5000)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_reflect_whole_epochs() {
    let store = Arc::new(ViewStore::new());
    let app = app(Arc::clone(&store));
    let row = |sku: usize, on_hand: i64| {
        ViewRow::InventoryLevels(InventoryLevels {
            tenant_id: "t".into(),
            sku: format!("sku-{sku:03}"),
            on_hand,
            reserved: 0,
            available: on_hand,
            insufficient_stock_events: 0,
        })
    };
    store.apply_epoch(0, (0..300).map(|s| (row(s, 0), 1)).collect());
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for epoch in 1..150_i64 {
                let mut changes: Vec<_> = (0..300).map(|s| (row(s, epoch - 1), -1)).collect();
                changes.extend((0..300).map(|s| (row(s, epoch), 1)));
                store.apply_epoch(epoch as u64, changes);
            }
        })
    };
    let mut checks = 0;
    while !writer.is_finished() || checks == 0 {
        let (status, body) = get_json(&app, "/v1/views/inventory_levels?limit=1000").await;
        assert_eq!(status, StatusCode::OK);
        let rows = body["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 300);
        let epoch = body["epoch"].as_i64().unwrap();
        assert!(
            rows.iter().all(|r| r["on_hand"].as_i64() == Some(epoch)),
            "mixed epochs"
        );
        checks += 1;
    }
    writer.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tcp_until_shutdown() {
    use std::io::{Read, Write};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pulso_queries::serve_on(listener, store(), async {
        let _ = stopped.await;
    }));
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
