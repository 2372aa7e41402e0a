//! Pulso's serving side: the in-memory [`store::ViewStore`] that the engine fills one closed
//! epoch at a time, and the axum HTTP API ([`api`]) that reads it.

pub mod api;
pub mod store;

pub use api::{app, serve, serve_on, ApiError};
pub use store::{LiveStatus, PartitionStatus, ViewStore, SCAN_BUDGET};
