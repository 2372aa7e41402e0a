//! E-commerce saga (seed 000-002): orders, inventory reservations and stock levels.

use pulso_events::Topic;
use serde_json::{json, Value};

use super::engine::Generator;
use super::format::{money, MIN, SEC};
use super::world::TENANTS;

impl Generator {
    /// A `STOCK_SET` count of every sku at the start of the stream.
    pub(crate) fn bootstrap_stock(&mut self, t0: i64) {
        for i in 0..self.world.skus.len() {
            let tenant = self.world.skus[i].tenant;
            let sku = self.world.skus[i].id.clone();
            let on_hand = self.between(20, 500);
            let ts = t0 + i as i64 * 200_000;
            let value = self.env_a(
                tenant,
                "STOCK_SET",
                ts,
                json!({ "sku": sku, "on_hand": on_hand }),
            );
            self.emit(Topic::Inventory, ts, value);
        }
    }

    /// A restock, shrinkage or recount of one sku.
    pub(crate) fn stock_event(&mut self, t0: i64) {
        let i = self.between(0, self.world.skus.len() as i64) as usize;
        let tenant = self.world.skus[i].tenant;
        let sku = self.world.skus[i].id.clone();
        let value = match self.weighted(&[45, 40, 15]) {
            0 => {
                let delta = self.between(10, 200);
                self.env_a(
                    tenant,
                    "STOCK_ADJUSTED",
                    t0,
                    json!({ "sku": sku, "delta": delta }),
                )
            }
            1 => {
                let delta = -self.between(1, 6);
                self.env_a(
                    tenant,
                    "STOCK_ADJUSTED",
                    t0,
                    json!({ "sku": sku, "delta": delta }),
                )
            }
            _ => {
                let on_hand = self.between(0, 400);
                self.env_a(
                    tenant,
                    "STOCK_SET",
                    t0,
                    json!({ "sku": sku, "on_hand": on_hand }),
                )
            }
        };
        self.emit(Topic::Inventory, t0, value);
    }

    /// One order's saga: creation, reservation (or insufficient stock), then confirmation,
    /// cancellation (with release) or nothing yet; confirmed orders often get a notification.
    pub(crate) fn order_saga(&mut self, t0: i64) {
        let tenant = self.tenant();
        self.world.next_order += 1;
        let order_id = format!("ord-{:08}", self.world.next_order);
        let customer_id = format!("cus-{:06}", self.between(1, 60_000));
        let n_items = 1 + self.weighted(&[50, 30, 15, 5]);
        let pool = self.world.skus_by_tenant[tenant].clone();
        let mut lines: Vec<(String, i64, i64)> = Vec::new();
        for _ in 0..n_items {
            let index = self.pick(&pool);
            let sku = &self.world.skus[index];
            let (id, price) = (sku.id.clone(), sku.price_cents);
            if lines.iter().any(|(s, _, _)| *s == id) {
                continue;
            }
            let quantity = 1 + self.weighted(&[70, 20, 6, 4]) as i64;
            lines.push((id, quantity, price));
        }
        let total: i64 = lines.iter().map(|(_, q, p)| q * p).sum();
        let items: Vec<Value> = lines
            .iter()
            .map(|(sku, q, p)| json!({ "sku": sku, "quantity": q, "unit_price": money(*p) }))
            .collect();
        let mut fields = json!({
            "order_id": order_id,
            "customer_id": customer_id,
            "items": items,
            "total": money(total),
        });
        // Several currencies (order_metrics is per currency): globex sells in EUR, initech in
        // MXN and COP (alternate orders), the others in USD, named or (30%) left to the
        // default.
        match (TENANTS[tenant], self.chance(0.3)) {
            (Some("globex"), _) => fields["currency"] = json!("EUR"),
            (Some("initech"), _) => {
                let currency = if self.world.next_order.is_multiple_of(2) {
                    "MXN"
                } else {
                    "COP"
                };
                fields["currency"] = json!(currency);
            }
            (_, true) => {}
            _ => fields["currency"] = json!("USD"),
        }
        let created = self.env_a(tenant, "ORDER_CREATED", t0, fields);
        if !self.emit(Topic::Orders, t0, created) {
            return;
        }

        let t1 = t0 + self.between(200_000, 5 * SEC);
        if self.chance(0.05) {
            let (sku, requested, _) = lines[0].clone();
            let available = self.between(0, requested);
            let fields = json!({ "order_id": order_id, "sku": sku, "available": available, "requested": requested });
            let event = self.env_a(tenant, "INSUFFICIENT_STOCK", t1, fields);
            self.emit(Topic::Inventory, t1, event);
            let t2 = t1 + self.between(100_000, 2 * SEC);
            self.cancel(tenant, &order_id, "INSUFFICIENT_STOCK", t2);
            return;
        }
        let reserved: Vec<Value> = lines
            .iter()
            .map(|(sku, q, _)| json!({ "sku": sku, "quantity": q }))
            .collect();
        let event = self.env_a(
            tenant,
            "INVENTORY_RESERVED",
            t1,
            json!({ "order_id": order_id, "items": reserved }),
        );
        self.emit(Topic::Inventory, t1, event);

        let t2 = t1 + self.between(2 * SEC, 3 * MIN);
        match self.weighted(&[80, 8, 4, 8]) {
            0 | 2 => {
                let event = self.env_a(
                    tenant,
                    "ORDER_CONFIRMED",
                    t2,
                    json!({ "order_id": order_id }),
                );
                self.emit(Topic::Orders, t2, event);
                if self.chance(0.7) {
                    let at = t2 + self.between(SEC, 30 * SEC);
                    self.notification(at, tenant, Some(order_id.clone()));
                }
                if self.chance(1.0 / 3.0) {
                    let t3 = t2 + self.between(30 * MIN, 48 * 60 * MIN);
                    self.cancel(tenant, &order_id, "CUSTOMER_REQUEST", t3);
                    let at = t3 + self.between(SEC, 10 * SEC);
                    self.release(tenant, &order_id, at);
                }
            }
            1 => {
                self.cancel(tenant, &order_id, "PAYMENT_FAILED", t2);
                let at = t2 + self.between(SEC, 10 * SEC);
                self.release(tenant, &order_id, at);
            }
            _ => {} // still pending
        }
    }

    fn cancel(&mut self, tenant: usize, order_id: &str, reason: &str, ts: i64) {
        let event = self.env_a(
            tenant,
            "ORDER_CANCELLED",
            ts,
            json!({ "order_id": order_id, "reason": reason }),
        );
        self.emit(Topic::Orders, ts, event);
    }

    fn release(&mut self, tenant: usize, order_id: &str, ts: i64) {
        let event = self.env_a(
            tenant,
            "INVENTORY_RELEASED",
            ts,
            json!({ "order_id": order_id }),
        );
        self.emit(Topic::Inventory, ts, event);
    }

    /// An `ORDER_CONFIRMED` / `ORDER_CANCELLED` for an order that is never created.
    pub(crate) fn orphan_order_outcome(&mut self, t0: i64) {
        let tenant = self.tenant();
        self.world.next_orphan += 1;
        let order_id = format!("ord-9{:07}", self.world.next_orphan);
        let event = if self.chance(0.6) {
            self.env_a(
                tenant,
                "ORDER_CONFIRMED",
                t0,
                json!({ "order_id": order_id }),
            )
        } else {
            self.env_a(
                tenant,
                "ORDER_CANCELLED",
                t0,
                json!({ "order_id": order_id, "reason": "PAYMENT_FAILED" }),
            )
        };
        if self.emit(Topic::Orders, t0, event) {
            self.stats.orphans += 1;
        }
    }
}
