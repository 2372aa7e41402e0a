//! Notification platform (seed 003): sends, provider webhooks, and the service's own
//! dead-letter records on `notifications.dlq`.

use pulso_events::Topic;
use serde_json::{json, Value};

use super::engine::Generator;
use super::format::{self, money, HOUR, MIN, SEC};
use super::world::TENANTS;

const CHANNELS: [&str; 4] = ["EMAIL", "SMS", "PUSH", "WHATSAPP"];
const EMAIL_PROVIDERS: [&str; 3] = ["SendGrid", "SES", "Mailgun"];
const SMS_PROVIDERS: [&str; 3] = ["Twilio", "Vonage", "Infobip"];
const PUSH_PROVIDERS: [&str; 2] = ["FCM", "APNs"];
const WHATSAPP_PROVIDERS: [&str; 2] = ["Meta", "Twilio"];
const HARD_REASONS: [&str; 3] = [
    "mailbox_does_not_exist",
    "invalid_recipient",
    "domain_not_found",
];
const SOFT_REASONS: [&str; 3] = ["mailbox_full", "temporary_failure", "message_too_large"];
const ERRORS: [&str; 4] = [
    "500 Internal Server Error",
    "provider timeout after 30s",
    "429 Too Many Requests",
    "connection reset by peer",
];
const TEMPLATES: [&str; 4] = [
    "order_confirmation",
    "shipping_update",
    "password_reset",
    "weekly_digest",
];
/// The A/B variants of the marketing campaign (`notification_variants`).
const CAMPAIGN_VARIANTS: [&str; 2] = ["promo_campaign_a", "promo_campaign_b"];

/// Delivery delay of a channel in µs: `(typical low, typical high, tail high)`; one delivery
/// in ten lands in the tail, often past the channel's SLA target (EMAIL 30 s, SMS 10 s,
/// PUSH 5 s, WHATSAPP 10 s).
fn delivery_delay(channel: &str) -> (i64, i64, i64) {
    match channel {
        "EMAIL" => (2 * SEC, 20 * SEC, 3 * MIN),
        "SMS" => (SEC, 8 * SEC, 45 * SEC),
        "PUSH" => (SEC / 5, 3 * SEC, 20 * SEC),
        _ => (SEC, 6 * SEC, 30 * SEC),
    }
}

