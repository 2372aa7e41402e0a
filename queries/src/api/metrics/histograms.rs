//! The histogram families of `/metrics` (`pulso_epoch_duration_seconds`,
//! `pulso_http_request_duration_seconds`), written by hand in the Prometheus text format.
//!
//! Kept by hand rather than on `prometheus-client`: its text encoder writes every bucket
//! bound with `dtoa` (`le="1.0"`, `le="10.0"`), where `/metrics` has always written them as
//! Rust does (`le="1"`, `le="10"`; the operations tests check `le="1"` and the alert rules'
//! tests feed `le="1"`), and in Prometheus 2.x text scrapes `le` is compared as a string, so
//! the series would change. Its `Histogram` does not expose its bucket counts either (`get`
//! is crate-private), which the alert evaluator needs (`Histogram::quantile_since`).

use std::fmt::Write;

use super::scrape::escape;

/// Writes the `# HELP` and `# TYPE ... histogram` lines of `name`.
pub(super) fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
}

/// One histogram series: its label (besides `le`), bucket bounds and cumulative counts (one
/// more than the bounds: `+Inf`), sum and count.
pub(super) struct Series<'a> {
    /// The series' label, unescaped, if any.
    pub(super) label: Option<(&'a str, &'a str)>,
    /// The buckets' upper bounds.
    pub(super) bounds: &'a [f64],
    /// Cumulative counts per bound, then for `+Inf`.
    pub(super) cumulative: &'a [u64],
    /// Sum of the observations.
    pub(super) sum: f64,
    /// Observations.
    pub(super) count: u64,
}

/// Writes the `_bucket`, `_sum` and `_count` samples of one series of `name`.
pub(super) fn series(out: &mut String, name: &str, s: &Series<'_>) {
    let label = s
        .label
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .unwrap_or_default();
    for (i, cumulative) in s.cumulative.iter().enumerate() {
        let le = s
            .bounds
            .get(i)
            .map_or("+Inf".to_string(), |b| b.to_string());
        let sep = if label.is_empty() { "" } else { "," };
        let _ = writeln!(out, "{name}_bucket{{{label}{sep}le=\"{le}\"}} {cumulative}");
    }
    let braced = if label.is_empty() {
        String::new()
    } else {
        format!("{{{label}}}")
    };
    let _ = writeln!(out, "{name}_sum{braced} {}", number(s.sum));
    let _ = writeln!(out, "{name}_count{braced} {}", s.count);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_written_with_rust_bounds() {
        let mut out = String::new();
        header(&mut out, "h", "A histogram.");
        let bounds = [0.5, 1.0];
        series(
            &mut out,
            "h",
            &Series {
                label: Some(("route", "/v1/\"x\"")),
                bounds: &bounds,
                cumulative: &[1, 2, 3],
                sum: 2.75,
                count: 3,
            },
        );
        series(
            &mut out,
            "h",
            &Series {
                label: None,
                bounds: &bounds,
                cumulative: &[0, 0, 0],
                sum: 0.0,
                count: 0,
            },
        );
        assert_eq!(
            out,
            "# HELP h A histogram.\n# TYPE h histogram\n\
             h_bucket{route=\"/v1/\\\"x\\\"\",le=\"0.5\"} 1\n\
             h_bucket{route=\"/v1/\\\"x\\\"\",le=\"1\"} 2\n\
             h_bucket{route=\"/v1/\\\"x\\\"\",le=\"+Inf\"} 3\n\
             h_sum{route=\"/v1/\\\"x\\\"\"} 2.75\n\
             h_count{route=\"/v1/\\\"x\\\"\"} 3\n\
             h_bucket{le=\"0.5\"} 0\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n\
             h_sum 0\nh_count 0\n"
        );
    }
}
