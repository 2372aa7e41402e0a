//! Live end-to-end tests of `pulso run` against a real Kafka-compatible broker (tansu in
//! `scripts/broker.sh`). Skipped, with a message, unless `PULSO_KAFKA_BROKERS` is set:
//!
//! ```text
//! PULSO_KAFKA_BROKERS=127.0.0.1:9092 cargo test --release --test kafka_live -- --nocapture
//! ```
//!
//! `live_job_equals_the_oracle`: a generated stream (duplicates, late events, orphans, bad
//! records of every reason, two records over 1 MiB) is produced to freshly created, uniquely
//! prefixed topics of 3 partitions, half before the engine starts and half once it has caught
//! up. Then, with the exact partitions and offsets read back from the broker:
//! - the engine's latest Parquet snapshot equals `pulso_oracle::compute` at the snapshot's
//!   `as_of`;
//! - the dead-letter topic holds every rejected record once, key and value unchanged, with
//!   the `dlq.*` headers and the oracle's reason;
//! - after SIGINT the engine exits 0 and its raw archive holds exactly the accepted records.
//!
//! `broker_pause_loses_nothing` (also needs `PULSO_KAFKA_PAUSE_TEST=1`): the same, with the
//! broker process (pid in `build/broker.pid`) stopped with SIGSTOP for 30 s while the engine
//! reads; the API must keep answering meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pulso_connectors::generator::{generate, GeneratorConfig};
use pulso_connectors::kafka::rdkafka;
use pulso_connectors::kafka::{
    HEADER_DETAIL, HEADER_FAILED_AT, HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
};
use pulso_events::views::ViewSet;
use pulso_events::{Position, Rejection, SourceRecord, Topic};
use rdkafka::message::{Headers, Message};
use serde_json::Value;
use support::diff::describe_diff;
use support::engine::free_port;
use support::kafka::{brokers, end_offsets, produce, read_all, Cluster, PartitionJson, PARTITIONS};

mod support;

/// The two tests run one after the other: the broker pause would disturb the other one.
static SERIAL: Mutex<()> = Mutex::new(());
/// How long the engine may take to catch up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// Set-up

// ---------------------------------------------------------------------------------------
// Producing

// ---------------------------------------------------------------------------------------
// Reading back

