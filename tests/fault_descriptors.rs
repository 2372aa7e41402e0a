//! Fault F1, file-descriptor exhaustion: `pulso run` under `prlimit --nofile=300:300`, with
//! 400 idle TCP connections to its API, snapshots every 2 s. The API serves at most
//! `max_connections` (128) at once, so the archive, progress records and snapshots keep
//! their descriptors: the run stops cleanly on SIGTERM, logs no failed write, and `pulso
//! verify` finds the views equal to a backfill of its archive (no hole). Prints its figure.
//! Skipped where `prlimit` is missing.

mod support;

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::engine::{free_port, healthy};

#[test]
fn descriptor_exhaustion_leaves_no_hole_in_the_archive() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit not found: skipping");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("engine.log");
    let port = free_port();
    let mut child = Command::new("prlimit")
        .arg("--nofile=300:300")
        .arg(env!("CARGO_BIN_EXE_pulso"))
        .args([
            "run",
            "--rate",
            "2000",
            "--scale",
            "1000000000",
            "--seed",
            "5",
        ])
        .args(["--snapshot-secs", "2", "--workers", "2"])
        .args(["--http", &format!("127.0.0.1:{port}")])
        .arg("--out")
        .arg(out.path().join("out"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !healthy(port) {
        assert!(started.elapsed() < Duration::from_secs(30), "no API");
        std::thread::sleep(Duration::from_millis(100));
    }
    let clients: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(8));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(asked.elapsed() < Duration::from_secs(30), "still running");
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(clients);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "exit {status}:\n{log_text}");
    assert!(!log_text.contains("failed"), "a write failed:\n{log_text}");

    let verify = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args(["verify", "--archive"])
        .arg(out.path().join("out/archive"))
        .arg("--views")
        .arg(out.path().join("out/views"))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{printed}");
    let progress = pulso_sinks::archive::read_progress(&out.path().join("out/archive")).unwrap();
    println!(
        "F1 descriptor exhaustion (nofile 300, 400 idle API connections, 8 s): clean exit, \
         no failed write, last progress epoch {:?}, verify: views = backfill of the archive",
        progress.last_epoch()
    );
}
