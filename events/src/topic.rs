//! The topics Pulso reads, with their Kafka names and envelope kind.

use serde::{Deserialize, Serialize};

/// A topic of EVENTS.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Topic {
    /// `orders.events` (envelope A).
    Orders,
    /// `inventory.events` (envelope A).
    Inventory,
    /// `notifications.events` (envelope A).
    Notifications,
    /// `notifications.dlq`: the notification service's own dead letters.
    NotificationsDlq,
    /// `tracking.events` (envelope A, free-text event types).
    Tracking,
    /// `casos.creados` (envelope B).
    CasosCreados,
    /// `casos.asignados` (envelope B).
    CasosAsignados,
    /// `casos.actualizados` (envelope B).
    CasosActualizados,
    /// `casos.cerrados` (envelope B).
    CasosCerrados,
    /// `notificaciones.enviadas` (envelope B).
    NotificacionesEnviadas,
    /// `sla.violados` (envelope B).
    SlaViolados,
    /// `sla.cumplidos` (envelope B).
    SlaCumplidos,
    /// `ciudadanos.registrados` (envelope B).
    CiudadanosRegistrados,
    /// `dependencias.configuradas` (envelope B).
    DependenciasConfiguradas,
}

impl Topic {
    /// Every topic, in a fixed order.
    pub const ALL: [Topic; 14] = [
        Topic::Orders,
        Topic::Inventory,
        Topic::Notifications,
        Topic::NotificationsDlq,
        Topic::Tracking,
        Topic::CasosCreados,
        Topic::CasosAsignados,
        Topic::CasosActualizados,
        Topic::CasosCerrados,
        Topic::NotificacionesEnviadas,
        Topic::SlaViolados,
        Topic::SlaCumplidos,
        Topic::CiudadanosRegistrados,
        Topic::DependenciasConfiguradas,
    ];

    /// The Kafka topic name.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Orders => "orders.events",
            Topic::Inventory => "inventory.events",
            Topic::Notifications => "notifications.events",
            Topic::NotificationsDlq => "notifications.dlq",
            Topic::Tracking => "tracking.events",
            Topic::CasosCreados => "casos.creados",
            Topic::CasosAsignados => "casos.asignados",
            Topic::CasosActualizados => "casos.actualizados",
            Topic::CasosCerrados => "casos.cerrados",
            Topic::NotificacionesEnviadas => "notificaciones.enviadas",
            Topic::SlaViolados => "sla.violados",
            Topic::SlaCumplidos => "sla.cumplidos",
            Topic::CiudadanosRegistrados => "ciudadanos.registrados",
            Topic::DependenciasConfiguradas => "dependencias.configuradas",
        }
    }

    /// The topic with this Kafka name, if Pulso knows it.
    pub fn from_name(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == name)
    }

    /// True for the Conecta360 topics that use the `EventoBase` envelope (B).
    pub fn is_envelope_b(self) -> bool {
        !matches!(
            self,
            Topic::Orders
                | Topic::Inventory
                | Topic::Notifications
                | Topic::NotificationsDlq
                | Topic::Tracking
        )
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
