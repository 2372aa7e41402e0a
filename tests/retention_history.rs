//! Retention and the Parquet history (VIEWS.md, "Retention"): a replay whose windows and
//! timeline entries expire writes a snapshot of the retained rows and a history of the
//! expired ones; read together with DuckDB, they are exactly the views of a replay without
//! retention. The DuckDB part runs when `PULSO_PYTHON_TESTS` is set (see `scripts/pyenv.sh`);
//! the same check runs in Rust always.

use std::path::{Path, PathBuf};
use std::process::Command;

use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_dataflows::retention::{Horizon, Retention, WindowHorizons};
use pulso_events::registry::ViewSelection;
use pulso_events::time::MICROS_PER_DAY;
use pulso_events::{Position, SourceRecord};
use pulso_pipeline::batch::write_parquet;
use pulso_pipeline::replay::SpillConfig;
use pulso_pipeline::{replay, ReplayConfig};
use pulso_sinks::parquet::read_whole_views;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Short horizons over the generator's 14 days: minute rows kept three days, hour rows four,
/// day rows six, timeline entries two; records up to a day late. (The generator cancels
/// orders up to two days after they are confirmed: with shorter window horizons, such a cancel
/// reaches an expired window and is not applied to it, as VIEWS.md's retention says.)
fn short() -> Retention {
    Retention {
        late_after: Horizon::days(1),
        windows: WindowHorizons {
            minute: Horizon::days(3),
            hour: Horizon::days(4),
            day: Horizon::days(6),
        },
        timelines: Horizon::days(2),
        ..Retention::default()
    }
}

/// The generated stream in arrival order, in epochs of 500 records.
fn epochs() -> Vec<Vec<SourceRecord>> {
    let records: Vec<SourceRecord> = generate(&GeneratorConfig::new(3, 20_000))
        .into_iter()
        .enumerate()
        .map(|(i, (topic, value))| SourceRecord {
            topic,
            position: Position {
                partition: 0,
                offset: i as i64,
            },
            key: None,
            value,
            tombstone: false,
            headers: Vec::new(),
        })
        .collect();
    records.chunks(500).map(|c| c.to_vec()).collect()
}

/// Replays the epochs and writes their views as `pulso replay` does: the timeline entries
/// spilled in runs of 500 changes and streamed into their file and history.
fn run(retention: Retention, out: &Path) {
    let output = replay(
        epochs(),
        &ReplayConfig {
            workers: 2,
            retention,
            spill: SpillConfig {
                dir: Some(out.to_owned()),
                rows: 500,
            },
            stream_timelines: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        output.views.timelines.is_empty(),
        "the entries are left in runs"
    );
    let (views, timelines) = (output.views, output.timelines);
    drop(
        write_parquet(
            out,
            views,
            timelines,
            output.watermark,
            &retention,
            "replay",
            &ViewSelection::all(),
        )
        .unwrap(),
    );
}

/// Asserts two row lists are equal, naming a few rows only in one of them.
fn same<T: PartialEq + std::fmt::Debug>(view: &str, actual: &[T], expected: &[T]) {
    let missing: Vec<&T> = expected.iter().filter(|r| !actual.contains(r)).collect();
    let extra: Vec<&T> = actual.iter().filter(|r| !expected.contains(r)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && actual.len() == expected.len(),
        "{view}: {} missing, e.g. {:?}; {} extra, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)],
        extra.len(),
        &extra[..extra.len().min(3)]
    );
}

#[test]
fn snapshot_and_history_are_the_whole_view() {
    let (with, without) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(short(), with.path());
    run(Retention::OFF, without.path());

    let snapshot = pulso_sinks::parquet::read_views(&with.path().join("views")).unwrap();
    let whole = read_whole_views(&with.path().join("views")).unwrap();
    let reference = pulso_sinks::parquet::read_views(&without.path().join("views")).unwrap();
    assert!(
        snapshot.notification_rates.len() < whole.notification_rates.len()
            && snapshot.timelines.len() < whole.timelines.len(),
        "the horizons expire rows over the generator's 14 days"
    );
    let last = whole.timelines.iter().map(|e| e.timestamp).max().unwrap();
    assert!(snapshot
        .timelines
        .iter()
        .all(|e| e.timestamp >= last - 2 * MICROS_PER_DAY - MICROS_PER_DAY / 2));
    same(
        "notification_rates",
        &whole.notification_rates,
        &reference.notification_rates,
    );
    same(
        "notification_bounces",
        &whole.notification_bounces,
        &reference.notification_bounces,
    );
    same(
        "order_metrics",
        &whole.order_metrics,
        &reference.order_metrics,
    );
    same(
        "sla_compliance",
        &whole.sla_compliance,
        &reference.sla_compliance,
    );
    same("timelines", &whole.timelines, &reference.timelines);
    same(
        "tracking_activity",
        &whole.tracking_activity,
        &reference.tracking_activity,
    );
    same(
        "tenant_activity",
        &whole.tenant_activity,
        &reference.tenant_activity,
    );

    if std::env::var_os("PULSO_PYTHON_TESTS").is_none() {
        println!("SKIPPED the DuckDB comparison: set PULSO_PYTHON_TESTS=1");
        return;
    }
    let pyenv = Command::new("bash")
        .arg(workspace().join("scripts/pyenv.sh"))
        .output()
        .expect("run scripts/pyenv.sh");
    assert!(pyenv.status.success(), "scripts/pyenv.sh failed");
    let python = String::from_utf8(pyenv.stdout).unwrap().trim().to_owned();
    let out = Command::new(&python)
        .arg(workspace().join("scripts/compare_history.py"))
        .arg(with.path())
        .arg(without.path().join("views"))
        .output()
        .expect("run scripts/compare_history.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "DuckDB: snapshot ∪ history differs:\n{text}"
    );
}
