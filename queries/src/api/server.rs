//! The API's HTTP/1.1 server loop (hyper, with hyper-util's graceful shutdown), instead of
//! `axum::serve`, for the limits a server facing the network needs:
//! - a **connection cap**: at most `max_connections` connections are served at once; further
//!   ones wait in the kernel's accept queue until one closes (so the process never runs out
//!   of file descriptors because of idle clients);
//! - a **header-read timeout**: a connection that does not deliver a whole request head within
//!   `header_read_timeout_ms` (slowloris), or stays idle that long between requests, is
//!   closed;
//! - a **bounded shutdown**: once `shutdown` completes, no new connection is accepted, the
//!   open ones finish their requests, and after `shutdown_timeout_ms` the remaining ones are
//!   dropped, whatever the clients do.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;

use crate::config::Limits;

/// Serves `router` on `listener` with the connection limits of `limits` until `shutdown`
/// completes (see the module docs).
pub(crate) async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // `max_connections` is validated non-zero with the rest of the config.
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_error(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The client's address, for the audit log (`ConnectInfo`, as axum's own server sets it).
        let service = TowerToHyperService::new(
            ServiceBuilder::new()
                .map_request(move |mut request: axum::extract::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(client));
                    request
                })
                .service(router.clone()),
        );
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%client, %error, "API connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let grace = Duration::from_millis(limits.shutdown_timeout_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = grace.as_secs_f64(),
            "API connections still open after the shutdown timeout: dropping them"
        );
    }
}

/// After a failed `accept`: goes on at once when only that connection failed, and waits a
/// second otherwise (e.g. out of file descriptors) so the loop does not spin.
async fn accept_error(error: std::io::Error) {
    let per_connection = matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    );
    if per_connection {
        return;
    }
    tracing::error!(%error, "accepting an API connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
