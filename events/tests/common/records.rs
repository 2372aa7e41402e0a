//! Generator-like valid records of every topic and event type (the shapes of
//! `pulso_connectors`' generator, which the events crate cannot depend on), shared by the
//! fast-path equivalence test and the `decode_throughput` example.

#![allow(dead_code)]

use pulso_events::Topic;
use serde_json::{json, Value};

/// A small deterministic generator (SplitMix64).
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }

    /// One of `items`.
    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.between(0, items.len() as i64) as usize]
    }

    /// A UUID-shaped id.
    pub(crate) fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

/// A JSON number kept verbatim (serde_json has `arbitrary_precision`).
pub(crate) fn num(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Money with two decimals from cents.
pub(crate) fn money(cents: i64) -> Value {
    num(&format!("{}.{:02}", cents / 100, cents % 100))
}

/// A timestamp in one of the generator's styles.
fn ts(rng: &mut Rng) -> String {
    let (h, m, s, ms) = (
        rng.between(0, 24),
        rng.between(0, 60),
        rng.between(0, 60),
        rng.between(0, 1000),
    );
    match rng.between(0, 10) {
        0 => format!("2024-01-15T{:02}:{m:02}:{s:02}-05:00", (h + 19) % 24),
        1 | 2 => format!("2024-01-15T{h:02}:{m:02}:{s:02}Z"),
        _ => format!("2024-01-15T{h:02}:{m:02}:{s:02}.{ms:03}Z"),
    }
}

/// An envelope A record: `fields` plus the envelope.
fn env_a(event_type: &str, fields: Value, rng: &mut Rng) -> Value {
    let mut v = fields;
    v["event_id"] = json!(rng.uuid());
    v["event_type"] = json!(event_type);
    v["timestamp"] = json!(ts(rng));
    match rng.between(0, 4) {
        0 => v["tenant_id"] = json!("acme"),
        1 => v["tenant_id"] = json!("globex"),
        2 => v["tenant_id"] = json!("default"),
        _ => {}
    }
    match rng.between(0, 20) {
        0..=14 => {}
        15..=18 => v["schema_version"] = json!("1.0"),
        _ => v["schema_version"] = json!("1.2"),
    }
    v
}

/// An envelope B record of `topic` with `datos`.
fn env_b(rng: &mut Rng, topic: Topic, origen: &str, datos: Value) -> Value {
    let mut v = json!({
        "evento_id": format!("evt_{}", rng.uuid().replace('-', "")),
        "evento_tipo": topic.name(),
        "evento_version": "1.0",
        "timestamp": format!("2024-01-15T10:{:02}:00Z", rng.between(0, 60)),
        "origen": origen,
        "datos": datos,
    });
    if rng.chance(0.8) {
        let mut metadata = json!({ "request_id": format!("req_{:x}", rng.next() as u32) });
        if rng.chance(0.6) {
            metadata["usuario_id"] = json!(rng.between(900, 1100));
        }
        v["metadata"] = metadata;
    }
    v
}

const CHANNELS: &[&str] = &["EMAIL", "SMS", "PUSH", "WHATSAPP"];

/// One generator-like record of `topic` (a random event type of it).
pub(crate) fn record(rng: &mut Rng, topic: Topic) -> Value {
    let numero = |id: i64| format!("CRV-2024-{id:08}");
    match topic {
        Topic::Orders => match rng.between(0, 3) {
            0 => {
                let items: Vec<Value> = (0..rng.between(1, 4))
                    .map(|i| {
                        json!({"sku": format!("SKU-{i:03}"), "quantity": rng.between(1, 5),
                               "unit_price": money(rng.between(100, 50_000))})
                    })
                    .collect();
                let mut f = json!({"order_id": rng.uuid(), "customer_id": format!("cust-{}", rng.between(1, 999)),
                                   "items": items, "total": money(rng.between(100, 200_000))});
                if rng.chance(0.7) {
                    f["currency"] = json!(rng.pick(&["USD", "EUR"]));
                }
                env_a("ORDER_CREATED", f, rng)
            }
            1 => env_a("ORDER_CONFIRMED", json!({"order_id": rng.uuid()}), rng),
            _ => env_a(
                "ORDER_CANCELLED",
                json!({"order_id": rng.uuid(), "reason": "PAYMENT_FAILED"}),
                rng,
            ),
        },
        Topic::Inventory => match rng.between(0, 5) {
            0 => env_a(
                "STOCK_SET",
                json!({"sku": "SKU-001", "on_hand": rng.between(0, 500)}),
                rng,
            ),
            1 => env_a(
                "STOCK_ADJUSTED",
                json!({"sku": "SKU-002", "delta": rng.between(-20, 20)}),
                rng,
            ),
            2 => env_a(
                "INVENTORY_RESERVED",
                json!({"order_id": rng.uuid(), "items": [{"sku": "SKU-001", "quantity": 2}, {"sku": "SKU-007", "quantity": 1}]}),
                rng,
            ),
            3 => env_a("INVENTORY_RELEASED", json!({"order_id": rng.uuid()}), rng),
            _ => env_a(
                "INSUFFICIENT_STOCK",
                json!({"order_id": rng.uuid(), "sku": "SKU-003", "available": 1, "requested": 4}),
                rng,
            ),
        },
        Topic::Notifications => {
            let id = rng.uuid();
            match rng.between(0, 7) {
                0 | 1 => {
                    let channel = rng.pick(CHANNELS);
                    let mut f = json!({"notification_id": id, "channel": channel, "provider": "SendGrid",
                                       "category": rng.pick(&["TRANSACTIONAL", "MARKETING"])});
                    if rng.chance(0.5) {
                        f["preferred_channel"] = json!(rng.pick(CHANNELS));
                    }
                    if rng.chance(0.7) {
                        f["cost"] = money(rng.between(0, 6));
                    }
                    if rng.chance(0.5) {
                        f["template"] = json!("order_confirmation");
                    }
                    if rng.chance(0.4) {
                        f["order_id"] = json!(rng.uuid());
                    } else if rng.chance(0.3) {
                        f["caso_id"] = json!(rng.between(1, 5000));
                    }
                    env_a("NOTIFICATION_SENT", f, rng)
                }
                2 => {
                    let mut f = json!({"notification_id": id});
                    if rng.chance(0.6) {
                        f["last_error"] = json!("SMTP 550: mailbox unavailable");
                    }
                    if rng.chance(0.6) {
                        f["retry_count"] = json!(rng.between(1, 6));
                    }
                    env_a("NOTIFICATION_FAILED", f, rng)
                }
                3 => {
                    let mut f =
                        json!({"notification_id": id, "bounce_type": rng.pick(&["HARD", "SOFT"])});
                    if rng.chance(0.7) {
                        f["reason"] = json!("Mailbox full");
                    }
                    env_a("NOTIFICATION_BOUNCED", f, rng)
                }
                _ => {
                    let t = rng.pick(&[
                        "NOTIFICATION_DELIVERED",
                        "NOTIFICATION_OPENED",
                        "NOTIFICATION_CLICKED",
                        "NOTIFICATION_CONVERTED",
                    ]);
                    env_a(t, json!({"notification_id": id}), rng)
                }
            }
        }
        Topic::NotificationsDlq => {
            let channel = rng.pick(CHANNELS);
            let mut original = json!({"channel": channel, "recipient": "user@example.com"});
            if rng.chance(0.8) {
                original["notification_id"] = json!(rng.uuid());
            }
            if rng.chance(0.5) {
                original["template"] = json!("welcome");
            }
            if rng.chance(0.6) {
                original["tenant_id"] = json!(rng.pick(&["acme", "globex"]));
            }
            json!({
                "original_notification": original,
                "failure_timestamp": format!("2024-01-15T10:30:{:02}.{:03}Z", rng.between(0, 60), rng.between(0, 1000)),
                "retry_count": rng.between(1, 6),
                "reason": rng.pick(&["MAX_RETRIES_EXCEEDED", "PROVIDER_UNAVAILABLE", "INVALID_RECIPIENT"]),
                "last_error": "Connection timed out",
            })
        }
        Topic::Tracking => {
            let entity_id = format!("PKG-{}", rng.between(1, 99_999));
            let mut f = json!({"entity_id": entity_id, "entity_type": "PACKAGE"});
            if rng.chance(0.6) {
                f["location"] = json!(format!("BOG-HUB-0{}", rng.between(1, 4)));
            }
            if rng.chance(0.85) {
                f["source"] = json!(rng.pick(&["scanner", "driver-app", "partner-api"]));
            }
            if rng.chance(0.6) {
                f["attributes"] = match rng.between(0, 3) {
                    0 => {
                        json!({"weight_kg": money(rng.between(10, 3000)), "service": "EXPRESS", "signature_required": rng.chance(0.3)})
                    }
                    1 => {
                        json!({"flight": format!("AV{:04}", rng.between(1, 9999)), "priority": rng.chance(0.2)})
                    }
                    _ => json!({"gate": "B12", "delay_minutes": rng.between(0, 90)}),
                };
            }
            let step = rng.pick(&[
                "PICKED_UP",
                "ARRIVED_HUB",
                "DEPARTED_HUB",
                "OUT_FOR_DELIVERY",
                "DELIVERED",
            ]);
            if rng.chance(0.5) {
                f["dedup_key"] = json!(format!("{entity_id}:{step}:1"));
            }
            env_a(step, f, rng)
        }
        Topic::CasosCreados => {
            let id = rng.between(1, 99_999);
            let mut d = json!({"caso_id": id, "numero_caso": numero(id), "ciudadano_id": rng.between(1000, 9999),
                "categoria_id": rng.between(1, 21), "dependencia_id": rng.between(1, 9), "canal_atencion_id": 2,
                "titulo": "Bache en calle principal", "estado": "PENDIENTE", "fecha_creacion": "2024-01-15T10:30:00Z"});
            if rng.chance(0.85) {
                d["prioridad"] = json!(rng.pick(&["BAJA", "MEDIA", "ALTA", "URGENTE"]));
            }
            if rng.chance(0.5) {
                d["ubicacion"] = json!({"lat": num("-12.046374"), "lng": num("-77.042793"),
                                        "direccion": "Calle Principal, Barrio Los Rosales"});
            }
            env_b(rng, topic, "microservicio-casos", d)
        }
        Topic::CasosAsignados => {
            let id = rng.between(1, 99_999);
            let d = json!({"caso_id": id, "numero_caso": numero(id), "dependencia_id": 3,
                "dependencia_nombre": "Ministerio de Obras Públicas", "usuario_asignado_id": 987,
                "fecha_asignacion": "2024-01-15T10:35:00Z", "motivo_asignacion": "Derivación automática por categoría",
                "estado_anterior": "PENDIENTE", "estado_nuevo": "ASIGNADO"});
            env_b(rng, topic, "microservicio-derivacion", d)
        }
        Topic::CasosActualizados => {
            let id = rng.between(1, 99_999);
            let mut cambios = vec![
                json!({"campo": "estado", "valor_anterior": "ASIGNADO", "valor_nuevo": "EN_PROCESO"}),
            ];
            if rng.chance(0.3) {
                cambios.push(json!({"campo": "prioridad", "valor_nuevo": "ALTA"}));
            }
            let mut d = json!({"caso_id": id, "numero_caso": numero(id),
                "fecha_actualizacion": "2024-01-16T08:00:00Z", "comentario": "Actualización de seguimiento"});
            if rng.chance(0.9) {
                d["cambios"] = json!(cambios);
            }
            env_b(rng, topic, "microservicio-casos", d)
        }
        Topic::CasosCerrados => {
            let id = rng.between(1, 99_999);
            let mut d = json!({"caso_id": id, "numero_caso": numero(id),
                "motivo_cierre": rng.pick(&["RESUELTO", "CANCELADO", "DUPLICADO", "INVALIDO"]),
                "estado_final": "CERRADO", "fecha_cierre": "2024-01-18T16:00:00Z", "comentario_cierre": "Caso atendido"});
            if rng.chance(0.8) {
                d["fecha_resolucion"] = json!("2024-01-18T15:30:00Z");
            }
            if rng.chance(0.85) {
                d["tiempo_total_horas"] =
                    num(&format!("{}.{}", rng.between(1, 300), rng.between(0, 10)));
            }
            if rng.chance(0.65) {
                d["satisfaccion_ciudadano"] = json!(rng.between(1, 6));
            }
            env_b(rng, topic, "microservicio-casos", d)
        }
        Topic::NotificacionesEnviadas => {
            let id = rng.between(1, 99_999);
            let canal = rng.pick(CHANNELS);
            let mut d = json!({"notificacion_id": rng.between(1, 999_999), "caso_id": id, "numero_caso": numero(id),
                "tipo": rng.pick(&["CREACION", "ASIGNACION", "ACTUALIZACION", "CIERRE"]), "canal": canal,
                "destinatario": "ciudadano@example.com",
                "estado": if rng.chance(0.93) { "ENVIADO" } else { "FALLIDO" },
                "fecha_envio": "2024-01-15T10:31:00Z"});
            if rng.chance(0.88) {
                d["proveedor"] = json!("Twilio");
            }
            if rng.chance(0.75) {
                d["costo_estimado"] = money(rng.between(0, 6));
            }
            env_b(rng, topic, "microservicio-notificaciones", d)
        }
        Topic::SlaViolados => {
            let id = rng.between(1, 99_999);
            let mut d = json!({"sla_id": rng.between(1, 9999), "caso_id": id, "numero_caso": numero(id),
                "configuracion_sla_id": 30, "tiempo_resolucion_horas": 72,
                "tiempo_transcurrido_horas": money(rng.between(7200, 9000)),
                "fecha_vencimiento": "2024-01-18T10:30:00Z", "fecha_violacion": "2024-01-18T11:00:00Z",
                "dependencia_id": 3, "accion_requerida": "Escalar a supervisor"});
            if rng.chance(0.85) {
                d["prioridad"] = json!("ALTA");
            }
            env_b(rng, topic, "microservicio-sla", d)
        }
        Topic::SlaCumplidos => {
            let id = rng.between(1, 99_999);
            let d = json!({"sla_id": rng.between(1, 9999), "caso_id": id, "numero_caso": numero(id),
                "configuracion_sla_id": 30, "tiempo_resolucion_horas": 72,
                "tiempo_real_horas": money(rng.between(100, 7200)), "fecha_resolucion": "2024-01-17T10:30:00Z",
                "cumplimiento_porcentaje": money(rng.between(10_000, 90_000))});
            env_b(rng, topic, "microservicio-sla", d)
        }
        Topic::CiudadanosRegistrados => {
            let id = rng.between(1000, 9999);
            let mut d = json!({"ciudadano_id": id, "documento_identidad": format!("{}", rng.between(100_000_000, 999_999_999)),
                "fecha_registro": "2024-01-15T09:00:00Z"});
            if rng.chance(0.8) {
                d["email"] = json!(format!("ciudadano{id}@example.com"));
            }
            if rng.chance(0.9) {
                d["canal_registro"] =
                    json!(rng.pick(&["WEB", "MOVIL", "CALL_CENTER", "VENTANILLA"]));
            }
            env_b(rng, topic, "microservicio-ciudadanos", d)
        }
        Topic::DependenciasConfiguradas => {
            let valor = if rng.chance(0.6) {
                json!(rng.between(24, 200))
            } else {
                json!(rng.between(24, 200).to_string())
            };
            let mut cambios = vec![json!({"campo": "configuracion.sla_tiempo_resolucion_horas",
                                          "valor_anterior": 72, "valor_nuevo": valor})];
            match rng.between(0, 3) {
                0 => cambios.insert(0, json!({"campo": "nombre", "valor_anterior": "", "valor_nuevo": "Obras Públicas"})),
                1 => cambios = vec![json!({"campo": "configuracion.horario_atencion",
                                           "valor_anterior": "08:00-16:00", "valor_nuevo": "08:00-17:00"})],
                _ => {}
            }
            let d = json!({"dependencia_id": rng.between(1, 9), "codigo": "DEP-OBRAS",
                           "cambios": cambios, "fecha_actualizacion": "2024-01-15T08:00:00Z"});
            env_b(rng, topic, "microservicio-dependencias", d)
        }
    }
}

/// `n` generator-like records of every topic, as (topic, compact JSON bytes).
pub(crate) fn generator_like(n: usize, seed: u64) -> Vec<(Topic, Vec<u8>)> {
    let mut rng = Rng::new(seed);
    Topic::ALL
        .iter()
        .flat_map(|&topic| (0..n).map(move |_| topic))
        .map(|topic| (topic, record(&mut rng, topic).to_string().into_bytes()))
        .collect()
}
