//! The HTTP query API (axum): view listings, timelines, open cases, pipeline health,
//! Prometheus metrics, alerts, the OpenAPI document and a small dashboard, all read from a
//! shared [`ViewStore`].
//!
//! # Contract
//! - `/`, `/health` and `/openapi.json` are open; every other route needs a configured bearer
//!   token (when any is configured) and reads only the rows of its tenants.
//! - Every route is registered with its `#[utoipa::path]`, so `/openapi.json` lists exactly
//!   the router's routes.
//! - Errors are JSON (`{"error": {"code", "message", "parameter"}}`), never a 500 for bad input.

mod activity;
mod alerts;
mod auth;
mod error;
mod limits;
mod listings;
mod metrics;
mod open;
mod openapi;
mod page;
mod params;
pub mod render;
mod server;
mod views;
mod views_v2;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::Principal;
pub use error::ApiError;
pub use metrics::HttpMetrics;
pub use views::{TIMELINE_LIMIT, VIEW_LIMIT};

use crate::alerts::{Alerts, AlertsConfig};
use crate::config::{ApiConfig, ConfigError, Limits};
use crate::store::ViewStore;
use auth::Auth;
use limits::RateLimiter;

/// What every handler gets: the store, the HTTP latency metrics, the tokens, the limits and
/// the alerts.
#[derive(Clone)]
pub(crate) struct AppState {
    store: Arc<ViewStore>,
    http: Arc<HttpMetrics>,
    auth: Arc<Auth>,
    limiter: Arc<RateLimiter>,
    limits: Arc<Limits>,
    conecta360_tenant: Arc<str>,
    alerts: Arc<Alerts>,
}

/// Everything [`serve`] needs beyond the store: the `api` and `alerts` config sections.
#[derive(Clone, Debug, Default)]
pub struct ServeConfig {
    /// Tokens, limits, the Conecta360 tenant.
    pub api: ApiConfig,
    /// Alert rules and webhook.
    pub alerts: AlertsConfig,
}

/// Why the API could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The config is invalid, or would expose an open API.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Binding, serving or starting the webhook thread failed.
    #[error("serving the API: {0}")]
    Io(#[from] std::io::Error),
}

/// The open API (no tokens, default limits) over `store`, with the default alert rules (not
/// evaluated until [`Alerts::evaluate`] or [`Alerts::run`]).
pub fn app(store: Arc<ViewStore>) -> Router {
    let defaults = AlertsConfig::default();
    let alerts = Alerts::new(
        &defaults.rules,
        Duration::from_secs(defaults.evaluate_every_secs),
    );
    build(store, &ApiConfig::default(), Arc::new(alerts))
}

/// The API over `store` with `config`'s tokens and limits, listing `alerts`.
pub fn app_with(
    store: Arc<ViewStore>,
    config: &ApiConfig,
    alerts: Arc<Alerts>,
) -> Result<Router, ConfigError> {
    config.validate()?;
    Ok(build(store, config, alerts))
}

/// The router and its OpenAPI document (the paths registered with their routes).
fn routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let protected = OpenApiRouter::<AppState>::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(views::view))
        .routes(routes!(listings::timeline))
        .routes(routes!(listings::open_cases))
        .routes(routes!(listings::pipeline_health))
        .routes(routes!(alerts::alerts))
        .routes(routes!(metrics::metrics))
        // Run in reverse order: authenticate, then rate-limit, then time the handler.
        .route_layer(from_fn_with_state(state.clone(), limits::timeout))
        .route_layer(from_fn_with_state(state.clone(), limits::rate_limit))
        .route_layer(from_fn_with_state(state.clone(), auth::authenticate));
    let open = OpenApiRouter::<AppState>::default()
        .routes(routes!(open::dashboard))
        .routes(routes!(open::health))
        .routes(routes!(open::openapi));
    protected.merge(open).split_for_parts()
}

fn build(store: Arc<ViewStore>, config: &ApiConfig, alerts: Arc<Alerts>) -> Router {
    let auth = Auth::new(config);
    let limiter = RateLimiter::new(
        auth.principals(),
        config.limits.rate_limit.clone(),
        Instant::now(),
    );
    let state = AppState {
        store,
        http: Arc::new(HttpMetrics::default()),
        auth: Arc::new(auth),
        limiter: Arc::new(limiter),
        limits: Arc::new(config.limits.clone()),
        conecta360_tenant: Arc::from(config.conecta360_tenant.as_str()),
        alerts,
    };
    let (router, doc) = routes(&state);
    let doc = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(open::OpenApiJson(Arc::new(doc))))
        .layer(from_fn_with_state(state.clone(), limits::request_size))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
            .into_response()
        }))
        .with_state(state)
}

/// Serves the API on `addr` until `shutdown` completes.
pub async fn serve(
    addr: SocketAddr,
    store: Arc<ViewStore>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    config.api.validate()?;
    config.api.check_bind(addr)?;
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, store, config, shutdown).await
}

/// Serves the API on an already bound `listener` (e.g. port 0) until `shutdown` completes,
/// evaluating the alert rules meanwhile. Without tokens it refuses a non-loopback listener
/// (unless `api.allow_unauthenticated`) and warns that the API is open.
pub async fn serve_on(
    listener: TcpListener,
    store: Arc<ViewStore>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr()?;
    config.api.validate()?;
    config.alerts.validate()?;
    config.api.check_bind(addr)?;
    if !config.api.requires_tokens() {
        tracing::warn!(
            %addr,
            "no api.tokens configured: the API is open to anyone who can reach {addr} \
             (every tenant, operator data); configure tokens before exposing it"
        );
    }
    let alerts = Arc::new(Alerts::from_config(&config.alerts)?);
    let router = app_with(Arc::clone(&store), &config.api, Arc::clone(&alerts))?;
    let evaluation = tokio::spawn(alerts.run(store, std::future::pending()));
    tracing::info!(%addr, tokens = config.api.tokens.len(), "serving the query API");
    server::serve_router(listener, router, &config.api.limits, shutdown).await;
    evaluation.abort();
    Ok(())
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(
        "not_found",
        None,
        format!("no route for `{}`", request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("`{}` is not allowed here; use GET", request.method()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_once() {
        let store = Arc::new(ViewStore::new());
        let alerts = Arc::new(Alerts::new(&[], Duration::from_secs(1)));
        let state = AppState {
            store,
            http: Arc::default(),
            auth: Arc::new(Auth::new(&ApiConfig::default())),
            limiter: Arc::new(RateLimiter::new(1, Default::default(), Instant::now())),
            limits: Arc::default(),
            conecta360_tenant: Arc::from("conecta360"),
            alerts,
        };
        let (_, doc) = routes(&state);
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        assert_eq!(paths.len(), 9, "{paths:?}");
    }
}