/// The source records of the test's topics as the broker holds them: exact partitions and
/// offsets, the Pulso topic (prefix removed), key and value.
fn read_back(cluster: &Cluster, stream: &[(Topic, Vec<u8>)]) -> Vec<SourceRecord> {
    let started = Instant::now();
    let partitions: Vec<(String, i32)> = cluster
        .source_topics()
        .into_iter()
        .flat_map(|t| (0..PARTITIONS).map(move |p| (t.clone(), p)))
        .collect();
    let messages = read_all(
        &cluster.brokers,
        "pulso-kafka-live-test",
        &partitions,
        stream.len(),
        Duration::from_secs(60),
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
    // The broker holds exactly what was produced: each index once, same topic and bytes.
    assert_eq!(
        records.len(),
        stream.len(),
        "records read back from the broker"
    );
    let mut seen = vec![false; stream.len()];
    for record in &records {
        let key = record
            .key
            .as_deref()
            .expect("every produced record has a key");
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
    let per_partition: BTreeSet<(Topic, i32)> = records
        .iter()
        .map(|r| (r.topic, r.position.partition))
        .collect();
    println!(
        "read back {} records ({} non-empty partitions) in {:.2?}",
        records.len(),
        per_partition.len(),
        started.elapsed()
    );
    records
}

// ---------------------------------------------------------------------------------------
// The engine

/// A `pulso run` child process, killed if the test ends without stopping it.
struct Engine {
    child: Option<Child>,
    out: PathBuf,
    log: PathBuf,
    api: String,
}

/// `PULSO_KAFKA_DLQ_MAX_BYTES`: when set, the engine runs with
/// `kafka.properties."message.max.bytes"` at this value (a config file), which lets its
/// dead-letter producer send the records over 1 MiB. By default the engine runs with its
/// default settings, under which librdkafka refuses messages over 1 000 000 bytes.
fn dlq_max_bytes() -> Option<String> {
    std::env::var("PULSO_KAFKA_DLQ_MAX_BYTES")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

impl Engine {
    /// Starts `pulso run` on `cluster`, writing to `dir/out` (log in `dir/engine.log`), and
    /// waits until its API answers.
    fn start(cluster: &Cluster, dir: &Path) -> Engine {
        let out = dir.join("out");
        let log = dir.join("engine.log");
        let port = free_port();
        let log_file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_pulso"));
        // Retention off: the oracle here is the plain one, and the 14-day stream arrives in
        // epochs that depend on timing, so with the default horizons a late change could
        // reach an expired minute window in one run and not in another (retention is checked
        // against its own oracle in tests/oracle_equivalence.rs).
        let off = serde_json::json!({"late_after": "off", "entities": "off", "timelines": "off",
            "windows": {"minute": "off", "hour": "off", "day": "off"}});
        let mut text = serde_json::json!({"retention": off});
        if let Some(bytes) = dlq_max_bytes() {
            // The operator's workaround for the DLQ producer's 1 000 000-byte default.
            text["kafka"] = serde_json::json!({
                "brokers": cluster.brokers,
                "properties": {"message.max.bytes": bytes},
            });
        }
        let config = dir.join("pulso.json");
        std::fs::write(&config, text.to_string()).unwrap();
        println!("engine config: {text}");
        command.arg("run").arg("--config").arg(&config);
        let child = command
            .args(["--brokers", &cluster.brokers])
            .args(["--topic-prefix", &cluster.prefix])
            .args(["--dlq-topic", &cluster.dlq])
            .arg("--out")
            .arg(&out)
            .args(["--http", &format!("127.0.0.1:{port}")])
            .args(["--snapshot-secs", "1", "--workers", "2"])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("starting pulso run");
        let engine = Engine {
            child: Some(child),
            out,
            log,
            api: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while engine.get("/health").is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the API did not answer within 30 s\n{}",
                engine.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        println!(
            "engine pid {} answering on {} after {:.2?}",
            engine.pid(),
            engine.api,
            started.elapsed()
        );
        engine
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// GET `path` of the API as JSON.
    fn get(&self, path: &str) -> Result<Value, String> {
        let response = ureq::get(&format!("{}{path}", self.api))
            .timeout(Duration::from_secs(5))
            .call()
            .map_err(|e| e.to_string())?;
        let text = response.into_string().map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }

    /// The last lines of the engine's log, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }

    /// The lines of the engine's log that contain `needle`.
    fn log_lines(&self, needle: &str) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
        lines.join("\n")
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
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What [`wait_caught_up`] saw.
struct CatchUp {
    /// Some partition reported a positive lag on the way.
    saw_lag: bool,
    /// The partitions when caught up.
    partitions: Vec<PartitionJson>,
    polls: usize,
}

/// Records read in all per `/v1/pipeline_health`, and its partitions.
fn health_figures(health: &Value) -> (i64, Vec<PartitionJson>) {
    let records = health["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| r["records"].as_i64().unwrap()).sum())
        .unwrap_or(0);
    let partitions = serde_json::from_value(health["partitions"].clone()).unwrap();
    (records, partitions)
}

/// Polls `/v1/pipeline_health` until the engine has read `expected` records and reports
/// every partition of every source topic with lag 0.
fn wait_caught_up(engine: &Engine, expected: i64) -> CatchUp {
    let started = Instant::now();
    let wanted_partitions = Topic::ALL.len() * PARTITIONS as usize;
    let mut saw_lag = false;
    let mut polls = 0;
    let mut last = Value::Null;
    loop {
        if let Ok(health) = engine.get("/v1/pipeline_health") {
            polls += 1;
            let (records, partitions) = health_figures(&health);
            saw_lag |= partitions.iter().any(|p| p.lag > 0);
            if records == expected
                && partitions.len() == wanted_partitions
                && partitions.iter().all(|p| p.lag == 0)
            {
                println!(
                    "caught up with {expected} records in {:.2?} ({polls} polls, lag seen: \
                     {saw_lag})",
                    started.elapsed()
                );
                return CatchUp {
                    saw_lag,
                    partitions,
                    polls,
                };
            }
            assert!(
                records <= expected,
                "the engine counts {records} records read, more than the {expected} produced"
            );
            last = health;
        }
        assert!(
            started.elapsed() < CATCH_UP_TIMEOUT,
            "not caught up with {expected} records within {CATCH_UP_TIMEOUT:?}; last \
             pipeline_health: {last}\n{}",
            engine.log_tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lag check of a catch-up: a positive lag was seen, or (catch-up too fast to observe)
/// every partition reads `next_offset == high_watermark`.
fn check_lag_reported(phase: &str, catch_up: &CatchUp) {
    let consistent = catch_up
        .partitions
        .iter()
        .all(|p| p.lag == 0 && p.next_offset == p.high_watermark);
    assert!(
        catch_up.saw_lag || consistent,
        "{phase}: no positive lag was ever reported ({} polls), yet at catch-up some \
         partition has next_offset != high_watermark: {:?}",
        catch_up.polls,
        catch_up.partitions
    );
}

/// Waits (up to 15 s) until `/v1/pipeline_health` reports, for every partition, the
/// broker's true end offset (from the read-back) as both `next_offset` and `high_watermark`,
/// with lag 0. (At the moment of catch-up the figures may trail by an epoch of a worker and
/// by the 1 s watermark refresh.)
fn check_positions(engine: &Engine, ends: &BTreeMap<(String, i32), i64>) {
    let started = Instant::now();
    loop {
        let (_, partitions) = health_figures(&engine.get("/v1/pipeline_health").unwrap());
        let next: BTreeMap<(String, i32), i64> = partitions
            .iter()
            .map(|p| ((p.topic.clone(), p.partition), p.next_offset))
            .collect();
        let high: BTreeMap<(String, i32), i64> = partitions
            .iter()
            .map(|p| ((p.topic.clone(), p.partition), p.high_watermark))
            .collect();
        if &next == ends && &high == ends && partitions.iter().all(|p| p.lag == 0) {
            println!(
                "reported positions equal the broker's end offsets after {:.2?}",
                started.elapsed()
            );
            return;
        }
        if started.elapsed() >= Duration::from_secs(15) {
            let wrong: Vec<String> = partitions
                .iter()
                .filter(|p| {
                    ends.get(&(p.topic.clone(), p.partition)) != Some(&p.next_offset)
                        || ends.get(&(p.topic.clone(), p.partition)) != Some(&p.high_watermark)
                })
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
                .collect();
            panic!(
                "after 15 s the reported positions still differ from the broker's end offsets \
                 ({} of {} partitions reported): {wrong:#?}",
                partitions.len(),
                ends.len()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------
// Views

fn records_in(views: &ViewSet) -> i64 {
    views.pipeline_health.iter().map(|h| h.records).sum()
}

/// Waits for a Parquet snapshot in `views_dir` covering all `records` (the same one read
/// twice in a row, so not torn by a concurrent write), and checks it equals the oracle at
/// the snapshot's `as_of`. Returns the snapshot.
fn check_snapshot(views_dir: &Path, records: &[SourceRecord], log: &dyn Fn() -> String) -> ViewSet {
    let started = Instant::now();
    let total = records.len() as i64;
    let mut attempts = 0;
    let mut last = String::from("no snapshot yet");
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no snapshot with {total} records equal to the oracle within 60 s: {last}\n{}",
            log()
        );
        let first = pulso_sinks::parquet::read_whole_views(views_dir);
        std::thread::sleep(Duration::from_millis(100));
        let second = pulso_sinks::parquet::read_whole_views(views_dir);
        let (Ok(first), Ok(second)) = (first, second) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        if first != second || records_in(&first) != total {
            last = format!("last snapshot has {} records", records_in(&second));
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let expected = pulso_oracle::compute(records, first.as_of);
        if first == expected {
            println!(
                "snapshot equals the oracle (as_of {:?}, {} timeline rows, {} open cases) \
                 after {:.2?}",
                first.as_of,
                first.timelines.len(),
                first.open_cases.len(),
                started.elapsed()
            );
            return first;
        }
        attempts += 1;
        last = describe_diff(&first, &expected);
        // Two identical reads of a snapshot that still differs: a real difference (allow a
        // couple of retries against a write landing exactly between the two reads).
        assert!(
            attempts < 3,
            "the engine's snapshot differs from the oracle at as_of {:?}:\n{last}",
            first.as_of
        );
        std::thread::sleep(Duration::from_millis(1500));
    }
}

// ---------------------------------------------------------------------------------------
// Dead letters

/// Checks the dead-letter topic: every rejected record once, with its original key and
/// bytes and the `dlq.*` headers, the reason and detail the decoder gives.
fn check_dlq(cluster: &Cluster, records: &[SourceRecord], expected_count: usize, engine: &Engine) {
    let started = Instant::now();
    let mut rejected: BTreeMap<(Topic, Position), (&SourceRecord, Rejection)> = BTreeMap::new();
    for record in records {
        if let Err(rejection) = record.decode() {
            rejected.insert((record.topic, record.position), (record, rejection));
        }
    }
    assert_eq!(
        rejected.len(),
        expected_count,
        "records the decoder rejects vs the oracle's rejected total"
    );
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, rejection) in rejected.values() {
        *by_reason.entry(rejection.reason.as_str()).or_default() += 1;
    }
    println!("expecting {expected_count} dead letters: {by_reason:?}");

    // The DLQ producer is asynchronous: wait for the count, then a little longer for extras.
    let messages = read_all(
        &cluster.brokers,
        "pulso-kafka-live-test",
        &[(cluster.dlq.clone(), 0)],
        expected_count,
        Duration::from_secs(30),
        Duration::from_secs(2),
    );
    let mut found: BTreeSet<(Topic, Position)> = BTreeSet::new();
    for message in &messages {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        if let Some(h) = message.headers() {
            for header in h.iter() {
                let value = header
                    .value
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                headers.insert(header.key.to_string(), value);
            }
        }
        for name in [
            HEADER_REASON,
            HEADER_DETAIL,
            HEADER_SOURCE_TOPIC,
            HEADER_SOURCE_PARTITION,
            HEADER_SOURCE_OFFSET,
            HEADER_FAILED_AT,
        ] {
            assert!(
                headers.contains_key(name),
                "DLQ record at offset {} lacks header {name}: {headers:?}",
                message.offset()
            );
        }
        let topic = headers[HEADER_SOURCE_TOPIC]
            .strip_prefix(&cluster.prefix)
            .and_then(Topic::from_name)
            .unwrap_or_else(|| panic!("dlq.source.topic {:?}", headers[HEADER_SOURCE_TOPIC]));
        let position = Position {
            partition: headers[HEADER_SOURCE_PARTITION].parse().unwrap(),
            offset: headers[HEADER_SOURCE_OFFSET].parse().unwrap(),
        };
        let Some((original, rejection)) = rejected.get(&(topic, position)) else {
            panic!("DLQ record for {topic:?} {position:?}, which the decoder accepts: {headers:?}");
        };
        assert!(
            found.insert((topic, position)),
            "{topic:?} {position:?} is twice in the DLQ"
        );
        assert!(
            message.payload().unwrap_or_default() == original.value.as_slice(),
            "DLQ value of {topic:?} {position:?} differs from the produced bytes"
        );
        assert_eq!(
            message.key(),
            original.key.as_deref(),
            "DLQ key of {topic:?} {position:?}"
        );
        assert_eq!(
            headers[HEADER_REASON],
            rejection.reason.as_str(),
            "dlq.reason of {topic:?} {position:?}"
        );
        assert_eq!(
            headers[HEADER_DETAIL], rejection.detail,
            "dlq.detail of {topic:?} {position:?}"
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(&headers[HEADER_FAILED_AT]).is_ok(),
            "dlq.failed_at {:?} is not RFC 3339",
            headers[HEADER_FAILED_AT]
        );
    }
    let missing: Vec<String> = rejected
        .iter()
        .filter(|(k, _)| !found.contains(k))
        .map(|((t, p), (r, rej))| {
            format!(
                "{t:?} {p:?} ({}, {} bytes)",
                rej.reason.as_str(),
                r.value.len()
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {expected_count} rejected records are not in the DLQ {}: {missing:?}\nengine \
         log about the dead-letter topic:\n{}",
        missing.len(),
        cluster.dlq,
        engine.log_lines("dead-letter")
    );
    assert_eq!(messages.len(), expected_count, "DLQ record count");
    println!(
        "DLQ holds the {expected_count} rejected records, headers checked, in {:.2?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// Broker pause

/// SIGSTOPs a process and SIGCONTs it when dropped (also when the test panics).
struct Paused(u32);

fn signal(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid} failed");
}

impl Paused {
    fn pause(pid: u32) -> Paused {
        signal("-STOP", pid);
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        signal("-CONT", self.0);
    }
}

/// Stops the broker for `pause` while the engine runs, checking the API answers meanwhile.
fn pause_broker(broker_pid: u32, engine: &Engine, pause: Duration) {
    let (read_before, _) = engine
        .get("/v1/pipeline_health")
        .map(|h| health_figures(&h))
        .unwrap_or_default();
    let paused = Paused::pause(broker_pid);
    let started = Instant::now();
    println!("broker pid {broker_pid} stopped (engine had read {read_before} records)");
    let mut answers = 0;
    let mut max_lag = 0;
    while started.elapsed() < pause {
        let health = engine.get("/health");
        assert!(
            health.as_ref().is_ok_and(|h| h["status"] == "ok"),
            "GET /health during the broker pause: {health:?}\n{}",
            engine.log_tail()
        );
        let pipeline = engine.get("/v1/pipeline_health");
        assert!(
            pipeline.is_ok(),
            "GET /v1/pipeline_health during the broker pause: {pipeline:?}"
        );
        if let Ok(health) = &pipeline {
            let (_, partitions) = health_figures(health);
            max_lag = max_lag.max(partitions.iter().map(|p| p.lag).sum());
        }
        answers += 1;
        std::thread::sleep(Duration::from_secs(2));
    }
    let (read_during, _) = engine
        .get("/v1/pipeline_health")
        .map(|h| health_figures(&h))
        .unwrap_or_default();
    drop(paused);
    println!(
        "broker resumed after {:.2?}; the API answered {answers} times meanwhile (engine at \
         {read_during} records, greatest total lag reported {max_lag})",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// The scenario

/// The whole scenario: produce half, run the engine, catch up (optionally with a broker
/// pause), produce the rest, catch up, compare everything with the oracle, stop the engine.
fn scenario(brokers: &str, seed: u64, scale: u64, broker_pause: Option<(u32, Duration)>) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let cluster = Cluster::create(brokers, "t");
    let stream = generate(&GeneratorConfig {
        seed,
        scale,
        ..Default::default()
    });
    let too_large: Vec<usize> = stream
        .iter()
        .filter(|(_, v)| v.len() > pulso_events::MAX_RECORD_BYTES)
        .map(|(_, v)| v.len())
        .collect();
    println!(
        "generated {} records (seed {seed}, scale {scale}); over 1 MiB: {too_large:?}",
        stream.len()
    );
    let half = stream.len() / 2;
    produce(&cluster, &stream, 0..half);

    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::start(&cluster, dir.path());
    let first = wait_caught_up(&engine, half as i64);
    check_lag_reported("first half", &first);

    produce(&cluster, &stream, half..stream.len());
    if let Some((pid, pause)) = broker_pause {
        // Right after the second half is on the broker: the engine is reading it.
        pause_broker(pid, &engine, pause);
    }
    let second = wait_caught_up(&engine, stream.len() as i64);
    check_lag_reported("second half", &second);

    let records = read_back(&cluster, &stream);
    check_positions(&engine, &end_offsets(&cluster, &records));

    let log = || engine.log_tail();
    let views_dir = engine.out.join("views");
    let snapshot = check_snapshot(&views_dir, &records, &log);
    let rejected: i64 = snapshot
        .pipeline_health
        .iter()
        .map(|h| h.rejected_total())
        .sum();
    check_dlq(&cluster, &records, rejected as usize, &engine);

    // The engine's own DLQ size signal: this DLQ plus the source topic notifications.dlq.
    let notifications_dlq = records
        .iter()
        .filter(|r| r.topic == Topic::NotificationsDlq)
        .count() as i64;
    let wanted_dlq_size = rejected + notifications_dlq;
    let deadline = Instant::now() + Duration::from_secs(30);
    // The size is unknown (null) while a probe fails, e.g. the one that ran during a broker
    // pause, until the next probe after the broker is back.
    let dlq_size = loop {
        let size = engine.get("/v1/pipeline_health").unwrap()["dlq_size"].as_i64();
        if size == Some(wanted_dlq_size) || Instant::now() >= deadline {
            break size;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let dlq_size = dlq_size.unwrap_or_else(|| panic!("dlq_size still unknown after 30 s"));
    assert_eq!(
        dlq_size, wanted_dlq_size,
        "dlq_size ({rejected} dead letters + {notifications_dlq} in notifications.dlq)"
    );
    println!("dlq_size reports {dlq_size} ({rejected} + {notifications_dlq} in notifications.dlq)");

    // SIGINT: a clean exit after a final snapshot, still equal to the oracle.
    let stopping = Instant::now();
    let status = engine.interrupt();
    assert!(
        status.success(),
        "pulso run exited with {status} after SIGINT\n{}",
        engine.log_tail()
    );
    println!("engine exited 0 {:.2?} after SIGINT", stopping.elapsed());
    let last = pulso_sinks::parquet::read_whole_views(&views_dir).expect("the final snapshot");
    let expected = pulso_oracle::compute(&records, last.as_of);
    assert!(
        last == expected,
        "the final snapshot differs from the oracle:\n{}",
        describe_diff(&last, &expected)
    );

    // The raw archive: exactly the accepted records, each once.
    let archive_dir = engine.out.join("archive");
    assert!(archive_dir.is_dir(), "{} is missing", archive_dir.display());
    let archived = pulso_sinks::archive::read_archive(&archive_dir, None, None).unwrap();
    let accepted: BTreeMap<(Topic, Position), &SourceRecord> = records
        .iter()
        .filter(|r| r.decode().is_ok())
        .map(|r| ((r.topic, r.position), r))
        .collect();
    assert_eq!(
        archived.len() as i64,
        records.len() as i64 - rejected,
        "archived records vs total - rejected"
    );
    assert_eq!(archived.len(), accepted.len());
    for a in &archived {
        let original = accepted
            .get(&(a.topic, a.position))
            .unwrap_or_else(|| panic!("archived {:?} {:?} is not accepted", a.topic, a.position));
        assert!(
            a.value == original.value && a.key == original.key,
            "archived {:?} {:?} differs from the produced record",
            a.topic,
            a.position
        );
    }
    println!(
        "archive holds the {} accepted records; scenario took {:.2?}",
        archived.len(),
        started.elapsed()
    );
}

#[test]
fn live_job_equals_the_oracle() {
    let Some(brokers) = brokers("live_job_equals_the_oracle") else {
        return;
    };
    scenario(&brokers, 7, 20_000, None);
}

#[test]
fn broker_pause_loses_nothing() {
    if std::env::var("PULSO_KAFKA_PAUSE_TEST").as_deref() != Ok("1") {
        println!(
            "broker_pause_loses_nothing: skipped (set PULSO_KAFKA_PAUSE_TEST=1 and \
             PULSO_KAFKA_BROKERS to run it; it stops the broker for 30 s)"
        );
        return;
    }
    let Some(brokers) = brokers("broker_pause_loses_nothing") else {
        return;
    };
    // The broker's pid: PULSO_BROKER_PID, else the pid file of scripts/broker.sh.
    let pid_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("build/broker.pid");
    let pid: u32 = std::env::var("PULSO_BROKER_PID")
        .or_else(|_| std::fs::read_to_string(&pid_file))
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (start the broker with scripts/broker.sh or set PULSO_BROKER_PID)",
                pid_file.display()
            )
        })
        .trim()
        .parse()
        .expect("a broker pid");
    scenario(&brokers, 11, 20_000, Some((pid, Duration::from_secs(30))));
}
