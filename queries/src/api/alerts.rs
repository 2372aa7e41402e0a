//! `GET /v1/alerts`: every alert rule the engine evaluates, with its state, severity,
//! threshold, last value and the instant it entered its state. Operator data.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pulso_events::time::format_rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Principal;
use super::params::{Params, RawQuery};
use super::{ApiError, AppState};
use crate::alerts::{Alert, Metric, Severity, State as AlertState};

/// One rule and its state.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlertJson {
    /// The rule's name.
    name: String,
    /// `inactive` or `firing`.
    #[schema(value_type = String)]
    state: AlertState,
    /// `warning` or `critical`.
    #[schema(value_type = String)]
    severity: Severity,
    /// Who else to tell (e.g. `wider`: beyond on-call), when the rule says.
    #[serde(skip_serializing_if = "Option::is_none")]
    notify: Option<String>,
    /// `consumer_lag`, `consumer_group_lag`, `dlq_size`, `freshness_seconds`,
    /// `read_model_lag_seconds`, `rejected_share`, `epoch_duration_p99_seconds`,
    /// `sla_violations` or `cases_breached`.
    #[schema(value_type = String)]
    metric: Metric,
    /// The window of a windowed metric, in seconds (0 for the others).
    window_secs: u64,
    /// Fires while the value is above it.
    threshold: f64,
    /// The value at the last evaluation (`null` before the first).
    value: Option<f64>,
    /// When the rule entered its state (RFC 3339).
    since: String,
    /// Where the value comes from (`topic`, `partition` for the worst partition's lag,
    /// `dependencia` for the per-department rules).
    labels: BTreeMap<String, String>,
    /// One line for people.
    summary: String,
}

impl From<&Alert> for AlertJson {
    fn from(a: &Alert) -> Self {
        AlertJson {
            name: a.rule.name.clone(),
            state: a.state,
            severity: a.rule.severity,
            notify: a.rule.notify.clone(),
            metric: a.rule.metric,
            window_secs: a.rule.window_secs(),
            threshold: a.rule.threshold,
            value: a.value,
            since: format_rfc3339(a.since),
            labels: a.labels.clone(),
            summary: a.summary(),
        }
    }
}

/// The body of `/v1/alerts`.
#[derive(Serialize, ToSchema)]
pub(crate) struct AlertsBody {
    /// When the rules were last evaluated (`null` before the first evaluation).
    evaluated_at: Option<String>,
    /// How many rules are firing.
    firing: usize,
    /// Every rule, in config order.
    alerts: Vec<AlertJson>,
}

/// Every alert rule with its state and since-when.
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "operations",
    responses(
        (status = 200, description = "Every rule's state", body = AlertsBody),
        (status = 400, description = "A parameter was given", body = super::error::Body),
        (status = 401, description = "No or bad token", body = super::error::Body),
        (status = 403, description = "Not an operator token", body = super::error::Body),
        (status = 429, description = "Rate limited", body = super::error::Body)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn alerts(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    principal.require_operator()?;
    Params::parse(query, &[], false)?;
    let (evaluated_at, alerts) = state.alerts.snapshot();
    let body = AlertsBody {
        evaluated_at: evaluated_at.map(format_rfc3339),
        firing: alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .count(),
        alerts: alerts.iter().map(AlertJson::from).collect(),
    };
    Ok(Json(body).into_response())
}
