//! The rule evaluator: a pure state machine from samples of the pipeline's health to each
//! rule's state (`inactive` / `firing`), the instant it entered that state, and the state
//! changes to notify.

use std::collections::BTreeMap;

use pulso_events::time::Micros;
use serde::Serialize;

use super::rules::{Rule, Severity};
use super::sample::{History, Sample};

/// A rule's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The value is at or below the threshold (or not evaluated yet).
    Inactive,
    /// The value is above the threshold.
    Firing,
}

/// One rule and its current state.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// The rule.
    pub rule: Rule,
    /// Its state.
    pub state: State,
    /// When it entered `state` (UTC microseconds): its start for a rule never firing.
    pub since: Micros,
    /// The value at the last evaluation (`None` before the first).
    pub value: Option<f64>,
    /// Where the value comes from (`topic`, `partition` for the worst partition's lag,
    /// `dependencia` for the per-department rules).
    pub labels: BTreeMap<String, String>,
}

impl Alert {
    /// One line for people: what is compared with what.
    pub fn summary(&self) -> String {
        let value = self.value.map_or("–".to_string(), |v| v.to_string());
        let at = match (self.labels.get("topic"), self.labels.get("partition")) {
            (Some(t), Some(p)) => format!(" on {t}/{p}"),
            _ => match self.labels.get("dependencia") {
                Some(d) => format!(" in department {d}"),
                None => String::new(),
            },
        };
        let op = if self.state == State::Firing {
            ">"
        } else {
            "<="
        };
        format!(
            "{} {value} {op} {}{at}",
            self.rule.metric.as_str(),
            self.rule.threshold
        )
    }

    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }
}

/// A change of state, as notified to the webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The alert after the change.
    pub alert: Alert,
    /// The state before.
    pub previous: State,
}

/// Every rule's state, updated by [`Evaluator::evaluate`].
#[derive(Clone, Debug)]
pub struct Evaluator {
    alerts: Vec<Alert>,
    evaluated_at: Option<Micros>,
    /// Earlier samples, for the windowed metrics.
    history: History,
}

impl Evaluator {
    /// Every rule inactive since `now`.
    pub fn new(rules: &[Rule], now: Micros) -> Evaluator {
        let alerts = rules
            .iter()
            .map(|rule| Alert {
                rule: rule.clone(),
                state: State::Inactive,
                since: now,
                value: None,
                labels: BTreeMap::new(),
            })
            .collect();
        Evaluator {
            alerts,
            evaluated_at: None,
            history: History::for_rules(rules),
        }
    }

    /// Compares every rule with `sample` at `now`; returns the rules whose state changed.
    pub fn evaluate(&mut self, sample: &Sample, now: Micros) -> Vec<Transition> {
        let mut changes = Vec::new();
        for alert in &mut self.alerts {
            let (value, labels) = self.history.value(sample, &alert.rule, now);
            let state = if value > alert.rule.threshold {
                State::Firing
            } else {
                State::Inactive
            };
            alert.value = Some(value);
            alert.labels = labels;
            if state != alert.state {
                let previous = alert.state;
                alert.state = state;
                alert.since = now;
                changes.push(Transition {
                    alert: alert.clone(),
                    previous,
                });
            }
        }
        self.history.record(now, sample);
        self.evaluated_at = Some(now);
        changes
    }

