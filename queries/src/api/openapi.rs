//! The OpenAPI 3 document's frame: title, the bearer security scheme, tags and the row
//! schemas (one per view of the registry). The paths come from the `#[utoipa::path]` of each
//! handler, registered together with the route (see `api::routes`), so the document and the
//! router cannot disagree.

use pulso_events::registry::{visit_views, View, ViewVisitor};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::Components;
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::render::RowJson;

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pulso query API",
        description = "Live operational analytics views over Kafka. Every route but `/`, \
                       `/health` and `/openapi.json` needs `Authorization: Bearer <token>` when \
                       tokens are configured; a token reads only its tenants' rows.",
    ),
    modifiers(&BearerScheme, &RowSchemas),
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

/// Adds the row schema of every view of the registry (`NotificationRatesJson`...).
struct RowSchemas;

impl Modify for RowSchemas {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        struct Add<'a>(&'a mut Components);
        impl ViewVisitor for Add<'_> {
            fn visit<V: View>(&mut self) {
                self.0
                    .schemas
                    .insert(RowJson::<V>::name().into_owned(), RowJson::<V>::schema());
            }
        }
        visit_views(&mut Add(openapi
            .components
            .get_or_insert_with(Default::default)));
    }
}
