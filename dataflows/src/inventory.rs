//! `inventory_levels`: on-hand from each sku's latest stock count plus later adjustments,
//! reservations of orders not released, and insufficient-stock events, summed per sku.

use differential_dataflow::collection::VecCollection;
use pulso_events::money::saturate;
use pulso_events::views::InventoryLevels;
use pulso_events::{Body, InventoryEvent};
use serde::{Deserialize, Serialize};

use crate::aggregate::sum_by_key;
use crate::intern::EntityId;
use crate::pack::{Pack, Packer, Unpacker};
use crate::retention::Retention;
use crate::summarise::{summarise_expiring, Expiry, Fold};
use crate::sums::Sums;
use crate::watermark::Maxima;
use crate::{Epoch, SharedEvent};

/// `(tenant_id, sku)`.
type SkuKey = (String, String);

/// A stock event of a sku, ordered by `(timestamp, event_id)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct StockFact {
    timestamp: i64,
    event_id: String,
    /// `true`: absolute `STOCK_SET` (or the level that earlier facts folded into); `false`:
    /// relative `STOCK_ADJUSTED`.
    absolute: bool,
    value: i128,
}

/// A reservation event of an order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum ReservationFact {
    /// The order released everything it reserved.
    Released,
    /// One reserved line: `(tenant, sku, quantity)`.
    Reserved(String, String, i64),
}

impl Pack for StockFact {
    fn pack(&self, out: &mut Packer<'_>) {
        self.timestamp.pack(out);
        self.event_id.pack(out);
        self.absolute.pack(out);
        self.value.pack(out);
    }

    fn unpack(input: &mut Unpacker<'_>) -> Self {
        let (timestamp, event_id, absolute) = Pack::unpack(input);
        StockFact {
            timestamp,
            event_id,
            absolute,
            value: Pack::unpack(input),
        }
    }
}

impl Pack for ReservationFact {
    fn pack(&self, out: &mut Packer<'_>) {
        match self {
            ReservationFact::Released => out.byte(0),
            ReservationFact::Reserved(tenant, sku, quantity) => {
                out.byte(1);
                tenant.pack(out);
                sku.pack(out);
                quantity.pack(out);
            }
        }
    }

    fn unpack(input: &mut Unpacker<'_>) -> Self {
        match input.byte() {
            0 => ReservationFact::Released,
            _ => {
                let (tenant, sku, quantity) = Pack::unpack(input);
                ReservationFact::Reserved(tenant, sku, quantity)
            }
        }
    }
}

/// Totals per sku: on_hand, reserved, insufficient_stock_events, mentions.
const ON_HAND: usize = 0;
const RESERVED: usize = 1;
const INSUFFICIENT: usize = 2;
const MENTIONS: usize = 3;

/// The totals of an inventory row: on hand, reserved, insufficient, mentions.
type Levels = Sums<4>;

/// The on-hand level from a sku's stock events (sorted by `(timestamp, event_id)`).
fn on_hand(facts: &[(&StockFact, isize)]) -> i128 {
    let start = facts.iter().rposition(|(f, _)| f.absolute).unwrap_or(0);
    facts[start..]
        .iter()
        .map(|(f, n)| {
            if f.absolute {
                f.value
            } else {
                f.value * *n as i128
            }
        })
        .sum()
}

/// The level a sku's final stock facts come to, as one absolute fact at the latest of them
/// (every later fact sorts after it: see [`Fold`]).
fn fold_stock(facts: &[(&StockFact, isize)]) -> StockFact {
    let latest = facts[facts.len() - 1].0;
    StockFact {
        timestamp: latest.timestamp,
        event_id: latest.event_id.clone(),
        absolute: true,
        value: on_hand(facts),
    }
}

