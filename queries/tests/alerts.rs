//! Alerting end to end: the rules listed at `/v1/alerts` with state and since-when, and their
//! state changes POSTed to a real local HTTP listener (a tiny axum server on port 0) — with a
//! retry when the receiver fails once — both when evaluated on demand and by the engine's
//! periodic evaluation under `serve_on`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use common::*;
use pulso_queries::alerts::{default_rules, Alerts, AlertsConfig, WebhookConfig};
use pulso_queries::{LiveStatus, PartitionStatus, ServeConfig, ViewStore};
use serde_json::Value;

/// What the receiver got, and how many of the next requests it fails with a 503.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Value>>>,
    fail_next: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    {
        let mut fail = r.fail_next.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    r.got.lock().unwrap().push(body);
    StatusCode::NO_CONTENT
}

/// A webhook receiver on a free loopback port: its URL and what it received.
async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

fn webhook(url: &str) -> WebhookConfig {
    WebhookConfig {
        url: url.to_string(),
        timeout_secs: 2,
        max_retries: 3,
        initial_backoff_ms: 50,
    }
}

fn live(lag: i64, dlq_size: i64) -> LiveStatus {
    LiveStatus {
        partitions: vec![PartitionStatus {
            topic: "orders.events".into(),
            partition: 2,
            next_offset: 0,
            high_watermark: lag,
            lag,
        }],
        dlq_size: Some(dlq_size),
        ..LiveStatus::default()
    }
}

