//! The API server's connection limits, over real sockets: slow and idle connections are closed
//! after the header-read timeout, connections beyond the cap wait until one closes, and a
//! shutdown finishes within its timeout whatever the clients do.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use pulso_queries::config::Limits;
use pulso_queries::ServeConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{spawn_blocking, JoinHandle};

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
const PARTIAL: &[u8] = b"GET /health HTTP/1.1\r\nHo";

/// Serves the open API with `limits` on a fresh loopback port until the returned sender fires.
async fn serve(limits: Limits) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = ServeConfig::default();
    config.api.limits = limits;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        pulso_queries::serve_on(listener, store(), config, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (addr, stop, server)
}

/// Reads until the peer closes (or resets) the connection, at most `within`; true if it did.
/// Blocking: call it off the runtime.
fn closed_within(mut stream: TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Sends a `/health` request on a new connection and returns the response's status line, if
/// one arrives within `within`. Blocking: call it off the runtime.
fn health(addr: SocketAddr, within: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(within)).unwrap();
    stream.write_all(HEALTH).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    text.lines().next().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    let (addr, stop, server) = serve(Limits {
        header_read_timeout_ms: 300,
        ..Limits::default()
    })
    .await;
    let checked = spawn_blocking(move || {
        let idle = TcpStream::connect(addr).unwrap();
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(PARTIAL).unwrap();
        assert!(closed_within(idle, Duration::from_secs(5)), "idle kept");
        assert!(
            closed_within(slow, Duration::from_secs(5)),
            "slowloris kept"
        );
        health(addr, Duration::from_secs(5))
    });
    assert_eq!(checked.await.unwrap().as_deref(), Some("HTTP/1.1 200 OK"));
    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let (addr, stop, server) = serve(Limits {
        max_connections: 2,
        header_read_timeout_ms: 60_000,
        ..Limits::default()
    })
    .await;
    let checked = spawn_blocking(move || {
        let first = TcpStream::connect(addr).unwrap();
        let _second = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // Both slots are taken by idle clients: a third request is not served...
        let waiting = std::thread::spawn(move || health(addr, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(700));
        assert!(
            !waiting.is_finished(),
            "a request beyond the cap was served"
        );
        // ...until one of them goes away.
        drop(first);
        waiting.join().unwrap()
    });
    assert_eq!(checked.await.unwrap().as_deref(), Some("HTTP/1.1 200 OK"));
    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_within_its_timeout_whatever_clients_do() {
    let (addr, stop, server) = serve(Limits {
        header_read_timeout_ms: 60_000,
        shutdown_timeout_ms: 500,
        ..Limits::default()
    })
    .await;
    let clients = spawn_blocking(move || {
        let mut clients: Vec<TcpStream> =
            (0..20).map(|_| TcpStream::connect(addr).unwrap()).collect();
        for slow in clients.iter_mut().take(10) {
            slow.write_all(PARTIAL).unwrap();
        }
        clients
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server did not stop within 5 s")
        .unwrap();
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    // Nothing listens any more.
    assert!(TcpStream::connect(addr).is_err());
    drop(clients);
}