/// Builds `inventory_levels`.
///
/// Stock levels are kept for good (skus are few), each sku's stock events earlier than
/// `W(e) - late_after` folded into the level they come to; a reservation whose latest event is earlier
/// than `W(e) - entities` leaves the state (its quantity stays reserved unless released later
/// within the same reservation: a later release starts the order afresh, as an orphan).
pub fn inventory_levels<'s>(
    events: VecCollection<'s, Epoch, SharedEvent>,
    maxima: Maxima<'s>,
    retention: Retention,
) -> VecCollection<'s, Epoch, InventoryLevels> {
    // The inventory events themselves (a pointer each): each consumer copies only what it keeps.
    let inventory = events.filter(|event| matches!(event.body, Body::Inventory(_)));

    let stock = inventory.clone().flat_map(|event| {
        let (sku, absolute, value) = match &event.body {
            Body::Inventory(InventoryEvent::StockSet { sku, on_hand }) => (sku, true, on_hand),
            Body::Inventory(InventoryEvent::StockAdjusted { sku, delta }) => (sku, false, delta),
            _ => return None,
        };
        let fact = StockFact {
            timestamp: event.timestamp,
            event_id: event.event_id.clone(),
            absolute,
            value: i128::from(*value),
        };
        Some((
            (event.tenant_id.clone(), sku.clone()),
            (fact, event.timestamp),
        ))
    });
    let fold = Fold {
        late_after: retention.late_after,
        fold: fold_stock,
    };
    let stock = summarise_expiring(
        "OnHand",
        stock,
        Expiry::never(maxima.clone(), fold),
        |_sku, facts, output| output.push((on_hand(facts), 1)),
    )
    .explode(|(sku, level): (SkuKey, i128)| Some((sku, Levels::one_at(ON_HAND, level))));

    let reservations = inventory.clone().flat_map(|event| match &event.body {
        Body::Inventory(InventoryEvent::Reserved { order_id, items }) => items
            .iter()
            .map(|item| {
                let (tenant, sku) = (event.tenant_id.clone(), item.sku.clone());
                let fact = ReservationFact::Reserved(tenant, sku, item.quantity);
                (EntityId::from(order_id.as_str()), (fact, event.timestamp))
            })
            .collect(),
        Body::Inventory(InventoryEvent::Released { order_id }) => {
            let fact = (ReservationFact::Released, event.timestamp);
            vec![(EntityId::from(order_id.as_str()), fact)]
        }
        _ => Vec::new(),
    });
    let expiry = Expiry::after(maxima, retention.entities, |_| false);
    let reserved = summarise_expiring(
        "ReservedUnlessReleased",
        reservations,
        expiry,
        |_order, facts, output| {
            if matches!(facts[0].0, ReservationFact::Released) {
                return;
            }
            for (fact, n) in facts {
                if let ReservationFact::Reserved(tenant, sku, quantity) = fact {
                    output.push(((tenant.clone(), sku.clone(), *quantity * *n as i64), 1));
                }
            }
        },
    )
    .explode(|(_order, (tenant, sku, quantity))| {
        Some((
            (tenant, sku),
            Levels::one_at(RESERVED, i128::from(quantity)),
        ))
    });

    let mentions = inventory.explode(|event| {
        let key = |sku: &String| (event.tenant_id.clone(), sku.clone());
        let mut out = Vec::new();
        match &event.body {
            Body::Inventory(
                InventoryEvent::StockSet { sku, .. } | InventoryEvent::StockAdjusted { sku, .. },
            ) => out.push((key(sku), Levels::one_at(MENTIONS, 1))),
            Body::Inventory(InventoryEvent::Reserved { items, .. }) => {
                for item in items {
                    out.push((key(&item.sku), Levels::one_at(MENTIONS, 1)));
                }
            }
            Body::Inventory(InventoryEvent::InsufficientStock { sku, .. }) => {
                let mut sums = Levels::one_at(MENTIONS, 1);
                sums.0[INSUFFICIENT] = 1;
                out.push((key(sku), sums));
            }
            _ => {}
        }
        out
    });

    sum_by_key(stock.concat(reserved).concat(mentions))
        .filter(|(_, s)| s.count(MENTIONS) > 0)
        .map(|((tenant_id, sku), s)| InventoryLevels {
            tenant_id,
            sku,
            on_hand: s.count(ON_HAND),
            reserved: s.count(RESERVED),
            available: saturate(s.get(ON_HAND) - s.get(RESERVED), "available"),
            insufficient_stock_events: s.count(INSUFFICIENT),
        })
}
