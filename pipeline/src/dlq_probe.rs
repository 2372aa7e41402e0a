//! The dead-letter size probe (VIEWS.md, `pipeline_health.dlq_size`): every few seconds, on a
//! thread of its own (broker round trips must not stall the epochs), it measures the records
//! held in the engine's DLQ topic and in `notifications.dlq` with the source's own Kafka
//! settings (SASL/TLS included). A probe that fails makes the size unknown and counts the
//! failure: it never reads as 0.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pulso_connectors::kafka::{topic_size_with, KafkaConfig};

/// Time between probes.
const PROBE_EVERY: Duration = Duration::from_secs(5);
/// The stored size while it is unknown.
const UNKNOWN: i64 = -1;

/// The last measured size of the dead-letter topics and the failed probes, shared with the
/// output consumer.
#[derive(Clone, Debug)]
pub struct DlqSize {
    size: Arc<AtomicI64>,
    failures: Arc<AtomicU64>,
}

impl Default for DlqSize {
    /// Unknown until the first probe.
    fn default() -> Self {
        DlqSize {
            size: Arc::new(AtomicI64::new(UNKNOWN)),
            failures: Arc::default(),
        }
    }
}

impl DlqSize {
    /// Records held in the dead-letter topics, `None` while unknown (no probe succeeded yet,
    /// or the last one failed).
    pub fn get(&self) -> Option<i64> {
        Some(self.size.load(Ordering::Relaxed)).filter(|s| *s != UNKNOWN)
    }

    /// Probes that failed since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// Measures the dead-letter topics of a Kafka run.
#[derive(Clone, Debug)]
pub struct DlqProbe {
    config: KafkaConfig,
    topics: Vec<String>,
}

impl DlqProbe {
    /// The probe of `config`'s DLQ topic and its `notifications.dlq`, with its settings.
    pub fn new(config: &KafkaConfig) -> Self {
        DlqProbe {
            config: config.clone(),
            topics: vec![
                config.dlq_topic.clone(),
                format!("{}notifications.dlq", config.topic_prefix),
            ],
        }
    }

    /// Measures once into `out`: the total size, or unknown (and one more failure).
    pub fn probe_once(&self, out: &DlqSize) {
        let sizes: Result<Vec<i64>, _> = self
            .topics
            .iter()
            .map(|topic| topic_size_with(&self.config, topic))
            .collect();
        match sizes {
            Ok(sizes) => out.size.store(sizes.iter().sum(), Ordering::Relaxed),
            Err(error) => {
                tracing::warn!(%error, "the dead-letter size probe failed; size unknown");
                out.size.store(UNKNOWN, Ordering::Relaxed);
                out.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Probes every few seconds on a thread of its own, for the life of the process.
    pub fn spawn(self) -> DlqSize {
        let out = DlqSize::default();
        let shared = out.clone();
        std::thread::spawn(move || loop {
            self.probe_once(&shared);
            std::thread::sleep(PROBE_EVERY);
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers() -> Option<String> {
        let brokers = std::env::var("PULSO_KAFKA_BROKERS").ok();
        if brokers.is_none() {
            eprintln!("skipping: PULSO_KAFKA_BROKERS is not set (scripts/broker.sh start)");
        }
        brokers
    }

    #[test]
    fn a_probe_with_the_sources_settings_measures_and_a_failed_one_is_unknown() {
        let Some(brokers) = brokers() else {
            return;
        };
        let tag = std::process::id();
        let mut config = KafkaConfig::new(brokers.clone());
        config.dlq_topic = format!("probe-test-dlq-{tag}");
        config.topic_prefix = format!("probe-test-{tag}-");
        let size = DlqSize::default();
        assert_eq!(size.get(), None, "unknown before the first probe");
        // Topics that do not exist hold nothing: a measured 0.
        DlqProbe::new(&config).probe_once(&size);
        assert_eq!((size.get(), size.failures()), (Some(0), 0));
        // Settings the broker refuses (SASL against a plaintext listener): unknown, counted.
        let mut secured = config.clone();
        for (key, value) in [
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ] {
            secured.properties.insert(key.into(), value.into());
        }
        DlqProbe::new(&secured).probe_once(&size);
        assert_eq!((size.get(), size.failures()), (None, 1));
        // Back to working settings: measured again.
        DlqProbe::new(&config).probe_once(&size);
        assert_eq!((size.get(), size.failures()), (Some(0), 1));
    }
}
