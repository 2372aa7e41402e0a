//! The operator routes of the open API through `oneshot`: `/v1/pipeline_health` and
//! `/metrics` (Prometheus text format, parsed line by line).

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use pulso_queries::app;
use tower::ServiceExt;

#[tokio::test]
async fn pipeline_health_route() {
    let app = app(store());
    let (status, body) = get_json(&app, "/v1/pipeline_health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["view"], "pipeline_health");
    assert_eq!(body["epoch"], 7);
    assert_eq!(body["dlq_size"], 3);
    assert_eq!(body["read_model_lag_seconds"], 2.5);
    assert_eq!(body["consumer_lag_total"], 10);
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
async fn health_is_503_while_the_engine_cannot_make_progress_durably() {
    let store = store();
    let app = app(std::sync::Arc::clone(&store));
    let (status, body) = get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert!(body.get("reason").is_none());
    store.set_failure(Some(
        "writing epoch 7 of the raw archive failed: disk full".into(),
    ));
    let (status, body) = get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "failing");
    assert!(body["reason"].as_str().unwrap().contains("disk full"));
    assert_eq!(body["epoch"], 7);
    store.set_failure(None);
    assert_eq!(get_json(&app, "/health").await.0, StatusCode::OK);
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
    assert_eq!(find("pulso_dlq_probe_failures_total", &[]), 1.0);
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
    assert_eq!(find("pulso_durability_failing", &[]), 0.0);
    // The alert table's signals.
    assert_eq!(find("pulso_consumer_group_lag", &[]), 10.0);
    assert_eq!(find("pulso_read_model_lag_seconds", &[]), 2.5);
    assert_eq!(
        find("pulso_epoch_duration_seconds_bucket", &[("le", "+Inf")]),
        0.0
    );
    assert_eq!(find("pulso_epoch_duration_seconds_count", &[]), 0.0);
    // Two BREACHED cases in each of the fixture's departments.
    assert_eq!(
        find("pulso_open_cases_breached", &[("dependencia", "1")]),
        2.0
    );
    assert_eq!(
        find("pulso_open_cases_breached", &[("dependencia", "2")]),
        2.0
    );
    let tables = store().read().row_counts();
    for (view, count) in tables {
        assert_eq!(find("pulso_view_rows", &[("view", view)]), count as f64);
    }
    assert!(tables.iter().any(|(_, count)| *count > 0));
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
async fn an_unknown_dlq_size_is_null_and_no_sample_never_zero() {
    let store = store();
    let mut live = store.live();
    live.dlq_size = None;
    live.dlq_probe_failures = 4;
    store.set_live(live);
    let app = app(store);
    let (status, body) = get_json(&app, "/v1/pipeline_health").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["dlq_size"].is_null(), "{}", body["dlq_size"]);
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        !text.lines().any(|l| l.starts_with("pulso_dlq_size ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "pulso_dlq_probe_failures_total 4"),
        "{text}"
    );
}

#[tokio::test]
async fn epoch_durations_and_sla_violations_are_exported() {
    let store = store();
    let mut live = store.live();
    live.epoch_durations.observe(0.02);
    live.epoch_durations.observe(0.7);
    live.sla_violations.insert("4".into(), 3);
    store.set_live(live);
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let response = app(store).oneshot(request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    for line in [
        "pulso_epoch_duration_seconds_bucket{le=\"0.025\"} 1",
        "pulso_epoch_duration_seconds_bucket{le=\"0.5\"} 1",
        "pulso_epoch_duration_seconds_bucket{le=\"1\"} 2",
        "pulso_epoch_duration_seconds_bucket{le=\"+Inf\"} 2",
        "pulso_epoch_duration_seconds_count 2",
        "pulso_sla_violations_total{dependencia=\"4\"} 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}
