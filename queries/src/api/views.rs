//! The read routes: `/v1/views/{view}`, `/v1/timelines/{entity_type}/{entity_id}`,
//! `/v1/open_cases` and `/v1/pipeline_health`. Each copies one page out under a short read
//! lock, then renders it; every body says the epoch, as-of and freshness it reflects.

use std::ops::Bound;
use std::time::SystemTime;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pulso_events::time::{format_rfc3339, Granularity, Micros};
use pulso_events::views::{SlaStatus, VIEW_NAMES};
use serde::Serialize;

use super::params::{encode_cursor, Params, RawQuery, TimeRange};
use super::render::{
    CaseBacklogJson, InventoryLevelsJson, NotificationBouncesJson, NotificationRatesJson,
    OpenCaseJson, OpenCaseSlaJson, OrderCancellationsJson, OrderMetricsJson, SlaComplianceJson,
    TimelineJson, TopicHealthJson,
};
use super::{ApiError, AppState};
use crate::store::{Keyed, Page, PartitionStatus, Tables};

/// Default and maximum page size of `/v1/views/*` and `/v1/open_cases`.
pub const VIEW_LIMIT: (usize, usize) = (100, 1000);
/// Default and maximum page size of `/v1/timelines/*`.
pub const TIMELINE_LIMIT: (usize, usize) = (50, 1000);

/// What a body reflects: the epoch, the grading instant and the freshness.
#[derive(Serialize)]
pub(crate) struct Meta {
    epoch: Option<u64>,
    as_of: Option<String>,
    freshness_seconds: f64,
}

impl Meta {
    pub(crate) fn of(tables: &Tables) -> Meta {
        Meta {
            epoch: tables.epoch,
            as_of: tables.as_of.map(format_rfc3339),
            freshness_seconds: tables.freshness_seconds(SystemTime::now()),
        }
    }
}

/// The body of every listing: `{view, epoch, as_of, freshness_seconds, rows, next_cursor}`.
#[derive(Serialize)]
struct Listing<'a, J> {
    view: &'a str,
    #[serde(flatten)]
    meta: Meta,
    rows: Vec<J>,
    next_cursor: Option<String>,
}

/// Renders one page of `scope` (the cursor's scope, usually the view name).
fn listing<'r, R, J>(view: &str, scope: &str, meta: Meta, page: &'r Page<R::Key, R>) -> Response
where
    R: Keyed,
    J: Serialize + From<&'r R>,
{
    let body = Listing {
        view,
        meta,
        rows: page.rows.iter().map(J::from).collect(),
        next_cursor: page.next.as_ref().map(|k| encode_cursor(scope, k)),
    };
    Json(body).into_response()
}

/// Where a scan starts: after the cursor, or at `lower` when that is further on.
fn start<K: Ord>(lower: Option<K>, cursor: Option<K>) -> Bound<K> {
    match (lower, cursor) {
        (Some(lower), Some(cursor)) if lower > cursor => Bound::Included(lower),
        (_, Some(cursor)) => Bound::Excluded(cursor),
        (Some(lower), None) => Bound::Included(lower),
        (None, None) => Bound::Unbounded,
    }
}

fn eq(wanted: Option<&str>, value: &str) -> bool {
    wanted.is_none_or(|w| w == value)
}

fn eq_opt(wanted: Option<&str>, value: Option<&str>) -> bool {
    wanted.is_none_or(|w| Some(w) == value)
}

