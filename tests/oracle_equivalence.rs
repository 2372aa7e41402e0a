//! Property tests: on random event streams (duplicates, conflicting duplicates, shuffled and
//! late arrival, orphans, bad records, SLA changes) split at random epoch boundaries, the
//! dataflows on 1, 2 and 4 workers produce exactly the oracle's views.
//!
//! Retention (VIEWS.md) applies per epoch, so the oracle runs the same epochs: with the
//! default horizons (the streams hold events a week late, some of them too late), and with
//! horizons of hours that the streams' three days cross many times (too-late records, dedup
//! keys and entities expiring, orphans of expired entities).
//!
//! `PROPTEST_CASES` raises the number of cases (default 200).

mod support;

use proptest::prelude::*;
use pulso_dataflows::clock::EngineClock;
use pulso_dataflows::retention::{Horizon, Retention, WindowHorizons};
use pulso_events::RejectReason;
use pulso_pipeline::replay::SpillConfig;
use pulso_pipeline::{replay, ReplayConfig};

/// An instant after the streams (2024-01-15 plus three days), so nothing is in the future.
const NOW: i64 = 1_705_276_800_000_000 + 4 * 86_400_000_000;

/// Short horizons: six hours late, entities gone after twelve hours.
fn short() -> Retention {
    let hours = |h: i64| Horizon::micros(h * 3_600_000_000);
    Retention {
        late_after: hours(6),
        windows: WindowHorizons {
            minute: hours(6),
            hour: hours(12),
            day: hours(30),
        },
        entities: hours(12),
        timelines: hours(12),
        future_tolerance: hours(1),
    }
}

/// The oracle's horizons for `retention`, at [`NOW`].
fn oracle_horizons(retention: &Retention) -> pulso_oracle::Horizons {
    pulso_oracle::Horizons {
        late_after: retention.late_after.as_micros(),
        entities: retention.entities.as_micros(),
        future_tolerance: retention.future_tolerance.as_micros(),
        now: NOW,
        windows: retention.windows,
    }
}

/// One worker keeps its timeline entries in memory (at these sizes); more spill them in runs
/// of a few changes, so that merging runs across workers and files is checked too.
fn spill(seed: u64, workers: usize) -> SpillConfig {
    match workers {
        1 => SpillConfig::default(),
        _ => SpillConfig {
            dir: None,
            rows: 1 + (seed % 32) as usize,
        },
    }
}

fn check(
    seed: u64,
    events: usize,
    as_of: Option<i64>,
    retention: Retention,
) -> Result<(), TestCaseError> {
    check_stream(
        seed,
        support::streams::random_stream(seed, events),
        as_of,
        retention,
    )
}

fn check_stream(
    seed: u64,
    records: Vec<pulso_events::SourceRecord>,
    as_of: Option<i64>,
    retention: Retention,
) -> Result<(), TestCaseError> {
    let horizons = oracle_horizons(&retention);
    for workers in [1, 2, 4] {
        let epochs = support::streams::random_epochs(&records, seed.wrapping_add(workers as u64));
        let expected = pulso_oracle::compute_retained(&epochs, as_of, &horizons);
        let output = replay(
            epochs,
            &ReplayConfig {
                workers,
                as_of,
                retention,
                clock: EngineClock::Scaled {
                    wall_origin: 0,
                    event_origin: NOW,
                    factor: 0.0,
                },
                spill: spill(seed, workers),
                ..Default::default()
            },
        )
        .expect("replay runs");
        prop_assert_eq!(&output.views, &expected, "workers = {}", workers);
        let too_late = output
            .rejected
            .iter()
            .filter(|(_, r)| r.reason == RejectReason::TooLate)
            .count() as i64;
        let counted: i64 = expected.pipeline_health.iter().map(|h| h.rejected[8]).sum();
        prop_assert_eq!(too_late, counted);
        let rejected: usize = expected
            .pipeline_health
            .iter()
            .map(|h| h.rejected_total() as usize)
            .sum();
        prop_assert_eq!(output.rejected.len(), rejected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
    ))]

    #[test]
    fn views_equal_the_oracle(seed in any::<u64>(), events in 1usize..160, fixed in proptest::option::of(0i64..5)) {
        // Sometimes grade open cases at a fixed instant around the streams' days.
        let as_of = fixed.map(|d| 1_705_276_800_000_000 + d * 86_400_000_000);
        check(seed, events, as_of, Retention::default())?;
    }

    #[test]
    fn views_equal_the_oracle_across_short_horizons(seed in any::<u64>(), events in 1usize..240) {
        check(seed, events, None, short())?;
    }
}

