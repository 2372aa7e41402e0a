//! What the rules compare: a [`Sample`] of the pipeline's health (the values `/metrics`
//! reports) and the evaluator's [`History`] of earlier samples, against which the windowed
//! values are taken (rejected share, epoch p99, new SLA violations), as Prometheus'
//! `increase(...[w])` and `histogram_quantile` take them from the exported counters.

use std::collections::{BTreeMap, VecDeque};

use pulso_events::time::Micros;

use super::rules::{Metric, Rule};
use crate::histogram::Histogram;
use crate::store::ViewStore;

/// The values the rules compare: the same as `/metrics` reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// The partition with the greatest lag: `(topic, partition, lag)`.
    pub worst_partition: Option<(String, i32, i64)>,
    /// The lag summed over every partition (records).
    pub group_lag: i64,
    /// Records in the dead-letter topics; `None` while unknown (then no DLQ rule fires).
    pub dlq_size: Option<i64>,
    /// Seconds since the views last caught up.
    pub freshness_seconds: f64,
    /// The read-model lag, in seconds.
    pub read_model_lag_seconds: f64,
    /// Records read since start, every topic.
    pub records: i64,
    /// Records rejected since start, every topic and reason.
    pub rejected: i64,
    /// Epoch durations since start.
    pub epoch_durations: Histogram,
    /// `sla.violados` read since start per department.
    pub sla_violations: BTreeMap<String, u64>,
    /// Open cases `BREACHED` per department.
    pub breached: BTreeMap<i64, i64>,
}

impl Sample {
    /// The store's current values.
    pub fn of(store: &ViewStore) -> Sample {
        let (records, rejected, breached) = {
            let t = store.read();
            let (mut records, mut rejected) = (0, 0);
            for h in t.pipeline_health.rows() {
                records += h.records;
                rejected += h.rejected_total();
            }
            (records, rejected, t.breached_by_department())
        };
        let live = store.live();
        let worst_partition = live
            .partitions
            .iter()
            .max_by_key(|p| p.lag)
            .map(|p| (p.topic.clone(), p.partition, p.lag));
        Sample {
            worst_partition,
            group_lag: live.partitions.iter().map(|p| p.lag).sum(),
            dlq_size: live.dlq_size,
            freshness_seconds: store.freshness_seconds(),
            read_model_lag_seconds: live.read_model_lag_seconds,
            records,
            rejected,
            epoch_durations: live.epoch_durations,
            sla_violations: live.sla_violations,
            breached,
        }
    }
}

/// The labels of a value: where it comes from.
pub(crate) type Labels = BTreeMap<String, String>;

/// The greatest value per department, with its department as the label.
fn worst<K: ToString>(values: impl Iterator<Item = (K, f64)>) -> (f64, Labels) {
    values
        .fold(None, |best: Option<(K, f64)>, (k, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((k, v)),
        })
        .map_or((0.0, Labels::new()), |(k, v)| {
            (
                v,
                Labels::from([("dependencia".to_string(), k.to_string())]),
            )
        })
}

/// Earlier samples, kept as long as the longest window of the rules needs.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    samples: VecDeque<(Micros, Sample)>,
    /// How far back samples are kept (the longest window), in microseconds.
    keep: Micros,
}

impl History {
    /// A history long enough for every window of `rules`.
    pub(crate) fn for_rules(rules: &[Rule]) -> History {
        let longest = rules.iter().map(Rule::window_secs).max().unwrap_or(0);
        History {
            samples: VecDeque::new(),
            keep: i64::try_from(longest).unwrap_or(i64::MAX / 2_000_000) * 1_000_000,
        }
    }

    /// The sample a window of `window_secs` ending at `now` starts from: the latest taken at
    /// or before its start, else the oldest (the window then reaches back to it); `None`
    /// before any (the window then starts at the engine's start, from zero).
    fn baseline(&self, now: Micros, window_secs: u64) -> Option<&Sample> {
        let start = now.saturating_sub(i64::try_from(window_secs).unwrap_or(i64::MAX) * 1_000_000);
        self.samples
            .iter()
            .rev()
            .find(|(at, _)| *at <= start)
            .or(self.samples.front())
            .map(|(_, s)| s)
    }

    /// Keeps `sample`, taken at `now`, and drops those no window needs any more.
    pub(crate) fn record(&mut self, now: Micros, sample: &Sample) {
        if self.keep == 0 {
            return;
        }
        self.samples.push_back((now, sample.clone()));
        let start = now.saturating_sub(self.keep);
        while self.samples.len() > 1 && self.samples[1].0 <= start {
            self.samples.pop_front();
        }
    }

