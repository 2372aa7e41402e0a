//! Golden tests: a small committed input folder (`tests/golden/input/`) and its expected
//! views (`tests/golden/expected/views.json`) and rejects (`rejected.jsonl`), checked on 1, 2
//! and 4 workers, through the `pulso replay` binary and its Parquet files, and against the
//! oracle. `PULSO_BLESS=1 cargo test --test golden` rewrites the expected files.

use std::path::{Path, PathBuf};
use std::process::Command;

use pulso_connectors::jsonl;
use pulso_dataflows::retention::Retention;
use pulso_events::views::ViewSet;
use pulso_pipeline::replay::JsonlSource;
use pulso_pipeline::{replay, ReplayConfig};

/// The golden input holds records more than a week late in file order on purpose (and spans
/// 14 days): these tests check the views of VIEWS.md without retention, which
/// `tests/oracle_equivalence.rs` and `tests/retention_history.rs` cover.
const RETENTION_OFF: &str = r#"{"retention": {"late_after": "off", "entities": "off",
    "timelines": "off", "future_tolerance": "off",
    "windows": {"minute": "off", "hour": "off", "day": "off"}}}"#;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn expected_views() -> ViewSet {
    let text =
        std::fs::read_to_string(golden().join("expected/views.json")).expect("expected views");
    serde_json::from_str(&text).expect("expected views parse")
}

fn bless(views: &ViewSet) {
    let dir = golden().join("expected");
    std::fs::create_dir_all(&dir).unwrap();
    let text = serde_json::to_string_pretty(views).unwrap();
    std::fs::write(dir.join("views.json"), text + "\n").unwrap();
}

#[test]
fn golden_views_on_1_2_and_4_workers() {
    let records = jsonl::read_dir(&golden().join("input")).unwrap();
    let oracle = pulso_oracle::compute(&records, None);
    if std::env::var_os("PULSO_BLESS").is_some() {
        bless(&oracle);
    }
    let expected = expected_views();
    assert_eq!(
        oracle, expected,
        "the oracle disagrees with the golden views"
    );
    for workers in [1, 2, 4] {
        let epochs: Vec<_> = records.chunks(7).map(|c| c.to_vec()).collect();
        let output = replay(
            epochs,
            &ReplayConfig {
                workers,
                retention: Retention::OFF,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(output.views, expected, "workers = {workers}");
    }
}

#[test]
fn replay_command_writes_the_golden_views_and_rejects() {
    let out = tempfile::tempdir().unwrap();
    let config = out.path().join("retention-off.json");
    std::fs::write(&config, RETENTION_OFF).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args([
            "replay",
            "--workers",
            "2",
            "--epoch-records",
            "50",
            "--input",
        ])
        .arg(golden().join("input"))
        .arg("--out")
        .arg(out.path())
        .arg("--config")
        .arg(&config)
        .status()
        .unwrap();
    assert!(status.success());
    let views = pulso_sinks::parquet::read_whole_views(&out.path().join("views")).unwrap();
    assert_eq!(views, expected_views());

    let rejected = std::fs::read_to_string(out.path().join("rejected.jsonl")).unwrap();
    let expected_path = golden().join("expected/rejected.jsonl");
    if std::env::var_os("PULSO_BLESS").is_some() {
        std::fs::write(&expected_path, &rejected).unwrap();
    }
    assert_eq!(rejected, std::fs::read_to_string(expected_path).unwrap());
    assert!(
        rejected.lines().count() > 0,
        "the golden input has bad records"
    );
}

#[test]
fn streamed_replay_equals_the_golden_views_and_stops_on_input_errors() {
    let input = golden().join("input");
    for workers in [1, 3] {
        let config = ReplayConfig {
            workers,
            retention: Retention::OFF,
            ..Default::default()
        };
        let epochs = jsonl::stream_dir(&input).unwrap().epochs(5);
        let output = pulso_pipeline::replay_stream(epochs, &config).unwrap();
        assert_eq!(output.views, expected_views(), "workers = {workers}");
        // The same pass read through the JSONL folder's record source.
        let mut source = JsonlSource::new(jsonl::stream_dir(&input).unwrap());
        let output = pulso_pipeline::replay_source(&mut source, 5, &config).unwrap();
        assert_eq!(
            output.views,
            expected_views(),
            "source, workers = {workers}"
        );

        let records = jsonl::read_dir(&input).unwrap();
        let failing = records
            .chunks(4)
            .take(3)
            .map(|c| Ok(c.to_vec()))
            .chain([Err(std::io::Error::other("disk gone"))]);
        let err = pulso_pipeline::replay_stream(failing, &config).unwrap_err();
        assert!(
            matches!(err, pulso_pipeline::DataflowError::Input(_)),
            "{err}"
        );
    }
}
