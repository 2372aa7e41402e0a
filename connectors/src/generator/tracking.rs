//! Track & trace (seed 001): shipments, bags and flights with free-text event types, some
//! with a `dedup_key` and re-sent by their producer under a new `event_id`.

use pulso_events::Topic;
use serde_json::{json, Value};

use super::engine::Generator;
use super::format::{money, HOUR, MIN, SEC};

const HUBS: [&str; 8] = ["BOG", "MIA", "MEX", "LIM", "SCL", "MAD", "JFK", "GRU"];

impl Generator {
    /// One tracked entity's sequence of events.
    pub(crate) fn tracking(&mut self, t0: i64) {
        let tenant = self.tenant();
        self.world.next_entity += 1;
        let n = self.world.next_entity;
        let kind = self.weighted(&[60, 25, 15]);
        let (entity_type, entity_id, steps, gap, sources): (
            &str,
            String,
            Vec<&str>,
            (i64, i64),
            &[&str],
        ) = match kind {
            0 => {
                let mut steps = vec!["LABEL_CREATED", "PICKED_UP", "ARRIVED_HUB", "DEPARTED_HUB"];
                if self.chance(0.4) {
                    steps.extend(["ARRIVED_HUB", "DEPARTED_HUB"]);
                }
                steps.push("OUT_FOR_DELIVERY");
                if self.chance(0.06) {
                    steps.extend(["DELIVERY_ATTEMPTED", "OUT_FOR_DELIVERY"]);
                }
                steps.push("DELIVERED");
                let sources: &[&str] = &["scanner", "carrier-api", "driver-app"];
                (
                    "shipment",
                    format!("SHP-{:010}", 4_000_000 + n),
                    steps,
                    (30 * MIN, 12 * HOUR),
                    sources,
                )
            }
            1 => {
                let mut steps = vec!["CHECKED_IN", "SECURITY_CLEARED", "LOADED", "UNLOADED"];
                steps.push(if self.chance(0.03) {
                    "MISHANDLED"
                } else {
                    "ARRIVED_CAROUSEL"
                });
                let sources: &[&str] = &["bhs", "scanner"];
                (
                    "bag",
                    format!("BAG-AV{:06}", n % 1_000_000),
                    steps,
                    (5 * MIN, 60 * MIN),
                    sources,
                )
            }
            _ => {
                let mut steps = vec![
                    "SCHEDULED",
                    "BOARDING",
                    "DEPARTED",
                    "LANDED",
                    "ARRIVED_GATE",
                ];
                if self.chance(0.15) {
                    steps.insert(1, "DELAYED");
                }
                let sources: &[&str] = &["acars", "ops-system"];
                (
                    "flight",
                    format!("AV{:04}-{}", n % 10_000, n),
                    steps,
                    (10 * MIN, 3 * HOUR),
                    sources,
                )
            }
        };
        let uses_dedup = self.chance(0.5);
        let mut t = t0;
        let mut hub = self.pick(&HUBS);
        for (i, step) in steps.iter().enumerate() {
            if i > 0 {
                t += self.between(gap.0, gap.1);
            }
            let mut fields = json!({ "entity_id": entity_id, "entity_type": entity_type });
            if step.starts_with("ARRIVED") || step.starts_with("DEPARTED") || self.chance(0.5) {
                if *step == "ARRIVED_HUB" {
                    hub = self.pick(&HUBS);
                }
                fields["location"] = json!(format!("{hub}-HUB-0{}", self.between(1, 4)));
            }
            if self.chance(0.85) {
                fields["source"] = json!(self.pick(sources));
            }
            if self.chance(0.6) {
                fields["attributes"] = self.attributes(kind);
            }
            if uses_dedup {
                fields["dedup_key"] = json!(format!("{entity_id}:{step}:{i}"));
            }
            let event = self.env_a(tenant, step, t, fields.clone());
            if !self.emit(Topic::Tracking, t, event) {
                break;
            }
            if uses_dedup && self.chance(0.04) {
                // The producer re-sends the same observation under a new event_id.
                let ts = t + self.between(0, 3) * SEC;
                let arrival = t + self.between(SEC, 30 * MIN);
                let again = self.env_a(tenant, step, ts, fields);
                if self.emit_at(Topic::Tracking, ts, arrival, again) {
                    self.stats.dedup_key_resends += 1;
                    self.stats.valid -= 1;
                }
            }
        }
    }

    fn attributes(&mut self, kind: usize) -> Value {
        match kind {
            0 => json!({
                "weight_kg": money(self.between(10, 3_000)),
                "service": self.pick(&["EXPRESS", "STANDARD", "ECONOMY"]),
                "signature_required": self.chance(0.3),
            }),
            1 => json!({
                "flight": format!("AV{:04}", self.between(1, 9_999)),
                "priority": self.chance(0.2),
            }),
            _ => json!({
                "gate": format!("{}{}", self.pick(&["A", "B", "C"]), self.between(1, 40)),
                "delay_minutes": self.between(0, 90),
            }),
        }
    }
}
