//! The generator feeds the views added in v2: orders in several currencies, tracking events
//! of several entity types and tenants, and `notifications.dlq` records of several tenants.

use std::collections::BTreeSet;

use pulso_events::Topic;
use serde_json::Value;

use super::*;

/// The distinct values of `field` (text, or `"<absent>"`) over the records of `topic` whose
/// `event_type` is `event_type` (any when `None`).
fn values(
    records: &[(Topic, Vec<u8>)],
    topic: Topic,
    event_type: Option<&str>,
    field: &[&str],
) -> BTreeSet<String> {
    records
        .iter()
        .filter(|(t, _)| *t == topic)
        .filter_map(|(_, bytes)| serde_json::from_slice::<Value>(bytes).ok())
        .filter(|v| event_type.is_none_or(|e| v["event_type"] == e))
        .map(|v| {
            let value = field.iter().fold(&v, |v, f| &v[*f]);
            value.as_str().unwrap_or("<absent>").to_string()
        })
        .collect()
}

#[test]
fn orders_in_several_currencies_and_tracking_over_several_entity_types() {
    let records = generate(&GeneratorConfig::new(3, 20_000));
    let currencies = values(
        &records,
        Topic::Orders,
        Some("ORDER_CREATED"),
        &["currency"],
    );
    for c in ["USD", "EUR", "MXN", "COP", "<absent>"] {
        assert!(currencies.contains(c), "no {c} order in {currencies:?}");
    }
    let types = values(&records, Topic::Tracking, None, &["entity_type"]);
    for t in ["shipment", "bag", "flight"] {
        assert!(types.contains(t), "no {t} in {types:?}");
    }
    let tenants = values(&records, Topic::Tracking, None, &["tenant_id"]);
    assert!(tenants.len() >= 3, "tracking tenants {tenants:?}");
    let dlq_tenants = values(
        &records,
        Topic::NotificationsDlq,
        None,
        &["original_notification", "tenant_id"],
    );
    assert!(dlq_tenants.len() >= 2, "DLQ tenants {dlq_tenants:?}");
}
