//! Backfill equals live: `pulso run` on the built-in generator archives what it reads; a
//! `pulso backfill` of that archive, graded at the live run's `as_of`, gives the same views.
//! (`pipeline_health` included: the archive holds the accepted records, its progress record
//! the rejected counts.)

use std::net::TcpListener;
use std::process::Command;

use pulso_events::time::format_rfc3339;
use pulso_sinks::parquet::read_whole_views;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn backfill_of_the_archive_equals_the_live_views() {
    let live = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args([
            "run",
            "--rate",
            "200000",
            "--scale",
            "6000",
            "--seed",
            "3",
            "--snapshot-secs",
            "1",
        ])
        .args([
            "--workers",
            "2",
            "--exit-when-done",
            "--http",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .arg("--out")
        .arg(live.path())
        .status()
        .unwrap();
    assert!(status.success());
    let live_views = read_whole_views(&live.path().join("views")).unwrap();
    let as_of = live_views
        .as_of
        .expect("the live run graded its open cases");
    assert!(!live_views.timelines.is_empty());

    // `pulso backfill` of the live run's archive into `out`, graded at its `as_of`.
    let backfill_into = |out: &std::path::Path, flags: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pulso"))
            .args([
                "backfill",
                "--workers",
                "2",
                "--as-of",
                &format_rfc3339(as_of),
            ])
            .args(flags)
            .arg("--archive")
            .arg(live.path().join("archive"))
            .arg("--out")
            .arg(out)
            .status()
            .unwrap()
    };
    let backfill = tempfile::tempdir().unwrap();
    assert!(backfill_into(backfill.path(), &["--epoch-records", "500"]).success());
    let backfilled = read_whole_views(&backfill.path().join("views")).unwrap();
    assert!(
        live_views
            .pipeline_health
            .iter()
            .any(|h| h.rejected_total() > 0),
        "the live run rejected records"
    );
    assert_eq!(backfilled, live_views);

    // `--views` computes and writes the views named only, each the file of the whole pass.
    let some = tempfile::tempdir().unwrap();
    let selected = ["order_metrics", "timelines"];
    assert!(backfill_into(some.path(), &["--views", &selected.join(",")]).success());
    let mut files: Vec<String> = std::fs::read_dir(some.path().join("views"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["order_metrics.parquet", "timelines.parquet"]);
    for file in files {
        assert_eq!(
            std::fs::read(some.path().join("views").join(&file)).unwrap(),
            std::fs::read(backfill.path().join("views").join(&file)).unwrap(),
            "{file}: the file of the whole backfill"
        );
    }

    // `pulso verify` agrees, and catches a published view that differs from the archive.
    let verify = |views: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_pulso"))
            .args(["verify", "--archive"])
            .arg(live.path().join("archive"))
            .arg("--views")
            .arg(views)
            .output()
            .unwrap()
    };
    let ok = verify(&live.path().join("views"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let mut tampered = live_views.clone();
    tampered.order_metrics[0].orders_created += 1;
    let tampered_dir = tempfile::tempdir().unwrap();
    pulso_sinks::parquet::write_views(tampered_dir.path(), &tampered).unwrap();
    let bad = verify(tampered_dir.path());
    assert!(!bad.status.success());
    let printed = String::from_utf8_lossy(&bad.stdout);
    assert!(
        printed.contains("missing") && printed.contains("unexpected"),
        "{printed}"
    );
}

#[test]
fn verify_matches_the_live_api() {
    let out = tempfile::tempdir().unwrap();
    let api = format!("127.0.0.1:{}", free_port());
    let mut engine = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args([
            "run",
            "--rate",
            "200000",
            "--scale",
            "4000",
            "--seed",
            "4",
            "--regrade-secs",
            "60",
        ])
        .args(["--http", &api])
        .arg("--out")
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The generator is done within a second; wait until the served epoch stops moving.
    let epoch = || -> Option<u64> {
        let body = ureq::get(&format!("http://{api}/health"))
            .call()
            .ok()?
            .into_string()
            .ok()?;
        serde_json::from_str::<serde_json::Value>(&body).ok()?["epoch"].as_u64()
    };
    let started = std::time::Instant::now();
    let mut last = None;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(700));
        let now = epoch();
        if now.is_some() && now == last {
            break;
        }
        last = now;
        assert!(
            started.elapsed().as_secs() < 60,
            "the live run did not settle"
        );
    }
    let verify = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["verify", "--api", &format!("http://{api}"), "--archive"])
        .arg(out.path().join("archive"))
        .output()
        .unwrap();
    let _ = engine.kill();
    let _ = engine.wait();
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{printed}");
    assert!(printed.contains("0 differences"), "{printed}");
}
