//! The API's one error type: a status, a machine-readable code, a message and the offending
//! parameter, rendered as `{"error": {"code", "message", "parameter"}}` (with
//! `WWW-Authenticate` on 401 and `Retry-After` on 429).

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answered to a client (never a 500 for bad input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code, e.g. `invalid_parameter`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The query or path parameter at fault, if any.
    pub parameter: Option<String>,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// 400 `invalid_parameter` naming `parameter`.
    pub fn invalid(parameter: &str, message: impl Into<String>) -> ApiError {
        ApiError::bad_request("invalid_parameter", parameter, message)
    }

    /// 400 with `code`, naming `parameter`.
    pub fn bad_request(
        code: &'static str,
        parameter: &str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            parameter: Some(parameter.to_string()),
            retry_after: None,
        }
    }

    /// 404 with `code`, optionally naming the path parameter at fault.
    pub fn not_found(
        code: &'static str,
        parameter: Option<&str>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code,
            message: message.into(),
            parameter: parameter.map(str::to_string),
            retry_after: None,
        }
    }

    /// An error with `status` and `code` that names no parameter.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            parameter: None,
            retry_after: None,
        }
    }

    /// 401: no token, or not a configured one (answered with `WWW-Authenticate: Bearer`).
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 429 `rate_limited`, retry after `seconds`.
    pub fn rate_limited(seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests for this token; retry in {seconds} s"),
            )
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// The body of every error: `{"error": {"code", "message", "parameter"}}`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub(crate) struct Body<'a> {
    error: Detail<'a>,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
#[schema(as = ErrorDetail)]
pub(crate) struct Detail<'a> {
    /// Machine-readable code, e.g. `invalid_parameter`, `unauthorized`, `rate_limited`.
    code: &'a str,
    /// Human-readable explanation.
    message: &'a str,
    /// The query or path parameter at fault, if any.
    parameter: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
                parameter: self.parameter.as_deref(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.code == "invalid_token" {
                "Bearer realm=\"pulso\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"pulso\""
            };
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
