//! Decoded, validated events: one typed body per topic and event type of EVENTS.md.
//!
//! Every type here is totally ordered (`Ord`) so that it can flow through differential
//! dataflow; the few fractional quantities are held as exact integers (cents, micro-hours).

use serde::{Deserialize, Serialize};

use crate::money::Cents;
use crate::time::Micros;
use crate::topic::Topic;

/// Hours held exactly as an integer number of micro-hours (`88.5` h is `88_500_000`).
pub type MicroHours = i64;

/// Where a record was read: Kafka partition and offset (line number for JSONL files).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    /// The partition (0 for a JSONL file).
    pub partition: i32,
    /// The offset within the partition (0-based line number for a JSONL file).
    pub offset: i64,
}

/// A decoded, valid event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Event {
    /// Event time (envelope `timestamp`), UTC microseconds.
    pub timestamp: Micros,
    /// The topic it was read from.
    pub topic: Topic,
    /// `event_id` (A), `evento_id` (B), or `<topic>/<partition>/<offset>` for `notifications.dlq`.
    pub event_id: String,
    /// The idempotency key: `dedup_key` where present (tracking), else `event_id`.
    pub dedup_key: String,
    /// `tenant_id` (default `"default"`), `"conecta360"` for envelope B.
    pub tenant_id: String,
    /// The typed payload.
    pub body: Body,
}

/// The typed payload of an event, one variant per topic.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Body {
    /// `orders.events`.
    Order(OrderEvent),
    /// `inventory.events`.
    Inventory(InventoryEvent),
    /// `notifications.events`.
    Notification(NotificationEvent),
    /// `notifications.dlq`.
    NotificationDlq(NotificationDlqRecord),
    /// `tracking.events`.
    Tracking(TrackingEvent),
    /// `casos.*`, `sla.*`, `notificaciones.enviadas`, `ciudadanos.registrados`,
    /// `dependencias.configuradas`.
    Caso(CasoEvent),
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderItem {
    /// Stock keeping unit.
    pub sku: String,
    /// Units, >= 1.
    pub quantity: i64,
    /// Unit price in minor units, >= 0.
    pub unit_price: Cents,
}

/// `orders.events`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OrderEvent {
    /// `ORDER_CREATED`.
    Created {
        /// The order.
        order_id: String,
        /// The buyer.
        customer_id: String,
        /// At least one line.
        items: Vec<OrderItem>,
        /// Order total in minor units.
        total: Cents,
        /// ISO currency code, default `USD`.
        currency: String,
    },
    /// `ORDER_CONFIRMED`.
    Confirmed {
        /// The order.
        order_id: String,
    },
    /// `ORDER_CANCELLED`.
    Cancelled {
        /// The order.
        order_id: String,
        /// Why, e.g. `PAYMENT_FAILED`.
        reason: String,
    },
}

impl OrderEvent {
    /// The order this event is about.
    pub fn order_id(&self) -> &str {
        match self {
            OrderEvent::Created { order_id, .. }
            | OrderEvent::Confirmed { order_id }
            | OrderEvent::Cancelled { order_id, .. } => order_id,
        }
    }
}

/// A reserved quantity of one sku.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reservation {
    /// Stock keeping unit.
    pub sku: String,
    /// Units reserved.
    pub quantity: i64,
}

/// `inventory.events`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InventoryEvent {
    /// `STOCK_SET`: absolute level.
    StockSet {
        /// Stock keeping unit.
        sku: String,
        /// Units on hand, >= 0.
        on_hand: i64,
    },
    /// `STOCK_ADJUSTED`: relative change.
    StockAdjusted {
        /// Stock keeping unit.
        sku: String,
        /// Change in units (may be negative).
        delta: i64,
    },
    /// `INVENTORY_RESERVED`.
    Reserved {
        /// The order reserving.
        order_id: String,
        /// What it reserves.
        items: Vec<Reservation>,
    },
    /// `INVENTORY_RELEASED`: releases everything the order reserved.
    Released {
        /// The order releasing.
        order_id: String,
    },
    /// `INSUFFICIENT_STOCK`.
    InsufficientStock {
        /// The order that could not reserve.
        order_id: String,
        /// Stock keeping unit.
        sku: String,
        /// Units available.
        available: i64,
        /// Units requested.
        requested: i64,
    },
}

/// Delivery channel of a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Channel {
    /// E-mail.
    Email,
    /// SMS.
    Sms,
    /// Mobile push.
    Push,
    /// WhatsApp.
    Whatsapp,
}

impl Channel {
    /// The wire name (`EMAIL`, `SMS`, `PUSH`, `WHATSAPP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "EMAIL",
            Channel::Sms => "SMS",
            Channel::Push => "PUSH",
            Channel::Whatsapp => "WHATSAPP",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Channel> {
        match text {
            "EMAIL" => Some(Channel::Email),
            "SMS" => Some(Channel::Sms),
            "PUSH" => Some(Channel::Push),
            "WHATSAPP" => Some(Channel::Whatsapp),
            _ => None,
        }
    }
}