/// Waits (up to 10 s) until the receiver holds `n` bodies.
async fn wait_for(r: &Receiver, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let got = r.got.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the webhook received {:?}", r.got.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_posted_to_the_webhook() {
    let (url, r) = receiver().await;
    // The first attempt fails: the change is retried.
    *r.fail_next.lock().unwrap() = 1;
    // The lag, DLQ and freshness rules (the fixture's rejections and breached cases would
    // fire the others).
    let config = AlertsConfig {
        webhook: Some(webhook(&url)),
        rules: default_rules()[..5].to_vec(),
        ..AlertsConfig::default()
    };
    let alerts = Arc::new(Alerts::from_config(&config).unwrap());
    let store = store();
    store.set_live(live(10, 3));
    assert!(alerts.evaluate(&store).is_empty(), "nothing fires at first");

    // DLQ 60: both DLQ rules fire; lag 6000: both lag rules fire.
    store.set_live(live(6000, 60));
    let changes = alerts.evaluate(&store);
    assert_eq!(changes.len(), 4);
    let got = wait_for(&r, 4).await;
    let mut names: Vec<&str> = got.iter().map(|b| b["alert"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "PulsoConsumerLagCritical",
            "PulsoConsumerLagHigh",
            "PulsoDeadLettersCritical",
            "PulsoDeadLettersHigh"
        ]
    );
    let critical = got
        .iter()
        .find(|b| b["alert"] == "PulsoDeadLettersCritical")
        .unwrap();
    assert_eq!(critical["source"], "pulso");
    assert_eq!(critical["state"], "firing");
    assert_eq!(critical["previous_state"], "inactive");
    assert_eq!(critical["severity"], "warning");
    assert_eq!(critical["notify"], "wider");
    assert_eq!(critical["metric"], "dlq_size");
    assert_eq!(critical["threshold"].as_f64(), Some(50.0));
    assert_eq!(critical["value"].as_f64(), Some(60.0));
    assert!(critical["since"].as_str().unwrap().ends_with('Z'));
    let lag = got
        .iter()
        .find(|b| b["alert"] == "PulsoConsumerLagHigh")
        .unwrap();
    assert_eq!(lag["metric"], "consumer_group_lag");
    assert!(lag.get("notify").is_none());

    // Back to normal: four resolutions; no change means no POST.
    store.set_live(live(0, 0));
    assert_eq!(alerts.evaluate(&store).len(), 4);
    assert!(alerts.evaluate(&store).is_empty());
    let got = wait_for(&r, 8).await;
    assert!(got[4..]
        .iter()
        .all(|b| b["state"] == "inactive" && b["previous_state"] == "firing"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.got.lock().unwrap().len(), 8, "one POST per change");
    assert_eq!(alerts.webhook_dropped(), 0);
}

#[tokio::test]
async fn alerts_are_listed_with_state_and_since_when() {
    let store = store();
    store.set_live(live(1500, 0));
    let alerts = Arc::new(Alerts::from_config(&AlertsConfig::default()).unwrap());
    let app = pulso_queries::app_with(Arc::clone(&store), &secured_config(), Arc::clone(&alerts))
        .unwrap();

    let (status, body) = get_as(&app, Some(ADMIN), "/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["evaluated_at"].is_null());
    assert_eq!(body["alerts"].as_array().unwrap().len(), 11);
    assert!(body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["state"] == "inactive" && a["value"].is_null()));

    alerts.evaluate(&store);
    let (_, body) = get_as(&app, Some(ADMIN), "/v1/alerts").await;
    assert!(body["evaluated_at"].is_string());
    // The lag warning; and the fixture's 6 rejected of 107 records and breached cases.
    let firing: Vec<&str> = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        firing,
        [
            "PulsoConsumerLagHigh",
            "PulsoRejectedShareHigh",
            "PulsoRejectedShareCritical",
            "PulsoCasesBreached"
        ]
    );
    assert_eq!(body["firing"], 4);
    let lag = &body["alerts"][0];
    assert_eq!(lag["name"], "PulsoConsumerLagHigh");
    assert_eq!(lag["state"], "firing");
    assert_eq!(lag["severity"], "warning");
    assert_eq!(lag["metric"], "consumer_group_lag");
    assert_eq!(lag["threshold"].as_f64(), Some(1000.0));
    assert_eq!(lag["value"].as_f64(), Some(1500.0));
    assert_eq!(lag["summary"], "consumer_group_lag 1500 > 1000");
    let breached = &body["alerts"][10];
    assert_eq!(breached["metric"], "cases_breached");
    assert!(breached["labels"]["dependencia"].is_string());
    assert_eq!(body["alerts"][6]["window_secs"], 300);
    let since = lag["since"].as_str().unwrap().to_string();
    let stale = &body["alerts"][4];
    assert_eq!(stale["name"], "PulsoViewsStale");
    assert_eq!(stale["state"], "inactive");

    // Still firing later: since-when does not move.
    alerts.evaluate(&store);
    let (_, body) = get_as(&app, Some(ADMIN), "/v1/alerts").await;
    assert_eq!(body["alerts"][0]["since"], since.as_str());

    // /metrics reports the same states.
    let (_, _, text) = request(
        &app,
        axum::http::Method::GET,
        "/metrics",
        Some(ADMIN),
        axum::body::Body::empty(),
    )
    .await;
    assert!(
        text.contains("pulso_alert_firing{alert=\"PulsoConsumerLagHigh\",severity=\"warning\"} 1")
    );
    assert!(text.contains("pulso_alert_firing{alert=\"PulsoViewsStale\",severity=\"critical\"} 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_evaluates_periodically_while_serving() {
    let (url, r) = receiver().await;
    let store = Arc::new(ViewStore::new());
    store.set_live(live(0, 11));
    let config = ServeConfig {
        alerts: AlertsConfig {
            evaluate_every_secs: 1,
            webhook: Some(webhook(&url)),
            ..AlertsConfig::default()
        },
        ..ServeConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(pulso_queries::serve_on(
        listener,
        Arc::clone(&store),
        config,
        async {
            let _ = stopped.await;
        },
    ));
    // The DLQ warning fires at the first evaluation.
    let got = wait_for(&r, 1).await;
    assert_eq!(got[0]["alert"], "PulsoDeadLettersHigh");
    assert_eq!(got[0]["state"], "firing");
    // The served listing agrees.
    let body: Value = tokio::task::spawn_blocking(move || {
        let text = ureq_get(&format!("http://{addr}/v1/alerts"));
        serde_json::from_str(&text).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(body["firing"], 1);
    // Resolved by the next evaluations.
    store.set_live(live(0, 0));
    let got = wait_for(&r, 2).await;
    assert_eq!(got[1]["alert"], "PulsoDeadLettersHigh");
    assert_eq!(got[1]["state"], "inactive");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// A plain HTTP/1.1 GET over a socket (the open API needs no token).
fn ureq_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_once("\r\n\r\n").unwrap().1.to_string()
}
