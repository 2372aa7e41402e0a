//! Shared by the API tests: a small fixture of every view (tenants `acme` and `globex`, the
//! Conecta360 views, timelines of both tenants), the tokens of a secured API, and helpers
//! that call the router through `tower::ServiceExt::oneshot`.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use pulso_events::time::{parse_rfc3339, Granularity, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCase, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TimelineEntry, TopicHealth,
    ViewRow,
};
use pulso_queries::alerts::{default_rules, Alerts};
use pulso_queries::config::{ApiConfig, Limits, RateLimit, Secret, TokenConfig};
use pulso_queries::{app_with, LiveStatus, PartitionStatus, ViewStore};
use serde_json::Value;
use tower::ServiceExt;

mod v2;
pub(crate) use v2::v2_rows;
mod activity;
pub(crate) use activity::*;

pub(crate) fn t(text: &str) -> Micros {
    parse_rfc3339(text).unwrap()
}

pub(crate) const DAYS: [&str; 3] = [
    "2024-01-15T00:00:00Z",
    "2024-01-16T00:00:00Z",
    "2024-01-17T00:00:00Z",
];

pub(crate) fn rates(
    tenant: &str,
    channel: &str,
    g: Granularity,
    start: &str,
    sent: i64,
) -> NotificationRates {
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

pub(crate) fn orders(tenant: &str, g: Granularity, start: &str) -> OrderMetrics {
    OrderMetrics {
        tenant_id: tenant.into(),
        currency: "USD".into(),
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

pub(crate) fn timeline_of(tenant: &str, entity: &str, ts: &str, event_id: &str) -> TimelineEntry {
    TimelineEntry {
        entity_type: "order".into(),
        entity_id: entity.into(),
        timestamp: t(ts),
        event_id: event_id.into(),
        topic: "orders.events".into(),
        event_type: "ORDER_CREATED".into(),
        summary: format!(r#"{{"status":"CREATED","tenant_id":"{tenant}","total":12.5}}"#).into(),
    }
}

/// An entry of `o-2` belongs to globex; every other order of the fixture to acme.
pub(crate) fn timeline(entity: &str, ts: &str, event_id: &str) -> TimelineEntry {
    let tenant = if entity == "o-2" { "globex" } else { "acme" };
    timeline_of(tenant, entity, ts, event_id)
}

pub(crate) fn open_case(caso_id: i64, dep: i64, status: SlaStatus, due: &str) -> OpenCase {
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
pub(crate) fn fixture() -> Vec<ViewRow> {
    let mut rows = vec![ViewRow::AsOf(t("2024-01-20T12:00:00Z"))];
    for tenant in ["acme", "globex"] {
        rows.extend(v2_rows(tenant));
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
        // The same window in another currency: a row of its own.
        rows.push(ViewRow::OrderMetrics(OrderMetrics {
            currency: "EUR".into(),
            ..orders(tenant, Granularity::Day, DAYS[0])
        }));
        rows.extend(activity_rows(tenant));
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
    // One order id used by both tenants: each sees only its own entry.
    rows.push(ViewRow::Timeline(timeline_of(
        "acme",
        "o-shared",
        "2024-01-15T00:00:00Z",
        "e-20",
    )));
    rows.push(ViewRow::Timeline(timeline_of(
        "globex",
        "o-shared",
        "2024-01-15T01:00:00Z",
        "e-21",
    )));
    rows.push(ViewRow::TenantActivity(conecta360_activity()));
    for (topic, records) in [("orders.events", 100), ("casos.creados", 7)] {
        let mut rejected = [0; pulso_events::RejectReason::ALL.len()];
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

pub(crate) fn store() -> Arc<ViewStore> {
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
        dlq_size: Some(3),
        dlq_probe_failures: 1,
        events_per_second: 1250.5,
        epoch_duration_ms: 12.0,
        sink_lag_epochs: 1,
        sink_failures: 2,
        read_model_lag_seconds: 2.5,
        ..LiveStatus::default()
    });
    store
}

/// A token of tenant `acme` only.
pub(crate) const ACME: &str = "acme-token-0123456789";
/// A token of tenant `globex` only.
pub(crate) const GLOBEX: &str = "globex-token-0123456789";
/// A token of the Conecta360 tenant only.
pub(crate) const C360: &str = "c360-token-0123456789";
/// A token of a tenant that has no rows.
pub(crate) const NOBODY: &str = "nobody-token-0123456789";
/// A token of every tenant, with operator data.
pub(crate) const ADMIN: &str = "admin-token-0123456789";

/// The tokens above.
pub(crate) fn secured_config() -> ApiConfig {
    let token = |t: &str, tenants: &[&str], operator| TokenConfig {
        name: Some(t.split('-').next().unwrap().to_string()),
        token: Secret::new(t),
        tenants: tenants.iter().map(|s| s.to_string()).collect(),
        operator,
    };
    ApiConfig {
        tokens: vec![
            token(ACME, &["acme"], false),
            token(GLOBEX, &["globex"], false),
            token(C360, &["conecta360"], false),
            token(NOBODY, &["initech"], false),
            token(ADMIN, &["*"], true),
        ],
        // Tests send many requests at once; tests/limits.rs sets its own limits.
        limits: Limits {
            rate_limit: RateLimit {
                per_second: 1e6,
                burst: 1_000_000,
            },
            ..Limits::default()
        },
        ..ApiConfig::default()
    }
}

/// The API over `store` with `config`, listing the default alert rules.
pub(crate) fn app_of(store: Arc<ViewStore>, config: &ApiConfig) -> Router {
    let alerts = Alerts::new(&default_rules(), Duration::from_secs(5));
    app_with(store, config, Arc::new(alerts)).unwrap()
}

/// The secured API over the fixture.
pub(crate) fn secured() -> Router {
    app_of(store(), &secured_config())
}

/// One request, with `Authorization: Bearer <token>` when given; status, headers and body.
pub(crate) async fn request(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Body,
) -> (StatusCode, HeaderMap, String) {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header("Authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(builder.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

pub(crate) async fn call(app: &Router, method: Method, uri: &str) -> (StatusCode, String) {
    let (status, _, body) = request(app, method, uri, None, Body::empty()).await;
    (status, body)
}

/// A GET as `token` (or without one), its body parsed.
pub(crate) async fn get_as(app: &Router, token: Option<&str>, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = request(app, Method::GET, uri, token, Body::empty()).await;
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}"));
    (status, value)
}

pub(crate) async fn get_json(app: &Router, uri: &str) -> (StatusCode, Value) {
    get_as(app, None, uri).await
}

/// A 200 listing's rows, as `token`.
pub(crate) async fn rows_as(app: &Router, token: Option<&str>, uri: &str) -> Vec<Value> {
    let (status, body) = get_as(app, token, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body["rows"].as_array().unwrap().clone()
}

/// A 200 listing's rows.
pub(crate) async fn rows(app: &Router, uri: &str) -> Vec<Value> {
    rows_as(app, None, uri).await
}

/// Every row of a listing as `token`, walking `next_cursor` with pages of `limit`.
pub(crate) async fn walk_as(
    app: &Router,
    token: Option<&str>,
    uri: &str,
    limit: usize,
) -> Vec<Value> {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let page_uri = match &cursor {
            Some(c) => format!("{uri}{sep}limit={limit}&cursor={c}"),
            None => format!("{uri}{sep}limit={limit}"),
        };
        let (status, body) = get_as(app, token, &page_uri).await;
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

/// Every row of a listing, walking `next_cursor` with pages of `limit`.
pub(crate) async fn walk(app: &Router, uri: &str, limit: usize) -> Vec<Value> {
    walk_as(app, None, uri, limit).await
}

pub(crate) fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

pub(crate) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn assert_error(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    parameter: Option<&str>,
) {
    assert_eq!(status, expected, "{body}");
    let error = &body["error"];
    assert!(error["code"].is_string(), "{body}");
    assert!(error["message"].is_string(), "{body}");
    assert_eq!(error["parameter"].as_str(), parameter, "{body}");
}
