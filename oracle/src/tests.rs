//! Unit tests of the oracle over hand-built events (no decoder needed).

use pulso_events::time::{parse_rfc3339, Granularity, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, OrderCancellations, SlaStatus, ViewSet,
};
use pulso_events::{
    Body, BounceType, Cambio, CasoEvent, Channel, Decoded, Event, InventoryEvent,
    NotificationEvent, OrderEvent, OrderItem, Outcome, Position, RejectReason, Rejection,
    Reservation, Send, SourceRecord, Topic,
};

use crate::compute_from_decoded;

/// UTC microseconds of an RFC 3339 text.
fn t(text: &str) -> Micros {
    parse_rfc3339(text).unwrap()
}

/// An event of `topic` with tenant `acme` (`conecta360` for envelope B).
fn ev(topic: Topic, time: &str, id: &str, body: Body) -> Event {
    let tenant = if topic.is_envelope_b() {
        "conecta360"
    } else {
        "acme"
    };
    Event {
        timestamp: t(time),
        topic,
        event_id: id.to_string(),
        dedup_key: id.to_string(),
        tenant_id: tenant.to_string(),
        body,
    }
}

/// Records for events, each with distinct value bytes (its debug text).
fn records(events: &[Event]) -> Vec<(SourceRecord, Decoded)> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                record(e.topic, i, format!("{e:?}").as_bytes()),
                Ok(e.clone()),
            )
        })
        .collect()
}

fn record(topic: Topic, offset: usize, value: &[u8]) -> SourceRecord {
    SourceRecord {
        topic,
        position: Position {
            partition: 0,
            offset: offset as i64,
        },
        key: None,
        value: value.to_vec(),
        tombstone: false,
        headers: Vec::new(),
    }
}

fn run(events: &[Event]) -> ViewSet {
    compute_from_decoded(records(events), None)
}

/// The result is the same for the input reversed and rotated.
fn run_checked(events: &[Event], as_of: Option<Micros>) -> ViewSet {
    let views = compute_from_decoded(records(events), as_of);
    let mut reversed = events.to_vec();
    reversed.reverse();
    let mut rotated = events.to_vec();
    rotated.rotate_left(events.len() / 2);
    for other in [reversed, rotated] {
        let mut again = compute_from_decoded(records(&other), as_of);
        // Offsets differ with the order; nothing else may.
        again.as_of = views.as_of;
        assert_eq!(again, views);
    }
    views
}

fn health(views: &ViewSet, topic: Topic) -> &pulso_events::views::TopicHealth {
    views
        .pipeline_health
        .iter()
        .find(|h| h.topic == topic.name())
        .unwrap()
}

// ---- notifications ----------------------------------------------------------------------

fn send(id: &str, channel: Channel, preferred: Option<Channel>, cost: Option<i64>) -> Send {
    Send {
        notification_id: id.to_string(),
        channel,
        provider: "SES".to_string(),
        category: "TRANSACTIONAL".to_string(),
        preferred_channel: preferred,
        cost,
        order_id: None,
        caso_id: None,
        template: None,
    }
}

fn sent(time: &str, id: &str, s: Send) -> Event {
    ev(
        Topic::Notifications,
        time,
        id,
        Body::Notification(NotificationEvent::Sent(s)),
    )
}

fn hook(time: &str, id: &str, notification: &str, outcome: Outcome) -> Event {
    ev(
        Topic::Notifications,
        time,
        id,
        Body::Notification(NotificationEvent::Webhook {
            notification_id: notification.to_string(),
            outcome,
        }),
    )
}

fn bounce(bounce_type: BounceType, reason: Option<&str>) -> Outcome {
    Outcome::Bounced {
        bounce_type,
        reason: reason.map(str::to_string),
    }
}

