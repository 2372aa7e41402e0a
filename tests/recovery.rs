//! Crash recovery of `pulso run --brokers` against a real Kafka-compatible broker (tansu in
//! `scripts/broker.sh`). Skipped, with a message, unless `PULSO_KAFKA_BROKERS` is set:
//!
//! ```text
//! PULSO_KAFKA_BROKERS=127.0.0.1:9092 PULSO_CLICKHOUSE_URL=http://127.0.0.1:8123 \
//!     cargo test --release --test recovery -- --nocapture
//! ```
//!
//! A generated stream (scale 200 000, records over 900 KB left out) is produced at a steady
//! pace over ~25 s to freshly created, uniquely prefixed topics of 3 partitions. Meanwhile the
//! engine is killed with SIGKILL 5 times at random moments (0.5–4 s apart) and restarted on
//! the same `OUT` directory with the same flags. Once production is over and the last engine
//! has caught up (every partition at lag 0 with `next_offset` at the broker's end offset):
//! - a fresh Parquet snapshot equals `pulso_oracle::compute` at its `as_of` on every view,
//!   `pipeline_health` included (records, rejected by reason, duplicates and orphans: the
//!   rejected records of earlier runs are re-counted from the progress record);
//! - with `PULSO_CLICKHOUSE_URL`, ClickHouse holds the final snapshot likewise;
//! - the raw archive holds exactly the accepted records: nothing lost, nothing twice.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_connectors::kafka::rdkafka;
use pulso_events::views::ViewSet;
use pulso_events::{Position, SourceRecord, Topic};
use pulso_sinks::clickhouse::{ClickHouseConfig, ClickHouseSink};
use rand::{Rng, SeedableRng};
use rdkafka::message::Message;
use serde_json::Value;
use support::diff::describe_diff;
use support::engine::free_port;
use support::kafka::{
    brokers, end_offsets, nanos, produce_paced, read_all, spawn_run, Cluster, PartitionJson,
    PARTITIONS,
};

mod support;

/// Generated records larger than this are left out (the DLQ producer's default limit is
/// 1 000 000 bytes).
const MAX_PRODUCED_BYTES: usize = 900 * 1024;
/// How long production is spread over.
const PRODUCE_OVER: Duration = Duration::from_secs(25);
/// SIGKILLs before the last start.
const KILLS: usize = 5;
/// How long the last engine may take to catch up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------------------------------
// Set-up

fn now_micros() -> i64 {
    (nanos() / 1000) as i64
}

// ---------------------------------------------------------------------------------------
// Reading back

/// The source records as the broker holds them (exact partitions and offsets), checked to be
/// exactly the produced stream.
fn read_back(cluster: &Cluster, stream: &[(Topic, Vec<u8>)]) -> Vec<SourceRecord> {
    let started = Instant::now();
    let partitions: Vec<(String, i32)> = cluster
        .source_topics()
        .into_iter()
        .flat_map(|t| (0..PARTITIONS).map(move |p| (t.clone(), p)))
        .collect();
    let messages = read_all(
        &cluster.brokers,
        "pulso-recovery-test",
        &partitions,
        stream.len(),
        Duration::from_secs(120),
        Duration::from_secs(1),
    );
    let mut records: Vec<SourceRecord> = messages
        .iter()
        .map(|m| {
            let name = m.topic().strip_prefix(&cluster.prefix).unwrap();
            SourceRecord {
                topic: Topic::from_name(name).unwrap(),
                position: Position {
                    partition: m.partition(),
                    offset: m.offset(),
                },
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                tombstone: false,
                headers: Vec::new(),
            }
        })
        .collect();
    records.sort_by_key(|r| (r.topic, r.position));
    assert_eq!(
        records.len(),
        stream.len(),
        "records read back from the broker"
    );
    let mut seen = vec![false; stream.len()];
    for record in &records {
        let key = record.key.as_deref().expect("a key");
        let index: usize = std::str::from_utf8(key)
            .ok()
            .and_then(|k| k.strip_prefix("rec-"))
            .and_then(|k| k.parse().ok())
            .expect("a key of the test producer");
        assert!(!seen[index], "record {index} is twice in the topics");
        seen[index] = true;
        assert_eq!(record.topic, stream[index].0, "topic of record {index}");
        assert!(
            record.value == stream[index].1,
            "bytes of record {index} differ"
        );
    }
    println!(
        "read back {} records in {:.2?}",
        records.len(),
        started.elapsed()
    );
    records
}

// ---------------------------------------------------------------------------------------
// The engine

/// A `pulso run` child process, killed if the test ends without stopping it.
struct Engine {
    child: Option<Child>,
    log: PathBuf,
    api: String,
    spawned: Instant,
}

