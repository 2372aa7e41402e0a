//! Request limits: the size of a request (target and body; 414 / 413), the time a request
//! may take (503 `timeout`), and a per-token rate limit (429 with `Retry-After`), each
//! answered with the API's JSON error.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::Principal;
use super::{ApiError, AppState};
use crate::config::{Limits, RateLimit};

/// A token bucket: up to `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// One token bucket per principal, and one shared by every request without a valid token.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    buckets: Vec<Mutex<Bucket>>,
    limit: RateLimit,
}

impl RateLimiter {
    /// Full buckets for `principals` principals and the anonymous one.
    pub(crate) fn new(principals: usize, limit: RateLimit, now: Instant) -> RateLimiter {
        let buckets = (0..=principals)
            .map(|_| {
                Mutex::new(Bucket {
                    tokens: f64::from(limit.burst),
                    refilled: now,
                })
            })
            .collect();
        RateLimiter { buckets, limit }
    }

    /// Takes one request from the bucket of requests without a valid token.
    pub(crate) fn take_anonymous(&self, now: Instant) -> Result<(), Duration> {
        self.take(self.buckets.len() - 1, now)
    }

    /// Takes one request from `principal`'s bucket at `now`, or says how long until one is
    /// available.
    pub(crate) fn take(&self, principal: usize, now: Instant) -> Result<(), Duration> {
        let Some(bucket) = self.buckets.get(principal) else {
            return Ok(());
        };
        let mut b = bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(b.refilled).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        b.refilled = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - b.tokens) / self.limit.per_second,
            ))
        }
    }
}

/// Middleware (after authentication): 429 when the token's bucket is empty. The open API
/// (no tokens: loopback only) is not rate limited.
pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let principal = request
        .extensions()
        .get::<Arc<Principal>>()
        .filter(|p| p.token)
        .map(|p| p.id);
    if let Some(id) = principal {
        if let Err(wait) = state.limiter.take(id, Instant::now()) {
            return ApiError::rate_limited(whole_seconds(wait)).into_response();
        }
    }
    next.run(request).await
}

/// A wait as whole seconds for `Retry-After`: rounded up, at least 1.
pub(crate) fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Middleware: 503 `timeout` when the request takes longer than `request_timeout_ms`.
pub(crate) async fn timeout(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    within(state.limits.request_timeout(), next.run(request)).await
}

/// Runs `response` for at most `limit`.
pub(crate) async fn within(
    limit: Duration,
    response: impl std::future::Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(limit, response).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

/// Middleware (every route): 414 for a request target over `max_uri_bytes`, 413 for a body
/// over `max_body_bytes` (declared or streamed).
pub(crate) async fn request_size(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match check_size(&state.limits, request).await {
        Ok(request) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn check_size(limits: &Limits, request: Request) -> Result<Request, ApiError> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > limits.max_uri_bytes {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "the request target is {target} bytes; at most {} are accepted",
                limits.max_uri_bytes
            ),
        ));
    }
    let max = limits.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {max} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    if request.body().is_end_stream() || request.body().size_hint().upper() == Some(0) {
        return Ok(request);
    }
    // A body of unknown length: read at most `max` bytes of it.
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_the_rate() {
        let start = Instant::now();
        let limit = RateLimit {
            per_second: 2.0,
            burst: 3,
        };
        let limiter = RateLimiter::new(2, limit, start);
        for _ in 0..3 {
            assert!(limiter.take(0, start).is_ok());
        }
        let wait = limiter.take(0, start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // Another principal has its own bucket.
        assert!(limiter.take(1, start).is_ok());
        // Half a second later, one more request.
        let later = start + Duration::from_millis(500);
        assert!(limiter.take(0, later).is_ok());
        assert!(limiter.take(0, later).is_err());
        // Never more than the burst after a long pause.
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(limiter.take(0, much_later).is_ok());
        }
        assert!(limiter.take(0, much_later).is_err());
    }

    #[tokio::test]
    async fn slow_requests_time_out() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK.into_response()
        };
        let response = within(Duration::from_millis(20), slow).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let fast = async { StatusCode::OK.into_response() };
        let response = within(Duration::from_millis(20), fast).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
