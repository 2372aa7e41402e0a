//! The filters of the activity views of `/v1/views/{view}` (VIEWS.md v2):
//! `tracking_activity` (`tenant_id`, `entity_type`, `event_type`, `granularity`, `from`,
//! `to`) and `tenant_activity` (`tenant_id`, `topic`, `granularity`, `from`, `to`). Like every
//! windowed view, a `granularity` filter scans one contiguous range of the store from `from`;
//! rows are scoped to the tenants of the request's token.

use axum::response::Response;
use pulso_events::time::Micros;
use pulso_events::views::{TenantActivity, TrackingActivity};

use super::auth::Principal;
use super::page::{eq, start, view_page};
use super::params::{Params, RawQuery};
use super::views::{windowed_within, VIEW_LIMIT};
use super::{ApiError, AppState};

/// One page of `tracking_activity`.
pub(super) fn tracking_activity(
    state: &AppState,
    principal: &Principal,
    query: RawQuery,
) -> Result<Response, ApiError> {
    const NAME: &str = "tracking_activity";
    let (default, max) = VIEW_LIMIT;
    let p = Params::parse(
        query,
        &[
            "tenant_id",
            "entity_type",
            "event_type",
            "granularity",
            "from",
            "to",
        ],
        true,
    )?;
    let (g, range, limit) = (p.granularity()?, p.time_range()?, p.limit(default, max)?);
    let cursor = p.cursor(NAME)?;
    let (tenant, entity_type, event_type) = (
        p.text("tenant_id"),
        p.text("entity_type"),
        p.text("event_type"),
    );
    let lower = g.map(|g| {
        let from = range.from.unwrap_or(Micros::MIN);
        (g, from, String::new(), String::new(), String::new())
    });
    Ok(view_page::<TrackingActivity>(
        state,
        &principal.tenants.narrow(tenant),
        start(lower, cursor),
        |k| windowed_within(g, range, k.0, k.1),
        |r| {
            range.contains(r.window_start)
                && eq(tenant, &r.tenant_id)
                && eq(entity_type, &r.entity_type)
                && eq(event_type, &r.event_type)
        },
        limit,
    ))
}

/// One page of `tenant_activity`.
pub(super) fn tenant_activity(
    state: &AppState,
    principal: &Principal,
    query: RawQuery,
) -> Result<Response, ApiError> {
    const NAME: &str = "tenant_activity";
    let (default, max) = VIEW_LIMIT;
    let p = Params::parse(
        query,
        &["tenant_id", "topic", "granularity", "from", "to"],
        true,
    )?;
    let (g, range, limit) = (p.granularity()?, p.time_range()?, p.limit(default, max)?);
    let cursor = p.cursor(NAME)?;
    let (tenant, topic) = (p.text("tenant_id"), p.text("topic"));
    let lower = g.map(|g| {
        let from = range.from.unwrap_or(Micros::MIN);
        (g, from, String::new(), String::new())
    });
    Ok(view_page::<TenantActivity>(
        state,
        &principal.tenants.narrow(tenant),
        start(lower, cursor),
        |k| windowed_within(g, range, k.0, k.1),
        |r| range.contains(r.window_start) && eq(tenant, &r.tenant_id) && eq(topic, &r.topic),
        limit,
    ))
}
