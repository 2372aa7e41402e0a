//! Conecta360 citizen cases (seed 004, envelope B): citizens, cases and their assignment,
//! updates and closing, SLA outcomes, case notifications, and department configuration.

use pulso_events::Topic;
use serde_json::{json, Value};

use super::engine::Generator;
use super::format::{self, money, number, tenths, HOUR, MIN, SEC};

const PRIORIDADES: [&str; 4] = ["BAJA", "MEDIA", "ALTA", "URGENTE"];
const TITULOS: [&str; 6] = [
    "Bache en calle principal",
    "Luminaria apagada",
    "Recolección de basura pendiente",
    "Fuga de agua en vía pública",
    "Semáforo averiado",
    "Ruido excesivo nocturno",
];
const CANALES: [&str; 4] = ["EMAIL", "SMS", "WHATSAPP", "PUSH"];

/// What a case needs to know for its follow-up events.
struct Caso {
    caso_id: i64,
    numero_caso: String,
    dependencia_id: i64,
    prioridad: Option<&'static str>,
}

/// A department SLA in a steady stream: a twelfth (at least an hour).
pub(crate) fn steady_sla(hours: i64) -> i64 {
    (hours / 12).max(1)
}

impl Generator {
    /// An SLA of the department tables as this stream uses it (a twelfth with
    /// [`super::GeneratorConfig::steady_cases`]).
    pub(crate) fn sla_hours(&self, hours: i64) -> i64 {
        if self.steady_cases {
            steady_sla(hours)
        } else {
            hours
        }
    }

    /// Every department's SLA configuration at the start of the stream.
    pub(crate) fn bootstrap_dependencias(&mut self, t0: i64) {
        for i in 0..self.world.deps.len() {
            let sla = self.world.deps[i].sla_hours;
            self.configure(t0 + i as i64 * SEC, i, 168, sla, true);
        }
    }

    /// A department configuration change; `sla` forces an SLA change.
    pub(crate) fn dependencia_change(&mut self, t0: i64, sla: bool) {
        let i = self.between(0, self.world.deps.len() as i64) as usize;
        let old = self.world.deps[i].sla_hours;
        if sla || self.chance(0.6) {
            let picked = self.pick(&[24, 48, 72, 96, 120, 168, 240]);
            let new = self.sla_hours(picked);
            if self.configure(t0, i, old, new, false) {
                self.world.deps[i].sla_hours = new;
            }
        } else {
            let dep = &self.world.deps[i];
            let (id, codigo) = (dep.id, dep.codigo);
            let datos = json!({
                "dependencia_id": id,
                "codigo": codigo,
                "cambios": [{
                    "campo": "configuracion.horario_atencion",
                    "valor_anterior": "08:00-16:00",
                    "valor_nuevo": "08:00-17:00",
                }],
                "fecha_actualizacion": format::ts_secs(t0),
            });
            let event = self.env_b(
                Topic::DependenciasConfiguradas,
                t0,
                "microservicio-dependencias",
                datos,
            );
            self.emit(Topic::DependenciasConfiguradas, t0, event);
        }
    }

    /// Emits an SLA configuration of department `i`; the new value is a JSON number or, as
    /// some producers send it, a string.
    fn configure(&mut self, t0: i64, i: usize, old: i64, new: i64, with_name: bool) -> bool {
        let dep = &self.world.deps[i];
        let (id, codigo, nombre) = (dep.id, dep.codigo, dep.nombre);
        let valor_nuevo = if self.chance(0.6) {
            json!(new)
        } else {
            json!(new.to_string())
        };
        let mut cambios = vec![json!({
            "campo": "configuracion.sla_tiempo_resolucion_horas",
            "valor_anterior": old,
            "valor_nuevo": valor_nuevo,
        })];
        if with_name {
            cambios.insert(
                0,
                json!({ "campo": "nombre", "valor_anterior": "", "valor_nuevo": nombre }),
            );
        }
        let datos = json!({
            "dependencia_id": id,
            "codigo": codigo,
            "cambios": cambios,
            "fecha_actualizacion": format::ts_secs(t0),
        });
        let event = self.env_b(
            Topic::DependenciasConfiguradas,
            t0,
            "microservicio-dependencias",
            datos,
        );
        self.emit(Topic::DependenciasConfiguradas, t0, event)
    }