/// `HARD` or `SOFT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BounceType {
    /// Permanent.
    Hard,
    /// Temporary.
    Soft,
}

impl BounceType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BounceType::Hard => "HARD",
            BounceType::Soft => "SOFT",
        }
    }
}

/// A send of a notification (`NOTIFICATION_SENT`, or Conecta360 `notificaciones.enviadas`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Send {
    /// The notification (`c360-<notificacion_id>` for Conecta360).
    pub notification_id: String,
    /// The channel used.
    pub channel: Channel,
    /// The provider (`unknown` when a Conecta360 send names none).
    pub provider: String,
    /// `TRANSACTIONAL` (default) or `MARKETING`.
    pub category: String,
    /// The channel asked for, when present.
    pub preferred_channel: Option<Channel>,
    /// Cost in minor units, when present.
    pub cost: Option<Cents>,
    /// Related order, when present.
    pub order_id: Option<String>,
    /// Related citizen case, when present.
    pub caso_id: Option<i64>,
    /// Template name, when present.
    pub template: Option<String>,
}

/// What a provider webhook reports about a notification.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// `NOTIFICATION_DELIVERED`.
    Delivered,
    /// `NOTIFICATION_OPENED`.
    Opened,
    /// `NOTIFICATION_CLICKED`.
    Clicked,
    /// `NOTIFICATION_CONVERTED`.
    Converted,
    /// `NOTIFICATION_BOUNCED`.
    Bounced {
        /// Hard or soft.
        bounce_type: BounceType,
        /// Provider's reason, when present.
        reason: Option<String>,
    },
    /// `NOTIFICATION_FAILED` (or a Conecta360 send with `estado: FALLIDO`).
    Failed {
        /// Last error text, when present.
        last_error: Option<String>,
        /// Retries made, when present.
        retry_count: Option<i64>,
    },
}

/// `notifications.events`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NotificationEvent {
    /// `NOTIFICATION_SENT`.
    Sent(Send),
    /// A webhook about an earlier (or later-arriving) send.
    Webhook {
        /// The notification.
        notification_id: String,
        /// What happened.
        outcome: Outcome,
    },
}

/// A record of `notifications.dlq`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NotificationDlqRecord {
    /// `original_notification.notification_id`, when present.
    pub notification_id: Option<String>,
    /// `original_notification.channel`, when it is one of the channel names (anything else,
    /// or nothing, is `None`: the views say `UNKNOWN`; the record is not rejected for it).
    pub channel: Option<Channel>,
    /// `original_notification.provider`, when it is a non-empty string (the views say
    /// `unknown` otherwise).
    pub provider: Option<String>,
    /// Why the notification service gave up.
    pub reason: Option<String>,
    /// Its last error.
    pub last_error: Option<String>,
    /// Retries made.
    pub retry_count: Option<i64>,
}

/// `tracking.events`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrackingEvent {
    /// Free-text event type, 1..64 chars.
    pub event_type: String,
    /// The tracked entity's type (`shipment`, `flight`, `bag`...).
    pub entity_type: String,
    /// The tracked entity.
    pub entity_id: String,
    /// Where, when present.
    pub location: Option<String>,
    /// Reporting system, when present.
    pub source: Option<String>,
}

/// Case priority of Conecta360.
pub type Prioridad = String;

/// One `cambios` entry of `casos.actualizados` / `dependencias.configuradas`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cambio {
    /// The field changed, e.g. `estado`, `prioridad`.
    pub campo: String,
    /// Its new value as text (JSON numbers keep their decimal text), when present.
    pub valor_nuevo: Option<String>,
}

