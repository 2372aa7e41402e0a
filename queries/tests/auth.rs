//! Bearer tokens and tenant isolation: which routes are open, 401s, operator-only routes, and
//! attempts to cross from one tenant to another through every parameter (filters, cursors
//! reused from another token or forged, timelines by entity id, open cases, no filter).

mod common;

use axum::body::Body;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{Method, StatusCode};
use common::*;
use serde_json::Value;

/// Every protected route, with parameters that match rows of the fixture.
const PROTECTED: [&str; 9] = [
    "/v1/views/notification_rates",
    "/v1/views/inventory_levels",
    "/v1/views/case_backlog",
    "/v1/timelines/order/o-1",
    "/v1/open_cases",
    "/v1/pipeline_health",
    "/v1/views/pipeline_health",
    "/v1/alerts",
    "/metrics",
];

/// The views whose rows carry a `tenant_id`.
const TENANT_VIEWS: [&str; 5] = [
    "notification_rates",
    "notification_bounces",
    "order_metrics",
    "order_cancellations",
    "inventory_levels",
];

/// A body without the fields that change from call to call.
fn stable(mut body: Value) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.remove("freshness_seconds");
    }
    body
}

/// The JSON of a cursor (`hex(json([scope, key]))`), as a client could forge it.
fn forge(scope: &str, key: Value) -> String {
    let json = serde_json::to_vec(&serde_json::json!([scope, key])).unwrap();
    json.iter().map(|b| format!("{b:02x}")).collect()
}