    /// One case's life: (citizen registration,) creation, assignment, updates, closing, SLA
    /// outcome and notifications; some cases stay open, some are never closed.
    pub(crate) fn caso(&mut self, t0: i64) {
        let t0 = t0 / SEC * SEC;
        let ciudadano_id = if self.chance(0.35) {
            self.world.next_ciudadano += 1;
            let id = self.world.next_ciudadano;
            let mut datos = json!({
                "ciudadano_id": id,
                "documento_identidad": format!("{}", self.between(100_000_000, 999_999_999)),
                "fecha_registro": format::ts_secs(t0),
            });
            if self.chance(0.8) {
                datos["email"] = json!(format!("ciudadano{id}@example.com"));
            }
            if self.chance(0.9) {
                datos["canal_registro"] =
                    json!(self.pick(&["WEB", "MOVIL", "CALL_CENTER", "VENTANILLA"]));
            }
            let event = self.env_b(
                Topic::CiudadanosRegistrados,
                t0,
                "microservicio-ciudadanos",
                datos,
            );
            if !self.emit(Topic::CiudadanosRegistrados, t0, event) {
                return;
            }
            id
        } else {
            self.between(1_000, self.world.next_ciudadano.max(1_001))
        };

        let tc = t0 + self.between(2, 60) * MIN;
        self.world.next_caso += 1;
        let caso_id = self.world.next_caso;
        let dep_index = self.between(0, self.world.deps.len() as i64) as usize;
        let caso = Caso {
            caso_id,
            numero_caso: format!("CRV-{}-{:08}", format::year(tc), caso_id),
            dependencia_id: self.world.deps[dep_index].id,
            prioridad: if self.chance(0.85) {
                Some(PRIORIDADES[self.weighted(&[25, 40, 25, 10])])
            } else {
                None
            },
        };
        let sla_hours = self.world.deps[dep_index].sla_hours;
        let mut datos = json!({
            "caso_id": caso.caso_id,
            "numero_caso": caso.numero_caso,
            "ciudadano_id": ciudadano_id,
            "categoria_id": self.between(1, 21),
            "dependencia_id": caso.dependencia_id,
            "canal_atencion_id": self.between(1, 5),
            "titulo": self.pick(&TITULOS),
            "estado": "PENDIENTE",
            "fecha_creacion": format::ts_secs(tc),
        });
        if let Some(prioridad) = caso.prioridad {
            datos["prioridad"] = json!(prioridad);
        }
        if self.chance(0.5) {
            datos["ubicacion"] = json!({
                "lat": number(&format!("-12.{:06}", self.between(0, 999_999))),
                "lng": number(&format!("-77.{:06}", self.between(0, 999_999))),
                "direccion": "Calle Principal, Barrio Los Rosales",
            });
        }
        let event = self.env_b(Topic::CasosCreados, tc, "microservicio-casos", datos);
        if !self.emit(Topic::CasosCreados, tc, event) {
            return;
        }
        self.world.remember_caso(caso_id);
        if self.chance(0.7) {
            let at = tc + self.between(10, 120) * SEC;
            self.caso_notification(at, &caso, "CREACION");
        }

        // Assignment.
        let mut t = tc;
        let mut dependencia_id = caso.dependencia_id;
        if self.chance(0.92) {
            t += self.between(5 * MIN, 6 * HOUR) / SEC * SEC;
            if self.chance(0.1) {
                dependencia_id = self.between(1, self.world.deps.len() as i64 + 1);
            }
            let dep = &self.world.deps[(dependencia_id - 1) as usize];
            let nombre = dep.nombre;
            let datos = json!({
                "caso_id": caso_id,
                "numero_caso": caso.numero_caso,
                "dependencia_id": dependencia_id,
                "dependencia_nombre": nombre,
                "usuario_asignado_id": self.between(900, 1_100),
                "fecha_asignacion": format::ts_secs(t),
                "motivo_asignacion": "Derivación automática por categoría",
                "estado_anterior": "PENDIENTE",
                "estado_nuevo": "ASIGNADO",
            });
            let event = self.env_b(Topic::CasosAsignados, t, "microservicio-derivacion", datos);
            if !self.emit(Topic::CasosAsignados, t, event) {
                return;
            }
            if self.chance(0.6) {
                let at = t + self.between(10, 60) * SEC;
                self.caso_notification(at, &caso, "ASIGNACION");
            }
        }

        // Updates.
        let mut estado = "ASIGNADO";
        let mut prioridad = caso.prioridad;
        for _ in 0..self.weighted(&[25, 55, 15, 5]) {
            t += self.between(HOUR, 30 * HOUR) / SEC * SEC;
            let mut cambios = Vec::new();
            let nuevo = if estado == "EN_PROCESO" && self.chance(0.4) {
                "EN_ESPERA"
            } else {
                "EN_PROCESO"
            };
            if nuevo != estado && self.chance(0.9) {
                cambios.push(
                    json!({ "campo": "estado", "valor_anterior": estado, "valor_nuevo": nuevo }),
                );
                estado = nuevo;
            }
            if self.chance(0.2) {
                let nueva = self.pick(&PRIORIDADES);
                let mut cambio = json!({ "campo": "prioridad", "valor_nuevo": nueva });
                if let Some(anterior) = prioridad {
                    cambio["valor_anterior"] = json!(anterior);
                }
                cambios.push(cambio);
                prioridad = Some(nueva);
            }
            let mut datos = json!({
                "caso_id": caso_id,
                "numero_caso": caso.numero_caso,
                "fecha_actualizacion": format::ts_secs(t),
                "comentario": "Actualización de seguimiento",
            });
            if !cambios.is_empty() || self.chance(0.5) {
                datos["cambios"] = Value::Array(cambios);
            }
            let event = self.env_b(Topic::CasosActualizados, t, "microservicio-casos", datos);
            if !self.emit(Topic::CasosActualizados, t, event) {
                return;
            }
            if self.chance(0.3) {
                let at = t + self.between(10, 60) * SEC;
                self.caso_notification(at, &caso, "ACTUALIZACION");
            }
        }

        // Closing (or not) and the SLA outcome.
        let due = tc + sla_hours * HOUR;
        let tracked = self.chance(0.85);
        let closing = if self.chance(0.8) {
            let tenths_of_hours = if self.chance(0.6) {
                self.between(20, sla_hours * 9)
            } else {
                self.between(sla_hours * 5, sla_hours * 20)
            };
            Some(tenths_of_hours / 5 * 5) // whole or half hours
        } else if self.steady_cases {
            Some(self.between(sla_hours * 10, sla_hours * 20) / 5 * 5)
        } else {
            None
        };
        let closed_at = closing.map(|h| (tc + h * HOUR / 10).max(t + MIN));
        if tracked {
            match closed_at {
                Some(at) if at <= due => self.sla_cumplido(at, &caso, sla_hours, at - tc),
                _ => {
                    let at = due + self.between(SEC, 5 * MIN);
                    self.sla_violado(at, &caso, sla_hours, due);
                }
            }
        }
        if let Some(at) = closed_at {
            let motivo =
                ["RESUELTO", "CANCELADO", "DUPLICADO", "INVALIDO"][self.weighted(&[80, 8, 7, 5])];
            let mut datos = json!({
                "caso_id": caso_id,
                "numero_caso": caso.numero_caso,
                "motivo_cierre": motivo,
                "estado_final": "CERRADO",
                "fecha_cierre": format::ts_secs(at),
                "comentario_cierre": "Caso atendido",
            });
            if self.chance(0.8) {
                datos["fecha_resolucion"] = json!(format::ts_secs(at - self.between(0, 60) * MIN));
            }
            if self.chance(0.85) {
                datos["tiempo_total_horas"] = tenths((at - tc) / (HOUR / 10) / 5 * 5);
            }
            if self.chance(0.65) {
                datos["satisfaccion_ciudadano"] = json!(1 + self.weighted(&[5, 8, 17, 35, 35]));
            }
            let event = self.env_b(Topic::CasosCerrados, at, "microservicio-casos", datos);
            if self.emit(Topic::CasosCerrados, at, event) && self.chance(0.7) {
                let at = at + self.between(10, 60) * SEC;
                self.caso_notification(at, &caso, "CIERRE");
            }
        }
    }

