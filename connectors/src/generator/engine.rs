//! The generator's engine: a simulated clock that starts scenarios (an order saga, a
//! notification's life, a shipment's trace, a citizen case...) in proportion to the records
//! produced so far, a priority queue of their future records keyed by arrival time, the fault
//! injection applied to each record, and a small arrival window that reorders a few records.
//!
//! Memory stays bounded: only records whose arrival time is still in the simulated future are
//! held (a few days' worth of case events at most), never the whole stream.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use pulso_events::{RejectReason, Topic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::config::GeneratorConfig;
use super::faults;
use super::format::{self, HOUR, SEC};
use super::stats::GeneratorStats;
use super::world::{World, TENANTS};

/// Share of events delivered hours after their event time.
const LATE_RATE: f64 = 0.01;
/// Share of events re-delivered byte for byte.
const EXACT_DUP_RATE: f64 = 0.01;
/// Share of events re-delivered with the same id but other content or timestamp.
const CONFLICT_DUP_RATE: f64 = 0.006;
/// Share of events followed by a bad record derived from them (split evenly over the kinds).
const BAD_RATE: f64 = 0.035;
/// Share of output records pulled forward out of the arrival window.
const REORDER_RATE: f64 = 0.02;
/// Size of the arrival window used for local reordering.
const WINDOW: usize = 32;

/// The bad-record kinds derived from valid events (`too_large` is placed separately).
const BAD_KINDS: [RejectReason; 7] = [
    RejectReason::MalformedJson,
    RejectReason::NotAnObject,
    RejectReason::MissingField,
    RejectReason::InvalidField,
    RejectReason::UnknownEventType,
    RejectReason::UnsupportedVersion,
    RejectReason::TopicMismatch,
];

/// A record waiting for its arrival time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    arrival: i64,
    seq: u64,
    topic: Topic,
    bytes: Vec<u8>,
}

/// A deterministic, seedable stream of `(topic, value bytes)` in arrival order (see the
/// [module docs](super)). Iterate it to pace a live source; [`Generator::stats`] tells what
/// was produced.
pub struct Generator {
    pub(crate) rng: ChaCha8Rng,
    pub(crate) world: World,
    /// Events with an event time after this are not produced (the stream's "now").
    pub(crate) horizon_end: i64,
    target: u64,
    start: i64,
    /// Simulated time over which the `target` records are spread.
    span: i64,
    clock: i64,
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    scheduled: u64,
    window: VecDeque<(Topic, Vec<u8>)>,
    owed: [u32; BAD_KINDS.len()],
    too_large_at: VecDeque<u64>,
    sla_changes_at: VecDeque<u64>,
    pub(crate) stats: GeneratorStats,
    drained: bool,
    /// See [`GeneratorConfig::steady_cases`].
    pub(crate) steady_cases: bool,
}

impl Generator {
    /// A generator for `config`; the same config always yields the same bytes.
    pub fn new(config: &GeneratorConfig) -> Generator {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let scale = config.scale.max(1);
        let n_skus = if scale >= 10_000 {
            (scale / 200).clamp(50, 500)
        } else {
            (scale / 40).clamp(4, 50)
        } as usize;
        let world = World::new(&mut rng, n_skus);
        let n_too_large = if scale >= 10_000 {
            (2 + scale / 2_000_000).min(6)
        } else {
            0
        };
        let too_large_at = (1..=n_too_large)
            .map(|i| scale * i / (n_too_large + 1))
            .collect();
        let sla_changes_at = [30, 55, 80].iter().map(|p| scale * p / 100).collect();
        let mut generator = Generator {
            rng,
            world,
            horizon_end: config.start.saturating_add(config.span),
            target: scale,
            start: config.start,
            span: config.span,
            clock: config.start,
            heap: BinaryHeap::new(),
            seq: 0,
            scheduled: 0,
            window: VecDeque::with_capacity(WINDOW + 1),
            owed: [0; BAD_KINDS.len()],
            too_large_at,
            sla_changes_at,
            stats: GeneratorStats::default(),
            drained: false,
            steady_cases: config.steady_cases,
        };
        if config.steady_cases {
            for dep in &mut generator.world.deps {
                dep.sla_hours = super::casos::steady_sla(dep.sla_hours);
            }
        }
        generator.bootstrap(config.start);
        generator
    }

    /// What has been produced so far; complete once the iterator returned `None`.
    pub fn stats(&self) -> &GeneratorStats {
        &self.stats
    }

