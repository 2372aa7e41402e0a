//! Fault F4: SIGTERM while 50 idle and 50 slow clients (each holding half a request head)
//! keep connections open. `pulso run` must exit 0 within 10 s and leave its final Parquet
//! snapshot. Prints its figure.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::engine::{free_port, healthy};

fn snapshot_files(views: &Path) -> usize {
    std::fs::read_dir(views).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
            .count()
    })
}

#[test]
fn sigterm_with_idle_and_slow_clients_exits_within_ten_seconds_with_a_final_snapshot() {
    let out = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulso"))
        .args([
            "run",
            "--rate",
            "2000",
            "--no-archive",
            "--snapshot-secs",
            "3600",
        ])
        .args(["--http", &format!("127.0.0.1:{port}")])
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !healthy(port) {
        assert!(started.elapsed() < Duration::from_secs(30), "no API");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let views = out.path().join("views");
    // The periodic snapshots are an hour apart: only the final one can be there at the end.
    let mut clients: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    for slow in clients.iter_mut().take(50) {
        slow.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let before = snapshot_files(&views);
    assert_eq!(before, 0, "a periodic snapshot was written");

    let asked = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if asked.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("pulso run still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = asked.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(snapshot_files(&views) >= 11, "no final snapshot");
    println!(
        "F4 SIGTERM with 50 idle + 50 slow clients: exited 0 after {took:.2?} \
         ({} view files before, {} after)",
        before,
        snapshot_files(&views)
    );
    drop(clients);
}
