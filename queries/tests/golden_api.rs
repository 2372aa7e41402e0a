//! The API's bytes, pinned: every view page, the open cases, the pipeline health and the
//! OpenAPI document over the test fixture and over the golden views
//! (`tests/golden/expected/views.json` of the workspace), and `row_json` of every golden row,
//! compared with `tests/golden/api.txt` byte for byte (the `freshness_seconds` figure, a
//! clock reading, is blanked). `PULSO_BLESS=1` rewrites the expected file.

mod common;

use std::path::Path;
use std::sync::Arc;

use axum::http::Method;
use common::*;
use pulso_events::views::{ViewSet, VIEW_NAMES};
use pulso_queries::ViewStore;

/// `body` with the number after every `"freshness_seconds":` replaced by `0`.
fn blank_freshness(body: &str) -> String {
    const KEY: &str = "\"freshness_seconds\":";
    let mut out = String::new();
    let mut rest = body;
    while let Some(i) = rest.find(KEY) {
        out.push_str(&rest[..i + KEY.len()]);
        out.push('0');
        rest = &rest[i + KEY.len()..];
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

async fn pages(out: &mut String, name: &str, store: Arc<ViewStore>) {
    let app = app_of(store, &secured_config());
    let mut uris: Vec<String> = VIEW_NAMES
        .iter()
        .map(|v| format!("/v1/views/{v}?limit=1000"))
        .collect();
    uris.extend([
        "/v1/open_cases?limit=1000".to_string(),
        "/v1/open_cases?status=BREACHED".to_string(),
        "/v1/pipeline_health".to_string(),
    ]);
    if name == "fixture" {
        uris.push("/openapi.json".to_string());
    }
    for uri in uris {
        let (status, _, body) = request(
            &app,
            Method::GET,
            &uri,
            Some(ADMIN),
            axum::body::Body::empty(),
        )
        .await;
        out.push_str(&format!(
            "== {name} {uri} {status}\n{}\n",
            blank_freshness(&body)
        ));
    }
}

#[tokio::test]
async fn the_api_bytes_are_pinned() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("../tests/golden/expected/views.json")).unwrap();
    let golden: ViewSet = serde_json::from_str(&text).unwrap();
    let golden_store = Arc::new(ViewStore::new());
    golden_store.apply_epoch(1, golden.rows().map(|r| (r, 1)).collect());

    let mut out = String::new();
    pages(&mut out, "fixture", store()).await;
    pages(&mut out, "golden", golden_store).await;
    out.push_str("== row_json\n");
    for row in golden.rows() {
        if let Some((view, json)) = pulso_queries::api::render::row_json(&row) {
            out.push_str(&format!("{view} {json}\n"));
        }
    }

    let expected = root.join("tests/golden/api.txt");
    if std::env::var_os("PULSO_BLESS").is_some() {
        std::fs::write(&expected, &out).unwrap();
    }
    let want = std::fs::read_to_string(&expected).expect("tests/golden/api.txt");
    if want != out {
        let line = want
            .lines()
            .zip(out.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "the API's bytes changed at line {}:\n want: {}\n  got: {}",
            line + 1,
            want.lines().nth(line).unwrap_or_default(),
            out.lines().nth(line).unwrap_or_default()
        );
    }
}
