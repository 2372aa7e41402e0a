//! The `/metrics` families behind the alert table of VIEWS.md ("Alert rules"): the consumer
//! group's total lag, the read-model lag, the epoch-duration histogram, open cases
//! `BREACHED` and `sla.violados` read, per department.

use std::collections::BTreeMap;

use super::histograms::{self, Series};
use super::scrape::Scrape;
use crate::histogram::EPOCH_BUCKETS;
use crate::store::LiveStatus;

/// Adds the gauge and counter families of the alert table: from `live`, with `breached` open
/// cases per department.
pub(super) fn add(scrape: &mut Scrape, live: &LiveStatus, breached: &BTreeMap<i64, i64>) {
    let total: i64 = live.partitions.iter().map(|p| p.lag).sum();
    scrape
        .gauge(
            "pulso_consumer_group_lag",
            "Records behind the high watermarks, summed over every partition this process reads.",
        )
        .sample(&[], total);
    scrape
        .gauge(
            "pulso_read_model_lag_seconds",
            "Age of the oldest record not yet reflected in a published epoch (0 when caught up).",
        )
        .sample(&[], live.read_model_lag_seconds);
    let cases = scrape.gauge(
        "pulso_open_cases_breached",
        "Open cases past their SLA (open_case_sla BREACHED) per department.",
    );
    for (department, count) in breached {
        cases.sample(&[("dependencia", &department.to_string())], *count);
    }
    let violations = scrape.counter(
        "pulso_sla_violations_total",
        "sla.violados records read since start per department (once per sla_id).",
    );
    for (department, count) in &live.sla_violations {
        violations.sample(&[("dependencia", department)], *count);
    }
}

/// Writes the epoch-duration histogram of `live`.
pub(super) fn write_epoch_durations(out: &mut String, live: &LiveStatus) {
    let name = "pulso_epoch_duration_seconds";
    histograms::header(
        out,
        name,
        "Processing time of each epoch, from its opening to its publication.",
    );
    let h = &live.epoch_durations;
    let series = Series {
        label: None,
        bounds: &EPOCH_BUCKETS,
        cumulative: &h.cumulative(),
        sum: h.sum,
        count: h.count,
    };
    histograms::series(out, name, &series);
}
