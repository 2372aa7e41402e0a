//! Tests of the generator: determinism, size, coverage of topics and of every fault kind.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pulso_events::time::parse_rfc3339;
use pulso_events::{RejectReason, Topic, MAX_RECORD_BYTES};
use serde_json::Value;

use super::*;
use crate::jsonl;

fn parsed(records: &[(Topic, Vec<u8>)]) -> Vec<(Topic, Option<Value>)> {
    records
        .iter()
        .map(|(t, b)| {
            (
                *t,
                serde_json::from_slice::<Value>(b)
                    .ok()
                    .filter(Value::is_object),
            )
        })
        .collect()
}

fn timestamp(v: &Value) -> Option<i64> {
    v.get("timestamp")
        .or_else(|| v.get("failure_timestamp"))
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = generate(&GeneratorConfig::new(7, 3_000));
    let b = generate(&GeneratorConfig::new(7, 3_000));
    let c = generate(&GeneratorConfig::new(8, 3_000));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn roughly_scale_records_and_every_topic() {
    for scale in [500, 5_000, 30_000] {
        let (records, stats) = generate_with_stats(&GeneratorConfig::new(1, scale));
        let n = records.len() as f64;
        assert!(
            n >= scale as f64 * 0.95 && n <= scale as f64 * 1.1,
            "scale {scale}: {n} records"
        );
        assert_eq!(stats.records as usize, records.len());
        if scale >= 5_000 {
            for topic in Topic::ALL {
                assert!(
                    stats.per_topic.get(&topic).copied().unwrap_or(0) > 0,
                    "no {topic} at scale {scale}"
                );
            }
        }
    }
}

#[test]
fn starts_at_the_configured_start_and_stays_in_the_span() {
    let config = GeneratorConfig::new(3, 5_000);
    let records = generate(&config);
    let times: Vec<i64> = parsed(&records)
        .iter()
        .filter_map(|(_, v)| v.as_ref().and_then(timestamp))
        .collect();
    assert_eq!(times.iter().min().copied(), Some(config.start));
    let max = times.iter().max().copied().unwrap();
    assert!(max <= config.start + SPAN + 200 * format::SEC, "{max}");
    assert!(max >= config.start + SPAN - format::DAY);
}

#[test]
fn jsonl_round_trip() {
    let records = generate(&GeneratorConfig::new(11, 4_000));
    let dir = tempfile::tempdir().unwrap();
    jsonl::write_dir(dir.path(), records.clone()).unwrap();
    let read = jsonl::read_dir(dir.path()).unwrap();
    assert_eq!(read.len(), records.len());
    for topic in Topic::ALL {
        let written: Vec<&Vec<u8>> = records
            .iter()
            .filter(|(t, _)| *t == topic)
            .map(|(_, b)| b)
            .collect();
        let back: Vec<_> = read.iter().filter(|r| r.topic == topic).collect();
        assert_eq!(back.len(), written.len(), "{topic}");
        for (i, (r, w)) in back.iter().zip(written).enumerate() {
            assert_eq!(&r.value, w);
            assert_eq!(r.position.offset, i as i64);
            assert_eq!(r.position.partition, 0);
        }
    }
}

#[test]
fn every_bad_kind_at_its_share_and_recognisable() {
    let (records, stats) = generate_with_stats(&GeneratorConfig::new(5, 20_000));
    // `too_late` is decided by retention against the watermark, not by the bytes.
    for reason in RejectReason::ALL
        .into_iter()
        .filter(|r| *r != RejectReason::TooLate)
    {
        let count = stats.bad.get(&reason).copied().unwrap_or(0);
        assert!(count > 0, "no {reason}");
        if reason == RejectReason::TooLarge {
            assert!(count <= 6);
        } else {
            let share = stats.share(count);
            assert!((0.002..0.02).contains(&share), "{reason}: {share}");
        }
    }
    let too_large = records
        .iter()
        .filter(|(_, b)| b.len() > MAX_RECORD_BYTES)
        .count() as u64;
    assert_eq!(too_large, stats.bad[&RejectReason::TooLarge]);
    let mut not_json = 0;
    let mut not_object = 0;
    let mut v2 = 0;
    let mut mismatch = 0;
    for (topic, bytes) in &records {
        match serde_json::from_slice::<Value>(bytes) {
            Err(_) => not_json += 1,
            Ok(v) if !v.is_object() => not_object += 1,
            Ok(v) => {
                if v.get("schema_version").and_then(Value::as_str) == Some("2.0")
                    || v.get("evento_version").and_then(Value::as_str) == Some("2.1")
                {
                    v2 += 1;
                }
                if let Some(tipo) = v.get("evento_tipo").and_then(Value::as_str) {
                    if tipo != topic.name() {
                        mismatch += 1;
                    }
                }
            }
        }
    }
    assert_eq!(not_json, stats.bad[&RejectReason::MalformedJson]);
    assert_eq!(not_object, stats.bad[&RejectReason::NotAnObject]);
    assert_eq!(v2, stats.bad[&RejectReason::UnsupportedVersion]);
    assert_eq!(mismatch, stats.bad[&RejectReason::TopicMismatch]);
}

#[test]
fn duplicates_late_reordered_orphans_and_early_webhooks() {
    let (records, stats) = generate_with_stats(&GeneratorConfig::new(9, 20_000));
    for (name, count, lo, hi) in [
        ("exact duplicates", stats.exact_duplicates, 0.005, 0.02),
        (
            "conflicting duplicates",
            stats.conflicting_duplicates,
            0.003,
            0.02,
        ),
        ("late", stats.late, 0.005, 0.02),
        ("reordered", stats.reordered, 0.005, 0.03),
        ("orphans", stats.orphans, 0.005, 0.03),
    ] {
        let share = stats.share(count);
        assert!((lo..hi).contains(&share), "{name}: {share}");
    }
    assert!(stats.webhooks_before_send > 0);
    assert!(stats.dedup_key_resends > 0);

    // Exact duplicates: the same bytes twice.
    let values = parsed(&records);
    let mut seen: HashMap<&[u8], u32> = HashMap::new();
    for ((_, v), (_, b)) in values.iter().zip(&records) {
        if v.is_some() {
            *seen.entry(b.as_slice()).or_default() += 1;
        }
    }
    let repeated = seen.values().filter(|n| **n > 1).count() as u64;
    assert!(repeated > 0 && repeated <= stats.exact_duplicates);

    // Conflicting duplicates: one event id, different bytes.
    let mut by_id: HashMap<String, BTreeSet<&[u8]>> = HashMap::new();
    for ((_, v), (_, b)) in values.iter().zip(&records) {
        let id = v
            .as_ref()
            .and_then(|v| v.get("event_id").or_else(|| v.get("evento_id")));
        if let Some(Value::String(id)) = id {
            by_id.entry(id.clone()).or_default().insert(b.as_slice());
        }
    }
    assert!(by_id.values().any(|set| set.len() > 1));

    // Late: an event hours older than what already arrived.
    let mut max = i64::MIN;
    let mut late = 0;
    for (_, v) in &values {
        if let Some(t) = v.as_ref().and_then(timestamp) {
            if t < max.saturating_sub(format::HOUR) {
                late += 1;
            }
            max = max.max(t);
        }
    }
    assert!(late > 0);

    // A webhook that arrives before its send.
    let mut first_kind: HashMap<String, String> = HashMap::new();
    for (topic, v) in &values {
        if *topic != Topic::Notifications {
            continue;
        }
        let Some(v) = v else { continue };
        if let (Some(Value::String(id)), Some(Value::String(kind))) =
            (v.get("notification_id"), v.get("event_type"))
        {
            first_kind.entry(id.clone()).or_insert_with(|| kind.clone());
        }
    }
    let sends: BTreeSet<String> = values
        .iter()
        .filter_map(|(_, v)| v.as_ref())
        .filter(|v| v.get("event_type").and_then(Value::as_str) == Some("NOTIFICATION_SENT"))
        .filter_map(|v| {
            v.get("notification_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    assert!(first_kind
        .iter()
        .any(|(id, kind)| kind != "NOTIFICATION_SENT" && sends.contains(id)));
}

#[test]
fn open_cases_at_every_sla_status() {
    let records = generate(&GeneratorConfig::new(2, 20_000));
    let values = parsed(&records);
    let as_of = values
        .iter()
        .filter_map(|(_, v)| v.as_ref().and_then(timestamp))
        .max()
        .unwrap();
    let mut created: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut closed: BTreeSet<i64> = BTreeSet::new();
    let mut sla: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (topic, v) in &values {
        let Some(v) = v else { continue };
        let (Some(datos), Some(ts)) = (v.get("datos"), timestamp(v)) else {
            continue;
        };
        if v.get("evento_tipo").and_then(Value::as_str) != Some(topic.name()) {
            continue;
        }
        let int = |k: &str| datos.get(k).and_then(Value::as_i64);
        match topic {
            Topic::CasosCreados => {
                let fecha = datos
                    .get("fecha_creacion")
                    .and_then(Value::as_str)
                    .and_then(parse_rfc3339);
                if let (Some(id), Some(dep), Some(fecha)) =
                    (int("caso_id"), int("dependencia_id"), fecha)
                {
                    created.entry(id).or_insert((dep, fecha));
                }
            }
            Topic::CasosCerrados => {
                closed.extend(int("caso_id"));
            }
            Topic::DependenciasConfiguradas => {
                let Some(dep) = int("dependencia_id") else {
                    continue;
                };
                for cambio in datos
                    .get("cambios")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if cambio.get("campo").and_then(Value::as_str)
                        == Some("configuracion.sla_tiempo_resolucion_horas")
                    {
                        let hours = match cambio.get("valor_nuevo") {
                            Some(Value::String(s)) => s.parse().ok(),
                            Some(n) => n.as_i64(),
                            None => None,
                        };
                        if let Some(hours) = hours {
                            let entry = sla.entry(dep).or_insert((ts, hours));
                            if ts >= entry.0 {
                                *entry = (ts, hours);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut statuses: BTreeMap<&str, u32> = BTreeMap::new();
    for (id, (dep, fecha)) in &created {
        if closed.contains(id) {
            continue;
        }
        let hours = sla.get(dep).map_or(168, |s| s.1);
        let due = fecha + hours * format::HOUR;
        let status = if as_of > due {
            "BREACHED"
        } else if (due - as_of) * 5 <= hours * format::HOUR {
            "AT_RISK"
        } else {
            "ON_TRACK"
        };
        *statuses.entry(status).or_default() += 1;
    }
    for status in ["BREACHED", "AT_RISK", "ON_TRACK"] {
        assert!(
            statuses.get(status).copied().unwrap_or(0) > 0,
            "{statuses:?}"
        );
    }
}

#[test]
fn iterator_form_matches_generate_and_prints_stats() {
    let config = GeneratorConfig::new(4, 20_000);
    let mut generator = Generator::new(&config);
    let first: Vec<_> = generator.by_ref().take(100).collect();
    let all = generate(&config);
    assert_eq!(&all[..100], &first[..]);
    generator.by_ref().for_each(drop);
    let stats = generator.stats();
    assert_eq!(stats.records as usize, all.len());
    println!("{stats:#?}");
    for (topic, n) in &stats.per_topic {
        println!("{topic:28} {n:7} {:5.1}%", 100.0 * stats.share(*n));
    }
    for (reason, n) in &stats.bad {
        println!("{reason:20} {n:6} {:5.2}%", 100.0 * stats.share(*n));
    }
}

#[test]
fn decoder_accepts_most_and_sees_every_reason() {
    use pulso_events::{decode, Position};
    let (records, stats) = generate_with_stats(&GeneratorConfig::new(6, 20_000));
    let mut rejected: BTreeMap<RejectReason, u64> = BTreeMap::new();
    let mut offsets: BTreeMap<Topic, i64> = BTreeMap::new();
    let mut examples: BTreeMap<RejectReason, Vec<String>> = BTreeMap::new();
    for (topic, bytes) in &records {
        let offset = offsets.entry(*topic).or_default();
        let position = Position {
            partition: 0,
            offset: *offset,
        };
        *offset += 1;
        if let Err(rejection) = decode(*topic, bytes, position) {
            *rejected.entry(rejection.reason).or_default() += 1;
            let list = examples.entry(rejection.reason).or_default();
            if list.len() < 3 {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
                list.push(format!("{topic}: {} | {text}", rejection.detail));
            }
        }
    }
    let accepted = records.len() as u64 - rejected.values().sum::<u64>();
    if rejected != stats.bad {
        println!("generator: {:?}\ndecoder:   {rejected:?}", stats.bad);
        for (reason, list) in &examples {
            println!("{reason}:\n  {}", list.join("\n  "));
        }
    }
    assert!(
        accepted as f64 >= 0.9 * records.len() as f64,
        "{rejected:?}"
    );
    // Every bad record is rejected for the reason it was made for, and nothing else is.
    assert_eq!(rejected, stats.bad);
    for reason in RejectReason::ALL
        .into_iter()
        .filter(|r| *r != RejectReason::TooLate)
    {
        assert!(
            rejected.get(&reason).copied().unwrap_or(0) > 0,
            "decoder never gave {reason}"
        );
    }
}

#[test]
fn time_scaled_stream_spans_scale_times_factor_over_rate() {
    // Read at 1,000 records/s with time scale 3,600, the stream's event time advances one
    // hour per wall second: 20,000 records span 20,000 × 3,600 / 1,000 s = 20 h.
    let (scale, factor, rate) = (20_000, 3_600.0, 1_000.0);
    let config = GeneratorConfig::new(5, scale).time_scaled(factor, rate);
    let span = 20 * format::HOUR;
    assert_eq!(config.span, span);
    let records = generate(&config);
    let times: Vec<Option<i64>> = parsed(&records)
        .iter()
        .map(|(_, v)| v.as_ref().and_then(timestamp))
        .collect();
    let valid: Vec<i64> = times.iter().flatten().copied().collect();
    assert_eq!(valid.iter().min().copied(), Some(config.start));
    let max = valid.iter().max().copied().unwrap();
    assert!(max <= config.start + span + 200 * format::SEC, "{max}");
    assert!(max >= config.start + span - span / 20, "{max}");
    // Paced at `rate`, the i-th record is read i / rate seconds in: between the records at a
    // quarter and at three quarters of the stream, event time advances about
    // (n / 2) × factor / rate seconds, i.e. `factor` seconds per wall second. (The stream
    // runs a roughly constant lead ahead of `start + i × factor / rate`: the records that
    // scenarios schedule for later count as produced when they are scheduled.)
    let n = records.len();
    let median_at = |percent: usize| {
        let mut around: Vec<i64> = times[n * (percent - 5) / 100..n * (percent + 5) / 100]
            .iter()
            .flatten()
            .copied()
            .collect();
        around.sort_unstable();
        around[around.len() / 2]
    };
    let advanced = (median_at(75) - median_at(25)) as f64 / format::SEC as f64;
    let expected = n as f64 / 2.0 * factor / rate;
    assert!(
        (advanced / expected - 1.0).abs() < 0.1,
        "advanced {advanced}s, expected {expected}s"
    );
}

#[test]
fn default_span_is_fourteen_days() {
    assert_eq!(GeneratorConfig::default().span, SPAN);
    assert_eq!(GeneratorConfig::new(1, 10).span, 14 * format::DAY);
}

#[test]
fn a_steady_stream_closes_its_cases_within_hours() {
    // The share of created cases that close, and how long cases live, in event time.
    fn lives(config: &GeneratorConfig) -> (f64, i64) {
        let mut created: HashMap<i64, i64> = HashMap::new();
        let mut closed: HashMap<i64, i64> = HashMap::new();
        for (topic, value) in parsed(&generate(config)) {
            let Some(v) = value else { continue };
            let (Some(id), Some(t)) = (v["datos"]["caso_id"].as_i64(), timestamp(&v)) else {
                continue;
            };
            match topic {
                Topic::CasosCreados => created.insert(id, t),
                Topic::CasosCerrados => closed.insert(id, t),
                _ => None,
            };
        }
        let done = created.keys().filter(|id| closed.contains_key(id)).count();
        // The 95th percentile: a few closures are faults (re-deliveries with another time).
        let mut lives: Vec<i64> = closed
            .iter()
            .filter_map(|(id, t)| Some(t - created.get(id)?))
            .collect();
        lives.sort_unstable();
        let p95 = lives.get(lives.len() * 95 / 100).copied().unwrap_or(0);
        (done as f64 / created.len().max(1) as f64, p95)
    }
    let (default_share, _) = lives(&GeneratorConfig::new(9, 20_000));
    // 14 days of event time, like the default stream (20,000 × 6,000 / 100 s).
    let steady = GeneratorConfig::new(9, 20_000).time_scaled(6_000.0, 100.0);
    assert!(steady.steady_cases);
    let (steady_share, longest) = lives(&steady);
    // By default a fifth of the cases never close (and more close after the stream ends);
    // in a steady stream only the cases of its last hours are still open.
    assert!(default_share < 0.75, "{default_share}");
    assert!(steady_share > 0.85, "{steady_share}");
    // A twelfth of the longest SLA (240 h) is 20 h: cases close within about two SLAs of
    // their last update (by default, up to twenty days after creation).
    assert!(longest <= 72 * format::HOUR, "{longest}");
}