#[test]
fn webhook_before_send_counts_in_the_send_cohort() {
    let mut events = vec![
        // Webhook earlier than its send, in another hour.
        hook("2024-01-15T09:59:00Z", "w1", "n1", Outcome::Delivered),
        hook("2024-01-15T12:00:00Z", "w2", "n1", Outcome::Opened),
        hook("2024-01-15T12:01:00Z", "w3", "n1", Outcome::Opened),
        sent(
            "2024-01-15T10:30:10Z",
            "s1",
            send("n1", Channel::Email, Some(Channel::Sms), Some(150)),
        ),
        // A later second send of n1 (other channel) does not move the cohort nor add cost.
        sent(
            "2024-01-15T11:00:00Z",
            "s1b",
            send("n1", Channel::Sms, None, Some(999)),
        ),
        sent(
            "2024-01-15T10:30:50Z",
            "s2",
            send("n2", Channel::Email, None, None),
        ),
        hook(
            "2024-01-15T10:31:00Z",
            "w4",
            "n2",
            bounce(BounceType::Hard, Some("mailbox")),
        ),
        hook(
            "2024-01-15T10:32:00Z",
            "w5",
            "n2",
            bounce(BounceType::Soft, None),
        ),
        hook(
            "2024-01-15T10:33:00Z",
            "w6",
            "n2",
            Outcome::Failed {
                last_error: None,
                retry_count: None,
            },
        ),
        // Orphan webhook: never sent.
        hook("2024-01-15T10:34:00Z", "w7", "ghost", Outcome::Delivered),
    ];
    // Conecta360 send marked FALLIDO, on its own topic.
    let mut c360 = send("c360-7", Channel::Sms, None, Some(5));
    c360.provider = "unknown".to_string();
    c360.caso_id = Some(42);
    events.push(ev(
        Topic::NotificacionesEnviadas,
        "2024-01-15T10:30:20Z",
        "e1",
        Body::Caso(CasoEvent::NotificacionEnviada {
            send: c360,
            failed: true,
            tipo: "CREACION".to_string(),
        }),
    ));
    let views = run_checked(&events, None);

    let rates: Vec<_> = views
        .notification_rates
        .iter()
        .filter(|r| r.granularity == Granularity::Minute)
        .collect();
    assert_eq!(rates.len(), 2, "{rates:#?}");
    let acme = rates.iter().find(|r| r.tenant_id == "acme").unwrap();
    assert_eq!(acme.window_start, t("2024-01-15T10:30:00Z"));
    assert_eq!(
        (acme.channel.as_str(), acme.provider.as_str()),
        ("EMAIL", "SES")
    );
    assert_eq!(acme.sent, 2);
    assert_eq!(acme.delivered, 1);
    assert_eq!(acme.opened, 1);
    assert_eq!((acme.bounced, acme.hard_bounced, acme.failed), (1, 1, 1));
    assert_eq!(acme.fallback, 1);
    assert_eq!(acme.cost_total, 150);
    assert_eq!(acme.delivery_rate(), Some(0.5));
    let c = rates.iter().find(|r| r.tenant_id == "conecta360").unwrap();
    assert_eq!(
        (c.channel.as_str(), c.provider.as_str()),
        ("SMS", "unknown")
    );
    assert_eq!((c.sent, c.failed, c.cost_total), (1, 1, 5));

    // All three granularities; the day row gathers both cohorts of acme.
    assert_eq!(views.notification_rates.len(), 6);
    let day = views
        .notification_rates
        .iter()
        .find(|r| r.granularity == Granularity::Day && r.tenant_id == "acme")
        .unwrap();
    assert_eq!(day.window_start, t("2024-01-15T00:00:00Z"));

    assert_eq!(
        views.notification_bounces,
        vec![
            NotificationBounces {
                tenant_id: "acme".into(),
                channel: "EMAIL".into(),
                day: t("2024-01-15T00:00:00Z"),
                bounce_type: "HARD".into(),
                reason: "mailbox".into(),
                notifications: 1,
            },
            NotificationBounces {
                tenant_id: "acme".into(),
                channel: "EMAIL".into(),
                day: t("2024-01-15T00:00:00Z"),
                bounce_type: "SOFT".into(),
                reason: "unspecified".into(),
                notifications: 1,
            },
        ]
    );
    assert_eq!(health(&views, Topic::Notifications).orphan_events, 1);
    assert_eq!(
        health(&views, Topic::NotificacionesEnviadas).orphan_events,
        0
    );
}

#[test]
fn orphan_webhook_is_counted_once_the_send_arrives() {
    let webhook = hook("2024-01-15T10:00:00Z", "w1", "n1", Outcome::Delivered);
    let before = run(std::slice::from_ref(&webhook));
    assert!(before.notification_rates.is_empty());
    assert_eq!(health(&before, Topic::Notifications).orphan_events, 1);

    let after = run(&[
        webhook,
        sent(
            "2024-01-15T10:05:00Z",
            "s1",
            send("n1", Channel::Push, None, None),
        ),
    ]);
    assert_eq!(after.notification_rates.len(), 3);
    assert!(after
        .notification_rates
        .iter()
        .all(|r| r.delivered == 1 && r.sent == 1));
    assert_eq!(health(&after, Topic::Notifications).orphan_events, 0);
}

// ---- orders -------------------------------------------------------------------------------

fn created(time: &str, id: &str, order: &str, total: i64) -> Event {
    ev(
        Topic::Orders,
        time,
        id,
        Body::Order(OrderEvent::Created {
            order_id: order.to_string(),
            customer_id: "c1".to_string(),
            items: vec![OrderItem {
                sku: "A".to_string(),
                quantity: 1,
                unit_price: total,
            }],
            total,
            currency: "USD".to_string(),
        }),
    )
}

fn confirmed(time: &str, id: &str, order: &str) -> Event {
    ev(
        Topic::Orders,
        time,
        id,
        Body::Order(OrderEvent::Confirmed {
            order_id: order.to_string(),
        }),
    )
}

fn cancelled(time: &str, id: &str, order: &str, reason: &str) -> Event {
    ev(
        Topic::Orders,
        time,
        id,
        Body::Order(OrderEvent::Cancelled {
            order_id: order.to_string(),
            reason: reason.to_string(),
        }),
    )
}