    // ----- random helpers -------------------------------------------------------------

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen::<f64>() < p
    }

    /// A uniform integer in `lo..hi` (`lo` when the range is empty).
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.gen_range(lo..hi)
        }
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    /// An index drawn with the given (non-negative, not all zero) weights.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut roll = self.rng.gen_range(0..total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }

    /// Tenant index for events that carry no `tenant_id` at all (provider webhooks).
    pub(crate) const NO_TENANT: usize = usize::MAX;

    /// A random envelope A tenant index (into [`TENANTS`]).
    pub(crate) fn tenant(&mut self) -> usize {
        self.weighted(&[40, 30, 15, 15])
    }

    // ----- envelopes ------------------------------------------------------------------

    /// An envelope A event: `fields` plus `event_id`, `event_type`, `timestamp`, and the
    /// optional `tenant_id` / `schema_version`.
    pub(crate) fn env_a(
        &mut self,
        tenant: usize,
        event_type: &str,
        ts: i64,
        fields: Value,
    ) -> Value {
        let mut value = fields;
        let event_id = format::uuid(&mut self.rng);
        let timestamp = format::ts_a(&mut self.rng, ts);
        let version = self.weighted(&[75, 20, 5]);
        let explicit_default = self.chance(0.15);
        let map = value
            .as_object_mut()
            .expect("envelope A fields are an object");
        map.insert("event_id".into(), Value::String(event_id));
        map.insert("event_type".into(), Value::String(event_type.into()));
        map.insert("timestamp".into(), Value::String(timestamp));
        match TENANTS.get(tenant).copied().flatten() {
            Some(name) => {
                map.insert("tenant_id".into(), Value::String(name.into()));
            }
            None if explicit_default && tenant < TENANTS.len() => {
                map.insert("tenant_id".into(), Value::String("default".into()));
            }
            None => {}
        }
        match version {
            1 => {
                map.insert("schema_version".into(), Value::String("1.0".into()));
            }
            2 => {
                map.insert("schema_version".into(), Value::String("1.2".into()));
            }
            _ => {}
        }
        value
    }

    /// An envelope B (`EventoBase`) event of `topic` with these `datos`.
    pub(crate) fn env_b(&mut self, topic: Topic, ts: i64, origen: &str, datos: Value) -> Value {
        let evento_id = format!("evt_{}", format::uuid(&mut self.rng).replace('-', ""));
        let mut value = json!({
            "evento_id": evento_id,
            "evento_tipo": topic.name(),
            "evento_version": "1.0",
            "timestamp": format::ts_secs(ts),
            "origen": origen,
            "datos": datos,
        });
        if self.chance(0.8) {
            let request_id = format!("req_{:x}", self.rng.gen::<u32>());
            let mut metadata = json!({ "request_id": request_id });
            if self.chance(0.6) {
                metadata["usuario_id"] = json!(self.between(900, 1_100));
            }
            value["metadata"] = metadata;
        }
        value
    }

    // ----- scheduling -----------------------------------------------------------------

    /// Schedules a valid event arriving at its event time. False when `ts` is past the
    /// stream's horizon (the event has not happened yet and is not produced).
    pub(crate) fn emit(&mut self, topic: Topic, ts: i64, value: Value) -> bool {
        self.emit_at(topic, ts, ts, value)
    }

    /// Schedules a valid event arriving at `arrival`, then applies the fault injection:
    /// late delivery, exact and conflicting duplicates, bad records derived from it.
    pub(crate) fn emit_at(&mut self, topic: Topic, ts: i64, arrival: i64, value: Value) -> bool {
        if ts > self.horizon_end {
            return false;
        }
        let mut arrival = arrival;
        if self.chance(LATE_RATE) {
            arrival += self.between(HOUR, 8 * HOUR);
            self.stats.late += 1;
        }
        let bytes = serde_json::to_vec(&value).expect("a JSON value serializes");
        self.stats.valid += 1;
        let has_id = topic != Topic::NotificationsDlq;
        if has_id && self.chance(EXACT_DUP_RATE) {
            let later = arrival + self.between(SEC, 6 * HOUR);
            self.push(later, topic, bytes.clone());
            self.stats.exact_duplicates += 1;
        }
        if has_id && self.chance(CONFLICT_DUP_RATE) {
            let variant = faults::conflicting(&mut self.rng, topic, &value, ts);
            let later = arrival + self.between(SEC, 2 * HOUR);
            self.push(
                later,
                topic,
                serde_json::to_vec(&variant).expect("serializes"),
            );
            self.stats.conflicting_duplicates += 1;
        }
        if self.chance(BAD_RATE) {
            let kind = self.rng.gen_range(0..BAD_KINDS.len());
            self.owed[kind] += 1;
        }
        let first = self.rng.gen_range(0..BAD_KINDS.len());
        for i in 0..BAD_KINDS.len() {
            let k = (first + i) % BAD_KINDS.len();
            if self.owed[k] == 0 {
                continue;
            }
            if let Some(bad) = faults::bad_record(&mut self.rng, BAD_KINDS[k], topic, &value) {
                self.owed[k] -= 1;
                let at = arrival + self.between(0, 30 * SEC);
                self.push(at, topic, bad);
                *self.stats.bad.entry(BAD_KINDS[k]).or_default() += 1;
                break;
            }
        }
        self.push(arrival, topic, bytes);
        true
    }

    /// Schedules raw bytes (already counted by the caller when not a valid event).
    pub(crate) fn push(&mut self, arrival: i64, topic: Topic, bytes: Vec<u8>) {
        self.seq += 1;
        self.scheduled += 1;
        self.heap.push(Reverse(Pending {
            arrival,
            seq: self.seq,
            topic,
            bytes,
        }));
    }

    /// The stream's first records: every department's SLA configuration, then a stock count
    /// of every sku.
    fn bootstrap(&mut self, start: i64) {
        self.bootstrap_dependencias(start);
        self.bootstrap_stock(start + 30 * SEC);
    }

    /// Advances the clock and starts one scenario.
    fn step(&mut self) {
        let progress = (self.span as i128 * self.scheduled as i128) / self.target as i128;
        self.clock = self.clock.max(self.start + progress as i64);
        let now = self.clock;
        if self
            .too_large_at
            .front()
            .is_some_and(|at| self.scheduled >= *at)
        {
            self.too_large_at.pop_front();
            let (topic, bytes) = faults::too_large(&mut self.rng, now);
            self.push(now, topic, bytes);
            *self.stats.bad.entry(RejectReason::TooLarge).or_default() += 1;
        }
        if self
            .sla_changes_at
            .front()
            .is_some_and(|at| self.scheduled >= *at)
        {
            self.sla_changes_at.pop_front();
            self.dependencia_change(now, true);
        }
        let t0 = now + self.between(0, 20 * SEC);
        match self.weighted(&[240, 250, 110, 180, 90, 25, 25, 25, 2]) {
            0 => self.order_saga(t0),
            1 => {
                let tenant = self.tenant();
                self.notification(t0, tenant, None);
            }
            2 => self.tracking(t0),
            3 => self.caso(t0),
            4 => self.stock_event(t0),
            5 => self.orphan_webhook(t0),
            6 => self.orphan_order_outcome(t0),
            7 => self.orphan_case_event(t0),
            _ => self.dependencia_change(t0, false),
        }
    }

    /// Pops the earliest pending record if it has arrived by the clock (or unconditionally
    /// when `drain`).
    fn pop(&mut self, drain: bool) -> Option<(Topic, Vec<u8>)> {
        let ready = match self.heap.peek() {
            Some(Reverse(p)) => drain || p.arrival <= self.clock,
            None => false,
        };
        if !ready {
            return None;
        }
        self.heap.pop().map(|Reverse(p)| (p.topic, p.bytes))
    }

    fn take_from_window(&mut self) -> Option<(Topic, Vec<u8>)> {
        let len = self.window.len();
        let item = if len > 1 && self.chance(REORDER_RATE) {
            let index = self.rng.gen_range(1..len);
            self.stats.reordered += 1;
            self.window.remove(index)
        } else {
            self.window.pop_front()
        }?;
        self.stats.records += 1;
        *self.stats.per_topic.entry(item.0).or_default() += 1;
        Some(item)
    }
}

impl Iterator for Generator {
    type Item = (Topic, Vec<u8>);

    fn next(&mut self) -> Option<(Topic, Vec<u8>)> {
        loop {
            if self.window.len() >= WINDOW || (self.drained && !self.window.is_empty()) {
                return self.take_from_window();
            }
            if self.drained {
                return None;
            }
            let draining = self.scheduled >= self.target;
            if let Some(item) = self.pop(draining) {
                self.window.push_back(item);
            } else if !draining {
                self.step();
            } else {
                self.drained = true;
            }
        }
    }
}
