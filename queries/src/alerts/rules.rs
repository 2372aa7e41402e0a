//! The `alerts` section of `pulso run --config`: the rules the engine evaluates and the
//! webhook it notifies. Without a section, the five rules of the seeds (the same as
//! `deploy/prometheus/pulso-alerts.yml`) are evaluated every 5 s and no webhook is called.
//!
//! ```json
//! {"alerts": {
//!   "evaluate_every_secs": 5,
//!   "rules": [{"name": "LagHigh", "metric": "consumer_lag", "threshold": 1000, "severity": "warning"}],
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
    /// `pulso_dlq_size` (records in the dead-letter topics).
    DlqSize,
    /// `pulso_freshness_seconds`.
    FreshnessSeconds,
}

impl Metric {
    /// The name used in config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::ConsumerLag => "consumer_lag",
            Metric::DlqSize => "dlq_size",
            Metric::FreshnessSeconds => "freshness_seconds",
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
}

impl Rule {
    fn new(name: &str, metric: Metric, threshold: f64, severity: Severity) -> Rule {
        Rule {
            name: name.to_string(),
            metric,
            threshold,
            severity,
        }
    }
}

/// The seeds' thresholds: consumer lag > 1000 warning, > 5000 critical; DLQ size > 10
/// warning, > 50 critical; freshness > 30 s critical.
pub fn default_rules() -> Vec<Rule> {
    use Metric::*;
    use Severity::*;
    vec![
        Rule::new("PulsoConsumerLagHigh", ConsumerLag, 1000.0, Warning),
        Rule::new("PulsoConsumerLagCritical", ConsumerLag, 5000.0, Critical),
        Rule::new("PulsoDeadLettersHigh", DlqSize, 10.0, Warning),
        Rule::new("PulsoDeadLettersCritical", DlqSize, 50.0, Critical),
        Rule::new("PulsoViewsStale", FreshnessSeconds, 30.0, Critical),
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
        assert_eq!(c.rules.len(), 5);
        assert!(c.validate().is_ok());
        let c: AlertsConfig = serde_json::from_str(
            r#"{"rules": [{"name": "Lag", "metric": "consumer_lag", "threshold": 5, "severity": "critical"}],
                "webhook": {"url": "http://127.0.0.1:9/x"}}"#,
        )
        .unwrap();
        assert_eq!(c.rules[0].metric, Metric::ConsumerLag);
        assert_eq!(c.webhook.as_ref().unwrap().max_retries, 5);
        assert!(c.validate().is_ok());
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
