//! The `alerts` section of `pulso run --config`: the rules the engine evaluates and the
//! webhook it notifies. Without a section, the rules of VIEWS.md's alert table (the same as
//! `deploy/prometheus/pulso-alerts.yml`, but for "engine down", which only Prometheus can
//! see) are evaluated every 5 s and no webhook is called. Thresholds, windows and the
//! rules themselves are set with `rules` (which then replaces the defaults).
//!
//! ```json
//! {"alerts": {
//!   "evaluate_every_secs": 5,
//!   "rules": [{"name": "LagHigh", "metric": "consumer_group_lag", "threshold": 1000, "severity": "warning"},
//!             {"name": "Rejects", "metric": "rejected_share", "threshold": 0.001, "severity": "warning", "window_secs": 300}],
//!   "webhook": {"url": "http://alert-relay:9000/pulso", "timeout_secs": 5, "max_retries": 5}
//! }}
//! ```

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// What a rule compares with its threshold (the same values as `/metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The greatest `pulso_consumer_lag` over the partitions (records).
    ConsumerLag,
    /// `pulso_consumer_group_lag`: the lag summed over every partition (records).
    ConsumerGroupLag,
    /// `pulso_dlq_size` (records in the dead-letter topics).
    DlqSize,
    /// `pulso_freshness_seconds`.
    FreshnessSeconds,
    /// `pulso_read_model_lag_seconds`.
    ReadModelLagSeconds,
    /// Rejected records / records read over the window (`pulso_rejected_total` over
    /// `pulso_records_total`); 0 when nothing was read.
    RejectedShare,
    /// The 99th percentile of `pulso_epoch_duration_seconds` over the window (seconds).
    EpochDurationP99Seconds,
    /// The most `sla.violados` read over the window by one department
    /// (`pulso_sla_violations_total`).
    SlaViolations,
    /// The most open cases `BREACHED` of one department (`pulso_open_cases_breached`).
    CasesBreached,
}

impl Metric {
    /// The name used in config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ConsumerLag => "consumer_lag",
            Metric::ConsumerGroupLag => "consumer_group_lag",
            Metric::DlqSize => "dlq_size",
            Metric::FreshnessSeconds => "freshness_seconds",
            Metric::ReadModelLagSeconds => "read_model_lag_seconds",
            Metric::RejectedShare => "rejected_share",
            Metric::EpochDurationP99Seconds => "epoch_duration_p99_seconds",
            Metric::SlaViolations => "sla_violations",
            Metric::CasesBreached => "cases_breached",
        }
    }

    /// The window of a windowed metric when its rule sets none (seconds; 0 for the others):
    /// 5 min for the rejected share and the epoch p99, 15 min for the SLA violations.
    pub fn default_window_secs(self) -> u64 {
        match self {
            Metric::RejectedShare | Metric::EpochDurationP99Seconds => 300,
            Metric::SlaViolations => 900,
            _ => 0,
        }
    }
}

/// How urgent a firing rule is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Look at it soon.
    Warning,
    /// Page someone.
    Critical,
}

/// One rule: fires while `metric > threshold`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name (as in the Prometheus rules file).
    pub name: String,
    /// The value compared.
    pub metric: Metric,
    /// Fires while the value is strictly greater.
    pub threshold: f64,
    /// Severity.
    pub severity: Severity,
    /// The window of a windowed metric, in seconds (default: the metric's, see
    /// [`Metric::default_window_secs`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// Who else to tell, for routing (e.g. `wider`: beyond on-call), as the Prometheus
    /// rule's `notify` label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

impl Rule {
    /// A rule with the metric's default window and no `notify`.
    pub(crate) fn new(name: &str, metric: Metric, threshold: f64, severity: Severity) -> Rule {
        Rule {
            name: name.to_string(),
            metric,
            threshold,
            severity,
            window_secs: None,
            notify: None,
        }
    }

    /// The window of its metric, in seconds (0 for a metric without one).
    pub fn window_secs(&self) -> u64 {
        match self.metric.default_window_secs() {
            0 => 0,
            default => self.window_secs.unwrap_or(default),
        }
    }
}