proptest! {
    // A quarter of the cases of the main properties (`PROPTEST_CASES` / 4, default 50).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200) / 4
    ))]

    #[test]
    fn views_equal_the_oracle_at_the_limits(seed in any::<u64>(), events in 1usize..160) {
        // Amounts, quantities, levels and hours at and just over the limits: over-limit
        // records are rejected `invalid_field`, sums and levels stay exact.
        let records = support::streams::random_stream_at_limits(seed, events);
        check_stream(seed, records, None, Retention::default())?;
    }
}

#[test]
fn a_large_stream_equals_the_oracle() {
    check(7, 3_000, None, Retention::default()).unwrap();
}

#[test]
fn a_large_stream_crossing_short_horizons_equals_the_oracle() {
    check(11, 3_000, None, short()).unwrap();
}

#[test]
fn without_retention_nothing_is_too_late() {
    check(13, 2_000, None, Retention::OFF).unwrap();
}

#[test]
fn a_level_beyond_64_bits_is_reported_saturated_as_the_oracle_does() {
    // 1,100 adjustments of the largest accepted delta: the exact level (~9.9e18) passes
    // i64::MAX; money and counts stay exact.
    let max = pulso_events::money::MAX_EXACT_INTEGER;
    let records: Vec<pulso_events::SourceRecord> = (0..1_100)
        .map(|i| {
            let value = format!(
                r#"{{"event_id":"a{i}","event_type":"STOCK_ADJUSTED","timestamp":"2024-01-15T10:00:00Z","sku":"A","delta":{max}}}"#
            );
            let position = pulso_events::Position {
                partition: 0,
                offset: i,
            };
            pulso_events::SourceRecord::new(
                pulso_events::Topic::Inventory,
                position,
                None,
                value.into_bytes(),
            )
        })
        .collect();
    let output = replay(vec![records.clone()], &ReplayConfig::default()).expect("replay runs");
    assert_eq!(output.views.inventory_levels.len(), 1);
    assert_eq!(output.views.inventory_levels[0].on_hand, i64::MAX);
    assert_eq!(output.views.inventory_levels[0].available, i64::MAX);
    check_stream(1, records, None, Retention::default()).unwrap();
}

/// An envelope-B record of `topic` at `hour` hours after the streams' start.
fn record_b(
    topic: pulso_events::Topic,
    offset: i64,
    hour: i64,
    datos: serde_json::Value,
) -> pulso_events::SourceRecord {
    let at = chrono::DateTime::from_timestamp_micros(1_705_276_800_000_000 + hour * 3_600_000_000)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let value = serde_json::json!({
        "evento_id": format!("b{offset}"), "evento_tipo": topic.name(), "evento_version": "1.0",
        "timestamp": at, "origen": "tests", "datos": datos,
    });
    let position = pulso_events::Position {
        partition: 0,
        offset,
    };
    pulso_events::SourceRecord::new(topic, position, None, serde_json::to_vec(&value).unwrap())
}