    /// The value `rule` compares in `sample` at `now`, and the labels saying where it comes
    /// from.
    pub(crate) fn value(&self, sample: &Sample, rule: &Rule, now: Micros) -> (f64, Labels) {
        let zero = Sample::default();
        let base = || self.baseline(now, rule.window_secs()).unwrap_or(&zero);
        match rule.metric {
            Metric::ConsumerLag => match &sample.worst_partition {
                Some((topic, partition, lag)) => (
                    *lag as f64,
                    Labels::from([
                        ("topic".to_string(), topic.clone()),
                        ("partition".to_string(), partition.to_string()),
                    ]),
                ),
                None => (0.0, Labels::new()),
            },
            Metric::ConsumerGroupLag => (sample.group_lag as f64, Labels::new()),
            Metric::DlqSize => (
                sample.dlq_size.map_or(f64::NAN, |size| size as f64),
                Labels::new(),
            ),
            Metric::FreshnessSeconds => (sample.freshness_seconds, Labels::new()),
            Metric::ReadModelLagSeconds => (sample.read_model_lag_seconds, Labels::new()),
            Metric::RejectedShare => {
                let base = base();
                let records = sample.records - base.records;
                let rejected = sample.rejected - base.rejected;
                let share = match records > 0 {
                    true => rejected.max(0) as f64 / records as f64,
                    false => 0.0,
                };
                (share, Labels::new())
            }
            Metric::EpochDurationP99Seconds => {
                let p99 = sample
                    .epoch_durations
                    .quantile_since(&base().epoch_durations, 0.99);
                (p99.unwrap_or(0.0), Labels::new())
            }
            Metric::SlaViolations => {
                let base = base();
                worst(sample.sla_violations.iter().map(|(dep, n)| {
                    let before = base.sla_violations.get(dep).copied().unwrap_or(0);
                    (dep.clone(), n.saturating_sub(before) as f64)
                }))
            }
            Metric::CasesBreached => worst(sample.breached.iter().map(|(d, n)| (*d, *n as f64))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::Severity;

    const MINUTE: Micros = 60_000_000;

    fn rule(metric: Metric) -> Rule {
        Rule::new("r", metric, 0.0, Severity::Warning)
    }

    fn counters(records: i64, rejected: i64, violations: &[(&str, u64)]) -> Sample {
        Sample {
            records,
            rejected,
            sla_violations: violations
                .iter()
                .map(|(d, n)| (d.to_string(), *n))
                .collect(),
            ..Sample::default()
        }
    }

    #[test]
    fn windowed_values_count_since_the_window_start() {
        let share = rule(Metric::RejectedShare);
        let sla = rule(Metric::SlaViolations);
        let mut history = History::for_rules(&[share.clone(), sla.clone()]);
        // Before any sample the window starts from zero.
        let s = counters(1000, 20, &[("3", 1)]);
        assert_eq!(history.value(&s, &share, 0).0, 0.02);
        history.record(0, &s);
        // Six minutes later: 1000 more records, 1 more rejected: 0.1 %.
        let s = counters(2000, 21, &[("3", 1), ("7", 2)]);
        history.record(6 * MINUTE, &s);
        let s = counters(2000, 21, &[("3", 1), ("7", 2)]);
        assert_eq!(history.value(&s, &share, 6 * MINUTE + 1).0, 0.001);
        // New violations over 15 minutes (back to the first sample): department 7's two.
        let (value, labels) = history.value(&s, &sla, 6 * MINUTE + 1);
        assert_eq!(value, 2.0);
        assert_eq!(labels["dependencia"], "7");
        // 22 minutes after the first sample nothing is new.
        history.record(22 * MINUTE, &s);
        assert_eq!(history.value(&s, &sla, 22 * MINUTE).0, 0.0);
        assert_eq!(history.value(&s, &share, 22 * MINUTE).0, 0.0);
    }

    #[test]
    fn breached_cases_report_the_worst_department() {
        let history = History::default();
        let s = Sample {
            breached: BTreeMap::from([(3, 2), (9, 5)]),
            ..Sample::default()
        };
        let (value, labels) = history.value(&s, &rule(Metric::CasesBreached), 0);
        assert_eq!((value, labels["dependencia"].as_str()), (5.0, "9"));
        let quiet = history.value(&Sample::default(), &rule(Metric::CasesBreached), 0);
        assert_eq!(quiet, (0.0, Labels::new()));
    }
}
