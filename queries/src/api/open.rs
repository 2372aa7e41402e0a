//! The routes open without a token, because they hold no tenant data: the dashboard page
//! (its script sends the token), `/health` (liveness and the epoch served) and the OpenAPI
//! document.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::page::Meta;
use super::params::{Params, RawQuery};
use super::{ApiError, AppState};

/// The OpenAPI document, rendered once when the router is built.
#[derive(Clone)]
pub(crate) struct OpenApiJson(pub(crate) Arc<String>);

/// The dashboard: a static page whose script polls the API with the token it is given
/// (`/#token=…`, kept in the browser's localStorage).
#[utoipa::path(
    get,
    path = "/",
    tag = "open",
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String))
)]
pub(crate) async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

/// The body of `/health`.
#[derive(Serialize, ToSchema)]
pub(crate) struct HealthBody {
    /// `ok`, or `failing` when the engine cannot make progress durably.
    status: &'static str,
    /// Why the engine is failing (absent when `ok`).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(flatten)]
    meta: Meta,
}

/// `ok` and the epoch served; 503 `failing` with the reason while the engine cannot make
/// progress durably (a failing archive or progress write, a stopped output consumer).
#[utoipa::path(
    get,
    path = "/health",
    tag = "open",
    responses(
        (status = 200, description = "The API is up", body = HealthBody),
        (status = 503, description = "The engine cannot make progress durably (`reason` says why)", body = HealthBody),
        (status = 400, description = "A parameter was given", body = super::error::Body)
    )
)]
pub(crate) async fn health(
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(query, &[], false)?;
    let meta = Meta::of(&state.store.read());
    let reason = state.store.failure();
    let (code, status) = match reason {
        Some(_) => (StatusCode::SERVICE_UNAVAILABLE, "failing"),
        None => (StatusCode::OK, "ok"),
    };
    Ok((
        code,
        Json(HealthBody {
            status,
            reason,
            meta,
        }),
    )
        .into_response())
}

/// This API's OpenAPI 3 document, generated from the code.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "open",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi(Extension(doc): Extension<OpenApiJson>) -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
        .into_response()
}
