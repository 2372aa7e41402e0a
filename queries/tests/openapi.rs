//! `/openapi.json`: an OpenAPI 3 document generated from the handlers. Every route of the
//! router is in it and every path in it is a route: routes are registered only together with
//! their `#[utoipa::path]` (utoipa-axum's `routes!`), and this test checks both directions
//! against the router itself — each documented operation is answered by its route (not the
//! 404/405 fallbacks), and the router's other methods and paths are the fallbacks.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use serde_json::Value;

/// Every route the API serves.
const ROUTES: [(&str, &str); 9] = [
    ("get", "/"),
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("get", "/metrics"),
    ("get", "/v1/views/{view}"),
    ("get", "/v1/timelines/{entity_type}/{entity_id}"),
    ("get", "/v1/open_cases"),
    ("get", "/v1/pipeline_health"),
    ("get", "/v1/alerts"),
];

/// The routes without a token.
const OPEN: [&str; 3] = ["/", "/health", "/openapi.json"];

async fn document() -> Value {
    let (status, body) = get_as(&secured(), None, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    body
}

/// A concrete request path for a documented path template.
fn concrete(template: &str) -> String {
    template
        .replace("{view}", "inventory_levels")
        .replace("{entity_type}", "order")
        .replace("{entity_id}", "o-1")
}

#[tokio::test]
async fn the_document_is_openapi_3_with_bearer_security() {
    let doc = document().await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Pulso query API");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for row in [
        "NotificationRatesJson",
        "TimelineJson",
        "TopicHealthJson",
        "OpenCaseJson",
    ] {
        assert!(doc["components"]["schemas"][row].is_object(), "{row}");
    }
    let rates = &doc["components"]["schemas"]["NotificationRatesJson"]["properties"];
    for column in ["tenant_id", "window_start", "cost_total", "delivery_rate"] {
        assert!(rates[column].is_object(), "{column}");
    }
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_path_is_a_route() {
    let doc = document().await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            // Protected operations declare the bearer scheme; open ones do not.
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            assert_eq!(secured, !OPEN.contains(&path.as_str()), "{method} {path}");
            assert!(operation["responses"]["200"].is_object(), "{method} {path}");
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);

    // Each documented operation is served by its route, with the right token.
    let app = secured();
    for (method, path) in &documented {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let uri = concrete(path);
        let (status, _, body) =
            request(&app, method.clone(), &uri, Some(ADMIN), Body::empty()).await;
        assert_eq!(status, StatusCode::OK, "{method} {uri}: {body}");
        // Other methods on the same path are the router's 405 fallback.
        let (status, _, _) = request(&app, Method::DELETE, &uri, Some(ADMIN), Body::empty()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "DELETE {uri}");
    }
    // Paths next to the documented ones are the router's 404 fallback.
    for uri in [
        "/v1",
        "/v1/views",
        "/v1/timelines/order",
        "/openapi",
        "/v1/alerts/x",
    ] {
        let (status, body) = get_as(&app, Some(ADMIN), uri).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, None);
        assert_eq!(body["error"]["code"], "not_found", "{uri}");
    }
}
