//! `GET /metrics` in the Prometheus text format (0.0.4), and the middleware that records
//! every request's latency in `pulso_http_request_duration_seconds{route}`. The gauge and
//! counter families are encoded by `prometheus-client` ([`scrape`]); the two histograms are
//! written by hand ([`histograms`] says why).

mod histograms;
mod scrape;
mod signals;

use std::collections::BTreeMap;
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
use scrape::Scrape;

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
        histograms::header(out, name, "HTTP request latency per route.");
        for (route, h) in routes.iter() {
            let cumulative: Vec<u64> = h
                .counts
                .iter()
                .scan(0, |total, c| {
                    *total += c;
                    Some(*total)
                })
                .collect();
            let series = histograms::Series {
                label: Some(("route", route)),
                bounds: &BUCKETS,
                cumulative: &cumulative,
                sum: h.sum,
                count: h.count,
            };
            histograms::series(out, name, &series);
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
    let mut scrape = Scrape::default();

    let lag = scrape.gauge(
        "pulso_consumer_lag",
        "Records behind the high watermark per partition.",
    );
    for p in &live.partitions {
        let partition = p.partition.to_string();
        lag.sample(&[("topic", &p.topic), ("partition", &partition)], p.lag);
    }
    signals::add(&mut scrape, &live, &breached);
    let dlq = scrape.gauge(
        "pulso_dlq_size",
        "Records held in the dead-letter topics (no sample while unknown).",
    );
    // Unknown (the probe failed) is no sample at all, never 0.
    if let Some(size) = live.dlq_size {
        dlq.sample(&[], size);
    }
    scrape
        .counter(
            "pulso_dlq_probe_failures_total",
            "Dead-letter size probes that failed (the size is then unknown).",
        )
        .sample(&[], live.dlq_probe_failures);

    let records = scrape.counter("pulso_records_total", "Records read per topic.");
    for t in &topics {
        records.sample(&[("topic", &t.topic)], t.records);
    }
    let rejected = scrape.counter(
        "pulso_rejected_total",
        "Records rejected per topic and DLQ reason.",
    );
    for t in &topics {
        for (reason, count) in RejectReason::ALL.iter().zip(t.rejected) {
            rejected.sample(&[("topic", &t.topic), ("reason", reason.as_str())], count);
        }
    }
    let duplicates = scrape.counter("pulso_duplicates_total", "Duplicate records per topic.");
    for t in &topics {
        duplicates.sample(&[("topic", &t.topic)], t.duplicates);
    }
    let orphans = scrape.gauge(
        "pulso_orphan_events",
        "Events whose defining event is missing, per topic.",
    );
    for t in &topics {
        orphans.sample(&[("topic", &t.topic)], t.orphan_events);
    }
    scrape
        .gauge(
            "pulso_freshness_seconds",
            "Seconds since the views last caught up.",
        )
        .sample(&[], freshness);
    scrape
        .gauge(
            "pulso_epoch",
            "The last epoch applied to the serving store (-1 before the first).",
        )
        .sample(
            &[],
            epoch.map_or(-1, |e| i64::try_from(e).unwrap_or(i64::MAX)),
        );
    let view_rows = scrape.gauge(
        "pulso_view_rows",
        "Rows each view holds in the serving store (what retention keeps).",
    );
    for (view, count) in rows {
        view_rows.sample(&[("view", view)], count);
    }
    scrape
        .gauge(
            "pulso_events_per_second",
            "Events read per second, recently.",
        )
        .sample(&[], live.events_per_second);
    scrape
        .gauge(
            "pulso_epoch_duration_ms",
            "Duration of the last epoch in milliseconds.",
        )
        .sample(&[], live.epoch_duration_ms);
    scrape
        .gauge(
            "pulso_sink_lag_epochs",
            "Epochs not yet written by the slowest sink.",
        )
        .sample(&[], live.sink_lag_epochs);
    scrape
        .counter("pulso_sink_failures_total", "Sink write failures.")
        .sample(&[], live.sink_failures);
    scrape
        .gauge(
            "pulso_durability_failing",
            "1 while the engine cannot make progress durably (archive, progress record, output consumer), else 0.",
        )
        .sample(&[], u8::from(state.store.failure().is_some()));
    let firing = scrape.gauge(
        "pulso_alert_firing",
        "1 while the engine's alert rule fires, else 0.",
    );
    for alert in state.alerts.snapshot().1 {
        let severity = if alert.severity() == crate::alerts::Severity::Critical {
            "critical"
        } else {
            "warning"
        };
        firing.sample(
            &[("alert", &alert.rule.name), ("severity", severity)],
            u8::from(alert.state == AlertState::Firing),
        );
    }
    scrape
        .counter(
            "pulso_alert_webhook_dropped_total",
            "Alert state changes the webhook queue could not take.",
        )
        .sample(&[], state.alerts.webhook_dropped());

    let mut out = scrape.encode();
    signals::write_epoch_durations(&mut out, &live);
    state.http.write(&mut out);

    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response())
}
