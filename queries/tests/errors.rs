//! Bad input through `oneshot`: a 400 naming the offending parameter, 404 for unknown views
//! and routes, 405 for other methods — JSON errors, never a 500.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use pulso_queries::app;
use serde_json::Value;

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
