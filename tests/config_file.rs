//! `--config FILE` on every command: one file format (`src/config.rs`); a `retention`
//! section whose horizons break VIEWS.md's rule, or an unknown field, stops `run`, `replay`,
//! `backfill` and `verify` before they start, with an error naming the file and the horizon;
//! a good one is accepted. Needs nothing but the binary.

use std::path::Path;
use std::process::{Command, Output};

const BAD: &str = r#"{"retention": {"late_after": "2d", "timelines": "1d"}}"#;
const GOOD: &str = r#"{"retention": {"late_after": "1h", "windows": {"minute": "2h",
    "hour": "1d", "day": "7d"}, "entities": "6h", "timelines": "6h",
    "future_tolerance": "1d"}, "api": {}}"#;

fn pulso(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_bad_retention_section_stops_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.json", BAD);
    let typo = write(
        dir.path(),
        "typo.json",
        r#"{"retention": {"late_afer": "1h"}}"#,
    );
    let out = dir.path().join("out").display().to_string();
    let archive = dir.path().join("archive").display().to_string();
    let commands: [Vec<&str>; 4] = [
        vec!["run", "--out", &out, "--http", "127.0.0.1:0"],
        vec!["replay", "--input", &out, "--out", &out],
        vec!["backfill", "--archive", &archive, "--out", &out],
        vec!["verify", "--archive", &archive, "--views", &out],
    ];
    for command in &commands {
        for (config, expected) in [
            (
                &bad,
                "retention.timelines (1d) must be at least retention.late_after (2d)",
            ),
            (&typo, "unknown field `late_afer`"),
        ] {
            let mut args = command.clone();
            args.extend(["--config", config]);
            let output = pulso(&args);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{args:?} started");
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
            assert!(stderr.contains(config.as_str()), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn replay_takes_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", GOOD);
    let data = dir.path().join("data").display().to_string();
    let out = dir.path().join("out").display().to_string();
    let generated = pulso(&["generate", "--out", &data, "--scale", "2000", "--seed", "4"]);
    assert!(generated.status.success());
    let output = pulso(&["replay", "--input", &data, "--out", &out, "--config", &good]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("out/views/order_metrics.parquet").exists());
}
