//! The audit log of refused requests: every 401, 403 and 429 is one `pulso::audit` line with
//! the status, the token's name (or `anonymous`), the client and the route — never the token —
//! and requests without a valid token share one rate-limit bucket.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::*;
use pulso_queries::config::{Limits, RateLimit};

/// Log lines written by the test's subscriber.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn audit(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .filter(|l| l.contains("pulso::audit"))
            .map(str::to_owned)
            .collect()
    }
}

fn capture() -> (Lines, tracing::subscriber::DefaultGuard) {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (lines, tracing::subscriber::set_default(subscriber))
}

async fn status(app: &axum::Router, uri: &str, token: Option<&str>) -> StatusCode {
    request(app, Method::GET, uri, token, Body::empty()).await.0
}

#[tokio::test]
async fn refusals_are_audited_without_the_token() {
    let (lines, _guard) = capture();
    let app = secured();
    assert_eq!(
        status(&app, "/v1/views/inventory_levels", None).await,
        StatusCode::UNAUTHORIZED
    );
    let forged = "forged-token-0123456789";
    assert_eq!(
        status(&app, "/v1/alerts", Some(forged)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&app, "/metrics", Some(ACME)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(&app, "/v1/views/inventory_levels", Some(ACME)).await,
        StatusCode::OK
    );
    assert_eq!(status(&app, "/health", None).await, StatusCode::OK);

    let audit = lines.audit();
    assert_eq!(audit.len(), 3, "{audit:#?}");
    let has = |line: &str, parts: &[&str]| parts.iter().all(|p| line.contains(p));
    assert!(
        has(
            &audit[0],
            &[
                "status=401",
                "principal=\"anonymous\"",
                "route=\"/v1/views/{view}\"",
                "client="
            ]
        ),
        "{}",
        audit[0]
    );
    assert!(
        has(
            &audit[1],
            &[
                "status=401",
                "principal=\"anonymous\"",
                "route=\"/v1/alerts\""
            ]
        ),
        "{}",
        audit[1]
    );
    assert!(
        has(
            &audit[2],
            &["status=403", "principal=\"acme\"", "route=\"/metrics\""]
        ),
        "{}",
        audit[2]
    );
    for line in &audit {
        assert!(
            !line.contains(forged) && !line.contains(ACME),
            "a token was logged: {line}"
        );
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_share_one_rate_limit() {
    let (lines, _guard) = capture();
    let mut config = secured_config();
    config.limits = Limits {
        rate_limit: RateLimit {
            per_second: 0.001,
            burst: 2,
        },
        ..Limits::default()
    };
    let app = app_of(store(), &config);
    let uri = "/v1/views/inventory_levels";
    assert_eq!(status(&app, uri, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(&app, uri, Some("bad-token-0123456789")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status(&app, uri, None).await, StatusCode::TOO_MANY_REQUESTS);
    // A valid token has its own bucket.
    assert_eq!(status(&app, uri, Some(ACME)).await, StatusCode::OK);
    let audit = lines.audit();
    assert_eq!(audit.len(), 3, "{audit:#?}");
    assert!(
        audit[2].contains("status=429") && audit[2].contains("anonymous"),
        "{}",
        audit[2]
    );
}