#[test]
fn confirm_before_create_and_latest_status() {
    let events = vec![
        // o1: confirmed before (in time) it was created.
        confirmed("2024-01-15T09:00:00Z", "e1", "o1"),
        created("2024-01-15T10:00:00Z", "e2", "o1", 10_000),
        // A second ORDER_CREATED of o1: the earliest one gives the total.
        created("2024-01-15T11:00:00Z", "e3", "o1", 99_999),
        // o2: cancelled, then confirmed; then cancelled again with another reason.
        created("2024-01-15T10:10:00Z", "e4", "o2", 2_000),
        cancelled("2024-01-15T10:11:00Z", "e5", "o2", "PAYMENT_FAILED"),
        confirmed("2024-01-15T10:12:00Z", "e6", "o2"),
        cancelled("2024-01-15T10:13:00Z", "e7", "o2", "CUSTOMER_REQUEST"),
        // o3: pending. Same timestamp decisions: greater event_id wins.
        created("2024-01-15T10:20:00Z", "e8", "o3", 300),
        // o4: two decisions at the same instant; event_id "z" > "a": cancelled.
        created("2024-01-15T10:30:00Z", "e9", "o4", 400),
        confirmed("2024-01-15T10:31:00Z", "a", "o4"),
        cancelled("2024-01-15T10:31:00Z", "z", "o4", "INSUFFICIENT_STOCK"),
        // Orphan cancel.
        cancelled("2024-01-15T10:40:00Z", "e10", "ghost", "PAYMENT_FAILED"),
    ];
    let views = run_checked(&events, None);

    let day: Vec<_> = views
        .order_metrics
        .iter()
        .filter(|r| r.granularity == Granularity::Day)
        .collect();
    assert_eq!(day.len(), 1);
    let d = day[0];
    assert_eq!(d.window_start, t("2024-01-15T00:00:00Z"));
    assert_eq!(
        (
            d.orders_created,
            d.orders_confirmed,
            d.orders_cancelled,
            d.orders_pending
        ),
        (4, 1, 2, 1)
    );
    assert_eq!(d.revenue_confirmed_total, 10_000);
    assert_eq!(d.revenue_lost_total, 2_400);
    assert_eq!(d.revenue_pending_total, 300);
    assert_eq!(d.cancellation_rate(), Some(0.5));
    // Hour windows of the creation: 10:00 holds all four.
    let hours: Vec<_> = views
        .order_metrics
        .iter()
        .filter(|r| r.granularity == Granularity::Hour)
        .collect();
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0].window_start, t("2024-01-15T10:00:00Z"));
    assert_eq!(
        views
            .order_metrics
            .iter()
            .filter(|r| r.granularity == Granularity::Minute)
            .count(),
        4
    );

    assert_eq!(
        views.order_cancellations,
        vec![
            OrderCancellations {
                tenant_id: "acme".into(),
                reason: "CUSTOMER_REQUEST".into(),
                orders: 1
            },
            OrderCancellations {
                tenant_id: "acme".into(),
                reason: "INSUFFICIENT_STOCK".into(),
                orders: 1
            },
        ]
    );
    assert_eq!(health(&views, Topic::Orders).orphan_events, 1);
}

// ---- inventory ----------------------------------------------------------------------------

fn inv(time: &str, id: &str, body: InventoryEvent) -> Event {
    ev(Topic::Inventory, time, id, Body::Inventory(body))
}

fn stock_set(time: &str, id: &str, sku: &str, on_hand: i64) -> Event {
    inv(
        time,
        id,
        InventoryEvent::StockSet {
            sku: sku.into(),
            on_hand,
        },
    )
}

fn adjusted(time: &str, id: &str, sku: &str, delta: i64) -> Event {
    inv(
        time,
        id,
        InventoryEvent::StockAdjusted {
            sku: sku.into(),
            delta,
        },
    )
}

fn reserved(time: &str, id: &str, order: &str, items: &[(&str, i64)]) -> Event {
    inv(
        time,
        id,
        InventoryEvent::Reserved {
            order_id: order.into(),
            items: items
                .iter()
                .map(|(sku, quantity)| Reservation {
                    sku: sku.to_string(),
                    quantity: *quantity,
                })
                .collect(),
        },
    )
}

#[test]
fn late_stock_set_orders_adjustments_by_event_time() {
    let events = vec![
        adjusted("2024-01-15T09:00:00Z", "a1", "A", 5), // before the latest set: ignored
        // The latest set arrives first in the input but an older set comes later.
        stock_set("2024-01-15T10:00:00Z", "s2", "A", 100),
        stock_set("2024-01-15T08:00:00Z", "s1", "A", 7),
        adjusted("2024-01-15T11:00:00Z", "a2", "A", -3),
        // Same instant as the set: only a greater event_id is later.
        adjusted("2024-01-15T10:00:00Z", "s3", "A", 1), // "s3" > "s2": counted
        adjusted("2024-01-15T10:00:00Z", "s0", "A", 1000), // "s0" < "s2": ignored
        // B: no STOCK_SET, every adjustment counts.
        adjusted("2024-01-15T09:00:00Z", "b1", "B", 4),
        adjusted("2024-01-15T09:30:00Z", "b2", "B", -6),
        // Reservations: o1 released (release earlier in time than the reserve), o2 not.
        reserved("2024-01-15T12:00:00Z", "r1", "o1", &[("A", 10), ("C", 1)]),
        inv(
            "2024-01-15T11:59:00Z",
            "rel1",
            InventoryEvent::Released {
                order_id: "o1".into(),
            },
        ),
        reserved("2024-01-15T12:01:00Z", "r2", "o2", &[("A", 20), ("A", 2)]),
        reserved("2024-01-15T12:02:00Z", "r3", "o2", &[("A", 1)]),
        inv(
            "2024-01-15T12:03:00Z",
            "i1",
            InventoryEvent::InsufficientStock {
                order_id: "o3".into(),
                sku: "D".into(),
                available: 0,
                requested: 3,
            },
        ),
    ];
    let views = run_checked(&events, None);
    let row = |sku: &str, on_hand, reserved, insufficient| InventoryLevels {
        tenant_id: "acme".into(),
        sku: sku.into(),
        on_hand,
        reserved,
        available: on_hand - reserved,
        insufficient_stock_events: insufficient,
    };
    assert_eq!(
        views.inventory_levels,
        vec![
            row("A", 98, 23, 0),
            row("B", -2, 0, 0),
            row("C", 0, 0, 0),
            row("D", 0, 0, 1)
        ]
    );
}

