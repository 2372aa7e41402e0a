//! The API's one error type: a status, a machine-readable code, a message and the offending
//! parameter, rendered as `{"error": {"code", "message", "parameter"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

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

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
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
        (self.status, Json(body)).into_response()
    }
}
