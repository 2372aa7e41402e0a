//! `GET /metrics` in the Prometheus text format (0.0.4), and the middleware that records
//! every request's latency in `pulso_http_request_duration_seconds{route}`.

mod signals;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pulso_events::RejectReason;

use super::auth::Principal;
use super::params::{Params, RawQuery};
use super::{ApiError, AppState};
use crate::alerts::State as AlertState;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

/// Request latencies per route template.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<String, Histogram>>,
}

impl HttpMetrics {
    /// Records one request of `route` that took `seconds`.
    pub fn observe(&self, route: &str, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let h = routes.entry(route.to_string()).or_default();
        let slot = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        h.counts[slot] += 1;
        h.sum += seconds;
        h.count += 1;
    }

    fn write(&self, out: &mut String) {
        let routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let name = "pulso_http_request_duration_seconds";
        header(out, name, "histogram", "HTTP request latency per route.");
        for (route, h) in routes.iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, count) in h.counts.iter().enumerate() {
                cumulative += count;
                let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "{name}_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {}", h.count);
        }
    }
}

/// Middleware: times the request and records it under its route template (`unmatched` for
/// requests no route matched).
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    state.http.observe(&route, started.elapsed().as_secs_f64());
    response
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A float as Prometheus reads it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

/// The Prometheus metrics: lag, DLQ, rejections, duplicates, freshness, rates, sinks, alert
/// states and HTTP latency histograms. Operator data.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, description = "No or bad token", body = super::error::Body),
        (status = 403, description = "Not an operator token", body = super::error::Body)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    principal.require_operator()?;
    Params::parse(query, &[], false)?;
    let (topics, freshness, epoch, rows, breached) = {
        let t = state.store.read();
        let topics: Vec<_> = t.pipeline_health.rows().cloned().collect();
        let rows = t.row_counts();
        (
            topics,
            t.freshness_seconds(SystemTime::now()),
            t.epoch,
            rows,
            t.breached_by_department(),
        )
    };
    let live = state.store.live();
    let mut out = String::new();

    header(
        &mut out,
        "pulso_consumer_lag",
        "gauge",
        "Records behind the high watermark per partition.",
    );
    for p in &live.partitions {
        let _ = writeln!(
            out,
            "pulso_consumer_lag{{topic=\"{}\",partition=\"{}\"}} {}",
            escape(&p.topic),
            p.partition,
            p.lag
        );
    }
    signals::write(&mut out, &live, &breached);
    header(
        &mut out,
        "pulso_dlq_size",
        "gauge",
        "Records held in the dead-letter topics (no sample while unknown).",
    );
    // Unknown (the probe failed) is no sample at all, never 0.
    if let Some(size) = live.dlq_size {
        let _ = writeln!(out, "pulso_dlq_size {size}");
    }
    header(
        &mut out,
        "pulso_dlq_probe_failures_total",
        "counter",
        "Dead-letter size probes that failed (the size is then unknown).",
    );
    let _ = writeln!(
        out,
        "pulso_dlq_probe_failures_total {}",
        live.dlq_probe_failures
    );

    header(
        &mut out,
        "pulso_records_total",
        "counter",
        "Records read per topic.",
    );
    for t in &topics {
        let _ = writeln!(
            out,
            "pulso_records_total{{topic=\"{}\"}} {}",
            escape(&t.topic),
            t.records
        );
    }
    header(
        &mut out,
        "pulso_rejected_total",
        "counter",
        "Records rejected per topic and DLQ reason.",
    );
    for t in &topics {
        for (reason, count) in RejectReason::ALL.iter().zip(t.rejected) {
            let _ = writeln!(
                out,
                "pulso_rejected_total{{topic=\"{}\",reason=\"{}\"}} {count}",
                escape(&t.topic),
                reason.as_str()
            );
        }
    }
    header(
        &mut out,
        "pulso_duplicates_total",
        "counter",
        "Duplicate records per topic.",
    );
    for t in &topics {
        let _ = writeln!(
            out,
            "pulso_duplicates_total{{topic=\"{}\"}} {}",
            escape(&t.topic),
            t.duplicates
        );
    }
    header(
        &mut out,
        "pulso_orphan_events",
        "gauge",
        "Events whose defining event is missing, per topic.",
    );
    for t in &topics {
        let _ = writeln!(
            out,
            "pulso_orphan_events{{topic=\"{}\"}} {}",
            escape(&t.topic),
            t.orphan_events
        );
    }
    header(
        &mut out,
        "pulso_freshness_seconds",
        "gauge",
        "Seconds since the views last caught up.",
    );
    let _ = writeln!(out, "pulso_freshness_seconds {}", number(freshness));
    header(
        &mut out,
        "pulso_epoch",
        "gauge",
        "The last epoch applied to the serving store (-1 before the first).",
    );
    let _ = writeln!(out, "pulso_epoch {}", epoch.map_or(-1, |e| e as i128));
    header(
        &mut out,
        "pulso_view_rows",
        "gauge",
        "Rows each view holds in the serving store (what retention keeps).",
    );
    for (view, count) in rows {
        let _ = writeln!(out, "pulso_view_rows{{view=\"{view}\"}} {count}");
    }
    header(
        &mut out,
        "pulso_events_per_second",
        "gauge",
        "Events read per second, recently.",
    );
    let _ = writeln!(
        out,
        "pulso_events_per_second {}",
        number(live.events_per_second)
    );
    header(
        &mut out,
        "pulso_epoch_duration_ms",
        "gauge",
        "Duration of the last epoch in milliseconds.",
    );
    let _ = writeln!(
        out,
        "pulso_epoch_duration_ms {}",
        number(live.epoch_duration_ms)
    );
    header(
        &mut out,
        "pulso_sink_lag_epochs",
        "gauge",
        "Epochs not yet written by the slowest sink.",
    );
    let _ = writeln!(out, "pulso_sink_lag_epochs {}", live.sink_lag_epochs);
    header(
        &mut out,
        "pulso_sink_failures_total",
        "counter",
        "Sink write failures.",
    );
    let _ = writeln!(out, "pulso_sink_failures_total {}", live.sink_failures);
    header(
        &mut out,
        "pulso_durability_failing",
        "gauge",
        "1 while the engine cannot make progress durably (archive, progress record, output consumer), else 0.",
    );
    let _ = writeln!(
        out,
        "pulso_durability_failing {}",
        u8::from(state.store.failure().is_some())
    );
    header(
        &mut out,
        "pulso_alert_firing",
        "gauge",
        "1 while the engine's alert rule fires, else 0.",
    );
    for alert in state.alerts.snapshot().1 {
        let _ = writeln!(
            out,
            "pulso_alert_firing{{alert=\"{}\",severity=\"{}\"}} {}",
            escape(&alert.rule.name),
            if alert.severity() == crate::alerts::Severity::Critical {
                "critical"
            } else {
                "warning"
            },
            u8::from(alert.state == AlertState::Firing)
        );
    }
    header(
        &mut out,
        "pulso_alert_webhook_dropped_total",
        "counter",
        "Alert state changes the webhook queue could not take.",
    );
    let _ = writeln!(
        out,
        "pulso_alert_webhook_dropped_total {}",
        state.alerts.webhook_dropped()
    );
    state.http.write(&mut out);

    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response())
}