// ---- cases --------------------------------------------------------------------------------

fn creado(
    time: &str,
    id: &str,
    caso: i64,
    dep: i64,
    prioridad: Option<&str>,
    fecha: &str,
) -> Event {
    ev(
        Topic::CasosCreados,
        time,
        id,
        Body::Caso(CasoEvent::Creado {
            caso_id: caso,
            numero_caso: format!("CRV-2024-{caso:08}"),
            ciudadano_id: 1000 + caso,
            categoria_id: 1,
            dependencia_id: dep,
            prioridad: prioridad.map(str::to_string),
            fecha_creacion: t(fecha),
        }),
    )
}

fn asignado(time: &str, id: &str, caso: i64, dep: i64) -> Event {
    ev(
        Topic::CasosAsignados,
        time,
        id,
        Body::Caso(CasoEvent::Asignado {
            caso_id: caso,
            dependencia_id: dep,
            estado_nuevo: "ASIGNADO".into(),
            fecha_asignacion: t(time),
        }),
    )
}

fn actualizado(time: &str, id: &str, caso: i64, cambios: &[(&str, Option<&str>)]) -> Event {
    ev(
        Topic::CasosActualizados,
        time,
        id,
        Body::Caso(CasoEvent::Actualizado {
            caso_id: caso,
            cambios: cambios
                .iter()
                .map(|(campo, valor)| Cambio {
                    campo: campo.to_string(),
                    valor_nuevo: valor.map(str::to_string),
                })
                .collect(),
        }),
    )
}

fn cerrado(
    time: &str,
    id: &str,
    caso: i64,
    fecha: &str,
    horas: Option<i64>,
    sat: Option<i64>,
) -> Event {
    ev(
        Topic::CasosCerrados,
        time,
        id,
        Body::Caso(CasoEvent::Cerrado {
            caso_id: caso,
            motivo_cierre: "RESUELTO".into(),
            fecha_cierre: t(fecha),
            tiempo_total_horas: horas,
            satisfaccion_ciudadano: sat,
        }),
    )
}

fn sla_event(topic: Topic, time: &str, id: &str, caso: i64) -> Event {
    let body = if topic == Topic::SlaViolados {
        CasoEvent::SlaViolado {
            sla_id: 1,
            caso_id: caso,
        }
    } else {
        CasoEvent::SlaCumplido {
            sla_id: 1,
            caso_id: caso,
        }
    };
    ev(topic, time, id, Body::Caso(body))
}

fn configurada(time: &str, id: &str, dep: i64, hours: Option<i64>) -> Event {
    ev(
        Topic::DependenciasConfiguradas,
        time,
        id,
        Body::Caso(CasoEvent::DependenciaConfigurada {
            dependencia_id: dep,
            codigo: "MIN".into(),
            sla_horas: hours.map(|h| h * 1_000_000),
        }),
    )
}

#[test]
fn case_backlog_takes_the_latest_attributes() {
    let events = vec![
        creado(
            "2024-01-15T10:00:00Z",
            "c1",
            1,
            10,
            Some("ALTA"),
            "2024-01-15T10:00:00Z",
        ),
        asignado("2024-01-15T11:00:00Z", "a1", 1, 20),
        // Estado update; last "estado" entry of the event wins; prioridad changed.
        actualizado(
            "2024-01-15T12:00:00Z",
            "u1",
            1,
            &[
                ("estado", Some("X")),
                ("prioridad", Some("URGENTE")),
                ("estado", Some("EN_PROCESO")),
            ],
        ),
        // An earlier update does not override.
        actualizado(
            "2024-01-15T10:30:00Z",
            "u0",
            1,
            &[("estado", Some("OLD")), ("prioridad", Some("BAJA"))],
        ),
        // Case 2: closed, then (later) an update reopens it.
        creado(
            "2024-01-15T10:00:00Z",
            "c2",
            2,
            10,
            None,
            "2024-01-15T10:00:00Z",
        ),
        cerrado(
            "2024-01-15T13:00:00Z",
            "z2",
            2,
            "2024-01-15T13:00:00Z",
            None,
            None,
        ),
        actualizado(
            "2024-01-15T14:00:00Z",
            "u2",
            2,
            &[("estado", Some("REABIERTO"))],
        ),
        // Case 3: closed; an assignment earlier in time does not reopen it.
        creado(
            "2024-01-15T10:00:00Z",
            "c3",
            3,
            10,
            None,
            "2024-01-15T10:00:00Z",
        ),
        asignado("2024-01-15T10:10:00Z", "a3", 3, 30),
        cerrado(
            "2024-01-15T15:00:00Z",
            "z3",
            3,
            "2024-01-15T15:00:00Z",
            None,
            None,
        ),
        // An update whose last "estado" entry has no value changes nothing.
        creado(
            "2024-01-15T10:00:00Z",
            "c4",
            4,
            40,
            None,
            "2024-01-15T10:00:00Z",
        ),
        actualizado(
            "2024-01-15T11:00:00Z",
            "u4",
            4,
            &[("estado", Some("EN_PROCESO")), ("estado", None)],
        ),
        // Orphans: events of a case never created.
        asignado("2024-01-15T10:00:00Z", "a9", 9, 10),
        cerrado(
            "2024-01-15T10:00:00Z",
            "z9",
            9,
            "2024-01-15T10:00:00Z",
            None,
            None,
        ),
    ];
    let views = run_checked(&events, None);
    let row = |dependencia_id, estado: &str| CaseBacklog {
        dependencia_id,
        estado: estado.into(),
        cases: 1,
    };
    assert_eq!(
        views.case_backlog,
        vec![
            row(10, "REABIERTO"),
            row(20, "EN_PROCESO"),
            row(30, "CERRADO"),
            row(40, "PENDIENTE")
        ]
    );
    assert_eq!(health(&views, Topic::CasosAsignados).orphan_events, 1);
    assert_eq!(health(&views, Topic::CasosCerrados).orphan_events, 1);
    assert_eq!(health(&views, Topic::CasosActualizados).orphan_events, 0);
    // Case 1's prioridad is URGENTE (the latest change).
    let open1 = views.open_cases.iter().find(|c| c.caso_id == 1).unwrap();
    assert_eq!(open1.prioridad.as_deref(), Some("URGENTE"));
    assert_eq!(open1.numero_caso, "CRV-2024-00000001");
    // Case 2 is open again; case 3 is not.
    assert!(views.open_cases.iter().any(|c| c.caso_id == 2));
    assert!(!views.open_cases.iter().any(|c| c.caso_id == 3));
}

