//! Alerting evaluated by the engine: rules from config (by default VIEWS.md's alert table),
//! compared every few seconds with the store's pipeline health (the values `/metrics`
//! reports; windowed ones over the evaluator's history of samples), listed at `GET /v1/alerts`, and POSTed to a webhook when they change state.

mod evaluate;
mod rules;
mod sample;
mod webhook;

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pulso_events::time::Micros;

pub use evaluate::{Alert, Evaluator, State, Transition};
pub use rules::{default_rules, AlertsConfig, Metric, Rule, Severity, WebhookConfig};
pub use sample::Sample;
pub use webhook::{Notification, Webhook};

use crate::store::ViewStore;

/// The wall clock in UTC microseconds.
pub(crate) fn now_micros() -> Micros {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The engine's alerts: every rule's state, shared by the evaluation loop and the API.
#[derive(Debug)]
pub struct Alerts {
    evaluator: Mutex<Evaluator>,
    webhook: Option<Webhook>,
    every: Duration,
}

impl Alerts {
    /// The `rules`, all inactive from now, evaluated every `every` by [`Alerts::run`], with
    /// no webhook.
    pub fn new(rules: &[Rule], every: Duration) -> Alerts {
        Alerts {
            evaluator: Mutex::new(Evaluator::new(rules, now_micros())),
            webhook: None,
            every: every.max(Duration::from_millis(1)),
        }
    }

    /// The alerts of `config`; starts the webhook's delivery thread when one is configured.
    pub fn from_config(config: &AlertsConfig) -> std::io::Result<Alerts> {
        let mut alerts = Alerts::new(
            &config.rules,
            Duration::from_secs(config.evaluate_every_secs),
        );
        alerts.webhook = config.webhook.clone().map(Webhook::start).transpose()?;
        Ok(alerts)
    }

    /// Evaluates every rule against `sample` at `now`, queues the changes for the webhook and
    /// returns them.
    pub fn evaluate_sample(&self, sample: &Sample, now: Micros) -> Vec<Transition> {
        let changes = self
            .evaluator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .evaluate(sample, now);
        for change in &changes {
            tracing::info!(
                alert = %change.alert.rule.name,
                state = ?change.alert.state,
                value = ?change.alert.value,
                "alert changed state"
            );
            if let Some(webhook) = &self.webhook {
                webhook.notify(change);
            }
        }
        changes
    }

    /// Evaluates every rule against the store now.
    pub fn evaluate(&self, store: &ViewStore) -> Vec<Transition> {
        self.evaluate_sample(&Sample::of(store), now_micros())
    }

    /// When the rules were last evaluated, and every rule's state.
    pub fn snapshot(&self) -> (Option<Micros>, Vec<Alert>) {
        let e = self
            .evaluator
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (e.evaluated_at(), e.alerts().to_vec())
    }

    /// Changes the webhook could not queue.
    pub fn webhook_dropped(&self) -> u64 {
        self.webhook.as_ref().map_or(0, Webhook::dropped)
    }

    /// Evaluates the rules against `store` every `evaluate_every_secs` until `shutdown`.
    pub async fn run(self: Arc<Self>, store: Arc<ViewStore>, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticks.tick() => {
                    self.evaluate(&store);
                }
            }
        }
    }
}
