//! Timely cluster mode: one engine over several processes on loopback gives exactly what one
//! process gives.
//!
//! - `replay_on_two_processes_equals_one`: `pulso replay` as 2 processes × 2 workers (a host
//!   file of two loopback ports) and as 1 process × 1 worker over the same generated input:
//!   identical views and `rejected.jsonl`; with `PULSO_CLICKHOUSE_URL`, identical ClickHouse
//!   views (two databases).
//! - `live_run_on_two_processes_equals_one` (needs `PULSO_KAFKA_BROKERS`): `pulso run` over the
//!   same Kafka topics as 2 × 2 (one shared `OUT`) and as 1 × 1: identical final views, the
//!   same archive contents (as sets), identical ClickHouse views (with
//!   `PULSO_CLICKHOUSE_URL`), and process 1's API serves the same views as process 0's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_events::views::ViewSet;
use pulso_events::Topic;
use pulso_sinks::archive::{list_archive_files, read_archive};
use pulso_sinks::clickhouse::{ClickHouseConfig, ClickHouseSink};
use pulso_sinks::parquet::read_whole_views;
use serde_json::Value;
use support::engine::{free_port, get_json};
use support::kafka::{brokers, nanos, produce, Cluster};

mod support;

fn pulso() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pulso"))
}

/// A host file naming `processes` free loopback ports.
fn hostfile(dir: &Path, processes: usize) -> PathBuf {
    let path = dir.join("hosts");
    let lines: Vec<String> = (0..processes)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Waits for every child, asserting success.
fn wait_all(children: Vec<(Child, PathBuf)>) {
    for (mut child, log) in children {
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "a pulso process failed ({status}):\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

/// `PULSO_CLICKHOUSE_URL` and a fresh database name.
fn clickhouse(tag: &str) -> Option<ClickHouseConfig> {
    let url = std::env::var("PULSO_CLICKHOUSE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    Some(ClickHouseConfig {
        url,
        database: format!("pulso_cluster_{tag}_{}_{}", std::process::id(), nanos()),
        ..Default::default()
    })
}

fn clickhouse_views(config: &ClickHouseConfig) -> ViewSet {
    let sink = ClickHouseSink::connect(config.clone()).expect("connecting to ClickHouse");
    let views = sink.read_views().expect("reading ClickHouse");
    let _ = sink.drop_database();
    views
}

/// Starts `processes` processes of `args` (`--processes/--process-id/--hostfile` added when
/// there are several), each with its extra arguments from `each`, logging to `dir`.
fn spawn_cluster(
    dir: &Path,
    processes: usize,
    args: &[String],
    each: impl Fn(usize) -> Vec<String>,
) -> Vec<(Child, PathBuf)> {
    let hosts = hostfile(dir, processes);
    (0..processes)
        .map(|p| {
            let log = dir.join(format!("process-{p}.log"));
            let file = std::fs::File::create(&log).unwrap();
            let mut command = pulso();
            command.args(args).args(each(p));
            if processes > 1 {
                command
                    .args(["--processes", &processes.to_string()])
                    .args(["--process-id", &p.to_string()])
                    .arg("--hostfile")
                    .arg(&hosts);
            }
            let child = command
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .expect("starting pulso");
            (child, log)
        })
        .collect()
}

#[test]
fn replay_on_two_processes_equals_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    let status = pulso()
        .args(["generate", "--seed", "17", "--scale", "20000", "--out"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());

    let mut outs = Vec::new();
    for (processes, workers) in [(1, 1), (2, 2)] {
        let run = dir.path().join(format!("{processes}x{workers}"));
        std::fs::create_dir_all(&run).unwrap();
        let ch = clickhouse(&format!("replay{processes}x{workers}"));
        let mut args: Vec<String> = vec!["replay".into(), "--input".into()];
        args.push(input.display().to_string());
        args.extend(["--out".into(), run.join("out").display().to_string()]);
        args.extend(["--workers".into(), workers.to_string()]);
        args.extend(["--epoch-records".into(), "3000".into()]);
        if let Some(ch) = &ch {
            args.extend(["--clickhouse".into(), ch.url.clone()]);
            args.extend(["--clickhouse-database".into(), ch.database.clone()]);
        }
        let started = Instant::now();
        wait_all(spawn_cluster(&run, processes, &args, |_| Vec::new()));
        println!(
            "replay {processes} process(es) x {workers} worker(s): {:.2?}",
            started.elapsed()
        );
        let views = read_whole_views(&run.join("out/views")).unwrap();
        let rejected = std::fs::read(run.join("out/rejected.jsonl")).unwrap();
        outs.push((views, rejected, ch.as_ref().map(clickhouse_views)));
    }
    let (one, two) = (&outs[0], &outs[1]);
    assert!(!one.0.timelines.is_empty() && !one.1.is_empty());
    assert!(one.0 == two.0, "the views of 2 x 2 differ from 1 x 1");
    assert!(one.1 == two.1, "rejected.jsonl of 2 x 2 differs from 1 x 1");
    match (&one.2, &two.2) {
        (Some(a), Some(b)) => {
            assert!(a == b, "ClickHouse views of 2 x 2 differ from 1 x 1");
            assert!(
                *a == one.0,
                "ClickHouse views differ from the Parquet views"
            );
            println!("ClickHouse: the views of 1 x 1 and 2 x 2 are identical");
        }
        _ => println!("ClickHouse: not checked (set PULSO_CLICKHOUSE_URL)"),
    }
}

/// Every row of `view` served at `port`, following the cursor.
fn api_rows(port: u16, view: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor = String::new();
    loop {
        let body = get_json(port, &format!("/v1/views/{view}?limit=1000{cursor}")).unwrap();
        rows.extend(body["rows"].as_array().cloned().unwrap_or_default());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return rows,
        }
    }
}

/// Records counted by `pipeline_health` at `port` (0 while the API is not up).
fn records_counted(port: u16) -> i64 {
    get_json(port, "/v1/views/pipeline_health?limit=1000")
        .ok()
        .and_then(|b| b["rows"].as_array().cloned())
        .map_or(0, |rows| {
            rows.iter().filter_map(|r| r["records"].as_i64()).sum()
        })
}

#[test]
fn live_run_on_two_processes_equals_one() {
    let Some(brokers) = brokers("live_run_on_two_processes_equals_one") else {
        return;
    };
    let cluster = Cluster::create(&brokers, "c");
    let stream: Vec<(Topic, Vec<u8>)> = generate(&GeneratorConfig {
        seed: 23,
        scale: 20_000,
        ..Default::default()
    })
    .into_iter()
    .filter(|(_, v)| v.len() <= 900_000)
    .collect();
    produce(&cluster, &stream, 0..stream.len());
    let total = stream.len() as i64;

    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for (processes, workers) in [(1, 1), (2, 2)] {
        let run = dir.path().join(format!("{processes}x{workers}"));
        std::fs::create_dir_all(&run).unwrap();
        let out = run.join("out");
        let ch = clickhouse(&format!("live{processes}x{workers}"));
        let mut args: Vec<String> = vec!["run".into(), "--brokers".into(), brokers.clone()];
        args.extend(["--topic-prefix".into(), cluster.prefix.clone()]);
        args.extend(["--dlq-topic".into(), cluster.dlq.clone()]);
        args.extend(["--out".into(), out.display().to_string()]);
        args.extend(["--workers".into(), workers.to_string()]);
        args.extend(["--snapshot-secs".into(), "1".into()]);
        // Each run reads the topics from the start under its own consumer group.
        let config = run.join("pulso.json");
        // Retention off: the generated 14 days sit in 42 partitions read in whatever order
        // the consumers get them, so each run's watermark (and so its `too_late` records and
        // expiries) would follow its own reading order; this test is about the cluster.
        let mut text = serde_json::json!({"kafka": {
            "brokers": brokers,
            "group_id": format!("pulso-cluster-test-{processes}x{workers}-{}", nanos()),
        }, "retention": {"late_after": "off", "entities": "off", "timelines": "off",
            "future_tolerance": "off",
            "windows": {"minute": "off", "hour": "off", "day": "off"}}});
        if let Some(ch) = &ch {
            text["clickhouse"] = serde_json::json!({"url": ch.url, "database": ch.database});
        }
        std::fs::write(&config, text.to_string()).unwrap();
        args.extend(["--config".into(), config.display().to_string()]);
        let ports: Vec<u16> = (0..processes).map(|_| free_port()).collect();
        let started = Instant::now();
        let children = spawn_cluster(&run, processes, &args, |p| {
            vec!["--http".into(), format!("127.0.0.1:{}", ports[p])]
        });
        // Every process's API counts every record (they all hold the whole views).
        for &port in &ports {
            while records_counted(port) < total {
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "{processes} x {workers}: the API on {port} counted {} of {total} records \
                     within 120 s",
                    records_counted(port)
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        println!(
            "live {processes} process(es) x {workers} worker(s): all {total} records in the \
             views of every process after {:.2?}",
            started.elapsed()
        );
        // Let the views settle (no more records come), then compare the processes' APIs.
        std::thread::sleep(Duration::from_millis(1500));
        for view in [
            "notification_rates",
            "order_metrics",
            "open_case_sla",
            "timelines",
        ] {
            let first = api_rows(ports[0], view);
            for &port in &ports[1..] {
                assert!(
                    api_rows(port, view) == first,
                    "{view}: the API of port {port} differs from process 0's"
                );
            }
        }
        for (child, _) in &children {
            let status = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        wait_all(children);
        let mut views = read_whole_views(&out.join("views")).unwrap();
        // Open cases are graded at each run's wall clock: compare what the records decide.
        views.as_of = None;
        views.open_case_sla.clear();
        views.open_cases.clear();
        // Every worker of every process read partitions and archived under its own name.
        let writers: BTreeSet<usize> = list_archive_files(&out.join("archive"), None, None)
            .unwrap()
            .into_iter()
            .filter_map(|f| f.worker)
            .collect();
        assert_eq!(
            writers,
            (0..processes * workers).collect(),
            "archive writers"
        );
        let archive: BTreeSet<_> = read_archive(&out.join("archive"), None, None)
            .unwrap()
            .into_iter()
            .map(|r| (r.topic, r.position, r.key, r.value, r.timestamp))
            .collect();
        let ch_views = ch.as_ref().map(clickhouse_views).map(|mut v| {
            v.as_of = None;
            v.open_case_sla.clear();
            v.open_cases.clear();
            v
        });
        results.push((views, archive, ch_views));
    }
    let (one, two) = (&results[0], &results[1]);
    assert!(one.0 == two.0, "the final views of 2 x 2 differ from 1 x 1");
    assert!(!one.1.is_empty());
    assert!(one.1 == two.1, "the archive of 2 x 2 differs from 1 x 1");
    println!(
        "2 x 2 equals 1 x 1: final views, archive ({} records)",
        one.1.len()
    );
    match (&one.2, &two.2) {
        (Some(a), Some(b)) => {
            assert!(a == b, "ClickHouse views of 2 x 2 differ from 1 x 1");
            assert!(*a == one.0, "ClickHouse differs from the final snapshot");
            println!("ClickHouse: the views of 1 x 1 and 2 x 2 are identical");
        }
        _ => println!("ClickHouse: not checked (set PULSO_CLICKHOUSE_URL)"),
    }
}
