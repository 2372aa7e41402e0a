//! The OpenAPI 3 document's frame: title, the bearer security scheme, tags and the row
//! schemas. The paths come from the `#[utoipa::path]` of each handler, registered together
//! with the route (see `api::routes`), so the document and the router cannot disagree.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::render::{
    CaseBacklogJson, InventoryLevelsJson, NotificationBouncesJson, NotificationRatesJson,
    OpenCaseJson, OpenCaseSlaJson, OrderCancellationsJson, OrderMetricsJson, SlaComplianceJson,
    TimelineJson, TopicHealthJson,
};

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pulso query API",
        description = "Live operational analytics views over Kafka. Every route but `/`, \
                       `/health` and `/openapi.json` needs `Authorization: Bearer <token>` when \
                       tokens are configured; a token reads only its tenants' rows.",
    ),
    modifiers(&BearerScheme),
    components(schemas(
        NotificationRatesJson, NotificationBouncesJson, OrderMetricsJson, OrderCancellationsJson,
        InventoryLevelsJson, CaseBacklogJson, SlaComplianceJson, OpenCaseSlaJson, OpenCaseJson,
        TimelineJson, TopicHealthJson
    )),
    tags(
        (name = "views", description = "The views of VIEWS.md, scoped to the token's tenants"),
        (name = "timelines", description = "Per-entity event timelines"),
        (name = "operations", description = "Operator data: pipeline health, metrics, alerts"),
        (name = "open", description = "Routes without a token")
    )
)]
pub(crate) struct ApiDoc;

/// Adds the `bearer` HTTP security scheme the protected paths refer to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
