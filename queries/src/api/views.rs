//! `GET /v1/views/{view}`: one page of any view, filtered, in key order, scoped to the
//! tenants of the request's token. A filter on a tenant the token may not read gives the same
//! empty page as a tenant that has no rows; the Conecta360 views are empty for a token without
//! their tenant; `pipeline_health` needs an operator token.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use pulso_events::time::{Granularity, Micros};
use pulso_events::views::{
    CaseBacklog, InventoryLevels, NotificationBounces, NotificationRates, OpenCaseSla,
    OrderCancellations, OrderMetrics, SlaCompliance, SlaStatus, TimelineEntry, TopicHealth,
    VIEW_NAMES,
};
use utoipa::IntoParams;

use super::auth::Principal;
use super::page::{eq, eq_opt, start, view_page};
use super::params::{Params, RawQuery, TimeRange};
use super::{ApiError, AppState};
use crate::store::Tenants;
use pulso_events::registry::{visit_views, View, ViewVisitor};

/// Default and maximum page size of `/v1/views/*` and `/v1/open_cases`.
pub const VIEW_LIMIT: (usize, usize) = (100, 1000);
/// Default and maximum page size of `/v1/timelines/*`.
pub const TIMELINE_LIMIT: (usize, usize) = (50, 1000);

/// The filters of `/v1/views/{view}` (each view accepts the ones named; any other is a 400).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ViewFilters {
    /// notification_rates, notification_bounces, notification_latency,
    /// notification_failures, notification_variants, order_metrics, order_cancellations,
    /// inventory_levels, tracking_activity, tenant_activity. A tenant the token may not read
    /// gives no rows.
    tenant_id: Option<String>,
    /// order_metrics: the orders' currency (`USD`, `EUR`...).
    currency: Option<String>,
    /// notification_rates, notification_bounces, notification_latency,
    /// notification_failures, notification_variants.
    channel: Option<String>,
    /// notification_rates, notification_latency, notification_failures.
    provider: Option<String>,
    /// notification_rates, notification_latency, order_metrics, tracking_activity,
    /// tenant_activity: `minute`, `hour` or `day`.
    granularity: Option<String>,
    /// notification_failures.
    reason: Option<String>,
    /// notification_variants: `TRANSACTIONAL` or `MARKETING`.
    category: Option<String>,
    /// notification_variants (`none` for sends without a template).
    template: Option<String>,
    /// notification_rates, notification_latency, order_metrics, tracking_activity,
    /// tenant_activity (`window_start`), sla_compliance, notification_failures,
    /// notification_variants (`day`): RFC 3339, inclusive.
    from: Option<String>,
    /// Like `from`, exclusive.
    to: Option<String>,
    /// case_backlog, sla_compliance, open_case_sla.
    dependencia_id: Option<i64>,
    /// sla_compliance, open_case_sla.
    prioridad: Option<String>,
    /// open_case_sla: `BREACHED`, `AT_RISK` or `ON_TRACK`.
    status: Option<String>,
    /// inventory_levels.
    sku: Option<String>,
    /// pipeline_health, tenant_activity.
    topic: Option<String>,
    /// timelines, tracking_activity.
    entity_type: Option<String>,
    /// tracking_activity.
    event_type: Option<String>,
    /// timelines.
    entity_id: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// What the Conecta360 views show a principal: everything if it reads their tenant, else
/// nothing.
pub(crate) fn c360_scope(state: &AppState, principal: &Principal) -> Tenants {
    if principal.tenants.allows(&state.conecta360_tenant) {
        Tenants::All
    } else {
        Tenants::none()
    }
}

