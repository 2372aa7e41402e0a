//! A seedable generator of realistic event streams for every topic of `EVENTS.md`.
//!
//! It simulates, over [`GeneratorConfig::span`] (by default [`SPAN`], 14 days) from
//! [`GeneratorConfig::start`]:
//! - e-commerce sagas: `ORDER_CREATED` → `INVENTORY_RESERVED` → `ORDER_CONFIRMED`, or
//!   `ORDER_CANCELLED` (`PAYMENT_FAILED`, `CUSTOMER_REQUEST` + `INVENTORY_RELEASED`;
//!   `INSUFFICIENT_STOCK` after an `INSUFFICIENT_STOCK` event), stock counts and adjustments;
//! - notifications (`NOTIFICATION_SENT` with fallbacks, costs, order or case links) and their
//!   webhooks (delivered → opened → clicked → converted funnel, bounces, failures), with some
//!   webhooks arriving before their send, and `notifications.dlq` dead letters;
//! - track & trace of shipments, bags and flights, some with `dedup_key` re-sends;
//! - Conecta360 citizen cases (`casos.*`, `sla.*`, `notificaciones.enviadas`,
//!   `ciudadanos.registrados`, `dependencias.configuradas` with SLA changes), leaving open
//!   cases at every SLA status against the greatest event time.
//!
//! Mixed in at small rates: exact and conflicting duplicates, late events, locally reordered
//! arrivals, orphans, and bad records of every DLQ reason (see [`GeneratorStats`]).

mod casos;
mod config;
mod engine;
mod faults;
mod format;
mod notifications;
mod orders;
mod stats;
mod tracking;
mod world;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_activity;
#[cfg(test)]
mod tests_v2;

pub use config::{GeneratorConfig, DEFAULT_START, SPAN};
pub use engine::Generator;
pub use stats::GeneratorStats;

use std::collections::HashMap;

use pulso_events::{Position, SourceRecord, Topic};

/// The whole stream for `config`, in arrival order (deterministic for a seed).
pub fn generate(config: &GeneratorConfig) -> Vec<(Topic, Vec<u8>)> {
    Generator::new(config).collect()
}

/// Numbers generated records as one partition per topic would: partition 0, offsets from 0
/// in arrival order (how the live generator source, the benchmarks and the tests read the
/// stream).
#[derive(Debug, Default)]
pub struct Numbering {
    next: HashMap<Topic, i64>,
}

impl Numbering {
    /// `value` as the next record of `topic`.
    pub fn record(&mut self, topic: Topic, value: Vec<u8>) -> SourceRecord {
        let next = self.next.entry(topic).or_insert(0);
        let position = Position {
            partition: 0,
            offset: *next,
        };
        *next += 1;
        SourceRecord::new(topic, position, None, value)
    }

    /// The offset the next record of each topic numbered so far gets.
    pub fn next_offsets(&self) -> impl Iterator<Item = (Topic, i64)> + '_ {
        self.next.iter().map(|(topic, next)| (*topic, *next))
    }
}

/// The whole stream and what it contains.
pub fn generate_with_stats(config: &GeneratorConfig) -> (Vec<(Topic, Vec<u8>)>, GeneratorStats) {
    let mut generator = Generator::new(config);
    let records = generator.by_ref().collect();
    (records, generator.stats().clone())
}
