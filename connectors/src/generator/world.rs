//! The simulated world behind the streams: tenants, their skus and prices, Conecta360
//! departments with their SLA, and the id counters of every entity kind.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Envelope A tenants; `None` omits `tenant_id` (the engine's `"default"`).
pub(crate) const TENANTS: [Option<&str>; 4] = [Some("acme"), Some("globex"), Some("initech"), None];

/// A stock keeping unit of one tenant.
pub(crate) struct Sku {
    pub(crate) tenant: usize,
    pub(crate) id: String,
    pub(crate) price_cents: i64,
}

/// A Conecta360 department.
pub(crate) struct Dependencia {
    pub(crate) id: i64,
    pub(crate) codigo: &'static str,
    pub(crate) nombre: &'static str,
    pub(crate) sla_hours: i64,
}

/// Mutable state shared by the scenario builders.
pub(crate) struct World {
    pub(crate) skus: Vec<Sku>,
    /// Indexes into `skus` per tenant.
    pub(crate) skus_by_tenant: Vec<Vec<usize>>,
    pub(crate) deps: Vec<Dependencia>,
    pub(crate) next_order: u64,
    pub(crate) next_notification: u64,
    pub(crate) next_entity: u64,
    pub(crate) next_caso: i64,
    pub(crate) next_ciudadano: i64,
    pub(crate) next_notificacion: i64,
    pub(crate) next_sla: i64,
    pub(crate) next_orphan: u64,
    /// The most recent case ids (for notifications that name a case).
    pub(crate) recent_casos: Vec<i64>,
}

impl World {
    /// A world with `n_skus` skus spread over the tenants.
    pub(crate) fn new(rng: &mut ChaCha8Rng, n_skus: usize) -> World {
        let mut skus = Vec::with_capacity(n_skus);
        let mut skus_by_tenant = vec![Vec::new(); TENANTS.len()];
        for i in 0..n_skus {
            let tenant = i % TENANTS.len();
            let price_cents = match rng.gen_range(0..10) {
                0..=4 => rng.gen_range(199..4_999),
                5..=8 => rng.gen_range(5_000..29_999),
                _ => rng.gen_range(30_000..149_999),
            };
            skus_by_tenant[tenant].push(skus.len());
            skus.push(Sku {
                tenant,
                id: format!("SKU-{:05}", 1_000 + i),
                price_cents,
            });
        }
        World {
            skus,
            skus_by_tenant,
            deps: departments(),
            next_order: 100_000,
            next_notification: 1_000_000,
            next_entity: 1,
            next_caso: 10_000,
            next_ciudadano: 5_000,
            next_notificacion: 7_000,
            next_sla: 500,
            next_orphan: 1,
            recent_casos: Vec::new(),
        }
    }

    /// Remembers a new case id (keeps the last 64).
    pub(crate) fn remember_caso(&mut self, caso_id: i64) {
        if self.recent_casos.len() >= 64 {
            self.recent_casos.remove(0);
        }
        self.recent_casos.push(caso_id);
    }
}

fn departments() -> Vec<Dependencia> {
    let table: [(&str, &str, i64); 7] = [
        ("MIN-OBRAS", "Ministerio de Obras Públicas", 168),
        ("MIN-SALUD", "Ministerio de Salud", 72),
        ("MUN-ASEO", "Servicio Municipal de Aseo", 48),
        ("MIN-SEGURIDAD", "Ministerio de Seguridad Pública", 24),
        ("MIN-AMBIENTE", "Ministerio de Ambiente", 120),
        ("MUN-TRANSITO", "Dirección Municipal de Tránsito", 96),
        ("MIN-EDUCACION", "Ministerio de Educación", 240),
    ];
    table
        .iter()
        .enumerate()
        .map(|(i, (codigo, nombre, sla_hours))| Dependencia {
            id: i as i64 + 1,
            codigo,
            nombre,
            sla_hours: *sla_hours,
        })
        .collect()
}
