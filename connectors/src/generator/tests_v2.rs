//! The generator feeds the notification views of v2: A/B templates on marketing sends,
//! per-channel delivery delays with some past the SLA targets, DLQ records with reasons,
//! providers and retry counts.

use std::collections::{BTreeMap, HashMap};

use pulso_events::time::parse_rfc3339;
use pulso_events::Topic;
use serde_json::Value;

use super::*;

#[test]
fn sends_deliveries_and_dead_letters_fill_the_v2_views() {
    let records = generate(&GeneratorConfig::new(3, 20_000));
    let mut sent: HashMap<String, (String, i64)> = HashMap::new();
    let mut delivered: HashMap<String, i64> = HashMap::new();
    let mut variants: BTreeMap<String, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut dlq_providers = 0;
    for (topic, bytes) in &records {
        let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        match topic {
            Topic::Notifications => {
                let (Some(id), Some(t)) = (text("notification_id"), text("timestamp")) else {
                    continue;
                };
                let Some(t) = parse_rfc3339(&t) else { continue };
                match text("event_type").as_deref() {
                    Some("NOTIFICATION_SENT") => {
                        if text("category").as_deref() == Some("MARKETING") {
                            let template = text("template").unwrap_or_default();
                            *variants.entry(template).or_default() += 1;
                        }
                        sent.insert(id, (text("channel").unwrap_or_default(), t));
                    }
                    Some("NOTIFICATION_DELIVERED") => {
                        let at = delivered.entry(id).or_insert(t);
                        *at = (*at).min(t);
                    }
                    _ => {}
                }
            }
            Topic::NotificationsDlq => {
                let reason = text("reason").unwrap_or_else(|| "unspecified".into());
                *reasons.entry(reason).or_default() += 1;
                dlq_providers += usize::from(v["original_notification"].get("provider").is_some());
                assert!(v["retry_count"].as_i64().is_some_and(|n| n >= 3));
            }
            _ => {}
        }
    }
    // A/B: both variants of the campaign, in similar numbers.
    let (a, b) = (variants["promo_campaign_a"], variants["promo_campaign_b"]);
    assert!(
        a > 20 && b > 20 && a.abs_diff(b) * 3 < a + b,
        "{variants:?}"
    );
    // Latency per channel: most within the target, some past it.
    let target = |c: &str| match c {
        "EMAIL" => 30_000,
        "SMS" | "WHATSAPP" => 10_000,
        _ => 5_000,
    };
    let mut per_channel: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (id, at) in &delivered {
        if let Some((channel, t0)) = sent.get(id) {
            let ms = (at - t0).max(0) / 1000;
            let e = per_channel.entry(channel.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(ms <= target(channel));
        }
    }
    // (Invalid channels of the fault injection, e.g. `FAX`, are rejected by the decoder.)
    per_channel.retain(|c, _| ["EMAIL", "SMS", "PUSH", "WHATSAPP"].contains(&c.as_str()));
    assert_eq!(per_channel.len(), 4, "{per_channel:?}");
    for (channel, (n, within)) in &per_channel {
        assert!(
            *within * 10 > *n * 7 && within < n,
            "{channel}: {within}/{n} within"
        );
    }
    // Dead letters: several reasons (and some without), most naming their provider.
    assert!(
        reasons.len() >= 4 && reasons.contains_key("unspecified"),
        "{reasons:?}"
    );
    let total: usize = reasons.values().sum();
    assert!(dlq_providers * 10 > total * 7, "{dlq_providers} of {total}");
}
