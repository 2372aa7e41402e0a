//! One scrape of `/metrics` as a `prometheus-client` collector: the gauge and counter families
//! read from the store at scrape time, registered in a `Registry` and written by its text
//! encoder, in the order they were added and with their samples in the order given.
//!
//! Two departures from the crate's metric types keep the exposed text as it always was:
//! counters are declared under their full sample name (`pulso_records_total`, where the
//! crate's `Counter` would declare `pulso_records` and append `_total` to the samples), and
//! label values are escaped here (the crate writes them as they are).

use std::fmt;

use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// A sample's labels: names and escaped values, in order.
type Labels = Vec<(&'static str, String)>;

/// A sample's value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    /// A whole number, written without a fraction.
    Int(i64),
    /// A float (`NaN` and infinities included).
    Float(f64),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u8> for Value {
    fn from(v: u8) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

/// One metric family: its name, help, type and samples.
#[derive(Debug)]
pub(crate) struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, Value)>,
}

impl Family {
    /// Adds the sample of `labels` (values unescaped).
    pub(crate) fn sample(&mut self, labels: &[(&'static str, &str)], value: impl Into<Value>) {
        let labels = labels.iter().map(|(k, v)| (*k, escape(v))).collect();
        self.samples.push((labels, value.into()));
    }

    /// Writes the samples, each as a gauge's is (`<name>{labels} <value>`) whatever the
    /// family's type: a counter's `_total` is already in its name.
    fn write(&self, mut encoder: MetricEncoder) -> fmt::Result {
        for (labels, value) in &self.samples {
            if labels.is_empty() {
                value.write(&mut encoder)?;
            } else {
                value.write(&mut encoder.encode_family(labels)?)?;
            }
        }
        Ok(())
    }
}

/// Every family of one scrape, in order.
#[derive(Debug, Default)]
pub(crate) struct Scrape {
    families: Vec<Family>,
}

impl Scrape {
    /// Starts the gauge family `name`.
    pub(crate) fn gauge(&mut self, name: &'static str, help: &'static str) -> &mut Family {
        self.family(name, help, MetricType::Gauge)
    }

    /// Starts the counter family `name` (its full sample name, `_total` included).
    pub(crate) fn counter(&mut self, name: &'static str, help: &'static str) -> &mut Family {
        self.family(name, help, MetricType::Counter)
    }

    fn family(&mut self, name: &'static str, help: &'static str, kind: MetricType) -> &mut Family {
        self.families.push(Family {
            name,
            help,
            kind,
            samples: Vec::new(),
        });
        self.families.last_mut().expect("just pushed")
    }

    /// The families in the Prometheus text format, through a `prometheus-client` registry.
    pub(crate) fn encode(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut out = String::new();
        prometheus_client::encoding::text::encode_registry(&mut out, &registry)
            .expect("writing to a String cannot fail");
        out
    }
}

impl prometheus_client::collector::Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        for family in &self.families {
            let metric = encoder.encode_descriptor(family.name, family.help, None, family.kind)?;
            family.write(metric)?;
        }
        Ok(())
    }
}

impl Value {
    fn write(self, encoder: &mut MetricEncoder) -> fmt::Result {
        match self {
            Value::Int(v) => encoder.encode_gauge(&v),
            Value::Float(v) => encoder.encode_gauge(&v),
        }
    }
}

/// Escapes a label value: backslash, double quote and newline.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_as_prometheus_text() {
        let mut scrape = Scrape::default();
        scrape
            .gauge("pulso_lag", "Records behind.")
            .sample(&[("topic", "a\"b\\c\nd"), ("partition", "0")], 10i64);
        let records = scrape.counter("pulso_records_total", "Records read.");
        records.sample(&[], 7u64);
        scrape.gauge("pulso_empty", "No sample.");
        scrape.gauge("pulso_rate", "A rate.").sample(&[], 2.5);
        assert_eq!(
            scrape.encode(),
            "# HELP pulso_lag Records behind.\n\
             # TYPE pulso_lag gauge\n\
             pulso_lag{topic=\"a\\\"b\\\\c\\nd\",partition=\"0\"} 10\n\
             # HELP pulso_records_total Records read.\n\
             # TYPE pulso_records_total counter\n\
             pulso_records_total 7\n\
             # HELP pulso_empty No sample.\n\
             # TYPE pulso_empty gauge\n\
             # HELP pulso_rate A rate.\n\
             # TYPE pulso_rate gauge\n\
             pulso_rate 2.5\n"
        );
    }
}