fn tenants_of(rows: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = rows
        .iter()
        .map(|r| r["tenant_id"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t.dedup();
    t
}

#[tokio::test]
async fn open_routes_need_no_token() {
    let app = secured();
    for uri in ["/", "/health", "/openapi.json"] {
        let (status, _, body) = request(&app, Method::GET, uri, None, Body::empty()).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    // The dashboard holds no data, only the script that asks for it with a token.
    let (_, html) = call(&app, Method::GET, "/").await;
    assert!(!html.contains("acme") && !html.contains("globex"));
}

#[tokio::test]
async fn protected_routes_answer_401_without_a_valid_token() {
    let app = secured();
    for uri in PROTECTED {
        let (status, headers, body) = request(&app, Method::GET, uri, None, Body::empty()).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_error(status, &body, StatusCode::UNAUTHORIZED, None);
        assert_eq!(body["error"]["code"], "unauthorized");
        assert_eq!(headers[WWW_AUTHENTICATE], "Bearer realm=\"pulso\"");

        for bad in [
            "not-a-token",
            "acme-token-012345678",
            "acme-token-01234567890",
            "",
        ] {
            let (status, headers, body) =
                request(&app, Method::GET, uri, Some(bad), Body::empty()).await;
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_error(status, &body, StatusCode::UNAUTHORIZED, None);
            assert!(headers[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer realm=\"pulso\""));
        }
    }
    // Other schemes and a bare token are refused too.
    for header in ["Basic YWNtZTp4", ACME, "Bearer"] {
        let request = axum::http::Request::builder()
            .uri("/v1/views/inventory_levels")
            .header("Authorization", header)
            .body(Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
}

#[tokio::test]
async fn operator_routes_need_an_operator_token() {
    let app = secured();
    for uri in [
        "/v1/pipeline_health",
        "/v1/views/pipeline_health",
        "/v1/alerts",
        "/metrics",
    ] {
        for token in [ACME, GLOBEX, C360, NOBODY] {
            let (status, body) = get_as(&app, Some(token), uri).await;
            assert_error(status, &body, StatusCode::FORBIDDEN, None);
            assert_eq!(body["error"]["code"], "forbidden");
        }
        let (status, _, body) = request(&app, Method::GET, uri, Some(ADMIN), Body::empty()).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
}

#[tokio::test]
async fn without_a_filter_a_token_sees_only_its_tenants() {
    let app = secured();
    for view in TENANT_VIEWS {
        let uri = format!("/v1/views/{view}?limit=1000");
        let all = rows_as(&app, Some(ADMIN), &uri).await;
        assert_eq!(tenants_of(&all), vec!["acme", "globex"], "{view}");
        for (token, tenant) in [(ACME, "acme"), (GLOBEX, "globex")] {
            let own = rows_as(&app, Some(token), &uri).await;
            assert_eq!(tenants_of(&own), vec![tenant], "{view}");
            let expected: Vec<&Value> = all.iter().filter(|r| r["tenant_id"] == tenant).collect();
            assert_eq!(own.iter().collect::<Vec<_>>(), expected, "{view}");
            // Paging walks exactly the same rows.
            assert_eq!(
                walk_as(&app, Some(token), &format!("/v1/views/{view}"), 2).await,
                own
            );
        }
        assert!(rows_as(&app, Some(NOBODY), &uri).await.is_empty(), "{view}");
    }
}

#[tokio::test]
async fn another_tenants_filter_is_like_an_unknown_tenant() {
    let app = secured();
    for view in TENANT_VIEWS {
        let (status, foreign) = get_as(
            &app,
            Some(ACME),
            &format!("/v1/views/{view}?tenant_id=globex"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, unknown) = get_as(
            &app,
            Some(ACME),
            &format!("/v1/views/{view}?tenant_id=no-such-tenant"),
        )
        .await;
        assert_eq!(stable(foreign.clone()), stable(unknown), "{view}");
        assert!(foreign["rows"].as_array().unwrap().is_empty());
        assert!(foreign["next_cursor"].is_null());
        // Its own tenant by name works.
        let own = rows_as(
            &app,
            Some(ACME),
            &format!("/v1/views/{view}?tenant_id=acme"),
        )
        .await;
        assert_eq!(tenants_of(&own), vec!["acme"]);
    }
}

#[tokio::test]
async fn no_other_filter_crosses_tenants() {
    let app = secured();
    let uris = [
        "/v1/views/notification_rates?channel=sms",
        "/v1/views/notification_rates?provider=twilio&granularity=hour",
        "/v1/views/notification_rates?from=2024-01-16T00:00:00Z&to=2024-01-17T00:00:00Z",
        "/v1/views/notification_rates?granularity=day&from=2024-01-15T00:00:00Z",
        "/v1/views/notification_bounces?channel=email",
        "/v1/views/order_metrics?granularity=minute",
        "/v1/views/order_metrics?from=2024-01-15T00:00:00Z",
        "/v1/views/inventory_levels?sku=SKU-2",
        "/v1/views/order_cancellations?limit=1000",
    ];
    for uri in uris {
        let admin = rows_as(&app, Some(ADMIN), uri).await;
        assert_eq!(tenants_of(&admin), vec!["acme", "globex"], "{uri}");
        let acme = rows_as(&app, Some(ACME), uri).await;
        assert_eq!(tenants_of(&acme), vec!["acme"], "{uri}");
        let expected: Vec<&Value> = admin.iter().filter(|r| r["tenant_id"] == "acme").collect();
        assert_eq!(acme.iter().collect::<Vec<_>>(), expected, "{uri}");
    }
}

#[tokio::test]
async fn cursors_of_another_token_or_forged_never_cross() {
    let app = secured();
    // globex's own cursor, reused by acme: a position only, acme still sees only acme rows.
    let mut reused = 0;
    for view in TENANT_VIEWS {
        let (_, body) = get_as(&app, Some(GLOBEX), &format!("/v1/views/{view}?limit=1")).await;
        // (globex has a single order_cancellations row: no cursor there.)
        let Some(cursor) = body["next_cursor"].as_str() else {
            continue;
        };
        let uri = format!("/v1/views/{view}?limit=1000&cursor={cursor}");
        let rows = rows_as(&app, Some(ACME), &uri).await;
        assert!(rows.iter().all(|r| r["tenant_id"] == "acme"), "{view}");
        reused += 1;
    }
    assert_eq!(reused, 4);
    // Forged cursors pointing into globex's rows.
    let forged = [
        ("inventory_levels", serde_json::json!(["globex", "SKU-1"])),
        ("inventory_levels", serde_json::json!(["acme", "SKU-9"])),
        ("order_cancellations", serde_json::json!(["globex", ""])),
        (
            "notification_bounces",
            serde_json::json!(["globex", "email", 0, "", ""]),
        ),
        (
            "order_metrics",
            serde_json::json!(["day", 1705276800000000_i64, "globex", "USD"]),
        ),
        (
            "notification_rates",
            serde_json::json!(["day", 1705276800000000_i64, "acme", "zzz", "zzz"]),
        ),
    ];
    for (view, key) in forged {
        let uri = format!("/v1/views/{view}?limit=1000&cursor={}", forge(view, key));
        let (status, body) = get_as(&app, Some(ACME), &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let rows = body["rows"].as_array().unwrap();
        assert!(
            rows.iter().all(|r| r["tenant_id"] == "acme"),
            "{view}: {body}"
        );
        assert!(body["next_cursor"].is_null());
    }
    // A forged timeline cursor of another entity stays within acme's entries of this one.
    let key = serde_json::json!(["order", "o-2", i64::MIN, "", ""]);
    let uri = format!("/v1/timelines/order/o-1?cursor={}", forge("timeline", key));
    let (status, body) = get_as(&app, Some(ACME), &uri).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["rows"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn timelines_show_only_the_tokens_entries() {
    let app = secured();
    let acme = rows_as(&app, Some(ACME), "/v1/timelines/order/o-1").await;
    assert_eq!(acme.len(), 5);
    assert!(acme.iter().all(|e| e["summary"]["tenant_id"] == "acme"));

    // Another tenant's entity is the same 404 as an entity that does not exist.
    let (status, foreign) = get_as(&app, Some(GLOBEX), "/v1/timelines/order/o-1").await;
    assert_error(status, &foreign, StatusCode::NOT_FOUND, Some("entity_id"));
    let (_, unknown) = get_as(&app, Some(GLOBEX), "/v1/timelines/order/o-404").await;
    assert_eq!(foreign["error"]["code"], unknown["error"]["code"]);
    assert_eq!(
        foreign["error"]["message"]
            .as_str()
            .unwrap()
            .replace("o-1", "X"),
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .replace("o-404", "X")
    );
    let (status, _) = get_as(&app, Some(NOBODY), "/v1/timelines/order/o-2").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get_as(&app, Some(C360), "/v1/timelines/order/o-1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An id both tenants use: each sees its own entry only.
    let ids = |rows: Vec<Value>| -> Vec<String> {
        rows.iter()
            .map(|e| e["event_id"].as_str().unwrap().to_string())
            .collect()
    };
    let shared = "/v1/timelines/order/o-shared";
    assert_eq!(ids(rows_as(&app, Some(ACME), shared).await), vec!["e-20"]);
    assert_eq!(ids(rows_as(&app, Some(GLOBEX), shared).await), vec!["e-21"]);
    assert_eq!(
        ids(rows_as(&app, Some(ADMIN), shared).await),
        vec!["e-20", "e-21"]
    );

    // The timelines view: by entity id, by entity type, or whole.
    for uri in [
        "/v1/views/timelines?entity_id=o-2",
        "/v1/views/timelines?entity_type=order&entity_id=o-2",
    ] {
        assert!(rows_as(&app, Some(ACME), uri).await.is_empty(), "{uri}");
        assert_eq!(rows_as(&app, Some(GLOBEX), uri).await.len(), 1, "{uri}");
    }
    let all = walk_as(&app, Some(ACME), "/v1/views/timelines", 2).await;
    assert!(!all.is_empty());
    assert!(all.iter().all(|e| e["summary"]["tenant_id"] == "acme"));
    assert!(rows_as(&app, Some(NOBODY), "/v1/views/timelines")
        .await
        .is_empty());
}

#[tokio::test]
async fn conecta360_views_need_their_tenant() {
    let app = secured();
    let uris = [
        "/v1/views/case_backlog",
        "/v1/views/case_backlog?dependencia_id=1",
        "/v1/views/sla_compliance",
        "/v1/views/sla_compliance?prioridad=ALTA&from=2024-01-15T00:00:00Z",
        "/v1/views/open_case_sla",
        "/v1/views/open_case_sla?status=BREACHED&dependencia_id=2",
        "/v1/open_cases",
        "/v1/open_cases?status=BREACHED",
        "/v1/open_cases?dependencia_id=1",
    ];
    for uri in uris {
        for token in [ACME, GLOBEX, NOBODY] {
            let (status, body) = get_as(&app, Some(token), uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(body["rows"].as_array().unwrap().is_empty(), "{uri}");
            assert!(body["next_cursor"].is_null(), "{uri}");
        }
        let c360 = rows_as(&app, Some(C360), uri).await;
        assert!(!c360.is_empty(), "{uri}");
        assert_eq!(c360, rows_as(&app, Some(ADMIN), uri).await, "{uri}");
    }
    // A cursor of the Conecta360 token gives acme nothing either.
    let (_, body) = get_as(&app, Some(C360), "/v1/open_cases?limit=1").await;
    let cursor = body["next_cursor"].as_str().unwrap();
    let uri = format!("/v1/open_cases?cursor={cursor}");
    assert!(rows_as(&app, Some(ACME), &uri).await.is_empty());
}

#[tokio::test]
async fn bad_input_is_still_a_400_for_every_token() {
    let app = secured();
    for token in [ACME, NOBODY, ADMIN] {
        let (status, body) = get_as(
            &app,
            Some(token),
            "/v1/views/inventory_levels?tenant_id=a&tenant_id=b",
        )
        .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, Some("tenant_id"));
        let (status, body) = get_as(&app, Some(token), "/v1/views/nope").await;
        assert_error(status, &body, StatusCode::NOT_FOUND, Some("view"));
    }
}
