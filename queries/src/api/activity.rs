//! The filters of the activity views of `/v1/views/{view}` (VIEWS.md v2):
//! `tracking_activity` (`tenant_id`, `entity_type`, `event_type`, `granularity`, `from`,
//! `to`) and `tenant_activity` (`tenant_id`, `topic`, `granularity`, `from`, `to`). Like every
//! windowed view, a `granularity` filter scans one contiguous range of the store from `from`;
//! rows are scoped to the tenants of the request's token.

use axum::response::Response;
use pulso_events::time::Micros;
use pulso_events::views::{TenantActivity, TrackingActivity};

use super::auth::Principal;
use super::page::{eq, listing, start, Meta};
use super::params::{Params, RawQuery};
use super::render::RowJson;
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
    let t = state.store.read();
    let page = t.table::<TrackingActivity>().page(
        &principal.tenants.narrow(tenant),
        start(lower, cursor).as_ref(),
        |k| windowed_within(g, range, k.0, k.1),
        |r| {
            range.contains(r.window_start)
                && eq(tenant, &r.tenant_id)
                && eq(entity_type, &r.entity_type)
                && eq(event_type, &r.event_type)
        },
        limit,
    );
    let meta = Meta::of(&t);
    drop(t);
    Ok(listing::<_, RowJson<TrackingActivity>>(
        NAME, NAME, meta, &page,
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
    let t = state.store.read();
    let page = t.table::<TenantActivity>().page(
        &principal.tenants.narrow(tenant),
        start(lower, cursor).as_ref(),
        |k| windowed_within(g, range, k.0, k.1),
        |r| range.contains(r.window_start) && eq(tenant, &r.tenant_id) && eq(topic, &r.topic),
        limit,
    );
    let meta = Meta::of(&t);
    drop(t);
    Ok(listing::<_, RowJson<TenantActivity>>(
        NAME, NAME, meta, &page,
    ))
}
