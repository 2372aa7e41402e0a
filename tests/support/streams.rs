//! Random event streams for the property tests: small id pools so entities collide, with
//! exact and conflicting duplicates, late and shuffled arrival, orphans, bad records of every
//! reason and SLA configuration changes; orders in several currencies, tracking events of
//! several entity types and `notifications.dlq` records. Deterministic for a seed.

use pulso_connectors::generator::Numbering;
use pulso_events::money::{MAX_AMOUNT, MAX_EXACT_INTEGER};
use pulso_events::{SourceRecord, Topic};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

const BASE: i64 = 1_705_276_800; // 2024-01-15T00:00:00Z in seconds

fn rfc3339(rng: &mut ChaCha8Rng, seconds: i64) -> String {
    let t = chrono::DateTime::from_timestamp(seconds, 0).unwrap();
    if rng.gen_bool(0.2) {
        let offset = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        t.with_timezone(&offset).to_rfc3339()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

struct Builder {
    rng: ChaCha8Rng,
    /// Draw amounts, quantities, levels and hours at (and just over) the limits of EVENTS.md
    /// as Pulso reads it: `MAX_AMOUNT`, `MAX_EXACT_INTEGER` (docs/SEMANTICS.md).
    at_limits: bool,
    next_id: u64,
    records: Vec<(Topic, Vec<u8>)>,
    ids: Vec<(Topic, String)>,
    /// The time (seconds) of the last send drawn per notification id, so that some
    /// deliveries follow their send by seconds (`notification_latency` within and past SLA).
    sends: std::collections::HashMap<String, i64>,
}

impl Builder {
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.rng.gen_range(0..items.len())]
    }

    fn time(&mut self) -> i64 {
        // Mostly within three days, sometimes a late event a week earlier.
        let late = if self.rng.gen_bool(0.05) {
            -7 * 86_400
        } else {
            0
        };
        BASE + late + self.rng.gen_range(0..3 * 86_400)
    }

    fn event_id(&mut self, topic: Topic) -> String {
        // A conflicting duplicate reuses an id of the same topic.
        if self.rng.gen_bool(0.06) {
            let same: Vec<String> = self
                .ids
                .iter()
                .filter(|(t, _)| *t == topic)
                .map(|(_, id)| id.clone())
                .collect();
            if let Some(id) = same.choose(&mut self.rng) {
                return id.clone();
            }
        }
        self.next_id += 1;
        let id = format!("e{}", self.next_id);
        self.ids.push((topic, id.clone()));
        id
    }

    fn flat(&mut self, topic: Topic, event_type: &str, fields: Value) -> Value {
        let seconds = self.time();
        let mut event = json!({
            "event_id": self.event_id(topic),
            "event_type": event_type,
            "timestamp": rfc3339(&mut self.rng, seconds),
        });
        let tenant = self.pick(&["acme", "globex", ""]);
        if !tenant.is_empty() {
            event["tenant_id"] = json!(tenant);
        }
        merge(&mut event, fields);
        event
    }

    fn base_b(&mut self, topic: Topic, datos: Value) -> Value {
        let seconds = self.time();
        json!({
            "evento_id": self.event_id(topic),
            "evento_tipo": topic.name(),
            "evento_version": "1.0",
            "timestamp": rfc3339(&mut self.rng, seconds),
            "origen": "tests",
            "datos": datos,
        })
    }

    fn money(&mut self) -> Value {
        let cents: i64 = if self.at_limits && self.rng.gen_bool(0.6) {
            // The largest amount, one cent over it, or a value near it.
            MAX_AMOUNT - self.rng.gen_range(-1..3)
        } else {
            self.rng.gen_range(0..100_000)
        };
        serde_json::from_str(&format!("{}.{:02}", cents / 100, cents % 100)).unwrap()
    }

    /// A count in `low..high`, or (at the limits) one at or just over `MAX_EXACT_INTEGER`.
    fn count(&mut self, low: i64, high: i64) -> i64 {
        if self.at_limits && self.rng.gen_bool(0.5) {
            let near = MAX_EXACT_INTEGER - self.rng.gen_range(-1..3);
            if low < 0 && self.rng.gen_bool(0.5) {
                -near
            } else {
                near
            }
        } else {
            self.rng.gen_range(low..high)
        }
    }

    fn push(&mut self, topic: Topic, value: Value) {
        self.records
            .push((topic, serde_json::to_vec(&value).unwrap()));
    }

    fn order_event(&mut self) {
        let order = format!("o{}", self.rng.gen_range(0..8));
        let value = match self.rng.gen_range(0..3) {
            0 => {
                let items: Vec<Value> = (0..self.rng.gen_range(1..3))
                    .map(|_| json!({"sku": format!("s{}", self.rng.gen_range(0..5)), "quantity": self.count(1, 4), "unit_price": 9.99}))
                    .collect();
                let total = self.money();
                let mut fields =
                    json!({"order_id": order, "customer_id": "c1", "items": items, "total": total});
                // Several currencies (none: `USD`), so order_metrics splits by currency.
                let currency = self.pick(&["USD", "EUR", "MXN", ""]);
                if !currency.is_empty() {
                    fields["currency"] = json!(currency);
                }
                self.flat(Topic::Orders, "ORDER_CREATED", fields)
            }
            1 => self.flat(Topic::Orders, "ORDER_CONFIRMED", json!({"order_id": order})),
            _ => {
                let reason =
                    self.pick(&["INSUFFICIENT_STOCK", "PAYMENT_FAILED", "CUSTOMER_REQUEST"]);
                self.flat(
                    Topic::Orders,
                    "ORDER_CANCELLED",
                    json!({"order_id": order, "reason": reason}),
                )
            }
        };
        self.push(Topic::Orders, value);
    }

    fn inventory_event(&mut self) {
        let sku = format!("s{}", self.rng.gen_range(0..5));
        let order = format!("o{}", self.rng.gen_range(0..8));
        let value = match self.rng.gen_range(0..5) {
            0 => {
                let n = self.count(0, 50);
                self.flat(
                    Topic::Inventory,
                    "STOCK_SET",
                    json!({"sku": sku, "on_hand": n}),
                )
            }
            1 => {
                let n = self.count(-5, 6);
                self.flat(
                    Topic::Inventory,
                    "STOCK_ADJUSTED",
                    json!({"sku": sku, "delta": n}),
                )
            }
            2 => {
                let q = self.count(1, 4);
                self.flat(
                    Topic::Inventory,
                    "INVENTORY_RESERVED",
                    json!({"order_id": order, "items": [{"sku": sku, "quantity": q}]}),
                )
            }
            3 => self.flat(
                Topic::Inventory,
                "INVENTORY_RELEASED",
                json!({"order_id": order}),
            ),
            _ => self.flat(
                Topic::Inventory,
                "INSUFFICIENT_STOCK",
                json!({"order_id": order, "sku": sku, "available": 0, "requested": 2}),
            ),
        };
        self.push(Topic::Inventory, value);
    }

    fn notification_event(&mut self) {
        if self.rng.gen_bool(0.15) {
            return self.dlq_record();
        }
        let id = format!("n{}", self.rng.gen_range(0..8));
        let kinds = [
            "NOTIFICATION_SENT",
            "NOTIFICATION_DELIVERED",
            "NOTIFICATION_OPENED",
            "NOTIFICATION_CLICKED",
            "NOTIFICATION_CONVERTED",
            "NOTIFICATION_BOUNCED",
            "NOTIFICATION_FAILED",
        ];
        let kind = self.pick(&kinds);
        let mut fields = json!({"notification_id": id});
        match kind {
            "NOTIFICATION_SENT" => {
                fields["channel"] = json!(self.pick(&["EMAIL", "SMS", "PUSH", "WHATSAPP"]));
                fields["provider"] = json!(self.pick(&["SendGrid", "Twilio"]));
                if self.rng.gen_bool(0.3) {
                    fields["preferred_channel"] = json!(self.pick(&["EMAIL", "SMS"]));
                }
                if self.rng.gen_bool(0.7) {
                    fields["cost"] = self.money();
                }
                if self.rng.gen_bool(0.3) {
                    fields["order_id"] = json!(format!("o{}", self.rng.gen_range(0..8)));
                }
                if self.rng.gen_bool(0.6) {
                    fields["category"] = json!(self.pick(&["TRANSACTIONAL", "MARKETING"]));
                }
                if self.rng.gen_bool(0.6) {
                    fields["template"] = json!(self.pick(&["welcome", "promo_a", "promo_b"]));
                }
            }
            "NOTIFICATION_BOUNCED" => {
                fields["bounce_type"] = json!(self.pick(&["HARD", "SOFT"]));
                if self.rng.gen_bool(0.5) {
                    fields["reason"] = json!(self.pick(&["mailbox_full", "no_such_user"]));
                }
            }
            _ => {}
        }
        let mut value = self.flat(Topic::Notifications, kind, fields);
        let send = self.sends.get(&id).copied();
        match (kind, send) {
            ("NOTIFICATION_SENT", _) => {
                let t = value["timestamp"].as_str().unwrap();
                let t = chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp();
                self.sends.insert(id, t);
            }
            ("NOTIFICATION_DELIVERED", Some(sent)) if self.rng.gen_bool(0.7) => {
                // Seconds after the send (sometimes before it: latency 0), in milliseconds.
                let ms = sent * 1000 + self.rng.gen_range(-2_000..40_000);
                let t = chrono::DateTime::from_timestamp_millis(ms).unwrap();
                value["timestamp"] = json!(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            }
            _ => {}
        }
        self.push(Topic::Notifications, value);
    }

    /// A record of the notification service's `notifications.dlq`: original notification
    /// with a valid, invalid or missing channel and provider, reason and retry count.
    fn dlq_record(&mut self) {
        let mut original = json!({"notification_id": format!("n{}", self.rng.gen_range(0..8))});
        let tenant = self.pick(&["acme", "globex", "", "bad tenant!"]);
        if !tenant.is_empty() {
            original["tenant_id"] = json!(tenant);
        }
        let channel = self.pick(&["EMAIL", "SMS", "PUSH", "WHATSAPP", "FAX", ""]);
        if !channel.is_empty() {
            original["channel"] = json!(channel);
        }
        if self.rng.gen_bool(0.7) {
            original["provider"] = json!(self.pick(&["SendGrid", "Twilio", ""]));
        }
        let seconds = self.time();
        let mut value = json!({
            "original_notification": original,
            "failure_timestamp": rfc3339(&mut self.rng, seconds),
            "last_error": "503",
        });
        if self.rng.gen_bool(0.7) {
            value["reason"] = json!(self.pick(&["MAX_RETRIES", "INVALID_RECIPIENT"]));
        }
        if self.rng.gen_bool(0.8) {
            value["retry_count"] = json!(self.rng.gen_range(0..6));
        }
        self.push(Topic::NotificationsDlq, value);
    }

    fn case_event(&mut self) {
        let caso = self.rng.gen_range(1..7);
        let numero = format!("CRV-2024-{caso:08}");
        let dep = self.rng.gen_range(1..4);
        let day = |b: &mut Builder| {
            let s = b.time();
            rfc3339(&mut b.rng, s)
        };
        let (topic, datos) = match self.rng.gen_range(0..9) {
            0 | 1 => {
                let mut d = json!({"caso_id": caso, "numero_caso": numero, "ciudadano_id": caso * 10, "categoria_id": 1, "dependencia_id": dep, "estado": "PENDIENTE", "fecha_creacion": day(self)});
                if self.rng.gen_bool(0.7) {
                    d["prioridad"] = json!(self.pick(&["BAJA", "MEDIA", "ALTA", "URGENTE"]));
                }
                (Topic::CasosCreados, d)
            }
            2 => (
                Topic::CasosAsignados,
                json!({"caso_id": caso, "numero_caso": numero, "dependencia_id": dep, "fecha_asignacion": day(self), "estado_nuevo": "ASIGNADO"}),
            ),
            3 => {
                let cambios = json!([
                    {"campo": "estado", "valor_anterior": "ASIGNADO", "valor_nuevo": self.pick(&["EN_PROCESO", "ESCALADO"])},
                    {"campo": "prioridad", "valor_anterior": "ALTA", "valor_nuevo": self.pick(&["ALTA", "URGENTE"])}
                ]);
                (
                    Topic::CasosActualizados,
                    json!({"caso_id": caso, "numero_caso": numero, "cambios": cambios, "fecha_actualizacion": day(self)}),
                )
            }
            4 => {
                let mut d = json!({"caso_id": caso, "numero_caso": numero, "motivo_cierre": "RESUELTO", "estado_final": "CERRADO", "fecha_cierre": day(self)});
                if self.rng.gen_bool(0.7) {
                    d["tiempo_total_horas"] = if self.at_limits && self.rng.gen_bool(0.5) {
                        // Micro-hours at or just over the limit.
                        let micro = MAX_EXACT_INTEGER - self.rng.gen_range(-1..3);
                        let text = format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000);
                        serde_json::from_str(&text).unwrap()
                    } else {
                        json!(self.rng.gen_range(1..200) as f64 / 2.0)
                    };
                }
                if self.rng.gen_bool(0.7) {
                    d["satisfaccion_ciudadano"] = json!(self.rng.gen_range(1..6));
                }
                (Topic::CasosCerrados, d)
            }
            5 => (
                Topic::SlaViolados,
                json!({"sla_id": caso, "caso_id": caso, "numero_caso": numero, "tiempo_resolucion_horas": 168, "tiempo_transcurrido_horas": 170.5, "fecha_violacion": day(self)}),
            ),
            6 => (
                Topic::SlaCumplidos,
                json!({"sla_id": caso, "caso_id": caso, "numero_caso": numero, "tiempo_resolucion_horas": 168, "tiempo_real_horas": 20, "fecha_resolucion": day(self)}),
            ),
            7 => {
                let hours = if self.rng.gen_bool(0.5) {
                    json!(self.rng.gen_range(1..100))
                } else {
                    json!(format!("{}", self.rng.gen_range(1..100)))
                };
                (
                    Topic::DependenciasConfiguradas,
                    json!({"dependencia_id": dep, "codigo": "MIN", "cambios": [{"campo": "configuracion.sla_tiempo_resolucion_horas", "valor_anterior": 168, "valor_nuevo": hours}], "fecha_actualizacion": day(self)}),
                )
            }
            _ => {
                let mut d = json!({"notificacion_id": self.rng.gen_range(1..5), "caso_id": caso, "tipo": self.pick(&["CREACION", "ASIGNACION", "CIERRE"]), "canal": self.pick(&["SMS", "EMAIL"]), "estado": self.pick(&["ENVIADO", "FALLIDO"]), "fecha_envio": day(self)});
                if self.rng.gen_bool(0.5) {
                    d["proveedor"] = json!("Twilio");
                    d["costo_estimado"] = json!(0.05);
                }
                (Topic::NotificacionesEnviadas, d)
            }
        };
        let value = self.base_b(topic, datos);
        self.push(topic, value);
    }

    fn tracking_event(&mut self) {
        let entity = format!("t{}", self.rng.gen_range(0..4));
        let entity_type = self.pick(&["shipment", "bag", "flight"]);
        let mut fields =
            json!({"entity_id": entity, "entity_type": entity_type, "location": "hub"});
        if self.rng.gen_bool(0.5) {
            fields["dedup_key"] = json!(format!("d{}", self.rng.gen_range(0..6)));
        }
        let kind = self.pick(&["PICKED_UP", "ARRIVED_HUB", "DELIVERED"]);
        let value = self.flat(Topic::Tracking, kind, fields);
        self.push(Topic::Tracking, value);
    }

    fn bad_record(&mut self) {
        let topic = *[
            Topic::Orders,
            Topic::Notifications,
            Topic::CasosCreados,
            Topic::Tracking,
        ]
        .choose(&mut self.rng)
        .unwrap();
        let bytes: Vec<u8> = match self.rng.gen_range(0..7) {
            0 => b"{\"event_id\": \"x".to_vec(),
            1 => b"[1,2,3]".to_vec(),
            2 => br#"{"event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:00:00Z","order_id":"o1"}"#.to_vec(),
            3 => br#"{"event_id":"b1","event_type":"ORDER_CREATED","timestamp":"2024-01-15T10:00:00Z","order_id":"o1","customer_id":"c","items":[],"total":-1}"#.to_vec(),
            4 => br#"{"event_id":"b2","event_type":"ORDER_SHIPPED","timestamp":"2024-01-15T10:00:00Z","order_id":"o1"}"#.to_vec(),
            5 => br#"{"event_id":"b3","event_type":"ORDER_CONFIRMED","schema_version":"2.0","timestamp":"2024-01-15T10:00:00Z","order_id":"o1"}"#.to_vec(),
            _ => br#"{"evento_id":"b4","evento_tipo":"casos.cerrados","evento_version":"1.0","timestamp":"2024-01-15T10:00:00Z","origen":"x","datos":{}}"#.to_vec(),
        };
        self.records.push((topic, bytes));
    }
}

