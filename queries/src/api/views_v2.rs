//! Filters of the notification views added in v2 (`/v1/views/{view}`):
//! `notification_latency` (as `notification_rates`), `notification_failures` and
//! `notification_variants` (by their key columns and a `from`/`to` range of `day`).

use std::sync::Arc;

use axum::response::Response;
use pulso_events::time::Micros;
use pulso_events::views::{NotificationFailures, NotificationLatency, NotificationVariants};

use super::auth::Principal;
use super::page::{eq, start, view_page};
use super::params::{Params, RawQuery};
use super::views::{windowed_within, VIEW_LIMIT};
use super::{ApiError, AppState};

/// One page of `notification_latency`, `notification_failures` or `notification_variants`.
pub(crate) fn view(
    state: &AppState,
    principal: &Arc<Principal>,
    name: &'static str,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let (default, max) = VIEW_LIMIT;
    match name {
        "notification_latency" => {
            let filters = [
                "tenant_id",
                "channel",
                "provider",
                "granularity",
                "from",
                "to",
            ];
            let p = Params::parse(query, &filters, true)?;
            let (g, range, limit) = (p.granularity()?, p.time_range()?, p.limit(default, max)?);
            let cursor = p.cursor(name)?;
            let (tenant, channel, provider) =
                (p.text("tenant_id"), p.text("channel"), p.text("provider"));
            let lower = g.map(|g| {
                let from = range.from.unwrap_or(Micros::MIN);
                (g, from, String::new(), String::new(), String::new())
            });
            Ok(view_page::<NotificationLatency>(
                state,
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
        "notification_failures" => {
            let filters = ["tenant_id", "channel", "provider", "reason", "from", "to"];
            let p = Params::parse(query, &filters, true)?;
            let (range, limit, cursor) = (p.time_range()?, p.limit(default, max)?, p.cursor(name)?);
            let (tenant, channel) = (p.text("tenant_id"), p.text("channel"));
            let (provider, reason) = (p.text("provider"), p.text("reason"));
            let lower = range.from.map(|from| {
                let empty = String::new;
                (from, empty(), empty(), empty(), empty())
            });
            Ok(view_page::<NotificationFailures>(
                state,
                &principal.tenants.narrow(tenant),
                start(lower, cursor),
                |k| range.to.is_none_or(|to| k.0 < to),
                |r| {
                    range.contains(r.day)
                        && eq(tenant, &r.tenant_id)
                        && eq(channel, &r.channel)
                        && eq(provider, &r.provider)
                        && eq(reason, &r.reason)
                },
                limit,
            ))
        }
        _ => {
            let filters = ["tenant_id", "channel", "category", "template", "from", "to"];
            let p = Params::parse(query, &filters, true)?;
            let (range, limit, cursor) = (p.time_range()?, p.limit(default, max)?, p.cursor(name)?);
            let (tenant, channel) = (p.text("tenant_id"), p.text("channel"));
            let (category, template) = (p.text("category"), p.text("template"));
            let lower = range.from.map(|from| {
                let empty = String::new;
                (from, empty(), empty(), empty(), empty())
            });
            Ok(view_page::<NotificationVariants>(
                state,
                &principal.tenants.narrow(tenant),
                start(lower, cursor),
                |k| range.to.is_none_or(|to| k.0 < to),
                |r| {
                    range.contains(r.day)
                        && eq(tenant, &r.tenant_id)
                        && eq(channel, &r.channel)
                        && eq(category, &r.category)
                        && eq(template, &r.template)
                },
                limit,
            ))
        }
    }
}