/// VIEWS.md's alert table (the seeds' thresholds): the consumer group's total lag > 1000
/// warning, > 5000 critical; DLQ size > 10 warning, > 50 warning notifying wider; read-model
/// lag > 30 s warning; rejected share over 5 min > 0.1 % warning, > 1 % critical; epoch p99
/// over 5 min > 500 ms warning; new `sla.violados` of a department in 15 min > 0 warning;
/// open cases `BREACHED` of a department > 0 warning. Also freshness > 30 s critical (the
/// views stopped). "Engine down" is Prometheus' alone (`up == 0`).
pub fn default_rules() -> Vec<Rule> {
    use Metric::*;
    use Severity::*;
    vec![
        Rule::new("PulsoConsumerLagHigh", ConsumerGroupLag, 1000.0, Warning),
        Rule::new(
            "PulsoConsumerLagCritical",
            ConsumerGroupLag,
            5000.0,
            Critical,
        ),
        Rule::new("PulsoDeadLettersHigh", DlqSize, 10.0, Warning),
        Rule {
            notify: Some("wider".into()),
            ..Rule::new("PulsoDeadLettersCritical", DlqSize, 50.0, Warning)
        },
        Rule::new("PulsoViewsStale", FreshnessSeconds, 30.0, Critical),
        Rule::new("PulsoReadModelLagHigh", ReadModelLagSeconds, 30.0, Warning),
        Rule::new("PulsoRejectedShareHigh", RejectedShare, 0.001, Warning),
        Rule::new("PulsoRejectedShareCritical", RejectedShare, 0.01, Critical),
        Rule::new("PulsoEpochP99Slow", EpochDurationP99Seconds, 0.5, Warning),
        Rule::new("PulsoSlaViolations", SlaViolations, 0.0, Warning),
        Rule::new("PulsoCasesBreached", CasesBreached, 0.0, Warning),
    ]
}

/// Where state changes are POSTed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Timeout of one attempt.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Attempts after the first one failed, with doubling back-off.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Back-off before the first retry.
    #[serde(default = "default_backoff_ms")]
    pub initial_backoff_ms: u64,
}

fn default_timeout_secs() -> u64 {
    5
}

fn default_max_retries() -> u32 {
    5
}

fn default_backoff_ms() -> u64 {
    500
}

/// The `alerts` section.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Seconds between evaluations.
    pub evaluate_every_secs: u64,
    /// The rules (replacing the defaults when given).
    pub rules: Vec<Rule>,
    /// Notified of every state change, if set.
    pub webhook: Option<WebhookConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            evaluate_every_secs: 5,
            rules: default_rules(),
            webhook: None,
        }
    }
}

impl AlertsConfig {
    /// Checks names, thresholds, the interval and the webhook URL.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Alerts(m));
        if self.evaluate_every_secs == 0 {
            return bad("evaluate_every_secs must be greater than zero".into());
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.name.is_empty() || self.rules[..i].iter().any(|r| r.name == rule.name) {
                return bad(format!("rules[{i}]: names must be non-empty and unique"));
            }
            if !rule.threshold.is_finite() {
                return bad(format!("rules[{i}]: threshold must be a finite number"));
            }
            if rule.window_secs == Some(0) {
                return bad(format!("rules[{i}]: window_secs must be greater than zero"));
            }
        }
        if let Some(w) = &self.webhook {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return bad("webhook.url must be an http:// or https:// URL".into());
            }
            if w.timeout_secs == 0 {
                return bad("webhook.timeout_secs must be greater than zero".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_thresholds() {
        let c: AlertsConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, AlertsConfig::default());
        assert_eq!(c.rules.len(), 11);
        assert!(c.validate().is_ok());
        let c: AlertsConfig = serde_json::from_str(
            r#"{"rules": [{"name": "Lag", "metric": "consumer_lag", "threshold": 5, "severity": "critical"}],
                "webhook": {"url": "http://127.0.0.1:9/x"}}"#,
        )
        .unwrap();
        assert_eq!(c.rules[0].metric, Metric::ConsumerLag);
        assert_eq!(c.webhook.as_ref().unwrap().max_retries, 5);
        assert!(c.validate().is_ok());
        let c: AlertsConfig = serde_json::from_str(
            r#"{"rules": [{"name": "R", "metric": "rejected_share", "threshold": 0.5, "severity": "warning", "window_secs": 60, "notify": "wider"}]}"#,
        )
        .unwrap();
        assert_eq!(c.rules[0].window_secs(), 60);
        assert_eq!(c.rules[0].notify.as_deref(), Some("wider"));
        assert_eq!(AlertsConfig::default().rules[6].window_secs(), 300);
        assert!(serde_json::from_str::<AlertsConfig>(r#"{"rulez": []}"#).is_err());
    }

    #[test]
    fn validation() {
        let mut c = AlertsConfig::default();
        c.rules.push(c.rules[0].clone());
        assert!(c.validate().is_err());
        let c = AlertsConfig {
            webhook: Some(WebhookConfig {
                url: "ftp://x".into(),
                timeout_secs: 1,
                max_retries: 0,
                initial_backoff_ms: 1,
            }),
            ..AlertsConfig::default()
        };
        assert!(c.validate().is_err());
        let c = AlertsConfig {
            evaluate_every_secs: 0,
            ..AlertsConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
