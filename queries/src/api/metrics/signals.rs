//! The `/metrics` families behind the alert table of VIEWS.md ("Alert rules"): the consumer
//! group's total lag, the read-model lag, the epoch-duration histogram, open cases
//! `BREACHED` and `sla.violados` read, per department.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{escape, header, number};
use crate::histogram::EPOCH_BUCKETS;
use crate::store::LiveStatus;

/// Writes the alert-table families of `live`, with `breached` open cases per department.
pub(super) fn write(out: &mut String, live: &LiveStatus, breached: &BTreeMap<i64, i64>) {
    header(
        out,
        "pulso_consumer_group_lag",
        "gauge",
        "Records behind the high watermarks, summed over every partition this process reads.",
    );
    let total: i64 = live.partitions.iter().map(|p| p.lag).sum();
    let _ = writeln!(out, "pulso_consumer_group_lag {total}");

    header(
        out,
        "pulso_read_model_lag_seconds",
        "gauge",
        "Age of the oldest record not yet reflected in a published epoch (0 when caught up).",
    );
    let _ = writeln!(
        out,
        "pulso_read_model_lag_seconds {}",
        number(live.read_model_lag_seconds)
    );

    let name = "pulso_epoch_duration_seconds";
    header(
        out,
        name,
        "histogram",
        "Processing time of each epoch, from its opening to its publication.",
    );
    let h = &live.epoch_durations;
    for (i, cumulative) in h.cumulative().iter().enumerate() {
        let le = EPOCH_BUCKETS
            .get(i)
            .map_or("+Inf".to_string(), |b| b.to_string());
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_sum {}", number(h.sum));
    let _ = writeln!(out, "{name}_count {}", h.count);

    header(
        out,
        "pulso_open_cases_breached",
        "gauge",
        "Open cases past their SLA (open_case_sla BREACHED) per department.",
    );
    for (department, cases) in breached {
        let _ = writeln!(
            out,
            "pulso_open_cases_breached{{dependencia=\"{department}\"}} {cases}"
        );
    }

    header(
        out,
        "pulso_sla_violations_total",
        "counter",
        "sla.violados records read since start per department (once per sla_id).",
    );
    for (department, count) in &live.sla_violations {
        let _ = writeln!(
            out,
            "pulso_sla_violations_total{{dependencia=\"{}\"}} {count}",
            escape(department)
        );
    }
}
