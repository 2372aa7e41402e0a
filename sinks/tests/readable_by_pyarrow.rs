//! The Parquet files Pulso writes (the raw archive and the view files) are readable by pyarrow
//! and DuckDB: runs `scripts/pyenv.sh` (a venv with both) and `scripts/check_parquet.py` on
//! them. Skipped unless `PULSO_PYTHON_TESTS` is set (it needs Python and PyPI or a prepared
//! `build/venv-py`).

use std::path::{Path, PathBuf};
use std::process::Command;

use pulso_events::time::{parse_rfc3339, Granularity, MICROS_PER_HOUR};
use pulso_events::views::{NotificationBounces, OrderCancellations, OrderMetrics, ViewSet};
use pulso_events::{Position, Topic};
use pulso_sinks::archive::{read_archive, write_progress, ArchiveRecord, ArchiveWriter};
use pulso_sinks::write_views;

/// The workspace root (scripts and `build/` live there).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn enabled() -> bool {
    if std::env::var_os("PULSO_PYTHON_TESTS").is_some() {
        return true;
    }
    println!(
        "SKIPPED: set PULSO_PYTHON_TESTS=1 to check the Parquet files with pyarrow and DuckDB"
    );
    false
}

/// Runs `scripts/check_parquet.py dir` with the venv of `scripts/pyenv.sh`, panicking with
/// its output on failure.
fn check(dir: &Path) {
    let pyenv = Command::new("bash")
        .arg(workspace().join("scripts/pyenv.sh"))
        .output()
        .expect("run scripts/pyenv.sh");
    assert!(
        pyenv.status.success(),
        "scripts/pyenv.sh failed:\n{}",
        String::from_utf8_lossy(&pyenv.stderr)
    );
    let python = String::from_utf8(pyenv.stdout).unwrap().trim().to_owned();
    assert_eq!(
        Path::new(&python),
        workspace().join("build/venv-py/bin/python")
    );
    let out = Command::new(&python)
        .arg(workspace().join("scripts/check_parquet.py"))
        .arg(dir)
        .output()
        .expect("run scripts/check_parquet.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "check_parquet.py {} failed:\n{stdout}{stderr}",
        dir.display()
    );
}

fn t0() -> i64 {
    parse_rfc3339("2024-01-15T10:30:00Z").unwrap()
}

fn archive_records(epoch: u64, worker: usize) -> Vec<ArchiveRecord> {
    let mut records = Vec::new();
    for (i, topic) in [Topic::Orders, Topic::Tracking, Topic::CasosCerrados]
        .into_iter()
        .enumerate()
    {
        for offset in 0..25 {
            let offset = epoch as i64 * 100 + offset;
            records.push(ArchiveRecord {
                topic,
                position: Position {
                    partition: worker as i32 + 2 * i as i32,
                    offset,
                },
                key: (offset % 2 == 0).then(|| vec![0xff, offset as u8]),
                value: if offset % 5 == 0 {
                    vec![0x80, 0x00, 0xfe] // not UTF-8
                } else {
                    format!("{{\"offset\":{offset}}}").into_bytes()
                },
                // Epoch 2 crosses midnight.
                timestamp: t0() + epoch as i64 * 7 * MICROS_PER_HOUR + offset,
                epoch,
                headers: Vec::new(),
            });
        }
    }
    records
}

fn views() -> ViewSet {
    ViewSet {
        as_of: Some(t0()),
        notification_bounces: vec![NotificationBounces {
            tenant_id: "acme".into(),
            channel: "sms".into(),
            day: Granularity::Day.floor(t0()),
            bounce_type: "HARD".into(),
            reason: "unspecified".into(),
            notifications: 3,
        }],
        order_metrics: vec![OrderMetrics {
            tenant_id: "acme".into(),
            currency: "EUR".into(),
            granularity: Granularity::Hour,
            window_start: Granularity::Hour.floor(t0()),
            orders_created: 4,
            orders_confirmed: 2,
            orders_cancelled: 1,
            orders_pending: 1,
            revenue_confirmed_total: 211_994,
            // Sums beyond 64 bits: three of the largest amounts, the largest DECIMAL(38, 2).
            revenue_lost_total: 3 * i128::from(pulso_events::money::MAX_AMOUNT),
            revenue_pending_total: -(10_i128.pow(38) - 1),
        }],
        order_cancellations: vec![OrderCancellations {
            tenant_id: "acme".into(),
            reason: "fraud".into(),
            orders: 2,
        }],
        ..ViewSet::default()
    }
}

#[test]
fn archive_and_views_are_readable_by_pyarrow_and_duckdb() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let mut written = 0;
    for worker in 0..2 {
        let mut writer = ArchiveWriter::new(&archive, worker).unwrap();
        for epoch in 1..=3 {
            let records = archive_records(epoch, worker);
            written += records.len();
            writer.write_epoch(epoch, &records).unwrap();
        }
        write_progress(&archive, worker, 3, &Default::default()).unwrap();
    }
    assert_eq!(read_archive(&archive, None, None).unwrap().len(), written);
    check(&archive);

    let views_dir = dir.path().join("views");
    write_views(&views_dir, &views()).unwrap();
    check(&views_dir);
}