    /// Every rule's current state, in rule order.
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// When the rules were last evaluated.
    pub fn evaluated_at(&self) -> Option<Micros> {
        self.evaluated_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::default_rules;

    fn sample(lag: i64, dlq: i64, freshness: f64) -> Sample {
        Sample {
            worst_partition: Some(("orders.events".into(), 3, lag)),
            group_lag: lag,
            dlq_size: Some(dlq),
            freshness_seconds: freshness,
            ..Sample::default()
        }
    }

    fn states(e: &Evaluator) -> Vec<(String, State, Micros)> {
        e.alerts()
            .iter()
            .map(|a| (a.rule.name.clone(), a.state, a.since))
            .collect()
    }

    #[test]
    fn fires_and_resolves_with_since_when() {
        let mut e = Evaluator::new(&default_rules(), 100);
        assert!(e
            .alerts()
            .iter()
            .all(|a| a.state == State::Inactive && a.since == 100));
        assert_eq!(e.evaluated_at(), None);
        // All quiet: no change, since stays at the start.
        assert!(e.evaluate(&sample(10, 0, 1.0), 200).is_empty());
        assert_eq!(e.evaluated_at(), Some(200));
        assert!(e.alerts().iter().all(|a| a.since == 100));

        // Lag 1500: the warning fires, the critical does not.
        let changes = e.evaluate(&sample(1500, 0, 1.0), 300);
        assert_eq!(changes.len(), 1);
        let c = &changes[0];
        assert_eq!(c.alert.rule.name, "PulsoConsumerLagHigh");
        assert_eq!(
            (c.previous, c.alert.state),
            (State::Inactive, State::Firing)
        );
        assert_eq!(c.alert.since, 300);
        assert_eq!(c.alert.value, Some(1500.0));
        assert!(c.alert.labels.is_empty());
        assert_eq!(c.alert.summary(), "consumer_group_lag 1500 > 1000");

        // Still firing with another value: no change, since kept, value updated.
        assert!(e.evaluate(&sample(1200, 0, 1.0), 400).is_empty());
        let lag = &e.alerts()[0];
        assert_eq!(
            (lag.state, lag.since, lag.value),
            (State::Firing, 300, Some(1200.0))
        );

        // Threshold is strict: exactly 1000 resolves.
        let changes = e.evaluate(&sample(1000, 0, 1.0), 500);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].previous, changes[0].alert.state),
            (State::Firing, State::Inactive)
        );
        assert_eq!(e.alerts()[0].since, 500);
    }

    #[test]
    fn every_seed_threshold() {
        let mut e = Evaluator::new(&default_rules(), 0);
        let mut loud = sample(6000, 51, 31.0);
        loud.read_model_lag_seconds = 31.0;
        loud.records = 1000;
        loud.rejected = 11;
        loud.epoch_durations.observe(0.7);
        loud.sla_violations.insert("4".into(), 1);
        loud.breached.insert(4, 2);
        let changes = e.evaluate(&loud, 1);
        let mut fired: Vec<&str> = changes.iter().map(|c| c.alert.rule.name.as_str()).collect();
        fired.sort();
        assert_eq!(
            fired,
            vec![
                "PulsoCasesBreached",
                "PulsoConsumerLagCritical",
                "PulsoConsumerLagHigh",
                "PulsoDeadLettersCritical",
                "PulsoDeadLettersHigh",
                "PulsoEpochP99Slow",
                "PulsoReadModelLagHigh",
                "PulsoRejectedShareCritical",
                "PulsoRejectedShareHigh",
                "PulsoSlaViolations",
                "PulsoViewsStale"
            ]
        );
        let dlq = e
            .alerts()
            .iter()
            .find(|a| a.rule.name == "PulsoDeadLettersCritical");
        assert_eq!(dlq.map(Alert::severity), Some(Severity::Warning));
        // DLQ 11 keeps the warning only; freshness and read-model lag 30 are not above 30;
        // counters that did not move since the last sample (the 5/15-minute windows reach
        // back to it) make no new rejections, epochs or violations; no case breached.
        let mut calmer = sample(6000, 11, 30.0);
        calmer.read_model_lag_seconds = 30.0;
        calmer.records = 1000;
        calmer.rejected = 11;
        calmer.epoch_durations = loud.epoch_durations.clone();
        calmer.sla_violations = loud.sla_violations.clone();
        let changes = e.evaluate(&calmer, 2);
        let resolved: Vec<&str> = changes.iter().map(|c| c.alert.rule.name.as_str()).collect();
        assert_eq!(
            resolved,
            vec![
                "PulsoDeadLettersCritical",
                "PulsoViewsStale",
                "PulsoReadModelLagHigh",
                "PulsoRejectedShareHigh",
                "PulsoRejectedShareCritical",
                "PulsoEpochP99Slow",
                "PulsoSlaViolations",
                "PulsoCasesBreached"
            ]
        );
        let firing: Vec<_> = states(&e)
            .into_iter()
            .filter(|(_, s, _)| *s == State::Firing)
            .map(|(n, _, since)| (n, since))
            .collect();
        assert_eq!(
            firing,
            vec![
                ("PulsoConsumerLagHigh".to_string(), 1),
                ("PulsoConsumerLagCritical".to_string(), 1),
                ("PulsoDeadLettersHigh".to_string(), 1)
            ]
        );
    }

    #[test]
    fn no_partitions_means_no_lag() {
        let mut e = Evaluator::new(&default_rules(), 0);
        let quiet = Sample {
            dlq_size: Some(0),
            freshness_seconds: 0.5,
            ..Sample::default()
        };
        assert!(e.evaluate(&quiet, 1).is_empty());
        assert_eq!(e.alerts()[0].value, Some(0.0));
        assert!(e.alerts()[0].labels.is_empty());
    }

    #[test]
    fn samples_the_store_like_metrics() {
        use crate::store::{LiveStatus, PartitionStatus, ViewStore};
        let store = ViewStore::new();
        let p = |partition, lag| PartitionStatus {
            topic: "t".into(),
            partition,
            next_offset: 0,
            high_watermark: lag,
            lag,
        };
        store.set_live(LiveStatus {
            partitions: vec![p(0, 5), p(1, 9), p(2, 7)],
            dlq_size: Some(4),
            ..LiveStatus::default()
        });
        let s = Sample::of(&store);
        assert_eq!(s.worst_partition, Some(("t".into(), 1, 9)));
        assert_eq!(s.group_lag, 21);
        assert_eq!(s.dlq_size, Some(4));
        assert!(s.freshness_seconds >= 0.0);
    }
}
