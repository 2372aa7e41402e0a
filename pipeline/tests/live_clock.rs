//! Live SLA clocks: with the wall clock as `as_of`, an open case becomes BREACHED on time,
//! with no event arriving (the live loop re-grades on its own).

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pulso_events::views::{SlaStatus, ViewRow};
use pulso_events::{Position, SourceRecord, Topic};
use pulso_pipeline::epoch_loop::{run_live, AsOfMode, EngineEvent, LiveConfig};
use pulso_pipeline::RecordSource;

/// One `casos.creados` due `due_in` from now (default SLA of 168 h), then silence until
/// `quiet` has passed.
struct OneCase {
    record: Option<SourceRecord>,
    started: Instant,
    quiet: Duration,
}

impl RecordSource for OneCase {
    fn poll(&mut self, _max: usize, timeout: Duration) -> Option<Vec<SourceRecord>> {
        if let Some(record) = self.record.take() {
            return Some(vec![record]);
        }
        if self.started.elapsed() >= self.quiet {
            return None;
        }
        std::thread::sleep(timeout.min(Duration::from_millis(50)));
        Some(Vec::new())
    }
}

fn case_due_in(due_in: Duration) -> SourceRecord {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let created = now + due_in - Duration::from_secs(168 * 3600);
    let created =
        chrono::DateTime::from_timestamp(created.as_secs() as i64, created.subsec_nanos()).unwrap();
    let created = created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let value = serde_json::json!({
        "evento_id": "clock-1", "evento_tipo": "casos.creados", "evento_version": "1.0",
        "timestamp": created, "origen": "test",
        "datos": {"caso_id": 1, "numero_caso": "CRV-2024-00000001", "ciudadano_id": 1,
                  "categoria_id": 1, "dependencia_id": 7, "estado": "PENDIENTE",
                  "prioridad": "ALTA", "fecha_creacion": created}
    });
    SourceRecord {
        topic: Topic::CasosCreados,
        position: Position::default(),
        key: None,
        value: serde_json::to_vec(&value).unwrap(),
        tombstone: false,
        headers: Vec::new(),
    }
}

#[test]
fn an_open_case_breaches_on_time_without_new_events() {
    let (sender, receiver) = mpsc::sync_channel(10_000);
    let config = LiveConfig {
        workers: 1,
        cluster: Default::default(),
        epoch_ms: 50,
        epoch_records: 1_000,
        as_of: AsOfMode::WallClock { regrade_secs: 1 },
        retention: Default::default(),
        sla: Default::default(),
        clock: Default::default(),
    };
    let record = case_due_in(Duration::from_secs(2));
    let sources = Arc::new(
        move |_index: usize, _peers: usize| -> Box<dyn RecordSource> {
            Box::new(OneCase {
                record: Some(record.clone()),
                started: Instant::now(),
                quiet: Duration::from_secs(5),
            })
        },
    );
    let engine = std::thread::spawn(move || {
        run_live(&config, sources, sender, Arc::new(AtomicBool::new(false)))
    });

    let mut statuses = Vec::new();
    for event in receiver {
        match event {
            EngineEvent::Changes { changes, .. } => {
                statuses.extend(changes.into_iter().filter_map(|change| match change {
                    (ViewRow::OpenCaseSla(row), 1) => Some(row.status),
                    _ => None,
                }))
            }
            EngineEvent::Finished => break,
            _ => {}
        }
    }
    engine.join().unwrap().unwrap();
    assert_eq!(statuses.first(), Some(&SlaStatus::AtRisk), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&SlaStatus::Breached), "{statuses:?}");
}