#[test]
fn sla_compliance_outcomes_and_closings() {
    let events = vec![
        // Case 1: met and violated -> violated, day of the earliest violation.
        creado(
            "2024-01-10T10:00:00Z",
            "c1",
            1,
            10,
            Some("ALTA"),
            "2024-01-10T10:00:00Z",
        ),
        sla_event(Topic::SlaCumplidos, "2024-01-11T10:00:00Z", "m1", 1),
        sla_event(Topic::SlaViolados, "2024-01-13T10:00:00Z", "v1", 1),
        sla_event(Topic::SlaViolados, "2024-01-12T23:00:00Z", "v2", 1),
        // Case 2: met twice, day of the earliest; closed twice: the latest closing counts.
        creado(
            "2024-01-10T10:00:00Z",
            "c2",
            2,
            10,
            Some("ALTA"),
            "2024-01-10T10:00:00Z",
        ),
        sla_event(Topic::SlaCumplidos, "2024-01-12T10:00:00Z", "m2", 2),
        sla_event(Topic::SlaCumplidos, "2024-01-12T09:00:00Z", "m3", 2),
        cerrado(
            "2024-01-12T11:00:00Z",
            "z1",
            2,
            "2024-01-12T11:00:00Z",
            Some(1_500_000),
            Some(2),
        ),
        cerrado(
            "2024-01-12T12:00:00Z",
            "z2",
            2,
            "2024-01-12T12:00:00Z",
            Some(49_000_000),
            Some(5),
        ),
        // Case 3: closed only, without hours nor satisfaction, then reopened.
        creado(
            "2024-01-10T10:00:00Z",
            "c3",
            3,
            10,
            Some("ALTA"),
            "2024-01-10T10:00:00Z",
        ),
        cerrado(
            "2024-01-12T13:00:00Z",
            "z3",
            3,
            "2024-01-12T13:00:00Z",
            None,
            None,
        ),
        actualizado(
            "2024-01-12T14:00:00Z",
            "u3",
            3,
            &[("estado", Some("EN_PROCESO"))],
        ),
        // Orphan SLA event.
        sla_event(Topic::SlaCumplidos, "2024-01-12T10:00:00Z", "m9", 99),
    ];
    let views = run_checked(&events, None);
    let rows = &views.sla_compliance;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let r = &rows[0];
    assert_eq!(
        (r.dependencia_id, r.prioridad.as_deref(), r.day),
        (10, Some("ALTA"), t("2024-01-12T00:00:00Z"))
    );
    assert_eq!((r.met, r.violated, r.closed), (1, 1, 2));
    assert_eq!(
        (r.resolution_micro_hours_sum, r.resolution_count),
        (49_000_000, 1)
    );
    assert_eq!((r.satisfaction_sum, r.satisfaction_count), (5, 1));
    assert_eq!(r.compliance_rate(), Some(0.5));
    assert_eq!(r.avg_resolution_hours(), Some(49.0));
    assert_eq!(health(&views, Topic::SlaCumplidos).orphan_events, 1);
}