    fn sla_cumplido(&mut self, at: i64, caso: &Caso, sla_hours: i64, elapsed: i64) {
        self.world.next_sla += 1;
        let real_hundredths = (elapsed / (HOUR / 100)).max(1);
        let cumplimiento = sla_hours * 100 * 10_000 / real_hundredths; // percent, in hundredths
        let datos = json!({
            "sla_id": self.world.next_sla,
            "caso_id": caso.caso_id,
            "numero_caso": caso.numero_caso,
            "configuracion_sla_id": caso.dependencia_id * 10,
            "tiempo_resolucion_horas": sla_hours,
            "tiempo_real_horas": money(real_hundredths),
            "fecha_resolucion": format::ts_secs(at),
            "cumplimiento_porcentaje": money(cumplimiento),
        });
        let event = self.env_b(Topic::SlaCumplidos, at, "microservicio-sla", datos);
        self.emit(Topic::SlaCumplidos, at, event);
    }

    fn sla_violado(&mut self, at: i64, caso: &Caso, sla_hours: i64, due: i64) {
        self.world.next_sla += 1;
        let mut datos = json!({
            "sla_id": self.world.next_sla,
            "caso_id": caso.caso_id,
            "numero_caso": caso.numero_caso,
            "configuracion_sla_id": caso.dependencia_id * 10,
            "tiempo_resolucion_horas": sla_hours,
            "tiempo_transcurrido_horas": money(sla_hours * 100 + (at - due) / (HOUR / 100)),
            "fecha_vencimiento": format::ts_secs(due),
            "fecha_violacion": format::ts_secs(at),
            "dependencia_id": caso.dependencia_id,
            "accion_requerida": "Escalar a supervisor",
        });
        if let Some(prioridad) = caso.prioridad {
            datos["prioridad"] = json!(prioridad);
        }
        let event = self.env_b(Topic::SlaViolados, at, "microservicio-sla", datos);
        self.emit(Topic::SlaViolados, at, event);
    }