/// `GET /v1/views/{view}`.
pub(crate) async fn view(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let Path(view) = path.map_err(|e| ApiError::not_found("not_found", None, e.to_string()))?;
    let Some(&name) = VIEW_NAMES.iter().find(|n| **n == view) else {
        return Err(ApiError::not_found(
            "unknown_view",
            Some("view"),
            format!("unknown view `{view}`; views: {}", VIEW_NAMES.join(", ")),
        ));
    };
    let (default, max) = VIEW_LIMIT;
    let store = &state.store;
    match name {
        "notification_rates" => {
            let p = Params::parse(
                query,
                &[
                    "tenant_id",
                    "channel",
                    "provider",
                    "granularity",
                    "from",
                    "to",
                ],
                true,
            )?;
            let (g, range, limit) = (p.granularity()?, p.time_range()?, p.limit(default, max)?);
            let cursor = p.cursor(name)?;
            let (tenant, channel, provider) =
                (p.text("tenant_id"), p.text("channel"), p.text("provider"));
            let lower = g.map(|g| {
                let from = range.from.unwrap_or(Micros::MIN);
                (g, from, String::new(), String::new(), String::new())
            });
            let t = store.read();
            let page = t.notification_rates.page(
                start(lower, cursor).as_ref(),
                |k| windowed_within(g, range, k.0, k.1),
                |r| {
                    range.contains(r.window_start)
                        && eq(tenant, &r.tenant_id)
                        && eq(channel, &r.channel)
                        && eq(provider, &r.provider)
                },
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, NotificationRatesJson>(name, name, meta, &page))
        }
        "order_metrics" => {
            let p = Params::parse(query, &["tenant_id", "granularity", "from", "to"], true)?;
            let (g, range, limit) = (p.granularity()?, p.time_range()?, p.limit(default, max)?);
            let cursor = p.cursor(name)?;
            let tenant = p.text("tenant_id");
            let lower = g.map(|g| (g, range.from.unwrap_or(Micros::MIN), String::new()));
            let t = store.read();
            let page = t.order_metrics.page(
                start(lower, cursor).as_ref(),
                |k| windowed_within(g, range, k.0, k.1),
                |r| range.contains(r.window_start) && eq(tenant, &r.tenant_id),
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, OrderMetricsJson>(name, name, meta, &page))
        }
        "notification_bounces" => {
            let p = Params::parse(query, &["tenant_id", "channel"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (tenant, channel) = (p.text("tenant_id"), p.text("channel"));
            let lower = tenant.map(|t| {
                let c = channel.unwrap_or_default().to_string();
                (t.to_string(), c, Micros::MIN, String::new(), String::new())
            });
            let t = store.read();
            let page = t.notification_bounces.page(
                start(lower, cursor).as_ref(),
                |k| eq(tenant, &k.0),
                |r| eq(channel, &r.channel),
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, NotificationBouncesJson>(
                name, name, meta, &page,
            ))
        }
        "order_cancellations" => {
            let p = Params::parse(query, &["tenant_id"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let tenant = p.text("tenant_id");
            let lower = tenant.map(|t| (t.to_string(), String::new()));
            let t = store.read();
            let page = t.order_cancellations.page(
                start(lower, cursor).as_ref(),
                |k| eq(tenant, &k.0),
                |_| true,
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, OrderCancellationsJson>(
                name, name, meta, &page,
            ))
        }
        "inventory_levels" => {
            let p = Params::parse(query, &["tenant_id", "sku"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (tenant, sku) = (p.text("tenant_id"), p.text("sku"));
            let lower = tenant.map(|t| (t.to_string(), sku.unwrap_or_default().to_string()));
            let t = store.read();
            let page = t.inventory_levels.page(
                start(lower, cursor).as_ref(),
                |k| eq(tenant, &k.0),
                |r| eq(sku, &r.sku),
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, InventoryLevelsJson>(name, name, meta, &page))
        }
        "case_backlog" => {
            let p = Params::parse(query, &["dependencia_id"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let dep = p.integer("dependencia_id")?;
            let lower = dep.map(|d| (d, String::new()));
            let t = store.read();
            let page = t.case_backlog.page(
                start(lower, cursor).as_ref(),
                |k| dep.is_none_or(|d| k.0 == d),
                |_| true,
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, CaseBacklogJson>(name, name, meta, &page))
        }
        "sla_compliance" => {
            let p = Params::parse(query, &["dependencia_id", "prioridad", "from", "to"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (dep, range) = (p.integer("dependencia_id")?, p.time_range()?);
            let prioridad = p.text("prioridad");
            let lower = dep.map(|d| (d, None, Micros::MIN));
            let t = store.read();
            let page = t.sla_compliance.page(
                start(lower, cursor).as_ref(),
                |k| dep.is_none_or(|d| k.0 == d),
                |r| range.contains(r.day) && eq_opt(prioridad, r.prioridad.as_deref()),
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, SlaComplianceJson>(name, name, meta, &page))
        }
        "open_case_sla" => {
            let p = Params::parse(query, &["dependencia_id", "prioridad", "status"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (dep, status) = (p.integer("dependencia_id")?, p.status()?);
            let prioridad = p.text("prioridad");
            let lower = dep.map(|d| (d, None, SlaStatus::Breached));
            let t = store.read();
            let page = t.open_case_sla.page(
                start(lower, cursor).as_ref(),
                |k| dep.is_none_or(|d| k.0 == d),
                |r| {
                    eq_opt(prioridad, r.prioridad.as_deref())
                        && status.is_none_or(|s| s == r.status)
                },
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, OpenCaseSlaJson>(name, name, meta, &page))
        }
        "timelines" => {
            let p = Params::parse(query, &["entity_type", "entity_id"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (etype, eid) = (p.text("entity_type"), p.text("entity_id"));
            let lower = etype.map(|e| {
                let id = eid.unwrap_or_default().to_string();
                (e.to_string(), id, Micros::MIN, String::new(), String::new())
            });
            let t = store.read();
            let page = t.timelines.page(
                start(lower, cursor).as_ref(),
                |k| eq(etype, &k.0) && (etype.is_none() || eq(eid, &k.1)),
                |r| eq(eid, &r.entity_id),
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, TimelineJson>(name, name, meta, &page))
        }
        "pipeline_health" => {
            let p = Params::parse(query, &["topic"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let topic = p.text("topic");
            let t = store.read();
            let page = t.pipeline_health.page(
                start(topic.map(str::to_string), cursor).as_ref(),
                |k| eq(topic, k),
                |_| true,
                limit,
            );
            let meta = Meta::of(&t);
            drop(t);
            Ok(listing::<_, TopicHealthJson>(name, name, meta, &page))
        }
        _ => Err(ApiError::not_found(
            "unknown_view",
            Some("view"),
            format!("view `{name}` is not served"),
        )),
    }
}

/// Whether a windowed key `(granularity, window_start, ..)` is still inside the scanned
/// range when the scan is restricted to one granularity.
fn windowed_within(
    g: Option<Granularity>,
    range: TimeRange,
    kg: Granularity,
    start: Micros,
) -> bool {
    match g {
        Some(g) => kg == g && range.to.is_none_or(|to| start < to),
        None => true,
    }
}

/// `GET /v1/timelines/{entity_type}/{entity_id}`: one entity's entries by
/// `(timestamp, event_id)`.
pub(crate) async fn timeline(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let Path((etype, eid)) =
        path.map_err(|e| ApiError::bad_request("invalid_path", "entity_id", e.to_string()))?;
    let p = Params::parse(query, &[], true)?;
    let (default, max) = TIMELINE_LIMIT;
    let limit = p.limit(default, max)?;
    let scope = "timeline";
    let cursor = p.cursor(scope)?;
    let lower = (
        etype.clone(),
        eid.clone(),
        Micros::MIN,
        String::new(),
        String::new(),
    );
    let t = state.store.read();
    let page = t.timelines.page(
        start(Some(lower), cursor).as_ref(),
        |k| k.0 == etype && k.1 == eid,
        |_| true,
        limit,
    );
    let meta = Meta::of(&t);
    drop(t);
    Ok(listing::<_, TimelineJson>("timelines", scope, meta, &page))
}

/// `GET /v1/open_cases`: open cases by status, most overdue (least `due_at`) first.
pub(crate) async fn open_cases(
    State(state): State<AppState>,
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
#[derive(Serialize)]
struct Health<'a> {
    view: &'static str,
    #[serde(flatten)]
    meta: Meta,
    rows: Vec<TopicHealthJson<'a>>,
    next_cursor: Option<String>,
    partitions: Vec<PartitionStatus>,
    dlq_size: i64,
    events_per_second: f64,
    epoch_duration_ms: f64,
    sink_lag_epochs: u64,
    sink_failures: u64,
}

/// `GET /v1/pipeline_health`: every topic's counters, every partition's lag, the DLQ size
/// and the freshness.
pub(crate) async fn pipeline_health(
    State(state): State<AppState>,
    query: RawQuery,
) -> Result<Response, ApiError> {
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
        rows: topics.iter().map(TopicHealthJson).collect(),
        next_cursor: None,
        partitions: live.partitions,
        dlq_size: live.dlq_size,
        events_per_second: live.events_per_second,
        epoch_duration_ms: live.epoch_duration_ms,
        sink_lag_epochs: live.sink_lag_epochs,
        sink_failures: live.sink_failures,
    };
    Ok(Json(body).into_response())
}