impl Generator {
    /// The provider used for `channel`.
    pub(crate) fn provider_for(&mut self, channel: &str) -> &'static str {
        match channel {
            "EMAIL" => self.pick(&EMAIL_PROVIDERS),
            "SMS" => self.pick(&SMS_PROVIDERS),
            "PUSH" => self.pick(&PUSH_PROVIDERS),
            _ => self.pick(&WHATSAPP_PROVIDERS),
        }
    }

    /// One notification's life: its send and the webhooks that follow (sometimes arriving
    /// before the send), and a dead letter for some failures.
    pub(crate) fn notification(&mut self, t0: i64, tenant: usize, order_id: Option<String>) {
        self.world.next_notification += 1;
        let notification_id = format!("ntf-{:09}", self.world.next_notification);
        let channel = CHANNELS[self.weighted(&[50, 20, 20, 10])];
        let provider = self.provider_for(channel);
        let marketing = order_id.is_none() && self.chance(0.4);
        let mut fields = json!({
            "notification_id": notification_id,
            "channel": channel,
            "provider": provider,
        });
        if marketing {
            fields["category"] = json!("MARKETING");
        } else if self.chance(0.5) {
            fields["category"] = json!("TRANSACTIONAL");
        }
        match self.weighted(&[6, 20, 74]) {
            0 => {
                let preferred = match channel {
                    "SMS" | "EMAIL" => self.pick(&["WHATSAPP", "PUSH"]),
                    _ => self.pick(&["SMS", "EMAIL"]),
                };
                fields["preferred_channel"] = json!(preferred);
            }
            1 => fields["preferred_channel"] = json!(channel),
            _ => {}
        }
        let cost = match channel {
            "SMS" => Some(self.between(5, 10)),
            "WHATSAPP" => Some(self.between(3, 9)),
            "EMAIL" if self.chance(0.6) => Some(self.between(0, 2)),
            "PUSH" if self.chance(0.2) => Some(0),
            _ => None,
        };
        if let Some(cents) = cost {
            fields["cost"] = money(cents);
        }
        let template = match &order_id {
            Some(_) => Some("order_confirmation"),
            None if marketing => Some(self.pick(&CAMPAIGN_VARIANTS)),
            None if self.chance(0.7) => Some(self.pick(&TEMPLATES[1..4])),
            None => None,
        };
        if let Some(template) = template {
            fields["template"] = json!(template);
        }
        if let Some(order_id) = &order_id {
            fields["order_id"] = json!(order_id);
        } else if !self.world.recent_casos.is_empty() && self.chance(0.05) {
            let recent = self.world.recent_casos.clone();
            fields["caso_id"] = json!(self.pick(&recent));
        }
        let send = self.env_a(tenant, "NOTIFICATION_SENT", t0, fields);

        // The webhooks, built first so the send can be delivered after one of them. Most
        // providers know nothing of the tenant.
        let send_tenant = tenant;
        let tenant = if self.chance(0.8) {
            Generator::NO_TENANT
        } else {
            tenant
        };
        let mut webhooks: Vec<(i64, Value)> = Vec::new();
        let bounce_rate = if channel == "EMAIL" { 6 } else { 2 };
        let mut t = t0 + self.between(500_000, 90 * SEC);
        match self.weighted(&[4, bounce_rate, 100 - 4 - bounce_rate]) {
            0 => {
                let mut f = json!({ "notification_id": notification_id });
                if self.chance(0.85) {
                    f["last_error"] = json!(self.pick(&ERRORS));
                }
                if self.chance(0.85) {
                    f["retry_count"] = json!(self.between(1, 6));
                }
                t += self.between(30 * SEC, 10 * MIN);
                webhooks.push((t, self.env_a(tenant, "NOTIFICATION_FAILED", t, f)));
                if self.chance(0.6) {
                    let at = t + self.between(SEC, 60 * SEC);
                    let send = (channel, provider, template);
                    self.notification_dlq(at, send_tenant, &notification_id, send);
                }
            }
            1 => {
                let hard = self.chance(0.4);
                let mut f = json!({
                    "notification_id": notification_id,
                    "bounce_type": if hard { "HARD" } else { "SOFT" },
                });
                if self.chance(0.8) {
                    f["reason"] = json!(if hard {
                        self.pick(&HARD_REASONS)
                    } else {
                        self.pick(&SOFT_REASONS)
                    });
                }
                webhooks.push((t, self.env_a(tenant, "NOTIFICATION_BOUNCED", t, f)));
            }
            _ if self.chance(0.97) => {
                let (low, high, tail) = delivery_delay(channel);
                t = t0
                    + if self.chance(0.9) {
                        self.between(low, high)
                    } else {
                        self.between(high, tail)
                    };
                let id = json!({ "notification_id": notification_id });
                // Variant B of the campaign converts better.
                let lift = if template == Some(CAMPAIGN_VARIANTS[1]) {
                    1.5
                } else {
                    1.0
                };
                webhooks.push((
                    t,
                    self.env_a(tenant, "NOTIFICATION_DELIVERED", t, id.clone()),
                ));
                let open_rate = match channel {
                    "EMAIL" => 0.45,
                    "PUSH" => 0.3,
                    "WHATSAPP" => 0.7,
                    _ => 0.0,
                };
                if self.chance(open_rate) {
                    t += self.between(MIN, 6 * HOUR);
                    webhooks.push((t, self.env_a(tenant, "NOTIFICATION_OPENED", t, id.clone())));
                    if self.chance(0.3) {
                        t += self.between(5 * SEC, 10 * MIN);
                        webhooks
                            .push((t, self.env_a(tenant, "NOTIFICATION_CLICKED", t, id.clone())));
                        if self.chance(if marketing { 0.2 * lift } else { 0.08 }) {
                            t += self.between(MIN, 2 * HOUR);
                            webhooks.push((t, self.env_a(tenant, "NOTIFICATION_CONVERTED", t, id)));
                        }
                    }
                }
            }
            _ => {} // no webhook (yet)
        }

        let mut send_arrival = t0;
        if let Some((first, _)) = webhooks.first() {
            if *first <= self.horizon_end && self.chance(0.03) {
                send_arrival = first + self.between(SEC, 2 * MIN);
                self.stats.webhooks_before_send += 1;
            }
        }
        if !self.emit_at(Topic::Notifications, t0, send_arrival, send) {
            return;
        }
        for (ts, hook) in webhooks {
            if !self.emit(Topic::Notifications, ts, hook) {
                break;
            }
        }
    }

    /// A `notifications.dlq` record: the service gave up on a notification.
    fn notification_dlq(
        &mut self,
        ts: i64,
        tenant: usize,
        id: &str,
        (channel, provider, template): (&str, &str, Option<&str>),
    ) {
        let mut original = json!({ "channel": channel, "recipient": self.recipient(channel) });
        if self.chance(0.9) {
            original["provider"] = json!(provider);
        }
        if !self.chance(0.03) {
            original["notification_id"] = json!(id);
        }
        if let Some(template) = template {
            original["template"] = json!(template);
        }
        if let Some(name) = TENANTS[tenant] {
            original["tenant_id"] = json!(name);
        }
        let retry_count = self.between(3, 6);
        let mut value = json!({
            "original_notification": original,
            "failure_timestamp": format::ts_millis(ts),
            "retry_count": retry_count,
            "last_error": self.pick(&ERRORS),
        });
        let reason = match self.weighted(&[45, 25, 20, 5, 5]) {
            0 => Some("MAX_RETRIES_EXCEEDED"),
            1 => Some("PROVIDER_UNAVAILABLE"),
            2 => Some("INVALID_RECIPIENT"),
            3 => Some("RATE_LIMITED"),
            _ => None, // `unspecified`
        };
        if let Some(reason) = reason {
            value["reason"] = json!(reason);
        }
        self.emit(Topic::NotificationsDlq, ts, value);
    }

    /// A masked recipient address for `channel`.
    pub(crate) fn recipient(&mut self, channel: &str) -> String {
        let n = self.between(1_000, 9_999);
        match channel {
            "EMAIL" => format!("user{n}@example.com"),
            "SMS" | "WHATSAPP" => format!("+5061234{n}"),
            _ => format!("device-{n:x}"),
        }
    }

    /// A webhook for a notification that is never sent.
    pub(crate) fn orphan_webhook(&mut self, t0: i64) {
        self.world.next_orphan += 1;
        let notification_id = format!("ntf-9{:08}", self.world.next_orphan);
        let event_type = self.pick(&[
            "NOTIFICATION_DELIVERED",
            "NOTIFICATION_OPENED",
            "NOTIFICATION_CLICKED",
        ]);
        let event = self.env_a(
            Generator::NO_TENANT,
            event_type,
            t0,
            json!({ "notification_id": notification_id }),
        );
        if self.emit(Topic::Notifications, t0, event) {
            self.stats.orphans += 1;
        }
    }
}
