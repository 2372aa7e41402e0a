//! `pulso run --clickhouse`: after a live run on the built-in generator, `SELECT * FROM
//! <db>.<view>` equals the run's final Parquet snapshot; a second run over the same database
//! replaces the first run's rows (nothing doubled, nothing stale). Needs a real ClickHouse:
//! set `PULSO_CLICKHOUSE_URL`; skipped otherwise.

use std::net::TcpListener;
use std::process::Command;

use pulso_sinks::clickhouse::{ClickHouseConfig, ClickHouseSink};
use pulso_sinks::parquet::read_whole_views;

fn live_run(url: &str, database: &str, seed: &str) -> pulso_events::views::ViewSet {
    let out = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = out.path().join("pulso.json");
    let text = format!(r#"{{"clickhouse": {{"url": "{url}", "database": "{database}"}}}}"#);
    std::fs::write(&config, text).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args([
            "run",
            "--rate",
            "200000",
            "--scale",
            "4000",
            "--seed",
            seed,
            "--exit-when-done",
        ])
        .args(["--http", &format!("127.0.0.1:{port}")])
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    read_whole_views(&out.path().join("views")).unwrap()
}

#[test]
fn clickhouse_equals_the_live_views_across_runs() {
    let Ok(url) = std::env::var("PULSO_CLICKHOUSE_URL") else {
        eprintln!("SKIPPED run_clickhouse: PULSO_CLICKHOUSE_URL is not set");
        return;
    };
    let database = format!("pulso_run_test_{}", std::process::id());
    let config = ClickHouseConfig {
        url: url.clone(),
        database: database.clone(),
        ..Default::default()
    };
    for seed in ["5", "6"] {
        let live = live_run(&url, &database, seed);
        let sink = ClickHouseSink::connect(config.clone()).unwrap();
        assert_eq!(sink.read_views().unwrap(), live, "seed {seed}");
    }
    ClickHouseSink::connect(config)
        .unwrap()
        .drop_database()
        .unwrap();
}
