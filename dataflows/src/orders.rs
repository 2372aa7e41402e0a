//! `order_metrics` and `order_cancellations`: each order is summarised from its earliest
//! `ORDER_CREATED` (tenant, currency, total) and its latest confirm/cancel, then added to its
//! creation windows (per tenant and currency: money is never summed across currencies). A confirm
//! that arrives before its order is held in the order's group and counted when the order arrives.

use differential_dataflow::collection::VecCollection;
use differential_dataflow::operators::CountTotal;
use pulso_events::registry::{View, ViewSelection};
use pulso_events::time::Granularity;
use pulso_events::views::{OrderCancellations, OrderMetrics};
use pulso_events::{Body, Event, OrderEvent, Topic};
use serde::{Deserialize, Serialize};

use crate::event_id::EventId;
use crate::health;
use crate::intern::{EntityId, Interner, Name};
use crate::pack::{Pack, Packer, Unpacker};
use crate::retention::{Retention, WindowHorizons};
use crate::summarise::{summarise_expiring, Expiry};
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::windows::sum_windows;
use crate::{Epoch, SharedEvent};

/// One event of an order; creations sort before status changes, each by `(timestamp, event_id)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum OrderFact {
    /// `(timestamp, event_id, tenant, currency, total)` of an `ORDER_CREATED`.
    Created(i64, EventId, Name, Name, i64),
    /// `(timestamp, event_id, cancel reason)`; `None` for a confirm.
    Status(i64, EventId, Option<Name>),
}

impl Pack for OrderFact {
    fn pack(&self, out: &mut Packer<'_>) {
        match self {
            OrderFact::Created(at, id, tenant, currency, total) => {
                out.byte(0);
                at.pack(out);
                id.pack(out);
                tenant.pack(out);
                currency.pack(out);
                total.pack(out);
            }
            OrderFact::Status(at, id, reason) => {
                out.byte(1);
                at.pack(out);
                id.pack(out);
                reason.pack(out);
            }
        }
    }

    fn unpack(input: &mut Unpacker<'_>) -> Self {
        if input.byte() == 0 {
            let (at, id, tenant) = Pack::unpack(input);
            let (currency, total) = Pack::unpack(input);
            OrderFact::Created(at, id, tenant, currency, total)
        } else {
            let (at, id, reason) = Pack::unpack(input);
            OrderFact::Status(at, id, reason)
        }
    }
}

/// What one order contributes to the views.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum OrderSummary {
    /// An existing order.
    Order {
        tenant_id: Name,
        currency: Name,
        created_at: i64,
        total: i64,
        /// `None`: pending; `Some(None)`: confirmed; `Some(Some(reason))`: cancelled.
        status: Option<Option<Name>>,
    },
    /// Confirms/cancels of an order never created.
    Orphans(i64),
}

fn fact(event: &Event, names: &mut Interner) -> Option<(EntityId, OrderFact)> {
    let Body::Order(order) = &event.body else {
        return None;
    };
    let (ts, id) = (event.timestamp, EventId::new(&event.event_id));
    let fact = match order {
        OrderEvent::Created {
            total, currency, ..
        } => OrderFact::Created(
            ts,
            id,
            names.name(&event.tenant_id),
            names.name(currency),
            *total,
        ),
        OrderEvent::Confirmed { .. } => OrderFact::Status(ts, id, None),
        OrderEvent::Cancelled { reason, .. } => OrderFact::Status(ts, id, Some(names.name(reason))),
    };
    Some((EntityId::from(order.order_id()), fact))
}

fn summarise(facts: &[(&OrderFact, isize)]) -> OrderSummary {
    let latest_status = match facts[facts.len() - 1].0 {
        OrderFact::Status(_, _, reason) => Some(reason.clone()),
        OrderFact::Created(..) => None,
    };
    match facts[0].0 {
        OrderFact::Created(created_at, _, tenant_id, currency, total) => OrderSummary::Order {
            tenant_id: tenant_id.clone(),
            currency: currency.clone(),
            created_at: *created_at,
            total: *total,
            status: latest_status,
        },
        OrderFact::Status(..) => OrderSummary::Orphans(facts.iter().map(|(_, n)| *n as i64).sum()),
    }
}