#[test]
fn sla_change_regrades_open_cases() {
    let base = vec![
        creado(
            "2024-01-01T00:00:00Z",
            "c1",
            1,
            10,
            None,
            "2024-01-01T00:00:00Z",
        ),
        creado(
            "2024-01-01T00:00:00Z",
            "c2",
            2,
            20,
            Some("BAJA"),
            "2024-01-01T00:00:00Z",
        ),
        creado(
            "2024-01-03T00:00:00Z",
            "c3",
            3,
            10,
            None,
            "2024-01-03T00:00:00Z",
        ),
        cerrado(
            "2024-01-03T00:00:00Z",
            "z3",
            3,
            "2024-01-03T00:00:00Z",
            None,
            None,
        ),
        ciudadano("2024-01-05T00:00:00Z", "p1", 7),
    ];
    // as_of defaults to the greatest event time (Jan 5): 96 h after Jan 1, default SLA 168 h.
    let views = run_checked(&base, None);
    assert_eq!(views.as_of, Some(t("2024-01-05T00:00:00Z")));
    let statuses: Vec<_> = views
        .open_cases
        .iter()
        .map(|c| (c.caso_id, c.status))
        .collect();
    assert_eq!(
        statuses,
        vec![(1, SlaStatus::OnTrack), (2, SlaStatus::OnTrack)]
    );
    assert_eq!(views.open_case_sla.len(), 2);

    // Department 10 moves to 72 h (later change wins over an earlier one); 20 to 110 h: due
    // Jan 5 14:00, 14 h left <= 0.2 * 110 h = 22 h -> AT_RISK. A change without SLA is ignored.
    let mut changed = base.clone();
    changed.push(configurada("2024-01-02T00:00:00Z", "d1", 10, Some(500)));
    changed.push(configurada("2024-01-04T00:00:00Z", "d2", 10, Some(72)));
    changed.push(configurada("2024-01-04T12:00:00Z", "d3", 10, None));
    changed.push(configurada("2024-01-04T00:00:00Z", "d4", 20, Some(110)));
    let views = run_checked(&changed, None);
    let open: Vec<_> = views
        .open_cases
        .iter()
        .map(|c| (c.caso_id, c.status, c.due_at))
        .collect();
    assert_eq!(
        open,
        vec![
            (1, SlaStatus::Breached, t("2024-01-04T00:00:00Z")),
            (2, SlaStatus::AtRisk, t("2024-01-05T14:00:00Z")),
        ]
    );
    let counts: Vec<_> = views
        .open_case_sla
        .iter()
        .map(|r| (r.dependencia_id, r.status, r.cases))
        .collect();
    assert_eq!(
        counts,
        vec![(10, SlaStatus::Breached, 1), (20, SlaStatus::AtRisk, 1)]
    );

    // A given as_of is used as is.
    let views = run_checked(&changed, Some(t("2024-01-02T00:00:00Z")));
    assert_eq!(views.as_of, Some(t("2024-01-02T00:00:00Z")));
    assert!(views
        .open_cases
        .iter()
        .all(|c| c.status != SlaStatus::Breached));
}

#[test]
fn no_events_no_as_of() {
    let views = compute_from_decoded(Vec::new(), None);
    assert_eq!(views, ViewSet::default());
    let bad = vec![(
        record(Topic::Orders, 0, b"{"),
        Err(Rejection::new(RejectReason::MalformedJson, "not JSON")),
    )];
    let views = compute_from_decoded(bad, None);
    assert_eq!(views.as_of, None);
    assert!(views.open_case_sla.is_empty());
    assert_eq!(views.pipeline_health.len(), 1);
}

// ---- dedup and health ---------------------------------------------------------------------

#[test]
fn duplicates_with_conflicting_content_least_timestamp_then_bytes_wins() {
    let a = created("2024-01-15T10:00:00Z", "dup", "o1", 100);
    let mut b = created("2024-01-15T10:00:00Z", "dup", "o1", 200);
    let c = created("2024-01-15T09:00:00Z", "dup2", "o2", 300);
    let mut d = created("2024-01-15T09:30:00Z", "dup2", "o2", 400);
    b.tenant_id = "other".into();
    d.tenant_id = "other".into();
    // a and b: same timestamp; bytes decide ("a..." < "b..."). c and d: timestamp decides
    // although d's bytes are smaller.
    let input = |order: &[usize]| -> Vec<(SourceRecord, Decoded)> {
        let all = [
            (&a, &b"b-bytes"[..]),
            (&b, &b"c-bytes"[..]),
            (&c, &b"z-bytes"[..]),
            (&d, &b"a-bytes"[..]),
        ];
        order
            .iter()
            .enumerate()
            .map(|(offset, &i)| {
                (
                    record(Topic::Orders, offset, all[i].1),
                    Ok(all[i].0.clone()),
                )
            })
            .collect()
    };
    let mut rejected = input(&[0, 1, 2, 3]);
    rejected.push((
        record(Topic::Orders, 9, b"[]"),
        Err(Rejection::new(RejectReason::NotAnObject, "not an object")),
    ));
    rejected.push((
        record(Topic::Orders, 10, b"{}"),
        Err(Rejection::new(RejectReason::MissingField, "event_id")),
    ));
    let views = compute_from_decoded(rejected, None);
    for order in [[3, 2, 1, 0], [1, 3, 0, 2]] {
        let mut other = compute_from_decoded(input(&order), None);
        other.pipeline_health.clear();
        let mut mine = views.clone();
        mine.pipeline_health.clear();
        assert_eq!(other, mine);
    }
    let day = views
        .order_metrics
        .iter()
        .find(|r| r.granularity == Granularity::Day)
        .unwrap();
    assert_eq!(
        views
            .order_metrics
            .iter()
            .filter(|r| r.granularity == Granularity::Day)
            .count(),
        1
    );
    assert_eq!(
        (
            day.tenant_id.as_str(),
            day.orders_created,
            day.revenue_pending_total
        ),
        ("acme", 2, 400)
    );

    let h = health(&views, Topic::Orders);
    assert_eq!(h.records, 6);
    assert_eq!(h.duplicates, 2);
    assert_eq!(h.rejected_total(), 2);
    assert_eq!(
        h.rejected[RejectReason::ALL
            .iter()
            .position(|r| *r == RejectReason::NotAnObject)
            .unwrap()],
        1
    );
    assert_eq!(h.rejected[2], 1); // MissingField
    assert_eq!(views.timelines.len(), 2);
}

