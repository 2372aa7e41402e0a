//! Request limits: 413 for a large body (declared or streamed), 414 for a long request
//! target, and 429 with `Retry-After` once a token's rate limit is spent (per token), each a
//! JSON error, never a 500.

mod common;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{Method, StatusCode};
use common::*;
use pulso_queries::config::{Limits, RateLimit};
use serde_json::Value;

fn limited(per_second: f64, burst: u32) -> axum::Router {
    let mut config = secured_config();
    config.limits = Limits {
        max_body_bytes: 64,
        max_uri_bytes: 256,
        rate_limit: RateLimit { per_second, burst },
        ..Limits::default()
    };
    app_of(store(), &config)
}

fn json_error(status: StatusCode, body: &str, expected: StatusCode, code: &str) {
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_error(status, &body, expected, None);
    assert_eq!(body["error"]["code"], code);
}

#[tokio::test]
async fn large_bodies_are_413() {
    let app = limited(1000.0, 1000);
    let uri = "/v1/views/inventory_levels";
    // Declared length over the limit, on a protected and an open route.
    for route in [uri, "/health"] {
        let (status, headers, body) = request(
            &app,
            Method::GET,
            route,
            Some(ADMIN),
            Body::from(vec![b'x'; 65]),
        )
        .await;
        json_error(
            status,
            &body,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        );
        assert_eq!(headers[CONTENT_TYPE], "application/json");
    }
    // A streamed body of unknown length over the limit.
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(&[b'y'; 40]), Ok(&[b'y'; 40])];
    let stream = Body::from_stream(futures_util::stream::iter(chunks));
    let (status, _, body) = request(&app, Method::GET, uri, Some(ADMIN), stream).await;
    json_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    // Within the limit: served.
    let (status, _, _) = request(
        &app,
        Method::GET,
        uri,
        Some(ADMIN),
        Body::from(vec![b'x'; 64]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn long_targets_are_414() {
    let app = limited(1000.0, 1000);
    let uri = format!("/v1/views/inventory_levels?sku={}", "s".repeat(300));
    let (status, _, body) = request(&app, Method::GET, &uri, Some(ADMIN), Body::empty()).await;
    json_error(status, &body, StatusCode::URI_TOO_LONG, "uri_too_long");
}

#[tokio::test]
async fn each_token_has_its_own_rate_limit() {
    let app = limited(0.01, 3);
    let uri = "/v1/views/inventory_levels";
    for _ in 0..3 {
        let (status, _, _) = request(&app, Method::GET, uri, Some(ACME), Body::empty()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) = request(&app, Method::GET, uri, Some(ACME), Body::empty()).await;
    json_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=100).contains(&retry), "{retry}");
    // Another token is not throttled by acme's requests.
    let (status, _, _) = request(&app, Method::GET, uri, Some(GLOBEX), Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    // Requests without a valid token are refused before they can spend anyone's budget.
    let (status, _, _) = request(
        &app,
        Method::GET,
        uri,
        Some("wrong-token-0123456789"),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Open routes are not rate limited.
    let (status, _, _) = request(&app, Method::GET, "/health", None, Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_open_api_is_not_rate_limited() {
    // Without tokens the API is loopback-only and has no rate limit (e.g. `pulso verify --api`
    // pages through every view).
    let mut config = pulso_queries::ApiConfig::default();
    config.limits.rate_limit = RateLimit {
        per_second: 0.01,
        burst: 1,
    };
    let app = app_of(store(), &config);
    for _ in 0..5 {
        assert_eq!(
            call(&app, Method::GET, "/v1/views/case_backlog").await.0,
            StatusCode::OK
        );
    }
}
