//! The routes beside the views: one entity's timeline, the open cases of an SLA status most
//! overdue first, and the pipeline's health. Each copies one page out under a short read
//! lock, then renders it; every body says the epoch, as-of and freshness it reflects.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pulso_events::time::{format_rfc3339, Micros};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Principal;
use super::page::{listing, start, Meta};
use super::params::{Params, RawQuery};
use super::render::{OpenCaseJson, TimelineJson, TopicHealthJson};
use super::views::{c360_scope, TIMELINE_LIMIT, VIEW_LIMIT};
use super::{ApiError, AppState};
use crate::store::{PartitionStatus, TimelineKey};

/// Paging of a listing.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct Paging {
    /// Page size, 1 to 1000.
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Filters of a timeline, applied before paging.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct TimelineFilters {
    /// Entries at or after this event time (RFC 3339).
    from: Option<String>,
    /// Entries before this event time (RFC 3339).
    to: Option<String>,
    /// Only entries of these event types (repeatable: `event_type=A&event_type=B`).
    event_type: Option<Vec<String>>,
}

/// One entity's timeline entries by `(timestamp, event_id)`, optionally within `from <= t <
/// to` and of some event types: only the entries of the token's tenants; an entity with none
/// of them is a 404, exactly like an unknown one (an entity whose entries the filters all
/// exclude is an empty page).
#[utoipa::path(
    get,
    path = "/v1/timelines/{entity_type}/{entity_id}",
    tag = "timelines",
    params(
        ("entity_type" = String, Path, description = "order, sku, notification, caso, ciudadano, or a tracking entity type"),
        ("entity_id" = String, Path, description = "The entity's id"),
        TimelineFilters,
        Paging
    ),
    responses(
        (status = 200, description = "One page of entries (default 50)", body = super::page::ListingDoc),
        (status = 400, description = "A bad parameter", body = super::error::Body),
        (status = 401, description = "No or bad token", body = super::error::Body),
        (status = 404, description = "No timeline for this entity (among the token's tenants)", body = super::error::Body),
        (status = 429, description = "Rate limited", body = super::error::Body)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn timeline(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let Path((etype, eid)) =
        path.map_err(|e| ApiError::bad_request("invalid_path", "entity_id", e.to_string()))?;
    let p = Params::parse_repeatable(query, &["from", "to"], &["event_type"], true)?;
    let (default, max) = TIMELINE_LIMIT;
    let limit = p.limit(default, max)?;
    let range = p.time_range()?;
    let event_types = p.all("event_type");
    let filtered = range.from.is_some() || range.to.is_some() || !event_types.is_empty();
    let scope = "timeline";
    let cursor = p.cursor(scope)?;
    let first_page = cursor.is_none();
    let lower = |from: Option<Micros>| {
        (
            Arc::from(etype.as_str()),
            Arc::from(eid.as_str()),
            from.unwrap_or(Micros::MIN),
            Arc::from(""),
            Arc::from(""),
        )
    };
    let entity = |k: &TimelineKey| *k.0 == *etype && *k.1 == *eid;
    let t = state.store.read();
    let page = t.timelines.page(
        &principal.tenants,
        start(Some(lower(range.from)), cursor).as_ref(),
        |k| entity(k) && range.to.is_none_or(|to| k.2 < to),
        |row| event_types.is_empty() || event_types.iter().any(|e| **e == *row.event_type),
        limit,
    );
    // An entity whose entries the filters exclude is an empty page, not a 404.
    let exists = !page.rows.is_empty()
        || (filtered
            && !t
                .timelines
                .page(
                    &principal.tenants,
                    start(Some(lower(None)), None).as_ref(),
                    entity,
                    |_| true,
                    1,
                )
                .rows
                .is_empty());
    let meta = Meta::of(&t);
    let retained_from = t.retained_timelines_from();
    drop(t);
    if first_page && !exists {
        return Err(match retained_from {
            // Retention: the entity may have had entries that expired from the engine.
            Some(from) => ApiError::not_found(
                "unknown_or_expired_entity",
                Some("entity_id"),
                format!(
                    "no timeline entry for {etype} `{eid}` since {} (retention: entries before \
                     then have expired from the engine; they are in the Parquet history and \
                     ClickHouse)",
                    format_rfc3339(from)
                ),
            ),
            None => ApiError::not_found(
                "unknown_entity",
                Some("entity_id"),
                format!("no timeline for {etype} `{eid}`"),
            ),
        });
    }
    Ok(listing::<_, TimelineJson>("timelines", scope, meta, &page))
}

/// Filters of `/v1/open_cases`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct OpenCaseFilters {
    /// `BREACHED`, `AT_RISK` or `ON_TRACK` (any case).
    status: Option<String>,
    /// One department.
    dependencia_id: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Open cases by status, most overdue (least `due_at`) first. Conecta360 data: empty for a
/// token without the Conecta360 tenant.
#[utoipa::path(
    get,
    path = "/v1/open_cases",
    tag = "views",
    params(OpenCaseFilters),
    responses(
        (status = 200, description = "One page of open cases (rows: OpenCaseJson)", body = super::page::ListingDoc),
        (status = 400, description = "A bad parameter", body = super::error::Body),
        (status = 401, description = "No or bad token", body = super::error::Body),
        (status = 429, description = "Rate limited", body = super::error::Body)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn open_cases(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(query, &["status", "dependencia_id"], true)?;
    let (default, max) = VIEW_LIMIT;
    let limit = p.limit(default, max)?;
    let scope = "open_cases";
    let cursor = p.cursor(scope)?;
    let (status, dep) = (p.status()?, p.integer("dependencia_id")?);
    let lower = status.map(|s| (s, Micros::MIN, i64::MIN));
    let t = state.store.read();
    let page = t.open_cases.page(
        &c360_scope(&state, &principal),
        start(lower, cursor).as_ref(),
        |k| status.is_none_or(|s| k.0 == s),
        |r| dep.is_none_or(|d| r.dependencia_id == d),
        limit,
    );
    let meta = Meta::of(&t);
    drop(t);
    Ok(listing::<_, OpenCaseJson>(scope, scope, meta, &page))
}

/// The body of `/v1/pipeline_health`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health<'a> {
    /// Always `pipeline_health`.
    view: &'static str,
    #[serde(flatten)]
    meta: Meta,
    /// Per-topic counters.
    rows: Vec<TopicHealthJson<'a>>,
    /// Always `null`: every topic is in one page.
    next_cursor: Option<String>,
    /// Per-partition consumer progress.
    #[schema(value_type = Vec<Object>)]
    partitions: Vec<PartitionStatus>,
    /// Records in the dead-letter topics; `null` when the probe failed (unknown).
    dlq_size: Option<i64>,
    /// Events read per second, recently.
    events_per_second: f64,
    /// Duration of the last epoch.
    epoch_duration_ms: f64,
    /// Epochs not yet written by the slowest sink.
    sink_lag_epochs: u64,
    /// Sink write failures since start.
    sink_failures: u64,
    /// Records behind the high watermarks, summed over every partition.
    consumer_lag_total: i64,
    /// Seconds since the oldest record not yet reflected in a published epoch was written
    /// (its Kafka timestamp); 0 when every partition is caught up and every record read is
    /// published.
    read_model_lag_seconds: f64,
}

/// Every topic's counters, every partition's lag, the DLQ size and the freshness. Operator
/// data (no tenant): needs an operator token.
#[utoipa::path(
    get,
    path = "/v1/pipeline_health",
    tag = "operations",
    responses(
        (status = 200, description = "The pipeline's health", body = Health),
        (status = 400, description = "A parameter was given", body = super::error::Body),
        (status = 401, description = "No or bad token", body = super::error::Body),
        (status = 403, description = "Not an operator token", body = super::error::Body),
        (status = 429, description = "Rate limited", body = super::error::Body)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn pipeline_health(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    principal.require_operator()?;
    Params::parse(query, &[], false)?;
    let (topics, meta) = {
        let t = state.store.read();
        let topics: Vec<_> = t.pipeline_health.rows().cloned().collect();
        (topics, Meta::of(&t))
    };
    let live = state.store.live();
    let body = Health {
        view: "pipeline_health",
        meta,
        rows: topics.iter().map(TopicHealthJson::from).collect(),
        next_cursor: None,
        consumer_lag_total: live.partitions.iter().map(|p| p.lag).sum(),
        partitions: live.partitions,
        dlq_size: live.dlq_size,
        events_per_second: live.events_per_second,
        epoch_duration_ms: live.epoch_duration_ms,
        sink_lag_epochs: live.sink_lag_epochs,
        sink_failures: live.sink_failures,
        read_model_lag_seconds: live.read_model_lag_seconds,
    };
    Ok(Json(body).into_response())
}