fn merge(target: &mut Value, fields: Value) {
    if let (Some(target), Value::Object(fields)) = (target.as_object_mut(), fields) {
        target.extend(fields);
    }
}

/// A random stream of about `events` records for `seed`, in shuffled arrival order, with
/// positions numbered per topic in arrival order.
pub(crate) fn random_stream(seed: u64, events: usize) -> Vec<SourceRecord> {
    stream(seed, events, false)
}

/// [`random_stream`] with amounts, quantities, stock levels and hours at and just over the
/// limits Pulso accepts, so sums and levels go far beyond 64 bits.
pub(crate) fn random_stream_at_limits(seed: u64, events: usize) -> Vec<SourceRecord> {
    stream(seed, events, true)
}

fn stream(seed: u64, events: usize, at_limits: bool) -> Vec<SourceRecord> {
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(seed),
        at_limits,
        next_id: 0,
        records: Vec::new(),
        ids: Vec::new(),
        sends: std::collections::HashMap::new(),
    };
    for _ in 0..events {
        match b.rng.gen_range(0..22) {
            0..=3 => b.order_event(),
            4..=7 => b.inventory_event(),
            8..=11 => b.notification_event(),
            12..=16 => b.case_event(),
            17 | 19 => b.tracking_event(),
            20 => b.dlq_record(),
            18 => b.bad_record(),
            _ => {
                // An exact duplicate of an earlier record.
                if let Some(record) = b.records.choose(&mut b.rng).cloned() {
                    b.records.push(record);
                }
            }
        }
    }
    b.records.shuffle(&mut b.rng);
    let mut numbering = Numbering::default();
    b.records
        .into_iter()
        .map(|(topic, value)| numbering.record(topic, value))
        .collect()
}

/// Splits `records` into epochs at random boundaries chosen by `seed`.
pub(crate) fn random_epochs(records: &[SourceRecord], seed: u64) -> Vec<Vec<SourceRecord>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut epochs = vec![Vec::new()];
    for record in records {
        if rng.gen_bool(0.15) {
            epochs.push(Vec::new());
        }
        epochs.last_mut().unwrap().push(record.clone());
    }
    epochs
}
