//! What the Kafka connector needs to know: brokers, topics, where to start, group id,
//! verbatim librdkafka settings and the dead-letter topic.

use std::collections::BTreeMap;

use pulso_events::Topic;
use rdkafka::ClientConfig;
use serde::Deserialize;

/// The default consumer group id (used only for committed offsets, never for assignment).
pub const DEFAULT_GROUP_ID: &str = "pulso";

/// The default dead-letter topic of the engine.
pub const DEFAULT_DLQ_TOPIC: &str = "pulso.dlq";

/// Where to start reading a partition for which the engine has no saved offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPosition {
    /// From the oldest record the broker still holds (`"earliest"`, the default).
    #[default]
    Earliest,
    /// Only records produced after the source starts (`"latest"`).
    Latest,
    /// From the first record whose Kafka timestamp is at or after this time, in Unix
    /// milliseconds (`{"timestamp": 1705314600000}`); partitions with no such record start
    /// at their end.
    Timestamp(i64),
}

/// Configuration of the Kafka source and the DLQ producer.
///
/// Deserializes from e.g. (TOML shown)
/// ```toml
/// brokers = "kafka-1:9092,kafka-2:9092"
/// topics = ["orders.events", "inventory.events"]   # default: every topic of EVENTS.md
/// start = "earliest"                               # or "latest", or { timestamp = 1705314600000 }
/// group_id = "pulso"
/// dlq_topic = "pulso.dlq"
/// [properties]                                     # librdkafka settings, verbatim
/// "security.protocol" = "SASL_SSL"
/// "sasl.mechanisms" = "SCRAM-SHA-512"
/// "sasl.username" = "pulso"
/// "sasl.password" = "..."
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port...]` (librdkafka `bootstrap.servers`).
    pub brokers: String,
    /// Topics to read, by their EVENTS.md names (a name that is not one is refused at start).
    /// Topics that do not exist yet are not an error: they are picked up when they appear.
    /// Default: every topic of `EVENTS.md` ([`Topic::ALL`]).
    #[serde(default = "default_topics")]
    pub topics: Vec<String>,
    /// Prefix of every Kafka topic name read (default none): with `"staging."`, topic
    /// `orders.events` is read from Kafka topic `staging.orders.events`. Lets several
    /// environments (or test runs) share a cluster. Does not apply to `dlq_topic`.
    #[serde(default)]
    pub topic_prefix: String,
    /// Where to start partitions that have no saved offset. Default: earliest. Partitions that
    /// appear while the source runs (new topics, added partitions) always start at their
    /// beginning, since all their records are new.
    #[serde(default)]
    pub start: StartPosition,
    /// Consumer group id under which processed offsets are committed (for external lag
    /// monitoring; assignment never uses the group). Default `"pulso"`.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// librdkafka settings passed through verbatim to every client (consumer, DLQ producer,
    /// admin), e.g. `security.protocol`, `sasl.mechanisms`, `sasl.username`, `ssl.ca.location`,
    /// `fetch.max.bytes`. They override Pulso's defaults, except that the consumer always runs
    /// with `enable.auto.commit=false` (offsets are committed only after an epoch is done).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// The engine's dead-letter topic. Default `"pulso.dlq"`.
    #[serde(default = "default_dlq_topic")]
    pub dlq_topic: String,
}

fn default_topics() -> Vec<String> {
    Topic::ALL.iter().map(|t| t.name().to_string()).collect()
}

fn default_group_id() -> String {
    DEFAULT_GROUP_ID.to_string()
}

fn default_dlq_topic() -> String {
    DEFAULT_DLQ_TOPIC.to_string()
}

impl KafkaConfig {
    /// A configuration for these bootstrap servers with every default: all topics, earliest,
    /// group `pulso`, no extra properties, DLQ `pulso.dlq`.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            topics: default_topics(),
            topic_prefix: String::new(),
            start: StartPosition::default(),
            group_id: default_group_id(),
            properties: BTreeMap::new(),
            dlq_topic: default_dlq_topic(),
        }
    }

    /// The Kafka names of the topics read: [`KafkaConfig::topic_prefix`] + each of
    /// [`KafkaConfig::topics`].
    pub fn kafka_topics(&self) -> Vec<String> {
        self.topics
            .iter()
            .map(|t| format!("{}{t}", self.topic_prefix))
            .collect()
    }

    /// The names in [`KafkaConfig::topics`] that are not topics of EVENTS.md (a source refuses
    /// to start with any: their records could only be dropped).
    pub fn unknown_topics(&self) -> Vec<&str> {
        self.topics
            .iter()
            .map(String::as_str)
            .filter(|t| Topic::from_name(t).is_none())
            .collect()
    }

    /// The Pulso topic a Kafka topic name stands for (prefix removed), if Pulso knows it.
    pub fn topic_of(&self, kafka_name: &str) -> Option<Topic> {
        Topic::from_name(kafka_name.strip_prefix(&self.topic_prefix)?)
    }

    /// The librdkafka settings common to every client: bootstrap servers, then the verbatim
    /// [`KafkaConfig::properties`].
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// The settings of a [`KafkaSource`](super::KafkaSource) consumer.
    pub(crate) fn consumer_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.group_id)
            // Out-of-range saved offsets (records deleted by retention) restart at the oldest.
            .set("auto.offset.reset", "earliest")
            .set("allow.auto.create.topics", "false")
            .set("enable.partition.eof", "false")
            // Fetch-response high watermarks for `KafkaSource::watermarks`.
            .set("statistics.interval.ms", "1000")
            .set("client.id", "pulso-source");
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        config
    }

    /// The settings of consumers used only for metadata, watermarks and short probes.
    pub(crate) fn lookup_config(&self) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("group.id", format!("{}-lookup", self.group_id))
            .set("client.id", "pulso-lookup")
            .set("allow.auto.create.topics", "false")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        config
    }

    /// The settings of the [`DlqProducer`](super::DlqProducer).
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", "pulso-dlq")
            .set("acks", "all")
            .set("linger.ms", "5")
            // A queued dead letter is never given up for time: a broker outage is ridden out
            // (the flush waits), and only a permanent error fails a delivery.
            .set("message.timeout.ms", "0")
            // `too_large` records (> 1 MiB) must reach the DLQ byte for byte; librdkafka's
            // default limit is 1,000,000 bytes. (On a real cluster the DLQ topic's own
            // `max.message.bytes` must allow them too.)
            .set("message.max.bytes", DLQ_MAX_MESSAGE_BYTES);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// The DLQ producer's largest message: 16 MiB, room for any rejected record and headers.
const DLQ_MAX_MESSAGE_BYTES: &str = "16777216";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_from_json() {
        let config: KafkaConfig = serde_json::from_str(r#"{"brokers": "b:9092"}"#).unwrap();
        assert_eq!(config, KafkaConfig::new("b:9092"));
        assert_eq!(config.topics.len(), Topic::ALL.len());
        assert_eq!(config.start, StartPosition::Earliest);
        assert_eq!(config.group_id, "pulso");
        assert_eq!(config.dlq_topic, "pulso.dlq");
    }

    #[test]
    fn names_that_are_not_topics_are_reported() {
        let mut config = KafkaConfig::new("b:9092");
        assert!(config.unknown_topics().is_empty());
        config.topics.push("payments.events".into());
        config.topics.push("Orders.Events".into());
        assert_eq!(
            config.unknown_topics(),
            ["payments.events", "Orders.Events"]
        );
    }

    #[test]
    fn full_from_json() {
        let config: KafkaConfig = serde_json::from_str(
            r#"{"brokers": "b:9092", "topics": ["orders.events"], "start": {"timestamp": 5},
                "group_id": "g", "dlq_topic": "d",
                "properties": {"security.protocol": "SASL_SSL", "enable.auto.commit": "true"}}"#,
        )
        .unwrap();
        assert_eq!(config.start, StartPosition::Timestamp(5));
        assert_eq!(config.topics, vec!["orders.events"]);
        let consumer = config.consumer_config();
        assert_eq!(consumer.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("group.id"), Some("g"));
        assert_eq!(config.kafka_topics(), vec!["orders.events"]);
        assert_eq!(config.topic_of("orders.events"), Some(Topic::Orders));
        let prefixed = KafkaConfig {
            topic_prefix: "x.".into(),
            ..config
        };
        assert_eq!(prefixed.kafka_topics(), vec!["x.orders.events"]);
        assert_eq!(prefixed.topic_of("x.orders.events"), Some(Topic::Orders));
        assert_eq!(prefixed.topic_of("orders.events"), None);
        let latest: StartPosition = serde_json::from_str(r#""latest""#).unwrap();
        assert_eq!(latest, StartPosition::Latest);
    }
}
