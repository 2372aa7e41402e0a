//! The HTTP API end to end, without a server: the view routes through
//! `tower::ServiceExt::oneshot` over a store filled with a small fixture (the open API: no
//! tokens configured), and once over TCP. Operator routes: `operations.rs`; bad input:
//! `errors.rs`; tokens and tenants: `auth.rs`.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::*;
use pulso_events::views::{InventoryLevels, ViewRow, VIEW_NAMES};
use pulso_queries::{app, ViewStore};
use serde_json::Value;

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
                "retained_from",
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
    // Three days in USD and the first day again in EUR.
    assert_eq!(r.len(), 4);
    assert_eq!(
        keys(&r[0]),
        set(&[
            "tenant_id",
            "currency",
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
    let eur = rows(&app, "/v1/views/order_metrics?currency=EUR").await;
    assert_eq!(eur.len(), 2, "one EUR row per tenant");
    assert!(eur.iter().all(|r| r["currency"] == "EUR"));
    let usd = rows(&app, "/v1/views/order_metrics?currency=USD&tenant_id=acme").await;
    assert_eq!(usd.len(), 6);
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
    // An unknown entity is a 404 naming the entity id.
    for missing in ["/v1/timelines/order/missing", "/v1/timelines/sku/o-1"] {
        let (status, body) = get_json(&app, missing).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, Some("entity_id"));
        assert_eq!(body["error"]["code"], "unknown_entity");
    }
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
async fn activity_views_filter_by_their_keys() {
    let app = app(store());
    let all = rows(&app, "/v1/views/tracking_activity?limit=1000").await;
    assert_eq!(
        all.len(),
        2 * 3 * 2 * 2,
        "tenants x days x granularities x types"
    );
    assert_eq!(
        keys(&all[0]),
        set(&[
            "tenant_id",
            "entity_type",
            "event_type",
            "granularity",
            "window_start",
            "events",
            "entities",
        ])
    );
    let bags = rows(
        &app,
        "/v1/views/tracking_activity?tenant_id=globex&entity_type=bag&event_type=LOADED\
         &granularity=day&from=2024-01-16T00:00:00Z",
    )
    .await;
    assert_eq!(bags.len(), 2);
    assert!(bags.iter().all(|r| r["tenant_id"] == "globex"
        && r["entity_type"] == "bag"
        && r["granularity"] == "day"
        && r["entities"] == 3));
    let none = rows(&app, "/v1/views/tracking_activity?event_type=NOPE").await;
    assert!(none.is_empty());

    let tenants = rows(&app, "/v1/views/tenant_activity?limit=1000").await;
    assert_eq!(tenants.len(), 2 * 3 * 2 * 2 + 1);
    assert_eq!(
        keys(&tenants[0]),
        set(&[
            "tenant_id",
            "topic",
            "granularity",
            "window_start",
            "events"
        ])
    );
    let c360 = rows(&app, "/v1/views/tenant_activity?tenant_id=conecta360").await;
    assert_eq!(c360.len(), 1);
    assert_eq!(c360[0]["topic"], "casos.creados");
    let orders = rows(
        &app,
        "/v1/views/tenant_activity?topic=orders.events&granularity=hour&to=2024-01-16T00:00:00Z",
    )
    .await;
    assert_eq!(orders.len(), 2, "one per tenant on the first day");
    let (status, _) = call(&app, Method::GET, "/v1/views/tenant_activity?sku=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
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
        "/v1/views/order_metrics?currency=EUR",
        "/v1/views/tracking_activity",
        "/v1/views/tracking_activity?granularity=hour&tenant_id=acme&entity_type=bag",
        "/v1/views/tenant_activity",
        "/v1/views/tenant_activity?granularity=day&topic=tracking.events",
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
async fn dashboard_page_polls_the_api() {
    let app = app(store());
    let (status, html) = call(&app, Method::GET, "/").await;
    assert_eq!(status, StatusCode::OK);
    for url in [
        "/v1/views/notification_rates?granularity=day",
        "/v1/views/order_metrics?granularity=day",
        "/v1/views/sla_compliance",
        "/v1/views/open_case_sla",
        "/v1/open_cases?status=BREACHED",
        "/v1/pipeline_health",
        "/v1/alerts",
    ] {
        assert!(html.contains(url), "{url}");
    }
    assert!(html.contains("setInterval(refresh, 5000)"));
    // It sends the token it was given.
    assert!(html.contains("\"Authorization\": \"Bearer \" + token"));
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
    let config = pulso_queries::ServeConfig::default();
    let server = tokio::spawn(pulso_queries::serve_on(listener, store(), config, async {
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

#[tokio::test]
async fn timeline_filters_apply_before_paging() {
    let app = app(store());
    let all = rows(&app, "/v1/timelines/order/o-1").await;
    let time = |r: &Value| r["timestamp"].as_str().unwrap().to_owned();
    let (from, to) = (time(&all[1]), time(&all[3]));
    assert!(from < to, "the fixture's entries span several instants");
    let uri = format!("/v1/timelines/order/o-1?from={from}&to={to}");
    let expected: Vec<Value> = all
        .iter()
        .filter(|r| time(r) >= from && time(r) < to)
        .cloned()
        .collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(rows(&app, &uri).await, expected);
    for limit in [1, 2] {
        assert_eq!(walk(&app, &uri, limit).await, expected, "limit {limit}");
    }
    // Event types: repeatable, any of them.
    let created = rows(&app, "/v1/timelines/order/o-1?event_type=ORDER_CREATED").await;
    assert_eq!(created, all);
    let either = "/v1/timelines/order/o-1?event_type=ORDER_CONFIRMED&event_type=ORDER_CREATED";
    assert_eq!(rows(&app, either).await, all);
    // An existing entity whose entries the filters exclude: an empty page, not a 404.
    let (status, body) = get_json(&app, "/v1/timelines/order/o-1?event_type=ORDER_CONFIRMED").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["rows"].as_array().unwrap().is_empty());
    let (status, body) =
        get_json(&app, &format!("/v1/timelines/order/o-1?from={to}&to={to}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An unknown entity stays a 404; bad filters are 400s naming the parameter.
    let (status, body) =
        get_json(&app, "/v1/timelines/order/missing?event_type=ORDER_CREATED").await;
    assert_error(status, &body, StatusCode::NOT_FOUND, Some("entity_id"));
    let (status, body) = get_json(
        &app,
        &format!("/v1/timelines/order/o-1?from={to}&to={from}"),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("to"));
    let (status, body) = get_json(&app, "/v1/timelines/order/o-1?from=yesterday").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("from"));
    let (status, body) = get_json(
        &app,
        "/v1/timelines/order/o-1?from=2024-01-15T00:00:00Z&from=2024-01-16T00:00:00Z",
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, Some("from"));
}