/// Conecta360 events (envelope B).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CasoEvent {
    /// `casos.creados`.
    Creado {
        /// The case.
        caso_id: i64,
        /// `CRV-YYYY-NNNNNNNN`.
        numero_caso: String,
        /// The citizen.
        ciudadano_id: i64,
        /// The category.
        categoria_id: i64,
        /// The department.
        dependencia_id: i64,
        /// `BAJA|MEDIA|ALTA|URGENTE`, when present.
        prioridad: Option<Prioridad>,
        /// Creation time.
        fecha_creacion: Micros,
    },
    /// `casos.asignados`.
    Asignado {
        /// The case.
        caso_id: i64,
        /// The department now in charge.
        dependencia_id: i64,
        /// Always `ASIGNADO`.
        estado_nuevo: String,
        /// Assignment time.
        fecha_asignacion: Micros,
    },
    /// `casos.actualizados`.
    Actualizado {
        /// The case.
        caso_id: i64,
        /// The changes, in message order.
        cambios: Vec<Cambio>,
    },
    /// `casos.cerrados`.
    Cerrado {
        /// The case.
        caso_id: i64,
        /// `RESUELTO|CANCELADO|DUPLICADO|INVALIDO`.
        motivo_cierre: String,
        /// Closing time.
        fecha_cierre: Micros,
        /// Total hours taken, when present (exact micro-hours).
        tiempo_total_horas: Option<MicroHours>,
        /// Citizen satisfaction 1..5, when present.
        satisfaccion_ciudadano: Option<i64>,
    },
    /// `notificaciones.enviadas`: a send; `FALLIDO` also marks it failed.
    NotificacionEnviada {
        /// The send, with id `c360-<notificacion_id>`.
        send: Send,
        /// `estado: FALLIDO`.
        failed: bool,
        /// `tipo` (`CREACION|ASIGNACION|ACTUALIZACION|CIERRE`).
        tipo: String,
    },
    /// `sla.violados`.
    SlaViolado {
        /// The SLA record.
        sla_id: i64,
        /// The case.
        caso_id: i64,
    },
    /// `sla.cumplidos`.
    SlaCumplido {
        /// The SLA record.
        sla_id: i64,
        /// The case.
        caso_id: i64,
    },
    /// `ciudadanos.registrados`.
    CiudadanoRegistrado {
        /// The citizen.
        ciudadano_id: i64,
        /// `WEB|MOVIL|CALL_CENTER|VENTANILLA`, when present.
        canal_registro: Option<String>,
    },
    /// `dependencias.configuradas`.
    DependenciaConfigurada {
        /// The department.
        dependencia_id: i64,
        /// Its code.
        codigo: String,
        /// The new `configuracion.sla_tiempo_resolucion_horas`, when this change sets it
        /// (exact micro-hours; the last such entry of `cambios` wins).
        sla_horas: Option<MicroHours>,
    },
}

impl CasoEvent {
    /// The case this event is about, if any.
    pub fn caso_id(&self) -> Option<i64> {
        match self {
            CasoEvent::Creado { caso_id, .. }
            | CasoEvent::Asignado { caso_id, .. }
            | CasoEvent::Actualizado { caso_id, .. }
            | CasoEvent::Cerrado { caso_id, .. }
            | CasoEvent::SlaViolado { caso_id, .. }
            | CasoEvent::SlaCumplido { caso_id, .. } => Some(*caso_id),
            CasoEvent::NotificacionEnviada { send, .. } => send.caso_id,
            CasoEvent::CiudadanoRegistrado { .. } | CasoEvent::DependenciaConfigurada { .. } => {
                None
            }
        }
    }
}

/// What the decoder made of one record: a valid event or a rejection.
pub type Decoded = Result<Event, crate::reject::Rejection>;

/// One header of a source record: its name and value (`None`: a null header value).
pub type RecordHeader = (String, Option<Vec<u8>>);

/// The `dlq.detail` of a rejected Kafka tombstone (a record whose value is null).
pub const TOMBSTONE_DETAIL: &str = "null value (Kafka tombstone)";

/// One record read from a source, decoded, with the bytes kept for the duplicate tie-break
/// (`least (timestamp, raw value bytes)` wins) and for the dead-letter topic.
///
/// Only the value bytes take part in the duplicate tie-break (the dataflows compare
/// `(timestamp, value)`, never the whole record); `tombstone` and `headers` travel with the
/// record to the dead-letter topic and the raw archive. The derived order compares topic and
/// position first, which identify a record, so the later fields never decide it between two
/// different records.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The topic.
    pub topic: Topic,
    /// Partition and offset.
    pub position: Position,
    /// The record key, when present.
    pub key: Option<Vec<u8>>,
    /// The raw value bytes (empty for a tombstone).
    pub value: Vec<u8>,
    /// Whether the value was null (a Kafka tombstone): such a record is rejected as
    /// `malformed_json` with the detail [`TOMBSTONE_DETAIL`], and its dead-letter copy has a
    /// null value.
    #[serde(default)]
    pub tombstone: bool,
    /// The record's headers, in order, as read (Kafka); empty, and unallocated, for sources
    /// without headers.
    #[serde(default)]
    pub headers: Vec<RecordHeader>,
}

impl SourceRecord {
    /// A record without headers whose value is `value` (not a tombstone).
    pub fn new(topic: Topic, position: Position, key: Option<Vec<u8>>, value: Vec<u8>) -> Self {
        SourceRecord {
            topic,
            position,
            key,
            value,
            tombstone: false,
            headers: Vec::new(),
        }
    }

    /// Decodes the record: a tombstone is rejected as `malformed_json` ("null value (Kafka
    /// tombstone)"), anything else as [`crate::decode`] says.
    pub fn decode(&self) -> Decoded {
        if self.tombstone {
            return Err(crate::reject::Rejection::new(
                crate::reject::RejectReason::MalformedJson,
                TOMBSTONE_DETAIL,
            ));
        }
        crate::decode(self.topic, &self.value, self.position)
    }
}