/// The order views selected (`None`: not built) and the orphan confirms/cancels.
pub struct OrderViews<'s> {
    /// `order_metrics` rows.
    pub metrics: Option<VecCollection<'s, Epoch, OrderMetrics>>,
    /// `order_cancellations` rows.
    pub cancellations: Option<VecCollection<'s, Epoch, OrderCancellations>>,
    /// Orphan contributions to `pipeline_health`.
    pub orphans: VecCollection<'s, Epoch, (Topic, Sums)>,
}

/// Builds the order views `views` selects.
///
/// An order whose latest event is earlier than `W(e) - entities` leaves the state (its counts
/// stay); an event that names it later starts it afresh.
pub fn order_views<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
    maxima: Maxima<'s>,
    retention: Retention,
    views: &ViewSelection,
) -> OrderViews<'s> {
    let mut names = Interner::default();
    let facts = events.flat_map(move |event| {
        let at = event.timestamp;
        fact(&event, &mut names).map(|(id, fact)| (id, (fact, at)))
    });
    let expiry = Expiry::after(maxima.clone(), retention.entities, |_| false);
    let summaries = summarise_expiring("OrderSummary", facts, expiry, |_id, facts, output| {
        output.push((summarise(facts), 1));
    })
    .map(|(_id, summary)| summary);

    let metrics = views
        .contains(OrderMetrics::NAME)
        .then(|| metrics(&summaries, maxima, retention.windows));
    let cancellations = views
        .contains(OrderCancellations::NAME)
        .then(|| cancellations(&summaries));
    let orphans = summaries.flat_map(|summary| match summary {
        OrderSummary::Orphans(n) => Some(health::orphans(Topic::Orders, n)),
        OrderSummary::Order { .. } => None,
    });

    OrderViews {
        metrics,
        cancellations,
        orphans,
    }
}

/// `order_metrics`: each order in its creation windows, per tenant and currency.
fn metrics<'s>(
    summaries: &VecCollection<'s, Epoch, OrderSummary>,
    maxima: Maxima<'s>,
    windows: WindowHorizons,
) -> VecCollection<'s, Epoch, OrderMetrics> {
    sum_windows(
        "OrderMetrics",
        summaries.clone().explode(|summary| {
            let mut out = Vec::new();
            if let OrderSummary::Order {
                tenant_id,
                currency,
                created_at,
                total,
                status,
            } = summary
            {
                // created, confirmed, cancelled, pending, revenue confirmed, lost, pending
                let totals = match status {
                    Some(None) => [1, 1, 0, 0, total, 0, 0],
                    Some(Some(_)) => [1, 0, 1, 0, 0, total, 0],
                    None => [1, 0, 0, 1, 0, 0, total],
                };
                for granularity in Granularity::ALL {
                    let key = (
                        tenant_id.clone(),
                        currency.clone(),
                        granularity,
                        granularity.floor(created_at),
                    );
                    out.push((key, Sums::<7>::of(&totals)));
                }
            }
            out
        }),
        |k| (k.2, k.3),
        maxima,
        windows,
    )
    .map(
        |((tenant_id, currency, granularity, window_start), s)| OrderMetrics {
            tenant_id: (*tenant_id).to_owned(),
            currency: (*currency).to_owned(),
            granularity,
            window_start,
            orders_created: s.count(0),
            orders_confirmed: s.count(1),
            orders_cancelled: s.count(2),
            orders_pending: s.count(3),
            revenue_confirmed_total: s.get(4),
            revenue_lost_total: s.get(5),
            revenue_pending_total: s.get(6),
        },
    )
}

/// `order_cancellations`: the cancelled orders per tenant and reason.
fn cancellations<'s>(
    summaries: &VecCollection<'s, Epoch, OrderSummary>,
) -> VecCollection<'s, Epoch, OrderCancellations> {
    summaries
        .clone()
        .flat_map(|summary| match summary {
            OrderSummary::Order {
                tenant_id,
                status: Some(Some(reason)),
                ..
            } => Some((tenant_id, reason)),
            _ => None,
        })
        .count_total()
        .map(|((tenant_id, reason), n)| OrderCancellations {
            tenant_id: (*tenant_id).to_owned(),
            reason: (*reason).to_owned(),
            orders: n as i64,
        })
}
