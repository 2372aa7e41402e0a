//! The count of `sla.violados` per department behind `pulso_sla_violations_total` and the
//! "SLA violations" alert (VIEWS.md, "Alert rules"): every accepted `sla.violados` record this
//! process read fresh from its source (not those replayed from the archive at a restart),
//! counted once per `sla_id`, under the `datos.dependencia_id` it names (`unknown` when it
//! names none). A redelivery is recognised among the last [`REMEMBERED`] `sla_id`s, so that
//! a run of months holds a bounded set (redeliveries follow their first delivery closely:
//! a rebalance or a restart re-reads the last uncommitted records).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use pulso_events::{SourceRecord, Topic};
use serde_json::Value;

/// How many of the latest `sla_id`s are remembered to recognise a redelivery.
const REMEMBERED: usize = 65_536;

#[derive(Debug, Default)]
struct Inner {
    /// Violations per department.
    by_department: BTreeMap<String, u64>,
    /// The latest `sla_id`s counted (a redelivered record counts once), at most
    /// [`REMEMBERED`]; `order` holds them oldest first.
    seen: HashSet<String>,
    order: VecDeque<String>,
}

impl Inner {
    /// Remembers `sla_id`; false if it is among the latest ones remembered.
    fn first_sight(&mut self, sla_id: String) -> bool {
        if self.seen.contains(&sla_id) {
            return false;
        }
        if self.order.len() == REMEMBERED {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(sla_id.clone());
        self.order.push_back(sla_id);
        true
    }
}

/// Violations read per department, shared by the sources and the output consumer (a clone
/// is another handle).
#[derive(Clone, Debug, Default)]
pub struct SlaViolations(Arc<Mutex<Inner>>);

/// A JSON scalar as a label value (`5` and `"5"` alike).
fn label(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl SlaViolations {
    /// Counts the `sla.violados` among `accepted` (records the engine accepted).
    pub fn count<'a>(&self, accepted: impl IntoIterator<Item = &'a SourceRecord>) {
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for record in accepted {
            if record.topic != Topic::SlaViolados {
                continue;
            }
            let Ok(event) = serde_json::from_slice::<Value>(&record.value) else {
                continue;
            };
            let datos = &event["datos"];
            if let Some(sla_id) = label(&datos["sla_id"]) {
                if !inner.first_sight(sla_id) {
                    continue;
                }
            }
            let department = label(&datos["dependencia_id"]).unwrap_or_else(|| "unknown".into());
            *inner.by_department.entry(department).or_insert(0) += 1;
        }
    }

    /// Violations counted so far, per department.
    pub fn by_department(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_department
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulso_events::Position;

    fn record(topic: Topic, value: &str) -> SourceRecord {
        let position = Position {
            partition: 0,
            offset: 0,
        };
        SourceRecord::new(topic, position, None, value.as_bytes().to_vec())
    }

    #[test]
    fn counts_each_violation_once_per_department() {
        let counts = SlaViolations::default();
        let v = |sla: i64, dep: &str| {
            format!(
                r#"{{"evento_tipo": "sla.violados", "datos": {{"sla_id": {sla}, "dependencia_id": {dep}}}}}"#
            )
        };
        let records = [
            record(Topic::SlaViolados, &v(1, "3")),
            record(Topic::SlaViolados, &v(2, "\"3\"")),
            record(Topic::SlaViolados, &v(1, "3")),
            record(Topic::SlaViolados, &v(3, "7")),
            record(Topic::SlaCumplidos, &v(4, "7")),
            record(Topic::SlaViolados, r#"{"datos": {"sla_id": 5}}"#),
        ];
        counts.count(&records);
        assert_eq!(
            counts.by_department(),
            BTreeMap::from([
                ("3".to_string(), 2),
                ("7".to_string(), 1),
                ("unknown".to_string(), 1)
            ])
        );
    }

    #[test]
    fn remembers_a_bounded_number_of_violations() {
        let mut inner = Inner::default();
        for id in 0..REMEMBERED + 10 {
            assert!(inner.first_sight(id.to_string()));
        }
        assert_eq!(
            (inner.seen.len(), inner.order.len()),
            (REMEMBERED, REMEMBERED)
        );
        assert!(!inner.first_sight((REMEMBERED + 9).to_string()));
        // The oldest were forgotten: a very late redelivery counts again.
        assert!(inner.first_sight("0".to_string()));
    }
}