#[test]
fn a_department_configured_many_times_keeps_its_latest_sla() {
    // SLA settings of department 1 at hours 0 and 1, a case of department 2 at hour 20, a
    // setting at hour 30: by then (W = 20 h, late_after 6 h) the first two are final and fold
    // into one. A case of department 1 at hour 31 is due by the latest setting.
    use pulso_events::Topic::{CasosCreados, DependenciasConfiguradas};
    let config = |offset, hour, sla: i64| {
        let datos = serde_json::json!({"dependencia_id": 1, "codigo": "MIN", "cambios": [{"campo": "configuracion.sla_tiempo_resolucion_horas", "valor_anterior": 1, "valor_nuevo": sla}], "fecha_actualizacion": "2024-01-15T00:00:00Z"});
        record_b(DependenciasConfiguradas, offset, hour, datos)
    };
    let case = |offset, hour, caso: i64, dependencia: i64, created: &str| {
        let datos = serde_json::json!({"caso_id": caso, "numero_caso": format!("CRV-2024-{caso:08}"), "ciudadano_id": 70, "categoria_id": 1, "dependencia_id": dependencia, "estado": "PENDIENTE", "fecha_creacion": created});
        record_b(CasosCreados, offset, hour, datos)
    };
    let epochs = vec![
        vec![config(0, 0, 5)],
        vec![config(1, 1, 30)],
        vec![case(2, 20, 8, 2, "2024-01-15T20:00:00Z")],
        vec![config(3, 30, 90)],
        vec![case(4, 31, 7, 1, "2024-01-16T07:00:00Z")],
    ];
    let retention = short();
    let horizons = oracle_horizons(&retention);
    let as_of = Some(NOW);
    let expected = pulso_oracle::compute_retained(&epochs, as_of, &horizons);
    let config = ReplayConfig {
        as_of,
        retention,
        ..Default::default()
    };
    let output = replay(epochs, &config).expect("replay runs");
    assert_eq!(output.views, expected);
    let due: Vec<_> = output
        .views
        .open_cases
        .iter()
        .map(|c| (c.caso_id, c.due_at))
        .collect();
    // Case 7: created 2024-01-16T07:00Z, SLA 90 h; case 8 has no setting (the default).
    assert!(
        due.contains(&(7, 1_705_388_400_000_000 + 90 * 3_600_000_000)),
        "{due:?}"
    );
}

/// The views of a few random streams together: what the streams feed the views with, for the
/// tests below that make sure the properties above can fail on every view.
fn coverage_views() -> pulso_events::views::ViewSet {
    let mut rows = Vec::new();
    for seed in 7..12 {
        let records = support::streams::random_stream(seed, 3_000);
        rows.extend(pulso_oracle::compute(&records, None).rows());
    }
    pulso_events::views::ViewSet::from_rows(rows)
}

#[test]
fn the_random_streams_fill_the_v2_notification_views() {
    // The properties above compare these views; they must not be empty for want of input.
    let views = coverage_views();
    assert!(views.notification_failures.len() > 3);
    assert!(views
        .notification_failures
        .iter()
        .any(|r| r.channel == "UNKNOWN"));
    assert!(views
        .notification_failures
        .iter()
        .any(|r| r.max_retry_count > 0));
    assert!(views
        .notification_variants
        .iter()
        .any(|r| r.template == "promo_b"));
    assert!(views
        .notification_variants
        .iter()
        .any(|r| r.template == "CIERRE"));
    assert!(views.notification_variants.iter().any(|r| r.opened > 0));
    let latency = &views.notification_latency;
    assert!(latency.len() > 3);
    assert!(latency.iter().any(|r| r.within_sla > 0));
    assert!(latency.iter().any(|r| r.within_sla < r.delivered));
    assert!(latency.iter().any(|r| r.latency_p50_ms < r.latency_p95_ms));
}

#[test]
fn the_streams_feed_the_activity_views_and_every_currency() {
    // The properties above can only fail on these views if the streams fill them: tracking
    // events of several entity types (some windows with several entities), orders in several
    // currencies, DLQ records under their original tenant.
    let views = coverage_views();
    let types: std::collections::BTreeSet<_> = views
        .tracking_activity
        .iter()
        .map(|r| r.entity_type.as_str())
        .collect();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["bag", "flight", "shipment"]
    );
    assert!(views
        .tracking_activity
        .iter()
        .any(|r| r.entities > 1 && r.events > r.entities));
    let currencies: std::collections::BTreeSet<_> = views
        .order_metrics
        .iter()
        .map(|r| r.currency.as_str())
        .collect();
    assert_eq!(
        currencies.into_iter().collect::<Vec<_>>(),
        ["EUR", "MXN", "USD"]
    );
    let dlq: std::collections::BTreeSet<_> = views
        .tenant_activity
        .iter()
        .filter(|r| r.topic == "notifications.dlq")
        .map(|r| r.tenant_id.as_str())
        .collect();
    assert_eq!(
        dlq.into_iter().collect::<Vec<_>>(),
        ["acme", "default", "globex"]
    );
    assert!(views
        .tenant_activity
        .iter()
        .any(|r| r.tenant_id == "conecta360" && r.topic == "casos.creados"));
}