#[test]
fn duplicate_orphans_count_once_and_tracking_dedups_by_dedup_key() {
    let w = hook("2024-01-15T10:00:00Z", "w1", "ghost", Outcome::Opened);
    let track = |id: &str, key: &str, time: &str| {
        let mut e = ev(
            Topic::Tracking,
            time,
            id,
            Body::Tracking(pulso_events::TrackingEvent {
                event_type: "PICKED_UP".into(),
                entity_type: "shipment".into(),
                entity_id: "S1".into(),
                location: None,
                source: None,
            }),
        );
        e.dedup_key = key.to_string();
        e
    };
    let events = vec![
        w.clone(),
        w,
        track("t1", "k1", "2024-01-15T10:00:00Z"),
        track("t2", "k1", "2024-01-15T09:00:00Z"),
        track("t3", "k2", "2024-01-15T11:00:00Z"),
    ];
    let views = run(&events);
    let h = health(&views, Topic::Notifications);
    assert_eq!((h.records, h.duplicates, h.orphan_events), (2, 1, 1));
    let h = health(&views, Topic::Tracking);
    assert_eq!((h.records, h.duplicates, h.orphan_events), (3, 1, 0));
    let shipment: Vec<_> = views
        .timelines
        .iter()
        .filter(|e| &*e.entity_type == "shipment")
        .map(|e| (e.event_id.as_ref(), e.event_type.as_ref()))
        .collect();
    assert_eq!(shipment, vec![("t2", "PICKED_UP"), ("t3", "PICKED_UP")]);
}

// ---- timelines ----------------------------------------------------------------------------

fn ciudadano(time: &str, id: &str, ciudadano_id: i64) -> Event {
    ev(
        Topic::CiudadanosRegistrados,
        time,
        id,
        Body::Caso(CasoEvent::CiudadanoRegistrado {
            ciudadano_id,
            canal_registro: None,
        }),
    )
}

#[test]
fn timelines_name_every_entity() {
    let mut s = send("n1", Channel::Email, None, None);
    s.order_id = Some("o1".into());
    s.caso_id = Some(5);
    let mut c360 = send("c360-9", Channel::Sms, None, None);
    c360.caso_id = Some(5);
    let events = vec![
        sent("2024-01-15T10:00:00Z", "s1", s),
        hook(
            "2024-01-15T10:01:00Z",
            "w1",
            "n1",
            bounce(BounceType::Soft, None),
        ),
        ev(
            Topic::NotificationsDlq,
            "2024-01-15T10:02:00Z",
            "notifications.dlq/0/3",
            Body::NotificationDlq(pulso_events::NotificationDlqRecord {
                notification_id: Some("n1".into()),
                channel: None,
                provider: None,
                reason: None,
                last_error: None,
                retry_count: None,
            }),
        ),
        ev(
            Topic::NotificationsDlq,
            "2024-01-15T10:03:00Z",
            "notifications.dlq/0/4",
            Body::NotificationDlq(pulso_events::NotificationDlqRecord {
                notification_id: None,
                channel: None,
                provider: None,
                reason: None,
                last_error: None,
                retry_count: None,
            }),
        ),
        inv(
            "2024-01-15T10:04:00Z",
            "i1",
            InventoryEvent::InsufficientStock {
                order_id: "o1".into(),
                sku: "A".into(),
                available: 0,
                requested: 1,
            },
        ),
        reserved("2024-01-15T10:05:00Z", "r1", "o1", &[("A", 1)]),
        creado(
            "2024-01-15T10:06:00Z",
            "c5",
            5,
            1,
            None,
            "2024-01-15T10:06:00Z",
        ),
        ev(
            Topic::NotificacionesEnviadas,
            "2024-01-15T10:07:00Z",
            "e1",
            Body::Caso(CasoEvent::NotificacionEnviada {
                send: c360,
                failed: false,
                tipo: "CREACION".into(),
            }),
        ),
        ciudadano("2024-01-15T10:08:00Z", "p1", 1005),
        configurada("2024-01-15T10:09:00Z", "d1", 1, Some(10)),
    ];
    let views = run_checked(&events, None);
    let got: Vec<_> = views
        .timelines
        .iter()
        .map(|e| {
            (
                e.entity_type.as_ref(),
                e.entity_id.as_ref(),
                e.event_id.as_ref(),
                e.topic.as_ref(),
                e.event_type.as_ref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "caso",
                "5",
                "s1",
                "notifications.events",
                "NOTIFICATION_SENT"
            ),
            ("caso", "5", "c5", "casos.creados", "casos.creados"),
            (
                "caso",
                "5",
                "e1",
                "notificaciones.enviadas",
                "notificaciones.enviadas"
            ),
            ("ciudadano", "1005", "c5", "casos.creados", "casos.creados"),
            (
                "ciudadano",
                "1005",
                "p1",
                "ciudadanos.registrados",
                "ciudadanos.registrados"
            ),
            (
                "notification",
                "c360-9",
                "e1",
                "notificaciones.enviadas",
                "notificaciones.enviadas"
            ),
            (
                "notification",
                "n1",
                "s1",
                "notifications.events",
                "NOTIFICATION_SENT"
            ),
            (
                "notification",
                "n1",
                "w1",
                "notifications.events",
                "NOTIFICATION_BOUNCED"
            ),
            (
                "notification",
                "n1",
                "notifications.dlq/0/3",
                "notifications.dlq",
                "NOTIFICATION_DEAD_LETTERED"
            ),
            (
                "order",
                "o1",
                "s1",
                "notifications.events",
                "NOTIFICATION_SENT"
            ),
            (
                "order",
                "o1",
                "i1",
                "inventory.events",
                "INSUFFICIENT_STOCK"
            ),
            (
                "order",
                "o1",
                "r1",
                "inventory.events",
                "INVENTORY_RESERVED"
            ),
            ("sku", "A", "i1", "inventory.events", "INSUFFICIENT_STOCK"),
        ]
    );
    // Timestamps are the events'.
    assert!(views
        .timelines
        .iter()
        .all(|e| e.timestamp >= t("2024-01-15T10:00:00Z")));
}

