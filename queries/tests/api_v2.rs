//! `/v1/views/notification_latency`, `notification_failures` and `notification_variants`:
//! their columns, their filters, and cursors walking them.

mod common;

use common::*;
use serde_json::Value;

fn names(rows: &[Value], field: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn notification_latency_columns_and_filters() {
    let app = pulso_queries::app(store());
    let all = rows(&app, "/v1/views/notification_latency").await;
    assert_eq!(all.len(), 2 * 2 * 3 * 2);
    assert_eq!(
        keys(&all[0]),
        set(&[
            "tenant_id",
            "channel",
            "provider",
            "granularity",
            "window_start",
            "delivered",
            "latency_ms_sum",
            "latency_p50_ms",
            "latency_p95_ms",
            "latency_max_ms",
            "within_sla",
            "sla_met_rate",
        ])
    );
    assert_eq!(all[0]["sla_met_rate"], 0.75);
    let day = rows(
        &app,
        "/v1/views/notification_latency?granularity=day&tenant_id=acme&channel=SMS\
         &provider=Twilio&from=2024-01-16T00:00:00Z&to=2024-01-17T00:00:00Z",
    )
    .await;
    assert_eq!(day.len(), 1);
    assert_eq!(day[0]["window_start"], "2024-01-16T00:00:00Z");
    assert_eq!(day[0]["latency_p50_ms"], 2_000);
    assert_eq!(day[0]["latency_p95_ms"], 9_000);
    let hours = rows(&app, "/v1/views/notification_latency?granularity=hour").await;
    assert_eq!(hours.len(), 12);
    assert!(names(&hours, "granularity").iter().all(|g| g == "hour"));
}

#[tokio::test]
async fn notification_failures_columns_and_filters() {
    let app = pulso_queries::app(store());
    let all = rows(&app, "/v1/views/notification_failures").await;
    assert_eq!(all.len(), 4);
    assert_eq!(
        keys(&all[0]),
        set(&[
            "tenant_id",
            "channel",
            "provider",
            "day",
            "reason",
            "dead_lettered",
            "retries_total",
            "max_retry_count",
        ])
    );
    let acme = rows(
        &app,
        "/v1/views/notification_failures?tenant_id=acme&reason=MAX_RETRIES_EXCEEDED",
    )
    .await;
    assert_eq!(acme.len(), 1);
    assert_eq!(acme[0]["dead_lettered"], 3);
    assert_eq!(acme[0]["retries_total"], 12);
    assert_eq!(acme[0]["max_retry_count"], 5);
    let filtered = "/v1/views/notification_failures?channel=EMAIL&provider=SES";
    assert_eq!(rows(&app, filtered).await.len(), 4);
    let none = "/v1/views/notification_failures?from=2024-01-17T00:00:00Z";
    assert!(rows(&app, none).await.is_empty());
    let before = "/v1/views/notification_failures?to=2024-01-16T00:00:00Z";
    assert!(rows(&app, before).await.is_empty());
    let (status, body) = get_json(&app, "/v1/views/notification_failures?bounce_type=x").await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn notification_variants_columns_and_filters() {
    let app = pulso_queries::app(store());
    let all = rows(&app, "/v1/views/notification_variants").await;
    assert_eq!(all.len(), 4);
    assert_eq!(
        keys(&all[0]),
        set(&[
            "tenant_id",
            "channel",
            "category",
            "template",
            "day",
            "sent",
            "delivered",
            "opened",
            "clicked",
            "converted",
            "open_rate",
            "click_rate",
            "conversion_rate",
        ])
    );
    let b = rows(
        &app,
        "/v1/views/notification_variants?tenant_id=globex&category=MARKETING&template=promo_b",
    )
    .await;
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["open_rate"], 0.375);
    assert_eq!(b[0]["conversion_rate"], 0.0);
    let email = "/v1/views/notification_variants?channel=EMAIL&from=2024-01-15T00:00:00Z";
    assert_eq!(rows(&app, email).await.len(), 4);
}

#[tokio::test]
async fn cursors_walk_the_v2_views() {
    let app = pulso_queries::app(store());
    for uri in [
        "/v1/views/notification_latency",
        "/v1/views/notification_latency?granularity=hour&tenant_id=acme",
        "/v1/views/notification_failures",
        "/v1/views/notification_failures?from=2024-01-16T00:00:00Z",
        "/v1/views/notification_variants?tenant_id=acme",
    ] {
        let sep = if uri.contains('?') { '&' } else { '?' };
        let all = rows(&app, &format!("{uri}{sep}limit=1000")).await;
        assert!(!all.is_empty(), "{uri}");
        for limit in [1, 3] {
            assert_eq!(
                walk(&app, uri, limit).await,
                all,
                "{uri} with limit {limit}"
            );
        }
    }
}
