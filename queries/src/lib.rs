//! Pulso's serving side: the in-memory [`store::ViewStore`] that the engine fills one closed
//! epoch at a time, the axum HTTP API ([`api`]) that reads it, scoped per bearer token to
//! tenants ([`config`]), and the alert rules the engine evaluates against it ([`alerts`]).
//!
//! Tests: `cargo test -p pulso-queries` needs nothing else; the dashboard test in headless
//! Chromium (`tests/browser.rs`) runs only with `PULSO_BROWSER_TESTS=1` and a `chromium`.

pub mod alerts;
pub mod api;
pub mod config;
pub mod histogram;
pub mod store;

pub use alerts::{Alerts, AlertsConfig};
pub use api::{app, app_with, serve, serve_on, ApiError, ServeConfig, ServeError};
pub use config::{ApiConfig, ConfigError};
pub use histogram::{Histogram, EPOCH_BUCKETS};
pub use store::{LiveStatus, PartitionStatus, Tenants, ViewStore, SCAN_BUDGET};