    /// A `notificaciones.enviadas` about a case.
    fn caso_notification(&mut self, at: i64, caso: &Caso, tipo: &str) {
        self.world.next_notificacion += 1;
        let canal = CANALES[self.weighted(&[45, 35, 10, 10])];
        let mut datos = json!({
            "notificacion_id": self.world.next_notificacion,
            "caso_id": caso.caso_id,
            "numero_caso": caso.numero_caso,
            "tipo": tipo,
            "canal": canal,
            "destinatario": self.recipient(canal),
            "estado": if self.chance(0.93) { "ENVIADO" } else { "FALLIDO" },
            "fecha_envio": format::ts_secs(at),
        });
        if self.chance(0.88) {
            datos["proveedor"] = json!(self.provider_for(canal));
        }
        if self.chance(0.75) {
            let cents = match canal {
                "SMS" => 5,
                "WHATSAPP" => 4,
                "EMAIL" => self.between(0, 2),
                _ => 0,
            };
            datos["costo_estimado"] = money(cents);
        }
        let event = self.env_b(
            Topic::NotificacionesEnviadas,
            at,
            "microservicio-notificaciones",
            datos,
        );
        self.emit(Topic::NotificacionesEnviadas, at, event);
    }

    /// An update, assignment, closing or SLA event for a case that is never created.
    pub(crate) fn orphan_case_event(&mut self, t0: i64) {
        let t0 = t0 / SEC * SEC;
        self.world.next_orphan += 1;
        let caso = Caso {
            caso_id: 900_000_000 + self.world.next_orphan as i64,
            numero_caso: format!(
                "CRV-{}-{:08}",
                format::year(t0),
                90_000_000 + self.world.next_orphan
            ),
            dependencia_id: 1,
            prioridad: Some("MEDIA"),
        };
        let before = self.stats.valid;
        match self.weighted(&[40, 20, 25, 15]) {
            0 => {
                let datos = json!({
                    "caso_id": caso.caso_id,
                    "numero_caso": caso.numero_caso,
                    "cambios": [{ "campo": "estado", "valor_anterior": "ASIGNADO", "valor_nuevo": "EN_PROCESO" }],
                    "fecha_actualizacion": format::ts_secs(t0),
                });
                let event = self.env_b(Topic::CasosActualizados, t0, "microservicio-casos", datos);
                self.emit(Topic::CasosActualizados, t0, event);
            }
            1 => {
                let datos = json!({
                    "caso_id": caso.caso_id,
                    "numero_caso": caso.numero_caso,
                    "dependencia_id": 1,
                    "fecha_asignacion": format::ts_secs(t0),
                    "estado_nuevo": "ASIGNADO",
                });
                let event =
                    self.env_b(Topic::CasosAsignados, t0, "microservicio-derivacion", datos);
                self.emit(Topic::CasosAsignados, t0, event);
            }
            2 => {
                let datos = json!({
                    "caso_id": caso.caso_id,
                    "numero_caso": caso.numero_caso,
                    "motivo_cierre": "RESUELTO",
                    "estado_final": "CERRADO",
                    "fecha_cierre": format::ts_secs(t0),
                });
                let event = self.env_b(Topic::CasosCerrados, t0, "microservicio-casos", datos);
                self.emit(Topic::CasosCerrados, t0, event);
            }
            _ => self.sla_violado(t0, &caso, 168, t0 - MIN),
        }
        if self.stats.valid > before {
            self.stats.orphans += 1;
        }
    }
}
