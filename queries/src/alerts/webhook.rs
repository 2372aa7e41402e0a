//! Delivery of alert state changes to the configured webhook: a JSON POST per change, sent
//! in order by one background thread with retries and doubling back-off. Queuing never
//! blocks the evaluator or the API; when the queue is full, the change is dropped and
//! counted. The URL is never logged (webhook URLs often embed a secret).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use pulso_events::time::format_rfc3339;
use serde::Serialize;

use super::evaluate::{State, Transition};
use super::rules::{Metric, Severity, WebhookConfig};

/// State changes waiting for delivery at most.
const QUEUE: usize = 1024;
/// Longest back-off between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The JSON body POSTed for one state change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    /// Always `pulso`.
    pub source: &'static str,
    /// The rule's name.
    pub alert: String,
    /// The new state.
    pub state: State,
    /// The state before.
    pub previous_state: State,
    /// The rule's severity.
    pub severity: Severity,
    /// Who else to tell (the rule's `notify`, e.g. `wider`), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// What the rule compares.
    pub metric: Metric,
    /// The rule's threshold.
    pub threshold: f64,
    /// The value that changed the state.
    pub value: Option<f64>,
    /// When the new state began (RFC 3339).
    pub since: String,
    /// Where the value comes from.
    pub labels: BTreeMap<String, String>,
    /// One line for people.
    pub summary: String,
}

impl From<&Transition> for Notification {
    fn from(t: &Transition) -> Self {
        let a = &t.alert;
        Notification {
            source: "pulso",
            alert: a.rule.name.clone(),
            state: a.state,
            previous_state: t.previous,
            severity: a.rule.severity,
            notify: a.rule.notify.clone(),
            metric: a.rule.metric,
            threshold: a.rule.threshold,
            value: a.value,
            since: format_rfc3339(a.since),
            labels: a.labels.clone(),
            summary: a.summary(),
        }
    }
}

/// The sending side: queue changes with [`Webhook::notify`].
#[derive(Debug)]
pub struct Webhook {
    queue: SyncSender<Notification>,
    dropped: AtomicU64,
}

impl Webhook {
    /// Starts the delivery thread (it ends when the `Webhook` is dropped).
    pub fn start(config: WebhookConfig) -> std::io::Result<Webhook> {
        let (queue, pending) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("pulso-alert-webhook".into())
            .spawn(move || deliver_all(&config, pending))?;
        Ok(Webhook {
            queue,
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues a change for delivery without waiting.
    pub fn notify(&self, transition: &Transition) {
        match self.queue.try_send(Notification::from(transition)) {
            Ok(()) => {}
            Err(TrySendError::Full(n)) | Err(TrySendError::Disconnected(n)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(alert = %n.alert, "alert webhook queue unavailable; change dropped");
            }
        }
    }

    /// Changes dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Delivers every queued change in order until the queue closes.
fn deliver_all(config: &WebhookConfig, pending: Receiver<Notification>) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(config.timeout_secs))
        .build();
    for notification in pending {
        deliver(&agent, config, &notification, std::thread::sleep);
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    Retry(String),
    GiveUp(String),
}

fn attempt(agent: &ureq::Agent, url: &str, body: &[u8]) -> Attempt {
    match agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_bytes(body)
    {
        Ok(_) => Attempt::Delivered,
        // Server errors, timeouts and throttling are worth retrying; other refusals are not.
        Err(ureq::Error::Status(code, _)) if code >= 500 || code == 408 || code == 429 => {
            Attempt::Retry(format!("HTTP {code}"))
        }
        Err(ureq::Error::Status(code, _)) => Attempt::GiveUp(format!("HTTP {code}")),
        Err(ureq::Error::Transport(t)) => Attempt::Retry(t.kind().to_string()),
    }
}

/// POSTs one change, retrying up to `max_retries` times with doubling back-off. Returns
/// whether it was delivered.
fn deliver(
    agent: &ureq::Agent,
    config: &WebhookConfig,
    notification: &Notification,
    sleep: impl Fn(Duration),
) -> bool {
    let body = match serde_json::to_vec(notification) {
        Ok(body) => body,
        Err(_) => return false,
    };
    let mut backoff = Duration::from_millis(config.initial_backoff_ms);
    for try_number in 0..=config.max_retries {
        let error = match attempt(agent, &config.url, &body) {
            Attempt::Delivered => {
                tracing::info!(alert = %notification.alert, state = ?notification.state, "alert webhook notified");
                return true;
            }
            Attempt::GiveUp(error) => {
                tracing::warn!(alert = %notification.alert, %error, "alert webhook refused the change");
                return false;
            }
            Attempt::Retry(error) => error,
        };
        if try_number < config.max_retries {
            tracing::debug!(alert = %notification.alert, %error, ?backoff, "alert webhook attempt failed; retrying");
            sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        } else {
            tracing::warn!(alert = %notification.alert, %error, "alert webhook failed; change dropped");
        }
    }
    false
}
