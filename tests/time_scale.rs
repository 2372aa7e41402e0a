//! `--time-scale F`: `pulso generate` spreads its records over scale × F / rate seconds, and
//! `pulso run` on the generator starts the stream now and grades open cases against a clock
//! that runs F times faster than the wall (from the flags or the config file's `generator`
//! section); a Kafka run or a bad factor is refused. Needs nothing but the binary.

use std::net::TcpListener;
use std::process::Command;

use pulso_events::time::{parse_rfc3339, MICROS_PER_HOUR, MICROS_PER_SECOND};
use pulso_sinks::parquet::read_views;
use serde_json::Value;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// Event times of every valid JSON record of a generated folder.
fn event_times(dir: &std::path::Path) -> Vec<i64> {
    let mut times = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        // Bytes: some bad records are not UTF-8.
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for line in bytes.split(|b| *b == b'\n') {
            let Ok(value) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            let ts = value
                .get("timestamp")
                .or_else(|| value.get("failure_timestamp"))
                .and_then(Value::as_str)
                .and_then(parse_rfc3339);
            times.extend(ts);
        }
    }
    times
}

#[test]
fn generate_spans_scale_times_factor_over_rate() {
    let dir = tempfile::tempdir().unwrap();
    // 20,000 records at a nominal 1,000/s and time scale 360: 2 h of event time.
    let status = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["generate", "--scale", "20000", "--seed", "2"])
        .args(["--time-scale", "360", "--rate", "1000", "--out"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let times = event_times(dir.path());
    let (min, max) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
    let span = max - min;
    let expected = 2 * MICROS_PER_HOUR * 9 / 10..=2 * MICROS_PER_HOUR + 200 * MICROS_PER_SECOND;
    assert!(expected.contains(&span), "span {span} µs");
}

#[test]
fn generate_refuses_a_folder_that_holds_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    let generate = || {
        Command::new(env!("CARGO_BIN_EXE_pulso"))
            .args(["generate", "--scale", "2000", "--seed", "2", "--out"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    assert!(generate().status.success());
    let orders = dir.path().join("orders.events.jsonl");
    let before = std::fs::read(&orders).unwrap();
    let again = generate();
    assert!(!again.status.success(), "a second run into the same folder");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds"), "{stderr}");
    assert_eq!(std::fs::read(&orders).unwrap(), before, "nothing appended");
}

#[test]
fn run_grades_against_the_scaled_clock() {
    let out = tempfile::tempdir().unwrap();
    let started = now_micros();
    let status = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["run", "--rate", "10000", "--scale", "20000", "--seed", "3"])
        .args([
            "--time-scale",
            "3600",
            "--exit-when-done",
            "--snapshot-secs",
            "1",
        ])
        .args(["--http", &format!("127.0.0.1:{}", free_port())])
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let elapsed = now_micros() - started;
    let views = read_views(&out.path().join("views")).unwrap();
    let as_of = views.as_of.expect("the live run graded its open cases");
    // One wall second is an hour of the scaled clock, and open cases are re-graded every
    // second (`--regrade-secs` 30 of scaled time): the run took two seconds, so its last
    // `as_of` is far ahead of the wall clock, and no further than the scaled clock went.
    assert!(
        as_of >= started + MICROS_PER_HOUR / 2,
        "as_of {as_of}, started {started}"
    );
    assert!(
        as_of <= started + elapsed * 3600,
        "as_of {as_of}, started {started}"
    );
    assert!(!views.order_metrics.is_empty());
}

#[test]
fn run_takes_the_generator_section() {
    let out = tempfile::tempdir().unwrap();
    let config = out.path().join("pulso.json");
    std::fs::write(
        &config,
        r#"{"generator": {"rate": 10000, "scale": 20000, "seed": 3, "time_scale": 3600,
            "archive": false}}"#,
    )
    .unwrap();
    let started = now_micros();
    let status = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["run", "--exit-when-done", "--snapshot-secs", "1"])
        .args(["--http", &format!("127.0.0.1:{}", free_port())])
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let views = read_views(&out.path().join("views")).unwrap();
    let as_of = views.as_of.expect("the live run graded its open cases");
    assert!(
        as_of >= started + MICROS_PER_HOUR / 2,
        "as_of {as_of}, started {started}"
    );
    let records: i64 = views.pipeline_health.iter().map(|h| h.records).sum();
    assert!(records >= 19_000, "{records} records read");
    assert!(
        !out.path().join("archive").exists(),
        "archive: false wrote an archive"
    );
}

#[test]
fn bad_time_scales_are_refused() {
    let out = tempfile::tempdir().unwrap();
    let port = format!("127.0.0.1:{}", free_port());
    for (extra, expected) in [
        (vec!["--time-scale", "0"], "--time-scale 0"),
        (vec!["--time-scale=-5"], "--time-scale -5"),
        (
            vec!["--time-scale", "600", "--brokers", "127.0.0.1:1"],
            "built-in generator only",
        ),
        (vec!["--rate", "0"], "--rate 0"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_pulso"))
            .args(["run", "--http", &port])
            .args(&extra)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{extra:?} started");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }
}