// ---- through the decoder ------------------------------------------------------------------

#[test]
fn compute_decodes_records() {
    let json = |offset: usize, text: &str| record(Topic::Orders, offset, text.as_bytes());
    let created = r#"{"event_id":"e1","event_type":"ORDER_CREATED","timestamp":"2024-01-15T10:30:00Z","tenant_id":"acme","order_id":"o1","customer_id":"c1","items":[{"sku":"A","quantity":2,"unit_price":5.25}],"total":10.50}"#;
    let confirmed = r#"{"event_id":"e2","event_type":"ORDER_CONFIRMED","timestamp":"2024-01-15T10:31:00Z","tenant_id":"acme","order_id":"o1"}"#;
    let records = vec![
        json(0, created),
        json(1, confirmed),
        json(2, confirmed),
        json(3, "{not json"),
    ];
    let views = crate::compute(&records, None);
    assert_eq!(views.as_of, Some(t("2024-01-15T10:31:00Z")));
    let day = views
        .order_metrics
        .iter()
        .find(|r| r.granularity == Granularity::Day)
        .unwrap();
    assert_eq!(
        (day.orders_confirmed, day.revenue_confirmed_total),
        (1, 1050)
    );
    let h = health(&views, Topic::Orders);
    assert_eq!((h.records, h.duplicates, h.rejected[0]), (4, 1, 1));
    assert_eq!(views.timelines.len(), 2);
    assert!(views.timelines.iter().all(|e| !e.summary.is_empty()));
}

// ---- scale --------------------------------------------------------------------------------

/// A million mixed events in a few seconds (run with `--ignored`).
#[test]
#[ignore]
fn a_million_events() {
    let base = t("2024-01-01T00:00:00Z");
    let mut decoded = Vec::with_capacity(1_000_000);
    for i in 0..1_000_000_i64 {
        let time = base + i * 7_919_000 % (30 * 86_400_000_000);
        let id = format!("e{i}");
        let n = i / 10;
        let (topic, body) = match i % 10 {
            0 => (
                Topic::Orders,
                Body::Order(OrderEvent::Confirmed {
                    order_id: format!("o{n}"),
                }),
            ),
            1 => (
                Topic::Orders,
                Body::Order(OrderEvent::Created {
                    order_id: format!("o{n}"),
                    customer_id: "c".into(),
                    items: Vec::new(),
                    total: i,
                    currency: "USD".into(),
                }),
            ),
            2 => (
                Topic::Notifications,
                Body::Notification(NotificationEvent::Sent(send(
                    &format!("n{n}"),
                    Channel::Email,
                    None,
                    Some(3),
                ))),
            ),
            3 => (
                Topic::Notifications,
                Body::Notification(NotificationEvent::Webhook {
                    notification_id: format!("n{n}"),
                    outcome: Outcome::Delivered,
                }),
            ),
            4 => (
                Topic::Inventory,
                Body::Inventory(InventoryEvent::StockAdjusted {
                    sku: format!("k{}", n % 1000),
                    delta: 1,
                }),
            ),
            5 => (
                Topic::Inventory,
                Body::Inventory(InventoryEvent::Reserved {
                    order_id: format!("o{n}"),
                    items: vec![Reservation {
                        sku: format!("k{}", n % 1000),
                        quantity: 1,
                    }],
                }),
            ),
            6 => (
                Topic::CasosCreados,
                creado(
                    "2024-01-01T00:00:00Z",
                    "x",
                    n,
                    n % 50,
                    None,
                    "2024-01-01T00:00:00Z",
                )
                .body,
            ),
            7 => (
                Topic::SlaCumplidos,
                Body::Caso(CasoEvent::SlaCumplido {
                    sla_id: n,
                    caso_id: n,
                }),
            ),
            8 => (
                Topic::CasosActualizados,
                actualizado(
                    "2024-01-01T00:00:00Z",
                    "x",
                    n,
                    &[("estado", Some("EN_PROCESO"))],
                )
                .body,
            ),
            _ => (
                Topic::Notifications,
                Body::Notification(NotificationEvent::Sent(send(
                    &format!("n{n}"),
                    Channel::Sms,
                    None,
                    None,
                ))),
            ),
        };
        let mut e = ev(topic, "2024-01-01T00:00:00Z", &id, body);
        e.timestamp = time;
        decoded.push((record(topic, i as usize, id.as_bytes()), Ok(e)));
    }
    let start = std::time::Instant::now();
    let views = compute_from_decoded(decoded, None);
    let took = start.elapsed();
    assert!(!views.timelines.is_empty());
    assert!(took.as_secs() < 30, "took {took:?}");
    eprintln!("1M events: {took:?}");
}
