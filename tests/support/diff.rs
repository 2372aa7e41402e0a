//! Readable differences between two view sets, for the end-to-end tests' failure messages.

use std::collections::BTreeMap;
use std::fmt::{Debug, Write as _};

use pulso_events::views::ViewSet;

/// What differs between two lists of rows, as text (empty when they are equal as multisets).
pub(crate) fn diff_rows<T: Ord + Debug>(name: &str, actual: &[T], expected: &[T]) -> String {
    let mut counts: BTreeMap<&T, i64> = BTreeMap::new();
    for row in actual {
        *counts.entry(row).or_default() += 1;
    }
    for row in expected {
        *counts.entry(row).or_default() -= 1;
    }
    let extra: Vec<_> = counts.iter().filter(|(_, &c)| c > 0).collect();
    let missing: Vec<_> = counts.iter().filter(|(_, &c)| c < 0).collect();
    if extra.is_empty() && missing.is_empty() {
        return String::new();
    }
    let mut text = format!(
        "{name}: {} rows vs {}; {} only in the first, {} only in the second\n",
        actual.len(),
        expected.len(),
        extra.len(),
        missing.len()
    );
    for (row, _) in extra.iter().take(5) {
        let _ = writeln!(text, "  first only:  {row:?}");
    }
    for (row, _) in missing.iter().take(5) {
        let _ = writeln!(text, "  second only: {row:?}");
    }
    text
}

/// Every difference between two view sets, view by view, `pipeline_health` included.
pub(crate) fn describe_diff(actual: &ViewSet, expected: &ViewSet) -> String {
    let mut text = String::new();
    if actual.as_of != expected.as_of {
        let _ = writeln!(text, "as_of: {:?} vs {:?}", actual.as_of, expected.as_of);
    }
    text += &diff_rows(
        "notification_rates",
        &actual.notification_rates,
        &expected.notification_rates,
    );
    text += &diff_rows(
        "notification_bounces",
        &actual.notification_bounces,
        &expected.notification_bounces,
    );
    text += &diff_rows(
        "order_metrics",
        &actual.order_metrics,
        &expected.order_metrics,
    );
    text += &diff_rows(
        "order_cancellations",
        &actual.order_cancellations,
        &expected.order_cancellations,
    );
    text += &diff_rows(
        "inventory_levels",
        &actual.inventory_levels,
        &expected.inventory_levels,
    );
    text += &diff_rows("case_backlog", &actual.case_backlog, &expected.case_backlog);
    text += &diff_rows(
        "sla_compliance",
        &actual.sla_compliance,
        &expected.sla_compliance,
    );
    text += &diff_rows(
        "open_case_sla",
        &actual.open_case_sla,
        &expected.open_case_sla,
    );
    text += &diff_rows("open_cases", &actual.open_cases, &expected.open_cases);
    text += &diff_rows("timelines", &actual.timelines, &expected.timelines);
    text += &diff_rows(
        "pipeline_health",
        &actual.pipeline_health,
        &expected.pipeline_health,
    );
    text += &diff_rows(
        "tracking_activity",
        &actual.tracking_activity,
        &expected.tracking_activity,
    );
    text += &diff_rows(
        "tenant_activity",
        &actual.tenant_activity,
        &expected.tenant_activity,
    );
    if text.is_empty() && actual != expected {
        text = "the views hold the same rows in a different order".into();
    }
    text
}
