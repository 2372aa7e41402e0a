//! The read-model lag (VIEWS.md, "Read-model lag") of `pulso run` against a real
//! Kafka-compatible broker. Skipped, with a message, unless `PULSO_KAFKA_BROKERS` is set:
//!
//! ```text
//! PULSO_KAFKA_BROKERS=127.0.0.1:9092 cargo test --release --test kafka_read_lag -- --nocapture
//! ```
//!
//! The engine runs with 8-second epochs, so what it reads waits up to 8 s before its epoch
//! is published: publication is held back as a stalled engine would hold it. Once it has
//! published an empty epoch (lag 0), records are produced at a steady pace for 20 s (so every
//! epoch holds records read early in it); `/v1/pipeline_health` and `/metrics` must then
//! report a read-model lag above 5 s (the oldest unpublished record's Kafka timestamp is that
//! old before its epoch closes), and 0 again once the last epoch is published and every
//! partition is caught up.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use pulso_connectors::generator::{generate, GeneratorConfig};
use serde_json::Value;
use support::engine::free_port;
use support::kafka::{brokers, produce_paced, spawn_run, Cluster};

mod support;

/// A `pulso run` child process, killed when dropped.
struct Engine {
    child: Child,
    api: String,
    log: PathBuf,
}

impl Engine {
    fn get(&self, path: &str) -> Result<String, String> {
        let response = ureq::get(&format!("{}{path}", self.api))
            .timeout(Duration::from_secs(5))
            .call()
            .map_err(|e| e.to_string())?;
        response.into_string().map_err(|e| e.to_string())
    }

    fn health(&self) -> Value {
        let text = self
            .get("/v1/pipeline_health")
            .expect("GET /v1/pipeline_health");
        serde_json::from_str(&text).expect("pipeline_health is JSON")
    }

    /// `pulso_read_model_lag_seconds` of `/metrics`.
    fn metric(&self) -> f64 {
        let text = self.get("/metrics").expect("GET /metrics");
        text.lines()
            .find_map(|l| l.strip_prefix("pulso_read_model_lag_seconds "))
            .and_then(|v| v.parse().ok())
            .expect("pulso_read_model_lag_seconds in /metrics")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records read in all, per `/v1/pipeline_health`.
fn records_read(health: &Value) -> i64 {
    health["rows"].as_array().map_or(0, |rows| {
        rows.iter().filter_map(|r| r["records"].as_i64()).sum()
    })
}

fn lag_of(health: &Value) -> f64 {
    health["read_model_lag_seconds"]
        .as_f64()
        .expect("read_model_lag_seconds is a number")
}

#[test]
fn read_model_lag_rises_while_records_wait_and_returns_to_zero() {
    let Some(brokers) = brokers("read_model_lag_rises_while_records_wait_and_returns_to_zero")
    else {
        return;
    };
    let cluster = Cluster::create(&brokers, "lag");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("engine.log");
    let child = spawn_run(
        &cluster,
        &dir.path().join("out"),
        port,
        &log,
        &["--epoch-ms", "8000", "--workers", "2"].map(OsStr::new),
    );
    let engine = Engine {
        child,
        api: format!("http://127.0.0.1:{port}"),
        log,
    };

    // Caught up and an epoch published: 0.
    let started = Instant::now();
    loop {
        if let Ok(text) = engine.get("/v1/pipeline_health") {
            let health: Value = serde_json::from_str(&text).unwrap();
            if health["epoch"].as_i64().is_some() && lag_of(&health) == 0.0 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no published epoch with lag 0 within 60 s\n{}",
            engine.log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(engine.metric(), 0.0);

    let stream = generate(&GeneratorConfig {
        seed: 7,
        scale: 2_000,
        ..Default::default()
    });
    let total = stream.len();
    let producer = {
        let (cluster, stream) = (cluster.clone(), stream.clone());
        std::thread::spawn(move || {
            produce_paced(&cluster, &stream, 0..stream.len(), Duration::from_secs(20))
        })
    };
    let produced = Instant::now();

    // While the records wait in the open epoch, their age grows past 5 s.
    let (mut api_max, mut metrics_max) = (0.0f64, 0.0f64);
    while api_max <= 5.0 || metrics_max <= 5.0 {
        api_max = api_max.max(lag_of(&engine.health()));
        metrics_max = metrics_max.max(engine.metric());
        assert!(
            produced.elapsed() < Duration::from_secs(60),
            "the read-model lag stayed at or below 5 s (API {api_max}, /metrics {metrics_max})\n{}",
            engine.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    println!(
        "read-model lag above 5 s after {:.1?}: API {api_max}, /metrics {metrics_max}",
        produced.elapsed()
    );

    producer.join().expect("the producer thread");

    // Published and caught up: back to 0, with every record read.
    loop {
        let health = engine.health();
        let caught_up = records_read(&health) == total as i64 && health["consumer_lag_total"] == 0;
        if caught_up && lag_of(&health) == 0.0 && engine.metric() == 0.0 {
            break;
        }
        assert!(
            produced.elapsed() < Duration::from_secs(120),
            "the read-model lag did not return to 0: {health}\n{}",
            engine.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    println!("back to 0 after {:.1?}", produced.elapsed());
}