impl Engine {
    /// Spawns `pulso run` on `cluster` writing to `out` (log appended to `log`), on a fresh
    /// HTTP port. Does not wait for anything.
    fn spawn(cluster: &Cluster, out: &Path, log: &Path, config: Option<&Path>) -> Engine {
        let port = free_port();
        let mut extra: Vec<&OsStr> = Vec::new();
        if let Some(config) = config {
            extra.extend([OsStr::new("--config"), config.as_os_str()]);
        }
        extra.extend(["--snapshot-secs", "1", "--workers", "2"].map(OsStr::new));
        let child = spawn_run(cluster, out, port, log, &extra);
        Engine {
            child: Some(child),
            log: log.to_path_buf(),
            api: format!("http://127.0.0.1:{port}"),
            spawned: Instant::now(),
        }
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        let response = ureq::get(&format!("{}{path}", self.api))
            .timeout(Duration::from_secs(5))
            .call()
            .map_err(|e| e.to_string())?;
        let text = response.into_string().map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// `/health` answers with a (non-null) epoch.
    fn serves_an_epoch(&self) -> bool {
        self.get("/health")
            .is_ok_and(|h| h["status"] == "ok" && h["epoch"].is_u64())
    }

    /// The process exited (with its status) already.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().unwrap())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }

    /// SIGKILL (`Child::kill`), and reap.
    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the engine with SIGINT and waits (up to 60 s) for it to exit.
    fn interrupt(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the engine is running");
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -INT failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the engine did not exit within 60 s of SIGINT\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn partitions_of(health: &Value) -> Vec<PartitionJson> {
    serde_json::from_value(health["partitions"].clone()).unwrap_or_default()
}

/// Waits until `/v1/pipeline_health` reports, for every partition, the broker's end offset
/// as `next_offset` and `high_watermark`, with lag 0. Returns when.
fn wait_positions(engine: &mut Engine, ends: &BTreeMap<(String, i32), i64>) -> Instant {
    let started = Instant::now();
    let mut last = String::from("no answer");
    loop {
        if let Some(status) = engine.exited() {
            panic!(
                "the engine exited ({status}) before catching up\n{}",
                engine.log_tail()
            );
        }
        if let Ok(health) = engine.get("/v1/pipeline_health") {
            let partitions = partitions_of(&health);
            let next: BTreeMap<(String, i32), i64> = partitions
                .iter()
                .map(|p| ((p.topic.clone(), p.partition), p.next_offset))
                .collect();
            let high: BTreeMap<(String, i32), i64> = partitions
                .iter()
                .map(|p| ((p.topic.clone(), p.partition), p.high_watermark))
                .collect();
            if &next == ends && &high == ends && partitions.iter().all(|p| p.lag == 0) {
                return Instant::now();
            }
            last = partitions
                .iter()
                .filter(|p| ends.get(&(p.topic.clone(), p.partition)) != Some(&p.next_offset))
                .map(|p| {
                    format!(
                        "{}/{}: next {} high {} lag {}, broker end {:?}",
                        p.topic,
                        p.partition,
                        p.next_offset,
                        p.high_watermark,
                        p.lag,
                        ends.get(&(p.topic.clone(), p.partition))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            if partitions.len() != ends.len() {
                last += &format!(
                    "\n{} of {} partitions reported",
                    partitions.len(),
                    ends.len()
                );
            }
        }
        assert!(
            started.elapsed() < CATCH_UP_TIMEOUT,
            "not caught up with the broker's end offsets within {CATCH_UP_TIMEOUT:?}:\n{last}\n{}",
            engine.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------
// Views

/// Prints the per-topic `pipeline_health` counters of the engine next to the oracle's.
fn print_health(actual: &ViewSet, expected: &ViewSet) {
    let oracle: BTreeMap<&str, _> = expected
        .pipeline_health
        .iter()
        .map(|h| (h.topic.as_str(), h))
        .collect();
    println!("pipeline_health, engine vs oracle (records / rejected / duplicates / orphans):");
    for h in &actual.pipeline_health {
        let o = oracle.get(h.topic.as_str());
        println!(
            "  {:<28} {:>7} / {:>5} / {:>5} / {:>4}   oracle {:?}",
            h.topic,
            h.records,
            h.rejected_total(),
            h.duplicates,
            h.orphan_events,
            o.map(|o| (o.records, o.rejected_total(), o.duplicates, o.orphan_events))
        );
    }
}

/// Waits for a Parquet snapshot taken after `after` (wall clock, micros; the same one read
/// twice in a row) and checks it against the oracle.
fn check_fresh_snapshot(views_dir: &Path, records: &[SourceRecord], after: i64) -> ViewSet {
    let started = Instant::now();
    let mut attempts = 0;
    let mut last = String::from("no snapshot yet");
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no fresh snapshot equal to the oracle within 60 s: {last}"
        );
        let first = pulso_sinks::parquet::read_whole_views(views_dir);
        std::thread::sleep(Duration::from_millis(100));
        let second = pulso_sinks::parquet::read_whole_views(views_dir);
        let (Ok(first), Ok(second)) = (first, second) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        if first != second || first.as_of.is_none_or(|a| a < after) {
            last = format!("last snapshot as_of {:?}, wanted >= {after}", second.as_of);
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let expected = pulso_oracle::compute(records, first.as_of);
        last = describe_diff(&first, &expected);
        if last.is_empty() {
            println!(
                "fresh snapshot equals the oracle (as_of {:?}, {} timeline rows, {} open cases)",
                first.as_of,
                first.timelines.len(),
                first.open_cases.len()
            );
            print_health(&first, &expected);
            return first;
        }
        attempts += 1;
        if attempts >= 3 {
            print_health(&first, &expected);
        }
        assert!(
            attempts < 3,
            "the engine's snapshot differs from the oracle at as_of {:?}:\n{last}",
            first.as_of
        );
        std::thread::sleep(Duration::from_millis(1500));
    }
}

// ---------------------------------------------------------------------------------------
// ClickHouse

/// The engine's config file in `dir`: retention off (the oracle here is the plain one, and
/// the epochs of a run killed at random moments depend on timing, so with the default
/// horizons a late change could reach an expired window in one run and not another), and
/// ClickHouse when `PULSO_CLICKHOUSE_URL` is set (its config is returned too).
fn engine_config(dir: &Path) -> (Option<ClickHouseConfig>, PathBuf) {
    let off = serde_json::json!({"late_after": "off", "entities": "off", "timelines": "off",
        "windows": {"minute": "off", "hour": "off", "day": "off"}});
    let mut text = serde_json::json!({"retention": off});
    let clickhouse = std::env::var("PULSO_CLICKHOUSE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .map(|url| {
            let database = format!("pulso_recovery_{}_{}", std::process::id(), nanos());
            text["clickhouse"] = serde_json::json!({"url": url, "database": database});
            ClickHouseConfig {
                url,
                database,
                ..Default::default()
            }
        });
    let path = dir.join("pulso.json");
    std::fs::write(&path, text.to_string()).unwrap();
    println!("engine config: {text}");
    (clickhouse, path)
}

fn drop_database(config: &ClickHouseConfig) {
    let result = ureq::post(&config.url)
        .timeout(Duration::from_secs(30))
        .send_string(&format!("DROP DATABASE IF EXISTS {}", config.database));
    if let Err(error) = result {
        println!("dropping {}: {error}", config.database);
    }
}

// ---------------------------------------------------------------------------------------
// The test

#[test]
fn sigkill_recovery_loses_nothing() {
    let Some(brokers) = brokers("sigkill_recovery_loses_nothing") else {
        return;
    };
    let started = Instant::now();
    let seed = 31;
    let cluster = Cluster::create(&brokers, "r");
    let generated = generate(&GeneratorConfig {
        seed,
        scale: 200_000,
        ..Default::default()
    });
    let total = generated.len();
    let stream: Vec<(Topic, Vec<u8>)> = generated
        .into_iter()
        .filter(|(_, v)| v.len() <= MAX_PRODUCED_BYTES)
        .collect();
    println!(
        "generated {total} records (seed {seed}, scale 200000); producing {} ({} over 900 KB \
         left out) over {PRODUCE_OVER:?}",
        stream.len(),
        total - stream.len()
    );
    let stream = Arc::new(stream);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let log = dir.path().join("engine.log");
    let (clickhouse, config_path) = engine_config(dir.path());
    let config_path = Some(config_path);

    let producer = {
        let cluster = cluster.clone();
        let stream = Arc::clone(&stream);
        std::thread::spawn(move || produce_paced(&cluster, &stream, 0..stream.len(), PRODUCE_OVER))
    };
    std::thread::sleep(Duration::from_millis(500));

    // Start, then SIGKILL at random moments and restart on the same OUT.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(nanos() as u64);
    let mut engine = Engine::spawn(&cluster, &out, &log, config_path.as_deref());
    for kill in 1..=KILLS {
        let delay = Duration::from_millis(rng.gen_range(500..=4000));
        let mut epoch_after: Option<Duration> = None;
        while engine.spawned.elapsed() < delay {
            if let Some(status) = engine.exited() {
                panic!("engine exited ({status}) on its own\n{}", engine.log_tail());
            }
            if epoch_after.is_none() && engine.serves_an_epoch() {
                epoch_after = Some(engine.spawned.elapsed());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        engine.kill9();
        let health = engine.get("/v1/pipeline_health");
        assert!(health.is_err(), "the killed engine still answers");
        match epoch_after {
            Some(t) => println!(
                "kill -9 #{kill} after {delay:.2?} (it served an epoch {t:.2?} after start)"
            ),
            None => println!(
                "kill -9 #{kill} after {delay:.2?} (before it served an epoch: killed mid \
                 recovery or start-up)"
            ),
        }
        engine = Engine::spawn(&cluster, &out, &log, config_path.as_deref());
    }

    // The last start: how long until it serves an epoch.
    let restarted = engine.spawned;
    loop {
        if let Some(status) = engine.exited() {
            panic!("the last engine exited ({status})\n{}", engine.log_tail());
        }
        if engine.serves_an_epoch() {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(120),
            "the last engine served no epoch within 120 s\n{}",
            engine.log_tail()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let to_epoch = restarted.elapsed();
    println!("recovery: last restart served an epoch after {to_epoch:.2?}");

    producer.join().expect("the producer thread");
    let records = read_back(&cluster, &stream);
    let ends = end_offsets(&cluster, &records);
    let caught_up = wait_positions(&mut engine, &ends);
    println!(
        "recovery: last restart caught up with the broker's end offsets after {:.2?} \
         (production ended {:.2?} into the test)",
        caught_up - restarted,
        started.elapsed()
    );

    // (1) A fresh snapshot equals the oracle.
    let views_dir = out.join("views");
    check_fresh_snapshot(&views_dir, &records, now_micros());

    // A clean stop, then the final snapshot again.
    let status = engine.interrupt();
    assert!(
        status.success(),
        "pulso run exited with {status} after SIGINT\n{}",
        engine.log_tail()
    );
    let last = pulso_sinks::parquet::read_whole_views(&views_dir).expect("the final snapshot");
    let expected = pulso_oracle::compute(&records, last.as_of);
    let diff = describe_diff(&last, &expected);
    assert!(
        diff.is_empty(),
        "the final snapshot differs from the oracle:\n{diff}"
    );
    println!("final snapshot (after SIGINT) equals the oracle");

    // (2) ClickHouse holds the final snapshot.
    if let Some(config) = &clickhouse {
        let sink = ClickHouseSink::connect(config.clone()).expect("connecting to ClickHouse");
        let stored = sink.read_views().expect("reading the ClickHouse views");
        let diff = describe_diff(&stored, &last);
        assert!(
            diff.is_empty(),
            "ClickHouse ({}) differs from the final snapshot (first: ClickHouse):\n{diff}",
            config.database
        );
        println!(
            "ClickHouse database {} equals the final snapshot",
            config.database
        );
        drop_database(config);
    } else {
        println!("ClickHouse: not checked (set PULSO_CLICKHOUSE_URL)");
    }

    // (3) The raw archive: exactly the accepted records, each once.
    let archive_dir = out.join("archive");
    let archived =
        pulso_sinks::archive::read_archive(&archive_dir, None, None).expect("reading the archive");
    let accepted: BTreeMap<(Topic, Position), &SourceRecord> = records
        .iter()
        .filter(|r| r.decode().is_ok())
        .map(|r| ((r.topic, r.position), r))
        .collect();
    let mut seen: BTreeSet<(Topic, Position)> = BTreeSet::new();
    let mut twice = Vec::new();
    let mut foreign = Vec::new();
    for a in &archived {
        if !seen.insert((a.topic, a.position)) {
            twice.push((a.topic, a.position));
        }
        match accepted.get(&(a.topic, a.position)) {
            None => foreign.push((a.topic, a.position)),
            Some(original) => assert!(
                a.value == original.value && a.key == original.key,
                "archived {:?} {:?} differs from the produced record",
                a.topic,
                a.position
            ),
        }
    }
    let lost: Vec<_> = accepted.keys().filter(|k| !seen.contains(k)).collect();
    assert!(
        twice.is_empty() && foreign.is_empty() && lost.is_empty(),
        "archive: {} records, {} accepted; {} archived twice (e.g. {:?}), {} not accepted \
         (e.g. {:?}), {} lost (e.g. {:?})",
        archived.len(),
        accepted.len(),
        twice.len(),
        twice.first(),
        foreign.len(),
        foreign.first(),
        lost.len(),
        lost.first()
    );
    println!(
        "archive holds the {} accepted records, each once; test took {:.2?}",
        archived.len(),
        started.elapsed()
    );
}
