//! The envelope every listing shares (`view`, `epoch`, `as_of`, `freshness_seconds`, `rows`,
//! `next_cursor`) and the helpers that turn query filters into a scan.

use std::ops::Bound;
use std::time::SystemTime;

use axum::response::{IntoResponse, Response};
use axum::Json;
use pulso_events::time::{format_rfc3339, Granularity};
use serde::Serialize;
use utoipa::ToSchema;

use pulso_events::registry::View;

use super::params::encode_cursor;
use super::render::RowJson;
use super::AppState;
use crate::store::{Keyed, Page, Tables, Tenants};

/// What a body reflects: the epoch, the grading instant and the freshness.
#[derive(Serialize, ToSchema)]
pub(crate) struct Meta {
    /// The last epoch applied to the store (`null` before the first).
    epoch: Option<u64>,
    /// The instant open cases are graded at (RFC 3339).
    as_of: Option<String>,
    /// Seconds since the views last caught up.
    freshness_seconds: f64,
    /// Retention (VIEWS.md): from when the engine still serves rows.
    retained_from: RetainedFrom,
}

/// From when each kind of expiring row is still served (RFC 3339; `null`: everything since
/// the start is). Earlier rows are in the Parquet history (`OUT/history/`) and ClickHouse.
#[derive(Serialize, ToSchema)]
pub(crate) struct RetainedFrom {
    /// The greatest accepted event time, which retention counts back from.
    pub(crate) watermark: Option<String>,
    /// The earliest `window_start` of `minute` rows still served.
    pub(crate) minute: Option<String>,
    /// The earliest `window_start` of `hour` rows still served.
    pub(crate) hour: Option<String>,
    /// The earliest `window_start` (`day` of `notification_bounces` and `sla_compliance`) of
    /// `day` rows still served.
    pub(crate) day: Option<String>,
    /// The earliest timeline entry time still served.
    pub(crate) timelines: Option<String>,
}

impl RetainedFrom {
    pub(crate) fn of(tables: &Tables) -> RetainedFrom {
        let window = |g: Granularity| tables.retained_windows_from(g).map(format_rfc3339);
        RetainedFrom {
            watermark: tables.watermark.map(format_rfc3339),
            minute: window(Granularity::Minute),
            hour: window(Granularity::Hour),
            day: window(Granularity::Day),
            timelines: tables.retained_timelines_from().map(format_rfc3339),
        }
    }
}

impl Meta {
    pub(crate) fn of(tables: &Tables) -> Meta {
        Meta {
            epoch: tables.epoch,
            as_of: tables.as_of.map(format_rfc3339),
            freshness_seconds: tables.freshness_seconds(SystemTime::now()),
            retained_from: RetainedFrom::of(tables),
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

/// The listing envelope as the OpenAPI document shows it (rows: the view's row schema).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ListingDoc {
    /// The view (or listing) name.
    view: String,
    /// The last epoch applied to the store.
    epoch: Option<u64>,
    /// The instant open cases are graded at (RFC 3339).
    as_of: Option<String>,
    /// Seconds since the views last caught up.
    freshness_seconds: f64,
    /// Retention: from when rows are still served.
    retained_from: RetainedFrom,
    /// One page of rows, in key order; columns as in VIEWS.md (schemas `*Json`).
    #[schema(value_type = Vec<Object>)]
    rows: Vec<()>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// Renders one page of `scope` (the cursor's scope, usually the view name).
pub(crate) fn listing<'r, R, J>(
    view: &str,
    scope: &str,
    meta: Meta,
    page: &'r Page<R::Key, R>,
) -> Response
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

/// One page of view `V`, rendered: its rows of the tenants `scope` allows, from `start` in
/// key order while `within` holds the key, those that pass `filter`, at most `limit`. The
/// cursor's scope is the view's name.
pub(crate) fn view_page<V: View>(
    state: &AppState,
    scope: &Tenants,
    start: Bound<V::ServeKey>,
    within: impl Fn(&V::ServeKey) -> bool,
    filter: impl Fn(&V) -> bool,
    limit: usize,
) -> Response {
    let tables = state.store.read();
    let page = tables
        .table::<V>()
        .page(scope, start.as_ref(), within, filter, limit);
    let meta = Meta::of(&tables);
    drop(tables);
    listing::<_, RowJson<V>>(V::NAME, V::NAME, meta, &page)
}

/// Where a scan starts: after the cursor, or at `lower` when that is further on.
pub(crate) fn start<K: Ord>(lower: Option<K>, cursor: Option<K>) -> Bound<K> {
    match (lower, cursor) {
        (Some(lower), Some(cursor)) if lower > cursor => Bound::Included(lower),
        (_, Some(cursor)) => Bound::Excluded(cursor),
        (Some(lower), None) => Bound::Included(lower),
        (None, None) => Bound::Unbounded,
    }
}

/// Whether `value` passes an optional equality filter.
pub(crate) fn eq(wanted: Option<&str>, value: &str) -> bool {
    wanted.is_none_or(|w| w == value)
}

/// Whether an optional `value` passes an optional equality filter.
pub(crate) fn eq_opt(wanted: Option<&str>, value: Option<&str>) -> bool {
    wanted.is_none_or(|w| Some(w) == value)
}