/// One page of a view.
#[utoipa::path(
    get,
    path = "/v1/views/{view}",
    tag = "views",
    params(
        ("view" = String, Path, description = "notification_rates, notification_bounces, notification_latency, notification_failures, notification_variants, order_metrics, order_cancellations, inventory_levels, case_backlog, sla_compliance, open_case_sla, timelines, pipeline_health, tracking_activity or tenant_activity"),
        ViewFilters
    ),
    responses(
        (status = 200, description = "One page of rows", body = super::page::ListingDoc),
        (status = 400, description = "A bad parameter, named in the error", body = super::error::Body),
        (status = 401, description = "No or bad token", body = super::error::Body),
        (status = 403, description = "pipeline_health without an operator token", body = super::error::Body),
        (status = 404, description = "Unknown view", body = super::error::Body),
        (status = 429, description = "Rate limited", body = super::error::Body)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn view(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
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
            Ok(view_page::<NotificationRates>(
                &state,
                &principal.tenants.narrow(tenant),
                start(lower, cursor),
                |k| windowed_within(g, range, k.0, k.1),
                |r| {
                    range.contains(r.window_start)
                        && eq(tenant, &r.tenant_id)
                        && eq(channel, &r.channel)
                        && eq(provider, &r.provider)
                },
                limit,
            ))
        }
        "order_metrics" => {
            let p = Params::parse(
                query,
                &["tenant_id", "currency", "granularity", "from", "to"],
                true,
            )?;
            let (g, range, limit) = (p.granularity()?, p.time_range()?, p.limit(default, max)?);
            let cursor = p.cursor(name)?;
            let (tenant, currency) = (p.text("tenant_id"), p.text("currency"));
            let lower = g.map(|g| {
                let from = range.from.unwrap_or(Micros::MIN);
                (g, from, String::new(), String::new())
            });
            Ok(view_page::<OrderMetrics>(
                &state,
                &principal.tenants.narrow(tenant),
                start(lower, cursor),
                |k| windowed_within(g, range, k.0, k.1),
                |r| {
                    range.contains(r.window_start)
                        && eq(tenant, &r.tenant_id)
                        && eq(currency, &r.currency)
                },
                limit,
            ))
        }
        "notification_bounces" => {
            let p = Params::parse(query, &["tenant_id", "channel"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (tenant, channel) = (p.text("tenant_id"), p.text("channel"));
            let lower = tenant.map(|t| {
                let c = channel.unwrap_or_default().to_string();
                (t.to_string(), c, Micros::MIN, String::new(), String::new())
            });
            Ok(view_page::<NotificationBounces>(
                &state,
                &principal.tenants.narrow(tenant),
                start(lower, cursor),
                |k| eq(tenant, &k.0),
                |r| eq(channel, &r.channel),
                limit,
            ))
        }
        "order_cancellations" => {
            let p = Params::parse(query, &["tenant_id"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let tenant = p.text("tenant_id");
            let lower = tenant.map(|t| (t.to_string(), String::new()));
            Ok(view_page::<OrderCancellations>(
                &state,
                &principal.tenants.narrow(tenant),
                start(lower, cursor),
                |k| eq(tenant, &k.0),
                |_| true,
                limit,
            ))
        }
        "inventory_levels" => {
            let p = Params::parse(query, &["tenant_id", "sku"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (tenant, sku) = (p.text("tenant_id"), p.text("sku"));
            let lower = tenant.map(|t| (t.to_string(), sku.unwrap_or_default().to_string()));
            Ok(view_page::<InventoryLevels>(
                &state,
                &principal.tenants.narrow(tenant),
                start(lower, cursor),
                |k| eq(tenant, &k.0),
                |r| eq(sku, &r.sku),
                limit,
            ))
        }
        "case_backlog" => {
            let p = Params::parse(query, &["dependencia_id"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let dep = p.integer("dependencia_id")?;
            let lower = dep.map(|d| (d, String::new()));
            Ok(view_page::<CaseBacklog>(
                &state,
                &c360_scope(&state, &principal),
                start(lower, cursor),
                |k| dep.is_none_or(|d| k.0 == d),
                |_| true,
                limit,
            ))
        }
        "sla_compliance" => {
            let p = Params::parse(query, &["dependencia_id", "prioridad", "from", "to"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (dep, range) = (p.integer("dependencia_id")?, p.time_range()?);
            let prioridad = p.text("prioridad");
            let lower = dep.map(|d| (d, None, Micros::MIN));
            Ok(view_page::<SlaCompliance>(
                &state,
                &c360_scope(&state, &principal),
                start(lower, cursor),
                |k| dep.is_none_or(|d| k.0 == d),
                |r| range.contains(r.day) && eq_opt(prioridad, r.prioridad.as_deref()),
                limit,
            ))
        }
        "open_case_sla" => {
            let p = Params::parse(query, &["dependencia_id", "prioridad", "status"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (dep, status) = (p.integer("dependencia_id")?, p.status()?);
            let prioridad = p.text("prioridad");
            let lower = dep.map(|d| (d, None, SlaStatus::Breached));
            Ok(view_page::<OpenCaseSla>(
                &state,
                &c360_scope(&state, &principal),
                start(lower, cursor),
                |k| dep.is_none_or(|d| k.0 == d),
                |r| {
                    eq_opt(prioridad, r.prioridad.as_deref())
                        && status.is_none_or(|s| s == r.status)
                },
                limit,
            ))
        }
        "timelines" => {
            let p = Params::parse(query, &["entity_type", "entity_id"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let (etype, eid) = (p.text("entity_type"), p.text("entity_id"));
            let lower = etype.map(|e| {
                let id: Arc<str> = Arc::from(eid.unwrap_or_default());
                (Arc::from(e), id, Micros::MIN, Arc::from(""), Arc::from(""))
            });
            Ok(view_page::<TimelineEntry>(
                &state,
                &principal.tenants,
                start(lower, cursor),
                |k| eq(etype, &k.0) && (etype.is_none() || eq(eid, &k.1)),
                |r| eq(eid, &r.entity_id),
                limit,
            ))
        }
        "pipeline_health" => {
            principal.require_operator()?;
            let p = Params::parse(query, &["topic"], true)?;
            let (limit, cursor) = (p.limit(default, max)?, p.cursor(name)?);
            let topic = p.text("topic");
            Ok(view_page::<TopicHealth>(
                &state,
                &Tenants::All,
                start(topic.map(str::to_string), cursor),
                |k| eq(topic, k),
                |_| true,
                limit,
            ))
        }
        "notification_latency" | "notification_failures" | "notification_variants" => {
            super::views_v2::view(&state, &principal, name, query)
        }
        "tracking_activity" => super::activity::tracking_activity(&state, &principal, query),
        "tenant_activity" => super::activity::tenant_activity(&state, &principal, query),
        // A view without filters of its own: paged in key order, scoped to the token's
        // tenants.
        _ => unfiltered(&state, &principal, name, query),
    }
}

/// One page of the served view `name` (of the registry) without filters.
fn unfiltered(
    state: &AppState,
    principal: &Principal,
    name: &'static str,
    query: RawQuery,
) -> Result<Response, ApiError> {
    struct Page<'a> {
        state: &'a AppState,
        principal: &'a Principal,
        name: &'static str,
        query: Option<RawQuery>,
        out: Option<Result<Response, ApiError>>,
    }
    impl ViewVisitor for Page<'_> {
        fn visit<V: View>(&mut self) {
            if !V::SERVED || V::NAME != self.name {
                return;
            }
            let Some(query) = self.query.take() else {
                return;
            };
            self.out = Some((|| {
                let (default, max) = VIEW_LIMIT;
                let p = Params::parse(query, &[], true)?;
                let (limit, cursor) = (p.limit(default, max)?, p.cursor(self.name)?);
                Ok(view_page::<V>(
                    self.state,
                    &self.principal.tenants,
                    start(None, cursor),
                    |_| true,
                    |_| true,
                    limit,
                ))
            })());
        }
    }
    let mut page = Page {
        state,
        principal,
        name,
        query: Some(query),
        out: None,
    };
    visit_views(&mut page);
    page.out.unwrap_or_else(|| {
        Err(ApiError::not_found(
            "unknown_view",
            Some("view"),
            format!("view `{name}` is not served"),
        ))
    })
}

/// Whether a windowed key `(granularity, window_start, ..)` is still inside the scanned
/// range when the scan is restricted to one granularity.
pub(crate) fn windowed_within(
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
