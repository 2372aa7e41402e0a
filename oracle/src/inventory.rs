//! `inventory_levels`, per `(tenant_id of each inventory event, sku)`.
//!
//! `on_hand` is the latest `STOCK_SET` plus the deltas of the `STOCK_ADJUSTED` strictly later
//! than it (all of them without a `STOCK_SET`). `reserved` sums every item line of every
//! `INVENTORY_RESERVED` whose order (by `order_id` alone) has no `INVENTORY_RELEASED`, at
//! any time. A row exists for every `(tenant, sku)` any inventory event names.

use std::collections::{BTreeMap, HashSet};

use pulso_events::money::saturate;
use pulso_events::views::InventoryLevels;
use pulso_events::{Body, Event, InventoryEvent};

use crate::pick::{order, EventOrder, Latest};

/// Everything known about one `(tenant, sku)`.
#[derive(Default)]
struct Sku<'a> {
    /// The latest `STOCK_SET`'s `on_hand`.
    set: Latest<EventOrder<'a>, i64>,
    /// Every `STOCK_ADJUSTED`: (order, delta).
    adjustments: Vec<(EventOrder<'a>, i64)>,
    /// Every reserved item line: (order_id, quantity).
    reservations: Vec<(&'a str, i64)>,
    /// `INSUFFICIENT_STOCK` events.
    insufficient: i64,
}

/// `inventory_levels`.
pub(crate) fn inventory_levels(winners: &[Event]) -> Vec<InventoryLevels> {
    let mut skus: BTreeMap<(&str, &str), Sku<'_>> = BTreeMap::new();
    let mut released: HashSet<&str> = HashSet::new();
    for e in winners {
        let Body::Inventory(i) = &e.body else {
            continue;
        };
        let tenant = e.tenant_id.as_str();
        match i {
            InventoryEvent::StockSet { sku, on_hand } => {
                skus.entry((tenant, sku))
                    .or_default()
                    .set
                    .offer(order(e), *on_hand);
            }
            InventoryEvent::StockAdjusted { sku, delta } => {
                skus.entry((tenant, sku))
                    .or_default()
                    .adjustments
                    .push((order(e), *delta));
            }
            InventoryEvent::Reserved { order_id, items } => {
                for item in items {
                    skus.entry((tenant, &item.sku))
                        .or_default()
                        .reservations
                        .push((order_id, item.quantity));
                }
            }
            InventoryEvent::Released { order_id } => {
                released.insert(order_id);
            }
            InventoryEvent::InsufficientStock { sku, .. } => {
                skus.entry((tenant, sku)).or_default().insufficient += 1;
            }
        }
    }

    skus.into_iter()
        .map(|((tenant_id, sku), s)| {
            let base = i128::from(s.set.value().copied().unwrap_or(0));
            let since = s.set.key();
            let adjusted: i128 = s
                .adjustments
                .iter()
                .filter(|(at, _)| since.is_none_or(|set_at| at > set_at))
                .map(|(_, delta)| i128::from(*delta))
                .sum();
            let on_hand = base + adjusted;
            let reserved: i128 = s
                .reservations
                .iter()
                .filter(|(order_id, _)| !released.contains(order_id))
                .map(|(_, quantity)| i128::from(*quantity))
                .sum();
            InventoryLevels {
                tenant_id: tenant_id.to_string(),
                sku: sku.to_string(),
                on_hand: saturate(on_hand, "on_hand"),
                reserved: saturate(reserved, "reserved"),
                available: saturate(on_hand - reserved, "available"),
                insufficient_stock_events: s.insufficient,
            }
        })
        .collect()
}
