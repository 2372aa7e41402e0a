//! The HTTP query API (axum): view listings, timelines, open cases, pipeline health,
//! Prometheus metrics and a small dashboard, all read from a shared [`ViewStore`].

mod error;
mod metrics;
mod params;
pub mod render;
mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use metrics::HttpMetrics;
pub use views::{TIMELINE_LIMIT, VIEW_LIMIT};

use crate::store::ViewStore;
use params::{Params, RawQuery};

/// What every handler gets: the store and the HTTP latency metrics.
#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<ViewStore>,
    http: Arc<HttpMetrics>,
}

/// The API's router over `store`.
pub fn app(store: Arc<ViewStore>) -> Router {
    let state = AppState {
        store,
        http: Arc::new(HttpMetrics::default()),
    };
    Router::new()
        .route("/", get(dashboard))
        .route("/health", get(health))
        .route("/metrics", get(metrics::metrics))
        .route("/v1/views/{view}", get(views::view))
        .route(
            "/v1/timelines/{entity_type}/{entity_id}",
            get(views::timeline),
        )
        .route("/v1/open_cases", get(views::open_cases))
        .route("/v1/pipeline_health", get(views::pipeline_health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Serves the API on `addr` until `shutdown` completes.
pub async fn serve(
    addr: SocketAddr,
    store: Arc<ViewStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, store, shutdown).await
}

/// Serves the API on an already bound `listener` (e.g. port 0) until `shutdown` completes.
pub async fn serve_on(
    listener: TcpListener,
    store: Arc<ViewStore>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "serving the query API");
    axum::serve(listener, app(store))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `GET /`: the dashboard page.
async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

#[derive(Serialize)]
struct HealthBody {
    status: &'static str,
    #[serde(flatten)]
    meta: views::Meta,
}

/// `GET /health`: `ok` and the epoch served.
async fn health(State(state): State<AppState>, query: RawQuery) -> Result<Response, ApiError> {
    Params::parse(query, &[], false)?;
    let meta = views::Meta::of(&state.store.read());
    Ok(Json(HealthBody { status: "ok", meta }).into_response())
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(
        "not_found",
        None,
        format!("no route for `{}`", request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: format!("`{}` is not allowed here; use GET", request.method()),
        parameter: None,
    }
}
