//! `order_metrics` and `order_cancellations`.
//!
//! An order (identified by `order_id` alone) exists once it has an `ORDER_CREATED`; its
//! earliest one gives its tenant, currency, creation time and total. Its status is that of its latest
//! `ORDER_CONFIRMED`/`ORDER_CANCELLED`, else `PENDING`. Confirms and cancels of orders never
//! created count nowhere (they are orphans).

use std::collections::{BTreeMap, HashMap};

use pulso_events::money::Cents;
use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{OrderCancellations, OrderMetrics};
use pulso_events::{Body, Event, OrderEvent};

use crate::pick::{order, Earliest, EventOrder, Latest};

/// An order's status.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Confirmed,
    Cancelled,
}

/// Everything known about one order.
#[derive(Default)]
struct Order<'a> {
    /// The earliest `ORDER_CREATED`: (event, total, currency).
    created: Earliest<EventOrder<'a>, (&'a Event, Cents, &'a str)>,
    /// The latest confirm or cancel: (status, cancel reason).
    decision: Latest<EventOrder<'a>, (Status, &'a str)>,
}

/// An existing order, resolved.
struct Resolved<'a> {
    tenant_id: &'a str,
    /// The creation's currency (the decoder defaults it to `USD`).
    currency: &'a str,
    created_at: Micros,
    total: Cents,
    /// `None` is `PENDING`.
    status: Option<(Status, &'a str)>,
}

/// Every order that exists.
fn orders(winners: &[Event]) -> Vec<Resolved<'_>> {
    let mut all: HashMap<&str, Order<'_>> = HashMap::new();
    for e in winners {
        let Body::Order(o) = &e.body else { continue };
        let entry = all.entry(o.order_id()).or_default();
        match o {
            OrderEvent::Created {
                total, currency, ..
            } => entry
                .created
                .offer(order(e), (e, *total, currency.as_str())),
            OrderEvent::Confirmed { .. } => entry.decision.offer(order(e), (Status::Confirmed, "")),
            OrderEvent::Cancelled { reason, .. } => entry
                .decision
                .offer(order(e), (Status::Cancelled, reason.as_str())),
        }
    }
    all.into_values()
        .filter_map(|o| {
            let (created, total, currency) = *o.created.value()?;
            Some(Resolved {
                tenant_id: &created.tenant_id,
                currency,
                created_at: created.timestamp,
                total,
                status: o.decision.value().copied(),
            })
        })
        .collect()
}

/// `order_metrics` at every granularity, per tenant and currency of the creation (money is
/// never summed across currencies).
pub(crate) fn order_metrics(winners: &[Event]) -> Vec<OrderMetrics> {
    type Key = (String, String, Granularity, Micros);
    let mut rows: BTreeMap<Key, OrderMetrics> = BTreeMap::new();
    for o in orders(winners) {
        for granularity in Granularity::ALL {
            let window_start = granularity.floor(o.created_at);
            let row = rows
                .entry((
                    o.tenant_id.to_string(),
                    o.currency.to_string(),
                    granularity,
                    window_start,
                ))
                .or_insert_with(|| OrderMetrics {
                    tenant_id: o.tenant_id.to_string(),
                    currency: o.currency.to_string(),
                    granularity,
                    window_start,
                    orders_created: 0,
                    orders_confirmed: 0,
                    orders_cancelled: 0,
                    orders_pending: 0,
                    revenue_confirmed_total: 0,
                    revenue_lost_total: 0,
                    revenue_pending_total: 0,
                });
            row.orders_created += 1;
            match o.status {
                Some((Status::Confirmed, _)) => {
                    row.orders_confirmed += 1;
                    row.revenue_confirmed_total += i128::from(o.total);
                }
                Some((Status::Cancelled, _)) => {
                    row.orders_cancelled += 1;
                    row.revenue_lost_total += i128::from(o.total);
                }
                None => {
                    row.orders_pending += 1;
                    row.revenue_pending_total += i128::from(o.total);
                }
            }
        }
    }
    rows.into_values().collect()
}

/// `order_cancellations`: orders now `CANCELLED`, per tenant and reason of the latest cancel.
pub(crate) fn order_cancellations(winners: &[Event]) -> Vec<OrderCancellations> {
    let mut rows: BTreeMap<(String, String), i64> = BTreeMap::new();
    for o in orders(winners) {
        // The latest decision is a cancel, hence also the latest cancel.
        if let Some((Status::Cancelled, reason)) = o.status {
            *rows
                .entry((o.tenant_id.to_string(), reason.to_string()))
                .or_default() += 1;
        }
    }
    rows.into_iter()
        .map(|((tenant_id, reason), orders)| OrderCancellations {
            tenant_id,
            reason,
            orders,
        })
        .collect()
}
